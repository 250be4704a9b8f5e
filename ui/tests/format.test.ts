import { describe, expect, it } from "vitest";
import {
  addDays,
  countOf,
  formatDate,
  formatDateTime,
  isoDay,
  gridText,
  locationRows,
  wardText,
  outboxText,
  personName,
  showingCases,
  thousands,
} from "../src/lib/format";
import { hrefFor, parseHash } from "../src/lib/router.svelte";

describe("format", () => {
  it("counts like the GOV.UK pattern", () => {
    expect(showingCases(0, 50, 213)).toBe("Showing 1 to 50 of 213 cases");
    expect(showingCases(200, 13, 213)).toBe("Showing 201 to 213 of 213 cases");
    expect(showingCases(0, 1, 1)).toBe("Showing 1 to 1 of 1 case");
    expect(showingCases(0, 0, 0)).toBe("No cases");
    expect(showingCases(49_950, 50, 50_000)).toBe("Showing 49,951 to 50,000 of 50,000 cases");
  });

  it("tells the outbox honestly", () => {
    expect(outboxText(3)).toBe("3 changes saved on this device, waiting to sync");
    expect(outboxText(1)).toBe("1 change saved on this device, waiting to sync");
    expect(outboxText(0)).toBe("All changes saved on this device");
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

describe("case screen formats", () => {
  it("counts with thousands separators", () => {
    expect(thousands(50000)).toBe("50,000");
    expect(showingCases(0, 50, 50000)).toBe("Showing 1 to 50 of 50,000 cases");
    expect(showingCases(49950, 50, 50000)).toBe("Showing 49,951 to 50,000 of 50,000 cases");
    expect(showingCases(0, 1, 1)).toBe("Showing 1 to 1 of 1 case");
    expect(showingCases(0, 0, 0)).toBe("No cases");
    expect(countOf(1, "photo")).toBe("1 photo");
    expect(countOf(1200, "photo")).toBe("1,200 photos");
  });

  it("writes moments in UK time, summer and winter", () => {
    expect(formatDateTime("2026-11-24T10:42:00Z")).toBe("24 November 2026, 10:42");
    expect(formatDateTime("2026-07-01T08:05:00Z")).toBe("1 July 2026, 09:05"); // BST
    expect(formatDateTime("2026-03-29T23:30:00Z")).toBe("30 March 2026, 00:30");
    expect(formatDateTime("not a time")).toBe("not a time");
  });

  it("moves days across months and years", () => {
    expect(addDays("2026-02-28", 1)).toBe("2026-03-01");
    expect(addDays("2026-01-01", -1)).toBe("2025-12-31");
    expect(addDays("2026-03-01", 7)).toBe("2026-03-08");
    expect(isoDay(new Date(2026, 0, 5))).toBe("2026-01-05");
  });

  it("names people and places", () => {
    expect(personName({ name: "Sam Officer" })).toBe("Sam Officer");
    expect(personName(null)).toBe("Unknown person");
    expect(personName({ name: null })).toBe("Unknown person");
    expect(gridText({ easting: 468381.28, northing: 235640.751, grid_ref: "SP 68381 35640" })).toBe(
      "SP 68381 35640 (easting 468381, northing 235640)",
    );
    expect(gridText(null)).toBe("Outside the National Grid");
    expect(wardText({ code: "E05900001", name: "Millbrook North" })).toBe("Millbrook North (E05900001)");
    expect(wardText(null)).toMatch(/^Not known/);
  });

  it("lists where a point is, within the National Grid, outside it, and outside its lettered squares", () => {
    const ward = { code: "E05900001", name: "Millbrook North" };
    const bng = { easting: 468039.09, northing: 234647.9, grid_ref: "SP 68039 34647" };
    expect(locationRows({ lat: 52.0061, lon: -1.0102, bng, ward })).toEqual([
      { key: "Latitude and longitude", value: "52.006100, -1.010200" },
      { key: "Grid reference", value: "SP 68039 34647" },
      { key: "Easting and northing", value: "Easting 468039, northing 234647" },
      { key: "Ward", value: "Millbrook North (E05900001)" },
    ]);
    expect(locationRows({ lat: 48.8566, lon: 2.3522, bng: null, ward: null })).toEqual([
      { key: "Latitude and longitude", value: "48.856600, 2.352200" },
      { key: "Grid reference", value: "Outside the National Grid" },
      { key: "Ward", value: "Not known (no ward boundaries on this device cover it)" },
    ]);
    const rows = locationRows({ lat: 61.0, lon: -0.8, bng: { easting: 450000, northing: 1_240_000.5, grid_ref: null }, ward: null });
    expect(rows[1]).toEqual({ key: "Grid reference", value: "None (outside the lettered squares of the National Grid)" });
    expect(rows[2]).toEqual({ key: "Easting and northing", value: "Easting 450000, northing 1240000" });
  });
});
