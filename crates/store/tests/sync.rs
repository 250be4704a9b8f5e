//! The device side of sync against the server's real rules (`fieldbook-sync`), with the server's
//! storage stood in for by a map in this test: several devices edit the same cases offline in a
//! random order, sync in a random order, and end with the same documents and the same
//! projection rows. The HTTP server and its own storage are tested in `crates/server`.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use automerge::{ActorId, ChangeHash};
use fieldbook_core::{CaseEdit, CaseKind, NewCase, Role, Timestamp};
use fieldbook_store::{CaseQuery, CaseSort, DeviceSetup, Pulled, Store};
use fieldbook_sync::{Rights, apply_push, changes_since};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const PASS: &str = "correct horse battery";

/// The server's state: each case's document and sequence, and what each device is known to hold.
#[derive(Default)]
struct Server {
    seq: u64,
    cases: HashMap<String, (Vec<u8>, u64)>,
    known: HashMap<(usize, String), Vec<ChangeHash>>,
}

struct Device {
    n: usize,
    store: Store,
    _dir: tempfile::TempDir,
}

impl Device {
    fn new(n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(
            dir.path(),
            PASS,
            DeviceSetup {
                person_name: format!("Leader {n}"),
                role: Role::TeamLeader,
                device_number: n as u32 + 1,
            },
            Timestamp(1_790_000_000_000),
        )
        .unwrap();
        Self {
            n,
            store,
            _dir: dir,
        }
    }

    fn rights(&self) -> Rights {
        Rights {
            person: self.store.device().person_id,
            aliases: vec![],
            role: Role::TeamLeader,
            actors: vec![ActorId::from(
                self.store.device().device_id.as_bytes().as_slice(),
            )],
            in_team: true,
        }
    }

    /// One sync: push the outbox, then pull pages until up to date. Returns refusals seen.
    fn sync(&mut self, server: &mut Server, page: usize) -> usize {
        let mut refusals = 0;
        let rights = self.rights();
        for out in self.store.outgoing(1000).unwrap() {
            let stored = server.cases.get(&out.case_id).map(|(d, _)| d.clone());
            match apply_push(
                stored.as_deref(),
                &out.case_id,
                &out.changes,
                &out.sent_heads,
                &rights,
            ) {
                Ok(applied) => {
                    if applied.changed {
                        server.seq += 1;
                        server
                            .cases
                            .insert(out.case_id.clone(), (applied.doc, server.seq));
                    }
                    server
                        .known
                        .insert((self.n, out.case_id.clone()), out.sent_heads.clone());
                    self.store
                        .acknowledge(&out.case_id, &out.sent_heads)
                        .unwrap();
                }
                Err(e) => {
                    refusals += 1;
                    self.store
                        .refuse(&out.case_id, &out.sent_heads, e.code(), &e.to_string())
                        .unwrap();
                }
            }
        }
        loop {
            let since = self.store.sync_since().unwrap();
            let mut due: Vec<(&String, &(Vec<u8>, u64))> = server
                .cases
                .iter()
                .filter(|(_, (_, s))| *s > since)
                .collect();
            due.sort_by_key(|(_, (_, s))| *s);
            if due.is_empty() {
                return refusals;
            }
            // A page is merged whole, as the client does (one case alone sometimes, as
            // `merge_remote`).
            let mut last = since;
            let mut sent = Vec::new();
            for (id, (doc, seq)) in due.into_iter().take(page) {
                let known = server
                    .known
                    .get(&(self.n, id.clone()))
                    .cloned()
                    .unwrap_or_default();
                let changes = changes_since(doc, &known).unwrap();
                let mut d = automerge::AutoCommit::load(doc).unwrap();
                sent.push((id.clone(), changes, d.get_heads()));
                last = *seq;
            }
            if let [(id, changes, heads)] = sent.as_slice() {
                self.store.merge_remote(id, changes, heads, &[]).unwrap();
            } else {
                let pulled: Vec<Pulled<'_>> = sent
                    .iter()
                    .map(|(id, changes, heads)| Pulled {
                        case_id: id,
                        changes,
                        server_heads: heads,
                    })
                    .collect();
                self.store.merge_remote_page(&pulled, &[]).unwrap();
            }
            for (id, _, heads) in sent {
                server.known.insert((self.n, id), heads);
            }
            self.store.set_sync_since(last).unwrap();
        }
    }

    /// Every case as text (documents) and the list rows (projections), in id order.
    fn state(&self) -> (Vec<String>, Vec<String>) {
        let page = self
            .store
            .list_cases(&CaseQuery {
                sort: CaseSort::Reference,
                limit: 500,
                ..CaseQuery::default()
            })
            .unwrap();
        let mut docs = Vec::new();
        let mut rows = Vec::new();
        for r in page.rows {
            let c = self.store.load_case(r.case_id.parse().unwrap()).unwrap();
            docs.push(format!("{c:?}"));
            rows.push(format!(
                "{} {} {} {:?} {:?} {} {}",
                r.reference, r.title, r.status, r.due, r.postcode, r.visit_count, r.note_count
            ));
        }
        docs.sort();
        rows.sort();
        (docs, rows)
    }
}

#[test]
fn devices_that_edit_offline_and_sync_in_any_order_converge() {
    let seed: u64 = std::env::var("FIELDBOOK_SYNC_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    eprintln!("seed {seed} (FIELDBOOK_SYNC_SEED={seed} to repeat)");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut server = Server::default();
    let mut devices: Vec<Device> = (0..4).map(Device::new).collect();
    let mut t = 1_790_000_000_000_i64;

    for step in 0..160 {
        t += 1000;
        let d = rng.random_range(0..devices.len());
        let dev = &mut devices[d];
        let ids: Vec<_> = dev
            .store
            .list_cases(&CaseQuery {
                limit: 500,
                ..CaseQuery::default()
            })
            .unwrap()
            .rows
            .into_iter()
            .map(|r| r.case_id.parse::<fieldbook_core::CaseId>().unwrap())
            .collect();
        match rng.random_range(0..10) {
            0..=1 => {
                dev.store
                    .create_case(
                        CaseKind::General,
                        NewCase {
                            title: format!("Case {step} by {d}"),
                            ..NewCase::default()
                        },
                        Timestamp(t),
                    )
                    .unwrap();
            }
            2..=4 if !ids.is_empty() => {
                let id = ids[rng.random_range(0..ids.len())];
                let title = format!("Title {step} by {d}");
                dev.store
                    .change_case(id, Timestamp(t), |c, a| {
                        c.edit(
                            CaseEdit {
                                title: Some(title),
                                ..CaseEdit::default()
                            },
                            a,
                        )?;
                        Ok("edit".into())
                    })
                    .unwrap();
            }
            5..=6 if !ids.is_empty() => {
                let id = ids[rng.random_range(0..ids.len())];
                let text = format!("Note {step} by {d}");
                dev.store
                    .change_case(id, Timestamp(t), |c, a| {
                        c.add_note(&text, a, Timestamp(t))?;
                        Ok("note".into())
                    })
                    .unwrap();
            }
            7 if !ids.is_empty() => {
                let id = ids[rng.random_range(0..ids.len())];
                let postcode = ["AB1 2CD", "XY9 8ZW", ""][rng.random_range(0..3)].to_string();
                dev.store
                    .change_case(id, Timestamp(t), |c, a| {
                        c.edit(
                            CaseEdit {
                                postcode: Some(Some(postcode).filter(|p| !p.is_empty())),
                                ..CaseEdit::default()
                            },
                            a,
                        )?;
                        Ok("postcode".into())
                    })
                    .unwrap();
            }
            _ => {
                let page = rng.random_range(1..5);
                assert_eq!(dev.sync(&mut server, page), 0, "a team leader was refused");
            }
        }
    }
    // Everyone syncs twice (the first round may bring others' changes that others lack).
    for _ in 0..2 {
        for dev in &mut devices {
            dev.sync(&mut server, 7);
        }
    }
    let first = devices[0].state();
    assert!(!first.0.is_empty(), "the run made no cases");
    for dev in &devices[1..] {
        let other = dev.state();
        assert_eq!(other.1, first.1, "projection rows differ (seed {seed})");
        assert_eq!(other.0, first.0, "documents differ (seed {seed})");
    }
    for dev in &devices {
        let ids: Vec<String> = server.cases.keys().cloned().collect();
        for id in ids {
            let mut doc = automerge::AutoCommit::load(&server.cases[&id].0).unwrap();
            let mut server_heads = doc.get_heads();
            server_heads.sort();
            assert_eq!(
                dev.store.case_heads(&id).unwrap(),
                Some(server_heads),
                "case {id} differs from the server (seed {seed})"
            );
        }
        assert!(
            dev.store.outgoing(1000).unwrap().is_empty(),
            "outbox left after sync"
        );
    }
}

/// A case as a server sends it: its id, its changes, its heads.
type Sent = (String, Vec<u8>, Vec<ChangeHash>);

/// Two cases made on one device, as a server would send them to a new device (whole documents
/// and their heads).
fn two_new_cases() -> (Device, Vec<Sent>) {
    let mut maker = Device::new(0);
    for title in ["First", "Second"] {
        maker
            .store
            .create_case(
                CaseKind::General,
                NewCase {
                    title: title.into(),
                    ..NewCase::default()
                },
                Timestamp(1_790_000_001_000),
            )
            .unwrap();
    }
    let sent = maker
        .store
        .outgoing(10)
        .unwrap()
        .into_iter()
        .map(|o| (o.case_id, o.changes, o.sent_heads))
        .collect();
    (maker, sent)
}

fn page(sent: &[Sent]) -> Vec<Pulled<'_>> {
    sent.iter()
        .map(|(id, changes, heads)| Pulled {
            case_id: id,
            changes,
            server_heads: heads,
        })
        .collect()
}

fn titles(dev: &Device) -> Vec<String> {
    let mut t: Vec<String> = dev
        .store
        .list_cases(&CaseQuery {
            limit: 50,
            ..CaseQuery::default()
        })
        .unwrap()
        .rows
        .into_iter()
        .map(|r| r.title)
        .collect();
    t.sort();
    t
}

#[test]
fn a_pulled_page_of_new_cases_is_stored_as_sent_and_listed() {
    let (_maker, sent) = two_new_cases();
    let mut dev = Device::new(1);
    let merged = dev.store.merge_remote_page(&page(&sent), &[]).unwrap();
    assert_eq!(merged.len(), 2);
    assert_eq!(titles(&dev), ["First", "Second"]);
    for (id, _, heads) in &sent {
        let mut heads = heads.clone();
        heads.sort();
        assert_eq!(dev.store.case_heads(id).unwrap(), Some(heads));
        // The server holds what the device holds: nothing to push.
        let case = dev.store.load_case(id.parse().unwrap()).unwrap();
        assert_eq!(case.id.to_string(), *id);
    }
    assert!(dev.store.outgoing(10).unwrap().is_empty());
}

#[test]
fn a_page_with_one_bad_case_merges_nothing() {
    let (_maker, mut sent) = two_new_cases();
    let mut dev = Device::new(1);
    // The second document cut short: its bytes would be kept as sent, so it must not load in
    // part.
    let cut = sent[1].1.len() / 2;
    sent[1].1.truncate(cut);
    let err = dev.store.merge_remote_page(&page(&sent), &[]).unwrap_err();
    assert!(!err.to_string().is_empty());
    assert!(titles(&dev).is_empty(), "nothing of the page was kept");

    // A case sent under another case's id.
    let (_maker, mut sent) = two_new_cases();
    sent[0].0 = sent[1].0.clone();
    sent.truncate(1);
    let (_other, good) = two_new_cases();
    let mut mixed = vec![good[0].clone()];
    mixed.extend(sent);
    let err = dev.store.merge_remote_page(&page(&mixed), &[]).unwrap_err();
    assert!(err.to_string().contains("sent case"), "{err}");
    assert!(titles(&dev).is_empty(), "nothing of the page was kept");

    // The same case twice in one page.
    let (_maker, sent) = two_new_cases();
    let twice = vec![sent[0].clone(), sent[0].clone()];
    let err = dev.store.merge_remote_page(&page(&twice), &[]).unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
    assert!(titles(&dev).is_empty());

    // The page sent again whole is merged.
    dev.store.merge_remote_page(&page(&sent), &[]).unwrap();
    assert_eq!(titles(&dev), ["First", "Second"]);
}
