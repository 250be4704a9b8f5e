// Photos: the mock device as the real one answers (refusals, duplicates, fetching another
// device's photo), the case page's gallery and file upload (several files, one refused, drag
// and drop, a camera), the photo full size (fetched first, not on the server yet, caption and
// visit changed, Escape), and the photos' part of sync.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import CasePage from "../src/screens/CasePage.svelte";
import App from "../src/App.svelte";
import { Router } from "../src/lib/router.svelte";
import { MOCK_PASSPHRASE } from "../src/lib/mock-backend";
import { forgetCaseFilters } from "../src/screens/Cases.svelte";
import { MockBackend } from "../src/lib/mock-backend";
import { fakeJpeg, fakePng } from "../src/lib/mock-media";
import { BackendError, listArgs, type SyncActivityDto } from "../src/lib/backend";
import { expectAccessible } from "./axe";

const REF = "FH-2026-1-0001";

function device(): MockBackend {
  return new MockBackend({ cases: 3, unlocked: true, backgroundSync: false });
}

function jpeg(name: string, seed = 0): File {
  return new File([fakeJpeg(1600, 1200, seed)], name, { type: "image/jpeg" });
}

async function rejection(p: Promise<unknown>): Promise<BackendError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BackendError);
    return e as BackendError;
  }
  throw new Error("expected the call to fail");
}

function addArgs(caseRef: string, file_name: string | null = "IMG_0001.JPG") {
  return { case: caseRef, file_name, visit: null, caption: null };
}

afterEach(() => {
  Object.defineProperty(navigator, "mediaDevices", { value: undefined, configurable: true });
});

// ------------------------------------------------------------------ the mock device

describe("MockBackend: photos", () => {
  it("adds a photo once, names it by its hash, holds its full and thumbnail versions", async () => {
    const b = device();
    const first = await b.addPhoto({ ...addArgs(REF), caption: "  Rear yard  " }, fakeJpeg(4032, 3024));
    expect(first.added).toBe(true);
    expect(first.photo).toMatchObject({ mime: "image/jpeg", width: 4032, height: 3024, caption: "Rear yard", held: ["full", "thumb"] });
    expect(first.photo.sha256).toMatch(/^[0-9a-f]{64}$/);
    const again = await b.addPhoto(addArgs(REF), fakeJpeg(4032, 3024));
    expect(again).toEqual({ photo: first.photo, added: false });
    expect(await b.photos(REF)).toEqual([first.photo]);
    expect((await b.openCase(REF)).photos).toEqual([first.photo]);
    expect((await b.history(REF)).filter((h) => h.message === "Added a photo")).toHaveLength(1);
    expect(b.photosWaiting).toBe(1);
  });

  it("refuses what the device refuses, and keeps nothing of it", async () => {
    const b = device();
    expect((await rejection(b.addPhoto(addArgs(REF, "a.jpg"), new Uint8Array()))).code).toBe("empty");
    expect((await rejection(b.addPhoto(addArgs(REF), new Uint8Array(40 * 1024 * 1024 + 1)))).code).toBe("too_large");
    expect((await rejection(b.addPhoto(addArgs(REF, "minutes.pdf"), new TextEncoder().encode("%PDF-1.7 ...")))).code).toBe(
      "unsupported_format",
    );
    expect((await rejection(b.addPhoto(addArgs(REF, "photo.jpg"), fakePng()))).code).toBe("mislabelled");
    expect((await rejection(b.addPhoto({ ...addArgs(REF), visit: "no-such-visit" }, fakeJpeg()))).code).toBe("unknown_visit");
    expect((await rejection(b.addPhoto({ ...addArgs(REF), caption: "x".repeat(501) }, fakeJpeg()))).code).toBe("too_long");
    expect((await rejection(b.addPhoto(addArgs("HW-2026-1-0001"), fakeJpeg()))).code).toBe("case_locked");
    expect(await b.photos(REF)).toEqual([]);
  });

  it("changes a caption and a visit, and unlinks with an empty visit", async () => {
    const b = device();
    const c = await b.addVisit({ case: REF, template: "food-hygiene", lat: null, lon: null, accuracy_m: null });
    const visit = c.visits[0]!.id;
    const { photo } = await b.addPhoto({ ...addArgs(REF), visit }, fakeJpeg());
    expect(photo.visit_id).toBe(visit);
    const edited = await b.editPhoto({ case: REF, photo: photo.sha256, caption: "Bins by the back door", visit: null });
    expect(edited).toMatchObject({ caption: "Bins by the back door", visit_id: visit });
    expect((await b.editPhoto({ case: REF, photo: photo.sha256, caption: null, visit: "" })).visit_id).toBeNull();
    expect((await rejection(b.editPhoto({ case: REF, photo: "0".repeat(64), caption: "x", visit: null }))).code).toBe("unknown_photo");
  });

  it("fetches another device's photo from the server, or says it is not there yet", async () => {
    const b = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    const there = b.receivePhoto(REF, { caption: "Yard", held: ["thumb"] });
    const notYet = b.receivePhoto(REF, { caption: "Kitchen", held: [], onServer: false });
    expect(await b.fetchPhoto(REF, there.sha256)).toBe(true);
    expect((await b.photos(REF)).find((p) => p.sha256 === there.sha256)!.held).toEqual(["thumb", "full"]);
    expect(await b.fetchPhoto(REF, notYet.sha256)).toBe(false);
    b.server.reachable = false;
    expect((await rejection(b.fetchPhoto(REF, notYet.sha256))).code).toBe("server_unreachable");
  });

  it("sends its photos after the cases, with progress, unless the server cannot take them", async () => {
    const b = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    await b.addPhoto(addArgs(REF, "a.jpg"), fakeJpeg(1600, 1200, 1));
    await b.addPhoto(addArgs(REF, "b.jpg"), fakeJpeg(1600, 1200, 2));
    b.server.photosUnavailable = true;
    expect((await rejection(b.syncNow())).code).toBe("photos_unavailable");
    expect(b.photosWaiting).toBe(2);

    b.server.photosUnavailable = false;
    const seen: SyncActivityDto[] = [];
    b.onSyncActivity((a) => seen.push(a));
    await b.syncNow();
    const progress = seen.flatMap((a) => (a.photos ? [a.photos] : []));
    const size = fakeJpeg().length;
    expect(progress[0]).toEqual({ done: 0, total: 2, sent: 0, size });
    expect(progress).toContainEqual({ done: 1, total: 2, sent: Math.floor(size / 2), size });
    expect(progress[progress.length - 1]).toMatchObject({ done: 2, total: 2 });
    expect(seen[seen.length - 1]!.photos).toBeNull();
    expect(b.photosWaiting).toBe(0);
  });
});

// ------------------------------------------------------------------ the gallery and adding

describe("Case page: photos", () => {
  beforeEach(() => {
    Object.defineProperty(navigator, "mediaDevices", { value: undefined, configurable: true });
  });

  it("adds several photos one by one with progress, naming each refused file while the others are added", async () => {
    const user = userEvent.setup({ applyAccept: false });
    const backend = device();
    let release: () => void = () => {};
    const add = backend.addPhoto.bind(backend);
    const calls: string[] = [];
    vi.spyOn(backend, "addPhoto").mockImplementation(async (args, bytes) => {
      calls.push(args.file_name ?? "");
      if (calls.length === 2) await new Promise<void>((r) => (release = r));
      return add(args, bytes);
    });
    render(CasePage, { backend, reference: REF, go: () => {} });
    const input = await screen.findByLabelText("Add photos");
    expect(input).toHaveAttribute("accept", "image/jpeg,image/png,.jpg,.jpeg,.png,.heic");
    expect(input).toHaveAttribute("multiple");
    await user.type(screen.getByLabelText("Caption (optional)"), "Kitchen");

    const heic = new File([new Uint8Array([0, 0, 0, 24, ...new TextEncoder().encode("ftypheic")])], "IMG_0002.HEIC", { type: "image/heic" });
    const notes = new File(["these are the minutes"], "minutes.txt", { type: "text/plain" });
    void user.upload(input, [jpeg("IMG_0001.JPG", 1), heic, jpeg("IMG_0003.JPG", 3), notes]);

    await waitFor(() => expect(screen.getByTestId("photo-progress")).toHaveTextContent("Adding photo 2 of 4"));
    release();
    await waitFor(() => expect(screen.getByTestId("photo-progress")).toHaveTextContent("Added 2 photos. 2 files were not added."));
    expect(calls).toEqual(["IMG_0001.JPG", "IMG_0002.HEIC", "IMG_0003.JPG", "minutes.txt"]);

    const summary = screen.getByRole("alert");
    const links = within(summary).getAllByRole("link");
    expect(links.map((a) => [a.textContent, a.getAttribute("href")])).toEqual([
      ["IMG_0002.HEIC: HEIC photos are not supported yet: export the photo as JPEG and add it again", "#add-photos"],
      ["minutes.txt: This file is not a JPEG or PNG photo: only JPEG and PNG photos can be added", "#add-photos"],
    ]);
    await waitFor(() => expect(document.activeElement).toBe(summary.parentElement));
    expect(screen.getByLabelText("Add photos")).toHaveAccessibleDescription(/Error: 2 files were not added/);
    expect(document.title).toMatch(/^Error: /);

    const thumbs = within(screen.getByTestId("photo-gallery")).getAllByTestId("photo-thumb");
    expect(thumbs).toHaveLength(2);
    const img = within(thumbs[0]!).getByRole("img", { name: "Kitchen" });
    expect(img.getAttribute("src")).toContain(encodeURIComponent("Kitchen"));
    expect(screen.getByText("This case has 2 photos.")).toBeInTheDocument();
    expect(screen.getByLabelText("Caption (optional)")).toHaveValue("");
    expect((await backend.photos(REF)).map((p) => p.caption)).toEqual(["Kitchen", "Kitchen"]);
    expect(screen.getByRole("table", { name: /oldest first/ })).toHaveTextContent("Added a photo");
    await expectAccessible();
  });

  it("says a photo is already on the case, and refuses a huge file without reading it", async () => {
    const user = userEvent.setup({ applyAccept: false });
    const backend = device();
    await backend.addPhoto(addArgs(REF, "IMG_0001.JPG"), fakeJpeg(1600, 1200, 1));
    render(CasePage, { backend, reference: REF, go: () => {} });
    const input = await screen.findByLabelText("Add photos");

    const huge = jpeg("VID_0001.JPG", 9);
    Object.defineProperty(huge, "size", { value: 52_500_000 });
    const read = vi.spyOn(huge, "arrayBuffer");
    await user.upload(input, [jpeg("IMG_0001.JPG", 1), huge]);

    await waitFor(() => expect(screen.getByTestId("photo-progress")).toHaveTextContent("IMG_0001.JPG is already on this case. 1 file was not added."));
    expect(read).not.toHaveBeenCalled();
    expect(within(screen.getByRole("alert")).getByRole("link")).toHaveTextContent(
      "VID_0001.JPG: This photo is 50.1 MB but the largest allowed is 40 MB",
    );
    expect(screen.getByLabelText("Add photos")).toHaveAccessibleDescription(/Error: VID_0001.JPG: This photo is 50.1 MB/);
    expect(await backend.photos(REF)).toHaveLength(1);
  });

  it("takes photos dropped on the drop zone, attached to the visit chosen", async () => {
    const backend = device();
    const c = await backend.addVisit({ case: REF, template: "food-hygiene", lat: null, lon: null, accuracy_m: null });
    render(CasePage, { backend, reference: REF, go: () => {} });
    const user = userEvent.setup();
    await user.selectOptions(await screen.findByLabelText("Visit (optional)"), c.visits[0]!.id);

    const zone = screen.getByTestId("photo-drop-zone");
    await fireEvent.dragOver(zone, { dataTransfer: { files: [], dropEffect: "none" } });
    expect(zone).toHaveClass("fb-drop-zone--dragging");
    await fireEvent.drop(zone, { dataTransfer: { files: [jpeg("IMG_0010.JPG", 10), jpeg("IMG_0011.JPG", 11)] } });

    await waitFor(() => expect(screen.getByTestId("photo-progress")).toHaveTextContent("Added 2 photos."));
    expect(zone).not.toHaveClass("fb-drop-zone--dragging");
    const gallery = screen.getByTestId("photo-gallery");
    expect(within(gallery).getAllByText("Visit 1: Food hygiene inspection")).toHaveLength(2);
    expect((await backend.photos(REF)).every((p) => p.visit_id === c.visits[0]!.id)).toBe(true);
  });

  it("offers Take a photo, with the camera, only where the device has one", async () => {
    Object.defineProperty(navigator, "mediaDevices", {
      value: { enumerateDevices: async () => [{ kind: "videoinput", deviceId: "", label: "", groupId: "" }] },
      configurable: true,
    });
    render(CasePage, { backend: device(), reference: REF, go: () => {} });
    const take = await screen.findByLabelText("Take a photo");
    expect(take).toHaveAttribute("capture", "environment");
    expect(take).toHaveAttribute("type", "file");
  });

  it("shows who took what: alt text without a caption, the time, the visit, and photos not yet here", async () => {
    const backend = device();
    backend.receivePhoto(REF, { taken_at: "2026-11-24T10:42:00Z", held: ["thumb"] });
    backend.receivePhoto(REF, { caption: "Grease trap", held: [] });
    render(CasePage, { backend, reference: REF, go: () => {} });
    const gallery = await screen.findByTestId("photo-gallery");
    const [first, second] = within(gallery).getAllByTestId("photo-thumb");
    expect(within(first!).getByRole("img")).toHaveAccessibleName("Photo 1, taken 24 November 2026, 10:42");
    expect(gallery).toHaveTextContent("Taken 24 November 2026, 10:42");
    expect(gallery).toHaveTextContent("No caption");
    expect(within(second!).queryByRole("img")).not.toBeInTheDocument();
    expect(second).toHaveTextContent("Not yet on this device");
    expect(second).toHaveAccessibleName(/^Photo 2:\s*Not yet on this device$/);
    expect(gallery).toHaveTextContent("Time taken not known");
    await expectAccessible();
  });

  it("offers no upload when the case can no longer change", async () => {
    const backend = new MockBackend({ cases: 3, unlocked: true, backgroundSync: false });
    backend.receivePhoto("HW-2026-1-0001", { caption: "Pothole", held: ["thumb", "full"] });
    render(CasePage, { backend, reference: "HW-2026-1-0001", go: () => {} });
    expect(await screen.findByTestId("photo-gallery")).toBeInTheDocument();
    expect(screen.queryByLabelText("Add photos")).not.toBeInTheDocument();
    await userEvent.setup().click(screen.getByTestId("photo-thumb"));
    expect(screen.getByRole("dialog", { name: "Photo 1: Pothole" })).toBeInTheDocument();
    expect(screen.queryByLabelText("Caption")).not.toBeInTheDocument();
  });
});

// ------------------------------------------------------------------ full size

describe("Case page: a photo full size", () => {
  it("opens in a dialog with where and when it was taken; Escape closes it and focus goes back", async () => {
    const user = userEvent.setup();
    const backend = device();
    backend.receivePhoto(REF, {
      caption: "Hand-wash sink",
      taken_at: "2026-11-24T10:42:00Z",
      location: { lat: 52.0061, lon: -1.0102 },
      held: ["thumb", "full"],
    });
    const fetch = vi.spyOn(backend, "fetchPhoto");
    render(CasePage, { backend, reference: REF, go: () => {} });
    const thumb = await screen.findByTestId("photo-thumb");
    await user.click(thumb);

    const dialog = screen.getByRole("dialog", { name: "Photo 1: Hand-wash sink" });
    expect(dialog).toHaveAttribute("aria-modal", "true");
    expect(document.activeElement).toBe(within(dialog).getByRole("heading", { name: "Photo 1: Hand-wash sink" }));
    expect(fetch).not.toHaveBeenCalled();
    const img = within(dialog).getByRole("img", { name: "Hand-wash sink" });
    expect(img).toHaveAttribute("data-variant", "full");
    for (const text of ["24 November 2026, 10:42", "52.006100, -1.010200", "SP 68039 34647", "Millbrook North (E05900001)", "1,536 pixels"]) {
      expect(dialog).toHaveTextContent(text);
    }
    await expectAccessible();

    // Tab stays inside the dialog.
    const close = within(dialog).getByRole("button", { name: /^Close\s*the photo$/ });
    const save = within(dialog).getByRole("button", { name: "Save changes" });
    save.focus();
    await user.tab();
    expect(document.activeElement).toBe(close);

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("photo-thumb")));
  });

  it("fetches the full photo from the server first when only the thumbnail is here", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    backend.receivePhoto(REF, { caption: "Yard", held: ["thumb"] });
    let done: () => void = () => {};
    const fetch = backend.fetchPhoto.bind(backend);
    vi.spyOn(backend, "fetchPhoto").mockImplementation(async (c, p) => {
      await new Promise<void>((r) => (done = r));
      return fetch(c, p);
    });
    render(CasePage, { backend, reference: REF, go: () => {} });
    await user.click(await screen.findByTestId("photo-thumb"));
    const dialog = screen.getByRole("dialog");
    expect(within(dialog).getByTestId("photo-fetch")).toHaveTextContent("Fetching the photo from the server…");
    expect(within(dialog).getByRole("img")).toHaveAttribute("data-variant", "thumb");
    done();
    await waitFor(() => expect(within(dialog).getByRole("img")).toHaveAttribute("data-variant", "full"));
    expect(within(dialog).getByTestId("photo-fetch")).toHaveTextContent("");
  });

  it("says when the photo has not reached the server yet, or the server cannot be reached", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    backend.receivePhoto(REF, { caption: "Kitchen", held: [], onServer: false });
    render(CasePage, { backend, reference: REF, go: () => {} });
    await user.click(await screen.findByTestId("photo-thumb"));
    const dialog = screen.getByRole("dialog");
    await waitFor(() => expect(within(dialog).getByTestId("photo-fetch")).toHaveTextContent("This photo has not reached the server yet"));
    expect(within(dialog).queryByRole("img")).not.toBeInTheDocument();
    expect(dialog).toHaveTextContent("Not yet on this device.");
    await user.click(within(dialog).getByRole("button", { name: /^Close\s*the photo$/ }));

    backend.server.reachable = false;
    await user.click(screen.getByTestId("photo-thumb"));
    await waitFor(() =>
      expect(within(screen.getByRole("dialog")).getByTestId("photo-fetch")).toHaveTextContent(
        "The full photo could not be fetched. Fieldbook cannot reach the server. Try again when this device is online.",
      ),
    );
  });

  it("changes the caption and the visit, and shows a refusal in the dialog", async () => {
    const user = userEvent.setup();
    const backend = device();
    const c = await backend.addVisit({ case: REF, template: "food-hygiene", lat: null, lon: null, accuracy_m: null });
    const { photo } = await backend.addPhoto({ ...addArgs(REF), visit: c.visits[0]!.id }, fakeJpeg());
    render(CasePage, { backend, reference: REF, go: () => {} });
    await user.click(await screen.findByTestId("photo-thumb"));
    const dialog = screen.getByRole("dialog", { name: "Photo 1" });
    expect(within(dialog).getByLabelText("Visit")).toHaveValue(c.visits[0]!.id);

    await user.type(within(dialog).getByLabelText("Caption"), "x".repeat(501));
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    const alert = await within(dialog).findByRole("alert");
    expect(alert).toHaveTextContent("Caption must be 500 characters or fewer (it has 501)");
    expect(within(dialog).getByLabelText("Caption")).toHaveAccessibleDescription(/Error: Caption must be 500/);

    await user.clear(within(dialog).getByLabelText("Caption"));
    await user.type(within(dialog).getByLabelText("Caption"), "Bins by the back door");
    await user.selectOptions(within(dialog).getByLabelText("Visit"), "Not part of a visit");
    await user.click(within(dialog).getByRole("button", { name: "Save changes" }));
    await waitFor(() => expect(dialog).toHaveTextContent("The photo’s details are saved."));
    expect(within(dialog).queryByRole("alert")).not.toBeInTheDocument();
    expect(await backend.photos(REF)).toEqual([expect.objectContaining({ sha256: photo.sha256, caption: "Bins by the back door", visit_id: null })]);
    expect(screen.getByRole("heading", { name: "Photo 1: Bins by the back door" })).toBeInTheDocument();
    expect(within(screen.getByTestId("photo-gallery")).getByText("Bins by the back door")).toBeInTheDocument();
  });
});

describe("listing counts photos", () => {
  it("gives each case's photo count", async () => {
    const b = device();
    await b.addPhoto(addArgs(REF), fakeJpeg());
    const page = await b.listCases(listArgs({ search: REF }));
    expect(page.cases[0]!.photo_count).toBe(1);
  });
});

describe("the status line while photos are sent", () => {
  it("says how many photos are sent, announcing only that photos are being sent", async () => {
    forgetCaseFilters();
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 5, signedIn: true, backgroundSync: false, latencyMs: 5 });
    render(App, { backend, router: new Router() });
    await user.type(await screen.findByLabelText("Passphrase"), MOCK_PASSPHRASE);
    await user.click(screen.getByRole("button", { name: "Unlock" }));
    await screen.findByRole("heading", { level: 1, name: "My cases" });
    await backend.addPhoto(addArgs(REF, "a.jpg"), fakeJpeg(1600, 1200, 1));
    await backend.addPhoto(addArgs(REF, "b.jpg"), fakeJpeg(1600, 1200, 2));
    const status = screen.getByTestId("sync-status");
    const seen: string[] = [];
    const announced: string[] = [];
    const watch = new MutationObserver(() => {
      const text = screen.getByTestId("sync-text").textContent ?? "";
      if (seen.at(-1) !== text) seen.push(text);
      const heard = screen.getByTestId("sync-announce").textContent ?? "";
      if (announced.at(-1) !== heard) announced.push(heard);
    });
    watch.observe(status, { subtree: true, childList: true, characterData: true });
    await user.click(within(status).getByRole("button", { name: "Sync now" }));
    await waitFor(() => expect(status).toHaveTextContent("Up to date"));
    watch.disconnect();
    expect(seen).toEqual(
      expect.arrayContaining(["Sending photos: 0 of 2", "Sending photos: 1 of 2 (48% of the next)", "Sending photos: 2 of 2"]),
    );
    expect(announced).toContain("Sending photos");
    expect(announced).not.toContain("Sending photos: 1 of 2");
    expect(backend.photosWaiting).toBe(0);
  });
});

// ------------------------------------------------------------------ after a sync

describe("Case page: after a background sync", () => {
  it("shows the thumbnails the sync brought, keeping the note and caption being typed, and the focus", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    backend.receivePhoto(REF, { caption: "Grease trap", held: [] });
    render(CasePage, { backend, reference: REF, go: () => {} });
    const gallery = await screen.findByTestId("photo-gallery");
    expect(gallery).toHaveTextContent("Not yet on this device");

    await user.type(screen.getByLabelText("Add a note"), "Fridge at 9 degrees");
    const caption = screen.getByLabelText("Caption (optional)");
    await user.type(caption, "Back yard");
    const focused = document.activeElement;
    expect(focused).toBe(caption);

    // The background sync brings the thumbnail (after the case itself).
    await backend.syncNow();
    await waitFor(() => expect(within(gallery).getByRole("img", { name: "Grease trap" })).toBeInTheDocument());
    expect(gallery).not.toHaveTextContent("Not yet on this device");
    expect(screen.getByTestId("photo-gallery")).toBe(gallery);
    expect(screen.getByLabelText("Add a note")).toHaveValue("Fridge at 9 degrees");
    expect(caption).toHaveValue("Back yard");
    expect(document.activeElement).toBe(focused);
    expect(screen.getByLabelText("Caption (optional)")).toBe(caption);
    // The note is still kept as a draft, ready to add.
    const id = (await backend.openCase(REF)).id;
    await waitFor(() => expect(backend.draftStore.get(`note:${id}:text;`)?.value).toBe("Fridge at 9 degrees"));
  });

  it("counts a sync that was already running when the page opened", async () => {
    const backend = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    const photo = backend.receivePhoto(REF, { caption: "Grease trap", held: [] });
    const activity = (state: string): SyncActivityDto => ({ state, pulled: 0, total: 0, error: null, revoked_reason: null, photos: null });
    vi.spyOn(backend, "syncActivity").mockResolvedValue(activity("syncing"));
    let hear: (a: SyncActivityDto) => void = () => {};
    vi.spyOn(backend, "onSyncActivity").mockImplementation((l) => {
      hear = l;
      return () => {};
    });
    render(CasePage, { backend, reference: REF, go: () => {} });
    const gallery = await screen.findByTestId("photo-gallery");
    expect(gallery).toHaveTextContent("Not yet on this device");

    // That sync fetches the photo, then ends, and says so only then.
    expect(await backend.fetchPhoto(REF, photo.sha256)).toBe(true);
    hear(activity("idle"));
    await waitFor(() => expect(within(gallery).getByRole("img", { name: "Grease trap" })).toBeInTheDocument());
  });

  it("refreshes only once a sync has ended, and not for a sync that is still running", async () => {
    const backend = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    render(CasePage, { backend, reference: REF, go: () => {} });
    await screen.findByRole("heading", { level: 1, name: "The Golden Fork takeaway" });
    const open = vi.spyOn(backend, "openCase");
    await backend.syncNow();
    await waitFor(() => expect(open).toHaveBeenCalledTimes(1));
    // A sync that fails still ends (offline): what it pulled before failing is shown too.
    backend.server.reachable = false;
    await rejection(backend.syncNow());
    await waitFor(() => expect(open).toHaveBeenCalledTimes(2));
    await new Promise((r) => setTimeout(r, 20));
    expect(open).toHaveBeenCalledTimes(2);
  });

  it("keeps a change made on the page while the refresh was reading the case", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 3, unlocked: true, signedIn: true, backgroundSync: false });
    render(CasePage, { backend, reference: REF, go: () => {} });
    await screen.findByRole("heading", { level: 1, name: "The Golden Fork takeaway" });

    // The refresh reads the case, then is slow to come back.
    const read = backend.openCase.bind(backend);
    let release: () => void = () => {};
    const held = new Promise<void>((r) => (release = r));
    vi.spyOn(backend, "openCase").mockImplementationOnce(async (ref) => {
      const c = await read(ref);
      await held;
      return c;
    });
    await backend.syncNow();

    await user.type(screen.getByLabelText("Add a note"), "Spoke to the owner");
    await user.click(screen.getByRole("button", { name: "Add note" }));
    const notes = await screen.findByText("Spoke to the owner");
    release();
    await new Promise((r) => setTimeout(r, 20));
    expect(notes).toBeInTheDocument();
    expect(screen.queryByText("No notes yet.")).not.toBeInTheDocument();
  });

  it("opens a case the sync brought when the page had said it was not on this device", async () => {
    const backend = new MockBackend({
      cases: 3,
      unlocked: true,
      signedIn: true,
      backgroundSync: false,
      server: {
        incoming: [
          { kind: "general", title: "Abandoned car", address: null, postcode: null, uprn: null, lat: null, lon: null, accuracy_m: null, location_source: null, due: null },
        ],
      },
    });
    render(CasePage, { backend, reference: "GN-2026-1-0001", go: () => {} });
    expect(await screen.findByRole("heading", { level: 1, name: "Case not found" })).toBeInTheDocument();
    await backend.syncNow();
    expect(await screen.findByRole("heading", { level: 1, name: "Abandoned car" })).toBeInTheDocument();
  });
});
