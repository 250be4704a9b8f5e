//! The admin commands of the real binary on a real data directory.

mod common;

use common::{PASSWORD, admin, admin_ok};

#[test]
fn teams_users_and_devices_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    let out = admin_ok(&data, &["team", "add", "Environmental Health"], None);
    assert!(out.contains("Environmental Health"), "{out}");
    let out = admin(&data, &["team", "add", "Environmental Health"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));

    let out = admin_ok(
        &data,
        &[
            "user",
            "add",
            "--name",
            "olive",
            "--role",
            "officer",
            "--team",
            "Environmental Health",
        ],
        Some(PASSWORD),
    );
    assert!(out.contains("olive") && out.contains("officer"), "{out}");
    admin_ok(
        &data,
        &["user", "add", "--name", "ada", "--role", "admin"],
        Some(PASSWORD),
    );

    // Refusals: short password, unknown team, no team for an officer, a bad role, a taken name,
    // and no password at all (no terminal to prompt on).
    let refused = [
        (
            vec![
                "user",
                "add",
                "--name",
                "x",
                "--role",
                "officer",
                "--team",
                "Environmental Health",
            ],
            Some("short"),
            "at least 10",
        ),
        (
            vec![
                "user", "add", "--name", "x", "--role", "officer", "--team", "Nowhere",
            ],
            Some(PASSWORD),
            "no team",
        ),
        (
            vec!["user", "add", "--name", "x", "--role", "officer"],
            Some(PASSWORD),
            "needs a team",
        ),
        (
            vec!["user", "add", "--name", "olive", "--role", "admin"],
            Some(PASSWORD),
            "already exists",
        ),
        (
            vec!["user", "add", "--name", "x", "--role", "admin"],
            None,
            "FIELDBOOK_PASSWORD",
        ),
    ];
    for (args, password, says) in refused {
        let out = admin(&data, &args, password);
        assert!(!out.status.success(), "{args:?} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let out = admin(
        &data,
        &["user", "add", "--name", "x", "--role", "boss"],
        Some(PASSWORD),
    );
    assert_eq!(out.status.code(), Some(2), "clap refuses an unknown role");

    let list = admin_ok(&data, &["user", "list"], None);
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).expect("name"))
        .collect();
    assert_eq!(names, ["ada", "olive"], "{list}");
    assert!(list.contains("Environmental Health"));
    assert!(!list.contains("argon2"), "hashes are not listed");

    let json: serde_json::Value =
        serde_json::from_str(&admin_ok(&data, &["user", "list", "--json"], None)).expect("json");
    assert_eq!(json[1]["role"], "officer");
    assert_eq!(json[1]["team"]["name"], "Environmental Health");

    // The hash in the database is an Argon2id PHC string.
    let conn = rusqlite::Connection::open(data.join("server.db")).expect("open");
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'olive'",
            [],
            |r| r.get(0),
        )
        .expect("hash");
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(!hash.contains(PASSWORD));
    drop(conn);

    // Devices: none yet; revoking an unknown or malformed id is refused.
    let list = admin_ok(&data, &["device", "list"], None);
    assert_eq!(list.lines().count(), 1, "just the header: {list}");
    let out = admin(
        &data,
        &[
            "device",
            "revoke",
            "0191e5a0-0000-7000-8000-000000000001",
            "--reason",
            "lost",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no device"));
    let out = admin(
        &data,
        &["device", "revoke", "laptop-3", "--reason", "lost"],
        None,
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("UUID"));
    let out = admin(
        &data,
        &["device", "revoke", "0191e5a0-0000-7000-8000-000000000001"],
        None,
    );
    assert_eq!(out.status.code(), Some(2), "--reason is required");
}

#[test]
fn a_data_location_is_required() {
    let out = std::process::Command::new(common::BIN)
        .args(["user", "list"])
        .env_remove("FIELDBOOK_SERVER_DATA")
        .env_remove("FIELDBOOK_DATABASE_URL")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data DIR"));
}
