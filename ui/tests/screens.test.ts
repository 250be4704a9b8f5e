import { beforeEach, describe, expect, it } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import App from "../src/App.svelte";
import Unlock from "../src/screens/Unlock.svelte";
import Cases, { forgetCaseFilters } from "../src/screens/Cases.svelte";
import { MOCK_PASSPHRASE, MockBackend } from "../src/lib/mock-backend";
import { Router } from "../src/lib/router.svelte";

describe("Unlock screen", () => {
  it("shows an error summary and an inline error on a wrong passphrase, and clears the field", async () => {
    const user = userEvent.setup();
    let unlocked = false;
    render(Unlock, { backend: new MockBackend({ cases: 1 }), onUnlocked: () => (unlocked = true) });

    const field = screen.getByLabelText("Passphrase");
    await user.type(field, "open sesame");
    await user.click(screen.getByRole("button", { name: "Unlock" }));

    const summary = await screen.findByRole("alert");
    expect(summary).toHaveTextContent("There is a problem");
    expect(summary).toHaveTextContent("The passphrase is not right for this device");
    expect(document.activeElement).toHaveClass("govuk-error-summary");
    expect(screen.getByLabelText("Passphrase")).toHaveValue("");
    expect(screen.getByLabelText("Passphrase")).toHaveAccessibleDescription(
      /Error: The passphrase is not right/,
    );
    expect(unlocked).toBe(false);

    // The summary's link moves focus to the field.
    await user.click(within(summary).getByRole("link"));
    expect(document.activeElement).toBe(screen.getByLabelText("Passphrase"));
  });

  it("asks for a passphrase when none is entered", async () => {
    const user = userEvent.setup();
    render(Unlock, { backend: new MockBackend({ cases: 1 }), onUnlocked: () => {} });
    await user.click(screen.getByRole("button", { name: "Unlock" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Enter your passphrase");
  });
});

describe("My cases screen", () => {
  beforeEach(() => forgetCaseFilters());

  it("shows counts, a page of cases and pages on with Next", async () => {
    const user = userEvent.setup();
    render(Cases, { backend: new MockBackend({ cases: 213, unlocked: true }), go: () => {} });

    expect(await screen.findByText("Showing 1 to 50 of 213 cases")).toBeInTheDocument();
    expect(screen.getAllByRole("row")).toHaveLength(51); // header + 50
    expect(screen.queryByRole("link", { name: /Previous/ })).not.toBeInTheDocument();

    await user.click(screen.getByRole("link", { name: /Next/ }));
    expect(await screen.findByText("Showing 51 to 100 of 213 cases")).toBeInTheDocument();
    expect(screen.getByRole("link", { name: /Previous/ })).toBeInTheDocument();
  });

  it("filters the table by search text and by status", async () => {
    const user = userEvent.setup();
    render(Cases, { backend: new MockBackend({ cases: 5, unlocked: true }), go: () => {} });
    await screen.findByText("Showing 1 to 5 of 5 cases");

    await user.type(screen.getByLabelText("Search"), "golden");
    await user.click(screen.getByRole("button", { name: "Search" }));
    expect(await screen.findByText("Showing 1 to 1 of 1 case")).toBeInTheDocument();
    const table = screen.getByRole("table");
    expect(within(table).getByText("The Golden Fork takeaway")).toBeInTheDocument();
    expect(within(table).queryByText("Damp and mould complaint")).not.toBeInTheDocument();

    await user.clear(screen.getByLabelText("Search"));
    await user.selectOptions(screen.getByLabelText("Status"), "Submitted");
    await user.click(screen.getByRole("button", { name: "Search" }));
    expect(await screen.findByText("Showing 1 to 1 of 1 case")).toBeInTheDocument();
    expect(within(screen.getByRole("table")).getByText("Pothole outside school")).toBeInTheDocument();
    expect(within(screen.getByRole("table")).getByText("Submitted")).toHaveClass("govuk-tag");
  });

  it("says so when nothing matches", async () => {
    const user = userEvent.setup();
    render(Cases, { backend: new MockBackend({ cases: 5, unlocked: true }), go: () => {} });
    await screen.findByText("Showing 1 to 5 of 5 cases");
    await user.type(screen.getByLabelText("Search"), "zebra");
    await user.click(screen.getByRole("button", { name: "Search" }));
    expect(await screen.findByText("No cases")).toBeInTheDocument();
    expect(screen.queryByRole("table")).not.toBeInTheDocument();
  });
});

describe("App", () => {
  beforeEach(() => forgetCaseFilters());

  it("unlocks, lists cases with counts, opens a case and comes back", async () => {
    const user = userEvent.setup();
    render(App, { backend: new MockBackend({ cases: 213 }), router: new Router() });

    expect(screen.getByTestId("header")).toHaveTextContent("Anytown Council · Fieldbook");
    await user.type(await screen.findByLabelText("Passphrase"), MOCK_PASSPHRASE);
    await user.click(screen.getByRole("button", { name: "Unlock" }));

    expect(await screen.findByText("Showing 1 to 50 of 213 cases")).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByTestId("sync-status")).toHaveTextContent("Not signed in 3 changes saved on this device, waiting to sync"),
    );
    await waitFor(() => expect(document.activeElement).toHaveTextContent("My cases"));

    await user.type(screen.getByLabelText("Search"), "FH-2026-1-0001");
    await user.click(screen.getByRole("button", { name: "Search" }));
    await user.click(await screen.findByRole("link", { name: "FH-2026-1-0001" }));
    expect(await screen.findByRole("heading", { level: 1, name: "The Golden Fork takeaway" })).toBeInTheDocument();
    const list = document.querySelector(".govuk-summary-list")!;
    for (const text of ["Reference", "FH-2026-1-0001", "Food hygiene", "Open", "12 High Street, Anytown", "AN1 2BC", "UPRN", "2 March 2026"]) {
      expect(list).toHaveTextContent(text);
    }
    await waitFor(() => expect(document.activeElement).toHaveTextContent("The Golden Fork takeaway"));

    // Coming back keeps the search the person made.
    await user.click(screen.getByRole("link", { name: "Back to my cases" }));
    expect(await screen.findByText("Showing 1 to 1 of 1 case")).toBeInTheDocument();
    expect(screen.getByLabelText("Search")).toHaveValue("FH-2026-1-0001");

    await user.click(screen.getByRole("button", { name: "Lock" }));
    expect(await screen.findByLabelText("Passphrase")).toBeInTheDocument();
  });
});
