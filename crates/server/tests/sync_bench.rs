//! The sync benchmark (`benches/sync/`) with tiny sizes, so it cannot rot: the same code, real
//! server over HTTP and real encrypted devices, on SQLite and on PostgreSQL (a throw-away
//! database from `fieldbook-testkit`). It checks the facts the figures rest on (round trips, the
//! change reached the server, automerge's protocol converged and was measured, the download
//! holds every case, the fleet converged), never a timing.

#[path = "../benches/sync/harness.rs"]
mod harness;

use harness::{Backend, Config, Report};

fn check(report: &Report) {
    let one = &report.one_change;
    assert!(!one.is_empty());
    for c in one {
        assert!(c.rounds <= 2, "{c:?}");
        assert!(c.arrived, "the change did not reach the server: {c:?}");
        assert!(c.request_body > 0 && c.response_body > 0, "{c:?}");
        // Headers travel too: the wire carries more than the bodies.
        assert!(c.wire > c.request_body + c.response_body, "{c:?}");
    }
    let b = &report.baseline;
    assert!(b.converged, "{b:?}");
    assert_eq!(b.documents, report.upload.cases);
    // Every document takes part in automerge's protocol: at least a message each way.
    assert!(b.messages >= 2 * b.documents, "{b:?}");
    assert!(b.round_trips >= 1, "{b:?}");
    let d = &report.download;
    assert_eq!(d.on_device, d.cases as u64, "{d:?}");
    assert!(d.same_heads, "{d:?}");
    assert!(d.server_time > std::time::Duration::ZERO && d.device_time > std::time::Duration::ZERO);
    for r in [&report.no_change, &report.ten_changes, &report.fleet.all] {
        assert!(r.syncs > 0, "{r:?}");
        assert_eq!(r.failures, 0, "{r:?}");
        assert!(r.server_cpu > std::time::Duration::ZERO, "{r:?}");
    }
    assert!(report.fleet.converged, "{:?}", report.fleet.errors);
    let text = report.markdown(&Config::quick());
    assert!(text.contains("| 1 |") && text.contains("| 4 |"), "{text}");
}

#[test]
fn the_sync_bench_runs_on_sqlite() {
    let report = harness::run(&Config::quick(), &Backend::Sqlite).unwrap_or_else(|e| panic!("{e}"));
    check(&report);
}

#[test]
fn the_sync_bench_runs_on_postgres() {
    let db = fieldbook_testkit::PgDatabase::fresh();
    let report = harness::run(&Config::quick(), &Backend::Postgres(db.url().to_string()))
        .unwrap_or_else(|e| panic!("{e}"));
    check(&report);
}
