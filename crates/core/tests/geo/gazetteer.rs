//! Reading a gazetteer in OS Open UPRN form with a council's ADDRESS and POSTCODE columns.
//! Addresses and postcodes are synthetic (the fictional town of Millbrook); 100023336956 is the
//! real UPRN of 10 Downing Street, with approximate coordinates.

use fieldbook_core::DomainError;
use fieldbook_core::geo::{GazetteerEntry, read_gazetteer};

/// A BOM, headers in mixed case and any order, an extra column, then good and bad rows.
const FILE: &str =
    "\u{feff}Postcode, uprn ,LATITUDE,longitude,X_COORDINATE,Y_Coordinate,Address,CLASS
,100023336956,51.5034,-0.1276,530052.27,179935.44,,
mb1 1aa,900000000001,52.015,-1.005,468381.28,235640.75,\"1 Mill Lane, Millbrook\",R
MB1 1AB,900000000002,52.0151,-1.0052,468367.40,235651.69,2 Mill Lane,R
MB1 1AB,1234567890123,52.0151,-1.0052,468367.40,235651.69,2 Mill Lane,R
MB1 1AB,0,52.0151,-1.0052,468367.40,235651.69,2 Mill Lane,R
MB1 1AB,900000000005,52.0151,-1.0052,800000,235651.69,2 Mill Lane,R
MB1 1AB,900000000006,north,-1.0052,468367.40,235651.69,2 Mill Lane,R
MB1 1AB,900000000007,52.0151,-1.0052,468480.33,233417.31,2 Mill Lane,R
12345,900000000008,52.0151,-1.0052,468367.40,235651.69,2 Mill Lane,R
MB1 1AB,900000000009,52.0151,-1.0052,468367.40
MB1 2AA,900000000010,51.995,-1.004,468480.33,233417.31,\"Flat 1
3 Mill Lane\",R
MB1 2AA,900000000003,51.995,-1.004,468480.33,233417.31,\"Flat 2, 3 Mill Lane, Millbrook\",R
MB1 2AA,,51.995,-1.004,468480.33,233417.31,Flat 3,R
,900000000004,51.9951,-1.0043,468459.58,233428.15, ,
";

fn entry(
    uprn: u64,
    (easting, northing): (f64, f64),
    (lat, lon): (f64, f64),
    address: Option<&str>,
    postcode: Option<&str>,
) -> GazetteerEntry {
    GazetteerEntry {
        uprn,
        easting,
        northing,
        lat,
        lon,
        address: address.map(str::to_string),
        postcode: postcode.map(str::to_string),
    }
}

#[test]
fn reads_good_rows_and_reports_bad_ones_by_line() {
    let rows: Vec<_> = read_gazetteer(FILE.as_bytes()).expect("header").collect();
    let good: Vec<GazetteerEntry> = rows.iter().filter_map(|r| r.clone().ok()).collect();
    assert_eq!(
        good,
        [
            entry(
                100023336956,
                (530052.27, 179935.44),
                (51.5034, -0.1276),
                None,
                None
            ),
            entry(
                900000000001,
                (468381.28, 235640.75),
                (52.015, -1.005),
                Some("1 Mill Lane, Millbrook"),
                Some("MB1 1AA"),
            ),
            entry(
                900000000002,
                (468367.40, 235651.69),
                (52.0151, -1.0052),
                Some("2 Mill Lane"),
                Some("MB1 1AB"),
            ),
            entry(
                900000000003,
                (468480.33, 233417.31),
                (51.995, -1.004),
                Some("Flat 2, 3 Mill Lane, Millbrook"),
                Some("MB1 2AA"),
            ),
            entry(
                900000000004,
                (468459.58, 233428.15),
                (51.9951, -1.0043),
                None,
                None
            ),
        ]
    );
    let bad: Vec<(u64, String)> = rows
        .into_iter()
        .filter_map(|r| match r {
            Err(DomainError::InvalidGazetteerRow { line, reason }) => Some((line, reason)),
            Err(other) => panic!("{other:?}"),
            Ok(_) => None,
        })
        .collect();
    let lines: Vec<u64> = bad.iter().map(|(l, _)| *l).collect();
    assert_eq!(lines, [5, 6, 7, 8, 9, 10, 11, 12, 15]);
    let expect = [
        "'1234567890123' is not a UPRN",
        "'0' is not a UPRN",
        "X_COORDINATE 800000, Y_COORDINATE 235651.69 is not on the British National Grid",
        "the LATITUDE 'north' is not a number",
        "is 2237 m from X_COORDINATE/Y_COORDINATE 468480.33, 233417.31; one of them is wrong",
        "'12345' is not a UK postcode",
        "the row has 5 fields but the header has 8",
        "the address contains control characters",
        "the UPRN is missing",
    ];
    for ((line, reason), want) in bad.iter().zip(expect) {
        assert!(reason.contains(want), "line {line}: {reason}");
    }
    let err = DomainError::InvalidGazetteerRow {
        line: 5,
        reason: "x".into(),
    };
    assert_eq!(err.code(), "invalid_gazetteer_row");
    assert_eq!(err.to_string(), "gazetteer line 5: x");
}

#[test]
fn os_open_uprn_without_addresses() {
    let file = "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE\n\
                100023336956,530052.27,179935.44,51.5034,-0.1276\n";
    let rows: Vec<_> = read_gazetteer(file.as_bytes()).expect("header").collect();
    assert_eq!(
        rows,
        [Ok(entry(
            100023336956,
            (530052.27, 179935.44),
            (51.5034, -0.1276),
            None,
            None
        ))]
    );
}

#[test]
fn a_row_that_is_not_utf8_is_refused_and_reading_goes_on() {
    let mut file = b"UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,ADDRESS\n".to_vec();
    file.extend_from_slice(b"900000000001,468381.28,235640.75,52.015,-1.005,Caf\xe9\n");
    file.extend_from_slice(b"900000000002,468367.40,235651.69,52.0151,-1.0052,2 Mill Lane\n");
    let rows: Vec<_> = read_gazetteer(file.as_slice()).expect("header").collect();
    assert_eq!(rows.len(), 2);
    match &rows[0] {
        Err(DomainError::InvalidGazetteerRow { line: 2, reason }) => {
            assert!(reason.contains("not UTF-8"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rows[1].as_ref().map(|e| e.uprn), Ok(900000000002));
}

#[test]
fn headers_without_the_required_columns_are_refused() {
    let missing = read_gazetteer("UPRN,X_COORDINATE,Y_COORDINATE,LONGITUDE\n".as_bytes())
        .expect_err("no LATITUDE");
    assert_eq!(
        missing,
        DomainError::InvalidGazetteerRow {
            line: 1,
            reason: "the header has no LATITUDE column; it needs UPRN, X_COORDINATE, \
                     Y_COORDINATE, LATITUDE and LONGITUDE (ADDRESS and POSTCODE are optional)"
                .into()
        }
    );
    let twice =
        read_gazetteer("UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,uprn\n".as_bytes())
            .expect_err("UPRN twice");
    assert!(
        twice.to_string().contains("the column UPRN twice"),
        "{twice}"
    );
    assert!(read_gazetteer("".as_bytes()).is_err());
}
