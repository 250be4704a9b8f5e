//! Distances between WGS84 points, the "visit recorded far from its property" rule, and ordering
//! things by how near they are ("near me").
//!
//! Distances are geodesic on the WGS84 ellipsoid (Karney's algorithm, `geo::Geodesic`, through
//! `geographiclib-rs`): exact to a few nanometres at any range. The spherical haversine formula is
//! faster but up to 0.5 % out (5 m in a kilometre) because the Earth is not a sphere, and a rule
//! that flags officers' visits should not depend on that error near its threshold. The benchmark
//! (`crates/core/benches/geo.rs`) measures both; geodesic is fast enough for every use here.

use ::geo::{Distance, Geodesic};

use crate::geo::LatLon;

/// The geodesic distance in metres between two points on the WGS84 ellipsoid.
pub fn distance_m(a: LatLon, b: LatLon) -> f64 {
    Geodesic.distance(a.point(), b.point())
}

/// The rule "flag a visit recorded more than a configurable distance from its property": the
/// distance in metres from the property to where the visit was recorded when it is more than
/// `threshold_m`, otherwise `None`. A visit exactly at the threshold is not flagged. The threshold
/// is the council's setting; a negative threshold flags every visit, and a NaN threshold none.
///
/// The rule compares the points as recorded: a caller that knows the fix's accuracy decides
/// whether a flag within that accuracy is worth showing.
pub fn far_from_property(visit: LatLon, property: LatLon, threshold_m: f64) -> Option<f64> {
    let d = distance_m(visit, property);
    (d > threshold_m).then_some(d)
}

/// Items ordered nearest first from `from`, each with its distance in metres. Items at the same
/// distance keep their input order, so the result is deterministic. The device's "near me" list
/// is not ordered here but in SQL (`fieldbook_store`'s `CaseSort::Distance`, over an index);
/// this exact ordering is what the benchmarks compare that with.
pub fn nearest_first<T>(
    from: LatLon,
    items: impl IntoIterator<Item = (T, LatLon)>,
) -> Vec<(T, f64)> {
    let mut out: Vec<(T, f64)> = items
        .into_iter()
        .map(|(item, at)| (item, distance_m(from, at)))
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> LatLon {
        LatLon::new(lat, lon).expect("valid point")
    }

    #[test]
    fn known_distances() {
        // One degree of latitude at the equator and at the pole on WGS84 (meridian arcs).
        assert!((distance_m(p(0.0, 0.0), p(1.0, 0.0)) - 110_574.389).abs() < 0.01);
        assert!((distance_m(p(89.0, 0.0), p(90.0, 0.0)) - 111_693.865).abs() < 0.01);
        // GeographicLib's documented example: JFK (40.6, -73.8) to LHR (51.6, -0.5) is
        // 5551759.400319 m.
        let jfk = p(40.6, -73.8);
        let lhr = p(51.6, -0.5);
        assert!((distance_m(jfk, lhr) - 5_551_759.400_319).abs() < 1e-5);
        assert_eq!(distance_m(jfk, jfk), 0.0);
        assert_eq!(distance_m(jfk, lhr), distance_m(lhr, jfk));
    }

    #[test]
    fn far_from_property_flags_only_beyond_the_threshold() {
        let property = p(51.50354, -0.12768);
        // About 111 m north.
        let visit = p(51.50454, -0.12768);
        let d = distance_m(visit, property);
        assert!((d - 111.25).abs() < 0.1, "{d}");
        assert_eq!(far_from_property(visit, property, 100.0), Some(d));
        assert_eq!(far_from_property(visit, property, 200.0), None);
        assert_eq!(far_from_property(visit, property, d), None);
        assert_eq!(far_from_property(property, property, 0.0), None);
        assert_eq!(far_from_property(property, property, -1.0), Some(0.0));
        assert_eq!(far_from_property(visit, property, f64::NAN), None);
    }

    #[test]
    fn nearest_first_orders_by_distance_and_keeps_ties_in_order() {
        let me = p(52.0, -1.0);
        let items = [
            ("far", p(52.1, -1.0)),
            ("near", p(52.001, -1.0)),
            ("here", p(52.0, -1.0)),
            ("tie-a", p(52.01, -1.0)),
            ("tie-b", p(52.01, -1.0)),
        ];
        let order: Vec<_> = nearest_first(me, items)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(order, ["here", "near", "tie-a", "tie-b", "far"]);
        assert!(nearest_first::<u8>(me, []).is_empty());
    }
}
