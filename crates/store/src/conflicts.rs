//! Concurrent edits to the same field: automerge keeps every value written concurrently and
//! picks one to show. This module reads them all back, with who wrote each, so a person can see
//! both and choose; choosing is an ordinary edit, which supersedes every value it saw.

use automerge::transaction::Transactable as _;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};
use autosurgeon::Hydrate as _;
use fieldbook_core::{Answer, Location};
use rusqlite::OptionalExtension as _;

use crate::{Result, Store, StoreError};

/// The case fields a person edits directly, in the order a case page shows them.
pub const CASE_FIELDS: &[&str] = &[
    "title", "address", "postcode", "uprn", "location", "due", "status", "assignee",
];

/// Where a conflict is.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictField {
    /// One of [`CASE_FIELDS`].
    Case(&'static str),
    /// The answer to a visit's question.
    Answer { visit: String, item: String },
}

/// One of the values written concurrently.
#[derive(Debug, Clone, PartialEq)]
pub enum ConflictValue {
    /// A plain value: text, a number, a code (status), an id (assignee), a date as text.
    Scalar(ScalarValue),
    Location(Location),
    Answer(Answer),
    /// A value this version cannot read (from a newer device, say); shown, never chosen.
    Unreadable(String),
}

/// A value and who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictEntry {
    pub value: ConflictValue,
    /// The automerge actor (hex) that wrote it.
    pub actor: String,
    /// The person behind that actor, when this device knows them.
    pub person_id: Option<String>,
    pub person_name: Option<String>,
    /// Whether this is the value the case shows now (automerge's deterministic pick).
    pub shown: bool,
}

/// A field with more than one current value.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub field: ConflictField,
    /// Shown first, then the others, each once.
    pub values: Vec<ConflictEntry>,
}

impl Store {
    /// Every field of a case that holds concurrent values, case fields first, then answers by
    /// visit and question id.
    pub fn conflicts(&self, id: fieldbook_core::CaseId) -> Result<Vec<Conflict>> {
        let pk = self.pk(id)?;
        let doc = crate::docs::load(&self.conn, pk)?;
        let mut out = Vec::new();
        for field in CASE_FIELDS {
            if let Some(values) = values_at(&self.conn, &doc, &ROOT, field, Kind::of(field))? {
                out.push(Conflict {
                    field: ConflictField::Case(field),
                    values,
                });
            }
        }
        if let Some((Value::Object(ObjType::Map), visits)) = doc.get(ROOT, "visits")? {
            for visit in doc.keys(&visits).collect::<Vec<_>>() {
                let Some((Value::Object(ObjType::Map), visit_obj)) = doc.get(&visits, &visit)?
                else {
                    continue;
                };
                let Some((Value::Object(ObjType::Map), answers)) =
                    doc.get(&visit_obj, "answers")?
                else {
                    continue;
                };
                for item in doc.keys(&answers).collect::<Vec<_>>() {
                    if let Some(values) =
                        values_at(&self.conn, &doc, &answers, &item, Kind::Answer)?
                    {
                        out.push(Conflict {
                            field: ConflictField::Answer {
                                visit: visit.clone(),
                                item,
                            },
                            values,
                        });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Settle a conflict by choosing the value `actor` (hex) wrote: `choose` applies it to the
    /// case through the ordinary domain rule (so it is checked as any edit is) and returns the
    /// history message; the field is then written afresh, superseding every value it held.
    /// Refused with `conflict_gone` when the field no longer holds that value (a sync settled
    /// it meanwhile).
    pub fn resolve_conflict<F>(
        &mut self,
        id: fieldbook_core::CaseId,
        field: &ConflictField,
        actor: &str,
        now: fieldbook_core::Timestamp,
        choose: F,
    ) -> Result<fieldbook_core::Case>
    where
        F: FnOnce(
            &mut fieldbook_core::Case,
            fieldbook_core::Actor,
            &ConflictEntry,
        ) -> std::result::Result<String, fieldbook_core::DomainError>,
    {
        self.change_doc(id, now, Some(field), |doc, conn, case, who| {
            let (obj, prop, kind) = match field {
                ConflictField::Case(name) => (ROOT, name.to_string(), Kind::of(name)),
                ConflictField::Answer { visit, item } => {
                    (answers_obj(doc, visit)?, item.clone(), Kind::Answer)
                }
            };
            let entry = values_at(conn, doc, &obj, &prop, kind)?
                .unwrap_or_default()
                .into_iter()
                .find(|e| e.actor == actor)
                .ok_or_else(|| StoreError::ConflictGone)?;
            Ok(choose(case, who, &entry)?)
        })
    }
}

/// A visit's answers map, if the visit has one.
fn answers_obj(doc: &AutoCommit, visit: &str) -> Result<ObjId> {
    let gone = || StoreError::ConflictGone;
    let Some((Value::Object(ObjType::Map), visits)) = doc.get(ROOT, "visits")? else {
        return Err(gone());
    };
    let Some((Value::Object(ObjType::Map), v)) = doc.get(&visits, visit)? else {
        return Err(gone());
    };
    let Some((Value::Object(ObjType::Map), answers)) = doc.get(&v, "answers")? else {
        return Err(gone());
    };
    Ok(answers)
}

/// Writes `field` afresh from `case`: a delete that supersedes every value the field holds, then
/// the case's value. (Reconciling alone would skip a value equal to the one shown.)
pub(crate) fn rewrite(
    doc: &mut AutoCommit,
    field: &ConflictField,
    case: &fieldbook_core::Case,
) -> Result<()> {
    use autosurgeon::reconcile_prop;
    match field {
        ConflictField::Case(name) => {
            doc.delete(ROOT, *name)?;
            match *name {
                "title" => reconcile_prop(doc, ROOT, "title", &case.title)?,
                "address" => reconcile_prop(doc, ROOT, "address", &case.address)?,
                "postcode" => reconcile_prop(doc, ROOT, "postcode", &case.postcode)?,
                "uprn" => reconcile_prop(doc, ROOT, "uprn", case.uprn)?,
                "location" => reconcile_prop(doc, ROOT, "location", &case.location)?,
                "due" => reconcile_prop(doc, ROOT, "due", case.due)?,
                "status" => reconcile_prop(doc, ROOT, "status", case.status)?,
                "assignee" => reconcile_prop(doc, ROOT, "assignee", case.assignee)?,
                other => {
                    return Err(StoreError::Document(format!("no case field {other}")));
                }
            }
        }
        ConflictField::Answer { visit, item } => {
            let answer = case
                .visits
                .get(visit)
                .and_then(|v| v.answers.get(item))
                .ok_or(StoreError::ConflictGone)?;
            let answers = answers_obj(doc, visit)?;
            doc.delete(&answers, item.as_str())?;
            reconcile_prop(doc, &answers, item.as_str(), answer)?;
        }
    }
    Ok(())
}

/// The values at `obj[prop]` when there is more than one.
fn values_at(
    conn: &rusqlite::Connection,
    doc: &AutoCommit,
    obj: &ObjId,
    prop: &str,
    kind: Kind,
) -> Result<Option<Vec<ConflictEntry>>> {
    {
        let all = doc.get_all(obj, prop)?;
        if all.len() < 2 {
            return Ok(None);
        }
        let winner = doc.get(obj, prop)?.map(|(_, id)| id);
        let mut lookup =
            conn.prepare_cached("SELECT person_id, person_name FROM actors WHERE actor = ?1")?;
        let mut values = Vec::with_capacity(all.len());
        for (value, id) in all {
            let actor = match &id {
                ObjId::Id(_, actor, _) => actor.to_hex_string(),
                ObjId::Root => String::new(),
            };
            let person: Option<(String, String)> = lookup
                .query_row([&actor], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            values.push(ConflictEntry {
                value: read_value(doc, value, &id, kind),
                shown: winner.as_ref() == Some(&id),
                actor,
                person_id: person.as_ref().map(|p| p.0.clone()),
                person_name: person.map(|p| p.1),
            });
        }
        // The shown value first; the others in automerge's (deterministic) order.
        values.sort_by_key(|v| !v.shown);
        Ok(Some(values))
    }
}

/// How to read a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Scalar,
    Location,
    Answer,
}

impl Kind {
    fn of(field: &str) -> Kind {
        if field == "location" {
            Kind::Location
        } else {
            Kind::Scalar
        }
    }
}

fn read_value(doc: &AutoCommit, value: Value<'_>, id: &ObjId, kind: Kind) -> ConflictValue {
    let unreadable = |e: &dyn std::fmt::Display| ConflictValue::Unreadable(e.to_string());
    match (kind, value) {
        (_, Value::Scalar(s)) => ConflictValue::Scalar(s.into_owned()),
        (Kind::Location, Value::Object(ObjType::Map)) => Location::hydrate_map(doc, id)
            .map(ConflictValue::Location)
            .unwrap_or_else(|e| unreadable(&e)),
        (Kind::Answer, Value::Object(ObjType::Map)) => Answer::hydrate_map(doc, id)
            .map(ConflictValue::Answer)
            .unwrap_or_else(|e| unreadable(&e)),
        (_, Value::Object(t)) => unreadable(&format!("a {t:?} object")),
    }
}
