//! The map's data through the device API, against real files: an MBTiles basemap pack written
//! here with SQLite, the ward boundaries of the made-up town of Millbrook, "near me" lists and
//! where a location came from.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::device;
use fieldbook_app::{self as app, EditCaseArgs, ListArgs, NewCaseArgs};

/// An MBTiles pack with the given metadata and one tile per (z, x, tms_y), whose bytes name it.
fn pack(path: &Path, metadata: &[(&str, &str)], tiles: &[(u8, u32, u32)]) {
    let db = rusqlite::Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                             tile_data BLOB);",
    )
    .unwrap();
    for (k, v) in metadata {
        db.execute("INSERT INTO metadata VALUES (?1, ?2)", [k, v])
            .unwrap();
    }
    for (z, x, y) in tiles {
        db.execute(
            "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![z, x, y, format!("tile {z}/{x}/{y}").into_bytes()],
        )
        .unwrap();
    }
}

const RASTER: &[(&str, &str)] = &[
    ("name", "Millbrook streets"),
    ("format", "png"),
    ("minzoom", "10"),
    ("maxzoom", "16"),
    ("bounds", "-1.05,51.97,-0.93,52.03"),
    ("center", "-1.0,52.0,14"),
    ("attribution", "Contains OS data © Crown copyright"),
];

#[test]
fn a_basemap_pack_is_checked_loaded_and_served_tile_by_tile() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(&dir.path().join("device"));
    let before = app::map_info(&ctx).unwrap();
    assert_eq!(before.basemap, None);
    assert!(!before.online_tiles, "no tile server unless one is set");
    assert_eq!(before.wards, None);

    // Zoom 14 has 16384 rows: XYZ row 5461 is MBTiles (TMS) row 16383 - 5461 = 10922.
    let file = dir.path().join("millbrook.mbtiles");
    pack(&file, RASTER, &[(14, 8146, 10922), (10, 509, 682)]);
    let loaded = app::load_basemap(&ctx, &file).unwrap();
    assert_eq!(loaded.name, "Millbrook streets");
    assert_eq!((loaded.min_zoom, loaded.max_zoom), (10, 16));
    assert_eq!(loaded.bounds, Some([-1.05, 51.97, -0.93, 52.03]));
    assert_eq!(loaded.center, Some([-1.0, 52.0, 14.0]));
    // The pack is the device's own copy: the file loaded may go.
    std::fs::remove_file(&file).unwrap();

    let info = app::map_info(&ctx).unwrap();
    assert_eq!(info.basemap.as_ref(), Some(&loaded));
    let (bytes, mime) = app::map_tile(&ctx, 14, 8146, 5461).unwrap().unwrap();
    assert_eq!(bytes, b"tile 14/8146/10922");
    assert_eq!(mime, "image/png");
    // A tile the pack lacks, with no tile server set: none, and nothing was asked of anyone.
    assert_eq!(app::map_tile(&ctx, 14, 8146, 5462).unwrap(), None);
    // Impossible tile numbers are simply absent.
    assert_eq!(app::map_tile(&ctx, 3, 8, 0).unwrap(), None);
    assert_eq!(app::map_tile(&ctx, 40, 0, 0).unwrap(), None);
    // Tiles are public: a locked device still draws its basemap.
    app::lock(&ctx);
    assert!(app::map_tile(&ctx, 10, 509, 341).unwrap().is_some());
    assert_eq!(app::map_info(&ctx).unwrap_err().code(), "locked");
}

#[test]
fn packs_fieldbook_cannot_show_are_refused_and_the_loaded_one_stays() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(&dir.path().join("device"));
    let good = dir.path().join("good.mbtiles");
    pack(&good, RASTER, &[(10, 509, 682)]);
    app::load_basemap(&ctx, &good).unwrap();

    let bad = |name: &str, metadata: &[(&str, &str)], tiles: &[(u8, u32, u32)]| {
        let path = dir.path().join(name);
        pack(&path, metadata, tiles);
        path
    };
    let vector = bad(
        "vector.mbtiles",
        &[("name", "v"), ("format", "pbf")],
        &[(0, 0, 0)],
    );
    let empty = bad("empty.mbtiles", &[("format", "png")], &[]);
    let zooms = bad(
        "zooms.mbtiles",
        &[("format", "jpg"), ("minzoom", "12"), ("maxzoom", "9")],
        &[(9, 0, 0)],
    );
    let bounds = bad(
        "bounds.mbtiles",
        &[("format", "png"), ("bounds", "-1,95,1,96")],
        &[(0, 0, 0)],
    );
    let text = dir.path().join("notes.mbtiles");
    std::fs::write(&text, "this is not a database").unwrap();
    for (path, says) in [
        (&vector, "vector tiles"),
        (&empty, "no tiles"),
        (&zooms, "minzoom 12 is above its maxzoom 9"),
        (&bounds, "bounds"),
        (&text, "not an MBTiles file"),
        (&dir.path().join("missing.mbtiles"), "cannot be opened"),
    ] {
        let e = app::load_basemap(&ctx, path).unwrap_err();
        assert_eq!(e.code(), "invalid_basemap", "{path:?}: {e}");
        assert!(e.to_string().contains(says), "{path:?}: {e}");
    }
    // The pack loaded before is untouched.
    assert_eq!(
        app::map_info(&ctx).unwrap().basemap.unwrap().name,
        "Millbrook streets"
    );
}

#[test]
fn the_map_gets_the_loaded_wards_and_knows_whether_a_tile_server_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(&dir.path().join("device"));
    let wards = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/wards_millbrook.geojson"),
    )
    .unwrap();
    app::load_wards(&ctx, &wards).unwrap();
    let geojson = app::map_info(&ctx).unwrap().wards.unwrap();
    let back = fieldbook_core::geo::WardIndex::from_geojson(&geojson).unwrap();
    assert_eq!(back.len(), 4);

    for bad in [
        "https://tiles.example/tiles.png",
        "http://tiles.example/{z}/{x}/{y}.png",
        "ftp://tiles.example/{z}/{x}/{y}",
    ] {
        assert_eq!(
            app::set_setting(&ctx, "map.tile_url", bad)
                .unwrap_err()
                .code(),
            "invalid_input",
            "{bad}"
        );
    }
    app::set_setting(
        &ctx,
        "map.tile_url",
        "https://tiles.example/{z}/{x}/{y}.png",
    )
    .unwrap();
    assert!(app::map_info(&ctx).unwrap().online_tiles);
    app::set_setting(&ctx, "map.tile_url", "").unwrap();
    assert!(!app::map_info(&ctx).unwrap().online_tiles);
}

#[test]
fn near_me_sorts_by_distance_and_says_how_far_each_case_is() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(&dir.path().join("device"));
    for (title, at) in [
        ("Far", Some((52.0300, -1.0000))),
        ("Nowhere", None),
        ("Near", Some((52.0010, -1.0000))),
        ("Middle", Some((52.0100, -1.0000))),
    ] {
        app::create_case(
            &ctx,
            NewCaseArgs {
                kind: "general".into(),
                title: title.into(),
                lat: at.map(|p| p.0),
                lon: at.map(|p| p.1),
                location_source: Some("gazetteer".into()),
                ..Default::default()
            },
        )
        .unwrap();
    }
    let near = |sort: Option<&str>| ListArgs {
        sort: sort.map(Into::into),
        near_lat: Some(52.0),
        near_lon: Some(-1.0),
        ..Default::default()
    };
    let page = app::list_cases(&ctx, near(Some("distance"))).unwrap();
    let got: Vec<(&str, Option<f64>)> = page
        .cases
        .iter()
        .map(|c| (c.title.as_str(), c.distance_m))
        .collect();
    // 0.001° of latitude is 111 m here.
    assert_eq!(
        got,
        [
            ("Near", Some(111.0)),
            ("Middle", Some(1113.0)),
            ("Far", Some(3338.0)),
            ("Nowhere", None),
        ]
    );
    // Any order may carry the distances; without a point there are none.
    let by_title = app::list_cases(&ctx, near(Some("title"))).unwrap();
    assert_eq!(by_title.cases[0].title, "Far");
    assert_eq!(by_title.cases[0].distance_m, Some(3338.0));
    let plain = app::list_cases(&ctx, ListArgs::default()).unwrap();
    assert!(plain.cases.iter().all(|c| c.distance_m.is_none()));

    for (args, field) in [
        (
            ListArgs {
                sort: Some("distance".into()),
                ..Default::default()
            },
            "near",
        ),
        (
            ListArgs {
                near_lat: Some(52.0),
                ..Default::default()
            },
            "near",
        ),
        (
            ListArgs {
                sort: Some("distance".into()),
                near_lat: Some(95.0),
                near_lon: Some(0.0),
                ..Default::default()
            },
            "location",
        ),
    ] {
        let e = app::list_cases(&ctx, args).unwrap_err();
        assert_eq!(e.field().as_deref(), Some(field), "{e}");
    }
}

#[test]
fn a_location_says_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(&dir.path().join("device"));
    let case = app::create_case(
        &ctx,
        NewCaseArgs {
            kind: "general".into(),
            title: "Fly-tipping by the mill".into(),
            lat: Some(52.015),
            lon: Some(-1.005),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(case.location.unwrap().source, "manual");
    for source in ["map", "device", "gazetteer"] {
        let edited = app::edit_case(
            &ctx,
            EditCaseArgs {
                case: case.reference.clone(),
                lat: Some(52.016),
                lon: Some(-1.006),
                location_source: Some(source.into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(edited.location.unwrap().source, source);
    }
    let e = app::edit_case(
        &ctx,
        EditCaseArgs {
            case: case.reference.clone(),
            lat: Some(52.016),
            lon: Some(-1.006),
            location_source: Some("guesswork".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a location source"), "{e}");
}
