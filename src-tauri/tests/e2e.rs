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
#[path = "common/server.rs"]
mod server;

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

/// The app launched on the device in `dir` and unlocked, showing My cases.
fn open_unlocked(dir: &tempfile::TempDir) -> Result<Harness> {
    let mut h = Harness::start(&data_dir(dir))?;
    h.launch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    Ok(h)
}

/// Clicks the link with this text once the list shows it (the list loads after the heading, and
/// a background sync may draw it again, so a link found too early can be missing or stale).
fn click_link(h: &Harness, text: &str) -> Result<()> {
    h.wait_for(&format!("the link {text:?}"), driver::WAIT, |h| {
        let link = h.find_link(text)?;
        h.click(&link)?;
        Ok(Some(()))
    })
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
    click_link(&h, reference)?;
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
    let mut h = open_unlocked(&dir)?;
    assert_eq!(case_count(&h)?, "Showing 1 to 3 of 3 cases");

    // SIGKILL while unlocked, as a crash or a flat battery would.
    let pid = h.kill_app()?;
    assert!(!driver::alive(pid));

    h.launch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 3 of 3 cases");
    click_link(&h, &refs[2])?;
    h.wait_for_heading(CASES[2].1)?;
    h.quit()
}

// ------------------------------------------------------------------ recording a visit

/// Click the label of the radio (or checkbox) whose input has this id: GOV.UK hides the input
/// itself behind its styled label, as a person sees it.
fn choose(h: &Harness, input_id: &str) -> Result<()> {
    let label = h.wait_for_css(&format!("label[for='{input_id}']"))?;
    h.click(&label)
}

/// Type into the field a label names (after waiting for it).
fn fill(h: &Harness, label: &str, text: &str) -> Result<()> {
    let field = h.wait_for(&format!("the field {label:?}"), driver::WAIT, |h| {
        Ok(h.find_by_label(label).ok())
    })?;
    h.type_into(&field, text)
}

/// Open a section of the visit from its task list and wait for its heading.
fn open_section(h: &Harness, title: &str) -> Result<()> {
    h.wait_for_heading("Food hygiene inspection")?;
    h.click(&h.find_link(title)?)?;
    h.wait_for_heading(title).map(drop)
}

fn save_and_continue(h: &Harness) -> Result<()> {
    h.click(&h.find_button("Save and continue")?)?;
    h.wait_for_heading("Food hygiene inspection").map(drop)
}

/// The device's view of a case, read with the device API after the app has quit.
fn case_on_device(dir: &tempfile::TempDir, reference: &str) -> Result<fieldbook_app::CaseDto> {
    let ctx = Ctx::new(data_dir(dir));
    fieldbook_app::unlock(&ctx, PASSPHRASE).map_err(|e| driver::Error(format!("unlock: {e}")))?;
    fieldbook_app::open_case(&ctx, reference).map_err(|e| driver::Error(format!("open: {e}")))
}

/// Start a visit (the kind's form) on a case before the app is launched; returns its id.
fn start_visit(dir: &tempfile::TempDir, reference: &str) -> Result<String> {
    let ctx = Ctx::new(data_dir(dir));
    fieldbook_app::unlock(&ctx, PASSPHRASE).map_err(|e| driver::Error(e.to_string()))?;
    let c = fieldbook_app::add_visit(
        &ctx,
        fieldbook_app::AddVisitArgs {
            case: reference.into(),
            ..Default::default()
        },
    )
    .map_err(|e| driver::Error(e.to_string()))?;
    Ok(c.visits[0].id.clone())
}

#[test]
fn create_a_case_record_a_visit_submit_and_find_it_all_after_a_relaunch() -> Result<()> {
    let (dir, _) = device()?;
    let mut h = open_unlocked(&dir)?;
    case_count(&h)?;

    // A new case.
    h.click(&h.find_button("New case")?)?;
    h.wait_for_heading("New case")?;
    h.axe("new-case")?;
    choose(&h, "kind")?; // the first kind: Food hygiene
    fill(&h, "Title", "Riverside Fish Bar")?;
    fill(&h, "Postcode (optional)", "ab1 2cd")?;
    h.screenshot("new-case")?;
    h.click(&h.find_button("Create case")?)?;
    h.wait_for_heading("Riverside Fish Bar")?;
    let page = h.text(&h.find_css("main")?)?;
    let reference = page
        .split_whitespace()
        .find(|w| w.starts_with("FH-2026-7-") || w.starts_with("FH-2027-7-"))
        .ok_or_else(|| driver::Error(format!("no reference on the new case's page: {page}")))?
        .to_string();
    assert!(page.contains("AB1 2CD"), "postcode not normalised: {page}");

    // Start a food hygiene visit (a general visit would fit too, so the app asks which).
    h.click(&h.find_button("Start a visit")?)?;
    let food = h.wait_for("the choice of form", driver::WAIT, |h| {
        Ok(h.find_by_label("Food hygiene inspection").ok())
    })?;
    let id = h
        .attr(&food, "id")?
        .ok_or_else(|| driver::Error("the form choice has no id".into()))?;
    choose(&h, &id)?;
    h.click(&h.find_button("Start visit")?)?;
    h.wait_for_heading("Food hygiene inspection")?;
    h.axe("visit")?;
    h.screenshot("visit")?;

    // Premises: a choice, a yes/no, a number.
    open_section(&h, "Premises")?;
    choose(&h, "q-fh-business_type-3")?; // Takeaway or sandwich shop
    choose(&h, "q-fh-fbo_present")?; // Yes
    fill(&h, "Number of food handlers (optional)", "4")?;
    h.axe("visit-section")?;
    h.screenshot("visit-section")?;
    save_and_continue(&h)?;

    // The three scored sections and the outcome.
    open_section(&h, "Hygienic food handling")?;
    choose(&h, "q-fh-hygiene-2")?; // 5
    fill(
        &h,
        "Food handling: comments (optional)",
        "Raw chicken stored above salad in the walk-in fridge.",
    )?;
    save_and_continue(&h)?;
    open_section(&h, "Structure and cleaning")?;
    choose(&h, "q-fh-structure-2")?; // 5
    save_and_continue(&h)?;
    open_section(&h, "Confidence in management")?;
    choose(&h, "q-fh-management-2")?; // 5
    save_and_continue(&h)?;
    open_section(&h, "Outcome")?;
    choose(&h, "q-fh-revisit_needed-2")?; // No
    choose(&h, "q-fh-written_warning-2")?; // No
    save_and_continue(&h)?;
    h.wait_for_text(
        "[data-testid=sections-done]",
        "You have completed 5 of 5 sections.",
    )?;

    // Check your answers, then submit.
    h.click(&h.find_link("Check your answers")?)?;
    h.wait_for_heading("Check your answers before submitting the case")?;
    let answers = h.text(&h.find_css("main")?)?;
    for expected in [
        "Takeaway or sandwich shop",
        "Raw chicken stored above salad",
    ] {
        assert!(answers.contains(expected), "{expected:?} not in: {answers}");
    }
    h.axe("check-answers")?;
    h.screenshot("check-answers")?;
    h.click(&h.find_button("Submit for review")?)?;
    h.wait_for_heading("Case submitted for review")?;
    h.axe("submitted")?;
    h.screenshot("submitted")?;

    // Quit and launch again: everything is there, read from the encrypted file.
    h.relaunch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 4 of 4 cases");
    click_link(&h, &reference)?;
    h.wait_for_heading("Riverside Fish Bar")?;
    let page = h.text(&h.find_css("main")?)?;
    assert!(page.contains("Submitted"), "status not shown: {page}");
    assert!(
        page.contains("Food hygiene inspection"),
        "visit not shown: {page}"
    );
    h.click(&h.wait_for_css("a[href*='/check']")?)?;
    h.wait_for_heading("Answers")?;
    let answers = h.text(&h.find_css("main")?)?;
    for expected in [
        "Takeaway or sandwich shop",
        "Raw chicken stored above salad",
        "Number of food handlers",
    ] {
        assert!(answers.contains(expected), "{expected:?} not in: {answers}");
    }
    h.quit()?;

    // And the device itself agrees, through the device API.
    let c = case_on_device(&dir, &reference)?;
    assert_eq!(c.status, "submitted");
    let visit = &c.visits[0];
    assert_eq!(visit.template_id, "food-hygiene");
    assert!(visit.missing_required.is_empty(), "{visit:?}");
    let input = |item: &str| {
        visit
            .answers
            .iter()
            .find(|a| a.item_id == item)
            .map(|a| a.input.clone())
    };
    assert_eq!(input("fh.business_type").as_deref(), Some("takeaway"));
    assert_eq!(input("fh.food_handlers").as_deref(), Some("4"));
    assert_eq!(input("fh.hygiene").as_deref(), Some("5"));
    Ok(())
}

#[test]
fn invalid_input_shows_the_error_summary_and_nothing_is_saved() -> Result<()> {
    let (dir, refs) = device()?;
    let visit = start_visit(&dir, &refs[0])?;
    let mut h = open_unlocked(&dir)?;
    case_count(&h)?;

    // A new case with nothing filled in, then a bad postcode: refused, and no case is made.
    h.click(&h.find_button("New case")?)?;
    h.wait_for_heading("New case")?;
    h.click(&h.find_button("Create case")?)?;
    let summary = h.wait_for_text(".govuk-error-summary", "There is a problem")?;
    for expected in ["Select the kind of case", "Enter a title"] {
        assert!(summary.contains(expected), "{expected:?} not in: {summary}");
    }
    h.axe("new-case-errors")?;
    h.screenshot("new-case-errors")?;
    choose(&h, "kind")?;
    fill(&h, "Title", "Bad postcode")?;
    fill(&h, "Postcode (optional)", "NOT A POSTCODE")?;
    h.click(&h.find_button("Create case")?)?;
    h.wait_for_text(".govuk-error-summary", "not a UK postcode")?;
    assert!(
        h.find_heading("Bad postcode").is_err(),
        "a case was created"
    );

    // A visit answer out of range and required answers left out: the section will not move on.
    let section = format!(
        "location.hash = '#/cases/{}/visits/{visit}/sections/premises'",
        refs[0]
    );
    h.execute(&section, vec![])?;
    h.wait_for_heading("Premises")?;
    fill(&h, "Number of food handlers (optional)", "2.5")?;
    h.click(&h.find_button("Save and continue")?)?;
    let summary = h.wait_for_text(".govuk-error-summary", "There is a problem")?;
    for expected in [
        "whole number",
        "Select type of business",
        "Was the food business operator present?",
    ] {
        assert!(summary.contains(expected), "{expected:?} not in: {summary}");
    }
    assert!(
        h.find_heading("Premises").is_ok(),
        "moved on despite errors"
    );
    h.axe("visit-section-errors")?;
    h.screenshot("visit-section-errors")?;
    h.quit()?;

    // Nothing reached the device: still three cases, and the visit has no answers.
    let ctx = Ctx::new(data_dir(&dir));
    fieldbook_app::unlock(&ctx, PASSPHRASE).map_err(|e| driver::Error(e.to_string()))?;
    let device = fieldbook_app::device(&ctx).map_err(|e| driver::Error(e.to_string()))?;
    assert_eq!(device.case_count, 3);
    let c = fieldbook_app::open_case(&ctx, &refs[0]).map_err(|e| driver::Error(e.to_string()))?;
    assert!(c.visits[0].answers.is_empty(), "{:?}", c.visits[0].answers);
    Ok(())
}

#[test]
fn a_kill_mid_sentence_keeps_what_was_typed() -> Result<()> {
    let (dir, refs) = device()?;
    let visit = start_visit(&dir, &refs[0])?;
    let section = format!(
        "location.hash = '#/cases/{}/visits/{visit}/sections/handling'",
        refs[0]
    );
    let typed = "Hand-wash basin blocked by boxes";

    let mut h = open_unlocked(&dir)?;
    h.execute(&section, vec![])?;
    h.wait_for_heading("Hygienic food handling")?;
    // Typed, never left (no blur, no pause long enough to save into the case).
    fill(&h, "Food handling: comments (optional)", typed)?;

    // The device has the whole sentence as a draft within moments of the last keystroke.
    let reader = Ctx::new(data_dir(&dir));
    fieldbook_app::unlock(&reader, PASSPHRASE).map_err(|e| driver::Error(e.to_string()))?;
    h.wait_for("the draft on the device", driver::WAIT, |_| {
        let drafts = fieldbook_app::drafts(&reader, &format!("visit:{visit}:"))
            .map_err(|e| driver::Error(e.to_string()))?;
        Ok(drafts.iter().any(|d| d.value == typed).then_some(()))
    })?;
    fieldbook_app::lock(&reader);
    let pid = h.kill_app()?;
    assert!(!driver::alive(pid));

    h.launch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    h.execute(&section, vec![])?;
    h.wait_for_heading("Hygienic food handling")?;
    h.wait_for_text(
        ".govuk-notification-banner",
        "We kept what you typed before Fieldbook closed",
    )?;
    let field = h.find_by_label("Food handling: comments (optional)")?;
    let value = h.prop(&field, "value")?;
    assert_eq!(value.as_deref(), Some(typed));
    h.quit()
}

#[test]
fn keyboard_only_unlock_open_a_case_start_a_visit_and_answer() -> Result<()> {
    use driver::{DOWN, ENTER, SPACE};
    let (dir, refs) = device()?;
    let mut h = Harness::start(&data_dir(&dir))?;
    h.launch()?;
    h.wait_for_heading("Unlock Fieldbook")?;
    // Tab into the passphrase field, type, Enter.
    h.tab_to("input: Passphrase", 10)?;
    h.press(&format!("{PASSPHRASE}{ENTER}"))?;
    h.wait_for_heading("My cases")?;
    case_count(&h)?;

    // To the first case's link, and open it.
    h.tab_to(&format!("a: {}", refs[0]), 40)?;
    h.press(ENTER)?;
    h.wait_for_heading(CASES[0].1)?;
    // After a move, focus is on the new page's heading, so screen readers announce it.
    h.wait_for("focus on the case's heading", driver::WAIT, |h| {
        Ok(h.focused()?.starts_with("h1: ").then_some(()))
    })?;

    // Start a visit, choosing the form with the arrow keys.
    h.tab_to("button: Start a visit", 60)?;
    h.press(ENTER)?;
    h.wait_for_text("main", "Which inspection form?")?;
    h.tab_to("input: ", 10)?;
    let first = h.focused()?;
    h.press(DOWN)?;
    let second = h.focused()?;
    assert_ne!(
        first, second,
        "the arrow key did not move between the forms"
    );
    let food = if second.contains("Food hygiene") {
        second
    } else {
        h.press(DOWN)?;
        h.focused()?
    };
    assert!(food.contains("Food hygiene inspection"), "focus: {food}");
    h.tab_to("button: Start visit", 5)?;
    h.press(ENTER)?;
    h.wait_for_heading("Food hygiene inspection")?;

    // Into the first section, pick an answer with Space, and leave with Save and continue.
    h.tab_to("a: Premises", 20)?;
    h.press(ENTER)?;
    h.wait_for_heading("Premises")?;
    h.tab_to("input: Restaurant", 10)?;
    h.press(SPACE)?;
    h.tab_to("input: Yes", 5)?;
    h.press(SPACE)?;
    h.tab_to("button: Save and continue", 10)?;
    h.press(ENTER)?;
    h.wait_for_text(
        "[data-testid=sections-done]",
        "You have completed 1 of 5 sections.",
    )?;
    h.quit()?;

    let c = case_on_device(&dir, &refs[0])?;
    let answers: Vec<(&str, &str)> = c.visits[0]
        .answers
        .iter()
        .map(|a| (a.item_id.as_str(), a.input.as_str()))
        .collect();
    assert_eq!(
        answers,
        [
            ("fh.business_type", "restaurant"),
            ("fh.fbo_present", "yes")
        ]
    );
    Ok(())
}

#[test]
fn a_fresh_install_sets_up_its_device_then_asks_for_the_passphrase() -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("fieldbook-e2e-fresh-")
        .tempdir()?;
    let mut h = Harness::start(&data_dir(&dir))?;
    h.launch()?;
    h.wait_for_heading("Set up this device")?;
    h.axe("set-up")?;
    h.screenshot("set-up")?;
    fill(&h, "Your full name", "Sam Patel")?;
    choose(&h, "role")?; // Field officer
    fill(&h, "Device number", "12")?;
    fill(&h, "Create a passphrase", PASSPHRASE)?;
    fill(&h, "Confirm your passphrase", PASSPHRASE)?;
    h.click(&h.find_button("Set up this device")?)?;
    h.wait_for_heading("My cases")?;
    h.wait_for_text("[data-testid=case-count]", "No cases")?;

    // Next time it is an encrypted device like any other: locked until the passphrase.
    h.relaunch()?;
    unlock_with(&h, PASSPHRASE)?;
    h.wait_for_heading("My cases")?;
    h.quit()?;
    let ctx = Ctx::new(data_dir(&dir));
    let d = fieldbook_app::unlock(&ctx, PASSPHRASE).map_err(|e| driver::Error(e.to_string()))?;
    assert_eq!((d.person_name.as_str(), d.device_number), ("Sam Patel", 12));
    Ok(())
}

/// Another device of `user`'s (their tablet), set up and signed in through the device API.
fn tablet(dir: &std::path::Path, server: &server::TestServer, user: &str) -> Result<Ctx> {
    let e = |what: &str| {
        let what = what.to_string();
        move |err: fieldbook_app::AppError| driver::Error(format!("{what}: {err}"))
    };
    let ctx = Ctx::new(dir);
    fieldbook_app::init_device(
        &ctx,
        InitArgs {
            passphrase: PASSPHRASE.into(),
            person_name: "Olive on her tablet".into(),
            role: "officer".into(),
            device_number: 70,
        },
    )
    .map_err(e("tablet init"))?;
    fieldbook_app::sign_in(
        &ctx,
        fieldbook_app::SignInArgs {
            server: server.url.clone(),
            user: user.into(),
            password: server::PASSWORD.into(),
        },
    )
    .map_err(e("tablet sign-in"))?;
    Ok(ctx)
}

#[test]
fn sign_in_sync_a_second_devices_case_and_a_revoked_device() -> Result<()> {
    let server = server::TestServer::start();
    let (dir, _) = device()?;
    let device_id = {
        let ctx = Ctx::new(data_dir(&dir));
        let d =
            fieldbook_app::unlock(&ctx, PASSPHRASE).map_err(|e| driver::Error(e.to_string()))?;
        d.device_id
    };
    let mut h = open_unlocked(&dir)?;
    let status = "[data-testid=sync-status]";
    h.wait_for_text(status, "Not signed in")?;

    // The status line leads to the sign-in screen.
    let link = h.wait_for("the status line's Sign in link", driver::WAIT, |h| {
        h.find_link("Sign in to sync with the council’s server")
            .map(Some)
            .map_err(|e| {
                let line = h
                    .execute(
                        "return document.querySelector('[data-testid=sync-status]').outerHTML",
                        vec![],
                    )
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                driver::Error(format!("{e}: {line}"))
            })
    })?;
    h.click(&link)?;
    h.wait_for_heading("Sign in to the council’s server")?;
    h.axe("sign-in")?;
    h.screenshot("sign-in")?;

    // A wrong password: the GOV.UK error summary, in plain words.
    h.type_into(&h.find_by_label("Server address")?, &server.url)?;
    h.type_into(&h.find_by_label("User name")?, "olive")?;
    h.type_into(&h.find_by_label("Password")?, "not the password")?;
    h.click(&h.find_button("Sign in")?)?;
    let summary = h.wait_for_text(".govuk-error-summary", "There is a problem")?;
    assert!(
        summary.contains("The user name or password is not right"),
        "error summary: {summary}"
    );
    h.axe("sign-in-error")?;
    h.screenshot("sign-in-error")?;

    // The right one: back to My cases, and the sync that sign-in starts sends the 3 cases.
    h.type_into(&h.find_by_label("Password")?, server::PASSWORD)?;
    h.click(&h.find_button("Sign in")?)?;
    h.wait_for_heading("My cases")?;
    let line = h.wait_for_text(status, "Up to date")?;
    assert!(line.contains("Last synced"), "status line: {line}");
    h.axe("my-cases-up-to-date")?;
    h.screenshot("status-up-to-date")?;

    // A case from Olive's tablet arrives on the next sync.
    let other = tempfile::tempdir()?;
    let tab = tablet(&other.path().join("tablet"), &server, "olive")?;
    fieldbook_app::create_case(
        &tab,
        NewCaseArgs {
            kind: "general".into(),
            title: "Fly-posting on the bridge".into(),
            ..Default::default()
        },
    )
    .map_err(|e| driver::Error(e.to_string()))?;
    fieldbook_app::sync_now(&tab).map_err(|e| driver::Error(e.to_string()))?;
    h.click(&h.find_button("Sync now")?)?;
    h.wait_for_text("main", "Fly-posting on the bridge")?;
    assert_eq!(case_count(&h)?, "Showing 1 to 4 of 4 cases");
    h.wait_for_text(status, "Up to date")?;

    // The administrator removes this device: the next sync wipes it and the app says why.
    server.revoke(&device_id, "Laptop reported stolen");
    h.click(&h.find_button("Sync now")?)?;
    h.wait_for_heading("This device was removed from Fieldbook")?;
    let message = h.text(&h.find_css("[data-testid=revoked-message]")?)?;
    assert_eq!(
        message,
        "This device was removed from Fieldbook by your administrator: Laptop reported stolen. \
         The case data on this device has been deleted."
    );
    for file in ["fieldbook.db", "fieldbook.key"] {
        assert!(
            !data_dir(&dir).join(file).exists(),
            "{file} is still on the device"
        );
    }
    h.axe("revoked")?;
    h.screenshot("revoked")?;
    h.click(&h.find_button("Set up this device again")?)?;
    h.wait_for_heading("Set up this device")?;
    h.quit()
}

/// The test device unlocked outside the window and signed in to `server` as Olive.
fn signed_in_laptop(dir: &tempfile::TempDir, server: &server::TestServer) -> Result<Ctx> {
    let e = |err: fieldbook_app::AppError| driver::Error(err.to_string());
    let laptop = Ctx::new(data_dir(dir));
    fieldbook_app::unlock(&laptop, PASSPHRASE).map_err(e)?;
    fieldbook_app::sign_in(
        &laptop,
        fieldbook_app::SignInArgs {
            server: server.url.clone(),
            user: "olive".into(),
            password: server::PASSWORD.into(),
        },
    )
    .map_err(e)?;
    Ok(laptop)
}

#[test]
fn a_conflict_from_two_devices_is_shown_and_settled_in_the_window() -> Result<()> {
    let e = |err: fieldbook_app::AppError| driver::Error(err.to_string());
    let server = server::TestServer::start();
    let (dir, refs) = device()?;
    let reference = refs[0].clone();
    {
        // Before the app starts: the laptop signs in and syncs; Olive's tablet and the laptop
        // then rename the same case, each offline, and both sync.
        let laptop = signed_in_laptop(&dir, &server)?;
        fieldbook_app::sync_now(&laptop).map_err(e)?;
        let other = tempfile::tempdir()?;
        let tab = tablet(&other.path().join("tablet"), &server, "olive")?;
        fieldbook_app::sync_now(&tab).map_err(e)?;
        for (ctx, title) in [
            (&tab, "The Golden Spoon (closed)"),
            (&laptop, "Golden Spoon café"),
        ] {
            fieldbook_app::edit_case(
                ctx,
                fieldbook_app::EditCaseArgs {
                    case: reference.clone(),
                    title: Some(title.into()),
                    ..Default::default()
                },
            )
            .map_err(e)?;
        }
        fieldbook_app::sync_now(&tab).map_err(e)?;
        fieldbook_app::sync_now(&laptop).map_err(e)?;
    }
    let mut h = open_unlocked(&dir)?;
    click_link(&h, &reference)?;
    let banner = h.wait_for_text("[data-testid=conflict]", "Two people changed the title")?;
    for want in [
        "The Golden Spoon (closed)",
        "Changed by olive",
        "Golden Spoon café",
        "Changed by Sam Patel",
    ] {
        assert!(
            banner.contains(want),
            "conflict banner without {want:?}: {banner}"
        );
    }
    h.axe("case-conflict")?;
    h.screenshot("case-conflict")?;

    h.click(&h.find_by_label("The Golden Spoon (closed)")?)?;
    h.click(&h.find_button("Keep this one")?)?;
    h.wait_for_heading("The Golden Spoon (closed)")?;
    h.wait_for("the conflict to go", driver::WAIT, |h| {
        Ok(h.find_css("[data-testid=conflict]").is_err().then_some(()))
    })?;
    h.quit()
}

/// Three different photos as a camera gives them (1600×1200 JPEGs), made with ImageMagick.
fn camera_photos(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for (name, gradient, words) in [
        ("IMG_0101.JPG", "gradient:skyblue-darkgreen", "Yard"),
        ("IMG_0102.JPG", "gradient:wheat-sienna", "Kitchen"),
        ("IMG_0103.JPG", "gradient:white-slategray", "Store room"),
    ] {
        let path = dir.join(name);
        let made = std::process::Command::new("convert")
            .args([
                "-size",
                "1600x1200",
                gradient,
                "-fill",
                "white",
                "-pointsize",
                "140",
            ])
            .args(["-annotate", "+150+650", words, "-quality", "90"])
            .arg(&path)
            .status()?;
        if !made.success() {
            return Err(driver::Error(format!(
                "ImageMagick's convert could not make {name}"
            )));
        }
        out.push(path);
    }
    Ok(out)
}

/// How many of the page's images matching `css` have loaded (through the fbphoto protocol).
fn images_loaded(h: &Harness, css: &str) -> Result<u64> {
    let n = h.execute(
        "return [...document.querySelectorAll(arguments[0])]
             .filter(i => i.complete && i.naturalWidth > 0).length;",
        vec![serde_json::Value::String(css.into())],
    )?;
    Ok(n.as_u64().unwrap_or(0))
}

/// The files under `dir`, at any depth.
fn files_under(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .flatten()
            .map(|e| {
                let p = e.path();
                if p.is_dir() { files_under(&p) } else { 1 }
            })
            .sum()
    })
}

#[test]
fn three_photos_on_a_visit_reach_the_team_leaders_device() -> Result<()> {
    let e = |err: fieldbook_app::AppError| driver::Error(err.to_string());
    let server = server::TestServer::start();
    let (dir, refs) = device()?;
    let reference = refs[0].clone();
    {
        // The officer's laptop is signed in as Olive and has started a visit.
        let laptop = signed_in_laptop(&dir, &server)?;
        fieldbook_app::add_visit(
            &laptop,
            fieldbook_app::AddVisitArgs {
                case: reference.clone(),
                ..Default::default()
            },
        )
        .map_err(e)?;
    }
    let files = tempfile::tempdir()?;
    let photos = camera_photos(files.path())?;

    let mut h = open_unlocked(&dir)?;
    click_link(&h, &reference)?;
    h.wait_for_heading(CASES[0].1)?;
    // The visit the photos belong to, then the three files at once from the file picker.
    let visit = h.find_by_label("Visit (optional)")?;
    h.click(&visit)?;
    h.click(&h.find(fantoccini::Locator::XPath(
        "//select[@id='photo-visit']/option[2]",
    ))?)?;
    let paths: Vec<&std::path::Path> = photos.iter().map(|p| p.as_path()).collect();
    h.choose_files(&h.find_by_label("Add photos")?, &paths)?;
    h.wait_for_text("main", "This case has 3 photos.")?;
    h.wait_for("three thumbnails drawn", driver::WAIT, |h| {
        Ok((images_loaded(h, "[data-testid=photo-thumb] img")? == 3).then_some(()))
    })?;
    let gallery = h.text(&h.find_css("[data-testid=photo-gallery]")?)?;
    assert_eq!(
        gallery.matches("Visit 1").count(),
        3,
        "each photo belongs to the visit: {gallery}"
    );
    h.axe("case-photos")?;
    h.screenshot("case-photos")?;

    // Sync: the case first, then the photos (thumbnail and display version of each).
    h.click(&h.find_button("Sync now")?)?;
    let blobs = server.data().join("blobs");
    h.wait_for("the six photo files on the server", driver::WAIT, |_| {
        Ok((files_under(&blobs) >= 6).then_some(()))
    })?;
    h.quit()?;

    // Lena, the team leader, on her tablet: signed in before, she unlocks it and the background
    // sync brings the case and the thumbnails.
    let tablet = tempfile::Builder::new()
        .prefix("fieldbook-e2e-leader-")
        .tempdir()?;
    {
        let ctx = Ctx::new(tablet.path().join("device"));
        fieldbook_app::init_device(
            &ctx,
            InitArgs {
                passphrase: PASSPHRASE.into(),
                person_name: "Lena Leader".into(),
                role: "team_leader".into(),
                device_number: 71,
            },
        )
        .map_err(e)?;
        fieldbook_app::sign_in(
            &ctx,
            fieldbook_app::SignInArgs {
                server: server.url.clone(),
                user: "lena".into(),
                password: server::PASSWORD.into(),
            },
        )
        .map_err(e)?;
    }
    let mut l = open_unlocked(&tablet)?;
    l.wait_for_text("[data-testid=sync-status]", "Up to date")?;
    click_link(&l, &reference)?;
    l.wait_for_heading(CASES[0].1)?;
    l.wait_for_text("main", "This case has 3 photos.")?;
    l.wait_for(
        "the three thumbnails on the leader's tablet",
        driver::WAIT,
        |h| {
            // Thumbnails load lazily: scroll to them, as a person would.
            h.execute(
                "document.querySelector('[data-testid=photo-gallery]').scrollIntoView();",
                vec![],
            )?;
            Ok((images_loaded(h, "[data-testid=photo-thumb] img")? == 3).then_some(()))
        },
    )?;
    l.screenshot("leader-case-photos")?;
    // Opening one fetches its full version from the server.
    l.click(&l.find_css("[data-testid=photo-thumb]")?)?;
    l.wait_for_css("[data-testid=photo-viewer]")?;
    let width = l.wait_for("the full photo", driver::WAIT, |h| {
        let w = h.execute(
            "const i = document.querySelector('[data-testid=photo-viewer] img');
             return i && i.complete ? i.naturalWidth : 0;",
            vec![],
        )?;
        Ok(w.as_u64().filter(|w| *w > 320))
    })?;
    assert_eq!(width, 1600, "the display version, not the thumbnail");
    l.axe("photo-full-view")?;
    l.screenshot("photo-full-view")?;
    l.quit()
}

/// Where the three fixture cases are: in Millbrook's wards (Millbrook North, Millbrook East and
/// Islands, Millbrook South), far enough apart that their pins never overlap.
const MILLBROOK_PLACES: [(f64, f64); 3] =
    [(52.014, -1.006), (52.0021, -0.9962), (51.9978, -1.0031)];

/// The tile (x, y, counted from the north as the web map does) holding a point at zoom `z`.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1_u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor();
    let lat = lat.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x as u32, y as u32)
}

/// A basemap pack over Millbrook at zooms 12 to 15, as an administrator loads one: an MBTiles
/// file (rows counted from the south) of real PNG tiles, one light grey tile with a darker edge
/// made by ImageMagick and used for every place, so the tiles show on the map.
fn millbrook_pack(dir: &std::path::Path) -> Result<std::path::PathBuf> {
    let made = std::process::Command::new("convert")
        .args(["-size", "256x256", "xc:#f3f2f1", "-fill", "none"])
        .args([
            "-stroke",
            "#b1b4b6",
            "-draw",
            "rectangle 0,0 255,255",
            "png:-",
        ])
        .output()?;
    if !made.status.success() || !made.stdout.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(driver::Error(
            "ImageMagick's convert could not make a map tile".into(),
        ));
    }
    let tile = made.stdout;
    let sql = |e: rusqlite::Error| driver::Error(format!("writing the basemap pack: {e}"));
    let path = dir.join("millbrook.mbtiles");
    let db = rusqlite::Connection::open(&path).map_err(sql)?;
    db.execute_batch(
        "CREATE TABLE metadata (name TEXT, value TEXT);
         CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,
                             tile_data BLOB);
         INSERT INTO metadata VALUES ('name', 'Millbrook test pack'), ('format', 'png'),
             ('minzoom', '12'), ('maxzoom', '15'), ('bounds', '-1.03,51.98,-0.95,52.03'),
             ('center', '-1.0,52.0,14'), ('attribution', 'Test tiles made for Fieldbook');",
    )
    .map_err(sql)?;
    for z in 12..=15_u32 {
        let (west, north) = tile_of(-1.03, 52.03, z);
        let (east, south) = tile_of(-0.95, 51.98, z);
        for x in west..=east {
            for y in north..=south {
                db.execute(
                    "INSERT INTO tiles VALUES (?1, ?2, ?3, ?4)",
                    rusqlite::params![z, x, (1_u32 << z) - 1 - y, &tile[..]],
                )
                .map_err(sql)?;
            }
        }
    }
    Ok(path)
}

/// How many pixels of the case pins' blue (#1d70b8) are in the 9 × 9 pixels around (x, y) of a
/// screenshot: what the window really shows, which the page itself cannot read from a WebGL
/// canvas.
fn pin_pixels(png: &std::path::Path, x: i64, y: i64) -> Result<f64> {
    let out = std::process::Command::new("convert")
        .arg(png)
        .args([
            "-crop",
            &format!("9x9+{}+{}", (x - 4).max(0), (y - 4).max(0)),
        ])
        .args([
            "+repage", "-fuzz", "10%", "-fill", "black", "+opaque", "#1d70b8",
        ])
        .args(["-fill", "white", "-opaque", "#1d70b8"])
        .args(["-format", "%[fx:round(mean*w*h)]", "info:"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim().parse::<f64>().map_err(|_| {
        driver::Error(format!(
            "ImageMagick could not count the pixels at ({x}, {y}) of {}: {text} {}",
            png.display(),
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

#[test]
fn the_map_shows_cases_wards_and_the_offline_basemap() -> Result<()> {
    let e = |err: fieldbook_app::AppError| driver::Error(err.to_string());
    let (dir, refs) = device()?;
    let files = tempfile::tempdir()?;
    {
        // An administrator loaded the wards and a basemap pack; the three cases were placed
        // from the address list.
        let ctx = Ctx::new(data_dir(&dir));
        fieldbook_app::unlock(&ctx, PASSPHRASE).map_err(e)?;
        let wards = fieldbook_app::load_wards(
            &ctx,
            include_str!("../../crates/core/tests/data/wards_millbrook.geojson"),
        )
        .map_err(e)?;
        assert_eq!(wards, 4, "the fixture's wards");
        for (reference, &(lat, lon)) in refs.iter().zip(&MILLBROOK_PLACES) {
            fieldbook_app::edit_case(
                &ctx,
                fieldbook_app::EditCaseArgs {
                    case: reference.clone(),
                    lat: Some(lat),
                    lon: Some(lon),
                    location_source: Some("gazetteer".into()),
                    ..Default::default()
                },
            )
            .map_err(e)?;
        }
        let pack = millbrook_pack(files.path())?;
        fieldbook_app::load_basemap(&ctx, &pack).map_err(e)?;
    }

    let mut h = open_unlocked(&dir)?;
    case_count(&h)?;
    click_link(&h, "Map")?;
    h.wait_for_css("[data-testid=map] canvas")?;
    h.wait_for_text("[data-testid=map-count]", "3 cases on the map.")?;
    h.wait_for_text("main", "Map: Test tiles made for Fieldbook")?;
    // MapLibre drew the three pins in view (its rendered features, once it has settled).
    h.wait_for("MapLibre to draw the three pins", driver::WAIT, |h| {
        let drawn = h.execute(
            "return document.querySelector('[data-testid=map]').dataset.pinsDrawn ?? null;",
            vec![],
        )?;
        Ok((drawn == serde_json::json!("3")).then_some(()))
    })?;

    // And the window shows them: the pins' blue at each pin's place in a screenshot (the
    // webview without accelerated compositing once showed the map a frame late, without the
    // pins, until it was moved).
    h.execute(
        "document.querySelector('[data-testid=map]').scrollIntoView({ block: 'center' });",
        vec![],
    )?;
    h.settle()?;
    let geo = h.execute(
        "const m = document.querySelector('[data-testid=map]');
         const r = m.querySelector('canvas').getBoundingClientRect();
         return { left: r.left, top: r.top, scale: window.devicePixelRatio,
                  pins: JSON.parse(m.dataset.pinPoints) };",
        vec![],
    )?;
    let pins = geo["pins"].as_array().cloned().unwrap_or_default();
    let mut shown: Vec<String> = pins
        .iter()
        .filter_map(|p| p["reference"].as_str().map(String::from))
        .collect();
    shown.sort();
    let mut expected = refs.clone();
    expected.sort();
    assert_eq!(shown, expected, "the pins drawn: {geo}");
    let shot = h.screenshot("map")?;
    let number = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let scale = number(&geo["scale"]);
    for p in &pins {
        let x = ((number(&geo["left"]) + number(&p["x"])) * scale).round() as i64;
        let y = ((number(&geo["top"]) + number(&p["y"])) * scale).round() as i64;
        let blue = pin_pixels(&shot, x, y)?;
        assert!(
            blue >= 40.0,
            "the pin of {} is not on the screen at ({x}, {y}) of {}: {blue} of 81 pixels are \
             the pins' blue",
            p["reference"],
            shot.display()
        );
    }
    h.axe("map")?;

    // Selecting a pin names the case and its ward, with a link to it.
    h.execute(
        "const [reference] = arguments;
         const m = document.querySelector('[data-testid=map]');
         const p = JSON.parse(m.dataset.pinPoints).find((q) => q.reference === reference);
         const canvas = m.querySelector('canvas');
         const r = canvas.getBoundingClientRect();
         const at = { bubbles: true, cancelable: true, view: window, button: 0,
                      clientX: r.left + p.x, clientY: r.top + p.y };
         for (const type of ['mousedown', 'mouseup', 'click']) {
           canvas.dispatchEvent(new MouseEvent(type, at));
         }",
        vec![serde_json::Value::String(refs[0].clone())],
    )?;
    let selection = h.wait_for_text("[data-testid=map-selection]", CASES[0].1)?;
    assert!(
        selection.contains("Ward: Millbrook North (E05900001)"),
        "{selection}"
    );
    click_link(&h, &format!("Open case {}", refs[0]))?;
    h.wait_for_heading(CASES[0].1)?;
    h.quit()
}
