-- Fieldbook server database, schema 4: when each device's current token was issued.
-- Tokens expire (the server's --token-lifetime); signing in again issues a new one and resets
-- this. Devices registered before this schema count from their registration.
ALTER TABLE devices ADD COLUMN token_issued_at INTEGER;
UPDATE devices SET token_issued_at = created_at;
