//! The `fieldbook-server` binary: see `fieldbook_server::cli`.

fn main() -> std::process::ExitCode {
    fieldbook_server::cli::main()
}
