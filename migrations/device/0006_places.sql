-- Fieldbook device database, schema 6: what an administrator loads for finding places offline,
-- and the device's settings.
-- `settings`: small named values a council or administrator sets on the device (for example
-- whether photo originals are kept, or how far from its property a visit may be recorded).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- The address gazetteer: UPRN -> address -> point, loaded from a CSV in OS Open UPRN form.
CREATE TABLE gazetteer (
    uprn     INTEGER PRIMARY KEY,
    postcode TEXT,
    address  TEXT,
    lat      REAL NOT NULL,
    lon      REAL NOT NULL,
    easting  REAL NOT NULL,
    northing REAL NOT NULL
);
CREATE INDEX gazetteer_postcode ON gazetteer (postcode);

-- Ward boundaries as loaded (GeoJSON); the device builds its R-tree from them when first asked.
CREATE TABLE ward_boundaries (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    geojson   TEXT    NOT NULL,
    wards     INTEGER NOT NULL,
    loaded_at INTEGER NOT NULL
);
