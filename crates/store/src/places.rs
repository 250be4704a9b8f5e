//! Finding places offline, and the device's settings: the address gazetteer (UPRN -> address ->
//! point, loaded from a CSV in OS Open UPRN form), the ward boundaries an administrator loads
//! (kept as GeoJSON, indexed in memory the first time a ward is asked for), and small named
//! settings. The rules (reading the CSV, the R-tree, point in polygon) are `fieldbook-core`'s;
//! this module stores and looks up.

use fieldbook_core::DomainError;
use fieldbook_core::geo::{GazetteerEntry, LatLon, WardIndex, WardRef};
use rusqlite::{OptionalExtension, params};

use crate::{Result, Store};

/// A gazetteer load: how many rows were stored, and the rows refused with their line and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GazetteerLoad {
    pub loaded: u64,
    pub refused: u64,
    /// The first refusals (at most [`GazetteerLoad::SHOWN`]), as `(line, reason)`.
    pub first_refusals: Vec<(u64, String)>,
}

impl GazetteerLoad {
    pub const SHOWN: usize = 20;
}

/// The most gazetteer rows one postcode search returns.
pub const POSTCODE_MATCHES: usize = 500;

fn entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<GazetteerEntry> {
    Ok(GazetteerEntry {
        uprn: r.get::<_, i64>(0)? as u64,
        postcode: r.get(1)?,
        address: r.get(2)?,
        lat: r.get(3)?,
        lon: r.get(4)?,
        easting: r.get(5)?,
        northing: r.get(6)?,
    })
}

const ENTRY_COLUMNS: &str = "uprn, postcode, address, lat, lon, easting, northing";

impl Store {
    /// Replace the gazetteer with the rows of `rows`, in one transaction: a load that fails
    /// (disk full, a broken file) leaves the previous gazetteer as it was. Refused rows are
    /// counted and the first few reported; they do not stop the load. A UPRN given twice keeps
    /// its last row.
    pub fn load_gazetteer(
        &mut self,
        rows: impl IntoIterator<Item = std::result::Result<GazetteerEntry, DomainError>>,
    ) -> Result<GazetteerLoad> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute("DELETE FROM gazetteer", [])?;
        let mut load = GazetteerLoad {
            loaded: 0,
            refused: 0,
            first_refusals: Vec::new(),
        };
        {
            let mut insert = tx.prepare(&format!(
                "INSERT OR REPLACE INTO gazetteer ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
            ))?;
            for row in rows {
                match row {
                    Ok(e) => {
                        insert.execute(params![
                            e.uprn as i64,
                            e.postcode,
                            e.address,
                            e.lat,
                            e.lon,
                            e.easting,
                            e.northing
                        ])?;
                        load.loaded += 1;
                    }
                    Err(e) => {
                        load.refused += 1;
                        if load.first_refusals.len() < GazetteerLoad::SHOWN {
                            let line = match &e {
                                DomainError::InvalidGazetteerRow { line, .. } => *line,
                                _ => 0,
                            };
                            load.first_refusals.push((line, e.to_string()));
                        }
                    }
                }
            }
        }
        tx.commit()?;
        Ok(load)
    }

    /// The gazetteer's entry for a UPRN.
    pub fn gazetteer_uprn(&self, uprn: u64) -> Result<Option<GazetteerEntry>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS} FROM gazetteer WHERE uprn = ?1"
            ))?
            .query_row([uprn as i64], entry)
            .optional()?)
    }

    /// The gazetteer's entries at a postcode (in its canonical form, e.g. `SW1A 2AA`), by
    /// address then UPRN; at most [`POSTCODE_MATCHES`].
    pub fn gazetteer_postcode(&self, postcode: &str) -> Result<Vec<GazetteerEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM gazetteer WHERE postcode = ?1
             ORDER BY address, uprn LIMIT {POSTCODE_MATCHES}"
        ))?;
        let rows = stmt
            .query_map([postcode], entry)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many entries the gazetteer has.
    pub fn gazetteer_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM gazetteer", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Replace the ward boundaries with a GeoJSON file's, after checking it whole (a refused
    /// file changes nothing). Returns the wards it holds.
    pub fn load_wards(&mut self, geojson: &str, now: fieldbook_core::Timestamp) -> Result<usize> {
        let index = WardIndex::from_geojson(geojson)?;
        let count = index.len();
        self.conn.execute(
            "INSERT INTO ward_boundaries (id, geojson, wards, loaded_at) VALUES (1, ?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET geojson = excluded.geojson, wards = excluded.wards,
                 loaded_at = excluded.loaded_at",
            params![geojson, count as i64, now.millis()],
        )?;
        self.wards = std::sync::OnceLock::new();
        let _ = self.wards.set(Some(index));
        Ok(count)
    }

    /// The ward index, built from the stored boundaries the first time it is needed; `None`
    /// when no boundaries were loaded.
    pub fn wards(&self) -> Result<Option<&WardIndex>> {
        if let Some(index) = self.wards.get() {
            return Ok(index.as_ref());
        }
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT geojson FROM ward_boundaries WHERE id = 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let index = text.map(|t| WardIndex::from_geojson(&t)).transpose()?;
        Ok(self.wards.get_or_init(|| index).as_ref())
    }

    /// The ward a point is in, when boundaries are loaded and one contains it.
    pub fn ward_at(&self, at: LatLon) -> Result<Option<WardRef>> {
        Ok(self.wards()?.and_then(|w| w.ward_at(at)).cloned())
    }

    /// A setting's value, if set.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    /// Set (or with `None`, clear) a setting.
    pub fn set_setting(&mut self, key: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, v],
            )?,
            None => self
                .conn
                .execute("DELETE FROM settings WHERE key = ?1", [key])?,
        };
        Ok(())
    }
}
