//! The guided demo, and sample data for demos and load simulation.

use fieldbook_app::{self as app, AppError, Ctx, NewCaseArgs};

const STREETS: [&str; 12] = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Victoria Street",
    "Park Avenue",
    "Queen's Road",
    "Market Place",
    "North Street",
    "Green Lane",
    "Bridge Street",
    "Albert Road",
];
const TRADES: [&str; 10] = [
    "Cafe",
    "Fish Bar",
    "Bakery",
    "Takeaway",
    "Restaurant",
    "Butchers",
    "Deli",
    "Pizzeria",
    "Tea Room",
    "Grill",
];
const NAMES: [&str; 12] = [
    "Golden",
    "Silver",
    "Corner",
    "Village",
    "Riverside",
    "Harbour",
    "Old Mill",
    "Sunrise",
    "Oak Tree",
    "Lucky",
    "Red Lion",
    "Blue Door",
];
/// Synthetic postcodes in the real shape (address text is not open data).
const POSTCODES: [&str; 8] = [
    "AB1 2CD", "XY9 8ZW", "ZZ1 1ZZ", "QA2 3PF", "TE5 7ST", "FB4 4KE", "EX7 1MP", "LE3 9DE",
];

/// Sample case `i` of a set: deterministic, varied across kinds, statuses and due dates.
pub fn sample_case(i: u32) -> NewCaseArgs {
    let n = i as usize;
    let (kind, title) = match i % 5 {
        0 | 1 => (
            "food_hygiene",
            format!(
                "{} {}",
                NAMES[n % NAMES.len()],
                TRADES[n / 7 % TRADES.len()]
            ),
        ),
        2 => (
            "housing",
            format!("Flat {}, damp and mould complaint", n % 40 + 1),
        ),
        3 => (
            "highways",
            format!(
                "Pothole outside {} {}",
                n % 200 + 1,
                STREETS[n % STREETS.len()]
            ),
        ),
        _ => (
            "fly_tipping",
            format!(
                "Fly-tip: {} by {}",
                [
                    "mattresses",
                    "builders' rubble",
                    "black bags",
                    "white goods"
                ][n % 4],
                STREETS[n / 3 % STREETS.len()]
            ),
        ),
    };
    let day = i % 28 + 1;
    let month = i / 28 % 12 + 1;
    NewCaseArgs {
        kind: kind.into(),
        title,
        address: Some(format!(
            "{} {}, Anytown",
            n % 200 + 1,
            STREETS[n % STREETS.len()]
        )),
        postcode: Some(POSTCODES[n % POSTCODES.len()].into()),
        uprn: Some(format!("{}", 900_000_000_000u64 + u64::from(i))),
        location_source: Some("gazetteer".into()),
        lat: Some(51.45 + f64::from(i % 1000) / 10_000.0),
        lon: Some(-2.60 + f64::from(i % 997) / 10_000.0),
        accuracy_m: Some(8.0),
        due: (!i.is_multiple_of(6)).then(|| format!("2027-{month:02}-{day:02}")),
    }
}

/// Create `count` sample cases in batches of 1,000; returns how many were made.
pub fn sample_cases(ctx: &Ctx, count: u32) -> Result<u32, AppError> {
    let start = app::device(ctx)?.case_count as u32;
    let mut made = 0;
    while made < count {
        let n = (count - made).min(1000);
        app::create_cases(
            ctx,
            (start + made..start + made + n).map(sample_case).collect(),
        )?;
        made += n;
    }
    Ok(made)
}

pub fn run(json: bool, cases: u32) -> Result<(), AppError> {
    let dir = std::env::temp_dir().join(format!(
        "fieldbook-demo-{}-{}",
        std::process::id(),
        app::system_clock().millis()
    ));
    let ctx = Ctx::new(&dir);
    let say = |s: &str| {
        if !json {
            println!("{s}");
        }
    };
    say(&format!(
        "Fieldbook demo: a throw-away device in {}\n",
        dir.display()
    ));
    app::init_device(
        &ctx,
        app::InitArgs {
            passphrase: "demo passphrase".into(),
            person_name: "Sam Patel".into(),
            role: "officer".into(),
            device_number: 1,
        },
    )?;
    say(
        "1. Set up an encrypted device for Sam Patel, field officer (passphrase: 'demo passphrase').",
    );
    sample_cases(&ctx, cases)?;
    say(&format!("2. Loaded {cases} sample cases."));
    let case = app::create_case(
        &ctx,
        NewCaseArgs {
            kind: "food_hygiene".into(),
            title: "The Golden Spoon Cafe".into(),
            address: Some("12 High Street, Anytown".into()),
            postcode: Some("ab1 2cd".into()),
            uprn: Some("100023336956".into()),
            lat: Some(51.5034),
            lon: Some(-0.1276),
            accuracy_m: Some(5.0),
            location_source: Some("gazetteer".into()),
            due: Some("2027-01-15".into()),
        },
    )?;
    say(&format!(
        "3. Opened case {} for a food hygiene inspection, offline.",
        case.reference
    ));
    let c = app::add_visit(
        &ctx,
        app::AddVisitArgs {
            case: case.reference.clone(),
            ..Default::default()
        },
    )?;
    let visit = c.visits.last().map(|v| v.id.clone()).unwrap_or_default();
    for (item, value) in [
        ("fh.business_type", "cafe"),
        ("fh.fbo_present", "yes"),
        ("fh.food_handlers", "4"),
        ("fh.hygiene", "5"),
        ("fh.structure", "10"),
        ("fh.management", "5"),
        ("fh.revisit_needed", "no"),
        ("fh.written_warning", "no"),
    ] {
        app::answer(
            &ctx,
            app::AnswerArgs {
                case: case.reference.clone(),
                visit: visit.clone(),
                item: item.into(),
                value: value.into(),
            },
        )?;
    }
    app::add_note(
        &ctx,
        app::NoteArgs {
            case: case.reference.clone(),
            text: "Hand-wash basin in the kitchen blocked by boxes; advised.".into(),
        },
    )?;
    let opened = app::open_case(&ctx, &case.reference)?;
    let rating = opened
        .visits
        .first()
        .and_then(|v| v.score.as_ref())
        .map(|s| s.rating);
    say(&format!(
        "4. Recorded a visit: scores 5 / 10 / 5 give a food hygiene rating of {}.",
        rating.map_or("-".into(), |r| r.to_string())
    ));
    let submitted = app::submit(&ctx, &case.reference)?;
    say(&format!(
        "5. Submitted it for review: status is now '{}'.",
        submitted.status_label
    ));
    let found = app::list_cases(
        &ctx,
        app::ListArgs {
            search: Some("golden spoon".into()),
            ..Default::default()
        },
    )?;
    say(&format!(
        "6. Searching 'golden spoon' finds {} case(s).",
        found.total
    ));
    let history = app::history(&ctx, &case.reference)?;
    say("7. Its history (from the automerge changes):");
    for h in &history {
        say(&format!(
            "     {}  {}",
            &h.at[..19].replace('T', " "),
            h.message
        ));
    }
    let device = app::device(&ctx)?;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "fieldbook".into());
    say(&format!(
        "\nOffline: {} changes to {} cases wait to sync. Try it yourself:\n  export FIELDBOOK_DATA={} FIELDBOOK_PASSPHRASE='demo passphrase'\n  {exe} case list --search cafe\n  {exe} case show {}",
        device.outbox_changes,
        device.outbox_cases,
        dir.display(),
        case.reference
    ));
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "data_dir": dir, "case": submitted, "history": history })
            )
            .unwrap_or_default()
        );
    }
    Ok(())
}
