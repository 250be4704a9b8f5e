//! The device store against real SQLCipher files in temporary directories.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use fieldbook_core::template::{AnswerValue, default_template_for};
use fieldbook_core::{CaseEdit, CaseKind, CaseStatus, Date, NewCase, Role, Timestamp};
use fieldbook_store::{CaseQuery, CaseSort, DeviceSetup, Store, StoreError};

const PASS: &str = "correct horse battery";
const T0: i64 = 1_790_000_000_000;

fn setup(name: &str) -> DeviceSetup {
    DeviceSetup {
        person_name: name.into(),
        role: Role::Officer,
        device_number: 3,
    }
}

fn new_store(dir: &Path) -> Store {
    Store::init(
        dir,
        PASS,
        setup("Alex Officer"),
        Timestamp(1_790_000_000_000),
    )
    .unwrap()
}

fn case(title: &str, postcode: &str, due: Option<&str>) -> NewCase {
    NewCase {
        title: title.into(),
        address: Some(format!("{title} House, 1 High Street, Anytown")),
        postcode: Some(postcode.into()),
        due: due.map(|d| d.parse::<Date>().unwrap()),
        ..NewCase::default()
    }
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn nothing_readable_reaches_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let c = store
        .create_case(
            CaseKind::FoodHygiene,
            case("Zanzibar Noodle Bar", "ZE1 0AB", None),
            Timestamp(1_790_000_000_001),
        )
        .unwrap();
    store
        .change_case(c.id, Timestamp(1_790_000_000_002), |c, a| {
            c.add_note(
                "Mouse droppings behind the quokka fridge",
                a,
                Timestamp(1_790_000_000_002),
            )?;
            Ok("Added a note".into())
        })
        .unwrap();
    drop(store);
    for (name, bytes) in files_of(dir.path()) {
        for needle in [
            "Zanzibar",
            "quokka",
            "ZE1 0AB",
            "Alex Officer",
            "SQLite format",
        ] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is readable in {name}"
            );
        }
    }
}

#[test]
fn a_wrong_passphrase_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    store
        .create_case(
            CaseKind::General,
            case("Kept", "M1 1AE", None),
            Timestamp(1_790_000_000_001),
        )
        .unwrap();
    drop(store);
    let before = files_of(dir.path());
    let err = Store::open(dir.path(), "not the passphrase").unwrap_err();
    assert_eq!(err.code(), "wrong_passphrase");
    assert_eq!(files_of(dir.path()), before);
    let store = Store::open(dir.path(), PASS).unwrap();
    assert_eq!(store.case_count().unwrap(), 1);
    assert_eq!(store.device().person_name, "Alex Officer");
}

#[test]
fn setup_refuses_weak_passphrases_and_existing_devices() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::init(dir.path(), "short", setup("A"), Timestamp(0)).unwrap_err();
    assert_eq!(err.code(), "weak_passphrase");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing left behind"
    );
    new_store(dir.path());
    let err = Store::init(dir.path(), PASS, setup("B"), Timestamp(0)).unwrap_err();
    assert_eq!(err.code(), "already_initialised");
}

#[test]
fn missing_and_damaged_devices_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    assert_eq!(
        Store::open(&missing, PASS).unwrap_err().code(),
        "not_initialised"
    );
    std::fs::create_dir(&missing).unwrap();
    assert_eq!(
        Store::open(&missing, PASS).unwrap_err().code(),
        "not_initialised"
    );

    // A database whose pages were overwritten.
    let damaged = dir.path().join("damaged");
    drop(new_store(&damaged));
    let db = damaged.join(fieldbook_store::DB_FILE);
    let mut bytes = std::fs::read(&db).unwrap();
    for b in bytes.iter_mut().take(4096).skip(16) {
        *b ^= 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = Store::open(&damaged, PASS).unwrap_err();
    assert_eq!(err.code(), "corrupt_database", "{err}");

    // A file that is not a database at all.
    let garbage = dir.path().join("garbage");
    drop(new_store(&garbage));
    std::fs::write(
        garbage.join(fieldbook_store::DB_FILE),
        b"hello, I am not a database",
    )
    .unwrap();
    assert_eq!(
        Store::open(&garbage, PASS).unwrap_err().code(),
        "corrupt_database"
    );

    // A damaged key file.
    let badkey = dir.path().join("badkey");
    drop(new_store(&badkey));
    std::fs::write(badkey.join(fieldbook_store::KEY_FILE), b"{").unwrap();
    assert_eq!(
        Store::open(&badkey, PASS).unwrap_err().code(),
        "corrupt_database"
    );

    // A path that is a file, not a directory.
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(Store::open(&file, PASS).unwrap_err().code(), "data_dir");
}

#[test]
fn a_schema_1_device_is_upgraded_in_place_and_keeps_its_cases() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let t = Timestamp(1_790_000_000_000);
    let c = store
        .create_case(CaseKind::FoodHygiene, case("Kept", "M1 1AE", None), t)
        .unwrap();
    // Take the file back to schema 1 as the first release wrote it.
    store
        .connection()
        .execute_batch("DROP TABLE drafts; DROP TABLE case_sync; DROP TABLE sync_state; DROP TABLE server_link; DROP TABLE departures; DROP TABLE settings; DROP TABLE gazetteer; DROP TABLE ward_boundaries; ALTER TABLE photos DROP COLUMN thumb_sha256; DROP INDEX cases_location; PRAGMA user_version = 1")
        .unwrap();
    drop(store);
    let mut store = Store::open(dir.path(), PASS).unwrap();
    let version: u32 = store
        .connection()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, fieldbook_store::migrate::latest());
    assert_eq!(store.load_case(c.id).unwrap().title, "Kept");
    store.save_draft("new-case:title", "Typed", t).unwrap();
    assert_eq!(store.drafts("new-case:").unwrap()[0].value, "Typed");
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = new_store(dir.path());
    store
        .connection()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    drop(store);
    match Store::open(dir.path(), PASS) {
        Err(StoreError::DatabaseNewer {
            found: 99,
            supported,
        }) => {
            assert_eq!(supported, fieldbook_store::migrate::latest())
        }
        other => panic!("expected database_newer, got {other:?}"),
    }
}

#[test]
fn the_migration_list_matches_the_directory() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/device");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    for (i, f) in files.iter().enumerate() {
        assert!(
            f.starts_with(&format!("{:04}_", i + 1)),
            "migrations must be numbered 0001_, 0002_...: {f}"
        );
    }
    assert_eq!(files.len() as u32, fieldbook_store::migrate::latest());
}

#[test]
fn references_are_minted_in_sequence_per_kind_and_year() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let t = Timestamp(1_790_000_000_000); // 2026
    let a = store
        .create_case(CaseKind::FoodHygiene, case("A", "M1 1AE", None), t)
        .unwrap();
    let b = store
        .create_case(CaseKind::FoodHygiene, case("B", "M1 1AE", None), t)
        .unwrap();
    let c = store
        .create_case(CaseKind::Housing, case("C", "M1 1AE", None), t)
        .unwrap();
    let d = store
        .create_case(
            CaseKind::FoodHygiene,
            case("D", "M1 1AE", None),
            Timestamp(1_830_000_000_000),
        )
        .unwrap(); // 2027
    assert_eq!(
        [a.reference, b.reference, c.reference, d.reference],
        [
            "FH-2026-3-0001",
            "FH-2026-3-0002",
            "HS-2026-3-0001",
            "FH-2027-3-0001"
        ]
    );
    assert_eq!(store.find_case("fh-2026-3-0002").unwrap(), b.id);
    assert_eq!(store.find_case(&c.id.to_string()).unwrap(), c.id);
    assert_eq!(
        store.find_case("FH-2026-3-0099").unwrap_err().code(),
        "case_not_found"
    );
}

#[test]
fn a_refused_change_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let c = store
        .create_case(
            CaseKind::General,
            case("Steady", "M1 1AE", None),
            Timestamp(T0 + 10),
        )
        .unwrap();
    let before = (
        store.projection_snapshot().unwrap(),
        store.history(c.id).unwrap(),
        store.outbox().unwrap(),
    );
    let err = store
        .change_case(c.id, Timestamp(T0 + 11), |c, a| {
            c.edit(
                CaseEdit {
                    title: Some("   ".into()),
                    ..Default::default()
                },
                a,
            )?;
            Ok("Changed title".into())
        })
        .unwrap_err();
    assert_eq!(err.code(), "empty_title");
    let err = store
        .change_case(c.id, Timestamp(T0 + 12), |c, a| {
            c.transition(CaseStatus::Approved, a)?;
            Ok("Approved".into())
        })
        .unwrap_err();
    assert_eq!(err.code(), "transition_not_allowed");
    let after = (
        store.projection_snapshot().unwrap(),
        store.history(c.id).unwrap(),
        store.outbox().unwrap(),
    );
    assert_eq!(before, after);
}

#[test]
fn lists_filter_sort_page_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let t = Timestamp(1_790_000_000_000);
    let batch = vec![
        (
            CaseKind::FoodHygiene,
            case("Golden Spoon Cafe", "SW1A 2AA", Some("2026-12-01")),
        ),
        (
            CaseKind::FoodHygiene,
            case("Silver Fork Diner", "M1 1AE", Some("2026-11-30")),
        ),
        (
            CaseKind::Housing,
            case("Flat 3 damp complaint", "B33 8TH", None),
        ),
        (
            CaseKind::FlyTipping,
            case("Mattresses in Back Lane", "CR2 6XH", Some("2026-12-24")),
        ),
    ];
    let created = store.create_cases(batch, t).unwrap();
    store
        .change_case(created[2].id, Timestamp(t.0 + 5), |c, a| {
            c.add_note(
                "Tenant reports black mould in the bathroom",
                a,
                Timestamp(t.0 + 5),
            )?;
            Ok("Added a note".into())
        })
        .unwrap();

    let all = store
        .list_cases(&CaseQuery {
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.total, 4);
    let titles: Vec<_> = all.rows.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Silver Fork Diner",
            "Golden Spoon Cafe",
            "Mattresses in Back Lane",
            "Flat 3 damp complaint"
        ]
    );

    let food = store
        .list_cases(&CaseQuery {
            kinds: vec![CaseKind::FoodHygiene],
            sort: CaseSort::Title,
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (food.total, food.rows[0].title.as_str()),
        (2, "Silver Fork Diner")
    );

    let due_soon = store
        .list_cases(&CaseQuery {
            due_before: Some("2026-12-01".parse().unwrap()),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(due_soon.total, 2);

    let search = |text: &str| -> Vec<String> {
        store
            .list_cases(&CaseQuery {
                search: Some(text.into()),
                sort: CaseSort::Relevance,
                limit: 50,
                ..Default::default()
            })
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.title)
            .collect()
    };
    assert_eq!(search("golden"), ["Golden Spoon Cafe"]);
    assert_eq!(
        search("spo"),
        ["Golden Spoon Cafe"],
        "the last word matches as a prefix"
    );
    assert_eq!(search("sw1a 2aa"), ["Golden Spoon Cafe"], "postcodes");
    assert_eq!(search("mould"), ["Flat 3 damp complaint"], "notes");
    assert_eq!(
        search(&created[3].reference),
        ["Mattresses in Back Lane"],
        "references"
    );
    assert!(search("nonexistentword").is_empty());
    assert!(
        search("!!!").is_empty(),
        "punctuation alone matches nothing"
    );
    assert!(
        search("\"unbalanced AND (").is_empty(),
        "FTS syntax in input is harmless"
    );

    let mine = store
        .list_cases(&CaseQuery {
            assignee: Some(store.device().person_id),
            statuses: vec![CaseStatus::Open],
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(mine.total, 4);
}

#[test]
fn projections_rebuild_identically_from_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let t = Timestamp(1_790_000_000_000);
    let created = store
        .create_cases(
            (0..20)
                .map(|i| {
                    (
                        CaseKind::FoodHygiene,
                        case(&format!("Premises {i}"), "M1 1AE", Some("2027-01-15")),
                    )
                })
                .collect(),
            t,
        )
        .unwrap();
    for (i, c) in created.iter().enumerate().take(10) {
        store
            .change_case(c.id, Timestamp(t.0 + i as i64), |c, a| {
                let tmpl = default_template_for("food_hygiene");
                let v = c.add_visit(tmpl, None, a, Timestamp(t.0 + i as i64))?;
                c.answer(
                    v,
                    "fh.hygiene",
                    AnswerValue::Score(5),
                    a,
                    Timestamp(t.0 + i as i64),
                )?;
                c.answer(
                    v,
                    "fh.structure",
                    AnswerValue::Score(10),
                    a,
                    Timestamp(t.0 + i as i64),
                )?;
                c.answer(
                    v,
                    "fh.management",
                    AnswerValue::Score(5),
                    a,
                    Timestamp(t.0 + i as i64),
                )?;
                c.add_note(&format!("note {i}"), a, Timestamp(t.0 + i as i64))?;
                Ok("Recorded a visit".into())
            })
            .unwrap();
    }
    // Later changes of every sort go through the incremental projection update.
    for (i, c) in created.iter().enumerate().take(6) {
        store
            .change_case(c.id, Timestamp(t.0 + 100 + i as i64), |c, a| {
                let v = c.visits.values().next().map(|v| v.id).expect("a visit");
                match i % 3 {
                    0 => {
                        c.answer(
                            v,
                            "fh.hygiene",
                            AnswerValue::Score(10),
                            a,
                            Timestamp(t.0 + 100),
                        )?;
                        c.clear_answer(v, "fh.management", a)?;
                    }
                    1 => {
                        c.edit(
                            CaseEdit {
                                title: Some(format!("Renamed {i}")),
                                postcode: Some(None),
                                ..Default::default()
                            },
                            a,
                        )?;
                        let n = c.notes.values().next().map(|n| n.id).expect("a note");
                        c.edit_note(n, "a longer note about damp", a)?;
                    }
                    _ => {
                        let tmpl = default_template_for("general");
                        c.add_visit(tmpl, None, a, Timestamp(t.0 + 100))?;
                        c.visits.remove(&v.to_string());
                    }
                }
                Ok("Later change".into())
            })
            .unwrap();
    }
    let found = store
        .list_cases(&CaseQuery {
            search: Some("longer damp".into()),
            limit: 50,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(found.total, 2, "edited notes are searchable");
    let before = store.projection_snapshot().unwrap();
    assert!(
        before
            .iter()
            .any(|r| r.starts_with("Text(\"visit\")") && r.ends_with("Integer(20)|Integer(4)")),
        "FSA rating 4 projected: {before:#?}"
    );
    assert!(
        before
            .iter()
            .any(|r| r.starts_with("search|") && r.ends_with("|notes|4|damp")),
        "the snapshot holds the indexed terms"
    );
    let n = store.rebuild_projections().unwrap();
    assert_eq!(n, 20);
    assert_eq!(store.projection_snapshot().unwrap(), before);
}

#[test]
fn many_edits_compact_and_keep_their_history() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let c = store
        .create_case(
            CaseKind::General,
            case("Busy", "M1 1AE", None),
            Timestamp(T0 + 100),
        )
        .unwrap();
    for i in 0..70 {
        store
            .change_case(c.id, Timestamp(T0 + 101 + i), |c, a| {
                c.edit(
                    CaseEdit {
                        title: Some(format!("Busy {i}")),
                        ..Default::default()
                    },
                    a,
                )?;
                Ok(format!("Changed title to Busy {i}"))
            })
            .unwrap();
    }
    let chunks: i64 = store
        .connection()
        .query_row("SELECT count(*) FROM case_chunks", [], |r| r.get(0))
        .unwrap();
    assert!(chunks < fieldbook_store::COMPACT_AFTER, "{chunks} chunks");
    drop(store);
    let store = Store::open(dir.path(), PASS).unwrap();
    assert_eq!(store.load_case(c.id).unwrap().title, "Busy 69");
    let history = store.history(c.id).unwrap();
    assert_eq!(history.len(), 71);
    assert_eq!(history[0].message, format!("Created case {}", c.reference));
    assert_eq!(history[70].message, "Changed title to Busy 69");
    assert_eq!(history[70].person_name.as_deref(), Some("Alex Officer"));
    assert_eq!(history[70].at, Timestamp(T0 + 170));
    assert_eq!(store.outbox().unwrap(), (1, 71));
}

#[test]
fn a_change_that_changes_nothing_records_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let c = store
        .create_case(
            CaseKind::General,
            case("Same", "M1 1AE", None),
            Timestamp(T0 + 100),
        )
        .unwrap();
    store
        .change_case(c.id, Timestamp(T0 + 101), |c, a| {
            c.edit(
                CaseEdit {
                    title: Some("Same".into()),
                    ..Default::default()
                },
                a,
            )?;
            Ok("Changed title".into())
        })
        .unwrap();
    assert_eq!(store.history(c.id).unwrap().len(), 1);
}

#[test]
fn a_device_busy_in_another_process_says_so_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let c = store
        .create_case(
            CaseKind::General,
            case("Shared", "M1 1AE", None),
            Timestamp(T0),
        )
        .unwrap();
    // Another program (here: a second connection) holds the write lock.
    let other = Store::open(dir.path(), PASS).unwrap();
    other.connection().execute_batch("BEGIN IMMEDIATE").unwrap();
    store
        .set_busy_timeout(std::time::Duration::from_millis(200))
        .unwrap();
    let err = store
        .change_case(c.id, Timestamp(T0 + 1), |c, a| {
            c.edit(
                CaseEdit {
                    title: Some("Mine".into()),
                    ..Default::default()
                },
                a,
            )?;
            Ok("Changed title".into())
        })
        .unwrap_err();
    assert_eq!(err.code(), "busy", "{err}");
    other.connection().execute_batch("ROLLBACK").unwrap();
    let saved = store
        .change_case(c.id, Timestamp(T0 + 2), |c, a| {
            c.edit(
                CaseEdit {
                    title: Some("Mine".into()),
                    ..Default::default()
                },
                a,
            )?;
            Ok("Changed title".into())
        })
        .unwrap();
    assert_eq!(saved.title, "Mine");
    assert_eq!(store.history(c.id).unwrap().len(), 2);
}

#[cfg(unix)]
#[test]
fn only_the_owner_can_read_the_device_files() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("device");
    let mut store = new_store(&device);
    store
        .create_case(
            CaseKind::General,
            case("Private", "M1 1AE", None),
            Timestamp(T0),
        )
        .unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&device), 0o700);
    for entry in std::fs::read_dir(&device).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// A store with cases to list: titles from a few templates (so full-text ranks tie), three
/// kinds, two statuses, some assigned to the device's person, and due dates with repeats and
/// gaps (every fifth case has none).
fn list_fixture(dir: &Path) -> Store {
    let mut store = new_store(dir);
    let me = store.device().person_id;
    let titles = [
        "Damp and mould complaint",
        "Damp in bedroom",
        "Noise complaint",
        "Damp",
        "Blocked drain",
    ];
    let kinds = [CaseKind::Housing, CaseKind::FoodHygiene, CaseKind::General];
    let start: Date = "2026-12-01".parse().unwrap();
    let batch = (0..60)
        .map(|i: i64| {
            let due = (i % 5 != 2).then(|| start.add_days((i * 7) % 11).to_string());
            let mut new = case(titles[i as usize % 5], "LS6 2AB", due.as_deref());
            new.assignee = (i % 3 == 0).then_some(me);
            (kinds[i as usize % 3], new)
        })
        .collect();
    let created = store.create_cases(batch, Timestamp(T0)).unwrap();
    for (i, c) in created.iter().enumerate().filter(|(i, _)| i % 4 == 1) {
        store
            .change_case(c.id, Timestamp(T0 + 1 + i as i64), |c, a| {
                c.transition(CaseStatus::InProgress, a)?;
                Ok("Started work".into())
            })
            .unwrap();
    }
    store
}

#[test]
fn a_search_lists_the_same_cases_with_and_without_a_filter_that_keeps_all() {
    let dir = tempfile::tempdir().unwrap();
    let store = list_fixture(dir.path());
    for text in ["damp", "da", "damp mou", "complaint", "ls6", "nothing"] {
        for sort in CaseSort::ALL {
            for descending in [false, true] {
                let q = CaseQuery {
                    search: Some(text.into()),
                    sort,
                    descending,
                    limit: 500,
                    ..Default::default()
                };
                let all = store.list_cases(&q).unwrap();
                assert_eq!(all.total as usize, all.rows.len(), "{q:?}");
                // The same search with filters that exclude nothing takes the general path.
                for q2 in [
                    CaseQuery {
                        statuses: CaseStatus::ALL.to_vec(),
                        ..q.clone()
                    },
                    CaseQuery {
                        kinds: CaseKind::ALL.to_vec(),
                        ..q.clone()
                    },
                    CaseQuery {
                        due_after: Some("1970-01-01".parse().unwrap()),
                        ..q.clone()
                    },
                ] {
                    let page = store.list_cases(&q2).unwrap();
                    if q2.due_after.is_some() {
                        // Only the dated cases, in the same relative order.
                        let dated: Vec<_> = all
                            .rows
                            .iter()
                            .filter(|r| r.due.is_some())
                            .cloned()
                            .collect();
                        assert_eq!(page.rows, dated, "{q2:?}");
                        assert_eq!(page.total as usize, dated.len(), "{q2:?}");
                    } else {
                        assert_eq!(page, all, "{q2:?}");
                    }
                }
                // Pages of 7 put together are the whole list, on both paths.
                for statuses in [vec![], CaseStatus::ALL.to_vec()] {
                    let mut paged = Vec::new();
                    for offset in (0..all.rows.len().max(1)).step_by(7) {
                        let page = store
                            .list_cases(&CaseQuery {
                                statuses: statuses.clone(),
                                limit: 7,
                                offset: offset as u32,
                                ..q.clone()
                            })
                            .unwrap();
                        assert_eq!(page.total, all.total);
                        paged.extend(page.rows);
                    }
                    assert_eq!(paged, all.rows, "{q:?} in pages of 7");
                }
            }
        }
    }
    // What "damp" finds: the cases with the word in the title (it is in the address too).
    let damp = store
        .list_cases(&CaseQuery {
            search: Some("damp".into()),
            sort: CaseSort::Relevance,
            limit: 500,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(damp.total, 36);
    assert!(damp.rows.iter().all(|r| r.title.contains("Damp")));
}

#[test]
fn by_due_date_undated_cases_come_last_in_both_directions() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    let dues = [
        ("A", Some("2026-12-03")),
        ("B", None),
        ("C", Some("2026-12-01")),
        ("D", Some("2026-12-03")),
        ("E", None),
        ("F", Some("2026-11-30")),
    ];
    store
        .create_cases(
            dues.iter()
                .map(|(t, d)| (CaseKind::General, case(&format!("Case {t}"), "M1 1AE", *d)))
                .collect(),
            Timestamp(T0),
        )
        .unwrap();
    let titles = |q: CaseQuery| -> Vec<String> {
        let page = store.list_cases(&q).unwrap();
        page.rows
            .into_iter()
            .map(|r| r.title[5..].to_string())
            .collect()
    };
    let by_due = |descending: bool| CaseQuery {
        descending,
        limit: 50,
        ..Default::default()
    };
    // Soonest first, ties by creation; no due date last.
    assert_eq!(titles(by_due(false)), ["F", "C", "A", "D", "B", "E"]);
    // Descending: latest first, ties newest first; no due date still last, newest first.
    assert_eq!(titles(by_due(true)), ["D", "A", "C", "F", "E", "B"]);
    for descending in [false, true] {
        let expected = titles(by_due(descending));
        // Relevance without a search is by due date.
        assert_eq!(
            titles(CaseQuery {
                sort: CaseSort::Relevance,
                ..by_due(descending)
            }),
            expected
        );
        // A search that finds every case, with and without a filter, keeps the order.
        for statuses in [vec![], vec![CaseStatus::Open]] {
            assert_eq!(
                titles(CaseQuery {
                    search: Some("case".into()),
                    statuses,
                    ..by_due(descending)
                }),
                expected
            );
        }
        // Every page is its slice of the whole list, with or without a search.
        for search in [None, Some("case".to_string())] {
            for limit in 1..=7 {
                for offset in 0..=7 {
                    let q = CaseQuery {
                        search: search.clone(),
                        limit,
                        offset,
                        ..by_due(descending)
                    };
                    let page = store.list_cases(&q).unwrap();
                    assert_eq!(page.total, 6);
                    let want: Vec<_> = expected
                        .iter()
                        .skip(offset as usize)
                        .take(limit as usize)
                        .cloned()
                        .collect();
                    assert_eq!(titles(q), want, "limit {limit} offset {offset}");
                }
            }
        }
    }
    // A due bound leaves the undated cases out and keeps the order of the rest.
    let bounded = |descending| CaseQuery {
        due_before: Some("2026-12-02".parse().unwrap()),
        due_after: Some("2026-11-30".parse().unwrap()),
        ..by_due(descending)
    };
    assert_eq!(titles(bounded(false)), ["F", "C"]);
    assert_eq!(titles(bounded(true)), ["C", "F"]);
    assert_eq!(store.list_cases(&bounded(true)).unwrap().total, 2);
}

#[test]
fn first_pages_are_read_in_index_order_without_sorting() {
    let dir = tempfile::tempdir().unwrap();
    let store = list_fixture(dir.path());
    let me = store.device().person_id;
    let base = CaseQuery {
        limit: 50,
        ..Default::default()
    };
    let plan = |q: &CaseQuery| -> Vec<String> {
        let (sql, args) = q.list_sql();
        let conn = store.connection();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<Vec<String>>>()
            .unwrap()
    };
    let status = CaseQuery {
        statuses: vec![CaseStatus::InProgress],
        ..base.clone()
    };
    for (q, index) in [
        (base.clone(), "cases_due"),
        (status.clone(), "cases_status_due"),
        (
            CaseQuery {
                kinds: vec![CaseKind::Housing],
                ..base.clone()
            },
            "cases_kind_due",
        ),
        (
            CaseQuery {
                assignee: Some(me),
                ..base.clone()
            },
            "cases_assignee_due",
        ),
        (
            CaseQuery {
                due_before: Some("2026-12-05".parse().unwrap()),
                ..base.clone()
            },
            "cases_due",
        ),
        (
            CaseQuery {
                due_after: Some("2026-12-05".parse().unwrap()),
                ..status.clone()
            },
            "cases_status_due",
        ),
        (
            CaseQuery {
                sort: CaseSort::Created,
                ..base.clone()
            },
            "cases_created",
        ),
        (
            CaseQuery {
                sort: CaseSort::Reference,
                ..base.clone()
            },
            "cases_ref_sort",
        ),
        (
            CaseQuery {
                sort: CaseSort::Title,
                ..base.clone()
            },
            "cases_title",
        ),
        // A search by due date reads the due index and tests each case against the matches.
        (
            CaseQuery {
                search: Some("damp".into()),
                ..base.clone()
            },
            "cases_due",
        ),
        (
            CaseQuery {
                search: Some("damp".into()),
                ..status.clone()
            },
            "cases_status_due",
        ),
    ] {
        for descending in [false, true] {
            let q = CaseQuery {
                descending,
                ..q.clone()
            };
            let details = plan(&q);
            assert!(
                details
                    .iter()
                    .any(|d| d.contains(&format!("INDEX {index} "))
                        || d.ends_with(&format!("INDEX {index}"))),
                "{q:?} should read {index}: {details:?}"
            );
            assert!(
                !details.iter().any(|d| d.contains("TEMP B-TREE")),
                "{q:?} sorts: {details:?}"
            );
        }
    }
    // "Near me" always sorts (no index yields a distance order), but it measures the distances
    // from the `cases_location` index (schema 8), not from the table's rows.
    let details = plan(&CaseQuery {
        sort: CaseSort::Distance,
        near: Some((53.8, -1.55)),
        ..base.clone()
    });
    assert!(
        details
            .iter()
            .any(|d| d.contains("COVERING INDEX cases_location")),
        "near me should read cases_location: {details:?}"
    );
    // A search by relevance and nothing else ranks inside FTS5 and reads only the page's cases.
    let details = plan(&CaseQuery {
        search: Some("damp".into()),
        sort: CaseSort::Relevance,
        ..base.clone()
    });
    assert!(
        details
            .iter()
            .any(|d| d.contains("SEARCH c USING INTEGER PRIMARY KEY")),
        "{details:?}"
    );
    assert!(
        !details
            .iter()
            .any(|d| d == "SCAN c" || d.starts_with("SCAN c ")),
        "{details:?}"
    );
}

#[test]
fn an_interrupted_setup_can_be_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let device = dir.path().join("device");
    drop(new_store(&device));
    // What a set-up killed half-way leaves: the key file and a database still being built.
    std::fs::rename(
        device.join(fieldbook_store::DB_FILE),
        device.join("fieldbook.db.init"),
    )
    .unwrap();
    assert_eq!(
        Store::open(&device, PASS).unwrap_err().code(),
        "not_initialised"
    );
    let mut store = Store::init(
        &device,
        "another passphrase",
        setup("Second Try"),
        Timestamp(T0),
    )
    .unwrap();
    store
        .create_case(
            CaseKind::General,
            case("After", "M1 1AE", None),
            Timestamp(T0),
        )
        .unwrap();
    drop(store);
    let names: Vec<String> = std::fs::read_dir(&device)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".init"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
    let store = Store::open(&device, "another passphrase").unwrap();
    assert_eq!(store.device().person_name, "Second Try");
    assert_eq!(
        Store::init(&device, PASS, setup("Third"), Timestamp(T0))
            .unwrap_err()
            .code(),
        "already_initialised"
    );
}

#[test]
fn device_numbers_and_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let bad_number = DeviceSetup {
        device_number: 0,
        ..setup("A")
    };
    assert_eq!(
        Store::init(dir.path(), PASS, bad_number, Timestamp(T0))
            .unwrap_err()
            .code(),
        "invalid_device_number"
    );
    assert_eq!(
        Store::init(dir.path(), PASS, setup("  "), Timestamp(T0))
            .unwrap_err()
            .code(),
        "invalid_name"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn near_me_lists_the_nearest_cases_first_and_those_with_no_location_last() {
    use fieldbook_core::geo::{LatLon, distance_m};
    use fieldbook_core::{Location, LocationSource};
    let dir = tempfile::tempdir().unwrap();
    let mut store = new_store(dir.path());
    // 40 cases scattered over Leeds (about 20 km across), every fifth with no location.
    let batch = (0..40)
        .map(|i: i64| {
            let mut new = case(&format!("Case {i:02}"), "LS1 1AA", None);
            if i % 5 != 4 {
                let (lat, lon) = (
                    53.70 + ((i * 37) % 19) as f64 * 0.01,
                    -1.70 + ((i * 53) % 23) as f64 * 0.015,
                );
                new.location = Some(
                    Location::new(lat, lon, None, LocationSource::Gazetteer, Timestamp(T0))
                        .unwrap(),
                );
            }
            let kind = if i % 2 == 0 {
                CaseKind::Housing
            } else {
                CaseKind::General
            };
            (kind, new)
        })
        .collect();
    store.create_cases(batch, Timestamp(T0)).unwrap();
    let here = LatLon::new(53.7997, -1.5492).unwrap();
    let query = |descending: bool, limit: u32, offset: u32| CaseQuery {
        sort: CaseSort::Distance,
        near: Some((here.lat(), here.lon())),
        descending,
        limit,
        offset,
        ..Default::default()
    };
    let all = store.list_cases(&query(false, 500, 0)).unwrap();
    assert_eq!(all.total, 40);
    let metres: Vec<Option<f64>> = all
        .rows
        .iter()
        .map(|r| Some(distance_m(here, LatLon::new(r.lat?, r.lon?).unwrap())))
        .collect();
    let located: Vec<f64> = metres.iter().map_while(|m| *m).collect();
    assert_eq!(located.len(), 32, "the 32 located cases first: {metres:?}");
    assert!(metres[32..].iter().all(Option::is_none));
    assert!(
        located.windows(2).all(|w| w[0] <= w[1]),
        "nearest first by true (geodesic) distance: {located:?}"
    );
    // Farthest first when descending; still no location last.
    let far = store.list_cases(&query(true, 500, 0)).unwrap();
    let far_ids: Vec<_> = far.rows[..32].iter().map(|r| &r.case_id).collect();
    let mut near_ids: Vec<_> = all.rows[..32].iter().map(|r| &r.case_id).collect();
    near_ids.reverse();
    assert_eq!(far_ids, near_ids);
    assert!(far.rows[32..].iter().all(|r| r.lat.is_none()));
    // Pages put together are the whole list; filters and search still apply.
    let mut paged = Vec::new();
    for offset in (0..40).step_by(9) {
        let page = store.list_cases(&query(false, 9, offset)).unwrap();
        assert_eq!(page.total, 40);
        paged.extend(page.rows);
    }
    assert_eq!(paged, all.rows);
    let housing = store
        .list_cases(&CaseQuery {
            kinds: vec![CaseKind::Housing],
            ..query(false, 500, 0)
        })
        .unwrap();
    let expected: Vec<_> = all
        .rows
        .iter()
        .filter(|r| r.kind == "housing")
        .cloned()
        .collect();
    assert_eq!(housing.rows, expected);
    let searched = store
        .list_cases(&CaseQuery {
            search: Some("case 12".into()),
            ..query(false, 500, 0)
        })
        .unwrap();
    assert_eq!(searched.rows.len(), 1);
    assert_eq!(searched.rows[0].title, "Case 12");
}
