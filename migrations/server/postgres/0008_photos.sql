-- Fieldbook server, PostgreSQL schema 8: photos (docs/photos.md). Mirrors
-- ../sqlite/0008_photos.sql, which explains the tables. Never edit once landed.
CREATE TABLE case_photos (
    case_id TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX case_photos_sha256 ON case_photos (sha256, case_id);

CREATE TABLE uploads (
    sha256            TEXT PRIMARY KEY,
    total             BIGINT NOT NULL CHECK (total > 0),
    received          BIGINT NOT NULL CHECK (received >= 0 AND received <= total),
    started_by_device UUID NOT NULL,
    started_at        BIGINT NOT NULL
);
CREATE INDEX uploads_started_at ON uploads (started_at);

CREATE TABLE upload_chunks (
    sha256      TEXT NOT NULL REFERENCES uploads (sha256) ON DELETE CASCADE,
    byte_offset BIGINT NOT NULL,
    data        BYTEA NOT NULL,
    PRIMARY KEY (sha256, byte_offset)
);
