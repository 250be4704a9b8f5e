//! Device performance benchmark: `cargo bench -p fieldbook-cli --bench device`.
//!
//! Builds a device with `FIELDBOOK_BENCH_CASES` cases (default 50,000), each with two visits of
//! 20 answers (`Store::create_cases_with`, 1,000 cases per transaction), in real files under a
//! temporary directory, then measures what an officer feels: bulk creation, the first page of a
//! list, full-text search, opening a case, one durable edit, the size on disk, and the peak
//! memory of the real `fieldbook` binary listing cases. The officer's own path (fields first,
//! then the visits in one `change_case` per case) is measured on a second device with up to
//! 5,000 cases. Every figure has a target and, where one makes sense, a baseline measured in the
//! same run: the machine may be shared and timings noisy, so a ratio says more than a number.
//!
//! Prints one Markdown report on stdout (progress goes to stderr) and writes nothing outside its
//! temporary directory. See BENCHMARKS.md at the repository root for the latest results.

use std::error::Error;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fieldbook_app::{self as app, Ctx};
use fieldbook_core::template::{AnswerValue, ItemKind, Template, latest_template};
use fieldbook_core::{
    Actor, Case, CaseEdit, CaseId, CaseKind, CaseReference, CaseStatus, Date, Location,
    LocationSource, NewCase, Role, Timestamp,
};
use fieldbook_store::{CaseQuery, CaseSort, DeviceSetup, Store};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use rusqlite::{Connection, params};

type Res<T> = Result<T, Box<dyn Error>>;

const PASSPHRASE: &str = "bench-passphrase-not-secret";
const SEED: u64 = 0x5eed_f1e1_db00;
const BATCH: usize = 1_000;
const ANSWERS_PER_VISIT: usize = 20;
/// One case in this many has the rare word in its title: a search that matches some hundreds.
const RARE_EVERY: usize = 150;
const RARE_WORD: &str = "asbestos";
const COMMON_WORD: &str = "damp";
/// How many cases the officer-path measurement (1a, 1b) creates, on a device of its own.
const OFFICER_SAMPLE: usize = 5_000;

// ------------------------------------------------------------------ sample data

const STREETS: [&str; 40] = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Park Avenue",
    "Queen's Road",
    "Market Place",
    "North Street",
    "Green Lane",
    "Bridge Street",
    "Albert Road",
    "Manor Way",
    "Chapel Street",
    "Westgate",
    "Kirkgate",
    "Beckside",
    "Moor Lane",
    "Whitehall Road",
    "Canal Street",
    "Springfield Avenue",
    "Hollin Lane",
    "Towngate",
    "Wellington Street",
    "Cemetery Road",
    "Oxford Place",
    "Harehills Lane",
    "Roundhay Road",
    "Dewsbury Road",
    "Kirkstall Lane",
    "Otley Road",
    "Scott Hall Road",
    "Tong Road",
    "Selby Road",
    "York Road",
    "Bradford Road",
    "Wakefield Road",
    "Leeds Road",
    "Halifax Road",
    "Huddersfield Road",
];
const TOWNS: [&str; 10] = [
    "Leeds",
    "Bradford",
    "Halifax",
    "Wakefield",
    "Huddersfield",
    "Dewsbury",
    "Keighley",
    "Pudsey",
    "Morley",
    "Otley",
];
const AREAS: [&str; 5] = ["LS", "BD", "HX", "WF", "HD"];
const DISTRICTS: usize = 29;
const UNIT_LETTERS: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
const TITLES: [&str; 9] = [
    "Damp and mould complaint",
    "Damp in bedroom, tenant complaint",
    "Excess cold: no working heating",
    "HMO licence inspection",
    "Disrepair to roof and gutters",
    "Fire safety: blocked escape route",
    "Overcrowding referral",
    "Falls on stairs: loose handrail",
    "Electrical hazards reported by tenant",
];
const REMARKS: [&str; 6] = [
    "Seen in the front bedroom and the bathroom.",
    "Tenant reports the problem has lasted since winter.",
    "Landlord contacted; works promised within 28 days.",
    "Photographs taken; see the visit record.",
    "No access to the loft on this visit.",
    "Hazard confirmed; notice to be considered.",
];

/// How each case's visits are recorded: the housing hazard survey when this build has it,
/// otherwise the food hygiene inspection and a general visit.
struct Plan {
    kind: CaseKind,
    templates: [&'static Template; 2],
}

impl Plan {
    fn detect() -> Res<Plan> {
        Ok(match latest_template("hhsrs-survey") {
            Ok(t) => Plan {
                kind: CaseKind::Housing,
                templates: [t, t],
            },
            Err(_) => Plan {
                kind: CaseKind::FoodHygiene,
                templates: [
                    latest_template("food-hygiene")?,
                    latest_template("general-visit")?,
                ],
            },
        })
    }

    fn describe(&self) -> String {
        let [a, b] = self.templates;
        let answers = |t: &Template| t.items().count().min(ANSWERS_PER_VISIT);
        format!(
            "kind `{}`; visit 1 `{}` v{} ({} answers), visit 2 `{}` v{} ({} answers)",
            self.kind.code(),
            a.id,
            a.version,
            answers(a),
            b.id,
            b.version,
            answers(b)
        )
    }
}

fn case_rng(i: usize, salt: u64) -> StdRng {
    StdRng::seed_from_u64(SEED ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt)
}

fn postcode(i: usize) -> String {
    let mut r = case_rng(i, 1);
    let area = AREAS[r.random_range(0..AREAS.len())];
    let district = r.random_range(1..=DISTRICTS);
    let sector = r.random_range(0..10);
    let u1 = UNIT_LETTERS[r.random_range(0..UNIT_LETTERS.len())] as char;
    let u2 = UNIT_LETTERS[r.random_range(0..UNIT_LETTERS.len())] as char;
    format!("{area}{district} {sector}{u1}{u2}")
}

/// Sample case `i`: deterministic, varied titles, addresses, postcodes, UPRNs, locations and due
/// dates (one in six has none).
fn new_case(i: usize, today: Date, now: Timestamp) -> Res<NewCase> {
    let mut r = case_rng(i, 0);
    let title = if i % RARE_EVERY == 17 {
        format!(
            "Asbestos concern in communal loft, block {}",
            r.random_range(1..60)
        )
    } else {
        let base = TITLES[r.random_range(0..TITLES.len())];
        format!("{base}, flat {}", r.random_range(1..120))
    };
    let address = format!(
        "{} {}, {}",
        r.random_range(1..400),
        STREETS[r.random_range(0..STREETS.len())],
        TOWNS[r.random_range(0..TOWNS.len())]
    );
    let uprn = r.random_bool(0.5).then(|| {
        r.random_range(10_000_000_000u64..100_000_000_000)
            .to_string()
    });
    let location = if r.random_ratio(2, 3) {
        Some(Location::new(
            53.6 + r.random::<f64>() * 0.3,
            -1.9 + r.random::<f64>() * 0.5,
            Some(5.0 + r.random::<f64>() * 20.0),
            LocationSource::Gazetteer,
            now,
        )?)
    } else {
        None
    };
    let due = (!i.is_multiple_of(6)).then(|| today.add_days(r.random_range(-60..180)));
    Ok(NewCase {
        title,
        address: Some(address),
        postcode: Some(postcode(i)),
        uprn,
        location,
        assignee: None,
        due,
    })
}

/// The answers visit `v` of case `i` records: the template's first 20 items.
fn answers(i: usize, v: usize, t: &Template, today: Date) -> Vec<(String, AnswerValue)> {
    let mut r = case_rng(i, 10 + v as u64);
    t.items()
        .take(ANSWERS_PER_VISIT)
        .map(|item| {
            let value = match &item.kind {
                ItemKind::YesNo => AnswerValue::YesNo(r.random_bool(0.5)),
                ItemKind::Choice { options } => {
                    // Mostly the first option ("none" for a hazard survey).
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
                    let span = (max - min).min(100.0);
                    let v = min + span * r.random::<f64>();
                    AnswerValue::Number(if *integer { v.floor() } else { v })
                }
                ItemKind::Text { max_len, .. } => {
                    let text = REMARKS[r.random_range(0..REMARKS.len())];
                    AnswerValue::Text(text.chars().take(*max_len).collect())
                }
                ItemKind::Date => AnswerValue::Date(today.add_days(r.random_range(1..60))),
                ItemKind::Score { options } => {
                    AnswerValue::Score(options[r.random_range(0..options.len())])
                }
            };
            (item.id.clone(), value)
        })
        .collect()
}

/// Record both visits of case `i` through the domain methods.
fn record_visits(
    case: &mut Case,
    i: usize,
    plan: &Plan,
    actor: Actor,
    now: Timestamp,
    today: Date,
) -> Result<String, fieldbook_core::DomainError> {
    for (v, t) in plan.templates.iter().enumerate() {
        let visit = case.add_visit(t, None, actor, now)?;
        for (item, value) in answers(i, v, t, today) {
            case.answer(visit, &item, value, actor, now)?;
        }
    }
    Ok("Recorded two visits".into())
}

// ------------------------------------------------------------------ measuring

/// A clock that moves on one second per read, so every change has its own time.
struct Clock(i64);

impl Clock {
    fn tick(&mut self) -> Timestamp {
        self.0 += 1_000;
        Timestamp(self.0)
    }
}

struct Stats(Vec<Duration>);

impl Stats {
    fn new(mut v: Vec<Duration>) -> Stats {
        v.sort();
        Stats(v)
    }
    /// Nearest-rank percentile.
    fn p(&self, q: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = (q * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }
    fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
    fn summary(&self) -> String {
        format!(
            "p50 {} · p95 {} · max {}",
            ms(self.p(0.5)),
            ms(self.p(0.95)),
            ms(self.max())
        )
    }
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn sample(runs: usize, mut f: impl FnMut(usize) -> Res<()>) -> Res<Stats> {
    let mut v = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i)?;
        v.push(start.elapsed());
    }
    Ok(Stats::new(v))
}

fn ms(d: Duration) -> String {
    let m = d.as_secs_f64() * 1e3;
    if m < 10.0 {
        format!("{m:.2} ms")
    } else {
        format!("{m:.1} ms")
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1_048_576.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "**MISS**" }
}

struct Row {
    id: &'static str,
    what: String,
    result: String,
    target: String,
    verdict: &'static str,
    baseline: String,
}

fn row(
    id: &'static str,
    what: impl Into<String>,
    result: impl Into<String>,
    target: impl Into<String>,
    verdict: &'static str,
    baseline: impl Into<String>,
) -> Row {
    Row {
        id,
        what: what.into(),
        result: result.into(),
        target: target.into(),
        verdict,
        baseline: baseline.into(),
    }
}

fn progress(msg: &str, started: Instant) {
    eprintln!("[{:>6.1}s] {msg}", started.elapsed().as_secs_f64());
}

// ------------------------------------------------------------------ machine

fn machine() -> Vec<(String, String)> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, m)| m.trim().to_string());
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let ram = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".to_string(), |kib| {
            format!("{:.1} GiB", kib as f64 / 1_048_576.0)
        });
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    vec![
        ("nproc".into(), nproc.to_string()),
        ("CPU".into(), model),
        ("RAM".into(), ram),
        ("Kernel".into(), kernel.trim().to_string()),
    ]
}

fn loadavg() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------------ baseline database

/// The projection tables' shape (cases, visits, answers, with the same indexes), without the
/// document chunks, the search index or foreign keys.
const BASELINE_SCHEMA: &str = "
CREATE TABLE cases (
    pk INTEGER PRIMARY KEY, case_id TEXT NOT NULL UNIQUE, reference TEXT NOT NULL UNIQUE,
    ref_sort TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, address TEXT, postcode TEXT, uprn INTEGER,
    lat REAL, lon REAL, status TEXT NOT NULL, assignee TEXT, due TEXT, created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, visit_count INTEGER NOT NULL,
    note_count INTEGER NOT NULL, photo_count INTEGER NOT NULL);
CREATE INDEX cases_status_due ON cases (status, due);
CREATE INDEX cases_kind_due ON cases (kind, due);
CREATE INDEX cases_assignee_due ON cases (assignee, due);
CREATE INDEX cases_due ON cases (due);
CREATE INDEX cases_updated ON cases (updated_at);
CREATE TABLE visits (
    pk INTEGER PRIMARY KEY, visit_id TEXT NOT NULL UNIQUE, case_pk INTEGER NOT NULL,
    template_id TEXT NOT NULL, template_version INTEGER NOT NULL, started_at INTEGER NOT NULL,
    officer TEXT NOT NULL, answered INTEGER NOT NULL, missing_required INTEGER NOT NULL,
    score_total INTEGER, rating INTEGER);
CREATE INDEX visits_case ON visits (case_pk);
CREATE TABLE answers (
    visit_pk INTEGER NOT NULL, item_id TEXT NOT NULL, value_kind TEXT NOT NULL,
    value_text TEXT, value_num REAL, PRIMARY KEY (visit_pk, item_id)) WITHOUT ROWID;
";

fn open_baseline(path: &Path) -> Res<Connection> {
    let conn = Connection::open(path)?;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY;",
    )?;
    conn.execute_batch(BASELINE_SCHEMA)?;
    Ok(conn)
}

fn answer_columns(v: &AnswerValue) -> (Option<String>, Option<f64>) {
    match v {
        AnswerValue::YesNo(b) => (None, Some(if *b { 1.0 } else { 0.0 })),
        AnswerValue::Choice(s) | AnswerValue::Text(s) => (Some(s.clone()), None),
        AnswerValue::Number(n) => (None, Some(*n)),
        AnswerValue::Date(d) => (Some(d.to_string()), None),
        AnswerValue::Score(s) => (None, Some(f64::from(*s))),
    }
}

struct Created {
    id: CaseId,
    reference: String,
}

/// Insert the same projection-shaped rows (a case row, its visit rows and answer rows) with
/// plain rusqlite, 1,000 cases per transaction. Returns the time spent in SQLite.
fn baseline_insert(
    conn: &mut Connection,
    created: &[Created],
    plan: &Plan,
    person: &str,
    today: Date,
    now: Timestamp,
) -> Res<Duration> {
    let mut spent = Duration::ZERO;
    for (b, chunk) in created.chunks(BATCH).enumerate() {
        // Prepare the values outside the clock, as the store's own domain work is not SQL.
        let mut batch = Vec::with_capacity(chunk.len());
        for (j, c) in chunk.iter().enumerate() {
            let i = b * BATCH + j;
            let new = new_case(i, today, now)?;
            let visits: Vec<_> = plan
                .templates
                .iter()
                .enumerate()
                .map(|(v, t)| (format!("{}-{v}", c.id), *t, answers(i, v, t, today)))
                .collect();
            batch.push((c, new, visits));
        }
        let start = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut case_stmt = tx.prepare_cached(
                "INSERT INTO cases (case_id, reference, ref_sort, kind, title, address, postcode,
                     uprn, lat, lon, status, assignee, due, created_by, created_at, updated_at,
                     visit_count, note_count, photo_count)
                 VALUES (?1, ?2, ?16, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                     2, 0, 0)",
            )?;
            let mut visit_stmt = tx.prepare_cached(
                "INSERT INTO visits (visit_id, case_pk, template_id, template_version, started_at,
                     officer, answered, missing_required, score_total, rating)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL)",
            )?;
            let mut answer_stmt = tx.prepare_cached(
                "INSERT INTO answers (visit_pk, item_id, value_kind, value_text, value_num)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (c, new, visits) in &batch {
                case_stmt.execute(params![
                    c.id.to_string(),
                    c.reference,
                    plan.kind.code(),
                    new.title,
                    new.address,
                    new.postcode,
                    new.uprn.as_deref().and_then(|u| u.parse::<i64>().ok()),
                    new.location.as_ref().map(|l| l.lat),
                    new.location.as_ref().map(|l| l.lon),
                    "in_progress",
                    person,
                    new.due.map(|d| d.to_string()),
                    person,
                    now.millis(),
                    now.millis(),
                    c.reference
                        .parse::<CaseReference>()
                        .map_or_else(|_| c.reference.clone(), |r| r.sort_key()),
                ])?;
                let case_pk = tx.last_insert_rowid();
                for (visit_id, t, answers) in visits {
                    let missing = t
                        .missing_required(|item| answers.iter().any(|(a, _)| a == item))
                        .len();
                    visit_stmt.execute(params![
                        visit_id,
                        case_pk,
                        t.id,
                        t.version,
                        now.millis(),
                        person,
                        answers.len() as i64,
                        missing as i64,
                    ])?;
                    let visit_pk = tx.last_insert_rowid();
                    for (item, value) in answers {
                        let (text, num) = answer_columns(value);
                        answer_stmt.execute(params![
                            visit_pk,
                            item,
                            value.kind_code(),
                            text,
                            num
                        ])?;
                    }
                }
            }
        }
        tx.commit()?;
        spent += start.elapsed();
    }
    Ok(spent)
}

// ------------------------------------------------------------------ files and processes

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).map_or(0, |m| m.len())
}

struct ChildRun {
    ok: bool,
    wall: Duration,
    max_rss_kib: i64,
    stdout: Vec<u8>,
    stderr: String,
}

/// Set (to anything) when this binary runs as the peak-memory helper.
const RSS_HELPER: &str = "FIELDBOOK_BENCH_RSS_HELPER";

/// Peak resident set size of the terminated, waited-for children of this process, in KiB.
#[allow(unsafe_code)]
fn children_max_rss_kib() -> Res<i64> {
    // SAFETY: `rusage` is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a live, writable local for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    Ok(usage.ru_maxrss)
}

/// The helper: run the command in our arguments as our only child, pass its stdout and stderr
/// through, then report its peak RSS, exit code and wall time on a last stderr line.
///
/// Why a helper: Linux keeps the peak RSS of the address space a process had before `exec`, and
/// `std::process::Command` spawns with `vfork` semantics, so a child of this (large) benchmark
/// process would report the benchmark's own peak. A child of this small, freshly started helper
/// reports only its own.
fn rss_helper() -> Res<()> {
    let mut args = std::env::args_os().skip(1);
    let program = args.next().ok_or("the helper needs a command")?;
    let start = Instant::now();
    let out = Command::new(program)
        .args(args)
        .env_remove(RSS_HELPER)
        .stdin(Stdio::null())
        .output()?;
    let wall = start.elapsed();
    let rss = children_max_rss_kib()?;
    std::io::stdout().write_all(&out.stdout)?;
    let mut err = std::io::stderr();
    err.write_all(&out.stderr)?;
    writeln!(
        err,
        "\nrss-helper {rss} {} {}",
        out.status.code().unwrap_or(-1),
        wall.as_micros()
    )?;
    Ok(())
}

/// Run `program args` under the helper and read its peak RSS.
fn run_child(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Res<ChildRun> {
    let out = Command::new(std::env::current_exe()?)
        .env(RSS_HELPER, "1")
        .envs(envs.iter().copied())
        .env_remove("FIELDBOOK_DATA")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let (rest, last) = stderr
        .trim_end()
        .rsplit_once('\n')
        .unwrap_or(("", stderr.trim_end()));
    let fields: Vec<&str> = last.split_whitespace().collect();
    let [tag, rss, code, micros] = fields.as_slice() else {
        return Err(format!("the RSS helper failed: {stderr}").into());
    };
    if *tag != "rss-helper" {
        return Err(format!("the RSS helper failed: {stderr}").into());
    }
    Ok(ChildRun {
        ok: out.status.success() && *code == "0",
        wall: Duration::from_micros(micros.parse()?),
        max_rss_kib: rss.parse()?,
        stdout: out.stdout,
        stderr: rest.to_string(),
    })
}

// ------------------------------------------------------------------ the benchmark

fn main() -> Res<()> {
    if std::env::var_os(RSS_HELPER).is_some() {
        return rss_helper();
    }
    // `cargo bench` passes `--bench`; this harness takes no arguments.
    let n: usize = match std::env::var("FIELDBOOK_BENCH_CASES") {
        Ok(v) => v.trim().parse()?,
        Err(_) => 50_000,
    };
    if n == 0 {
        return Err("FIELDBOOK_BENCH_CASES must be at least 1".into());
    }
    let started = Instant::now();
    let load_before = loadavg();
    let plan = Plan::detect()?;
    let tmp = tempfile::tempdir()?;
    let dir = tmp.path().join("device");
    let start_ms = app::system_clock().millis();
    let mut clock = Clock(start_ms);
    let today = Timestamp(start_ms).date();
    let mut rows: Vec<Row> = Vec::new();
    let mut details: Vec<(String, String)> = Vec::new();

    let mut store = Store::init(
        &dir,
        PASSPHRASE,
        DeviceSetup {
            person_name: "Bench Officer".into(),
            role: Role::Officer,
            device_number: 7,
        },
        clock.tick(),
    )?;
    let actor = store.device().actor();
    let person = store.device().person_id.to_string();
    let sqlite_version: String =
        store
            .connection()
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))?;
    let cipher_version: String =
        store
            .connection()
            .query_row("PRAGMA cipher_version", [], |r| r.get(0))?;
    progress(
        &format!("device ready, {n} cases planned: {}", plan.describe()),
        started,
    );

    // ---- 1. in-memory build through the domain methods (CPU only, nothing kept)
    let (built, build_time) = time(|| -> Res<usize> {
        let now = Timestamp(start_ms);
        let mut answered = 0;
        for i in 0..n {
            let mut case = Case::new(
                CaseId::new(),
                plan.kind,
                format!("BENCH-{i}"),
                new_case(i, today, now)?,
                actor,
                now,
            )?;
            record_visits(&mut case, i, &plan, actor, now, today)?;
            answered += case.visits.values().map(|v| v.answers.len()).sum::<usize>();
        }
        Ok(answered)
    });
    let answers_total = built?;
    progress("in-memory build done", started);

    // ---- 1. bulk creation of full cases: `create_cases_with`, 1,000 per transaction, each case
    // built (fields, 2 visits, 20 answers each) through the domain methods before its first save
    let mut created: Vec<Created> = Vec::with_capacity(n);
    let mut create_time = Duration::ZERO;
    let mut batch_times = Vec::new();
    for first in (0..n).step_by(BATCH) {
        let now = clock.tick();
        let batch = (first..(first + BATCH).min(n))
            .map(|i| Ok((plan.kind, new_case(i, today, now)?)))
            .collect::<Res<Vec<_>>>()?;
        let (cases, d) = time(|| {
            store.create_cases_with(batch, now, |k, case, a| {
                record_visits(case, first + k, &plan, a, now, today).map(|_| ())
            })
        });
        create_time += d;
        batch_times.push(d);
        created.extend(cases?.into_iter().map(|c| Created {
            id: c.id,
            reference: c.reference,
        }));
        if (first / BATCH + 1).is_multiple_of(10) {
            progress(&format!("{} full cases created", created.len()), started);
        }
    }
    let create_batches = Stats::new(batch_times);
    progress("create_cases_with done", started);

    // ---- 1 baseline: raw rusqlite, same projection-shaped rows
    let mut base = open_baseline(&tmp.path().join("baseline.db"))?;
    let base_time = baseline_insert(
        &mut base,
        &created,
        &plan,
        &person,
        today,
        Timestamp(start_ms),
    )?;
    progress("baseline insert done", started);

    // ---- 1a/1b. the officer's path, on a second device with a sample of cases: fields first
    // (`create_cases`, 1,000 per transaction), then both visits in one `change_case` per case
    let m = n.min(OFFICER_SAMPLE);
    let mut officer = Store::init(
        &tmp.path().join("officer"),
        PASSPHRASE,
        DeviceSetup {
            person_name: "Bench Officer Two".into(),
            role: Role::Officer,
            device_number: 8,
        },
        clock.tick(),
    )?;
    let mut sample_ids = Vec::with_capacity(m);
    let mut fields_time = Duration::ZERO;
    for first in (0..m).step_by(BATCH) {
        let now = clock.tick();
        let batch = (first..(first + BATCH).min(m))
            .map(|i| Ok((plan.kind, new_case(i, today, now)?)))
            .collect::<Res<Vec<_>>>()?;
        let (cases, d) = time(|| officer.create_cases(batch, now));
        fields_time += d;
        sample_ids.extend(cases?.into_iter().map(|c| c.id));
    }
    let mut per_case = Vec::with_capacity(m);
    let mut closure_time = Duration::ZERO;
    for (i, id) in sample_ids.iter().enumerate() {
        let now = clock.tick();
        let start = Instant::now();
        let mut inner = Duration::ZERO;
        officer.change_case(*id, now, |case, a| {
            let s = Instant::now();
            let out = record_visits(case, i, &plan, a, now, today);
            inner = s.elapsed();
            out
        })?;
        per_case.push(start.elapsed());
        closure_time += inner;
    }
    drop(officer);
    let visits_time: Duration = per_case.iter().sum();
    let visit_stats = Stats::new(per_case);
    progress("officer path done", started);

    let rows_per_case = 1 + 2 + answers_total / n;
    let create_rate = rate(n, create_time);
    let fields_rate = rate(m, fields_time);
    let visits_rate = rate(m, visits_time);
    let base_rate = rate(n, base_time);
    rows.push(row(
        "1",
        format!(
            "Bulk creation of full cases: `create_cases_with`, {BATCH} per transaction, \
             2 visits x {ANSWERS_PER_VISIT} answers built by the domain methods"
        ),
        format!(
            "{create_rate:.0} cases/s ({:.1} s; batch p50 {} · max {})",
            create_time.as_secs_f64(),
            ms(create_batches.p(0.5)),
            ms(create_batches.max())
        ),
        ">= 2,000 cases/s",
        verdict(create_rate >= 2_000.0),
        format!(
            "raw rusqlite, same {rows_per_case} projection rows per case: {base_rate:.0} cases/s; \
             store is {:.1}x slower",
            base_rate / create_rate
        ),
    ));
    rows.push(row(
        "1a",
        format!(
            "Officer path, step 1: `create_cases`, fields only, {BATCH} per transaction \
             ({m} cases on a second device)"
        ),
        format!(
            "{fields_rate:.0} cases/s ({:.1} s)",
            fields_time.as_secs_f64()
        ),
        ">= 2,000 cases/s",
        verdict(fields_rate >= 2_000.0),
        "",
    ));
    rows.push(row(
        "1b",
        format!(
            "Officer path, step 2: both visits added by one `change_case` per case \
             (1 durable transaction each; {m} cases)"
        ),
        format!(
            "{visits_rate:.0} cases/s ({:.1} s; per case {})",
            visits_time.as_secs_f64(),
            visit_stats.summary()
        ),
        "(reported)",
        "-",
        format!(
            "domain methods inside the closure: {:.3} ms/case; \
             see 5 for a durable commit's floor",
            closure_time.as_secs_f64() * 1e3 / m as f64
        ),
    ));
    details.push((
        "In-memory build, domain methods only (`Case::new` + 2 `add_visit` + answers)".into(),
        format!(
            "{:.0} cases/s ({:.2} s for {n} cases, {answers_total} answers)",
            rate(n, build_time),
            build_time.as_secs_f64()
        ),
    ));

    // ---- 6. size on disk (before the read measurements, after a full checkpoint)
    let db_path = dir.join(fieldbook_store::DB_FILE);
    let wal_path = dir.join(format!("{}-wal", fieldbook_store::DB_FILE));
    let wal_before = file_len(&wal_path);
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let db_bytes = file_len(&db_path) + file_len(&wal_path);
    let pragma = |name: &str| -> Res<String> {
        let v: rusqlite::types::Value =
            store
                .connection()
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?;
        Ok(match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
    };
    let page_size = pragma("page_size")?;
    let freelist = pragma("freelist_count")?;
    let by_table: Vec<(String, i64)> = store
        .connection()
        .prepare("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
        .and_then(|mut s| {
            s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .unwrap_or_default();
    let chunk_bytes: (i64, i64) = store.connection().query_row(
        "SELECT count(*), coalesce(sum(length(bytes)), 0) FROM case_chunks",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    base.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    let base_bytes = file_len(&tmp.path().join("baseline.db"));

    // JSON export through the app API: one compact `open_case` object per line.
    let ctx = Ctx::new(&dir);
    app::unlock(&ctx, PASSPHRASE)?;
    let json_path = tmp.path().join("export.jsonl");
    let (export, export_time) = time(|| -> Res<()> {
        let mut w = BufWriter::new(fs::File::create(&json_path)?);
        for c in &created {
            let dto = app::open_case(&ctx, &c.reference)?;
            serde_json::to_writer(&mut w, &dto)?;
            w.write_all(b"\n")?;
        }
        w.flush()?;
        Ok(())
    });
    export?;
    let json_bytes = file_len(&json_path);
    let size_ratio = db_bytes as f64 / json_bytes.max(1) as f64;
    rows.push(row(
        "6",
        "Database on disk (db + wal after `wal_checkpoint(TRUNCATE)`) vs JSON export",
        format!(
            "{} vs JSON {} = {size_ratio:.2}x",
            mib(db_bytes),
            mib(json_bytes)
        ),
        "<= 1.5x JSON",
        verdict(size_ratio <= 1.5),
        format!(
            "raw projection rows only (no documents, no FTS): {} = {:.2}x JSON",
            mib(base_bytes),
            base_bytes as f64 / json_bytes.max(1) as f64
        ),
    ));
    details.push((
        "WAL before the checkpoint".into(),
        mib(wal_before).to_string(),
    ));
    details.push((
        "Automerge chunks".into(),
        format!(
            "{} chunks, {} of document bytes ({:.0} B/case)",
            chunk_bytes.0,
            mib(chunk_bytes.1 as u64),
            chunk_bytes.1 as f64 / n as f64
        ),
    ));
    details.push((
        "Page size / free pages".into(),
        format!("{page_size} B / {freelist}"),
    ));
    if !by_table.is_empty() {
        let top: Vec<String> = by_table
            .iter()
            .take(12)
            .map(|(name, bytes)| format!("{name} {}", mib(*bytes as u64)))
            .collect();
        details.push(("Largest tables and indexes (dbstat)".into(), top.join(", ")));
    }
    details.push((
        "JSON export through `open_case` (app API)".into(),
        format!(
            "{:.0} cases/s ({:.1} s)",
            rate(n, export_time),
            export_time.as_secs_f64()
        ),
    ));
    progress("size and JSON export done", started);

    // ---- 2. first page: status filter, sorted by due date
    let first_page = |status: Option<CaseStatus>| CaseQuery {
        statuses: status.into_iter().collect(),
        sort: CaseSort::Due,
        limit: 50,
        ..CaseQuery::default()
    };
    for (id, status, note) in [
        ("2", Some(CaseStatus::InProgress), "every case has visits"),
        ("2'", Some(CaseStatus::Open), "no case is still open"),
        ("2''", None, "no filter: the default list"),
    ] {
        let q = first_page(status);
        let total = store.list_cases(&q)?.total;
        let stats = sample(200, |_| {
            store.list_cases(&q)?;
            Ok(())
        })?;
        let filter = status.map_or("any status".to_string(), |s| {
            format!("status `{}`", s.code())
        });
        rows.push(row(
            id,
            format!("First page: {filter}, by due date, 50 rows ({total} match: {note}), 200 runs"),
            stats.summary(),
            "p95 <= 20 ms",
            verdict(stats.p(0.95) <= Duration::from_millis(20)),
            "",
        ));
    }
    // Baseline: the same page from the raw table, with an ORDER BY the index can serve and no
    // count of every match.
    let stats = sample(200, |_| {
        let mut stmt = base.prepare_cached(
            "SELECT case_id, reference, kind, title, address, postcode, uprn, lat, lon, status,
                    assignee, due, created_at, updated_at, visit_count, note_count, photo_count
             FROM cases WHERE status = 'in_progress' AND due IS NOT NULL ORDER BY due LIMIT 50",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?.count();
        if rows == 0 {
            return Err("baseline page empty".into());
        }
        Ok(())
    })?;
    if let Some(r) = rows.iter_mut().find(|r| r.id == "2") {
        r.baseline = format!(
            "raw index-ordered page (no count, no NULLS-LAST sort): {}",
            stats.summary()
        );
    }
    progress("first page done", started);

    // ---- 2n. "near me": the first page by distance from a point in the cases' area
    let here = (53.75, -1.65);
    let near = CaseQuery {
        sort: CaseSort::Distance,
        near: Some(here),
        limit: 50,
        ..CaseQuery::default()
    };
    let located = store.list_cases(&near)?.rows.len();
    let stats = sample(200, |_| {
        store.list_cases(&near)?;
        Ok(())
    })?;
    // Baseline: read every located case's point and sort by geodesic distance in Rust (what a
    // front end would do without the store's order).
    let from = fieldbook_core::geo::LatLon::new(here.0, here.1)?;
    let base_near = sample(20, |_| {
        let mut stmt = base.prepare_cached(
            "SELECT pk, lat, lon FROM cases WHERE lat IS NOT NULL AND lon IS NOT NULL",
        )?;
        let points = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, f64>(1)?,
                    r.get::<_, f64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let items = points.into_iter().filter_map(|(pk, lat, lon)| {
            Some((pk, fieldbook_core::geo::LatLon::new(lat, lon).ok()?))
        });
        let sorted = fieldbook_core::geo::nearest_first(from, items);
        if sorted.len() < 50 {
            return Err("baseline near-me list too short".into());
        }
        Ok(())
    })?;
    rows.push(row(
        "2n",
        format!(
            "Near me: first page by distance, 50 rows ({located} shown; about 2 in 3 of {n} \
             cases have a location), 200 runs"
        ),
        stats.summary(),
        "p95 <= 20 ms",
        verdict(stats.p(0.95) <= Duration::from_millis(20)),
        format!(
            "every located case read and sorted by geodesic distance in Rust: {}",
            base_near.summary()
        ),
    ));
    progress("near me done", started);

    // ---- 3. full-text search
    let pc = postcode(n / 2);
    let outward = pc.split(' ').next().unwrap_or_default().to_string();
    for (id, what, text) in [
        (
            "3",
            format!("rare word `{RARE_WORD}`"),
            RARE_WORD.to_string(),
        ),
        ("3", format!("postcode `{pc}`"), pc.clone()),
        ("3", format!("outward code `{outward}`"), outward.clone()),
        (
            "3'",
            format!("common word `{COMMON_WORD}`"),
            COMMON_WORD.into(),
        ),
        ("3'", "typed prefix `da`".to_string(), "da".into()),
    ] {
        let q = CaseQuery {
            search: Some(text),
            sort: CaseSort::Relevance,
            limit: 50,
            ..CaseQuery::default()
        };
        let total = store.list_cases(&q)?.total;
        let stats = sample(200, |_| {
            store.list_cases(&q)?;
            Ok(())
        })?;
        rows.push(row(
            id,
            format!("Search {what}, by relevance, 50 rows ({total} match), 200 runs"),
            stats.summary(),
            "p95 <= 30 ms",
            verdict(stats.p(0.95) <= Duration::from_millis(30)),
            "",
        ));
    }
    progress("search done", started);

    // ---- 4. open one case
    let mut pick = StdRng::seed_from_u64(SEED ^ 4);
    let picks: Vec<usize> = (0..500).map(|_| pick.random_range(0..n)).collect();
    let stats = sample(500, |k| {
        let case = store.load_case(created[picks[k]].id)?;
        if case.visits.len() != 2 {
            return Err("a case lost its visits".into());
        }
        Ok(())
    })?;
    let base_open = sample(500, |k| {
        let pk = (picks[k] + 1) as i64;
        let mut n_rows = base
            .prepare_cached("SELECT * FROM cases WHERE pk = ?1")?
            .query_map([pk], |r| r.get::<_, String>(1))?
            .count();
        n_rows += base
            .prepare_cached(
                "SELECT v.visit_id, a.item_id, a.value_kind, a.value_text, a.value_num
                 FROM visits v JOIN answers a ON a.visit_pk = v.pk WHERE v.case_pk = ?1",
            )?
            .query_map([pk], |r| r.get::<_, String>(1))?
            .count();
        if n_rows < 2 {
            return Err("baseline case not found".into());
        }
        Ok(())
    })?;
    rows.push(row(
        "4",
        "Open one case: `Store::load_case` (load chunks + hydrate), 500 random",
        stats.summary(),
        "p95 <= 10 ms",
        verdict(stats.p(0.95) <= Duration::from_millis(10)),
        format!("raw projection rows of the case: {}", base_open.summary()),
    ));
    let stats = sample(500, |k| {
        app::open_case(&ctx, &created[picks[k]].reference)?;
        Ok(())
    })?;
    rows.push(row(
        "4'",
        "Open one case as the UI does: `app::open_case` (DTO), 500 random",
        stats.summary(),
        "p95 <= 10 ms",
        verdict(stats.p(0.95) <= Duration::from_millis(10)),
        "",
    ));
    progress("open done", started);

    // ---- 5. one durable field edit
    let mut edits = Vec::with_capacity(500);
    for (k, &i) in picks.iter().enumerate() {
        let now = clock.tick();
        let title = format!("{} (edited {k})", new_case(i, today, now)?.title);
        let (saved, d) = time(|| {
            store.change_case(created[i].id, now, |case, a| {
                case.edit(
                    CaseEdit {
                        title: Some(title),
                        ..CaseEdit::default()
                    },
                    a,
                )?;
                Ok("Changed title".into())
            })
        });
        saved?;
        edits.push(d);
    }
    let edit_stats = Stats::new(edits);
    let floor = sample(500, |k| {
        let tx = base.transaction()?;
        tx.execute(
            "UPDATE cases SET title = ?1, updated_at = ?2 WHERE pk = ?3",
            params![format!("edit {k}"), k as i64, (picks[k] + 1) as i64],
        )?;
        tx.commit()?;
        Ok(())
    })?;
    rows.push(row(
        "5",
        "One durable title edit: `change_case` (synchronous=FULL), 500 random",
        format!(
            "p50 {} · p95 {} · p99 {} · max {}",
            ms(edit_stats.p(0.5)),
            ms(edit_stats.p(0.95)),
            ms(edit_stats.p(0.99)),
            ms(edit_stats.max())
        ),
        "p95 <= 5 ms",
        verdict(edit_stats.p(0.95) <= Duration::from_millis(5)),
        format!(
            "raw 1-row UPDATE + durable commit: p50 {} · p95 {} · p99 {}",
            ms(floor.p(0.5)),
            ms(floor.p(0.95)),
            ms(floor.p(0.99))
        ),
    ));
    progress("edits done", started);

    // ---- 7. peak memory of the real CLI
    let exe = env!("CARGO_BIN_EXE_fieldbook");
    let dir_arg = dir.to_string_lossy().to_string();
    let cli = |args: &[&str]| -> Res<ChildRun> {
        let mut all = vec!["--data", dir_arg.as_str()];
        all.extend_from_slice(args);
        let run = run_child(exe, &all, &[("FIELDBOOK_PASSPHRASE", PASSPHRASE)])?;
        if !run.ok {
            return Err(format!("fieldbook {args:?} failed: {}", run.stderr.trim()).into());
        }
        Ok(run)
    };
    let version = run_child(exe, &["--version"], &[])?;
    let unlock_only = cli(&["device", "--json"])?;
    let floor_note = format!(
        "floor: `--version` {:.1} MiB; unlock only (`device --json`, Argon2id m=64 MiB) {:.1} MiB in {}",
        version.max_rss_kib as f64 / 1024.0,
        unlock_only.max_rss_kib as f64 / 1024.0,
        ms(unlock_only.wall)
    );
    for (id, what, args) in [
        (
            "7",
            "`case list --status open --limit 50 --json`".to_string(),
            vec![
                "case", "list", "--status", "open", "--limit", "50", "--json",
            ],
        ),
        (
            "7",
            "`case list --status in_progress --limit 50 --json`".to_string(),
            vec![
                "case",
                "list",
                "--status",
                "in_progress",
                "--limit",
                "50",
                "--json",
            ],
        ),
        (
            "7",
            format!("`case list --search {RARE_WORD} --limit 50 --json`"),
            vec![
                "case", "list", "--search", RARE_WORD, "--limit", "50", "--json",
            ],
        ),
    ] {
        let run = cli(&args)?;
        let page: serde_json::Value = serde_json::from_slice(&run.stdout)?;
        let listed = page["cases"].as_array().map_or(0, Vec::len);
        let mb = run.max_rss_kib as f64 / 1024.0;
        rows.push(row(
            id,
            format!(
                "CLI peak RSS: {what} ({listed} rows, wall {})",
                ms(run.wall)
            ),
            format!("{mb:.1} MiB"),
            "<= 150 MB",
            verdict(mb <= 150.0),
            floor_note.clone(),
        ));
    }
    progress("CLI runs done", started);

    // ---- report
    let total = started.elapsed();
    println!("## Fieldbook device benchmark\n");
    println!("| Machine | |\n|---|---|");
    for (k, v) in machine() {
        println!("| {k} | {v} |");
    }
    println!("| SQLite / SQLCipher | {sqlite_version} / {cipher_version} |");
    println!(
        "| Load average (start → end) | {load_before} → {} |",
        loadavg()
    );
    println!();
    println!(
        "Data: {n} cases, 2 visits each, {answers_total} answers in all; {}. \
         One case in six has no due date. Run took {:.0} s.\n",
        plan.describe(),
        total.as_secs_f64()
    );
    println!("| # | Measurement | Result | Target | Met | Baseline (same run) |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            r.id, r.what, r.result, r.target, r.verdict, r.baseline
        );
    }
    println!("\n| Detail | |\n|---|---|");
    for (k, v) in &details {
        println!("| {k} | {v} |");
    }
    drop(ctx);
    drop(store);
    Ok(())
}
