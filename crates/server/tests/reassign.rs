//! Reassignment through the real server: a team leader gives an officer's case to someone else
//! while the officer works offline. Her unsynced edits reach the server first, then the case
//! leaves her device (and she is told); given back, it returns whole.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Backend, app_device, started_on, sync_ok as sync};
use fieldbook_app::{AssignArgs, Ctx, ListArgs, NewCaseArgs, NoteArgs};

fn create(ctx: &Ctx, title: &str) -> String {
    fieldbook_app::create_case(
        ctx,
        NewCaseArgs {
            kind: "general".into(),
            title: title.into(),
            ..NewCaseArgs::default()
        },
    )
    .unwrap()
    .id
}

fn assign(ctx: &Ctx, case: &str, to: &str) {
    fieldbook_app::assign(
        ctx,
        AssignArgs {
            case: case.into(),
            to: to.into(),
        },
    )
    .unwrap();
}

fn ids(ctx: &Ctx) -> Vec<String> {
    let mut ids: Vec<String> = fieldbook_app::list_cases(ctx, ListArgs::default())
        .unwrap()
        .cases
        .into_iter()
        .map(|c| c.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn a_reassigned_case_takes_the_officers_offline_edits_then_leaves_her_device_sqlite() {
    reassigned_away(Backend::Sqlite);
}

#[test]
fn a_reassigned_case_takes_the_officers_offline_edits_then_leaves_her_device_postgres() {
    reassigned_away(Backend::Postgres);
}

fn reassigned_away(backend: Backend) {
    let (_env, server) = started_on(backend);
    let devices = [
        app_device(&server.base, "olive", "officer"),
        app_device(&server.base, "owen", "officer"),
        app_device(&server.base, "lena", "team_leader"),
    ];
    let [olive, owen, lena] = devices.each_ref().map(|d| &d.ctx);

    // Each officer's own case teaches the leader's device who they are.
    let olives_own = create(olive, "Olive's own case");
    create(owen, "Owen's own case");
    sync(olive);
    sync(owen);
    sync(lena);

    let case = create(lena, "Fly-tipping behind the library");
    assign(lena, &case, "olive");
    sync(lena);
    sync(olive);
    assert!(ids(olive).contains(&case));

    // Olive writes a note offline; meanwhile Lena gives the case to Owen.
    fieldbook_app::add_note(
        olive,
        NoteArgs {
            case: case.clone(),
            text: "Six bags and a mattress".into(),
        },
    )
    .unwrap();
    assign(lena, &case, "owen");
    sync(lena);

    let report = sync(olive);
    assert_eq!(report.pushed, 1, "her note went first: {report:?}");
    assert_eq!(report.departed.len(), 1, "{report:?}");
    let gone = &report.departed[0];
    assert_eq!((gone.case_id.as_str(), gone.removed), (case.as_str(), true));
    assert_eq!(gone.title, "Fly-tipping behind the library");
    assert_eq!(ids(olive), vec![olives_own.clone()]);
    assert_eq!(
        fieldbook_app::open_case(olive, &case).unwrap_err().code(),
        "case_not_found"
    );
    let notices = fieldbook_app::departures(olive).unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].reference, gone.reference);
    assert_eq!(
        fieldbook_app::sync_status(olive).unwrap().departed,
        notices,
        "the app's status carries the notice"
    );

    // Her note reached the others.
    sync(owen);
    sync(lena);
    for ctx in [owen, lena] {
        let c = fieldbook_app::open_case(ctx, &case).unwrap();
        assert_eq!(c.notes.len(), 1);
        assert_eq!(c.notes[0].text, "Six bags and a mattress");
    }
    // A second sync tells her nothing new.
    assert!(sync(olive).departed.is_empty());

    // Given back to her, the case returns whole (not as changes her device no longer has).
    assign(lena, &case, "olive");
    sync(lena);
    sync(olive);
    let back = fieldbook_app::open_case(olive, &case).unwrap();
    assert_eq!(back.notes.len(), 1);
    assert_eq!(back.title, "Fly-tipping behind the library");

    // Officers may not assign.
    let err = fieldbook_app::assign(
        olive,
        AssignArgs {
            case: case.clone(),
            to: "owen".into(),
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "may_not_reassign");
}
