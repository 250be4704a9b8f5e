//! Photo bytes, the gazetteer, ward boundaries and settings, against real SQLCipher files.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use fieldbook_core::geo::{Bng, LatLon, read_gazetteer};
use fieldbook_core::{Role, Timestamp};
use fieldbook_store::media::{BlobIn, PhotoIn, Variant, sha256_hex};
use fieldbook_store::{DeviceSetup, Store};

const PASS: &str = "correct horse battery";

fn new_store(dir: &Path) -> Store {
    Store::init(
        dir,
        PASS,
        DeviceSetup {
            person_name: "Alex Officer".into(),
            role: Role::Officer,
            device_number: 3,
        },
        Timestamp(1_790_000_000_000),
    )
    .unwrap()
}

/// Bytes that would be easy to spot on disk.
fn marked(marker: &str, len: usize) -> Vec<u8> {
    marker
        .as_bytes()
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

fn photo<'a>(full: &'a [u8], thumb: &'a [u8], source: Option<&'a str>) -> PhotoIn<'a> {
    PhotoIn {
        source_sha256: source,
        full: BlobIn {
            mime: "image/jpeg",
            width: 2048,
            height: 1536,
            data: full,
        },
        thumb: BlobIn {
            mime: "image/jpeg",
            width: 320,
            height: 240,
            data: thumb,
        },
        original: None,
    }
}

#[test]
fn photos_are_encrypted_content_addressed_and_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let full = marked("PLAINPHOTOBYTES", 300_000);
    let thumb = marked("PLAINTHUMBBYTES", 20_000);
    let source = sha256_hex(b"the camera's file");
    let stored = store
        .put_photo(&photo(&full, &thumb, Some(&source)))
        .unwrap();
    assert!(stored.new);
    assert_eq!(stored.sha256, sha256_hex(&full));
    assert_eq!(stored.thumb_sha256, sha256_hex(&thumb));
    let again = store
        .put_photo(&photo(&full, &thumb, Some(&source)))
        .unwrap();
    assert!(!again.new, "the same photo is stored once");
    assert_eq!(
        store.photo_for_source(&source).unwrap().as_deref(),
        Some(stored.sha256.as_str())
    );
    assert_eq!(store.photo_for_source(&sha256_hex(b"other")).unwrap(), None);
    assert_eq!(
        store.photo_variants(&stored.sha256).unwrap(),
        vec![Variant::Full, Variant::Thumb]
    );
    drop(store);

    // Nothing of the bytes is readable in any file of the device.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        for needle in ["PLAINPHOTOBYTES", "PLAINTHUMBBYTES", "SQLite format"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is readable in {:?}",
                entry.file_name()
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{:?}", entry.file_name());
        }
    }
    assert!(dir.path().join(fieldbook_store::media::MEDIA_FILE).exists());

    // Back after unlocking again, byte for byte.
    let store = Store::open(dir.path(), PASS).unwrap();
    let back = store
        .photo_blob(&sha256_hex(&full), Variant::Full)
        .unwrap()
        .unwrap();
    assert_eq!(back.data, full);
    assert_eq!((back.width, back.height), (2048, 1536));
    let back = store
        .photo_blob(&sha256_hex(&full), Variant::Thumb)
        .unwrap()
        .unwrap();
    assert_eq!(back.data, thumb);
    assert_eq!(
        store
            .photo_blob(&sha256_hex(&full), Variant::Original)
            .unwrap(),
        None
    );
}

#[test]
fn a_blob_from_elsewhere_is_kept_only_when_its_hash_matches() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let data = marked("x", 1000);
    let blob = BlobIn {
        mime: "image/jpeg",
        width: 10,
        height: 10,
        data: &data,
    };
    let name = sha256_hex(b"a photo");
    assert!(
        !store
            .put_photo_blob(&name, Variant::Thumb, &sha256_hex(b"not it"), &blob)
            .unwrap()
    );
    assert_eq!(store.photo_blob(&name, Variant::Thumb).unwrap(), None);
    assert!(
        store
            .put_photo_blob(&name, Variant::Thumb, &sha256_hex(&data), &blob)
            .unwrap()
    );
    assert_eq!(
        store
            .photo_blob(&name, Variant::Thumb)
            .unwrap()
            .unwrap()
            .data,
        data
    );
}

fn wards_fixture() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/data/wards_millbrook.geojson"),
    )
    .unwrap()
}

#[test]
fn ward_boundaries_load_whole_or_not_at_all_and_survive_a_relock() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let north = LatLon::new(52.015, -1.005).unwrap();
    assert_eq!(store.ward_at(north).unwrap(), None, "nothing loaded yet");
    assert_eq!(store.load_wards(&wards_fixture(), Timestamp(5)).unwrap(), 4);
    assert_eq!(store.ward_at(north).unwrap().unwrap().code, "E05900001");

    let err = store
        .load_wards(
            r#"{"type": "FeatureCollection", "features": []}"#,
            Timestamp(6),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_ward_boundaries");
    assert_eq!(store.ward_at(north).unwrap().unwrap().code, "E05900001");
    drop(store);

    let store = Store::open(dir.path(), PASS).unwrap();
    let ward = store.ward_at(north).unwrap().unwrap();
    assert_eq!(
        (ward.code.as_str(), ward.name.as_str()),
        ("E05900001", "Millbrook North")
    );
    let far = LatLon::new(54.0, -2.0).unwrap();
    assert_eq!(store.ward_at(far).unwrap(), None);
}

/// A gazetteer row whose BNG columns are computed from its point, as OS Open UPRN's are.
fn row(uprn: &str, lat: f64, lon: f64, address: &str, postcode: &str) -> String {
    let bng = Bng::from_wgs84(LatLon::new(lat, lon).unwrap()).unwrap();
    format!(
        "{uprn},{:.2},{:.2},{lat},{lon},\"{address}\",{postcode}\n",
        bng.easting, bng.northing
    )
}

#[test]
fn the_gazetteer_finds_places_by_uprn_and_postcode_and_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let mut csv =
        String::from("UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,ADDRESS,POSTCODE\n");
    csv += &row(
        "100023336956",
        51.503541,
        -0.127670,
        "10 Example Street, Westminster",
        "sw1a 2aa",
    );
    csv += &row(
        "900000000001",
        52.0150,
        -1.0050,
        "1 Mill Lane, Millbrook",
        "MB1 1AA",
    );
    csv += &row(
        "900000000002",
        52.0151,
        -1.0052,
        "2 Mill Lane, Millbrook",
        "MB1 1AA",
    );
    csv += "not-a-uprn,1,2,52.0,-1.0,\"Bad row\",MB1 1AA\n";
    csv += "900000000003,400000,300000,95.0,-1.0,\"Impossible point\",MB1 1AA\n";
    let load = store
        .load_gazetteer(read_gazetteer(csv.as_bytes()).unwrap())
        .unwrap();
    assert_eq!((load.loaded, load.refused), (3, 2), "{load:?}");
    assert_eq!(
        load.first_refusals.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![5, 6]
    );
    assert_eq!(store.gazetteer_count().unwrap(), 3);

    let no10 = store.gazetteer_uprn(100_023_336_956).unwrap().unwrap();
    assert_eq!(no10.postcode.as_deref(), Some("SW1A 2AA"));
    assert_eq!(
        no10.address.as_deref(),
        Some("10 Example Street, Westminster")
    );
    let lane = store.gazetteer_postcode("MB1 1AA").unwrap();
    assert_eq!(
        lane.iter().map(|e| e.uprn).collect::<Vec<_>>(),
        vec![900_000_000_001, 900_000_000_002]
    );
    assert_eq!(store.gazetteer_uprn(1).unwrap(), None);

    // A second load replaces the first.
    let csv = String::from("UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,ADDRESS,POSTCODE\n")
        + &row(
            "900000000009",
            52.0,
            -1.0,
            "9 Mill Lane, Millbrook",
            "MB1 1AB",
        );
    let load = store
        .load_gazetteer(read_gazetteer(csv.as_bytes()).unwrap())
        .unwrap();
    assert_eq!((load.loaded, load.refused), (1, 0));
    assert_eq!(store.gazetteer_uprn(100_023_336_956).unwrap(), None);
    assert_eq!(store.gazetteer_count().unwrap(), 1);
}

#[test]
fn settings_are_set_cleared_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    assert_eq!(store.setting("photos.keep_original").unwrap(), None);
    store
        .set_setting("photos.keep_original", Some("yes"))
        .unwrap();
    store
        .set_setting("photos.keep_original", Some("no"))
        .unwrap();
    drop(store);
    let mut store = Store::open(dir.path(), PASS).unwrap();
    assert_eq!(
        store.setting("photos.keep_original").unwrap().as_deref(),
        Some("no")
    );
    store.set_setting("photos.keep_original", None).unwrap();
    assert_eq!(store.setting("photos.keep_original").unwrap(), None);
}
