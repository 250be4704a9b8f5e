//! Helpers shared by the server's tests: the storage backends a test runs against, the real
//! `fieldbook-server` binary, and devices registered with it.
#![allow(dead_code)]

use std::ffi::OsString;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::Arc;

use fieldbook_server::store::Store;
use fieldbook_testkit::PgDatabase;

pub const BIN: &str = env!("CARGO_BIN_EXE_fieldbook-server");
pub const PASSWORD: &str = "correct horse battery";

/// The storage a test runs against: the embedded SQLite store or PostgreSQL (a fresh database
/// from `fieldbook-testkit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// An empty store and what keeps its storage alive (a temporary directory or database).
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub location: Location,
    _dir: tempfile::TempDir,
    pub pg: Option<PgDatabase>,
}

impl Backend {
    /// A fresh, empty store of this backend.
    pub fn open(self) -> TestStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let (location, pg) = self.location(dir.path());
        let store = fieldbook_server::store::open(&location.to_store()).expect("open store");
        TestStore {
            store,
            location,
            _dir: dir,
            pg,
        }
    }

    /// Where a new, empty store of this backend lives: `dir/data`, or a fresh database (kept
    /// while the returned value lives).
    pub fn location(self, dir: &Path) -> (Location, Option<PgDatabase>) {
        match self {
            Backend::Sqlite => (Location::Data(dir.join("data")), None),
            Backend::Postgres => {
                let db = PgDatabase::fresh();
                (Location::Url(db.url().to_owned()), Some(db))
            }
        }
    }
}

/// Where the server binary keeps its data: `--data DIR` or `--database-url URL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Data(PathBuf),
    Url(String),
}

impl Location {
    pub fn args(&self) -> Vec<OsString> {
        match self {
            Location::Data(d) => vec!["--data".into(), d.into()],
            Location::Url(u) => vec!["--database-url".into(), u.into()],
        }
    }

    pub fn to_store(&self) -> fieldbook_server::store::Location {
        match self {
            Location::Data(d) => fieldbook_server::store::Location::Data(d.clone()),
            Location::Url(u) => fieldbook_server::store::Location::Url(u.clone()),
        }
    }
}

/// Runs an admin command on a data directory, with the password (if any) in the environment.
pub fn admin(data: &Path, args: &[&str], password: Option<&str>) -> Output {
    admin_at(&Location::Data(data.to_owned()), args, password)
}

/// Runs an admin command on a store location, with the password (if any) in the environment.
pub fn admin_at(location: &Location, args: &[&str], password: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(location.args()).args(args).stdin(Stdio::null());
    cmd.env_remove("FIELDBOOK_PASSWORD")
        .env_remove("FIELDBOOK_SERVER_DATA")
        .env_remove("FIELDBOOK_DATABASE_URL");
    if let Some(p) = password {
        cmd.env("FIELDBOOK_PASSWORD", p);
    }
    cmd.output().expect("run fieldbook-server")
}

/// Like [`admin`], and fails the test unless it succeeded; returns stdout.
pub fn admin_ok(data: &Path, args: &[&str], password: Option<&str>) -> String {
    admin_ok_at(&Location::Data(data.to_owned()), args, password)
}

/// Like [`admin_at`], and fails the test unless it succeeded; returns stdout.
pub fn admin_ok_at(location: &Location, args: &[&str], password: Option<&str>) -> String {
    let out = admin_at(location, args, password);
    assert!(
        out.status.success(),
        "fieldbook-server {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A team `North` with an officer `olive`, a second officer `owen` and a leader `lena`.
pub fn seed(data: &Path) {
    seed_at(&Location::Data(data.to_owned()));
}

/// [`seed`] at a store location.
pub fn seed_at(location: &Location) {
    admin_ok_at(location, &["team", "add", "North"], None);
    for (name, role) in [
        ("olive", "officer"),
        ("owen", "officer"),
        ("lena", "team_leader"),
    ] {
        admin_ok_at(
            location,
            &[
                "user", "add", "--name", name, "--role", role, "--team", "North",
            ],
            Some(PASSWORD),
        );
    }
}

/// A seeded data directory (`DIR/data`, see [`seed`]) and a server running on it.
pub fn started() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    seed(&data);
    let server = Server::start(&data, &[]);
    (dir, server)
}

/// What a test server runs on: its temporary directory, its store location, and the database
/// (PostgreSQL) kept while this lives.
pub struct Started {
    pub dir: tempfile::TempDir,
    pub location: Location,
    _pg: Option<PgDatabase>,
}

/// A seeded store of the backend (see [`seed`]) and a server running on it. Bind the pair as
/// `let (env, server)`, so the server stops before its database goes.
pub fn started_on(backend: Backend) -> (Started, Server) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (location, pg) = backend.location(dir.path());
    seed_at(&location);
    let server = Server::start_at(&location, &dir.path().join("server.stderr.log"), &[]);
    (
        Started {
            dir,
            location,
            _pg: pg,
        },
        server,
    )
}

/// A running server process on 127.0.0.1 with a free port, killed when dropped.
pub struct Server {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    pub base: String,
    pub stderr: PathBuf,
}

impl Server {
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_at(
            &Location::Data(data.to_owned()),
            &data.with_extension("stderr.log"),
            extra,
        )
    }

    /// Starts a server on a store location, logging to `stderr`.
    pub fn start_at(location: &Location, stderr: &Path, extra: &[&str]) -> Server {
        let stderr = stderr.to_owned();
        let log = std::fs::File::create(&stderr).expect("log file");
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(location.args())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        // The server prints its bound address once it listens: that is the readiness signal.
        stdout.read_line(&mut line).expect("read address");
        let base = line
            .trim()
            .strip_prefix("fieldbook-server listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "no address printed ({line:?}); stderr:\n{}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            })
            .to_owned();
        Server {
            child,
            _stdout: stdout,
            base,
            stderr,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a signal (`TERM`, `INT`) and waits for the process to exit.
    pub fn signal_and_wait(mut self, signal: &str) -> ExitStatus {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
        self.child.wait().expect("wait")
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .expect("client")
}

pub fn register_body(
    user: &str,
    password: &str,
    device_id: &str,
    number: u32,
) -> serde_json::Value {
    serde_json::json!({
        "user": user,
        "password": password,
        "device_id": device_id,
        "device_number": number,
        "device_name": format!("{user}'s laptop"),
    })
}

/// POSTs a registration; returns the status and the JSON body.
pub async fn register(
    server: &Server,
    body: &serde_json::Value,
) -> (reqwest::StatusCode, serde_json::Value) {
    let res = client()
        .post(server.url("/auth/v1/register"))
        .json(body)
        .send()
        .await
        .expect("send");
    let status = res.status();
    (status, res.json().await.expect("json body"))
}

/// GETs whoami with a bearer token (or none).
pub async fn whoami(
    server: &Server,
    token: Option<&str>,
) -> (reqwest::StatusCode, serde_json::Value) {
    let mut req = client().get(server.url("/auth/v1/whoami"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("send");
    let status = res.status();
    (status, res.json().await.expect("json body"))
}

/// Device numbers for [`app_device`] and [`device`]: unique within a test process.
static NEXT_DEVICE_NUMBER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(100);

/// A device number no other device of this test process has.
pub fn next_device_number() -> u32 {
    NEXT_DEVICE_NUMBER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
}

/// A device used through the device API (`fieldbook-app`): a real encrypted data directory, set
/// up for `user` with `role`, unlocked and signed in to the server at `base`. Its clock starts
/// at a fixed time and moves a second per reading, so histories have a stable order.
pub struct AppDevice {
    pub ctx: fieldbook_app::Ctx,
    _dir: tempfile::TempDir,
}

pub fn app_device(base: &str, user: &str, role: &str) -> AppDevice {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().expect("tempdir");
    let tick = std::sync::atomic::AtomicI64::new(1_790_000_000_000);
    let ctx = fieldbook_app::Ctx::with_clock(
        dir.path().join("device"),
        Box::new(move || fieldbook_core::Timestamp(tick.fetch_add(1_000, SeqCst))),
    );
    fieldbook_app::init_device(
        &ctx,
        fieldbook_app::InitArgs {
            passphrase: "device passphrase".into(),
            person_name: user.into(),
            role: role.into(),
            device_number: next_device_number(),
        },
    )
    .expect("init");
    fieldbook_app::unlock(&ctx, "device passphrase").expect("unlock");
    fieldbook_app::sign_in(
        &ctx,
        fieldbook_app::SignInArgs {
            server: base.into(),
            user: user.into(),
            password: PASSWORD.into(),
        },
    )
    .expect("sign in");
    AppDevice { ctx, _dir: dir }
}

impl AppDevice {
    /// A sync that the server accepts in full.
    pub fn sync(&self) -> fieldbook_app::SyncReportDto {
        sync_ok(&self.ctx)
    }
}

/// Syncs a device and fails the test unless the server accepted everything.
pub fn sync_ok(ctx: &fieldbook_app::Ctx) -> fieldbook_app::SyncReportDto {
    let report = fieldbook_app::sync_now(ctx).expect("sync");
    assert!(report.refused.is_empty(), "{report:?}");
    report
}

/// A device registered over HTTP: its own encrypted store (for pushing cases) and its token.
pub struct Device {
    pub store: fieldbook_store::Store,
    pub token: String,
    pub device_id: String,
    _dir: tempfile::TempDir,
}

/// A new device store for `user` (who must exist, with [`PASSWORD`]), registered with `server`.
pub async fn device(server: &Server, user: &str, role: fieldbook_core::Role) -> Device {
    let dir = tempfile::tempdir().expect("temporary directory");
    let number = next_device_number();
    let store = fieldbook_store::Store::init(
        dir.path(),
        "device passphrase",
        fieldbook_store::DeviceSetup {
            person_name: user.into(),
            role,
            device_number: number,
        },
        fieldbook_core::Timestamp(1_790_000_000_000),
    )
    .expect("device store");
    let device_id = store.device().device_id.to_string();
    let mut body = register_body(user, PASSWORD, &device_id, number);
    body["person_id"] = store.device().person_id.to_string().into();
    let (status, answer) = register(server, &body).await;
    assert_eq!(status, 201, "{answer}");
    Device {
        store,
        token: answer["token"].as_str().expect("a token").to_string(),
        device_id,
        _dir: dir,
    }
}
