//! The sync benchmark's measuring, shared by the bench binary (`main.rs`) and the smoke test
//! (`crates/server/tests/sync_bench.rs`, tiny sizes, checks the figures' facts, never their
//! timings).
//!
//! Everything is real: the `fieldbook-server` library's router served on 127.0.0.1:0 over real
//! HTTP (in this process, on a tokio runtime whose threads are all named [`SERVER_THREAD`], so
//! the server's CPU time is read per thread from `/proc/self/task/*/schedstat`), its store
//! (SQLite in a temporary directory, or PostgreSQL), and devices that are real encrypted
//! `fieldbook-store` files talking through `fieldbook-client` (`login`, `sync`). A layer around
//! the router records each request's body sizes and the time the server spent on it; a byte-
//! counting TCP proxy in front of the server (for the 10,000-case device) measures what the
//! wire carries, headers included.
//!
//! Measured, for each store (issue 4, section 7):
//! 1. 10,000 cases in sync on a device and the server, one changed on the device: round trips,
//!    bytes, server time; against automerge's own per-document sync protocol
//!    (`automerge::sync`, one `State` per document, persisted from the previous sync) doing the
//!    same job over the same documents, in the same run.
//! 2. The first full download of 5,000 cases to a new device (register + sync until up to date,
//!    written into its encrypted store), split into server time and device store time.
//! 3. No-change syncs, and syncs carrying 10 changed cases: server CPU per sync, so syncs per
//!    second per server core, and the wall-clock rate.
//! 4. 200 devices (officers and their team leaders) syncing at once, mostly with no change, some
//!    with a few changed cases: latency percentiles and throughput.

#![allow(dead_code)]

use std::error::Error;
use std::fmt::Write as _;
use std::fs;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::time::{Duration, Instant};

use automerge::sync::{Message, State as SyncState, SyncDoc as _};
use automerge::{AutoCommit, ChangeHash};
use axum::body::HttpBody as _;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use fieldbook_core::template::{AnswerValue, ItemKind, Template, latest_template};
use fieldbook_core::{
    Actor, Case, CaseEdit, CaseId, CaseKind, Date, Location, LocationSource, NewCase, Role,
    Timestamp,
};
use fieldbook_server::accounts::{Accounts, hash_password};
use fieldbook_server::http::{self, AppState};
use fieldbook_server::store::{self as server_store, Location as StoreLocation, NewUser, Store};
use fieldbook_store::{DeviceSetup, Store as Device};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Every thread of the server's runtime (workers and blocking pool) has this name.
pub const SERVER_THREAD: &str = "fb-server";
const PASSWORD: &str = "bench password, not secret";
const PASSPHRASE: &str = "bench passphrase, not secret";
const ANSWERS_PER_VISIT: usize = 20;
const SEED: u64 = 0x5eed_5e4c;
/// Cases per creation transaction on a device.
const CREATE_BATCH: usize = 1_000;

// ------------------------------------------------------------------ configuration

/// Which server store a run uses.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded store in a temporary directory.
    Sqlite,
    /// A PostgreSQL database URL (an empty database of its own).
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres(_) => "PostgreSQL",
        }
    }
}

/// The sizes of a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Which rows to measure (1 to 4); `FIELDBOOK_BENCH_ROWS=2,4` picks some.
    pub rows: Vec<u8>,
    /// Cases in sync on the device and the server when one changes (row 1).
    pub in_sync_cases: usize,
    /// How many single-case syncs are measured (each changes a different case).
    pub one_change_reps: usize,
    /// Cases in the first full download (row 2).
    pub download_cases: usize,
    /// Devices (one thread each) driving the rate rows, and the cases each holds.
    pub rate_devices: usize,
    pub rate_cases: usize,
    pub rate_window: Duration,
    /// Devices syncing at once (row 4), in teams of officers and one leader each.
    pub fleet_devices: usize,
    pub fleet_teams: usize,
    pub fleet_cases: usize,
    pub fleet_window: Duration,
}

impl Config {
    pub fn full() -> Config {
        Config {
            rows: vec![1, 2, 3, 4],
            in_sync_cases: 10_000,
            one_change_reps: 5,
            download_cases: 5_000,
            rate_devices: 4,
            rate_cases: 100,
            rate_window: Duration::from_secs(10),
            fleet_devices: 200,
            fleet_teams: 10,
            fleet_cases: 10,
            fleet_window: Duration::from_secs(20),
        }
    }

    /// Small enough for the test suite (a debug build).
    pub fn quick() -> Config {
        Config {
            rows: vec![1, 2, 3, 4],
            in_sync_cases: 60,
            one_change_reps: 2,
            download_cases: 50,
            rate_devices: 2,
            rate_cases: 10,
            rate_window: Duration::from_millis(500),
            fleet_devices: 6,
            fleet_teams: 2,
            fleet_cases: 2,
            fleet_window: Duration::from_millis(1_000),
        }
    }
}

/// The bench binary: `--quick` (or `FIELDBOOK_BENCH_QUICK=1`) for a smoke run;
/// `FIELDBOOK_BENCH_PG_URL` (an empty database) or `FIELDBOOK_TEST_PG_URL` adds PostgreSQL.
pub fn main() -> Res<()> {
    let quick = std::env::args().any(|a| a == "--quick")
        || std::env::var("FIELDBOOK_BENCH_QUICK").is_ok_and(|v| v == "1");
    let mut config = if quick {
        Config::quick()
    } else {
        Config::full()
    };
    if let Ok(rows) = std::env::var("FIELDBOOK_BENCH_ROWS") {
        config.rows = rows
            .split(',')
            .map(|r| r.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("FIELDBOOK_BENCH_ROWS={rows:?}: {e}"))?;
    }
    let mut backends = vec![Backend::Sqlite];
    // PostgreSQL: a database named by the environment, else a durable cluster of our own.
    let mut _cluster = None;
    match std::env::var("FIELDBOOK_BENCH_PG_URL") {
        Ok(url) if !url.is_empty() => backends.push(Backend::Postgres(url)),
        _ if std::env::var("FIELDBOOK_BENCH_NO_PG").is_ok_and(|v| v == "1") => {}
        _ => {
            // PostgreSQL's durable defaults (unlike the test clusters, which turn fsync off):
            // the server's SQLite store commits with `synchronous = FULL`, so both pay for a
            // flush to disk.
            let cluster = fieldbook_testkit::PgCluster::start_durable()?;
            backends.push(Backend::Postgres(cluster.url("postgres")));
            _cluster = Some(cluster);
        }
    }
    if std::env::var("FIELDBOOK_BENCH_ONLY_PG").is_ok_and(|v| v == "1") {
        backends.retain(|b| matches!(b, Backend::Postgres(_)));
    }
    let started = Instant::now();
    let mut out = String::new();
    let _ = writeln!(out, "{}", machine_table());
    let _ = writeln!(out, "Load average at start: {}\n", loadavg());
    for backend in &backends {
        let pid = match (backend, &_cluster) {
            (Backend::Postgres(_), Some(c)) => postmaster_pid(c),
            _ => 0,
        };
        DB_SERVER_PID.store(pid, Ordering::SeqCst);
        let report = run(&config, backend)?;
        out.push_str(&report.markdown(&config));
    }
    let _ = writeln!(
        out,
        "Load average at end: {}; the run took {:.0} s.",
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    println!("{out}");
    Ok(())
}

/// The postmaster's process id of `cluster` (0 if unknown).
fn postmaster_pid(cluster: &fieldbook_testkit::PgCluster) -> u32 {
    fs::read_to_string(cluster.dir().join("data/postmaster.pid"))
        .ok()
        .and_then(|t| t.lines().next().and_then(|l| l.trim().parse().ok()))
        .unwrap_or(0)
}

// ------------------------------------------------------------------ results

/// One measured single-case sync.
#[derive(Debug, Clone, Default)]
pub struct OneChange {
    pub rounds: usize,
    pub request_body: u64,
    pub response_body: u64,
    /// Both directions on the wire, HTTP headers included (the proxy's count).
    pub wire: u64,
    pub server_time: Duration,
    pub client_time: Duration,
    /// The server's document now has the device's heads for the case.
    pub arrived: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub documents: usize,
    pub messages: usize,
    pub bytes: u64,
    pub round_trips: usize,
    /// Messages and bytes of the previous sync that set up the persisted states.
    pub setup_bytes: u64,
    pub converged: bool,
    pub cpu: Duration,
}

#[derive(Debug, Clone, Default)]
pub struct Upload {
    pub cases: usize,
    pub rounds: usize,
    pub time: Duration,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Download {
    pub cases: usize,
    pub on_device: u64,
    pub same_heads: bool,
    pub init: Duration,
    pub total: Duration,
    pub rounds: usize,
    pub server_time: Duration,
    pub device_time: Duration,
    pub response_bytes: u64,
    pub upload: Upload,
}

#[derive(Debug, Clone, Default)]
pub struct Rate {
    pub label: String,
    pub syncs: usize,
    pub failures: usize,
    pub wall: Duration,
    pub server_cpu: Duration,
    /// CPU time of the database server's processes (PostgreSQL: the postmaster and its
    /// children, when the bench started the cluster; zero for SQLite, which runs in the
    /// server's threads and is in `server_cpu`).
    pub db_cpu: Duration,
    pub latency: Vec<Duration>,
    pub server_times: Vec<Duration>,
    pub request_bytes: u64,
    pub response_bytes: u64,
}

impl Rate {
    pub fn per_core_second(&self) -> f64 {
        self.syncs as f64 / (self.server_cpu + self.db_cpu).as_secs_f64().max(1e-9)
    }
    pub fn per_second(&self) -> f64 {
        self.syncs as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub devices: usize,
    pub leaders: usize,
    pub setup: Duration,
    pub all: Rate,
    pub no_change: Vec<Duration>,
    pub with_changes: Vec<Duration>,
    pub changed_cases: usize,
    /// After the run: every device synced once more, and each officer's cases on the server
    /// have the device's heads.
    pub converged: bool,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub backend: String,
    pub upload: Upload,
    pub one_change: Vec<OneChange>,
    pub baseline: Baseline,
    pub download: Download,
    pub no_change: Rate,
    pub ten_changes: Rate,
    pub fleet: Fleet,
}

// ------------------------------------------------------------------ the run

/// Runs every measurement on one store and returns the figures.
pub fn run(config: &Config, backend: &Backend) -> Res<Report> {
    let started = Instant::now();
    let dir = tempfile::tempdir()?;
    let store = match backend {
        Backend::Sqlite => server_store::open(&StoreLocation::Data(dir.path().join("server")))?,
        Backend::Postgres(url) => server_store::open(&StoreLocation::Url(url.clone()))?,
    };
    let server = Server::start(store)?;
    let hash = hash_password(PASSWORD)?;
    let mut report = Report {
        backend: backend.name().into(),
        ..Report::default()
    };
    progress(
        started,
        &format!("{}: server at {}", backend.name(), server.base),
    );

    let row = |n: u8| config.rows.contains(&n);
    if row(1) {
        one_change(config, &server, &hash, dir.path(), &mut report, started)?;
    }
    if row(2) {
        report.download = download(config, &server, &hash, dir.path(), started)?;
        progress(started, "download measured");
    }
    if row(3) {
        let (no_change, ten) = rates(config, &server, &hash, dir.path(), started)?;
        report.no_change = no_change;
        report.ten_changes = ten;
    }
    if row(4) {
        report.fleet = fleet(config, &server, &hash, dir.path(), started)?;
    }
    progress(started, &format!("{}: done", backend.name()));
    Ok(report)
}

fn one_change(
    config: &Config,
    server: &Server,
    hash: &str,
    dir: &Path,
    report: &mut Report,
    started: Instant,
) -> Res<()> {
    seed_accounts(&server.store, hash, "One", &[("olive", Role::Officer)])?;
    let proxy = Proxy::start(server.addr)?;
    let mut device = new_device(&dir.join("olive"), "Olive", Role::Officer)?;
    fieldbook_client::login(&mut device, &proxy.base, "olive", PASSWORD, now_ms())?;
    let ids = create_cases(&mut device, config.in_sync_cases, 0)?;
    progress(started, &format!("{} cases on the device", ids.len()));

    // The first upload: the device and the server in sync.
    let mark = server.meter.mark();
    let t = Instant::now();
    let sync = fieldbook_client::sync(&mut device, now_ms())?;
    let (req, res, _) = server.meter.sums_since(mark, "/sync/v1/sync");
    report.upload = Upload {
        cases: ids.len(),
        rounds: sync.rounds,
        time: t.elapsed(),
        request_bytes: req,
        response_bytes: res,
    };
    if device.outbox()?.0 != 0 || sync.pushed != ids.len() {
        return Err(format!("the upload left {:?} in the outbox", device.outbox()?).into());
    }
    progress(
        started,
        &format!(
            "uploaded in {} rounds, {:.1} s",
            sync.rounds,
            report.upload.time.as_secs_f64()
        ),
    );

    let before = server_docs(&server.store, &ids)?;
    let mut changed = Vec::new();
    for rep in 0..config.one_change_reps {
        let case = ids[(rep * 7_919 + 13) % ids.len()];
        retitle(&mut device, case, &format!("Retitled in rep {rep}"))?;
        proxy.settle()?;
        let wire_before = proxy.total();
        let mark = server.meter.mark();
        let t = Instant::now();
        let sync = fieldbook_client::sync(&mut device, now_ms())?;
        let client_time = t.elapsed();
        proxy.settle()?;
        let (request_body, response_body, server_time) =
            server.meter.sums_since(mark, "/sync/v1/sync");
        let id = case.to_string();
        let on_server = server_heads(&server.store, &id)?;
        report.one_change.push(OneChange {
            rounds: sync.rounds,
            request_body,
            response_body,
            wire: proxy.total() - wire_before,
            server_time,
            client_time,
            arrived: Some(on_server) == device.case_heads(&id)?,
        });
        changed.push(case);
    }
    progress(started, "single-change syncs measured");

    // Automerge's own protocol over the same documents: the server's copies from before the
    // change, the device's with the first change (its document as the server now holds it).
    let first = changed
        .first()
        .ok_or("no single-change sync was measured")?
        .to_string();
    let after = server_docs(&server.store, &[changed[0]])?;
    let device_docs: Vec<Vec<u8>> = ids
        .iter()
        .zip(&before)
        .map(|(id, doc)| {
            if id.to_string() == first {
                after[0].clone()
            } else {
                doc.clone()
            }
        })
        .collect();
    report.baseline = automerge_baseline(&before, &device_docs)?;
    progress(started, "automerge per-document sync measured");
    Ok(())
}

fn download(
    config: &Config,
    server: &Server,
    hash: &str,
    dir: &Path,
    started: Instant,
) -> Res<Download> {
    seed_accounts(&server.store, hash, "Two", &[("dora", Role::Officer)])?;
    let mut origin = new_device(&dir.join("dora-1"), "Dora", Role::Officer)?;
    fieldbook_client::login(&mut origin, &server.base, "dora", PASSWORD, now_ms())?;
    let ids = create_cases(&mut origin, config.download_cases, 1)?;
    let mark = server.meter.mark();
    let t = Instant::now();
    let up = fieldbook_client::sync(&mut origin, now_ms())?;
    let (req, res, _) = server.meter.sums_since(mark, "/sync/v1/sync");
    let upload = Upload {
        cases: ids.len(),
        rounds: up.rounds,
        time: t.elapsed(),
        request_bytes: req,
        response_bytes: res,
    };
    progress(
        started,
        &format!("{} cases uploaded for the download", ids.len()),
    );

    let t = Instant::now();
    let mut fresh = new_device(&dir.join("dora-2"), "Dora", Role::Officer)?;
    let init = t.elapsed();
    let mark = server.meter.mark();
    let t = Instant::now();
    fieldbook_client::login(&mut fresh, &server.base, "dora", PASSWORD, now_ms())?;
    let mut device_time = Duration::ZERO;
    let sync = fieldbook_client::sync_with(
        |f| {
            let t = Instant::now();
            let r = f(&mut fresh);
            device_time += t.elapsed();
            r
        },
        now_ms(),
        &mut |_| {},
    )?;
    let total = t.elapsed();
    let (_, response_bytes, _) = server.meter.sums_since(mark, "/sync/v1/sync");
    let (_, _, server_time) = server.meter.sums_since(mark, "");
    let mut same_heads = true;
    for id in ids.iter().step_by((ids.len() / 50).max(1)) {
        let id = id.to_string();
        same_heads &= fresh.case_heads(&id)? == origin.case_heads(&id)?;
    }
    Ok(Download {
        cases: ids.len(),
        on_device: fresh.case_count()?,
        same_heads,
        init,
        total,
        rounds: sync.rounds,
        server_time,
        device_time,
        response_bytes,
        upload,
    })
}

/// The rate rows: `rate_devices` devices, each on its own thread, sync back to back for the
/// window: first with nothing changed, then each time after changing 10 cases.
fn rates(
    config: &Config,
    server: &Server,
    hash: &str,
    dir: &Path,
    started: Instant,
) -> Res<(Rate, Rate)> {
    let names: Vec<String> = (0..config.rate_devices)
        .map(|i| format!("rate-{i}"))
        .collect();
    let users: Vec<(&str, Role)> = names.iter().map(|n| (n.as_str(), Role::Officer)).collect();
    seed_accounts(&server.store, hash, "Three", &users)?;
    let mut devices = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut d = new_device(&dir.join(name), name, Role::Officer)?;
        fieldbook_client::login(&mut d, &server.base, name, PASSWORD, now_ms())?;
        let ids = create_cases(&mut d, config.rate_cases, 10 + i as u64)?;
        fieldbook_client::sync(&mut d, now_ms())?;
        devices.push((d, ids));
    }
    progress(started, "rate devices in sync");
    let (no_change, _) = drive(
        server,
        &mut devices,
        config.rate_window,
        "no change",
        |_, _| 0,
    )?;
    progress(started, "no-change rate measured");
    let (ten, _) = drive(
        server,
        &mut devices,
        config.rate_window,
        "10 changed cases",
        |_, _| 10,
    )?;
    progress(started, "10-change rate measured");
    Ok((no_change, ten))
}

/// Runs every device on its own thread, syncing back to back until the window closes. Before
/// each sync, `changes(device index, rng)` of its cases are retitled (outside the timed sync).
/// Returns the rate and each sync's (latency, cases pushed).
fn drive(
    server: &Server,
    devices: &mut [(Device, Vec<CaseId>)],
    window: Duration,
    label: &str,
    changes: impl Fn(usize, &mut StdRng) -> usize + Sync,
) -> Res<(Rate, Vec<(Duration, usize)>)> {
    let barrier = Barrier::new(devices.len() + 1);
    let mut cpu_before = Duration::ZERO;
    let mut db_before = Duration::ZERO;
    let mut mark = 0;
    let mut t0 = Instant::now();
    let results: Vec<Res<Vec<(Duration, usize)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter_mut()
            .enumerate()
            .map(|(i, (device, ids))| {
                let barrier = &barrier;
                let changes = &changes;
                s.spawn(move || -> Res<Vec<(Duration, usize)>> {
                    let mut rng = StdRng::seed_from_u64(SEED ^ i as u64);
                    let mut samples = Vec::new();
                    barrier.wait();
                    let deadline = Instant::now() + window;
                    let mut n = 0usize;
                    while Instant::now() < deadline {
                        let k = changes(i, &mut rng).min(ids.len());
                        for j in 0..k {
                            let case = ids[(n * 10 + j) % ids.len()];
                            retitle(device, case, &format!("Change {n}.{j}"))?;
                        }
                        n += 1;
                        let t = Instant::now();
                        let r = fieldbook_client::sync(device, now_ms());
                        let latency = t.elapsed();
                        match r {
                            Ok(report) if report.pushed == k && report.refused.is_empty() => {
                                samples.push((latency, k));
                            }
                            Ok(report) => {
                                return Err(format!("unexpected sync outcome {report:?}").into());
                            }
                            Err(e) => return Err(format!("sync failed: {e}").into()),
                        }
                    }
                    Ok(samples)
                })
            })
            .collect();
        cpu_before = server_cpu();
        db_before = db_cpu();
        mark = server.meter.mark();
        t0 = Instant::now();
        barrier.wait();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a device thread panicked".into()))
            })
            .collect()
    });
    let wall = t0.elapsed();
    let server_cpu = server_cpu().saturating_sub(cpu_before);
    let db_cpu = db_cpu().saturating_sub(db_before);
    let mut samples = Vec::new();
    for r in results {
        samples.extend(r?);
    }
    let exchanges = server.meter.since(mark);
    let syncs: Vec<&Exchange> = exchanges
        .iter()
        .filter(|e| e.path == "/sync/v1/sync")
        .collect();
    let rate = Rate {
        label: label.into(),
        syncs: samples.len(),
        failures: exchanges.iter().filter(|e| e.status >= 400).count(),
        wall,
        server_cpu,
        db_cpu,
        latency: samples.iter().map(|s| s.0).collect(),
        server_times: syncs.iter().map(|e| e.time).collect(),
        request_bytes: syncs.iter().map(|e| e.request_body).sum(),
        response_bytes: syncs.iter().map(|e| e.response_body).sum(),
    };
    Ok((rate, samples))
}

/// Row 4: `fleet_devices` devices in `fleet_teams` teams (one team leader each, the rest
/// officers with `fleet_cases` cases of their own), all syncing at once for the window. Before
/// a sync an officer changes 1 to 3 of their cases one time in ten; leaders only pull.
fn fleet(config: &Config, server: &Server, hash: &str, dir: &Path, started: Instant) -> Res<Fleet> {
    let t = Instant::now();
    let teams = config.fleet_teams.max(1);
    let mut people = Vec::new();
    for i in 0..config.fleet_devices {
        let team = i % teams;
        let leader = i < teams;
        people.push((format!("fleet-{i}"), team, leader));
    }
    for team in 0..teams {
        let users: Vec<(&str, Role)> = people
            .iter()
            .filter(|p| p.1 == team)
            .map(|p| {
                let role = if p.2 { Role::TeamLeader } else { Role::Officer };
                (p.0.as_str(), role)
            })
            .collect();
        seed_accounts(&server.store, hash, &format!("Fleet {team}"), &users)?;
    }
    // Devices are set up (Argon2id for the key, registration, cases, first sync) on every core.
    let next = AtomicU64::new(0);
    let made: Mutex<Vec<(usize, Device, Vec<CaseId>)>> = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| -> Res<()> {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Res<()> {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                        let Some((name, _, leader)) = people.get(i) else {
                            return Ok(());
                        };
                        let role = if *leader {
                            Role::TeamLeader
                        } else {
                            Role::Officer
                        };
                        let mut d = new_device(&dir.join(name), name, role)?;
                        fieldbook_client::login(&mut d, &server.base, name, PASSWORD, now_ms())?;
                        let ids = if *leader {
                            Vec::new()
                        } else {
                            let ids = create_cases(&mut d, config.fleet_cases, 100 + i as u64)?;
                            fieldbook_client::sync(&mut d, now_ms())?;
                            ids
                        };
                        made.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((i, d, ids));
                    }
                })
            })
            .collect();
        for h in handles {
            h.join()
                .unwrap_or_else(|_| Err("a set-up thread panicked".into()))?;
        }
        Ok(())
    })?;
    let mut made = made.into_inner().unwrap_or_else(PoisonError::into_inner);
    made.sort_by_key(|m| m.0);
    let leaders: Vec<bool> = made.iter().map(|m| people[m.0].2).collect();
    let mut devices: Vec<(Device, Vec<CaseId>)> =
        made.into_iter().map(|(_, d, ids)| (d, ids)).collect();
    // Leaders fetch their teams' cases before the measured window.
    for (d, _) in devices
        .iter_mut()
        .zip(&leaders)
        .filter(|(_, l)| **l)
        .map(|(d, _)| d)
    {
        fieldbook_client::sync(d, now_ms())?;
    }
    let setup = t.elapsed();
    progress(
        started,
        &format!(
            "{} fleet devices set up in {:.0} s",
            devices.len(),
            setup.as_secs_f64()
        ),
    );
    let (all, samples) = drive(
        server,
        &mut devices,
        config.fleet_window,
        "fleet",
        |i, rng| {
            if leaders[i] || !rng.random_ratio(1, 10) {
                0
            } else {
                rng.random_range(1..=3)
            }
        },
    )?;
    progress(started, "fleet measured");

    // Everything an officer changed is on the server, with the device's heads.
    let mut converged = true;
    let mut errors = Vec::new();
    for (d, ids) in devices.iter_mut() {
        if let Err(e) = fieldbook_client::sync(d, now_ms()) {
            errors.push(e.to_string());
        }
        for id in ids.iter() {
            let id = id.to_string();
            converged &= Some(server_heads(&server.store, &id)?) == d.case_heads(&id)?;
        }
    }
    Ok(Fleet {
        devices: devices.len(),
        leaders: leaders.iter().filter(|l| **l).count(),
        setup,
        no_change: samples.iter().filter(|s| s.1 == 0).map(|s| s.0).collect(),
        with_changes: samples.iter().filter(|s| s.1 > 0).map(|s| s.0).collect(),
        changed_cases: samples.iter().map(|s| s.1).sum(),
        all,
        converged: converged && errors.is_empty(),
        errors,
    })
}

// ------------------------------------------------------------------ automerge's protocol

/// Automerge's per-document sync of `device` docs against `server` docs (same order, same
/// documents), device first, each round trip carrying every document's message in one batch.
/// The states come from a previous sync of `server` with itself (both sides held the same
/// documents), persisted with `State::encode` and read back with `State::decode`: the best
/// case, where each side already knows the heads they share.
fn automerge_baseline(server: &[Vec<u8>], device: &[Vec<u8>]) -> Res<Baseline> {
    let load = |docs: &[Vec<u8>]| -> Res<Vec<AutoCommit>> {
        docs.iter()
            .map(|d| AutoCommit::load(d).map_err(Into::into))
            .collect()
    };
    // The previous sync, in which both sides held the server's documents.
    let mut a = load(server)?;
    let mut b = load(server)?;
    let mut sa: Vec<SyncState> = a.iter().map(|_| SyncState::new()).collect();
    let mut sb: Vec<SyncState> = a.iter().map(|_| SyncState::new()).collect();
    let setup = exchange(&mut a, &mut sa, &mut b, &mut sb)?;
    let persist = |states: &[SyncState]| -> Res<Vec<SyncState>> {
        states
            .iter()
            .map(|s| SyncState::decode(&s.encode()).map_err(Into::into))
            .collect()
    };
    let mut dev_states = persist(&sa)?;
    let mut srv_states = persist(&sb)?;
    drop((a, b));

    let mut dev = load(device)?;
    let mut srv = load(server)?;
    let cpu = process_cpu();
    let t = exchange(&mut dev, &mut dev_states, &mut srv, &mut srv_states)?;
    let cpu = process_cpu().saturating_sub(cpu);
    let mut converged = true;
    for (d, s) in dev.iter_mut().zip(srv.iter_mut()) {
        let mut dh = d.get_heads();
        let mut sh = s.get_heads();
        dh.sort();
        sh.sort();
        converged &= dh == sh;
    }
    Ok(Baseline {
        documents: device.len(),
        messages: t.0,
        bytes: t.1,
        round_trips: t.2,
        setup_bytes: setup.1,
        converged,
        cpu,
    })
}

/// Runs the protocol to quiescence: each round, every `a` document's message (if any) goes to
/// `b`, then every `b` document's answer to `a`. Returns (messages, bytes, round trips).
fn exchange(
    a: &mut [AutoCommit],
    sa: &mut [SyncState],
    b: &mut [AutoCommit],
    sb: &mut [SyncState],
) -> Res<(usize, u64, usize)> {
    let (mut messages, mut bytes, mut rounds) = (0usize, 0u64, 0usize);
    for _ in 0..100 {
        let mut sent = 0usize;
        for ((da, s_a), (db, s_b)) in a
            .iter_mut()
            .zip(sa.iter_mut())
            .zip(b.iter_mut().zip(sb.iter_mut()))
        {
            if let Some(m) = da.sync().generate_sync_message(s_a) {
                let wire = m.encode();
                bytes += wire.len() as u64;
                sent += 1;
                db.sync()
                    .receive_sync_message(s_b, Message::decode(&wire)?)?;
            }
        }
        let mut answered = 0usize;
        for ((da, s_a), (db, s_b)) in a
            .iter_mut()
            .zip(sa.iter_mut())
            .zip(b.iter_mut().zip(sb.iter_mut()))
        {
            if let Some(m) = db.sync().generate_sync_message(s_b) {
                let wire = m.encode();
                bytes += wire.len() as u64;
                answered += 1;
                da.sync()
                    .receive_sync_message(s_a, Message::decode(&wire)?)?;
            }
        }
        if sent == 0 && answered == 0 {
            return Ok((messages, bytes, rounds));
        }
        messages += sent + answered;
        rounds += 1;
    }
    Err("automerge's sync did not settle in 100 round trips".into())
}

// ------------------------------------------------------------------ the server

/// One request as the layer around the router saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub path: String,
    pub status: u16,
    pub request_body: u64,
    pub response_body: u64,
    /// From the request entering the router to the response leaving it (the body is built).
    pub time: Duration,
}

#[derive(Debug, Default)]
pub struct Meter {
    log: Mutex<Vec<Exchange>>,
}

impl Meter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Exchange>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A position in the log.
    pub fn mark(&self) -> usize {
        self.lock().len()
    }

    pub fn since(&self, mark: usize) -> Vec<Exchange> {
        self.lock()[mark..].to_vec()
    }

    /// (request bodies, response bodies, server time) of the requests to paths starting with
    /// `path` since `mark`.
    pub fn sums_since(&self, mark: usize, path: &str) -> (u64, u64, Duration) {
        self.since(mark)
            .iter()
            .filter(|e| e.path.starts_with(path))
            .fold((0, 0, Duration::ZERO), |(q, r, t), e| {
                (q + e.request_body, r + e.response_body, t + e.time)
            })
    }
}

async fn measure(State(meter): State<Arc<Meter>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_body = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let t = Instant::now();
    let response = next.run(req).await;
    let time = t.elapsed();
    let response_body = response.body().size_hint().exact().unwrap_or(0);
    meter.lock().push(Exchange {
        path,
        status: response.status().as_u16(),
        request_body,
        response_body,
        time,
    });
    response
}

/// The real router (`fieldbook_server::http::router`) with the measuring layer, served over
/// HTTP on 127.0.0.1:0 by `fieldbook_server::http::serve` on a runtime of its own.
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    pub base: String,
    pub meter: Arc<Meter>,
    pub store: Arc<dyn Store>,
}

impl Server {
    pub fn start(store: Arc<dyn Store>) -> Res<Server> {
        let accounts = Accounts::new(store.clone())?;
        let meter = Arc::new(Meter::default());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name(SERVER_THREAD)
            // Idle blocking threads stay, so their CPU time stays readable.
            .thread_keep_alive(Duration::from_secs(24 * 3600))
            .enable_all()
            .build()?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        // Sync only: no photo blobs.
        let router = http::router(AppState {
            accounts,
            blobs: None,
        })
        .layer(axum::middleware::from_fn_with_state(meter.clone(), measure));
        runtime.spawn(async move {
            if let Err(e) = http::serve(listener, router, None, std::future::pending()).await {
                eprintln!("the bench server stopped: {e}");
            }
        });
        Ok(Server {
            runtime: Some(runtime),
            addr,
            base: format!("http://{addr}"),
            meter,
            store,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Wait for the runtime's threads to drop the router, so that the last handle on the
        // store is `self.store`, dropped here outside the runtime: PostgreSQL's blocking client
        // must not be dropped on a runtime thread (it runs a runtime of its own to close).
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(30));
        }
    }
}

/// CPU time of every thread named [`SERVER_THREAD`] (`/proc/self/task/*/schedstat`, ns).
pub fn server_cpu() -> Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            let path = task.path();
            let comm = fs::read_to_string(path.join("comm")).unwrap_or_default();
            if comm.trim_end() != SERVER_THREAD {
                continue;
            }
            ns += fs::read_to_string(path.join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

/// The database server's process id, whose CPU time (with its children's) counts as the
/// server's; 0 for none.
pub static DB_SERVER_PID: AtomicU32 = AtomicU32::new(0);

/// CPU time of the database server's processes: [`DB_SERVER_PID`] and its children
/// (`/proc/PID/stat` utime + stime, in clock ticks of 10 ms).
pub fn db_cpu() -> Duration {
    let root = DB_SERVER_PID.load(Ordering::SeqCst);
    if root == 0 {
        return Duration::ZERO;
    }
    let mut ticks = 0u64;
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the command name (which may hold spaces): state, ppid, ...
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ppid = f.get(1).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
        if pid != root && ppid != root {
            continue;
        }
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        ticks += field(11) + field(12);
    }
    Duration::from_millis(ticks * 10)
}

/// CPU time of the whole process (`/proc/self/schedstat`).
pub fn process_cpu() -> Duration {
    let mut ns = 0u64;
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            ns += fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(ns)
}

// ------------------------------------------------------------------ the byte-counting proxy

/// A TCP proxy on 127.0.0.1 in front of the server that counts the bytes each way.
pub struct Proxy {
    pub base: String,
    bytes: Arc<AtomicU64>,
    open_pipes: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Res<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base = format!("http://{}", listener.local_addr()?);
        let bytes = Arc::new(AtomicU64::new(0));
        let open_pipes = Arc::new(AtomicU64::new(0));
        let (b, o) = (bytes.clone(), open_pipes.clone());
        std::thread::Builder::new()
            .name("fb-proxy".into())
            .spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { continue };
                    let Ok(upstream) = TcpStream::connect(target) else {
                        continue;
                    };
                    let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
                        continue;
                    };
                    o.fetch_add(2, Ordering::SeqCst);
                    for (from, to) in [(client, upstream), (u2, c2)] {
                        let (b, o) = (b.clone(), o.clone());
                        let _ = std::thread::Builder::new()
                            .name("fb-proxy".into())
                            .spawn(move || pipe(from, to, &b, &o));
                    }
                }
            })?;
        Ok(Proxy {
            base,
            bytes,
            open_pipes,
        })
    }

    pub fn total(&self) -> u64 {
        self.bytes.load(Ordering::SeqCst)
    }

    /// Waits until every connection through the proxy has closed (the client closes its
    /// connection when a sync ends).
    pub fn settle(&self) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.open_pipes.load(Ordering::SeqCst) > 0 {
            if Instant::now() > deadline {
                return Err("a connection through the proxy stayed open".into());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(())
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream, bytes: &AtomicU64, open: &AtomicU64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                bytes.fetch_add(n as u64, Ordering::SeqCst);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
    open.fetch_sub(1, Ordering::SeqCst);
}

// ------------------------------------------------------------------ accounts, devices, cases

static NEXT_DEVICE_NUMBER: AtomicU32 = AtomicU32::new(1);

/// A team and its users, written through the server's store (one Argon2id hash for all: the
/// bench's password is the same for everyone).
fn seed_accounts(
    store: &Arc<dyn Store>,
    hash: &str,
    team: &str,
    users: &[(&str, Role)],
) -> Res<()> {
    store.transaction(|tx| {
        let team = tx.create_team(team, now_ms())?;
        for (name, role) in users {
            tx.create_user(&NewUser {
                name,
                role: *role,
                team_id: Some(team.id),
                password_hash: hash,
                now: now_ms(),
            })?;
        }
        Ok::<_, server_store::StoreError>(())
    })?;
    Ok(())
}

fn new_device(dir: &Path, person: &str, role: Role) -> Res<Device> {
    Ok(Device::init(
        dir,
        PASSPHRASE,
        DeviceSetup {
            person_name: person.into(),
            role,
            device_number: NEXT_DEVICE_NUMBER.fetch_add(1, Ordering::SeqCst),
        },
        Timestamp(now_ms()),
    )?)
}

fn retitle(device: &mut Device, case: CaseId, title: &str) -> Res<()> {
    let title = title.to_string();
    device.change_case(case, Timestamp(now_ms()), move |c, a| {
        c.edit(
            CaseEdit {
                title: Some(title),
                ..CaseEdit::default()
            },
            a,
        )?;
        Ok("Retitled".into())
    })?;
    Ok(())
}

/// `n` housing cases, each with two hazard-survey visits of 20 answers (as in the device
/// benchmark), created in transactions of 1,000.
fn create_cases(device: &mut Device, n: usize, salt: u64) -> Res<Vec<CaseId>> {
    let template = latest_template("hhsrs-survey")?;
    let now = Timestamp(now_ms());
    let today = now.date();
    let mut ids = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + CREATE_BATCH).min(n);
        let batch = (start..end)
            .map(|i| Ok((CaseKind::Housing, new_case(i, salt, today, now)?)))
            .collect::<Res<Vec<_>>>()?;
        let cases = device.create_cases_with(batch, now, |i, case, actor| {
            record_visits(case, start + i, salt, template, actor, now, today)
        })?;
        ids.extend(cases.iter().map(|c| c.id));
        start = end;
    }
    Ok(ids)
}

const STREETS: [&str; 8] = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Park Avenue",
    "Queen's Road",
    "Market Place",
];
const TITLES: [&str; 5] = [
    "Damp and mould complaint",
    "Excess cold: no working heating",
    "HMO licence inspection",
    "Disrepair to roof and gutters",
    "Fire safety: blocked escape route",
];
const REMARKS: [&str; 3] = [
    "Seen in the front bedroom and the bathroom.",
    "Landlord contacted; works promised within 28 days.",
    "No access to the loft on this visit.",
];

fn rng(i: usize, salt: u64) -> StdRng {
    StdRng::seed_from_u64(
        SEED ^ salt.wrapping_mul(31) ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
    )
}

fn new_case(i: usize, salt: u64, today: Date, now: Timestamp) -> Res<NewCase> {
    let mut r = rng(i, salt);
    let location = r
        .random_ratio(2, 3)
        .then(|| {
            Location::new(
                53.6 + r.random::<f64>() * 0.3,
                -1.9 + r.random::<f64>() * 0.5,
                Some(10.0),
                LocationSource::Gazetteer,
                now,
            )
        })
        .transpose()?;
    Ok(NewCase {
        title: format!(
            "{}, flat {}",
            TITLES[r.random_range(0..TITLES.len())],
            r.random_range(1..120)
        ),
        address: Some(format!(
            "{} {}, Bradford",
            r.random_range(1..400),
            STREETS[r.random_range(0..STREETS.len())]
        )),
        postcode: Some(format!(
            "BD{} {}AB",
            r.random_range(1..20),
            r.random_range(0..10)
        )),
        uprn: r.random_bool(0.5).then(|| {
            r.random_range(10_000_000_000u64..100_000_000_000)
                .to_string()
        }),
        location,
        assignee: None,
        due: (!i.is_multiple_of(6)).then(|| today.add_days(r.random_range(-60..180))),
    })
}

fn record_visits(
    case: &mut Case,
    i: usize,
    salt: u64,
    template: &Template,
    actor: Actor,
    now: Timestamp,
    today: Date,
) -> Result<(), fieldbook_core::DomainError> {
    let mut r = rng(i, salt ^ 0xabc);
    for _ in 0..2 {
        let visit = case.add_visit(template, None, actor, now)?;
        for item in template.items().take(ANSWERS_PER_VISIT) {
            let value = match &item.kind {
                ItemKind::YesNo => AnswerValue::YesNo(r.random_bool(0.5)),
                ItemKind::Choice { options } => {
                    let k = if r.random_bool(0.6) {
                        0
                    } else {
                        r.random_range(0..options.len())
                    };
                    AnswerValue::Choice(options[k].value.clone())
                }
                ItemKind::Number {
                    min, max, integer, ..
                } => {
                    let v = min + (max - min).min(100.0) * r.random::<f64>();
                    AnswerValue::Number(if *integer { v.floor() } else { v })
                }
                ItemKind::Text { max_len, .. } => AnswerValue::Text(
                    REMARKS[r.random_range(0..REMARKS.len())]
                        .chars()
                        .take(*max_len)
                        .collect(),
                ),
                ItemKind::Date => AnswerValue::Date(today.add_days(r.random_range(1..60))),
                ItemKind::Score { options } => {
                    AnswerValue::Score(options[r.random_range(0..options.len())])
                }
            };
            case.answer(visit, &item.id, value, actor, now)?;
        }
    }
    Ok(())
}

/// The server's documents for these cases, in order.
fn server_docs(store: &Arc<dyn Store>, ids: &[CaseId]) -> Res<Vec<Vec<u8>>> {
    store.read(|tx| {
        ids.iter()
            .map(|id| {
                tx.get_case(&id.to_string())?
                    .map(|c| c.doc)
                    .ok_or_else(|| format!("case {id} is not on the server").into())
            })
            .collect::<Res<Vec<_>>>()
    })
}

fn server_heads(store: &Arc<dyn Store>, case_id: &str) -> Res<Vec<ChangeHash>> {
    let doc = store
        .read(|tx| tx.get_case(case_id))?
        .ok_or_else(|| format!("case {case_id} is not on the server"))?;
    let mut heads = AutoCommit::load(&doc.doc)?.get_heads();
    heads.sort();
    Ok(heads)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ------------------------------------------------------------------ reporting

fn progress(started: Instant, msg: &str) {
    eprintln!("[{:>6.1}s] {msg}", started.elapsed().as_secs_f64());
}

/// Nearest-rank percentile of unsorted samples.
pub fn percentile(samples: &[Duration], q: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut v = samples.to_vec();
    v.sort();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn bytes(n: u64) -> String {
    if n >= 10 * 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / 1_048_576.0)
    } else if n >= 10 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "**MISS**" }
}

fn median_by<T: Clone>(v: &[T], key: impl Fn(&T) -> u64) -> u64 {
    let mut k: Vec<u64> = v.iter().map(key).collect();
    k.sort();
    k.get(k.len() / 2).copied().unwrap_or(0)
}

impl Report {
    /// The report's Markdown section.
    pub fn markdown(&self, config: &Config) -> String {
        let mut o = String::new();
        let one = &self.one_change;
        let rounds = one.iter().map(|c| c.rounds).max().unwrap_or(0);
        let body = median_by(one, |c| c.request_body + c.response_body);
        let req = median_by(one, |c| c.request_body);
        let res = median_by(one, |c| c.response_body);
        let wire = median_by(one, |c| c.wire);
        let server_times: Vec<Duration> = one.iter().map(|c| c.server_time).collect();
        let client_times: Vec<Duration> = one.iter().map(|c| c.client_time).collect();
        let b = &self.baseline;
        let ratio = b.bytes as f64 / body.max(1) as f64;
        let ratio_wire = b.bytes as f64 / wire.max(1) as f64;
        let _ = writeln!(o, "### {} store\n", self.backend);
        let _ = writeln!(
            o,
            "| # | Measurement | Result | Target | Met | Baseline (same run) |"
        );
        let _ = writeln!(o, "|---|---|---|---|---|---|");
        let row = |n: u8| config.rows.contains(&n);
        if row(1) {
            let _ = writeln!(
                o,
                "| 1 | {} cases in sync, one changed on the device: `fieldbook_client::sync` ({} runs, each a different case; medians) | {} round trip(s); bodies {} (request {} + response {}); on the wire with HTTP headers {}; server time {} (max {}); whole sync on the device {} | <= 2 round trips, <= 20 KB, >= 50x fewer bytes | {} / {} / {} | automerge `sync` per document, states persisted from the previous sync: {} messages, {} in {} batched round trip(s) = {:.0}x our bodies ({:.0}x our wire bytes with headers); the previous sync that set up the states: {} |",
                thousands(self.upload.cases as f64),
                one.len(),
                rounds,
                bytes(body),
                bytes(req),
                bytes(res),
                bytes(wire),
                ms(percentile(&server_times, 0.5)),
                ms(percentile(&server_times, 1.0)),
                ms(percentile(&client_times, 0.5)),
                verdict(rounds <= 2),
                verdict(wire <= 20_000),
                verdict(ratio_wire >= 50.0),
                thousands(b.messages as f64),
                bytes(b.bytes),
                b.round_trips,
                ratio,
                ratio_wire,
                bytes(b.setup_bytes),
            );
        }
        let d = &self.download;
        if row(2) {
            // The client asks for the next page while it writes one, so the server's time and
            // the device's overlap: what is left of the total beyond the device's own time is
            // what the overlap did not hide.
            let rest = d.total.saturating_sub(d.device_time);
            let _ = writeln!(
                o,
                "| 2 | First full download of {} cases to a new device: `fieldbook_client::login` + `sync` until up to date, written into its encrypted store | {:.2} s ({} round trips, {} of responses): device store {:.2} s + {:.2} s waiting on the server, HTTP and JSON (the server's {:.2} s overlap the device's writing: the next page is fetched while one is written) | <= 5 s | {} | device set-up before it (Argon2id key, new database): {:.2} s; the same cases' first upload from the device that made them: {:.1} s in {} round trips |",
                thousands(d.cases as f64),
                d.total.as_secs_f64(),
                d.rounds,
                bytes(d.response_bytes),
                d.device_time.as_secs_f64(),
                rest.as_secs_f64(),
                d.server_time.as_secs_f64(),
                verdict(d.total <= Duration::from_secs(5)),
                d.init.as_secs_f64(),
                d.upload.time.as_secs_f64(),
                d.upload.rounds,
            );
        }
        for (r, target) in [(&self.no_change, Some(1_000.0)), (&self.ten_changes, None)]
            .into_iter()
            .filter(|_| row(3))
        {
            let _ = writeln!(
                o,
                "| 3 | Syncs with {}: {} devices back to back for {:.0} s ({} syncs) | {} syncs per server CPU-second ({} server CPU per sync{}); wall clock {} syncs/s (server busy {:.2} cores); latency p50 {} · p99 {}; server time p50 {} | {} | {} | {} per sync on the wire (bodies) |",
                r.label,
                config.rate_devices,
                r.wall.as_secs_f64(),
                thousands(r.syncs as f64),
                thousands(r.per_core_second()),
                ms((r.server_cpu + r.db_cpu) / r.syncs.max(1) as u32),
                if r.db_cpu > Duration::ZERO {
                    format!(
                        ": {} in the server's threads + {} in PostgreSQL's processes",
                        ms(r.server_cpu / r.syncs.max(1) as u32),
                        ms(r.db_cpu / r.syncs.max(1) as u32)
                    )
                } else {
                    String::new()
                },
                thousands(r.per_second()),
                (r.server_cpu + r.db_cpu).as_secs_f64() / r.wall.as_secs_f64().max(1e-9),
                ms(percentile(&r.latency, 0.5)),
                ms(percentile(&r.latency, 0.99)),
                ms(percentile(&r.server_times, 0.5)),
                target.map_or("(reported)".into(), |t| format!(
                    ">= {} per core",
                    thousands(t)
                )),
                target.map_or("-", |t| verdict(r.per_core_second() >= t)),
                bytes((r.request_bytes + r.response_bytes) / r.syncs.max(1) as u64),
            );
        }
        let f = &self.fleet;
        if row(4) {
            let _ = writeln!(
                o,
                "| 4 | {} devices syncing at once for {:.0} s ({} team leaders, {} officers with {} cases each; an officer changes 1–3 cases before one sync in ten) | {} syncs, {} syncs/s; latency p50 {} · p99 {} (no change: p50 {} · p99 {}, n = {}; with changes: p50 {} · p99 {}, n = {}, {} cases pushed); server time p50 {} · p99 {}; server CPU {:.2} cores | (reported) | - | every device synced once more afterwards and every officer's cases are on the server with the device's heads: {} |",
                f.devices,
                f.all.wall.as_secs_f64(),
                f.leaders,
                f.devices - f.leaders,
                config.fleet_cases,
                thousands(f.all.syncs as f64),
                thousands(f.all.per_second()),
                ms(percentile(&f.all.latency, 0.5)),
                ms(percentile(&f.all.latency, 0.99)),
                ms(percentile(&f.no_change, 0.5)),
                ms(percentile(&f.no_change, 0.99)),
                f.no_change.len(),
                ms(percentile(&f.with_changes, 0.5)),
                ms(percentile(&f.with_changes, 0.99)),
                f.with_changes.len(),
                f.changed_cases,
                ms(percentile(&f.all.server_times, 0.5)),
                ms(percentile(&f.all.server_times, 0.99)),
                (f.all.server_cpu + f.all.db_cpu).as_secs_f64()
                    / f.all.wall.as_secs_f64().max(1e-9),
                if f.converged { "yes" } else { "**no**" },
            );
        }
        if row(1) {
            let _ = writeln!(
                o,
                "\nSet-up, for reference: the first upload of {} cases from the device that made them took {:.1} s in {} round trips ({} of requests, {} of responses). Fleet set-up (devices, registrations, cases, first syncs): {:.0} s. Automerge's protocol over {} documents took {} of CPU in this process (no I/O).\n",
                thousands(self.upload.cases as f64),
                self.upload.time.as_secs_f64(),
                self.upload.rounds,
                bytes(self.upload.request_bytes),
                bytes(self.upload.response_bytes),
                f.setup.as_secs_f64(),
                thousands(b.documents as f64),
                ms(b.cpu),
            );
        }
        o
    }
}

fn machine_table() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, m)| m.trim().to_string());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "| Machine | |\n|---|---|\n| nproc | {nproc} |\n| CPU | {model} |\n| Kernel | {} |\n",
        kernel.trim()
    )
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
