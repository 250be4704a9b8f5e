//! Photos, locations, the gazetteer and wards through the device API, against a real
//! encrypted store. The photo is a small JPEG as a phone writes it: stored landscape with EXIF
//! orientation 6, a GPS position in the (made-up) ward of Millbrook North, and the time taken.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::device;
use fieldbook_app::{
    self as app, AddPhotoArgs, AddVisitArgs, Ctx, EditCaseArgs, EditPhotoArgs, NewCaseArgs,
};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn wards() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/wards_millbrook.geojson"),
    )
    .unwrap()
}

fn new_case(ctx: &Ctx) -> String {
    app::create_case(
        ctx,
        NewCaseArgs {
            kind: "food_hygiene".into(),
            title: "The Mill Cafe".into(),
            ..Default::default()
        },
    )
    .unwrap()
    .reference
}

fn add(ctx: &Ctx, case: &str, bytes: &[u8], name: &str) -> app::AppResult<app::PhotoAddedDto> {
    app::add_photo(
        ctx,
        AddPhotoArgs {
            case: case.into(),
            file_name: Some(name.into()),
            visit: None,
            caption: Some("Kitchen, rear wall".into()),
        },
        bytes,
    )
}

#[test]
fn a_phone_photo_is_attached_upright_with_its_place_time_grid_reference_and_ward() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path());
    assert_eq!(app::load_wards(&ctx, &wards()).unwrap(), 4);
    let case = new_case(&ctx);
    let photo = std::fs::read(data("millbrook-portrait-gps.jpg")).unwrap();

    let added = add(&ctx, &case, &photo, "IMG_0042.JPG").unwrap();
    assert!(added.added);
    let p = &added.photo;
    // Stored 288×384 with orientation 6 (turned a quarter): upright it is 384×288.
    assert_eq!((p.width, p.height), (384, 288));
    assert_eq!(p.mime, "image/jpeg");
    assert_eq!(p.caption, "Kitchen, rear wall");
    // 10:30 BST on 14 July 2026.
    assert_eq!(p.taken_at.as_deref(), Some("2026-07-14T09:30:00.000Z"));
    let at = p.location.as_ref().unwrap();
    assert_eq!(at.source, "photo_exif");
    assert!(
        (at.lat - 52.015).abs() < 1e-9 && (at.lon + 1.005).abs() < 1e-9,
        "{at:?}"
    );
    assert_eq!(at.accuracy_m, Some(4.0));
    let bng = at.bng.as_ref().unwrap();
    assert!(
        bng.grid_ref.as_deref().unwrap().starts_with("SP "),
        "{bng:?}"
    );
    assert_eq!(at.ward.as_ref().unwrap().code, "E05900001");
    assert_eq!(p.held, vec!["full", "thumb"]);

    // The same file again: nothing changes.
    let again = add(&ctx, &case, &photo, "IMG_0042.JPG").unwrap();
    assert!(!again.added);
    assert_eq!(app::photos(&ctx, &case).unwrap().len(), 1);

    // Its bytes come back: an upright JPEG with no EXIF (so no position leaks with it).
    let (mime, full) = app::photo_data(&ctx, &case, &p.sha256, "full").unwrap();
    assert_eq!(mime, "image/jpeg");
    assert_eq!(fieldbook_store::media::sha256_hex(&full), p.sha256);
    assert!(
        !full.windows(4).any(|w| w == b"Exif"),
        "display version has no EXIF"
    );
    let (_, thumb) = app::photo_data(&ctx, &case, &p.sha256, "thumb").unwrap();
    assert!(thumb.len() < full.len() * 2);
    assert_eq!(
        app::photo_data(&ctx, &case, &p.sha256, "original")
            .unwrap_err()
            .code(),
        "invalid_input",
        "originals are not kept unless the council says so"
    );

    // The case shows it, and its history says who added it.
    let shown = app::open_case(&ctx, &case).unwrap();
    assert_eq!(shown.photos, vec![p.clone()]);
    let history = app::history(&ctx, &case).unwrap();
    assert!(history.iter().any(|h| h.message == "Added a photo"));
}

#[test]
fn captions_and_visits_change_and_originals_are_kept_when_the_setting_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path());
    app::set_setting(&ctx, "photos.keep_original", "yes").unwrap();
    let case = new_case(&ctx);
    let file = std::fs::read(data("millbrook-portrait-gps.jpg")).unwrap();
    let p = add(&ctx, &case, &file, "photo.jpeg").unwrap().photo;
    assert_eq!(p.held, vec!["full", "original", "thumb"]);
    let (mime, original) = app::photo_data(&ctx, &case, &p.sha256, "original").unwrap();
    assert_eq!((mime.as_str(), original), ("image/jpeg", file));

    let visit = app::add_visit(
        &ctx,
        AddVisitArgs {
            case: case.clone(),
            ..Default::default()
        },
    )
    .unwrap()
    .visits[0]
        .id
        .clone();
    let edited = app::edit_photo(
        &ctx,
        EditPhotoArgs {
            case: case.clone(),
            photo: p.sha256.to_uppercase(),
            caption: Some("Hand-wash basin".into()),
            visit: Some(visit.clone()),
        },
    )
    .unwrap();
    assert_eq!(edited.caption, "Hand-wash basin");
    assert_eq!(edited.visit_id.as_deref(), Some(visit.as_str()));
    let unlinked = app::edit_photo(
        &ctx,
        EditPhotoArgs {
            case: case.clone(),
            photo: p.sha256.clone(),
            caption: None,
            visit: Some(String::new()),
        },
    )
    .unwrap();
    assert_eq!(unlinked.visit_id, None);
    assert_eq!(unlinked.caption, "Hand-wash basin");

    let err = app::edit_photo(
        &ctx,
        EditPhotoArgs {
            case: case.clone(),
            photo: "ab".repeat(32),
            caption: Some("x".into()),
            visit: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "unknown_photo");
    assert_eq!(
        app::set_setting(&ctx, "photos.keep_original", "perhaps")
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    assert_eq!(
        app::set_setting(&ctx, "no.such.setting", "1")
            .unwrap_err()
            .code(),
        "invalid_input"
    );
}

#[test]
fn bad_files_are_refused_in_plain_words_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path());
    let case = new_case(&ctx);
    let good = std::fs::read(data("millbrook-portrait-gps.jpg")).unwrap();
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (Vec::new(), "empty.jpg", "empty"),
        (good[..good.len() / 2].to_vec(), "cut.jpg", "corrupt"),
        (
            b"GIF89a\x01\x00\x01\x00".to_vec(),
            "anim.gif",
            "unsupported_format",
        ),
        (good.clone(), "photo.png", "mislabelled"),
        (
            [&[0, 0, 0, 24][..], b"ftypheic\0\0\0\0mif1heic"].concat(),
            "IMG_0001.HEIC",
            "heic_unsupported",
        ),
    ];
    for (bytes, name, code) in cases {
        let err = add(&ctx, &case, &bytes, name).unwrap_err();
        assert_eq!(err.code(), code, "{name}");
        assert!(!err.to_string().is_empty());
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["field"], "photo", "{name}");
    }
    assert!(app::photos(&ctx, &case).unwrap().is_empty());
    assert_eq!(
        app::device(&ctx).unwrap().outbox_changes,
        1,
        "only the case's creation"
    );
}

#[test]
fn locations_show_grid_reference_and_ward_and_far_visits_are_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path());
    let case = new_case(&ctx);
    let edited = app::edit_case(
        &ctx,
        EditCaseArgs {
            case: case.clone(),
            lat: Some(52.015),
            lon: Some(-1.005),
            ..Default::default()
        },
    )
    .unwrap();
    let at = edited.location.unwrap();
    assert!(at.bng.is_some());
    assert_eq!(at.ward, None, "no boundaries loaded yet");
    app::load_wards(&ctx, &wards()).unwrap();
    let at = app::open_case(&ctx, &case).unwrap().location.unwrap();
    assert_eq!(at.ward.unwrap().name, "Millbrook North");

    // A visit recorded about 560 m away is flagged; one next door is not.
    let far = app::add_visit(
        &ctx,
        AddVisitArgs {
            case: case.clone(),
            lat: Some(52.020),
            lon: Some(-1.005),
            ..Default::default()
        },
    )
    .unwrap();
    let m = far.visits[0].far_from_property_m.unwrap();
    assert!((550.0..570.0).contains(&m), "{m}");
    app::set_setting(&ctx, "visits.max_distance_m", "1000").unwrap();
    let shown = app::open_case(&ctx, &case).unwrap();
    assert_eq!(shown.visits[0].far_from_property_m, None);
}

#[test]
fn a_property_is_found_offline_by_uprn_or_postcode() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path());
    app::load_wards(&ctx, &wards()).unwrap();
    let bng = |lat: f64, lon: f64| {
        fieldbook_core::geo::Bng::from_wgs84(fieldbook_core::geo::LatLon::new(lat, lon).unwrap())
            .unwrap()
    };
    let mut csv =
        String::from("UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,ADDRESS,POSTCODE\n");
    for (uprn, lat, lon, address) in [
        (900000000001u64, 52.0150, -1.0050, "1 Mill Lane"),
        (900000000002, 52.0151, -1.0052, "2 Mill Lane"),
    ] {
        let b = bng(lat, lon);
        csv += &format!(
            "{uprn},{:.2},{:.2},{lat},{lon},\"{address}, Millbrook\",mb1 1aa\n",
            b.easting, b.northing
        );
    }
    csv += "12,1,1,91,0,\"Nowhere\",MB1 1AA\n";
    assert_eq!(
        app::find_place(&ctx, "MB1 1AA").unwrap_err().code(),
        "no_gazetteer",
        "before any address list is loaded, the device says so rather than finding nothing"
    );
    let load = app::load_gazetteer(&ctx, csv.as_bytes()).unwrap();
    assert_eq!((load.loaded, load.refused), (2, 1));
    assert!(
        load.first_refusals[0].starts_with("line 4:"),
        "{:?}",
        load.first_refusals
    );

    let by_uprn = app::find_place(&ctx, "900000000002").unwrap();
    assert_eq!(by_uprn.len(), 1);
    assert_eq!(
        by_uprn[0].address.as_deref(),
        Some("2 Mill Lane, Millbrook")
    );
    assert_eq!(by_uprn[0].ward.as_ref().unwrap().code, "E05900001");
    let by_postcode = app::find_place(&ctx, " mb11aa ").unwrap();
    assert_eq!(by_postcode.len(), 2);
    assert_eq!(by_postcode[0].postcode.as_deref(), Some("MB1 1AA"));
    assert!(app::find_place(&ctx, "900000000099").unwrap().is_empty());
    assert_eq!(
        app::find_place(&ctx, "not a place").unwrap_err().code(),
        "invalid_postcode"
    );
}
