// Small pure helpers the screens share; kept out of components so they are easy to test.

/** "Showing 1 to 50 of 213 cases"; "No cases" when the list is empty. */
export function showingText(offset: number, shown: number, total: number): string {
  if (total === 0 || shown === 0) return "No cases";
  const noun = total === 1 ? "case" : "cases";
  return `Showing ${offset + 1} to ${offset + shown} of ${total} ${noun}`;
}

/** "Offline — 3 changes waiting" (the sync itself is not built yet, so offline is the truth). */
export function outboxText(changes: number): string {
  if (changes === 0) return "Offline — all changes saved on this device";
  return `Offline — ${changes} ${changes === 1 ? "change" : "changes"} waiting`;
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
