//! A Fieldbook device's side of talking to the back-office server: registering the device
//! (`login`) and running a sync (`sync`) over HTTPS, following `docs/sync.md`. It moves the
//! store's outgoing changes and the server's answers between `fieldbook-store` and the wire types
//! of `fieldbook-sync`, page by page until up to date. Plain `http://` is refused except to
//! loopback (tests, a server on the same machine).
//!
//! It must not know the UI, Tauri or terminals, nor decide anything about cases: the server
//! decides what it accepts, the store how changes are kept. A front end calls it through
//! `fieldbook-app`.

mod photos;

use std::time::Duration;

use fieldbook_store::Store;
use fieldbook_sync::{
    ErrorBody, MAX_BATCH, PROTOCOL, PushedCase, SyncRequest, SyncResponse, heads_hex, parse_heads,
};

/// How long one request may take before the sync gives up (it resumes next time).
const TIMEOUT: Duration = Duration::from_secs(60);
/// Cases per pull page.
const PAGE: u32 = 100;
/// A sync that has not caught up after this many round trips stops (and resumes next time).
const MAX_ROUNDS: usize = 10_000;

/// Why talking to the server failed. [`ClientError::code`] is stable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    #[error(
        "{0} is not a secure address: use https:// (plain http:// is allowed only to this computer)"
    )]
    Insecure(String),
    #[error("'{0}' is not a server address, for example https://fieldbook.anytown.gov.uk")]
    BadUrl(String),
    #[error("this device is not signed in to a server: sign in first")]
    NotSignedIn,
    #[error("the server cannot be reached: {0}")]
    Unreachable(String),
    #[error("this device was removed from Fieldbook by the council ({0}); its data is being wiped")]
    Revoked(String),
    #[error("{message}")]
    Refused { code: String, message: String },
    #[error("the device was locked during the sync; it carries on next time")]
    Interrupted,
    #[error(transparent)]
    Store(#[from] fieldbook_store::StoreError),
}

impl ClientError {
    pub fn code(&self) -> &str {
        match self {
            Self::Insecure(_) => "insecure_server",
            Self::BadUrl(_) => "invalid_server",
            Self::NotSignedIn => "not_signed_in",
            Self::Unreachable(_) => "server_unreachable",
            Self::Revoked(_) => "device_revoked",
            Self::Refused { code, .. } => code,
            Self::Interrupted => "sync_interrupted",
            Self::Store(e) => e.code(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

pub use photos::{
    CHUNK, PhotoProgress, PhotoReport, fetch_photo_with, fetch_tile, tile_url, transfer_photos,
    transfer_photos_with,
};

/// `url` without a trailing slash, if it may be used: https, or http to loopback only.
pub fn checked_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url).map_err(|_| ClientError::BadUrl(url.to_string()))?;
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let host = parsed.host_str().unwrap_or_default();
            let loopback = host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                return Err(ClientError::Insecure(url.to_string()));
            }
        }
        _ => return Err(ClientError::BadUrl(url.to_string())),
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ClientError::BadUrl(url.to_string()));
    }
    Ok(url.to_string())
}

fn http() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| ClientError::Unreachable(e.to_string()))
}

/// A non-2xx answer as an error: the server's `{code, message}`, with 401 `device_revoked`
/// singled out (the caller wipes the device).
fn failure(res: reqwest::blocking::Response) -> ClientError {
    let status = res.status();
    match res.json::<ErrorBody>() {
        Ok(b) if b.code == "device_revoked" => ClientError::Revoked(b.message),
        Ok(b) => ClientError::Refused {
            code: b.code,
            message: b.message,
        },
        Err(_) => ClientError::Refused {
            code: format!("http_{}", status.as_u16()),
            message: format!("the server answered {status}"),
        },
    }
}

/// What signing in gave this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub server: String,
    pub user_name: String,
    pub person_name: String,
    pub role: String,
    pub team: Option<String>,
}

/// Register this device with the server as `user`, and keep the token in the store.
pub fn login(
    store: &mut Store,
    server: &str,
    user: &str,
    password: &str,
    now: i64,
) -> Result<SignedIn> {
    let server = checked_url(server)?;
    let d = store.device().clone();
    let res = http()?
        .post(format!("{server}/auth/v1/register"))
        .json(&serde_json::json!({
            "user": user,
            "password": password,
            "device_id": d.device_id.to_string(),
            "device_number": d.device_number,
            "device_name": format!("{}'s device {}", d.person_name, d.device_number),
            "person_id": d.person_id.to_string(),
        }))
        .send()
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if !res.status().is_success() {
        return Err(failure(res));
    }
    let body: serde_json::Value = res
        .json()
        .map_err(|e| ClientError::Unreachable(format!("unreadable answer: {e}")))?;
    let token = body["token"]
        .as_str()
        .ok_or_else(|| ClientError::Unreachable("the server sent no token".into()))?;
    store.link_server(&server, token, user, now)?;
    let text = |k: &str| body[k].as_str().map(str::to_string);
    Ok(SignedIn {
        server,
        user_name: user.to_string(),
        person_name: text("person_name").unwrap_or_default(),
        role: text("role").unwrap_or_default(),
        team: text("team"),
    })
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub rounds: usize,
    pub pushed: usize,
    pub pulled: usize,
    /// (case id, code, message) for each case the server refused.
    pub refused: Vec<(String, String, String)>,
    /// Cases reassigned out of this person's sight that left the device in this sync (or wait
    /// to leave until their unsynced edits are pushed: `removed_at` is `None`).
    pub departed: Vec<fieldbook_store::Departure>,
}

/// How far a sync has got, for a front end's "syncing 120 of 5,000".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Cases pulled and merged so far in this sync.
    pub pulled: u64,
    /// Cases to pull in this sync: those pulled so far plus what the server last said remains.
    pub total: u64,
    /// This device's cases the server has accepted so far in this sync.
    pub pushed: u64,
}

/// Push everything waiting and pull everything new, page by page, until up to date. Each
/// answer is applied to the store as it arrives, so a cut connection loses at most the page in
/// flight (sent again next time). The outcome is recorded in the store for the status line.
///
/// `with_store` lends the store for one step at a time and is never held across a network
/// request, so a front end can keep editing while a sync waits on the network (the desktop
/// app passes its lock; the CLI can simply pass its store). `progress` is called after each
/// page is applied, with no store lent.
pub fn sync_with<F>(
    mut with_store: F,
    now: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport>
where
    F: FnMut(&mut dyn FnMut(&mut Store) -> Result<()>) -> Result<()>,
{
    let result = run(&mut with_store, progress, now);
    let error = result.as_ref().err().map(ToString::to_string);
    if !matches!(result, Err(ClientError::Revoked(_))) {
        with_store(&mut |s| Ok(s.record_sync(now, error.as_deref())?))?;
    }
    result
}

/// [`sync_with`] over a store this caller holds throughout.
pub fn sync(store: &mut Store, now: i64) -> Result<SyncReport> {
    sync_with(|f| f(store), now, &mut |_| {})
}

/// One round trip's request, and the outgoing changes it carries.
fn prepare(store: &Store) -> Result<(SyncRequest, Vec<fieldbook_store::Outgoing>)> {
    let outgoing = store.outgoing(MAX_BATCH)?;
    let req = SyncRequest {
        protocol: PROTOCOL,
        batch_id: uuid::Uuid::new_v4().to_string(),
        since: store.sync_since()?,
        applied: None,
        push: outgoing
            .iter()
            .map(|o| PushedCase {
                case_id: o.case_id.clone(),
                base_heads: heads_hex(&o.base_heads),
                changes: o.changes.clone(),
                heads: heads_hex(&o.sent_heads),
            })
            .collect(),
        page_size: PAGE,
    };
    Ok((req, outgoing))
}

/// The pull-only request for the page after `answer`'s, sent while `answer` is still being
/// written: it starts at `answer.next_since` but confirms only `applied`, what the device
/// holds already (`docs/sync.md`, "Pipelined pull").
fn next_page(answer: &SyncResponse, applied: u64) -> SyncRequest {
    SyncRequest {
        protocol: PROTOCOL,
        batch_id: uuid::Uuid::new_v4().to_string(),
        since: answer.next_since,
        applied: Some(applied),
        push: Vec::new(),
        page_size: PAGE,
    }
}

/// Where the server is, and how to reach it: everything a request needs, owned, so a request
/// can run on a thread of its own while the store writes the page before.
#[derive(Clone)]
struct Endpoint {
    client: reqwest::blocking::Client,
    url: String,
    token: String,
}

impl Endpoint {
    /// One round trip.
    fn post(&self, req: &SyncRequest) -> Result<SyncResponse> {
        let res = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .json(req)
            .send()
            .map_err(|e| ClientError::Unreachable(e.to_string()))?;
        if !res.status().is_success() {
            return Err(failure(res));
        }
        res.json()
            .map_err(|e| ClientError::Unreachable(format!("unreadable answer: {e}")))
    }

    /// [`Endpoint::post`] on a thread of its own; its answer is read with
    /// [`InFlight::answer`].
    fn post_in_background(&self, req: SyncRequest) -> InFlight {
        let endpoint = self.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let ahead = req.clone();
        let spawned = std::thread::Builder::new()
            .name("fieldbook-sync-ahead".into())
            .spawn(move || {
                let _ = tx.send(endpoint.post(&ahead));
            });
        match spawned {
            Ok(_) => InFlight::Running(rx),
            // No thread to be had: the request waits, and goes when its answer is wanted.
            Err(_) => InFlight::Waiting(self.clone(), req),
        }
    }
}

/// A request running on a thread of its own (or, when none could be started, waiting to be
/// sent).
enum InFlight {
    Running(std::sync::mpsc::Receiver<Result<SyncResponse>>),
    Waiting(Endpoint, SyncRequest),
}

impl InFlight {
    /// Waits for the answer.
    fn answer(self) -> Result<SyncResponse> {
        match self {
            InFlight::Running(rx) => rx.recv().unwrap_or_else(|_| {
                Err(ClientError::Unreachable(
                    "the request's thread stopped without an answer".into(),
                ))
            }),
            InFlight::Waiting(endpoint, req) => endpoint.post(&req),
        }
    }
}

/// Apply one answer; returns whether the device is now up to date.
fn apply(
    store: &mut Store,
    outgoing: &[fieldbook_store::Outgoing],
    answer: &SyncResponse,
    report: &mut SyncReport,
    now: i64,
) -> Result<bool> {
    for a in &answer.acks {
        if let Some(o) = outgoing.iter().find(|o| o.case_id == a.case_id) {
            store.acknowledge(&o.case_id, &o.sent_heads)?;
            report.pushed += 1;
        }
    }
    for r in &answer.refused {
        if let Some(o) = outgoing.iter().find(|o| o.case_id == r.case_id) {
            store.refuse(&o.case_id, &o.sent_heads, &r.code, &r.message)?;
            report
                .refused
                .push((r.case_id.clone(), r.code.clone(), r.message.clone()));
        }
    }
    // The page in one transaction: a first download of thousands of cases pays for one
    // durable commit per page, not per case.
    let heads = answer
        .pull
        .iter()
        .map(|p| parse_heads(&p.heads))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| ClientError::Refused {
            code: "bad_answer".into(),
            message: e.to_string(),
        })?;
    let pulled: Vec<fieldbook_store::Pulled<'_>> = answer
        .pull
        .iter()
        .zip(&heads)
        .map(|(p, heads)| fieldbook_store::Pulled {
            case_id: &p.case_id,
            changes: &p.changes,
            server_heads: heads,
        })
        .collect();
    let mut actors: Vec<fieldbook_store::RemoteActor> = Vec::new();
    for a in answer.pull.iter().flat_map(|p| &p.actors) {
        if !actors.iter().any(|x| x.actor == a.actor) {
            actors.push(fieldbook_store::RemoteActor {
                actor: a.actor.clone(),
                device_id: a.device_id.clone(),
                person_id: a.person_id.clone(),
                person_name: a.person_name.clone(),
            });
        }
    }
    if !pulled.is_empty() {
        store.merge_remote_page(&pulled, &actors)?;
        report.pulled += pulled.len();
    }
    // Reassigned away: pushed first (this request carried any waiting edits, or a later one
    // will), then removed.
    for d in &answer.departed {
        if let Some(departure) = store.depart(&d.case_id, now)? {
            report.departed.retain(|x| x.case_id != departure.case_id);
            report.departed.push(departure);
        }
    }
    for done in store.finish_departures(now)? {
        report.departed.retain(|x| x.case_id != done.case_id);
        report.departed.push(done);
    }
    store.set_sync_since(answer.next_since)?;
    Ok(answer.remaining == 0 && store.outgoing(MAX_BATCH)?.is_empty())
}

/// The server this device signed in to, read through a lent store; `not_signed_in` if none.
fn signed_in<F>(with_store: &mut F) -> Result<fieldbook_store::ServerLink>
where
    F: FnMut(&mut dyn FnMut(&mut Store) -> Result<()>) -> Result<()>,
{
    let mut link = None;
    with_store(&mut |s| {
        link = s.server_link()?;
        Ok(())
    })?;
    link.ok_or(ClientError::NotSignedIn)
}

/// The sync loop. Each round's first request carries the outbox (`prepare`); while the server
/// says pages remain, the request for the next page (pull only, `next_page`) goes out on a
/// thread of its own as soon as an answer arrives, and the answer is written into the store
/// meanwhile: the network and the server's work on page N+1 overlap the device writing page N.
/// The next page's request tells the server it holds only what it had before page N
/// (`applied`), so nothing is confirmed that is not written. If page N cannot be written the
/// sync stops with that error once the request in flight has been answered, and that answer is
/// dropped: the next sync starts again from the last page written (and its `since` tells the
/// server that the dropped page never arrived).
fn run<F>(with_store: &mut F, progress: &mut dyn FnMut(Progress), now: i64) -> Result<SyncReport>
where
    F: FnMut(&mut dyn FnMut(&mut Store) -> Result<()>) -> Result<()>,
{
    let link = signed_in(with_store)?;
    let endpoint = Endpoint {
        client: http()?,
        url: format!("{}/sync/v1/sync", link.url),
        token: link.token,
    };
    let mut report = SyncReport::default();
    // A server that predates `applied` refuses it (422 `invalid_body`, an unknown field): from
    // then on this sync asks for each page once the one before is written.
    let mut pipelined = true;
    while report.rounds < MAX_ROUNDS {
        let mut prepared = None;
        with_store(&mut |s| {
            prepared = Some(prepare(s)?);
            Ok(())
        })?;
        let Some((req, mut outgoing)) = prepared else {
            return Ok(report);
        };
        // The network, with no store held.
        let mut answer = endpoint.post(&req)?;
        report.rounds += 1;
        // What the device holds before `answer` is written: the `since` it was asked with.
        let mut applied = req.since;
        loop {
            let ahead = (pipelined && answer.remaining > 0 && report.rounds < MAX_ROUNDS)
                .then(|| next_page(&answer, applied));
            let in_flight = ahead.clone().map(|r| endpoint.post_in_background(r));
            // The server counts what is left from this request's `since`.
            let total = report.pulled as u64 + answer.total;
            let mut done = false;
            let written = with_store(&mut |s| {
                done = apply(s, &outgoing, &answer, &mut report, now)?;
                Ok(())
            });
            if let Err(e) = written {
                // The page is not kept (nor is the one ahead): the next sync asks again from
                // the last page written. The request ahead is waited for, so that no request
                // of this sync reaches the server after the next sync's first.
                if let Some(InFlight::Running(rx)) = in_flight {
                    let _ = rx.recv();
                }
                return Err(e);
            }
            progress(Progress {
                pulled: report.pulled as u64,
                total,
                pushed: report.pushed as u64,
            });
            let (Some(next), Some(in_flight)) = (ahead, in_flight) else {
                if done {
                    return Ok(report);
                }
                // More to push, or to pull from a server that does not pipeline: a new round.
                break;
            };
            applied = answer.next_since;
            answer = match in_flight.answer() {
                Ok(a) => a,
                Err(ClientError::Refused { code, .. }) if code == "invalid_body" => {
                    // An older server: ask again as it understands, now that the page before
                    // is written (its `since` says as much).
                    pipelined = false;
                    endpoint.post(&SyncRequest {
                        applied: None,
                        ..next
                    })?
                }
                Err(e) => return Err(e),
            };
            report.rounds += 1;
            // A pull-only request: nothing of the outbox was in it.
            outgoing = Vec::new();
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http_is_accepted() {
        for ok in [
            "https://fieldbook.anytown.gov.uk/",
            "http://127.0.0.1:8080",
            "http://localhost:1",
            "http://[::1]:9",
        ] {
            assert!(checked_url(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            checked_url("https://x.example/").ok().as_deref(),
            Some("https://x.example")
        );
        for (bad, code) in [
            ("http://fieldbook.anytown.gov.uk", "insecure_server"),
            ("http://10.0.0.5", "insecure_server"),
            ("ftp://x", "invalid_server"),
            ("not a url", "invalid_server"),
        ] {
            assert_eq!(
                checked_url(bad).map_err(|e| e.code().to_string()),
                Err(code.into()),
                "{bad}"
            );
        }
    }
}
