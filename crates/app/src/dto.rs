//! The data front ends see. These are the only serialisable types of the device API.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct DeviceDto {
    pub device_id: String,
    pub device_number: u32,
    pub person_id: String,
    pub person_name: String,
    pub role: String,
    pub data_dir: String,
    pub case_count: u64,
    /// Cases with changes the server has not acknowledged yet.
    pub outbox_cases: u64,
    /// Changes waiting to be sent.
    pub outbox_changes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct LocationDto {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub source: String,
    pub at: String,
    /// British National Grid coordinates (OSTN15), when the point is within the grid.
    pub bng: Option<BngDto>,
    /// The ward the point is in, when ward boundaries are loaded and one contains it.
    pub ward: Option<WardDto>,
}

/// OSGB36 British National Grid coordinates of a point (EPSG:27700).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct BngDto {
    /// Metres, to the millimetre.
    pub easting: f64,
    pub northing: f64,
    /// The Ordnance Survey grid reference to the metre, e.g. `TQ 30047 80422`.
    pub grid_ref: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct WardDto {
    /// The ONS ward code, e.g. `E05000001`.
    pub code: String,
    pub name: String,
}

/// A place from the gazetteer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct PlaceDto {
    pub uprn: u64,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub bng: BngDto,
    pub ward: Option<WardDto>,
}

/// What a gazetteer load did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct GazetteerLoadDto {
    pub loaded: u64,
    pub refused: u64,
    /// The first refused rows, each "line N: why".
    pub first_refusals: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct CaseSummaryDto {
    pub id: String,
    pub reference: String,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub status: String,
    pub status_label: String,
    pub assignee: Option<String>,
    pub due: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub visit_count: i64,
    pub note_count: i64,
    pub photo_count: i64,
    /// Metres from the list's `near` point, when the list was asked for one and the case has
    /// a location.
    pub distance_m: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct CasePageDto {
    pub cases: Vec<CaseSummaryDto>,
    pub total: u64,
    pub offset: u32,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct PersonDto {
    pub id: String,
    /// The person's name where this device knows it.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct CaseDto {
    pub id: String,
    pub reference: String,
    pub kind: String,
    pub kind_label: String,
    pub title: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<u64>,
    pub location: Option<LocationDto>,
    pub status: String,
    pub status_label: String,
    pub assignee: Option<PersonDto>,
    pub due: Option<String>,
    pub created_by: PersonDto,
    pub created_at: String,
    pub visits: Vec<VisitDto>,
    pub notes: Vec<NoteDto>,
    pub photos: Vec<PhotoDto>,
    /// Statuses this device's person may move the case to now.
    pub allowed_transitions: Vec<String>,
    /// Whether the case's fields, visits and answers may still change.
    pub editable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct VisitDto {
    pub id: String,
    pub template_id: String,
    pub template_version: u32,
    pub template_title: String,
    pub started_at: String,
    pub officer: PersonDto,
    pub location: Option<LocationDto>,
    pub answers: Vec<AnswerDto>,
    /// Labels of required questions still unanswered.
    pub missing_required: Vec<String>,
    pub score: Option<ScoreDto>,
    /// Metres between where the visit was recorded and the case's location, when that is more
    /// than the device's limit (setting `visits.max_distance_m`): worth a look by a reviewer.
    pub far_from_property_m: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct AnswerDto {
    pub item_id: String,
    pub label: String,
    pub kind: String,
    /// The value as a person reads it ("Yes", "15", "2026-03-01", "Takeaway").
    pub display: String,
    /// The value as typed in a form would be, for editing.
    pub input: String,
    pub by: PersonDto,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct ScoreDto {
    pub total: u32,
    pub rating: u8,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct NoteDto {
    pub id: String,
    pub author: PersonDto,
    pub at: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct PhotoDto {
    /// The SHA-256 of the photo's display version: its name.
    pub sha256: String,
    pub bytes: u64,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub caption: String,
    pub visit_id: Option<String>,
    /// When it was taken, where the camera said.
    pub taken_at: Option<String>,
    /// Where it was taken, from the photo's EXIF GPS position.
    pub location: Option<LocationDto>,
    /// Which versions this device holds: "full", "thumb", "original" (a device that received
    /// the case by sync may not have fetched them yet).
    pub held: Vec<String>,
}

/// Attaching a photo; the file's bytes travel beside these arguments.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct AddPhotoArgs {
    pub case: String,
    /// The file's name as the person picked it (only used to catch a mislabelled file).
    pub file_name: Option<String>,
    /// The visit the photo belongs to.
    pub visit: Option<String>,
    pub caption: Option<String>,
}

/// What attaching a photo did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct PhotoAddedDto {
    pub photo: PhotoDto,
    /// False when this photo was already attached to the case (nothing changed).
    pub added: bool,
}

/// What a photo transfer did (after a sync: this device's photos up, others' thumbnails down).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct PhotoSyncDto {
    pub uploaded: u32,
    pub bytes_sent: u64,
    pub thumbnails: u32,
    /// Thumbnails the server does not have yet (their device has not sent them).
    pub waiting: u32,
}

/// Changing a photo's caption or visit. `visit: ""` unlinks it from its visit.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct EditPhotoArgs {
    pub case: String,
    pub photo: String,
    pub caption: Option<String>,
    pub visit: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct HistoryEntryDto {
    pub at: String,
    pub person: Option<PersonDto>,
    pub device_id: Option<String>,
    pub actor: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct TemplateDto {
    pub id: String,
    pub version: u32,
    pub title: String,
    pub description: Option<String>,
    pub case_kinds: Vec<String>,
    pub sections: Vec<SectionDto>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct SectionDto {
    pub id: String,
    pub title: String,
    pub items: Vec<ItemDto>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct ItemDto {
    pub id: String,
    pub label: String,
    pub hint: Option<String>,
    pub required: bool,
    /// yes_no, choice, number, text, date or score.
    pub kind: String,
    /// Choices (value, label) for choice items; allowed scores for score items.
    pub options: Vec<OptionDto>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub unit: Option<String>,
    pub integer: bool,
    pub max_len: Option<usize>,
    pub multiline: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct OptionDto {
    pub value: String,
    pub label: String,
}

/// Something typed into a form and not yet saved into a case (see [`crate::save_draft`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct DraftDto {
    pub key: String,
    pub value: String,
    pub updated_at: String,
}

// ---- arguments ----

/// Setting up a device. `Debug` leaves the passphrase out, so logs of a command's arguments
/// never hold it; it is never serialised back out.
#[derive(Clone, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct InitArgs {
    pub passphrase: String,
    pub person_name: String,
    /// officer, team_leader or admin.
    pub role: String,
    pub device_number: u32,
}

impl std::fmt::Debug for InitArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitArgs")
            .field("passphrase", &"<redacted>")
            .field("person_name", &self.person_name)
            .field("role", &self.role)
            .field("device_number", &self.device_number)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct NewCaseArgs {
    pub kind: String,
    pub title: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// Where `lat`/`lon` came from: `device` (the device's position), `map` (picked on the
    /// map), `gazetteer` (a property found by UPRN or postcode) or `manual` (typed; the
    /// default).
    pub location_source: Option<String>,
    /// YYYY-MM-DD.
    pub due: Option<String>,
}

/// A change to a case's fields: `None` leaves a field alone; an empty string clears it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct EditCaseArgs {
    pub case: String,
    pub title: Option<String>,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<String>,
    pub due: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
    /// Where `lat`/`lon` came from, as for a new case (`manual` when absent).
    pub location_source: Option<String>,
    /// Remove the case's location.
    #[serde(default)]
    pub clear_location: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    pub search: Option<String>,
    #[serde(default)]
    pub statuses: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
    /// A person id, or "me".
    pub assignee: Option<String>,
    pub due_before: Option<String>,
    pub due_after: Option<String>,
    /// due, updated, created, reference, title, relevance or distance (nearest to
    /// `near_lat`/`near_lon` first; cases with no location last).
    pub sort: Option<String>,
    /// The point "near me" measures from (WGS84 degrees): needed by `sort: "distance"`, and
    /// fills each case's `distance_m` whatever the order.
    pub near_lat: Option<f64>,
    pub near_lon: Option<f64>,
    #[serde(default)]
    pub descending: bool,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct AddVisitArgs {
    pub case: String,
    /// A template id; the case kind's default when absent.
    pub template: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub accuracy_m: Option<f64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct AnswerArgs {
    pub case: String,
    pub visit: String,
    pub item: String,
    /// What the person typed or chose; parsed by the item's kind. Empty clears the answer.
    pub value: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct NoteArgs {
    pub case: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct TransitionArgs {
    pub case: String,
    /// The status to move to.
    pub to: String,
    /// A comment recorded as a note with the move (a reason for returning, say).
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct DraftArgs {
    /// Which form field: "case:<id>:title", "visit:<id>:<item>", "new-case:title", ...
    pub key: String,
    pub value: String,
}

/// Signing in to the server. `Debug` leaves the password out.
#[derive(Clone, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct SignInArgs {
    /// https://… (http:// only to this computer).
    pub server: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for SignInArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInArgs")
            .field("server", &self.server)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct SignedInDto {
    pub server: String,
    pub user: String,
    pub person_name: String,
    pub role: String,
    pub team: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct RefusedDto {
    pub case: String,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct SyncReportDto {
    pub rounds: u32,
    pub pushed: u32,
    pub pulled: u32,
    pub refused: Vec<RefusedDto>,
    /// Cases reassigned to someone else that left this device in this sync.
    pub departed: Vec<DepartureDto>,
}

/// A case that left this device because it was reassigned to someone else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct DepartureDto {
    pub case_id: String,
    pub reference: String,
    pub title: String,
    /// When the server said it had gone (RFC 3339).
    pub noticed_at: String,
    /// False while its unsynced edits wait to reach the server; it leaves right after.
    pub removed: bool,
}

/// How far a running sync has got: `pulled` of `total` cases fetched so far.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, TS)]
pub struct SyncProgressDto {
    pub pulled: u64,
    pub total: u64,
    /// This device's cases the server has accepted so far.
    pub pushed: u64,
}

/// A case whose changes the server refused: the edit stays on this device only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct RefusedCaseDto {
    /// The case id.
    pub case: String,
    pub reference: String,
    pub title: String,
    /// Why, as the server's stable code (`not_your_case`, `may_not_reassign`, …).
    pub code: String,
    pub message: String,
}

/// The device's side of sync as stored: the server it is signed in to (none: not signed in),
/// its last successful sync, the last sync's error, what waits, and what the server refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct SyncStatusDto {
    pub server: Option<String>,
    /// The user name this device signed in as.
    pub user: Option<String>,
    /// RFC 3339; none before the first successful sync.
    pub last_sync_at: Option<String>,
    /// The last sync's failure in words; none when it succeeded.
    pub last_error: Option<String>,
    pub outbox_cases: u64,
    pub outbox_changes: u64,
    pub refused: Vec<RefusedCaseDto>,
    /// Cases reassigned to someone else in the last week, newest first (at most 10).
    pub departed: Vec<DepartureDto>,
}

/// What a front end's background sync is doing now (the desktop shell sends this as the
/// `sync-activity` event). `state`: `idle` (not running; see `error` for how the last attempt
/// ended), `syncing` (`pulled` of `total` so far), `offline` (the server cannot be reached;
/// the shell watches for it), `revoked` (the device was removed and wiped: `revoked_reason`
/// says why).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct SyncActivityDto {
    pub state: String,
    pub pulled: u64,
    pub total: u64,
    /// How the last attempt failed (code and words); none after a success.
    pub error: Option<SyncErrorDto>,
    pub revoked_reason: Option<String>,
    /// While photos move (after the cases): how far, in photos and in bytes of the current one.
    pub photos: Option<PhotoProgressDto>,
}

/// Photos moving between this device and the server: `done` of `total` (uploads, then
/// thumbnails fetched), and `sent` of `size` bytes of the photo being uploaded now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS)]
pub struct PhotoProgressDto {
    pub done: u32,
    pub total: u32,
    pub sent: u64,
    pub size: u64,
}

/// A sync's failure as a front end shows it: the stable code and the device's words.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, TS)]
pub struct SyncErrorDto {
    pub code: String,
    pub message: String,
}

/// A field two people changed at the same time: automerge kept both values.
#[derive(Debug, Clone, Serialize, PartialEq, TS)]
pub struct ConflictDto {
    /// `title`, `address`, `postcode`, `uprn`, `location`, `due`, `status`, `assignee`, or
    /// `answer` (then `visit` and `item` say which).
    pub field: String,
    /// The field as a person reads it: "Title", or the question.
    pub label: String,
    pub visit: Option<String>,
    pub item: Option<String>,
    /// False for status and assignee: the review settles those, not a choice.
    pub choosable: bool,
    /// The value the case shows now first, then the others.
    pub values: Vec<ConflictValueDto>,
}

#[derive(Debug, Clone, Serialize, PartialEq, TS)]
pub struct ConflictValueDto {
    /// The value as a person reads it.
    pub shown: String,
    /// Who wrote it: a person's name, or "someone on another device".
    pub by: String,
    pub person_id: Option<String>,
    /// Pass back to `resolve_conflict` to choose this value.
    pub actor: String,
    /// Whether the case shows this value now.
    pub current: bool,
    pub choosable: bool,
}

/// Giving a case to someone (team leaders and administrators).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct AssignArgs {
    pub case: String,
    /// A person id, a name this device knows, "me", or empty for nobody.
    pub to: String,
}

/// Choosing one value of a conflict; an ordinary edit of that field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, TS)]
#[serde(deny_unknown_fields)]
pub struct ResolveConflictArgs {
    pub case: String,
    /// As in [`ConflictDto::field`].
    pub field: String,
    pub visit: Option<String>,
    pub item: Option<String>,
    /// The writer of the chosen value ([`ConflictValueDto::actor`]).
    pub actor: String,
}

/// What the map can show on this device, offline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct MapDto {
    /// The offline basemap pack an administrator loaded (an MBTiles file), if any. Its tiles
    /// come through the shell's `fbtiles` protocol.
    pub basemap: Option<BasemapDto>,
    /// Whether tiles the pack lacks may come from the council's tile server (setting
    /// `map.tile_url`). When false, drawing the map sends nothing off the device.
    pub online_tiles: bool,
    /// The ward boundaries loaded on this device, as a GeoJSON FeatureCollection in WGS84 (one
    /// MultiPolygon per ward, properties `code` and `name`), or none.
    pub wards: Option<String>,
}

/// An MBTiles basemap pack, as its metadata describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, TS)]
pub struct BasemapDto {
    pub name: String,
    /// The tiles' image format: `png`, `jpg` or `webp`.
    pub format: String,
    pub min_zoom: u8,
    pub max_zoom: u8,
    /// West, south, east, north in WGS84 degrees.
    pub bounds: Option<[f64; 4]>,
    /// Longitude, latitude and zoom to open at.
    pub center: Option<[f64; 3]>,
    pub attribution: Option<String>,
}

/// Write the TypeScript form of every DTO into `dir` (one `.ts` file per type), for the UI's
/// `ui/src/bindings`. Numbers are `number`: serde writes 64-bit integers as JSON numbers, and
/// none of these exceeds 2^53.
pub fn export_bindings(dir: &std::path::Path) -> Result<(), ts_rs::ExportError> {
    let cfg = ts_rs::Config::new()
        .with_large_int("number")
        .with_out_dir(dir);
    DeviceDto::export_all(&cfg)?;
    LocationDto::export_all(&cfg)?;
    CaseSummaryDto::export_all(&cfg)?;
    CasePageDto::export_all(&cfg)?;
    PersonDto::export_all(&cfg)?;
    CaseDto::export_all(&cfg)?;
    VisitDto::export_all(&cfg)?;
    AnswerDto::export_all(&cfg)?;
    ScoreDto::export_all(&cfg)?;
    NoteDto::export_all(&cfg)?;
    PhotoDto::export_all(&cfg)?;
    BngDto::export_all(&cfg)?;
    WardDto::export_all(&cfg)?;
    PlaceDto::export_all(&cfg)?;
    GazetteerLoadDto::export_all(&cfg)?;
    AddPhotoArgs::export_all(&cfg)?;
    PhotoAddedDto::export_all(&cfg)?;
    EditPhotoArgs::export_all(&cfg)?;
    PhotoSyncDto::export_all(&cfg)?;
    HistoryEntryDto::export_all(&cfg)?;
    TemplateDto::export_all(&cfg)?;
    SectionDto::export_all(&cfg)?;
    ItemDto::export_all(&cfg)?;
    OptionDto::export_all(&cfg)?;
    InitArgs::export_all(&cfg)?;
    NewCaseArgs::export_all(&cfg)?;
    EditCaseArgs::export_all(&cfg)?;
    ListArgs::export_all(&cfg)?;
    AddVisitArgs::export_all(&cfg)?;
    AnswerArgs::export_all(&cfg)?;
    NoteArgs::export_all(&cfg)?;
    TransitionArgs::export_all(&cfg)?;
    DraftDto::export_all(&cfg)?;
    SignInArgs::export_all(&cfg)?;
    SignedInDto::export_all(&cfg)?;
    RefusedDto::export_all(&cfg)?;
    SyncReportDto::export_all(&cfg)?;
    DepartureDto::export_all(&cfg)?;
    SyncProgressDto::export_all(&cfg)?;
    RefusedCaseDto::export_all(&cfg)?;
    SyncStatusDto::export_all(&cfg)?;
    SyncActivityDto::export_all(&cfg)?;
    SyncErrorDto::export_all(&cfg)?;
    DraftArgs::export_all(&cfg)?;
    ConflictDto::export_all(&cfg)?;
    AssignArgs::export_all(&cfg)?;
    ConflictValueDto::export_all(&cfg)?;
    ResolveConflictArgs::export_all(&cfg)?;
    MapDto::export_all(&cfg)?;
    BasemapDto::export_all(&cfg)?;
    PhotoProgressDto::export_all(&cfg)?;
    crate::ErrorDto::export_all(&cfg)?;
    Ok(())
}
