//! End-to-end tests of the `fieldbook` binary against real SQLCipher files in temporary
//! directories. Every command runs the real binary with `FIELDBOOK_PASSPHRASE` set,
//! `FIELDBOOK_DATA` removed and `HOME`, `XDG_DATA_HOME` and `TMPDIR` pointed into a temporary
//! directory, so no test can touch the real home directory.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_fieldbook");
const PASS: &str = "correct horse battery staple";
const NAME: &str = "Alex Officer";

// ---------------------------------------------------------------- helpers

/// A data directory inside its own temporary "home".
struct Device {
    tmp: TempDir,
    data: PathBuf,
    pass: String,
}

impl Device {
    /// A data directory that does not exist yet.
    fn blank() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("device");
        Self {
            tmp,
            data,
            pass: PASS.into(),
        }
    }

    /// A new officer device.
    fn officer() -> Self {
        Self::with_role("officer")
    }

    fn with_role(role: &str) -> Self {
        let d = Self::blank();
        let dev = d.ok(&[
            "init",
            "--name",
            NAME,
            "--role",
            role,
            "--device-number",
            "3",
        ]);
        assert_eq!(dev["role"], role);
        d
    }

    fn home(&self) -> &Path {
        self.tmp.path()
    }

    /// The binary with a clean, sandboxed environment; `--data` is always given.
    fn command(&self, pass: &str) -> Command {
        let mut c = Command::new(BIN);
        c.env_remove("FIELDBOOK_DATA")
            .env("FIELDBOOK_PASSPHRASE", pass)
            .env("FIELDBOOK_PASSWORD", "a server password")
            .env("HOME", self.home())
            .env("XDG_DATA_HOME", self.home().join("xdg"))
            .env("TMPDIR", self.home())
            .arg("--data")
            .arg(&self.data)
            .stdin(Stdio::null());
        c
    }

    fn run_with(&self, pass: &str, args: &[&str]) -> Output {
        self.command(pass).args(args).output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(&self.pass, args)
    }

    /// Run with `--json`, expect success, parse stdout.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(&with_json(args));
        assert!(
            out.status.success(),
            "fieldbook {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "fieldbook {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Run with `--json`, expect exit code 1 with a JSON error on stderr and nothing on stdout;
    /// returns (code, message).
    fn fails_with(&self, pass: &str, args: &[&str]) -> (String, String) {
        let out = self.run_with(pass, &with_json(args));
        error_of(args, &out)
    }

    fn fails(&self, args: &[&str]) -> (String, String) {
        self.fails_with(&self.pass, args)
    }

    /// Expect the command to fail with `code`; returns the message.
    fn refuses(&self, code: &str, args: &[&str]) -> String {
        let (got, message) = self.fails(args);
        assert_eq!(got, code, "fieldbook {args:?}: {message}");
        assert!(!message.trim().is_empty(), "fieldbook {args:?}: no message");
        message
    }

    fn create(&self, args: &[&str]) -> Value {
        let mut all = vec!["case", "create"];
        all.extend_from_slice(args);
        self.ok(&all)
    }

    fn show(&self, reference: &str) -> Value {
        self.ok(&["case", "show", reference])
    }

    fn list(&self, args: &[&str]) -> Value {
        let mut all = vec!["case", "list"];
        all.extend_from_slice(args);
        self.ok(&all)
    }

    /// Everything a bad command must leave alone: every case and the device's counters.
    fn snapshot(&self) -> (Value, Value) {
        (self.list(&["--limit", "500"]), self.ok(&["device"]))
    }
}

fn with_json<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["--json"];
    v.extend_from_slice(args);
    v
}

fn error_of(args: &[&str], out: &Output) -> (String, String) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "fieldbook {args:?} should fail with exit code 1; stderr: {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "fieldbook {args:?} failed but printed to stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_str(stderr.trim())
        .unwrap_or_else(|e| panic!("fieldbook {args:?}: stderr is not JSON ({e}): {stderr}"));
    (
        v["error"]["code"].as_str().unwrap().to_string(),
        v["error"]["message"].as_str().unwrap().to_string(),
    )
}

fn s(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

fn refs(page: &Value) -> Vec<String> {
    page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["reference"]).to_string())
        .collect()
}

fn titles(page: &Value) -> Vec<String> {
    page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| s(&c["title"]).to_string())
        .collect()
}

fn total(page: &Value) -> u64 {
    page["total"].as_u64().unwrap()
}

/// A valid answer for an item of a template, by the item's kind (from `template show --json`).
fn valid_answer(item: &Value) -> String {
    let first_option = || s(&item["options"][0]["value"]).to_string();
    match s(&item["kind"]) {
        "yes_no" => "yes".into(),
        "choice" | "score" => first_option(),
        "number" => {
            let min = item["min"].as_f64().unwrap();
            let max = item["max"].as_f64().unwrap();
            let mid = ((min + max) / 2.0).floor();
            format!("{mid}")
        }
        "text" => "Checked on site with the manager".into(),
        "date" => "2027-01-31".into(),
        other => panic!("no valid answer known for an item of kind {other}: {item}"),
    }
}

// ---------------------------------------------------------------- device set-up

#[test]
fn init_sets_up_a_device_once_and_refuses_weak_passphrases() {
    let d = Device::blank();
    let dev = d.ok(&["init", "--name", NAME, "--device-number", "7"]);
    assert_eq!(dev["person_name"], NAME);
    assert_eq!(dev["role"], "officer");
    assert_eq!(dev["device_number"], 7);
    assert_eq!(dev["case_count"], 0);
    assert!(d.data.join("fieldbook.db").is_file());

    // `device` opens it again and says the same.
    let again = d.ok(&["device"]);
    assert_eq!(again, dev);
    let text = d.run(&["device"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(NAME) && text.contains("officer"), "{text}");

    // A second init is refused and changes nothing.
    let db_before = std::fs::read(d.data.join("fieldbook.db")).unwrap();
    let key_before = std::fs::read(d.data.join("fieldbook.key")).unwrap();
    d.refuses(
        "already_initialised",
        &["init", "--name", "Someone Else", "--device-number", "8"],
    );
    assert_eq!(
        std::fs::read(d.data.join("fieldbook.key")).unwrap(),
        key_before
    );
    assert_eq!(
        std::fs::read(d.data.join("fieldbook.db")).unwrap(),
        db_before
    );
    assert_eq!(d.ok(&["device"]), dev);

    // A weak passphrase is refused, and no half-made device is left behind.
    let weak = Device::blank();
    let (code, message) =
        weak.fails_with("short", &["init", "--name", NAME, "--device-number", "9"]);
    assert_eq!(code, "weak_passphrase", "{message}");
    assert!(!weak.data.join("fieldbook.db").exists());
    assert!(!weak.data.join("fieldbook.key").exists());
    weak.refuses("not_initialised", &["device"]);

    // An unknown role is refused.
    let bad_role = Device::blank();
    bad_role.refuses(
        "unknown_role",
        &[
            "init",
            "--name",
            NAME,
            "--role",
            "boss",
            "--device-number",
            "9",
        ],
    );
}

#[test]
fn a_team_leader_device_shows_its_role_and_holds_only_its_own_cases() {
    let officer = Device::officer();
    let case = officer.create(&["--kind", "general", "--title", "Overgrown garden"]);
    let reference = s(&case["reference"]);

    let leader = Device::with_role("team_leader");
    let dev = leader.ok(&["device"]);
    assert_eq!(dev["role"], "team_leader");
    assert_ne!(dev["device_id"], officer.ok(&["device"])["device_id"]);
    // Separate devices: the officer's case has not synced here.
    assert_eq!(total(&leader.list(&[])), 0);
    leader.refuses("case_not_found", &["case", "show", reference]);
}

// ---------------------------------------------------------------- cases

#[test]
fn case_create_with_every_option_and_show_by_reference_or_id() {
    let d = Device::officer();
    let me = d.ok(&["device"]);
    let c = d.create(&[
        "--kind",
        "food_hygiene",
        "--title",
        "The Golden Spoon Cafe",
        "--address",
        "12 High Street, Anytown",
        "--postcode",
        "sw1a2aa",
        "--uprn",
        "100023336956",
        "--lat",
        "51.5034",
        "--lon",
        "-0.1276",
        "--due",
        "2027-01-15",
    ]);
    let id = s(&c["id"]).to_string();
    let reference = s(&c["reference"]).to_string();
    assert!(!id.is_empty());
    assert!(reference.starts_with("FH-"), "{reference}");
    assert!(
        reference.contains("-3-"),
        "device number 3 is in {reference}"
    );
    assert_eq!(c["kind"], "food_hygiene");
    assert_eq!(c["title"], "The Golden Spoon Cafe");
    assert_eq!(c["address"], "12 High Street, Anytown");
    assert_eq!(c["postcode"], "SW1A 2AA");
    assert_eq!(c["uprn"], 100_023_336_956u64);
    assert_eq!(c["location"]["lat"], 51.5034);
    assert_eq!(c["location"]["lon"], -0.1276);
    assert_eq!(c["location"]["source"], "manual");
    assert_eq!(c["due"], "2027-01-15");
    assert_eq!(c["status"], "open");
    assert_eq!(c["created_by"]["name"], NAME);
    assert_eq!(c["assignee"]["id"], me["person_id"]);
    assert_eq!(c["editable"], true);

    // By reference in any letter case, and by id: the same case.
    assert_eq!(d.show(&reference), c);
    assert_eq!(d.show(&reference.to_lowercase()), c);
    let mixed: String = reference
        .chars()
        .enumerate()
        .map(|(i, ch)| {
            if i % 2 == 0 {
                ch.to_ascii_lowercase()
            } else {
                ch
            }
        })
        .collect();
    assert_eq!(d.show(&mixed), c);
    assert_eq!(d.show(&id), c);

    // Kind prefixes work as kinds; the second case gets the next reference.
    let c2 = d.create(&["--kind", "hs", "--title", "Damp flat"]);
    assert_eq!(c2["kind"], "housing");
    assert!(s(&c2["reference"]).starts_with("HS-"));
    assert_ne!(c2["id"], c["id"]);
    assert_eq!(c2["address"], Value::Null);
    assert_eq!(c2["location"], Value::Null);
    assert_eq!(d.ok(&["device"])["case_count"], 2);

    // Plain text output names the case.
    let text = d.run(&["case", "show", &reference]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(&reference) && text.contains("The Golden Spoon Cafe"));
    assert!(text.contains("SW1A 2AA"), "{text}");
}

#[test]
fn case_list_filters_sorts_and_pages() {
    let d = Device::officer();
    let me = s(&d.ok(&["device"])["person_id"]).to_string();
    let mk = |kind: &str, title: &str, due: Option<&str>| {
        let mut args = vec!["--kind", kind, "--title", title];
        if let Some(due) = due {
            args.extend(["--due", due]);
        }
        s(&d.create(&args)["reference"]).to_string()
    };
    let made = [
        mk("food_hygiene", "Alpha Bakery", Some("2027-03-10")),
        mk("housing", "Bravo flat", Some("2027-01-05")),
        mk("highways", "Charlie pothole", Some("2027-02-20")),
        mk("food_hygiene", "Delta Cafe", None),
        mk("fly_tipping", "Echo mattresses", Some("2027-04-01")),
    ];
    let [a, b, c, dd, e] = made.each_ref().map(String::as_str);
    // C starts work (in progress); B gets a note (searchable, and the latest update).
    d.ok(&["visit", "add", c]);
    d.ok(&["note", "add", b, "Black mould in the bathroom"]);

    let all = d.list(&[]);
    assert_eq!(total(&all), 5);
    // Default order: due date, soonest first, undated last.
    assert_eq!(refs(&all), [b, c, a, e, dd]);
    assert_eq!(all["offset"], 0);
    assert_eq!(all["limit"], 50);
    // Descending: latest due first, undated still last.
    assert_eq!(refs(&d.list(&["--desc"])), [e, a, c, b, dd]);

    // Kinds and statuses, single and repeated.
    let fh = d.list(&["--kind", "food_hygiene"]);
    assert_eq!(total(&fh), 2);
    assert_eq!(refs(&fh), [a, dd]);
    assert_eq!(total(&d.list(&["--kind", "FH", "--kind", "housing"])), 3);
    let busy = d.list(&["--status", "in_progress"]);
    assert_eq!(refs(&busy), [c]);
    assert_eq!(busy["cases"][0]["visit_count"], 1);
    assert_eq!(total(&d.list(&["--status", "open"])), 4);
    assert_eq!(
        total(&d.list(&["--status", "open", "--status", "in_progress"])),
        5
    );
    assert_eq!(total(&d.list(&["--status", "submitted"])), 0);
    assert_eq!(
        refs(&d.list(&["--status", "open", "--kind", "food_hygiene", "--desc"])),
        [a, dd]
    );

    // Search: title words, note text, any letter case.
    let found = d.list(&["--search", "bakery"]);
    assert_eq!(refs(&found), [a]);
    assert_eq!(refs(&d.list(&["--search", "MOULD"])), [b]);
    assert_eq!(refs(&d.list(&["--search", "pothole"])), [c]);
    assert_eq!(total(&d.list(&["--search", "zebra"])), 0);

    // Assignee: every case is assigned to its creator.
    assert_eq!(total(&d.list(&["--assignee", "me"])), 5);
    assert_eq!(total(&d.list(&["--assignee", &me])), 5);
    assert_eq!(
        total(&d.list(&["--assignee", "01a20f77-2461-77dc-8e84-000000000001"])),
        0
    );

    // Due date ranges are inclusive; undated cases are outside every range.
    assert_eq!(refs(&d.list(&["--due-before", "2027-02-20"])), [b, c]);
    assert_eq!(refs(&d.list(&["--due-after", "2027-03-10"])), [a, e]);
    assert_eq!(
        refs(&d.list(&["--due-after", "2027-01-06", "--due-before", "2027-03-10"])),
        [c, a]
    );
    assert_eq!(total(&d.list(&["--due-before", "2026-01-01"])), 0);

    // Sorts.
    let by_title = d.list(&["--sort", "title"]);
    assert_eq!(
        titles(&by_title),
        [
            "Alpha Bakery",
            "Bravo flat",
            "Charlie pothole",
            "Delta Cafe",
            "Echo mattresses"
        ]
    );
    let mut reversed = titles(&by_title);
    reversed.reverse();
    assert_eq!(titles(&d.list(&["--sort", "title", "--desc"])), reversed);
    let mut sorted = vec![a, b, c, dd, e];
    sorted.sort();
    assert_eq!(refs(&d.list(&["--sort", "reference"])), sorted);
    sorted.reverse();
    assert_eq!(refs(&d.list(&["--sort", "reference", "--desc"])), sorted);
    assert_eq!(refs(&d.list(&["--sort", "created"])), [a, b, c, dd, e]);
    assert_eq!(
        refs(&d.list(&["--sort", "created", "--desc"])),
        [e, dd, c, b, a]
    );
    // "updated" lists the most recently changed first.
    assert_eq!(refs(&d.list(&["--sort", "updated"])), [b, c, e, dd, a]);

    // Paging keeps the total and the order.
    let p1 = d.list(&["--limit", "2"]);
    assert_eq!(total(&p1), 5);
    assert_eq!(refs(&p1), [b, c]);
    assert_eq!(p1["limit"], 2);
    let p2 = d.list(&["--limit", "2", "--offset", "2"]);
    assert_eq!(total(&p2), 5);
    assert_eq!(refs(&p2), [a, e]);
    assert_eq!(p2["offset"], 2);
    let p3 = d.list(&["--limit", "2", "--offset", "4"]);
    assert_eq!(total(&p3), 5);
    assert_eq!(refs(&p3), [dd]);
    let past = d.list(&["--limit", "2", "--offset", "5"]);
    assert_eq!((total(&past), refs(&past).len()), (5, 0));
    let fh_page = d.list(&["--kind", "food_hygiene", "--limit", "1", "--offset", "1"]);
    assert_eq!(total(&fh_page), 2);
    assert_eq!(refs(&fh_page), [dd]);

    // Bad list arguments are refused.
    d.refuses("invalid_input", &["case", "list", "--limit", "0"]);
    d.refuses("invalid_input", &["case", "list", "--sort", "colour"]);
    d.refuses("unknown_status", &["case", "list", "--status", "done"]);
    d.refuses("unknown_case_kind", &["case", "list", "--kind", "parking"]);
    d.refuses(
        "invalid_date",
        &["case", "list", "--due-before", "2027-13-01"],
    );
    d.refuses("invalid_id", &["case", "list", "--assignee", "someone"]);

    // The text listing counts.
    let text = d.run(&["case", "list", "--limit", "2"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("1-2 of 5 cases"), "{text}");
}

#[test]
fn case_edit_changes_and_clears_fields() {
    let d = Device::officer();
    let c = d.create(&[
        "--kind",
        "housing",
        "--title",
        "Flat 3, damp",
        "--address",
        "3 Mill Road",
        "--postcode",
        "AB1 2CD",
        "--uprn",
        "42",
        "--lat",
        "51.45",
        "--lon",
        "-2.6",
        "--due",
        "2027-05-01",
    ]);
    let reference = s(&c["reference"]).to_string();

    let e = d.ok(&[
        "case",
        "edit",
        &reference,
        "--title",
        "Flat 3, damp and mould",
        "--postcode",
        "xy9 8zw",
        "--due",
        "2027-06-30",
        "--lat",
        "-33.9",
        "--lon",
        "151.2",
    ]);
    assert_eq!(e["title"], "Flat 3, damp and mould");
    assert_eq!(e["postcode"], "XY9 8ZW");
    assert_eq!(e["due"], "2027-06-30");
    assert_eq!(e["location"]["lat"], -33.9);
    assert_eq!(e["location"]["lon"], 151.2);
    // Untouched fields stay.
    assert_eq!(e["address"], "3 Mill Road");
    assert_eq!(e["uprn"], 42);
    assert_eq!(d.show(&reference), e);

    // Empty values clear fields; --clear-location removes the location.
    let cleared = d.ok(&[
        "case",
        "edit",
        &reference,
        "--address",
        "",
        "--postcode",
        "",
        "--uprn",
        "",
        "--due",
        "",
        "--clear-location",
    ]);
    for field in ["address", "postcode", "uprn", "due", "location"] {
        assert_eq!(cleared[field], Value::Null, "{field} should be cleared");
    }
    assert_eq!(cleared["title"], "Flat 3, damp and mould");
    assert_eq!(d.show(&reference), cleared);
    let row = &d.list(&[])["cases"][0];
    assert_eq!(row["postcode"], Value::Null);
    assert_eq!(row["lat"], Value::Null);

    // A title cannot be cleared; an edit that changes nothing is refused; neither writes.
    let before = d.snapshot();
    d.refuses("empty_title", &["case", "edit", &reference, "--title", ""]);
    d.refuses("invalid_input", &["case", "edit", &reference]);
    d.refuses(
        "invalid_postcode",
        &["case", "edit", &reference, "--postcode", "12345"],
    );
    d.refuses(
        "invalid_location",
        &["case", "edit", &reference, "--lat", "0", "--lon", "200"],
    );
    assert_eq!(d.snapshot(), before);

    let history = d.ok(&["case", "history", &reference]);
    let messages: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| s(&h["message"]))
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(messages[0].starts_with("Created case"), "{messages:?}");
    assert!(messages[1].contains("title") && messages[1].contains("postcode"));
    assert!(messages[2].contains("address") && messages[2].contains("location"));
}

// ---------------------------------------------------------------- visits and review

#[test]
fn visits_answers_notes_submit_and_history() {
    let d = Device::officer();
    let case = d.create(&["--kind", "food_hygiene", "--title", "Riverside Fish Bar"]);
    let reference = s(&case["reference"]).to_string();

    // The kind's default template, then a general visit on purpose.
    let c = d.ok(&["visit", "add", &reference]);
    assert_eq!(c["status"], "in_progress");
    assert_eq!(c["visits"].as_array().unwrap().len(), 1);
    assert_eq!(c["visits"][0]["template_id"], "food-hygiene");
    assert_eq!(c["visits"][0]["officer"]["name"], NAME);
    let fh_visit = s(&c["visits"][0]["id"]).to_string();
    let c = d.ok(&[
        "visit",
        "add",
        &reference,
        "--template",
        "general-visit",
        "--lat",
        "51.5",
        "--lon",
        "-0.12",
    ]);
    assert_eq!(c["visits"].as_array().unwrap().len(), 2);
    assert_eq!(c["visits"][1]["template_id"], "general-visit");
    assert_eq!(c["visits"][1]["location"]["source"], "device");
    let general_visit = s(&c["visits"][1]["id"]).to_string();
    d.refuses(
        "unknown_template",
        &["visit", "add", &reference, "--template", "no-such-template"],
    );
    let mut changes = 3; // created, two visits

    // Answer by visit number, by "latest" and by full id.
    let c = d.ok(&[
        "visit",
        "answer",
        &reference,
        "1",
        "fh.business_type",
        "cafe",
    ]);
    assert_eq!(c["visits"][0]["answers"][0]["item_id"], "fh.business_type");
    assert_eq!(c["visits"][0]["answers"][0]["input"], "cafe");
    assert_eq!(c["visits"][0]["answers"][0]["by"]["name"], NAME);
    let c = d.ok(&[
        "visit",
        "answer",
        &reference,
        "latest",
        "visit_type",
        "Complaint",
    ]);
    assert_eq!(c["visits"][1]["answers"][0]["item_id"], "visit_type");
    assert_eq!(c["visits"][1]["answers"][0]["input"], "complaint");
    let c = d.ok(&[
        "visit",
        "answer",
        &reference,
        &fh_visit,
        "fh.fbo_present",
        "yes",
    ]);
    let fbo = c["visits"][0]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["item_id"] == "fh.fbo_present")
        .unwrap();
    assert_eq!(fbo["input"], "yes");
    changes += 3;

    // Invalid answers are refused and nothing is saved.
    let before = d.show(&reference);
    let history_before = d.ok(&["case", "history", &reference]);
    for (visit, item, value) in [
        ("1", "fh.hygiene", "7"),
        ("1", "fh.food_handlers", "5000"),
        ("1", "fh.food_handlers", "2.5"),
        ("1", "fh.fbo_present", "maybe"),
        ("1", "fh.business_type", "spaceship"),
        ("latest", "follow_up_date", "2027-02-30"),
    ] {
        d.refuses(
            "invalid_answer",
            &["visit", "answer", &reference, visit, item, value],
        );
    }
    d.refuses(
        "unknown_item",
        &["visit", "answer", &reference, "1", "fh.no_such_item", "yes"],
    );
    d.refuses(
        "invalid_input",
        &["visit", "answer", &reference, "9", "fh.fbo_present", "yes"],
    );
    let after = d.show(&reference);
    assert_eq!(
        after["visits"][0]["answers"],
        before["visits"][0]["answers"]
    );
    assert_eq!(
        after["visits"][1]["answers"],
        before["visits"][1]["answers"]
    );
    assert_eq!(after, before);
    assert_eq!(d.ok(&["case", "history", &reference]), history_before);

    // A note.
    let c = d.ok(&[
        "note",
        "add",
        &reference,
        "Hand-wash basin blocked by boxes.",
    ]);
    assert_eq!(c["notes"][0]["text"], "Hand-wash basin blocked by boxes.");
    assert_eq!(c["notes"][0]["author"]["name"], NAME);
    changes += 1;

    // Submitting with required answers missing is refused and says which.
    let c = d.show(&reference);
    let (code, message) = d.fails(&["case", "submit", &reference]);
    assert_eq!(code, "visit_incomplete", "{message}");
    let named = c["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| message.contains(s(&v["id"])))
        .unwrap_or_else(|| panic!("the message names no visit: {message}"));
    let missing = named["missing_required"].as_array().unwrap();
    assert!(!missing.is_empty());
    for label in missing {
        assert!(message.contains(s(label)), "{message} should list {label}");
    }
    assert_eq!(d.show(&reference), c);

    // Answer every required item of each visit's template with a valid value.
    for (number, visit) in [(0, &fh_visit), (1, &general_visit)] {
        let template_id = s(&c["visits"][number]["template_id"]).to_string();
        let template = d.ok(&["template", "show", &template_id]);
        let answered: Vec<String> = c["visits"][number]["answers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| s(&a["item_id"]).to_string())
            .collect();
        for section in template["sections"].as_array().unwrap() {
            for item in section["items"].as_array().unwrap() {
                let id = s(&item["id"]);
                if item["required"] != true || answered.iter().any(|a| a == id) {
                    continue;
                }
                let value = valid_answer(item);
                d.ok(&["visit", "answer", &reference, visit, id, &value]);
                changes += 1;
            }
        }
    }
    let c = d.show(&reference);
    for v in c["visits"].as_array().unwrap() {
        assert_eq!(v["missing_required"], Value::Array(vec![]), "{v}");
    }
    // Scores 0 / 0 / 0 give the top food hygiene rating.
    assert_eq!(c["visits"][0]["score"]["rating"], 5);

    let submitted = d.ok(&["case", "submit", &reference]);
    assert_eq!(submitted["status"], "submitted");
    assert_eq!(submitted["editable"], false);
    changes += 1;

    // An officer cannot approve, and a submitted case is locked for edits.
    let before = d.show(&reference);
    d.refuses(
        "role_may_not_transition",
        &["case", "move", &reference, "--to", "approved"],
    );
    d.refuses(
        "role_may_not_transition",
        &[
            "case",
            "move",
            &reference,
            "--to",
            "returned",
            "--comment",
            "no",
        ],
    );
    d.refuses(
        "case_locked",
        &["case", "edit", &reference, "--title", "Changed"],
    );
    d.refuses(
        "case_locked",
        &["visit", "answer", &reference, "1", "fh.fbo_present", "no"],
    );
    d.refuses(
        "unknown_status",
        &["case", "move", &reference, "--to", "done"],
    );
    assert_eq!(d.show(&reference), before);

    // The history: every change, oldest first, by name.
    let history = d.ok(&["case", "history", &reference]);
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), changes, "{history:#?}");
    let messages: Vec<&str> = history.iter().map(|h| s(&h["message"])).collect();
    assert!(messages[0].starts_with("Created case"), "{messages:?}");
    assert!(messages[0].contains(&reference), "{messages:?}");
    assert_eq!(messages[1], "Started a visit (Food hygiene inspection)");
    assert_eq!(messages[2], "Started a visit (General visit)");
    assert!(messages[3].starts_with("Answered"), "{messages:?}");
    assert_eq!(messages[6], "Added a note");
    assert_eq!(*messages.last().unwrap(), "Submitted for review");
    for h in history {
        assert_eq!(h["person"]["name"], NAME, "{h}");
    }
    let times: Vec<&str> = history.iter().map(|h| s(&h["at"])).collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "history out of order: {times:?}"
    );
    let text = d.run(&["case", "history", &reference]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.lines().count(), changes, "{text}");
    assert!(text.lines().all(|l| l.contains(NAME)), "{text}");
}

#[test]
fn templates_are_listed_and_shown() {
    let d = Device::blank(); // templates need no device
    let list = d.ok(&["template", "list"]);
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| s(&t["id"]))
        .collect();
    assert!(ids.contains(&"food-hygiene"), "{ids:?}");
    assert!(ids.contains(&"general-visit"), "{ids:?}");

    let fh = d.ok(&["template", "show", "food-hygiene"]);
    assert_eq!(fh["id"], "food-hygiene");
    assert_eq!(fh["title"], "Food hygiene inspection");
    assert_eq!(fh["case_kinds"], serde_json::json!(["food_hygiene"]));
    let items: Vec<&Value> = fh["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .collect();
    let hygiene = items.iter().find(|i| i["id"] == "fh.hygiene").unwrap();
    assert_eq!(hygiene["kind"], "score");
    assert_eq!(hygiene["required"], true);
    assert!(!hygiene["options"].as_array().unwrap().is_empty());

    let text = d.run(&["template", "show", "general-visit"]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("General visit") && text.contains("visit_type"),
        "{text}"
    );

    d.refuses("invalid_input", &["template", "show", "no-such-template"]);
    assert!(!d.data.exists(), "templates must not create a device");
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_input_is_refused_with_its_code_and_writes_nothing() {
    let d = Device::officer();
    let existing = d.create(&["--kind", "general", "--title", "Existing case"]);
    let reference = s(&existing["reference"]).to_string();
    let before = d.snapshot();
    let long_title = "x".repeat(201);

    fn create<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["case", "create", "--kind", "FH", "--title", "Bad input"];
        args.extend_from_slice(extra);
        args
    }
    let refusals: Vec<(&str, Vec<&str>)> = vec![
        ("invalid_location", create(&["--lat", "91", "--lon", "0"])),
        (
            "invalid_location",
            create(&["--lat", "-90.0001", "--lon", "0"]),
        ),
        ("invalid_location", create(&["--lat", "0", "--lon", "-181"])),
        ("invalid_location", create(&["--lat", "NaN", "--lon", "0"])),
        ("invalid_location", create(&["--lat", "0", "--lon", "NaN"])),
        ("invalid_location", create(&["--lat", "inf", "--lon", "0"])),
        (
            "invalid_postcode",
            create(&["--postcode", "NOT A POSTCODE"]),
        ),
        ("invalid_postcode", create(&["--postcode", "12345"])),
        ("invalid_uprn", create(&["--uprn", "12a"])),
        ("invalid_uprn", create(&["--uprn", "1234567890123"])),
        ("invalid_uprn", create(&["--uprn", "0"])),
        ("invalid_date", create(&["--due", "2027-02-30"])),
        ("invalid_date", create(&["--due", "tomorrow"])),
        (
            "empty_title",
            vec!["case", "create", "--kind", "FH", "--title", ""],
        ),
        (
            "empty_title",
            vec!["case", "create", "--kind", "FH", "--title", "   "],
        ),
        (
            "too_long",
            vec!["case", "create", "--kind", "FH", "--title", &long_title],
        ),
        (
            "unknown_case_kind",
            vec!["case", "create", "--kind", "parking", "--title", "T"],
        ),
        ("case_not_found", vec!["case", "show", "FH-2026-1-9999"]),
        ("case_not_found", vec!["case", "show", "nonsense"]),
        (
            "case_not_found",
            vec!["case", "show", "01a20f77-2461-77dc-8e84-000000000001"],
        ),
        (
            "case_not_found",
            vec!["case", "edit", "GN-2026-1-9999", "--title", "T"],
        ),
        ("case_not_found", vec!["visit", "add", "GN-2026-1-9999"]),
        (
            "case_not_found",
            vec!["note", "add", "GN-2026-1-9999", "hi"],
        ),
        ("case_not_found", vec!["case", "history", "GN-2026-1-9999"]),
        ("case_not_found", vec!["case", "submit", "GN-2026-1-9999"]),
        (
            "too_long",
            vec!["case", "edit", &reference, "--title", &long_title],
        ),
        (
            "invalid_uprn",
            vec![
                "case", "edit", &reference, "--title", "Valid", "--uprn", "x",
            ],
        ),
        // An open case has no visit yet, so there is nothing to review.
        ("no_visits", vec!["case", "submit", &reference]),
        (
            "transition_not_allowed",
            vec!["case", "move", &reference, "--to", "closed"],
        ),
    ];
    for (code, args) in &refusals {
        d.refuses(code, args);
    }
    assert_eq!(d.snapshot(), before, "a refused command changed the device");

    // A case in progress with no visits cannot be submitted either.
    d.ok(&["case", "move", &reference, "--to", "in_progress"]);
    d.refuses("no_visits", &["case", "submit", &reference]);
    assert_eq!(d.show(&reference)["status"], "in_progress");

    // The limit is 200 characters, not fewer.
    let ok_title = "y".repeat(200);
    let c = d.create(&["--kind", "general", "--title", &ok_title]);
    assert_eq!(s(&c["title"]).chars().count(), 200);

    // Usage errors are clap's: exit code 2.
    for args in [
        vec!["case", "create", "--kind", "FH"],
        vec![
            "case", "create", "--kind", "FH", "--title", "T", "--lat", "1",
        ],
        vec!["case", "frobnicate"],
        vec!["case", "list", "--limit", "lots"],
    ] {
        let out = d.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }

    // Without --json the error is one human line on stderr, still exit code 1.
    let out = d.run(&["case", "show", "FH-2026-1-9999"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("FH-2026-1-9999"), "{stderr}");
}

#[test]
fn devices_that_cannot_be_opened_say_why() {
    let d = Device::officer();
    d.create(&["--kind", "general", "--title", "Something"]);
    let before = d.snapshot();

    // Wrong passphrase.
    let (code, message) = d.fails_with("not the passphrase", &["case", "list"]);
    assert_eq!(code, "wrong_passphrase", "{message}");
    let (code, _) = d.fails_with("", &["device"]);
    assert_eq!(code, "wrong_passphrase");
    assert_eq!(d.snapshot(), before);

    // A data directory that does not exist: not created by trying.
    let missing = Device::blank();
    missing.refuses("not_initialised", &["device"]);
    missing.refuses("not_initialised", &["case", "list"]);
    assert!(!missing.data.exists());

    // A data directory that is a regular file, for opening and for init.
    let file = Device::blank();
    std::fs::write(&file.data, b"just a file").unwrap();
    file.refuses("data_dir", &["device"]);
    file.refuses("data_dir", &["case", "list"]);
    file.refuses(
        "data_dir",
        &["init", "--name", NAME, "--device-number", "9"],
    );
    assert_eq!(std::fs::read(&file.data).unwrap(), b"just a file");

    // A damaged database file.
    let corrupt = Device::officer();
    corrupt.create(&["--kind", "general", "--title", "Soon lost"]);
    let db = corrupt.data.join("fieldbook.db");
    let garbage: Vec<u8> = (0..64 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&db, &garbage).unwrap();
    for side in ["fieldbook.db-wal", "fieldbook.db-shm"] {
        let _ = std::fs::remove_file(corrupt.data.join(side));
    }
    corrupt.refuses("corrupt_database", &["device"]);
    corrupt.refuses("corrupt_database", &["case", "list"]);
    // Nothing tried to "repair" it by writing.
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
}

// ---------------------------------------------------------------- demo

#[test]
fn demo_runs_and_keeps_its_database_encrypted() {
    let sandbox = Device::blank();
    // TMPDIR points into the sandbox, so the demo's throw-away device lands there.
    let out = sandbox.run(&["--json", "demo", "--cases", "50"]);
    assert!(
        out.status.success(),
        "demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let dir = PathBuf::from(s(&v["data_dir"]));
    assert!(
        dir.starts_with(sandbox.home()),
        "demo data {dir:?} is outside the sandbox"
    );
    assert_eq!(v["case"]["title"], "The Golden Spoon Cafe");
    assert_eq!(v["case"]["status"], "submitted");
    assert!(!v["history"].as_array().unwrap().is_empty());

    // The demo device opens with its passphrase and holds 50 + 1 cases.
    let demo = Device {
        tmp: tempfile::tempdir().unwrap(),
        data: dir.clone(),
        pass: "demo passphrase".into(),
    };
    assert_eq!(total(&demo.list(&[])), 51);
    assert_eq!(total(&demo.list(&["--search", "golden spoon"])), 1);

    // No plain text on disk: the database, its WAL and the key file.
    let needles: [&[u8]; 4] = [b"Golden Spoon", b"High Street", b"Anytown", b"hand-wash"];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for needle in needles {
            assert!(
                !bytes
                    .windows(needle.len())
                    .any(|w| w.eq_ignore_ascii_case(needle)),
                "{} holds {:?} in plain bytes",
                path.display(),
                String::from_utf8_lossy(needle)
            );
        }
    }
    assert!(std::fs::read(dir.join("fieldbook.db")).unwrap().len() > 4096);

    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!dir.exists());
}

#[test]
fn login_and_sync_refuse_insecure_servers_and_devices_not_signed_in() {
    let d = Device::officer();
    d.refuses("not_signed_in", &["sync"]);
    // Plain http to another machine is refused before any password is asked for or sent.
    let message = d.refuses(
        "insecure_server",
        &[
            "login",
            "--server",
            "http://fieldbook.example",
            "--user",
            "olive",
        ],
    );
    assert!(message.contains("https://"), "{message}");
    d.refuses(
        "invalid_server",
        &["login", "--server", "fieldbook", "--user", "olive"],
    );
    // Nothing listens on this loopback port: the server cannot be reached, and nothing changes.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    d.refuses(
        "server_unreachable",
        &["login", "--server", &url, "--user", "olive"],
    );
    d.refuses("not_signed_in", &["sync"]);
}

// ---------------------------------------------------------------- photos and places

fn app_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../app/tests/data")
        .join(name)
}

fn core_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../core/tests/data")
        .join(name)
}

#[test]
fn photos_are_added_listed_captioned_and_exported_and_case_show_gives_grid_and_ward() {
    let d = Device::officer();
    let wards = core_data("wards_millbrook.geojson");
    let loaded = d.ok(&["place", "load-wards", wards.to_str().unwrap()]);
    assert_eq!(loaded["wards"], 4);
    let c = d.create(&[
        "--kind",
        "food_hygiene",
        "--title",
        "Mill Cafe",
        "--lat",
        "52.015",
        "--lon",
        "-1.005",
    ]);
    let reference = s(&c["reference"]).to_string();
    d.ok(&["visit", "add", &reference]);

    let photo = app_data("millbrook-portrait-gps.jpg");
    let added = d.ok(&[
        "photo",
        "add",
        &reference,
        photo.to_str().unwrap(),
        "--visit",
        "1",
        "--caption",
        "Rear yard",
    ]);
    assert_eq!(added["added"], true);
    let sha = s(&added["photo"]["sha256"]).to_string();
    assert_eq!(added["photo"]["caption"], "Rear yard");
    assert_eq!(added["photo"]["visit_id"], c_visit(&d, &reference));
    assert_eq!(
        added["photo"]["location"]["ward"]["name"],
        "Millbrook North"
    );
    let again = d.ok(&["photo", "add", &reference, photo.to_str().unwrap()]);
    assert_eq!(again["added"], false);

    let list = d.ok(&["photo", "list", &reference]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let edited = d.ok(&["photo", "edit", &reference, &sha, "--caption", "Yard bins"]);
    assert_eq!(edited["caption"], "Yard bins");

    let out = d.home().join("exported.jpg");
    let exported = d.ok(&["photo", "export", &reference, &sha, out.to_str().unwrap()]);
    assert_eq!(exported["mime"], "image/jpeg");
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(bytes.len() as u64, exported["bytes"].as_u64().unwrap());
    assert_eq!(&bytes[..2], &[0xFF, 0xD8], "a JPEG");
    let thumb = d.home().join("thumb.jpg");
    d.ok(&[
        "photo",
        "export",
        &reference,
        &sha,
        thumb.to_str().unwrap(),
        "--thumb",
    ]);
    assert!(std::fs::metadata(&thumb).unwrap().len() > 100);
    d.refuses(
        "invalid_input",
        &[
            "photo",
            "export",
            &reference,
            &sha,
            thumb.to_str().unwrap(),
            "--original",
        ],
    );

    // `case show` as a person reads it: the location with its grid reference and ward, photos.
    let text = d.run(&["case", "show", &reference]);
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("BNG          E 4"), "{text}");
    assert!(text.contains("(SP "), "{text}");
    assert!(
        text.contains("Ward         Millbrook North (E05900001)"),
        "{text}"
    );
    assert!(text.contains(&sha), "{text}");
    assert!(text.contains("\"Yard bins\""), "{text}");
    let shown = d.show(&reference);
    assert_eq!(shown["location"]["ward"]["code"], "E05900001");
    assert!(shown["location"]["bng"]["easting"].as_f64().unwrap() > 400_000.0);
    assert_eq!(shown["photos"][0]["sha256"], sha.as_str());
}

fn c_visit(d: &Device, reference: &str) -> Value {
    d.show(reference)["visits"][0]["id"].clone()
}

#[test]
fn bad_photos_and_places_are_refused_and_change_nothing() {
    let d = Device::officer();
    let c = d.create(&["--kind", "general", "--title", "Fly-tip, Mill Lane"]);
    let reference = s(&c["reference"]).to_string();
    let dir = d.home();
    let gif = dir.join("anim.gif");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00").unwrap();
    let empty = dir.join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let renamed = dir.join("photo.png");
    std::fs::copy(app_data("millbrook-portrait-gps.jpg"), &renamed).unwrap();
    let before = d.snapshot();
    for (file, code) in [
        (gif.as_path(), "unsupported_format"),
        (empty.as_path(), "empty"),
        (renamed.as_path(), "mislabelled"),
        (dir.join("missing.jpg").as_path(), "invalid_input"),
    ] {
        d.refuses(code, &["photo", "add", &reference, file.to_str().unwrap()]);
    }
    d.refuses(
        "unknown_photo",
        &[
            "photo",
            "edit",
            &reference,
            &"ab".repeat(32),
            "--caption",
            "x",
        ],
    );
    let bad = dir.join("bad.geojson");
    std::fs::write(&bad, br#"{"type": "FeatureCollection", "features": []}"#).unwrap();
    d.refuses(
        "invalid_ward_boundaries",
        &["place", "load-wards", bad.to_str().unwrap()],
    );
    let csv = dir.join("bad.csv");
    std::fs::write(&csv, "UPRN,EASTING\n1,2\n").unwrap();
    d.refuses(
        "invalid_gazetteer_row",
        &["place", "load-gazetteer", csv.to_str().unwrap()],
    );
    d.refuses("invalid_postcode", &["place", "find", "nowhere at all"]);
    d.refuses(
        "invalid_input",
        &["setting", "set", "photos.keep_original", "maybe"],
    );
    assert_eq!(d.snapshot(), before);
    assert_eq!(d.ok(&["photo", "list", &reference]), serde_json::json!([]));
}

#[test]
fn the_gazetteer_finds_a_property_by_uprn_or_postcode_and_settings_persist() {
    let d = Device::officer();
    let csv = d.home().join("uprn.csv");
    // OS Open UPRN columns plus the council's address and postcode; BNG from the point.
    let point = |lat: f64, lon: f64| {
        fieldbook_core::geo::Bng::from_wgs84(fieldbook_core::geo::LatLon::new(lat, lon).unwrap())
            .unwrap()
    };
    let a = point(52.0150, -1.0050);
    let b = point(52.0151, -1.0052);
    std::fs::write(
        &csv,
        format!(
            "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,ADDRESS,POSTCODE\n\
             900000000001,{:.2},{:.2},52.0150,-1.0050,\"1 Mill Lane, Millbrook\",MB1 1AA\n\
             900000000002,{:.2},{:.2},52.0151,-1.0052,\"2 Mill Lane, Millbrook\",MB1 1AA\n\
             banana,1,1,52,-1,\"Bad\",MB1 1AA\n",
            a.easting, a.northing, b.easting, b.northing
        ),
    )
    .unwrap();
    let load = d.ok(&["place", "load-gazetteer", csv.to_str().unwrap()]);
    assert_eq!(
        (load["loaded"].as_u64(), load["refused"].as_u64()),
        (Some(2), Some(1))
    );
    let found = d.ok(&["place", "find", "mb1 1aa"]);
    assert_eq!(found.as_array().unwrap().len(), 2);
    let one = d.ok(&["place", "find", "900000000002"]);
    assert_eq!(one[0]["address"], "2 Mill Lane, Millbrook");
    let text = String::from_utf8(d.run(&["place", "find", "900000000001"]).stdout).unwrap();
    assert!(
        text.contains("1 Mill Lane, Millbrook") && text.contains("BNG E "),
        "{text}"
    );

    let set = d.ok(&["setting", "set", "visits.max_distance_m", "500"]);
    assert_eq!(set["visits.max_distance_m"], "500");
    assert_eq!(d.ok(&["setting", "list"])["visits.max_distance_m"], "500");
    let reset = d.ok(&["setting", "set", "visits.max_distance_m", ""]);
    assert_eq!(reset["visits.max_distance_m"], "250");
}

#[test]
fn near_me_lists_the_nearest_cases_first_with_how_far_each_is() {
    let d = Device::officer();
    for (title, lat) in [("Far", "52.03"), ("Near", "52.001"), ("Middle", "52.01")] {
        d.create(&[
            "--kind",
            "general",
            "--title",
            title,
            "--lat",
            lat,
            "--lon",
            "-1.0",
            "--source",
            "gazetteer",
        ]);
    }
    d.create(&["--kind", "general", "--title", "Nowhere"]);
    let page = d.ok(&["case", "list", "--sort", "distance", "--near", "52.0,-1.0"]);
    let got: Vec<(&str, &Value)> = page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["title"].as_str().unwrap(), &c["distance_m"]))
        .collect();
    assert_eq!(
        got,
        [
            ("Near", &Value::from(111.0)),
            ("Middle", &Value::from(1113.0)),
            ("Far", &Value::from(3338.0)),
            ("Nowhere", &Value::Null),
        ]
    );
    let near = page["cases"][0]["reference"].as_str().unwrap();
    assert_eq!(d.show(near)["location"]["source"], "gazetteer");

    let text = d.run(&["case", "list", "--sort", "distance", "--near", "52.0,-1.0"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("Near  (111 m away)"), "{text}");
    assert!(text.contains("Far  (3.3 km away)"), "{text}");

    d.refuses("invalid_input", &["case", "list", "--sort", "distance"]);
    let out = d.run(&["case", "list", "--near", "north"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not LAT,LON"),
        "{out:?}"
    );
}

#[test]
fn an_administrator_loads_a_basemap_pack_and_a_vector_pack_is_refused() {
    let d = Device::officer();
    let pack = |name: &str, format: &str| {
        let path = d.home().join(name);
        let db = rusqlite::Connection::open(&path).unwrap();
        db.execute_batch(&format!(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             INSERT INTO metadata VALUES ('name', 'Millbrook'), ('format', '{format}'),
                                         ('minzoom', '12'), ('maxzoom', '17');
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                                 tile_data BLOB);
             INSERT INTO tiles VALUES (12, 2036, 2730, x'FFD8FFD9');"
        ))
        .unwrap();
        path
    };
    let raster = pack("raster.mbtiles", "jpg");
    let loaded = d.ok(&["place", "load-basemap", raster.to_str().unwrap()]);
    assert_eq!(loaded["name"], "Millbrook");
    assert_eq!(
        (&loaded["min_zoom"], &loaded["max_zoom"]),
        (&Value::from(12), &Value::from(17))
    );
    let text = d.run(&["place", "load-basemap", raster.to_str().unwrap()]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("Loaded the basemap \"Millbrook\" (jpg tiles, zoom 12 to 17)"),
        "{text}"
    );
    let vector = pack("vector.mbtiles", "pbf");
    let message = d.refuses(
        "invalid_basemap",
        &["place", "load-basemap", vector.to_str().unwrap()],
    );
    assert!(message.contains("vector tiles"), "{message}");
}
