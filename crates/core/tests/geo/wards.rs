//! Ward look-up against `tests/data/wards_millbrook.geojson`: four made-up wards of a fictional
//! town (not real boundaries). North (E05900001) has a hole that Park (E05900004) fills; South
//! (E05900002) has a hole no ward fills (a lake); East (E05900003) is a MultiPolygon with an
//! island. North and South share the edge at latitude 52.00, both touch East at longitude -1.00.

use fieldbook_core::DomainError;
use fieldbook_core::geo::{Bng, WardIndex};
use serde_json::{Value, json};

use crate::p;

const MILLBROOK: &str = include_str!("../data/wards_millbrook.geojson");

fn index() -> WardIndex {
    WardIndex::from_geojson(MILLBROOK).expect("the fixture loads")
}

fn code_at(wards: &WardIndex, lat: f64, lon: f64) -> Option<String> {
    wards.ward_at(p(lat, lon)).map(|w| w.code.clone())
}

#[test]
fn loads_every_ward_whatever_its_property_names() {
    let wards = index();
    let names: Vec<(&str, &str)> = wards
        .wards()
        .iter()
        .map(|w| (w.code.as_str(), w.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("E05900001", "Millbrook North"),
            ("E05900002", "Millbrook South"),
            ("E05900003", "Millbrook East and Islands"),
            // WD24 wins over WD22 in the same feature.
            ("E05900004", "Millbrook Park"),
        ]
    );
    assert_eq!(wards.len(), 4);
    assert_eq!(wards.polygon_count(), 5);
}

#[test]
fn inside_outside_holes_and_islands() {
    let wards = index();
    let cases = [
        ("inside North", 52.015, -1.005, Some("E05900001")),
        ("inside South", 51.995, -1.005, Some("E05900002")),
        ("inside East", 52.0, -0.99, Some("E05900003")),
        ("on East's island", 51.995, -0.955, Some("E05900003")),
        (
            "the hole in North that Park fills",
            52.0075,
            -1.0125,
            Some("E05900004"),
        ),
        ("the lake in South, in no ward", 51.9875, -1.0125, None),
        ("between East and its island", 51.995, -0.97, None),
        ("far away", 53.0, -1.0, None),
        ("just outside the west edge", 52.01, -1.020_001, None),
    ];
    for (what, lat, lon, want) in cases {
        assert_eq!(code_at(&wards, lat, lon).as_deref(), want, "{what}");
    }
}

#[test]
fn a_point_on_a_boundary_is_in_the_touching_ward_with_the_smallest_code() {
    let wards = index();
    let cases = [
        ("North/South edge", 52.0, -1.01, "E05900001"),
        ("South/East edge", 51.99, -1.0, "E05900002"),
        ("North/East edge", 52.01, -1.0, "E05900001"),
        ("North, South and East meet", 52.0, -1.0, "E05900001"),
        (
            "North's outer edge, no neighbour",
            52.01,
            -1.02,
            "E05900001",
        ),
        ("North's corner", 52.02, -1.02, "E05900001"),
        (
            "edge of North's hole, which is Park's edge",
            52.0075,
            -1.015,
            "E05900001",
        ),
        ("edge of South's lake", 51.9875, -1.015, "E05900002"),
        ("edge of East's island", 51.995, -0.95, "E05900003"),
    ];
    for (what, lat, lon, want) in cases {
        assert_eq!(code_at(&wards, lat, lon).as_deref(), Some(want), "{what}");
    }
}

#[test]
fn the_answer_does_not_depend_on_the_order_of_the_file() {
    let wards = index();
    let mut json: Value = serde_json::from_str(MILLBROOK).expect("json");
    json["features"].as_array_mut().expect("features").reverse();
    let reversed = WardIndex::from_geojson(&json.to_string()).expect("loads");
    for i in 0..=40 {
        for j in 0..=80 {
            let (lat, lon) = (
                51.975 + f64::from(i) * 0.00125,
                -1.025 + f64::from(j) * 0.001,
            );
            assert_eq!(
                code_at(&wards, lat, lon),
                code_at(&reversed, lat, lon),
                "{lat},{lon}"
            );
        }
    }
}

fn refusal(text: &str) -> (Option<String>, String) {
    match WardIndex::from_geojson(text) {
        Err(DomainError::InvalidWardBoundaries { feature, reason }) => (feature, reason),
        other => panic!("expected invalid_ward_boundaries, got {other:?}"),
    }
}

fn collection(features: Value) -> String {
    json!({ "type": "FeatureCollection", "features": features }).to_string()
}

fn square(lon: f64, lat: f64, size: f64) -> Value {
    json!([[
        [lon, lat],
        [lon + size, lat],
        [lon + size, lat + size],
        [lon, lat + size],
        [lon, lat]
    ]])
}

#[test]
fn files_that_are_not_ward_collections_are_refused() {
    let (feature, reason) = refusal("{ not json");
    assert_eq!(feature, None);
    assert!(reason.contains("not valid GeoJSON"), "{reason}");

    let one = json!({ "type": "Feature", "properties": {}, "geometry": null }).to_string();
    assert!(refusal(&one).1.contains("single Feature"));

    let geometry = json!({ "type": "Point", "coordinates": [0.0, 0.0] }).to_string();
    assert!(refusal(&geometry).1.contains("Point geometry"));

    assert!(refusal(&collection(json!([]))).1.contains("no features"));

    let err = WardIndex::from_geojson(&collection(json!([]))).expect_err("empty");
    assert_eq!(err.code(), "invalid_ward_boundaries");
    assert!(
        err.to_string()
            .starts_with("the ward boundary file cannot be used: ")
    );
}

#[test]
fn bad_features_are_refused_naming_the_feature() {
    let good = json!({ "type": "Feature", "properties": { "WD24CD": "E05900001", "WD24NM": "A" },
        "geometry": { "type": "Polygon", "coordinates": square(-1.0, 52.0, 0.01) } });

    let no_name = json!({ "type": "Feature", "id": "abc", "properties": { "WD24CD": "E05900002" },
        "geometry": { "type": "Polygon", "coordinates": square(-1.0, 52.0, 0.01) } });
    let (feature, reason) = refusal(&collection(json!([good, no_name])));
    assert_eq!(feature.as_deref(), Some("feature 2 (id abc)"));
    assert!(reason.contains("no ward code and name"), "{reason}");

    let empty_code = json!({ "type": "Feature", "properties": { "code": " ", "name": "B" },
        "geometry": { "type": "Polygon", "coordinates": square(-1.0, 52.0, 0.01) } });
    let (feature, reason) = refusal(&collection(json!([empty_code])));
    assert_eq!(feature.as_deref(), Some("feature 1"));
    assert!(reason.contains("ward code (code) is empty"), "{reason}");

    let point = json!({ "type": "Feature", "properties": { "WD24CD": "E05900003", "WD24NM": "C" },
        "geometry": { "type": "Point", "coordinates": [-1.0, 52.0] } });
    let (feature, reason) = refusal(&collection(json!([good, point])));
    assert_eq!(feature.as_deref(), Some("feature 2 (E05900003 C)"));
    assert!(
        reason.contains("Point; a ward must be a Polygon or MultiPolygon"),
        "{reason}"
    );

    let no_geometry = json!({ "type": "Feature", "properties": { "code": "X1", "name": "D" },
        "geometry": null });
    assert!(
        refusal(&collection(json!([no_geometry])))
            .1
            .contains("no geometry")
    );

    let out_of_range = json!({ "type": "Feature", "properties": { "code": "X1", "name": "E" },
        "geometry": { "type": "Polygon", "coordinates": square(179.999, 52.0, 0.01) } });
    let (feature, reason) = refusal(&collection(json!([out_of_range])));
    assert_eq!(feature.as_deref(), Some("feature 1 (X1 E)"));
    assert!(
        reason.contains("impossible longitude/latitude [180.009"),
        "{reason}"
    );

    let metres = json!({ "type": "Feature", "properties": { "code": "X1", "name": "F" },
        "geometry": { "type": "Polygon", "coordinates": square(530000.0, 180000.0, 100.0) } });
    assert!(
        refusal(&collection(json!([metres])))
            .1
            .contains("EPSG:27700")
    );

    let sliver = json!({ "type": "Feature", "properties": { "code": "X1", "name": "G" },
        "geometry": { "type": "MultiPolygon", "coordinates":
            [square(-1.0, 52.0, 0.01), [[[-1.0, 52.0], [-0.9, 52.0], [-1.0, 52.0]]]] } });
    let (_, reason) = refusal(&collection(json!([sliver])));
    assert_eq!(reason, "polygon 2, outer ring has fewer than three corners");

    let renamed = json!({ "type": "Feature", "properties": { "WD24CD": "E05900001", "WD24NM": "Z" },
        "geometry": { "type": "Polygon", "coordinates": square(-0.5, 52.0, 0.01) } });
    let (feature, reason) = refusal(&collection(json!([good, renamed])));
    assert_eq!(feature.as_deref(), Some("feature 2 (E05900001 Z)"));
    assert!(reason.contains("also feature 1, named 'A'"), "{reason}");
}

#[test]
fn features_with_the_same_code_and_name_are_one_ward() {
    let part = |lon: f64| {
        json!({ "type": "Feature", "properties": { "WD24CD": "E05900001", "WD24NM": "A" },
            "geometry": { "type": "Polygon", "coordinates": square(lon, 52.0, 0.01) } })
    };
    let wards = WardIndex::from_geojson(&collection(json!([part(-1.0), part(-0.5)]))).expect("ok");
    assert_eq!(wards.len(), 1);
    assert_eq!(wards.polygon_count(), 2);
    assert_eq!(
        code_at(&wards, 52.005, -0.495).as_deref(),
        Some("E05900001")
    );
}

#[test]
fn british_national_grid_files_are_converted_and_other_systems_refused() {
    // A 1 km square in central London, in BNG metres, declared with the old crs member.
    let text = json!({
        "type": "FeatureCollection",
        "crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:EPSG::27700" } },
        "features": [{ "type": "Feature", "properties": { "WD24CD": "E05900009", "WD24NM": "Grid" },
            "geometry": { "type": "Polygon", "coordinates": square(530000.0, 180000.0, 1000.0) } }]
    })
    .to_string();
    let wards = WardIndex::from_geojson(&text).expect("a BNG file loads");
    let inside = Bng {
        easting: 530500.0,
        northing: 180500.0,
    }
    .to_wgs84()
    .expect("on the grid");
    let outside = Bng {
        easting: 531010.0,
        northing: 180500.0,
    }
    .to_wgs84()
    .expect("on the grid");
    assert_eq!(
        wards.ward_at(inside).map(|w| w.code.as_str()),
        Some("E05900009")
    );
    assert_eq!(wards.ward_at(outside), None);

    let wgs84 = text.replace(
        "urn:ogc:def:crs:EPSG::27700",
        "urn:ogc:def:crs:OGC:1.3:CRS84",
    );
    assert!(refusal(&wgs84).1.contains("impossible longitude/latitude"));

    let mercator = text.replace("urn:ogc:def:crs:EPSG::27700", "EPSG:3857");
    assert!(
        refusal(&mercator)
            .1
            .contains("coordinates are in EPSG:3857")
    );

    let off_grid = text.replace("530000", "-5000");
    let (feature, reason) = refusal(&off_grid);
    assert_eq!(feature.as_deref(), Some("feature 1 (E05900009 Grid)"));
    assert!(
        reason.contains("outside the British National Grid"),
        "{reason}"
    );
}

#[test]
fn a_map_gets_the_wards_back_as_wgs84_geojson_that_answers_the_same() {
    let wards = index();
    let text = wards.to_geojson();
    let value: Value = serde_json::from_str(&text).expect("valid JSON");
    let features = value["features"].as_array().expect("a feature list");
    assert_eq!(features.len(), 4, "one feature per ward");
    assert_eq!(
        features[2]["properties"],
        json!({"code": "E05900003", "name": "Millbrook East and Islands"})
    );
    assert_eq!(features[2]["geometry"]["type"], "MultiPolygon");
    assert_eq!(
        features[2]["geometry"]["coordinates"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "East and its island"
    );
    // Read back, it places points exactly as the file it came from, holes and islands too.
    let again = WardIndex::from_geojson(&text).expect("the map's wards load again");
    assert_eq!(again.wards(), wards.wards());
    for lat in (0..40).map(|i| 51.98 + f64::from(i) * 0.001) {
        for lon in (0..40).map(|i| -1.02 + f64::from(i) * 0.002) {
            assert_eq!(
                code_at(&again, lat, lon),
                code_at(&wards, lat, lon),
                "{lat}, {lon}"
            );
        }
    }
}
