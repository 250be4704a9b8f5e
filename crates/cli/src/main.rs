//! `fieldbook`: a headless Fieldbook device. The same `fieldbook-app` API as the desktop app,
//! from the shell, for admins, scripts, tests and load simulation. It owns argument parsing,
//! passphrase prompting and printing; every rule lives in the crates below it.

mod demo;
mod places;
mod print;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use fieldbook_app::{self as app, AppError, Ctx};

#[derive(Parser, Debug)]
#[command(
    name = "fieldbook",
    version,
    about = "A headless Fieldbook device: casework from the shell"
)]
struct Cli {
    /// The device's data directory.
    #[arg(long, global = true, env = "FIELDBOOK_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print machine-readable JSON instead of text (errors go to stderr as JSON too).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Set up a new device in the data directory (asks for a new passphrase, or reads
    /// FIELDBOOK_PASSPHRASE).
    Init {
        /// Your name, as it appears in case histories.
        #[arg(long)]
        name: String,
        /// officer, team_leader or admin.
        #[arg(long, default_value = "officer")]
        role: String,
        /// This device's number, unique within the council and never reused, even after a
        /// wipe: it is part of every case reference the device mints (the sync server will
        /// issue it at registration).
        #[arg(long)]
        device_number: u32,
    },
    /// Show this device: who uses it, how many cases it holds, what waits to sync.
    Device {
        /// Also check the whole database file for damage (slow on big devices).
        #[arg(long)]
        check: bool,
    },
    /// Register this device with the council's server (asks for your password, or reads
    /// FIELDBOOK_PASSWORD). The server address must be https:// (http:// only to this computer).
    Login {
        #[arg(long)]
        server: String,
        #[arg(long)]
        user: String,
    },
    /// Send this device's changes to the server and fetch what it lacks.
    Sync,
    /// Cases: create, list, show, edit, submit, review, history.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Visits: start one, answer its questions.
    #[command(subcommand)]
    Visit(VisitCommand),
    /// Notes on a case.
    #[command(subcommand)]
    Note(NoteCommand),
    /// Inspection templates shipped with Fieldbook.
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Photos on a case: add, list, export, caption.
    #[command(subcommand)]
    Photo(places::PhotoCommand),
    /// Places offline: find a property by UPRN or postcode; load the gazetteer and ward
    /// boundaries (administrators).
    #[command(subcommand)]
    Place(places::PlaceCommand),
    /// This device's settings (whether photo originals are kept, how far from its property a
    /// visit may be recorded).
    #[command(subcommand)]
    Setting(places::SettingCommand),
    /// A guided tour on a throw-away device: create a case, record a visit, submit it, read
    /// its history.
    Demo {
        /// Also fill the demo device with this many sample cases.
        #[arg(long, default_value_t = 200)]
        cases: u32,
    },
    /// Load simulation and test helpers.
    #[command(subcommand)]
    Simulate(SimulateCommand),
}

#[derive(Subcommand, Debug)]
enum CaseCommand {
    /// Open a new case.
    Create(CreateArgs),
    /// List cases, filtered, searched, sorted and paged.
    List(ListArgs),
    /// Show one case with its visits, answers and notes.
    Show { reference: String },
    /// Change a case's fields (an empty value clears a field).
    Edit(EditArgs),
    /// Submit a case for review (every visit must be complete).
    Submit { reference: String },
    /// Move a case along the review path: approve, return (with --comment), close.
    Move {
        reference: String,
        /// in_progress, submitted, approved, returned or closed.
        #[arg(long)]
        to: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Who changed what, and when.
    History { reference: String },
    /// Give a case to someone (team leaders and administrators): a name this device knows, a
    /// person id, "me", or "" for nobody.
    Assign {
        reference: String,
        #[arg(long)]
        to: String,
    },
    /// Fields two people changed at the same time, each value with who wrote it.
    Conflicts { reference: String },
    /// Settle a conflict by choosing one of its values (numbers as `case conflicts` lists them).
    Choose {
        reference: String,
        /// Which conflict (1 = the first `case conflicts` lists).
        conflict: usize,
        /// Which of its values (1 = the one shown now).
        value: usize,
    },
}

#[derive(Args, Debug)]
struct CreateArgs {
    /// food_hygiene, housing, highways, fly_tipping, enforcement or general (or FH, HS, ...).
    #[arg(long)]
    kind: String,
    #[arg(long)]
    title: String,
    #[arg(long)]
    address: Option<String>,
    #[arg(long)]
    postcode: Option<String>,
    #[arg(long)]
    uprn: Option<String>,
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    lat: Option<f64>,
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    lon: Option<f64>,
    /// Where --lat/--lon came from: manual (typed, the default), device, map or gazetteer.
    #[arg(long, requires = "lat")]
    source: Option<String>,
    /// Due date, YYYY-MM-DD.
    #[arg(long)]
    due: Option<String>,
}

#[derive(Args, Debug)]
struct ListArgs {
    /// Words to find in reference, title, address, postcode, UPRN or notes.
    #[arg(long)]
    search: Option<String>,
    /// Only cases in this status (repeatable).
    #[arg(long)]
    status: Vec<String>,
    /// Only cases of this kind (repeatable).
    #[arg(long)]
    kind: Vec<String>,
    /// Only cases assigned to this person id, or "me".
    #[arg(long)]
    assignee: Option<String>,
    /// Only cases due on or before this date.
    #[arg(long)]
    due_before: Option<String>,
    /// Only cases due on or after this date.
    #[arg(long)]
    due_after: Option<String>,
    /// due, updated, created, reference, title, relevance or distance (from --near).
    #[arg(long)]
    sort: Option<String>,
    /// LAT,LON: show each case's distance from this point ("near me"); `--sort distance`
    /// lists the nearest first.
    #[arg(long, value_parser = parse_point, allow_hyphen_values = true)]
    near: Option<(f64, f64)>,
    #[arg(long)]
    desc: bool,
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[arg(long, default_value_t = 0)]
    offset: u32,
}

#[derive(Args, Debug)]
struct EditArgs {
    reference: String,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    address: Option<String>,
    #[arg(long)]
    postcode: Option<String>,
    #[arg(long)]
    uprn: Option<String>,
    #[arg(long)]
    due: Option<String>,
    #[arg(long, allow_negative_numbers = true, requires = "lon")]
    lat: Option<f64>,
    #[arg(long, allow_negative_numbers = true, requires = "lat")]
    lon: Option<f64>,
    /// Where --lat/--lon came from: manual (typed, the default), device, map or gazetteer.
    #[arg(long, requires = "lat")]
    source: Option<String>,
    #[arg(long, conflicts_with_all = ["lat", "lon"])]
    clear_location: bool,
}

#[derive(Subcommand, Debug)]
enum VisitCommand {
    /// Start a visit on a case, against its kind's default template or --template.
    Add {
        reference: String,
        #[arg(long)]
        template: Option<String>,
        #[arg(long, allow_negative_numbers = true, requires = "lon")]
        lat: Option<f64>,
        #[arg(long, allow_negative_numbers = true, requires = "lat")]
        lon: Option<f64>,
    },
    /// Answer a question: VISIT is the visit's id, its number on the case (1, 2, ...) or
    /// "latest"; an empty VALUE clears the answer.
    Answer {
        reference: String,
        visit: String,
        item: String,
        value: String,
    },
}

#[derive(Subcommand, Debug)]
enum NoteCommand {
    /// Add a note to a case.
    Add { reference: String, text: String },
}

#[derive(Subcommand, Debug)]
enum TemplateCommand {
    /// List the templates.
    List,
    /// Show a template's sections and questions.
    Show { id: String },
}

#[derive(Subcommand, Debug)]
enum SimulateCommand {
    /// Create N sample cases in batches.
    Cases {
        #[arg(long)]
        count: u32,
    },
    /// Edit a case's title COUNT times, printing "saved N" after each durable save.
    Edits {
        reference: String,
        #[arg(long)]
        count: u32,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let body =
                    serde_json::json!({ "error": { "code": e.code(), "message": e.to_string() } });
                eprintln!("{body}");
            } else {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("fieldbook")
}

/// The passphrase from FIELDBOOK_PASSPHRASE, or asked for on the terminal.
fn passphrase(confirm: bool) -> Result<String, AppError> {
    if let Ok(p) = std::env::var("FIELDBOOK_PASSPHRASE") {
        return Ok(p);
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|e| AppError::InvalidInput { field: "passphrase".into(), message: format!("cannot read the passphrase: {e} (set FIELDBOOK_PASSPHRASE to run without a terminal)") })
    };
    let first = ask("Passphrase: ")?;
    if confirm && ask("Passphrase again: ")? != first {
        return Err(AppError::InvalidInput {
            field: "passphrase".into(),
            message: "the two passphrases differ".into(),
        });
    }
    Ok(first)
}

fn unlocked(data: &std::path::Path) -> Result<Ctx, AppError> {
    let ctx = Ctx::new(data);
    if !ctx.is_initialised() {
        // Say so before asking for a passphrase that cannot help.
        app::unlock(&ctx, "")?;
    }
    app::unlock(&ctx, &passphrase(false)?)?;
    Ok(ctx)
}

fn out<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce(&T) -> String) {
    let mut stdout = std::io::stdout().lock();
    let s = if json {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        text(value)
    };
    let _ = writeln!(stdout, "{}", s.trim_end());
}

fn run(cli: Cli) -> Result<(), AppError> {
    let data = cli.data.unwrap_or_else(default_data_dir);
    let json = cli.json;
    match cli.command {
        Command::Init {
            name,
            role,
            device_number,
        } => {
            let ctx = Ctx::new(&data);
            let passphrase = passphrase(true)?;
            let d = app::init_device(
                &ctx,
                app::InitArgs {
                    passphrase,
                    person_name: name,
                    role,
                    device_number,
                },
            )?;
            out(json, &d, print::device);
        }
        Command::Device { check } => {
            let ctx = unlocked(&data)?;
            let device = app::device(&ctx)?;
            if !check {
                out(json, &device, print::device);
                return Ok(());
            }
            let integrity = app::integrity_check(&ctx)?;
            let mut value = serde_json::to_value(&device).unwrap_or_default();
            value["integrity"] = serde_json::Value::String(integrity.clone());
            out(json, &value, |_| {
                format!("{}\nIntegrity: {integrity}", print::device(&device))
            });
            if integrity != "ok" {
                return Err(AppError::Store(app::StoreError::Corrupt {
                    detail: integrity,
                }));
            }
        }
        Command::Case(c) => {
            let ctx = unlocked(&data)?;
            case_command(&ctx, c, json)?;
        }
        Command::Visit(VisitCommand::Add {
            reference,
            template,
            lat,
            lon,
        }) => {
            let ctx = unlocked(&data)?;
            let c = app::add_visit(
                &ctx,
                app::AddVisitArgs {
                    case: reference,
                    template,
                    lat,
                    lon,
                    accuracy_m: None,
                },
            )?;
            out(json, &c, |c| {
                let v = c
                    .visits
                    .last()
                    .map(|v| format!("{} ({})", v.id, v.template_title))
                    .unwrap_or_default();
                format!("Started visit {} on {}\n{}", c.visits.len(), c.reference, v)
            });
        }
        Command::Visit(VisitCommand::Answer {
            reference,
            visit,
            item,
            value,
        }) => {
            let ctx = unlocked(&data)?;
            let visit = resolve_visit(&ctx, &reference, &visit)?;
            let c = app::answer(
                &ctx,
                app::AnswerArgs {
                    case: reference,
                    visit,
                    item: item.clone(),
                    value,
                },
            )?;
            out(json, &c, |c| {
                let answered = c
                    .visits
                    .iter()
                    .flat_map(|v| &v.answers)
                    .find(|a| a.item_id == item);
                match answered {
                    Some(a) => format!("{}: {}", a.label, a.display),
                    None => format!("Cleared {item}"),
                }
            });
        }
        Command::Note(NoteCommand::Add { reference, text }) => {
            let ctx = unlocked(&data)?;
            let c = app::add_note(
                &ctx,
                app::NoteArgs {
                    case: reference,
                    text,
                },
            )?;
            out(json, &c, |c| {
                format!("Added a note to {} ({} notes)", c.reference, c.notes.len())
            });
        }
        Command::Photo(cmd) => places::photo(&unlocked(&data)?, cmd, json)?,
        Command::Place(cmd) => places::place(&unlocked(&data)?, cmd, json)?,
        Command::Setting(cmd) => places::setting(&unlocked(&data)?, cmd, json)?,
        Command::Template(TemplateCommand::List) => {
            out(json, &app::templates(), print::templates);
        }
        Command::Template(TemplateCommand::Show { id }) => {
            let t = app::templates()
                .into_iter()
                .filter(|t| t.id == id)
                .max_by_key(|t| t.version)
                .ok_or_else(|| AppError::InvalidInput {
                    field: "template".into(),
                    message: format!("there is no template '{id}' (see `fieldbook template list`)"),
                })?;
            out(json, &t, print::template);
        }
        Command::Demo { cases } => demo::run(json, cases)?,
        Command::Login { server, user } => {
            // A bad address is refused before any passphrase or password is asked for.
            let server = app::check_server(&server)?;
            let ctx = unlocked(&data)?;
            let password = match std::env::var("FIELDBOOK_PASSWORD") {
                Ok(p) => p,
                Err(_) => rpassword::prompt_password(format!("Password for {user} on {server}: "))
                    .map_err(|e| AppError::InvalidInput {
                        field: "password".into(),
                        message: format!(
                            "cannot read the password: {e} (set FIELDBOOK_PASSWORD to run without a terminal)"
                        ),
                    })?,
            };
            let signed = app::sign_in(
                &ctx,
                app::SignInArgs {
                    server,
                    user,
                    password,
                },
            )?;
            out(json, &signed, |s| {
                format!(
                    "Signed in to {} as {} ({}{})",
                    s.server,
                    s.person_name,
                    s.role.replace('_', " "),
                    s.team
                        .as_deref()
                        .map(|t| format!(", team {t}"))
                        .unwrap_or_default()
                )
            });
        }
        Command::Sync => {
            let ctx = unlocked(&data)?;
            let r = app::sync_now(&ctx)?;
            out(json, &r, |r| {
                let mut s = format!(
                    "Synced: sent {} {}, received {} {}",
                    r.pushed,
                    if r.pushed == 1 { "case" } else { "cases" },
                    r.pulled,
                    if r.pulled == 1 { "case" } else { "cases" }
                );
                for f in &r.refused {
                    s.push_str(&format!(
                        "\nRefused by the server: case {}: {} ({})",
                        f.case, f.message, f.code
                    ));
                }
                for d in &r.departed {
                    s.push_str(&if d.removed {
                        format!(
                            "\n{} \"{}\" was reassigned to someone else and has left this device",
                            d.reference, d.title
                        )
                    } else {
                        format!(
                            "\n{} \"{}\" was reassigned to someone else; it leaves this device \
                             once your unsynced changes to it reach the server",
                            d.reference, d.title
                        )
                    });
                }
                s
            });
        }
        Command::Simulate(SimulateCommand::Cases { count }) => {
            let ctx = unlocked(&data)?;
            let made = demo::sample_cases(&ctx, count)?;
            out(json, &made, |m| format!("Created {m} sample cases"));
        }
        Command::Simulate(SimulateCommand::Edits { reference, count }) => {
            let ctx = unlocked(&data)?;
            let mut stdout = std::io::stdout().lock();
            for i in 1..=count {
                app::edit_case(
                    &ctx,
                    app::EditCaseArgs {
                        case: reference.clone(),
                        title: Some(format!("Edit {i}")),
                        ..Default::default()
                    },
                )?;
                // Only reported once the transaction has committed.
                let _ = writeln!(stdout, "saved {i}");
                let _ = stdout.flush();
            }
        }
    }
    Ok(())
}

/// `LAT,LON` in degrees, e.g. `52.015,-1.005`.
fn parse_point(s: &str) -> Result<(f64, f64), String> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| format!("'{s}' is not LAT,LON, e.g. 52.015,-1.005"))?;
    let number = |v: &str| {
        v.trim()
            .parse::<f64>()
            .map_err(|_| format!("'{}' is not a number of degrees", v.trim()))
    };
    Ok((number(lat)?, number(lon)?))
}

fn case_command(ctx: &Ctx, c: CaseCommand, json: bool) -> Result<(), AppError> {
    match c {
        CaseCommand::Create(a) => {
            let c = app::create_case(
                ctx,
                app::NewCaseArgs {
                    kind: a.kind,
                    title: a.title,
                    address: a.address,
                    postcode: a.postcode,
                    uprn: a.uprn,
                    lat: a.lat,
                    lon: a.lon,
                    accuracy_m: None,
                    location_source: a.source,
                    due: a.due,
                },
            )?;
            out(json, &c, |c| {
                format!("Created {}: {}", c.reference, c.title)
            });
        }
        CaseCommand::List(a) => {
            let page = app::list_cases(
                ctx,
                app::ListArgs {
                    search: a.search,
                    statuses: a.status,
                    kinds: a.kind,
                    assignee: a.assignee,
                    due_before: a.due_before,
                    due_after: a.due_after,
                    sort: a.sort,
                    near_lat: a.near.map(|p| p.0),
                    near_lon: a.near.map(|p| p.1),
                    descending: a.desc,
                    limit: Some(a.limit),
                    offset: Some(a.offset),
                },
            )?;
            out(json, &page, print::page);
        }
        CaseCommand::Show { reference } => {
            let case = app::open_case(ctx, &reference)?;
            if json {
                out(json, &case, print::case);
            } else {
                let conflicts = app::conflicts(ctx, &reference)?;
                let mut text = print::case(&case);
                if !conflicts.is_empty() {
                    text.push('\n');
                    text.push_str(&print::conflicts(&case.reference, &conflicts));
                }
                println!("{}", text.trim_end());
            }
        }
        CaseCommand::Assign { reference, to } => {
            let c = app::assign(
                ctx,
                app::AssignArgs {
                    case: reference,
                    to,
                },
            )?;
            out(json, &c, |c| {
                let who = c
                    .assignee
                    .as_ref()
                    .map_or("nobody", |p| p.name.as_deref().unwrap_or(p.id.as_str()));
                format!("{} is now assigned to {who}", c.reference)
            });
        }
        CaseCommand::Conflicts { reference } => {
            let conflicts = app::conflicts(ctx, &reference)?;
            out(json, &conflicts, |c| print::conflicts(&reference, c));
        }
        CaseCommand::Choose {
            reference,
            conflict,
            value,
        } => {
            let conflicts = app::conflicts(ctx, &reference)?;
            let Some(c) = conflict.checked_sub(1).and_then(|i| conflicts.get(i)) else {
                return Err(AppError::InvalidInput {
                    field: "conflict".into(),
                    message: format!(
                        "{reference} has {} conflict(s); `fieldbook case conflicts {reference}` \
                         lists them",
                        conflicts.len()
                    ),
                });
            };
            let Some(v) = value.checked_sub(1).and_then(|i| c.values.get(i)) else {
                return Err(AppError::InvalidInput {
                    field: "value".into(),
                    message: format!(
                        "\"{}\" has {} values to choose from",
                        c.label,
                        c.values.len()
                    ),
                });
            };
            let saved = app::resolve_conflict(
                ctx,
                app::ResolveConflictArgs {
                    case: reference.clone(),
                    field: c.field.clone(),
                    visit: c.visit.clone(),
                    item: c.item.clone(),
                    actor: v.actor.clone(),
                },
            )?;
            let shown = v.shown.clone();
            let label = c.label.clone();
            out(json, &saved, |c| {
                format!("{}: \"{label}\" is now {shown}", c.reference)
            });
        }
        CaseCommand::Edit(a) => {
            let c = app::edit_case(
                ctx,
                app::EditCaseArgs {
                    case: a.reference,
                    title: a.title,
                    address: a.address,
                    postcode: a.postcode,
                    uprn: a.uprn,
                    due: a.due,
                    lat: a.lat,
                    lon: a.lon,
                    accuracy_m: None,
                    location_source: a.source,
                    clear_location: a.clear_location,
                },
            )?;
            out(json, &c, print::case);
        }
        CaseCommand::Submit { reference } => {
            let c = app::submit(ctx, &reference)?;
            out(json, &c, |c| {
                format!("{} is now {}", c.reference, c.status_label)
            });
        }
        CaseCommand::Move {
            reference,
            to,
            comment,
        } => {
            let c = app::transition(
                ctx,
                app::TransitionArgs {
                    case: reference,
                    to,
                    comment,
                },
            )?;
            out(json, &c, |c| {
                format!("{} is now {}", c.reference, c.status_label)
            });
        }
        CaseCommand::History { reference } => {
            out(json, &app::history(ctx, &reference)?, print::history)
        }
    }
    Ok(())
}

/// A visit given as its id, its 1-based number on the case, or "latest".
fn resolve_visit(ctx: &Ctx, reference: &str, visit: &str) -> Result<String, AppError> {
    let v = visit.trim();
    if v.len() > 8 {
        return Ok(v.to_string());
    }
    let case = app::open_case(ctx, reference)?;
    let found = if v.eq_ignore_ascii_case("latest") {
        case.visits.last()
    } else {
        v.parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| case.visits.get(i))
    };
    found
        .map(|v| v.id.clone())
        .ok_or_else(|| AppError::InvalidInput {
            field: "visit".into(),
            message: format!(
                "{} has no visit '{v}' (it has {})",
                case.reference,
                case.visits.len()
            ),
        })
}
