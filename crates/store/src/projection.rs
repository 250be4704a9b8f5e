//! Projection rows derived from a case document. Written in the same transaction as the change
//! that produced them, and rebuildable from the documents alone.

use fieldbook_core::template::AnswerValue;
use fieldbook_core::{Case, CaseReference, Visit};
use rusqlite::{Transaction, params};

use crate::Result;

/// Write every projection row of one case. `fresh`: the case has no rows yet.
pub(crate) fn write(
    tx: &Transaction<'_>,
    pk: i64,
    case: &Case,
    updated_at: i64,
    fresh: bool,
) -> Result<()> {
    if !fresh {
        delete(tx, pk)?;
    }
    case_row(tx, pk, case, updated_at)?;
    for visit in case.visits.values() {
        insert_visit(tx, pk, visit)?;
    }
    insert_photos(tx, pk, case)?;
    insert_search(tx, pk, case)?;
    Ok(())
}

/// Bring one case's projection rows from `before` to `after`, touching only what changed: a
/// title edit rewrites the case row and its search entry, not forty answers.
pub(crate) fn update(
    tx: &Transaction<'_>,
    pk: i64,
    before: &Case,
    after: &Case,
    updated_at: i64,
) -> Result<()> {
    case_row(tx, pk, after, updated_at)?;
    if before.visits != after.visits {
        for (key, visit) in &before.visits {
            if after.visits.get(key) != Some(visit) {
                delete_visit(tx, key)?;
            }
        }
        for (key, visit) in &after.visits {
            if before.visits.get(key) != Some(visit) {
                insert_visit(tx, pk, visit)?;
            }
        }
    }
    if before.photos != after.photos {
        tx.prepare_cached("DELETE FROM photos WHERE case_pk = ?1")?
            .execute([pk])?;
        insert_photos(tx, pk, after)?;
    }
    let searchable = |c: &Case| {
        (
            c.reference.clone(),
            c.title.clone(),
            c.address.clone(),
            c.postcode.clone(),
            c.uprn,
            c.notes_text(),
        )
    };
    if searchable(before) != searchable(after) {
        tx.prepare_cached("DELETE FROM case_search WHERE rowid = ?1")?
            .execute([pk])?;
        insert_search(tx, pk, after)?;
    }
    Ok(())
}

/// Insert or update the case's own row (an upsert, never a delete: visits refer to it).
fn case_row(tx: &Transaction<'_>, pk: i64, case: &Case, updated_at: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO cases (pk, case_id, reference, ref_sort, kind, title, address, postcode, uprn, lat, lon,
             status, assignee, due, created_by, created_at, updated_at, visit_count, note_count, photo_count)
         VALUES (?1, ?2, ?3, ?20, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)
         ON CONFLICT (pk) DO UPDATE SET
             case_id = excluded.case_id, reference = excluded.reference, ref_sort = excluded.ref_sort,
             kind = excluded.kind, title = excluded.title, address = excluded.address,
             postcode = excluded.postcode, uprn = excluded.uprn, lat = excluded.lat, lon = excluded.lon,
             status = excluded.status, assignee = excluded.assignee, due = excluded.due,
             created_by = excluded.created_by, created_at = excluded.created_at,
             updated_at = excluded.updated_at, visit_count = excluded.visit_count,
             note_count = excluded.note_count, photo_count = excluded.photo_count",
    )?
    .execute(params![
        pk,
        case.id.to_string(),
        case.reference,
        case.kind.code(),
        case.title,
        case.address,
        case.postcode,
        case.uprn.map(|u| u as i64),
        case.location.as_ref().map(|l| l.lat),
        case.location.as_ref().map(|l| l.lon),
        case.status.code(),
        case.assignee.map(|a| a.to_string()),
        case.due.map(|d| d.to_string()),
        case.created_by.to_string(),
        case.created_at.millis(),
        updated_at,
        case.visits.len() as i64,
        case.notes.len() as i64,
        case.photos.len() as i64,
        case.reference
            .parse::<CaseReference>()
            .map_or_else(|_| case.reference.clone(), |r| r.sort_key()),
    ])?;
    Ok(())
}

fn insert_visit(tx: &Transaction<'_>, pk: i64, visit: &Visit) -> Result<()> {
    let template = visit.template().ok();
    let missing = template.map_or(0, |t| {
        t.missing_required(|i| visit.answers.contains_key(i)).len()
    });
    let score = template.and_then(|t| t.score(|i| visit.answers.get(i).map(|a| a.value.clone())));
    tx.prepare_cached(
        "INSERT INTO visits (visit_id, case_pk, template_id, template_version, started_at, officer,
             answered, missing_required, score_total, rating)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        visit.id.to_string(),
        pk,
        visit.template_id,
        visit.template_version,
        visit.started_at.millis(),
        visit.officer.to_string(),
        visit.answers.len() as i64,
        missing as i64,
        score.as_ref().map(|s| s.total),
        score.as_ref().map(|s| s.rating),
    ])?;
    let visit_pk = tx.last_insert_rowid();
    let mut insert = tx.prepare_cached(
        "INSERT INTO answers (visit_pk, item_id, value_kind, value_text, value_num) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (item, answer) in &visit.answers {
        let (text, num) = columns(&answer.value);
        insert.execute(params![visit_pk, item, answer.value.kind_code(), text, num])?;
    }
    Ok(())
}

fn delete_visit(tx: &Transaction<'_>, visit_id: &str) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM answers WHERE visit_pk = (SELECT pk FROM visits WHERE visit_id = ?1)",
    )?
    .execute([visit_id])?;
    tx.prepare_cached("DELETE FROM visits WHERE visit_id = ?1")?
        .execute([visit_id])?;
    Ok(())
}

fn insert_photos(tx: &Transaction<'_>, pk: i64, case: &Case) -> Result<()> {
    for photo in case.photos.values() {
        tx.prepare_cached(
            "INSERT INTO photos (case_pk, sha256, visit_id, mime, bytes, width, height, taken_at, lat, lon, caption, thumb_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?
        .execute(params![
            pk,
            photo.sha256,
            photo.visit.map(|v| v.to_string()),
            photo.mime,
            photo.bytes as i64,
            photo.width,
            photo.height,
            photo.taken_at.map(|t| t.millis()),
            photo.location.as_ref().map(|l| l.lat),
            photo.location.as_ref().map(|l| l.lon),
            photo.caption,
            photo.thumb_sha256,
        ])?;
    }
    Ok(())
}

fn insert_search(tx: &Transaction<'_>, pk: i64, case: &Case) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO case_search (rowid, reference, title, address, postcode, uprn, notes)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        pk,
        case.reference,
        case.title,
        case.address.as_deref().unwrap_or(""),
        case.postcode.as_deref().unwrap_or(""),
        case.uprn.map(|u| u.to_string()).unwrap_or_default(),
        case.notes_text(),
    ])?;
    Ok(())
}

/// Remove every projection row of one case.
pub(crate) fn delete(tx: &Transaction<'_>, pk: i64) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM answers WHERE visit_pk IN (SELECT pk FROM visits WHERE case_pk = ?1)",
    )?
    .execute([pk])?;
    tx.prepare_cached("DELETE FROM visits WHERE case_pk = ?1")?
        .execute([pk])?;
    tx.prepare_cached("DELETE FROM photos WHERE case_pk = ?1")?
        .execute([pk])?;
    tx.prepare_cached("DELETE FROM case_search WHERE rowid = ?1")?
        .execute([pk])?;
    tx.prepare_cached("DELETE FROM cases WHERE pk = ?1")?
        .execute([pk])?;
    Ok(())
}

fn columns(value: &AnswerValue) -> (Option<String>, Option<f64>) {
    match value {
        AnswerValue::YesNo(b) => (None, Some(if *b { 1.0 } else { 0.0 })),
        AnswerValue::Choice(s) | AnswerValue::Text(s) => (Some(s.clone()), None),
        AnswerValue::Number(n) => (None, Some(*n)),
        AnswerValue::Date(d) => (Some(d.to_string()), None),
        AnswerValue::Score(s) => (None, Some(f64::from(*s))),
    }
}
