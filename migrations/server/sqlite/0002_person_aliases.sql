-- Fieldbook server database, schema 2: the person ids a user's devices minted.
-- A device mints its person's id when it is set up, offline, before it ever meets the server; the
-- cases it creates carry that id. At registration the device names it, and the server keeps it
-- here as another name for the user: pushes from any of the user's devices are theirs, and case
-- metadata (created_by, assignee) is stored as the user's id so visibility works across devices.
CREATE TABLE person_aliases (
    person_id  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (user_id),
    created_at INTEGER NOT NULL
);
CREATE INDEX person_aliases_by_user ON person_aliases (user_id);
