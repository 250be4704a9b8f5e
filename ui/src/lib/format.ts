// Small pure helpers the screens share; kept out of components so they are easy to test.

/** What waits to be synced, beside the status line's tag. */
export function outboxText(changes: number): string {
  if (changes === 0) return "All changes saved on this device";
  return `${thousands(changes)} ${changes === 1 ? "change" : "changes"} saved on this device, waiting to sync`;
}

/** 2026-03-02 as "2 March 2026", the GOV.UK date style; "Not set" when absent. */
export function formatDate(iso: string | null): string {
  if (iso === null) return "Not set";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (!m) return iso;
  const months = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
  ];
  return `${Number(m[3])} ${months[Number(m[2]) - 1] ?? ""} ${m[1]}`;
}

/** The govuk-tag colour modifier for a case status. */
export function statusTagClass(status: string): string {
  const colour: Record<string, string> = {
    open: "govuk-tag--blue",
    in_progress: "govuk-tag--light-blue",
    submitted: "govuk-tag--purple",
    approved: "govuk-tag--green",
    returned: "govuk-tag--orange",
    closed: "govuk-tag--grey",
  };
  return `govuk-tag ${colour[status] ?? "govuk-tag--grey"}`;
}

/** The status label with a capital first letter ("in progress" → "In progress"). */
export function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// ------------------------------------------------------------------ case screens

/** 50000 as "50,000". */
export function thousands(n: number): string {
  return n.toLocaleString("en-GB");
}

/** "Showing 1 to 50 of 50,000 cases", with thousands separators; "No cases" when empty. */
export function showingCases(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return "No cases";
  const noun = total === 1 ? "case" : "cases";
  return `Showing ${thousands(offset + 1)} to ${thousands(offset + shown)} of ${thousands(total)} ${noun}`;
}

const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
];

/**
 * A moment (RFC 3339) as "24 November 2026, 10:42", in UK time (Europe/London, so British
 * Summer Time is right whatever the device's own time zone is); unparseable input is returned
 * as it is.
 */
export function formatDateTime(iso: string): string {
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return iso;
  const parts = new Intl.DateTimeFormat("en-GB", {
    timeZone: "Europe/London",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(t);
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? "";
  return `${Number(get("day"))} ${MONTHS[Number(get("month")) - 1] ?? ""} ${get("year")}, ${get("hour")}:${get("minute")}`;
}

/** A local calendar day as ISO "YYYY-MM-DD" (today by default). */
export function isoDay(d: Date = new Date()): string {
  const y = String(d.getFullYear()).padStart(4, "0");
  return `${y}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** An ISO day moved by `days` (negative goes back): addDays("2026-02-28", 1) is "2026-03-01". */
export function addDays(iso: string, days: number): string {
  const t = new Date(`${iso}T00:00:00Z`);
  t.setUTCDate(t.getUTCDate() + days);
  return t.toISOString().slice(0, 10);
}

/** A person as people read them: their name, or "Unknown person" when the device lacks it. */
export function personName(p: { name: string | null } | null | undefined): string {
  return p?.name ?? "Unknown person";
}

const OUTSIDE_GRID = "Outside the National Grid";

/**
 * A location's British National Grid reference as back-office systems quote it:
 * "SP 68381 35640 (easting 468381, northing 235640)".
 */
export function gridText(
  bng: { easting: number; northing: number; grid_ref: string | null } | null,
): string {
  if (bng === null) return OUTSIDE_GRID;
  const en = `easting ${Math.floor(bng.easting)}, northing ${Math.floor(bng.northing)}`;
  return bng.grid_ref === null ? en : `${bng.grid_ref} (${en})`;
}

/** "Millbrook North (E05900001)"; when no ward contains the point or none are loaded, says so. */
export function wardText(ward: { code: string; name: string } | null): string {
  return ward === null ? "Not known (no ward boundaries on this device cover it)" : `${ward.name} (${ward.code})`;
}

/** "1 photo", "3 notes": a count with its noun, singular when it is one. */
export function countOf(n: number, one: string, many = `${one}s`): string {
  return `${thousands(n)} ${n === 1 ? one : many}`;
}

// ------------------------------------------------------------------ places

/** A distance as people say it: "350 m" under a kilometre, "1.2 km" under 10 km, then "14 km". */
export function distanceText(metres: number): string {
  if (!Number.isFinite(metres) || metres < 0) return "";
  if (metres < 100) return `${Math.round(metres)} m`;
  if (metres < 995) return `${Math.round(metres / 10) * 10} m`;
  if (metres < 9950) return `${(Math.round(metres / 100) / 10).toFixed(1)} km`;
  return `${thousands(Math.round(metres / 1000))} km`;
}

/** Where a location came from, in words: "Device position", "From the address list (UPRN 1234)". */
export function locationSourceText(source: string, uprn: number | null = null): string {
  switch (source) {
    case "device":
      return "Device position";
    case "photo_exif":
      return "From a photo";
    case "map":
      return "Picked on the map";
    case "gazetteer":
      return uprn === null ? "From the address list" : `From the address list (UPRN ${uprn})`;
    case "manual":
      return "Typed in";
    default:
      return capitalise(source.replace(/_/g, " "));
  }
}

/** "To within 12 metres"; "Not known" when the source gave no accuracy. */
export function accuracyText(accuracy: number | null): string {
  if (accuracy === null || !Number.isFinite(accuracy)) return "Not known";
  const m = Math.round(accuracy);
  return `To within ${thousands(m)} ${m === 1 ? "metre" : "metres"}`;
}

/** A coordinate pair to 6 decimal places (about 10 cm): "51.503400, -0.127600". */
export function latLonText(lat: number, lon: number): string {
  return `${lat.toFixed(6)}, ${lon.toFixed(6)}`;
}

/** "Easting 530047, northing 179951" (whole metres, as back-office systems take them). */
export function eastingNorthingText(bng: { easting: number; northing: number }): string {
  return `Easting ${Math.floor(bng.easting)}, northing ${Math.floor(bng.northing)}`;
}

/** A row of a GOV.UK summary list. */
export interface SummaryRow {
  key: string;
  value: string;
}

/**
 * Where a point is, as a summary list shows it (a case's location, where a photo was taken):
 * latitude and longitude, grid reference, easting and northing (within the National Grid) and
 * ward. The device gives no grid reference outside the grid, nor, within it, outside the
 * lettered 100 km squares.
 */
export function locationRows(loc: {
  lat: number;
  lon: number;
  bng: { easting: number; northing: number; grid_ref: string | null } | null;
  ward: { code: string; name: string } | null;
}): SummaryRow[] {
  const { bng } = loc;
  return [
    { key: "Latitude and longitude", value: latLonText(loc.lat, loc.lon) },
    {
      key: "Grid reference",
      value: bng === null ? OUTSIDE_GRID : (bng.grid_ref ?? "None (outside the lettered squares of the National Grid)"),
    },
    ...(bng === null ? [] : [{ key: "Easting and northing", value: eastingNorthingText(bng) }]),
    { key: "Ward", value: wardText(loc.ward) },
  ];
}

/** A file size as a file manager shows it: "850 KB", "3.4 MB" (of 1,024). */
export function fileSizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return megabytesText(bytes);
}

/**
 * Megabytes (of 1,048,576 bytes) as the device's photo checks write them (`fieldbook-media`):
 * "40 MB" when whole, else to one decimal place, rounded up unless `roundUp` is false (so a
 * file just over a limit never reads as the limit).
 */
export function megabytesText(bytes: number, roundUp = true): string {
  const mb = bytes / 1048576;
  if (Number.isInteger(mb)) return `${mb} MB`;
  return `${(roundUp ? Math.ceil(mb * 10) / 10 : mb).toFixed(1)} MB`;
}
