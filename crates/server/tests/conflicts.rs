//! Concurrent edits through the real server: two devices (an officer's and her team leader's,
//! each a real encrypted data directory using the device API) change the same fields offline,
//! sync, and both see both values with who wrote each; choosing one on either device settles it
//! everywhere. Notes edited at the same time merge character by character.
#![allow(clippy::unwrap_used)]

mod common;

use common::{AppDevice, app_device, started};
use fieldbook_app::{
    AddVisitArgs, AnswerArgs, CaseDto, ConflictDto, Ctx, EditCaseArgs, InitArgs, NewCaseArgs,
    NoteArgs, ResolveConflictArgs,
};

fn conflicts(d: &AppDevice, case: &str) -> Vec<ConflictDto> {
    fieldbook_app::conflicts(&d.ctx, case).unwrap()
}

/// Choose the value `actor` wrote for a case field.
fn choose(
    d: &AppDevice,
    case: &str,
    field: &str,
    actor: &str,
) -> fieldbook_app::AppResult<CaseDto> {
    fieldbook_app::resolve_conflict(
        &d.ctx,
        ResolveConflictArgs {
            case: case.into(),
            field: field.into(),
            actor: actor.into(),
            ..ResolveConflictArgs::default()
        },
    )
}

#[test]
fn same_field_edits_keep_both_values_with_who_and_a_choice_settles_them_everywhere() {
    let (_dir, server) = started();
    let olive = app_device(&server.base, "olive", "officer");
    let lena = app_device(&server.base, "lena", "team_leader");

    let case = fieldbook_app::create_case(
        &olive.ctx,
        NewCaseArgs {
            kind: "food_hygiene".into(),
            title: "Cafe on Mill Lane".into(),
            ..NewCaseArgs::default()
        },
    )
    .unwrap();
    let id = case.id.clone();
    let visit = fieldbook_app::add_visit(
        &olive.ctx,
        AddVisitArgs {
            case: id.clone(),
            ..AddVisitArgs::default()
        },
    )
    .unwrap()
    .visits[0]
        .id
        .clone();
    let note = fieldbook_app::add_note(
        &olive.ctx,
        NoteArgs {
            case: id.clone(),
            text: "Bins full".into(),
        },
    )
    .unwrap()
    .notes[0]
        .id
        .clone();
    olive.sync();
    lena.sync();
    assert!(conflicts(&olive, &id).is_empty());

    // Offline on both: the same title, the same question, the same note.
    let template = fieldbook_app::templates()
        .into_iter()
        .find(|t| t.case_kinds.iter().any(|k| k == "food_hygiene"))
        .unwrap();
    let item = template
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .find(|i| i.kind == "score")
        .unwrap();
    let (first, second) = (&item.options[0], &item.options[1]);
    for (d, title, score) in [
        (&olive, "Mill Lane Cafe", &first.value),
        (&lena, "Cafe, 3 Mill Lane", &second.value),
    ] {
        fieldbook_app::edit_case(
            &d.ctx,
            EditCaseArgs {
                case: id.clone(),
                title: Some(title.into()),
                ..EditCaseArgs::default()
            },
        )
        .unwrap();
        fieldbook_app::answer(
            &d.ctx,
            AnswerArgs {
                case: id.clone(),
                visit: visit.clone(),
                item: item.id.clone(),
                value: score.clone(),
            },
        )
        .unwrap();
    }
    fieldbook_app::edit_note(&olive.ctx, &id, &note, "Bins full of glass").unwrap();
    fieldbook_app::edit_note(&lena.ctx, &id, &note, "Two bins full").unwrap();

    olive.sync();
    lena.sync();
    olive.sync();

    for d in [&olive, &lena] {
        let found = conflicts(d, &id);
        let fields: Vec<&str> = found.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["title", "answer"], "{found:#?}");
        let title = &found[0];
        assert_eq!(title.label, "Title");
        let mut values: Vec<(&str, &str)> = title
            .values
            .iter()
            .map(|v| (v.shown.as_str(), v.by.as_str()))
            .collect();
        values.sort();
        assert_eq!(
            values,
            [("Cafe, 3 Mill Lane", "lena"), ("Mill Lane Cafe", "olive")]
        );
        assert_eq!(title.values.iter().filter(|v| v.current).count(), 1);
        assert!(title.values[0].current, "the shown value comes first");
        let answer = &found[1];
        assert_eq!(answer.label, item.label);
        assert_eq!(answer.item.as_deref(), Some(item.id.as_str()));
        assert_eq!(answer.values.len(), 2);
        // Both devices agree on the value shown.
        assert_eq!(
            fieldbook_app::open_case(&d.ctx, &id).unwrap().title,
            title.values[0].shown
        );
        // The note kept both people's words.
        let text = &fieldbook_app::open_case(&d.ctx, &id).unwrap().notes[0].text;
        assert!(
            text.contains("Two") && text.contains("of glass"),
            "notes merge character by character: {text:?}"
        );
    }

    // On Olive's device: choose Lena's title, and keep the answer the case already shows.
    let found = conflicts(&olive, &id);
    let lenas = found[0].values.iter().find(|v| v.by == "lena").unwrap();
    let saved = choose(&olive, &id, "title", &lenas.actor).unwrap();
    assert_eq!(saved.title, "Cafe, 3 Mill Lane");
    let shown_answer = found[1].values.iter().find(|v| v.current).unwrap();
    fieldbook_app::resolve_conflict(
        &olive.ctx,
        ResolveConflictArgs {
            case: id.clone(),
            field: "answer".into(),
            visit: Some(visit.clone()),
            item: Some(item.id.clone()),
            actor: shown_answer.actor.clone(),
        },
    )
    .unwrap();
    assert!(
        conflicts(&olive, &id).is_empty(),
        "{:#?}",
        conflicts(&olive, &id)
    );

    // A value that is no longer in conflict cannot be chosen.
    let gone = choose(&olive, &id, "title", &lenas.actor).unwrap_err();
    assert_eq!(gone.code(), "conflict_gone");

    olive.sync();
    lena.sync();
    assert!(conflicts(&lena, &id).is_empty());
    let on_lena = fieldbook_app::open_case(&lena.ctx, &id).unwrap();
    assert_eq!(on_lena.title, "Cafe, 3 Mill Lane");
    assert_eq!(
        on_lena.visits[0]
            .answers
            .iter()
            .find(|a| a.item_id == item.id)
            .unwrap()
            .display,
        shown_answer.shown
    );
    let history = fieldbook_app::history(&lena.ctx, &id).unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.message.contains("settling a conflict")),
        "{history:#?}"
    );
}

#[test]
fn status_conflicts_are_shown_but_not_chosen_and_bad_choices_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::new(dir.path().join("device"));
    fieldbook_app::init_device(
        &ctx,
        InitArgs {
            passphrase: "device passphrase".into(),
            person_name: "olive".into(),
            role: "officer".into(),
            device_number: 9,
        },
    )
    .unwrap();
    fieldbook_app::unlock(&ctx, "device passphrase").unwrap();
    let case = fieldbook_app::create_case(
        &ctx,
        NewCaseArgs {
            kind: "food_hygiene".into(),
            title: "Cafe".into(),
            ..NewCaseArgs::default()
        },
    )
    .unwrap();
    for (field, code) in [
        ("status", "invalid_input"),
        ("colour", "invalid_input"),
        ("answer", "invalid_input"),
        ("title", "conflict_gone"),
    ] {
        let err = fieldbook_app::resolve_conflict(
            &ctx,
            ResolveConflictArgs {
                case: case.id.clone(),
                field: field.into(),
                actor: "00".into(),
                ..ResolveConflictArgs::default()
            },
        )
        .unwrap_err();
        assert_eq!(err.code(), code, "{field}: {err}");
    }
}
