//! The `fieldbook` binary against a real `fieldbook-server` on loopback (run in this process
//! over real HTTP, on a real SQLite store): two officers' devices log in, sync, change the same
//! field offline, and the CLI shows the conflict with who wrote each value and settles it.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use fieldbook_core::Role;
use fieldbook_server::accounts::Accounts;
use fieldbook_server::http::{AppState, router, serve};
use fieldbook_server::store::{Location, open};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_fieldbook");
const PASSWORD: &str = "a server password";

/// A server on 127.0.0.1 with a free port, team North with a leader and an officer, running on
/// its own thread until the process ends.
fn server(dir: &std::path::Path) -> String {
    let store = open(&Location::Data(dir.join("server"))).unwrap();
    let accounts = Accounts::new(store).unwrap();
    accounts.add_team("North").unwrap();
    accounts
        .add_user("olive", Role::Officer, Some("North"), PASSWORD)
        .unwrap();
    accounts
        .add_user("lena", Role::TeamLeader, Some("North"), PASSWORD)
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(serve(
            listener,
            router(AppState {
                accounts,
                blobs: None,
            }),
            None,
            std::future::pending(),
        ))
        .unwrap();
    });
    format!("http://{addr}")
}

struct Device {
    home: PathBuf,
    data: PathBuf,
}

impl Device {
    fn new(root: &std::path::Path, user: &str, role: &str, number: u32, base: &str) -> Device {
        let home = root.join(user);
        let d = Device {
            data: home.join("device"),
            home,
        };
        d.ok(&[
            "init",
            "--name",
            user,
            "--role",
            role,
            "--device-number",
            &number.to_string(),
        ]);
        d.ok(&["login", "--server", base, "--user", user]);
        d
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .env_remove("FIELDBOOK_DATA")
            .env("FIELDBOOK_PASSPHRASE", "correct horse battery staple")
            .env("FIELDBOOK_PASSWORD", PASSWORD)
            .env("HOME", &self.home)
            .env("XDG_DATA_HOME", self.home.join("xdg"))
            .arg("--data")
            .arg(&self.data)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn text(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "fieldbook {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.text(&all)).unwrap()
    }
}

#[test]
fn the_cli_shows_a_same_field_conflict_with_who_and_settles_it() {
    let root = tempfile::tempdir().unwrap();
    let base = server(root.path());
    let olive = Device::new(root.path(), "olive", "officer", 11, &base);
    let lena = Device::new(root.path(), "lena", "team_leader", 12, &base);

    let case = olive.ok(&[
        "case",
        "create",
        "--kind",
        "general",
        "--title",
        "Abandoned trolley",
    ]);
    let reference = case["reference"].as_str().unwrap().to_string();
    olive.ok(&["sync"]);
    lena.ok(&["sync"]);
    olive.ok(&[
        "case",
        "edit",
        &reference,
        "--title",
        "Trolley in the canal",
    ]);
    lena.ok(&[
        "case",
        "edit",
        &reference,
        "--title",
        "Two trolleys, canal path",
    ]);
    olive.ok(&["sync"]);
    lena.ok(&["sync"]);
    olive.ok(&["sync"]);

    for d in [&olive, &lena] {
        let listed = d.text(&["case", "conflicts", &reference]);
        assert!(listed.contains("1. Title"), "{listed}");
        assert!(
            listed.contains("Trolley in the canal — by olive"),
            "{listed}"
        );
        assert!(
            listed.contains("Two trolleys, canal path — by lena"),
            "{listed}"
        );
        assert!(listed.contains("(shown now)"), "{listed}");
        let shown = d.text(&["case", "show", &reference]);
        assert!(
            shown.contains("Changed by two people at the same time"),
            "{shown}"
        );
    }

    // Lena picks the value that is not shown now.
    let json = lena.ok(&["case", "conflicts", &reference]);
    let values = json[0]["values"].as_array().unwrap();
    let pick = values.iter().position(|v| v["current"] == false).unwrap() + 1;
    let want = values[pick - 1]["shown"].as_str().unwrap().to_string();
    let out = lena.text(&["case", "choose", &reference, "1", &pick.to_string()]);
    assert!(out.contains(&want), "{out}");
    lena.ok(&["sync"]);
    olive.ok(&["sync"]);
    for d in [&olive, &lena] {
        assert_eq!(d.ok(&["case", "show", &reference])["title"], want.as_str());
        let listed = d.text(&["case", "conflicts", &reference]);
        assert!(listed.contains("has no conflicting changes"), "{listed}");
    }

    // Numbers out of range are refused with a reason.
    let out = olive.run(&["--json", "case", "choose", &reference, "1", "1"]);
    assert!(!out.status.success());
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["error"]["code"], "invalid_input", "{err}");
}
