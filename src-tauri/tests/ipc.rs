//! The commands through Tauri's IPC, on the mock runtime, against real encrypted device
//! directories (one temporary directory and one set-up per test).
//!
//! For every command in `COMMANDS` a test shows a success, whose JSON it checks field by field,
//! and each error code the command can return; every refusal is checked to leave the device as
//! it was. `COVERAGE` says which test shows what. Each test checks, as it ends, that it really
//! saw through IPC what `COVERAGE` claims for it (and no error code it does not claim), and
//! `every_command_has_a_success_and_its_refusals_shown` fails when a command in `COMMANDS` has
//! no row, no success, no refusal, no `locked` check, or (when it takes arguments) no malformed
//! payload shown. A new command is one row in `COVERAGE` plus the calls in the tests it names.
#![allow(clippy::unwrap_used)]

#[path = "common/server.rs"]
mod server;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use fieldbook_app::Ctx;
use fieldbook_desktop::COMMANDS;
use fieldbook_desktop::background::{EVENT, Timing};
use serde_json::{Value, json};
use server::{PASSWORD, TestServer};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::{InvokeRequest, WebviewWindow, WebviewWindowBuilder};
use tauri::{Listener, Manager};

// ---------------------------------------------------------------- what is shown, and where

/// Tauri's own refusal of a payload that does not deserialise into the command's arguments:
/// the command never runs, and the error is a bare string, not an `AppError`.
const ARGS: &str = "tauri:invalid_args";
/// The command succeeded on a locked device: shown for commands that cannot fail.
const OK_LOCKED: &str = "ok_while_locked";
/// The commands that unlock a device, so cannot be refused as `locked`.
const UNLOCKING: &[&str] = &["init_device", "unlock"];

const T_DEVICE: &str = "a_device_is_set_up_locked_and_unlocked";
const T_DATA_DIR: &str = "a_data_dir_that_is_not_a_directory_is_refused";
const T_TEMPLATES: &str = "templates_describe_every_question_even_when_locked";
const T_LOOP: &str = "the_officer_loop_create_visit_answer_note_submit";
const T_LEADER: &str = "a_team_leader_returns_approves_and_closes";
const T_LOCKED: &str = "a_locked_device_refuses_everything_that_needs_it";
const T_FIELDS: &str = "bad_case_fields_are_refused_and_nothing_is_written";
const T_LIST: &str = "cases_are_listed_filtered_sorted_and_paged";
const T_VISITS: &str = "bad_visits_answers_notes_and_submissions_are_refused";
const T_ARGS: &str = "malformed_payloads_are_refused_by_tauri_and_write_nothing";
const T_DRAFTS: &str = "drafts_keep_what_was_typed_until_cleared";
const T_PHOTOS: &str = "photos_are_added_captioned_and_served_to_the_window";
const T_PLACES: &str = "places_and_the_map_come_from_what_the_device_holds";
const T_SIGN_IN: &str = "a_device_signs_in_syncs_with_a_real_server_and_is_wiped_when_revoked";
const T_SIGN_IN_BAD: &str = "sign_in_refuses_bad_credentials_insecure_and_unreachable_servers";
const T_BACKGROUND: &str = "the_background_sync_follows_unlock_edits_and_the_server_coming_back";
const T_CONFLICTS: &str = "two_devices_change_one_field_and_the_window_chooses_a_value";

/// A test, and the outcomes of one command it shows: `"ok"`, an `AppError` code, [`ARGS`] or
/// [`OK_LOCKED`].
type Shown = (&'static str, &'static [&'static str]);

/// Per command (one row each, in any order): which test shows which outcomes through IPC.
#[rustfmt::skip]
const COVERAGE: &[(&str, &[Shown])] = &[
    ("device", &[(T_DEVICE, &["ok", "not_initialised", "locked"]), (T_LOOP, &["ok"]), (T_LOCKED, &["locked"])]),
    ("init_device", &[(T_DEVICE, &["ok", "already_initialised", "weak_passphrase", "unknown_role", "invalid_name", "control_characters", "invalid_device_number", ARGS]), (T_DATA_DIR, &["data_dir"]), (T_ARGS, &[ARGS])]),
    ("unlock", &[(T_DEVICE, &["ok", "not_initialised", "wrong_passphrase", "corrupt_database", ARGS]), (T_DATA_DIR, &["data_dir"]), (T_LOCKED, &["ok"]), (T_ARGS, &[ARGS])]),
    ("lock", &[(T_DEVICE, &["ok", OK_LOCKED]), (T_LOCKED, &["ok"])]),
    ("list_cases", &[(T_LIST, &["ok", "invalid_input", "unknown_status", "unknown_case_kind", "invalid_date", "invalid_id"]), (T_LOOP, &["ok"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("open_case", &[(T_LOOP, &["ok"]), (T_FIELDS, &["case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("create_case", &[(T_LOOP, &["ok"]), (T_FIELDS, &["ok", "empty_title", "too_long", "control_characters", "unknown_case_kind", "invalid_location", "invalid_input", "invalid_uprn", "invalid_postcode", "invalid_date"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("edit_case", &[(T_LOOP, &["ok", "case_locked"]), (T_FIELDS, &["empty_title", "too_long", "control_characters", "invalid_date", "invalid_location", "invalid_input", "invalid_postcode", "invalid_uprn", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("add_visit", &[(T_LOOP, &["ok", "case_locked"]), (T_VISITS, &["ok", "case_not_found", "unknown_template", "template_not_for_kind", "invalid_input", "invalid_location"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("answer", &[(T_LOOP, &["ok", "case_locked"]), (T_VISITS, &["invalid_id", "unknown_visit", "unknown_item", "invalid_answer", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("add_note", &[(T_LOOP, &["ok"]), (T_LEADER, &["case_locked"]), (T_VISITS, &["empty_note", "too_long", "control_characters", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("submit", &[(T_LOOP, &["ok", "transition_not_allowed"]), (T_VISITS, &["no_visits", "visit_incomplete", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("transition", &[(T_LEADER, &["ok", "transition_not_allowed", "unknown_status", "case_not_found", "no_visits", "visit_incomplete", "case_locked", "too_long", "control_characters"]), (T_LOOP, &["role_may_not_transition"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("history", &[(T_LOOP, &["ok"]), (T_LEADER, &["ok"]), (T_FIELDS, &["case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("templates", &[(T_TEMPLATES, &["ok", OK_LOCKED])]),
    ("save_draft", &[(T_DRAFTS, &["ok", "invalid_input"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("drafts", &[(T_DRAFTS, &["ok", "invalid_input"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("clear_drafts", &[(T_DRAFTS, &["ok", "invalid_input"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("sign_in", &[(T_SIGN_IN, &["ok"]), (T_SIGN_IN_BAD, &["ok", "device_taken", "bad_credentials", "insecure_server", "invalid_server", "server_unreachable", "device_number_taken"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("sync_now", &[(T_SIGN_IN, &["ok", "not_signed_in", "server_unreachable", "device_revoked"]), (T_SIGN_IN_BAD, &["token_expired"]), (T_LOCKED, &["locked"])]),
    ("sync_status", &[(T_SIGN_IN, &["ok"]), (T_BACKGROUND, &["ok"]), (T_LOCKED, &["locked"])]),
    ("sync_activity", &[(T_SIGN_IN, &["ok", OK_LOCKED]), (T_BACKGROUND, &["ok"]), (T_SIGN_IN_BAD, &["ok"])]),
    ("conflicts", &[(T_CONFLICTS, &["ok", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("resolve_conflict", &[(T_CONFLICTS, &["ok", "invalid_input", "conflict_gone", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("photos", &[(T_PHOTOS, &["ok", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("add_photo", &[(T_PHOTOS, &["ok", "empty", "unsupported_format", "mislabelled", "corrupt", "invalid_input", "case_not_found", "unknown_visit"]), (T_LOCKED, &["locked"])]),
    ("edit_photo", &[(T_PHOTOS, &["ok", "unknown_photo", "unknown_visit", "too_long", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("fetch_photo", &[(T_PHOTOS, &["ok", "unknown_photo", "case_not_found"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("find_place", &[(T_PLACES, &["ok", "no_gazetteer", "invalid_postcode", "invalid_input"]), (T_LOCKED, &["locked"]), (T_ARGS, &[ARGS])]),
    ("map_info", &[(T_PLACES, &["ok"]), (T_LOCKED, &["locked"])]),
];

thread_local! {
    /// (command, outcome) pairs this test's thread has seen through IPC.
    static SEEN: RefCell<BTreeSet<(String, String)>> = const { RefCell::new(BTreeSet::new()) };
}

/// Start recording what this test shows; when it ends (without panicking), check that it showed
/// exactly the error codes `COVERAGE` claims for it, and every success it claims. The test's
/// name is its thread's name, which the test harness sets.
fn shows() -> Shows {
    let name = std::thread::current()
        .name()
        .filter(|n| *n != "main")
        .expect("the test harness names each test's thread after the test")
        .to_string();
    SEEN.with(|s| s.borrow_mut().clear());
    Shows(name)
}

struct Shows(String);

impl Drop for Shows {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let test = self.0.as_str();
        let seen = SEEN.with(|s| s.borrow().clone());
        let claims: BTreeSet<(String, String)> = COVERAGE
            .iter()
            .flat_map(|(cmd, shown)| {
                shown
                    .iter()
                    .filter(|(t, _)| *t == test)
                    .flat_map(move |(_, outcomes)| {
                        outcomes
                            .iter()
                            .map(move |o| (cmd.to_string(), o.to_string()))
                    })
            })
            .collect();
        assert!(!claims.is_empty(), "{test} is named nowhere in COVERAGE");
        let unshown: Vec<_> = claims.difference(&seen).collect();
        assert!(
            unshown.is_empty(),
            "COVERAGE says {test} shows {unshown:?}, but it never did"
        );
        let unclaimed: Vec<_> = seen
            .iter()
            .filter(|(_, o)| o != "ok" && o != OK_LOCKED)
            .filter(|s| !claims.contains(*s))
            .collect();
        assert!(
            unclaimed.is_empty(),
            "{test} saw {unclaimed:?}, which COVERAGE does not list for it"
        );
    }
}

fn record(cmd: &str, outcome: &str) {
    SEEN.with(|s| {
        s.borrow_mut()
            .insert((cmd.to_string(), outcome.to_string()))
    });
}

// ---------------------------------------------------------------- a device behind a window

const PASS: &str = "correct horse";

/// A mock-runtime app and its window over a data directory, talking only through IPC.
struct Device {
    data: PathBuf,
    app: tauri::App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    _tmp: tempfile::TempDir,
}

/// What a refusal must leave alone: every DTO of an unlocked device, or the files of a
/// locked one.
#[derive(Debug, PartialEq)]
enum Snapshot {
    Unlocked(Value),
    Locked(BTreeMap<String, u64>),
}

fn hash_of(bytes: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

impl Device {
    /// A device with nothing set up, in a fresh temporary directory.
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        Self::at(tmp.path().to_path_buf(), tmp)
    }

    fn at(data: PathBuf, tmp: tempfile::TempDir) -> Self {
        Self::timed(data, tmp, Timing::default())
    }

    /// A device with nothing set up whose background sync keeps `timing`.
    fn with_timing(timing: Timing) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        Self::timed(tmp.path().to_path_buf(), tmp, timing)
    }

    fn timed(data: PathBuf, tmp: tempfile::TempDir, timing: Timing) -> Self {
        let app = fieldbook_desktop::configure_with(mock_builder(), Some(data.clone()), timing)
            .build(mock_context(noop_assets()))
            .unwrap();
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        Self {
            data,
            app,
            webview,
            _tmp: tmp,
        }
    }

    /// A device set up through `init_device` for Sam Patel, device number 4, in `role`.
    fn with_role(role: &str) -> Self {
        let d = Self::new();
        let dev = d.ok("init_device", init(json!({ "role": role })));
        assert_eq!(dev["role"], role);
        d
    }

    fn unlocked(&self) -> bool {
        self.app.state::<Ctx>().is_unlocked()
    }

    /// One IPC call from the window, not recorded.
    fn raw(&self, cmd: &str, body: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    /// One IPC call whose body is raw bytes, with `args` as the percent-encoded JSON in the
    /// `Fieldbook-Args` header (as the UI sends a photo), not recorded.
    fn raw_bytes(&self, cmd: &str, bytes: Vec<u8>, args: Option<&Value>) -> Result<Value, Value> {
        let mut headers = tauri::http::HeaderMap::new();
        if let Some(args) = args {
            let encoded = percent_encoding::utf8_percent_encode(
                &args.to_string(),
                percent_encoding::NON_ALPHANUMERIC,
            )
            .to_string();
            headers.insert("Fieldbook-Args", encoded.parse().unwrap());
        }
        get_ipc_response(
            &self.webview,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Raw(bytes),
                headers,
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    /// [`Device::raw_bytes`], recorded as this test showing its outcome.
    fn call_bytes(&self, cmd: &str, bytes: Vec<u8>, args: Option<&Value>) -> Result<Value, Value> {
        let was_locked = !self.unlocked();
        let result = self.raw_bytes(cmd, bytes, args);
        self.note(cmd, &result, was_locked);
        result
    }

    /// `cmd` with raw `bytes` is refused with `code`, and nothing changes.
    #[track_caller]
    fn refused_bytes(&self, cmd: &str, bytes: Vec<u8>, args: Option<&Value>, code: &str) -> Value {
        let before = self.snapshot();
        let e = match self.call_bytes(cmd, bytes, args) {
            Ok(v) => panic!("{cmd} {args:?} should be refused with {code}, but gave {v}"),
            Err(e) => e,
        };
        assert_app_error(&e);
        assert_eq!(e["code"], code, "{cmd} {args:?}: {e}");
        assert_eq!(
            self.snapshot(),
            before,
            "{cmd} was refused ({code}) but changed the device"
        );
        e
    }

    fn note(&self, cmd: &str, result: &Result<Value, Value>, was_locked: bool) {
        match result {
            Ok(_) => {
                record(cmd, "ok");
                if was_locked {
                    record(cmd, OK_LOCKED);
                }
            }
            Err(Value::String(s)) if s.starts_with("invalid args `") => record(cmd, ARGS),
            Err(e) => record(
                cmd,
                e.get("code")
                    .and_then(Value::as_str)
                    .unwrap_or("<an error without a code>"),
            ),
        }
    }

    /// One IPC call, recorded as this test showing its outcome.
    fn call(&self, cmd: &str, body: Value) -> Result<Value, Value> {
        let was_locked = !self.unlocked();
        let result = self.raw(cmd, body);
        self.note(cmd, &result, was_locked);
        result
    }

    #[track_caller]
    fn ok(&self, cmd: &str, body: Value) -> Value {
        match self.call(cmd, body.clone()) {
            Ok(v) => v,
            Err(e) => panic!("{cmd} {body} failed: {e}"),
        }
    }

    /// `cmd` is refused with `code`, as a well-formed `AppError`, and nothing changes.
    #[track_caller]
    fn refused(&self, cmd: &str, body: Value, code: &str) -> Value {
        let before = self.snapshot();
        let e = match self.call(cmd, body.clone()) {
            Ok(v) => panic!("{cmd} {body} should be refused with {code}, but gave {v}"),
            Err(e) => e,
        };
        assert_app_error(&e);
        assert_eq!(e["code"], code, "{cmd} {body}: {e}");
        assert_eq!(
            self.snapshot(),
            before,
            "{cmd} was refused ({code}) but changed the device"
        );
        e
    }

    /// `cmd` is refused with `code`, naming the input `field` at fault.
    #[track_caller]
    fn refused_at(&self, cmd: &str, body: Value, code: &str, field: &str) -> Value {
        let e = self.refused(cmd, body, code);
        assert_eq!(e["field"], field, "{e}");
        e
    }

    /// `cmd` is refused as `invalid_input`, naming `field`.
    #[track_caller]
    fn refused_field(&self, cmd: &str, body: Value, field: &str) -> Value {
        self.refused_at(cmd, body, "invalid_input", field)
    }

    /// Tauri refuses the payload for `cmd` before it runs, naming the argument `arg`, and
    /// nothing changes.
    #[track_caller]
    fn malformed(&self, cmd: &str, body: Value, arg: &str) -> String {
        let before = self.snapshot();
        let e = match self.call(cmd, body.clone()) {
            Ok(v) => panic!("{cmd} {body} should be refused as malformed, but gave {v}"),
            Err(e) => e,
        };
        let text = e.as_str().unwrap_or_else(|| {
            panic!("{cmd} {body}: expected Tauri's invalid-args refusal, got {e}")
        });
        assert!(
            text.starts_with(&format!("invalid args `{arg}` for command `{cmd}`: ")),
            "{cmd} {body}: {text}"
        );
        assert_eq!(
            self.snapshot(),
            before,
            "{cmd} {body} was refused by Tauri but changed the device"
        );
        text.to_string()
    }

    fn snapshot(&self) -> Snapshot {
        if !self.unlocked() {
            return Snapshot::Locked(self.files());
        }
        let device = self.raw("device", json!({})).unwrap();
        let page = self
            .raw(
                "list_cases",
                json!({ "args": { "limit": 500, "sort": "created" } }),
            )
            .unwrap();
        let cases: Vec<Value> = page["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                json!({
                    "case": self.raw("open_case", json!({ "case": c["id"] })).unwrap(),
                    "history": self.raw("history", json!({ "case": c["id"] })).unwrap(),
                })
            })
            .collect();
        let drafts = self.raw("drafts", json!({ "prefix": "" })).unwrap();
        Snapshot::Unlocked(
            json!({ "device": device, "page": page, "cases": cases, "drafts": drafts }),
        )
    }

    /// The data directory's files and a hash of each (or of the path itself, when a file).
    fn files(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        if self.data.is_file() {
            out.insert(String::new(), hash_of(&std::fs::read(&self.data).unwrap()));
        } else if let Ok(entries) = std::fs::read_dir(&self.data) {
            for e in entries {
                let e = e.unwrap();
                let bytes = std::fs::read(e.path()).unwrap_or_default();
                out.insert(e.file_name().to_string_lossy().into(), hash_of(&bytes));
            }
        }
        out
    }
}

/// An `AppError` as the UI receives it: `{code, message, field?}`, where `field` (the input
/// at fault) is always there for `invalid_input`.
#[track_caller]
fn assert_app_error(e: &Value) {
    let obj = e
        .as_object()
        .unwrap_or_else(|| panic!("not an AppError: {e}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    let code = obj.get("code").and_then(Value::as_str).unwrap_or_default();
    let want: &[&str] = if code == "invalid_input" || obj.contains_key("field") {
        &["code", "field", "message"]
    } else {
        &["code", "message"]
    };
    assert_eq!(keys, want, "{e}");
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "{e}"
    );
    for k in want.iter().filter(|k| **k != "code") {
        assert!(
            obj[*k].as_str().is_some_and(|s| !s.trim().is_empty()),
            "{k} should be a non-empty string: {e}"
        );
    }
}

/// `init_device`'s payload: Sam Patel, an officer, device 4, with `over` laid on top.
fn init(over: Value) -> Value {
    let mut args = json!({
        "passphrase": PASS,
        "person_name": "Sam Patel",
        "role": "officer",
        "device_number": 4,
    });
    merge(&mut args, over);
    json!({ "args": args })
}

/// `{"args": base + over}`.
fn args(base: Value, over: Value) -> Value {
    let mut args = base;
    merge(&mut args, over);
    json!({ "args": args })
}

fn merge(base: &mut Value, over: Value) {
    if let (Some(b), Value::Object(o)) = (base.as_object_mut(), over) {
        b.extend(o);
    }
}

/// `v` has these fields with these values (and maybe others).
#[track_caller]
fn assert_fields(v: &Value, want: Value) {
    for (k, w) in want.as_object().unwrap() {
        assert_eq!(&v[k], w, "{k} of {v}");
    }
}

fn new_case(kind: &str, title: &str) -> Value {
    json!({ "kind": kind, "title": title })
}

fn is_uuid(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 36
            && s.split('-').map(str::len).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
            && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    })
}

fn is_time(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Labels of a template's required questions, in order, from the `templates` command.
fn required(templates: &Value, id: &str) -> Vec<Value> {
    templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap().clone())
        .filter(|i| i["required"] == true)
        .collect()
}

/// Answer every required question of a visit with a valid value; returns the case.
fn complete_visit(d: &Device, case: &Value, visit: &Value, template: &str) -> Value {
    let templates = d.raw("templates", json!({})).unwrap();
    let mut last = Value::Null;
    for item in required(&templates, template) {
        let value = match item["kind"].as_str().unwrap() {
            "yes_no" => "no".to_string(),
            "choice" | "score" => item["options"][0]["value"].as_str().unwrap().to_string(),
            "number" => "3".to_string(),
            "date" => "2026-10-01".to_string(),
            _ => "Satisfactory".to_string(),
        };
        last = d.ok(
            "answer",
            json!({ "args": { "case": case, "visit": visit, "item": item["id"], "value": value } }),
        );
    }
    assert_eq!(last["visits"][0]["missing_required"], json!([]));
    last
}

// ---------------------------------------------------------------- the tests

#[test]
fn a_device_is_set_up_locked_and_unlocked() {
    let _shows = shows();
    let d = Device::new();

    // Before set-up: nothing to read or unlock (so the window offers set-up), and locking is
    // harmless.
    for (cmd, body) in [
        ("device", json!({})),
        ("unlock", json!({ "passphrase": PASS })),
    ] {
        let e = d.refused(cmd, body, "not_initialised");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains(&d.data.display().to_string()),
            "{e}"
        );
    }
    assert_eq!(d.ok("lock", json!({})), Value::Null);

    // Refused set-ups write nothing at all into the directory.
    let e = d.refused(
        "init_device",
        init(json!({ "passphrase": "short" })),
        "weak_passphrase",
    );
    assert!(e["message"].as_str().unwrap().contains('8'), "{e}");
    d.refused(
        "init_device",
        init(json!({ "role": "inspector" })),
        "unknown_role",
    );
    d.refused(
        "init_device",
        init(json!({ "person_name": "   " })),
        "invalid_name",
    );
    d.refused(
        "init_device",
        init(json!({ "person_name": "x".repeat(101) })),
        "invalid_name",
    );
    d.refused_at(
        "init_device",
        init(json!({ "person_name": "Sam\u{7}Patel" })),
        "control_characters",
        "name",
    );
    for n in [0, 1_000_000] {
        d.refused(
            "init_device",
            init(json!({ "device_number": n })),
            "invalid_device_number",
        );
    }
    d.malformed("init_device", json!({}), "args");
    d.malformed(
        "init_device",
        init(json!({ "device_number": "four" })),
        "args",
    );
    assert_eq!(d.files(), BTreeMap::new(), "a refused set-up wrote files");
    assert!(!d.unlocked());

    // Set up, and unlocked.
    let dev = d.ok(
        "init_device",
        init(json!({ "person_name": "  Sam Patel " })),
    );
    assert!(
        is_uuid(&dev["device_id"]) && is_uuid(&dev["person_id"]),
        "{dev}"
    );
    assert_ne!(dev["device_id"], dev["person_id"]);
    assert_eq!(
        dev,
        json!({
            "device_id": dev["device_id"],
            "device_number": 4,
            "person_id": dev["person_id"],
            "person_name": "Sam Patel",
            "role": "officer",
            "data_dir": d.data.display().to_string(),
            "case_count": 0,
            "outbox_cases": 0,
            "outbox_changes": 0,
        })
    );
    assert!(d.unlocked());
    assert!(d.data.join("fieldbook.db").is_file() && d.data.join("fieldbook.key").is_file());
    assert_eq!(d.ok("device", json!({})), dev);
    let e = d.refused(
        "init_device",
        init(json!({ "role": "admin", "device_number": 5 })),
        "already_initialised",
    );
    assert!(e["message"].as_str().unwrap().contains("already"), "{e}");

    // Locked: the device is refused until the right passphrase is given.
    assert_eq!(d.ok("lock", json!({})), Value::Null);
    assert!(!d.unlocked());
    let e = d.refused("device", json!({}), "locked");
    assert!(e["message"].as_str().unwrap().contains("unlock"), "{e}");
    d.refused(
        "unlock",
        json!({ "passphrase": "correct horsE" }),
        "wrong_passphrase",
    );
    d.refused("unlock", json!({ "passphrase": "" }), "wrong_passphrase");
    d.malformed("unlock", json!({}), "passphrase");
    assert!(!d.unlocked());
    assert_eq!(d.ok("unlock", json!({ "passphrase": PASS })), dev);
    assert_eq!(d.ok("device", json!({})), dev);

    // A damaged database is told apart from a wrong passphrase, and stays locked.
    d.ok("lock", json!({}));
    std::fs::write(d.data.join("fieldbook.db"), vec![0x5a_u8; 8192]).unwrap();
    let e = d.refused("unlock", json!({ "passphrase": PASS }), "corrupt_database");
    assert!(e["message"].as_str().unwrap().contains("damaged"), "{e}");
    assert!(!d.unlocked());
}

#[test]
fn a_data_dir_that_is_not_a_directory_is_refused() {
    let _shows = shows();
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let d = Device::at(file.clone(), tmp);
    for (cmd, body) in [
        ("init_device", init(json!({}))),
        ("unlock", json!({ "passphrase": PASS })),
    ] {
        let e = d.refused(cmd, body, "data_dir");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains(&file.display().to_string()),
            "{e}"
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"x");
}

#[test]
fn templates_describe_every_question_even_when_locked() {
    let _shows = shows();
    let d = Device::new();
    let templates = d.ok("templates", json!({}));
    // It takes no arguments, so no payload can be malformed.
    assert_eq!(d.ok("templates", json!({ "args": 5 })), templates);
    let ids: Vec<&str> = templates
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    for id in ["food-hygiene", "general-visit", "hhsrs-survey"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
    let fh = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "food-hygiene")
        .unwrap();
    assert_fields(
        fh,
        json!({ "version": 1, "title": "Food hygiene inspection", "case_kinds": ["food_hygiene"] }),
    );
    let items: BTreeMap<&str, &Value> = fh["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["items"].as_array().unwrap())
        .map(|i| (i["id"].as_str().unwrap(), i))
        .collect();
    let hygiene = items["fh.hygiene"];
    assert_fields(
        hygiene,
        json!({ "label": "Hygienic food handling score", "kind": "score", "required": true }),
    );
    assert_eq!(
        hygiene["options"],
        json!([
            { "value": "0", "label": "0" }, { "value": "5", "label": "5" },
            { "value": "10", "label": "10" }, { "value": "15", "label": "15" },
            { "value": "20", "label": "20" }, { "value": "25", "label": "25" },
        ])
    );
    let handlers = items["fh.food_handlers"];
    assert_fields(
        handlers,
        json!({ "kind": "number", "min": 0.0, "max": 1000.0, "integer": true, "required": false }),
    );
    let business = items["fh.business_type"];
    assert_eq!(business["kind"], "choice");
    assert_eq!(
        business["options"][2],
        json!({ "value": "takeaway", "label": "Takeaway or sandwich shop" })
    );
    let comments = items["fh.hygiene_comments"];
    assert_fields(
        comments,
        json!({ "kind": "text", "max_len": 4000, "multiline": true }),
    );
    let general = templates
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "general-visit")
        .unwrap();
    assert_eq!(general["case_kinds"], json!([]), "for every kind");
    assert!(!d.unlocked());
}

#[test]
fn the_officer_loop_create_visit_answer_note_submit() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let dev = d.ok("device", json!({}));
    let me = json!({ "id": dev["person_id"], "name": "Sam Patel" });

    // Create.
    let c = d.ok(
        "create_case",
        json!({ "args": {
            "kind": "food_hygiene", "title": "  Harbour Fish Bar ", "address": "1 Quay Street",
            "postcode": "m1 1ae", "uprn": "100023336956", "lat": 53.48, "lon": -2.24,
            "accuracy_m": 12.5, "due": "2026-12-01",
        } }),
    );
    let reference = c["reference"].as_str().unwrap().to_string();
    let parts: Vec<&str> = reference.split('-').collect();
    assert!(
        parts.len() == 4
            && parts[0] == "FH"
            && parts[1].len() == 4
            && parts[2] == "4"
            && parts[3] == "0001",
        "{reference}"
    );
    assert!(is_uuid(&c["id"]) && is_time(&c["created_at"]), "{c}");
    assert_eq!(c["location"]["at"].as_str().map(str::len), Some(24), "{c}");
    assert_eq!(
        c,
        json!({
            "id": c["id"], "reference": reference, "kind": "food_hygiene",
            "kind_label": "Food hygiene", "title": "Harbour Fish Bar", "address": "1 Quay Street",
            "postcode": "M1 1AE", "uprn": 100023336956_u64,
            "location": { "lat": 53.48, "lon": -2.24, "accuracy_m": 12.5, "source": "manual",
                          "at": c["location"]["at"],
                          // Derived on the device: OSTN15 grid coordinates; no wards loaded.
                          "bng": { "easting": 384169.524, "northing": 398166.954,
                                   "grid_ref": "SJ 84169 98166" },
                          "ward": null },
            "status": "open", "status_label": "open", "assignee": me, "due": "2026-12-01",
            "created_by": me, "created_at": c["created_at"], "visits": [], "notes": [],
            "photos": [], "allowed_transitions": ["in_progress"], "editable": true,
        })
    );

    // Open by reference (any case), or by id.
    assert_eq!(d.ok("open_case", json!({ "case": reference })), c);
    assert_eq!(
        d.ok("open_case", json!({ "case": reference.to_lowercase() })),
        c
    );
    assert_eq!(d.ok("open_case", json!({ "case": c["id"] })), c);

    // Listed and found.
    let page = d.ok("list_cases", json!({ "args": { "search": "harbour" } }));
    assert_fields(&page, json!({ "total": 1, "offset": 0, "limit": 50 }));
    let row = &page["cases"][0];
    assert_eq!(
        row,
        &json!({
            "id": c["id"], "reference": reference, "kind": "food_hygiene",
            "kind_label": "Food hygiene", "title": "Harbour Fish Bar", "address": "1 Quay Street",
            "postcode": "M1 1AE", "uprn": 100023336956_u64, "lat": 53.48, "lon": -2.24,
            "status": "open", "status_label": "open", "assignee": dev["person_id"],
            "due": "2026-12-01", "created_at": c["created_at"], "updated_at": row["updated_at"],
            "visit_count": 0, "note_count": 0, "photo_count": 0, "distance_m": null,
        })
    );

    // Edit: set one field, clear others with empty values.
    let e = d.ok(
        "edit_case",
        args(
            json!({ "case": reference }),
            json!({ "title": "Harbour Fish Bar & Grill", "address": "", "uprn": "", "due": "",
                    "clear_location": true }),
        ),
    );
    assert_fields(
        &e,
        json!({ "title": "Harbour Fish Bar & Grill", "address": null, "uprn": null, "due": null, "location": null, "postcode": "M1 1AE" }),
    );
    assert_eq!((&e["id"], &e["status"]), (&c["id"], &json!("open")));

    // A visit against the kind's default template, with the device's location.
    let templates = d.ok("templates", json!({}));
    let required_labels: Vec<Value> = required(&templates, "food-hygiene")
        .iter()
        .map(|i| i["label"].clone())
        .collect();
    let v = d.ok(
        "add_visit",
        json!({ "args": { "case": reference, "lat": 53.4801, "lon": -2.2402, "accuracy_m": 8.0 } }),
    );
    assert_fields(
        &v,
        json!({ "status": "in_progress", "status_label": "in progress", "allowed_transitions": ["submitted"] }),
    );
    let visit = &v["visits"][0];
    assert_eq!(v["visits"].as_array().unwrap().len(), 1);
    assert!(
        is_uuid(&visit["id"]) && is_time(&visit["started_at"]),
        "{visit}"
    );
    assert_eq!(
        visit,
        &json!({
            "id": visit["id"], "template_id": "food-hygiene", "template_version": 1,
            "template_title": "Food hygiene inspection", "started_at": visit["started_at"],
            "officer": me,
            "location": { "lat": 53.4801, "lon": -2.2402, "accuracy_m": 8.0, "source": "device",
                          "at": visit["location"]["at"],
                          "bng": { "easting": 384156.288, "northing": 398178.124,
                                   "grid_ref": "SJ 84156 98178" },
                          "ward": null },
            "answers": [], "missing_required": required_labels, "score": null,
            // About 18 m from the case's location: not flagged.
            "far_from_property_m": null,
        })
    );
    let visit_id = visit["id"].clone();
    let answer = |item: &str, value: &str| {
        d.ok(
            "answer",
            json!({ "args": { "case": reference, "visit": visit_id, "item": item, "value": value } }),
        )
    };

    // Answers, each parsed by its question's kind and shown back for reading and for editing.
    let a = answer("fh.hygiene", " 5 ");
    let ans = &a["visits"][0]["answers"];
    assert!(is_time(&ans[0]["at"]), "{ans}");
    assert_eq!(
        ans,
        &json!([{ "item_id": "fh.hygiene", "label": "Hygienic food handling score",
                  "kind": "score", "display": "5", "input": "5", "by": me, "at": ans[0]["at"] }])
    );
    assert!(
        !strings(&a["visits"][0]["missing_required"])
            .contains(&"Hygienic food handling score".to_string())
    );
    let a = answer("fh.business_type", "Takeaway or sandwich shop");
    let business = &a["visits"][0]["answers"][0];
    // Answers come in the template's order.
    assert_fields(
        business,
        json!({ "item_id": "fh.business_type", "kind": "choice", "display": "Takeaway or sandwich shop", "input": "takeaway" }),
    );
    let a = answer("fh.fbo_present", "y");
    let fbo = a["visits"][0]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["item_id"] == "fh.fbo_present")
        .unwrap()
        .clone();
    assert_fields(
        &fbo,
        json!({ "kind": "yes_no", "display": "Yes", "input": "yes" }),
    );
    answer("fh.food_handlers", "12");
    answer("fh.structure", "0");
    answer("fh.management", "0");
    answer("fh.revisit_needed", "no");
    let a = answer("fh.written_warning", "No");
    assert_eq!(a["visits"][0]["missing_required"], json!([]));
    assert_eq!(a["visits"][0]["score"], json!({ "total": 5, "rating": 5 }));
    let order: Vec<&str> = a["visits"][0]["answers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["item_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "fh.business_type",
            "fh.fbo_present",
            "fh.food_handlers",
            "fh.hygiene",
            "fh.structure",
            "fh.management",
            "fh.revisit_needed",
            "fh.written_warning"
        ]
    );
    // An empty value clears an answer, and its requirement comes back.
    let a = answer("fh.structure", "");
    assert_eq!(
        a["visits"][0]["missing_required"],
        json!(["Structure and cleaning score"])
    );
    assert_eq!(a["visits"][0]["score"], Value::Null);
    answer("fh.structure", "0");

    // A note, trimmed, with its author.
    let n = d.ok(
        "add_note",
        json!({ "args": { "case": c["id"], "text": "  Advised on probe thermometer use\n" } }),
    );
    let note = &n["notes"][0];
    assert!(is_uuid(&note["id"]) && is_time(&note["at"]), "{note}");
    assert_eq!(
        note,
        &json!({ "id": note["id"], "author": me, "at": note["at"],
                 "text": "Advised on probe thermometer use" })
    );

    // Submit: the case waits for review and an officer can move it no further.
    let s = d.ok("submit", json!({ "case": reference }));
    assert_fields(
        &s,
        json!({ "status": "submitted", "status_label": "submitted", "editable": false, "allowed_transitions": [] }),
    );
    assert_eq!(s["visits"][0]["score"], json!({ "total": 5, "rating": 5 }));
    let page = d.ok(
        "list_cases",
        json!({ "args": { "statuses": ["submitted"] } }),
    );
    assert_eq!(page["total"], 1);
    assert_fields(
        &page["cases"][0],
        json!({ "visit_count": 1, "note_count": 1, "title": "Harbour Fish Bar & Grill" }),
    );

    // Who did what, attributed to this device and person.
    let h = d.ok("history", json!({ "case": reference }));
    let entries = h.as_array().unwrap();
    let mut messages: Vec<&str> = entries
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages[0], format!("Created case {reference}"));
    messages.sort_unstable();
    let created = format!("Created case {reference}");
    let mut want = vec![
        created.as_str(),
        "Changed title, address, UPRN, location, due date",
        "Started a visit (Food hygiene inspection)",
        "Answered \"Hygienic food handling score\": 5",
        "Answered \"Type of business\": Takeaway or sandwich shop",
        "Answered \"Was the food business operator present?\": Yes",
        "Answered \"Number of food handlers\": 12",
        "Answered \"Structure and cleaning score\": 0",
        "Answered \"Confidence in management score\": 0",
        "Answered \"Is a revisit needed?\": No",
        "Answered \"Was a written warning issued?\": No",
        "Cleared the answer to \"Structure and cleaning score\"",
        "Answered \"Structure and cleaning score\": 0",
        "Added a note",
        "Submitted for review",
    ];
    want.sort_unstable();
    assert_eq!(messages, want);
    for e in entries {
        assert_eq!(e["person"], me, "{e}");
        assert_eq!(e["device_id"], dev["device_id"], "{e}");
        assert!(
            e["actor"]
                .as_str()
                .is_some_and(|a| a.len() == 32 && a.chars().all(|c| c.is_ascii_hexdigit())),
            "{e}"
        );
        assert!(is_time(&e["at"]), "{e}");
    }
    assert!(
        entries
            .windows(2)
            .all(|w| w[0]["at"].as_str() <= w[1]["at"].as_str())
    );
    let dev = d.ok("device", json!({}));
    assert_fields(
        &dev,
        json!({ "case_count": 1, "outbox_cases": 1, "outbox_changes": entries.len() }),
    );

    // A submitted case is the officer's no longer: each refusal writes nothing.
    let e = d.refused(
        "submit",
        json!({ "case": reference }),
        "transition_not_allowed",
    );
    assert!(e["message"].as_str().unwrap().contains("submitted"), "{e}");
    for (to, comment) in [("approved", None), ("returned", Some("Please redo"))] {
        let e = d.refused(
            "transition",
            json!({ "args": { "case": reference, "to": to, "comment": comment } }),
            "role_may_not_transition",
        );
        assert!(e["message"].as_str().unwrap().contains("officer"), "{e}");
    }
    d.refused(
        "edit_case",
        json!({ "args": { "case": reference, "title": "Renamed" } }),
        "case_locked",
    );
    d.refused(
        "add_visit",
        json!({ "args": { "case": reference } }),
        "case_locked",
    );
    d.refused(
        "answer",
        json!({ "args": { "case": reference, "visit": visit_id, "item": "fh.hygiene", "value": "10" } }),
        "case_locked",
    );
}

#[test]
fn a_team_leader_returns_approves_and_closes() {
    let _shows = shows();
    let d = Device::with_role("team_leader");
    let c = d.ok(
        "create_case",
        json!({ "args": new_case("general", "Noise complaint, 4 Mill Road") }),
    );
    assert_eq!(c["allowed_transitions"], json!(["in_progress"]));
    let case = c["reference"].clone();
    let move_to = |to: &str, comment: Option<&str>| json!({ "args": { "case": case, "to": to, "comment": comment } });

    // Refusals of an open case with no visit, each leaving it as it was (comments included).
    let e = d.refused(
        "transition",
        move_to("approved", None),
        "transition_not_allowed",
    );
    assert!(
        e["message"].as_str().unwrap().contains("open to approved"),
        "{e}"
    );
    d.refused(
        "transition",
        move_to("submitted", Some("Ready")),
        "no_visits",
    );
    d.refused("transition", move_to("lost", None), "unknown_status");
    d.refused(
        "transition",
        move_to("in_progress", Some("c".repeat(10_001).as_str())),
        "too_long",
    );
    d.refused(
        "transition",
        move_to("in_progress", Some("bad\u{1b}[2J")),
        "control_characters",
    );
    d.refused(
        "transition",
        json!({ "args": { "case": "GN-2026-4-9999", "to": "in_progress" } }),
        "case_not_found",
    );

    let t = d.ok("transition", move_to("in_progress", None));
    assert_fields(
        &t,
        json!({ "status": "in_progress", "allowed_transitions": ["submitted"], "editable": true }),
    );
    let v = d.ok("add_visit", json!({ "args": { "case": case } }));
    let visit = v["visits"][0]["id"].clone();
    assert_eq!(v["visits"][0]["template_id"], "general-visit");
    let e = d.refused(
        "transition",
        move_to("submitted", Some("Ready")),
        "visit_incomplete",
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("missing required answers"),
        "{e}"
    );
    complete_visit(&d, &case, &visit, "general-visit");

    let s = d.ok("transition", move_to("submitted", None));
    assert_fields(
        &s,
        json!({ "status": "submitted", "allowed_transitions": ["approved", "returned"], "editable": false }),
    );
    let r = d.ok(
        "transition",
        move_to("returned", Some("Add the decibel reading")),
    );
    assert_fields(
        &r,
        json!({ "status": "returned", "status_label": "returned", "allowed_transitions": ["in_progress"], "editable": true }),
    );
    let texts = |c: &Value| -> Vec<String> {
        c["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&r), ["Add the decibel reading"]);
    assert_eq!(r["notes"][0]["author"]["name"], "Sam Patel");

    d.ok("transition", move_to("in_progress", None));
    d.ok("transition", move_to("submitted", None));
    let a = d.ok("transition", move_to("approved", Some("Good work")));
    assert_fields(
        &a,
        json!({ "status": "approved", "allowed_transitions": ["closed"], "editable": false }),
    );
    d.refused(
        "transition",
        move_to("returned", None),
        "transition_not_allowed",
    );
    let closed = d.ok("transition", move_to("closed", Some("No further action")));
    assert_fields(
        &closed,
        json!({ "status": "closed", "allowed_transitions": [] }),
    );
    let mut notes = texts(&closed);
    notes.sort_unstable();
    assert_eq!(
        notes,
        ["Add the decibel reading", "Good work", "No further action"]
    );

    // A closed case is the record.
    d.refused(
        "transition",
        move_to("approved", None),
        "transition_not_allowed",
    );
    d.refused(
        "transition",
        move_to("approved", Some("Reopen please")),
        "case_locked",
    );
    let e = d.refused(
        "add_note",
        json!({ "args": { "case": case, "text": "Late call" } }),
        "case_locked",
    );
    assert!(e["message"].as_str().unwrap().contains("closed"), "{e}");

    let h = d.ok("history", json!({ "case": case }));
    let messages: BTreeSet<&str> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    for m in [
        "Work started",
        "Submitted for review",
        "Returned to the officer",
        "Approved",
        "Closed",
    ] {
        assert!(messages.contains(m), "{m} not in {messages:?}");
    }
}

#[test]
fn a_locked_device_refuses_everything_that_needs_it() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let c = d.ok(
        "create_case",
        json!({ "args": new_case("food_hygiene", "Harbour Fish Bar") }),
    );
    let case = c["reference"].clone();
    let v = d.ok("add_visit", json!({ "args": { "case": case } }));
    let visit = v["visits"][0]["id"].clone();
    let before = d.snapshot();

    assert_eq!(d.ok("lock", json!({})), Value::Null);
    let calls = [
        ("device", json!({})),
        ("list_cases", json!({ "args": {} })),
        ("open_case", json!({ "case": case })),
        (
            "create_case",
            json!({ "args": new_case("general", "Another") }),
        ),
        (
            "edit_case",
            json!({ "args": { "case": case, "title": "Renamed" } }),
        ),
        ("add_visit", json!({ "args": { "case": case } })),
        (
            "answer",
            json!({ "args": { "case": case, "visit": visit, "item": "fh.hygiene", "value": "5" } }),
        ),
        (
            "add_note",
            json!({ "args": { "case": case, "text": "A note" } }),
        ),
        ("submit", json!({ "case": case })),
        (
            "transition",
            json!({ "args": { "case": case, "to": "submitted" } }),
        ),
        ("history", json!({ "case": case })),
        (
            "save_draft",
            json!({ "args": { "key": "new-case:title", "value": "Chip shop" } }),
        ),
        ("drafts", json!({ "prefix": "new-case:" })),
        ("clear_drafts", json!({ "prefix": "new-case:" })),
        (
            "sign_in",
            json!({ "args": { "server": "https://fieldbook.anytown.gov.uk", "user": "sam", "password": "x" } }),
        ),
        ("sync_now", json!({})),
        ("sync_status", json!({})),
        ("conflicts", json!({ "case": case })),
        (
            "resolve_conflict",
            json!({ "args": { "case": case, "field": "title", "actor": "00" } }),
        ),
        ("photos", json!({ "case": case })),
        (
            "edit_photo",
            json!({ "args": { "case": case, "photo": "ab", "caption": "x", "visit": null } }),
        ),
        ("fetch_photo", json!({ "case": case, "photo": "ab" })),
        ("find_place", json!({ "query": "MB1 1AA" })),
        ("map_info", json!({})),
    ];
    for (cmd, body) in calls {
        let e = d.refused(cmd, body, "locked");
        assert!(e["message"].as_str().unwrap().contains("unlock"), "{e}");
    }
    let photo_args = json!({ "case": case, "file_name": "a.jpg", "visit": null, "caption": null });
    d.refused_bytes("add_photo", photo(), Some(&photo_args), "locked");
    // Nor does the window get a photo's bytes from a locked device.
    let served = fieldbook_desktop::protocols::photo(&d.app.state::<Ctx>(), "/x/ab/thumb");
    assert_eq!(served.status(), 403);
    d.ok("unlock", json!({ "passphrase": PASS }));
    assert_eq!(d.snapshot(), before, "nothing changed while locked");
}

#[test]
fn bad_case_fields_are_refused_and_nothing_is_written() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let c = d.ok(
        "create_case",
        json!({ "args": new_case("highways", "Pothole, Station Road") }),
    );
    assert!(c["reference"].as_str().unwrap().starts_with("HW-"), "{c}");
    let base = new_case("general", "x");

    // The field at fault is named where the error has one (`None`: not checked).
    let bad_new = [
        (json!({ "title": " " }), "empty_title", Some("title")),
        (
            json!({ "title": "t".repeat(201) }),
            "too_long",
            Some("title"),
        ),
        (
            json!({ "address": "a".repeat(301) }),
            "too_long",
            Some("address"),
        ),
        (
            json!({ "title": "Bell\u{7}" }),
            "control_characters",
            Some("title"),
        ),
        (json!({ "kind": "spaceship" }), "unknown_case_kind", None),
        (
            json!({ "lat": 91.0, "lon": 0.0 }),
            "invalid_location",
            Some("location"),
        ),
        (
            json!({ "lat": 0.0, "lon": -180.5 }),
            "invalid_location",
            Some("location"),
        ),
        (
            json!({ "lat": 51.0, "lon": 0.0, "accuracy_m": -1.0 }),
            "invalid_location",
            Some("location"),
        ),
        (json!({ "uprn": "12a" }), "invalid_uprn", Some("uprn")),
        (
            json!({ "postcode": "NOT A CODE" }),
            "invalid_postcode",
            Some("postcode"),
        ),
        (json!({ "due": "2026-02-30" }), "invalid_date", None),
    ];
    for (over, code, field) in bad_new {
        let e = d.refused("create_case", args(base.clone(), over), code);
        if let Some(field) = field {
            assert_eq!(e["field"], field, "{e}");
        }
    }
    for over in [json!({ "lat": 51.0 }), json!({ "lon": -0.1 })] {
        d.refused_field("create_case", args(base.clone(), over), "location");
    }

    let case = json!({ "case": c["reference"] });
    let bad_edits = [
        (json!({ "title": "" }), "empty_title", Some("title")),
        (
            json!({ "title": "t".repeat(201) }),
            "too_long",
            Some("title"),
        ),
        (
            json!({ "address": "a".repeat(301) }),
            "too_long",
            Some("address"),
        ),
        (
            json!({ "address": "Line\nbreak" }),
            "control_characters",
            Some("address"),
        ),
        (json!({ "due": "tomorrow" }), "invalid_date", None),
        (
            json!({ "lat": -90.01, "lon": 1.0 }),
            "invalid_location",
            Some("location"),
        ),
        (
            json!({ "postcode": "XYZ" }),
            "invalid_postcode",
            Some("postcode"),
        ),
        (
            json!({ "uprn": "1234567890123" }),
            "invalid_uprn",
            Some("uprn"),
        ),
    ];
    for (over, code, field) in bad_edits {
        let e = d.refused("edit_case", args(case.clone(), over), code);
        if let Some(field) = field {
            assert_eq!(e["field"], field, "{e}");
        }
    }
    let e = d.refused_field("edit_case", args(case.clone(), json!({})), "case");
    assert!(
        e["message"].as_str().unwrap().contains("nothing to change"),
        "{e}"
    );
    d.refused_field(
        "edit_case",
        args(case.clone(), json!({ "lat": 1.0 })),
        "location",
    );

    for missing in [
        "HW-2026-4-9999",
        "not a reference",
        "",
        "0190f3a0-0000-7000-8000-000000000000",
    ] {
        let e = d.refused(
            "edit_case",
            json!({ "args": { "case": missing, "title": "x" } }),
            "case_not_found",
        );
        assert!(e["message"].as_str().unwrap().contains(missing), "{e}");
        d.refused("open_case", json!({ "case": missing }), "case_not_found");
        d.refused("history", json!({ "case": missing }), "case_not_found");
    }
    assert_eq!(d.ok("device", json!({}))["case_count"], 1);
}

#[test]
fn cases_are_listed_filtered_sorted_and_paged() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let create = |kind: &str, title: &str, over: Value| {
        d.ok("create_case", args(new_case(kind, title), over))
    };
    let fh = create(
        "food_hygiene",
        "Harbour Fish Bar",
        json!({ "postcode": "M1 1AE", "due": "2026-10-01" }),
    );
    let hs = create(
        "housing",
        "Damp, Flat 2",
        json!({ "address": "2 Mill Lane", "due": "2026-11-15" }),
    );
    let hw = create("highways", "Pothole, Station Road", json!({}));
    d.ok("add_visit", json!({ "args": { "case": hs["id"] } }));
    d.ok(
        "add_note",
        json!({ "args": { "case": hw["id"], "text": "Reported by a cyclist near the bridge" } }),
    );

    let list = |q: Value| d.ok("list_cases", json!({ "args": q }));
    let titles = |page: &Value| -> Vec<String> {
        page["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["title"].as_str().unwrap().to_string())
            .collect()
    };
    let all = list(json!({}));
    assert_fields(&all, json!({ "total": 3, "offset": 0, "limit": 50 }));
    assert_eq!(
        &titles(&all)[..2],
        ["Harbour Fish Bar", "Damp, Flat 2"],
        "soonest due first"
    );
    assert_eq!(
        titles(&list(json!({ "sort": "title" }))),
        ["Damp, Flat 2", "Harbour Fish Bar", "Pothole, Station Road"]
    );
    assert_eq!(
        titles(&list(json!({ "sort": "title", "descending": true }))),
        ["Pothole, Station Road", "Harbour Fish Bar", "Damp, Flat 2"]
    );
    let page = list(json!({ "sort": "title", "limit": 1, "offset": 1 }));
    assert_fields(&page, json!({ "total": 3, "offset": 1, "limit": 1 }));
    assert_eq!(titles(&page), ["Harbour Fish Bar"]);
    let in_progress = list(json!({ "statuses": ["in_progress"] }));
    assert_eq!(titles(&in_progress), ["Damp, Flat 2"]);
    assert_fields(
        &in_progress["cases"][0],
        json!({ "status": "in_progress", "status_label": "in progress", "kind_label": "Housing (HHSRS)", "visit_count": 1 }),
    );
    assert_eq!(
        titles(&list(
            json!({ "kinds": ["food_hygiene", "highways"], "sort": "title" })
        )),
        ["Harbour Fish Bar", "Pothole, Station Road"]
    );
    assert_eq!(titles(&list(json!({ "search": "mill" }))), ["Damp, Flat 2"]);
    assert_eq!(
        titles(&list(json!({ "search": "cyclist" }))),
        ["Pothole, Station Road"],
        "notes are searched"
    );
    assert_eq!(
        titles(&list(json!({ "search": "m1 1ae" }))),
        ["Harbour Fish Bar"]
    );
    assert_eq!(
        titles(&list(json!({ "due_before": "2026-11-01" }))),
        ["Harbour Fish Bar"]
    );
    assert_eq!(
        titles(&list(json!({ "due_after": "2026-11-01" }))),
        ["Damp, Flat 2"]
    );
    // A new case is its creator's; "me" is this device's person.
    let me = d.ok("device", json!({}))["person_id"].clone();
    assert_eq!(list(json!({ "assignee": "me" }))["total"], 3);
    assert_eq!(list(json!({ "assignee": me }))["total"], 3);
    assert_eq!(
        list(json!({ "assignee": "0190f3a0-0000-7000-8000-000000000000" }))["total"],
        0
    );
    assert!(
        all["cases"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["assignee"] == me)
    );
    assert_eq!(
        list(json!({ "statuses": ["closed"] })),
        json!({ "cases": [], "total": 0, "offset": 0, "limit": 50 })
    );
    assert_eq!(fh["status"], "open");

    // Refusals name the field at fault where it is a plain input.
    for (q, field) in [
        (json!({ "limit": 0 }), "limit"),
        (json!({ "limit": 501 }), "limit"),
        (json!({ "sort": "colour" }), "sort"),
        (json!({ "search": "s".repeat(201) }), "search"),
    ] {
        d.refused_field("list_cases", json!({ "args": q }), field);
    }
    for (q, code) in [
        (json!({ "statuses": ["open", "lost"] }), "unknown_status"),
        (json!({ "kinds": ["spaceship"] }), "unknown_case_kind"),
        (json!({ "due_before": "soon" }), "invalid_date"),
        (json!({ "due_after": "2026-13-01" }), "invalid_date"),
        (json!({ "assignee": "someone" }), "invalid_id"),
    ] {
        d.refused("list_cases", json!({ "args": q }), code);
    }
}

#[test]
fn bad_visits_answers_notes_and_submissions_are_refused() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let fh = d.ok(
        "create_case",
        json!({ "args": new_case("food_hygiene", "Harbour Fish Bar") }),
    );
    let hw = d.ok(
        "create_case",
        json!({ "args": new_case("highways", "Pothole, Station Road") }),
    );
    let case = fh["reference"].clone();
    let nowhere = "FH-2026-4-9999";

    // Visits.
    d.refused(
        "add_visit",
        json!({ "args": { "case": nowhere } }),
        "case_not_found",
    );
    d.refused(
        "add_visit",
        json!({ "args": { "case": case, "template": "no-such-template" } }),
        "unknown_template",
    );
    let e = d.refused(
        "add_visit",
        json!({ "args": { "case": case, "template": "hhsrs-survey" } }),
        "template_not_for_kind",
    );
    assert!(
        e["message"].as_str().unwrap().contains("hhsrs-survey"),
        "{e}"
    );
    d.refused_field(
        "add_visit",
        json!({ "args": { "case": case, "lat": 51.5 } }),
        "location",
    );
    d.refused(
        "add_visit",
        json!({ "args": { "case": case, "lat": 100.0, "lon": 0.0 } }),
        "invalid_location",
    );

    // Submitting needs a visit, then a complete one.
    d.refused("submit", json!({ "case": nowhere }), "case_not_found");
    let e = d.refused("submit", json!({ "case": case }), "no_visits");
    assert!(e["message"].as_str().unwrap().contains("visit"), "{e}");
    let v = d.ok(
        "add_visit",
        json!({ "args": { "case": case, "template": "general-visit" } }),
    );
    assert_eq!(v["visits"][0]["template_id"], "general-visit");
    let v = d.ok(
        "add_visit",
        json!({ "args": { "case": case, "template": " " } }),
    );
    let fh_visit = v["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["template_id"] == "food-hygiene")
        .unwrap()["id"]
        .clone();
    let e = d.refused("submit", json!({ "case": case }), "visit_incomplete");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains("is missing required answers"), "{e}");

    // Answers.
    let other = d.ok("add_visit", json!({ "args": { "case": hw["id"] } }));
    let other_visit = other["visits"][0]["id"].clone();
    let answer = |visit: &Value, item: &str, value: &str| json!({ "args": { "case": case, "visit": visit, "item": item, "value": value } });
    d.refused(
        "answer",
        answer(&json!("nope"), "fh.hygiene", "5"),
        "invalid_id",
    );
    d.refused(
        "answer",
        answer(&other_visit, "fh.hygiene", "5"),
        "unknown_visit",
    );
    d.refused(
        "answer",
        answer(&fh_visit, "fh.nothing", "5"),
        "unknown_item",
    );
    d.refused(
        "answer",
        answer(&fh_visit, "fh.nothing", ""),
        "unknown_item",
    );
    for (item, value, says) in [
        ("fh.hygiene", "7", "Hygienic food handling score"),
        ("fh.fbo_present", "maybe", "yes or no"),
        ("fh.business_type", "pub", "not an option"),
        ("fh.food_handlers", "1001", "Number of food handlers"),
        ("fh.food_handlers", "2.5", "Number of food handlers"),
    ] {
        let e = d.refused_at(
            "answer",
            answer(&fh_visit, item, value),
            "invalid_answer",
            item,
        );
        assert!(e["message"].as_str().unwrap().contains(says), "{e}");
    }
    d.refused(
        "answer",
        json!({ "args": { "case": nowhere, "visit": fh_visit, "item": "fh.hygiene", "value": "5" } }),
        "case_not_found",
    );

    // Notes.
    let note = |text: &str| json!({ "args": { "case": case, "text": text } });
    d.refused_at("add_note", note("  \n "), "empty_note", "note");
    d.refused_at("add_note", note(&"n".repeat(10_001)), "too_long", "note");
    d.refused_at(
        "add_note",
        note("bad\u{1b}[2J"),
        "control_characters",
        "note",
    );
    d.refused(
        "add_note",
        json!({ "args": { "case": nowhere, "text": "x" } }),
        "case_not_found",
    );
    let ok = d.ok("add_note", note("Line one\n\tLine two"));
    assert_eq!(ok["notes"][0]["text"], "Line one\n\tLine two");
}

#[test]
fn malformed_payloads_are_refused_by_tauri_and_write_nothing() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let c = d.ok(
        "create_case",
        json!({ "args": new_case("food_hygiene", "Harbour Fish Bar") }),
    );
    let case = c["reference"].clone();
    let v = d.ok("add_visit", json!({ "args": { "case": case } }));
    let visit = v["visits"][0]["id"].clone();
    let init_args = init(json!({}))["args"].clone();

    let payloads = [
        // Missing argument, missing field, wrong JSON types, a bare value for a struct.
        ("init_device", json!({}), "args"),
        (
            "init_device",
            json!({ "args": { "passphrase": PASS, "person_name": "X", "role": "officer" } }),
            "args",
        ),
        (
            "init_device",
            args(init_args.clone(), json!({ "device_number": -1 })),
            "args",
        ),
        (
            "init_device",
            args(init_args.clone(), json!({ "device_number": 4.5 })),
            "args",
        ),
        (
            "init_device",
            args(init_args, json!({ "role": null })),
            "args",
        ),
        ("unlock", json!({}), "passphrase"),
        ("unlock", json!({ "passphrase": 1234 }), "passphrase"),
        ("unlock", json!({ "passphrase": null }), "passphrase"),
        ("list_cases", json!({}), "args"),
        (
            "list_cases",
            json!({ "args": { "limit": "fifty" } }),
            "args",
        ),
        ("list_cases", json!({ "args": { "offset": -1 } }), "args"),
        (
            "list_cases",
            json!({ "args": { "statuses": "open" } }),
            "args",
        ),
        (
            "list_cases",
            json!({ "args": { "descending": "yes" } }),
            "args",
        ),
        ("open_case", json!({}), "case"),
        ("open_case", json!({ "case": 42 }), "case"),
        ("open_case", json!({ "case": null }), "case"),
        (
            "create_case",
            json!({ "args": { "title": "No kind" } }),
            "args",
        ),
        (
            "create_case",
            json!({ "kind": "general", "title": "Unwrapped" }),
            "args",
        ),
        ("create_case", json!({ "args": "general" }), "args"),
        (
            "create_case",
            json!({ "args": { "kind": "general", "title": "x", "lat": "51.5", "lon": "0" } }),
            "args",
        ),
        (
            "create_case",
            json!({ "args": { "kind": "general", "title": "x", "uprn": 100023336956_u64 } }),
            "args",
        ),
        (
            "edit_case",
            json!({ "args": { "title": "No case" } }),
            "args",
        ),
        (
            "edit_case",
            json!({ "args": { "case": case, "clear_location": "yes" } }),
            "args",
        ),
        (
            "edit_case",
            json!({ "args": { "case": case, "title": 5 } }),
            "args",
        ),
        ("add_visit", json!({ "args": {} }), "args"),
        (
            "add_visit",
            json!({ "args": { "case": case, "lat": true } }),
            "args",
        ),
        (
            "answer",
            json!({ "args": { "case": case, "visit": visit, "item": "fh.hygiene" } }),
            "args",
        ),
        (
            "answer",
            json!({ "args": { "case": case, "visit": visit, "item": "fh.hygiene", "value": 5 } }),
            "args",
        ),
        ("add_note", json!({ "args": { "case": case } }), "args"),
        (
            "add_note",
            json!({ "args": { "case": case, "text": ["a"] } }),
            "args",
        ),
        ("submit", json!({}), "case"),
        ("submit", json!({ "case": { "id": case } }), "case"),
        ("transition", json!({ "args": { "case": case } }), "args"),
        (
            "transition",
            json!({ "args": { "case": case, "to": "submitted", "comment": 7 } }),
            "args",
        ),
        ("history", json!({}), "case"),
        ("history", json!({ "case": [case] }), "case"),
        ("save_draft", json!({}), "args"),
        ("save_draft", json!({ "args": { "key": "k" } }), "args"),
        (
            "save_draft",
            json!({ "args": { "key": "k", "value": 5 } }),
            "args",
        ),
        (
            "save_draft",
            json!({ "args": { "key": "k", "value": null } }),
            "args",
        ),
        ("save_draft", json!({ "key": "k", "value": "v" }), "args"),
        ("drafts", json!({}), "prefix"),
        ("drafts", json!({ "prefix": null }), "prefix"),
        ("clear_drafts", json!({}), "prefix"),
        ("clear_drafts", json!({ "prefix": 1 }), "prefix"),
        ("sign_in", json!({}), "args"),
        ("conflicts", json!({}), "case"),
        (
            "resolve_conflict",
            json!({ "args": { "case": case, "field": "title" } }),
            "args",
        ),
        (
            "sign_in",
            json!({ "args": { "server": "https://x.example", "user": "sam" } }),
            "args",
        ),
        ("photos", json!({}), "case"),
        ("edit_photo", json!({ "args": { "case": case } }), "args"),
        (
            "edit_photo",
            json!({ "args": { "case": case, "photo": 7, "caption": null, "visit": null } }),
            "args",
        ),
        ("fetch_photo", json!({ "case": case }), "photo"),
        ("find_place", json!({}), "query"),
        ("find_place", json!({ "query": 100 }), "query"),
    ];
    for (cmd, body, arg) in payloads {
        d.malformed(cmd, body, arg);
    }
    let text = d.malformed("open_case", json!({}), "case");
    assert!(text.contains("missing required key case"), "{text}");
    let text = d.malformed("answer", json!({ "args": { "case": case } }), "args");
    assert!(text.contains("missing field `visit`"), "{text}");
    let text = d.malformed("unlock", json!({ "passphrase": 1234 }), "passphrase");
    assert!(text.contains("invalid type: integer `1234`"), "{text}");
    assert_eq!(d.ok("device", json!({}))["case_count"], 1);
}

#[test]
fn drafts_keep_what_was_typed_until_cleared() {
    let _shows = shows();
    let d = Device::with_role("officer");
    d.ok(
        "create_case",
        json!({ "args": new_case("general", "A case") }),
    );
    let dev = d.ok("device", json!({}));
    let save = |key: &str, value: &str| {
        d.ok(
            "save_draft",
            json!({ "args": { "key": key, "value": value } }),
        )
    };
    assert_eq!(save("new-case:title", "Chip sh"), Value::Null);
    save("new-case:title", "Chip shop");
    save("new-case:postcode", "M1 1");
    save("new-case_x:title", "another form");
    save("visit:1:q", "");
    let pairs = |prefix: &str| -> Vec<(String, String)> {
        let got = d.ok("drafts", json!({ "prefix": prefix }));
        got.as_array()
            .unwrap()
            .iter()
            .map(|x| {
                let keys: BTreeSet<&str> =
                    x.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(keys, BTreeSet::from(["key", "updated_at", "value"]), "{x}");
                assert!(is_time(&x["updated_at"]), "{x}");
                (
                    x["key"].as_str().unwrap().to_string(),
                    x["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, x)| (k.to_string(), x.to_string()))
            .collect()
    };
    // In key order; prefixes are literal ("_" is no wildcard) and case matters.
    assert_eq!(
        pairs("new-case:"),
        owned(&[
            ("new-case:postcode", "M1 1"),
            ("new-case:title", "Chip shop")
        ])
    );
    assert_eq!(pairs("NEW-CASE:"), []);
    assert_eq!(pairs("new_case"), []);
    assert_eq!(pairs("visit:1:"), owned(&[("visit:1:q", "")]));
    assert_eq!(pairs("").len(), 4);
    // Drafts are no change to any case: nothing to sync, no history.
    assert_eq!(d.ok("device", json!({})), dev);

    // They are in the encrypted database, so a relock (or a restart) keeps them.
    let all = pairs("");
    d.ok("lock", json!({}));
    d.ok("unlock", json!({ "passphrase": PASS }));
    assert_eq!(pairs(""), all);

    assert_eq!(d.ok("clear_drafts", json!({ "prefix": "new-case:" })), 2);
    assert_eq!(pairs("new-case:"), []);
    assert_eq!(pairs("new-case_x:").len(), 1);
    assert_eq!(d.ok("clear_drafts", json!({ "prefix": "nothing:" })), 0);

    // Bad keys and values are refused naming the field at fault, and nothing is kept.
    let long_key = "k".repeat(201);
    for (key, value, field) in [
        ("", "v", "key"),
        ("bad\nkey", "v", "key"),
        (long_key.as_str(), "v", "key"),
        ("big", &*"x".repeat(100_001), "value"),
    ] {
        d.refused_field(
            "save_draft",
            json!({ "args": { "key": key, "value": value } }),
            field,
        );
    }
    for prefix in [long_key.as_str(), "bad\u{7}"] {
        d.refused_field("drafts", json!({ "prefix": prefix }), "key");
        d.refused_field("clear_drafts", json!({ "prefix": prefix }), "key");
    }
    let e = d.refused_field("clear_drafts", json!({ "prefix": "" }), "key");
    assert!(e["message"].as_str().unwrap().contains("which"), "{e}");
    assert_eq!(pairs("").len(), 2);
}

// ---------------------------------------------------------------- sign-in and sync

/// `sign_in`'s payload for `user` on `server` with the right password.
fn sign_in(server: &str, user: &str) -> Value {
    json!({ "args": { "server": server, "user": user, "password": PASSWORD } })
}

/// Another device, signed in as `user`, driven through the device API (as that person's
/// tablet would be).
fn other_device(dir: &std::path::Path, server: &TestServer, user: &str, number: u32) -> Ctx {
    let ctx = Ctx::new(dir);
    fieldbook_app::init_device(
        &ctx,
        fieldbook_app::InitArgs {
            passphrase: PASS.into(),
            person_name: user.into(),
            role: "officer".into(),
            device_number: number,
        },
    )
    .unwrap();
    fieldbook_app::sign_in(
        &ctx,
        fieldbook_app::SignInArgs {
            server: server.url.clone(),
            user: user.into(),
            password: PASSWORD.into(),
        },
    )
    .unwrap();
    ctx
}

/// The `sync-activity` events the shell sends, as they arrive.
fn activities(d: &Device) -> std::sync::mpsc::Receiver<Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    d.app.listen(EVENT, move |e| {
        let _ = tx.send(serde_json::from_str::<Value>(e.payload()).unwrap());
    });
    rx
}

/// Wait (up to a minute: this is a deadline, not a measurement) until `check` holds.
#[track_caller]
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn a_device_signs_in_syncs_with_a_real_server_and_is_wiped_when_revoked() {
    let _shows = shows();
    let mut server = TestServer::start();
    let d = Device::with_role("officer");
    let events = activities(&d);

    let status = d.ok("sync_status", json!({}));
    assert_eq!(
        status,
        json!({ "server": null, "user": null, "last_sync_at": null, "last_error": null,
                "outbox_cases": 0, "outbox_changes": 0, "refused": [], "departed": [] })
    );
    let e = d.refused("sync_now", json!({}), "not_signed_in");
    assert!(e["message"].as_str().unwrap().contains("sign in"), "{e}");

    let c = d.ok(
        "create_case",
        json!({ "args": new_case("food_hygiene", "Harbour Fish Bar") }),
    );
    let signed = d.ok("sign_in", sign_in(&format!("{}/", server.url), "olive"));
    assert_eq!(
        signed,
        json!({ "server": server.url, "user": "olive", "person_name": "olive",
                "role": "officer", "team": "North" })
    );
    // Signing in starts a sync in the background; an explicit one runs after it.
    let report = d.ok("sync_now", json!({}));
    assert_eq!(report["refused"], json!([]));
    let status = d.ok("sync_status", json!({}));
    assert_eq!(status["server"], server.url.as_str());
    assert_eq!(status["user"], "olive");
    assert!(is_time(&status["last_sync_at"]), "{status}");
    assert_eq!(status["last_error"], Value::Null);
    assert_eq!(status["outbox_changes"], 0);
    // The background sync that signing in started may still be finishing.
    eventually("the background sync to finish", || {
        d.ok("sync_activity", json!({}))["state"] == "idle"
    });
    assert_eq!(
        d.ok("sync_activity", json!({})),
        json!({ "state": "idle", "pulled": 0, "total": 0, "error": null, "revoked_reason": null, "photos": null })
    );

    // A case from Olive's other device (her tablet) arrives, with progress on the way.
    let tmp = tempfile::tempdir().unwrap();
    let tablet = other_device(&tmp.path().join("tablet"), &server, "olive", 21);
    let theirs = fieldbook_app::create_case(
        &tablet,
        fieldbook_app::NewCaseArgs {
            kind: "housing".into(),
            title: "Damp at 4 Mill Lane".into(),
            ..Default::default()
        },
    )
    .unwrap();
    fieldbook_app::sync_now(&tablet).unwrap();
    while events.try_recv().is_ok() {}
    let report = d.ok("sync_now", json!({}));
    assert_eq!(report["pulled"], 1, "{report}");
    let arrived = d.ok("open_case", json!({ "case": theirs.reference }));
    assert_eq!(arrived["title"], "Damp at 4 Mill Lane");
    let seen: Vec<Value> = events.try_iter().collect();
    assert!(
        seen.contains(&json!({ "state": "syncing", "pulled": 1, "total": 1, "error": null, "revoked_reason": null, "photos": null })),
        "{seen:?}"
    );
    assert_eq!(seen.last().unwrap()["state"], "idle", "{seen:?}");

    // The server goes away: the sync says so in words, and the edit waits.
    server.stop();
    d.ok(
        "edit_case",
        json!({ "args": { "case": c["reference"], "title": "Harbour Fish Bar (closed)" } }),
    );
    let e = d.refused("sync_now", json!({}), "server_unreachable");
    assert!(
        e["message"].as_str().unwrap().contains("cannot be reached"),
        "{e}"
    );
    let a = d.ok("sync_activity", json!({}));
    assert_eq!(a["state"], "offline", "{a}");
    assert_eq!(a["error"]["code"], "server_unreachable", "{a}");
    let status = d.ok("sync_status", json!({}));
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot be reached")
    );
    assert_eq!(status["outbox_changes"], 1);

    // Back again, the administrator has removed the device: it is wiped and says why.
    server.restart();
    let id = d.ok("device", json!({}))["device_id"].clone();
    server.revoke(id.as_str().unwrap(), "Laptop reported stolen");
    let e = d.call("sync_now", json!({})).unwrap_err();
    assert_app_error(&e);
    assert_eq!(e["code"], "device_revoked");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("Laptop reported stolen"),
        "{e}"
    );
    assert!(!d.unlocked());
    assert!(
        !d.data.join("fieldbook.db").exists() && !d.data.join("fieldbook.key").exists(),
        "the device's data is deleted"
    );
    assert_eq!(
        d.raw("device", json!({})).unwrap_err()["code"],
        "not_initialised"
    );
    let a = d.ok("sync_activity", json!({}));
    assert_eq!(a["state"], "revoked", "{a}");
    assert_eq!(a["revoked_reason"], "Laptop reported stolen", "{a}");
    assert_eq!(a["error"]["code"], "device_revoked", "{a}");
}

#[test]
fn sign_in_refuses_bad_credentials_insecure_and_unreachable_servers() {
    let _shows = shows();
    let server = TestServer::start();
    let d = Device::with_role("officer");
    let bad = |server: &str, user: &str, password: &str, code: &str| {
        let e = d.refused(
            "sign_in",
            json!({ "args": { "server": server, "user": user, "password": password } }),
            code,
        );
        assert_eq!(d.ok("sync_status", json!({}))["server"], Value::Null);
        e
    };
    bad(&server.url, "olive", "not the password", "bad_credentials");
    bad(&server.url, "nobody", PASSWORD, "bad_credentials");
    let e = bad(
        "http://fieldbook.anytown.gov.uk",
        "olive",
        PASSWORD,
        "insecure_server",
    );
    assert!(e["message"].as_str().unwrap().contains("https://"), "{e}");
    bad("fieldbook dot gov", "olive", PASSWORD, "invalid_server");
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    bad(&url, "olive", PASSWORD, "server_unreachable");

    // Another device already holds this device's number on the server.
    let tmp = tempfile::tempdir().unwrap();
    let twin = Ctx::new(tmp.path().join("twin"));
    fieldbook_app::init_device(
        &twin,
        fieldbook_app::InitArgs {
            passphrase: PASS.into(),
            person_name: "Owen".into(),
            role: "officer".into(),
            device_number: 4,
        },
    )
    .unwrap();
    fieldbook_app::sign_in(
        &twin,
        fieldbook_app::SignInArgs {
            server: server.url.clone(),
            user: "owen".into(),
            password: PASSWORD.into(),
        },
    )
    .unwrap();
    let e = bad(&server.url, "olive", PASSWORD, "device_number_taken");
    assert!(e["message"].as_str().unwrap().contains('4'), "{e}");

    // A server whose tokens last no time at all: signing in works, syncing is refused until
    // the person signs in again, and the shell says which.
    let strict = TestServer::start_with(|a| a.with_token_lifetime(std::time::Duration::ZERO));
    let d3 = Device::new();
    d3.ok("init_device", init(json!({ "device_number": 11 })));
    d3.ok("sign_in", sign_in(&strict.url, "olive"));
    let e = d3.refused("sync_now", json!({}), "token_expired");
    assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    // The background sync that signing in asked for may run just after this one (and fail
    // the same way): wait for the shell to be idle again.
    eventually("the shell to show the expired token", || {
        let a = d3.ok("sync_activity", json!({}));
        a["state"] == "idle" && a["error"]["code"] == "token_expired"
    });
    let a = d3.ok("sync_activity", json!({}));
    assert_eq!(
        (&a["state"], &a["error"]["code"]),
        (&json!("idle"), &json!("token_expired")),
        "{a}"
    );
    assert!(d3.ok("sync_status", json!({}))["last_error"].is_string());

    // A device signed in as one person cannot be signed in as another.
    let d2 = Device::new();
    d2.ok("init_device", init(json!({ "device_number": 9 })));
    d2.ok("sign_in", sign_in(&server.url, "olive"));
    let e = d2.refused("sign_in", sign_in(&server.url, "lena"), "device_taken");
    assert!(!e["message"].as_str().unwrap().is_empty());
    assert_eq!(d2.ok("sync_status", json!({}))["user"], "olive");
}

#[test]
fn the_background_sync_follows_unlock_edits_and_the_server_coming_back() {
    let _shows = shows();
    let mut server = TestServer::start();
    // Short pauses so the test does not wait minutes; the periodic sync is left out (an hour).
    let d = Device::with_timing(Timing {
        every: std::time::Duration::from_secs(3600),
        after_edit: std::time::Duration::from_millis(200),
        edits_wait_at_most: std::time::Duration::from_secs(2),
        probe: std::time::Duration::from_millis(200),
    });
    d.ok("init_device", init(json!({})));
    let status = || d.ok("sync_status", json!({}));
    let activity = || d.ok("sync_activity", json!({}));

    // Signed in by the device API (the window's sign_in is shown elsewhere): nothing syncs
    // until the next unlock asks for it.
    fieldbook_app::sign_in(
        &d.app.state::<Ctx>(),
        fieldbook_app::SignInArgs {
            server: server.url.clone(),
            user: "olive".into(),
            password: PASSWORD.into(),
        },
    )
    .unwrap();
    d.ok(
        "create_case",
        json!({ "args": new_case("general", "Bins") }),
    );
    eventually("a sync soon after the edit", || {
        status()["outbox_changes"] == 0 && status()["last_sync_at"].is_string()
    });

    // Offline: an edit waits, the activity says offline…
    server.stop();
    d.ok(
        "create_case",
        json!({ "args": new_case("general", "Bins again") }),
    );
    eventually("offline shown", || activity()["state"] == "offline");
    assert_eq!(status()["outbox_changes"], 1);
    assert_eq!(activity()["error"]["code"], "server_unreachable");

    // …until the server answers again, when it syncs without being asked.
    server.restart();
    eventually("synced once the server is back", || {
        status()["outbox_changes"] == 0 && activity()["state"] == "idle"
    });
    assert_eq!(activity()["error"], Value::Null);

    // Locked, nothing syncs; unlocking syncs at once (a case from Olive's tablet arrives).
    d.ok("lock", json!({}));
    let tmp = tempfile::tempdir().unwrap();
    let tablet = other_device(&tmp.path().join("tablet"), &server, "olive", 31);
    let theirs = fieldbook_app::create_case(
        &tablet,
        fieldbook_app::NewCaseArgs {
            kind: "housing".into(),
            title: "From the tablet".into(),
            ..Default::default()
        },
    )
    .unwrap();
    fieldbook_app::sync_now(&tablet).unwrap();
    d.ok("unlock", json!({ "passphrase": PASS }));
    eventually("the other device's case arrives after unlock", || {
        d.raw("open_case", json!({ "case": theirs.reference }))
            .is_ok()
    });
}

#[test]
fn two_devices_change_one_field_and_the_window_chooses_a_value() {
    let _shows = shows();
    let server = TestServer::start();
    let d = Device::with_role("officer");
    d.ok("sign_in", sign_in(&server.url, "olive"));
    let c = d.ok(
        "create_case",
        json!({ "args": new_case("food_hygiene", "Harbour Fish Bar") }),
    );
    let case = c["reference"].clone();
    d.ok("sync_now", json!({}));
    assert_eq!(d.ok("conflicts", json!({ "case": case })), json!([]));

    // Olive's tablet renames the case while the laptop, not yet synced, renames it too.
    let tmp = tempfile::tempdir().unwrap();
    let tablet = other_device(&tmp.path().join("tablet"), &server, "olive", 41);
    fieldbook_app::sync_now(&tablet).unwrap();
    fieldbook_app::edit_case(
        &tablet,
        fieldbook_app::EditCaseArgs {
            case: case.as_str().unwrap().into(),
            title: Some("Harbour Fish Bar (takeaway)".into()),
            ..Default::default()
        },
    )
    .unwrap();
    fieldbook_app::sync_now(&tablet).unwrap();
    d.ok(
        "edit_case",
        json!({ "args": { "case": case, "title": "Harbour Fish & Chips" } }),
    );
    d.ok("sync_now", json!({}));

    let found = d.ok("conflicts", json!({ "case": case }));
    let list = found.as_array().unwrap();
    assert_eq!(list.len(), 1, "{found}");
    let title = &list[0];
    assert_eq!(title["field"], "title");
    assert_eq!(title["label"], "Title");
    assert_eq!(title["choosable"], true);
    let values = title["values"].as_array().unwrap();
    let mut shown: Vec<(&str, &str)> = values
        .iter()
        .map(|v| (v["shown"].as_str().unwrap(), v["by"].as_str().unwrap()))
        .collect();
    shown.sort_unstable();
    assert_eq!(
        shown,
        vec![
            ("Harbour Fish & Chips", "Sam Patel"),
            ("Harbour Fish Bar (takeaway)", "olive"),
        ]
    );
    let tablets = values
        .iter()
        .find(|v| v["shown"] == "Harbour Fish Bar (takeaway)")
        .unwrap()["actor"]
        .clone();

    let resolve = |over: Value| {
        args(
            json!({ "case": case, "field": "title", "actor": tablets }),
            over,
        )
    };
    d.refused_field(
        "resolve_conflict",
        resolve(json!({ "field": "colour" })),
        "field",
    );
    d.refused_field(
        "resolve_conflict",
        resolve(json!({ "field": "answer" })),
        "field",
    );
    d.refused(
        "resolve_conflict",
        resolve(json!({ "actor": "00".repeat(16) })),
        "conflict_gone",
    );
    d.refused(
        "resolve_conflict",
        resolve(json!({ "case": "FH-2026-4-9999" })),
        "case_not_found",
    );
    d.refused(
        "conflicts",
        json!({ "case": "FH-2026-4-9999" }),
        "case_not_found",
    );

    // Choosing the tablet's title is an edit like any other: the case shows it, the conflict is
    // gone, and it waits to be synced.
    let chosen = d.ok("resolve_conflict", resolve(json!({})));
    assert_eq!(chosen["title"], "Harbour Fish Bar (takeaway)");
    assert_eq!(d.ok("conflicts", json!({ "case": case })), json!([]));
    assert!(
        d.ok("sync_status", json!({}))["outbox_changes"]
            .as_u64()
            .unwrap()
            >= 1
    );
    let history = d.ok("history", json!({ "case": case }));
    assert!(
        history.as_array().unwrap().iter().any(|h| h["message"]
            .as_str()
            .unwrap()
            .contains("settling a conflict")),
        "{history}"
    );
}

#[test]
fn every_command_has_a_success_and_its_refusals_shown() {
    let source = include_str!("ipc.rs");
    let commands: BTreeSet<&str> = COMMANDS.iter().copied().collect();
    let rows: BTreeSet<&str> = COVERAGE.iter().map(|(c, _)| *c).collect();
    assert_eq!(rows.len(), COVERAGE.len(), "one COVERAGE row per command");
    let untested: Vec<_> = commands.difference(&rows).collect();
    assert!(
        untested.is_empty(),
        "commands with no IPC tests: {untested:?} (add a row to COVERAGE, and the calls to the tests it names)"
    );
    let unknown: Vec<_> = rows.difference(&commands).collect();
    assert!(
        unknown.is_empty(),
        "COVERAGE names commands not in COMMANDS: {unknown:?}"
    );

    // A command takes arguments when Tauri refuses an empty payload for it.
    let d = Device::new();
    for (cmd, shown) in COVERAGE {
        let outcomes: BTreeSet<&str> = shown.iter().flat_map(|(_, o)| o.iter().copied()).collect();
        assert!(outcomes.contains("ok"), "{cmd}: no test shows it succeed");
        assert!(
            outcomes.iter().any(|o| *o != "ok"),
            "{cmd}: no test shows it refused (or, when it cannot fail, that it works locked)"
        );
        if !UNLOCKING.contains(cmd) {
            assert!(
                outcomes.contains("locked") || outcomes.contains(OK_LOCKED),
                "{cmd}: no test shows a locked device refuse it (or that it works locked)"
            );
        }
        let takes_args = matches!(
            d.raw(cmd, json!({})),
            Err(Value::String(s)) if s.starts_with("invalid args `")
        );
        if takes_args {
            assert!(
                outcomes.contains(ARGS),
                "{cmd} takes arguments: no test shows Tauri refuse a malformed payload"
            );
        }
        for (test, _) in *shown {
            assert!(
                source.contains(&format!(
                    "#[test]\nfn {test}() {{\n    let _shows = shows();"
                )),
                "COVERAGE names `{test}` for {cmd}: no such test here, or it does not start by recording what it shows"
            );
        }
    }
}

#[test]
fn every_declared_command_is_registered_and_granted() {
    let capability: Value =
        serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
    let granted: Vec<&str> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let mut expected: Vec<String> = COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    // The window listens to the shell's sync-activity event (and stops listening).
    expected.extend([
        "core:event:allow-listen".into(),
        "core:event:allow-unlisten".into(),
    ]);
    assert_eq!(
        granted, expected,
        "capabilities/default.json grants exactly the declared commands and event listening"
    );

    let d = Device::new();
    for cmd in COMMANDS {
        // Bad or missing arguments are fine here; an unknown command is not.
        if let Err(e) = d.raw(cmd, json!({})) {
            let text = e.to_string();
            assert!(
                !text.contains("not found"),
                "{cmd} is not registered: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------- photos, places and the map

/// A phone's photo: portrait by EXIF orientation 6, with a GPS position in Millbrook North.
fn photo() -> Vec<u8> {
    include_bytes!("../../crates/app/tests/data/millbrook-portrait-gps.jpg").to_vec()
}

fn millbrook_wards() -> &'static str {
    include_str!("../../crates/core/tests/data/wards_millbrook.geojson")
}

#[test]
fn photos_are_added_captioned_and_served_to_the_window() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let c = d.ok(
        "create_case",
        json!({ "args": new_case("food_hygiene", "The Mill Cafe") }),
    );
    let case = c["reference"].clone();
    let id = c["id"].as_str().unwrap().to_string();
    let v = d.ok("add_visit", json!({ "args": { "case": case } }));
    let visit = v["visits"][0]["id"].clone();
    assert_eq!(d.ok("photos", json!({ "case": case })), json!([]));

    let args = json!({
        "case": case,
        "file_name": "IMG_0001.JPG",
        "visit": visit,
        "caption": "Kitchen – hand-wash sink",
    });
    let added = d.call_bytes("add_photo", photo(), Some(&args)).unwrap();
    assert_eq!(added["added"], true);
    let p = added["photo"].clone();
    let sha = p["sha256"].as_str().unwrap().to_string();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{p}"
    );
    assert_eq!(p["mime"], "image/jpeg");
    // Stored 288×384 with EXIF orientation 6: upright it is 384×288.
    assert_eq!(
        (&p["width"], &p["height"]),
        (&json!(384), &json!(288)),
        "{p}"
    );
    assert_eq!(p["caption"], "Kitchen – hand-wash sink");
    assert_eq!(p["visit_id"], visit);
    assert!(is_time(&p["taken_at"]), "{p}");
    assert_eq!(p["location"]["source"], "photo_exif");
    assert_eq!(
        p["location"]["ward"],
        Value::Null,
        "no ward boundaries are loaded"
    );
    assert!(p["location"]["bng"]["grid_ref"].is_string(), "{p}");
    let held: Vec<&str> = p["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert_eq!(held, ["full", "thumb"]);
    // The same file again changes nothing.
    let again = d.call_bytes("add_photo", photo(), Some(&args)).unwrap();
    assert_eq!(again["added"], false);
    assert_eq!(again["photo"]["sha256"], sha.as_str());
    let listed = d.ok("photos", json!({ "case": case }));
    assert_eq!(listed, json!([p.clone()]));
    assert_eq!(d.ok("open_case", json!({ "case": case }))["photos"], listed);

    // The window reads the bytes through the fbphoto protocol, never cached on disk.
    let ctx = d.app.state::<Ctx>();
    for variant in ["thumb", "full"] {
        let r = fieldbook_desktop::protocols::photo(&ctx, &format!("/{id}/{sha}/{variant}"));
        assert_eq!(r.status(), 200, "{variant}");
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert_eq!(r.headers()["cache-control"], "no-store");
        assert!(r.body().starts_with(&[0xFF, 0xD8]), "{variant} is a JPEG");
    }
    // convertFileSrc may encode the whole path as one segment.
    let encoded = fieldbook_desktop::protocols::photo(&ctx, &format!("/{id}%2F{sha}%2Fthumb"));
    assert_eq!(encoded.status(), 200);
    for bad in [
        format!("/{id}/{sha}/original"),
        format!("/{id}/{}/thumb", "0".repeat(64)),
        format!("/{id}/{sha}"),
        format!("/not-a-case/{sha}/thumb"),
    ] {
        let r = fieldbook_desktop::protocols::photo(&ctx, &bad);
        assert_eq!(r.status(), 404, "{bad}");
    }

    let edited = d.ok(
        "edit_photo",
        json!({ "args": { "case": case, "photo": sha, "caption": "Hand-wash sink, no soap", "visit": "" } }),
    );
    assert_eq!(edited["caption"], "Hand-wash sink, no soap");
    assert_eq!(edited["visit_id"], Value::Null);
    // Held here already: fetching is a no-op that says so.
    assert_eq!(
        d.ok("fetch_photo", json!({ "case": case, "photo": sha })),
        true
    );

    // Refusals leave the case as it was.
    let named =
        |name: &str| json!({ "case": case, "file_name": name, "visit": null, "caption": null });
    d.refused_bytes("add_photo", Vec::new(), Some(&named("a.jpg")), "empty");
    d.refused_bytes(
        "add_photo",
        b"these are the minutes of the meeting".to_vec(),
        Some(&named("minutes.jpg")),
        "unsupported_format",
    );
    let mut png_named_jpg = b"\x89PNG\r\n\x1a\n".to_vec();
    png_named_jpg.extend([0u8; 64]);
    d.refused_bytes(
        "add_photo",
        png_named_jpg,
        Some(&named("photo.jpg")),
        "mislabelled",
    );
    let half = photo()[..photo().len() / 2].to_vec();
    d.refused_bytes("add_photo", half, Some(&named("cut.jpg")), "corrupt");
    let e = d.refused_bytes("add_photo", photo(), None, "invalid_input");
    assert!(
        e["message"].as_str().unwrap().contains("Fieldbook-Args"),
        "{e}"
    );
    let e = d.refused_bytes(
        "add_photo",
        photo(),
        Some(&json!({ "case": case, "file": "x" })),
        "invalid_input",
    );
    assert!(
        e["message"].as_str().unwrap().contains("not understood"),
        "{e}"
    );
    let e = d.refused("add_photo", json!({ "args": args }), "invalid_input");
    assert!(e["message"].as_str().unwrap().contains("body"), "{e}");
    d.refused_bytes(
        "add_photo",
        photo(),
        Some(
            &json!({ "case": "FH-1999-9-9999", "file_name": null, "visit": null, "caption": null }),
        ),
        "case_not_found",
    );
    d.refused_bytes(
        "add_photo",
        photo(),
        Some(&json!({ "case": case, "file_name": null, "visit": "01a24c07-1e47-70a8-bb4c-39019b52371f", "caption": null })),
        "unknown_visit",
    );
    d.refused(
        "photos",
        json!({ "case": "FH-1999-9-9999" }),
        "case_not_found",
    );
    let edit = |photo: &str, caption: &str, visit: Value| json!({ "args": { "case": case, "photo": photo, "caption": caption, "visit": visit } });
    d.refused(
        "edit_photo",
        edit(&"0".repeat(64), "x", Value::Null),
        "unknown_photo",
    );
    d.refused(
        "edit_photo",
        edit(&sha, "x", json!("01a24c07-1e47-70a8-bb4c-39019b52371f")),
        "unknown_visit",
    );
    d.refused(
        "edit_photo",
        edit(&sha, &"x".repeat(5000), Value::Null),
        "too_long",
    );
    d.refused(
        "edit_photo",
        json!({ "args": { "case": "FH-1999-9-9999", "photo": sha, "caption": "x", "visit": null } }),
        "case_not_found",
    );
    d.refused(
        "fetch_photo",
        json!({ "case": case, "photo": "0".repeat(64) }),
        "unknown_photo",
    );
    d.refused(
        "fetch_photo",
        json!({ "case": "FH-1999-9-9999", "photo": sha }),
        "case_not_found",
    );
}

#[test]
fn places_and_the_map_come_from_what_the_device_holds() {
    let _shows = shows();
    let d = Device::with_role("officer");
    let map = d.ok("map_info", json!({}));
    assert_eq!(
        map,
        json!({ "basemap": null, "online_tiles": false, "wards": null })
    );
    d.refused("find_place", json!({ "query": "MB1 1AA" }), "no_gazetteer");

    let ctx = d.app.state::<Ctx>();
    // No pack: no tile, and nothing asked of any server.
    assert_eq!(
        fieldbook_desktop::protocols::tile(&ctx, "/14/8146/5461").status(),
        204
    );
    assert_eq!(
        fieldbook_desktop::protocols::tile(&ctx, "/14/8146").status(),
        404
    );
    assert_eq!(
        fieldbook_desktop::protocols::tile(&ctx, "/z/x/y").status(),
        404
    );

    // An administrator loads wards, an address list and a basemap pack.
    fieldbook_app::load_wards(&ctx, millbrook_wards()).unwrap();
    let csv = "UPRN,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,ADDRESS,POSTCODE\n\
               900000000001,468381.28,235640.75,52.015,-1.005,\"1 Mill Lane, Millbrook\",MB1 1AA\n";
    let load = fieldbook_app::load_gazetteer(&ctx, csv.as_bytes()).unwrap();
    assert_eq!(load.loaded, 1, "{load:?}");
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("millbrook.mbtiles");
    {
        let db = rusqlite::Connection::open(&pack).unwrap();
        db.execute_batch(
            "CREATE TABLE metadata (name TEXT, value TEXT);
             INSERT INTO metadata VALUES ('name', 'Millbrook'), ('format', 'png');
             CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                                 tile_data BLOB);
             INSERT INTO tiles VALUES (14, 8146, 10922, x'89504E470D0A1A0A');",
        )
        .unwrap();
    }
    fieldbook_app::load_basemap(&ctx, &pack).unwrap();
    let tile = fieldbook_desktop::protocols::tile(&ctx, "/14/8146/5461.png");
    assert_eq!(tile.status(), 200);
    assert_eq!(tile.headers()["content-type"], "image/png");
    assert_eq!(tile.headers()["access-control-allow-origin"], "*");
    assert_eq!(tile.body().as_slice(), b"\x89PNG\r\n\x1a\n");

    let map = d.ok("map_info", json!({}));
    assert_eq!(map["basemap"]["name"], "Millbrook");
    assert_eq!(map["basemap"]["format"], "png");
    let wards: Value = serde_json::from_str(map["wards"].as_str().unwrap()).unwrap();
    assert_eq!(wards["features"].as_array().unwrap().len(), 4);

    let found = d.ok("find_place", json!({ "query": "mb1 1aa" }));
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found[0]["uprn"], 900000000001_u64);
    assert_eq!(found[0]["address"], "1 Mill Lane, Millbrook");
    assert_eq!(found[0]["ward"]["code"], "E05900001");
    assert!(found[0]["bng"]["grid_ref"].is_string(), "{found}");
    assert_eq!(
        d.ok("find_place", json!({ "query": "900000000001" }))[0]["postcode"],
        "MB1 1AA"
    );
    assert_eq!(
        d.ok("find_place", json!({ "query": "900000000002" })),
        json!([])
    );
    d.refused(
        "find_place",
        json!({ "query": "not a place" }),
        "invalid_postcode",
    );
    d.refused_field("find_place", json!({ "query": "  " }), "query");
}
