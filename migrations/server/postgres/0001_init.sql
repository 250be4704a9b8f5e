-- Fieldbook server, PostgreSQL schema 1: teams, users, devices, and the sync storage.
-- Mirrors ../sqlite/0001_init.sql (same number, same meaning). Never edit once landed: add
-- 0002_*.sql instead, in step with the SQLite files.
-- Times are milliseconds since the Unix epoch (UTC). Account ids are UUIDs; the ids read from
-- case documents (case_id, created_by, assignee, team_id of a case) stay TEXT, as the devices
-- wrote them.

CREATE TABLE teams (
    team_id    UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    user_id       UUID PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('officer', 'team_leader', 'admin')),
    team_id       UUID REFERENCES teams (team_id),
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE devices (
    device_id      UUID PRIMARY KEY,
    user_id        UUID NOT NULL REFERENCES users (user_id),
    device_number  BIGINT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    token_sha256   BYTEA NOT NULL UNIQUE,
    created_at     BIGINT NOT NULL,
    last_seen_at   BIGINT,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE INDEX devices_user ON devices (user_id);

-- One row per case: its full automerge save and the fields authorisation and paging read.
-- (UNIQUE (seq) is also the index paging by sequence uses.)
CREATE TABLE cases (
    case_id    TEXT PRIMARY KEY,
    doc        BYTEA NOT NULL,
    seq        BIGINT NOT NULL UNIQUE,
    created_by TEXT,
    assignee   TEXT,
    team_id    TEXT,
    kind       TEXT,
    status     TEXT,
    updated_at BIGINT
);
CREATE INDEX cases_team_seq ON cases (team_id, seq);
CREATE INDEX cases_assignee_seq ON cases (assignee, seq);
CREATE INDEX cases_created_by_seq ON cases (created_by, seq);

-- The server's change sequence: bumped once per case change, in that change's transaction.
-- Every write transaction locks this row first (SELECT ... FOR UPDATE), so writers, and the
-- sequence numbers they take, commit one at a time in sequence order (see store/postgres.rs).
CREATE TABLE server_seq (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO server_seq (id, seq) VALUES (1, 0);

-- The automerge heads the server knows a device has for a case (hex change hashes).
CREATE TABLE device_case_heads (
    device_id UUID NOT NULL,
    case_id   TEXT NOT NULL,
    heads     TEXT[] NOT NULL,
    PRIMARY KEY (device_id, case_id)
);

-- Batches already applied, with the response sent, so a replay returns it and changes nothing.
CREATE TABLE applied_batches (
    device_id  UUID NOT NULL,
    batch_id   TEXT NOT NULL,
    response   BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, batch_id)
);
