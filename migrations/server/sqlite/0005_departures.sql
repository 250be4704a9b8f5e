-- Fieldbook server database, schema 5: cases leaving a device.
-- When a case a device holds changes so that its person may no longer see it (reassigned to
-- someone else), the next answer tells the device it departed and records the sequence of that
-- change here. Once the device's `since` passes it, the device has removed the case, and the
-- row goes: should the case come back, the device gets it whole again.
ALTER TABLE device_case_heads ADD COLUMN departed_seq INTEGER;
