//! The embedded SQLite store through the `Store` trait: accounts, devices, cases and the sync
//! bookkeeping, on real database files.

use std::sync::Arc;

use fieldbook_server::store::sqlite::{SCHEMA_VERSION, SqliteStore};
use fieldbook_server::store::{
    CaseWrite, NewDevice, NewUser, Role, Store, StoreError, User, Viewer,
};
use uuid::Uuid;

fn open() -> (tempfile::TempDir, Arc<dyn Store>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_dir(dir.path()).expect("open");
    (dir, Arc::new(store))
}

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
    }
}

#[test]
fn teams_and_users_round_trip_and_names_are_unique() {
    let (_dir, store) = open();
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

#[test]
fn a_failed_transaction_writes_nothing() {
    let (_dir, store) = open();
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

#[test]
fn devices_register_rotate_tokens_and_revoke() {
    let (_dir, store) = open();
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

#[test]
fn seq_is_monotonic_across_puts_and_created_by_never_changes() {
    let (_dir, store) = open();
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
    let (a, b) = store
        .transaction(|tx| {
            Ok::<_, StoreError>((
                tx.put_case(&case("x", b"1", "p1", "p1", "t"))?,
                tx.put_case(&case("x", b"2", "p2", "p2", "t"))?,
            ))
        })
        .expect("two");
    assert_eq!((a, b), (last + 1, last + 2));
    let x = store.read(|tx| tx.get_case("x")).expect("get").expect("x");
    assert_eq!((x.seq, x.doc.as_slice()), (b, &b"2"[..]));
    assert_eq!(x.created_by.as_deref(), Some("p1"), "created_by is kept");
    assert_eq!(x.assignee.as_deref(), Some("p2"));
}

#[test]
fn cases_since_pages_in_seq_order_and_respects_each_role() {
    let (_dir, store) = open();
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

#[test]
fn device_heads_and_applied_batches_round_trip() {
    let (_dir, store) = open();
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
