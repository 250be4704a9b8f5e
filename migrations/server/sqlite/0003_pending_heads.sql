-- Fieldbook server database, schema 3: heads sent in a pull, until the device confirms them.
-- A pulled page may never arrive (a cut connection), so the heads it carried are only pending;
-- a later request whose `since` reaches the page's sequence confirms them, and from then on
-- pulls of the case send only what follows them.
ALTER TABLE device_case_heads ADD COLUMN pending_heads TEXT;
ALTER TABLE device_case_heads ADD COLUMN pending_seq INTEGER;
CREATE INDEX device_case_heads_pending ON device_case_heads (device_id, pending_seq)
    WHERE pending_seq IS NOT NULL;
