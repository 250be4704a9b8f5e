-- Fieldbook server, schema 1: teams, users, devices, and the sync storage.
-- Never edit once landed: add 0002_*.sql instead.
-- Times are milliseconds since the Unix epoch (UTC); ids are UUID strings.

CREATE TABLE teams (
    team_id    TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    user_id       TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('officer', 'team_leader', 'admin')),
    team_id       TEXT REFERENCES teams (team_id),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE devices (
    device_id      TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    device_number  INTEGER NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    token_sha256   TEXT NOT NULL UNIQUE,
    created_at     INTEGER NOT NULL,
    last_seen_at   INTEGER,
    revoked_at     INTEGER,
    revoked_reason TEXT
);
CREATE INDEX devices_user ON devices (user_id);

-- One row per case: its full automerge save and the fields authorisation and paging read.
CREATE TABLE cases (
    case_id    TEXT PRIMARY KEY,
    doc        BLOB NOT NULL,
    seq        INTEGER NOT NULL UNIQUE,
    created_by TEXT,
    assignee   TEXT,
    team_id    TEXT,
    kind       TEXT,
    status     TEXT,
    updated_at INTEGER
);
CREATE INDEX cases_seq ON cases (seq);
CREATE INDEX cases_team_seq ON cases (team_id, seq);
CREATE INDEX cases_assignee_seq ON cases (assignee, seq);
CREATE INDEX cases_created_by_seq ON cases (created_by, seq);

-- The server's change sequence: bumped once per case change, in that change's transaction.
CREATE TABLE server_seq (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO server_seq (id, seq) VALUES (1, 0);

-- The automerge heads the server knows a device has for a case (JSON array of hex hashes).
CREATE TABLE device_case_heads (
    device_id TEXT NOT NULL,
    case_id   TEXT NOT NULL,
    heads     TEXT NOT NULL,
    PRIMARY KEY (device_id, case_id)
);

-- Batches already applied, with the response sent, so a replay returns it and changes nothing.
CREATE TABLE applied_batches (
    device_id  TEXT NOT NULL,
    batch_id   TEXT NOT NULL,
    response   BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, batch_id)
);
