//! Test-only helpers for Fieldbook's tests and benchmarks: a throw-away PostgreSQL cluster
//! ([`PgCluster`]) and a fresh, empty database for each test ([`PgDatabase`]). Nothing here is
//! part of a shipped binary; it knows PostgreSQL's command-line tools and nothing of Fieldbook's
//! schema (the server creates its own tables in the database it is given).
//!
//! # Using it
//!
//! ```no_run
//! // One fresh database per test: its URL is all the code under test needs.
//! let db = fieldbook_testkit::PgDatabase::fresh();
//! let url: &str = db.url(); // postgres://postgres@127.0.0.1:PORT/fb_test_...
//! // ... open the server's store / start `fieldbook-server serve --database-url URL` ...
//! drop(db); // drops the database (and stops the private cluster if this was its last user)
//! ```
//!
//! Where the cluster comes from:
//! - `FIELDBOOK_TEST_PG_URL` set (`scripts/test` starts one cluster for the whole run with
//!   `fieldbook-pg start DIR` and exports it): each test creates its database there. The URL
//!   names a superuser and any database on that server, e.g.
//!   `postgres://postgres@127.0.0.1:54329/postgres`.
//! - Not set: the first test in the process starts a private cluster (initdb into a temporary
//!   directory, about 1.2 s, then start, about 0.15 s); tests in the same process share it while
//!   any holds a database, and it is stopped and removed when the last one is dropped.
//!
//! The binaries come from `FIELDBOOK_PG_BIN`, else the newest `/usr/lib/postgresql/N/bin`, else
//! `pg_config --bindir`, else `PATH`. When none has `initdb`, [`PgDatabase::fresh`] panics with
//! a message naming the Debian package (`postgresql`): a test never silently skips.
//!
//! The cluster listens on 127.0.0.1 only, on a free port, with `trust` authentication (loopback
//! only) and `fsync=off`: it is for tests, never for data. `initdb` refuses to run as root, so
//! as root (CI) the directory is handed to the `postgres` user and the tools run under
//! `runuser -u postgres --`.

use std::fmt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// The environment variable naming a running cluster to share (a superuser URL).
pub const URL_ENV: &str = "FIELDBOOK_TEST_PG_URL";
/// The environment variable naming the directory of PostgreSQL's binaries.
pub const BIN_ENV: &str = "FIELDBOOK_PG_BIN";

/// What setting up PostgreSQL for a test failed with; the message says what to do.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn err(message: impl Into<String>) -> Error {
    Error(message.into())
}

/// A PostgreSQL cluster of its own: a data directory, a server on a loopback port. Stopped
/// (`pg_ctl stop -m immediate`) and its directory removed when dropped, unless
/// [`PgCluster::detach`]ed.
#[derive(Debug)]
pub struct PgCluster {
    /// The directory holding `data/`, the socket and `server.log`; removed on drop.
    dir: Option<tempfile::TempDir>,
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    running: bool,
    /// PostgreSQL's durable defaults (`fsync` and friends on) instead of the fast test settings.
    durable: bool,
}

impl PgCluster {
    /// Creates and starts a cluster in a new temporary directory.
    pub fn start() -> Result<PgCluster> {
        PgCluster::start_tmp(false)
    }

    /// As [`PgCluster::start`], but with PostgreSQL's durable defaults (`fsync`,
    /// `synchronous_commit` and `full_page_writes` on): for benchmarks that must pay for a flush
    /// to disk, never for tests.
    pub fn start_durable() -> Result<PgCluster> {
        PgCluster::start_tmp(true)
    }

    fn start_tmp(durable: bool) -> Result<PgCluster> {
        let mut parent = std::env::temp_dir();
        // As root the tools run as `postgres`, who must be able to reach the directory.
        if is_root()? && !others_can_enter(&parent) {
            parent = PathBuf::from("/tmp");
        }
        let dir = tempfile::Builder::new()
            .prefix("fieldbook-pg-")
            .tempdir_in(&parent)
            .map_err(|e| {
                err(format!(
                    "creating a temporary directory in {}: {e}",
                    parent.display()
                ))
            })?;
        let root = dir.path().to_owned();
        let mut cluster = PgCluster::init(&root)?;
        cluster.dir = Some(dir);
        cluster.durable = durable;
        cluster.run()?;
        Ok(cluster)
    }

    /// Creates (when `dir/data` does not exist yet) and starts a cluster in `dir`, which is
    /// kept: pair with [`PgCluster::detach`] and [`PgCluster::stop_dir`] for a cluster that
    /// outlives this process (the `fieldbook-pg` tool).
    pub fn start_in(dir: &Path) -> Result<PgCluster> {
        bin_dir()?;
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("creating {}: {e}", dir.display())))?;
        let root = std::fs::canonicalize(dir)
            .map_err(|e| err(format!("resolving {}: {e}", dir.display())))?;
        let mut cluster = PgCluster::init(&root)?;
        cluster.run()?;
        Ok(cluster)
    }

    /// Stops the cluster a detached [`PgCluster::start_in`] left running in `dir`.
    pub fn stop_dir(dir: &Path) -> Result<()> {
        let bin = bin_dir()?;
        let as_postgres = is_root()?;
        let data = dir.join("data");
        let out = tool(&bin, "pg_ctl", as_postgres)
            .args(["stop", "-m", "immediate", "-s", "-D"])
            .arg(&data)
            .output()
            .map_err(|e| err(format!("running pg_ctl: {e}")))?;
        check(&out, "pg_ctl stop")
    }

    /// Leaves the server running and its directory in place when this value is dropped.
    pub fn detach(mut self) {
        self.running = false;
        if let Some(dir) = self.dir.take() {
            let _ = dir.keep();
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory holding the cluster (`data/`, `server.log`, the socket).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// A URL for database `db` as the superuser `postgres`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs initdb in `root/data` unless it is there already; does not start the server.
    fn init(root: &Path) -> Result<PgCluster> {
        let bin = bin_dir()?;
        let as_postgres = is_root()?;
        if as_postgres {
            // initdb refuses root: the tree belongs to the postgres user, who runs the tools.
            let out = Command::new("chown")
                .arg("postgres:")
                .arg(root)
                .output()
                .map_err(|e| err(format!("running chown: {e}")))?;
            check(
                &out,
                "chown postgres: (running as root needs the `postgres` user, which the `postgresql` package creates)",
            )?;
        }
        let data = root.join("data");
        if !data.join("PG_VERSION").exists() {
            let out = tool(&bin, "initdb", as_postgres)
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-locale",
                    "--no-sync",
                    "--no-instructions",
                    "-D",
                ])
                .arg(&data)
                .output()
                .map_err(|e| err(format!("running initdb: {e}")))?;
            check(&out, "initdb")?;
        }
        Ok(PgCluster {
            dir: None,
            root: root.to_owned(),
            bin,
            port: 0,
            as_postgres,
            running: false,
            durable: false,
        })
    }

    /// Starts the server on a free loopback port (another process may take the port between
    /// choosing and binding it: then it tries another).
    fn run(&mut self) -> Result<()> {
        let data = self.root.join("data");
        let log = self.root.join("server.log");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port()?;
            let fast = if self.durable {
                ""
            } else {
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            };
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1{fast} -c max_connections=200",
                self.root.display()
            );
            let out = tool(&self.bin, "pg_ctl", self.as_postgres)
                .args(["start", "-w", "-s", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .arg("-o")
                .arg(&options)
                .output()
                .map_err(|e| err(format!("running pg_ctl: {e}")))?;
            if out.status.success() {
                self.port = port;
                self.running = true;
                return Ok(());
            }
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            last = format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                tail(&log_text, 20)
            );
            if !log_text.contains("could not bind") && !log_text.contains("in use") {
                break;
            }
        }
        Err(err(format!(
            "pg_ctl start failed in {}:\n{last}",
            self.root.display()
        )))
    }

    fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        let _ = tool(&self.bin, "pg_ctl", self.as_postgres)
            .args(["stop", "-m", "immediate", "-s", "-D"])
            .arg(self.root.join("data"))
            .output();
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        // `dir` (a TempDir) removes the tree after this.
    }
}

/// A fresh, empty database for one test, on the shared cluster (`FIELDBOOK_TEST_PG_URL`) or a
/// private one. Dropped with `DROP DATABASE ... WITH (FORCE)` when this value is dropped.
#[derive(Debug)]
pub struct PgDatabase {
    name: String,
    url: String,
    admin_url: String,
    /// Keeps a private cluster running while the database is in use.
    _cluster: Option<Arc<PgCluster>>,
}

/// The private cluster of this process, shared by its tests while any holds a database.
static PRIVATE: Mutex<Weak<PgCluster>> = Mutex::new(Weak::new());

impl PgDatabase {
    /// A new database; panics with what to do when PostgreSQL is not available.
    pub fn fresh() -> PgDatabase {
        match PgDatabase::try_fresh() {
            Ok(db) => db,
            Err(e) => panic!("PostgreSQL for this test: {e}"),
        }
    }

    /// A new database, or why there is none.
    pub fn try_fresh() -> Result<PgDatabase> {
        let (admin_url, cluster) = match std::env::var(URL_ENV) {
            Ok(url) if !url.is_empty() => (url, None),
            _ => {
                let cluster = private_cluster()?;
                (cluster.url("postgres"), Some(cluster))
            }
        };
        let name = format!("fb_test_{}", uuid::Uuid::new_v4().simple());
        off_runtime(|| {
            connect(&admin_url)?
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .map_err(|e| err(format!("CREATE DATABASE on {admin_url}: {e}")))
        })?;
        Ok(PgDatabase {
            url: with_database(&admin_url, &name)?,
            name,
            admin_url,
            _cluster: cluster,
        })
    }

    /// The database's URL (superuser `postgres`, loopback, no password).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A new connection to the database, for a test to look at or damage what is stored. It is
    /// the blocking client: inside async code (`#[tokio::test]`) use it from
    /// `spawn_blocking` or another thread, as it panics on a runtime's own threads.
    pub fn connect(&self) -> postgres::Client {
        match connect(&self.url) {
            Ok(c) => c,
            Err(e) => panic!("connecting to the test database: {e}"),
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        // A private cluster is about to go with its last database; a shared one is tidied.
        if self
            ._cluster
            .as_ref()
            .is_some_and(|c| Arc::strong_count(c) == 1)
        {
            return;
        }
        let _ = off_runtime(|| {
            connect(&self.admin_url)?
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
                .map_err(|e| err(e.to_string()))
        });
    }
}

/// Runs `f` on a thread of its own: the blocking client starts a runtime of its own, which
/// tokio refuses on a runtime's thread, and a test (or its drop) may be async.
fn off_runtime<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|_| Err(err("the PostgreSQL helper thread panicked")))
    })
}

fn private_cluster() -> Result<Arc<PgCluster>> {
    let mut slot = PRIVATE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(cluster) = slot.upgrade() {
        return Ok(cluster);
    }
    let cluster = Arc::new(PgCluster::start()?);
    *slot = Arc::downgrade(&cluster);
    Ok(cluster)
}

fn connect(url: &str) -> Result<postgres::Client> {
    postgres::Client::connect(url, postgres::NoTls)
        .map_err(|e| err(format!("connecting to {url}: {e}")))
}

/// `url` with its database (the path) replaced by `db`; the query string is kept.
pub fn with_database(url: &str, db: &str) -> Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base
        .find("://")
        .ok_or_else(|| err(format!("{URL_ENV} {url:?} is not a postgres:// URL")))?
        + 3;
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..authority_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

/// The directory of PostgreSQL's binaries (see the crate docs for where it looks).
pub fn bin_dir() -> Result<PathBuf> {
    let has_initdb = |d: &Path| d.join("initdb").is_file();
    if let Some(dir) = std::env::var_os(BIN_ENV) {
        let dir = PathBuf::from(dir);
        return if has_initdb(&dir) {
            Ok(dir)
        } else {
            Err(err(format!(
                "{BIN_ENV}={} has no initdb in it",
                dir.display()
            )))
        };
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has_initdb(d))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Ok(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_initdb(&dir) {
            return Ok(dir);
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if has_initdb(&dir) {
                return Ok(dir);
            }
        }
    }
    Err(err(format!(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found in {BIN_ENV}, \
         /usr/lib/postgresql/N/bin, `pg_config --bindir` or PATH. Install them with \
         `apt-get install postgresql` (scripts/install-deps does), or set {BIN_ENV}."
    )))
}

/// Whether this process runs as root (then the tools run as the `postgres` user).
fn is_root() -> Result<bool> {
    let out = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| err(format!("running id -u: {e}")))?;
    Ok(String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Whether every directory down to `dir` lets other users through (`o+x`).
fn others_can_enter(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

fn tool(bin: &Path, name: &str, as_postgres: bool) -> Command {
    let path = bin.join(name);
    if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn check(out: &Output, what: &str) -> Result<()> {
    if out.status.success() {
        Ok(())
    } else {
        Err(err(format!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| err(format!("finding a free loopback port: {e}")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| err(format!("finding a free loopback port: {e}")))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://postgres@127.0.0.1:5432",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgresql://u:p@h/db?sslmode=disable",
                "postgresql://u:p@h/x?sslmode=disable",
            ),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "x").expect(url), want);
        }
        assert!(with_database("127.0.0.1:5432", "x").is_err());
    }

    #[test]
    fn fresh_databases_are_separate_and_dropped() {
        let a = PgDatabase::fresh();
        let b = PgDatabase::fresh();
        assert_ne!(a.name(), b.name());
        let mut ca = a.connect();
        ca.batch_execute("CREATE TABLE t (x INT); INSERT INTO t VALUES (1)")
            .expect("write a");
        let mut cb = b.connect();
        assert!(
            cb.query("SELECT x FROM t", &[]).is_err(),
            "b must not see a's table"
        );
        let name = b.name().to_owned();
        drop(cb);
        drop(b);
        let n: i64 = ca
            .query_one(
                "SELECT COUNT(*) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .expect("count")
            .get(0);
        assert_eq!(n, 0, "a dropped database is gone");
    }

    #[test]
    fn a_private_cluster_stops_and_is_removed_on_drop() {
        let cluster = PgCluster::start().expect("start");
        let dir = cluster.dir().to_owned();
        let url = cluster.url("postgres");
        let mut client = connect(&url).expect("connect");
        let one: i32 = client.query_one("SELECT 1", &[]).expect("query").get(0);
        assert_eq!(one, 1);
        drop(client);
        drop(cluster);
        assert!(!dir.exists(), "{} removed", dir.display());
        assert!(connect(&url).is_err(), "the server is stopped");
    }

    #[test]
    fn only_a_durable_cluster_keeps_fsync_on() {
        for (cluster, want) in [
            (PgCluster::start().expect("start"), "off"),
            (PgCluster::start_durable().expect("start durable"), "on"),
        ] {
            let mut client = connect(&cluster.url("postgres")).expect("connect");
            for setting in ["fsync", "synchronous_commit", "full_page_writes"] {
                let value: String = client
                    .query_one(&format!("SHOW {setting}"), &[])
                    .expect("show")
                    .get(0);
                assert_eq!(value, want, "{setting}");
            }
        }
    }
}
