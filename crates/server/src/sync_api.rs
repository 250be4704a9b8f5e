//! `POST /sync/v1/sync`: one round trip of the sync protocol (`docs/sync.md`), in one store
//! transaction. A batch id seen before gets the answer stored for it and changes nothing; each
//! pushed case goes through `fieldbook_sync::apply_push` with the device's rights; accepted
//! changes get the next server sequence number; the answer carries a page of the cases the person
//! may see that changed after the device's `since`, each as only the changes it lacks (as far as
//! the server knows: the heads of the device's own accepted pushes).

use std::collections::HashMap;

use automerge::{ActorId, AutoCommit};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use fieldbook_core::PersonId;
use fieldbook_sync::{
    Ack, ActorInfo, Departed, MAX_BATCH, PROTOCOL, PulledCase, RefusedCase, Rights, SyncRequest,
    SyncResponse, apply_push, changes_after, heads_hex, parse_heads,
};
use uuid::Uuid;

use crate::http::{ApiError, ApiJson, AppState, Authenticated, blocking};
use crate::store::{CaseWrite, StoreError, Tx, Viewer};

/// The longest batch id accepted (a UUID is 36 characters).
const MAX_BATCH_ID: usize = 64;

pub async fn sync(
    State(state): State<AppState>,
    auth: Authenticated,
    ApiJson(req): ApiJson<SyncRequest>,
) -> Result<Json<SyncResponse>, ApiError> {
    if req.protocol != PROTOCOL {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_protocol",
            format!(
                "this server speaks sync protocol {PROTOCOL}, not {}",
                req.protocol
            ),
        ));
    }
    if req.batch_id.is_empty()
        || req.batch_id.len() > MAX_BATCH_ID
        || req.batch_id.chars().any(char::is_control)
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_batch_id",
            format!("batch_id must be 1 to {MAX_BATCH_ID} printable characters"),
        ));
    }
    if req.applied() > req.since {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_applied",
            format!(
                "applied ({}) is after since ({}): a device cannot have applied what it has not \
                 pulled",
                req.applied(),
                req.since
            ),
        ));
    }
    if req.push.len() > MAX_BATCH {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "batch_too_large",
            format!("push at most {MAX_BATCH} cases per request"),
        ));
    }
    let store = state.accounts.store().clone();
    let response = blocking(move || {
        // A sync with nothing to push, from a device that is up to date with nothing to
        // confirm, changes nothing: answer it from a read transaction (no write lock, no commit).
        if let Some(quiet) = store.read_one(|tx| quiet_answer(tx, &auth, &req))? {
            return Ok(quiet);
        }
        store.transaction(|tx| round_trip(tx, &auth, &req))
    })
    .await?;
    Ok(Json(response))
}

/// What can stop a round trip as a whole (a refused case is not that: it is in the answer).
#[derive(Debug)]
pub enum SyncFailure {
    Store(StoreError),
    Internal(String),
}

impl From<StoreError> for SyncFailure {
    fn from(e: StoreError) -> Self {
        SyncFailure::Store(e)
    }
}

impl From<SyncFailure> for ApiError {
    fn from(e: SyncFailure) -> ApiError {
        match e {
            SyncFailure::Store(s) => s.into(),
            SyncFailure::Internal(m) => {
                tracing::error!(error = %m, "sync failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal_error",
                    "the server failed; try again later",
                )
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A person id as the server files it: the user it names (a user id, or a device-minted alias),
/// else as it is.
fn resolve(tx: &dyn Tx, person: &str) -> Result<String, StoreError> {
    match Uuid::parse_str(person) {
        Ok(id) => Ok(tx
            .user_of_person(id)?
            .map_or_else(|| person.to_string(), |u| u.id.to_string())),
        Err(_) => Ok(person.to_string()),
    }
}

/// The automerge actors (hex) whose changes `doc` holds, in the order they first wrote.
fn actors_of(doc: &mut AutoCommit) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for meta in doc.get_changes_meta(&[]) {
        let hex = meta.actor.to_hex_string();
        if !out.contains(&hex) {
            out.push(hex);
        }
    }
    out
}

/// The devices and people behind a case's writers (automerge actors, hex: a device writes as
/// the 16 bytes of its id); actors the server does not know are left out. `known` remembers each
/// actor looked up for this answer: the cases of a page share a handful of writers.
fn writers(
    tx: &dyn Tx,
    actors: &[String],
    known: &mut HashMap<String, Option<ActorInfo>>,
) -> Result<Vec<ActorInfo>, StoreError> {
    let mut out = Vec::with_capacity(actors.len());
    for hex in actors {
        let info = match known.get(hex) {
            Some(info) => info.clone(),
            None => {
                let info = who_is(tx, hex)?;
                known.insert(hex.clone(), info.clone());
                info
            }
        };
        out.extend(info);
    }
    Ok(out)
}

/// The device and person behind one automerge actor, if the server knows them.
fn who_is(tx: &dyn Tx, actor: &str) -> Result<Option<ActorInfo>, StoreError> {
    let Some(id) = ActorId::try_from(actor)
        .ok()
        .and_then(|a| Uuid::from_slice(a.to_bytes()).ok())
    else {
        return Ok(None);
    };
    let Some(device) = tx.device(id)? else {
        return Ok(None);
    };
    Ok(tx.user(device.user_id)?.map(|user| ActorInfo {
        actor: actor.to_owned(),
        device_id: id.to_string(),
        person_id: user.id.to_string(),
        person_name: user.name,
    }))
}

/// The answer to a request that would change nothing, if it is one: no push, not a replayed
/// batch, nothing after `since`, and no pulled heads or departures up to `applied` waiting to be
/// confirmed.
fn quiet_answer(
    tx: &dyn Tx,
    auth: &Authenticated,
    req: &SyncRequest,
) -> Result<Option<SyncResponse>, SyncFailure> {
    if !req.push.is_empty()
        || !tx.is_quiet(
            auth.device.device_id,
            &req.batch_id,
            req.applied(),
            req.since,
        )?
    {
        return Ok(None);
    }
    Ok(Some(SyncResponse {
        protocol: PROTOCOL,
        batch_id: req.batch_id.clone(),
        acks: Vec::new(),
        refused: Vec::new(),
        pull: Vec::new(),
        next_since: req.since,
        remaining: 0,
        total: 0,
        departed: Vec::new(),
    }))
}

fn same_heads(a: &[automerge::ChangeHash], b: &[automerge::ChangeHash]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

fn round_trip(
    tx: &dyn Tx,
    auth: &Authenticated,
    req: &SyncRequest,
) -> Result<SyncResponse, SyncFailure> {
    let device_id = auth.device.device_id;
    if let Some(bytes) = tx.applied_batch(device_id, &req.batch_id)? {
        return serde_json::from_slice(&bytes)
            .map_err(|e| SyncFailure::Internal(format!("stored batch answer: {e}")));
    }
    // Everything pulled up to `applied` is on the device now. Pages after it (up to `since`)
    // may still be on their way into the device's store, so their heads stay pending: this
    // request's pull is cut against the heads confirmed before them, which the device holds.
    // Heads sent after `since` never reached it.
    tx.confirm_pending_heads(device_id, req.applied(), req.since)?;
    let user = &auth.user;
    let team = user.team.as_ref().map(|t| t.id.to_string());
    let aliases = tx
        .person_aliases(user.id)?
        .into_iter()
        .map(PersonId::from_uuid)
        .collect::<Vec<_>>();
    let actors = vec![ActorId::from(device_id.as_bytes().as_slice())];
    let device_actor = actors[0].to_hex_string();

    let mut acks = Vec::new();
    let mut refused = Vec::new();
    for p in &req.push {
        let stored = tx.get_case(&p.case_id)?;
        let in_team = team.is_some() && stored.as_ref().and_then(|c| c.team_id.clone()) == team;
        let rights = Rights {
            person: PersonId::from_uuid(user.id),
            aliases: aliases.clone(),
            role: user.role,
            actors: actors.clone(),
            in_team,
        };
        let outcome = parse_heads(&p.heads).and_then(|heads| {
            apply_push(
                stored.as_ref().map(|c| c.doc.as_slice()),
                &p.case_id,
                &p.changes,
                &heads,
                &rights,
            )
        });
        match outcome {
            Ok(applied) => {
                let seq = match (&stored, applied.changed) {
                    (Some(s), false) => s.seq,
                    _ => {
                        let created_by = resolve(tx, &applied.meta.created_by)?;
                        let assignee = applied
                            .meta
                            .assignee
                            .as_deref()
                            .map(|a| resolve(tx, a))
                            .transpose()?;
                        let team_id = match stored.as_ref().and_then(|s| s.team_id.clone()) {
                            Some(t) => Some(t),
                            None => Uuid::parse_str(&created_by)
                                .ok()
                                .map(|id| tx.user(id))
                                .transpose()?
                                .flatten()
                                .and_then(|u| u.team.map(|t| t.id.to_string())),
                        };
                        // The new changes are all this device's (apply_push refuses others).
                        let mut writers = match &stored {
                            None => Vec::new(),
                            Some(s) => match &s.writers {
                                Some(w) => w.clone(),
                                // Stored before schema 6: read once from the document.
                                None => actors_of(&mut AutoCommit::load(&s.doc).map_err(|e| {
                                    SyncFailure::Internal(format!("case {}: {e}", p.case_id))
                                })?),
                            },
                        };
                        if !writers.contains(&device_actor) {
                            writers.push(device_actor.clone());
                        }
                        let seq = tx.put_case(&CaseWrite {
                            case_id: &p.case_id,
                            doc: &applied.doc,
                            created_by: Some(&created_by),
                            assignee: assignee.as_deref(),
                            team_id: team_id.as_deref(),
                            kind: Some(&applied.meta.kind),
                            status: Some(&applied.meta.status),
                            updated_at: Some(now_ms()),
                            heads: &heads_hex(&applied.heads),
                            writers: &writers,
                        })?;
                        // The photos it references, for who may fetch them (docs/photos.md).
                        tx.set_case_photos(&p.case_id, &applied.meta.blobs)?;
                        seq
                    }
                };
                // The device holds what it pushed: later pulls send only what follows.
                tx.set_device_heads(device_id, &p.case_id, &p.heads)?;
                acks.push(Ack {
                    case_id: p.case_id.clone(),
                    heads: p.heads.clone(),
                    seq,
                });
            }
            Err(e) => refused.push(RefusedCase {
                case_id: p.case_id.clone(),
                code: e.code().to_string(),
                message: e.to_string(),
            }),
        }
    }

    let page_size = req.page_size.clamp(1, MAX_BATCH as u32);
    let viewer = Viewer::of(user);
    let page = tx.cases_since(&viewer, req.since, page_size)?;
    let mut pull = Vec::with_capacity(page.cases.len());
    let mut writers_seen = HashMap::new();
    let ids: Vec<&str> = page.cases.iter().map(|c| c.case_id.as_str()).collect();
    let held = tx.device_heads_of(device_id, &ids)?;
    let mut pending: Vec<(String, Vec<String>, u64)> = Vec::with_capacity(page.cases.len());
    let mut next_since = req.since;
    for c in page.cases {
        next_since = next_since.max(c.seq);
        let known = match held.get(&c.case_id) {
            Some(h) => parse_heads(h).unwrap_or_default(),
            None => Vec::new(),
        };
        // Its heads and writers as stored with it; the document is loaded only when the device
        // holds part of it (or the row predates them).
        let (heads, changes, actors) = match (&c.heads, &c.writers) {
            (Some(heads), Some(actors)) => {
                let heads = parse_heads(heads)
                    .map_err(|e| SyncFailure::Internal(format!("case {} heads: {e}", c.case_id)))?;
                // The device already holds all of it (typically the case it has just pushed).
                if !known.is_empty() && same_heads(&known, &heads) {
                    continue;
                }
                let changes = if known.is_empty() {
                    c.doc.clone()
                } else {
                    let mut doc = AutoCommit::load(&c.doc)
                        .map_err(|e| SyncFailure::Internal(format!("case {}: {e}", c.case_id)))?;
                    changes_after(&c.doc, &mut doc, &known)
                };
                (heads, changes, actors.clone())
            }
            _ => {
                let mut doc = AutoCommit::load(&c.doc)
                    .map_err(|e| SyncFailure::Internal(format!("case {}: {e}", c.case_id)))?;
                let heads = doc.get_heads();
                if !known.is_empty() && same_heads(&known, &heads) {
                    continue;
                }
                let changes = changes_after(&c.doc, &mut doc, &known);
                (heads, changes, actors_of(&mut doc))
            }
        };
        let actors = writers(tx, &actors, &mut writers_seen)?;
        let heads = heads_hex(&heads);
        pending.push((c.case_id.clone(), heads.clone(), c.seq));
        pull.push(PulledCase {
            case_id: c.case_id,
            seq: c.seq,
            changes,
            heads,
            actors,
        });
    }
    let pending: Vec<(&str, &[String], u64)> = pending
        .iter()
        .map(|(id, heads, seq)| (id.as_str(), heads.as_slice(), *seq))
        .collect();
    tx.set_pending_heads_of(device_id, &pending)?;
    // Up to where this answer covers every change: the last case pulled, or everything when
    // nothing visible remains. Cases the device holds that changed in that range out of this
    // person's sight have departed from it.
    if page.remaining == 0 {
        next_since = next_since.max(tx.current_seq()?);
    }
    let total = pull.len() as u64 + page.remaining;
    let departed = tx
        .departures(device_id, &viewer, req.since, next_since)?
        .into_iter()
        .map(|(case_id, seq)| Departed { case_id, seq })
        .collect();
    let response = SyncResponse {
        protocol: PROTOCOL,
        batch_id: req.batch_id.clone(),
        acks,
        refused,
        pull,
        next_since,
        remaining: page.remaining,
        total,
        departed,
    };
    // Only a batch that pushed something needs its answer kept: sent again, it must not apply
    // twice. A pull-only batch changes nothing a recomputed answer would not repeat, so a sync
    // with nothing to send writes nothing (no commit to wait for).
    if !req.push.is_empty() {
        let bytes = serde_json::to_vec(&response)
            .map_err(|e| SyncFailure::Internal(format!("answer: {e}")))?;
        tx.put_applied_batch(device_id, &req.batch_id, &bytes, now_ms())?;
    }
    Ok(response)
}
