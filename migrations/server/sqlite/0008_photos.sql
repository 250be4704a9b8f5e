-- Fieldbook server, schema 8: photos (docs/photos.md).
-- Never edit once landed: add 0009_*.sql instead, in step with the PostgreSQL files.
--
-- `case_photos`: which photo blobs each case references (its photo keys and their thumbnails'
-- hashes), rewritten whenever the server stores the case's document. A device may fetch a blob
-- only when a case it may see references it. Cases stored before schema 8 gain their rows at
-- their next change.
CREATE TABLE case_photos (
    case_id TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    PRIMARY KEY (case_id, sha256)
);
CREATE INDEX case_photos_sha256 ON case_photos (sha256, case_id);

-- Uploads in progress, kept in the database (not on a node's disk) so they survive a restart
-- and any node can take the next chunk. `received` bytes have arrived, in `upload_chunks`.
-- Once whole and hashed right, the blob goes to the object store and these rows go.
CREATE TABLE uploads (
    sha256            TEXT PRIMARY KEY,
    total             INTEGER NOT NULL CHECK (total > 0),
    received          INTEGER NOT NULL CHECK (received >= 0 AND received <= total),
    started_by_device TEXT NOT NULL,
    started_at        INTEGER NOT NULL
);
CREATE INDEX uploads_started_at ON uploads (started_at);

-- The chunks of an upload, each starting at `byte_offset` (`offset` is an SQL keyword).
CREATE TABLE upload_chunks (
    sha256      TEXT NOT NULL REFERENCES uploads (sha256) ON DELETE CASCADE,
    byte_offset INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (sha256, byte_offset)
);
