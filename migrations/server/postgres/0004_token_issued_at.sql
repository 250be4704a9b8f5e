-- Fieldbook server, PostgreSQL schema 4: when each device's current token was issued.
-- Mirrors ../sqlite/0004_token_issued_at.sql: devices registered before this schema count from
-- their registration.
ALTER TABLE devices ADD COLUMN token_issued_at BIGINT;
UPDATE devices SET token_issued_at = created_at;
