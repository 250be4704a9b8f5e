//! Case documents as chunks: one full save followed by incremental saves, folded back into a
//! single full save once a case has [`COMPACT_AFTER`] chunks.

use automerge::{ActorId, AutoCommit};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Result, StoreError};

/// Fold a case's chunks into one after this many. Loading is cheap either way; compaction keeps
/// the file small (an incremental chunk repeats column headers a full save shares).
pub const COMPACT_AFTER: i64 = 32;

/// Incremental chunks may grow to the size of the full save, or this many bytes, before they
/// are folded in.
pub const COMPACT_BYTES: i64 = 4096;

/// Load a case document from its chunks.
pub(crate) fn load(conn: &rusqlite::Connection, case_pk: i64) -> Result<AutoCommit> {
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM case_chunks WHERE case_pk = ?1 ORDER BY seq")?;
    let mut rows = stmt.query([case_pk])?;
    let mut bytes = Vec::new();
    while let Some(row) = rows.next()? {
        let chunk = row
            .get_ref(0)?
            .as_blob()
            .map_err(|e| StoreError::Document(e.to_string()))?;
        bytes.extend_from_slice(chunk);
    }
    Ok(AutoCommit::load(&bytes)?)
}

/// Insert a new case document row and its first chunk; returns the case's pk.
pub(crate) fn insert_new(tx: &Transaction<'_>, case_id: &str, full: &[u8]) -> Result<i64> {
    tx.prepare_cached("INSERT INTO case_docs (case_id) VALUES (?1)")?
        .execute([case_id])?;
    let pk = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO case_chunks (case_pk, seq, bytes) VALUES (?1, 0, ?2)")?
        .execute(params![pk, full])?;
    Ok(pk)
}

/// Append the changes made since the document was loaded; fold the chunks back into one full
/// save when there are [`COMPACT_AFTER`] of them, or when the incremental chunks together have
/// outgrown the full save (an incremental chunk repeats what a full save shares, so a case whose
/// visits arrived one change at a time would otherwise take three times the space).
pub(crate) fn append(
    tx: &Transaction<'_>,
    case_pk: i64,
    doc: &mut AutoCommit,
    incremental: &[u8],
) -> Result<()> {
    let (count, next, first_len, total_len): (i64, i64, i64, i64) = tx
        .prepare_cached(
            "SELECT count(*), max(seq) + 1,
                    (SELECT length(bytes) FROM case_chunks WHERE case_pk = ?1 ORDER BY seq LIMIT 1),
                    sum(length(bytes))
             FROM case_chunks WHERE case_pk = ?1",
        )?
        .query_row([case_pk], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
    let incremental_len = total_len - first_len + incremental.len() as i64;
    if count + 1 >= COMPACT_AFTER || incremental_len > first_len.max(COMPACT_BYTES) {
        let full = doc.save();
        tx.prepare_cached("DELETE FROM case_chunks WHERE case_pk = ?1")?
            .execute([case_pk])?;
        tx.prepare_cached("INSERT INTO case_chunks (case_pk, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![case_pk, next, full])?;
    } else {
        tx.prepare_cached("INSERT INTO case_chunks (case_pk, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![case_pk, next, incremental])?;
    }
    Ok(())
}

pub(crate) fn pk_of(conn: &rusqlite::Connection, case_id: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT pk FROM case_docs WHERE case_id = ?1")?
        .query_row([case_id], |r| r.get(0))
        .optional()?)
}

/// A new empty document written by `actor`.
pub(crate) fn new_doc(actor: &ActorId) -> AutoCommit {
    AutoCommit::new().with_actor(actor.clone())
}
