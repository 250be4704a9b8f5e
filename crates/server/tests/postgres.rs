//! The real `fieldbook-server` binary on PostgreSQL (`--database-url`, a fresh database from
//! `fieldbook-testkit` per test): the admin commands, `serve`, and two server nodes over one
//! database sharing accounts, devices and revocations.

mod common;

use common::{
    Location, PASSWORD, Server, admin_at, admin_ok_at, register, register_body, seed_at, whoami,
};
use fieldbook_testkit::PgDatabase;
use reqwest::StatusCode;
use serde_json::Value;

const DEVICE_A: &str = "0191e5a0-0000-7000-8000-00000000000a";
const DEVICE_B: &str = "0191e5a0-0000-7000-8000-00000000000b";

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or_default()
}

/// A fresh database seeded with a team `North` and officers `olive`, `owen` and leader `lena`.
fn seeded() -> (tempfile::TempDir, PgDatabase, Location) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = PgDatabase::fresh();
    let location = Location::Url(db.url().to_owned());
    seed_at(&location);
    (dir, db, location)
}

#[tokio::test]
async fn admin_commands_and_serve_run_on_postgresql() {
    let (dir, db, location) = seeded();
    let users = admin_ok_at(&location, &["user", "list"], None);
    for name in ["olive", "owen", "lena"] {
        assert!(users.contains(name), "{users}");
    }
    let teams = admin_ok_at(&location, &["team", "list"], None);
    assert!(teams.contains("North"), "{teams}");
    // A second team of the same name is refused with the store's code.
    let out = admin_at(&location, &["team", "add", "North"], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already exists"), "{err}");

    let server = Server::start_at(&location, &dir.path().join("server.log"), &[]);
    let (status, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let (status, me) = whoami(&server, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["device"]["device_id"], DEVICE_A);
    assert_eq!(me["user"]["team"], "North");

    // Only the token's hash is stored. (The blocking client, off the test's runtime.)
    let stored: Vec<u8> = std::thread::scope(|s| {
        s.spawn(|| {
            db.connect()
                .query_one(
                    "SELECT token_sha256 FROM devices WHERE device_id = $1::text::uuid",
                    &[&DEVICE_A],
                )
                .expect("device row")
                .get(0)
        })
        .join()
        .expect("query thread")
    });
    assert_eq!(
        stored,
        fieldbook_server::accounts::token_sha256(&token).to_vec()
    );

    let devices = admin_ok_at(&location, &["device", "list", "--json"], None);
    assert!(devices.contains(DEVICE_A), "{devices}");
    admin_ok_at(
        &location,
        &["device", "revoke", DEVICE_A, "--reason", "Left on a train"],
        None,
    );
    let (status, body) = whoami(&server, Some(&token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );
    let health = common::client()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_server_nodes_over_one_database_serve_the_same_accounts() {
    let (dir, _db, location) = seeded();
    let a = Server::start_at(&location, &dir.path().join("a.log"), &[]);
    let b = Server::start_at(&location, &dir.path().join("b.log"), &[]);

    // Registered on node A, known on node B.
    let (status, body) = register(&a, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let (status, me) = whoami(&b, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["device"]["device_number"], 7);

    // Uniqueness holds across nodes: B refuses A's device number for another device.
    let (status, body) = register(&b, &register_body("owen", PASSWORD, DEVICE_B, 7)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "device_number_taken"),
        "{body}"
    );

    // Signing in again on B replaces the token A issued, on both nodes.
    let (status, again) = register(&b, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    let fresh = again["token"].as_str().expect("token").to_owned();
    assert_eq!(whoami(&a, Some(&token)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(whoami(&a, Some(&fresh)).await.0, StatusCode::OK);

    // A revocation reaches both nodes.
    admin_ok_at(
        &location,
        &["device", "revoke", DEVICE_A, "--reason", "Lost"],
        None,
    );
    for node in [&a, &b] {
        let (status, body) = whoami(node, Some(&fresh)).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "device_revoked")
        );
    }
}

#[test]
fn a_database_from_a_newer_server_is_refused_by_serve_and_the_admin_commands() {
    let (dir, db, location) = seeded();
    let mut c = db.connect();
    c.execute("UPDATE fieldbook_schema SET version = version + 1", &[])
        .expect("bump");
    let out = admin_at(&location, &["user", "list"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer"), "{err}");
    let out = std::process::Command::new(common::BIN)
        .arg("serve")
        .args(location.args())
        .args(["--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .output()
        .expect("run serve");
    assert_eq!(out.status.code(), Some(1), "serve refuses too");
    assert!(String::from_utf8_lossy(&out.stderr).contains("newer"));
}
