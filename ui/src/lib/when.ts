// Times as people read them on GOV.UK services: "24 November 2026, 10:42" in UK time.
const DATE_TIME = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "long",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hour12: false,
  timeZone: "Europe/London",
});

/** An RFC 3339 timestamp as "24 November 2026, 10:42" (London time); unparseable text as is. */
export function formatDateTime(rfc3339: string): string {
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  const parts = Object.fromEntries(DATE_TIME.formatToParts(t).map((p) => [p.type, p.value]));
  return `${parts.day} ${parts.month} ${parts.year}, ${parts.hour}:${parts.minute}`;
}
