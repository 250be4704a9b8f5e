//! Sign-in and sync of real encrypted devices against a real server on loopback
//! (`common/server.rs`), through the device API the shell's background sync calls.
#![allow(clippy::unwrap_used)]

#[path = "common/server.rs"]
mod server;

use fieldbook_app::{self as app, Ctx};
use server::{PASSWORD, TestServer};

fn device(dir: &std::path::Path, name: &str, role: &str, number: u32) -> Ctx {
    let ctx = Ctx::new(dir);
    app::init_device(
        &ctx,
        app::InitArgs {
            passphrase: "device passphrase".into(),
            person_name: name.into(),
            role: role.into(),
            device_number: number,
        },
    )
    .unwrap();
    ctx
}

fn sign_in(ctx: &Ctx, server: &TestServer, user: &str) {
    app::sign_in(
        ctx,
        app::SignInArgs {
            server: server.url.clone(),
            user: user.into(),
            password: PASSWORD.into(),
        },
    )
    .unwrap();
}

#[test]
fn a_sync_reports_its_progress_page_by_page() {
    let server = TestServer::start();
    let tmp = tempfile::tempdir().unwrap();
    let olive = device(&tmp.path().join("olive"), "Olive", "officer", 11);
    let lena = device(&tmp.path().join("lena"), "Lena", "team_leader", 12);
    sign_in(&olive, &server, "olive");
    sign_in(&lena, &server, "lena");

    // 250 cases: more than one push batch (200) and than one pull page (100).
    let cases = (0..250)
        .map(|i| app::NewCaseArgs {
            kind: "housing".into(),
            title: format!("Case {i}"),
            ..Default::default()
        })
        .collect();
    app::create_cases(&olive, cases).unwrap();

    let mut pushing = Vec::new();
    let sent = app::sync_now_with_progress(&olive, |p| pushing.push(p)).unwrap();
    assert_eq!(sent.pushed, 250);
    let last = pushing.last().unwrap();
    assert_eq!(last.pushed, 250, "{pushing:?}");
    assert!(
        pushing.windows(2).all(|w| w[0].pushed <= w[1].pushed),
        "{pushing:?}"
    );

    let mut pulling = Vec::new();
    let got = app::sync_now_with_progress(&lena, |p| pulling.push((p.pulled, p.total))).unwrap();
    assert_eq!(got.pulled, 250);
    assert_eq!(pulling, vec![(100, 250), (200, 250), (250, 250)]);
    assert_eq!(app::device(&lena).unwrap().case_count, 250);

    // Up to date: one round trip, nothing to pull.
    let mut again = Vec::new();
    app::sync_now_with_progress(&lena, |p| again.push((p.pulled, p.total))).unwrap();
    assert_eq!(again, vec![(0, 0)]);
}
