//! Convergence: six devices (two officers in one team, one of them on two devices, their team
//! leader, an officer of another team and an admin) make random offline edits to more than 200
//! cases — new cases, field edits, the same field edited on two devices at once, notes, visits
//! and answers, submissions, approvals and returns — and sync over HTTP with the real server in a
//! random order. Once everyone has synced until nothing moves, each device holds exactly the
//! cases the server says its user may see, with the server's documents, projection rows equal to
//! rows rebuilt from those documents, and both values of every same-field edit kept as an
//! automerge conflict.
//!
//! `FIELDBOOK_SYSTEM_SEED=N` repeats a run (the seed is printed; `--nocapture` shows it).
#![allow(clippy::unwrap_used)]

mod harness;

use std::collections::{BTreeMap, BTreeSet};

use fieldbook_core::template::{ItemKind, default_template_for};
use fieldbook_core::{CaseEdit, CaseKind, CaseStatus, NewCase, Role, Timestamp, VisitId};
use fieldbook_store::{CaseQuery, CaseSort};
use harness::{Backend, Device, Proxy, Server, ServerData, T0, all_values, heads_of};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Steps of random activity (more if fewer than [`MIN_CASES`] cases were made by then).
const STEPS: usize = 650;
const MIN_CASES: usize = 200;

/// Two devices set the same field of one case without seeing each other's value.
#[derive(Debug)]
struct Conflict {
    case: String,
    devices: [usize; 2],
    values: [String; 2],
}

struct Run {
    rng: StdRng,
    devices: Vec<Device>,
    /// Devices reach the server nodes through this; each sync goes to a node picked at random.
    proxy: Proxy,
    nodes: Vec<std::net::SocketAddr>,
    syncs_per_node: Vec<usize>,
    t: i64,
    created: usize,
    /// (case, note text, device) for every note added.
    notes: Vec<(String, String, usize)>,
    conflicts: Vec<Conflict>,
    /// Cases whose `address` a conflict pair owns (nothing else writes it).
    address_taken: BTreeSet<String>,
    /// Device-side refusals of an edit (the core rules said no): nothing was written.
    local_refusals: BTreeMap<&'static str, usize>,
    ops: BTreeMap<&'static str, usize>,
}

impl Run {
    fn tick(&mut self) -> Timestamp {
        self.t += 1000;
        Timestamp(self.t)
    }

    /// One sync of device `d`, through a node picked at random.
    fn sync(&mut self, d: usize, now: Timestamp) -> fieldbook_client::SyncReport {
        let node = self.rng.random_range(0..self.nodes.len());
        self.proxy.retarget(self.nodes[node]);
        self.syncs_per_node[node] += 1;
        self.devices[d].sync(now.0).unwrap()
    }

    /// The outcome of a device-side change: a refusal by the core rules is fine (counted), a
    /// failure of the store is not.
    fn done(
        &mut self,
        op: &'static str,
        r: Result<impl Sized, fieldbook_store::StoreError>,
    ) -> bool {
        match r {
            Ok(_) => {
                *self.ops.entry(op).or_default() += 1;
                true
            }
            Err(fieldbook_store::StoreError::Domain(e)) => {
                *self.local_refusals.entry(e.code()).or_default() += 1;
                false
            }
            Err(e) => panic!("{op} failed on the device: {e}"),
        }
    }

    fn pick_case(&mut self, d: usize) -> Option<String> {
        let ids = self.devices[d].case_ids();
        (!ids.is_empty()).then(|| ids[self.rng.random_range(0..ids.len())].clone())
    }

    /// A case of this device with at least one visit (read from its list rows).
    fn pick_visited_case(&mut self, d: usize) -> Option<String> {
        let ids: Vec<String> = list_rows_of(&self.devices[d])
            .into_iter()
            .filter(|r| r.visit_count > 0)
            .map(|r| r.case_id)
            .collect();
        (!ids.is_empty()).then(|| ids[self.rng.random_range(0..ids.len())].clone())
    }

    fn step(&mut self, step: usize) {
        let d = self.rng.random_range(0..self.devices.len());
        let now = self.tick();
        let roll = self.rng.random_range(0..100);
        match roll {
            0..=29 => self.create(d, step, now),
            30..=36 => self.edit(d, step, now),
            37..=46 => self.note(d, step, now),
            47..=52 => self.visit(d, now),
            53..=64 => self.answer(d, step, now),
            65..=69 => self.submit(d, now),
            70..=75 => self.review(d, now),
            76..=79 => self.conflict(d, step, now),
            _ => {
                self.sync(d, now);
                *self.ops.entry("sync").or_default() += 1;
            }
        }
    }

    fn create(&mut self, d: usize, step: usize, now: Timestamp) {
        // A team leader often opens a case for one of the team's officers.
        let assignee = if self.devices[d].role == Role::TeamLeader && self.rng.random_bool(0.6) {
            let officers: Vec<usize> = (0..self.devices.len())
                .filter(|&o| self.devices[o].role == Role::Officer && self.devices[o].user != "sam")
                .collect();
            let o = officers[self.rng.random_range(0..officers.len())];
            Some(self.devices[o].store.device().person_id)
        } else {
            None
        };
        let title = format!("Case {step} opened on {}", self.devices[d].name);
        let r = self.devices[d].store.create_case(
            CaseKind::General,
            NewCase {
                title,
                postcode: Some("AB1 2CD".into()),
                assignee,
                ..NewCase::default()
            },
            now,
        );
        if self.done("create", r) {
            self.created += 1;
        }
    }

    fn edit(&mut self, d: usize, step: usize, now: Timestamp) {
        let Some(case) = self.pick_case(d) else {
            return;
        };
        let edit = match self.rng.random_range(0..3) {
            0 => CaseEdit {
                title: Some(format!("Title {step} from {}", self.devices[d].name)),
                ..CaseEdit::default()
            },
            1 => CaseEdit {
                postcode: Some(Some(
                    ["XY9 8ZW", "AB1 2CD", "M1 1AE"][self.rng.random_range(0..3)].into(),
                )),
                ..CaseEdit::default()
            },
            _ => CaseEdit {
                due: Some(Some(
                    format!(
                        "2027-0{}-1{}",
                        self.rng.random_range(1..10),
                        self.rng.random_range(0..10)
                    )
                    .parse()
                    .unwrap(),
                )),
                ..CaseEdit::default()
            },
        };
        let r = self.devices[d]
            .store
            .change_case(Device::case_id(&case), now, |c, a| {
                c.edit(edit, a)?;
                Ok("edit".into())
            });
        self.done("edit", r);
    }

    fn note(&mut self, d: usize, step: usize, now: Timestamp) {
        let Some(case) = self.pick_case(d) else {
            return;
        };
        let text = format!("Note {step} by {}", self.devices[d].name);
        let body = text.clone();
        let r = self.devices[d]
            .store
            .change_case(Device::case_id(&case), now, |c, a| {
                c.add_note(&body, a, now)?;
                Ok("note".into())
            });
        if self.done("note", r) {
            self.notes.push((case, text, d));
        }
    }

    fn visit(&mut self, d: usize, now: Timestamp) {
        let Some(case) = self.pick_case(d) else {
            return;
        };
        let id = Device::case_id(&case);
        if self.devices[d].store.load_case(id).unwrap().visits.len() >= 2 {
            return;
        }
        let r = self.devices[d].store.change_case(id, now, |c, a| {
            c.add_visit(default_template_for("general"), None, a, now)?;
            Ok("visit".into())
        });
        self.done("visit", r);
    }

    /// A valid answer to a random question of a random visit of the case.
    fn answer(&mut self, d: usize, step: usize, now: Timestamp) {
        let Some(case) = self.pick_visited_case(d) else {
            return;
        };
        let c = self.devices[d]
            .store
            .load_case(Device::case_id(&case))
            .unwrap();
        let Some(visit) = c.visits.values().next() else {
            return;
        };
        let visit_id: VisitId = visit.id;
        let template = visit.template().unwrap();
        let items: Vec<_> = template.items().collect();
        let item = items[self.rng.random_range(0..items.len())];
        let input = answer_input(&item.kind, &mut self.rng, step);
        let value = template.parse_answer(&item.id, &input).unwrap();
        let item_id = item.id.clone();
        let r = self.devices[d]
            .store
            .change_case(Device::case_id(&case), now, |c, a| {
                c.answer(visit_id, &item_id, value, a, now)?;
                Ok("answer".into())
            });
        self.done("answer", r);
    }

    /// Answer every required question of every visit, then submit.
    fn submit(&mut self, d: usize, now: Timestamp) {
        let Some(case) = self.pick_visited_case(d) else {
            return;
        };
        let mut rng = StdRng::seed_from_u64(self.rng.random());
        let r = self.devices[d]
            .store
            .change_case(Device::case_id(&case), now, |c, a| {
                let visits: Vec<_> = c.visits.values().map(|v| v.id).collect();
                for v in visits {
                    let visit = c.visit(v)?;
                    let template = visit.template()?;
                    let missing: Vec<_> = template
                        .missing_required(|item| visit.answers.contains_key(item))
                        .into_iter()
                        .map(|i| (i.id.clone(), i.kind.clone()))
                        .collect();
                    for (item, kind) in missing {
                        let value =
                            template.parse_answer(&item, &answer_input(&kind, &mut rng, 0))?;
                        c.answer(v, &item, value, a, now)?;
                    }
                }
                c.submit(a)?;
                Ok("submit".into())
            });
        self.done("submit", r);
    }

    /// A team leader or admin approves or returns a submitted case, or closes an approved one.
    fn review(&mut self, d: usize, now: Timestamp) {
        if self.devices[d].role == Role::Officer {
            return;
        }
        let submitted: Vec<String> = list_rows_of(&self.devices[d])
            .into_iter()
            .filter(|r| r.status == "submitted" || r.status == "approved")
            .map(|r| r.case_id)
            .collect();
        if submitted.is_empty() {
            return;
        }
        let case = submitted[self.rng.random_range(0..submitted.len())].clone();
        // Random, except that a kind of review the run has not done yet goes first: the run
        // must do both (the check at the end), whatever the seed.
        let approve = match (
            self.ops.contains_key("approve"),
            self.ops.contains_key("return/close"),
        ) {
            (true, false) => false,
            (false, true) => true,
            _ => self.rng.random_bool(0.6),
        };
        let mut to = None;
        let r = self.devices[d]
            .store
            .change_case(Device::case_id(&case), now, |c, a| {
                let next = match (c.status, approve) {
                    (CaseStatus::Submitted, true) => CaseStatus::Approved,
                    (CaseStatus::Submitted, false) => CaseStatus::Returned,
                    _ => CaseStatus::Closed,
                };
                c.transition(next, a)?;
                to = Some(next);
                Ok(format!("{next}"))
            });
        // Named by what was done: closing an approved case is not an approval.
        let op = match to {
            Some(CaseStatus::Approved) => "approve",
            _ => "return/close",
        };
        self.done(op, r);
    }

    /// Two devices holding the same case set its address, each unaware of the other.
    fn conflict(&mut self, d: usize, step: usize, now: Timestamp) {
        let Some(case) = self.pick_case(d) else {
            return;
        };
        if self.address_taken.contains(&case) {
            return;
        }
        let others: Vec<usize> = (0..self.devices.len())
            .filter(|&o| o != d && self.devices[o].case_ids().contains(&case))
            .collect();
        if others.is_empty() {
            return;
        }
        let o = others[self.rng.random_range(0..others.len())];
        let values = [
            format!("{step} High Street ({})", self.devices[d].name),
            format!("{step} Mill Road ({})", self.devices[o].name),
        ];
        let mut ok = true;
        for (dev, value) in [(d, &values[0]), (o, &values[1])] {
            let address = value.clone();
            let r = self.devices[dev]
                .store
                .change_case(Device::case_id(&case), now, |c, a| {
                    c.edit(
                        CaseEdit {
                            address: Some(Some(address)),
                            ..CaseEdit::default()
                        },
                        a,
                    )?;
                    Ok("address".into())
                });
            ok &= self.done("conflict edit", r);
        }
        self.address_taken.insert(case.clone());
        if ok {
            self.conflicts.push(Conflict {
                case,
                devices: [d, o],
                values,
            });
        }
    }
}

/// Text a template accepts for an item of this kind.
fn answer_input(kind: &ItemKind, rng: &mut StdRng, step: usize) -> String {
    match kind {
        ItemKind::YesNo => if rng.random_bool(0.5) { "yes" } else { "no" }.into(),
        ItemKind::Choice { options } => options[rng.random_range(0..options.len())].value.clone(),
        ItemKind::Number { min, .. } => format!("{}", min.ceil()),
        ItemKind::Text { .. } => format!("Answer written at step {step}"),
        ItemKind::Date => "2026-11-02".into(),
        ItemKind::Score { options } => options[rng.random_range(0..options.len())].to_string(),
    }
}

fn list_rows_of(dev: &Device) -> Vec<fieldbook_store::CaseRow> {
    dev.store
        .list_cases(&CaseQuery {
            sort: CaseSort::Reference,
            limit: 1000,
            ..CaseQuery::default()
        })
        .unwrap()
        .rows
}

/// List rows (the projection a front end reads), keyed by case id.
fn list_rows(dev: &Device) -> BTreeMap<String, String> {
    list_rows_of(dev)
        .into_iter()
        .map(|r| {
            let id = r.case_id.clone();
            (id, format!("{r:?}"))
        })
        .collect()
}

/// The run on `nodes` server processes over one store.
fn converge(backend: Backend, nodes: usize) {
    let seed = harness::seed("convergence");
    let began = std::time::Instant::now();
    let data = ServerData::new(
        backend,
        &[
            ("olive", "officer", Some("North")),
            ("owen", "officer", Some("North")),
            ("lena", "team_leader", Some("North")),
            ("sam", "officer", Some("South")),
            ("ada", "admin", None),
        ],
    );
    let servers: Vec<Server> = (0..nodes).map(|_| data.start(&[])).collect();
    let proxy = Proxy::start(servers[0].addr);
    let devices = [
        ("olive", "olive", Role::Officer),
        ("olive-2", "olive", Role::Officer),
        ("owen", "owen", Role::Officer),
        ("lena", "lena", Role::TeamLeader),
        ("sam", "sam", Role::Officer),
        ("ada", "ada", Role::Admin),
    ]
    .into_iter()
    .map(|(name, user, role)| Device::new(&data, &proxy.url(), name, user, role))
    .collect();
    let mut run = Run {
        rng: StdRng::seed_from_u64(seed),
        devices,
        proxy,
        nodes: servers.iter().map(|s| s.addr).collect(),
        syncs_per_node: vec![0; nodes],
        t: T0,
        created: 0,
        notes: Vec::new(),
        conflicts: Vec::new(),
        address_taken: BTreeSet::new(),
        local_refusals: BTreeMap::new(),
        ops: BTreeMap::new(),
    };
    let mut step = 0;
    while step < STEPS || run.created < MIN_CASES {
        run.step(step);
        step += 1;
    }

    let edited = began.elapsed();
    // Everyone syncs until a whole round moves nothing.
    let mut quiet = false;
    for _ in 0..8 {
        quiet = true;
        for d in 0..run.devices.len() {
            let now = run.tick();
            let r = run.sync(d, now);
            quiet &= r.pushed == 0 && r.pulled == 0;
        }
        if quiet {
            break;
        }
    }
    assert!(quiet, "syncing never settled (seed {seed})");
    eprintln!(
        "convergence: {step} steps in {edited:.1?}, {} cases, ops {:?}, device-side refusals {:?}, {} conflicts, syncs per node {:?}",
        run.created,
        run.ops,
        run.local_refusals,
        run.conflicts.len(),
        run.syncs_per_node
    );
    assert!(
        run.syncs_per_node.iter().all(|&n| n > 10),
        "a node served too few syncs"
    );

    let server_docs = data.documents();
    assert_eq!(
        server_docs.len(),
        run.created,
        "cases on the server (seed {seed})"
    );
    let mut server_refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut diverged = BTreeSet::new();
    for (n, dev) in run.devices.iter_mut().enumerate() {
        assert!(
            dev.store.outgoing(10_000).unwrap().is_empty(),
            "{}: changes left to push (seed {seed})",
            dev.name
        );
        // The cases the server says this user may see, and no others.
        assert_eq!(
            dev.case_ids(),
            data.visible_to(&dev.user),
            "{}: cases held (seed {seed})",
            dev.name
        );
        let refused: BTreeSet<String> = dev
            .store
            .refused()
            .unwrap()
            .into_iter()
            .map(|r| {
                *server_refusals.entry(r.code.clone()).or_default() += 1;
                r.case_id
            })
            .collect();
        for id in dev.case_ids() {
            let server_doc = &server_docs[&id];
            if refused.contains(&id) {
                let mut doc = dev.doc(&id);
                // The refused edit stays on the device, on top of everything the server has.
                for h in heads_of(server_doc) {
                    let hash: automerge::ChangeHash = h.parse().unwrap();
                    assert!(
                        doc.get_change_by_hash(&hash).is_some(),
                        "{}: refused case {id} lacks server change {h} (seed {seed})",
                        dev.name
                    );
                }
                diverged.insert((n, id));
                continue;
            }
            assert_eq!(
                dev.heads(&id),
                heads_of(server_doc),
                "{}: case {id} differs from the server (seed {seed})",
                dev.name
            );
            let server_case: fieldbook_core::Case =
                autosurgeon::hydrate(&automerge::AutoCommit::load(server_doc).unwrap()).unwrap();
            assert_eq!(
                dev.store.load_case(Device::case_id(&id)).unwrap(),
                server_case,
                "{}: case {id} (seed {seed})",
                dev.name
            );
        }
        // The projections kept up change by change equal those rebuilt from the documents.
        let kept = dev.store.projection_snapshot().unwrap();
        dev.store.rebuild_projections().unwrap();
        let rebuilt = dev.store.projection_snapshot().unwrap();
        if let Some((k, r)) = kept.iter().zip(&rebuilt).find(|(k, r)| k != r) {
            panic!(
                "{}: projection rows differ from rows rebuilt from the documents (seed {seed}):\n kept    {k}\n rebuilt {r}",
                dev.name
            );
        }
        assert_eq!(
            kept.len(),
            rebuilt.len(),
            "{}: projection rows (seed {seed})",
            dev.name
        );
    }
    // And every device shows the same list row for a case it shares with another.
    let rows: Vec<BTreeMap<String, String>> = run.devices.iter().map(list_rows).collect();
    for (a, ra) in rows.iter().enumerate() {
        for (b, rb) in rows.iter().enumerate().skip(a + 1) {
            for (id, row) in ra {
                if let Some(other) = rb.get(id)
                    && !diverged.contains(&(a, id.clone()))
                    && !diverged.contains(&(b, id.clone()))
                {
                    assert_eq!(row, other, "list rows of {id} on {a} and {b} (seed {seed})");
                }
            }
        }
    }
    // Refusals come only from edits that raced a review on another device.
    for code in server_refusals.keys() {
        assert!(
            ["case_locked", "transition_not_allowed", "visit_incomplete"].contains(&code.as_str()),
            "unexpected refusal {code} (seed {seed})"
        );
    }
    eprintln!("convergence: refused by the server {server_refusals:?}");

    // Every note added on a device whose case was not refused is on the server exactly once.
    let mut notes_checked = 0;
    for (case, text, d) in &run.notes {
        if diverged.contains(&(*d, case.clone())) {
            continue;
        }
        let c: fieldbook_core::Case =
            autosurgeon::hydrate(&automerge::AutoCommit::load(&server_docs[case]).unwrap())
                .unwrap();
        let n = c.notes.values().filter(|n| n.body.as_str() == text).count();
        assert_eq!(n, 1, "note {text:?} on case {case} (seed {seed})");
        notes_checked += 1;
    }
    // Both values of every same-field edit survive as a conflict, everywhere.
    let mut conflicts_checked = 0;
    for c in &run.conflicts {
        if c.devices
            .iter()
            .any(|&d| diverged.contains(&(d, c.case.clone())))
        {
            continue;
        }
        let mut want = c.values.to_vec();
        want.sort();
        let server_doc = automerge::AutoCommit::load(&server_docs[&c.case]).unwrap();
        assert_eq!(
            all_values(&server_doc, "address"),
            want,
            "server (seed {seed})"
        );
        for (n, dev) in run.devices.iter().enumerate() {
            if dev.case_ids().contains(&c.case) && !diverged.contains(&(n, c.case.clone())) {
                assert_eq!(
                    all_values(&dev.doc(&c.case), "address"),
                    want,
                    "{}: conflict on {} (seed {seed})",
                    dev.name,
                    c.case
                );
            }
        }
        conflicts_checked += 1;
    }
    eprintln!(
        "convergence: {notes_checked} notes and {conflicts_checked} conflicts checked, {} device/case pairs refused, {:.1?} in all",
        diverged.len(),
        began.elapsed()
    );
    assert!(run.created >= MIN_CASES);
    assert!(
        conflicts_checked >= 5,
        "too few conflicts to judge (seed {seed})"
    );
    assert!(notes_checked >= 30, "too few notes to judge (seed {seed})");
    for op in ["approve", "return/close", "submit", "answer"] {
        assert!(
            run.ops.contains_key(op),
            "the run never did {op} (seed {seed})"
        );
    }
    for mut s in servers {
        assert!(s.is_running(), "a server node died:\n{}", s.logs());
    }
}

#[test]
fn devices_converge_over_http_sqlite() {
    converge(Backend::Sqlite, 1);
}

/// PostgreSQL, with two server nodes on the one database: each sync goes to either.
#[test]
fn devices_converge_over_two_server_nodes_on_one_postgres() {
    converge(Backend::Postgres, 2);
}
