-- Fieldbook device database, schema 4: the server this device is registered with.
-- The bearer token sits here, in the encrypted file, never in a config file; one row at most.
CREATE TABLE server_link (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    url          TEXT    NOT NULL,
    token        TEXT    NOT NULL,
    user_name    TEXT    NOT NULL,
    linked_at    INTEGER NOT NULL,
    last_sync_at INTEGER,
    last_error   TEXT
);
