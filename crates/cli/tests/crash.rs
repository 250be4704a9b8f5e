//! Crash safety: `fieldbook simulate edits` is killed with SIGKILL at random moments, over and
//! over, and the device must always open again with every save it reported.
//!
//! `FIELDBOOK_CRASH_ROUNDS` sets the number of rounds (default 40); `FIELDBOOK_CRASH_SEED`
//! replays a failing run (the seed is printed at the start; run with `--nocapture` to see it).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fieldbook");
const PASS: &str = "correct horse battery staple";
const DEFAULT_ROUNDS: u32 = 40;

struct Device {
    home: tempfile::TempDir,
    data: PathBuf,
}

impl Device {
    fn command(&self) -> Command {
        let home: &Path = self.home.path();
        let mut c = Command::new(BIN);
        c.env_remove("FIELDBOOK_DATA")
            .env("FIELDBOOK_PASSPHRASE", PASS)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("xdg"))
            .env("TMPDIR", home)
            .arg("--data")
            .arg(&self.data)
            .stdin(Stdio::null());
        c
    }

    fn json(&self, args: &[&str]) -> Value {
        let out: Output = self.command().arg("--json").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "fieldbook {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The whole database file is sound: `fieldbook device --check --json` runs
/// `PRAGMA integrity_check` and reports its result in an `integrity` field ("ok" when sound).
/// This is the one hook the crash test needs from the product besides ordinary commands.
fn integrity_check(d: &Device) -> Result<(), String> {
    let out = d
        .command()
        .args(["--json", "device", "--check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!(
            "`fieldbook device --check --json` failed ({:?}): {stderr} {stdout}",
            out.status.code()
        ));
    }
    let v: Value = serde_json::from_str(&stdout)
        .map_err(|e| format!("`device --check --json` printed no JSON ({e}): {stdout}"))?;
    match v["integrity"].as_str() {
        Some("ok") => Ok(()),
        other => Err(format!("integrity check says {other:?}: {v}")),
    }
}

fn title_number(title: &str) -> Option<u64> {
    title.strip_prefix("Edit ")?.parse().ok()
}

#[test]
fn killed_edits_never_lose_a_reported_save() {
    let rounds: u32 = std::env::var("FIELDBOOK_CRASH_ROUNDS")
        .ok()
        .map(|r| r.parse().expect("FIELDBOOK_CRASH_ROUNDS is a number"))
        .unwrap_or(DEFAULT_ROUNDS);
    let seed: u64 = std::env::var("FIELDBOOK_CRASH_SEED")
        .ok()
        .map(|s| s.parse().expect("FIELDBOOK_CRASH_SEED is a number"))
        .unwrap_or_else(|| rand::rng().random());
    println!("crash test: {rounds} rounds, FIELDBOOK_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();

    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("device");
    let d = Device { home, data };
    d.json(&["init", "--name", "Crash Tester", "--device-number", "5"]);
    let case = d.json(&["case", "create", "--kind", "general", "--title", "Start"]);
    let reference = case["reference"].as_str().unwrap().to_string();

    let mut title = "Start".to_string();
    let mut history_len = 1usize; // the creation
    let mut rounds_with_saves = 0;
    let mut integrity_failures: Vec<String> = Vec::new();

    for round in 0..rounds {
        let delay = Duration::from_millis(rng.random_range(5..300));
        // Half the rounds time the kill from the start of the process (it may land while the
        // key is derived or the database opened); the other half from the first reported
        // save, so that every run also kills mid-edit however slow the machine is.
        let from_first_save = rng.random_bool(0.5);

        let mut child = d
            .command()
            .args(["simulate", "edits", &reference, "--count", "100000"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let last_reported = Arc::new(AtomicU64::new(0));
        let reader = {
            let last = Arc::clone(&last_reported);
            std::thread::spawn(move || {
                let mut lines = Vec::new();
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Some(n) = line.strip_prefix("saved ") {
                        let n: u64 = n.parse().unwrap();
                        last.store(n, Ordering::SeqCst);
                        lines.push(n);
                    }
                }
                lines
            })
        };
        if from_first_save {
            let deadline = Instant::now() + Duration::from_secs(20);
            while last_reported.load(Ordering::SeqCst) == 0
                && Instant::now() < deadline
                && child.try_wait().unwrap().is_none()
            {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(delay);
        // `Child::kill` sends SIGKILL on Unix: no destructors, no rollback, no flush.
        child.kill().unwrap();
        let status = child.wait().unwrap(); // reaped: no zombies
        let reported = reader.join().unwrap();
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "round {round} (seed {seed}): simulate ended before the kill: {status:?}"
        );
        // "saved N" lines count up from 1 without gaps.
        assert!(
            reported.iter().copied().eq(1..=reported.len() as u64),
            "round {round} (seed {seed}): saves reported out of order"
        );
        let n = reported.last().copied().unwrap_or(0);

        // The device opens again, and holds every reported save.
        let shown = d.json(&["case", "show", &reference]);
        let now_title = shown["title"].as_str().unwrap().to_string();
        let m = if n == 0 {
            // Killed before any save was reported: nothing changed, or the first edit had
            // committed when the kill landed before its print.
            assert!(
                now_title == title || now_title == "Edit 1",
                "round {round} (seed {seed}): nothing reported, title went from {title:?} to {now_title:?}"
            );
            if now_title == title { None } else { Some(1) }
        } else {
            let m = title_number(&now_title).unwrap_or_else(|| {
                panic!("round {round} (seed {seed}): title {now_title:?} after {n} saves")
            });
            assert!(
                m == n || m == n + 1,
                "round {round} (seed {seed}): {n} saves reported but the title is {now_title:?}"
            );
            Some(m)
        };

        // The history has one change per committed edit. Each round counts from "Edit 1"
        // again: if the title was already "Edit 1", that first edit changes nothing.
        let committed = match m {
            None => 0,
            Some(m) if title == "Edit 1" => m as usize - 1,
            Some(m) => m as usize,
        };
        history_len += committed;
        let history = d.json(&["case", "history", &reference]);
        let history = history.as_array().unwrap();
        assert_eq!(
            history.len(),
            history_len,
            "round {round} (seed {seed}): {n} reported, title {now_title:?}"
        );
        if committed > 0 {
            assert_eq!(history.last().unwrap()["message"], "Changed title");
            rounds_with_saves += 1;
        }
        title = now_title;

        // >>> INTEGRITY CHECK ASSERTION (needs `fieldbook device --check --json`) <<<
        if let Err(e) = integrity_check(&d) {
            integrity_failures.push(format!("round {round}: {e}"));
        }
    }

    let device = d.json(&["device"]);
    assert_eq!(device["case_count"], 1);
    println!(
        "crash test: {rounds} rounds ({rounds_with_saves} killed mid-edit), {} changes, final title {title:?}, {:.1} s",
        history_len,
        started.elapsed().as_secs_f64()
    );
    if rounds >= 10 {
        assert!(
            rounds_with_saves >= rounds / 4,
            "only {rounds_with_saves} of {rounds} rounds saved anything (seed {seed})"
        );
    }
    // >>> INTEGRITY CHECK ASSERTION (needs `fieldbook device --check --json`) <<<
    assert!(
        integrity_failures.is_empty(),
        "integrity check failed (seed {seed}):\n{}",
        integrity_failures.join("\n")
    );
}
