//! The end-to-end harness: the real `fieldbook-desktop` binary in a real WebKitGTK window, driven
//! through WebDriver.
//!
//! Every [`Harness`] starts what it needs and stops it when dropped:
//! - its own `Xvfb`, on a display the X server picks itself (`-displayfd`, so two harnesses
//!   never race for a number);
//! - its own `tauri-driver` on free ports, which starts `WebKitWebDriver`, which launches the
//!   app for each WebDriver session.
//!
//! The app is told where its device lives through the environment: tauri-driver's
//! `tauri:options` carries only `application` and `args` (it maps them to WebKitWebDriver's
//! `webkitgtk:browserOptions` `binary` and `args`), and neither WebKitWebDriver nor tauri-driver
//! takes environment variables per session. WebKitWebDriver launches the browser with its own
//! environment, though, so the variables set on tauri-driver here reach the app:
//! `FIELDBOOK_DATA` (this harness's device directory), `FIELDBOOK_IDENTIFIER` (the test
//! identifier), and XDG directories inside the harness's own temporary directory, so that
//! nothing WebKit or Tauri writes lands in the user's real profile.
//!
//! The WebDriver client is fantoccini: hyper's pooled client keeps the connection alive
//! (clients that sent `Connection: close` to tauri-driver failed about one run in five).
//! The harness is synchronous (each call blocks on a current-thread tokio runtime), so tests
//! read as a person's steps.
#![allow(dead_code)] // shared with benches/startup.rs, which uses only part of it

use std::collections::HashMap;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The app identifier the tests run under, so WebKit's own storage never mixes with the
/// product's (`uk.gov.anytown.fieldbook`).
pub const TEST_IDENTIFIER: &str = "uk.gov.anytown.fieldbook.test";

/// How long one WebDriver command may take before the harness gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a `wait_for` polls by default.
pub const WAIT: Duration = Duration::from_secs(20);
/// WebDriver key codes.
pub const TAB: &str = "\u{e004}";
pub const ENTER: &str = "\u{e007}";
pub const SPACE: &str = "\u{e00d}";
pub const DOWN: &str = "\u{e015}";
const POLL: Duration = Duration::from_millis(25);

// ------------------------------------------------------------------ errors

/// A harness error: one readable message (tests print it as it is).
pub struct Error(pub String);

pub type Result<T> = std::result::Result<T, Error>;

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Error {}

impl From<fantoccini::error::CmdError> for Error {
    fn from(e: fantoccini::error::CmdError) -> Self {
        match e {
            fantoccini::error::CmdError::Standard(w) => {
                Error(format!("WebDriver: {:?} {}", w.error, w.message))
            }
            e => Error(format!("WebDriver: {e}")),
        }
    }
}
impl From<fantoccini::error::NewSessionError> for Error {
    fn from(e: fantoccini::error::NewSessionError) -> Self {
        Error(format!("WebDriver new session: {e}"))
    }
}
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error(format!("I/O: {e}"))
    }
}
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error(format!("JSON: {e}"))
    }
}

/// `Err(Error(..))` from a format string.
#[macro_export]
macro_rules! fail {
    ($($t:tt)*) => { Err($crate::driver::Error(format!($($t)*))) };
}

fn err<T>(msg: impl Into<String>) -> Result<T> {
    Err(Error(msg.into()))
}

// ------------------------------------------------------------------ paths

/// The app under test: the real binary Cargo built for this package (with the UI embedded).
pub fn app_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_fieldbook-desktop"))
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// `tauri-driver`: `$TAURI_DRIVER`, else on `PATH`, else in Cargo's bin directory.
pub fn tauri_driver_binary() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Ok(PathBuf::from(p));
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin"));
    }
    candidates
        .into_iter()
        .map(|d| d.join("tauri-driver"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error(
                "tauri-driver not found on PATH or in ~/.cargo/bin: run ./scripts/install-deps \
                 (it runs `cargo install tauri-driver --locked`)"
                    .into(),
            )
        })
}

// ------------------------------------------------------------------ processes

/// Every process's parent, from `/proc/*/stat`.
fn parents() -> HashMap<u32, u32> {
    let mut map = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return map;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            map.insert(pid, ppid);
        }
    }
    map
}

/// All descendants of `root` (not `root` itself), parents before children.
pub fn descendants(root: u32) -> Vec<u32> {
    let parents = parents();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, &ppid) in &parents {
        children.entry(ppid).or_default().push(pid);
    }
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(p) = queue.pop() {
        if let Some(kids) = children.get(&p) {
            for &k in kids {
                out.push(k);
                queue.push(k);
            }
        }
    }
    out
}

/// The process's short name (`/proc/PID/comm`).
pub fn process_name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn process_exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// Whether `pid` is alive (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

fn signal(pid: u32, sig: rustix::process::Signal) {
    if let Some(p) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// SIGKILL `pid`.
pub fn kill9(pid: u32) {
    signal(pid, rustix::process::Signal::KILL);
}

/// Wait until `pid` has gone, up to `timeout`; whether it went.
pub fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

/// A child process killed (with everything it started) when dropped.
#[derive(Debug)]
struct Owned {
    child: Child,
    what: &'static str,
}

impl Owned {
    fn pid(&self) -> u32 {
        self.child.id()
    }
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // Snapshot the tree first: once the parent dies its children are re-parented.
        let tree = descendants(self.pid());
        signal(self.pid(), rustix::process::Signal::TERM);
        let _ = wait_gone(self.pid(), Duration::from_secs(2));
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in tree {
            kill9(pid);
        }
    }
}

/// Resident memory of one process, in KiB.
#[derive(Debug, Clone)]
pub struct ProcMem {
    pub pid: u32,
    pub name: String,
    pub rss_kib: u64,
    pub pss_kib: u64,
}

fn kib_field(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// VmRSS (`/proc/PID/status`) and Pss (`/proc/PID/smaps_rollup`) of `pid` and its descendants.
pub fn tree_memory(pid: u32) -> Vec<ProcMem> {
    std::iter::once(pid)
        .chain(descendants(pid))
        .filter(|&p| alive(p))
        .map(|p| {
            let status = std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
            let rollup =
                std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).unwrap_or_default();
            ProcMem {
                pid: p,
                name: process_name(p),
                rss_kib: kib_field(&status, "VmRSS:"),
                pss_kib: kib_field(&rollup, "Pss:"),
            }
        })
        .collect()
}

fn tail(path: &Path, bytes: usize) -> String {
    let text = std::fs::read(path).unwrap_or_default();
    let start = text.len().saturating_sub(bytes);
    String::from_utf8_lossy(&text[start..]).into_owned()
}

// ------------------------------------------------------------------ Xvfb

/// A private X server, stopped when dropped.
#[derive(Debug)]
pub struct Xvfb {
    process: Owned,
    pub display: u32,
}

impl Xvfb {
    /// Start `Xvfb` on a free display (the server picks it and tells us through `-displayfd`),
    /// large enough for a portrait 800×1280 window, and wait for its socket.
    pub fn start(log: &Path) -> Result<Xvfb> {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1920x1400x24"])
            .args(["-nolisten", "tcp", "-nolisten", "unix-abstract", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .map_err(|e| Error(format!("cannot start Xvfb (apt-get install xvfb): {e}")))?;
        let stdout = child.stdout.take();
        let process = Owned {
            child,
            what: "Xvfb",
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let _ = BufReader::new(out).read_line(&mut line);
            }
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| Error(format!("Xvfb gave no display number: {}", tail(log, 2000))))?;
        let display: u32 = line
            .trim()
            .parse()
            .map_err(|_| Error(format!("Xvfb said {line:?}: {}", tail(log, 2000))))?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{display}"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !socket.exists() {
            if Instant::now() > deadline {
                return fail!("Xvfb :{display} has no socket {}", socket.display());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Xvfb { process, display })
    }
}

// ------------------------------------------------------------------ the harness

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `GET /status` answered 200 with `"ready": true`.
fn driver_ready(port: u16) -> bool {
    status_ok(port, true)
}

/// WebKitWebDriver, behind tauri-driver on the native port, answers too. tauri-driver says it
/// is ready before WebKitWebDriver listens; a session requested in that gap is refused
/// ("webdriver server did not respond": seen once in 20 runs under a loaded machine).
fn native_ready(port: u16) -> bool {
    status_ok(port, false)
}

fn status_ok(port: u16, need_ready: bool) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf.starts_with("HTTP/1.1 200") && (!need_ready || buf.contains("\"ready\":true"))
}

/// Where screenshots go: always under Cargo's target tmp dir, and into `docs/screenshots` too
/// when `FIELDBOOK_UPDATE_SCREENSHOTS=1`.
pub fn screenshot_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots")];
    if std::env::var("FIELDBOOK_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        dirs.push(repo_root().join("docs/screenshots"));
    }
    dirs
}

/// An X server, tauri-driver and WebKitWebDriver, and (while a session is open) the app.
#[derive(Debug)]
pub struct Harness {
    rt: tokio::runtime::Runtime,
    client: Option<Client>,
    url: String,
    // Drop order: the session (above) first, then the driver, then the X server.
    driver: Owned,
    xvfb: Xvfb,
    data_dir: PathBuf,
    /// XDG directories and logs, removed when the harness goes.
    scratch: tempfile::TempDir,
    axe_source: Option<String>,
}

impl Harness {
    /// Start an X server and tauri-driver for an app whose device lives in `data_dir`.
    pub fn start(data_dir: &Path) -> Result<Harness> {
        let scratch = tempfile::Builder::new()
            .prefix("fieldbook-e2e-")
            .tempdir()?;
        for d in ["data", "config", "cache", "state"] {
            std::fs::create_dir_all(scratch.path().join(d))?;
        }
        let xvfb = Xvfb::start(&scratch.path().join("xvfb.log"))?;
        let binary = tauri_driver_binary()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // A port can be taken between our probe and tauri-driver's bind: try a few times.
        let mut last = String::new();
        for _ in 0..3 {
            let (port, native_port) = (free_port()?, free_port()?);
            if port == native_port {
                continue;
            }
            let log = scratch.path().join("driver.log");
            let child = Command::new(&binary)
                .arg(format!("--port={port}"))
                .arg(format!("--native-port={native_port}"))
                .env("DISPLAY", format!(":{}", xvfb.display))
                .env("GDK_BACKEND", "x11")
                .env_remove("WAYLAND_DISPLAY")
                .env("FIELDBOOK_DATA", data_dir)
                .env("FIELDBOOK_IDENTIFIER", TEST_IDENTIFIER)
                .env("XDG_DATA_HOME", scratch.path().join("data"))
                .env("XDG_CONFIG_HOME", scratch.path().join("config"))
                .env("XDG_CACHE_HOME", scratch.path().join("cache"))
                .env("XDG_STATE_HOME", scratch.path().join("state"))
                // No desktop session here: don't wait for an accessibility bus that isn't there.
                .env("NO_AT_BRIDGE", "1")
                .stdin(Stdio::null())
                .stdout(
                    std::fs::File::options()
                        .create(true)
                        .append(true)
                        .open(&log)?,
                )
                .stderr(
                    std::fs::File::options()
                        .create(true)
                        .append(true)
                        .open(&log)?,
                )
                .spawn()
                .map_err(|e| Error(format!("cannot start {}: {e}", binary.display())))?;
            let mut driver = Owned {
                child,
                what: "tauri-driver",
            };
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut ready = false;
            while Instant::now() < deadline && driver.exited().is_none() {
                if driver_ready(port) && native_ready(native_port) {
                    ready = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            if ready {
                return Ok(Harness {
                    rt,
                    client: None,
                    url: format!("http://127.0.0.1:{port}"),
                    driver,
                    xvfb,
                    data_dir: data_dir.to_path_buf(),
                    scratch,
                    axe_source: None,
                });
            }
            last = tail(&log, 3000);
        }
        fail!("tauri-driver did not become ready; its log ends:\n{last}")
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The end of tauri-driver's log, which holds WebKitWebDriver's and the app's stderr too.
    pub fn driver_log(&self) -> String {
        tail(&self.scratch.path().join("driver.log"), 4000)
    }

    fn block<F: Future>(&self, what: &str, f: F) -> Result<F::Output> {
        self.rt
            .block_on(async { tokio::time::timeout(COMMAND_TIMEOUT, f).await })
            .map_err(|_| Error(format!("{what}: no answer in {COMMAND_TIMEOUT:?}")))
    }

    fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .ok_or_else(|| Error("the app is not running (launch it first)".into()))
    }

    // -------------------------------------------------------------- app lifecycle

    /// Launch the app: a new WebDriver session. Returns once WebKitWebDriver has the window.
    pub fn launch(&mut self) -> Result<()> {
        if self.client.is_some() {
            return err("the app is already running");
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({ "application": app_binary() }),
        );
        let url = self.url.clone();
        let connected = self.block("new session", async move {
            ClientBuilder::new(HttpConnector::new())
                .capabilities(caps)
                .connect(&url)
                .await
        })?;
        match connected {
            Ok(c) => {
                self.client = Some(c);
                Ok(())
            }
            Err(e) => fail!(
                "could not launch the app: {e}\ndriver log:\n{}",
                self.driver_log()
            ),
        }
    }

    /// Quit the app by ending the session, and wait for its process to go.
    pub fn quit(&mut self) -> Result<()> {
        let pid = self.app_pid().ok();
        if let Some(c) = self.client.take() {
            self.block("end session", c.close())??;
        }
        if let Some(pid) = pid
            && !wait_gone(pid, Duration::from_secs(20))
        {
            return fail!("the app (pid {pid}) was still running 20 s after its session ended");
        }
        Ok(())
    }

    /// Quit and launch again on the same device directory.
    pub fn relaunch(&mut self) -> Result<()> {
        self.quit()?;
        self.launch()
    }

    /// The app's process: the `fieldbook-desktop` that WebKitWebDriver started.
    pub fn app_pid(&self) -> Result<u32> {
        let app = app_binary();
        let app = std::fs::canonicalize(&app).unwrap_or(app);
        descendants(self.driver.pid())
            .into_iter()
            .find(|&p| alive(p) && process_exe(p).is_some_and(|e| e == app))
            .ok_or_else(|| Error("no fieldbook-desktop process under tauri-driver".into()))
    }

    /// Kill the app with SIGKILL, as a crash or a flat battery would, and forget its session.
    pub fn kill_app(&mut self) -> Result<u32> {
        let pid = self.app_pid()?;
        kill9(pid);
        if !wait_gone(pid, Duration::from_secs(10)) {
            return fail!("the app (pid {pid}) survived SIGKILL");
        }
        if let Some(c) = self.client.take() {
            // The browser is gone: WebKitWebDriver may or may not still know the session.
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), c.close()).await });
        }
        Ok(pid)
    }

    /// Memory of the app and every process under it (the WebKit web and network processes).
    pub fn app_memory(&self) -> Result<Vec<ProcMem>> {
        Ok(tree_memory(self.app_pid()?))
    }

    // -------------------------------------------------------------- finding things

    pub fn find(&self, locator: Locator<'_>) -> Result<Element> {
        let c = self.client()?;
        Ok(self.block("find", c.find(locator))??)
    }

    pub fn find_all(&self, locator: Locator<'_>) -> Result<Vec<Element>> {
        let c = self.client()?;
        Ok(self.block("find all", c.find_all(locator))??)
    }

    pub fn find_css(&self, css: &str) -> Result<Element> {
        self.find(Locator::Css(css))
    }

    /// The form control a `<label>` with exactly this text names (by `for`, or inside it).
    pub fn find_by_label(&self, text: &str) -> Result<Element> {
        let label = self.find(Locator::XPath(&format!(
            "//label[normalize-space(.)={}]",
            xpath_literal(text)
        )))?;
        match self.block("label for", label.attr("for"))?? {
            Some(id) => self.find(Locator::Id(&id)),
            None => Ok(self.block(
                "label control",
                label.find(Locator::Css("input, select, textarea")),
            )??),
        }
    }

    /// A `<button>` with exactly this text.
    pub fn find_button(&self, text: &str) -> Result<Element> {
        self.find(Locator::XPath(&format!(
            "//button[normalize-space(.)={}]",
            xpath_literal(text)
        )))
    }

    /// A link with exactly this text.
    pub fn find_link(&self, text: &str) -> Result<Element> {
        self.find(Locator::XPath(&format!(
            "//a[normalize-space(.)={}]",
            xpath_literal(text)
        )))
    }

    /// A heading (`h1`–`h3`) with exactly this text.
    pub fn find_heading(&self, text: &str) -> Result<Element> {
        self.find(Locator::XPath(&format!(
            "//*[self::h1 or self::h2 or self::h3][normalize-space(.)={}]",
            xpath_literal(text)
        )))
    }

    /// Press keys on whatever has focus, as a keyboard-only person does (WebDriver key codes:
    /// [`TAB`], [`ENTER`], [`SPACE`], [`DOWN`]).
    pub fn press(&self, keys: &str) -> Result<()> {
        let c = self.client()?;
        let focused = self.block("active element", c.active_element())??;
        Ok(self.block("keys", focused.send_keys(keys))??)
    }

    /// The focused element as "tag: text" (text or value), for tab-until checks.
    pub fn focused(&self) -> Result<String> {
        let v = self.execute(
            "const e = document.activeElement;
             const label = e.labels && e.labels[0] ? e.labels[0].textContent : '';
             return e.tagName.toLowerCase() + ': ' + (e.textContent || label || e.value || '').trim().replace(/\\s+/g, ' ');",
            vec![],
        )?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Press Tab until the focused element's description starts with `want` ("a: FH-2026"),
    /// failing after `max` presses with the focus path taken.
    pub fn tab_to(&self, want: &str, max: usize) -> Result<()> {
        let mut path = Vec::new();
        for _ in 0..max {
            self.press(TAB)?;
            let now = self.focused()?;
            if now.starts_with(want) {
                return Ok(());
            }
            path.push(now);
        }
        fail!("Tab never reached {want:?} in {max} presses; focus went: {path:#?}")
    }

    /// An element's attribute as written in the page (`id`, `href`).
    pub fn attr(&self, el: &Element, name: &str) -> Result<Option<String>> {
        Ok(self.block("attribute", el.attr(name))??)
    }

    /// An element's live property (`value` of a field as typed).
    pub fn prop(&self, el: &Element, name: &str) -> Result<Option<String>> {
        Ok(self.block("property", el.prop(name))??)
    }

    pub fn text(&self, el: &Element) -> Result<String> {
        Ok(self.block("text", el.text())??)
    }

    pub fn click(&self, el: &Element) -> Result<()> {
        Ok(self.block("click", el.click())??)
    }

    /// Clear a field and type into it.
    pub fn type_into(&self, el: &Element, text: &str) -> Result<()> {
        self.block("clear", el.clear())??;
        Ok(self.block("type", el.send_keys(text))??)
    }

    /// Choose files in an `<input type=file>`, as a person picking them would (WebDriver sets
    /// the input's files from the paths and fires its change event).
    pub fn choose_files(&self, input: &Element, paths: &[&Path]) -> Result<()> {
        let list = paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n");
        Ok(self.block("choose files", input.send_keys(&list))??)
    }

    pub fn is_interactive(&self, el: &Element) -> Result<bool> {
        Ok(self.block("displayed", el.is_displayed())??
            && self.block("enabled", el.is_enabled())??)
    }

    // -------------------------------------------------------------- scripts

    /// Run `script` (a function body; `arguments` holds `args`) in the page.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        let c = self.client()?;
        Ok(self.block("execute", c.execute(script, args))??)
    }

    /// Run `script` asynchronously: it calls `arguments[arguments.length - 1]` with its result.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        let c = self.client()?;
        Ok(self.block("execute async", c.execute_async(script, args))??)
    }

    /// The page's `<main>` (or body) as HTML, cut to `max` characters, with its title.
    pub fn page_snippet(&self, max: usize) -> String {
        let got = self.execute(
            "const el = document.querySelector('main') || document.body || document.documentElement;
             return document.title + '\\n' + (el ? el.outerHTML : '');",
            vec![],
        );
        match got {
            Ok(Value::String(s)) => {
                let mut s: String = s.chars().take(max).collect();
                if s.len() >= max {
                    s.push_str(" …");
                }
                s
            }
            Ok(v) => v.to_string(),
            Err(e) => format!("(no page source: {e})"),
        }
    }

    // -------------------------------------------------------------- waiting

    /// Poll `probe` until it gives `Some`, up to `timeout`. A probe error (say, no such element
    /// yet) counts as "not yet"; on time-out the error names `what`, the last probe error and
    /// the page as it stands.
    pub fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl FnMut(&Harness) -> Result<Option<T>>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match probe(self) {
                Ok(Some(v)) => return Ok(v),
                Ok(None) => "(none: the condition was not met yet)".to_string(),
                Err(e) => e.0,
            };
            if Instant::now() > deadline {
                return fail!(
                    "timed out after {timeout:?} waiting for {what}\nlast error: {last}\npage:\n{}",
                    self.page_snippet(3000)
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Wait until an element matching `css` is displayed.
    pub fn wait_for_css(&self, css: &str) -> Result<Element> {
        self.wait_for(&format!("`{css}`"), WAIT, |h| {
            let el = h.find_css(css)?;
            Ok(h.block("displayed", el.is_displayed())??.then_some(el))
        })
    }

    /// Wait until the element matching `css` has text containing `needle`; its text.
    pub fn wait_for_text(&self, css: &str, needle: &str) -> Result<String> {
        self.wait_for(&format!("`{css}` to say {needle:?}"), WAIT, |h| {
            let text = h.text(&h.find_css(css)?)?;
            if text.contains(needle) {
                Ok(Some(text))
            } else {
                fail!("`{css}` says {text:?}")
            }
        })
    }

    /// Wait for a heading with exactly this text.
    pub fn wait_for_heading(&self, text: &str) -> Result<Element> {
        self.wait_for(&format!("the heading {text:?}"), WAIT, |h| {
            h.find_heading(text).map(Some)
        })
    }

    // -------------------------------------------------------------- window and pictures

    /// The window's rectangle (x, y, width, height).
    pub fn window_rect(&self) -> Result<(u64, u64, u64, u64)> {
        let c = self.client()?;
        Ok(self.block("get window rect", c.get_window_rect())??)
    }

    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        let c = self.client()?;
        Ok(self.block("set window rect", c.set_window_size(width, height))??)
    }

    /// The page's viewport size, as the page sees it.
    pub fn viewport(&self) -> Result<(u64, u64)> {
        let v = self.execute("return [window.innerWidth, window.innerHeight];", vec![])?;
        match (v[0].as_u64(), v[1].as_u64()) {
            (Some(w), Some(h)) => Ok((w, h)),
            _ => fail!("viewport: {v}"),
        }
    }

    /// Wait until the page has painted what its DOM holds now (two animation frames): WebKit's
    /// screenshot is of the last frame painted, which can lag the DOM.
    pub fn settle(&self) -> Result<()> {
        self.execute_async(
            "const done = arguments[arguments.length - 1];
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            vec![],
        )?;
        Ok(())
    }

    /// Take a PNG screenshot named `name` (see [`screenshot_dirs`]); the first path written.
    pub fn screenshot(&self, name: &str) -> Result<PathBuf> {
        self.settle()?;
        let c = self.client()?;
        let png = self.block("screenshot", c.screenshot())??;
        if !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return fail!("screenshot {name}: not a PNG ({} bytes)", png.len());
        }
        let mut first = None;
        for dir in screenshot_dirs() {
            std::fs::create_dir_all(&dir)?;
            let path = dir.join(format!("{name}.png"));
            std::fs::write(&path, &png)?;
            first.get_or_insert(path);
        }
        first.ok_or_else(|| Error("no screenshot directory".into()))
    }

    // -------------------------------------------------------------- accessibility

    /// Run axe-core in the real window over the whole document (WCAG 2.0/2.1 A and AA, and
    /// best practice). Violations of impact serious or critical fail, with their rule, impact,
    /// targets and help; minor and moderate ones are printed as warnings.
    pub fn axe(&mut self, screen: &str) -> Result<AxeReport> {
        if self.axe_source.is_none() {
            let path = repo_root().join("ui/node_modules/axe-core/axe.min.js");
            let src = std::fs::read_to_string(&path).map_err(|e| {
                Error(format!(
                    "cannot read {} ({e}): run `npm ci` in ui/ (./scripts/test does)",
                    path.display()
                ))
            })?;
            self.axe_source = Some(src);
        }
        let loaded = self.execute("return typeof window.axe;", vec![])?;
        if loaded != json!("object") {
            let src = self.axe_source.as_deref().unwrap_or_default();
            let script = format!("{src}\n;return typeof window.axe;");
            let after = self.execute(&script, vec![])?;
            if after != json!("object") {
                return fail!("axe-core did not load in the window (typeof axe: {after})");
            }
        }
        let result = self.execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] })
                 .then(r => done(JSON.stringify({ violations: r.violations.map(v => ({
                     id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                     nodes: v.nodes.map(n => ({ target: n.target.map(String), summary: n.failureSummary || '' })),
                   })), passes: r.passes.length })))
                 .catch(e => done(JSON.stringify({ error: String(e && e.stack || e) })));"#,
            vec![],
        )?;
        let text = result
            .as_str()
            .ok_or_else(|| Error(format!("axe gave {result}")))?;
        let v: Value = serde_json::from_str(text)?;
        if let Some(e) = v.get("error") {
            return fail!("axe-core failed on {screen}: {e}");
        }
        let violations: Vec<AxeViolation> = v["violations"]
            .as_array()
            .map(|a| a.iter().map(AxeViolation::from_json).collect())
            .unwrap_or_default();
        let report = AxeReport {
            violations,
            passes: v["passes"].as_u64().unwrap_or(0),
        };
        if report.passes == 0 && report.violations.is_empty() {
            return fail!("axe-core checked nothing on {screen}");
        }
        let (bad, minor): (Vec<_>, Vec<_>) = report
            .violations
            .iter()
            .partition(|v| matches!(v.impact.as_str(), "serious" | "critical"));
        for v in &minor {
            eprintln!("axe warning on {screen}: {v}");
        }
        if !bad.is_empty() {
            let list: Vec<String> = bad.iter().map(|v| v.to_string()).collect();
            return fail!(
                "axe-core found {} serious or critical accessibility violation(s) on {screen}:\n{}",
                bad.len(),
                list.join("\n")
            );
        }
        self.touch_targets(screen)?;
        Ok(report)
    }

    /// Every control a finger aims at is at least 44 by 44 CSS pixels (field officers use
    /// tablets, often in gloves or rain): buttons, fields, selects, radio inputs (GOV.UK's are
    /// invisible 44 px hit areas over the drawn circle), and links that stand alone (back links,
    /// pagination, "Change", task-list and case links). Links inside running text are exempt,
    /// as WCAG's target-size rule allows. Run by [`Harness::axe`] on every screen it checks.
    pub fn touch_targets(&self, screen: &str) -> Result<()> {
        let small = self.execute(
            r#"const sel = `button, input:not([type=hidden]), select, textarea, .govuk-back-link,
                 .govuk-pagination__link, .govuk-summary-list__actions a, .govuk-task-list__link,
                 .fb-case-link, .govuk-header a, .govuk-skip-link:focus`;
               const out = [];
               for (const el of document.querySelectorAll(sel)) {
                 const cs = getComputedStyle(el);
                 if (cs.display === 'none' || cs.visibility === 'hidden') continue;
                 // A task-list link's hit area is its whole row (GOV.UK stretches it with ::after).
                 const box = el.classList.contains('govuk-task-list__link')
                   ? el.closest('.govuk-task-list__item').getBoundingClientRect()
                   : el.getBoundingClientRect();
                 if (box.width === 0 && box.height === 0) continue;
                 if (box.width < 44 || box.height < 44) {
                   out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} "${(el.textContent || el.value || '').trim().slice(0, 40)}" ${Math.round(box.width)}x${Math.round(box.height)}`);
                 }
               }
               return out;"#,
            vec![],
        )?;
        let small: Vec<String> = small
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if !small.is_empty() {
            return fail!(
                "{} touch target(s) smaller than 44x44 px on {screen}:\n{}",
                small.len(),
                small.join("\n")
            );
        }
        Ok(())
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), c.close()).await });
        }
    }
}

/// An XPath string literal for any text (XPath 1.0 has no escapes: concat the quote kinds).
pub fn xpath_literal(s: &str) -> String {
    if !s.contains('\'') {
        format!("'{s}'")
    } else if !s.contains('"') {
        format!("\"{s}\"")
    } else {
        let parts: Vec<String> = s.split('\'').map(|p| format!("'{p}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// What axe-core found on one screen.
#[derive(Debug, Clone)]
pub struct AxeReport {
    pub violations: Vec<AxeViolation>,
    /// How many rules passed (a sanity check that axe really ran).
    pub passes: u64,
}

#[derive(Debug, Clone)]
pub struct AxeViolation {
    pub id: String,
    pub impact: String,
    pub help: String,
    pub help_url: String,
    /// Each failing node's CSS target and axe's summary of how to fix it.
    pub nodes: Vec<(String, String)>,
}

impl AxeViolation {
    fn from_json(v: &Value) -> Self {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        AxeViolation {
            id: s("id"),
            impact: s("impact"),
            help: s("help"),
            help_url: s("helpUrl"),
            nodes: v["nodes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|n| {
                            let target = n["target"]
                                .as_array()
                                .map(|t| {
                                    t.iter()
                                        .filter_map(Value::as_str)
                                        .collect::<Vec<_>>()
                                        .join(" >>> ")
                                })
                                .unwrap_or_default();
                            let summary = n["summary"].as_str().unwrap_or_default();
                            let summary: Vec<&str> = summary
                                .lines()
                                .map(str::trim)
                                .filter(|l| !l.is_empty())
                                .collect();
                            (target, summary.join(" / "))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "- [{}] {}: {} ({})",
            self.impact, self.id, self.help, self.help_url
        )?;
        for (target, summary) in &self.nodes {
            writeln!(f, "    at `{target}`: {summary}")?;
        }
        Ok(())
    }
}
