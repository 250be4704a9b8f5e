-- Fieldbook server, PostgreSQL schema 6: a case's heads and writers, so a pull need not load its
-- document. Mirrors ../sqlite/0006_case_heads.sql, which explains them.
ALTER TABLE cases ADD COLUMN heads TEXT[];
ALTER TABLE cases ADD COLUMN writers TEXT[];
