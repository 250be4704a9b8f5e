//! Conflicts: fields two people changed at the same time (automerge keeps both values). The
//! device shows each with who wrote it; choosing one is an ordinary edit, checked by the same
//! domain rule as typing that value in, which supersedes both.

use fieldbook_core::{Case, CaseEdit, Location};
use fieldbook_store::{
    CASE_FIELDS, ConflictEntry, ConflictField, ConflictValue, Store, StoreError,
};

use crate::dto::{ConflictDto, ConflictValueDto, ResolveConflictArgs};
use crate::{AppError, AppResult, Ctx, case_dto};

/// The fields of a case that hold two or more values written at the same time, with each value
/// as a person reads it and who wrote it.
pub fn conflicts(ctx: &Ctx, case: &str) -> AppResult<Vec<ConflictDto>> {
    ctx.with_store(|s| {
        let id = s.find_case(case)?;
        let c = s.load_case(id)?;
        s.conflicts(id)?
            .into_iter()
            .map(|conflict| conflict_dto(s, &c, conflict.field, conflict.values))
            .collect()
    })
}

/// Settle a conflict by choosing the value one writer gave (`actor`, from [`conflicts`]).
pub fn resolve_conflict(ctx: &Ctx, args: ResolveConflictArgs) -> AppResult<crate::dto::CaseDto> {
    let now = ctx.now();
    let field = field_of(&args)?;
    ctx.with_store(|s| {
        let id = s.find_case(&args.case)?;
        let label = s
            .load_case(id)
            .map(|c| label_of(&c, &field))
            .unwrap_or_default();
        let saved = s.resolve_conflict(id, &field, &args.actor, now, |c, who, entry| {
            let shown = apply(c, &field, entry, who, now)?;
            Ok(format!(
                "Chose {shown} for \"{label}\" (settling a conflict)"
            ))
        })?;
        case_dto(s, &saved)
    })
}

fn field_of(args: &ResolveConflictArgs) -> AppResult<ConflictField> {
    if args.field == "answer" {
        let (Some(visit), Some(item)) = (&args.visit, &args.item) else {
            return Err(AppError::input(
                "field",
                "an answer conflict needs the visit and the question",
            ));
        };
        return Ok(ConflictField::Answer {
            visit: visit.clone(),
            item: item.clone(),
        });
    }
    match CASE_FIELDS.iter().find(|f| **f == args.field) {
        Some(f) if choosable(f) => Ok(ConflictField::Case(f)),
        Some(f) => Err(AppError::input(
            "field",
            format!("the {f} is settled by the case's review, not by choosing a value"),
        )),
        None => Err(AppError::input(
            "field",
            format!("{:?} is not a field of a case", args.field),
        )),
    }
}

/// Status moves only along the review path and reassigning is a team leader's move: a conflict
/// in either is shown, and settled by the next move, not by picking.
fn choosable(field: &str) -> bool {
    !matches!(field, "status" | "assignee")
}

/// Puts the chosen value into the case through the ordinary domain rule; returns it as shown.
fn apply(
    c: &mut Case,
    field: &ConflictField,
    entry: &ConflictEntry,
    who: fieldbook_core::Actor,
    now: fieldbook_core::Timestamp,
) -> Result<String, fieldbook_core::DomainError> {
    let shown = plain(&entry.value);
    match (field, &entry.value) {
        (ConflictField::Answer { visit, item }, ConflictValue::Answer(a)) => {
            let visit = visit.parse()?;
            c.answer(visit, item, a.value.clone(), who, now)?;
        }
        (ConflictField::Case("location"), ConflictValue::Location(l)) => {
            c.edit(
                CaseEdit {
                    location: Some(Some(l.clone())),
                    ..CaseEdit::default()
                },
                who,
            )?;
        }
        (ConflictField::Case(name), ConflictValue::Scalar(v)) => {
            let text = scalar_text(v);
            let opt = || Some((!text.is_empty()).then(|| text.clone()));
            let mut edit = CaseEdit::default();
            match *name {
                "title" => edit.title = Some(text.clone()),
                "address" => edit.address = opt(),
                "postcode" => edit.postcode = opt(),
                "uprn" => edit.uprn = opt(),
                "due" => {
                    edit.due = Some(if text.is_empty() {
                        None
                    } else {
                        Some(text.parse()?)
                    })
                }
                "location" => edit.location = Some(None),
                _ => return Err(unchoosable()),
            }
            c.edit(edit, who)?;
        }
        _ => return Err(unchoosable()),
    }
    Ok(shown)
}

fn unchoosable() -> fieldbook_core::DomainError {
    fieldbook_core::DomainError::InvalidAnswer {
        item: "conflict".into(),
        label: "Conflict".into(),
        reason: "this value cannot be read by this version of Fieldbook, so it cannot be chosen"
            .into(),
    }
}

fn conflict_dto(
    s: &Store,
    c: &Case,
    field: ConflictField,
    values: Vec<ConflictEntry>,
) -> AppResult<ConflictDto> {
    let label = label_of(c, &field);
    let (name, visit, item) = match &field {
        ConflictField::Case(f) => (f.to_string(), None, None),
        ConflictField::Answer { visit, item } => (
            "answer".to_string(),
            Some(visit.clone()),
            Some(item.clone()),
        ),
    };
    let values = values
        .into_iter()
        .map(|v| {
            let readable = !matches!(v.value, ConflictValue::Unreadable(_));
            Ok(ConflictValueDto {
                shown: shown(s, c, &field, &v.value)?,
                by: v
                    .person_name
                    .clone()
                    .unwrap_or_else(|| "someone on another device".into()),
                person_id: v.person_id,
                actor: v.actor,
                current: v.shown,
                choosable: readable && choosable(&name),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(ConflictDto {
        choosable: choosable(&name),
        field: name,
        label,
        visit,
        item,
        values,
    })
}

/// The field's name as a person reads it: the question for an answer.
fn label_of(c: &Case, field: &ConflictField) -> String {
    match field {
        ConflictField::Case(f) => match *f {
            "uprn" => "UPRN".into(),
            "due" => "Due date".into(),
            "assignee" => "Assigned to".into(),
            other => sentence_case(other),
        },
        ConflictField::Answer { visit, item } => c
            .visits
            .get(visit)
            .and_then(|v| v.template().ok())
            .and_then(|t| t.item(item).map(|i| i.label.clone()))
            .unwrap_or_else(|| item.clone()),
    }
}

/// A value as a person reads it.
fn shown(
    s: &Store,
    c: &Case,
    field: &ConflictField,
    value: &ConflictValue,
) -> Result<String, StoreError> {
    Ok(match (field, value) {
        (ConflictField::Case("assignee"), ConflictValue::Scalar(v)) => {
            let id = scalar_text(v);
            match id.parse() {
                Ok(person) => s.person_name(person)?.unwrap_or(id),
                Err(_) if id.is_empty() => "nobody".into(),
                Err(_) => id,
            }
        }
        (ConflictField::Case("due"), ConflictValue::Scalar(v)) => {
            let text = scalar_text(v);
            match text.parse::<fieldbook_core::Date>() {
                Ok(d) => long_date(d),
                Err(_) => plain(value),
            }
        }
        (ConflictField::Case("status"), ConflictValue::Scalar(v)) => {
            let code = scalar_text(v);
            sentence_case(&code.replace('_', " "))
        }
        (ConflictField::Answer { visit, item }, ConflictValue::Answer(a)) => c
            .visits
            .get(visit)
            .and_then(|v| v.template().ok())
            .map(|t| t.display_answer(item, &a.value))
            .unwrap_or_else(|| a.value.display()),
        _ => plain(value),
    })
}

fn plain(value: &ConflictValue) -> String {
    match value {
        ConflictValue::Scalar(v) => {
            let t = scalar_text(v);
            if t.is_empty() { "(blank)".into() } else { t }
        }
        ConflictValue::Location(l) => location_text(l),
        ConflictValue::Answer(a) => a.value.display(),
        ConflictValue::Unreadable(why) => format!("(unreadable: {why})"),
    }
}

fn location_text(l: &Location) -> String {
    match l.accuracy_m {
        Some(acc) => format!("{:.5}, {:.5} (within {acc:.0} m)", l.lat, l.lon),
        None => format!("{:.5}, {:.5}", l.lat, l.lon),
    }
}

fn scalar_text(v: &fieldbook_store::ScalarValue) -> String {
    use fieldbook_store::ScalarValue as S;
    match v {
        S::Str(s) => s.to_string(),
        S::Int(i) => i.to_string(),
        S::Uint(u) => u.to_string(),
        S::F64(f) => f.to_string(),
        S::Boolean(b) => b.to_string(),
        S::Null => String::new(),
        other => other.to_string(),
    }
}

fn sentence_case(s: &str) -> String {
    let mut out = s.to_string();
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    out
}

/// "3 March 2026", as GOV.UK writes dates.
fn long_date(d: fieldbook_core::Date) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let month = MONTHS
        .get(usize::from(d.month()).saturating_sub(1))
        .copied()
        .unwrap_or("?");
    format!("{} {month} {}", d.day(), d.year())
}
