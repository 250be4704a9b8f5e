//! The UI's TypeScript types (`ui/src/bindings`) are generated from the DTOs by ts-rs and
//! committed. This test fails when regenerating them would change anything; run it with
//! `FIELDBOOK_UPDATE_BINDINGS=1` to rewrite them after changing a DTO. `templates.json` beside
//! them is the inspection templates this build ships, exactly as the `templates` command
//! returns them, so the UI's mock device and its tests use the real forms.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn files(dir: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "ts" || e == "json") {
            let name = PathBuf::from(path.file_name().unwrap());
            out.insert(name, std::fs::read_to_string(&path).unwrap());
        }
    }
    out
}

fn generate(dir: &Path) {
    fieldbook_app::export_bindings(dir).unwrap();
    let templates = serde_json::to_string_pretty(&fieldbook_app::templates()).unwrap();
    std::fs::write(dir.join("templates.json"), templates + "\n").unwrap();
}

#[test]
fn typescript_bindings_are_current() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/src/bindings");
    if std::env::var_os("FIELDBOOK_UPDATE_BINDINGS").is_some() {
        for old in files(&committed).keys() {
            std::fs::remove_file(committed.join(old)).unwrap();
        }
        generate(&committed);
    }
    let fresh = tempfile::tempdir().unwrap();
    generate(fresh.path());
    let fresh = files(fresh.path());
    assert!(
        fresh.len() >= 25,
        "every DTO is exported: {:?}",
        fresh.keys()
    );
    let committed = files(&committed);
    let stale: Vec<_> = fresh
        .iter()
        .filter(|(name, text)| committed.get(*name) != Some(*text))
        .map(|(name, _)| name.display().to_string())
        .chain(
            committed
                .keys()
                .filter(|name| !fresh.contains_key(*name))
                .map(|name| format!("{} (no longer generated)", name.display())),
        )
        .collect();
    assert!(
        stale.is_empty(),
        "ui/src/bindings is out of date ({stale:?}): run \
         `FIELDBOOK_UPDATE_BINDINGS=1 cargo test -p fieldbook-app --test bindings` and commit"
    );
}
