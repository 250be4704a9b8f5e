//! Bad input to the real server: truncated, garbage, oversized and mistyped bodies; pushes to a
//! case the device may not touch, by an actor that is not the device's, or of bytes that are not
//! automerge; a batch sent twice; unknown, revoked and expired tokens. Each gets its documented
//! answer with a machine-readable `code` and a message, the server keeps serving (`/healthz`),
//! and what it stores is unchanged (sequence, every case's heads and bytes, the device rows).
#![allow(clippy::unwrap_used)]

mod harness;

use automerge::transaction::Transactable as _;
use automerge::{ActorId, AutoCommit};
use fieldbook_core::{CaseKind, NewCase, Role, Timestamp};
use fieldbook_sync::{PROTOCOL, PushedCase, SyncRequest, SyncResponse, heads_hex};
use harness::{Backend, Device, Proxy, Server, ServerData, Snapshot, T0};
use reqwest::StatusCode;
use reqwest::blocking::Client;

struct Setup {
    data: ServerData,
    server: Server,
    /// In front of the server: the devices' address, kept when the server restarts.
    proxy: Proxy,
    olive: Device,
    owen: Device,
    /// A case of Olive's the server holds.
    case: String,
}

fn setup(backend: Backend) -> Setup {
    let data = ServerData::new(
        backend,
        &[
            ("olive", "officer", Some("North")),
            ("owen", "officer", Some("North")),
        ],
    );
    let server = data.start(&[]);
    let proxy = Proxy::start(server.addr);
    let mut olive = Device::new(&data, &proxy.url(), "olive", "olive", Role::Officer);
    let mut owen = Device::new(&data, &proxy.url(), "owen", "owen", Role::Officer);
    let mut case = String::new();
    for title in ["Dangerous wall on Mill Lane", "Rats behind the takeaway"] {
        case = olive
            .store
            .create_case(
                CaseKind::General,
                NewCase {
                    title: title.into(),
                    ..NewCase::default()
                },
                Timestamp(T0),
            )
            .unwrap()
            .id
            .to_string();
    }
    olive.sync(T0).unwrap();
    owen.sync(T0).unwrap();
    assert_eq!(data.documents().len(), 2);
    Setup {
        data,
        server,
        proxy,
        olive,
        owen,
        case,
    }
}

fn token(dev: &Device) -> String {
    dev.store.server_link().unwrap().unwrap().token
}

fn http() -> Client {
    Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
}

/// POSTs raw bytes to the sync endpoint; the status and the body as JSON.
fn post_raw(
    server: &Server,
    token: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut req = http()
        .post(server.url("/sync/v1/sync"))
        .header("content-type", content_type)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().unwrap();
    let status = res.status();
    let text = res.text().unwrap();
    let json = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the answer ({status}) is not JSON ({e}): {text:?}"));
    (status, json)
}

fn post(server: &Server, token: &str, req: &SyncRequest) -> (StatusCode, serde_json::Value) {
    post_raw(
        server,
        Some(token),
        "application/json",
        serde_json::to_vec(req).unwrap(),
    )
}

/// A `{code, message}` answer with this status and code.
fn assert_refusal(got: &(StatusCode, serde_json::Value), status: u16, code: &str) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(got.1["code"], code, "{}", got.1);
    assert!(
        got.1["message"].as_str().is_some_and(|m| m.len() > 10),
        "no message: {}",
        got.1
    );
}

/// A 200 answer refusing the one pushed case with this code, and a message.
fn assert_case_refused(got: &(StatusCode, serde_json::Value), case: &str, code: &str) {
    assert_eq!(got.0, StatusCode::OK, "{}", got.1);
    let answer: SyncResponse = serde_json::from_value(got.1.clone()).unwrap();
    assert!(answer.acks.is_empty(), "{answer:?}");
    assert_eq!(answer.refused.len(), 1, "{answer:?}");
    assert_eq!(answer.refused[0].case_id, case);
    assert_eq!(answer.refused[0].code, code, "{answer:?}");
    assert!(answer.refused[0].message.len() > 10);
}

/// The server still answers and stores exactly what it stored before.
fn assert_unchanged(s: &Setup, before: &Snapshot, what: &str) {
    let res = http().get(s.server.url("/healthz")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK, "healthz after {what}");
    assert!(
        s.data.snapshot() == *before,
        "{what} changed the server's store"
    );
}

/// A request from this device pushing `changes` for `case`.
fn push_request(
    dev: &Device,
    batch: &str,
    case: &str,
    base: &[automerge::ChangeHash],
    changes: Vec<u8>,
    heads: &[automerge::ChangeHash],
) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL,
        batch_id: batch.into(),
        since: dev.store.sync_since().unwrap(),
        applied: None,
        push: vec![PushedCase {
            case_id: case.into(),
            base_heads: heads_hex(base),
            changes,
            heads: heads_hex(heads),
        }],
        page_size: 10,
    }
}

/// The server's document of `case`, changed (its title) as `actor`: (base heads, changes,
/// new heads).
fn forged_change(
    s: &Setup,
    case: &str,
    actor: ActorId,
) -> (
    Vec<automerge::ChangeHash>,
    Vec<u8>,
    Vec<automerge::ChangeHash>,
) {
    let mut doc = AutoCommit::load(&s.data.documents()[case])
        .unwrap()
        .with_actor(actor);
    let base = doc.get_heads();
    doc.put(automerge::ROOT, "title", "Taken over").unwrap();
    doc.commit();
    let changes = doc.save_after(&base);
    (base, changes, doc.get_heads())
}

fn bad_bodies_and_pushes(backend: Backend) {
    let mut s = setup(backend);
    let olive_token = token(&s.olive);
    let before = s.data.snapshot();
    let good = push_request(&s.olive, "good", &s.case, &[], b"x".to_vec(), &[]);
    let good_json = serde_json::to_vec(&good).unwrap();

    let truncated = good_json[..good_json.len() / 2].to_vec();
    let got = post_raw(&s.server, Some(&olive_token), "application/json", truncated);
    assert_refusal(&got, 400, "malformed_json");
    assert_unchanged(&s, &before, "a truncated body");

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let got = post_raw(&s.server, Some(&olive_token), "application/json", garbage);
    assert_refusal(&got, 400, "malformed_json");
    assert_unchanged(&s, &before, "garbage bytes");

    // Valid JSON, over the 1 MiB limit.
    let mut huge = good.clone();
    huge.push[0].changes = vec![7; 1024 * 1024];
    let got = post(&s.server, &olive_token, &huge);
    assert_refusal(&got, 413, "body_too_large");
    assert_unchanged(&s, &before, "an oversized body");

    let got = post_raw(
        &s.server,
        Some(&olive_token),
        "text/plain",
        good_json.clone(),
    );
    assert_refusal(&got, 415, "unsupported_media_type");
    assert_unchanged(&s, &before, "a body that is not JSON by its type");

    let got = post_raw(
        &s.server,
        Some(&olive_token),
        "application/json",
        b"{\"protocol\":1}".to_vec(),
    );
    assert_refusal(&got, 422, "invalid_body");
    assert_unchanged(&s, &before, "a body missing fields");

    // No token, and a token the server never issued.
    let got = post_raw(&s.server, None, "application/json", good_json.clone());
    assert_refusal(&got, 401, "unauthorised");
    let got = post_raw(
        &s.server,
        Some("not-a-token-the-server-issued"),
        "application/json",
        good_json.clone(),
    );
    assert_refusal(&got, 401, "unauthorised");
    assert_unchanged(&s, &before, "unknown tokens");

    // Pushes the rules refuse are refused case by case, in the answer (docs/sync.md).
    let owen_actor = ActorId::from(s.owen.store.device().device_id.as_bytes().as_slice());
    let (base, changes, heads) = forged_change(&s, &s.case, owen_actor);
    let req = push_request(&s.owen, "owen-1", &s.case, &base, changes, &heads);
    let got = post(&s.server, &token(&s.owen), &req);
    assert_case_refused(&got, &s.case, "not_your_case");
    assert_unchanged(&s, &before, "a push to another officer's case");

    let (base, changes, heads) = forged_change(&s, &s.case, ActorId::random());
    let req = push_request(&s.olive, "olive-1", &s.case, &base, changes, &heads);
    let got = post(&s.server, &olive_token, &req);
    assert_case_refused(&got, &s.case, "foreign_actor");
    assert_unchanged(&s, &before, "changes by an actor that is not the device's");

    // A case the server does not hold. (For one it holds, `apply_push` currently reads bytes
    // that parse as no change as a repeat of what it has, and acknowledges them.)
    let new_case = uuid::Uuid::now_v7().to_string();
    let req = push_request(
        &s.olive,
        "olive-2",
        &new_case,
        &[],
        b"not automerge at all".to_vec(),
        &[],
    );
    let got = post(&s.server, &olive_token, &req);
    assert_case_refused(&got, &new_case, "malformed_changes");
    assert_unchanged(&s, &before, "malformed automerge bytes");

    // A batch sent twice: the second gets the first's answer and changes nothing.
    s.olive
        .store
        .change_case(Device::case_id(&s.case), Timestamp(T0 + 1000), |c, a| {
            c.add_note("Wall propped up by the owner", a, Timestamp(T0 + 1000))?;
            Ok("note".into())
        })
        .unwrap();
    let out = s.olive.store.outgoing(10).unwrap();
    assert_eq!(out.len(), 1);
    let req = push_request(
        &s.olive,
        "olive-3",
        &s.case,
        &out[0].base_heads,
        out[0].changes.clone(),
        &out[0].sent_heads,
    );
    let first = post(&s.server, &olive_token, &req);
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    let answer: SyncResponse = serde_json::from_value(first.1.clone()).unwrap();
    assert_eq!(answer.acks.len(), 1, "{answer:?}");
    assert!(s.data.snapshot().seq > before.seq);
    // Something new since then, so an answer worked out afresh would differ (it would pull it).
    s.olive
        .store
        .create_case(
            CaseKind::General,
            NewCase {
                title: "Blocked drain".into(),
                ..NewCase::default()
            },
            Timestamp(T0 + 2000),
        )
        .unwrap();
    s.olive.sync(T0 + 2000).unwrap();
    let after = s.data.snapshot();
    let again = post(&s.server, &olive_token, &req);
    assert_eq!(again, first, "a replayed batch got another answer");
    assert_unchanged(&s, &after, "a replayed batch");
}

fn revoked_device_is_refused_and_wiped(backend: Backend) {
    use fieldbook_app as app;
    let s = setup(backend);
    let owen_token = token(&s.owen);
    let device_id = s.owen.store.device().device_id.to_string();
    s.data.admin_ok(
        &[
            "device",
            "revoke",
            &device_id,
            "--reason",
            "Tablet reported stolen",
        ],
        None,
    );
    let before = s.data.snapshot();
    let req = push_request(&s.owen, "owen-1", &s.case, &[], b"x".to_vec(), &[]);
    let got = post(&s.server, &owen_token, &req);
    assert_refusal(&got, 401, "device_revoked");
    assert!(
        got.1["message"]
            .as_str()
            .unwrap()
            .contains("Tablet reported stolen"),
        "{}",
        got.1
    );
    assert_unchanged(&s, &before, "a revoked token");

    // The device itself, through the device API: told why, and wiped.
    let Setup {
        owen, data, server, ..
    } = s;
    let dir = owen.dir.clone();
    drop(owen);
    let ctx = app::Ctx::new(&dir);
    app::unlock(&ctx, harness::PASSPHRASE).unwrap();
    let e = app::sync_now(&ctx).unwrap_err();
    assert_eq!(e.code(), "device_revoked");
    assert!(e.to_string().contains("Tablet reported stolen"), "{e}");
    assert!(!ctx.is_unlocked());
    assert!(
        !dir.join("fieldbook.db").exists(),
        "the device was not wiped"
    );
    assert!(
        !dir.join("fieldbook.key").exists(),
        "the device was not wiped"
    );
    let res = http().get(server.url("/healthz")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(data.snapshot() == before);
}

fn expired_token_is_refused_and_nothing_is_lost(backend: Backend) {
    use fieldbook_app as app;
    let mut s = setup(backend);
    let olive_token = token(&s.olive);
    // An edit waiting to be pushed when the sign-in runs out.
    s.olive
        .store
        .change_case(Device::case_id(&s.case), Timestamp(T0 + 1000), |c, a| {
            c.add_note("Written while the sign-in ran out", a, Timestamp(T0 + 1000))?;
            Ok("note".into())
        })
        .unwrap();
    // The same data served with a lifetime every token already issued has outlived.
    drop(std::mem::replace(
        &mut s.server,
        s.data.start(&["--token-lifetime", "1ms"]),
    ));
    s.proxy.retarget(s.server.addr);
    let before = s.data.snapshot();
    let out = s.olive.store.outgoing(10).unwrap();
    let req = push_request(
        &s.olive,
        "olive-1",
        &s.case,
        &out[0].base_heads,
        out[0].changes.clone(),
        &out[0].sent_heads,
    );
    let got = post(&s.server, &olive_token, &req);
    assert_refusal(&got, 401, "token_expired");
    assert_unchanged(&s, &before, "an expired token");

    // The device is told to sign in again, and keeps everything.
    let Setup {
        olive,
        data,
        mut server,
        proxy,
        case,
        ..
    } = s;
    let dir = olive.dir.clone();
    drop(olive);
    let ctx = app::Ctx::new(&dir);
    app::unlock(&ctx, harness::PASSPHRASE).unwrap();
    let e = app::sync_now(&ctx).unwrap_err();
    assert_eq!(e.code(), "token_expired", "{e}");
    assert!(ctx.is_unlocked() && dir.join("fieldbook.db").exists());
    assert!(data.snapshot() == before);
    assert_eq!(app::device(&ctx).unwrap().outbox_changes, 1);

    // Signed in again (on a server with the usual lifetime), the waiting edit goes through.
    drop(std::mem::replace(&mut server, data.start(&[])));
    proxy.retarget(server.addr);
    let link = app::sign_in(
        &ctx,
        app::SignInArgs {
            server: proxy.url(),
            user: "olive".into(),
            password: harness::PASSWORD.into(),
        },
    );
    link.unwrap();
    let report = app::sync_now(&ctx).unwrap();
    assert_eq!(report.pushed, 1);
    let doc = automerge::AutoCommit::load(&data.documents()[&case]).unwrap();
    let c: fieldbook_core::Case = autosurgeon::hydrate(&doc).unwrap();
    assert_eq!(c.notes.len(), 1);
}

#[test]
fn bad_bodies_and_pushes_sqlite() {
    bad_bodies_and_pushes(Backend::Sqlite);
}

#[test]
fn revoked_device_is_refused_and_wiped_sqlite() {
    revoked_device_is_refused_and_wiped(Backend::Sqlite);
}

#[test]
fn expired_token_is_refused_and_nothing_is_lost_sqlite() {
    expired_token_is_refused_and_nothing_is_lost(Backend::Sqlite);
}

#[test]
fn bad_bodies_and_pushes_postgres() {
    bad_bodies_and_pushes(Backend::Postgres);
}

#[test]
fn revoked_device_is_refused_and_wiped_postgres() {
    revoked_device_is_refused_and_wiped(Backend::Postgres);
}

#[test]
fn expired_token_is_refused_and_nothing_is_lost_postgres() {
    expired_token_is_refused_and_nothing_is_lost(Backend::Postgres);
}
