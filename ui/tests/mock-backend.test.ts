import { describe, expect, it } from "vitest";
import { BackendError, listArgs } from "../src/lib/backend";
import { MOCK_PASSPHRASE, MockBackend } from "../src/lib/mock-backend";
import type { NewCaseArgs } from "../src/bindings/NewCaseArgs";

function newCase(overrides: Partial<NewCaseArgs> = {}): NewCaseArgs {
  return {
    kind: "food_hygiene",
    title: "Market stall",
    address: "Market Square, Anytown",
    postcode: "an1 1aa",
    uprn: null,
    lat: null,
    lon: null,
    accuracy_m: null,
    location_source: null,
    due: "2026-05-01",
    ...overrides,
  };
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

describe("MockBackend: locking", () => {
  it("starts locked: device() fails with code locked", async () => {
    const b = new MockBackend();
    expect((await rejection(b.device())).code).toBe("locked");
    expect((await rejection(b.listCases(listArgs()))).code).toBe("locked");
  });

  it("refuses a wrong passphrase with wrong_passphrase and stays locked", async () => {
    const b = new MockBackend();
    const e = await rejection(b.unlock("open sesame"));
    expect(e.code).toBe("wrong_passphrase");
    expect(e.toDto()).toEqual({ code: "wrong_passphrase", message: "the passphrase is wrong" });
    expect((await rejection(b.device())).code).toBe("locked");
  });

  it("unlocks with the right passphrase and reports the outbox", async () => {
    const b = new MockBackend({ cases: 10 });
    const d = await b.unlock(MOCK_PASSPHRASE);
    expect(d.case_count).toBe(10);
    expect(d.outbox_changes).toBe(3);
    await b.lock();
    expect((await rejection(b.device())).code).toBe("locked");
  });
});

describe("MockBackend: listing", () => {
  it("pages with a total", async () => {
    const b = new MockBackend({ cases: 213, unlocked: true });
    const first = await b.listCases(listArgs());
    expect(first.total).toBe(213);
    expect(first.cases).toHaveLength(50);
    expect(first).toMatchObject({ offset: 0, limit: 50 });
    const last = await b.listCases(listArgs({ offset: 200 }));
    expect(last.cases).toHaveLength(13);
    const refs = new Set([...first.cases, ...last.cases].map((c) => c.reference));
    expect(refs.size).toBe(63);
  });

  it("sorts by due date by default, cases without one last", async () => {
    const b = new MockBackend({ cases: 60, unlocked: true });
    const page = await b.listCases(listArgs({ limit: 500 }));
    const dues = page.cases.map((c) => c.due);
    const dated = dues.filter((d): d is string => d !== null);
    expect(dated).toEqual([...dated].sort());
    expect(dues.slice(dated.length).every((d) => d === null)).toBe(true);
  });

  it("filters by status and kind", async () => {
    const b = new MockBackend({ cases: 213, unlocked: true });
    const open = await b.listCases(listArgs({ statuses: ["open"], limit: 500 }));
    expect(open.total).toBeGreaterThan(0);
    expect(open.total).toBeLessThan(213);
    expect(open.cases.every((c) => c.status === "open")).toBe(true);
    const both = await b.listCases(listArgs({ statuses: ["open"], kinds: ["housing"], limit: 500 }));
    expect(both.cases.every((c) => c.status === "open" && c.kind === "housing")).toBe(true);
    expect(both.total).toBeLessThan(open.total);
  });

  it("searches title, reference and postcode", async () => {
    const b = new MockBackend({ cases: 5, unlocked: true });
    const byTitle = await b.listCases(listArgs({ search: "golden fork" }));
    expect(byTitle.cases.map((c) => c.title)).toEqual(["The Golden Fork takeaway"]);
    const byRef = await b.listCases(listArgs({ search: "hw-2026-1-0001" }));
    expect(byRef.cases.map((c) => c.reference)).toEqual(["HW-2026-1-0001"]);
    const byPostcode = await b.listCases(listArgs({ search: "AN37QP" }));
    expect(byPostcode.cases.map((c) => c.title)).toEqual(["Damp and mould complaint"]);
    expect((await b.listCases(listArgs({ search: "zebra crossing" }))).total).toBe(0);
  });

  it("refuses bad arguments with the device API's codes", async () => {
    const b = new MockBackend({ cases: 5, unlocked: true });
    expect((await rejection(b.listCases(listArgs({ statuses: ["lost"] })))).code).toBe("unknown_status");
    expect((await rejection(b.listCases(listArgs({ kinds: ["parking"] })))).code).toBe("unknown_case_kind");
    const e = await rejection(b.listCases(listArgs({ limit: 501 })));
    expect([e.code, e.field]).toEqual(["invalid_input", "limit"]);
  });
});

describe("MockBackend: cases", () => {
  it("creates a case with the next reference and counts the change", async () => {
    const b = new MockBackend({ cases: 5, unlocked: true });
    const before = (await b.device()).outbox_changes;
    const c = await b.createCase(newCase());
    expect(c.reference).toBe("FH-2026-1-0002");
    expect(c.postcode).toBe("AN1 1AA");
    expect(c.status).toBe("open");
    expect((await b.openCase("fh-2026-1-0002")).title).toBe("Market stall");
    expect((await b.device()).outbox_changes).toBe(before + 1);
    expect((await b.device()).case_count).toBe(6);
  });

  it("refuses an empty title with empty_title and saves nothing", async () => {
    const b = new MockBackend({ cases: 5, unlocked: true });
    const e = await rejection(b.createCase(newCase({ title: "   " })));
    expect(e.code).toBe("empty_title");
    expect(e.message).toBe("enter a title");
    expect((await b.device()).case_count).toBe(5);
  });

  it("refuses a bad postcode, UPRN or due date", async () => {
    const b = new MockBackend({ cases: 0, unlocked: true });
    expect((await rejection(b.createCase(newCase({ postcode: "NOT A POSTCODE" })))).code).toBe("invalid_postcode");
    expect((await rejection(b.createCase(newCase({ uprn: "12ab" })))).code).toBe("invalid_uprn");
    expect((await rejection(b.createCase(newCase({ due: "2026-02-30" })))).code).toBe("invalid_date");
  });

  it("says case_not_found for an unknown reference", async () => {
    const b = new MockBackend({ cases: 1, unlocked: true });
    expect((await rejection(b.openCase("FH-2026-1-9999"))).code).toBe("case_not_found");
  });

  it("records a visit, answers it and submits it for review", async () => {
    const b = new MockBackend({ cases: 0, unlocked: true });
    const c = await b.createCase(newCase());
    expect((await rejection(b.submit(c.reference))).code).toBe("no_visits");
    let now = await b.addVisit({ case: c.reference, template: null, lat: null, lon: null, accuracy_m: null });
    const visit = now.visits[0]!;
    expect(now.status).toBe("in_progress");
    expect(visit.template_id).toBe("food-hygiene");
    const template = (await b.templates()).find((t) => t.id === "food-hygiene")!;
    const required = template.sections.flatMap((s) => s.items).filter((i) => i.required);
    expect(visit.missing_required).toEqual(required.map((i) => i.label));
    expect((await rejection(b.submit(c.reference))).code).toBe("visit_incomplete");
    const refused = await rejection(b.answer({ case: c.reference, visit: visit.id, item: "fh.fbo_present", value: "maybe" }));
    expect([refused.code, refused.field]).toEqual(["invalid_answer", "fh.fbo_present"]);
    const tooMany = await rejection(b.answer({ case: c.reference, visit: visit.id, item: "fh.food_handlers", value: "2.5" }));
    expect(tooMany.code).toBe("invalid_answer");
    for (const item of required) {
      const value = item.kind === "yes_no" ? "no" : item.options[0]!.value;
      now = await b.answer({ case: c.reference, visit: visit.id, item: item.id, value });
    }
    expect(now.visits[0]!.missing_required).toEqual([]);
    now = await b.submit(c.reference);
    expect(now.status).toBe("submitted");
    expect(now.editable).toBe(false);
    const e = await rejection(b.editCase({
      case: c.reference, title: "x", address: null, postcode: null, uprn: null, due: null,
      lat: null, lon: null, accuracy_m: null, location_source: null, clear_location: false,
    }));
    expect(e.code).toBe("case_locked");
    const history = await b.history(c.reference);
    expect(history.map((h) => h.message)).toContain("Submitted for review");
  });
});

describe("BackendError", () => {
  it("turns an IPC ErrorDto into a BackendError with its field", () => {
    const e = BackendError.from({ code: "invalid_input", message: "bad limit", field: "limit" });
    expect(e).toBeInstanceOf(BackendError);
    expect([e.code, e.message, e.field]).toEqual(["invalid_input", "bad limit", "limit"]);
    expect(BackendError.from(new Error("boom")).code).toBe("unexpected");
  });
});
