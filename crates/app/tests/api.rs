//! The device API as a front end uses it, against a real encrypted store.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use fieldbook_app::{
    self as app, AddVisitArgs, AnswerArgs, Ctx, EditCaseArgs, InitArgs, ListArgs, NewCaseArgs,
    NoteArgs, TransitionArgs,
};
use fieldbook_core::Timestamp;

/// A clock that moves one second per reading, from 2026-09-21.
fn clock() -> (app::Clock, Arc<AtomicI64>) {
    let t = Arc::new(AtomicI64::new(1_790_000_000_000));
    let c = t.clone();
    (
        Box::new(move || Timestamp(c.fetch_add(1000, Ordering::SeqCst))),
        t,
    )
}

fn device(dir: &std::path::Path, role: &str) -> Ctx {
    let (clock, _) = clock();
    let ctx = Ctx::with_clock(dir, clock);
    app::init_device(
        &ctx,
        InitArgs {
            passphrase: "a long passphrase".into(),
            person_name: "Jo Inspector".into(),
            role: role.into(),
            device_number: 12,
        },
    )
    .unwrap();
    ctx
}

fn new_case(kind: &str, title: &str) -> NewCaseArgs {
    NewCaseArgs {
        kind: kind.into(),
        title: title.into(),
        postcode: Some("m1 1ae".into()),
        ..Default::default()
    }
}

#[test]
fn a_data_directory_with_no_device_says_so_until_one_is_set_up() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(dir.path().join("new"));
    assert_eq!(app::device(&ctx).unwrap_err().code(), "not_initialised");
    assert_eq!(
        app::unlock(&ctx, "a long passphrase").unwrap_err().code(),
        "not_initialised"
    );
    app::init_device(
        &ctx,
        InitArgs {
            passphrase: "a long passphrase".into(),
            person_name: "Jo Inspector".into(),
            role: "officer".into(),
            device_number: 3,
        },
    )
    .unwrap();
    assert_eq!(app::device(&ctx).unwrap().device_number, 3);
    app::lock(&ctx);
    assert_eq!(app::device(&ctx).unwrap_err().code(), "locked");
}

#[test]
fn a_locked_device_refuses_everything_until_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "officer");
    app::lock(&ctx);
    assert_eq!(
        app::list_cases(&ctx, ListArgs::default())
            .unwrap_err()
            .code(),
        "locked"
    );
    assert_eq!(
        app::unlock(&ctx, "nope nope nope").unwrap_err().code(),
        "wrong_passphrase"
    );
    assert!(!ctx.is_unlocked());
    let d = app::unlock(&ctx, "a long passphrase").unwrap();
    assert_eq!(
        (d.person_name.as_str(), d.role.as_str(), d.device_number),
        ("Jo Inspector", "officer", 12)
    );
    // A wrong passphrase while unlocked ends the session rather than leaving it open.
    assert_eq!(
        app::unlock(&ctx, "nope nope nope").unwrap_err().code(),
        "wrong_passphrase"
    );
    assert!(!ctx.is_unlocked());
}

#[test]
fn arguments_with_unknown_fields_are_refused_not_dropped() {
    // A misspelt optional field would otherwise be silently lost (a title never saved).
    let e = serde_json::from_value::<NewCaseArgs>(serde_json::json!({
        "kind": "general", "title": "T", "address": null, "postcode": null, "uprn": null,
        "lat": null, "lon": null, "accuracy_m": null, "due": null, "titel": "oops"
    }))
    .unwrap_err();
    assert!(e.to_string().contains("unknown field `titel`"), "{e}");
}

#[test]
fn the_officer_loop_create_visit_answer_submit() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "officer");
    let c = app::create_case(&ctx, new_case("food_hygiene", "Harbour Fish Bar")).unwrap();
    assert!(c.reference.starts_with("FH-2026-12-"), "{}", c.reference);
    assert_eq!(c.postcode.as_deref(), Some("M1 1AE"));
    let c = app::add_visit(
        &ctx,
        AddVisitArgs {
            case: c.reference.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.status, "in_progress");
    let visit = c.visits[0].id.clone();
    assert_eq!(c.visits[0].template_id, "food-hygiene");

    let err = app::submit(&ctx, &c.reference).unwrap_err();
    assert_eq!(err.code(), "visit_incomplete");
    assert!(err.to_string().contains("score"), "{err}");

    let answer = |item: &str, value: &str| {
        app::answer(
            &ctx,
            AnswerArgs {
                case: c.reference.clone(),
                visit: visit.clone(),
                item: item.into(),
                value: value.into(),
            },
        )
    };
    assert_eq!(
        answer("fh.hygiene", "7").unwrap_err().code(),
        "invalid_answer"
    );
    let templates = app::templates();
    let fh = templates.iter().find(|t| t.id == "food-hygiene").unwrap();
    for item in fh
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .filter(|i| i.required)
    {
        let value = match item.kind.as_str() {
            "yes_no" => "no".to_string(),
            "choice" | "score" => item.options[0].value.clone(),
            "number" => "3".to_string(),
            "date" => "2026-10-01".to_string(),
            _ => "Satisfactory".to_string(),
        };
        answer(&item.id, &value).unwrap();
    }
    let c = app::open_case(&ctx, &c.reference.to_lowercase()).unwrap();
    assert_eq!(c.visits[0].missing_required, Vec::<String>::new());
    assert_eq!(
        c.visits[0].score.as_ref().map(|s| (s.total, s.rating)),
        Some((0, 5))
    );
    // Clearing an answer is an ordinary change, and brings the requirement back.
    answer("fh.hygiene", "").unwrap();
    assert_eq!(
        app::submit(&ctx, &c.reference).unwrap_err().code(),
        "visit_incomplete"
    );
    answer("fh.hygiene", "5").unwrap();

    app::add_note(
        &ctx,
        NoteArgs {
            case: c.reference.clone(),
            text: "Advised on probe thermometer use".into(),
        },
    )
    .unwrap();
    let c = app::submit(&ctx, &c.reference).unwrap();
    assert_eq!(c.status, "submitted");
    assert!(!c.editable);
    assert_eq!(
        c.allowed_transitions,
        Vec::<String>::new(),
        "an officer cannot approve"
    );
    let err = app::transition(
        &ctx,
        TransitionArgs {
            case: c.reference.clone(),
            to: "approved".into(),
            comment: None,
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "role_may_not_transition");
    let err = app::edit_case(
        &ctx,
        EditCaseArgs {
            case: c.reference.clone(),
            title: Some("x".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.code(), "case_locked");

    let history = app::history(&ctx, &c.reference).unwrap();
    let messages: Vec<_> = history.iter().map(|h| h.message.as_str()).collect();
    assert_eq!(
        messages.first(),
        Some(&format!("Created case {}", c.reference).as_str())
    );
    assert_eq!(messages.last(), Some(&"Submitted for review"));
    assert!(
        messages.contains(&"Answered \"Hygienic food handling score\": 5"),
        "{messages:?}"
    );
    assert!(
        history
            .iter()
            .all(|h| h.person.as_ref().and_then(|p| p.name.as_deref()) == Some("Jo Inspector"))
    );
    assert!(history.windows(2).all(|w| w[0].at <= w[1].at));

    let d = app::device(&ctx).unwrap();
    assert_eq!((d.case_count, d.outbox_cases), (1, 1));
    assert_eq!(d.outbox_changes as usize, history.len());
}

#[test]
fn a_team_leader_approves_or_returns_with_a_comment() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "team_leader");
    let c = app::create_case(&ctx, new_case("general", "Noise complaint, 4 Mill Road")).unwrap();
    let c = app::add_visit(
        &ctx,
        AddVisitArgs {
            case: c.id.clone(),
            template: Some("general-visit".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let visit = c.visits[0].id.clone();
    let general = app::templates()
        .into_iter()
        .find(|t| t.id == "general-visit")
        .unwrap();
    for item in general
        .sections
        .iter()
        .flat_map(|s| s.items.clone())
        .filter(|i| i.required)
    {
        let value = match item.kind.as_str() {
            "yes_no" => "yes".to_string(),
            "choice" => item.options[0].label.clone(),
            _ => "Music audible from the street at 23:40".to_string(),
        };
        app::answer(
            &ctx,
            AnswerArgs {
                case: c.id.clone(),
                visit: visit.clone(),
                item: item.id.clone(),
                value,
            },
        )
        .unwrap();
    }
    app::submit(&ctx, &c.id).unwrap();
    let returned = app::transition(
        &ctx,
        TransitionArgs {
            case: c.id.clone(),
            to: "returned".into(),
            comment: Some("Add the decibel reading".into()),
        },
    )
    .unwrap();
    assert_eq!(returned.status, "returned");
    assert_eq!(
        returned.notes.last().map(|n| n.text.as_str()),
        Some("Add the decibel reading")
    );
    assert!(returned.editable);

    // Picked up again, resubmitted, approved, and closed with a closing comment.
    let move_to = |to: &str, comment: Option<&str>| {
        app::transition(
            &ctx,
            TransitionArgs {
                case: c.id.clone(),
                to: to.into(),
                comment: comment.map(String::from),
            },
        )
    };
    move_to("in_progress", None).unwrap();
    move_to("submitted", None).unwrap();
    move_to("approved", Some("Good work")).unwrap();
    let closed = move_to("closed", Some("No further action")).unwrap();
    assert_eq!(closed.status, "closed");
    assert_eq!(
        closed.notes.last().map(|n| n.text.as_str()),
        Some("No further action")
    );
    assert_eq!(
        move_to("approved", None).unwrap_err().code(),
        "transition_not_allowed"
    );
}

#[test]
fn bad_input_is_refused_with_a_code_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "officer");
    let c = app::create_case(&ctx, new_case("highways", "Pothole, Station Road")).unwrap();
    let before = (
        app::open_case(&ctx, &c.id).unwrap(),
        app::history(&ctx, &c.id).unwrap(),
    );
    let bad_new = [
        (
            NewCaseArgs {
                lat: Some(91.0),
                lon: Some(0.0),
                ..new_case("general", "x")
            },
            "invalid_location",
        ),
        (
            NewCaseArgs {
                lat: Some(0.0),
                lon: Some(-180.5),
                ..new_case("general", "x")
            },
            "invalid_location",
        ),
        (
            NewCaseArgs {
                lat: Some(f64::NAN),
                lon: Some(0.0),
                ..new_case("general", "x")
            },
            "invalid_location",
        ),
        (
            NewCaseArgs {
                lat: Some(51.0),
                ..new_case("general", "x")
            },
            "invalid_input",
        ),
        (new_case("general", " "), "empty_title"),
        (new_case("general", &"t".repeat(201)), "too_long"),
        (new_case("spaceship", "x"), "unknown_case_kind"),
        (
            NewCaseArgs {
                uprn: Some("12a".into()),
                ..new_case("general", "x")
            },
            "invalid_uprn",
        ),
        (
            NewCaseArgs {
                postcode: Some("NOT A CODE".into()),
                ..new_case("general", "x")
            },
            "invalid_postcode",
        ),
        (
            NewCaseArgs {
                due: Some("2026-02-30".into()),
                ..new_case("general", "x")
            },
            "invalid_date",
        ),
    ];
    for (args, code) in bad_new {
        assert_eq!(app::create_case(&ctx, args).unwrap_err().code(), code);
    }
    // A batch with one bad case creates none of them.
    let err = app::create_cases(
        &ctx,
        vec![new_case("general", "fine"), new_case("general", "")],
    )
    .unwrap_err();
    assert_eq!(err.code(), "empty_title");
    let bad_edits = [
        (
            EditCaseArgs {
                case: c.id.clone(),
                title: Some("".into()),
                ..Default::default()
            },
            "empty_title",
        ),
        (
            EditCaseArgs {
                case: c.id.clone(),
                due: Some("tomorrow".into()),
                ..Default::default()
            },
            "invalid_date",
        ),
        (
            EditCaseArgs {
                case: c.id.clone(),
                lat: Some(-90.01),
                lon: Some(1.0),
                ..Default::default()
            },
            "invalid_location",
        ),
        (
            EditCaseArgs {
                case: c.id.clone(),
                ..Default::default()
            },
            "invalid_input",
        ),
        (
            EditCaseArgs {
                case: "HW-2026-12-9999".into(),
                title: Some("x".into()),
                ..Default::default()
            },
            "case_not_found",
        ),
        (
            EditCaseArgs {
                case: "not a reference".into(),
                title: Some("x".into()),
                ..Default::default()
            },
            "case_not_found",
        ),
    ];
    for (args, code) in bad_edits {
        assert_eq!(app::edit_case(&ctx, args).unwrap_err().code(), code);
    }
    assert_eq!(
        app::add_note(
            &ctx,
            NoteArgs {
                case: c.id.clone(),
                text: "n".repeat(10_001)
            }
        )
        .unwrap_err()
        .code(),
        "too_long"
    );
    assert_eq!(
        app::answer(
            &ctx,
            AnswerArgs {
                case: c.id.clone(),
                visit: "nope".into(),
                item: "x".into(),
                value: "1".into()
            }
        )
        .unwrap_err()
        .code(),
        "invalid_id"
    );
    assert_eq!(
        app::add_visit(
            &ctx,
            AddVisitArgs {
                case: c.id.clone(),
                template: Some("no-such-template".into()),
                ..Default::default()
            }
        )
        .unwrap_err()
        .code(),
        "unknown_template"
    );
    assert_eq!(
        app::list_cases(
            &ctx,
            ListArgs {
                limit: Some(0),
                ..Default::default()
            }
        )
        .unwrap_err()
        .code(),
        "invalid_input"
    );
    assert_eq!(
        app::list_cases(
            &ctx,
            ListArgs {
                sort: Some("colour".into()),
                ..Default::default()
            }
        )
        .unwrap_err()
        .code(),
        "invalid_input"
    );
    assert_eq!(
        app::list_cases(
            &ctx,
            ListArgs {
                statuses: vec!["lost".into()],
                ..Default::default()
            }
        )
        .unwrap_err()
        .code(),
        "unknown_status"
    );
    let after = (
        app::open_case(&ctx, &c.id).unwrap(),
        app::history(&ctx, &c.id).unwrap(),
    );
    assert_eq!(before, after);
    assert_eq!(app::device(&ctx).unwrap().case_count, 1);
}

#[test]
fn edits_clear_fields_with_empty_values() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "officer");
    let c = app::create_case(
        &ctx,
        NewCaseArgs {
            uprn: Some("100023336956".into()),
            due: Some("2026-12-01".into()),
            lat: Some(51.5),
            lon: Some(-0.12),
            ..new_case("housing", "Damp, Flat 2")
        },
    )
    .unwrap();
    assert_eq!(
        c.location.as_ref().map(|l| l.source.as_str()),
        Some("manual")
    );
    let c = app::edit_case(
        &ctx,
        EditCaseArgs {
            case: c.reference,
            uprn: Some("".into()),
            due: Some("".into()),
            clear_location: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        (c.uprn, c.due.as_deref(), c.location.is_none()),
        (None, None, true)
    );
    let history = app::history(&ctx, &c.id).unwrap();
    assert_eq!(
        history.last().map(|h| h.message.as_str()),
        Some("Changed UPRN, location, due date")
    );
}

#[test]
fn errors_serialise_as_code_and_message() {
    let err = app::AppError::Locked;
    let json = serde_json::to_value(&err).unwrap();
    assert_eq!(json["code"], "locked");
    assert!(json["message"].as_str().unwrap().contains("unlock"));
    assert!(json.get("field").is_none());
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "officer");
    let err = app::list_cases(
        &ctx,
        ListArgs {
            limit: Some(0),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(serde_json::to_value(&err).unwrap()["field"], "limit");

    // Domain errors about one field name it, so a form can put the message beside it.
    let field_of = |e: app::AppError| serde_json::to_value(&e).unwrap()["field"].clone();
    let bad = |f: fn(&mut NewCaseArgs)| {
        let mut a = new_case("food_hygiene", "A title");
        f(&mut a);
        app::create_case(&ctx, a).unwrap_err()
    };
    assert_eq!(field_of(bad(|a| a.title = " ".into())), "title");
    assert_eq!(field_of(bad(|a| a.title = "x".repeat(500))), "title");
    assert_eq!(
        field_of(bad(|a| a.postcode = Some("nope".into()))),
        "postcode"
    );
    assert_eq!(field_of(bad(|a| a.uprn = Some("12x".into()))), "uprn");
    assert_eq!(field_of(bad(|a| a.lat = Some(91.0))), "location");
    let c = app::create_case(&ctx, new_case("food_hygiene", "Chip shop")).unwrap();
    let c = app::add_visit(
        &ctx,
        AddVisitArgs {
            case: c.reference.clone(),
            ..Default::default()
        },
    )
    .unwrap();
    let item = app::templates()
        .into_iter()
        .find(|t| t.id == c.visits[0].template_id)
        .unwrap()
        .sections
        .iter()
        .flat_map(|s| s.items.clone())
        .find(|i| i.kind == "number")
        .unwrap();
    let e = app::answer(
        &ctx,
        AnswerArgs {
            case: c.reference.clone(),
            visit: c.visits[0].id.clone(),
            item: item.id.clone(),
            value: "not a number".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.code(), "invalid_answer");
    assert_eq!(field_of(e), item.id.as_str());

    // A code the server names reaches the front end as the server said it.
    let from_server = app::AppError::Server(fieldbook_client::ClientError::Refused {
        code: "batch_too_large".into(),
        message: "push at most 200 cases per request".into(),
    });
    assert_eq!(
        serde_json::to_value(&from_server).unwrap()["code"],
        "batch_too_large"
    );

    let args = InitArgs {
        passphrase: "hunter2 hunter2".into(),
        person_name: "A".into(),
        role: "officer".into(),
        device_number: 1,
    };
    assert!(
        !format!("{args:?}").contains("hunter2"),
        "Debug hides the passphrase"
    );
}

#[test]
fn drafts_keep_what_was_typed_until_cleared_and_survive_a_relock() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = device(dir.path(), "officer");
    let save = |key: &str, value: &str| {
        app::save_draft(
            &ctx,
            app::DraftArgs {
                key: key.into(),
                value: value.into(),
            },
        )
    };
    save("new-case:title", "Chip sh").unwrap();
    save("new-case:title", "Chip shop").unwrap();
    save("new-case:postcode", "M1 1").unwrap();
    save("new-case_x:title", "another form").unwrap();
    save("visit:1:q", "").unwrap();
    let outbox_before = app::device(&ctx).unwrap().outbox_changes;

    // A relock (and so a restart) keeps them: they are in the encrypted database.
    app::lock(&ctx);
    assert_eq!(app::drafts(&ctx, "new-case:").unwrap_err().code(), "locked");
    assert_eq!(save("k", "v").unwrap_err().code(), "locked");
    app::unlock(&ctx, "a long passphrase").unwrap();

    let got = app::drafts(&ctx, "new-case:").unwrap();
    let pairs: Vec<(&str, &str)> = got
        .iter()
        .map(|d| (d.key.as_str(), d.value.as_str()))
        .collect();
    // Prefixes are literal: "_" is not a wildcard, and case matters.
    assert_eq!(
        pairs,
        [
            ("new-case:postcode", "M1 1"),
            ("new-case:title", "Chip shop")
        ]
    );
    assert!(app::drafts(&ctx, "NEW-CASE:").unwrap().is_empty());
    assert_eq!(app::drafts(&ctx, "visit:1:").unwrap()[0].value, "");
    // Drafts are not changes to any case: nothing waits to be synced because of them.
    assert_eq!(app::device(&ctx).unwrap().outbox_changes, outbox_before);

    assert_eq!(app::clear_drafts(&ctx, "new-case:").unwrap(), 2);
    assert!(app::drafts(&ctx, "new-case:").unwrap().is_empty());
    assert_eq!(app::drafts(&ctx, "new-case_x:").unwrap().len(), 1);

    // Bad keys and values are refused with the field at fault, and nothing is kept.
    for (key, value, field) in [
        ("", "v", "key"),
        ("bad\nkey", "v", "key"),
        (&*"k".repeat(app::MAX_DRAFT_KEY + 1), "v", "key"),
        ("big", &*"x".repeat(app::MAX_DRAFT_VALUE + 1), "value"),
    ] {
        match save(key, value).unwrap_err() {
            app::AppError::InvalidInput { field: f, .. } => assert_eq!(f, field),
            e => panic!("expected invalid_input, got {e:?}"),
        }
    }
    assert!(app::drafts(&ctx, "big").unwrap().is_empty());
    assert_eq!(
        app::clear_drafts(&ctx, "").unwrap_err().code(),
        "invalid_input"
    );
    assert_eq!(app::drafts(&ctx, "").unwrap().len(), 2);
}
