import { describe, expect, it } from "vitest";
import { formatDate, outboxText, showingText } from "../src/lib/format";
import { hrefFor, parseHash } from "../src/lib/router.svelte";

describe("format", () => {
  it("counts like the GOV.UK pattern", () => {
    expect(showingText(0, 50, 213)).toBe("Showing 1 to 50 of 213 cases");
    expect(showingText(200, 13, 213)).toBe("Showing 201 to 213 of 213 cases");
    expect(showingText(0, 1, 1)).toBe("Showing 1 to 1 of 1 case");
    expect(showingText(0, 0, 0)).toBe("No cases");
  });

  it("tells the outbox honestly", () => {
    expect(outboxText(3)).toBe("Offline — 3 changes waiting");
    expect(outboxText(1)).toBe("Offline — 1 change waiting");
  });

  it("writes dates the GOV.UK way", () => {
    expect(formatDate("2026-03-02")).toBe("2 March 2026");
    expect(formatDate(null)).toBe("Not set");
  });
});

describe("routes", () => {
  it("round-trips through the hash", () => {
    expect(parseHash("")).toEqual({ name: "cases" });
    expect(parseHash("#/cases")).toEqual({ name: "cases" });
    const r = { name: "case", reference: "FH-2026-1-0001" } as const;
    expect(parseHash(hrefFor(r))).toEqual(r);
  });
});
