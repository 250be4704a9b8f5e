-- Fieldbook server, PostgreSQL schema 3: heads sent in a pull, until the device confirms them.
-- Mirrors ../sqlite/0003_pending_heads.sql, which explains the pending heads.
ALTER TABLE device_case_heads ADD COLUMN pending_heads TEXT[];
ALTER TABLE device_case_heads ADD COLUMN pending_seq BIGINT;
CREATE INDEX device_case_heads_pending ON device_case_heads (device_id, pending_seq)
    WHERE pending_seq IS NOT NULL;
