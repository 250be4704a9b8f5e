import { beforeEach, describe, expect, it } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import App from "../src/App.svelte";
import { MOCK_PASSPHRASE, MOCK_SERVER_PASSWORD, MockBackend, type MockOptions } from "../src/lib/mock-backend";
import { Router } from "../src/lib/router.svelte";
import { forgetCaseFilters } from "../src/screens/Cases.svelte";
import { syncLine, syncedAt, signInWords } from "../src/lib/sync-words";
import type { SyncActivityDto, SyncStatusDto } from "../src/lib/backend";

const SERVER = "https://fieldbook.anytown.gov.uk";

async function unlockedApp(options: MockOptions = {}) {
  const user = userEvent.setup();
  const backend = new MockBackend({ cases: 20, ...options });
  render(App, { backend, router: new Router() });
  await user.type(await screen.findByLabelText("Passphrase"), MOCK_PASSPHRASE);
  await user.click(screen.getByRole("button", { name: "Unlock" }));
  await screen.findByRole("heading", { level: 1, name: "My cases" });
  return { user, backend };
}

const status = () => screen.getByTestId("sync-status");

function activity(over: Partial<SyncActivityDto> = {}): SyncActivityDto {
  return { state: "idle", pulled: 0, total: 0, error: null, revoked_reason: null, photos: null, ...over };
}

function stored(over: Partial<SyncStatusDto> = {}): SyncStatusDto {
  return {
    server: SERVER,
    user: "olive",
    last_sync_at: "2026-11-25T14:05:00Z",
    last_error: null,
    outbox_cases: 0,
    outbox_changes: 0,
    refused: [],
    departed: [],
    ...over,
  };
}

describe("the status line's words", () => {
  const now = new Date("2026-11-25T16:00:00Z");

  it("says syncing x of y with separators, up to date with the time, offline, and errors in plain words", () => {
    expect(syncLine(stored(), activity({ state: "syncing", pulled: 120, total: 5000 }), "", now)).toMatchObject({
      tag: "Syncing",
      text: "Syncing 120 of 5,000",
      announce: "Syncing",
      action: null,
    });
    expect(syncLine(stored(), activity(), "All changes saved on this device", now)).toMatchObject({
      tag: "Up to date",
      text: "Last synced 14:05",
      action: "sync-now",
    });
    expect(syncLine(stored(), activity({ state: "offline", error: { code: "server_unreachable", message: "x" } }), "3 changes waiting", now))
      .toMatchObject({ tag: "Offline", text: "3 changes waiting · last synced 14:05", action: "try-again" });
    const expired = syncLine(stored(), activity({ error: { code: "token_expired", message: "token expired" } }), "", now);
    expect(expired).toMatchObject({ tag: "Not synced", action: "sign-in-again" });
    expect(expired.text).toContain("Your sign-in has expired. Sign in again to carry on syncing");
    expect(syncLine(null, activity(), "1 change waiting", now)).toMatchObject({ tag: "Not signed in", action: "sign-in" });
    expect(syncLine(stored({ server: null }), activity(), "", now).action).toBe("sign-in");
  });

  it("gives the date as well when the last sync was not today (UK time)", () => {
    expect(syncedAt("2026-11-24T09:30:00Z", now)).toBe("24 November 2026, 09:30");
    expect(syncedAt("2026-07-01T12:00:00Z", new Date("2026-07-01T20:00:00Z"))).toBe("13:00");
  });

  it("explains a taken device number with the number", () => {
    expect(signInWords("device_number_taken", "x", 7)).toContain("this device’s number (7)");
    expect(signInWords("device_number_taken", "x", 7)).toContain("ask your administrator");
    expect(signInWords("some_new_code", "the server said no")).toBe("The server said no");
    expect(signInWords("too_many_attempts", "x")).toContain("Wait 15 minutes, then try again");
  });
});

describe("Sign in", () => {
  beforeEach(() => forgetCaseFilters());

  it("is reached from the status line; checks fields, explains each refusal, then syncs", async () => {
    const { user, backend } = await unlockedApp({ server: { takenNumbers: [1] } });
    expect(status()).toHaveTextContent("Not signed in");
    await user.click(within(status()).getByRole("link", { name: "Sign in to sync with the council’s server" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Sign in to the council’s server" })).toBeInTheDocument();
    await waitFor(() => expect(document.activeElement).toHaveTextContent("Sign in to the council’s server"));

    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const summary = await screen.findByRole("alert");
    expect(within(summary).getAllByRole("link").map((a) => a.textContent)).toEqual([
      "Enter the server address your IT team gave you",
      "Enter your user name",
      "Enter your password",
    ]);
    expect(document.title).toMatch(/^Error: /);

    const server = screen.getByLabelText("Server address");
    await user.type(server, "http://fieldbook.anytown.gov.uk");
    await user.type(screen.getByLabelText("User name"), "olive");
    await user.type(screen.getByLabelText("Password"), MOCK_SERVER_PASSWORD);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The server address must start with https://");
    expect(server).toHaveAccessibleDescription(/Error: The server address must start with https:\/\//);
    // The password is not kept after an attempt.
    expect(screen.getByLabelText("Password")).toHaveValue("");

    await user.clear(server);
    await user.type(server, SERVER);
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("The user name or password is not right");

    await user.type(screen.getByLabelText("Password"), MOCK_SERVER_PASSWORD);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    const taken = await screen.findByRole("alert");
    expect(taken).toHaveTextContent("Another device is already registered with this device’s number (1)");
    expect(taken).toHaveTextContent("ask your administrator");

    backend.server.takenNumbers = [];
    backend.server.reachable = false;
    await user.type(screen.getByLabelText("Password"), MOCK_SERVER_PASSWORD);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Fieldbook cannot reach the server");

    backend.server.reachable = true;
    await user.type(screen.getByLabelText("Password"), MOCK_SERVER_PASSWORD);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { level: 1, name: "My cases" })).toBeInTheDocument();
    // The sync that sign-in starts sends the 3 changes waiting.
    await waitFor(() => expect(status()).toHaveTextContent(/Up to date\s*Last synced/));
    expect((await backend.syncStatus()).outbox_changes).toBe(0);
    expect((await backend.syncStatus()).user).toBe("olive");
  }, 20_000);
});

describe("Background sync on the status line", () => {
  beforeEach(() => forgetCaseFilters());

  it("shows progress x of y, announces only the change of state, and lists what arrived", async () => {
    const incoming = Array.from({ length: 250 }, (_, i) => ({
      kind: "general",
      title: `Arrived ${i}`,
      address: null,
      postcode: null,
      uprn: null,
      lat: null,
      lon: null,
      accuracy_m: null,
      location_source: null,
      due: null,
    }));
    const { user, backend } = await unlockedApp({ signedIn: true, backgroundSync: false, latencyMs: 5 });
    await waitFor(() => expect(status()).toHaveTextContent("Waiting to sync"));
    backend.server.incoming.push(...incoming);
    // Every text the line shows, and every text its live region holds, as they change.
    const seen: string[] = [];
    const announced: string[] = [screen.getByTestId("sync-announce").textContent ?? ""];
    const watch = new MutationObserver(() => {
      const text = screen.getByTestId("sync-text").textContent ?? "";
      if (seen.at(-1) !== text) seen.push(text);
      const heard = screen.getByTestId("sync-announce").textContent ?? "";
      if (announced.at(-1) !== heard) announced.push(heard);
    });
    watch.observe(status(), { subtree: true, childList: true, characterData: true });
    await user.click(within(status()).getByRole("button", { name: "Sync now" }));
    await waitFor(() => expect(status()).toHaveTextContent("Up to date"));
    watch.disconnect();
    expect(seen).toEqual(expect.arrayContaining(["Syncing 100 of 250", "Syncing 200 of 250", "Syncing 250 of 250"]));
    // Said once each: no running count, no flicker through another state on the way.
    expect(announced).toEqual(["Waiting to sync", "Syncing", "Up to date"]);
    expect(screen.getByTestId("sync-announce")).toHaveAttribute("role", "status");
    expect(await screen.findByText("Showing 1 to 50 of 270 cases")).toBeInTheDocument();
  });

  it("says offline with Try again, and is up to date once the server answers", async () => {
    const { user, backend } = await unlockedApp({ signedIn: true, backgroundSync: false });
    backend.server.reachable = false;
    await user.click(within(status()).getByRole("button", { name: "Sync now" }));
    await waitFor(() => expect(status()).toHaveTextContent("Offline 3 changes saved on this device, waiting to sync"));
    backend.server.reachable = true;
    await user.click(within(status()).getByRole("button", { name: "Try again to sync" }));
    await waitFor(() => expect(status()).toHaveTextContent("Up to date"));
  });

  it("asks the person to sign in again when the sign-in has expired, keeping the address", async () => {
    // Syncing by itself, as the app does: signing in again syncs at once.
    const { user, backend } = await unlockedApp({ signedIn: true });
    await waitFor(() => expect(status()).toHaveTextContent("Up to date"));
    backend.server.tokenExpired = true;
    await user.click(within(status()).getByRole("button", { name: "Sync now" }));
    await waitFor(() => expect(status()).toHaveTextContent("Your sign-in has expired. Sign in again to carry on syncing"));
    await user.click(within(status()).getByRole("link", { name: "Sign in again" }));
    expect(await screen.findByLabelText("Server address")).toHaveValue(SERVER);
    expect(screen.getByLabelText("User name")).toHaveValue("olive");
    await user.type(screen.getByLabelText("Password"), MOCK_SERVER_PASSWORD);
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await waitFor(() => expect(status()).toHaveTextContent("Up to date"));
  });
});

describe("Refused changes", () => {
  beforeEach(() => forgetCaseFilters());

  it("flags the case in the list and explains on its page that the edit stays on this device", async () => {
    const { user, backend } = await unlockedApp({ signedIn: true, backgroundSync: false });
    await backend.editCase({ case: "FH-2026-1-0001", title: "The Golden Fork (renamed)", address: null, postcode: null, uprn: null, lat: null, lon: null, accuracy_m: null, location_source: null, due: null, clear_location: false });
    backend.server.refuse.set("FH-2026-1-0001", { code: "not_your_case", message: "this case is not yours" });
    await user.click(within(status()).getByRole("button", { name: "Sync now" }));
    await waitFor(() => expect(screen.getByText("Not accepted by server")).toBeInTheDocument());
    const row = screen.getByRole("link", { name: "FH-2026-1-0001" }).closest("tr")!;
    expect(row).toHaveTextContent("Not accepted by server");

    await user.click(screen.getByRole("link", { name: "FH-2026-1-0001" }));
    const banner = await screen.findByTestId("refused-banner");
    expect(banner).toHaveAttribute("role", "region");
    expect(banner).toHaveTextContent("The council’s server did not accept your changes to this case");
    expect(banner).toHaveTextContent("You can only change cases assigned to you or that you created");
    expect(banner).toHaveTextContent("Your changes are kept on this device only");
    expect(screen.getByRole("heading", { level: 1, name: "The Golden Fork (renamed)" })).toBeInTheDocument();

    // Another case has no banner.
    await user.click(screen.getByRole("link", { name: "Back to my cases" }));
    await user.click(await screen.findByRole("link", { name: "HS-2026-1-0001" }));
    await screen.findByRole("heading", { level: 1, name: "Damp and mould complaint" });
    expect(screen.queryByTestId("refused-banner")).not.toBeInTheDocument();
  });
});

describe("A case reassigned to someone else", () => {
  beforeEach(() => forgetCaseFilters());

  it("leaves the list after a sync, with a notice saying which case went and why", async () => {
    const { user, backend } = await unlockedApp({ signedIn: true, backgroundSync: false });
    expect(screen.queryByTestId("departed")).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "FH-2026-1-0001" })).toBeInTheDocument();
    backend.reassignAway("FH-2026-1-0001");
    await user.click(within(status()).getByRole("button", { name: "Sync now" }));
    const notice = await screen.findByTestId("departed");
    expect(notice).toHaveAttribute("role", "region");
    expect(notice).toHaveTextContent("A case was reassigned to someone else");
    expect(notice).toHaveTextContent("FH-2026-1-0001");
    expect(notice).toHaveTextContent("has left this device");
    await waitFor(() => expect(screen.queryByRole("link", { name: "FH-2026-1-0001" })).not.toBeInTheDocument());
  });
});

describe("A revoked device", () => {
  beforeEach(() => forgetCaseFilters());

  it("shows why, says the data is deleted, and offers set-up again", async () => {
    const { user, backend } = await unlockedApp({ signedIn: true, backgroundSync: false });
    backend.server.revoked = "Laptop reported stolen";
    await user.click(within(status()).getByRole("button", { name: "Sync now" }));
    expect(await screen.findByRole("heading", { level: 1, name: "This device was removed from Fieldbook" })).toBeInTheDocument();
    expect(screen.getByTestId("revoked-message")).toHaveTextContent(
      "This device was removed from Fieldbook by your administrator: Laptop reported stolen. The case data on this device has been deleted.",
    );
    expect(status()).toHaveTextContent("This device’s data has been deleted");
    await expect(backend.device()).rejects.toMatchObject({ code: "not_initialised" });

    await user.click(screen.getByRole("button", { name: "Set up this device again" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Set up this device" })).toBeInTheDocument();
  });
});

describe("Conflicts", () => {
  beforeEach(() => forgetCaseFilters());

  it("lists both values and who gave each, and keeping one edits the case", async () => {
    const { user, backend } = await unlockedApp({ signedIn: true, backgroundSync: false });
    backend.addConflict("FH-2026-1-0001", {
      field: "title",
      label: "Title",
      visit: null,
      item: null,
      choosable: true,
      values: [
        { shown: "The Golden Fork takeaway", by: "Sam Officer", person_id: null, actor: "aa", current: true, choosable: true },
        { shown: "Golden Fork (closed)", by: "Lena Leader", person_id: null, actor: "bb", current: false, choosable: true },
      ],
    });
    backend.addConflict("FH-2026-1-0001", {
      field: "status",
      label: "Status",
      visit: null,
      item: null,
      choosable: false,
      values: [
        { shown: "in progress", by: "Sam Officer", person_id: null, actor: "aa", current: true, choosable: false },
        { shown: "returned", by: "Lena Leader", person_id: null, actor: "bb", current: false, choosable: false },
      ],
    });
    await user.click(screen.getByRole("link", { name: "FH-2026-1-0001" }));
    await screen.findByRole("heading", { level: 1, name: "The Golden Fork takeaway" });
    const [title, state] = await screen.findAllByTestId("conflict");
    expect(title).toHaveTextContent("Two people changed the title");
    expect(within(title!).getByLabelText("Golden Fork (closed)")).toHaveAccessibleDescription("Changed by Lena Leader");
    expect(within(title!).getByLabelText("The Golden Fork takeaway")).toHaveAccessibleDescription("Changed by Sam Officer · shown now");
    // The status is shown, not chosen.
    expect(state).toHaveTextContent("Two people changed the status");
    expect(state).toHaveTextContent("returned, changed by Lena Leader");
    expect(within(state!).queryByRole("radio")).not.toBeInTheDocument();

    await user.click(within(title!).getByRole("button", { name: "Keep this one" }));
    expect(within(title!).getByText(/Select the title to keep/)).toBeInTheDocument();

    await user.click(within(title!).getByLabelText("Golden Fork (closed)"));
    await user.click(within(title!).getByRole("button", { name: "Keep this one" }));
    expect(await screen.findByRole("heading", { level: 1, name: "Golden Fork (closed)" })).toBeInTheDocument();
    await waitFor(() => expect(screen.getAllByTestId("conflict")).toHaveLength(1));
    expect((await backend.history("FH-2026-1-0001")).at(-1)?.message).toBe('Chose Golden Fork (closed) for "Title" (settling a conflict)');
    // An edit like any other: it waits to be synced.
    await waitFor(() => expect(status()).toHaveTextContent("4 changes saved on this device, waiting to sync"));
  });
});
