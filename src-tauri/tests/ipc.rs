//! The commands through Tauri's IPC, on the mock runtime, against a real device directory.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets,
};
use tauri::webview::{InvokeRequest, WebviewWindow, WebviewWindowBuilder};

fn window(dir: &std::path::Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = fieldbook_desktop::configure(mock_builder(), Some(dir.to_path_buf()))
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    (app, webview)
}

fn invoke(webview: &WebviewWindow<MockRuntime>, cmd: &str, body: Value) -> Result<Value, Value> {
    get_ipc_response(
        webview,
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

#[test]
fn commands_reach_the_device_api_and_errors_keep_their_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(dir.path());
    let locked = invoke(&w, "device", json!({})).unwrap_err();
    assert_eq!(locked["code"], "locked", "{locked}");
    let init = json!({ "args": { "passphrase": "a long passphrase", "person_name": "Sam Patel", "role": "officer", "device_number": 4 } });
    assert_eq!(
        invoke(&w, "init_device", init).unwrap()["person_name"],
        "Sam Patel"
    );
    let created = invoke(
        &w,
        "create_case",
        json!({ "args": { "kind": "food_hygiene", "title": "Harbour Fish Bar", "address": null, "postcode": "M1 1AE", "uprn": null, "lat": null, "lon": null, "accuracy_m": null, "due": null } }),
    )
    .unwrap();
    let reference = created["reference"].as_str().unwrap();
    assert!(
        reference.starts_with("FH-") && reference.ends_with("-4-0001"),
        "{reference}"
    );
    let refused = invoke(
        &w,
        "create_case",
        json!({ "args": { "kind": "food_hygiene", "title": " ", "address": null, "postcode": null, "uprn": null, "lat": null, "lon": null, "accuracy_m": null, "due": null } }),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "empty_title");
    let page = invoke(&w, "list_cases", json!({ "args": { "search": "harbour", "statuses": [], "kinds": [], "assignee": null, "due_before": null, "due_after": null, "sort": null, "descending": false, "limit": 50, "offset": 0 } })).unwrap();
    assert_eq!(page["total"], 1);
    let opened = invoke(&w, "open_case", json!({ "case": created["reference"] })).unwrap();
    assert_eq!(opened["title"], "Harbour Fish Bar");
    invoke(&w, "lock", json!({})).unwrap();
    assert_eq!(
        invoke(&w, "list_cases", json!({ "args": {} })).unwrap_err()["code"],
        "locked"
    );
    assert_eq!(
        invoke(&w, "unlock", json!({ "passphrase": "wrong passphrase" })).unwrap_err()["code"],
        "wrong_passphrase"
    );
    assert_eq!(
        invoke(&w, "unlock", json!({ "passphrase": "a long passphrase" })).unwrap()["case_count"],
        1
    );
    assert!(
        invoke(&w, "templates", json!({}))
            .unwrap()
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
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
    let expected: Vec<String> = fieldbook_desktop::COMMANDS
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    assert_eq!(
        granted, expected,
        "capabilities/default.json grants exactly the declared commands"
    );

    let dir = tempfile::tempdir().unwrap();
    let (_app, w) = window(dir.path());
    for cmd in fieldbook_desktop::COMMANDS {
        // Bad or missing arguments are fine here; an unknown command is not.
        if let Err(e) = invoke(&w, cmd, json!({})) {
            let text = e.to_string();
            assert!(
                !text.contains("not found"),
                "{cmd} is not registered: {text}"
            );
        }
    }
}
