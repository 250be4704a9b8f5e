-- Fieldbook device database, schema 3: sync state.
-- Where this device's pull from the server left off (the server's sequence number), and per case
-- the heads the server has acknowledged (the next push sends the changes after them) and, when
-- the server refused the case's changes, why (shown to the person; the local edit is kept).
CREATE TABLE sync_state (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    since INTEGER NOT NULL
);
INSERT INTO sync_state (id, since) VALUES (1, 0);

CREATE TABLE case_sync (
    case_pk         INTEGER PRIMARY KEY REFERENCES case_docs (pk),
    -- JSON array of hex change hashes the server holds for this case.
    acked_heads     TEXT NOT NULL DEFAULT '[]',
    refused_code    TEXT,
    refused_message TEXT,
    -- The document's heads when the refusal came: it is not pushed again until it changes.
    refused_heads   TEXT
);
