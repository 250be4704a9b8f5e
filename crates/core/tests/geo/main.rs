//! Tests of the geography rules (`fieldbook_core::geo`) through their public API, with the
//! official OSTN15 test points and synthetic ward and gazetteer fixtures.

mod bng;
mod distance;
mod gazetteer;
mod wards;

use fieldbook_core::geo::LatLon;

pub fn p(lat: f64, lon: f64) -> LatLon {
    LatLon::new(lat, lon).expect("a possible point")
}
