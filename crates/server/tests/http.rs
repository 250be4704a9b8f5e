//! The HTTP API of the real `fieldbook-server` binary on 127.0.0.1:0 over a real data directory:
//! health, registration, bearer tokens, revocation, refusals of bad bodies, logs and shutdown.

mod common;

use common::{
    PASSWORD, Server, admin, admin_ok, client, register, register_body, seed, started, whoami,
};
use reqwest::StatusCode;
use serde_json::Value;

const DEVICE_A: &str = "0191e5a0-0000-7000-8000-00000000000a";
const DEVICE_B: &str = "0191e5a0-0000-7000-8000-00000000000b";

fn code(body: &Value) -> &str {
    body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no code in {body}"))
}

#[tokio::test]
async fn healthz_answers_ok() {
    let (_dir, server) = started();
    let res = client()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.json::<Value>().await.expect("json"),
        serde_json::json!({"status": "ok"})
    );
}

#[tokio::test]
async fn register_issues_a_token_that_whoami_accepts_and_only_its_hash_is_stored() {
    let (dir, server) = started();
    let (status, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 43, "32 bytes, base64url without padding");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert_eq!(body["device_id"], DEVICE_A);
    assert_eq!(body["person_name"], "olive");
    assert_eq!(body["role"], "officer");
    assert_eq!(body["team"], "North");
    let person_id = body["person_id"].as_str().expect("person id").to_owned();
    let listed = admin_ok(&dir.path().join("data"), &["user", "list", "--json"], None);
    assert!(
        listed.contains(&person_id),
        "the person id is the user's stable id"
    );

    let (status, me) = whoami(&server, Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["device"]["device_id"], DEVICE_A);
    assert_eq!(me["device"]["device_number"], 7);
    assert_eq!(me["user"]["person_id"], person_id.as_str());
    assert_eq!(me["user"]["role"], "officer");
    assert_eq!(me["user"]["team"], "North");

    // The token is nowhere in the database files; its SHA-256 (hex) is.
    let data = dir.path().join("data");
    let mut bytes = vec![];
    for f in ["server.db", "server.db-wal"] {
        bytes.extend(std::fs::read(data.join(f)).unwrap_or_default());
    }
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(token.as_bytes()), "the token is stored in clear");
    let sha = fieldbook_server::accounts::token_sha256(&token);
    assert!(
        contains(hex_lower(&sha).as_bytes()),
        "the token's hash is stored"
    );

    // The same device signing in again gets a new token; the old one stops working.
    let (status, again) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_ne!(again["token"], token.as_str());
    assert_eq!(
        whoami(&server, Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let fresh = again["token"].as_str().expect("token");
    assert_eq!(whoami(&server, Some(fresh)).await.0, StatusCode::OK);
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    // That both cost the same Argon2 work is checked in `accounts`' unit tests (no wall clock).
    let (_dir, server) = started();
    let (status, wrong) = register(
        &server,
        &register_body("olive", "not the password", DEVICE_A, 7),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&wrong), "bad_credentials");
    let (status, unknown) =
        register(&server, &register_body("nobody", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown, wrong, "the same answer either way");
    // Nothing was registered.
    let (status, body) = whoami(&server, Some("made-up-token")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorised")
    );
}

#[tokio::test]
async fn after_five_wrong_passwords_a_name_gets_429_with_retry_after_even_with_the_right_one() {
    let (_dir, server) = started();
    for _ in 0..5 {
        let (status, body) = register(
            &server,
            &register_body("olive", "not the password", DEVICE_A, 7),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "bad_credentials")
        );
    }
    let res = client()
        .post(server.url("/auth/v1/register"))
        .json(&register_body("Olive", PASSWORD, DEVICE_A, 7))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = res.headers()[reqwest::header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&wait), "{wait}");
    let body: Value = res.json().await.expect("json");
    assert_eq!(code(&body), "too_many_attempts");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("try again in"),
        "{body}"
    );
    // Another person signs in as usual.
    let (status, _) = register(&server, &register_body("owen", PASSWORD, DEVICE_B, 8)).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn missing_unknown_and_malformed_tokens_get_401_unauthorised() {
    let (_dir, server) = started();
    let (status, body) = whoami(&server, None).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorised")
    );
    let (status, body) = whoami(&server, Some("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "unauthorised")
    );
    for header in ["Basic b2xpdmU6cGFzcw==", "Bearer", "Bearer    ", "token"] {
        let res = client()
            .get(server.url("/auth/v1/whoami"))
            .header("authorization", header)
            .send()
            .await
            .expect("send");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert_eq!(
            res.headers().get("www-authenticate").map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
        let body: Value = res.json().await.expect("json");
        assert_eq!(code(&body), "unauthorised", "{header}");
    }
}

#[tokio::test]
async fn a_revoked_device_gets_401_device_revoked_with_the_reason() {
    let (dir, server) = started();
    let data = dir.path().join("data");
    let (_, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    let token = body["token"].as_str().expect("token").to_owned();
    assert_eq!(whoami(&server, Some(&token)).await.0, StatusCode::OK);

    let out = admin_ok(
        &data,
        &[
            "device",
            "revoke",
            DEVICE_A,
            "--reason",
            "Reported stolen on 3 March",
        ],
        None,
    );
    assert!(out.contains(DEVICE_A), "{out}");
    let (status, body) = whoami(&server, Some(&token)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("Reported stolen on 3 March"), "{message}");

    // Signing in again on the revoked device is refused the same way.
    let (status, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "device_revoked")
    );
    let list = admin_ok(&data, &["device", "list"], None);
    assert!(
        list.contains("revoked: Reported stolen on 3 March"),
        "{list}"
    );
}

#[tokio::test]
async fn an_expired_token_gets_401_token_expired_and_signing_in_again_issues_a_fresh_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    seed(&data);
    let server = Server::start(&data, &["--token-lifetime", "2s"]);
    let started = std::time::Instant::now();
    let (_, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    let old = body["token"].as_str().expect("token").to_owned();
    // (Only meaningful if the check ran inside the lifetime; on a very slow machine skip it.)
    let (status, _) = whoami(&server, Some(&old)).await;
    if started.elapsed() < std::time::Duration::from_millis(1500) {
        assert_eq!(status, StatusCode::OK);
    }

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, body) = whoami(&server, Some(&old)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "token_expired")
    );
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("sign in again"), "{message}");

    // Signing in again on the same device issues a token that works; the old one stays dead.
    let (status, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let fresh = body["token"].as_str().expect("token");
    assert_eq!(whoami(&server, Some(fresh)).await.0, StatusCode::OK);
    assert_eq!(code(&whoami(&server, Some(&old)).await.1), "unauthorised");
}

#[test]
fn serve_refuses_a_zero_or_unreadable_token_lifetime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for lifetime in ["0s", "ninety days"] {
        let out = admin(
            &data,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--token-lifetime",
                lifetime,
            ],
            None,
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("token-lifetime"), "{lifetime}: {err}");
    }
}

#[tokio::test]
async fn a_device_id_registered_to_another_user_is_409_and_numbers_are_unique() {
    let (_dir, server) = started();
    let (status, _) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = register(&server, &register_body("owen", PASSWORD, DEVICE_A, 8)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "device_taken")
    );
    let (status, body) = register(&server, &register_body("owen", PASSWORD, DEVICE_B, 7)).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "device_number_taken")
    );
    let (status, body) = register(&server, &register_body("owen", PASSWORD, DEVICE_B, 8)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// Sends raw bytes as a register body with the given content type.
async fn post_raw(
    server: &Server,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = client().post(server.url("/auth/v1/register")).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let res = req.send().await.expect("send");
    let status = res.status();
    let body: Value = res.json().await.expect("error bodies are JSON");
    assert!(
        status.is_success() || body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a reason is given: {body}"
    );
    (status, body)
}

/// What is sent, its content type, the body, and the status and code expected.
type BadBody = (
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    StatusCode,
    &'static str,
);

#[tokio::test]
async fn bad_bodies_get_4xx_with_a_reason_and_the_server_keeps_serving() {
    let (_dir, server) = started();
    let json = Some("application/json");
    let good = serde_json::to_vec(&register_body("olive", PASSWORD, DEVICE_A, 7)).expect("json");

    let truncated = good[..good.len() / 2].to_vec();
    let cases: Vec<BadBody> = vec![
        ("truncated", json, truncated, StatusCode::BAD_REQUEST, "malformed_json"),
        ("garbage", json, vec![0xff, 0x00, 0x13, 0x37, b'{'], StatusCode::BAD_REQUEST, "malformed_json"),
        ("empty", json, vec![], StatusCode::BAD_REQUEST, "malformed_json"),
        ("not an object", json, b"[1,2,3]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (
            "missing field",
            json,
            br#"{"user":"olive","password":"x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "wrong type",
            json,
            {
                let mut b = register_body("olive", PASSWORD, DEVICE_A, 7);
                b["device_number"] = "seven".into();
                serde_json::to_vec(&b).expect("json")
            },
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            "unknown field",
            json,
            br#"{"user":"olive","password":"x","device_id":"d","device_number":1,"device_name":"n","admin":true}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        ("no content type", None, good.clone(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
        ("oversized", json, oversized(), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
    ];
    for (what, ct, body, want_status, want_code) in cases {
        let (status, answer) = post_raw(&server, ct, body).await;
        assert_eq!(
            (status, code(&answer)),
            (want_status, want_code),
            "{what}: {answer}"
        );
        let health = client()
            .get(server.url("/healthz"))
            .send()
            .await
            .expect("health");
        assert_eq!(
            health.status(),
            StatusCode::OK,
            "still serving after {what}"
        );
    }

    // Valid JSON with invalid values.
    for (body, want) in [
        (
            register_body("olive", PASSWORD, "not-a-uuid", 7),
            "invalid_device_id",
        ),
        (
            register_body("olive", PASSWORD, DEVICE_A, 0),
            "invalid_device_number",
        ),
        (
            register_body("olive", PASSWORD, DEVICE_A, 1_000_000),
            "invalid_device_number",
        ),
    ] {
        let (status, answer) = register(&server, &body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, want)
        );
    }
    let mut nameless = register_body("olive", PASSWORD, DEVICE_A, 7);
    nameless["device_name"] = "   ".into();
    let (status, answer) = register(&server, &nameless).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_device_name")
    );

    // And the real thing still works.
    let (status, body) = post_raw(&server, json, good).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

/// A syntactically valid register body just over 1 MiB.
fn oversized() -> Vec<u8> {
    let mut body = register_body("olive", PASSWORD, DEVICE_A, 7);
    body["device_name"] = "x".repeat(1024 * 1024).into();
    serde_json::to_vec(&body).expect("json")
}

#[tokio::test]
async fn unknown_paths_and_methods_get_json_errors() {
    let (_dir, server) = started();
    let res = client()
        .get(server.url("/nope"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(code(&res.json::<Value>().await.expect("json")), "not_found");
    let res = client()
        .get(server.url("/auth/v1/register"))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        code(&res.json::<Value>().await.expect("json")),
        "method_not_allowed"
    );
}

#[tokio::test]
async fn each_request_is_one_log_line_and_sigterm_exits_0() {
    let (_dir, server) = started();
    let (status, _) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(whoami(&server, None).await.0, StatusCode::UNAUTHORIZED);
    let logs_path = server.stderr.clone();
    let status = server.signal_and_wait("TERM");
    assert!(status.success(), "exit status {status:?}");
    let logs = std::fs::read_to_string(logs_path).expect("logs");
    let line = logs
        .lines()
        .find(|l| l.contains("path=\"/auth/v1/register\""))
        .unwrap_or_else(|| panic!("no request line in:\n{logs}"));
    for part in ["method=POST", "status=201", "latency_ms="] {
        assert!(line.contains(part), "{part} missing from {line}");
    }
    assert!(
        logs.lines()
            .any(|l| l.contains("path=\"/auth/v1/whoami\"") && l.contains("status=401")),
        "{logs}"
    );
    assert!(!logs.contains(PASSWORD), "a password reached the logs");
    assert!(logs.contains("SIGTERM"), "{logs}");
}

/// The PostgreSQL store's connections are blocking clients, each with a runtime of its own:
/// dropping one on the server's async runtime at shutdown would panic. Several connections are
/// open (concurrent requests) when the signal comes.
#[tokio::test]
async fn a_server_on_postgres_stops_cleanly_on_sigterm_with_its_connections_open() {
    let (_env, server) = common::started_on(common::Backend::Postgres);
    let (status, body) = register(&server, &register_body("olive", PASSWORD, DEVICE_A, 7)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let url = server.url("/auth/v1/whoami");
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (url, token) = (url.clone(), token.clone());
        requests.spawn(async move {
            client()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("send")
                .status()
        });
    }
    while let Some(status) = requests.join_next().await {
        assert_eq!(status.expect("request"), StatusCode::OK);
    }
    let logs_path = server.stderr.clone();
    let status = server.signal_and_wait("TERM");
    let logs = std::fs::read_to_string(logs_path).expect("logs");
    assert!(status.success(), "exit status {status:?}\n{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}

#[tokio::test]
async fn sigint_also_stops_the_server_cleanly() {
    let (_dir, server) = started();
    let status = server.signal_and_wait("INT");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn a_database_url_nobody_answers_fails_clearly_without_echoing_its_password() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(common::BIN)
        .args([
            "--database-url",
            "postgres://fieldbook:secret@127.0.0.1:1/fieldbook",
            "user",
            "list",
        ])
        .env_remove("FIELDBOOK_SERVER_DATA")
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PostgreSQL"), "{err}");
    assert!(
        !err.contains("secret"),
        "the URL's password is not echoed: {err}"
    );
    let out = std::process::Command::new(common::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://127.0.0.1:1/x",
        ])
        .env_remove("FIELDBOOK_SERVER_DATA")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "serve refuses too");
}

#[test]
fn serve_refuses_a_certificate_without_a_key_and_the_reverse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    for args in [["--tls-cert", "cert.pem"], ["--tls-key", "key.pem"]] {
        let out = admin(
            &data,
            &["serve", "--listen", "127.0.0.1:0", args[0], args[1]],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--tls-"), "{err}");
    }
    // Missing files are a clear error too, not a plain-HTTP server.
    let out = admin(
        &data,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            "nope.pem",
            "--tls-key",
            "nope.key",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TLS"));
}

#[tokio::test]
async fn whoami_refreshes_last_seen() {
    let (dir, server) = started();
    let (_, body) = register(&server, &register_body("lena", PASSWORD, DEVICE_B, 12)).await;
    assert_eq!(body["role"], "team_leader");
    let token = body["token"].as_str().expect("token");
    let (_, me) = whoami(&server, Some(token)).await;
    assert!(me["device"]["last_seen_at"].as_i64().is_some(), "{me}");
    let list = admin_ok(
        &dir.path().join("data"),
        &["device", "list", "--json"],
        None,
    );
    let devices: Value = serde_json::from_str(&list).expect("json");
    assert_eq!(devices[0]["user_name"], "lena");
    assert!(devices[0]["last_seen_at"].as_i64().is_some());
}
