//! The offline basemap: an MBTiles file (SQLite, <https://github.com/mapbox/mbtiles-spec>) of
//! raster tiles an administrator loads onto the device, read tile by tile for the map.
//!
//! Map tiles are public, so the pack is kept as it came, unencrypted, beside the device's
//! database (`basemap.mbtiles`), and wiping a revoked device leaves it: it holds nothing about
//! anyone. Vector packs (`pbf`) need a style, fonts and sprites that a device does not have
//! offline, so only raster packs (`png`, `jpg`, `webp`) are accepted.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::{Result, StoreError};

/// The basemap pack inside a device's data directory.
pub const BASEMAP_FILE: &str = "basemap.mbtiles";

/// What a pack's `metadata` table says about it.
#[derive(Clone, Debug, PartialEq)]
pub struct BasemapInfo {
    pub name: String,
    /// `png`, `jpg` or `webp`.
    pub format: String,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// West, south, east, north (WGS84 degrees).
    pub bounds: Option<[f64; 4]>,
    /// Longitude, latitude, zoom.
    pub center: Option<[f64; 3]>,
    pub attribution: Option<String>,
}

impl BasemapInfo {
    /// The MIME type of the pack's tiles.
    pub fn mime(&self) -> &'static str {
        match self.format.as_str() {
            "png" => "image/png",
            "webp" => "image/webp",
            _ => "image/jpeg",
        }
    }
}

/// An open basemap pack, read-only.
#[derive(Debug)]
pub struct Basemap {
    conn: Connection,
    info: BasemapInfo,
}

fn invalid(reason: impl Into<String>) -> StoreError {
    StoreError::InvalidBasemap(reason.into())
}

impl Basemap {
    /// Opens and checks a pack: an SQLite file with MBTiles' `metadata` and `tiles`, raster
    /// tiles, zoom levels 0 to 22, at least one tile.
    pub fn open(path: &Path) -> Result<Basemap> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| invalid(format!("it cannot be opened as an MBTiles file: {e}")))?;
        let info = read_info(&conn)?;
        Ok(Basemap { conn, info })
    }

    pub fn info(&self) -> &BasemapInfo {
        &self.info
    }

    /// The tile at zoom `z`, column `x`, row `y` counted from the north (XYZ, as web maps ask;
    /// MBTiles counts rows from the south), if the pack has it.
    pub fn tile(&self, z: u8, x: u32, y: u32) -> Result<Option<Vec<u8>>> {
        if z > 30 || u64::from(x) >= 1u64 << z || u64::from(y) >= 1u64 << z {
            return Ok(None);
        }
        let tms_y = (1u64 << z) - 1 - u64::from(y);
        Ok(self
            .conn
            .prepare_cached(
                "SELECT tile_data FROM tiles
                 WHERE zoom_level = ?1 AND tile_column = ?2 AND tile_row = ?3",
            )?
            .query_row(
                rusqlite::params![i64::from(z), i64::from(x), tms_y as i64],
                |r| r.get(0),
            )
            .optional()?)
    }
}

fn read_info(conn: &Connection) -> Result<BasemapInfo> {
    let not_mbtiles =
        |e: rusqlite::Error| invalid(format!("it is not an MBTiles file (SQLite said: {e})"));
    let mut stmt = conn
        .prepare("SELECT name, value FROM metadata")
        .map_err(not_mbtiles)?;
    let pairs: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(not_mbtiles)?
        .collect::<rusqlite::Result<_>>()
        .map_err(not_mbtiles)?;
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let format = get("format")
        .map(|f| f.to_ascii_lowercase())
        .map(|f| if f == "jpeg" { "jpg".to_string() } else { f })
        .ok_or_else(|| invalid("its metadata has no tile format"))?;
    match format.as_str() {
        "png" | "jpg" | "webp" => {}
        "pbf" | "mvt" => {
            return Err(invalid(
                "it holds vector tiles (pbf); Fieldbook shows raster packs (png, jpg or webp)",
            ));
        }
        other => {
            return Err(invalid(format!(
                "its tiles are '{other}'; Fieldbook shows png, jpg or webp tiles"
            )));
        }
    }
    // One row is enough to know there are tiles; a council pack can hold millions (and
    // `tiles` is often a view), so nothing here reads them all.
    let has_tiles: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM tiles)", [], |r| r.get(0))
        .map_err(not_mbtiles)?;
    if !has_tiles {
        return Err(invalid("it has no tiles"));
    }
    // A zoom the metadata does not give comes from the tiles (`min` or `max` alone in a query
    // can use an index on `zoom_level`).
    let zoom = |key: &str, aggregate: &str| -> Result<u8> {
        let z = match get(key) {
            Some(v) => v
                .parse::<i64>()
                .map_err(|_| invalid(format!("its {key} '{v}' is not a number")))?,
            None => conn
                .query_row(
                    &format!("SELECT {aggregate}(zoom_level) FROM tiles"),
                    [],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .map_err(not_mbtiles)?
                .unwrap_or(0),
        };
        u8::try_from(z)
            .ok()
            .filter(|z| *z <= 22)
            .ok_or_else(|| invalid(format!("its {key} {z} is not a zoom level from 0 to 22")))
    };
    let min_zoom = zoom("minzoom", "min")?;
    let max_zoom = zoom("maxzoom", "max")?;
    if min_zoom > max_zoom {
        return Err(invalid(format!(
            "its minzoom {min_zoom} is above its maxzoom {max_zoom}"
        )));
    }
    let numbers = |key: &str| -> Result<Option<Vec<f64>>> {
        get(key)
            .map(|v| {
                v.split(',')
                    .map(|n| n.trim().parse::<f64>().ok().filter(|n| n.is_finite()))
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| invalid(format!("its {key} '{v}' is not a list of numbers")))
            })
            .transpose()
    };
    let bounds = match numbers("bounds")? {
        None => None,
        Some(b) => match *b.as_slice() {
            [w, s, e, n]
                if (-180.0..=180.0).contains(&w)
                    && (-180.0..=180.0).contains(&e)
                    && (-90.0..=90.0).contains(&s)
                    && (-90.0..=90.0).contains(&n)
                    && w < e
                    && s < n =>
            {
                Some([w, s, e, n])
            }
            _ => {
                return Err(invalid(
                    "its bounds are not west,south,east,north in degrees",
                ));
            }
        },
    };
    let center = match numbers("center")? {
        None => None,
        Some(c) => match *c.as_slice() {
            [lon, lat, z] if lon.abs() <= 180.0 && lat.abs() <= 90.0 => Some([lon, lat, z]),
            [lon, lat] if lon.abs() <= 180.0 && lat.abs() <= 90.0 => {
                Some([lon, lat, f64::from(min_zoom)])
            }
            _ => return Err(invalid("its center is not longitude,latitude,zoom")),
        },
    };
    Ok(BasemapInfo {
        name: get("name").unwrap_or_else(|| "Basemap".into()),
        format,
        min_zoom,
        max_zoom,
        bounds,
        center,
        attribution: get("attribution"),
    })
}

/// Checks the pack at `source` and copies it into `data_dir` as [`BASEMAP_FILE`], replacing any
/// pack loaded before only once the copy is complete.
pub fn load_basemap(data_dir: &Path, source: &Path) -> Result<BasemapInfo> {
    let info = Basemap::open(source)?.info;
    let dest = data_dir.join(BASEMAP_FILE);
    let partial: PathBuf = data_dir.join(format!("{BASEMAP_FILE}.partial"));
    let copy = || -> std::io::Result<()> {
        std::fs::copy(source, &partial)?;
        std::fs::File::open(&partial)?.sync_all()?;
        std::fs::rename(&partial, &dest)?;
        // The rename itself survives a power cut only once the directory is flushed.
        std::fs::File::open(data_dir)?.sync_all()
    };
    if let Err(e) = copy() {
        let _ = std::fs::remove_file(&partial);
        return Err(if e.kind() == std::io::ErrorKind::StorageFull {
            StoreError::DiskFull
        } else {
            crate::data_dir_error(
                data_dir,
                format!("the basemap could not be copied there: {e}"),
            )
        });
    }
    Ok(info)
}

/// The pack loaded on this device, if any.
pub fn open_basemap(data_dir: &Path) -> Result<Option<Basemap>> {
    let path = data_dir.join(BASEMAP_FILE);
    if !path.exists() {
        return Ok(None);
    }
    Basemap::open(&path).map(Some)
}
