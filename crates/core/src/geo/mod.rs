//! Geography rules: British National Grid coordinates ([`bng`]), distances between points
//! ([`distance`]), which electoral ward a point is in ([`wards`]) and reading an address
//! gazetteer ([`gazetteer`]).
//!
//! A case stores the WGS84 point that GPS or a photo gave ([`crate::Location`]); everything here
//! derives from that point and is pure: inputs are values, `&str` or a reader the caller opened.
//! Nothing here opens files or reads the clock.
//!
//! Sources: the OSTN15 transformation and its test data are by Ordnance Survey (© Ordnance Survey
//! and the Ministry of Defence 2015, BSD licence, "Transformations and OSGM15 User Guide");
//! ward boundaries are published by the Office for National Statistics under the Open Government
//! Licence v3 and are loaded by an administrator, never shipped.

pub mod bng;
pub mod distance;
pub mod gazetteer;
pub mod wards;

pub use bng::Bng;
pub use distance::{distance_m, far_from_property, nearest_first};
pub use gazetteer::{GazetteerEntry, GazetteerReader, read_gazetteer};
pub use wards::{WardIndex, WardRef};

use crate::{DomainError, Location};

/// A WGS84 (EPSG:4326) latitude and longitude in decimal degrees: latitude within ±90,
/// longitude within ±180, both finite. Build one with [`LatLon::new`], so every point the geo
/// rules see is possible.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatLon {
    lat: f64,
    lon: f64,
}

impl LatLon {
    /// A checked point; [`DomainError::InvalidLocation`] when either coordinate is impossible.
    pub fn new(lat: f64, lon: f64) -> Result<Self, DomainError> {
        let bad = |reason: String| Err(DomainError::InvalidLocation { reason });
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return bad(format!("latitude {lat} is outside -90 to 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return bad(format!("longitude {lon} is outside -180 to 180"));
        }
        Ok(Self { lat, lon })
    }

    pub fn lat(self) -> f64 {
        self.lat
    }

    pub fn lon(self) -> f64 {
        self.lon
    }

    /// As a `geo` point: x is the longitude, y the latitude.
    pub(crate) fn point(self) -> ::geo::Point<f64> {
        ::geo::Point::new(self.lon, self.lat)
    }
}

impl TryFrom<&Location> for LatLon {
    type Error = DomainError;
    fn try_from(location: &Location) -> Result<Self, DomainError> {
        Self::new(location.lat, location.lon)
    }
}

impl std::fmt::Display for LatLon {
    /// `51.50354, -0.12768`: latitude first, as people read them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}, {}", self.lat, self.lon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_points_are_refused() {
        for (lat, lon) in [
            (90.1, 0.0),
            (-91.0, 0.0),
            (0.0, 180.5),
            (f64::NAN, 0.0),
            (0.0, f64::INFINITY),
        ] {
            let err = LatLon::new(lat, lon).expect_err("impossible point");
            assert_eq!(err.code(), "invalid_location", "{lat},{lon}");
        }
        let p = LatLon::new(51.5, -0.12).expect("valid");
        assert_eq!((p.lat(), p.lon()), (51.5, -0.12));
        assert_eq!(p.to_string(), "51.5, -0.12");
    }
}
