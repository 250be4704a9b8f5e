//! Declares the app's commands so that `capabilities/` really gates them, and reads the
//! top-level `tauri.conf.json` (the product's layout keeps it beside `ui/` and `icons/`).

const COMMANDS: &[&str] = include!("commands.rs");

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build: {e:#}");
    }
}
