//! The server's storage through the `Store` trait, on both backends: accounts, devices, cases
//! and the sync bookkeeping on a real SQLite file and on a real PostgreSQL database (each test
//! below `both_backends!` runs once per backend, as `sqlite::NAME` and `postgres::NAME`). Then
//! what only one backend has: SQLite's file, PostgreSQL's several stores over one database.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};

use common::Backend;
use fieldbook_server::store::postgres::PostgresStore;
use fieldbook_server::store::sqlite::{SCHEMA_VERSION, SqliteStore};
use fieldbook_server::store::{
    CaseWrite, NewDevice, NewUser, Role, Store, StoreError, User, Viewer,
};
use fieldbook_testkit::PgDatabase;
use uuid::Uuid;

/// Runs each named test, a `fn(Backend)`, once on SQLite and once on PostgreSQL.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

both_backends!(
    teams_and_users_round_trip_and_names_are_unique,
    a_failed_transaction_writes_nothing,
    devices_register_rotate_tokens_and_revoke,
    seq_is_monotonic_across_puts_and_created_by_never_changes,
    cases_since_pages_in_seq_order_and_respects_each_role,
    device_heads_and_applied_batches_round_trip,
    pending_heads_become_known_once_confirmed,
    person_aliases_name_one_user,
    cases_a_viewer_may_no_longer_see_depart_and_are_forgotten_once_confirmed,
);

fn user(store: &dyn Store, name: &str, role: Role, team: Option<Uuid>) -> User {
    store
        .transaction(|tx| {
            tx.create_user(&NewUser {
                name,
                role,
                team_id: team,
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
                now: 1,
            })
        })
        .expect("user")
}

fn case<'a>(
    id: &'a str,
    doc: &'a [u8],
    created_by: &'a str,
    assignee: &'a str,
    team: &'a str,
) -> CaseWrite<'a> {
    CaseWrite {
        case_id: id,
        doc,
        created_by: Some(created_by),
        assignee: Some(assignee),
        team_id: Some(team),
        kind: Some("food_hygiene"),
        status: Some("in_progress"),
        updated_at: Some(5),
        heads: &[],
        writers: &[],
    }
}

fn teams_and_users_round_trip_and_names_are_unique(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let team = store
        .transaction(|tx| tx.create_team("North", 10))
        .expect("team");
    let err = store
        .transaction(|tx| tx.create_team("North", 11))
        .expect_err("duplicate team");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "team_exists",
                ..
            }
        ),
        "{err:?}"
    );

    let alice = user(&*store, "alice", Role::Officer, Some(team.id));
    assert_eq!(
        alice.team.as_ref().map(|t| &t.name),
        Some(&"North".to_string())
    );
    let err = store
        .transaction(|tx| {
            tx.create_user(&NewUser {
                name: "alice",
                role: Role::Admin,
                team_id: None,
                password_hash: "x",
                now: 2,
            })
        })
        .expect_err("duplicate user");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "user_exists",
                ..
            }
        ),
        "{err:?}"
    );

    let creds = store
        .read(|tx| tx.user_credentials("alice"))
        .expect("read")
        .expect("alice");
    assert_eq!(creds.user, alice);
    assert!(creds.password_hash.starts_with("$argon2id$"));
    assert_eq!(store.read(|tx| tx.list_users()).expect("list"), vec![alice]);
}

fn a_failed_transaction_writes_nothing(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let result: Result<(), StoreError> = store.transaction(|tx| {
        tx.create_team("South", 1)?;
        tx.put_case(&case("c1", b"doc", "p", "p", "t"))?;
        Err(StoreError::Corrupt("the caller refused".into()))
    });
    assert!(matches!(result, Err(StoreError::Corrupt(_))));
    assert_eq!(store.read(|tx| tx.list_teams()).expect("teams"), vec![]);
    assert_eq!(store.read(|tx| tx.current_seq()).expect("seq"), 0);
    assert_eq!(store.read(|tx| tx.get_case("c1")).expect("case"), None);
}

fn devices_register_rotate_tokens_and_revoke(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let team = store
        .transaction(|tx| tx.create_team("T", 1))
        .expect("team");
    let alice = user(&*store, "alice", Role::Officer, Some(team.id));
    let bob = user(&*store, "bob", Role::Officer, Some(team.id));
    let id = Uuid::now_v7();
    let new = |user_id, number, token: u8| NewDevice {
        device_id: id,
        user_id,
        device_number: number,
        name: "Laptop",
        token_sha256: [token; 32],
        now: 100,
    };
    let device = store
        .transaction(|tx| tx.register_device(&new(alice.id, 7, 1)))
        .expect("register");
    assert_eq!(device.device_number, 7);
    let (found, owner) = store
        .read(|tx| tx.device_by_token(&[1; 32]))
        .expect("read")
        .expect("by token");
    assert_eq!((found.device_id, owner.id), (id, alice.id));
    // The same as one statement without a transaction (how requests authenticate).
    assert_eq!(
        store
            .read_one(|tx| tx.device_by_token(&[1; 32]))
            .expect("read one"),
        Some((found.clone(), owner.clone()))
    );

    // The same user again: a new token replaces the old one.
    store
        .transaction(|tx| tx.register_device(&new(alice.id, 7, 2)))
        .expect("again");
    assert_eq!(
        store.read(|tx| tx.device_by_token(&[1; 32])).expect("old"),
        None
    );
    assert!(
        store
            .read(|tx| tx.device_by_token(&[2; 32]))
            .expect("new")
            .is_some()
    );

    // Another user may not take the device id, nor another device the number.
    let err = store
        .transaction(|tx| tx.register_device(&new(bob.id, 8, 3)))
        .expect_err("taken");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "device_taken",
                ..
            }
        ),
        "{err:?}"
    );
    let err = store
        .transaction(|tx| {
            tx.register_device(&NewDevice {
                device_id: Uuid::now_v7(),
                ..new(bob.id, 7, 4)
            })
        })
        .expect_err("number");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "device_number_taken",
                ..
            }
        ),
        "{err:?}"
    );

    let revoked = store
        .transaction(|tx| tx.revoke_device(id, "lost on the bus", 200))
        .expect("revoke");
    assert_eq!(revoked.revoked_at, Some(200));
    // Revoking again keeps the first reason.
    let again = store
        .transaction(|tx| tx.revoke_device(id, "other", 300))
        .expect("revoke again");
    assert_eq!(again.revoked_reason.as_deref(), Some("lost on the bus"));
    let err = store
        .transaction(|tx| tx.register_device(&new(alice.id, 7, 5)))
        .expect_err("revoked");
    assert!(matches!(err, StoreError::DeviceRevoked { ref reason } if reason == "lost on the bus"));
    let err = store
        .transaction(|tx| tx.revoke_device(Uuid::now_v7(), "x", 1))
        .expect_err("unknown");
    assert!(
        matches!(err, StoreError::NotFound { what: "device", .. }),
        "{err:?}"
    );

    let listed = store.read(|tx| tx.list_devices()).expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].user_name, "alice");
}

fn seq_is_monotonic_across_puts_and_created_by_never_changes(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let mut last = 0;
    for i in 0..20 {
        let id = format!("case-{}", i % 5);
        let seq = store
            .transaction(|tx| {
                tx.put_case(&case(&id, format!("doc {i}").as_bytes(), "p1", "p1", "t"))
            })
            .expect("put");
        assert!(seq > last, "{seq} after {last}");
        last = seq;
    }
    assert_eq!(store.read(|tx| tx.current_seq()).expect("seq"), last);
    // Two puts in one transaction get two numbers.
    let heads = vec!["ab".repeat(32), "cd".repeat(32)];
    let writers = vec!["01".repeat(16)];
    let (a, b) = store
        .transaction(|tx| {
            Ok::<_, StoreError>((
                tx.put_case(&case("x", b"1", "p1", "p1", "t"))?,
                tx.put_case(&CaseWrite {
                    heads: &heads,
                    writers: &writers,
                    ..case("x", b"2", "p2", "p2", "t")
                })?,
            ))
        })
        .expect("two");
    assert_eq!((a, b), (last + 1, last + 2));
    let x = store.read(|tx| tx.get_case("x")).expect("get").expect("x");
    assert_eq!((x.seq, x.doc.as_slice()), (b, &b"2"[..]));
    assert_eq!(x.heads.as_ref(), Some(&heads), "heads kept as written");
    assert_eq!(x.writers.as_ref(), Some(&writers));
    assert_eq!(x.created_by.as_deref(), Some("p1"), "created_by is kept");
    assert_eq!(x.assignee.as_deref(), Some("p2"));
}

fn cases_since_pages_in_seq_order_and_respects_each_role(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let (north, south) = store
        .transaction(|tx| Ok::<_, StoreError>((tx.create_team("N", 1)?, tx.create_team("S", 1)?)))
        .expect("teams");
    let officer = user(&*store, "o", Role::Officer, Some(north.id));
    let other = user(&*store, "o2", Role::Officer, Some(north.id));
    let leader = user(&*store, "l", Role::TeamLeader, Some(north.id));
    let admin = user(&*store, "a", Role::Admin, None);
    let (o, o2) = (officer.id.to_string(), other.id.to_string());
    let (n, s) = (north.id.to_string(), south.id.to_string());
    // 30 cases: assigned to the officer, created by the officer for the other, the other's, and
    // a southern team's.
    store
        .transaction(|tx| {
            for i in 0..30 {
                let id = format!("c{i:02}");
                let w = match i % 4 {
                    0 => case(&id, b"d", &o2, &o, &n),
                    1 => case(&id, b"d", &o, &o2, &n),
                    2 => case(&id, b"d", &o2, &o2, &n),
                    _ => case(&id, b"d", "someone", "someone", &s),
                };
                tx.put_case(&w)?;
            }
            Ok::<_, StoreError>(())
        })
        .expect("cases");

    let all = |viewer: &Viewer, page: u32| {
        let mut seen = vec![];
        let mut after = 0;
        loop {
            let p = store
                .read(|tx| tx.cases_since(viewer, after, page))
                .expect("page");
            assert!(p.cases.len() <= page as usize);
            for c in &p.cases {
                assert!(c.seq > after, "ordered by seq");
                after = c.seq;
                seen.push(c.case_id.clone());
            }
            if p.remaining == 0 {
                break;
            }
            assert_eq!(p.cases.len(), page as usize, "a short page only at the end");
        }
        seen
    };
    let expect = |f: fn(usize) -> bool| -> Vec<String> {
        (0..30)
            .filter(|i| f(*i))
            .map(|i| format!("c{i:02}"))
            .collect()
    };
    assert_eq!(all(&Viewer::of(&admin), 7), expect(|_| true));
    assert_eq!(all(&Viewer::of(&leader), 4), expect(|i| i % 4 != 3));
    assert_eq!(all(&Viewer::of(&officer), 3), expect(|i| i % 4 < 2));
    assert_eq!(all(&Viewer::of(&other), 100), expect(|i| i % 4 != 3));

    // The first page's count says how many follow it.
    let first = store
        .read(|tx| tx.cases_since(&Viewer::of(&officer), 0, 5))
        .expect("page");
    let visible = expect(|i| i % 4 < 2).len() as u64;
    assert_eq!((first.cases.len(), first.remaining), (5, visible - 5));
    // Nothing after the last sequence.
    let seq = store.read(|tx| tx.current_seq()).expect("seq");
    let none = store
        .read(|tx| tx.cases_since(&Viewer::of(&admin), seq, 10))
        .expect("none");
    assert_eq!((none.cases.len(), none.remaining), (0, 0));
    // A team leader without a team sees nothing.
    let lost = user(&*store, "l2", Role::TeamLeader, None);
    assert!(all(&Viewer::of(&lost), 10).is_empty());
}

fn device_heads_and_applied_batches_round_trip(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let device = Uuid::now_v7();
    assert_eq!(
        store
            .read(|tx| tx.device_heads(device, "c1"))
            .expect("none"),
        None
    );
    let heads = vec!["ab".repeat(32), "cd".repeat(32)];
    store
        .transaction(|tx| tx.set_device_heads(device, "c1", &heads))
        .expect("set");
    assert_eq!(
        store.read(|tx| tx.device_heads(device, "c1")).expect("get"),
        Some(heads)
    );
    store
        .transaction(|tx| tx.set_device_heads(device, "c1", &[]))
        .expect("replace");
    assert_eq!(
        store.read(|tx| tx.device_heads(device, "c1")).expect("get"),
        Some(vec![])
    );

    assert_eq!(
        store
            .read(|tx| tx.applied_batch(device, "b1"))
            .expect("none"),
        None
    );
    store
        .transaction(|tx| tx.put_applied_batch(device, "b1", b"{\"acks\":[]}", 9))
        .expect("put");
    assert_eq!(
        store
            .read(|tx| tx.applied_batch(device, "b1"))
            .expect("get")
            .as_deref(),
        Some(&b"{\"acks\":[]}"[..])
    );
    // Another device's batch of the same id is its own.
    assert_eq!(
        store
            .read(|tx| tx.applied_batch(Uuid::now_v7(), "b1"))
            .expect("other"),
        None
    );
    let err = store
        .transaction(|tx| tx.put_applied_batch(device, "b1", b"other", 10))
        .expect_err("replayed");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "batch_applied",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn reopening_keeps_data_and_a_newer_database_is_refused_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).expect("open"));
        store
            .transaction(|tx| tx.create_team("Keep", 1))
            .expect("team");
        store.ping().expect("ping");
    }
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_dir(dir.path()).expect("reopen"));
    assert_eq!(store.read(|tx| tx.list_teams()).expect("teams").len(), 1);
    drop(store);

    let db = dir.path().join("server.db");
    {
        let conn = rusqlite_conn(&db);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .expect("bump");
    }
    let err = SqliteStore::open_dir(dir.path()).expect_err("newer");
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported } if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    let conn = rusqlite_conn(&db);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, SCHEMA_VERSION + 1, "left as it was");
}

#[test]
fn a_fresh_database_is_wal_and_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _store = SqliteStore::open_dir(dir.path()).expect("open");
    let conn = rusqlite_conn(&dir.path().join("server.db"));
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("server.db")), 0o600);
        assert_eq!(mode(&dir.path().join("blobs")), 0o700);
    }
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open raw")
}

fn pending_heads_become_known_once_confirmed(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let device = Uuid::now_v7();
    let (h1, h2) = (
        vec!["aa".repeat(32)],
        vec!["bb".repeat(32), "cc".repeat(32)],
    );
    // Sent in pages 5 and 9: pending, so not yet known.
    store
        .transaction(|tx| {
            tx.set_pending_heads(device, "c1", &h1, 5)?;
            // A page's worth at once, as a pull writes them (an empty list included).
            tx.set_pending_heads_of(device, &[("c2", &h2, 9), ("c3", &[], 9)])
        })
        .expect("pending");
    let heads = |case: &str| {
        store
            .read(|tx| tx.device_heads(device, case))
            .expect("heads")
    };
    assert_eq!(heads("c1"), Some(vec![]), "a pending page is not known yet");
    // What waits for confirmation, by page: a quiet sync may skip its write only when none.
    let pending = |upto: u64| {
        store
            .read(|tx| tx.has_pending(device, upto))
            .expect("has_pending")
    };
    assert_eq!((pending(4), pending(5), pending(100)), (false, true, true));
    // A quiet request: nothing after `since` (the sequence is 0 here), a new batch, and nothing
    // waiting up to what the device has applied (`since`, unless it says less).
    let quiet_after = |batch: &str, since: u64, applied: u64| {
        store
            .read_one(|tx| tx.is_quiet(device, batch, applied, since))
            .expect("is_quiet")
    };
    let quiet = |batch: &str, since: u64| quiet_after(batch, since, since);
    assert_eq!(
        (quiet("b", 4), quiet("b", 5), quiet("b", 100)),
        (true, false, false)
    );
    assert!(
        quiet_after("b", 100, 4),
        "pages the device has not applied yet wait; nothing to confirm"
    );
    assert!(!quiet_after("b", 100, 5));
    assert!(
        !store
            .read(|tx| tx.has_pending(Uuid::now_v7(), 100))
            .expect("other")
    );
    // Applied up to 5 while page 9 is written (a request from 9 on): page 5's heads are known,
    // page 9's still pending; another device's confirmation takes none.
    store
        .transaction(|tx| tx.confirm_pending_heads(Uuid::now_v7(), 100, 100))
        .expect("other device");
    assert_eq!(heads("c1"), Some(vec![]));
    store
        .transaction(|tx| tx.confirm_pending_heads(device, 5, 9))
        .expect("confirm 5");
    assert_eq!((heads("c1"), heads("c2")), (Some(h1.clone()), Some(vec![])));
    assert!(pending(9));
    store
        .transaction(|tx| tx.confirm_pending_heads(device, 9, 9))
        .expect("confirm 9");
    assert_eq!(heads("c2"), Some(h2.clone()));
    assert!(!pending(100), "nothing waits once every page is confirmed");
    // Heads sent after the `since` of a later request were in an answer the device dropped:
    // forgotten, so a later `applied` past them does not confirm what never arrived.
    let h3 = vec!["dd".repeat(32)];
    store
        .transaction(|tx| tx.set_pending_heads(device, "c2", &h3, 12))
        .expect("page 12");
    store
        .transaction(|tx| tx.confirm_pending_heads(device, 9, 10))
        .expect("asked again from 10");
    assert!(!pending(100), "page 12 is forgotten");
    store
        .transaction(|tx| tx.confirm_pending_heads(device, 12, 12))
        .expect("confirm 12");
    assert_eq!(heads("c2"), Some(h2.clone()), "still page 9's heads");
    assert!(quiet("b", 100));
    store
        .transaction(|tx| tx.put_applied_batch(device, "b", b"{}", 1))
        .expect("batch");
    assert!(
        !quiet("b", 100),
        "a batch seen before is replayed, not quiet"
    );
    store
        .transaction(|tx| tx.put_case(&case("q", b"d", "p", "p", "t")))
        .expect("case");
    let seq = store.read(|tx| tx.current_seq()).expect("seq");
    assert!(!quiet("b2", seq - 1), "a case after since is not quiet");
    assert!(quiet("b2", seq));
    // A page's known heads in one read: only the cases it knows.
    let page = store
        .read(|tx| tx.device_heads_of(device, &["c1", "c2", "c3", "unknown"]))
        .expect("heads of a page");
    assert_eq!(
        page,
        std::collections::HashMap::from([
            ("c1".to_string(), h1.clone()),
            ("c2".to_string(), h2),
            ("c3".to_string(), vec![]),
        ])
    );
    assert!(
        store
            .read(|tx| tx.device_heads_of(device, &[]))
            .expect("none")
            .is_empty()
    );
    // Known heads stay when a later page is pending, until that page is confirmed.
    store
        .transaction(|tx| tx.set_pending_heads(device, "c1", &[], 12))
        .expect("pending again");
    assert_eq!(heads("c1"), Some(h1));
}

fn person_aliases_name_one_user(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let alice = user(&*store, "alice", Role::Officer, None);
    let bob = user(&*store, "bob", Role::Officer, None);
    let (p1, p2) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .transaction(|tx| {
            tx.add_person_alias(p2, alice.id, 1)?;
            tx.add_person_alias(p1, alice.id, 1)?;
            // Again for the same user: nothing changes.
            tx.add_person_alias(p1, alice.id, 2)
        })
        .expect("aliases");
    let mut want = vec![p1, p2];
    want.sort();
    assert_eq!(
        store.read(|tx| tx.person_aliases(alice.id)).expect("list"),
        want
    );
    let err = store
        .transaction(|tx| tx.add_person_alias(p1, bob.id, 3))
        .expect_err("another user's alias");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                code: "person_taken",
                ..
            }
        ),
        "{err:?}"
    );
    let of = |p| store.read(|tx| tx.user_of_person(p)).expect("user of");
    assert_eq!(of(p1).map(|u| u.id), Some(alice.id));
    assert_eq!(of(alice.id).map(|u| u.id), Some(alice.id));
    assert_eq!(of(bob.id).map(|u| u.id), Some(bob.id));
    assert_eq!(of(Uuid::now_v7()), None);
}

fn cases_a_viewer_may_no_longer_see_depart_and_are_forgotten_once_confirmed(backend: Backend) {
    let t = backend.open();
    let store = t.store.clone();
    let (north, south) = store
        .transaction(|tx| Ok::<_, StoreError>((tx.create_team("N", 1)?, tx.create_team("S", 1)?)))
        .expect("teams");
    let officer = user(&*store, "o", Role::Officer, Some(north.id));
    let leader = user(&*store, "l", Role::TeamLeader, Some(north.id));
    let admin = user(&*store, "a", Role::Admin, None);
    let (o, n, s) = (
        officer.id.to_string(),
        north.id.to_string(),
        south.id.to_string(),
    );
    let device = Uuid::now_v7();
    let heads = vec!["ab".repeat(32)];
    // The device holds c1 (assigned to the officer) and c2 (theirs), both in the north, and
    // knows nothing of c3.
    let held = store
        .transaction(|tx| {
            tx.put_case(&case("c1", b"d", "x", &o, &n))?;
            let upto = tx.put_case(&case("c2", b"d", &o, &o, &n))?;
            tx.set_device_heads(device, "c1", &heads)?;
            tx.set_device_heads(device, "c2", &heads)?;
            Ok::<_, StoreError>(upto)
        })
        .expect("held");
    // c1 is reassigned to someone in the south; c3 is written for someone else.
    let (moved, last) = store
        .transaction(|tx| {
            let moved = tx.put_case(&case("c1", b"d2", "x", "x", &s))?;
            let last = tx.put_case(&case("c3", b"d", "x", "x", &s))?;
            Ok::<_, StoreError>((moved, last))
        })
        .expect("moved");
    let departures = |viewer: &User, after: u64, upto: u64| {
        store
            .transaction(|tx| tx.departures(device, &Viewer::of(viewer), after, upto))
            .expect("departures")
    };
    assert_eq!(
        departures(&officer, held, last),
        vec![("c1".to_owned(), moved)]
    );
    assert_eq!(
        departures(&leader, held, last),
        vec![("c1".to_owned(), moved)]
    );
    assert_eq!(
        departures(&admin, held, last),
        vec![],
        "an admin sees everything"
    );
    assert_eq!(
        departures(&officer, moved, last),
        vec![],
        "before the range"
    );
    assert_eq!(departures(&officer, last, last), vec![], "an empty range");
    // Once told, the device may remove the departed case at any time: it counts as held no
    // more, before the device confirms it (a pull cut against those heads would send changes
    // to a device that has no document left). Confirming before the departure keeps the mark;
    // confirming past it forgets the departed case only.
    let heads_of = |case: &str| {
        store
            .read(|tx| tx.device_heads(device, case))
            .expect("heads")
    };
    let held_of = |cases: &[&str]| {
        let mut held: Vec<String> = store
            .read(|tx| tx.device_heads_of(device, cases))
            .expect("heads of")
            .into_keys()
            .collect();
        held.sort();
        held
    };
    assert_eq!(heads_of("c1"), None, "a departed case is held no more");
    assert_eq!(held_of(&["c1", "c2", "c3"]), vec!["c2".to_owned()]);
    store
        .transaction(|tx| tx.confirm_pending_heads(device, moved - 1, last))
        .expect("confirm before");
    assert_eq!(
        departures(&officer, held, last),
        vec![("c1".to_owned(), moved)],
        "still marked: told again if the answer is asked again"
    );
    store
        .transaction(|tx| tx.confirm_pending_heads(device, moved, last))
        .expect("confirm past");
    assert_eq!(heads_of("c1"), None, "a case that comes back is sent whole");
    assert_eq!(heads_of("c2"), Some(heads.clone()));
    assert_eq!(departures(&officer, held, last), vec![], "forgotten");

    // A case that comes back before its departure is confirmed is sent again (whole): the mark
    // goes, and the heads from before it left with it, until the device confirms the new page.
    let back = store
        .transaction(|tx| {
            tx.set_device_heads(device, "c2", &heads)?;
            // To the south team: out of the (north) leader's sight.
            let away = tx.put_case(&case("c2", b"d3", &o, &o, &s))?;
            let gone = tx.departures(device, &Viewer::of(&leader), away - 1, away)?;
            assert_eq!(gone, vec![("c2".to_owned(), away)]);
            let back = tx.put_case(&case("c2", b"d4", &o, &o, &n))?;
            tx.set_pending_heads_of(device, &[("c2", &["cd".repeat(32)], back)])?;
            Ok::<_, StoreError>(back)
        })
        .expect("away and back");
    assert_eq!(heads_of("c2"), Some(vec![]), "known: nothing, for now");
    store
        .transaction(|tx| tx.confirm_pending_heads(device, back, back))
        .expect("confirm back");
    assert_eq!(
        heads_of("c2"),
        Some(vec!["cd".repeat(32)]),
        "back, and no longer marked as departed: the row stays"
    );
    assert!(
        !store
            .read(|tx| tx.has_pending(device, back))
            .expect("pending")
    );

    // A departure the device may never have read (the answer saying so was dropped) while the
    // case changed again, out of sight: confirming past the first departure keeps the row, so
    // the departure is told again at the case's new sequence, and forgotten once that is read.
    let first = store
        .transaction(|tx| {
            tx.set_device_heads(device, "c5", &heads)?;
            tx.put_case(&case("c5", b"d", "x", &o, &n))
        })
        .expect("held");
    let (gone, again) = store
        .transaction(|tx| {
            let gone = tx.put_case(&case("c5", b"d2", "x", "x", &n))?;
            assert_eq!(
                tx.departures(device, &Viewer::of(&officer), first, gone)?,
                vec![("c5".to_owned(), gone)]
            );
            let again = tx.put_case(&case("c5", b"d3", "x", "x", &s))?;
            Ok::<_, StoreError>((gone, again))
        })
        .expect("gone twice");
    store
        .transaction(|tx| tx.confirm_pending_heads(device, gone, gone))
        .expect("past the first departure");
    assert_eq!(
        departures(&officer, gone, again),
        vec![("c5".to_owned(), again)],
        "told again"
    );
    store
        .transaction(|tx| tx.confirm_pending_heads(device, again, again))
        .expect("past the second");
    assert_eq!(departures(&officer, first, again), vec![], "forgotten");
}

// PostgreSQL only: several stores (server nodes) over one database.

fn pg_store(db: &PgDatabase) -> Arc<dyn Store> {
    Arc::new(PostgresStore::open(db.url()).expect("open postgres store"))
}

/// Many threads on two stores over one database each read a case, add their own mark to its
/// document and write it back. The write lock makes every read-merge-write see the one before:
/// no mark is lost.
#[test]
fn postgres_two_nodes_merging_one_case_lose_no_update() {
    let db = PgDatabase::fresh();
    let nodes = [pg_store(&db), pg_store(&db)];
    const THREADS: usize = 8;
    const ROUNDS: usize = 15;
    let start = Arc::new(Barrier::new(THREADS));
    let seqs = Mutex::new(vec![]);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let node = nodes[t % 2].clone();
            let start = start.clone();
            let seqs = &seqs;
            s.spawn(move || {
                start.wait();
                for r in 0..ROUNDS {
                    let seq = node
                        .transaction(|tx| {
                            let mut doc = tx.get_case("shared")?.map(|c| c.doc).unwrap_or_default();
                            // Give another writer every chance to slip in between.
                            std::thread::yield_now();
                            doc.extend_from_slice(format!("{t}.{r};").as_bytes());
                            tx.put_case(&case("shared", &doc, "p", "p", "t"))
                        })
                        .expect("merge");
                    seqs.lock().expect("seqs").push(seq);
                }
            });
        }
    });
    let stored = nodes[0]
        .read(|tx| tx.get_case("shared"))
        .expect("read")
        .expect("case");
    let text = String::from_utf8(stored.doc).expect("utf-8");
    let marks: BTreeSet<&str> = text.split_terminator(';').collect();
    assert_eq!(marks.len(), THREADS * ROUNDS, "every mark kept: {text}");
    assert_eq!(text.split_terminator(';').count(), THREADS * ROUNDS);
    let mut seqs = seqs.into_inner().expect("seqs");
    seqs.sort_unstable();
    seqs.dedup();
    assert_eq!(seqs.len(), THREADS * ROUNDS, "every write its own seq");
    assert_eq!(stored.seq, *seqs.last().expect("some"));
}

/// Writers on two stores commit new cases while a device-like reader pulls `seq > since`
/// again and again, moving `since` to the highest seq it saw. Writers commit in seq order, so the
/// reader never skips a case: it ends with all of them, each exactly once.
#[test]
fn postgres_pulls_during_concurrent_writes_never_skip_a_case() {
    let db = PgDatabase::fresh();
    let nodes = [pg_store(&db), pg_store(&db)];
    let admin = user(&*nodes[0], "admin", Role::Admin, None);
    const WRITERS: usize = 6;
    const CASES: usize = 25;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let seen = std::thread::scope(|s| {
        for w in 0..WRITERS {
            let node = nodes[w % 2].clone();
            let done = &done;
            s.spawn(move || {
                for i in 0..CASES {
                    let id = format!("w{w}-{i}");
                    node.transaction(|tx| {
                        let seq = tx.put_case(&case(&id, b"d", "p", "p", "t"))?;
                        // Hold the transaction open a little after taking the number.
                        std::thread::yield_now();
                        Ok::<_, StoreError>(seq)
                    })
                    .expect("put");
                }
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            });
        }
        let reader = nodes[1].clone();
        let viewer = Viewer::of(&admin);
        let mut since = 0;
        let mut seen: Vec<String> = vec![];
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst) == WRITERS;
            loop {
                let page = reader
                    .read(|tx| tx.cases_since(&viewer, since, 7))
                    .expect("pull");
                for c in &page.cases {
                    assert!(c.seq > since, "ordered by seq");
                    since = c.seq;
                    seen.push(c.case_id.clone());
                }
                if page.remaining == 0 {
                    break;
                }
            }
            if finished {
                break seen;
            }
        }
    });
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(
        unique.len(),
        seen.len(),
        "each case pulled once (each written once)"
    );
    assert_eq!(seen.len(), WRITERS * CASES, "no case skipped");
}

/// While one write transaction is open, more writers than the pool has connections queue
/// behind it. Reads still find a connection, and every queued writer succeeds once it is done
/// (none meets `lock_timeout` while waiting).
#[test]
fn postgres_queued_writers_leave_connections_for_reads() {
    use fieldbook_server::store::postgres::POOL_SIZE;
    let db = PgDatabase::fresh();
    let store = pg_store(&db);
    let admin = user(&*store, "admin", Role::Admin, None);
    let (open_tx, opened) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let writes = std::thread::scope(|s| {
        let holder = store.clone();
        let first = s.spawn(move || {
            holder.transaction(|tx| {
                tx.put_case(&case("first", b"d", "p", "p", "t"))?;
                open_tx.send(()).expect("opened");
                released.recv().expect("release");
                Ok::<_, StoreError>(())
            })
        });
        opened.recv().expect("first transaction open");
        let queued: Vec<_> = (0..POOL_SIZE * 2)
            .map(|i| {
                let store = store.clone();
                s.spawn(move || {
                    store
                        .transaction(|tx| tx.put_case(&case(&format!("q{i}"), b"d", "p", "p", "t")))
                })
            })
            .collect();
        // Let the writers reach their queue (this orders the test; nothing is timed).
        std::thread::sleep(std::time::Duration::from_millis(300));
        let page = store
            .read(|tx| tx.cases_since(&Viewer::of(&admin), 0, 100))
            .expect("a read while writers queue");
        assert!(page.cases.is_empty(), "the open write is not visible yet");
        release.send(()).expect("release");
        let mut results = vec![first.join().expect("first").map(|()| 0)];
        results.extend(queued.into_iter().map(|h| h.join().expect("writer")));
        results
    });
    for w in &writes {
        assert!(w.is_ok(), "{w:?}");
    }
    assert_eq!(
        store.read(|tx| tx.current_seq()).expect("seq"),
        (POOL_SIZE * 2 + 1) as u64
    );
}

/// Several nodes starting at once over an empty database: the schema is created once and all
/// of them open it.
#[test]
fn postgres_nodes_starting_together_migrate_once() {
    let db = PgDatabase::fresh();
    const NODES: usize = 6;
    let start = Barrier::new(NODES);
    let opened: Vec<Result<PostgresStore, StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..NODES)
            .map(|_| {
                s.spawn(|| {
                    start.wait();
                    PostgresStore::open(db.url())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for o in &opened {
        assert!(o.is_ok(), "{o:?}");
    }
    let mut c = db.connect();
    let version: i64 = c
        .query_one("SELECT version FROM fieldbook_schema", &[])
        .expect("version")
        .get(0);
    assert_eq!(
        version,
        fieldbook_server::store::postgres::SCHEMA_VERSION,
        "schema complete"
    );
    let rows: i64 = c
        .query_one("SELECT COUNT(*) FROM server_seq", &[])
        .expect("seq rows")
        .get(0);
    assert_eq!(rows, 1);
    for o in opened {
        o.expect("open").ping().expect("ping");
    }
}

#[test]
fn postgres_reopening_keeps_data_and_a_newer_database_is_refused_untouched() {
    use fieldbook_server::store::postgres::SCHEMA_VERSION as PG_VERSION;
    let db = PgDatabase::fresh();
    {
        let store = pg_store(&db);
        store
            .transaction(|tx| tx.create_team("Keep", 1))
            .expect("team");
        store.ping().expect("ping");
    }
    let store = pg_store(&db);
    assert_eq!(store.read(|tx| tx.list_teams()).expect("teams").len(), 1);
    drop(store);

    let mut c = db.connect();
    c.execute(
        "UPDATE fieldbook_schema SET version = $1",
        &[&(PG_VERSION + 1)],
    )
    .expect("bump");
    let tables = |c: &mut ::postgres::Client| -> i64 {
        c.query_one(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
            &[],
        )
        .expect("tables")
        .get(0)
    };
    let before = tables(&mut c);
    let err = PostgresStore::open(db.url()).expect_err("newer");
    assert!(
        matches!(err, StoreError::NewerSchema { found, supported } if found == PG_VERSION + 1 && supported == PG_VERSION),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    let version: i64 = c
        .query_one("SELECT version FROM fieldbook_schema", &[])
        .expect("version")
        .get(0);
    assert_eq!(version, PG_VERSION + 1, "left as it was");
    assert_eq!(tables(&mut c), before, "no table added");
}

/// PostgreSQL ends a transaction at its first failed statement. A caller that carries on past
/// such an error must not be told its transaction committed.
#[test]
fn postgres_a_transaction_whose_statement_failed_does_not_report_a_commit() {
    let db = PgDatabase::fresh();
    let store = pg_store(&db);
    let result = store.transaction(|tx| {
        tx.create_team("Lost", 1)?;
        // TEXT cannot hold NUL: the statement fails, and the caller ignores that.
        let _ = tx.put_case(&case("nul\0case", b"d", "p", "p", "t"));
        Ok::<_, StoreError>(())
    });
    assert!(result.is_err(), "{result:?}");
    assert_eq!(store.read(|tx| tx.list_teams()).expect("teams"), vec![]);
}

#[test]
fn postgres_a_bad_url_or_an_absent_server_is_a_clear_error() {
    let err = fieldbook_server::store::open(&fieldbook_server::store::Location::Url(
        "postgres://nobody@127.0.0.1:1/nothing".into(),
    ))
    .expect_err("nothing listens on port 1");
    assert!(matches!(err, StoreError::Postgres(_)), "{err:?}");
    let err = PostgresStore::open("postgres://host:notaport/db").expect_err("bad url");
    assert!(err.to_string().contains("does not parse"), "{err}");
}

/// Every SQLite migration has its PostgreSQL twin, with the same number and name: the two
/// schemas move in step.
#[test]
fn the_two_backends_have_the_same_migrations() {
    let names = |backend: &str| -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../migrations/server")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("sqlite"), names("postgres"));
    assert_eq!(
        SCHEMA_VERSION,
        fieldbook_server::store::postgres::SCHEMA_VERSION
    );
    assert_eq!(names("sqlite").len() as i64, SCHEMA_VERSION);
}
