-- Fieldbook device database, schema 2: drafts.
-- What a person has typed into a form but not yet saved into a case: written on every
-- keystroke, so closing the window or killing the app mid-form loses at most the keystroke in
-- flight. Drafts stay on this device (they are never synced) and sit in the same encrypted file.
-- Keys are chosen by the UI ("case:<id>:title", "visit:<id>:<item>", "new-case:title", ...).
CREATE TABLE drafts (
    key        TEXT    PRIMARY KEY,
    value      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
