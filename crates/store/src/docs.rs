//! Case documents as chunks: one full save followed by incremental saves, folded back into a
//! single full save once a case has [`COMPACT_AFTER`] chunks.

use automerge::{ActorId, AutoCommit};
use rusqlite::{OptionalExtension, Transaction, params};

use crate::{Result, StoreError};

/// Fold a case's chunks into one after this many. Loading is cheap either way; compaction keeps
/// the file small (an incremental chunk repeats column headers a full save shares).
pub const COMPACT_AFTER: i64 = 32;

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
    tx.prepare_cached("INSERT INTO case_docs (case_id, chunk_count) VALUES (?1, 1)")?
        .execute([case_id])?;
    let pk = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO case_chunks (case_pk, seq, bytes) VALUES (?1, 0, ?2)")?
        .execute(params![pk, full])?;
    Ok(pk)
}

/// Append the changes made since `before` to a case; compact when it has grown too many chunks.
pub(crate) fn append(
    tx: &Transaction<'_>,
    case_pk: i64,
    doc: &mut AutoCommit,
    incremental: &[u8],
) -> Result<()> {
    let (count, next): (i64, i64) = tx
        .prepare_cached(
            "SELECT d.chunk_count, coalesce((SELECT max(seq) FROM case_chunks WHERE case_pk = d.pk), -1) + 1
             FROM case_docs d WHERE d.pk = ?1",
        )?
        .query_row([case_pk], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if count + 1 >= COMPACT_AFTER {
        let full = doc.save();
        tx.prepare_cached("DELETE FROM case_chunks WHERE case_pk = ?1")?
            .execute([case_pk])?;
        tx.prepare_cached("INSERT INTO case_chunks (case_pk, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![case_pk, next, full])?;
        tx.prepare_cached("UPDATE case_docs SET chunk_count = 1 WHERE pk = ?1")?
            .execute([case_pk])?;
    } else {
        tx.prepare_cached("INSERT INTO case_chunks (case_pk, seq, bytes) VALUES (?1, ?2, ?3)")?
            .execute(params![case_pk, next, incremental])?;
        tx.prepare_cached("UPDATE case_docs SET chunk_count = chunk_count + 1 WHERE pk = ?1")?
            .execute([case_pk])?;
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
