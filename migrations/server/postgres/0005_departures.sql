-- Fieldbook server, PostgreSQL schema 5: cases leaving a device.
-- Mirrors ../sqlite/0005_departures.sql, which explains it.
ALTER TABLE device_case_heads ADD COLUMN departed_seq BIGINT;
