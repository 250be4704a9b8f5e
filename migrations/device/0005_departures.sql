-- Fieldbook device database, schema 5: cases that left this device.
-- When the server says a case was reassigned out of this person's sight, the device removes it
-- (its document, projections and drafts) once nothing of it waits to be pushed, and keeps this
-- note so the person is told which case went and why. `removed_at` is NULL while the case waits
-- for its unsynced edits to reach the server.
CREATE TABLE departures (
    case_id    TEXT PRIMARY KEY,
    reference  TEXT NOT NULL,
    title      TEXT NOT NULL,
    noticed_at INTEGER NOT NULL,
    removed_at INTEGER
);
