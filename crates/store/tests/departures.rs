//! A case reassigned away leaves the device only once nothing of it waits to be pushed, and
//! takes its drafts and search entries with it.
#![allow(clippy::unwrap_used)]

use fieldbook_core::{CaseKind, NewCase, Role, Timestamp};
use fieldbook_store::{CaseQuery, DeviceSetup, Store};

#[test]
fn a_departed_case_waits_for_its_unsynced_edits_then_goes_with_its_drafts() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::init(
        dir.path(),
        "correct horse battery",
        DeviceSetup {
            person_name: "Olive".into(),
            role: Role::Officer,
            device_number: 3,
        },
        Timestamp(1_790_000_000_000),
    )
    .unwrap();
    let new = |title: &str| NewCase {
        title: title.into(),
        ..NewCase::default()
    };
    let stays = store
        .create_case(
            CaseKind::General,
            new("Stays here"),
            Timestamp(1_790_000_000_001),
        )
        .unwrap();
    let leaves = store
        .create_case(
            CaseKind::General,
            new("Mattress on the verge"),
            Timestamp(1_790_000_000_002),
        )
        .unwrap();
    let id = leaves.id.to_string();
    store
        .save_draft(
            &format!("case:{id}:title"),
            "Mattress",
            Timestamp(1_790_000_000_003),
        )
        .unwrap();
    store
        .save_draft(
            &format!("case:{}:title", stays.id),
            "Kept",
            Timestamp(1_790_000_000_003),
        )
        .unwrap();

    // Unsynced: it stays, marked as leaving.
    let d = store.depart(&id, 10).unwrap().unwrap();
    assert_eq!(
        (d.reference.as_str(), d.removed_at),
        (leaves.reference.as_str(), None)
    );
    assert!(store.load_case(leaves.id).is_ok());
    assert!(store.finish_departures(11).unwrap().is_empty());

    // Once the server holds its changes it goes: document, projections, search, drafts.
    for out in store.outgoing(10).unwrap() {
        store.acknowledge(&out.case_id, &out.sent_heads).unwrap();
    }
    let done = store.finish_departures(12).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].removed_at, Some(12));
    assert_eq!(
        store.load_case(leaves.id).unwrap_err().code(),
        "case_not_found"
    );
    let page = store
        .list_cases(&CaseQuery {
            search: Some("mattress".into()),
            limit: 10,
            ..CaseQuery::default()
        })
        .unwrap();
    assert_eq!(page.total, 0);
    assert_eq!(store.case_count().unwrap(), 1);
    assert!(store.drafts(&format!("case:{id}:")).unwrap().is_empty());
    assert_eq!(
        store.drafts(&format!("case:{}:", stays.id)).unwrap().len(),
        1
    );
    assert_eq!(store.departures().unwrap().len(), 1);
    store.integrity_check().unwrap();
    assert_eq!(store.rebuild_projections().unwrap(), 1);

    // A case the device never had is ignored.
    assert!(store.depart("no-such-case", 13).unwrap().is_none());
}
