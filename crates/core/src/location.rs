//! Locations: a WGS84 point with its accuracy, where it came from and when.

use autosurgeon::{Hydrate, Reconcile};

use crate::{DomainError, Timestamp};

/// Where a location came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocationSource {
    /// The device's own position (GPS or the platform's location service).
    Device,
    /// The GPS position written into a photo's EXIF data.
    PhotoExif,
    /// Picked by a person on the map.
    Map,
    /// Looked up from the address gazetteer (UPRN or postcode).
    Gazetteer,
    /// Typed in by a person.
    Manual,
}

impl std::str::FromStr for LocationSource {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_code(s.trim()).ok_or_else(|| DomainError::InvalidLocation {
            reason: format!(
                "'{s}' is not a location source (device, photo_exif, map, gazetteer, manual)"
            ),
        })
    }
}

crate::code_enum_in_automerge!(LocationSource, "a location source");

impl LocationSource {
    pub const ALL: [LocationSource; 5] = [
        Self::Device,
        Self::PhotoExif,
        Self::Map,
        Self::Gazetteer,
        Self::Manual,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Device => "device",
            Self::PhotoExif => "photo_exif",
            Self::Map => "map",
            Self::Gazetteer => "gazetteer",
            Self::Manual => "manual",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }
}

/// A WGS84 point (EPSG:4326) with its accuracy in metres, its source and the time it was taken.
/// British National Grid coordinates are derived from it, never stored in its place.
#[derive(Clone, Debug, PartialEq, Reconcile, Hydrate)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub source: LocationSource,
    pub at: Timestamp,
}

impl Location {
    /// A validated location: latitude within ±90, longitude within ±180, both finite; accuracy,
    /// when given, finite, not negative and at most 100 km.
    pub fn new(
        lat: f64,
        lon: f64,
        accuracy_m: Option<f64>,
        source: LocationSource,
        at: Timestamp,
    ) -> Result<Self, DomainError> {
        let bad = |reason: String| Err(DomainError::InvalidLocation { reason });
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return bad(format!("latitude {lat} is outside -90 to 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return bad(format!("longitude {lon} is outside -180 to 180"));
        }
        if let Some(acc) = accuracy_m
            && (!acc.is_finite() || !(0.0..=100_000.0).contains(&acc))
        {
            return bad(format!(
                "accuracy {acc} m is not between 0 and 100000 metres"
            ));
        }
        Ok(Self {
            lat,
            lon,
            accuracy_m,
            source,
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_coordinates_are_refused() {
        let at = Timestamp(0);
        for (lat, lon) in [
            (90.1, 0.0),
            (-91.0, 0.0),
            (0.0, 180.5),
            (0.0, -181.0),
            (f64::NAN, 0.0),
            (0.0, f64::NAN),
            (f64::INFINITY, 0.0),
        ] {
            let err = Location::new(lat, lon, None, LocationSource::Manual, at);
            assert!(
                matches!(err, Err(DomainError::InvalidLocation { .. })),
                "{lat},{lon}"
            );
        }
        assert!(Location::new(51.5034, -0.1276, Some(-1.0), LocationSource::Device, at).is_err());
        assert!(Location::new(90.0, -180.0, Some(5.0), LocationSource::Device, at).is_ok());
    }
}
