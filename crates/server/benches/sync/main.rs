//! Sync benchmarks (issue 4): `cargo bench -p fieldbook-server --bench sync` (add `-- --quick`
//! for a smoke run). The measuring lives in `harness.rs`, which `tests/sync_bench.rs` also runs
//! with tiny sizes so the benchmark cannot rot. See BENCHMARKS.md ("Sync (issue 4)").

mod harness;

fn main() -> std::process::ExitCode {
    match harness::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sync bench failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
