//! Fieldbook's device database: one encrypted SQLite file (SQLCipher, through rusqlite) holding
//! each case's automerge document as chunks, the projection tables and full-text index that
//! lists, filters and search read, the sync outbox, and the device's identity. The key comes
//! from the person's passphrase (Argon2id; see [`keys`]) and is never written down.
//!
//! Every change to a case is one SQLite transaction: load the document, let a rule from
//! `fieldbook-core` change it, append the new automerge changes, rewrite the case's projection
//! rows, queue it for sync, commit. A refused change writes nothing. Opening the device reads no
//! case document; lists and search read only projections.
//!
//! This crate must not know HTTP, Tauri or any UI: it serves `fieldbook-app`.

pub mod basemap;
mod conflicts;
mod docs;
mod drafts;
mod error;
pub mod keys;
pub mod media;
pub mod migrate;
mod places;
mod projection;
mod query;
mod sync;

use std::fs;
use std::path::{Path, PathBuf};

use automerge::transaction::CommitOptions;
use automerge::{ActorId, AutoCommit};
use fieldbook_core::{
    Actor, Case, CaseId, CaseKind, CaseReference, DeviceId, NewCase, PersonId, Role, Timestamp,
};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

pub use automerge::ScalarValue;
pub use conflicts::{CASE_FIELDS, Conflict, ConflictEntry, ConflictField, ConflictValue};
pub use docs::COMPACT_AFTER;
pub use drafts::Draft;
pub use error::{Result, StoreError};
pub use places::{GazetteerLoad, POSTCODE_MATCHES};
pub use query::{CasePage, CaseQuery, CaseRow, CaseSort, MAX_PAGE, fts_query};
pub use sync::{Departure, Outgoing, Pulled, Refused, RemoteActor, ServerLink};

/// The database file inside a device's data directory.
pub const DB_FILE: &str = "fieldbook.db";
/// The key-derivation file beside it (salt, parameters, verifier; never the key).
pub const KEY_FILE: &str = "fieldbook.key";
/// Every file a device keeps in its data directory (what wiping a device deletes).
pub const DEVICE_FILES: &[&str] = &[
    DB_FILE,
    "fieldbook.db-wal",
    "fieldbook.db-shm",
    media::MEDIA_FILE,
    "media.db-wal",
    "media.db-shm",
    KEY_FILE,
];

/// Who this device is and who uses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: DeviceId,
    pub device_number: u32,
    pub person_id: PersonId,
    pub person_name: String,
    pub role: Role,
}

impl DeviceInfo {
    pub fn actor(&self) -> Actor {
        Actor {
            person: self.person_id,
            role: self.role,
        }
    }

    /// The automerge actor this device writes as: its device id's 16 bytes, so every change is
    /// attributable to a device.
    pub fn automerge_actor(&self) -> ActorId {
        ActorId::from(self.device_id.as_bytes().as_slice())
    }
}

/// What a new device needs to know.
#[derive(Clone, Debug)]
pub struct DeviceSetup {
    pub person_name: String,
    pub role: Role,
    /// Unique per device within the council; part of every case reference it mints.
    pub device_number: u32,
}

/// One change in a case's history.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    pub at: Timestamp,
    pub actor: String,
    pub device_id: Option<String>,
    pub person_id: Option<String>,
    pub person_name: Option<String>,
    pub message: String,
    pub hash: String,
}

/// The open, unlocked device database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    dir: PathBuf,
    device: DeviceInfo,
    /// The ward boundaries' index, built when first needed (see `places`).
    wards: std::sync::OnceLock<Option<fieldbook_core::geo::WardIndex>>,
}

fn data_dir_error(dir: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::DataDir {
        dir: dir.display().to_string(),
        detail: e.to_string(),
    }
}

fn open_connection(path: &Path, key: &keys::DbKey, create: bool) -> Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if create {
        flags |= OpenFlags::SQLITE_OPEN_CREATE;
    }
    let conn = Connection::open_with_flags(path, flags)?;
    // Wait for another process's write rather than failing at once.
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // SQLCipher logs failed decryption to stderr by default; errors reach the caller instead.
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))?;
    // The statement text is wiped when dropped. (SQLCipher's `cipher_memory_security`, which
    // wipes every freed allocation, is left off: it costs every query.)
    conn.execute_batch(&key.pragma())?;
    // The first read decrypts page 1: a damaged file fails here (as not-a-database or
    // corrupt, which the error conversion names; busy or I/O errors keep their own codes).
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -65536;",
    )?;
    Ok(conn)
}

/// The device's database with its photo file attached (see [`media`]).
fn open_device(dir: &Path, key: &keys::DbKey) -> Result<Connection> {
    let conn = open_connection(&dir.join(DB_FILE), key, false)?;
    media::attach(&conn, dir, &key.literal())?;
    Ok(conn)
}

impl Store {
    /// Set up a new device in `dir` (created if missing), encrypted under `passphrase`.
    pub fn init(dir: &Path, passphrase: &str, setup: DeviceSetup, now: Timestamp) -> Result<Store> {
        let name = fieldbook_core::case::validate_person_name(&setup.person_name)?;
        if setup.device_number == 0
            || setup.device_number > fieldbook_core::reference::MAX_DEVICE_NUMBER
        {
            return Err(StoreError::InvalidDeviceNumber {
                max: fieldbook_core::reference::MAX_DEVICE_NUMBER,
            });
        }
        create_private_dir(dir)?;
        let db_path = dir.join(DB_FILE);
        if db_path.exists() {
            return Err(StoreError::AlreadyInitialised {
                dir: dir.display().to_string(),
            });
        }
        // The database is built under a temporary name and renamed into place only once it is
        // complete, so a key file without a database is a set-up that was interrupted (killed,
        // power lost): start it again.
        let building = dir.join(format!("{DB_FILE}.init"));
        // Photos of a device whose set-up never finished are under a key that is gone too.
        for leftover in [
            KEY_FILE,
            &format!("{DB_FILE}.init"),
            &format!("{DB_FILE}.init-wal"),
            &format!("{DB_FILE}.init-shm"),
            media::MEDIA_FILE,
            "media.db-wal",
            "media.db-shm",
        ] {
            match fs::remove_file(dir.join(leftover)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(data_dir_error(dir, e));
                }
                _ => {}
            }
        }
        let key = keys::create(&dir.join(KEY_FILE), passphrase)?;
        let result = (|| {
            let mut conn = open_connection(&building, &key, true)?;
            // Only the device's user may read its files; SQLite gives the -wal and -shm files
            // the database file's permissions.
            set_private(&building)?;
            migrate::run(&mut conn)?;
            let device = DeviceInfo {
                device_id: DeviceId::new(),
                device_number: setup.device_number,
                person_id: PersonId::new(),
                person_name: name.to_string(),
                role: setup.role,
            };
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO device (id, device_id, device_number, person_id, person_name, role, created_at)
                 VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    device.device_id.to_string(),
                    device.device_number,
                    device.person_id.to_string(),
                    device.person_name,
                    device.role.code(),
                    now.millis()
                ],
            )?;
            tx.execute(
                "INSERT INTO actors (actor, device_id, person_id, person_name) VALUES (?1, ?2, ?3, ?4)",
                params![
                    device.automerge_actor().to_hex_string(),
                    device.device_id.to_string(),
                    device.person_id.to_string(),
                    device.person_name
                ],
            )?;
            tx.commit()?;
            // Closing the last connection checkpoints the WAL into the file; then the complete
            // database takes its real name.
            conn.close().map_err(|(_, e)| StoreError::from(e))?;
            fs::rename(&building, &db_path).map_err(|e| data_dir_error(dir, e))?;
            fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| data_dir_error(dir, e))?;
            Ok(Store {
                conn: open_device(dir, &key)?,
                dir: dir.to_path_buf(),
                device,
                wards: std::sync::OnceLock::new(),
            })
        })();
        if result.is_err() {
            // Leave no half-made device behind.
            for f in [DB_FILE, KEY_FILE, media::MEDIA_FILE] {
                let _ = fs::remove_file(dir.join(f));
            }
            let _ = fs::remove_file(&building);
        }
        result
    }

    /// Unlock an existing device. A wrong passphrase is refused before the database is opened.
    pub fn open(dir: &Path, passphrase: &str) -> Result<Store> {
        let db_path = dir.join(DB_FILE);
        match fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotInitialised {
                    dir: dir.display().to_string(),
                });
            }
            Err(e) => return Err(data_dir_error(dir, e)),
            Ok(m) if !m.is_dir() => return Err(data_dir_error(dir, "not a directory")),
            Ok(_) => {}
        }
        if !db_path.exists() {
            return Err(StoreError::NotInitialised {
                dir: dir.display().to_string(),
            });
        }
        let key = keys::unlock(&dir.join(KEY_FILE), passphrase)?;
        let mut conn = open_device(dir, &key)?;
        migrate::run(&mut conn)?;
        let device = conn
            .query_row(
                "SELECT device_id, device_number, person_id, person_name, role FROM device WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::Corrupt {
                detail: "the device record is missing".into(),
            })?;
        let corrupt = |_| StoreError::Corrupt {
            detail: "the device record is damaged".into(),
        };
        let device = DeviceInfo {
            device_id: device.0.parse().map_err(corrupt)?,
            device_number: device.1,
            person_id: device.2.parse().map_err(corrupt)?,
            person_name: device.3,
            role: device.4.parse().map_err(corrupt)?,
        };
        Ok(Store {
            conn,
            dir: dir.to_path_buf(),
            device,
            wards: std::sync::OnceLock::new(),
        })
    }

    /// How long a write waits for another process's write to finish before failing with
    /// [`StoreError::Busy`] (5 s by default).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        Ok(self.conn.busy_timeout(timeout)?)
    }

    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Create one case, minting its reference, in one transaction.
    pub fn create_case(&mut self, kind: CaseKind, new: NewCase, now: Timestamp) -> Result<Case> {
        let mut cases = self.create_cases(vec![(kind, new)], now)?;
        cases
            .pop()
            .ok_or_else(|| StoreError::Document("no case created".into()))
    }

    /// Create many cases in one transaction (imports, back-office pushes, demos). Either every
    /// case is created or, if any is refused, none is.
    pub fn create_cases(
        &mut self,
        batch: Vec<(CaseKind, NewCase)>,
        now: Timestamp,
    ) -> Result<Vec<Case>> {
        self.create_cases_with(batch, now, |_, _, _| Ok(()))
    }

    /// Like [`Store::create_cases`], and `fill` completes each new case (visits, answers, notes
    /// carried over from another system) before it is first saved, so each case is created as
    /// one change. All or nothing. Large batches build their documents on every core.
    pub fn create_cases_with<F>(
        &mut self,
        batch: Vec<(CaseKind, NewCase)>,
        now: Timestamp,
        fill: F,
    ) -> Result<Vec<Case>>
    where
        F: Fn(usize, &mut Case, Actor) -> std::result::Result<(), fieldbook_core::DomainError>
            + Sync,
    {
        let device = self.device.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        // References are minted in order, in this transaction.
        let mut minted = Vec::with_capacity(batch.len());
        for (kind, new) in batch {
            let sequence: u32 = tx
                .prepare_cached(
                    "INSERT INTO reference_counters (prefix, year, last) VALUES (?1, ?2, 1)
                     ON CONFLICT (prefix, year) DO UPDATE SET last = last + 1
                     RETURNING last",
                )?
                .query_row(params![kind.prefix(), now.year()], |r| r.get(0))?;
            let reference = CaseReference::new(kind, now.year(), device.device_number, sequence)?;
            minted.push((kind, new, reference));
        }
        let build = |i: usize,
                     (kind, new, reference): (CaseKind, NewCase, CaseReference)|
         -> Result<(Case, Vec<u8>)> {
            let mut case = Case::new(
                CaseId::new(),
                kind,
                reference.to_string(),
                new,
                device.actor(),
                now,
            )?;
            fill(i, &mut case, device.actor())?;
            let mut doc = docs::new_doc(&device.automerge_actor());
            autosurgeon::reconcile(&mut doc, &case)?;
            doc.commit_with(
                CommitOptions::default()
                    .with_message(format!("Created case {reference}"))
                    .with_time(now.millis()),
            );
            Ok((case, doc.save()))
        };
        let built = build_in_parallel(minted, build)?;
        let mut created = Vec::with_capacity(built.len());
        for (case, full) in built {
            let pk = docs::insert_new(&tx, &case.id.to_string(), &full)?;
            projection::write(&tx, pk, &case, now.millis(), true)?;
            outbox_add(&tx, pk, now)?;
            created.push(case);
        }
        tx.commit()?;
        Ok(created)
    }

    /// Find a case by its reference (any letter case) or its id.
    pub fn find_case(&self, reference_or_id: &str) -> Result<CaseId> {
        let not_found = || StoreError::CaseNotFound {
            reference: reference_or_id.chars().take(60).collect(),
        };
        if let Ok(id) = reference_or_id.parse::<CaseId>() {
            return docs::pk_of(&self.conn, &id.to_string())?
                .map(|_| id)
                .ok_or_else(not_found);
        }
        let reference: CaseReference = reference_or_id.parse().map_err(|_| not_found())?;
        let id: Option<String> = self
            .conn
            .prepare_cached("SELECT case_id FROM cases WHERE reference = ?1")?
            .query_row([reference.to_string()], |r| r.get(0))
            .optional()?;
        id.and_then(|s| s.parse().ok()).ok_or_else(not_found)
    }

    fn pk(&self, id: CaseId) -> Result<i64> {
        docs::pk_of(&self.conn, &id.to_string())?.ok_or_else(|| StoreError::CaseNotFound {
            reference: id.to_string(),
        })
    }

    /// Load one case document and read it.
    pub fn load_case(&self, id: CaseId) -> Result<Case> {
        let pk = self.pk(id)?;
        let doc = docs::load(&self.conn, pk)?;
        Ok(fieldbook_core::read::hydrate_case(&doc)?)
    }

    /// Change a case durably. `change` applies a rule from `fieldbook-core` and returns the
    /// history message; if it refuses, nothing is written. Returns the case as saved.
    pub fn change_case<F>(&mut self, id: CaseId, now: Timestamp, change: F) -> Result<Case>
    where
        F: FnOnce(&mut Case, Actor) -> std::result::Result<String, fieldbook_core::DomainError>,
    {
        self.change_doc(id, now, None, |_, _, case, actor| Ok(change(case, actor)?))
    }

    /// [`Store::change_case`], with the document and connection visible to `change`, and when
    /// `rewrite` names a field, that field written afresh from the changed case even if its
    /// value is unchanged (so the write supersedes every concurrent value it holds).
    pub(crate) fn change_doc<F>(
        &mut self,
        id: CaseId,
        now: Timestamp,
        rewrite: Option<&ConflictField>,
        change: F,
    ) -> Result<Case>
    where
        F: FnOnce(&AutoCommit, &Connection, &mut Case, Actor) -> Result<String>,
    {
        let actor = self.device.actor();
        let actor_id = self.device.automerge_actor();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let pk = docs::pk_of(&tx, &id.to_string())?.ok_or_else(|| StoreError::CaseNotFound {
            reference: id.to_string(),
        })?;
        let mut doc = docs::load(&tx, pk)?;
        doc.set_actor(actor_id);
        let before_heads = doc.get_heads();
        let before = fieldbook_core::read::hydrate_case(&doc)?;
        let mut case = before.clone();
        let message = change(&doc, &tx, &mut case, actor)?;
        if case == before && rewrite.is_none() {
            return Ok(case);
        }
        fieldbook_core::case::reconcile_changes(&mut doc, &before, &case)?;
        if let Some(field) = rewrite {
            conflicts::rewrite(&mut doc, field, &case)?;
        }
        let changed = doc
            .commit_with(
                CommitOptions::default()
                    .with_message(message)
                    .with_time(now.millis()),
            )
            .is_some();
        if !changed {
            return Ok(case);
        }
        let incremental = doc.save_after(&before_heads);
        docs::append(&tx, pk, &mut doc, &incremental)?;
        let previous: i64 = tx
            .prepare_cached("SELECT updated_at FROM cases WHERE pk = ?1")?
            .query_row([pk], |r| r.get(0))?;
        projection::update(&tx, pk, &before, &case, previous.max(now.millis()))?;
        outbox_add(&tx, pk, now)?;
        tx.commit()?;
        Ok(case)
    }

    /// Every change to a case, oldest first, with who made it (by device and person) and what.
    pub fn history(&self, id: CaseId) -> Result<Vec<HistoryEntry>> {
        let pk = self.pk(id)?;
        let mut doc = docs::load(&self.conn, pk)?;
        let mut lookup = self.conn.prepare_cached(
            "SELECT device_id, person_id, person_name FROM actors WHERE actor = ?1",
        )?;
        let mut out = Vec::new();
        for change in doc.get_changes(&[]) {
            let actor = change.actor_id().to_hex_string();
            let who: Option<(String, String, String)> = lookup
                .query_row([&actor], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            out.push(HistoryEntry {
                at: Timestamp(change.timestamp()),
                device_id: who.as_ref().map(|w| w.0.clone()),
                person_id: who.as_ref().map(|w| w.1.clone()),
                person_name: who.map(|w| w.2),
                actor,
                message: change.message().unwrap_or_default().to_string(),
                hash: change.hash().to_string(),
            });
        }
        out.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.hash.cmp(&b.hash)));
        Ok(out)
    }

    /// A filtered, sorted page of cases from the projections.
    pub fn list_cases(&self, q: &CaseQuery) -> Result<CasePage> {
        query::list(&self.conn, q)
    }

    /// How many cases and changes wait to be sent to the server.
    pub fn outbox(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(changes), 0) FROM outbox",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    /// The name of a person this device has seen (as the author of a change), if any.
    pub fn person_name(&self, person: PersonId) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT person_name FROM actors WHERE person_id = ?1 LIMIT 1")?
            .query_row([person.to_string()], |r| r.get(0))
            .optional()?)
    }

    /// People this device has seen (as authors of changes), by name: (person id, name), sorted
    /// by name. Each person once.
    pub fn people(&self) -> Result<Vec<(PersonId, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT person_id, min(person_name) FROM actors GROUP BY person_id
             ORDER BY min(person_name), person_id",
        )?;
        let rows: Vec<(String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, name)| id.parse().ok().map(|id| (id, name)))
            .collect())
    }

    /// How many cases this device holds.
    pub fn case_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM case_docs", [], |r| r.get::<_, i64>(0))?
            as u64)
    }

    /// Throw away every projection row and derive them again from the documents, in one
    /// transaction. Used after a projection-changing upgrade, and to prove they are derivable.
    pub fn rebuild_projections(&mut self) -> Result<u64> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM answers; DELETE FROM visits; DELETE FROM photos;
             DELETE FROM case_search; DELETE FROM cases;",
        )?;
        let pks: Vec<i64> = tx
            .prepare("SELECT pk FROM case_docs ORDER BY pk")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for &pk in &pks {
            let mut doc = docs::load(&tx, pk)?;
            let case = fieldbook_core::read::hydrate_case(&doc)?;
            let updated_at = last_change_time(&mut doc);
            projection::write(&tx, pk, &case, updated_at, true)?;
        }
        tx.commit()?;
        Ok(pks.len() as u64)
    }

    /// Every projection row in a stable order, as text, for comparing two states of the
    /// projections (surrogate keys of visits are replaced by visit ids).
    pub fn projection_snapshot(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for sql in [
            "SELECT 'case', * FROM cases ORDER BY pk",
            "SELECT 'visit', visit_id, case_pk, template_id, template_version, started_at, officer,
                    answered, missing_required, score_total, rating FROM visits ORDER BY visit_id",
            "SELECT 'answer', v.visit_id, a.item_id, a.value_kind, a.value_text, a.value_num
             FROM answers a JOIN visits v ON v.pk = a.visit_pk ORDER BY v.visit_id, a.item_id",
            "SELECT 'photo', * FROM photos ORDER BY case_pk, sha256",
        ] {
            let mut stmt = self.conn.prepare(sql)?;
            let n = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let cols: Vec<String> = (0..n)
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<rusqlite::Result<_>>()?;
                out.push(cols.join("|"));
            }
        }
        // The search index is contentless: compare the terms it holds for each case, with their
        // column and position.
        self.conn.execute_batch(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.case_search_terms
                 USING fts5vocab(main, case_search, instance)",
        )?;
        let mut stmt = self.conn.prepare(
            "SELECT doc, col, offset, term FROM temp.case_search_terms ORDER BY doc, col, offset",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (doc, col, offset, term): (i64, String, i64, String) =
                (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?);
            out.push(format!("search|{doc}|{col}|{offset}|{term}"));
        }
        Ok(out)
    }

    /// `PRAGMA integrity_check` on the whole file: "ok" when sound.
    pub fn integrity_check(&self) -> Result<String> {
        let rows: Vec<String> = self
            .conn
            .prepare("PRAGMA integrity_check")?
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows.join("; "))
    }

    /// Direct read access for benchmarks and diagnostics (read-only statements only).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// Map `items` through `f` (with each item's index), on every core when there are enough of
/// them; results keep their order, and the first error (in order) wins.
pub(crate) fn build_in_parallel<T, R, F>(items: Vec<T>, f: F) -> Result<Vec<R>>
where
    T: Send,
    R: Send,
    F: Fn(usize, T) -> Result<R> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if threads == 1 || items.len() < 64 {
        return items
            .into_iter()
            .enumerate()
            .map(|(i, t)| f(i, t))
            .collect();
    }
    let per = items.len().div_ceil(threads);
    let mut chunks: Vec<Vec<(usize, T)>> = Vec::new();
    for (i, t) in items.into_iter().enumerate() {
        if i % per == 0 {
            chunks.push(Vec::with_capacity(per));
        }
        if let Some(last) = chunks.last_mut() {
            last.push((i, t));
        }
    }
    let f = &f;
    let results: Vec<Result<Vec<R>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(i, t)| f(i, t))
                        .collect::<Result<Vec<R>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = Vec::new();
    for r in results {
        out.extend(r?);
    }
    Ok(out)
}

/// Create the data directory (and parents) readable only by its owner.
fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| data_dir_error(dir, e))
}

/// Make a file readable and writable only by its owner (a no-op where there are no modes).
pub(crate) fn set_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| data_dir_error(path.parent().unwrap_or(path), e))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn last_change_time(doc: &mut AutoCommit) -> i64 {
    doc.get_changes_meta(&[])
        .iter()
        .map(|c| c.timestamp)
        .max()
        .unwrap_or(0)
}

fn outbox_add(tx: &rusqlite::Transaction<'_>, pk: i64, now: Timestamp) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (case_pk, changes, first_at) VALUES (?1, 1, ?2)
         ON CONFLICT (case_pk) DO UPDATE SET changes = changes + 1",
    )?
    .execute(params![pk, now.millis()])?;
    Ok(())
}
