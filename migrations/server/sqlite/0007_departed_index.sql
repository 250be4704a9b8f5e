-- Fieldbook server, schema 7: the cases waiting to leave a device, found through an index.
-- Every sync asks whether the device has pulled heads to confirm or departed cases to forget
-- (for a sync with nothing to push that is nearly the only question). Pending heads had a
-- partial index (schema 3); departures did not, so that question read every case the device
-- holds: 10,000 rows for a team leader's device, on each quiet sync.
CREATE INDEX device_case_heads_departed ON device_case_heads (device_id, departed_seq)
    WHERE departed_seq IS NOT NULL;
