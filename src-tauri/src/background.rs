//! Background sync: while the device is unlocked and signed in, it syncs on unlock and
//! sign-in, every few minutes, a few seconds after local edits (debounced), and as soon as a
//! server that could not be reached answers again (a TCP connect to it every few seconds, which
//! costs neither end anything). One sync runs at a time, on this module's own thread or on the
//! `sync_now` command's; the device API lends the store to the sync one step at a time, so
//! editing never waits on the network. Every change of what sync is doing goes to the window as
//! the [`EVENT`] event (a [`SyncActivityDto`]).
//!
//! This is scheduling only: what a sync does, and what counts as an error, is
//! `fieldbook_app::sync_now_with_progress`'s.

use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fieldbook_app::{self as app, AppResult, Ctx, SyncActivityDto, SyncErrorDto, SyncReportDto};

/// The event the window listens to.
pub const EVENT: &str = "sync-activity";

/// How long a reachability probe may wait for the server to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// When background syncs happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// A sync this long after the last one, whatever happened since.
    pub every: Duration,
    /// A sync this long after the last local edit…
    pub after_edit: Duration,
    /// …but no later than this after the first edit not yet synced.
    pub edits_wait_at_most: Duration,
    /// While the server cannot be reached, check this often whether it can.
    pub probe: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(3 * 60),
            after_edit: Duration::from_secs(5),
            edits_wait_at_most: Duration::from_secs(30),
            probe: Duration::from_secs(15),
        }
    }
}

/// Runs `f` with the device context (the shell's managed `Ctx`).
pub type WithCtx = Arc<dyn Fn(&mut dyn FnMut(&Ctx)) + Send + Sync>;
/// Sends an activity to the window.
pub type Emit = Arc<dyn Fn(&SyncActivityDto) + Send + Sync>;

/// The background sync: its thread stops when this is dropped.
pub struct Syncer {
    shared: Arc<Shared>,
}

struct Shared {
    timing: Timing,
    /// Held for the whole of a sync: one at a time.
    one_at_a_time: Mutex<()>,
    plan: Mutex<Plan>,
    wake: Condvar,
    emit: Emit,
}

struct Plan {
    activity: SyncActivityDto,
    /// A sync is wanted at this moment (unlock, sign-in, edits).
    due: Option<Instant>,
    /// The first edit since the last sync started.
    first_edit: Option<Instant>,
    /// The next periodic sync.
    periodic: Option<Instant>,
    /// The next reachability probe: set while the server cannot be reached.
    probe: Option<Instant>,
    stopped: bool,
}

fn idle() -> SyncActivityDto {
    SyncActivityDto {
        state: "idle".into(),
        pulled: 0,
        total: 0,
        error: None,
        revoked_reason: None,
        photos: None,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing here is left half-updated by a panic; a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

enum Job {
    Sync,
    Probe,
}

impl Syncer {
    /// Start the background thread.
    pub fn start(timing: Timing, with_ctx: WithCtx, emit: Emit) -> Syncer {
        let shared = Arc::new(Shared {
            timing,
            one_at_a_time: Mutex::new(()),
            plan: Mutex::new(Plan {
                activity: idle(),
                due: None,
                first_edit: None,
                periodic: None,
                probe: None,
                stopped: false,
            }),
            wake: Condvar::new(),
            emit,
        });
        let worker = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("fieldbook-sync".into())
            .spawn(move || worker.run(&with_ctx));
        if let Err(e) = spawned {
            eprintln!("warning: background sync could not start: {e}");
        }
        Syncer { shared }
    }

    /// Sync as soon as possible (the device was unlocked or signed in).
    pub fn soon(&self) {
        let mut plan = lock(&self.shared.plan);
        plan.due = Some(Instant::now());
        self.shared.wake.notify_all();
    }

    /// Something was changed on this device: sync a little later, once the edits pause.
    pub fn edited(&self) {
        let t = self.shared.timing;
        let now = Instant::now();
        let mut plan = lock(&self.shared.plan);
        let first = *plan.first_edit.get_or_insert(now);
        plan.due = Some((now + t.after_edit).min(first + t.edits_wait_at_most));
        self.shared.wake.notify_all();
    }

    /// What sync is doing now.
    pub fn activity(&self) -> SyncActivityDto {
        lock(&self.shared.plan).activity.clone()
    }

    /// Sync now (after any sync already running), reporting progress as it goes.
    pub fn sync(&self, ctx: &Ctx) -> AppResult<SyncReportDto> {
        self.shared.sync(ctx)
    }
}

impl std::fmt::Debug for Syncer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Syncer")
            .field("timing", &self.shared.timing)
            .field("activity", &self.activity())
            .finish_non_exhaustive()
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        lock(&self.shared.plan).stopped = true;
        self.shared.wake.notify_all();
    }
}

impl Shared {
    fn run(&self, with_ctx: &WithCtx) {
        while let Some(job) = self.next_job() {
            with_ctx(&mut |ctx| match job {
                Job::Sync => self.in_background(ctx),
                Job::Probe => {
                    if self.server_answers(ctx) {
                        self.in_background(ctx);
                    }
                }
            });
        }
    }

    /// Wait for the next thing to do; `None` once stopped.
    fn next_job(&self) -> Option<Job> {
        let mut plan = lock(&self.plan);
        loop {
            if plan.stopped {
                return None;
            }
            let now = Instant::now();
            let passed = |t: Option<Instant>| t.is_some_and(|t| t <= now);
            if passed(plan.due) || passed(plan.periodic) {
                plan.due = None;
                plan.periodic = None;
                return Some(Job::Sync);
            }
            if passed(plan.probe) {
                plan.probe = Some(now + self.timing.probe);
                return Some(Job::Probe);
            }
            let next = [plan.due, plan.periodic, plan.probe]
                .into_iter()
                .flatten()
                .min();
            plan = match next {
                Some(t) => {
                    self.wake
                        .wait_timeout(plan, t.saturating_duration_since(now))
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => self.wake.wait(plan).unwrap_or_else(|p| p.into_inner()),
            };
        }
    }

    /// A scheduled sync: only when unlocked and signed in (otherwise there is nothing to do
    /// until the person unlocks or signs in, which asks again).
    fn in_background(&self, ctx: &Ctx) {
        let signed_in =
            ctx.is_unlocked() && app::sync_status(ctx).is_ok_and(|s| s.server.is_some());
        if !signed_in {
            {
                let mut plan = lock(&self.plan);
                plan.periodic = None;
                plan.probe = None;
            }
            // Also where a revoked device's message ends: once it is set up again.
            self.show(idle());
            return;
        }
        // The outcome is shown through the activity; nothing else waits for it.
        let _ = self.sync(ctx);
    }

    /// Whether the signed-in server accepts a connection now.
    fn server_answers(&self, ctx: &Ctx) -> bool {
        match app::sync_status(ctx) {
            Ok(s) => s.server.as_deref().is_some_and(accepts_connections),
            Err(_) => false,
        }
    }

    fn show(&self, activity: SyncActivityDto) {
        {
            let mut plan = lock(&self.plan);
            if plan.activity == activity {
                return;
            }
            plan.activity = activity.clone();
        }
        (self.emit)(&activity);
    }

    fn sync(&self, ctx: &Ctx) -> AppResult<SyncReportDto> {
        let _one = lock(&self.one_at_a_time);
        {
            let mut plan = lock(&self.plan);
            plan.first_edit = None;
        }
        let syncing = |pulled, total| SyncActivityDto {
            state: "syncing".into(),
            pulled,
            total,
            error: None,
            revoked_reason: None,
            photos: None,
        };
        self.show(syncing(0, 0));
        let mut counts = (0, 0);
        let result = app::sync_now_with_progress(ctx, |p| {
            counts = (p.pulled, p.total);
            self.show(syncing(p.pulled, p.total))
        });
        // Photos after the cases, so the server knows which cases they belong to. A photo
        // that cannot move now is shown like a failed sync; the cases' sync still counts.
        let photos = match &result {
            Ok(_) => app::sync_photos_with_progress(ctx, |p| {
                self.show(SyncActivityDto {
                    photos: Some(p),
                    ..syncing(counts.0, counts.1)
                })
            })
            .err(),
            Err(_) => None,
        };
        let t = self.timing;
        let now = Instant::now();
        let mut next = idle();
        let (mut periodic, mut probe) = (Some(now + t.every), None);
        if let Some(e) = result.as_ref().err().or(photos.as_ref()) {
            let error = Some(SyncErrorDto {
                code: e.code().to_string(),
                message: e.to_string(),
            });
            match e.code() {
                // Not something to show: the person locked the device, or has not signed in.
                "locked" | "sync_interrupted" | "not_signed_in" => periodic = None,
                "server_unreachable" => {
                    next.state = "offline".into();
                    next.error = error;
                    probe = Some(now + t.probe);
                }
                "device_revoked" => {
                    next.state = "revoked".into();
                    next.error = error;
                    next.revoked_reason = app::revoked_reason(e).map(str::to_string);
                    periodic = None;
                }
                _ => next.error = error,
            }
        }
        {
            let mut plan = lock(&self.plan);
            plan.periodic = periodic;
            plan.probe = probe;
            self.wake.notify_all();
        }
        self.show(next);
        result
    }
}

/// Whether something accepts a TCP connection at `url`'s host and port (https: 443 by
/// default, http: 80). No request is sent.
fn accepts_connections(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default_port = if scheme == "https" { 443 } else { 80 };
    let has_port = match host_port.rfind(']') {
        Some(end) => host_port[end..].contains(':'),
        None => host_port.contains(':'),
    };
    let target = if has_port {
        host_port.to_string()
    } else {
        format!("{host_port}:{default_port}")
    };
    target
        .to_socket_addrs()
        .is_ok_and(|mut addrs| addrs.any(|a| TcpStream::connect_timeout(&a, PROBE_TIMEOUT).is_ok()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::accepts_connections;

    #[test]
    fn a_probe_connects_to_the_urls_host_and_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        assert!(accepts_connections(&format!("http://127.0.0.1:{port}")));
        assert!(accepts_connections(&format!("http://localhost:{port}/x")));
        drop(listener);
        assert!(!accepts_connections(&format!("http://127.0.0.1:{port}")));
        assert!(!accepts_connections("not a url"));
    }
}
