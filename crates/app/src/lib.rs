//! The device API every Fieldbook front end calls: the desktop shell (`src-tauri`) and the
//! `fieldbook` CLI alike. Each operation is `fn(&Ctx, args) -> Result<Dto, AppError>`; the DTOs
//! in [`dto`] are the only serialisable types a front end sees, and [`AppError`] carries a
//! stable code with a human message.
//!
//! This crate turns front-end input (strings, numbers) into domain values, calls the rules of
//! `fieldbook-core` through `fieldbook-store`, and shapes results for display. It holds no UI
//! state and must not know Tauri, HTTP or terminals.

mod conflicts;
pub mod dto;
mod error;
mod map;
mod photos;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use fieldbook_core::template::{
    AnswerValue, ItemKind, Template, default_template_for, latest_template,
};
use fieldbook_core::{
    Case, CaseEdit, CaseKind, CaseStatus, Date, Location, LocationSource, NewCase, NoteId,
    PersonId, Role, TRANSITIONS, Timestamp, VisitId,
};
use fieldbook_store::{CaseQuery, CaseRow, CaseSort, DeviceSetup, MAX_PAGE, Store};

pub use conflicts::{conflicts, resolve_conflict};
pub use dto::*;
pub use error::{AppError, AppResult, ErrorDto};
pub use fieldbook_store::StoreError;
pub use map::{load_basemap, map_info, map_tile};
pub use photos::{
    DEFAULT_MAX_VISIT_DISTANCE_M, SETTINGS, add_photo, edit_photo, find_place, load_gazetteer,
    load_wards, photo_data, photos, set_setting, settings,
};

/// A source of the current time; tests pass a fixed one.
pub type Clock = Box<dyn Fn() -> Timestamp + Send + Sync>;

/// The system clock, in milliseconds since the epoch.
pub fn system_clock() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    Timestamp(ms)
}

/// One device's session: its data directory, and its store while unlocked.
pub struct Ctx {
    data_dir: PathBuf,
    store: Mutex<Option<Store>>,
    clock: Clock,
    /// The basemap pack, opened on first use (see `map.rs`).
    basemap: Mutex<Option<fieldbook_store::basemap::Basemap>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// A locked session over `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self::with_clock(data_dir, Box::new(system_clock))
    }

    pub fn with_clock(data_dir: impl Into<PathBuf>, clock: Clock) -> Self {
        Self {
            data_dir: data_dir.into(),
            store: Mutex::new(None),
            clock,
            basemap: Mutex::new(None),
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    fn now(&self) -> Timestamp {
        (self.clock)()
    }

    fn slot(&self) -> MutexGuard<'_, Option<Store>> {
        // A panic while holding the lock cannot leave the store half-written (SQLite rolls the
        // transaction back), so a poisoned lock is safe to keep using.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> AppResult<T>) -> AppResult<T> {
        let mut slot = self.slot();
        let store = slot.as_mut().ok_or(AppError::Locked)?;
        f(store)
    }

    pub fn is_unlocked(&self) -> bool {
        self.slot().is_some()
    }

    pub fn is_initialised(&self) -> bool {
        self.data_dir.join(fieldbook_store::DB_FILE).exists()
    }
}

fn parse<T: std::str::FromStr<Err = fieldbook_core::DomainError>>(s: &str) -> AppResult<T> {
    Ok(s.parse::<T>()?)
}

fn blank_to_none(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

fn location(
    lat: Option<f64>,
    lon: Option<f64>,
    accuracy_m: Option<f64>,
    source: LocationSource,
    now: Timestamp,
) -> AppResult<Option<Location>> {
    match (lat, lon) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) => Ok(Some(Location::new(lat, lon, accuracy_m, source, now)?)),
        _ => Err(AppError::input(
            "location",
            "give both latitude and longitude, or neither",
        )),
    }
}

/// Where a typed-in or picked location came from: `manual` unless the front end says.
fn source_or_manual(source: Option<String>) -> AppResult<LocationSource> {
    match blank_to_none(source) {
        None => Ok(LocationSource::Manual),
        Some(s) => parse(&s),
    }
}

// ---------------------------------------------------------------- device

/// Set up a new device in the context's data directory and unlock it.
pub fn init_device(ctx: &Ctx, args: InitArgs) -> AppResult<DeviceDto> {
    let setup = DeviceSetup {
        person_name: args.person_name,
        role: parse::<Role>(&args.role)?,
        device_number: args.device_number,
    };
    let store = Store::init(&ctx.data_dir, &args.passphrase, setup, ctx.now())?;
    *ctx.slot() = Some(store);
    device(ctx)
}

/// Unlock the device with the person's passphrase. A wrong passphrase keeps it locked.
pub fn unlock(ctx: &Ctx, passphrase: &str) -> AppResult<DeviceDto> {
    // An attempt to unlock ends any open session first: a wrong passphrase leaves the device
    // locked, never still open from before.
    lock(ctx);
    let store = Store::open(&ctx.data_dir, passphrase)?;
    *ctx.slot() = Some(store);
    device(ctx)
}

/// Lock the device: the store is closed and its key dropped from memory.
pub fn lock(ctx: &Ctx) {
    *ctx.slot() = None;
}

/// Who this device is, and what waits to be synced. A locked device says `locked`; one with no
/// device set up in its data directory yet says `not_initialised` (a front end then offers set-up).
pub fn device(ctx: &Ctx) -> AppResult<DeviceDto> {
    if !ctx.is_unlocked() && !ctx.is_initialised() {
        return Err(StoreError::NotInitialised {
            dir: ctx.data_dir.display().to_string(),
        }
        .into());
    }
    ctx.with_store(|s| {
        let d = s.device();
        let (outbox_cases, outbox_changes) = s.outbox()?;
        Ok(DeviceDto {
            device_id: d.device_id.to_string(),
            device_number: d.device_number,
            person_id: d.person_id.to_string(),
            person_name: d.person_name.clone(),
            role: d.role.code().into(),
            data_dir: s.dir().display().to_string(),
            case_count: s.case_count()?,
            outbox_cases,
            outbox_changes,
        })
    })
}

/// Check the whole database file (`PRAGMA integrity_check`): "ok" when sound.
pub fn integrity_check(ctx: &Ctx) -> AppResult<String> {
    ctx.with_store(|s| Ok(s.integrity_check()?))
}

// ---------------------------------------------------------------- cases

fn new_case_from(args: NewCaseArgs, now: Timestamp) -> AppResult<(CaseKind, NewCase)> {
    let kind: CaseKind = parse(&args.kind)?;
    let due = blank_to_none(args.due)
        .map(|d| parse::<Date>(&d))
        .transpose()?;
    let loc = location(
        args.lat,
        args.lon,
        args.accuracy_m,
        source_or_manual(args.location_source)?,
        now,
    )?;
    Ok((
        kind,
        NewCase {
            title: args.title,
            address: args.address,
            postcode: args.postcode,
            uprn: args.uprn,
            location: loc,
            assignee: None,
            due,
        },
    ))
}

/// Open a new case on this device.
pub fn create_case(ctx: &Ctx, args: NewCaseArgs) -> AppResult<CaseDto> {
    let now = ctx.now();
    let (kind, new) = new_case_from(args, now)?;
    ctx.with_store(|s| {
        let case = s.create_case(kind, new, now)?;
        case_dto(s, &case)
    })
}

/// Open many cases in one transaction (imports, demo data): all or nothing. Returns references.
pub fn create_cases(ctx: &Ctx, args: Vec<NewCaseArgs>) -> AppResult<Vec<String>> {
    let now = ctx.now();
    let batch = args
        .into_iter()
        .map(|a| new_case_from(a, now))
        .collect::<AppResult<Vec<_>>>()?;
    ctx.with_store(|s| {
        Ok(s.create_cases(batch, now)?
            .into_iter()
            .map(|c| c.reference)
            .collect())
    })
}

/// A filtered, sorted page of cases.
pub fn list_cases(ctx: &Ctx, args: ListArgs) -> AppResult<CasePageDto> {
    let statuses = args
        .statuses
        .iter()
        .map(|s| parse::<CaseStatus>(s))
        .collect::<AppResult<Vec<_>>>()?;
    let kinds = args
        .kinds
        .iter()
        .map(|k| parse::<CaseKind>(k))
        .collect::<AppResult<Vec<_>>>()?;
    let sort = match args.sort.as_deref().map(str::trim) {
        None | Some("") => {
            if blank_to_none(args.search.clone()).is_some() {
                CaseSort::Relevance
            } else {
                CaseSort::Due
            }
        }
        Some(s) => CaseSort::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| {
                let codes: Vec<_> = CaseSort::ALL.iter().map(|c| c.code()).collect();
                AppError::input(
                    "sort",
                    format!("'{s}' is not a sort order ({})", codes.join(", ")),
                )
            })?,
    };
    let near = match (args.near_lat, args.near_lon) {
        (None, None) => None,
        (Some(lat), Some(lon)) => Some(fieldbook_core::geo::LatLon::new(lat, lon)?),
        _ => {
            return Err(AppError::input(
                "near",
                "give both latitude and longitude of the point to measure from, or neither",
            ));
        }
    };
    if sort == CaseSort::Distance && near.is_none() {
        return Err(AppError::input(
            "near",
            "sorting by distance needs a point to measure from: your position, or a place",
        ));
    }
    let limit = args.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_PAGE {
        return Err(AppError::input(
            "limit",
            format!("a page holds 1 to {MAX_PAGE} cases"),
        ));
    }
    let due_before = blank_to_none(args.due_before)
        .map(|d| parse::<Date>(&d))
        .transpose()?;
    let due_after = blank_to_none(args.due_after)
        .map(|d| parse::<Date>(&d))
        .transpose()?;
    let search = blank_to_none(args.search);
    if search.as_ref().is_some_and(|s| s.chars().count() > 200) {
        return Err(AppError::input(
            "search",
            "search text must be 200 characters or fewer",
        ));
    }
    ctx.with_store(|s| {
        let assignee = match args.assignee.as_deref().map(str::trim) {
            None | Some("") => None,
            Some("me") => Some(s.device().person_id),
            Some(p) => Some(parse::<PersonId>(p)?),
        };
        let q = CaseQuery {
            search,
            statuses,
            kinds,
            assignee,
            due_before,
            due_after,
            sort,
            near: near.map(|p| (p.lat(), p.lon())),
            descending: args.descending,
            limit,
            offset: args.offset.unwrap_or(0),
        };
        let page = s.list_cases(&q)?;
        Ok(CasePageDto {
            cases: page
                .rows
                .into_iter()
                .map(|row| summary_dto(row, near))
                .collect(),
            total: page.total,
            offset: q.offset,
            limit,
        })
    })
}

/// One case with its visits, answers, notes and photos.
pub fn open_case(ctx: &Ctx, case: &str) -> AppResult<CaseDto> {
    ctx.with_store(|s| {
        let id = s.find_case(case)?;
        let c = s.load_case(id)?;
        case_dto(s, &c)
    })
}

fn change(
    ctx: &Ctx,
    case: &str,
    f: impl FnOnce(
        &mut Case,
        fieldbook_core::Actor,
        Timestamp,
    ) -> Result<String, fieldbook_core::DomainError>,
) -> AppResult<CaseDto> {
    let now = ctx.now();
    ctx.with_store(|s| {
        let id = s.find_case(case)?;
        let saved = s.change_case(id, now, |c, a| f(c, a, now))?;
        case_dto(s, &saved)
    })
}

/// Change a case's own fields; every field is checked before any is saved.
pub fn edit_case(ctx: &Ctx, args: EditCaseArgs) -> AppResult<CaseDto> {
    let now = ctx.now();
    let clear = |v: Option<String>| v.map(|s| (!s.trim().is_empty()).then_some(s));
    let location_edit = if args.clear_location {
        Some(None)
    } else {
        location(
            args.lat,
            args.lon,
            args.accuracy_m,
            source_or_manual(args.location_source)?,
            now,
        )?
        .map(Some)
    };
    let due = match args.due {
        None => None,
        Some(d) if d.trim().is_empty() => Some(None),
        Some(d) => Some(Some(parse::<Date>(&d)?)),
    };
    let edit = CaseEdit {
        title: args.title,
        address: clear(args.address),
        postcode: clear(args.postcode),
        uprn: clear(args.uprn),
        location: location_edit,
        assignee: None,
        due,
    };
    if edit.is_empty() {
        return Err(AppError::input(
            "case",
            "nothing to change: give at least one field",
        ));
    }
    let message = format!("Changed {}", edit.field_names().join(", "));
    change(ctx, &args.case, move |c, a, _| {
        c.edit(edit, a)?;
        Ok(message)
    })
}

/// Assign a case to a person, or to nobody. Only team leaders and administrators assign; when
/// the case leaves an officer's sight it leaves their device at their next sync, after their
/// unsynced edits to it.
pub fn assign(ctx: &Ctx, args: AssignArgs) -> AppResult<CaseDto> {
    let to = args.to.trim().to_string();
    let person: Option<PersonId> = ctx.with_store(|s| {
        if s.device().role == Role::Officer {
            return Err(StoreError::from(fieldbook_core::DomainError::MayNotReassign).into());
        }
        if to.is_empty() {
            return Ok(None);
        }
        if to.eq_ignore_ascii_case("me") {
            return Ok(Some(s.device().person_id));
        }
        if let Ok(id) = to.parse::<PersonId>() {
            return Ok(Some(id));
        }
        let matches: Vec<PersonId> = s
            .people()?
            .into_iter()
            .filter(|(_, name)| name.eq_ignore_ascii_case(&to))
            .map(|(id, _)| id)
            .collect();
        match matches.as_slice() {
            [one] => Ok(Some(*one)),
            [] => Err(AppError::input(
                "to",
                format!(
                    "this device does not know anyone called {to:?}: give their person id, or \
                     sync first"
                ),
            )),
            _ => Err(AppError::input(
                "to",
                format!("more than one person is called {to:?}: give the person id"),
            )),
        }
    })?;
    change(ctx, &args.case, move |c, a, _| {
        c.assign(person, a)?;
        Ok(match person {
            Some(_) => "Assigned the case".to_string(),
            None => "Unassigned the case".to_string(),
        })
    })
}

/// Start a visit against the template given, or the case kind's default template.
pub fn add_visit(ctx: &Ctx, args: AddVisitArgs) -> AppResult<CaseDto> {
    let now = ctx.now();
    let loc = location(
        args.lat,
        args.lon,
        args.accuracy_m,
        LocationSource::Device,
        now,
    )?;
    let template = blank_to_none(args.template);
    change(ctx, &args.case, move |c, a, now| {
        let t: &Template = match &template {
            Some(id) => latest_template(id)?,
            None => default_template_for(c.kind.code()),
        };
        c.add_visit(t, loc, a, now)?;
        Ok(format!("Started a visit ({})", t.title))
    })
}

/// Answer one question of a visit (an empty value clears the answer).
pub fn answer(ctx: &Ctx, args: AnswerArgs) -> AppResult<CaseDto> {
    let visit: VisitId = parse(&args.visit)?;
    let item = args.item.trim().to_string();
    let value = args.value;
    change(ctx, &args.case, move |c, a, now| {
        let template = c.visit(visit)?.template()?;
        let label = template
            .item(&item)
            .map(|i| i.label.clone())
            .unwrap_or_else(|| item.clone());
        if value.trim().is_empty() {
            c.clear_answer(visit, &item, a)?;
            return Ok(format!("Cleared the answer to \"{label}\""));
        }
        let parsed = template.parse_answer(&item, &value)?;
        let shown = template.display_answer(&item, &parsed);
        c.answer(visit, &item, parsed, a, now)?;
        Ok(format!("Answered \"{label}\": {shown}"))
    })
}

/// Add a note to a case.
pub fn add_note(ctx: &Ctx, args: NoteArgs) -> AppResult<CaseDto> {
    change(ctx, &args.case, move |c, a, now| {
        c.add_note(&args.text, a, now)?;
        Ok("Added a note".into())
    })
}

/// Rewrite a note (merges character by character with concurrent edits).
pub fn edit_note(ctx: &Ctx, case: &str, note: &str, text: &str) -> AppResult<CaseDto> {
    let note: NoteId = parse(note)?;
    change(ctx, case, move |c, a, _| {
        c.edit_note(note, text, a)?;
        Ok("Edited a note".into())
    })
}

/// Submit a case for a team leader's review: every visit must be complete.
pub fn submit(ctx: &Ctx, case: &str) -> AppResult<CaseDto> {
    change(ctx, case, |c, a, _| {
        c.submit(a)?;
        Ok("Submitted for review".into())
    })
}

/// Move a case along the review state machine (approve, return with a comment, close, ...).
pub fn transition(ctx: &Ctx, args: TransitionArgs) -> AppResult<CaseDto> {
    let to: CaseStatus = parse(&args.to)?;
    let comment = blank_to_none(args.comment);
    change(ctx, &args.case, move |c, a, now| {
        // The comment first: a closed case takes no more notes. Both land in one change.
        if let Some(text) = &comment {
            c.add_note(text, a, now)?;
        }
        if to == CaseStatus::Submitted {
            c.submit(a)?;
        } else {
            c.transition(to, a)?;
        }
        Ok(match to {
            CaseStatus::Submitted => "Submitted for review".into(),
            CaseStatus::Approved => "Approved".into(),
            CaseStatus::Returned => "Returned to the officer".into(),
            CaseStatus::Closed => "Closed".into(),
            CaseStatus::InProgress => "Work started".into(),
            CaseStatus::Open => "Reopened".into(),
        })
    })
}

/// Who changed what, and when, oldest first.
pub fn history(ctx: &Ctx, case: &str) -> AppResult<Vec<HistoryEntryDto>> {
    ctx.with_store(|s| {
        let id = s.find_case(case)?;
        Ok(s.history(id)?
            .into_iter()
            .map(|h| HistoryEntryDto {
                at: h.at.to_rfc3339(),
                person: h.person_id.map(|id| PersonDto {
                    id,
                    name: h.person_name,
                }),
                device_id: h.device_id,
                actor: h.actor,
                message: h.message,
            })
            .collect())
    })
}

// ---------------------------------------------------------------- drafts

/// The longest draft key, in bytes.
pub const MAX_DRAFT_KEY: usize = 200;
/// The longest draft value, in bytes (a long note is a few kilobytes).
pub const MAX_DRAFT_VALUE: usize = 100_000;

fn draft_prefix(prefix: &str) -> AppResult<&str> {
    if prefix.len() > MAX_DRAFT_KEY || prefix.chars().any(char::is_control) {
        return Err(AppError::input(
            "key",
            format!("a draft key is at most {MAX_DRAFT_KEY} bytes of printable text"),
        ));
    }
    Ok(prefix)
}

/// Keep what the person has typed into a form field, durably, before it is saved into a case
/// (every keystroke: closing or killing the app mid-form then loses at most the one in flight).
/// Drafts stay on this device, encrypted with everything else, and are never synced.
pub fn save_draft(ctx: &Ctx, args: DraftArgs) -> AppResult<()> {
    let key = draft_prefix(&args.key)?;
    if key.is_empty() {
        return Err(AppError::input("key", "a draft needs a key"));
    }
    if args.value.len() > MAX_DRAFT_VALUE {
        return Err(AppError::input(
            "value",
            format!("a draft holds at most {MAX_DRAFT_VALUE} bytes"),
        ));
    }
    let now = ctx.now();
    ctx.with_store(|s| Ok(s.save_draft(key, &args.value, now)?))
}

/// The drafts whose keys start with `prefix` (a whole form's), in key order.
pub fn drafts(ctx: &Ctx, prefix: &str) -> AppResult<Vec<DraftDto>> {
    let prefix = draft_prefix(prefix)?;
    ctx.with_store(|s| {
        Ok(s.drafts(prefix)?
            .into_iter()
            .map(|d| DraftDto {
                key: d.key,
                value: d.value,
                updated_at: d.updated_at.to_rfc3339(),
            })
            .collect())
    })
}

/// Forget the drafts whose keys start with `prefix` (saved into the case, or abandoned).
/// An empty prefix is refused: it would throw away every unsaved form at once.
pub fn clear_drafts(ctx: &Ctx, prefix: &str) -> AppResult<u32> {
    let prefix = draft_prefix(prefix)?;
    if prefix.is_empty() {
        return Err(AppError::input("key", "say which drafts to clear"));
    }
    ctx.with_store(|s| Ok(s.clear_drafts(prefix)? as u32))
}

// ---------------------------------------------------------------- server

/// `url` as a server address this device may use (https, or http to this computer only).
pub fn check_server(url: &str) -> AppResult<String> {
    Ok(fieldbook_client::checked_url(url)?)
}

/// Register this device with the council's server as `user` (HTTPS, or http to this computer
/// only); the token is kept in the encrypted device file.
pub fn sign_in(ctx: &Ctx, args: SignInArgs) -> AppResult<SignedInDto> {
    let now = ctx.now();
    ctx.with_store(|s| {
        let r = fieldbook_client::login(s, &args.server, &args.user, &args.password, now.millis())?;
        Ok(SignedInDto {
            server: r.server,
            user: r.user_name,
            person_name: r.person_name,
            role: r.role,
            team: r.team,
        })
    })
}

/// Send this device's changes to the server and fetch what it lacks. A device the council has
/// revoked is wiped: its database and key file are deleted and it is locked.
pub fn sync_now(ctx: &Ctx) -> AppResult<SyncReportDto> {
    sync_now_with_progress(ctx, |_| {})
}

/// [`sync_now`], calling `progress` after each page the server sends (never while the store is
/// held), for a front end's "syncing 120 of 5,000".
/// Lend the unlocked store to one step of a network exchange (never across a request, so the
/// person can go on editing while it waits on the network); `sync_interrupted` if the device
/// was locked meanwhile.
fn lend(
    ctx: &Ctx,
    step: &mut dyn FnMut(&mut Store) -> fieldbook_client::Result<()>,
) -> fieldbook_client::Result<()> {
    let mut slot = ctx.slot();
    let store = slot
        .as_mut()
        .ok_or(fieldbook_client::ClientError::Interrupted)?;
    step(store)
}

/// Send this device's photos the server lacks and fetch the thumbnails of photos on its cases
/// (run after [`sync_now`], so the server knows the references). The store is lent one step at a
/// time, as for a sync; a cut connection resumes each photo where the server's copy stopped.
pub fn sync_photos(ctx: &Ctx) -> AppResult<PhotoSyncDto> {
    sync_photos_with_progress(ctx, |_| {})
}

/// [`sync_photos`], telling `progress` how far it has got: before each photo and after each
/// chunk of an upload.
pub fn sync_photos_with_progress(
    ctx: &Ctx,
    mut progress: impl FnMut(PhotoProgressDto),
) -> AppResult<PhotoSyncDto> {
    if !ctx.is_unlocked() {
        return Err(AppError::Locked);
    }
    let r = fieldbook_client::transfer_photos_with(|step| lend(ctx, step), &mut |p| {
        progress(PhotoProgressDto {
            done: p.done as u32,
            total: p.total as u32,
            sent: p.blob_sent,
            size: p.blob_size,
        })
    });
    match r {
        Ok(r) => Ok(PhotoSyncDto {
            uploaded: r.uploaded as u32,
            bytes_sent: r.bytes_sent,
            thumbnails: r.thumbnails as u32,
            waiting: r.waiting as u32,
        }),
        Err(fieldbook_client::ClientError::Revoked(reason)) => {
            wipe(ctx);
            Err(AppError::Server(fieldbook_client::ClientError::Revoked(
                administrators_reason(&reason).to_string(),
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Fetch a photo's full version from the server (a photo another device took, opened here).
/// False when the server does not have it yet.
pub fn fetch_photo(ctx: &Ctx, case: &str, photo: &str) -> AppResult<bool> {
    let sha = photo.trim().to_ascii_lowercase();
    let held = ctx.with_store(|s| {
        let c = s.load_case(s.find_case(case)?)?;
        if !c.photos.contains_key(&sha) {
            return Err(AppError::from(fieldbook_core::DomainError::UnknownPhoto {
                photo: sha.chars().take(80).collect(),
            }));
        }
        Ok(s.photo_blob(&sha, fieldbook_store::media::Variant::Full)?
            .is_some())
    })?;
    if held {
        return Ok(true);
    }
    Ok(fieldbook_client::fetch_photo_with(
        |step| lend(ctx, step),
        &sha,
    )?)
}

pub fn sync_now_with_progress(
    ctx: &Ctx,
    mut progress: impl FnMut(SyncProgressDto),
) -> AppResult<SyncReportDto> {
    if !ctx.is_unlocked() {
        return Err(AppError::Locked);
    }
    let now = ctx.now();
    let result = fieldbook_client::sync_with(|step| lend(ctx, step), now.millis(), &mut |p| {
        progress(SyncProgressDto {
            pulled: p.pulled,
            total: p.total,
            pushed: p.pushed,
        })
    })
    .map_err(AppError::from);
    match result {
        Ok(r) => Ok(SyncReportDto {
            rounds: r.rounds as u32,
            pushed: r.pushed as u32,
            pulled: r.pulled as u32,
            refused: r
                .refused
                .into_iter()
                .map(|(case, code, message)| RefusedDto {
                    case,
                    code,
                    message,
                })
                .collect(),
            departed: r.departed.iter().map(departure_dto).collect(),
        }),
        Err(AppError::Server(fieldbook_client::ClientError::Revoked(reason))) => {
            wipe(ctx);
            Err(AppError::Server(fieldbook_client::ClientError::Revoked(
                administrators_reason(&reason).to_string(),
            )))
        }
        Err(e) => Err(e),
    }
}

/// Cases that left this device because they were reassigned, newest first.
pub fn departures(ctx: &Ctx) -> AppResult<Vec<DepartureDto>> {
    ctx.with_store(|s| Ok(s.departures()?.iter().map(departure_dto).collect()))
}

fn departure_dto(d: &fieldbook_store::Departure) -> DepartureDto {
    DepartureDto {
        case_id: d.case_id.clone(),
        reference: d.reference.clone(),
        title: d.title.clone(),
        noticed_at: Timestamp(d.noticed_at).to_rfc3339(),
        removed: d.removed_at.is_some(),
    }
}

/// Whether this device is signed in, how its last sync went, what waits to be sent, and which
/// cases' changes the server refused (each kept on this device only).
pub fn sync_status(ctx: &Ctx) -> AppResult<SyncStatusDto> {
    ctx.with_store(|s| {
        let link = s.server_link()?;
        let (outbox_cases, outbox_changes) = s.outbox()?;
        let week_ago = ctx.now().millis() - 7 * 24 * 60 * 60 * 1000;
        let departed = s
            .departures()?
            .iter()
            .filter(|d| d.noticed_at >= week_ago)
            .take(10)
            .map(departure_dto)
            .collect();
        let refused = s
            .refused()?
            .into_iter()
            .map(|r| {
                let c = s.find_case(&r.case_id).and_then(|id| s.load_case(id));
                let (reference, title) = match c {
                    Ok(c) => (c.reference, c.title),
                    Err(_) => (r.case_id.clone(), String::new()),
                };
                RefusedCaseDto {
                    case: r.case_id,
                    reference,
                    title,
                    code: r.code,
                    message: r.message,
                }
            })
            .collect();
        Ok(SyncStatusDto {
            server: link.as_ref().map(|l| l.url.clone()),
            user: link.as_ref().map(|l| l.user_name.clone()),
            last_sync_at: link
                .as_ref()
                .and_then(|l| l.last_sync_at)
                .map(|t| Timestamp(t).to_rfc3339()),
            last_error: link.and_then(|l| l.last_error),
            outbox_cases,
            outbox_changes,
            refused,
            departed,
        })
    })
}

/// The administrator's own words from the server's revocation message ("this device was
/// revoked: {reason}. Its data will be removed; ask your administrator"), so a front end can
/// say it once in its own sentence; the whole message when it has another shape.
fn administrators_reason(message: &str) -> &str {
    let m = message.trim();
    let m = m.strip_prefix("this device was revoked: ").unwrap_or(m);
    m.strip_suffix(". Its data will be removed; ask your administrator")
        .unwrap_or(m)
}

/// The reason the council gave for revoking this device, when `e` says it was revoked.
pub fn revoked_reason(e: &AppError) -> Option<&str> {
    match e {
        AppError::Server(fieldbook_client::ClientError::Revoked(reason)) => Some(reason),
        _ => None,
    }
}

/// Close the store and delete the device's files (the council revoked the device).
fn wipe(ctx: &Ctx) {
    lock(ctx);
    for name in fieldbook_store::DEVICE_FILES {
        let _ = std::fs::remove_file(ctx.data_dir.join(name));
    }
}

/// The inspection templates this build ships.
pub fn templates() -> Vec<TemplateDto> {
    fieldbook_core::template::builtin_templates()
        .iter()
        .map(template_dto)
        .collect()
}

// ---------------------------------------------------------------- shaping

fn summary_dto(r: CaseRow, near: Option<fieldbook_core::geo::LatLon>) -> CaseSummaryDto {
    let distance_m = match (near, r.lat, r.lon) {
        (Some(from), Some(lat), Some(lon)) => fieldbook_core::geo::LatLon::new(lat, lon)
            .ok()
            .map(|to| fieldbook_core::geo::distance_m(from, to).round()),
        _ => None,
    };
    let kind_label = r
        .kind
        .parse::<CaseKind>()
        .map(|k| k.label().to_string())
        .unwrap_or_else(|_| r.kind.clone());
    let status_label = r
        .status
        .parse::<CaseStatus>()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| r.status.clone());
    CaseSummaryDto {
        id: r.case_id,
        reference: r.reference,
        kind: r.kind,
        kind_label,
        title: r.title,
        address: r.address,
        postcode: r.postcode,
        uprn: r.uprn,
        lat: r.lat,
        lon: r.lon,
        status: r.status,
        status_label,
        assignee: r.assignee,
        due: r.due,
        created_at: Timestamp(r.created_at).to_rfc3339(),
        updated_at: Timestamp(r.updated_at).to_rfc3339(),
        visit_count: r.visit_count,
        note_count: r.note_count,
        photo_count: r.photo_count,
        distance_m,
    }
}

/// People named in a case, each looked up once.
struct People<'a> {
    store: &'a Store,
    known: std::collections::HashMap<PersonId, PersonDto>,
}

impl<'a> People<'a> {
    fn new(store: &'a Store) -> Self {
        Self {
            store,
            known: std::collections::HashMap::new(),
        }
    }

    fn get(&mut self, id: PersonId) -> AppResult<PersonDto> {
        if let Some(p) = self.known.get(&id) {
            return Ok(p.clone());
        }
        let p = PersonDto {
            id: id.to_string(),
            name: self.store.person_name(id)?,
        };
        self.known.insert(id, p.clone());
        Ok(p)
    }
}

fn case_dto(s: &Store, c: &Case) -> AppResult<CaseDto> {
    let role = s.device().role;
    let mut people = People::new(s);
    let max_distance = photos::max_visit_distance(s)?;
    let mut visits = Vec::with_capacity(c.visits.len());
    let mut ordered: Vec<_> = c.visits.values().collect();
    ordered.sort_by_key(|v| (v.started_at, v.id));
    for v in ordered {
        let template = v.template().ok();
        let mut answers = Vec::with_capacity(v.answers.len());
        // Answers in the template's order, then any the template no longer knows.
        let order: Vec<String> = template
            .map(|t| t.items().map(|i| i.id.clone()).collect())
            .unwrap_or_default();
        let mut keys: Vec<&String> = v.answers.keys().collect();
        keys.sort_by_key(|k| {
            (
                order.iter().position(|o| o == *k).unwrap_or(usize::MAX),
                (*k).clone(),
            )
        });
        for item_id in keys {
            let a = &v.answers[item_id];
            answers.push(AnswerDto {
                item_id: item_id.clone(),
                label: template
                    .and_then(|t| t.item(item_id))
                    .map_or_else(|| item_id.clone(), |i| i.label.clone()),
                kind: a.value.kind_code().into(),
                display: template.map_or_else(
                    || a.value.display(),
                    |t| t.display_answer(item_id, &a.value),
                ),
                input: answer_input(&a.value),
                by: people.get(a.by)?,
                at: a.at.to_rfc3339(),
            });
        }
        let score = template
            .and_then(|t| t.score(|i| v.answers.get(i).map(|a| a.value.clone())))
            .map(|o| ScoreDto {
                total: o.total,
                rating: o.rating,
            });
        visits.push(VisitDto {
            id: v.id.to_string(),
            template_id: v.template_id.clone(),
            template_version: v.template_version,
            template_title: template.map_or_else(|| v.template_id.clone(), |t| t.title.clone()),
            started_at: v.started_at.to_rfc3339(),
            officer: people.get(v.officer)?,
            location: v
                .location
                .as_ref()
                .map(|l| photos::location_dto(s, l))
                .transpose()?,
            answers,
            missing_required: v.missing_required().unwrap_or_default(),
            score,
            far_from_property_m: photos::far_from_case(
                max_distance,
                v.location.as_ref(),
                c.location.as_ref(),
            ),
        });
    }
    let mut notes: Vec<_> = c.notes.values().collect();
    notes.sort_by_key(|n| (n.at, n.id));
    let notes = notes
        .into_iter()
        .map(|n| {
            Ok(NoteDto {
                id: n.id.to_string(),
                author: people.get(n.author)?,
                at: n.at.to_rfc3339(),
                text: n.body.as_str().to_string(),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    let allowed_transitions = TRANSITIONS
        .iter()
        .filter(|t| t.from == c.status && t.roles.contains(&role))
        .map(|t| t.to.code().to_string())
        .collect();
    Ok(CaseDto {
        id: c.id.to_string(),
        reference: c.reference.clone(),
        kind: c.kind.code().into(),
        kind_label: c.kind.label().into(),
        title: c.title.clone(),
        address: c.address.clone(),
        postcode: c.postcode.clone(),
        uprn: c.uprn,
        location: c
            .location
            .as_ref()
            .map(|l| photos::location_dto(s, l))
            .transpose()?,
        status: c.status.code().into(),
        status_label: c.status.to_string(),
        assignee: c.assignee.map(|a| people.get(a)).transpose()?,
        due: c.due.map(|d| d.to_string()),
        created_by: people.get(c.created_by)?,
        created_at: c.created_at.to_rfc3339(),
        visits,
        notes,
        photos: photos::photo_dtos(s, c)?,
        allowed_transitions,
        editable: c.status.is_editable(),
    })
}

/// The text that, typed into the item's field, gives this value back.
fn answer_input(v: &AnswerValue) -> String {
    match v {
        AnswerValue::YesNo(b) => if *b { "yes" } else { "no" }.into(),
        AnswerValue::Choice(s) | AnswerValue::Text(s) => s.clone(),
        AnswerValue::Number(n) => n.to_string(),
        AnswerValue::Date(d) => d.to_string(),
        AnswerValue::Score(s) => s.to_string(),
    }
}

fn template_dto(t: &Template) -> TemplateDto {
    TemplateDto {
        id: t.id.clone(),
        version: t.version,
        title: t.title.clone(),
        description: t.description.clone(),
        case_kinds: t.case_kinds.clone(),
        sections: t
            .sections
            .iter()
            .map(|s| SectionDto {
                id: s.id.clone(),
                title: s.title.clone(),
                items: s
                    .items
                    .iter()
                    .map(|i| {
                        let mut dto = ItemDto {
                            id: i.id.clone(),
                            label: i.label.clone(),
                            hint: i.hint.clone(),
                            required: i.required,
                            kind: i.kind.code().into(),
                            options: Vec::new(),
                            min: None,
                            max: None,
                            unit: None,
                            integer: false,
                            max_len: None,
                            multiline: false,
                        };
                        match &i.kind {
                            ItemKind::Choice { options } => {
                                dto.options = options
                                    .iter()
                                    .map(|o| OptionDto {
                                        value: o.value.clone(),
                                        label: o.label.clone(),
                                    })
                                    .collect()
                            }
                            ItemKind::Score { options } => {
                                dto.options = options
                                    .iter()
                                    .map(|o| OptionDto {
                                        value: o.to_string(),
                                        label: o.to_string(),
                                    })
                                    .collect()
                            }
                            ItemKind::Number {
                                min,
                                max,
                                unit,
                                integer,
                            } => {
                                dto.min = Some(*min);
                                dto.max = Some(*max);
                                dto.unit = unit.clone();
                                dto.integer = *integer;
                            }
                            ItemKind::Text { max_len, multiline } => {
                                dto.max_len = Some(*max_len);
                                dto.multiline = *multiline;
                            }
                            ItemKind::YesNo | ItemKind::Date => {}
                        }
                        dto
                    })
                    .collect(),
            })
            .collect(),
    }
}
