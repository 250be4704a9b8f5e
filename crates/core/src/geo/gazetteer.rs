//! Reading an address gazetteer: one row per UPRN with its British National Grid and WGS84
//! coordinates, in the CSV form of Ordnance Survey's OS Open UPRN (header
//! `UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE`; open data under the Open Government
//! Licence v3). OS Open UPRN carries no addresses, so a council joins its own address file: the
//! optional columns `ADDRESS` and `POSTCODE` are read too. Column names are matched ignoring case
//! and surrounding spaces, in any order; other columns are ignored.
//!
//! Each row is checked and either becomes a [`GazetteerEntry`] or is refused with
//! [`DomainError::InvalidGazetteerRow`] giving its line number, so a loader can count and report
//! the refused rows and keep the rest:
//! - the UPRN is a whole number of 1 to 12 digits, not zero ([`crate::case::parse_uprn`]);
//! - the easting and northing are on the lettered National Grid (0 ≤ X < 700 km, 0 ≤ Y < 1300 km);
//! - the latitude and longitude are possible, inside the British National Grid, and agree with
//!   the easting and northing: converted by OSTN15 they land within [`MAX_COORDINATE_MISMATCH_M`]
//!   of them, which catches swapped, mistyped or shifted columns while allowing coordinates that
//!   were derived with the older Helmert transform (about 5 m out);
//! - the address, if any, is plain text of at most [`crate::case::limits::ADDRESS`] characters;
//! - the postcode, if any, has the shape of a UK postcode and is normalised
//!   ([`crate::case::normalise_postcode`]: `sw1a2aa` → `SW1A 2AA`).
//!
//! Empty address and postcode cells are `None`. The reader is pure: the caller opens the file and
//! passes any [`std::io::Read`].

use std::io::Read;

use csv::{ErrorKind, StringRecord, StringRecordsIntoIter};

use crate::DomainError;
use crate::case::{limits, normalise_postcode, parse_uprn};
use crate::geo::{Bng, LatLon};

/// How far apart a row's easting/northing and its latitude/longitude (converted by OSTN15) may be
/// before the row is refused, in metres.
pub const MAX_COORDINATE_MISMATCH_M: f64 = 15.0;

/// One addressable place: its UPRN, British National Grid easting/northing (metres),
/// WGS84 latitude/longitude (degrees) and, when the council's file has them, address and postcode.
#[derive(Clone, Debug, PartialEq)]
pub struct GazetteerEntry {
    pub uprn: u64,
    pub easting: f64,
    pub northing: f64,
    pub lat: f64,
    pub lon: f64,
    pub address: Option<String>,
    pub postcode: Option<String>,
}

/// The column index of each field in the file.
#[derive(Clone, Copy, Debug)]
struct Columns {
    uprn: usize,
    x: usize,
    y: usize,
    lat: usize,
    lon: usize,
    address: Option<usize>,
    postcode: Option<usize>,
}

/// The rows of a gazetteer, each checked; see [`read_gazetteer`].
pub struct GazetteerReader<R> {
    records: StringRecordsIntoIter<R>,
    columns: Columns,
    /// The line of the last row read, for errors that carry no position.
    line: u64,
    /// Set after an error reading the underlying input: nothing more can be read.
    done: bool,
}

impl<R> std::fmt::Debug for GazetteerReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GazetteerReader")
            .field("columns", &self.columns)
            .field("line", &self.line)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

/// Reads the header of a gazetteer CSV and returns an iterator over its checked rows. A header
/// without one of the required columns (UPRN, X_COORDINATE, Y_COORDINATE, LATITUDE, LONGITUDE), or
/// with a column twice, is refused as line 1.
pub fn read_gazetteer<R: Read>(reader: R) -> Result<GazetteerReader<R>, DomainError> {
    let header_error = |reason: String| DomainError::InvalidGazetteerRow { line: 1, reason };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let header = csv
        .headers()
        .map_err(|e| header_error(format!("the header cannot be read ({e})")))?;
    let names: Vec<String> = header
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_ascii_uppercase())
        .collect();
    let find = |name: &str| -> Result<Option<usize>, DomainError> {
        let mut found = names.iter().enumerate().filter(|(_, n)| *n == name);
        let first = found.next().map(|(i, _)| i);
        if found.next().is_some() {
            return Err(header_error(format!(
                "the header has the column {name} twice"
            )));
        }
        Ok(first)
    };
    let required = |name: &str| -> Result<usize, DomainError> {
        find(name)?.ok_or_else(|| {
            header_error(format!(
                "the header has no {name} column; it needs UPRN, X_COORDINATE, Y_COORDINATE, LATITUDE and LONGITUDE (ADDRESS and POSTCODE are optional)"
            ))
        })
    };
    let columns = Columns {
        uprn: required("UPRN")?,
        x: required("X_COORDINATE")?,
        y: required("Y_COORDINATE")?,
        lat: required("LATITUDE")?,
        lon: required("LONGITUDE")?,
        address: find("ADDRESS")?,
        postcode: find("POSTCODE")?,
    };
    Ok(GazetteerReader {
        records: csv.into_records(),
        columns,
        line: 1,
        done: false,
    })
}

impl<R: Read> Iterator for GazetteerReader<R> {
    type Item = Result<GazetteerEntry, DomainError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let record = match self.records.next()? {
            Ok(record) => record,
            Err(e) => {
                let line = e.position().map_or(self.line + 1, |p| p.line());
                self.line = line;
                let reason = match e.kind() {
                    ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => format!("the row has {len} fields but the header has {expected_len}"),
                    ErrorKind::Utf8 { .. } => "the row is not UTF-8 text".to_string(),
                    ErrorKind::Io(_) => {
                        self.done = true;
                        format!("the file cannot be read any further ({e})")
                    }
                    _ => format!("the row cannot be read ({e})"),
                };
                return Some(Err(DomainError::InvalidGazetteerRow { line, reason }));
            }
        };
        let line = record.position().map_or(self.line + 1, |p| p.line());
        self.line = line;
        Some(
            entry(&record, self.columns)
                .map_err(|reason| DomainError::InvalidGazetteerRow { line, reason }),
        )
    }
}

/// One row, checked; the error is the reason it is refused.
fn entry(record: &StringRecord, c: Columns) -> Result<GazetteerEntry, String> {
    let field = |i: usize| record.get(i).unwrap_or_default();
    let uprn = match parse_uprn(field(c.uprn)) {
        Ok(Some(uprn)) => uprn,
        Ok(None) => return Err("the UPRN is missing".into()),
        Err(e) => return Err(e.to_string()),
    };
    let number = |i: usize, what: &str| -> Result<f64, String> {
        let text = field(i);
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ if text.is_empty() => Err(format!("the {what} is missing")),
            _ => Err(format!(
                "the {what} '{}' is not a number",
                text.chars().take(20).collect::<String>()
            )),
        }
    };
    let easting = number(c.x, "X_COORDINATE")?;
    let northing = number(c.y, "Y_COORDINATE")?;
    if !(0.0..700_000.0).contains(&easting) || !(0.0..1_300_000.0).contains(&northing) {
        return Err(format!(
            "X_COORDINATE {easting}, Y_COORDINATE {northing} is not on the British National Grid (0 to 700000, 0 to 1300000)"
        ));
    }
    let lat = number(c.lat, "LATITUDE")?;
    let lon = number(c.lon, "LONGITUDE")?;
    let point = LatLon::new(lat, lon).map_err(|e| e.to_string())?;
    let derived = Bng::from_wgs84(point).map_err(|e| e.to_string())?;
    let mismatch = (derived.easting - easting).hypot(derived.northing - northing);
    if mismatch > MAX_COORDINATE_MISMATCH_M {
        return Err(format!(
            "LATITUDE/LONGITUDE {lat}, {lon} is {mismatch:.0} m from X_COORDINATE/Y_COORDINATE {easting}, {northing}; one of them is wrong"
        ));
    }
    let address = match c.address.map(field).filter(|a| !a.is_empty()) {
        None => None,
        Some(a) if a.chars().any(char::is_control) => {
            return Err("the address contains control characters; use plain text".into());
        }
        Some(a) if a.chars().count() > limits::ADDRESS => {
            return Err(format!(
                "the address is longer than {} characters",
                limits::ADDRESS
            ));
        }
        Some(a) => Some(a.to_string()),
    };
    let postcode = match c.postcode.map(field) {
        None => None,
        Some(p) => {
            Some(normalise_postcode(p).map_err(|e| e.to_string())?).filter(|p| !p.is_empty())
        }
    };
    Ok(GazetteerEntry {
        uprn,
        easting,
        northing,
        lat,
        lon,
        address,
        postcode,
    })
}
