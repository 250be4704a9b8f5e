//! The device's side of sync, in the store's own terms (no wire types: `fieldbook-app` maps
//! them to `fieldbook-sync`'s protocol). What to push: each outbox case's changes after the heads
//! the server acknowledged. What to do with the answer: record acks (and drop a case from the
//! outbox when nothing changed locally since it was sent), record refusals (the local edit stays,
//! and is not pushed again until it changes), merge pulled changes into the documents and their
//! projections, and remember where the pull left off. Each is one transaction.

use automerge::{AutoCommit, ChangeHash};
use fieldbook_core::Case;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::{Result, Store, StoreError, docs, projection};

/// One case's changes to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub case_id: String,
    /// The heads the server acknowledged (empty: it has never seen the case).
    pub base_heads: Vec<ChangeHash>,
    /// The document's changes after `base_heads` (the whole document when they are empty).
    pub changes: Vec<u8>,
    /// The document's heads when these changes were taken (pass back to [`Store::acknowledge`]).
    pub sent_heads: Vec<ChangeHash>,
}

/// The server this device is registered with, and how its last sync went.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerLink {
    pub url: String,
    /// The bearer token (secret: kept only in the encrypted file; `Debug` leaves it out).
    pub token: String,
    pub user_name: String,
    pub linked_at: i64,
    pub last_sync_at: Option<i64>,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for ServerLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerLink")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("user_name", &self.user_name)
            .field("last_sync_at", &self.last_sync_at)
            .field("last_error", &self.last_error)
            .finish()
    }
}

/// A writer of changes on another device, as the server names them (for history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteActor {
    /// The automerge actor id, hex.
    pub actor: String,
    pub device_id: String,
    pub person_id: String,
    pub person_name: String,
}

/// A case that left this device: reassigned out of its person's sight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Departure {
    pub case_id: String,
    pub reference: String,
    pub title: String,
    /// When the server said it had gone (ms).
    pub noticed_at: i64,
    /// When it was removed from the device; `None` while its unsynced edits wait to be pushed.
    pub removed_at: Option<i64>,
}

/// One case pulled from the server, for [`Store::merge_remote_page`].
#[derive(Clone, Copy, Debug)]
pub struct Pulled<'a> {
    pub case_id: &'a str,
    /// Its changes after the heads the server knows this device holds, or its whole document.
    pub changes: &'a [u8],
    /// Its heads on the server.
    pub server_heads: &'a [ChangeHash],
}

/// A case whose changes the server refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub case_id: String,
    pub code: String,
    pub message: String,
}

fn heads_json(heads: &[ChangeHash]) -> String {
    let mut v: Vec<String> = heads.iter().map(ToString::to_string).collect();
    v.sort();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

fn heads_from(json: &str) -> Result<Vec<ChangeHash>> {
    let v: Vec<String> =
        serde_json::from_str(json).map_err(|e| StoreError::Document(e.to_string()))?;
    v.iter()
        .map(|h| {
            h.parse()
                .map_err(|_| StoreError::Document(format!("bad change hash {h}")))
        })
        .collect()
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

impl Store {
    /// The server sequence number this device's pull has reached.
    pub fn sync_since(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT since FROM sync_state WHERE id = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Up to `limit` outbox cases to push, oldest first; cases the server refused are left out
    /// until they change again.
    pub fn outgoing(&self, limit: usize) -> Result<Vec<Outgoing>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.pk, d.case_id, s.acked_heads, s.refused_heads
             FROM outbox o JOIN case_docs d ON d.pk = o.case_pk
             LEFT JOIN case_sync s ON s.case_pk = o.case_pk
             ORDER BY o.first_at, o.case_pk",
        )?;
        let rows: Vec<(i64, String, Option<String>, Option<String>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for (pk, case_id, acked, refused) in rows {
            if out.len() >= limit {
                break;
            }
            let mut doc = docs::load(&self.conn, pk)?;
            let heads = sorted(doc.get_heads());
            if let Some(r) = refused
                && heads_from(&r)? == heads
            {
                continue;
            }
            let base = heads_from(acked.as_deref().unwrap_or("[]"))?;
            let known =
                !base.is_empty() && base.iter().all(|h| doc.get_change_by_hash(h).is_some());
            let (base_heads, changes) = if known {
                let c = doc.save_after(&base);
                (base, c)
            } else {
                (Vec::new(), doc.save())
            };
            out.push(Outgoing {
                case_id,
                base_heads,
                changes,
                sent_heads: heads,
            });
        }
        Ok(out)
    }

    /// The server now holds the case as it stood at `sent_heads`: push from there next time. If
    /// the case has not changed here since, it leaves the outbox.
    pub fn acknowledge(&mut self, case_id: &str, sent_heads: &[ChangeHash]) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(pk) = docs::pk_of(&tx, case_id)? else {
            return Err(StoreError::CaseNotFound {
                reference: case_id.to_string(),
            });
        };
        let mut doc = docs::load(&tx, pk)?;
        let now = sorted(doc.get_heads());
        tx.prepare_cached(
            "INSERT INTO case_sync (case_pk, acked_heads) VALUES (?1, ?2)
             ON CONFLICT (case_pk) DO UPDATE SET acked_heads = excluded.acked_heads,
                 refused_code = NULL, refused_message = NULL, refused_heads = NULL",
        )?
        .execute(params![pk, heads_json(sent_heads)])?;
        if now == sorted(sent_heads.to_vec()) {
            tx.prepare_cached("DELETE FROM outbox WHERE case_pk = ?1")?
                .execute([pk])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The server refused the case's changes as they stood at `sent_heads`: keep them, say why.
    pub fn refuse(
        &mut self,
        case_id: &str,
        sent_heads: &[ChangeHash],
        code: &str,
        message: &str,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let Some(pk) = docs::pk_of(&tx, case_id)? else {
            return Err(StoreError::CaseNotFound {
                reference: case_id.to_string(),
            });
        };
        tx.prepare_cached(
            "INSERT INTO case_sync (case_pk, refused_code, refused_message, refused_heads)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (case_pk) DO UPDATE SET refused_code = excluded.refused_code,
                 refused_message = excluded.refused_message, refused_heads = excluded.refused_heads",
        )?
        .execute(params![pk, code, message, heads_json(sent_heads)])?;
        tx.commit()?;
        Ok(())
    }

    /// Cases whose changes the server refused, and why.
    pub fn refused(&self) -> Result<Vec<Refused>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.case_id, s.refused_code, s.refused_message FROM case_sync s
             JOIN case_docs d ON d.pk = s.case_pk WHERE s.refused_code IS NOT NULL ORDER BY d.pk",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Refused {
                case_id: r.get(0)?,
                code: r.get(1)?,
                message: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Merge changes pulled from the server into a case (creating it when new), with its
    /// projections, in one transaction. `server_heads` are the case's heads on the server.
    /// Returns the case as it now stands here.
    pub fn merge_remote(
        &mut self,
        case_id: &str,
        changes: &[u8],
        server_heads: &[ChangeHash],
        actors: &[RemoteActor],
    ) -> Result<Case> {
        let pulled = Pulled {
            case_id,
            changes,
            server_heads,
        };
        let mut cases = self.merge_remote_page(std::slice::from_ref(&pulled), actors)?;
        cases
            .pop()
            .ok_or_else(|| StoreError::Document("no case merged".into()))
    }

    /// Merge a page of pulled cases, and learn the writers named in it, in one transaction: all
    /// or nothing (a page that fails is pulled again). Cases new to this device are loaded and
    /// hydrated on every core and stored as the server sent them (a full save); cases it holds
    /// take the changes and have only their changed projection rows rewritten. Returns the
    /// cases as they now stand here, in the order given.
    pub fn merge_remote_page(
        &mut self,
        cases: &[Pulled<'_>],
        actors: &[RemoteActor],
    ) -> Result<Vec<Case>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut seen = std::collections::HashSet::with_capacity(cases.len());
        let mut fresh = Vec::new();
        let mut held = Vec::new();
        for (i, p) in cases.iter().enumerate() {
            if !seen.insert(p.case_id) {
                return Err(StoreError::Document(format!(
                    "the server sent case {} twice in one answer",
                    p.case_id
                )));
            }
            match docs::pk_of(&tx, p.case_id)? {
                Some(pk) => held.push((i, pk)),
                None => fresh.push(i),
            }
        }
        let mut merged: Vec<Option<Case>> = vec![None; cases.len()];
        // New cases: the CPU work (parsing and hydrating) spread over the cores, then written.
        let built = crate::build_in_parallel(fresh, |_, i| {
            let p = &cases[i];
            // Strict: the bytes are kept as sent, so they must load whole.
            let mut doc = AutoCommit::load(p.changes)?;
            let (case, updated_at) = checked(&mut doc, p.case_id)?;
            Ok((i, case, updated_at))
        })?;
        for (i, case, updated_at) in built {
            let p = &cases[i];
            let pk = docs::insert_new(&tx, p.case_id, p.changes)?;
            projection::write(&tx, pk, &case, updated_at, true)?;
            set_acked(&tx, pk, p.server_heads)?;
            merged[i] = Some(case);
        }
        for (i, pk) in held {
            let p = &cases[i];
            let mut doc = docs::load(&tx, pk)?;
            let before_heads = doc.get_heads();
            let before = fieldbook_core::read::hydrate_case(&doc)?;
            doc.load_incremental(p.changes)?;
            let (case, updated_at) = checked(&mut doc, p.case_id)?;
            if doc.get_heads() != before_heads {
                let incremental = doc.save_after(&before_heads);
                docs::append(&tx, pk, &mut doc, &incremental)?;
                projection::update(&tx, pk, &before, &case, updated_at)?;
            }
            set_acked(&tx, pk, p.server_heads)?;
            merged[i] = Some(case);
        }
        // Who wrote what: learnt actors name their device and person in history from now on
        // (this device's own row is never replaced).
        for a in actors {
            tx.prepare_cached(
                "INSERT INTO actors (actor, device_id, person_id, person_name) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (actor) DO UPDATE SET person_name = excluded.person_name
                 WHERE actors.device_id <> ?5",
            )?
            .execute(params![
                a.actor,
                a.device_id,
                a.person_id,
                a.person_name,
                self.device.device_id.to_string()
            ])?;
        }
        tx.commit()?;
        Ok(merged.into_iter().flatten().collect())
    }

    /// The server says this case left the person's sight (reassigned). It is removed from the
    /// device now if nothing of it waits to be pushed; otherwise it stays until its edits have
    /// reached the server ([`Store::finish_departures`]). Unknown cases are ignored.
    pub fn depart(&mut self, case_id: &str, now: i64) -> Result<Option<Departure>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(pk) = docs::pk_of(&tx, case_id)? else {
            return Ok(None);
        };
        let (reference, title): (String, String) = tx
            .prepare_cached("SELECT reference, title FROM cases WHERE pk = ?1")?
            .query_row([pk], |r| Ok((r.get(0)?, r.get(1)?)))?;
        tx.prepare_cached(
            "INSERT INTO departures (case_id, reference, title, noticed_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (case_id) DO UPDATE SET noticed_at = excluded.noticed_at,
                 removed_at = NULL",
        )?
        .execute(params![case_id, reference, title, now])?;
        let removed = remove_if_pushed(&tx, pk, case_id, now)?;
        tx.commit()?;
        Ok(Some(Departure {
            case_id: case_id.to_string(),
            reference,
            title,
            noticed_at: now,
            removed_at: removed.then_some(now),
        }))
    }

    /// Removes departed cases whose unsynced edits have since reached the server; returns them.
    pub fn finish_departures(&mut self, now: i64) -> Result<Vec<Departure>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let waiting: Vec<(String, String, String, i64)> = tx
            .prepare_cached(
                "SELECT case_id, reference, title, noticed_at FROM departures
                 WHERE removed_at IS NULL ORDER BY noticed_at, case_id",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut done = Vec::new();
        for (case_id, reference, title, noticed_at) in waiting {
            let removed = match docs::pk_of(&tx, &case_id)? {
                Some(pk) => remove_if_pushed(&tx, pk, &case_id, now)?,
                None => {
                    tx.prepare_cached("UPDATE departures SET removed_at = ?2 WHERE case_id = ?1")?
                        .execute(params![case_id, now])?;
                    true
                }
            };
            if removed {
                done.push(Departure {
                    case_id,
                    reference,
                    title,
                    noticed_at,
                    removed_at: Some(now),
                });
            }
        }
        tx.commit()?;
        Ok(done)
    }

    /// Cases that left this device (newest first), including any still waiting to push.
    pub fn departures(&self) -> Result<Vec<Departure>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT case_id, reference, title, noticed_at, removed_at FROM departures
             ORDER BY noticed_at DESC, case_id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Departure {
                case_id: r.get(0)?,
                reference: r.get(1)?,
                title: r.get(2)?,
                noticed_at: r.get(3)?,
                removed_at: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Remember that the pull has reached server sequence `since` (never moves back).
    pub fn set_sync_since(&mut self, since: u64) -> Result<()> {
        self.conn
            .prepare_cached("UPDATE sync_state SET since = max(since, ?1) WHERE id = 1")?
            .execute([since as i64])?;
        Ok(())
    }

    /// Remember the server this device registered with, and its token (replacing any earlier).
    pub fn link_server(&mut self, url: &str, token: &str, user_name: &str, now: i64) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO server_link (id, url, token, user_name, linked_at) VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET url = excluded.url, token = excluded.token,
                     user_name = excluded.user_name, linked_at = excluded.linked_at,
                     last_sync_at = NULL, last_error = NULL",
            )?
            .execute(params![url, token, user_name, now])?;
        Ok(())
    }

    /// The server this device is registered with, if any.
    pub fn server_link(&self) -> Result<Option<ServerLink>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT url, token, user_name, linked_at, last_sync_at, last_error
                 FROM server_link WHERE id = 1",
            )?
            .query_row([], |r| {
                Ok(ServerLink {
                    url: r.get(0)?,
                    token: r.get(1)?,
                    user_name: r.get(2)?,
                    linked_at: r.get(3)?,
                    last_sync_at: r.get(4)?,
                    last_error: r.get(5)?,
                })
            })
            .optional()?)
    }

    /// How the last sync went: `error` None for success (which also stamps the time).
    pub fn record_sync(&mut self, now: i64, error: Option<&str>) -> Result<()> {
        match error {
            None => self.conn.execute(
                "UPDATE server_link SET last_sync_at = ?1, last_error = NULL WHERE id = 1",
                params![now],
            )?,
            Some(e) => self.conn.execute(
                "UPDATE server_link SET last_error = ?1 WHERE id = 1",
                params![e],
            )?,
        };
        Ok(())
    }

    /// The heads of a case's document here (for tests and diagnostics).
    pub fn case_heads(&self, case_id: &str) -> Result<Option<Vec<ChangeHash>>> {
        let Some(pk) = docs::pk_of(&self.conn, case_id)? else {
            return Ok(None);
        };
        let mut doc = docs::load(&self.conn, pk)?;
        Ok(Some(sorted(doc.get_heads())))
    }
}

/// Removes a case from the device (document, projections, sync state, drafts) unless it still
/// has changes waiting to be pushed. Returns whether it was removed.
fn remove_if_pushed(
    tx: &rusqlite::Transaction<'_>,
    pk: i64,
    case_id: &str,
    now: i64,
) -> Result<bool> {
    let waiting: i64 = tx
        .prepare_cached("SELECT count(*) FROM outbox WHERE case_pk = ?1")?
        .query_row([pk], |r| r.get(0))?;
    if waiting > 0 {
        return Ok(false);
    }
    let doc = docs::load(tx, pk)?;
    let case = fieldbook_core::read::hydrate_case(&doc)?;
    let mut drop_drafts = tx.prepare_cached("DELETE FROM drafts WHERE key LIKE ?1 ESCAPE '\\'")?;
    for prefix in [format!("case:{case_id}:"), format!("note:{case_id}")]
        .into_iter()
        .chain(case.visits.keys().map(|v| format!("visit:{v}:")))
    {
        drop_drafts.execute([format!("{}%", like_escape(&prefix))])?;
    }
    projection::delete(tx, pk)?;
    for sql in [
        "DELETE FROM case_sync WHERE case_pk = ?1",
        "DELETE FROM case_chunks WHERE case_pk = ?1",
        "DELETE FROM case_docs WHERE pk = ?1",
    ] {
        tx.prepare_cached(sql)?.execute([pk])?;
    }
    tx.prepare_cached("UPDATE departures SET removed_at = ?2 WHERE case_id = ?1")?
        .execute(params![case_id, now])?;
    Ok(true)
}

/// The case a pulled document holds, checked against the id it was sent under, and when it last
/// changed (ms).
fn checked(doc: &mut AutoCommit, case_id: &str) -> Result<(Case, i64)> {
    if !doc.get_missing_deps(&[]).is_empty() {
        return Err(StoreError::Document(
            "the server sent changes whose history this device lacks".into(),
        ));
    }
    let case = fieldbook_core::read::hydrate_case(&*doc)?;
    if case.id.to_string() != case_id {
        return Err(StoreError::Document(format!(
            "the server sent case {} as {case_id}",
            case.id
        )));
    }
    let updated_at = doc
        .get_changes_meta(&[])
        .iter()
        .map(|c| c.timestamp)
        .max()
        .unwrap_or(0);
    Ok((case, updated_at))
}

/// The server holds the case at `server_heads`: push from there next time.
fn set_acked(tx: &rusqlite::Transaction<'_>, pk: i64, server_heads: &[ChangeHash]) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO case_sync (case_pk, acked_heads) VALUES (?1, ?2)
         ON CONFLICT (case_pk) DO UPDATE SET acked_heads = excluded.acked_heads",
    )?
    .execute(params![pk, heads_json(server_heads)])?;
    Ok(())
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
