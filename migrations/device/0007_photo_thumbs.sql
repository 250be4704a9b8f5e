-- Fieldbook device database, schema 7: each photo's thumbnail hash in the projection, so a
-- device finds the thumbnails it still has to fetch from the server without reading documents.
ALTER TABLE photos ADD COLUMN thumb_sha256 TEXT;
