//! The server's decision on pushed changes, with documents built as a device builds them: a
//! `Case` from `fieldbook-core`, reconciled into an automerge document written as the device's
//! actor.
#![allow(clippy::unwrap_used)]

use automerge::{ActorId, AutoCommit, ChangeHash};
use fieldbook_core::template::{AnswerValue, ItemKind, latest_template};
use fieldbook_core::{
    Actor, Case, CaseEdit, CaseId, CaseKind, CaseStatus, NewCase, PersonId, Role, Timestamp,
};
use fieldbook_sync::{Applied, Refusal, Rights, apply_push, changes_since};

/// A push that claims no device heads (the heads check has its own test).
fn apply_push_(
    stored: Option<&[u8]>,
    case_id: &str,
    changes: &[u8],
    rights: &Rights,
) -> Result<Applied, Refusal> {
    apply_push(stored, case_id, changes, &[], rights)
}

/// A device: a person with a role, writing as its own automerge actor.
struct Device {
    actor: ActorId,
    who: Actor,
}

impl Device {
    fn new(role: Role) -> Self {
        Self {
            actor: ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice()),
            who: Actor {
                person: PersonId::new(),
                role,
            },
        }
    }

    fn rights(&self, in_team: bool) -> Rights {
        Rights {
            person: self.who.person,
            aliases: vec![],
            role: self.who.role,
            actors: vec![self.actor.clone()],
            in_team,
        }
    }

    /// A new case created on this device: its document and the bytes a first push sends.
    fn create(&self) -> (AutoCommit, Vec<u8>) {
        let case = Case::new(
            CaseId::new(),
            CaseKind::General,
            "GN-2026-1-0001".into(),
            NewCase {
                title: "Overgrown hedge".into(),
                ..NewCase::default()
            },
            self.who,
            Timestamp(1),
        )
        .unwrap();
        let mut doc = AutoCommit::new().with_actor(self.actor.clone());
        autosurgeon::reconcile(&mut doc, &case).unwrap();
        let bytes = doc.save();
        (doc, bytes)
    }

    /// This device's copy of a document the server sent.
    fn receive(&self, bytes: &[u8]) -> AutoCommit {
        AutoCommit::load(bytes)
            .unwrap()
            .with_actor(self.actor.clone())
    }

    /// Change the case on this device; returns the changes after the heads it had.
    fn change(&self, doc: &mut AutoCommit, f: impl FnOnce(&mut Case, Actor)) -> Vec<u8> {
        let heads = doc.get_heads();
        let before: Case = autosurgeon::hydrate(doc).unwrap();
        let mut after = before.clone();
        f(&mut after, self.who);
        fieldbook_core::case::reconcile_changes(doc, &before, &after).unwrap();
        doc.commit();
        doc.save_after(&heads)
    }
}

fn title(t: &str) -> impl FnOnce(&mut Case, Actor) {
    let t = t.to_string();
    move |c, a| {
        c.edit(
            CaseEdit {
                title: Some(t),
                ..CaseEdit::default()
            },
            a,
        )
        .unwrap()
    }
}

/// Start a general visit and answer every required question.
fn complete_visit(c: &mut Case, a: Actor) {
    let t = latest_template("general-visit").unwrap();
    let v = c.add_visit(t, None, a, Timestamp(2)).unwrap();
    for item in t.items().filter(|i| i.required) {
        let value = match &item.kind {
            ItemKind::YesNo => AnswerValue::YesNo(false),
            ItemKind::Choice { options } => AnswerValue::Choice(options[0].value.clone()),
            ItemKind::Text { .. } => t.parse_answer(&item.id, "Seen from the road").unwrap(),
            ItemKind::Number { min, .. } => AnswerValue::Number(*min),
            ItemKind::Date => t.parse_answer(&item.id, "2026-03-01").unwrap(),
            ItemKind::Score { options } => AnswerValue::Score(options[0]),
        };
        c.answer(v, &item.id, value, a, Timestamp(3)).unwrap();
    }
}

fn id_of(doc: &AutoCommit) -> String {
    let c: Case = autosurgeon::hydrate(doc).unwrap();
    c.id.to_string()
}

#[test]
fn a_new_case_is_accepted_once_and_a_replay_changes_nothing() {
    let officer = Device::new(Role::Officer);
    let (doc, bytes) = officer.create();
    let id = id_of(&doc);
    let first = apply_push_(None, &id, &bytes, &officer.rights(false)).unwrap();
    assert!(first.changed);
    assert_eq!(first.meta.created_by, officer.who.person.to_string());
    assert_eq!(first.meta.status, "open");
    let mut doc = doc;
    let heads = doc.get_heads();
    let again = apply_push(
        Some(&first.doc),
        &id,
        &bytes,
        &heads,
        &officer.rights(false),
    )
    .unwrap();
    assert!(!again.changed, "a replayed push changed the case");
    assert_eq!(again.heads, first.heads);
    assert_eq!(again.doc, first.doc);
}

#[test]
fn only_the_devices_own_actors_may_write() {
    let officer = Device::new(Role::Officer);
    let other = Device::new(Role::Officer);
    let (doc, bytes) = officer.create();
    let e = apply_push_(None, &id_of(&doc), &bytes, &other.rights(false)).unwrap_err();
    assert_eq!(e.code(), "foreign_actor");
}

#[test]
fn officers_change_only_their_cases_and_never_reassign_or_approve() {
    let officer = Device::new(Role::Officer);
    let stranger = Device::new(Role::Officer);
    let leader = Device::new(Role::TeamLeader);
    let (mut doc, bytes) = officer.create();
    let id = id_of(&doc);
    let stored = apply_push_(None, &id, &bytes, &officer.rights(false))
        .unwrap()
        .doc;

    // Another officer's device, even holding a copy, may not change it.
    let mut theirs = stranger.receive(&stored);
    let push = stranger.change(&mut theirs, title("Mine now"));
    let e = apply_push_(Some(&stored), &id, &push, &stranger.rights(true)).unwrap_err();
    assert_eq!(e, Refusal::NotYourCase);

    // The officer may not hand the case to someone else.
    let push = officer.change(&mut doc, |c, _| c.assignee = Some(stranger.who.person));
    let e = apply_push_(Some(&stored), &id, &push, &officer.rights(false)).unwrap_err();
    assert_eq!(e.code(), "may_not_reassign");

    // A team leader of the case's team may; one from another team may not.
    let mut led = leader.receive(&stored);
    let push = leader.change(&mut led, |c, _| c.assignee = Some(stranger.who.person));
    assert_eq!(
        apply_push_(Some(&stored), &id, &push, &leader.rights(false)).unwrap_err(),
        Refusal::NotYourCase
    );
    let applied = apply_push_(Some(&stored), &id, &push, &leader.rights(true)).unwrap();
    assert_eq!(applied.meta.assignee, Some(stranger.who.person.to_string()));
}

#[test]
fn edits_made_while_a_case_was_yours_are_accepted_after_it_is_reassigned_later_ones_are_not() {
    let leader = Device::new(Role::TeamLeader);
    let olive = Device::new(Role::Officer);
    let owen = Device::new(Role::Officer);
    let (mut led, bytes) = leader.create();
    let id = id_of(&led);
    let stored = apply_push_(None, &id, &bytes, &leader.rights(true))
        .unwrap()
        .doc;
    let push = leader.change(&mut led, |c, _| c.assignee = Some(olive.who.person));
    let stored = apply_push_(Some(&stored), &id, &push, &leader.rights(true))
        .unwrap()
        .doc;

    // Olive takes the case offline; meanwhile her leader gives it to Owen.
    let mut hers = olive.receive(&stored);
    let push = leader.change(&mut led, |c, _| c.assignee = Some(owen.who.person));
    let reassigned = apply_push_(Some(&stored), &id, &push, &leader.rights(true))
        .unwrap()
        .doc;

    // What Olive did while it was hers still reaches the server...
    let push = olive.change(&mut hers, title("Hedge cut back, rubbish left"));
    let applied = apply_push_(Some(&reassigned), &id, &push, &olive.rights(true)).unwrap();
    assert!(applied.changed);
    assert_eq!(applied.meta.assignee, Some(owen.who.person.to_string()));
    let merged: Case = autosurgeon::hydrate(&AutoCommit::load(&applied.doc).unwrap()).unwrap();
    assert_eq!(merged.title, "Hedge cut back, rubbish left");

    // ...but once she has seen it is Owen's, she may change it no more.
    let mut now_owens = olive.receive(&applied.doc);
    let push = olive.change(&mut now_owens, title("Still mine?"));
    let e = apply_push_(Some(&applied.doc), &id, &push, &olive.rights(true)).unwrap_err();
    assert_eq!(e, Refusal::NotYourCase);
}

#[test]
fn status_moves_follow_the_review_path_for_the_role() {
    let officer = Device::new(Role::Officer);
    let leader = Device::new(Role::TeamLeader);
    let (mut doc, bytes) = officer.create();
    let id = id_of(&doc);
    let rights = officer.rights(false);
    let stored = apply_push_(None, &id, &bytes, &rights).unwrap().doc;

    // Submitting with an unanswered visit is refused, as on the device.
    let mut early = officer.receive(&stored);
    let push = officer.change(&mut early, |c, a| {
        c.add_visit(
            latest_template("general-visit").unwrap(),
            None,
            a,
            Timestamp(2),
        )
        .unwrap();
        c.status = CaseStatus::Submitted;
    });
    assert_eq!(
        apply_push_(Some(&stored), &id, &push, &rights)
            .unwrap_err()
            .code(),
        "visit_incomplete"
    );

    // Offline, the officer recorded a full visit and submitted: open → in progress → submitted.
    let push = officer.change(&mut doc, |c, a| {
        complete_visit(c, a);
        c.submit(a).unwrap();
    });
    let submitted = apply_push_(Some(&stored), &id, &push, &rights).unwrap();
    assert_eq!(submitted.meta.status, "submitted");

    // An officer cannot approve (whatever their device's copy says) ...
    let push = officer.change(&mut doc, |c, _| c.status = CaseStatus::Approved);
    let e = apply_push_(Some(&submitted.doc), &id, &push, &rights).unwrap_err();
    assert_eq!(e.code(), "transition_not_allowed");
    // ... a team leader can.
    let mut led = leader.receive(&submitted.doc);
    let push = leader.change(&mut led, |c, a| {
        c.transition(CaseStatus::Approved, a).unwrap()
    });
    let approved = apply_push_(Some(&submitted.doc), &id, &push, &leader.rights(true)).unwrap();
    assert_eq!(approved.meta.status, "approved");
}

#[test]
fn a_submitted_case_takes_notes_but_not_edits_made_before_it_was_submitted() {
    let officer = Device::new(Role::Officer);
    let (mut doc, bytes) = officer.create();
    let id = id_of(&doc);
    let rights = officer.rights(false);
    let stored = apply_push_(None, &id, &bytes, &rights).unwrap().doc;

    // A second device of the same officer (set up on its own, so with its own person id, which
    // the server knows as an alias of the officer) submits first ...
    let laptop = Device {
        actor: ActorId::from(uuid::Uuid::new_v4().as_bytes().as_slice()),
        who: Actor {
            person: PersonId::new(),
            role: Role::Officer,
        },
    };
    let mut copy = laptop.receive(&stored);
    let push = laptop.change(&mut copy, |c, a| {
        complete_visit(c, a);
        c.submit(a).unwrap();
    });
    let laptop_rights = Rights {
        person: laptop.who.person,
        aliases: vec![officer.who.person],
        actors: vec![laptop.actor.clone()],
        in_team: false,
        role: Role::Officer,
    };
    // Without the alias the laptop may not touch the tablet's case.
    let mut copy2 = laptop.receive(&stored);
    let push2 = laptop.change(&mut copy2, title("x"));
    let strict = Rights {
        aliases: vec![],
        ..laptop_rights.clone()
    };
    assert_eq!(
        apply_push_(Some(&stored), &id, &push2, &strict).unwrap_err(),
        Refusal::NotYourCase
    );
    let submitted = apply_push_(Some(&stored), &id, &push, &laptop_rights).unwrap();

    // ... then the tablet's title edit, made while the case was still open, arrives: refused.
    let push = officer.change(&mut doc, title("Overgrown hedge, 4 Mill Road"));
    let e = apply_push_(Some(&submitted.doc), &id, &push, &rights).unwrap_err();
    assert_eq!(e.code(), "case_locked");
    // A note is still welcome.
    let mut fresh = officer.receive(&submitted.doc);
    let push = officer.change(&mut fresh, |c, a| {
        c.add_note("Owner phoned back", a, Timestamp(9)).unwrap();
    });
    assert!(
        apply_push_(Some(&submitted.doc), &id, &push, &rights)
            .unwrap()
            .changed
    );
}

#[test]
fn concurrent_edits_to_different_fields_merge_and_each_side_gets_what_it_lacks() {
    let officer = Device::new(Role::Officer);
    let leader = Device::new(Role::TeamLeader);
    let (mut a, bytes) = officer.create();
    let id = id_of(&a);
    let stored = apply_push_(None, &id, &bytes, &officer.rights(false)).unwrap();
    let base: Vec<ChangeHash> = stored.heads.clone();
    let mut b = leader.receive(&stored.doc);

    let push_a = officer.change(&mut a, title("Overgrown hedge and fence"));
    let push_b = leader.change(&mut b, |c, _| c.due = Some("2027-01-31".parse().unwrap()));
    let s1 = apply_push_(Some(&stored.doc), &id, &push_a, &officer.rights(false)).unwrap();
    let s2 = apply_push_(Some(&s1.doc), &id, &push_b, &leader.rights(true)).unwrap();
    let merged: Case = autosurgeon::hydrate(&AutoCommit::load(&s2.doc).unwrap()).unwrap();
    assert_eq!(merged.title, "Overgrown hedge and fence");
    assert_eq!(
        merged.due.map(|d| d.to_string()).as_deref(),
        Some("2027-01-31")
    );

    // The officer's device lacks only the leader's change: it gets that, not the whole case.
    let mut known = a.get_heads();
    known.sort();
    let delta = changes_since(&s2.doc, &known).unwrap();
    assert!(
        delta.len() < s2.doc.len(),
        "{} vs {}",
        delta.len(),
        s2.doc.len()
    );
    a.load_incremental(&delta).unwrap();
    let mut server_heads = s2.heads.clone();
    server_heads.sort();
    let mut device_heads = a.get_heads();
    device_heads.sort();
    assert_eq!(device_heads, server_heads);
    // Heads the server does not know give the whole document.
    assert_eq!(changes_since(&s2.doc, &[]).unwrap().len(), s2.doc.len());
    assert!(!base.is_empty());
}

fn a_head_not_there() -> Vec<ChangeHash> {
    let mut other = AutoCommit::new();
    autosurgeon::reconcile(&mut other, std::collections::BTreeMap::from([("x", 1)])).unwrap();
    other.get_heads()
}

#[test]
fn garbage_and_changes_on_unknown_history_are_refused() {
    let officer = Device::new(Role::Officer);
    let (mut doc, bytes) = officer.create();
    let id = id_of(&doc);
    let rights = officer.rights(false);
    assert_eq!(
        apply_push_(None, &id, b"not automerge", &rights)
            .unwrap_err()
            .code(),
        "malformed_changes"
    );
    // Changes after heads the server never saw cannot be applied.
    let later = officer.change(&mut doc, title("Later"));
    assert_eq!(
        apply_push_(None, &id, &later, &rights).unwrap_err(),
        Refusal::MissingDependencies
    );
    // Heads the device claims must be among what it pushed.
    let (fresh, bytes2) = officer.create();
    let e = apply_push(None, &id_of(&fresh), &bytes2, &a_head_not_there(), &rights).unwrap_err();
    assert_eq!(e.code(), "malformed_changes");
    let mut fresh = fresh;
    let ok = apply_push(None, &id_of(&fresh), &bytes2, &fresh.get_heads(), &rights).unwrap();
    assert!(ok.changed);
    // A document for another case id than the one named.
    let e = apply_push_(None, &CaseId::new().to_string(), &bytes, &rights).unwrap_err();
    assert_eq!(e.code(), "case_mismatch");

    // Garbage for a case the server holds: another officer learns nothing of it, and its own
    // officer is told the bytes hold no changes (not acknowledged as a replay).
    let stored = apply_push(None, &id_of(&fresh), &bytes2, &fresh.get_heads(), &rights)
        .unwrap()
        .doc;
    let stranger = Device::new(Role::Officer);
    let e = apply_push_(
        Some(&stored),
        &id_of(&fresh),
        b"junk",
        &stranger.rights(true),
    );
    assert_eq!(e.unwrap_err(), Refusal::NotYourCase);
    let e = apply_push_(Some(&stored), &id_of(&fresh), b"junk", &rights).unwrap_err();
    assert_eq!(e.code(), "malformed_changes");
}
