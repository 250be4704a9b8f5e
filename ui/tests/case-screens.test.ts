// The case screens against the in-memory device: My cases (filters, sort, paging), New case
// (checks, refusals, drafts across a restart), Edit case (save as you type) and the case page.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import Cases, { forgetCaseFilters } from "../src/screens/Cases.svelte";
import NewCase from "../src/screens/NewCase.svelte";
import EditCase from "../src/screens/EditCase.svelte";
import CasePage from "../src/screens/CasePage.svelte";
import { MockBackend } from "../src/lib/mock-backend";
import { listArgs, type ListArgs } from "../src/lib/backend";
import type { Route } from "../src/lib/router.svelte";

function device(cases = 40): MockBackend {
  return new MockBackend({ cases, unlocked: true });
}

async function total(backend: MockBackend, args: Partial<ListArgs> = {}): Promise<number> {
  return (await backend.listCases(listArgs(args))).total;
}

/** The text of one column of the cases table, top to bottom. */
function column(n: number): string[] {
  const rows = within(screen.getByRole("table")).getAllByRole("row").slice(1);
  return rows.map((r) => within(r).getAllByRole("cell")[n]!.textContent!.trim());
}

function errorSummary(): HTMLElement {
  return screen.getByRole("alert");
}

// ------------------------------------------------------------------ My cases

describe("My cases", () => {
  beforeEach(() => forgetCaseFilters());

  it("counts 50,000 cases with separators and never asks for more than a page", async () => {
    const user = userEvent.setup();
    const backend = new MockBackend({ cases: 50_000, unlocked: true });
    const list = vi.spyOn(backend, "listCases");
    render(Cases, { backend, go: () => {} });

    expect(await screen.findByText("Showing 1 to 50 of 50,000 cases")).toBeInTheDocument();
    expect(screen.getAllByRole("row")).toHaveLength(51);
    expect(screen.getByRole("link", { name: "Page 1000" })).toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Page 1" })).toHaveAttribute("aria-current", "page");

    await user.click(screen.getByRole("link", { name: "Page 1000" }));
    expect(await screen.findByText("Showing 49,951 to 50,000 of 50,000 cases")).toBeInTheDocument();
    expect(screen.queryByRole("link", { name: /Next/ })).not.toBeInTheDocument();
    await user.click(screen.getByRole("link", { name: /Previous/ }));
    expect(await screen.findByText("Showing 49,901 to 49,950 of 50,000 cases")).toBeInTheDocument();

    for (const [args] of list.mock.calls) expect(args.limit).toBe(50);
    expect(list.mock.calls.map(([a]) => a.offset)).toEqual([0, 49_950, 49_900]);
  }, 60_000); // the mock device sorts all 50,000 in memory on every call; the real one reads an index

  it("filters by kind, and the count follows", async () => {
    const user = userEvent.setup();
    const backend = device(60);
    render(Cases, { backend, go: () => {} });
    await screen.findByText("Showing 1 to 50 of 60 cases");

    const expected = await total(backend, { kinds: ["fly_tipping"] });
    expect(expected).toBeGreaterThan(0);
    expect(expected).toBeLessThan(60);
    await user.selectOptions(screen.getByLabelText("Kind"), "Fly-tipping");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));

    expect(await screen.findByText(`Showing 1 to ${expected} of ${expected} cases`)).toBeInTheDocument();
    expect(new Set(column(2))).toEqual(new Set(["Fly-tipping"]));
  });

  it("filters by due date counted from today: overdue, and due in the next 7 days", async () => {
    const user = userEvent.setup();
    const backend = device(60);
    render(Cases, { backend, today: "2026-03-01", go: () => {} });
    await screen.findByText("Showing 1 to 50 of 60 cases");

    const overdue = await total(backend, { due_before: "2026-02-28" });
    expect(overdue).toBeGreaterThan(0);
    await user.selectOptions(screen.getByLabelText("Due"), "Overdue");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByText(`Showing 1 to ${overdue} of ${overdue} cases`)).toBeInTheDocument();
    for (const due of column(4)) expect(due).toMatch(/ (January|February) 2026$/);

    const week = await total(backend, { due_after: "2026-03-01", due_before: "2026-03-08" });
    expect(week).toBeGreaterThan(0);
    await user.selectOptions(screen.getByLabelText("Due"), "Due in the next 7 days");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    expect(await screen.findByText(`Showing 1 to ${week} of ${week} case${week === 1 ? "" : "s"}`)).toBeInTheDocument();
    for (const due of column(4)) expect(due).toMatch(/^[1-8] March 2026$/);
  });

  it("sorts by title and reference, both ways", async () => {
    const user = userEvent.setup();
    const backend = device(30);
    render(Cases, { backend, go: () => {} });
    await screen.findByText("Showing 1 to 30 of 30 cases");

    await user.selectOptions(screen.getByLabelText("Sort by"), "Title");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    await waitFor(() => {
      const titles = column(1).map((t) => t.toLowerCase());
      expect(titles[0]! <= titles[titles.length - 1]!).toBe(true);
    });
    const byTitle = (await backend.listCases(listArgs({ sort: "title" }))).cases.map((c) => c.reference);
    expect(column(0)).toEqual(byTitle);

    await user.selectOptions(screen.getByLabelText("Sort by"), "Reference");
    await user.selectOptions(screen.getByLabelText("Order"), "Descending (latest or Z first)");
    await user.click(screen.getByRole("button", { name: "Apply filters" }));
    const byReference = (await backend.listCases(listArgs({ sort: "reference", descending: true }))).cases.map(
      (c) => c.reference,
    );
    await waitFor(() => expect(column(0)).toEqual(byReference));
    expect(byReference[0]! > byReference[byReference.length - 1]!).toBe(true);
  });

  it("offers Best match while searching, and keeps filters when the screen comes back", async () => {
    const user = userEvent.setup();
    const backend = device(40);
    const first = render(Cases, { backend, go: () => {} });
    await screen.findByText("Showing 1 to 40 of 40 cases");

    expect(screen.queryByRole("option", { name: "Best match" })).not.toBeInTheDocument();
    await user.type(screen.getByLabelText("Search"), "pothole");
    expect(screen.getByLabelText("Sort by")).toHaveValue("relevance");
    await user.selectOptions(screen.getByLabelText("Status"), "Submitted");
    await user.click(screen.getByRole("button", { name: "Search" }));
    const expected = await total(backend, { search: "pothole", statuses: ["submitted"] });
    const count = screen.getByTestId("case-count");
    await waitFor(() => expect(count).toHaveTextContent(`of ${expected} case`));

    first.unmount();
    render(Cases, { backend, go: () => {} });
    expect(screen.getByLabelText("Search")).toHaveValue("pothole");
    expect(screen.getByLabelText("Status")).toHaveValue("submitted");
    await waitFor(() => expect(screen.getByTestId("case-count")).toHaveTextContent(`of ${expected} case`));

    await user.click(screen.getByRole("link", { name: "Clear filters" }));
    expect(await screen.findByText("Showing 1 to 40 of 40 cases")).toBeInTheDocument();
    expect(screen.getByLabelText("Search")).toHaveValue("");
    expect(screen.getByLabelText("Sort by")).toHaveValue("due");
  });

  it("shows kind, status and address, and goes to a case and to New case", async () => {
    const user = userEvent.setup();
    const go = vi.fn<(r: Route) => void>();
    render(Cases, { backend: device(5), go });
    await screen.findByText("Showing 1 to 5 of 5 cases");

    const row = screen.getByRole("row", { name: /FH-2026-1-0001/ });
    expect(row).toHaveTextContent("The Golden Fork takeaway");
    expect(row).toHaveTextContent("12 High Street, Anytown, AN1 2BC");
    expect(row).toHaveTextContent("Food hygiene");
    expect(within(row).getByText("Open")).toHaveClass("govuk-tag");
    expect(screen.getByRole("row", { name: /FT-2026-1-0001/ })).toHaveTextContent("No due date");

    await user.click(screen.getByRole("link", { name: "FH-2026-1-0001" }));
    expect(go).toHaveBeenLastCalledWith({ name: "case", reference: "FH-2026-1-0001" });
    await user.click(screen.getByRole("button", { name: "New case" }));
    expect(go).toHaveBeenLastCalledWith({ name: "new-case" });
  });
});

// ------------------------------------------------------------------ New case

describe("New case", () => {
  it("checks what it can before asking the device: summary with links, inline errors, nothing created", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await screen.findByLabelText("Title");

    await user.type(screen.getByLabelText("Day"), "31");
    await user.type(screen.getByLabelText("Month"), "2");
    await user.type(screen.getByLabelText("Year"), "2026");
    await user.click(screen.getByText("Add a location by hand"));
    await user.type(screen.getByLabelText("Latitude"), "51.5");
    await user.click(screen.getByRole("button", { name: "Create case" }));

    const summary = errorSummary();
    await waitFor(() => expect(document.activeElement).toBe(summary.parentElement));
    const links = within(summary).getAllByRole("link");
    expect(links.map((a) => [a.textContent, a.getAttribute("href")])).toEqual([
      ["Select the kind of case", "#kind"],
      ["Enter a title", "#title"],
      ["Due date must be a real date", "#due-day"],
      ["Enter a longitude as well as the latitude, or leave both empty", "#lon"],
    ]);
    expect(screen.getByLabelText("Title")).toHaveAccessibleDescription(/Error: Enter a title/);
    expect(screen.getByLabelText("Title").closest(".govuk-form-group")).toHaveClass("govuk-form-group--error");
    expect(screen.getByRole("group", { name: "What kind of case is it?" })).toHaveAccessibleDescription(
      "Error: Select the kind of case",
    );
    expect(screen.getByRole("group", { name: "Due date (optional)" })).toHaveAccessibleDescription(
      /Error: Due date must be a real date/,
    );
    expect(screen.getByLabelText("Longitude")).toHaveAccessibleDescription(/Error: Enter a longitude/);
    expect(document.title).toMatch(/^Error: New case/);

    // The link moves focus to the field.
    await user.click(within(summary).getByRole("link", { name: "Enter a title" }));
    expect(document.activeElement).toBe(screen.getByLabelText("Title"));

    expect(await total(backend)).toBe(3);
    expect(go).not.toHaveBeenCalled();
  });

  it("shows the device's refusal beside the field it names, and creates nothing", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await user.click(await screen.findByLabelText("Housing (HHSRS)"));
    await user.type(screen.getByLabelText("Title"), "Damp in back bedroom");
    await user.type(screen.getByLabelText("Postcode (optional)"), "ZZ9");
    await user.click(screen.getByRole("button", { name: "Create case" }));

    const summary = errorSummary();
    const link = within(summary).getByRole("link", { name: /is not a UK postcode/ });
    expect(link).toHaveAttribute("href", "#postcode");
    expect(screen.getByLabelText("Postcode (optional)")).toHaveAccessibleDescription(/Error: 'ZZ9' is not a UK postcode/);
    expect(await total(backend)).toBe(3);
    expect(go).not.toHaveBeenCalled();
  });

  it("creates the case, forgets the drafts and opens the new case", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    await user.click(await screen.findByLabelText("Fly-tipping"));
    await user.type(screen.getByLabelText("Title"), "Tyres by the canal");
    await user.type(screen.getByLabelText("Address (optional)"), "Towpath{Enter}Canal Street");
    await user.type(screen.getByLabelText("Postcode (optional)"), "an5 1lt");
    await user.type(screen.getByLabelText(/^UPRN/), "100023336956");
    await user.type(screen.getByLabelText("Day"), "9");
    await user.type(screen.getByLabelText("Month"), "4");
    await user.type(screen.getByLabelText("Year"), "2026");
    await user.click(screen.getByText("Add a location by hand"));
    await user.type(screen.getByLabelText("Latitude"), "51.5034");
    await user.type(screen.getByLabelText("Longitude"), "-0.1276");
    await user.click(screen.getByRole("button", { name: "Create case" }));

    await waitFor(() => expect(go).toHaveBeenCalledTimes(1));
    const route = go.mock.calls[0]![0];
    expect(route).toEqual({ name: "case", reference: expect.stringMatching(/^FT-2026-1-\d{4}$/) });
    const made = await backend.openCase((route as { reference: string }).reference);
    expect(made).toMatchObject({
      kind: "fly_tipping",
      title: "Tyres by the canal",
      address: "Towpath\nCanal Street",
      postcode: "AN5 1LT",
      uprn: 100023336956,
      due: "2026-04-09",
      location: { lat: 51.5034, lon: -0.1276 },
    });
    expect(await total(backend)).toBe(4);
    expect(await backend.drafts("new-case:")).toEqual([]);
  });

  it("puts back what was typed after a restart, with a banner; Cancel forgets it", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const first = render(NewCase, { backend, go: () => {} });
    expect(screen.queryByText("We kept what you typed before Fieldbook closed")).not.toBeInTheDocument();
    await user.click(await screen.findByLabelText("Highway defect"));
    await user.type(screen.getByLabelText("Title"), "Sunken gully");
    await user.type(screen.getByLabelText("Day"), "3");
    await waitFor(async () => expect((await backend.drafts("new-case:")).map((d) => d.value)).toContain("Sunken gully"));
    first.unmount();

    const go = vi.fn<(r: Route) => void>();
    render(NewCase, { backend, go });
    expect(await screen.findByText("We kept what you typed before Fieldbook closed")).toBeInTheDocument();
    expect(screen.getByRole("region", { name: "Important" })).toBeInTheDocument();
    expect(screen.getByLabelText("Title")).toHaveValue("Sunken gully");
    expect(screen.getByLabelText("Highway defect")).toBeChecked();
    expect(screen.getByLabelText("Day")).toHaveValue("3");

    await user.click(screen.getByRole("link", { name: "Cancel" }));
    await waitFor(() => expect(go).toHaveBeenCalledWith({ name: "cases" }));
    expect(await backend.drafts("new-case:")).toEqual([]);
    expect(await total(backend)).toBe(3);
  });
});

// ------------------------------------------------------------------ Edit case

describe("Edit case", () => {
  it("saves a changed field when the person leaves it, with no save button", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    render(EditCase, { backend, reference: "FH-2026-1-0001", go: () => {} });
    const title = await screen.findByLabelText("Title");
    expect(title).toHaveValue("The Golden Fork takeaway");
    expect(screen.queryByRole("button", { name: /save/i })).not.toBeInTheDocument();

    await user.clear(title);
    await user.type(title, "The Golden Fork");
    await user.tab();

    await waitFor(async () => expect((await backend.openCase("FH-2026-1-0001")).title).toBe("The Golden Fork"));
    await waitFor(() => expect(screen.getByTestId("save-status")).toHaveTextContent("All changes saved"));
    expect(screen.getByTestId("save-status")).toHaveAttribute("aria-live", "polite");
    expect(await backend.drafts("case:")).toEqual([]);
  });

  it("refuses an invalid postcode beside the field, keeps it as a draft, and blocks Back to case", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(EditCase, { backend, reference: "FH-2026-1-0001", go });
    const id = (await backend.openCase("FH-2026-1-0001")).id;
    const postcode = await screen.findByLabelText("Postcode");

    await user.clear(postcode);
    await user.type(postcode, "ZZ");
    await user.tab();

    await waitFor(() => expect(postcode).toHaveAccessibleDescription(/Error: 'ZZ' is not a UK postcode/));
    expect(screen.getByTestId("save-status")).toHaveTextContent(/^Not saved: 'ZZ' is not a UK postcode/);
    expect((await backend.openCase("FH-2026-1-0001")).postcode).toBe("AN1 2BC");
    expect(backend.draftStore.get(`case:${id}:postcode;`)?.value).toBe("ZZ");

    await user.click(screen.getByRole("button", { name: "Back to case" }));
    const summary = errorSummary();
    await waitFor(() => expect(document.activeElement).toBe(summary.parentElement));
    expect(within(summary).getByRole("link", { name: /is not a UK postcode/ })).toHaveAttribute("href", "#postcode");
    expect(go).not.toHaveBeenCalled();

    // Put right, the field saves and the way back opens.
    await user.clear(postcode);
    await user.type(postcode, "AN1 9ZZ");
    await user.click(screen.getByRole("button", { name: "Back to case" }));
    await waitFor(() => expect(go).toHaveBeenCalledWith({ name: "case", reference: "FH-2026-1-0001" }));
    expect((await backend.openCase("FH-2026-1-0001")).postcode).toBe("AN1 9ZZ");
    expect(backend.draftStore.has(`case:${id}:postcode;`)).toBe(false);
  });

  it("prefers drafts left from before a restart over the case's values", async () => {
    const backend = device(3);
    const c = await backend.openCase("FH-2026-1-0001");
    await backend.saveDraft(`case:${c.id}:title;`, "Golden Fork (renamed)");
    render(EditCase, { backend, reference: "FH-2026-1-0001", go: () => {} });
    expect(await screen.findByLabelText("Title")).toHaveValue("Golden Fork (renamed)");
    expect(screen.getByText("We kept what you typed before Fieldbook closed")).toBeInTheDocument();
    expect(screen.getByLabelText("Address")).toHaveValue("12 High Street, Anytown");
  });

  it("saves the due date when the person leaves the date, and refuses one that is not real", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    render(EditCase, { backend, reference: "FH-2026-1-0001", go: () => {} });
    const day = await screen.findByLabelText("Day");
    expect(day).toHaveValue("2");

    await user.clear(day);
    await user.type(day, "30");
    await user.tab(); // to Month: still inside the date, nothing saved or refused yet
    await user.clear(screen.getByLabelText("Month"));
    await user.type(screen.getByLabelText("Month"), "2");
    await user.tab();
    expect(screen.queryByText(/must be a real date/)).not.toBeInTheDocument();
    await user.tab(); // out of the date
    await waitFor(() =>
      expect(screen.getByRole("group", { name: "Due date" })).toHaveAccessibleDescription(/Error: Due date must be a real date/),
    );
    expect((await backend.openCase("FH-2026-1-0001")).due).toBe("2026-03-02");

    await user.clear(screen.getByLabelText("Month"));
    await user.type(screen.getByLabelText("Month"), "4");
    await user.tab();
    await user.tab();
    await waitFor(async () => expect((await backend.openCase("FH-2026-1-0001")).due).toBe("2026-04-30"));
    expect(screen.queryByText(/must be a real date/)).not.toBeInTheDocument();
  });

  it("saves latitude and longitude as a pair", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    render(EditCase, { backend, reference: "FH-2026-1-0001", go: () => {} });
    await user.type(await screen.findByLabelText("Latitude"), "51.5034");
    await user.tab();
    await user.tab(); // out of the location: half of one waits, kept as a draft, with no error
    expect(document.activeElement).toBe(screen.getByRole("button", { name: "Back to case" }));
    const id = (await backend.openCase("FH-2026-1-0001")).id;
    await waitFor(() => expect(backend.draftStore.get(`case:${id}:lat;`)?.value).toBe("51.5034"));
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByText(/as well as/)).not.toBeInTheDocument();
    expect(screen.getByTestId("save-status")).toHaveTextContent("Not saved yet");
    await user.type(screen.getByLabelText("Longitude"), "-0.1276");
    await user.tab(); // out of the location
    await waitFor(async () =>
      expect((await backend.openCase("FH-2026-1-0001")).location).toMatchObject({ lat: 51.5034, lon: -0.1276 }),
    );
    await waitFor(() => expect(screen.getByTestId("save-status")).toHaveTextContent("All changes saved"));
    expect(await backend.drafts("case:")).toEqual([]);
  });

  it("will not leave half a location behind", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(EditCase, { backend, reference: "FH-2026-1-0001", go });
    await user.type(await screen.findByLabelText("Latitude"), "51.5034");
    await user.click(screen.getByRole("button", { name: "Back to case" }));

    await waitFor(() => expect(document.activeElement).toBe(errorSummary().parentElement));
    expect(errorSummary()).toHaveTextContent("Enter a longitude as well as the latitude, or clear both");
    expect(screen.getByLabelText("Latitude")).toHaveAccessibleDescription(/Error: Enter a longitude/);
    expect(go).not.toHaveBeenCalled();
    expect((await backend.openCase("FH-2026-1-0001")).location).toBeNull();
  });

  it("says so when the case can no longer change", async () => {
    render(EditCase, { backend: device(3), reference: "HW-2026-1-0001", go: () => {} });
    expect(await screen.findByRole("heading", { level: 1, name: "This case can no longer be changed" })).toBeInTheDocument();
    expect(screen.queryByLabelText("Title")).not.toBeInTheDocument();
    expect(screen.getByRole("link", { name: "Back to the case" })).toBeInTheDocument();
  });
});

// ------------------------------------------------------------------ Case page

describe("Case page", () => {
  it("shows details, location, visits, notes, photos and the history", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend, reference: "FH-2026-1-0001", go });
    expect(await screen.findByRole("heading", { level: 1, name: "The Golden Fork takeaway" })).toBeInTheDocument();

    const details = document.querySelector(".govuk-summary-list")!;
    for (const text of ["FH-2026-1-0001", "Food hygiene", "Open", "AN1 2BC", "2 March 2026", "Not recorded", "Sam Officer"]) {
      expect(details).toHaveTextContent(text);
    }
    await user.click(screen.getByRole("link", { name: /^Change\s*postcode$/ }));
    expect(go).toHaveBeenLastCalledWith({ name: "edit-case", reference: "FH-2026-1-0001" });

    expect(screen.getByRole("heading", { name: "Visits" })).toBeInTheDocument();
    expect(screen.getByText("No visits yet.")).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Notes" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Photos" })).toBeInTheDocument();
    expect(screen.getByText("This case has 0 photos.")).toBeInTheDocument();
    expect(screen.getByLabelText("Add photos")).toHaveAttribute("type", "file");
    expect(within(screen.getByTestId("location-panel")).getByText("No location recorded.")).toBeInTheDocument();

    const history = screen.getByRole("table", { name: /oldest first/ });
    const first = within(history).getAllByRole("row")[1]!;
    expect(first).toHaveTextContent("Created case FH-2026-1-0001");
    expect(first).toHaveTextContent("Sam Officer");
    expect(first).toHaveTextContent(/^\d{1,2} February 2026, \d{2}:\d{2}/);
  });

  it("lists each visit with its progress and a link to carry on", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const withVisit = await backend.addVisit({ case: "FH-2026-1-0001", template: "food-hygiene", lat: null, lon: null, accuracy_m: null });
    const visit = withVisit.visits[0]!;
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend, reference: "FH-2026-1-0001", go });

    const card = (await screen.findByRole("heading", { name: "Visit 1: Food hygiene inspection" })).closest(".govuk-summary-card")!;
    const questions = (await backend.templates()).find((t) => t.id === "food-hygiene")!.sections.flatMap((s) => s.items);
    const required = questions.filter((q) => q.required).length;
    expect(card).toHaveTextContent(`0 of ${questions.length} questions answered`);
    expect(card).toHaveTextContent(`${required} not answered`);
    expect(card).toHaveTextContent("Sam Officer");
    await user.click(within(card as HTMLElement).getByRole("link", { name: /^Continue visit/ }));
    expect(go).toHaveBeenLastCalledWith({ name: "visit", reference: "FH-2026-1-0001", visit: visit.id });
  });

  it("links to the answers instead when the case can no longer change", async () => {
    const user = userEvent.setup();
    const backend = device(5);
    const withVisit = await backend.addVisit({ case: "FT-2026-1-0001", template: null, lat: null, lon: null, accuracy_m: null });
    const open = backend.openCase.bind(backend);
    vi.spyOn(backend, "openCase").mockImplementation(async (r) => ({ ...(await open(r)), editable: false, allowed_transitions: [] }));
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend, reference: "FT-2026-1-0001", go });

    await user.click(await screen.findByRole("link", { name: /^View answers/ }));
    expect(go).toHaveBeenLastCalledWith({ name: "check", reference: "FT-2026-1-0001", visit: withVisit.visits[0]!.id });
    expect(screen.queryByRole("link", { name: /^Change/ })).not.toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Start a visit" })).not.toBeInTheDocument();
  });

  it("adds a note, keeping its line breaks, and refuses an empty one", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    render(CasePage, { backend, reference: "FH-2026-1-0001", go: () => {} });
    const box = await screen.findByLabelText("Add a note");

    await user.click(screen.getByRole("button", { name: "Add note" }));
    const summary = errorSummary();
    expect(within(summary).getByRole("link", { name: "Enter the note" })).toHaveAttribute("href", "#note");
    expect(box).toHaveAccessibleDescription(/Error: Enter the note/);
    await waitFor(() => expect(document.activeElement).toBe(summary.parentElement));

    await user.type(box, "Owner not in.{Enter}Left a card.");
    const id = (await backend.openCase("FH-2026-1-0001")).id;
    await waitFor(() => expect(backend.draftStore.get(`note:${id}:text;`)?.value).toBe("Owner not in.\nLeft a card."));
    await user.click(screen.getByRole("button", { name: "Add note" }));

    const note = await screen.findByText(/Owner not in\./);
    expect(note.textContent).toBe("Owner not in.\nLeft a card.");
    expect(note).toHaveClass("fb-note__text");
    expect(screen.getByLabelText("Add a note")).toHaveValue("");
    expect(screen.queryByRole("alert")).not.toBeInTheDocument();
    expect((await backend.openCase("FH-2026-1-0001")).notes).toHaveLength(1);
    expect(backend.draftStore.has(`note:${id}:text;`)).toBe(false);
    expect(screen.getByRole("table", { name: /oldest first/ })).toHaveTextContent("Added a note");
  });

  it("puts back a note that was being written", async () => {
    const backend = device(3);
    const id = (await backend.openCase("FH-2026-1-0001")).id;
    await backend.saveDraft(`note:${id}:text;`, "Half a thought");
    render(CasePage, { backend, reference: "FH-2026-1-0001", go: () => {} });
    await waitFor(() => expect(screen.getByLabelText("Add a note")).toHaveValue("Half a thought"));
    expect(screen.getByLabelText("Add a note")).toHaveAccessibleDescription(/We kept the note you were writing/);
  });

  it("starts a visit at once when one form fits the case", async () => {
    const user = userEvent.setup();
    const backend = device(5);
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend, reference: "FT-2026-1-0001", go });
    await user.click(await screen.findByRole("button", { name: "Start a visit" }));

    await waitFor(() => expect(go).toHaveBeenCalled());
    const visits = (await backend.openCase("FT-2026-1-0001")).visits;
    expect(visits).toHaveLength(1);
    expect(go).toHaveBeenCalledWith({ name: "visit", reference: "FT-2026-1-0001", visit: visits[0]!.id });
  });

  it("asks which form when more than one fits, and insists on an answer", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const fitting = (await backend.templates()).filter((t) => t.case_kinds.length === 0 || t.case_kinds.includes("food_hygiene"));
    expect(fitting.length).toBeGreaterThan(1);
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend, reference: "FH-2026-1-0001", go });
    await user.click(await screen.findByRole("button", { name: "Start a visit" }));

    const group = screen.getByRole("group", { name: "Which inspection form?" });
    expect(within(group).getAllByRole("radio")).toHaveLength(fitting.length);
    await user.click(screen.getByRole("button", { name: "Start visit" }));
    expect(within(errorSummary()).getByRole("link", { name: "Select which inspection form to use" })).toHaveAttribute("href", "#template");
    expect(group).toHaveAccessibleDescription(/Error: Select which inspection form/);
    expect(go).not.toHaveBeenCalled();

    await user.click(within(group).getByLabelText("Food hygiene inspection"));
    await user.click(screen.getByRole("button", { name: "Start visit" }));
    await waitFor(() => expect(go).toHaveBeenCalled());
    const visits = (await backend.openCase("FH-2026-1-0001")).visits;
    expect(visits.map((v) => v.template_id)).toEqual(["food-hygiene"]);
    expect(go).toHaveBeenCalledWith({ name: "visit", reference: "FH-2026-1-0001", visit: visits[0]!.id });
  });

  it("starts work, then sends Submit for review to the last visit's answers", async () => {
    const user = userEvent.setup();
    const backend = device(3);
    const go = vi.fn<(r: Route) => void>();
    render(CasePage, { backend, reference: "FH-2026-1-0001", go });
    await user.click(await screen.findByRole("button", { name: "Start work" }));
    await waitFor(() => expect(document.querySelector(".govuk-summary-list")).toHaveTextContent("In progress"));
    expect((await backend.openCase("FH-2026-1-0001")).status).toBe("in_progress");

    // No visit yet: nothing to check, so it says what to do.
    await user.click(screen.getByRole("button", { name: "Submit for review" }));
    expect(errorSummary()).toHaveTextContent("Start a visit and answer its questions before you submit the case for review");
    expect(go).not.toHaveBeenCalled();

    const withVisit = await backend.addVisit({ case: "FH-2026-1-0001", template: "food-hygiene", lat: null, lon: null, accuracy_m: null });
    const later = render(CasePage, { backend, reference: "FH-2026-1-0001", go });
    await user.click(await within(later.container).findByRole("button", { name: "Submit for review" }));
    expect(go).toHaveBeenLastCalledWith({ name: "check", reference: "FH-2026-1-0001", visit: withVisit.visits[0]!.id });
  });

  it("says when there is no such case", async () => {
    render(CasePage, { backend: device(3), reference: "XX-0000", go: () => {} });
    expect(await screen.findByRole("heading", { level: 1, name: "Case not found" })).toHaveAttribute("tabindex", "-1");
    expect(screen.getByText(/There is no case XX-0000 on this device/)).toBeInTheDocument();
  });
});
