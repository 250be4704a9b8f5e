-- Fieldbook server database, schema 6: what a pull needs to know of a case without loading its
-- document. `heads`: the document's heads (JSON array of hex change hashes). `writers`: the
-- automerge actors (JSON array of hex ids) whose changes it holds; a device writes only as its
-- own actor, so these are the devices whose pushes were accepted. NULL in rows written before
-- schema 6: the server then reads both from the document, and fills them in at the case's next
-- change.
ALTER TABLE cases ADD COLUMN heads TEXT;
ALTER TABLE cases ADD COLUMN writers TEXT;
