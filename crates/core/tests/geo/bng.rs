//! British National Grid by OSTN15, against Ordnance Survey's 40 test points
//! (`tests/data/ostn15/`, see its README for the source and licence).

use fieldbook_core::geo::{Bng, distance_m};
use proptest::prelude::*;

use crate::p;

const ETRS_INPUT: &str = include_str!("../data/ostn15/OSTN15_OSGM15_TestInput_ETRStoOSGB.csv");
const OSGB_OUTPUT: &str = include_str!("../data/ostn15/OSTN15_OSGM15_TestOutput_ETRStoOSGB.csv");
const OSGB_INPUT: &str = include_str!("../data/ostn15/OSTN15_OSGM15_TestInput_OSGBtoETRS.csv");

/// (point id, first two numbers after it) for each data row of an OS test file.
fn rows(csv: &str) -> Vec<(String, f64, f64)> {
    csv.trim_start_matches('\u{feff}')
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let num = |i: usize| f[i].parse::<f64>().expect("a number");
            (f[0].to_string(), num(1), num(2))
        })
        .collect()
}

/// The 40 points: (id, ETRS89 latitude, longitude, OSGB36 easting, northing).
fn test_points() -> Vec<(String, f64, f64, f64, f64)> {
    let input = rows(ETRS_INPUT);
    let output = rows(OSGB_OUTPUT);
    assert_eq!(input.len(), 40);
    assert_eq!(output.len(), 40);
    input
        .into_iter()
        .zip(output)
        .map(|((id, lat, lon), (id2, e, n))| {
            assert_eq!(id, id2);
            (id, lat, lon, e, n)
        })
        .collect()
}

#[test]
fn all_40_ostn15_test_points_convert_to_within_a_millimetre() {
    let mut worst: f64 = 0.0;
    let mut exact = 0;
    for (id, lat, lon, e, n) in test_points() {
        let got = Bng::from_wgs84(p(lat, lon)).unwrap_or_else(|err| panic!("{id}: {err}"));
        let diff = (got.easting - e).abs().max((got.northing - n).abs());
        worst = worst.max(diff);
        if diff < 1e-6 {
            exact += 1;
        }
        // Both sides are rounded to the millimetre; allow for the float representation.
        assert!(
            diff <= 0.001 + 1e-9,
            "{id}: got {:.3}, {:.3}; OS {e:.3}, {n:.3}",
            got.easting,
            got.northing
        );
        // Rounded to the millimetre.
        assert_eq!((got.easting * 1000.0).round() / 1000.0, got.easting);
    }
    println!(
        "OSTN15 forward: {exact} of 40 points exact to the mm, worst difference per axis {:.1} mm",
        worst * 1000.0
    );
}

#[test]
fn the_first_test_point_exactly() {
    let got = Bng::from_wgs84(p(49.92226394, -6.29977752)).expect("in the grid");
    assert_eq!((got.easting, got.northing), (91492.146, 11318.804));
    assert_eq!(got.grid_ref().as_deref(), Some("SV 91492 11318"));
    let tp09 = Bng::from_wgs84(p(51.48936565, -0.119925572)).expect("in the grid");
    assert_eq!(tp09.grid_ref().as_deref(), Some("TQ 30624 78388"));
}

#[test]
fn all_40_ostn15_test_points_convert_back() {
    let expected = rows(ETRS_INPUT);
    let mut worst: f64 = 0.0;
    for ((id, e, n), (id2, lat, lon)) in rows(OSGB_INPUT).into_iter().zip(expected) {
        assert_eq!(id, id2);
        let got = Bng {
            easting: e,
            northing: n,
        }
        .to_wgs84()
        .unwrap_or_else(|err| panic!("{id}: {err}"));
        let off = distance_m(got, p(lat, lon));
        worst = worst.max(off);
        // The published latitudes/longitudes have 8 decimals (about 1 mm) and the published
        // eastings/northings are rounded to the millimetre.
        assert!(off < 0.005, "{id}: {off} m from the OS point");
    }
    println!("OSTN15 inverse: worst distance {:.2} mm", worst * 1000.0);
}

#[test]
fn points_outside_the_grid_are_refused() {
    for (place, lat, lon) in [
        ("Paris", 48.8566, 2.3522),
        ("mid-Atlantic", 45.0, -30.0),
        ("New York", 40.7128, -74.006),
        ("Brittany", 48.4, -4.5),
        ("the Netherlands", 52.37, 4.9),
        ("Faroe Islands", 62.01, -6.77),
        ("south of the grid", 49.5, -2.0),
        ("the South Pole", -90.0, 0.0),
        ("the antimeridian", 51.5, 180.0),
    ] {
        let err = Bng::from_wgs84(p(lat, lon)).expect_err(place);
        assert_eq!(err.code(), "outside_national_grid", "{place}");
        assert!(err.to_string().contains("OSTN15"), "{err}");
    }
    for (e, n) in [
        (-0.001, 100.0),
        (100.0, -0.001),
        (700_000.0, 100.0),
        (100.0, 1_250_000.0),
        (f64::NAN, 100.0),
        (100.0, f64::INFINITY),
        (-5_000_000.0, 3_000_000.0),
    ] {
        let err = Bng {
            easting: e,
            northing: n,
        }
        .to_wgs84()
        .expect_err("outside");
        assert_eq!(err.code(), "outside_national_grid", "{e},{n}");
    }
}

#[test]
fn the_whole_grid_converts_including_the_south_of_scilly_and_nearby_waters() {
    // Hugh Town, St Mary's, Isles of Scilly: south of lonlat_bng::convert_osgb36's bounding box
    // (latitude 49.922), which is why the projection is done in fieldbook-core.
    let hugh_town = p(49.9145, -6.3125);
    assert!(lonlat_bng::convert_osgb36(-6.3125, 49.9145).is_err());
    let bng = Bng::from_wgs84(hugh_town).expect("Scilly is on the grid");
    assert_eq!(bng.grid_ref_figures(4).as_deref(), Some("SV 90 10"));
    let back = bng.to_wgs84().expect("and back");
    assert!(distance_m(back, hugh_town) < 0.005);
    // St Agnes, Scilly; Muckle Flugga, Shetland; Lowestoft Ness; the Irish Sea.
    for (lat, lon) in [
        (49.8925, -6.3450),
        (60.8556, -0.8856),
        (52.4818, 1.7627),
        (53.9, -5.0),
    ] {
        let bng = Bng::from_wgs84(p(lat, lon)).unwrap_or_else(|e| panic!("{lat},{lon}: {e}"));
        assert!(bng.grid_ref().is_some());
    }
}

#[test]
fn agrees_with_lonlat_bng_where_both_apply() {
    // Inside lonlat_bng's own bounding box its one-step conversion and ours give the same
    // millimetres (the projection series is the same; only the rounding path could differ).
    let mut worst: f64 = 0.0;
    for (_, lat, lon, _, _) in test_points() {
        let ours = Bng::from_wgs84(p(lat, lon)).expect("in the grid");
        let (e, n) = lonlat_bng::convert_osgb36(lon, lat).expect("in its box");
        worst = worst.max((ours.easting - e).abs().max((ours.northing - n).abs()));
    }
    assert!(worst <= 0.001 + 1e-9, "{worst}");
}

proptest! {
    #[test]
    fn round_trips_across_great_britain(lat in 50.0f64..58.6, lon in -5.5f64..1.7) {
        let start = p(lat, lon);
        let bng = Bng::from_wgs84(start).expect("on the grid");
        let back = bng.to_wgs84().expect("and back");
        // The forward result is rounded to the millimetre; the way back adds a little more.
        prop_assert!(distance_m(start, back) < 0.003, "{}", distance_m(start, back));
        let again = Bng::from_wgs84(back).expect("again");
        prop_assert!((again.easting - bng.easting).abs() <= 0.002);
        prop_assert!((again.northing - bng.northing).abs() <= 0.002);
    }
}
