//! Faults: the device's `fieldbook sync` process SIGKILLed at random points of a sync (at least
//! 50 times), and the server SIGKILLed while devices push large batches (at least 10 times) and
//! restarted on the same data. Traffic goes through a loopback proxy that slows it and counts
//! it, so a kill lands at a chosen byte: while the request is sent, while the server applies it,
//! while the answer comes back. Afterwards every edit a device made is on the server and on every
//! device that may see it exactly once, answers hold their last value, outboxes are empty and
//! nothing was refused.
//!
//! `FIELDBOOK_SYSTEM_SEED=N` repeats a run (the seed is printed; `--nocapture` shows it).
#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::BTreeMap;
use std::time::Duration;

use fieldbook_core::template::{ItemKind, default_template_for};
use fieldbook_core::{Case, CaseKind, NewCase, Role, Timestamp};
use harness::{Backend, Device, Proxy, ServerData, T0, device_command, heads_of};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CLIENT_KILLS: usize = 50;
const SERVER_KILLS: usize = 10;

/// What the devices did, to check against what the server and the devices end with.
#[derive(Default)]
struct Expected {
    cases: Vec<String>,
    /// (case, text) of every note added.
    notes: Vec<(String, String)>,
    /// (case, visit, item) → the last value given.
    answers: BTreeMap<(String, String, String), String>,
}

impl Expected {
    fn create(&mut self, dev: &mut Device, now: i64, note_len: usize) -> String {
        let case = dev
            .store
            .create_case(
                CaseKind::General,
                NewCase {
                    title: format!("Case {} of {}", self.cases.len(), dev.name),
                    ..NewCase::default()
                },
                Timestamp(now),
            )
            .unwrap();
        let id = case.id.to_string();
        self.cases.push(id.clone());
        // A long first note makes the case's changes (and so the batch) big.
        let text = format!("{} {}", self.notes.len(), "x".repeat(note_len));
        self.note(dev, &id, &text, now);
        id
    }

    fn note(&mut self, dev: &mut Device, case: &str, text: &str, now: i64) {
        dev.store
            .change_case(Device::case_id(case), Timestamp(now), |c, a| {
                c.add_note(text, a, Timestamp(now))?;
                Ok("note".into())
            })
            .unwrap();
        self.notes.push((case.to_string(), text.to_string()));
    }

    /// Answer a text question of the case's visit (starting one if it has none).
    fn answer(&mut self, dev: &mut Device, case: &str, value: &str, now: i64) {
        let t = Timestamp(now);
        let template = default_template_for("general");
        let texts: Vec<String> = template
            .items()
            .filter(|i| matches!(i.kind, ItemKind::Text { .. }))
            .map(|i| i.id.clone())
            .collect();
        let item = texts[self.answers.len() % texts.len()].clone();
        let mut visit = String::new();
        let value_in = value.to_string();
        dev.store
            .change_case(Device::case_id(case), t, |c, a| {
                let v = match c.visits.values().next() {
                    Some(v) => v.id,
                    None => c.add_visit(template, None, a, t)?,
                };
                visit = v.to_string();
                let value = template.parse_answer(&item, &value_in)?;
                c.answer(v, &item, value, a, t)?;
                Ok("answer".into())
            })
            .unwrap();
        self.answers
            .insert((case.to_string(), visit, item), value.to_string());
    }

    /// Every expectation holds on the server's documents and on each device.
    fn check(&self, data: &ServerData, devices: &mut [Device], seed: u64) {
        let docs = data.documents();
        let mut sorted = self.cases.clone();
        sorted.sort();
        assert_eq!(
            docs.keys().cloned().collect::<Vec<_>>(),
            sorted,
            "the server's cases (seed {seed})"
        );
        let cases: BTreeMap<&String, Case> = docs
            .iter()
            .map(|(id, doc)| {
                let c = autosurgeon::hydrate(&automerge::AutoCommit::load(doc).unwrap()).unwrap();
                (id, c)
            })
            .collect();
        for (case, text) in &self.notes {
            let n = cases[case]
                .notes
                .values()
                .filter(|n| n.body.as_str() == text)
                .count();
            assert_eq!(n, 1, "note {:.20}… on case {case} (seed {seed})", text);
        }
        for ((case, visit, item), value) in &self.answers {
            let got = &cases[case].visits[visit].answers[item].value;
            assert_eq!(
                format!("{got:?}"),
                format!("Text({value:?})"),
                "answer {item} of case {case} (seed {seed})"
            );
        }
        let heads: BTreeMap<&String, Vec<String>> =
            docs.iter().map(|(id, doc)| (id, heads_of(doc))).collect();
        for dev in devices.iter_mut() {
            assert!(
                dev.store.outgoing(10_000).unwrap().is_empty(),
                "{}: outbox not drained (seed {seed})",
                dev.name
            );
            assert_eq!(dev.store.outbox().unwrap().0, 0, "{}: outbox", dev.name);
            assert!(
                dev.store.refused().unwrap().is_empty(),
                "{}: refused {:?} (seed {seed})",
                dev.name,
                dev.store.refused()
            );
            assert_eq!(dev.store.integrity_check().unwrap(), "ok");
            assert_eq!(dev.case_ids(), data.visible_to(&dev.user), "{}", dev.name);
            for id in dev.case_ids() {
                assert_eq!(
                    dev.heads(&id),
                    heads[&id],
                    "{}: case {id} (seed {seed})",
                    dev.name
                );
                assert_eq!(
                    dev.store.load_case(Device::case_id(&id)).unwrap(),
                    cases[&id],
                    "{}: case {id} (seed {seed})",
                    dev.name
                );
            }
        }
    }
}

/// Sync every device in this process until a whole round moves nothing.
fn settle(devices: &mut [Device], now: &mut i64) {
    for _ in 0..6 {
        let mut quiet = true;
        for d in devices.iter_mut() {
            *now += 1000;
            let r = d.sync(*now).unwrap();
            quiet &= r.pushed == 0 && r.pulled == 0;
        }
        if quiet {
            return;
        }
    }
    panic!("syncing never settled");
}

/// Waits until `bytes` more have crossed the proxy or `done` says the work finished; true if
/// the bytes came first.
fn wait_for_traffic(proxy: &Proxy, start: u64, bytes: u64, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if proxy.traffic() - start >= bytes {
            return true;
        }
        if done() {
            return false;
        }
        std::thread::sleep(Duration::from_micros(100));
    }
}

fn client_killed_mid_sync(backend: Backend) {
    let seed = harness::seed("client_killed_mid_sync");
    let began = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let data = ServerData::new(
        backend,
        &[
            ("olive", "officer", Some("North")),
            ("lena", "team_leader", Some("North")),
        ],
    );
    let server = data.start(&[]);
    let proxy = Proxy::start(server.addr);
    proxy.set_delay(Duration::from_micros(100));
    let mut devices = vec![
        Device::new(&data, &proxy.url(), "olive", "olive", Role::Officer),
        Device::new(&data, &proxy.url(), "lena", "lena", Role::TeamLeader),
    ];
    let mut expected = Expected::default();
    let mut now = T0;
    // Bytes a whole sync of each device moved last time: kills aim inside that.
    let mut full = [8_192_u64; 2];
    let (mut killed, mut completed, mut rounds) = (0, 0, 0);
    let mut in_sync = Duration::ZERO;
    while killed < CLIENT_KILLS {
        rounds += 1;
        assert!(rounds < 400, "too few kills landed (seed {seed})");
        now += 1000;
        // Olive opens cases, writes notes and answers; Lena notes on cases she has.
        for _ in 0..rng.random_range(0..3) {
            expected.create(&mut devices[0], now, rng.random_range(10..3000));
        }
        for d in 0..2 {
            let held = devices[d].case_ids();
            if held.is_empty() {
                continue;
            }
            for _ in 0..rng.random_range(0..3) {
                let case = held[rng.random_range(0..held.len())].clone();
                let text = format!(
                    "Round {rounds}: {} {}",
                    devices[d].name,
                    rng.random::<u32>()
                );
                expected.note(&mut devices[d], &case, &text, now);
            }
            if d == 0 && rng.random_bool(0.5) {
                let case = held[rng.random_range(0..held.len())].clone();
                let value = format!("Answer of round {rounds}");
                expected.answer(&mut devices[0], &case, &value, now);
            }
        }
        // `fieldbook sync` on one device, SIGKILLed at a random byte of its traffic (or after a
        // random delay, which may fall before it sends anything).
        let d = rng.random_range(0..2);
        let sync_began = std::time::Instant::now();
        let mut child = device_command(&devices[d].dir)
            .arg("sync")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let start = proxy.traffic();
        let landed = if rounds % 6 == 0 {
            // Every sixth sync runs to the end: it catches up, and measures a whole sync.
            false
        } else if rng.random_bool(0.1) {
            std::thread::sleep(Duration::from_millis(rng.random_range(0..800)));
            child.try_wait().unwrap().is_none()
        } else {
            let target = rng.random_range(1..=full[d].max(2));
            wait_for_traffic(&proxy, start, target, || {
                child.try_wait().unwrap().is_some()
            })
        };
        if landed {
            child.kill().unwrap();
            let status = child.wait().unwrap();
            // It may have finished between the check and the kill; a kill before any byte
            // crossed (while the device was unlocking) is not counted.
            if status.code().is_none() && proxy.traffic() > start {
                killed += 1;
            }
        } else {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "fieldbook sync failed: {} (seed {seed})",
                String::from_utf8_lossy(&out.stderr)
            );
            full[d] = (proxy.traffic() - start).max(1024);
            completed += 1;
        }
        in_sync += sync_began.elapsed();
    }
    eprintln!(
        "client_killed_mid_sync: {rounds} rounds, {killed} syncs killed, {completed} completed, {} cases, {} notes, {} answers, {:.1?} ({in_sync:.1?} in `fieldbook sync`)",
        expected.cases.len(),
        expected.notes.len(),
        expected.answers.len(),
        began.elapsed()
    );
    // Sync again, with the CLI, until nothing moves; then check.
    for _ in 0..3 {
        for dev in &devices {
            let out = device_command(&dev.dir).arg("sync").output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    settle(&mut devices, &mut now);
    expected.check(&data, &mut devices, seed);
    eprintln!("client_killed_mid_sync: {:.1?} in all", began.elapsed());
}

fn server_killed_mid_batch(backend: Backend) {
    let seed = harness::seed("server_killed_mid_batch");
    let began = std::time::Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let data = ServerData::new(
        backend,
        &[
            ("olive", "officer", Some("North")),
            ("owen", "officer", Some("North")),
            ("lena", "team_leader", Some("North")),
        ],
    );
    let mut server = Some(data.start(&[]));
    let proxy = Proxy::start(server.as_ref().unwrap().addr);
    proxy.set_delay(Duration::from_micros(100));
    let mut devices = vec![
        Device::new(&data, &proxy.url(), "olive", "olive", Role::Officer),
        Device::new(&data, &proxy.url(), "owen", "owen", Role::Officer),
        Device::new(&data, &proxy.url(), "lena", "lena", Role::TeamLeader),
    ];
    let mut expected = Expected::default();
    let mut now = T0;
    let mut full = 65_536_u64;
    let (mut killed, mut rounds) = (0, 0);
    while killed < SERVER_KILLS {
        rounds += 1;
        assert!(rounds < 60, "too few kills landed (seed {seed})");
        now += 1000;
        // Big batches: each officer opens many cases with long notes; everyone adds notes.
        for officer in &mut devices[..2] {
            for _ in 0..rng.random_range(4..14) {
                expected.create(officer, now, rng.random_range(500..3000));
            }
        }
        for dev in &mut devices {
            let held = dev.case_ids();
            for _ in 0..held.len().min(3) {
                let case = held[rng.random_range(0..held.len())].clone();
                let text = format!("Round {rounds}: {} {}", dev.name, rng.random::<u32>());
                expected.note(dev, &case, &text, now);
            }
        }
        // All three sync at once; the server is killed at a random byte of their traffic.
        let start = proxy.traffic();
        let target = rng.random_range(1..=full);
        let results: Vec<bool> = std::thread::scope(|s| {
            let syncs: Vec<_> = devices
                .iter_mut()
                .map(|dev| s.spawn(move || dev.sync(now).is_ok()))
                .collect();
            let landed = wait_for_traffic(&proxy, start, target, || {
                syncs.iter().all(|h| h.is_finished())
            });
            if landed {
                // SIGKILL, then a new process on the same data.
                server.take().unwrap().kill();
                let restarted = data.start(&[]);
                proxy.retarget(restarted.addr);
                server = Some(restarted);
            }
            syncs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        if results.iter().any(|ok| !ok) {
            killed += 1;
        } else {
            full = proxy.traffic() - start;
        }
    }
    eprintln!(
        "server_killed_mid_batch: {rounds} rounds, {killed} kills that cut a sync, {} cases, {} notes, {:.1?}",
        expected.cases.len(),
        expected.notes.len(),
        began.elapsed()
    );
    settle(&mut devices, &mut now);
    expected.check(&data, &mut devices, seed);
    assert!(server.unwrap().is_running());
    eprintln!("server_killed_mid_batch: {:.1?} in all", began.elapsed());
}

#[test]
fn client_killed_mid_sync_sqlite() {
    client_killed_mid_sync(Backend::Sqlite);
}

#[test]
fn server_killed_mid_batch_sqlite() {
    server_killed_mid_batch(Backend::Sqlite);
}

#[test]
fn client_killed_mid_sync_postgres() {
    client_killed_mid_sync(Backend::Postgres);
}

#[test]
fn server_killed_mid_batch_postgres() {
    server_killed_mid_batch(Backend::Postgres);
}
