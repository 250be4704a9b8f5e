//! The automerge schema of a case, and the pure rules for changing it.
//!
//! A case is ONE automerge document, mapped with autosurgeon. Visits, answers, notes and photo
//! references live in maps keyed by id (visit and note UUIDs, template item ids, photo SHA-256),
//! so concurrent additions from two devices merge instead of colliding; plain fields are
//! scalars (last writer wins, with the losing value kept as an automerge conflict); only the
//! free text of a note is an automerge `Text`, so two people editing one note merge character by
//! character. Photo bytes never enter the document, only their reference.
//!
//! Every change goes through a method here that validates it first, so a refused change leaves
//! the document untouched. Methods take the acting person and the time: this module reads no
//! clock and does no IO.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile, Text};

use crate::CaseId;
use crate::status::check_transition;
use crate::template::{AnswerValue, Template, find_template};
use crate::{
    CaseKind, CaseStatus, Date, DomainError, Location, NoteId, PersonId, Role, Timestamp, VisitId,
};

/// The version of this schema, stored in every case document.
pub const CASE_SCHEMA: u32 = 1;

/// Limits on what a person can type, in characters. Documented in the README.
pub mod limits {
    pub const TITLE: usize = 200;
    pub const ADDRESS: usize = 300;
    pub const NOTE: usize = 10_000;
    pub const CAPTION: usize = 500;
}

/// Who is acting: the person and the role they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub person: PersonId,
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Case {
    pub schema: u32,
    pub id: CaseId,
    pub reference: String,
    pub kind: CaseKind,
    pub title: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<u64>,
    pub location: Option<Location>,
    pub status: CaseStatus,
    pub assignee: Option<PersonId>,
    pub due: Option<Date>,
    pub created_by: PersonId,
    pub created_at: Timestamp,
    /// Visits keyed by their UUID.
    pub visits: BTreeMap<String, Visit>,
    /// Notes keyed by their UUID.
    pub notes: BTreeMap<String, Note>,
    /// Photo references keyed by the SHA-256 of the photo's bytes (hex).
    pub photos: BTreeMap<String, PhotoRef>,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Visit {
    pub id: VisitId,
    pub template_id: String,
    pub template_version: u32,
    pub started_at: Timestamp,
    pub officer: PersonId,
    pub location: Option<Location>,
    /// Answers keyed by the template item's id: two people answering the same question is a
    /// conflict to resolve, two people answering different questions merges.
    pub answers: BTreeMap<String, Answer>,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Answer {
    pub value: AnswerValue,
    pub by: PersonId,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct Note {
    pub id: NoteId,
    pub author: PersonId,
    pub at: Timestamp,
    pub body: Text,
}

#[derive(Debug, Clone, PartialEq, Reconcile, Hydrate)]
pub struct PhotoRef {
    pub sha256: String,
    pub bytes: u64,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub taken_at: Option<Timestamp>,
    pub location: Option<Location>,
    pub caption: String,
    pub visit: Option<VisitId>,
    /// The SHA-256 of the photo's thumbnail (hex), so a device that fetches the thumbnail from
    /// the server can check it as it checks the photo. Absent in references written before it.
    pub thumb_sha256: Option<String>,
}

/// A change to a photo's reference. `None` leaves a field alone; `visit: Some(None)` unlinks
/// the photo from its visit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PhotoEdit {
    pub caption: Option<String>,
    pub visit: Option<Option<VisitId>>,
}

/// What a person gives to open a new case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCase {
    pub title: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<String>,
    pub location: Option<Location>,
    pub assignee: Option<PersonId>,
    pub due: Option<Date>,
}

/// A change to a case's own fields. `None` leaves a field alone; `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseEdit {
    pub title: Option<String>,
    pub address: Option<Option<String>>,
    pub postcode: Option<Option<String>>,
    pub uprn: Option<Option<String>>,
    pub location: Option<Option<Location>>,
    pub assignee: Option<Option<PersonId>>,
    pub due: Option<Option<Date>>,
}

impl CaseEdit {
    pub fn is_empty(&self) -> bool {
        *self == CaseEdit::default()
    }

    /// The names of the fields this edit touches, for the change's history message.
    pub fn field_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        let mut push = |set: bool, name| {
            if set {
                names.push(name)
            }
        };
        push(self.title.is_some(), "title");
        push(self.address.is_some(), "address");
        push(self.postcode.is_some(), "postcode");
        push(self.uprn.is_some(), "UPRN");
        push(self.location.is_some(), "location");
        push(self.assignee.is_some(), "assignee");
        push(self.due.is_some(), "due date");
        names
    }
}

impl Case {
    /// A new open case. `reference` comes from the device's reference counter.
    pub fn new(
        id: CaseId,
        kind: CaseKind,
        reference: String,
        new: NewCase,
        actor: Actor,
        now: Timestamp,
    ) -> Result<Case, DomainError> {
        let mut case = Case {
            schema: CASE_SCHEMA,
            id,
            reference,
            kind,
            title: String::new(),
            address: None,
            postcode: None,
            uprn: None,
            location: None,
            status: CaseStatus::Open,
            assignee: Some(actor.person),
            due: None,
            created_by: actor.person,
            created_at: now,
            visits: BTreeMap::new(),
            notes: BTreeMap::new(),
            photos: BTreeMap::new(),
        };
        case.edit(
            CaseEdit {
                title: Some(new.title),
                address: Some(new.address),
                postcode: Some(new.postcode),
                uprn: Some(new.uprn),
                location: Some(new.location),
                assignee: Some(new.assignee.or(Some(actor.person))),
                due: Some(new.due),
            },
            actor,
        )?;
        Ok(case)
    }

    fn ensure_editable(&self) -> Result<(), DomainError> {
        if self.status.is_editable() {
            Ok(())
        } else {
            Err(DomainError::CaseLocked {
                status: self.status.to_string(),
            })
        }
    }

    /// Assign the case to a person (or to nobody). Only a team leader or an administrator
    /// assigns; a case under review or closed may still be handed to someone else.
    pub fn assign(&mut self, to: Option<PersonId>, actor: Actor) -> Result<(), DomainError> {
        if actor.role == Role::Officer {
            return Err(DomainError::MayNotReassign);
        }
        self.assignee = to;
        Ok(())
    }

    /// Change the case's own fields. Every field is validated before any is written.
    pub fn edit(&mut self, edit: CaseEdit, _actor: Actor) -> Result<(), DomainError> {
        self.ensure_editable()?;
        let title = edit.title.map(|t| validate_title(&t)).transpose()?;
        let address = edit
            .address
            .map(|a| optional_text(a, "address", limits::ADDRESS))
            .transpose()?;
        let postcode = edit
            .postcode
            .map(|p| p.as_deref().map(normalise_postcode).transpose())
            .transpose()?
            .map(|p| p.filter(|p| !p.is_empty()));
        let uprn = edit
            .uprn
            .map(|u| u.as_deref().map(parse_uprn).transpose())
            .transpose()?
            .map(Option::flatten);
        if let Some(t) = title {
            self.title = t;
        }
        if let Some(a) = address {
            self.address = a;
        }
        if let Some(p) = postcode {
            self.postcode = p;
        }
        if let Some(u) = uprn {
            self.uprn = u;
        }
        if let Some(l) = edit.location {
            self.location = l;
        }
        if let Some(a) = edit.assignee {
            self.assignee = a;
        }
        if let Some(d) = edit.due {
            self.due = d;
        }
        Ok(())
    }

    /// Move the case along the review state machine.
    pub fn transition(&mut self, to: CaseStatus, actor: Actor) -> Result<(), DomainError> {
        check_transition(self.status, to, actor.role)?;
        self.status = to;
        Ok(())
    }

    /// Starting work on an open or returned case moves it to in progress.
    fn start_work(&mut self, actor: Actor) -> Result<(), DomainError> {
        self.ensure_editable()?;
        if matches!(self.status, CaseStatus::Open | CaseStatus::Returned) {
            self.transition(CaseStatus::InProgress, actor)?;
        }
        Ok(())
    }

    /// Start a visit against a template version; returns the new visit's id.
    pub fn add_visit(
        &mut self,
        template: &Template,
        location: Option<Location>,
        actor: Actor,
        now: Timestamp,
    ) -> Result<VisitId, DomainError> {
        if !template.applies_to(self.kind.code()) {
            return Err(DomainError::TemplateNotForKind {
                template: template.id.clone(),
                kind: self.kind.label().to_lowercase(),
            });
        }
        self.start_work(actor)?;
        let id = VisitId::new();
        self.visits.insert(
            id.to_string(),
            Visit {
                id,
                template_id: template.id.clone(),
                template_version: template.version,
                started_at: now,
                officer: actor.person,
                location,
                answers: BTreeMap::new(),
            },
        );
        Ok(id)
    }

    pub fn visit(&self, id: VisitId) -> Result<&Visit, DomainError> {
        self.visits
            .get(&id.to_string())
            .ok_or_else(|| DomainError::UnknownVisit {
                visit: id.to_string(),
            })
    }

    /// Record (or replace) the answer to one question of a visit, validated by its template.
    pub fn answer(
        &mut self,
        visit: VisitId,
        item: &str,
        value: AnswerValue,
        actor: Actor,
        now: Timestamp,
    ) -> Result<(), DomainError> {
        let template = self.visit(visit)?.template()?;
        template.validate_answer(item, &value)?;
        self.start_work(actor)?;
        let visit =
            self.visits
                .get_mut(&visit.to_string())
                .ok_or_else(|| DomainError::UnknownVisit {
                    visit: visit.to_string(),
                })?;
        visit.answers.insert(
            item.to_string(),
            Answer {
                value,
                by: actor.person,
                at: now,
            },
        );
        Ok(())
    }

    /// Remove the answer to one question.
    pub fn clear_answer(
        &mut self,
        visit: VisitId,
        item: &str,
        actor: Actor,
    ) -> Result<(), DomainError> {
        let template = self.visit(visit)?.template()?;
        if template.item(item).is_none() {
            return Err(DomainError::UnknownItem {
                template: template.id.clone(),
                item: item.to_string(),
            });
        }
        self.start_work(actor)?;
        if let Some(v) = self.visits.get_mut(&visit.to_string()) {
            v.answers.remove(item);
        }
        Ok(())
    }

    /// Add a note. Notes may be added at any stage but closed (a leader's review comment, a
    /// late phone call); returns the note's id.
    pub fn add_note(
        &mut self,
        text: &str,
        actor: Actor,
        now: Timestamp,
    ) -> Result<NoteId, DomainError> {
        if self.status == CaseStatus::Closed {
            return Err(DomainError::CaseLocked {
                status: self.status.to_string(),
            });
        }
        let body = validate_note(text)?;
        let id = NoteId::new();
        self.notes.insert(
            id.to_string(),
            Note {
                id,
                author: actor.person,
                at: now,
                body: Text::with_value(body),
            },
        );
        Ok(id)
    }

    /// Rewrite a note's text; automerge records it as character edits, so concurrent edits
    /// to one note merge.
    pub fn edit_note(
        &mut self,
        note: NoteId,
        text: &str,
        _actor: Actor,
    ) -> Result<(), DomainError> {
        if self.status == CaseStatus::Closed {
            return Err(DomainError::CaseLocked {
                status: self.status.to_string(),
            });
        }
        let body = validate_note(text)?;
        let n = self
            .notes
            .get_mut(&note.to_string())
            .ok_or_else(|| DomainError::UnknownNote {
                note: note.to_string(),
            })?;
        n.body.update(body);
        Ok(())
    }

    /// Attach a photo by its reference (the bytes live in the device's photo store). Returns
    /// false, changing nothing, when the same photo is already attached to the case.
    pub fn add_photo(&mut self, mut photo: PhotoRef, _actor: Actor) -> Result<bool, DomainError> {
        self.ensure_editable()?;
        if !is_sha256_hex(&photo.sha256)
            || photo
                .thumb_sha256
                .as_deref()
                .is_some_and(|t| !is_sha256_hex(t))
        {
            return Err(DomainError::InvalidId {
                value: photo.sha256.chars().take(80).collect(),
            });
        }
        if self.photos.contains_key(&photo.sha256) {
            return Ok(false);
        }
        photo.caption = validate_caption(&photo.caption)?.to_string();
        if let Some(visit) = photo.visit {
            self.visit(visit)?;
        }
        self.photos.insert(photo.sha256.clone(), photo);
        Ok(true)
    }

    /// Change a photo's caption or the visit it belongs to.
    pub fn edit_photo(
        &mut self,
        sha256: &str,
        edit: PhotoEdit,
        _actor: Actor,
    ) -> Result<(), DomainError> {
        self.ensure_editable()?;
        if let Some(Some(visit)) = edit.visit {
            self.visit(visit)?;
        }
        let caption = edit.caption.as_deref().map(validate_caption).transpose()?;
        let photo = self
            .photos
            .get_mut(sha256)
            .ok_or_else(|| DomainError::UnknownPhoto {
                photo: sha256.chars().take(80).collect(),
            })?;
        if let Some(caption) = caption {
            photo.caption = caption.to_string();
        }
        if let Some(visit) = edit.visit {
            photo.visit = visit;
        }
        Ok(())
    }

    /// Submit for review: every visit must have all its required answers.
    pub fn submit(&mut self, actor: Actor) -> Result<(), DomainError> {
        // A case still being worked on with no visit: say what is missing. Otherwise check the
        // move is allowed at all before judging completeness.
        if self.visits.is_empty() && self.status.is_editable() {
            return Err(DomainError::NoVisits);
        }
        check_transition(self.status, CaseStatus::Submitted, actor.role)?;
        for visit in self.visits.values() {
            let missing = visit.missing_required()?;
            if !missing.is_empty() {
                return Err(DomainError::VisitIncomplete {
                    visit: visit.id.to_string(),
                    missing,
                });
            }
        }
        self.transition(CaseStatus::Submitted, actor)
    }

    /// All note text, oldest first, for the search index.
    pub fn notes_text(&self) -> String {
        let mut notes: Vec<&Note> = self.notes.values().collect();
        notes.sort_by_key(|n| (n.at, n.id));
        notes
            .iter()
            .map(|n| n.body.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Visit {
    pub fn template(&self) -> Result<&'static Template, DomainError> {
        find_template(&self.template_id, self.template_version)
    }

    /// Labels of the required questions not yet answered.
    pub fn missing_required(&self) -> Result<Vec<String>, DomainError> {
        let template = self.template()?;
        Ok(template
            .missing_required(|item| self.answers.contains_key(item))
            .into_iter()
            .map(|i| i.label.clone())
            .collect())
    }
}

/// Write into `doc` only what differs between `before` (the case as hydrated from `doc`) and
/// `after`, field by field and key by key. The result is the document a whole-case
/// `autosurgeon::reconcile` would give, at a fraction of the cost: a one-field edit touches one
/// property instead of comparing every answer of every visit.
pub fn reconcile_changes<D: autosurgeon::Doc>(
    doc: &mut D,
    before: &Case,
    after: &Case,
) -> Result<(), autosurgeon::ReconcileError> {
    use automerge::ROOT;
    macro_rules! fields {
        ($doc:expr, $obj:expr, $b:expr, $a:expr; $($name:ident),*) => {
            $(
                if $b.$name != $a.$name {
                    autosurgeon::reconcile_prop($doc, &$obj, stringify!($name), &$a.$name)?;
                }
            )*
        };
    }
    fields!(
        doc, ROOT, before, after; schema, id, reference, kind, title, address, postcode, uprn,
        location, status, assignee, due, created_by, created_at);
    if before.visits != after.visits {
        reconcile_map(
            doc,
            &ROOT,
            "visits",
            &before.visits,
            &after.visits,
            |doc, obj, key, b, a| {
                let Some(visit_obj) = map_obj(doc, obj, key)? else {
                    return autosurgeon::reconcile_prop(doc, obj, key, a);
                };
                fields!(
                doc, visit_obj, b, a; id, template_id, template_version, started_at, officer, location);
                reconcile_map(
                    doc,
                    &visit_obj,
                    "answers",
                    &b.answers,
                    &a.answers,
                    replace_entry,
                )
            },
        )?;
    }
    if before.notes != after.notes {
        reconcile_map(
            doc,
            &ROOT,
            "notes",
            &before.notes,
            &after.notes,
            replace_entry,
        )?;
    }
    if before.photos != after.photos {
        reconcile_map(
            doc,
            &ROOT,
            "photos",
            &before.photos,
            &after.photos,
            replace_entry,
        )?;
    }
    Ok(())
}

/// Write a map entry whole (an answer, a note, a photo reference: small, leaf-like values).
fn replace_entry<D: autosurgeon::Doc, V: Reconcile>(
    doc: &mut D,
    obj: &automerge::ObjId,
    key: &str,
    _before: &V,
    after: &V,
) -> Result<(), autosurgeon::ReconcileError> {
    autosurgeon::reconcile_prop(doc, obj, key, after)
}

fn map_obj<D: autosurgeon::Doc>(
    doc: &D,
    obj: &automerge::ObjId,
    key: &str,
) -> Result<Option<automerge::ObjId>, autosurgeon::ReconcileError> {
    Ok(match doc.get(obj, key)? {
        Some((automerge::Value::Object(automerge::ObjType::Map), id)) => Some(id),
        _ => None,
    })
}

/// Reconcile a map keyed by id: changed entries through `entry`, removed ones deleted.
fn reconcile_map<D, V, F>(
    doc: &mut D,
    parent: &automerge::ObjId,
    prop: &str,
    before: &BTreeMap<String, V>,
    after: &BTreeMap<String, V>,
    mut entry: F,
) -> Result<(), autosurgeon::ReconcileError>
where
    D: autosurgeon::Doc,
    V: PartialEq + Reconcile,
    F: FnMut(&mut D, &automerge::ObjId, &str, &V, &V) -> Result<(), autosurgeon::ReconcileError>,
{
    let Some(obj) = map_obj(doc, parent, prop)? else {
        return autosurgeon::reconcile_prop(doc, parent, prop, after);
    };
    for (key, a) in after {
        match before.get(key) {
            Some(b) if b == a => {}
            Some(b) => entry(doc, &obj, key, b, a)?,
            None => autosurgeon::reconcile_prop(doc, &obj, key.as_str(), a)?,
        }
    }
    for key in before.keys().filter(|k| !after.contains_key(*k)) {
        doc.delete(&obj, key.as_str())?;
    }
    Ok(())
}

fn too_long(field: &'static str, max: usize, value: &str) -> Result<(), DomainError> {
    let actual = value.chars().count();
    if actual > max {
        Err(DomainError::TooLong { field, max, actual })
    } else {
        Ok(())
    }
}

/// Refuse control characters (C0 and C1, DEL), which could rewrite a terminal or break an
/// export; notes may keep line breaks and tabs.
fn plain_text(field: &'static str, value: &str, multiline: bool) -> Result<(), DomainError> {
    let bad = |c: char| c.is_control() && !(multiline && matches!(c, '\n' | '\t' | '\r'));
    if value.chars().any(bad) {
        Err(DomainError::ControlCharacters { field })
    } else {
        Ok(())
    }
}

fn validate_title(title: &str) -> Result<String, DomainError> {
    let t = title.trim();
    if t.is_empty() {
        return Err(DomainError::EmptyTitle);
    }
    too_long("title", limits::TITLE, t)?;
    plain_text("title", t, false)?;
    Ok(t.to_string())
}

/// A person's name as it appears in case histories: 1 to 100 characters of plain text.
pub fn validate_person_name(name: &str) -> Result<String, DomainError> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 100 {
        return Err(DomainError::InvalidName);
    }
    plain_text("name", n, false)?;
    Ok(n.to_string())
}

fn optional_text(
    value: Option<String>,
    field: &'static str,
    max: usize,
) -> Result<Option<String>, DomainError> {
    let Some(v) = value else { return Ok(None) };
    let v = v.trim();
    too_long(field, max, v)?;
    plain_text(field, v, false)?;
    Ok((!v.is_empty()).then(|| v.to_string()))
}

fn validate_caption(text: &str) -> Result<&str, DomainError> {
    let t = text.trim();
    too_long("caption", limits::CAPTION, t)?;
    plain_text("caption", t, false)?;
    Ok(t)
}

/// Whether `s` names a photo or blob: a SHA-256 as 64 lower-case hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn validate_note(text: &str) -> Result<&str, DomainError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DomainError::EmptyNote);
    }
    too_long("note", limits::NOTE, t)?;
    plain_text("note", t, true)?;
    Ok(t)
}

/// A UK postcode in its canonical form (upper case, one space before the inward code), e.g.
/// `sw1a2aa` -> `SW1A 2AA`. Checks the shape (outward code A9, A99, AA9, AA99, A9A or AA9A;
/// inward code 9AA), not that the postcode exists. An empty string clears the postcode.
pub fn normalise_postcode(input: &str) -> Result<String, DomainError> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if compact.is_empty() {
        return Ok(String::new());
    }
    let bad = || DomainError::InvalidPostcode {
        value: input.chars().take(20).collect(),
    };
    if !compact.is_ascii() || !(5..=7).contains(&compact.len()) {
        return Err(bad());
    }
    let (outward, inward) = compact.split_at(compact.len() - 3);
    let ib = inward.as_bytes();
    let inward_ok =
        ib[0].is_ascii_digit() && ib[1].is_ascii_alphabetic() && ib[2].is_ascii_alphabetic();
    let shape: String = outward
        .bytes()
        .map(|b| {
            if b.is_ascii_digit() {
                '9'
            } else if b.is_ascii_alphabetic() {
                'A'
            } else {
                '?'
            }
        })
        .collect();
    let outward_ok = matches!(
        shape.as_str(),
        "A9" | "A99" | "AA9" | "AA99" | "A9A" | "AA9A"
    );
    if (inward_ok && outward_ok) || compact == "GIR0AA" {
        Ok(format!("{outward} {inward}"))
    } else {
        Err(bad())
    }
}

/// A UPRN: a whole number of 1 to 12 digits, not zero. An empty string clears it.
pub fn parse_uprn(input: &str) -> Result<Option<u64>, DomainError> {
    let t = input.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = || DomainError::InvalidUprn {
        value: t.chars().take(20).collect(),
    };
    if t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match t.parse::<u64>() {
        Ok(0) | Err(_) => Err(bad()),
        Ok(n) => Ok(Some(n)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::template::{default_template_for, latest_template};

    fn officer() -> Actor {
        Actor {
            person: PersonId::new(),
            role: Role::Officer,
        }
    }

    fn new_case(actor: Actor) -> Case {
        Case::new(
            CaseId::new(),
            CaseKind::FoodHygiene,
            "FH-2026-1-0001".into(),
            NewCase {
                title: "  The Golden Spoon  ".into(),
                postcode: Some("sw1a2aa".into()),
                uprn: Some("100023336956".into()),
                ..NewCase::default()
            },
            actor,
            Timestamp(1),
        )
        .unwrap()
    }

    #[test]
    fn new_cases_are_normalised_and_assigned_to_their_creator() {
        let a = officer();
        let c = new_case(a);
        assert_eq!(c.title, "The Golden Spoon");
        assert_eq!(c.postcode.as_deref(), Some("SW1A 2AA"));
        assert_eq!(c.uprn, Some(100_023_336_956));
        assert_eq!(c.assignee, Some(a.person));
        assert_eq!(c.status, CaseStatus::Open);
    }

    fn photo(sha: &str) -> PhotoRef {
        PhotoRef {
            sha256: sha.into(),
            bytes: 1000,
            mime: "image/jpeg".into(),
            width: 2048,
            height: 1536,
            taken_at: Some(Timestamp(1_784_021_400_000)),
            location: Some(
                Location::new(
                    52.015,
                    -1.005,
                    Some(4.0),
                    crate::LocationSource::PhotoExif,
                    Timestamp(7),
                )
                .unwrap(),
            ),
            caption: "  Rear yard  ".into(),
            visit: None,
            thumb_sha256: Some("cd".repeat(32)),
        }
    }

    #[test]
    fn photos_are_attached_once_and_their_caption_and_visit_change() {
        let a = officer();
        let mut c = new_case(a);
        let sha = "ab".repeat(32);
        assert!(c.add_photo(photo(&sha), a).unwrap());
        assert_eq!(c.photos[&sha].caption, "Rear yard");
        assert!(
            !c.add_photo(photo(&sha), a).unwrap(),
            "the same photo twice"
        );
        assert_eq!(c.photos.len(), 1);

        let t = default_template_for(c.kind.code());
        let visit = c.add_visit(t, None, a, Timestamp(2)).unwrap();
        c.edit_photo(
            &sha,
            PhotoEdit {
                caption: Some("Bins by the back door".into()),
                visit: Some(Some(visit)),
            },
            a,
        )
        .unwrap();
        assert_eq!(c.photos[&sha].caption, "Bins by the back door");
        assert_eq!(c.photos[&sha].visit, Some(visit));
        c.edit_photo(
            &sha,
            PhotoEdit {
                visit: Some(None),
                ..PhotoEdit::default()
            },
            a,
        )
        .unwrap();
        assert_eq!(c.photos[&sha].visit, None);
        assert_eq!(c.photos[&sha].caption, "Bins by the back door");

        // The reference, time taken and place included, survives the document.
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &c).unwrap();
        let doc = automerge::AutoCommit::load(&doc.save()).unwrap();
        let back: Case = autosurgeon::hydrate(&doc).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn bad_photo_references_and_edits_are_refused_and_change_nothing() {
        let a = officer();
        let mut c = new_case(a);
        let sha = "ab".repeat(32);
        c.add_photo(photo(&sha), a).unwrap();
        let before = c.clone();
        let code = |r: Result<bool, DomainError>| r.unwrap_err().code();
        assert_eq!(code(c.add_photo(photo("not-a-hash"), a)), "invalid_id");
        assert_eq!(code(c.add_photo(photo(&"AB".repeat(32)), a)), "invalid_id");
        let mut long = photo(&"ef".repeat(32));
        long.caption = "x".repeat(501);
        assert_eq!(code(c.add_photo(long, a)), "too_long");
        let mut in_no_visit = photo(&"ef".repeat(32));
        in_no_visit.visit = Some(VisitId::new());
        assert_eq!(code(c.add_photo(in_no_visit, a)), "unknown_visit");
        let edit = |caption: &str| PhotoEdit {
            caption: Some(caption.into()),
            ..PhotoEdit::default()
        };
        let e = c.edit_photo(&"ef".repeat(32), edit("x"), a).unwrap_err();
        assert_eq!(e.code(), "unknown_photo");
        let e = c.edit_photo(&sha, edit("bell\u{7}"), a).unwrap_err();
        assert_eq!(e.code(), "control_characters");
        assert_eq!(c, before);

        c.status = CaseStatus::Submitted;
        let e = c.edit_photo(&sha, edit("later"), a).unwrap_err();
        assert_eq!(e.code(), "case_locked");
        assert_eq!(code(c.add_photo(photo(&"ef".repeat(32)), a)), "case_locked");
    }

    #[test]
    fn bad_fields_are_refused_and_nothing_changes() {
        let a = officer();
        let mut c = new_case(a);
        let before = c.clone();
        let edits = [
            (
                CaseEdit {
                    title: Some("   ".into()),
                    ..Default::default()
                },
                "empty_title",
            ),
            (
                CaseEdit {
                    title: Some("x".repeat(201)),
                    ..Default::default()
                },
                "too_long",
            ),
            (
                CaseEdit {
                    title: Some("ok".into()),
                    postcode: Some(Some("12345".into())),
                    ..Default::default()
                },
                "invalid_postcode",
            ),
            (
                CaseEdit {
                    title: Some("ok".into()),
                    uprn: Some(Some("1234567890123".into())),
                    ..Default::default()
                },
                "invalid_uprn",
            ),
            (
                CaseEdit {
                    uprn: Some(Some("0".into())),
                    ..Default::default()
                },
                "invalid_uprn",
            ),
            (
                CaseEdit {
                    address: Some(Some("a".repeat(301))),
                    ..Default::default()
                },
                "too_long",
            ),
        ];
        for (edit, code) in edits {
            assert_eq!(c.edit(edit, a).map_err(|e| e.code()), Err(code));
            assert_eq!(c, before);
        }
    }

    #[test]
    fn postcodes() {
        for (input, want) in [
            ("SW1A 2AA", "SW1A 2AA"),
            ("m11ae", "M1 1AE"),
            ("B33 8TH", "B33 8TH"),
            ("cr2 6xh", "CR2 6XH"),
            ("DN55 1PT", "DN55 1PT"),
            ("W1A 0AX", "W1A 0AX"),
            ("EC1A 1BB", "EC1A 1BB"),
        ] {
            assert_eq!(normalise_postcode(input).as_deref(), Ok(want));
        }
        for bad in ["1AA 1AA", "SW1A", "SW1A 2A1", "ABCDE 1AA", "S£1 2AA"] {
            assert!(normalise_postcode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_visit_starts_work_and_answers_are_validated() {
        let a = officer();
        let mut c = new_case(a);
        let t = default_template_for("food_hygiene");
        let v = c.add_visit(t, None, a, Timestamp(2)).unwrap();
        assert_eq!(c.status, CaseStatus::InProgress);
        let hygiene = t.parse_answer("fh.hygiene", "5").unwrap();
        c.answer(v, "fh.hygiene", hygiene, a, Timestamp(3)).unwrap();
        let before = c.clone();
        assert_eq!(
            c.answer(v, "fh.hygiene", AnswerValue::Score(7), a, Timestamp(4))
                .map_err(|e| e.code()),
            Err("invalid_answer")
        );
        assert_eq!(
            c.answer(v, "no.such.item", AnswerValue::YesNo(true), a, Timestamp(4))
                .map_err(|e| e.code()),
            Err("unknown_item")
        );
        assert_eq!(c, before);
    }

    #[test]
    fn submitting_needs_complete_visits_and_only_leaders_approve() {
        let a = officer();
        let mut c = new_case(a);
        assert_eq!(c.clone().submit(a).map_err(|e| e.code()), Err("no_visits"));
        let t = latest_template("food-hygiene").unwrap();
        let v = c.add_visit(t, None, a, Timestamp(2)).unwrap();
        assert_eq!(
            c.clone().submit(a).map_err(|e| e.code()),
            Err("visit_incomplete")
        );
        for item in t.missing_required(|_| false) {
            let value = match &item.kind {
                crate::template::ItemKind::YesNo => "yes".to_string(),
                crate::template::ItemKind::Choice { options } => options[0].value.clone(),
                crate::template::ItemKind::Number { min, .. } => min.to_string(),
                crate::template::ItemKind::Text { .. } => "fine".to_string(),
                crate::template::ItemKind::Date => "2026-01-01".to_string(),
                crate::template::ItemKind::Score { options } => options[0].to_string(),
            };
            let value = t.parse_answer(&item.id, &value).unwrap();
            c.answer(v, &item.id, value, a, Timestamp(3)).unwrap();
        }
        c.submit(a).unwrap();
        assert_eq!(c.status, CaseStatus::Submitted);
        assert_eq!(
            c.edit(
                CaseEdit {
                    title: Some("late change".into()),
                    ..Default::default()
                },
                a
            )
            .map_err(|e| e.code()),
            Err("case_locked")
        );
        assert_eq!(
            c.transition(CaseStatus::Approved, a).map_err(|e| e.code()),
            Err("role_may_not_transition")
        );
        let leader = Actor {
            person: PersonId::new(),
            role: Role::TeamLeader,
        };
        c.transition(CaseStatus::Returned, leader).unwrap();
        c.add_note("Please add the hand-wash basin photo", leader, Timestamp(9))
            .unwrap();
        // Returned work goes back to in progress when the officer picks it up.
        c.answer(v, "fh.hygiene", AnswerValue::Score(0), a, Timestamp(10))
            .unwrap();
        assert_eq!(c.status, CaseStatus::InProgress);
    }

    #[test]
    fn control_characters_are_refused_but_notes_keep_line_breaks() {
        let a = officer();
        let mut c = new_case(a);
        for title in [
            "Nice\u{1b}]0;pwned\u{7}",
            "two\nlines",
            "nul\u{0}",
            "c1\u{9b}2K",
        ] {
            assert_eq!(
                c.edit(
                    CaseEdit {
                        title: Some(title.into()),
                        ..Default::default()
                    },
                    a
                )
                .map_err(|e| e.code()),
                Err("control_characters"),
                "{title:?}"
            );
        }
        assert_eq!(
            c.add_note("bell\u{7}", a, Timestamp(1))
                .map_err(|e| e.code()),
            Err("control_characters")
        );
        c.add_note("line one\nline two\twith a tab", a, Timestamp(1))
            .unwrap();
        assert_eq!(
            validate_person_name("  Sam Patel ").as_deref(),
            Ok("Sam Patel")
        );
        assert_eq!(
            validate_person_name(" ").map_err(|e| e.code()),
            Err("invalid_name")
        );
        assert_eq!(
            validate_person_name("Sam\u{1b}[2K").map_err(|e| e.code()),
            Err("control_characters")
        );
    }

    #[test]
    fn a_template_is_only_used_for_its_kinds_of_case() {
        let a = officer();
        let mut pothole = Case::new(
            CaseId::new(),
            CaseKind::Highways,
            "HW-2026-1-0001".into(),
            NewCase {
                title: "Pothole".into(),
                ..Default::default()
            },
            a,
            Timestamp(1),
        )
        .unwrap();
        let fh = latest_template("food-hygiene").unwrap();
        assert_eq!(
            pothole
                .add_visit(fh, None, a, Timestamp(2))
                .map_err(|e| e.code()),
            Err("template_not_for_kind")
        );
        assert_eq!(pothole.status, CaseStatus::Open);
        pothole
            .add_visit(default_template_for("highways"), None, a, Timestamp(2))
            .unwrap();
    }

    #[test]
    fn notes_are_validated() {
        let a = officer();
        let mut c = new_case(a);
        assert_eq!(
            c.add_note("   ", a, Timestamp(1)).map_err(|e| e.code()),
            Err("empty_note")
        );
        assert_eq!(
            c.add_note(&"n".repeat(10_001), a, Timestamp(1))
                .map_err(|e| e.code()),
            Err("too_long")
        );
        let n = c
            .add_note("Rear yard full of waste", a, Timestamp(1))
            .unwrap();
        c.edit_note(n, "Rear yard full of commercial waste", a)
            .unwrap();
        assert_eq!(c.notes_text(), "Rear yard full of commercial waste");
    }

    #[test]
    fn a_case_round_trips_through_automerge() {
        let a = officer();
        let mut c = new_case(a);
        let t = default_template_for("general");
        c.add_visit(t, None, a, Timestamp(2)).unwrap();
        c.add_note("hello", a, Timestamp(3)).unwrap();
        let mut doc = automerge::AutoCommit::new();
        autosurgeon::reconcile(&mut doc, &c).unwrap();
        let back: Case = autosurgeon::hydrate(&doc).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn concurrent_additions_merge_and_same_field_edits_conflict() {
        use automerge::{ActorId, AutoCommit, ReadDoc};
        let a = officer();
        let b = officer();
        let base = new_case(a);
        let mut doc_a = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
        autosurgeon::reconcile(&mut doc_a, &base).unwrap();
        doc_a.commit();
        let mut doc_b = doc_a.fork().with_actor(ActorId::from(&[2u8; 16][..]));

        // Two devices, offline: each starts a visit and adds a note; both change the title.
        let t = default_template_for("general");
        let mut case_a: Case = autosurgeon::hydrate(&doc_a).unwrap();
        case_a.add_visit(t, None, a, Timestamp(10)).unwrap();
        case_a.add_note("from A", a, Timestamp(10)).unwrap();
        case_a
            .edit(
                CaseEdit {
                    title: Some("Title by A".into()),
                    ..Default::default()
                },
                a,
            )
            .unwrap();
        autosurgeon::reconcile(&mut doc_a, &case_a).unwrap();
        doc_a.commit();

        let mut case_b: Case = autosurgeon::hydrate(&doc_b).unwrap();
        case_b.add_visit(t, None, b, Timestamp(11)).unwrap();
        case_b.add_note("from B", b, Timestamp(11)).unwrap();
        case_b
            .edit(
                CaseEdit {
                    title: Some("Title by B".into()),
                    postcode: Some(Some("M1 1AE".into())),
                    ..Default::default()
                },
                b,
            )
            .unwrap();
        autosurgeon::reconcile(&mut doc_b, &case_b).unwrap();
        doc_b.commit();

        doc_a.merge(&mut doc_b).unwrap();
        doc_b.merge(&mut doc_a).unwrap();
        let merged_a: Case = autosurgeon::hydrate(&doc_a).unwrap();
        let merged_b: Case = autosurgeon::hydrate(&doc_b).unwrap();
        assert_eq!(merged_a, merged_b, "both devices converge");
        assert_eq!(merged_a.visits.len(), 2, "both visits kept");
        assert_eq!(merged_a.notes.len(), 2, "both notes kept");
        assert_eq!(
            merged_a.postcode.as_deref(),
            Some("M1 1AE"),
            "different fields merge"
        );
        // The same field edited twice: one value wins for now, and both are kept as a conflict.
        let titles: Vec<String> = doc_a
            .get_all(automerge::ROOT, "title")
            .unwrap()
            .into_iter()
            .map(|(v, _)| v.into_string().unwrap())
            .collect();
        assert_eq!(titles.len(), 2, "{titles:?}");
        assert!(
            titles.contains(&"Title by A".to_string())
                && titles.contains(&"Title by B".to_string())
        );
        assert!(titles.contains(&merged_a.title));
    }

    #[test]
    fn reconciling_only_the_changes_gives_the_same_document() {
        use automerge::AutoCommit;
        let a = officer();
        let leader = Actor {
            person: PersonId::new(),
            role: Role::TeamLeader,
        };
        let mut doc = AutoCommit::new();
        let mut case = new_case(a);
        autosurgeon::reconcile(&mut doc, &case).unwrap();
        doc.commit();
        let t = latest_template("food-hygiene").unwrap();
        type Step = Box<dyn Fn(&mut Case)>;
        let steps: Vec<Step> = vec![
            Box::new(|c| {
                c.edit(
                    CaseEdit {
                        title: Some("New title".into()),
                        due: Some(Some("2027-01-01".parse().unwrap())),
                        ..Default::default()
                    },
                    officer(),
                )
                .unwrap()
            }),
            Box::new(move |c| {
                c.add_visit(t, None, a, Timestamp(5)).unwrap();
            }),
            Box::new(move |c| {
                let v = c.visits.values().next().unwrap().id;
                c.answer(v, "fh.hygiene", AnswerValue::Score(5), a, Timestamp(6))
                    .unwrap();
                c.answer(v, "fh.structure", AnswerValue::Score(10), a, Timestamp(6))
                    .unwrap();
            }),
            Box::new(move |c| {
                let v = c.visits.values().next().unwrap().id;
                c.answer(v, "fh.hygiene", AnswerValue::Score(0), a, Timestamp(7))
                    .unwrap();
                c.clear_answer(v, "fh.structure", a).unwrap();
            }),
            Box::new(move |c| {
                c.add_note("first note", a, Timestamp(8)).unwrap();
            }),
            Box::new(move |c| {
                let n = c.notes.values().next().unwrap().id;
                c.edit_note(n, "first note, edited", a).unwrap();
            }),
            Box::new(move |c| {
                c.add_visit(t, None, a, Timestamp(9)).unwrap();
            }),
            Box::new(|c| {
                c.edit(
                    CaseEdit {
                        address: Some(None),
                        uprn: Some(None),
                        ..Default::default()
                    },
                    officer(),
                )
                .unwrap()
            }),
            Box::new(move |c| {
                c.photos.insert(
                    "ab".repeat(32),
                    PhotoRef {
                        sha256: "ab".repeat(32),
                        bytes: 10,
                        mime: "image/jpeg".into(),
                        width: 1,
                        height: 1,
                        taken_at: None,
                        location: None,
                        caption: "front".into(),
                        visit: None,
                        thumb_sha256: Some("cd".repeat(32)),
                    },
                );
            }),
            Box::new(move |c| {
                c.photos.clear();
                c.visits.pop_first();
            }),
            Box::new(move |c| {
                c.status = CaseStatus::Submitted;
                c.transition(CaseStatus::Returned, leader).unwrap();
            }),
        ];
        for step in steps {
            let before: Case = autosurgeon::hydrate(&doc).unwrap();
            let mut after = before.clone();
            step(&mut after);
            // The same change made the slow way, on a fork.
            let mut full = doc.fork();
            autosurgeon::reconcile(&mut full, &after).unwrap();
            full.commit();
            reconcile_changes(&mut doc, &before, &after).unwrap();
            doc.commit();
            let fast: Case = autosurgeon::hydrate(&doc).unwrap();
            let slow: Case = autosurgeon::hydrate(&full).unwrap();
            assert_eq!(fast, after);
            assert_eq!(fast, slow);
            case = after;
        }
        assert_eq!(case.status, CaseStatus::Returned);
    }
}
