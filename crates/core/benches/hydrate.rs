//! Reading cases out of their documents (issue 4, row 2's device CPU): `hydrate_case` against
//! plain `autosurgeon::hydrate` over the same documents in the same run. Prints a Markdown table.
//!
//! ```sh
//! cargo bench -p fieldbook-core --bench hydrate
//! FIELDBOOK_BENCH_CASES=200 cargo bench -p fieldbook-core --bench hydrate   # smoke run
//! ```
//!
//! The cases are the sync benchmark's: two HHSRS visits of twenty answers each, an address, a
//! postcode, two of three located, plus two notes. Each is written with `autosurgeon::reconcile`
//! into a fresh document, saved and loaded again, as a device receives it. Both readers must give
//! the same `Case` for every document. automerge's own whole-document `hydrate` (a tree of
//! values, no `Case`) is timed too, as the floor for reading everything once. Single-threaded;
//! each pass runs three times and the best is reported (the machine is shared).

use std::hint::black_box;
use std::time::Instant;

use automerge::AutoCommit;
use fieldbook_core::template::{AnswerValue, ItemKind, latest_template};
use fieldbook_core::{
    Actor, Case, CaseId, CaseKind, Location, LocationSource, NewCase, PersonId, Role, Timestamp,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn case(i: usize, r: &mut StdRng) -> Case {
    let actor = Actor {
        person: PersonId::new(),
        role: Role::Officer,
    };
    let now = Timestamp(1_780_000_000_000 + i as i64);
    let location = (!i.is_multiple_of(3)).then(|| {
        Location::new(
            53.6 + r.random::<f64>() * 0.3,
            -1.9 + r.random::<f64>() * 0.5,
            Some(10.0),
            LocationSource::Gazetteer,
            now,
        )
        .expect("a valid location")
    });
    let mut case = Case::new(
        CaseId::new(),
        CaseKind::Housing,
        format!("HS-2026-1-{i:04}"),
        NewCase {
            title: format!("Damp and mould complaint, flat {}", r.random_range(0..120)),
            address: Some(format!("{} High Street, Bradford", r.random_range(0..400))),
            postcode: Some(format!(
                "BD{} {}AB",
                1 + r.random_range(0..19),
                r.random_range(0..10)
            )),
            uprn: Some(format!(
                "{}",
                r.random_range(10_000_000_000u64..10_001_000_000)
            )),
            location,
            ..NewCase::default()
        },
        actor,
        now,
    )
    .expect("a valid case");
    let template = latest_template("hhsrs-survey").expect("the HHSRS template");
    for _ in 0..2 {
        let visit = case.add_visit(template, None, actor, now).expect("a visit");
        for item in template.items().take(20) {
            let value = match &item.kind {
                ItemKind::YesNo => AnswerValue::YesNo(r.random_bool(0.5)),
                ItemKind::Choice { options } => {
                    AnswerValue::Choice(options[r.random_range(0..options.len())].value.clone())
                }
                ItemKind::Number { min, max, .. } => {
                    AnswerValue::Number((min + (max - min).min(100.0) * r.random::<f64>()).floor())
                }
                ItemKind::Text { .. } => AnswerValue::Text("Seen in the front bedroom.".into()),
                ItemKind::Date => AnswerValue::Date(now.date().add_days(r.random_range(1..60))),
                ItemKind::Score { options } => {
                    AnswerValue::Score(options[r.random_range(0..options.len())])
                }
            };
            case.answer(visit, &item.id, value, actor, now)
                .expect("an answer");
        }
    }
    case.add_note(
        "Landlord contacted; works promised within 28 days.",
        actor,
        now,
    )
    .expect("a note");
    case.add_note("No access to the loft on this visit.", actor, now)
        .expect("a note");
    case
}

fn best_of_three<T>(docs: &[AutoCommit], read: impl Fn(&AutoCommit) -> T) -> f64 {
    (0..3)
        .map(|_| {
            let t = Instant::now();
            for d in docs {
                black_box(read(d));
            }
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: usize = std::env::var("FIELDBOOK_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let mut r = StdRng::seed_from_u64(0x5eed);
    let cases: Vec<Case> = (0..n).map(|i| case(i, &mut r)).collect();
    let saved: Vec<Vec<u8>> = cases
        .iter()
        .map(|c| {
            let mut doc = AutoCommit::new();
            autosurgeon::reconcile(&mut doc, c).expect("reconcile");
            doc.save()
        })
        .collect();
    let t = Instant::now();
    let docs: Vec<AutoCommit> = saved
        .iter()
        .map(|b| AutoCommit::load(b).expect("load"))
        .collect();
    let load = t.elapsed().as_secs_f64();
    for (doc, case) in docs.iter().zip(&cases) {
        let plain: Case = autosurgeon::hydrate(doc).expect("hydrate");
        let fast = fieldbook_core::read::hydrate_case(doc).expect("hydrate_case");
        assert_eq!(&plain, case, "plain hydrate lost something");
        assert_eq!(&fast, case, "hydrate_case differs from the case written");
    }
    let plain = best_of_three(&docs, |d| {
        autosurgeon::hydrate::<_, Case>(d).expect("hydrate")
    });
    let fast = best_of_three(&docs, |d| {
        fieldbook_core::read::hydrate_case(d).expect("hydrate_case")
    });
    // automerge's own materialisation of the whole document (no `Case` built): a floor.
    let floor = best_of_three(&docs, |d| {
        automerge::ReadDoc::hydrate(d, automerge::ROOT, None).expect("hydrate")
    });
    let per = |s: f64| s * 1e6 / n as f64;
    let bytes: usize = saved.iter().map(Vec::len).sum();
    println!(
        "{n} cases (2 visits × 20 answers, 2 notes; documents {:.1} KiB each)\n",
        bytes as f64 / 1024.0 / n as f64
    );
    println!("| Step | per case | {n} cases |\n|---|---|---|");
    println!(
        "| `AutoCommit::load` (for scale) | {:.0} µs | {:.3} s |",
        per(load),
        load
    );
    println!(
        "| `autosurgeon::hydrate` (baseline) | {:.0} µs | {:.3} s |",
        per(plain),
        plain
    );
    println!(
        "| `fieldbook_core::read::hydrate_case` | {:.0} µs | {:.3} s ({:.1}× faster) |",
        per(fast),
        fast,
        plain / fast
    );
    println!(
        "| `automerge::ReadDoc::hydrate` of the whole document, no `Case` built (floor) | {:.0} µs | {:.3} s |",
        per(floor),
        floor
    );
}
