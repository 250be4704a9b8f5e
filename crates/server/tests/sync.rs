//! `POST /sync/v1/sync` end to end: the real server binary on loopback, and real encrypted
//! device stores (`fieldbook-store`) registered through the API, pushing and pulling with the
//! protocol types of `fieldbook-sync`. Every test runs on both server stores, SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, Device, PASSWORD, Server, client, device, started_on};
use fieldbook_core::{CaseEdit, CaseKind, CaseStatus, NewCase, Role, Timestamp};
use fieldbook_store::{CaseQuery, DeviceSetup, Store};
use fieldbook_sync::{PROTOCOL, PushedCase, SyncRequest, SyncResponse, heads_hex, parse_heads};
use serde_json::json;

/// Runs each named test, an `async fn(Backend)`, once on SQLite and once on PostgreSQL (as
/// `sqlite::NAME` and `postgres::NAME`).
macro_rules! both_backends {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        mod sqlite {
            $($(#[$attr])* async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $($(#[$attr])* async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

both_backends!(
    #[tokio::test]
    devices_sync_through_the_server_and_converge_within_their_rights,
    #[tokio::test]
    a_replayed_batch_gets_the_same_answer_and_changes_nothing,
    #[tokio::test]
    bad_sync_requests_get_a_reason_and_the_server_keeps_serving,
    #[tokio::test(flavor = "multi_thread")]
    the_device_api_signs_in_syncs_and_wipes_a_revoked_device,
    #[tokio::test]
    once_a_device_confirms_a_pull_it_gets_only_what_follows,
    #[tokio::test]
    cases_stored_before_schema_6_are_pulled_from_their_documents_and_then_gain_heads,
    #[tokio::test]
    a_request_for_the_next_page_confirms_only_what_the_device_has_applied,
    #[tokio::test]
    a_case_that_departs_and_comes_back_while_a_page_is_ahead_comes_whole,
    #[tokio::test(flavor = "multi_thread")]
    a_sync_stopped_while_writing_a_page_with_the_next_in_flight_carries_on,
    #[tokio::test(flavor = "multi_thread")]
    a_server_from_before_applied_gets_each_page_after_the_one_before,
);

async fn post(server: &Server, token: &str, req: &SyncRequest) -> SyncResponse {
    let res = client()
        .post(server.url("/sync/v1/sync"))
        .bearer_auth(token)
        .json(req)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

impl Device {
    fn request(&self, batch: &str, page_size: u32) -> SyncRequest {
        SyncRequest {
            protocol: PROTOCOL,
            batch_id: batch.into(),
            since: self.store.sync_since().unwrap(),
            applied: None,
            push: self
                .store
                .outgoing(50)
                .unwrap()
                .into_iter()
                .map(|o| PushedCase {
                    case_id: o.case_id,
                    base_heads: heads_hex(&o.base_heads),
                    changes: o.changes,
                    heads: heads_hex(&o.sent_heads),
                })
                .collect(),
            page_size,
        }
    }

    fn apply(&mut self, req: &SyncRequest, res: &SyncResponse) {
        for a in &res.acks {
            let sent = req.push.iter().find(|p| p.case_id == a.case_id).unwrap();
            self.store
                .acknowledge(&a.case_id, &parse_heads(&sent.heads).unwrap())
                .unwrap();
        }
        for r in &res.refused {
            let sent = req.push.iter().find(|p| p.case_id == r.case_id).unwrap();
            self.store
                .refuse(
                    &r.case_id,
                    &parse_heads(&sent.heads).unwrap(),
                    &r.code,
                    &r.message,
                )
                .unwrap();
        }
        for p in &res.pull {
            self.store
                .merge_remote(&p.case_id, &p.changes, &parse_heads(&p.heads).unwrap(), &[])
                .unwrap();
        }
        self.store.set_sync_since(res.next_since).unwrap();
    }

    /// Sync until up to date; returns the refusals seen.
    async fn sync(&mut self, server: &Server) -> Vec<String> {
        let mut refused = Vec::new();
        for round in 0..50 {
            let req = self.request(&uuid::Uuid::new_v4().to_string(), 2);
            let res = post(server, &self.token, &req).await;
            self.apply(&req, &res);
            refused.extend(res.refused.iter().map(|r| r.code.clone()));
            if res.remaining == 0 && self.store.outgoing(50).unwrap().is_empty() {
                return refused;
            }
            assert!(round < 49, "sync did not finish");
        }
        refused
    }

    fn titles(&self) -> Vec<String> {
        let mut t: Vec<String> = self
            .store
            .list_cases(&CaseQuery {
                limit: 500,
                ..CaseQuery::default()
            })
            .unwrap()
            .rows
            .into_iter()
            .map(|r| format!("{} {} {}", r.reference, r.title, r.status))
            .collect();
        t.sort();
        t
    }
}

/// Change a case's title on this device.
fn retitle(d: &mut Device, case: fieldbook_core::CaseId, title: &str, at: i64) {
    let title = title.to_string();
    d.store
        .change_case(case, Timestamp(at), |c, a| {
            c.edit(
                CaseEdit {
                    title: Some(title),
                    ..CaseEdit::default()
                },
                a,
            )?;
            Ok("title".into())
        })
        .unwrap();
}

fn create(d: &mut Device, title: &str) -> fieldbook_core::CaseId {
    d.store
        .create_case(
            CaseKind::General,
            NewCase {
                title: title.into(),
                ..NewCase::default()
            },
            Timestamp(1_790_000_000_000),
        )
        .unwrap()
        .id
}

async fn devices_sync_through_the_server_and_converge_within_their_rights(backend: Backend) {
    let (_env, server) = started_on(backend);
    let mut olive = device(&server, "olive", Role::Officer).await;
    let mut lena = device(&server, "lena", Role::TeamLeader).await;
    let mut owen = device(&server, "owen", Role::Officer).await;

    // Olive's cases reach the server and her team leader, not another officer.
    let case = create(&mut olive, "Overgrown hedge");
    create(&mut olive, "Abandoned car");
    assert!(olive.sync(&server).await.is_empty());
    assert!(olive.store.outgoing(50).unwrap().is_empty());
    assert!(lena.sync(&server).await.is_empty());
    assert_eq!(lena.titles(), olive.titles());
    assert_eq!(lena.titles().len(), 2);
    assert!(owen.sync(&server).await.is_empty());
    assert!(owen.titles().is_empty(), "owen sees olive's cases");

    // Concurrent edits to different fields merge on every device.
    retitle(
        &mut olive,
        case,
        "Overgrown hedge, 4 Mill Road",
        1_790_000_100_000,
    );
    lena.store
        .change_case(case, Timestamp(1_790_000_100_000), |c, a| {
            c.add_note("Owner phoned", a, Timestamp(1_790_000_100_000))?;
            Ok("note".into())
        })
        .unwrap();
    assert!(olive.sync(&server).await.is_empty());
    assert!(lena.sync(&server).await.is_empty());
    assert!(olive.sync(&server).await.is_empty());
    let a = olive.store.load_case(case).unwrap();
    let b = lena.store.load_case(case).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.title, "Overgrown hedge, 4 Mill Road");
    assert_eq!(a.notes.len(), 1);
    let id = case.to_string();
    assert_eq!(
        olive.store.case_heads(&id).unwrap(),
        lena.store.case_heads(&id).unwrap()
    );

    // An officer's approval is refused with a reason; the edit stays on her device.
    olive
        .store
        .change_case(case, Timestamp(1_790_000_200_000), |c, _| {
            c.status = CaseStatus::Approved;
            Ok("approve".into())
        })
        .unwrap();
    assert_eq!(olive.sync(&server).await, ["transition_not_allowed"]);
    let refused = olive.store.refused().unwrap();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].message.contains("officer"), "{refused:?}");
    assert_eq!(
        olive.store.load_case(case).unwrap().status,
        CaseStatus::Approved
    );
    // Nobody else got it.
    assert!(lena.sync(&server).await.is_empty());
    assert_eq!(lena.store.load_case(case).unwrap().status, CaseStatus::Open);
}

async fn a_replayed_batch_gets_the_same_answer_and_changes_nothing(backend: Backend) {
    let (_env, server) = started_on(backend);
    let mut olive = device(&server, "olive", Role::Officer).await;
    create(&mut olive, "Fly-tipping in lay-by");
    let req = olive.request("batch-1", 10);
    let first = post(&server, &olive.token, &req).await;
    assert_eq!(first.acks.len(), 1);
    let seq = first.acks[0].seq;
    // The answer was lost; the device sends the batch again.
    let again = post(&server, &olive.token, &req).await;
    assert_eq!(again, first);
    // And the same changes in a new batch are acknowledged without a new sequence number.
    let req2 = SyncRequest {
        batch_id: "batch-2".into(),
        ..req.clone()
    };
    let third = post(&server, &olive.token, &req2).await;
    assert_eq!(third.acks[0].seq, seq);
}

async fn bad_sync_requests_get_a_reason_and_the_server_keeps_serving(backend: Backend) {
    let (_env, server) = started_on(backend);
    let olive = device(&server, "olive", Role::Officer).await;
    let url = server.url("/sync/v1/sync");
    let good = olive.request("b", 10);

    let res = client().post(&url).json(&good).send().await.unwrap();
    assert_eq!(res.status(), 401, "no token");
    let bad_protocol = SyncRequest {
        protocol: 99,
        ..good.clone()
    };
    for (body, status, code) in [
        (
            serde_json::to_value(&bad_protocol).unwrap(),
            400,
            "unsupported_protocol",
        ),
        (json!({"protocol": 1}), 422, "invalid_body"),
        (
            serde_json::to_value(SyncRequest {
                since: 3,
                applied: Some(4),
                ..good.clone()
            })
            .unwrap(),
            422,
            "invalid_applied",
        ),
        (
            serde_json::to_value(SyncRequest {
                batch_id: String::new(),
                ..good.clone()
            })
            .unwrap(),
            422,
            "invalid_batch_id",
        ),
    ] {
        let res = client()
            .post(&url)
            .bearer_auth(&olive.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status);
        let v: serde_json::Value = res.json().await.unwrap();
        assert_eq!(v["code"], code, "{v}");
    }
    // Garbage changes for a case are refused for that case, not the batch.
    let garbage = SyncRequest {
        push: vec![PushedCase {
            case_id: uuid::Uuid::new_v4().to_string(),
            base_heads: vec![],
            changes: b"not automerge".to_vec(),
            heads: vec![],
        }],
        ..good.clone()
    };
    let res = post(&server, &olive.token, &garbage).await;
    assert_eq!(res.refused[0].code, "malformed_changes");
    let res = client().get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// The device's own client (`fieldbook-client`, through the device API as the CLI and the app
/// call it): sign in, sync both ways, and a revoked device wiped on its next sync.
async fn the_device_api_signs_in_syncs_and_wipes_a_revoked_device(backend: Backend) {
    use fieldbook_app as app;
    let (env, server) = started_on(backend);
    let base = server.base.clone();
    let devices = env.dir.path().to_path_buf();
    let (olive_dir, lena_dir) = (devices.join("olive"), devices.join("lena"));

    let report = tokio::task::spawn_blocking(move || {
        let setup = |d: &std::path::Path, name: &str, role: &str, n: u32| {
            let ctx = app::Ctx::new(d);
            app::init_device(
                &ctx,
                app::InitArgs {
                    passphrase: "device passphrase".into(),
                    person_name: name.into(),
                    role: role.into(),
                    device_number: 100 + n,
                },
            )
            .unwrap();
            ctx
        };
        let olive = setup(&olive_dir, "Olive", "officer", 1);
        let lena = setup(&lena_dir, "Lena", "team_leader", 2);
        // Plain http to another machine is refused before anything is sent.
        let e = app::sign_in(
            &olive,
            app::SignInArgs {
                server: "http://fieldbook.example".into(),
                user: "olive".into(),
                password: PASSWORD.into(),
            },
        )
        .unwrap_err();
        assert_eq!(e.code(), "insecure_server");
        assert_eq!(app::sync_now(&olive).unwrap_err().code(), "not_signed_in");
        let wrong = app::sign_in(
            &olive,
            app::SignInArgs {
                server: base.clone(),
                user: "olive".into(),
                password: "not the password".into(),
            },
        )
        .unwrap_err();
        assert_eq!(wrong.code(), "bad_credentials");
        for (ctx, user) in [(&olive, "olive"), (&lena, "lena")] {
            let s = app::sign_in(
                ctx,
                app::SignInArgs {
                    server: base.clone(),
                    user: user.into(),
                    password: PASSWORD.into(),
                },
            )
            .unwrap();
            assert_eq!(s.team.as_deref(), Some("North"));
        }
        let c = app::create_case(
            &olive,
            app::NewCaseArgs {
                kind: "general".into(),
                title: "Fly-tipping behind the library".into(),
                ..Default::default()
            },
        )
        .unwrap();
        let sent = app::sync_now(&olive).unwrap();
        assert_eq!(sent.pushed, 1);
        assert_eq!(app::device(&olive).unwrap().outbox_changes, 0);
        let got = app::sync_now(&lena).unwrap();
        assert_eq!(got.pulled, 1);
        let seen = app::open_case(&lena, &c.reference).unwrap();
        assert_eq!(seen.title, "Fly-tipping behind the library");
        // Lena's history names who wrote the case: the server told her device.
        let history = app::history(&lena, &c.reference).unwrap();
        assert_eq!(
            history[0].person.as_ref().and_then(|p| p.name.as_deref()),
            Some("olive"),
            "{history:?}"
        );
        (olive, c.reference)
    })
    .await
    .unwrap();
    let (olive, _reference) = report;

    // The council revokes Olive's device: its next sync says why and wipes it.
    let devices_json = common::admin_ok_at(&env.location, &["device", "list", "--json"], None);
    let list: serde_json::Value = serde_json::from_str(&devices_json).unwrap();
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["user_name"] == "olive")
        .unwrap()["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    common::admin_ok_at(
        &env.location,
        &["device", "revoke", &id, "--reason", "Tablet reported lost"],
        None,
    );
    let olive_dir = devices.join("olive");
    tokio::task::spawn_blocking(move || {
        let e = app::sync_now(&olive).unwrap_err();
        assert_eq!(e.code(), "device_revoked");
        assert!(e.to_string().contains("Tablet reported lost"), "{e}");
        assert!(!olive.is_unlocked());
        assert!(
            !olive_dir.join("fieldbook.db").exists(),
            "the database was not wiped"
        );
        assert!(!olive_dir.join("fieldbook.key").exists());
    })
    .await
    .unwrap();
}

async fn once_a_device_confirms_a_pull_it_gets_only_what_follows(backend: Backend) {
    let (_env, server) = started_on(backend);
    let mut olive = device(&server, "olive", Role::Officer).await;
    let mut lena = device(&server, "lena", Role::TeamLeader).await;
    let case = create(&mut olive, "Graffiti on the bus shelter");
    assert!(olive.sync(&server).await.is_empty());

    // Lena's first pull of the case is the whole document.
    let req = lena.request("first", 10);
    let first = post(&server, &lena.token, &req).await;
    lena.apply(&req, &first);
    let whole = first.pull[0].changes.len();

    retitle(
        &mut olive,
        case,
        "Graffiti on the bus shelter, Mill Road",
        1_790_000_300_000,
    );
    assert!(olive.sync(&server).await.is_empty());

    // Her next request confirms the first page (its `since`), so the case comes as a delta. It
    // is a request as devices sent it before `applied` existed: no such field.
    let req = lena.request("second", 10);
    let body = serde_json::to_value(&req).unwrap();
    assert!(body.get("applied").is_none(), "{body}");
    let second = post(&server, &lena.token, &req).await;
    let delta = second.pull[0].changes.len();
    assert!(delta * 2 < whole, "delta {delta} bytes vs whole {whole}");
    lena.apply(&req, &second);
    assert_eq!(
        lena.store.load_case(case).unwrap().title,
        "Graffiti on the bus shelter, Mill Road"
    );
    assert_eq!(
        lena.store.case_heads(&case.to_string()).unwrap(),
        olive.store.case_heads(&case.to_string()).unwrap()
    );
}

/// What a case row written before schema 6 looks like: no heads or writers stored with it. (On
/// a thread of its own: the blocking PostgreSQL client may not run on the test's runtime.)
fn forget_heads_and_writers(location: &common::Location) {
    const SQL: &str = "UPDATE cases SET heads = NULL, writers = NULL";
    std::thread::scope(|s| {
        s.spawn(|| match location {
            common::Location::Data(dir) => {
                rusqlite::Connection::open(dir.join("server.db"))
                    .unwrap()
                    .execute(SQL, [])
                    .unwrap();
            }
            common::Location::Url(url) => {
                ::postgres::Client::connect(url, ::postgres::NoTls)
                    .unwrap()
                    .execute(SQL, &[])
                    .unwrap();
            }
        })
        .join()
        .unwrap()
    });
}

async fn cases_stored_before_schema_6_are_pulled_from_their_documents_and_then_gain_heads(
    backend: Backend,
) {
    let (env, server) = started_on(backend);
    let mut olive = device(&server, "olive", Role::Officer).await;
    let mut lena = device(&server, "lena", Role::TeamLeader).await;
    let case = create(&mut olive, "Fly-tipping behind the library");
    assert!(olive.sync(&server).await.is_empty());
    forget_heads_and_writers(&env.location);

    // Lena, new to the case, gets it whole, and who wrote it, read from the document.
    let req = lena.request("first", 10);
    let res = post(&server, &lena.token, &req).await;
    assert_eq!(res.pull.len(), 1);
    let olive_actor =
        automerge::ActorId::from(olive.store.device().device_id.as_bytes().as_slice());
    assert_eq!(
        res.pull[0]
            .actors
            .iter()
            .map(|a| (a.actor.clone(), a.person_name.clone()))
            .collect::<Vec<_>>(),
        vec![(olive_actor.to_hex_string(), "olive".to_string())]
    );
    lena.apply(&req, &res);
    assert_eq!(
        lena.store.case_heads(&case.to_string()).unwrap(),
        olive.store.case_heads(&case.to_string()).unwrap()
    );

    // Olive's next change stores them again.
    retitle(
        &mut olive,
        case,
        "Fly-tipping behind the old library",
        1_790_000_300_000,
    );
    assert!(olive.sync(&server).await.is_empty());
    let stored = std::thread::scope(|s| {
        s.spawn(|| {
            let store = fieldbook_server::store::open(&env.location.to_store()).unwrap();
            store
                .read(|tx| tx.get_case(&case.to_string()))
                .unwrap()
                .unwrap()
        })
        .join()
        .unwrap()
    });
    let mut heads = olive.store.case_heads(&case.to_string()).unwrap().unwrap();
    heads.sort();
    let mut stored_heads = parse_heads(&stored.heads.unwrap()).unwrap();
    stored_heads.sort();
    assert_eq!(stored_heads, heads);
    assert_eq!(stored.writers, Some(vec![olive_actor.to_hex_string()]));
    assert!(lena.sync(&server).await.is_empty());
    assert_eq!(lena.titles(), olive.titles());
}

/// Whether a pulled case is its whole document (a delta lacks the changes it builds on, so it
/// does not load to the heads it names).
fn whole(p: &fieldbook_sync::PulledCase) -> bool {
    let mut want = parse_heads(&p.heads).unwrap();
    want.sort();
    automerge::AutoCommit::load(&p.changes).is_ok_and(|mut d| {
        let mut heads = d.get_heads();
        heads.sort();
        heads == want
    })
}

fn ids(res: &SyncResponse) -> Vec<String> {
    let mut ids: Vec<String> = res.pull.iter().map(|p| p.case_id.clone()).collect();
    ids.sort();
    ids
}

/// A device that asks for page 2 while it writes page 1 sends `since` = page 1's end and
/// `applied` = what it held before: page 1 is not confirmed by that. When the device never
/// writes page 1 (it crashed), it gets page 1's cases whole again, even after they changed; once
/// a request's `applied` covers a page, its cases come as deltas.
async fn a_request_for_the_next_page_confirms_only_what_the_device_has_applied(backend: Backend) {
    let (_env, server) = started_on(backend);
    let mut olive = device(&server, "olive", Role::Officer).await;
    let mut lena = device(&server, "lena", Role::TeamLeader).await;
    let cases: Vec<_> = (0..4)
        .map(|i| create(&mut olive, &format!("Overflowing bin {i}")))
        .collect();
    assert!(olive.sync(&server).await.is_empty());

    // Page 1, then page 2 asked for before page 1 is written.
    let first_req = lena.request("p1", 2);
    let first = post(&server, &lena.token, &first_req).await;
    assert_eq!((first.pull.len(), first.remaining), (2, 2));
    let ahead = SyncRequest {
        batch_id: "p2".into(),
        since: first.next_since,
        applied: Some(first_req.since),
        push: vec![],
        ..first_req.clone()
    };
    let second = post(&server, &lena.token, &ahead).await;
    assert_eq!((second.pull.len(), second.remaining), (2, 0));
    assert!(second.pull.iter().all(whole), "new to the device: whole");

    // The device stops before writing page 1: its `since` is still 0. Meanwhile every case
    // changes.
    assert_eq!(lena.store.sync_since().unwrap(), 0);
    for (i, case) in cases.iter().enumerate() {
        retitle(
            &mut olive,
            *case,
            &format!("Overflowing bin {i}, Mill Road"),
            1_790_000_300_000,
        );
    }
    assert!(olive.sync(&server).await.is_empty());

    // Asked again from where it stopped, page 1 comes whole: nothing of it was confirmed.
    let again_req = lena.request("p1-again", 2);
    assert_eq!(again_req.applied, None);
    let again = post(&server, &lena.token, &again_req).await;
    assert_eq!(ids(&again), ids(&first));
    assert!(again.pull.iter().all(whole), "page 1 again, whole");
    lena.apply(&again_req, &again);
    // This time page 2 is asked for while page 1 is written, and page 1's end is `applied` in
    // the request after: page 1 is confirmed then, page 2 not yet.
    let ahead_req = SyncRequest {
        batch_id: "p2-again".into(),
        since: again.next_since,
        applied: Some(again_req.since),
        push: vec![],
        ..again_req.clone()
    };
    let ahead = post(&server, &lena.token, &ahead_req).await;
    assert!(ahead.pull.iter().all(whole), "page 2: whole");
    lena.apply(&ahead_req, &ahead);
    let last_req = SyncRequest {
        batch_id: "confirm-1".into(),
        since: ahead.next_since,
        applied: Some(again.next_since),
        push: vec![],
        ..again_req.clone()
    };
    let last = post(&server, &lena.token, &last_req).await;
    assert_eq!((last.pull.len(), last.remaining), (0, 0));
    assert_eq!(lena.titles(), olive.titles());

    // Olive changes all four again: page 1's cases (confirmed) come as deltas, page 2's (not
    // confirmed: `applied` stopped at page 1) whole.
    for (i, case) in cases.iter().enumerate() {
        retitle(
            &mut olive,
            *case,
            &format!("Overflowing bin {i}, 4 Mill Road"),
            1_790_000_400_000,
        );
    }
    assert!(olive.sync(&server).await.is_empty());
    let next_req = SyncRequest {
        batch_id: "after".into(),
        since: ahead.next_since,
        applied: Some(again.next_since),
        push: vec![],
        page_size: 10,
        ..again_req.clone()
    };
    let next = post(&server, &lena.token, &next_req).await;
    assert_eq!(next.pull.len(), 4);
    let page_1 = ids(&again);
    for p in &next.pull {
        assert_eq!(
            whole(p),
            !page_1.contains(&p.case_id),
            "{} (page 1: {page_1:?})",
            p.case_id
        );
    }
    lena.apply(&next_req, &next);
    assert!(lena.sync(&server).await.is_empty());
    assert_eq!(lena.titles(), olive.titles());
    for case in &cases {
        let id = case.to_string();
        assert_eq!(
            lena.store.case_heads(&id).unwrap(),
            olive.store.case_heads(&id).unwrap()
        );
    }
}

/// Set a case's assignee on this (team leader's) device.
fn assign(d: &mut Device, case: fieldbook_core::CaseId, to: &Device, at: i64) {
    let to = to.store.device().person_id;
    d.store
        .change_case(case, Timestamp(at), |c, a| {
            c.assign(Some(to), a)?;
            Ok("assign".into())
        })
        .unwrap();
}

/// Page N tells the device a case departed (reassigned away); before the device has written
/// page N, its request for page N+1 finds the case given back. The device may remove the case
/// while writing page N, so page N+1 must carry it whole, not as changes after the heads it
/// held before it left.
async fn a_case_that_departs_and_comes_back_while_a_page_is_ahead_comes_whole(backend: Backend) {
    let (_env, server) = started_on(backend);
    let mut olive = device(&server, "olive", Role::Officer).await;
    let mut owen = device(&server, "owen", Role::Officer).await;
    let mut lena = device(&server, "lena", Role::TeamLeader).await;
    // Each officer's own case teaches the server who they are (their device's person id).
    create(&mut olive, "Olive's own case");
    create(&mut owen, "Owen's own case");
    assert!(olive.sync(&server).await.is_empty());
    assert!(owen.sync(&server).await.is_empty());
    assert!(lena.sync(&server).await.is_empty());
    let case = create(&mut lena, "Fly-tipping behind the library");
    assign(&mut lena, case, &olive, 1_790_000_100_000);
    assert!(lena.sync(&server).await.is_empty());
    assert!(olive.sync(&server).await.is_empty());
    let id = case.to_string();
    assert!(olive.store.case_heads(&id).unwrap().is_some());

    // Given to Owen: Olive's next answer says it departed.
    assign(&mut lena, case, &owen, 1_790_000_200_000);
    assert!(lena.sync(&server).await.is_empty());
    let first_req = olive.request("departs", 10);
    let first = post(&server, &olive.token, &first_req).await;
    assert_eq!(
        first
            .departed
            .iter()
            .map(|d| &d.case_id)
            .collect::<Vec<_>>(),
        vec![&id]
    );
    // Given back (with a change) before her device has written that answer; it asks for what
    // follows meanwhile.
    assign(&mut lena, case, &olive, 1_790_000_300_000);
    retitle(
        &mut lena,
        case,
        "Fly-tipping behind the old library",
        1_790_000_300_000,
    );
    assert!(lena.sync(&server).await.is_empty());
    let ahead_req = SyncRequest {
        batch_id: "back".into(),
        since: first.next_since,
        applied: Some(first_req.since),
        push: vec![],
        ..first_req.clone()
    };
    let ahead = post(&server, &olive.token, &ahead_req).await;
    assert_eq!(ids(&ahead), vec![id.clone()]);
    assert!(whole(&ahead.pull[0]), "given back: whole");

    // Her device writes the first answer (the case leaves), then the second (it comes back).
    olive.apply(&first_req, &first);
    let gone = olive.store.depart(&id, 1_790_000_400_000).unwrap();
    assert!(gone.is_some_and(|d| d.removed_at.is_some()), "removed");
    assert!(olive.store.case_heads(&id).unwrap().is_none());
    olive.apply(&ahead_req, &ahead);
    assert!(olive.sync(&server).await.is_empty());
    assert_eq!(
        olive.store.load_case(case).unwrap().title,
        "Fly-tipping behind the old library"
    );
    assert_eq!(
        olive.store.case_heads(&id).unwrap(),
        lena.store.case_heads(&id).unwrap()
    );
    // And the server knows she holds it again: taken away once more, she is told.
    assign(&mut lena, case, &owen, 1_790_000_500_000);
    assert!(lena.sync(&server).await.is_empty());
    let req = olive.request("departs-again", 10);
    let res = post(&server, &olive.token, &req).await;
    assert_eq!(
        res.departed.iter().map(|d| &d.case_id).collect::<Vec<_>>(),
        vec![&id]
    );
}

/// A device store in `dir`, signed in to the server at `base` through `fieldbook_client::login`
/// (blocking: call from a blocking task).
fn signed_in(dir: &std::path::Path, base: &str, name: &str, role: Role) -> Store {
    let mut store = Store::init(
        &dir.join(name),
        "device passphrase",
        DeviceSetup {
            person_name: name.into(),
            role,
            device_number: common::next_device_number(),
        },
        Timestamp(1_790_000_000_000),
    )
    .unwrap();
    fieldbook_client::login(&mut store, base, name, PASSWORD, 1_790_000_000_000).unwrap();
    store
}

/// `n` general cases titled "`title` 0" to "`title` n-1", in one transaction.
fn create_many(store: &mut Store, n: usize, title: &str) -> Vec<fieldbook_core::CaseId> {
    let new = (0..n)
        .map(|i| {
            let title = format!("{title} {i}");
            (
                CaseKind::General,
                NewCase {
                    title,
                    ..NewCase::default()
                },
            )
        })
        .collect();
    store
        .create_cases(new, Timestamp(1_790_000_000_000))
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// `fieldbook_client::sync_with`, stopped while it writes page 2 (the device was locked, say)
/// with page 3 already asked for: the next sync carries on from page 1's end and the device
/// ends with exactly the server's cases, although page 2's and 3's changed meanwhile.
async fn a_sync_stopped_while_writing_a_page_with_the_next_in_flight_carries_on(backend: Backend) {
    let (env, server) = started_on(backend);
    let base = server.base.clone();
    let dir = env.dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut olive = signed_in(&dir, &base, "olive", Role::Officer);
        let mut lena = signed_in(&dir, &base, "lena", Role::TeamLeader);
        // Three pages of 100 (the client's page size).
        let cases = create_many(&mut olive, 250, "Pothole");
        fieldbook_client::sync(&mut olive, 1_790_000_000_000).unwrap();

        let written = std::cell::Cell::new(0_u64);
        let mut lends = 0;
        let stopped = fieldbook_client::sync_with(
            |f| {
                lends += 1;
                // After page 1 is written, the next lend of the store (to write page 2) is
                // refused once; the sync's closing record goes through.
                if written.get() == 100 {
                    written.set(u64::MAX);
                    return Err(fieldbook_client::ClientError::Interrupted);
                }
                f(&mut lena)
            },
            1_790_000_000_000,
            &mut |p| {
                if written.get() != u64::MAX {
                    written.set(p.pulled);
                }
            },
        );
        assert_eq!(
            stopped.map_err(|e| e.code().to_string()).unwrap_err(),
            "sync_interrupted"
        );
        assert_eq!(
            lends, 5,
            "signed-in, prepare, page 1, page 2 (refused), the closing record"
        );
        assert_eq!(lena.case_count().unwrap(), 100);

        // Every case changes; Lena's next sync gets what she lacks, whole where she has nothing.
        for (i, case) in cases.iter().enumerate() {
            olive
                .change_case(*case, Timestamp(1_790_000_100_000), |c, a| {
                    c.edit(
                        CaseEdit {
                            title: Some(format!("Pothole {i}, Mill Road")),
                            ..CaseEdit::default()
                        },
                        a,
                    )?;
                    Ok("title".into())
                })
                .unwrap();
        }
        fieldbook_client::sync(&mut olive, 1_790_000_100_000).unwrap();
        let report = fieldbook_client::sync(&mut lena, 1_790_000_100_000).unwrap();
        assert_eq!(report.pulled, 250, "{report:?}");
        assert_eq!(lena.case_count().unwrap(), 250);
        for case in &cases {
            let id = case.to_string();
            assert_eq!(
                lena.case_heads(&id).unwrap(),
                olive.case_heads(&id).unwrap()
            );
        }
    })
    .await
    .unwrap();
}

/// A stand-in for a server from before `applied`: it refuses a sync request naming the field as
/// such a server does (422 `invalid_body`, an unknown field) and passes everything else to the
/// real server. Returns its address and how many requests it refused.
async fn server_without_applied(
    real: String,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode, header};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let refused = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = refused.clone();
    let app = axum::Router::new().route(
        "/sync/v1/sync",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (real, counter) = (real.clone(), counter.clone());
            async move {
                let req: serde_json::Value = serde_json::from_slice(&body).unwrap();
                if req.get("applied").is_some() {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let body =
                        json!({"code": "invalid_body", "message": "unknown field `applied`"});
                    return (StatusCode::UNPROCESSABLE_ENTITY, body.to_string());
                }
                let res = client()
                    .post(format!("{real}/sync/v1/sync"))
                    .header(
                        header::AUTHORIZATION,
                        headers[header::AUTHORIZATION].clone(),
                    )
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (
                    StatusCode::from_u16(res.status().as_u16()).unwrap(),
                    res.text().await.unwrap(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), refused)
}

/// A device whose client asks for pages ahead, against a server that does not know `applied`:
/// the first request ahead is refused, asked again without it, and the rest of the sync goes a
/// page at a time, as before.
async fn a_server_from_before_applied_gets_each_page_after_the_one_before(backend: Backend) {
    let (env, server) = started_on(backend);
    let (old, refused) = server_without_applied(server.base.clone()).await;
    let base = server.base.clone();
    let dir = env.dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut olive = signed_in(&dir, &base, "olive", Role::Officer);
        let mut lena = signed_in(&dir, &base, "lena", Role::TeamLeader);
        create_many(&mut olive, 250, "Streetlight out");
        fieldbook_client::sync(&mut olive, 1_790_000_000_000).unwrap();
        // Lena's device talks to the old server from now on.
        let token = lena.server_link().unwrap().unwrap().token;
        lena.link_server(&old, &token, "lena", 1_790_000_000_000)
            .unwrap();
        let report = fieldbook_client::sync(&mut lena, 1_790_000_000_000).unwrap();
        assert_eq!(
            refused.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "asked ahead once, then not again"
        );
        assert_eq!((report.pulled, report.rounds), (250, 3), "{report:?}");
        assert_eq!(lena.case_count().unwrap(), 250);
        assert_eq!(lena.sync_since().unwrap(), olive.sync_since().unwrap());
    })
    .await
    .unwrap();
}
