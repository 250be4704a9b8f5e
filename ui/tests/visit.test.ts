import { describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import VisitTasks from "../src/screens/VisitTasks.svelte";
import VisitSection from "../src/screens/VisitSection.svelte";
import CheckAnswers from "../src/screens/CheckAnswers.svelte";
import { MockBackend } from "../src/lib/mock-backend";
import type { CaseDto, TemplateDto } from "../src/lib/backend";
import { isoFromParts, partsFromIso } from "../src/lib/dates";
import { missingMessage, sectionStatus } from "../src/lib/visit";

/** A device with one food hygiene case and a visit started on it. */
async function started(): Promise<{ b: MockBackend; c: CaseDto; visit: string; template: TemplateDto }> {
  const b = new MockBackend({ cases: 0, unlocked: true });
  const created = await b.createCase({
    kind: "food_hygiene", title: "The Golden Fork", address: null, postcode: "AN1 2BC",
    uprn: null, lat: null, lon: null, accuracy_m: null, location_source: null, due: null,
  });
  const c = await b.addVisit({ case: created.reference, template: null, lat: null, lon: null, accuracy_m: null });
  const template = (await b.templates()).find((t) => t.id === "food-hygiene")!;
  return { b, c, visit: c.visits[0]!.id, template };
}

async function answers(b: MockBackend, c: CaseDto): Promise<Record<string, string>> {
  const now = await b.openCase(c.reference);
  return Object.fromEntries(now.visits[0]!.answers.map((a) => [a.item_id, a.input]));
}

describe("Record a visit: task list", () => {
  it("lists the template's sections with how far each has got", async () => {
    const { b, c, visit, template } = await started();
    await b.answer({ case: c.reference, visit, item: "fh.business_type", value: "takeaway" });
    render(VisitTasks, { backend: b, reference: c.reference, visit, go: () => {} });
    expect(await screen.findByRole("heading", { level: 1, name: "Food hygiene inspection" })).toBeInTheDocument();
    const items = screen.getAllByRole("listitem");
    expect(items).toHaveLength(template.sections.length);
    // One of two required questions of "Premises" answered: incomplete; the rest not started.
    expect(items[0]).toHaveTextContent(`${template.sections[0]!.title} Incomplete`);
    expect(items[1]).toHaveTextContent("Not yet started");
    expect(screen.getByTestId("sections-done")).toHaveTextContent(`You have completed 0 of ${template.sections.length} sections.`);
    // Each task's status is its link's description, for screen readers.
    expect(within(items[0]!).getByRole("link")).toHaveAccessibleDescription("Incomplete");
  });

  it("works out a section's status from answers and unsaved typing", () => {
    const section = {
      id: "s", title: "S",
      items: [
        { id: "a", required: true }, { id: "b", required: false },
      ],
    } as unknown as TemplateDto["sections"][number];
    const none = new Map();
    expect(sectionStatus(section, none, new Set())).toBe("not_started");
    const a = new Map([["a", {} as never]]);
    expect(sectionStatus(section, a, new Set())).toBe("completed");
    expect(sectionStatus(section, a, new Set(["b"]))).toBe("incomplete");
    expect(sectionStatus(section, none, new Set(["b"]))).toBe("incomplete");
  });
});

describe("Record a visit: a section", () => {
  it("saves a choice at once and a typed answer when the field is left", async () => {
    const user = userEvent.setup();
    const { b, c, visit } = await started();
    render(VisitSection, { backend: b, reference: c.reference, visit, section: "premises", go: () => {} });
    await user.click(await screen.findByLabelText("Takeaway or sandwich shop"));
    await waitFor(async () => expect((await answers(b, c))["fh.business_type"]).toBe("takeaway"));

    const handlers = screen.getByLabelText(/Number of food handlers/);
    await user.type(handlers, "12");
    // Every keystroke is on the device as a draft before anything reaches the case.
    await waitFor(() => expect([...b.draftStore.values()].map((d) => d.value)).toContain("12"));
    expect((await answers(b, c))["fh.food_handlers"]).toBeUndefined();
    await user.tab();
    await waitFor(async () => expect((await answers(b, c))["fh.food_handlers"]).toBe("12"));
    // Saved into the case: the draft is gone.
    await waitFor(() => expect([...b.draftStore.keys()].filter((k) => k.includes("food_handlers"))).toEqual([]));
    expect(screen.getByTestId("save-status")).toHaveTextContent("All changes saved on this device");
  });

  it("refuses an invalid answer beside the field and in the error summary, and saves nothing", async () => {
    const user = userEvent.setup();
    const go = vi.fn();
    const { b, c, visit } = await started();
    render(VisitSection, { backend: b, reference: c.reference, visit, section: "premises", go });
    const handlers = await screen.findByLabelText(/Number of food handlers/);
    await user.type(handlers, "2.5");
    await user.tab();
    expect(await screen.findByText(/enter a whole number/, { selector: ".govuk-error-message" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Save and continue" }));

    const summary = await screen.findByRole("alert");
    expect(summary).toHaveTextContent("There is a problem");
    expect(summary).toHaveTextContent("Number of food handlers: enter a whole number");
    // Required questions left unanswered are listed too, with GOV.UK wording.
    expect(summary).toHaveTextContent("Select type of business");
    expect(summary).toHaveTextContent("Select yes or no: Was the food business operator present?");
    expect(document.activeElement).toHaveClass("govuk-error-summary");
    expect(go).not.toHaveBeenCalled();
    expect(await answers(b, c)).toEqual({});
    // What was typed is kept as a draft, so nothing typed is lost either.
    expect([...b.draftStore.values()].map((d) => d.value)).toContain("2.5");

    // The summary's link moves focus to the field at fault.
    await user.click(within(summary).getByRole("link", { name: /enter a whole number/ }));
    expect(document.activeElement).toBe(handlers);
  });

  it("brings back what was typed when the app closed before it was saved", async () => {
    const user = userEvent.setup();
    const { b, c, visit } = await started();
    const first = render(VisitSection, { backend: b, reference: c.reference, visit, section: "handling", go: () => {} });
    const comments = await screen.findByLabelText(/Food handling: comments/);
    await user.type(comments, "Raw chicken above salad");
    await waitFor(() => expect([...b.draftStore.values()].map((d) => d.value)).toContain("Raw chicken above salad"));
    first.unmount(); // the window closed mid-sentence: no blur, no pause

    render(VisitSection, { backend: b, reference: c.reference, visit, section: "handling", go: () => {} });
    expect(await screen.findByText("We kept what you typed before Fieldbook closed")).toBeInTheDocument();
    expect(screen.getByLabelText(/Food handling: comments/)).toHaveValue("Raw chicken above salad");
  });

  it("goes back to the task list when the section is complete", async () => {
    const user = userEvent.setup();
    const go = vi.fn();
    const { b, c, visit } = await started();
    render(VisitSection, { backend: b, reference: c.reference, visit, section: "premises", go });
    await user.click(await screen.findByLabelText("Cafe or canteen"));
    const present = screen.getByRole("group", { name: "Was the food business operator present?" });
    await user.click(within(present).getByLabelText("Yes"));
    await user.click(screen.getByRole("button", { name: "Save and continue" }));
    await waitFor(() => expect(go).toHaveBeenCalledWith({ name: "visit", reference: c.reference, visit }));
    expect(await answers(b, c)).toEqual({ "fh.business_type": "cafe", "fh.fbo_present": "yes" });
  });
});

describe("Record a visit: check your answers", () => {
  it("will not submit with questions unanswered, then submits when all are", async () => {
    const user = userEvent.setup();
    const go = vi.fn();
    const { b, c, visit, template } = await started();
    const view = render(CheckAnswers, { backend: b, reference: c.reference, visit, go });
    expect(await screen.findByRole("heading", { level: 1, name: "Check your answers before submitting the case" })).toBeInTheDocument();
    await user.click(screen.getByRole("button", { name: "Submit for review" }));
    const summary = await screen.findByRole("alert");
    const required = template.sections.flatMap((s) => s.items).filter((i) => i.required);
    expect(within(summary).getAllByRole("link")).toHaveLength(required.length);
    expect(summary).toHaveTextContent(missingMessage(required[0]!));
    expect((await b.openCase(c.reference)).status).toBe("in_progress");
    expect(go).not.toHaveBeenCalled();

    for (const item of required) {
      await b.answer({ case: c.reference, visit, item: item.id, value: item.kind === "yes_no" ? "no" : item.options[0]!.value });
    }
    view.unmount();
    render(CheckAnswers, { backend: b, reference: c.reference, visit, go });
    await user.click(await screen.findByRole("button", { name: "Submit for review" }));
    await waitFor(() => expect(go).toHaveBeenCalledWith({ name: "submitted", reference: c.reference }));
    expect((await b.openCase(c.reference)).status).toBe("submitted");
  });
});

describe("dates", () => {
  it("reads the three parts of a GOV.UK date input", () => {
    expect(isoFromParts("", "Due date")).toEqual({ ok: true, iso: "" });
    expect(isoFromParts("//", "Due date")).toEqual({ ok: true, iso: "" });
    expect(isoFromParts("3/4/2026", "Due date")).toEqual({ ok: true, iso: "2026-04-03" });
    expect(isoFromParts("31/2/2026", "Due date")).toEqual({ ok: false, message: "Due date must be a real date" });
    expect(isoFromParts("3//2026", "Due date")).toEqual({ ok: false, message: "Due date must include a month" });
    expect(isoFromParts("/4/", "Due date")).toEqual({ ok: false, message: "Due date must include a day and year" });
    expect(partsFromIso("2026-04-03")).toBe("3/4/2026");
  });
});
