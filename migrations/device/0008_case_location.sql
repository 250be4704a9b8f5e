-- Fieldbook device database, schema 8: an index of each case's point, so a "near me" list
-- measures the distance to every case by reading this index, not the whole `cases` table, and
-- then reads only the page's rows.
CREATE INDEX cases_location ON cases (lat, lon);
