//! `fieldbook-pg start DIR` creates (if needed) and starts a throw-away PostgreSQL cluster in
//! DIR and prints a superuser URL for it; `fieldbook-pg stop DIR` stops it. `scripts/test` runs
//! one for the whole test run and exports the URL as `FIELDBOOK_TEST_PG_URL`, so each test only
//! creates a database (see `fieldbook_testkit`). For tests only: trust auth, fsync off.

use std::path::Path;
use std::process::ExitCode;

use fieldbook_testkit::PgCluster;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [cmd, dir] if cmd == "start" => PgCluster::start_in(Path::new(dir)).map(|cluster| {
            println!("{}", cluster.url("postgres"));
            cluster.detach();
        }),
        [cmd, dir] if cmd == "stop" => PgCluster::stop_dir(Path::new(dir)),
        _ => {
            eprintln!("usage: fieldbook-pg start DIR | fieldbook-pg stop DIR");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fieldbook-pg: {e}");
            ExitCode::FAILURE
        }
    }
}
