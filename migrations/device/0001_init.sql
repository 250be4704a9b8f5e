-- Fieldbook device database, schema 1.
-- Applied once, in one transaction, by crates/store; never edited once landed: add 0002_*.sql.

-- This device, the person using it, and their role. Exactly one row.
CREATE TABLE device (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    device_id     TEXT    NOT NULL,
    device_number INTEGER NOT NULL,
    person_id     TEXT    NOT NULL,
    person_name   TEXT    NOT NULL,
    role          TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);

-- Every automerge actor seen in a case document, and the device and person behind it:
-- this is how a change in a case's history is attributed.
CREATE TABLE actors (
    actor       TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    person_id   TEXT NOT NULL,
    person_name TEXT NOT NULL
) WITHOUT ROWID;

-- The last sequence number this device used in a case reference, per kind prefix and year.
CREATE TABLE reference_counters (
    prefix TEXT    NOT NULL,
    year   INTEGER NOT NULL,
    last   INTEGER NOT NULL,
    PRIMARY KEY (prefix, year)
) WITHOUT ROWID;

-- The source of truth: one automerge document per case, kept as a run of chunks (a full save
-- followed by incremental saves) that compaction folds back into one.
CREATE TABLE case_docs (
    pk      INTEGER PRIMARY KEY,
    case_id TEXT    NOT NULL UNIQUE
);

CREATE TABLE case_chunks (
    case_pk INTEGER NOT NULL REFERENCES case_docs (pk),
    seq     INTEGER NOT NULL,
    bytes   BLOB    NOT NULL,
    PRIMARY KEY (case_pk, seq)
);

-- Projections: derived from the documents in the same transaction as each change, and
-- rebuildable from them. Lists, filters, search and maps read these, never the documents.
CREATE TABLE cases (
    pk          INTEGER PRIMARY KEY REFERENCES case_docs (pk),
    case_id     TEXT    NOT NULL UNIQUE,
    reference   TEXT    NOT NULL UNIQUE,
    -- The reference with its numbers zero-padded, so references sort in number order.
    ref_sort    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    title       TEXT    NOT NULL,
    address     TEXT,
    postcode    TEXT,
    uprn        INTEGER,
    lat         REAL,
    lon         REAL,
    status      TEXT    NOT NULL,
    assignee    TEXT,
    due         TEXT,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    visit_count INTEGER NOT NULL,
    note_count  INTEGER NOT NULL,
    photo_count INTEGER NOT NULL
);
CREATE INDEX cases_status_due ON cases (status, due IS NULL, due);
CREATE INDEX cases_kind_due ON cases (kind, due IS NULL, due);
CREATE INDEX cases_assignee_due ON cases (assignee, due IS NULL, due);
CREATE INDEX cases_due ON cases (due IS NULL, due);
CREATE INDEX cases_updated ON cases (updated_at);
CREATE INDEX cases_created ON cases (created_at);
CREATE INDEX cases_ref_sort ON cases (ref_sort);
CREATE INDEX cases_title ON cases (title COLLATE NOCASE);

CREATE TABLE visits (
    pk               INTEGER PRIMARY KEY,
    visit_id         TEXT    NOT NULL UNIQUE,
    case_pk          INTEGER NOT NULL REFERENCES cases (pk),
    template_id      TEXT    NOT NULL,
    template_version INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    officer          TEXT    NOT NULL,
    answered         INTEGER NOT NULL,
    missing_required INTEGER NOT NULL,
    score_total      INTEGER,
    rating           INTEGER
);
CREATE INDEX visits_case ON visits (case_pk);

CREATE TABLE answers (
    visit_pk   INTEGER NOT NULL REFERENCES visits (pk),
    item_id    TEXT    NOT NULL,
    value_kind TEXT    NOT NULL,
    value_text TEXT,
    value_num  REAL,
    PRIMARY KEY (visit_pk, item_id)
) WITHOUT ROWID;

CREATE TABLE photos (
    case_pk  INTEGER NOT NULL REFERENCES cases (pk),
    sha256   TEXT    NOT NULL,
    visit_id TEXT,
    mime     TEXT    NOT NULL,
    bytes    INTEGER NOT NULL,
    width    INTEGER NOT NULL,
    height   INTEGER NOT NULL,
    taken_at INTEGER,
    lat      REAL,
    lon      REAL,
    caption  TEXT    NOT NULL,
    PRIMARY KEY (case_pk, sha256)
) WITHOUT ROWID;

-- Full-text search over a case's reference, title, address, postcode, UPRN and notes.
-- Contentless: the text already lives in the documents; rowid = cases.pk.
CREATE VIRTUAL TABLE case_search USING fts5 (
    reference, title, address, postcode, uprn, notes,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Cases changed on this device since the server last acknowledged them.
CREATE TABLE outbox (
    case_pk    INTEGER PRIMARY KEY REFERENCES case_docs (pk),
    changes    INTEGER NOT NULL,
    first_at   INTEGER NOT NULL
);
