//! End-to-end: the real `fieldbook-desktop` binary (the built UI embedded) in a real WebKitGTK
//! window under a private Xvfb, driven through tauri-driver and WebKitWebDriver, over a real
//! encrypted device directory made with `fieldbook_app` before the app starts.
//!
//! Selectors are the ones a person (or a screen reader) uses: labels, headings, button and link
//! text, and `data-testid` where a screen has one. Every main screen is checked with axe-core
//! and photographed (`$CARGO_TARGET_TMPDIR/screenshots`, and `docs/screenshots` with
//! `FIELDBOOK_UPDATE_SCREENSHOTS=1`). `.config/nextest.toml` runs these one at a time.

#[path = "e2e/driver.rs"]
mod driver;

use driver::{Harness, Result};
use fieldbook_app::{Ctx, InitArgs, NewCaseArgs};

const PASSPHRASE: &str = "correct horse battery staple";

/// The cases every test's device starts with: (kind, title, postcode, due).
const CASES: &[(&str, &str, &str, &str)] = &[
    ("food_hygiene", "The Golden Spoon", "AB1 2CD", "2027-01-15"),
    (
        "housing",
        "Flat 3, damp and mould complaint",
        "AB1 3EF",
        "2027-01-20",
    ),
    (
        "highways",
        "Pothole outside 4 Mill Road",
        "AB2 1GH",
        "2027-02-01",
    ),
];

/// A device in a fresh temporary directory with a known passphrase and [`CASES`]; the context
/// (and so the device's lock) is dropped before the app is launched on it.
fn device() -> Result<(tempfile::TempDir, Vec<String>)> {
    let dir = tempfile::Builder::new()
        .prefix("fieldbook-e2e-device-")
        .tempdir()?;
    let ctx = Ctx::new(dir.path().join("device"));
    let setup = InitArgs {
        passphrase: PASSPHRASE.into(),
        person_name: "Sam Patel".into(),
        role: "officer".into(),
        device_number: 7,
    };
    fieldbook_app::init_device(&ctx, setup).map_err(|e| driver::Error(format!("init: {e}")))?;
    let cases = CASES
        .iter()
        .map(|&(kind, title, postcode, due)| NewCaseArgs {
            kind: kind.into(),
            title: title.into(),
            postcode: Some(postcode.into()),
            due: Some(due.into()),
            ..Default::default()
        })
        .collect();
    let refs = fieldbook_app::create_cases(&ctx, cases)
        .map_err(|e| driver::Error(format!("create cases: {e}")))?;
    drop(ctx);
    Ok((dir, refs))
}

fn data_dir(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join("device")
}

/// Wait for the unlock form, type `passphrase` and press Unlock.
fn unlock_with(h: &Harness, passphrase: &str) -> Result<()> {
    h.wait_for_heading("Unlock Fieldbook")?;
    let field = h.wait_for("the passphrase field", driver::WAIT, |h| {
        let f = h.find_by_label("Passphrase")?;
        Ok(h.is_interactive(&f)?.then_some(f))
    })?;
    h.type_into(&field, passphrase)?;
    h.click(&h.find_button("Unlock")?)
}

/// The "Showing 1 to N of N cases" line once the list has loaded.
fn case_count(h: &Harness) -> Result<String> {
    h.wait_for_text("[data-testid=case-count]", "Showing")
}

#[test]
fn unlock_list_open_a_case_and_relaunch() -> Result<()> {
    let (dir, refs) = device()?;
    let mut h = Harness::start(&data_dir(&dir))?;
    h.launch()?;

    // Unlock screen.
    h.wait_for_heading("Unlock Fieldbook")?;
    h.axe("unlock")?;
    h.screenshot("unlock")?;

    // A wrong passphrase is refused with the GOV.UK error summary, and nothing opens.
    unlock_with(&h, "not the passphrase")?;
    let summary = h.wait_for_text(".govuk-error-summary", "There is a problem")?;
    assert!(
        summary.contains("The passphrase is not right for this device"),
        "error summary: {summary}"
    );
    assert!(
        h.find_heading("My cases").is_err(),
        "the case list showed after a wrong passphrase"
    );
    h.axe("unlock-error")?;

    // The right one opens the case list.
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 3 of 3 cases");
    for (reference, (_, title, _, _)) in refs.iter().zip(CASES) {
        // The row whose link is the case's reference shows its title.
        let row = format!(
            "//table//tr[.//a[normalize-space(.)={}]][contains(normalize-space(.), {})]",
            driver::xpath_literal(reference),
            driver::xpath_literal(title)
        );
        h.wait_for(
            &format!("{reference} {title:?} in the list"),
            driver::WAIT,
            |h| h.find(fantoccini::Locator::XPath(&row)).map(Some),
        )?;
    }
    h.axe("my-cases")?;
    h.screenshot("my-cases")?;

    // Portrait, as on a tablet held upright: the same list, checked and photographed again.
    h.set_window_size(800, 1280)?;
    h.wait_for("an 800×1280 viewport", driver::WAIT, |h| {
        Ok((h.viewport()? == (800, 1280)).then_some(()))
    })?;
    h.axe("my-cases-portrait")?;
    h.screenshot("my-cases-portrait")?;
    h.set_window_size(1280, 800)?;

    // Open the first case by its reference.
    let reference = &refs[0];
    h.click(&h.find_link(reference)?)?;
    h.wait_for_heading(CASES[0].1)?;
    let page = h.text(&h.find_css("main")?)?;
    assert!(
        page.contains(reference),
        "case page without its reference: {page}"
    );
    assert!(
        page.contains("AB1 2CD"),
        "case page without its postcode: {page}"
    );
    h.axe("case")?;
    h.screenshot("case")?;

    // Quit, launch again on the same directory: locked again, and the cases are still there.
    h.relaunch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 3 of 3 cases");
    h.quit()
}

#[test]
fn the_shipped_csp_is_in_force_in_the_real_window() -> Result<()> {
    let (dir, _) = device()?;
    let mut h = Harness::start(&data_dir(&dir))?;
    h.launch()?;
    h.wait_for_heading("Unlock Fieldbook")?;
    // WebDriver's own scripts run (that is how axe-core gets in), but the page may not run an
    // inline script or evaluate a string, and Tauri's prototype freeze holds.
    let probe = h.execute(
        "const s = document.createElement('script');
         s.textContent = 'window.__fieldbookInline = true';
         document.head.appendChild(s);
         let evaluated;
         try { evaluated = eval('1 + 1') === 2; } catch (e) { evaluated = false; }
         return { inline: window.__fieldbookInline === true, evaluated,
                  frozen: Object.isFrozen(Object.prototype), origin: location.origin };",
        vec![],
    )?;
    assert_eq!(probe["inline"], false, "an inline script ran: {probe}");
    assert_eq!(probe["evaluated"], false, "eval ran: {probe}");
    assert_eq!(
        probe["frozen"], true,
        "Object.prototype is not frozen: {probe}"
    );
    h.quit()
}

#[test]
fn a_killed_app_opens_its_device_again() -> Result<()> {
    let (dir, refs) = device()?;
    let mut h = Harness::start(&data_dir(&dir))?;
    h.launch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 3 of 3 cases");

    // SIGKILL while unlocked, as a crash or a flat battery would.
    let pid = h.kill_app()?;
    assert!(!driver::alive(pid));

    h.launch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 3 of 3 cases");
    h.click(&h.find_link(&refs[2])?)?;
    h.wait_for_heading(CASES[2].1)?;
    h.quit()
}
