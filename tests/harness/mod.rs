//! What the system tests share: a server's data (SQLite directory or PostgreSQL database) with
//! its accounts, the real `fieldbook-server` binary started and SIGKILLed on it, devices that
//! are real encrypted data directories signed in over HTTP, a loopback TCP proxy that slows the
//! traffic and counts it (so a kill can land at a chosen byte), and a snapshot of everything the
//! server stores, to show that bad input changed nothing.
//!
//! Every random test takes its seed from `FIELDBOOK_SYSTEM_SEED` when set and prints it.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::{AutoCommit, ReadDoc as _};
use fieldbook_core::{CaseId, Role, Timestamp};
use fieldbook_server::store::{self as server_store, Location, Viewer};
use fieldbook_store::{DeviceSetup, Store};

pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_fieldbook-system-server");
pub const DEVICE_BIN: &str = env!("CARGO_BIN_EXE_fieldbook-system-device");
/// Every user's password on the server.
pub const PASSWORD: &str = "correct horse battery";
/// Every device's passphrase.
pub const PASSPHRASE: &str = "device passphrase";
/// The tests' clock starts here (ms since the epoch, November 2026).
pub const T0: i64 = 1_790_000_000_000;

/// The test's seed: `FIELDBOOK_SYSTEM_SEED` if set, else random; printed either way.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("FIELDBOOK_SYSTEM_SEED")
        .ok()
        .map(|s| {
            s.trim()
                .parse()
                .expect("FIELDBOOK_SYSTEM_SEED is a whole number")
        })
        .unwrap_or_else(rand::random);
    eprintln!("{test}: seed {seed} (FIELDBOOK_SYSTEM_SEED={seed} repeats this run)");
    seed
}

/// Which server store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in a temporary directory.
    Sqlite,
    /// A fresh database on a throw-away PostgreSQL cluster (`fieldbook-testkit`:
    /// `FIELDBOOK_TEST_PG_URL`, or a private cluster for this process).
    Postgres,
}

/// A server's data: where it lives, with the accounts a test asked for. Device directories
/// and logs live beside it and go when it is dropped.
#[derive(Debug)]
pub struct ServerData {
    pub root: tempfile::TempDir,
    location: Location,
    next_device_number: AtomicU32,
    next_log: AtomicU32,
    /// Dropped (with `DROP DATABASE … WITH (FORCE)`) after the test's servers.
    _pg: Option<fieldbook_testkit::PgDatabase>,
}

impl ServerData {
    /// A fresh store with `users` (name, role code, team): teams are added as named.
    pub fn new(backend: Backend, users: &[(&str, &str, Option<&str>)]) -> ServerData {
        let root = tempfile::tempdir().unwrap();
        let (location, pg) = match backend {
            Backend::Sqlite => (Location::Data(root.path().join("server")), None),
            Backend::Postgres => {
                let db = fieldbook_testkit::PgDatabase::fresh();
                (Location::Url(db.url().to_string()), Some(db))
            }
        };
        let data = ServerData {
            root,
            location,
            next_device_number: AtomicU32::new(1),
            next_log: AtomicU32::new(0),
            _pg: pg,
        };
        let mut teams: Vec<&str> = users.iter().filter_map(|u| u.2).collect();
        teams.sort_unstable();
        teams.dedup();
        for team in teams {
            data.admin_ok(&["team", "add", team], None);
        }
        for (name, role, team) in users {
            let mut args = vec!["user", "add", "--name", name, "--role", role];
            if let Some(t) = team {
                args.extend(["--team", t]);
            }
            data.admin_ok(&args, Some(PASSWORD));
        }
        data
    }

    fn location_args(&self) -> Vec<std::ffi::OsString> {
        match &self.location {
            Location::Data(dir) => vec!["--data".into(), dir.into()],
            Location::Url(url) => vec!["--database-url".into(), url.into()],
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(SERVER_BIN);
        cmd.args(self.location_args())
            .env_remove("FIELDBOOK_PASSWORD")
            .env_remove("FIELDBOOK_SERVER_DATA")
            .env_remove("FIELDBOOK_DATABASE_URL")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs an admin command (`team add …`, `device revoke …`).
    pub fn admin(&self, args: &[&str], password: Option<&str>) -> Output {
        let mut cmd = self.command();
        cmd.args(args);
        if let Some(p) = password {
            cmd.env("FIELDBOOK_PASSWORD", p);
        }
        cmd.output().unwrap()
    }

    /// [`ServerData::admin`], failing the test unless it succeeded; returns stdout.
    pub fn admin_ok(&self, args: &[&str], password: Option<&str>) -> String {
        let out = self.admin(args, password);
        assert!(
            out.status.success(),
            "fieldbook-server {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `fieldbook-server serve` on a free loopback port.
    pub fn start(&self, extra: &[&str]) -> Server {
        let n = self.next_log.fetch_add(1, Ordering::SeqCst);
        let log = self.root.path().join(format!("server-{n}.log"));
        let mut child = self
            .command()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        // The bound address, printed once the server listens: the readiness signal.
        stdout.read_line(&mut line).unwrap();
        let Some(base) = line.trim().strip_prefix("fieldbook-server listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server printed no address ({line:?}):\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        let addr = base.trim_start_matches("http://").parse().unwrap();
        Server {
            base: base.to_string(),
            addr,
            child,
            _stdout: stdout,
            log,
        }
    }

    /// The next device number (unique on this server).
    pub fn device_number(&self) -> u32 {
        self.next_device_number.fetch_add(1, Ordering::SeqCst)
    }

    /// A new directory for a device.
    pub fn device_dir(&self, name: &str) -> PathBuf {
        let dir = self.root.path().join("devices").join(name);
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        dir
    }

    /// The server's store, opened in this process beside the running server (read it only).
    pub fn store(&self) -> Arc<dyn server_store::Store> {
        server_store::open(&self.location).unwrap()
    }

    /// Everything the server keeps about cases and devices (see [`Snapshot`]).
    pub fn snapshot(&self) -> Snapshot {
        let store = self.store();
        store
            .read(|tx| {
                let mut cases = Vec::new();
                for c in tx.cases_since(&everyone(), 0, 1_000_000)?.cases {
                    let heads = heads_of(&c.doc);
                    cases.push((c.case_id, c.seq, heads, c.doc));
                }
                cases.sort();
                let mut devices: Vec<String> = tx
                    .list_devices()?
                    .into_iter()
                    .map(|mut d| {
                        // Every authenticated request touches this; nothing else may change.
                        d.device.last_seen_at = None;
                        format!("{d:?}")
                    })
                    .collect();
                devices.sort();
                Ok::<_, server_store::StoreError>(Snapshot {
                    seq: tx.current_seq()?,
                    cases,
                    devices,
                })
            })
            .unwrap()
    }

    /// The server's documents, by case id.
    pub fn documents(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        self.snapshot()
            .cases
            .into_iter()
            .map(|(id, _, _, doc)| (id, doc))
            .collect()
    }

    /// The ids of the cases the user may see, as the server decides it.
    pub fn visible_to(&self, user: &str) -> Vec<String> {
        let store = self.store();
        store
            .read(|tx| {
                let u = tx
                    .list_users()?
                    .into_iter()
                    .find(|u| u.name == user)
                    .unwrap();
                let mut ids: Vec<String> = tx
                    .cases_since(&Viewer::of(&u), 0, 1_000_000)?
                    .cases
                    .into_iter()
                    .map(|c| c.case_id)
                    .collect();
                ids.sort();
                Ok::<_, server_store::StoreError>(ids)
            })
            .unwrap()
    }
}

/// An admin's view: every case.
fn everyone() -> Viewer {
    Viewer {
        person_id: uuid::Uuid::nil(),
        role: Role::Admin,
        team_id: None,
    }
}

/// A document's heads as sorted hex strings.
pub fn heads_of(doc: &[u8]) -> Vec<String> {
    let mut d = AutoCommit::load(doc).unwrap();
    let mut h: Vec<String> = d.get_heads().iter().map(ToString::to_string).collect();
    h.sort();
    h
}

/// What the server keeps: the last sequence number, every case (id, sequence, heads, the
/// stored bytes) and every device row (but its last-seen time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub cases: Vec<(String, u64, Vec<String>, Vec<u8>)>,
    pub devices: Vec<String>,
}

/// A running `fieldbook-server serve`; SIGKILLed when dropped.
#[derive(Debug)]
pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    child: Child,
    _stdout: BufReader<ChildStdout>,
    log: PathBuf,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no shutdown, no flush, whatever the server was doing.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A device: a real encrypted data directory, signed in to the server as `user`, used in this
/// process through `fieldbook-store` and `fieldbook-client` (the code the app and CLI run).
#[derive(Debug)]
pub struct Device {
    pub name: String,
    pub user: String,
    pub role: Role,
    pub dir: PathBuf,
    pub store: Store,
}

impl Device {
    /// Sets up a device for `user` and signs it in at `server` (a base URL).
    pub fn new(data: &ServerData, server: &str, name: &str, user: &str, role: Role) -> Device {
        let dir = data.device_dir(name);
        let mut store = Store::init(
            &dir,
            PASSPHRASE,
            DeviceSetup {
                person_name: user.into(),
                role,
                device_number: data.device_number(),
            },
            Timestamp(T0),
        )
        .unwrap();
        fieldbook_client::login(&mut store, server, user, PASSWORD, T0).unwrap();
        Device {
            name: name.into(),
            user: user.into(),
            role,
            dir,
            store,
        }
    }

    /// One sync, as `fieldbook sync` runs it.
    pub fn sync(
        &mut self,
        now: i64,
    ) -> Result<fieldbook_client::SyncReport, fieldbook_client::ClientError> {
        fieldbook_client::sync(&mut self.store, now)
    }

    /// The ids of the cases on this device, sorted.
    pub fn case_ids(&self) -> Vec<String> {
        case_ids(&self.store)
    }

    /// The heads of the device's document of a case, as sorted hex strings.
    pub fn heads(&self, case_id: &str) -> Vec<String> {
        let mut h: Vec<String> = self
            .store
            .case_heads(case_id)
            .unwrap()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect();
        h.sort();
        h
    }

    /// The device's automerge document of a case.
    pub fn doc(&self, case_id: &str) -> AutoCommit {
        device_doc(&self.store, case_id)
    }

    pub fn case_id(s: &str) -> CaseId {
        s.parse().unwrap()
    }
}

/// The ids of the cases a store holds, sorted.
pub fn case_ids(store: &Store) -> Vec<String> {
    let mut stmt = store
        .connection()
        .prepare("SELECT case_id FROM case_docs ORDER BY case_id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// A case's automerge document as the device keeps it (its chunks, in order, loaded as one).
pub fn device_doc(store: &Store, case_id: &str) -> AutoCommit {
    let mut stmt = store
        .connection()
        .prepare(
            "SELECT c.bytes FROM case_chunks c JOIN case_docs d ON d.pk = c.case_pk
             WHERE d.case_id = ?1 ORDER BY c.seq",
        )
        .unwrap();
    let mut bytes = Vec::new();
    for chunk in stmt
        .query_map([case_id], |r| r.get::<_, Vec<u8>>(0))
        .unwrap()
    {
        bytes.extend(chunk.unwrap());
    }
    assert!(!bytes.is_empty(), "no document for case {case_id}");
    AutoCommit::load(&bytes).unwrap()
}

/// Every value a scalar field of the case's root holds: one, or several when concurrent edits
/// left an automerge conflict. Sorted.
pub fn all_values(doc: &AutoCommit, field: &str) -> Vec<String> {
    let mut v: Vec<String> = doc
        .get_all(automerge::ROOT, field)
        .unwrap()
        .into_iter()
        .map(|(value, _)| match value {
            automerge::Value::Scalar(s) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => s.to_string(),
                other => format!("{other}"),
            },
            automerge::Value::Object(t) => format!("{t:?}"),
        })
        .collect();
    v.sort();
    v
}

/// The `fieldbook` CLI on a device directory (passphrase from the environment).
pub fn device_command(dir: &Path) -> Command {
    let mut cmd = Command::new(DEVICE_BIN);
    let home = dir.with_extension("home");
    std::fs::create_dir_all(&home).unwrap();
    cmd.env_remove("FIELDBOOK_DATA")
        .env_remove("FIELDBOOK_PASSWORD")
        .env("FIELDBOOK_PASSPHRASE", PASSPHRASE)
        .env("HOME", &home)
        .env("XDG_DATA_HOME", home.join("xdg"))
        .arg("--data")
        .arg(dir)
        .stdin(Stdio::null());
    cmd
}

/// A loopback TCP proxy in front of the server: devices talk to it, it forwards to whichever
/// server address it is given (a restarted server may have another port), optionally slowly,
/// and counts the bytes it forwards so a test can act at a chosen point of a sync.
#[derive(Debug)]
pub struct Proxy {
    pub addr: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    traffic: Arc<AtomicU64>,
    /// Microseconds to wait before forwarding each chunk of up to [`CHUNK`] bytes.
    delay_us: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

/// The proxy's forwarding unit.
pub const CHUNK: usize = 4096;

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy {
            addr: listener.local_addr().unwrap(),
            target: Arc::new(Mutex::new(target)),
            traffic: Arc::new(AtomicU64::new(0)),
            delay_us: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (target, traffic, delay, stop) = (
            proxy.target.clone(),
            proxy.traffic.clone(),
            proxy.delay_us.clone(),
            proxy.stop.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = conn else { continue };
                let to = *target.lock().unwrap();
                let Ok(server) = TcpStream::connect(to) else {
                    // The server is down: the device sees the connection cut.
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                for (from, to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let (traffic, delay) = (traffic.clone(), delay.clone());
                    std::thread::spawn(move || pump(from, to, &traffic, &delay));
                }
            }
        });
        proxy
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn retarget(&self, to: SocketAddr) {
        *self.target.lock().unwrap() = to;
    }

    /// Bytes forwarded so far, both ways.
    pub fn traffic(&self) -> u64 {
        self.traffic.load(Ordering::SeqCst)
    }

    pub fn set_delay(&self, per_chunk: Duration) {
        self.delay_us
            .store(per_chunk.as_micros() as u64, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, traffic: &AtomicU64, delay_us: &AtomicU64) {
    let mut buf = [0u8; CHUNK];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let delay = delay_us.load(Ordering::SeqCst);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        traffic.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown(Shutdown::Write);
    let _ = from.shutdown(Shutdown::Read);
}
