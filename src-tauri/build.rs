//! Declares the app's commands so that `capabilities/` really gates them, and reads the
//! top-level `tauri.conf.json` (the product's layout keeps it beside `ui/` and `icons/`).

const COMMANDS: &[&str] = &[
    "device",
    "init_device",
    "unlock",
    "lock",
    "list_cases",
    "open_case",
    "create_case",
    "edit_case",
    "add_visit",
    "answer",
    "add_note",
    "submit",
    "transition",
    "history",
    "templates",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .config_path("../tauri.conf.json")
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build: {e:#}");
    }
}
