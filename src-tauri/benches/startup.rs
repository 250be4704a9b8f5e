//! Start-up time and memory of the real desktop app, through the end-to-end harness.
//!
//! ```sh
//! cargo bench -p fieldbook-desktop --bench startup
//! # FIELDBOOK_BENCH_RUNS=5 (launches per device), FIELDBOOK_BENCH_CASES=50000
//! ```
//!
//! Two devices, built once and cached under Cargo's target tmp dir keyed by case count: a
//! baseline with no case, and one with `FIELDBOOK_BENCH_CASES` cases (made with
//! `fieldbook_app::create_cases` in batches of 1,000). For each, over `FIELDBOOK_BENCH_RUNS`
//! launches of the release binary under Xvfb through tauri-driver and WebKitWebDriver:
//! - launch → unlock form interactive: from the new-session request (which launches the app)
//!   to the passphrase field and the Unlock button being displayed and enabled;
//! - unlock → case list: from pressing Unlock (the passphrase already typed) to the first page's
//!   count line ("Showing 1 to 50 of 50,000 cases") being in the page;
//! - memory once the list is shown (and one second later): VmRSS and Pss (smaps_rollup) summed
//!   over the app and every process under it (WebKitWebProcess, WebKitNetworkProcess).
//!
//! Waits run inside the page (a MutationObserver answers the moment the DOM matches), so a
//! figure is late by one WebDriver round trip at most, not by a polling interval.

#[path = "../tests/e2e/driver.rs"]
mod driver;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use driver::{Error, Harness, Result};
use fieldbook_app::{Ctx, InitArgs, NewCaseArgs};
use serde_json::json;

const PASSPHRASE: &str = "correct horse battery staple";
const BATCH: u32 = 1_000;
/// Bump when the cached devices' contents change.
const DEVICE_VERSION: u32 = 1;

const STREETS: [&str; 8] = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Park Avenue",
    "Market Place",
    "Bridge Street",
];
const POSTCODES: [&str; 6] = [
    "AB1 2CD", "XY9 8ZW", "QA2 3PF", "TE5 7ST", "FB4 4KE", "LE3 9DE",
];

fn sample(i: u32) -> NewCaseArgs {
    let n = i as usize;
    let street = STREETS[n % STREETS.len()];
    let (kind, title) = match i % 5 {
        0 | 1 => ("food_hygiene", format!("{} {street} Cafe", n % 97 + 1)),
        2 => (
            "housing",
            format!("Flat {}, damp and mould complaint", n % 40 + 1),
        ),
        3 => (
            "highways",
            format!("Pothole outside {} {street}", n % 200 + 1),
        ),
        _ => ("fly_tipping", format!("Fly-tip: black bags by {street}")),
    };
    NewCaseArgs {
        kind: kind.into(),
        title,
        address: Some(format!("{} {street}, Anytown", n % 200 + 1)),
        postcode: Some(POSTCODES[n % POSTCODES.len()].into()),
        uprn: Some(format!("{}", 900_000_000_000u64 + u64::from(i))),
        lat: Some(51.45 + f64::from(i % 1000) / 10_000.0),
        lon: Some(-2.60 + f64::from(i % 997) / 10_000.0),
        accuracy_m: Some(8.0),
        location_source: Some("gazetteer".into()),
        due: (!i.is_multiple_of(6))
            .then(|| format!("2027-{:02}-{:02}", i / 28 % 12 + 1, i % 28 + 1)),
    }
}

/// The device with `cases` cases, built on first use (into a `.partial` directory renamed when
/// complete, so an interrupted build is started again).
fn device(cases: u32) -> Result<PathBuf> {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-devices");
    let dir = root.join(format!("v{DEVICE_VERSION}-cases-{cases}"));
    if dir.join("device").exists() {
        return Ok(dir.join("device"));
    }
    let partial = root.join(format!("v{DEVICE_VERSION}-cases-{cases}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(&partial)?;
    let started = Instant::now();
    eprintln!("building a device with {cases} cases in {}", dir.display());
    {
        let ctx = Ctx::new(partial.join("device"));
        let setup = InitArgs {
            passphrase: PASSPHRASE.into(),
            person_name: "Sam Patel".into(),
            role: "officer".into(),
            device_number: 7,
        };
        fieldbook_app::init_device(&ctx, setup).map_err(|e| Error(format!("init: {e}")))?;
        let mut made = 0;
        while made < cases {
            let n = (cases - made).min(BATCH);
            fieldbook_app::create_cases(&ctx, (made..made + n).map(sample).collect())
                .map_err(|e| Error(format!("create cases: {e}")))?;
            made += n;
        }
    }
    std::fs::rename(&partial, &dir)?;
    eprintln!("  built in {:.1} s", started.elapsed().as_secs_f64());
    Ok(dir.join("device"))
}

/// Wait, inside the page, until `condition` (a JS expression) is true; the moment the answer
/// came back. Retries while the page is not there yet (the app still starting).
fn wait_in_page(h: &Harness, what: &str, condition: &str) -> Result<Instant> {
    let script = format!(
        "const done = arguments[arguments.length - 1];
         const ok = () => {{ try {{ return !!({condition}); }} catch (e) {{ return false; }} }};
         if (ok()) {{ done(true); return; }}
         const obs = new MutationObserver(() => {{ if (ok()) {{ obs.disconnect(); done(true); }} }});
         obs.observe(document, {{ subtree: true, childList: true, characterData: true, attributes: true }});
         setTimeout(() => {{ obs.disconnect(); done(ok()); }}, 5000);"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(v) = h.execute_async(&script, vec![])
            && v == json!(true)
        {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            return Err(Error(format!(
                "timed out waiting for {what}; page:\n{}",
                h.page_snippet(2000)
            )));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

const UNLOCK_READY: &str = "(() => {
    const f = document.getElementById('passphrase');
    const b = [...document.querySelectorAll('button')].find(b => b.textContent.trim() === 'Unlock');
    return f && b && !f.disabled && !b.disabled && f.offsetParent !== null && b.offsetParent !== null;
})()";
const LIST_SHOWN: &str = "(() => {
    const c = document.querySelector('[data-testid=case-count]');
    const t = c ? c.textContent.trim() : '';
    return t.startsWith('Showing') || t === 'No cases';
})()";

#[derive(Debug, Default)]
struct Sample {
    to_unlock_form: Duration,
    unlock_to_list: Duration,
    rss_kib: u64,
    pss_kib: u64,
    pss_later_kib: u64,
    processes: Vec<driver::ProcMem>,
    count_text: String,
}

fn one_run(h: &mut Harness) -> Result<Sample> {
    let launched = Instant::now();
    h.launch()?;
    let form = wait_in_page(h, "the unlock form", UNLOCK_READY)?;
    let field = h.find_by_label("Passphrase")?;
    h.type_into(&field, PASSPHRASE)?;
    let button = h.find_button("Unlock")?;
    let pressed = Instant::now();
    h.click(&button)?;
    let listed = wait_in_page(h, "the first page of cases", LIST_SHOWN)?;
    let mem = h.app_memory()?;
    std::thread::sleep(Duration::from_secs(1));
    let later = h.app_memory()?;
    let count_text = h.text(&h.find_css("[data-testid=case-count]")?)?;
    h.quit()?;
    Ok(Sample {
        to_unlock_form: form - launched,
        unlock_to_list: listed - pressed,
        rss_kib: mem.iter().map(|p| p.rss_kib).sum(),
        pss_kib: mem.iter().map(|p| p.pss_kib).sum(),
        pss_later_kib: later.iter().map(|p| p.pss_kib).sum(),
        processes: later,
        count_text,
    })
}

fn stats(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (v[0], median, v[v.len() - 1])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn env_u32(name: &str, default: u32) -> Result<u32> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| Error(format!("{name}={v:?} is not a number"))),
        Err(_) => Ok(default),
    }
}

fn bench(label: &str, dir: &Path, runs: u32) -> Result<(String, Vec<Sample>)> {
    let mut h = Harness::start(dir)?;
    let mut samples = Vec::new();
    for run in 1..=runs {
        let s = one_run(&mut h)?;
        eprintln!(
            "  {label} run {run}: unlock form {:.0} ms, list {:.0} ms ({}), RSS {:.0} MiB, PSS {:.0} MiB",
            ms(s.to_unlock_form),
            ms(s.unlock_to_list),
            s.count_text,
            mib(s.rss_kib),
            mib(s.pss_kib)
        );
        samples.push(s);
    }
    Ok((label.to_string(), samples))
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into())
}

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; a filter argument is not meaningful here.
    let runs = env_u32("FIELDBOOK_BENCH_RUNS", 5)?.max(1);
    let cases = env_u32("FIELDBOOK_BENCH_CASES", 50_000)?;
    let baseline = device(0)?;
    let large = device(cases)?;

    let results = vec![
        bench("baseline (0 cases)", &baseline, runs)?,
        bench(&format!("{cases} cases"), &large, runs)?,
    ];

    println!();
    println!(
        "Start-up of the release `fieldbook-desktop` under Xvfb via tauri-driver/WebKitWebDriver, \
         {runs} launches per device; {} cores, {}.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    println!();
    println!(
        "| device | launch → unlock form interactive, ms (min / median / max) | unlock → first page of the list, ms | launch → case list, ms (sum of medians) | RSS, MiB (min / median / max) | PSS, MiB | PSS 1 s later, MiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, samples) in &results {
        let f = |g: &dyn Fn(&Sample) -> f64| stats(samples.iter().map(g).collect());
        let a = f(&|s| ms(s.to_unlock_form));
        let b = f(&|s| ms(s.unlock_to_list));
        let r = f(&|s| mib(s.rss_kib));
        let p = f(&|s| mib(s.pss_kib));
        let pl = f(&|s| mib(s.pss_later_kib));
        println!(
            "| {label} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} | {:.0} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} | {:.0} / {:.0} / {:.0} |",
            a.0,
            a.1,
            a.2,
            b.0,
            b.1,
            b.2,
            a.1 + b.1,
            r.0,
            r.1,
            r.2,
            p.0,
            p.1,
            p.2,
            pl.0,
            pl.1,
            pl.2
        );
    }
    if let Some((label, samples)) = results.last()
        && let Some(last) = samples.last()
    {
        println!();
        println!("Processes of the last {label} run, 1 s after the list was shown:");
        println!();
        println!("| process | RSS, MiB | PSS, MiB |");
        println!("|---|---|---|");
        for p in &last.processes {
            println!(
                "| {} | {:.0} | {:.0} |",
                p.name,
                mib(p.rss_kib),
                mib(p.pss_kib)
            );
        }
    }
    Ok(())
}
