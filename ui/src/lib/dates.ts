// Dates as the GOV.UK date input takes them (day, month, year typed separately) and as the
// device API takes them (ISO "YYYY-MM-DD").

/** "d/m/y" as typed → its three parts (missing parts are ""). */
export function partsOf(value: string): [string, string, string] {
  const p = value.split("/");
  return [p[0] ?? "", p[1] ?? "", p[2] ?? ""];
}

/** An ISO date → "d/m/y" for the date input; "" stays "". */
export function partsFromIso(iso: string | null): string {
  if (iso === null || iso === "") return "";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  return m ? `${Number(m[3])}/${Number(m[2])}/${m[1]}` : "";
}

export type DateRead = { ok: true; iso: string } | { ok: false; message: string };

/**
 * "d/m/y" → ISO, with the GOV.UK date-input error messages. All three empty reads as "" (no
 * date). `what` names the date in messages ("Due date").
 */
export function isoFromParts(value: string, what: string): DateRead {
  const [d, m, y] = partsOf(value).map((s) => s.trim()) as [string, string, string];
  if (d === "" && m === "" && y === "") return { ok: true, iso: "" };
  const missing = [d === "" ? "day" : null, m === "" ? "month" : null, y === "" ? "year" : null].filter(
    (x): x is string => x !== null,
  );
  if (missing.length > 0) {
    return { ok: false, message: `${what} must include a ${missing.join(" and ")}` };
  }
  if (!/^\d{1,2}$/.test(d) || !/^\d{1,2}$/.test(m) || !/^\d{4}$/.test(y)) {
    return { ok: false, message: `${what} must be a real date` };
  }
  const iso = `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
  const t = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(t.getTime()) || !t.toISOString().startsWith(iso)) {
    return { ok: false, message: `${what} must be a real date` };
  }
  return { ok: true, iso };
}

/** The id the error summary links to for a form field: a date input's first box ("due-day"),
 * any other field's own input. */
export function summaryTarget(field: string, dateFields: readonly string[] = ["due"]): string {
  return dateFields.includes(field) ? `${field}-day` : field;
}
