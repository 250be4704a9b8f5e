//! Fieldbook's desktop shell. It owns the window, the capabilities and the CSP, and registers
//! one-line commands over `fieldbook_app`: each takes the device context from Tauri's state,
//! calls the device API and returns its DTO or `AppError` (`{code, message}`). It must not
//! contain business logic: anything a command needs beyond a call belongs in `fieldbook-app`.

pub mod background;
pub mod protocols;

use std::sync::Arc;

use background::{Syncer, Timing};
use fieldbook_app::{self as app, AppError, Ctx};
use tauri::{Emitter, Manager, State};

type R<T> = Result<T, AppError>;

/// `f` on a thread of its own: the device's HTTP client blocks, which it may not do on the
/// async runtime's threads that run commands.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(f)
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `result`, after telling the background sync that the device changed when it succeeded.
fn wrote<T>(sync: &Syncer, result: R<T>) -> R<T> {
    if result.is_ok() {
        sync.edited();
    }
    result
}

/// `result`, after asking for a sync as soon as possible when it succeeded.
fn sync_soon<T>(sync: &Syncer, result: R<T>) -> R<T> {
    if result.is_ok() {
        sync.soon();
    }
    result
}

/// The commands registered below, as declared to Tauri's ACL in `build.rs`.
pub const COMMANDS: &[&str] = include!("../commands.rs");

#[tauri::command(async)]
fn device(ctx: State<'_, Ctx>) -> R<app::DeviceDto> {
    app::device(&ctx)
}
#[tauri::command(async)]
fn init_device(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::InitArgs,
) -> R<app::DeviceDto> {
    sync_soon(&sync, app::init_device(&ctx, args))
}
#[tauri::command(async)]
fn unlock(ctx: State<'_, Ctx>, sync: State<'_, Syncer>, passphrase: String) -> R<app::DeviceDto> {
    sync_soon(&sync, app::unlock(&ctx, &passphrase))
}
#[tauri::command(async)]
fn lock(ctx: State<'_, Ctx>) {
    app::lock(&ctx)
}
#[tauri::command(async)]
fn list_cases(ctx: State<'_, Ctx>, args: app::ListArgs) -> R<app::CasePageDto> {
    app::list_cases(&ctx, args)
}
#[tauri::command(async)]
fn open_case(ctx: State<'_, Ctx>, case: String) -> R<app::CaseDto> {
    app::open_case(&ctx, &case)
}
#[tauri::command(async)]
fn create_case(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::NewCaseArgs,
) -> R<app::CaseDto> {
    wrote(&sync, app::create_case(&ctx, args))
}
#[tauri::command(async)]
fn edit_case(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::EditCaseArgs,
) -> R<app::CaseDto> {
    wrote(&sync, app::edit_case(&ctx, args))
}
#[tauri::command(async)]
fn add_visit(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::AddVisitArgs,
) -> R<app::CaseDto> {
    wrote(&sync, app::add_visit(&ctx, args))
}
#[tauri::command(async)]
fn answer(ctx: State<'_, Ctx>, sync: State<'_, Syncer>, args: app::AnswerArgs) -> R<app::CaseDto> {
    wrote(&sync, app::answer(&ctx, args))
}
#[tauri::command(async)]
fn add_note(ctx: State<'_, Ctx>, sync: State<'_, Syncer>, args: app::NoteArgs) -> R<app::CaseDto> {
    wrote(&sync, app::add_note(&ctx, args))
}
#[tauri::command(async)]
fn submit(ctx: State<'_, Ctx>, sync: State<'_, Syncer>, case: String) -> R<app::CaseDto> {
    wrote(&sync, app::submit(&ctx, &case))
}
#[tauri::command(async)]
fn transition(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::TransitionArgs,
) -> R<app::CaseDto> {
    wrote(&sync, app::transition(&ctx, args))
}
#[tauri::command(async)]
fn history(ctx: State<'_, Ctx>, case: String) -> R<Vec<app::HistoryEntryDto>> {
    app::history(&ctx, &case)
}
#[tauri::command(async)]
fn templates() -> Vec<app::TemplateDto> {
    app::templates()
}
#[tauri::command(async)]
fn save_draft(ctx: State<'_, Ctx>, args: app::DraftArgs) -> R<()> {
    app::save_draft(&ctx, args)
}
#[tauri::command(async)]
fn drafts(ctx: State<'_, Ctx>, prefix: String) -> R<Vec<app::DraftDto>> {
    app::drafts(&ctx, &prefix)
}
#[tauri::command(async)]
fn clear_drafts(ctx: State<'_, Ctx>, prefix: String) -> R<u32> {
    app::clear_drafts(&ctx, &prefix)
}

#[tauri::command(async)]
fn sign_in(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::SignInArgs,
) -> R<app::SignedInDto> {
    sync_soon(&sync, off_runtime(|| app::sign_in(&ctx, args)))
}
#[tauri::command(async)]
fn sync_now(ctx: State<'_, Ctx>, sync: State<'_, Syncer>) -> R<app::SyncReportDto> {
    off_runtime(|| sync.sync(&ctx))
}
#[tauri::command(async)]
fn sync_status(ctx: State<'_, Ctx>) -> R<app::SyncStatusDto> {
    app::sync_status(&ctx)
}
#[tauri::command(async)]
fn sync_activity(sync: State<'_, Syncer>) -> app::SyncActivityDto {
    sync.activity()
}

#[tauri::command(async)]
fn conflicts(ctx: State<'_, Ctx>, case: String) -> R<Vec<app::ConflictDto>> {
    app::conflicts(&ctx, &case)
}
#[tauri::command(async)]
fn resolve_conflict(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::ResolveConflictArgs,
) -> R<app::CaseDto> {
    wrote(&sync, app::resolve_conflict(&ctx, args))
}

#[tauri::command(async)]
fn photos(ctx: State<'_, Ctx>, case: String) -> R<Vec<app::PhotoDto>> {
    app::photos(&ctx, &case)
}

/// The arguments of `add_photo`, from its `Fieldbook-Args` header (percent-encoded JSON).
fn photo_args(headers: &tauri::http::HeaderMap) -> R<app::AddPhotoArgs> {
    let bad = |why: &str| AppError::input("photo", format!("the photo's details {why}"));
    let raw = headers
        .get("fieldbook-args")
        .ok_or_else(|| bad("are missing (header Fieldbook-Args)"))?
        .to_str()
        .map_err(|_| bad("are not text"))?;
    let json = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| bad("are not UTF-8"))?;
    serde_json::from_str(&json).map_err(|e| bad(&format!("are not understood: {e}")))
}

/// Attach a photo: the file's bytes are the request's raw body (megabytes, not a JSON array
/// of numbers) and its [`app::AddPhotoArgs`] are in the `Fieldbook-Args` header.
#[tauri::command(async)]
fn add_photo(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    request: tauri::ipc::Request<'_>,
) -> R<app::PhotoAddedDto> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::input(
            "photo",
            "send the photo's bytes as the request's body",
        ));
    };
    let args = photo_args(request.headers())?;
    wrote(&sync, app::add_photo(&ctx, args, bytes))
}
#[tauri::command(async)]
fn edit_photo(
    ctx: State<'_, Ctx>,
    sync: State<'_, Syncer>,
    args: app::EditPhotoArgs,
) -> R<app::PhotoDto> {
    wrote(&sync, app::edit_photo(&ctx, args))
}
/// Make sure a photo's full version is on this device, fetching it from the server if need be.
#[tauri::command(async)]
fn fetch_photo(ctx: State<'_, Ctx>, case: String, photo: String) -> R<bool> {
    off_runtime(|| app::fetch_photo(&ctx, &case, &photo))
}
#[tauri::command(async)]
fn find_place(ctx: State<'_, Ctx>, query: String) -> R<Vec<app::PlaceDto>> {
    app::find_place(&ctx, &query)
}
#[tauri::command(async)]
fn map_info(ctx: State<'_, Ctx>) -> R<app::MapDto> {
    app::map_info(&ctx)
}

/// `base` with the app's commands and device context, on any runtime (the tests pass Tauri's
/// mock builder). The device lives in `data_dir` when given, else in the platform's app data
/// directory.
pub fn configure<Rt: tauri::Runtime>(
    base: tauri::Builder<Rt>,
    data_dir: Option<std::path::PathBuf>,
) -> tauri::Builder<Rt> {
    configure_with(base, data_dir, Timing::default())
}

/// [`configure`], with the background sync's `timing` (tests shorten it).
pub fn configure_with<Rt: tauri::Runtime>(
    base: tauri::Builder<Rt>,
    data_dir: Option<std::path::PathBuf>,
    timing: Timing,
) -> tauri::Builder<Rt> {
    // A plugin with no commands, so that the device context and the background sync exist as
    // soon as the app is built (an app's own `setup` waits for the event loop, which tests on
    // the mock runtime never start).
    let shell = tauri::plugin::Builder::<Rt>::new("fieldbook-shell")
        .setup(move |app, _api| {
            let dir = match data_dir {
                Some(dir) => dir,
                None => app.path().app_data_dir()?,
            };
            app.manage(Ctx::new(dir));
            let (for_ctx, for_events) = (app.clone(), app.clone());
            app.manage(Syncer::start(
                timing,
                Arc::new(move |f| f(&for_ctx.state::<Ctx>())),
                Arc::new(move |activity| {
                    if let Err(e) = for_events.emit(background::EVENT, activity) {
                        eprintln!("warning: the window missed a sync update: {e}");
                    }
                }),
            ));
            Ok(())
        })
        .build();
    base.plugin(shell)
        .invoke_handler(tauri::generate_handler![
            device,
            init_device,
            unlock,
            lock,
            list_cases,
            open_case,
            create_case,
            edit_case,
            add_visit,
            answer,
            add_note,
            submit,
            transition,
            history,
            templates,
            save_draft,
            drafts,
            clear_drafts,
            sign_in,
            sync_now,
            sync_status,
            sync_activity,
            conflicts,
            resolve_conflict,
            photos,
            add_photo,
            edit_photo,
            fetch_photo,
            find_place,
            map_info
        ])
        .register_asynchronous_uri_scheme_protocol(
            protocols::PHOTO_SCHEME,
            |ctx, request, responder| {
                answer_off_the_event_loop(
                    ctx.app_handle(),
                    request.uri().path(),
                    responder,
                    protocols::photo,
                )
            },
        )
        .register_asynchronous_uri_scheme_protocol(
            protocols::TILE_SCHEME,
            |ctx, request, responder| {
                answer_off_the_event_loop(
                    ctx.app_handle(),
                    request.uri().path(),
                    responder,
                    protocols::tile,
                )
            },
        )
}

/// Answers a custom-protocol request with `answer` on a blocking thread (it may decrypt a photo
/// or read the basemap pack).
fn answer_off_the_event_loop<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    path: &str,
    responder: tauri::UriSchemeResponder,
    answer: fn(&Ctx, &str) -> tauri::http::Response<Vec<u8>>,
) {
    let app = app.clone();
    let path = path.to_string();
    tauri::async_runtime::spawn_blocking(move || {
        responder.respond(answer(&app.state::<Ctx>(), &path))
    });
}

/// Whether the window's geolocation handler is connected (once: `on_page_load` runs per page).
#[cfg(target_os = "linux")]
static GEOLOCATION_ALLOWED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Set up the webview (Linux): allow the position, and draw the page without WebKitGTK's
/// accelerated compositing. Fieldbook's pages are forms and
/// tables with no animation to speed up, and compositing costs the web process about 95 MiB
/// (PSS, measured with `cargo bench -p fieldbook-desktop --bench startup`: 334 → 238 MiB for
/// the app with its webview), which the 300 MB memory budget cannot spare on a tablet. It also
/// avoids the blank windows some GPU drivers give WebKitGTK. The map still has WebGL 2 (drawn in
/// software).
fn configure_webview<Rt: tauri::Runtime>(webview: &tauri::Webview<Rt>) {
    #[cfg(target_os = "linux")]
    {
        let done = webview.with_webview(|platform| {
            use webkit2gtk::glib::prelude::ObjectExt;
            use webkit2gtk::{
                GeolocationPermissionRequest, HardwareAccelerationPolicy, PermissionRequestExt,
                SettingsExt, WebViewExt,
            };
            let view = platform.inner();
            if let Some(settings) = view.settings()
                && settings.hardware_acceleration_policy() != HardwareAccelerationPolicy::Never
            {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
            }
            // The window asks for the device's position ("Use my position", "Nearest to me",
            // a visit's place): allow it (the platform's location service still decides
            // whether it has one). Every other permission keeps WebKit's default (refused).
            if !GEOLOCATION_ALLOWED.swap(true, std::sync::atomic::Ordering::SeqCst) {
                view.connect_permission_request(|_, request| {
                    if request.is::<GeolocationPermissionRequest>() {
                        request.allow();
                        true
                    } else {
                        false
                    }
                });
            }
        });
        if let Err(e) = done {
            eprintln!("warning: could not turn off accelerated compositing: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = webview;
}

/// The app identifier tests run under, so they never share the webview's storage (or, without
/// `FIELDBOOK_DATA`, the device) with the real app on the same machine.
pub const TEST_IDENTIFIER: &str = "uk.gov.anytown.fieldbook.test";

/// Run the desktop app. `FIELDBOOK_DATA` overrides the data directory (tests, demos);
/// `FIELDBOOK_IDENTIFIER` overrides the app identifier, and only to [`TEST_IDENTIFIER`].
pub fn run() {
    let data_dir = std::env::var_os("FIELDBOOK_DATA").map(std::path::PathBuf::from);
    let mut context = tauri::generate_context!("../tauri.conf.json");
    match std::env::var("FIELDBOOK_IDENTIFIER") {
        Ok(id) if id == TEST_IDENTIFIER => context.config_mut().identifier = id,
        Ok(id) => {
            eprintln!("error: FIELDBOOK_IDENTIFIER may only be {TEST_IDENTIFIER}, not {id:?}");
            std::process::exit(2);
        }
        Err(_) => {}
    }
    let base = tauri::Builder::default().on_page_load(|webview, _| configure_webview(webview));
    if let Err(e) = configure(base, data_dir).run(context) {
        eprintln!("error: Fieldbook could not start: {e}");
        std::process::exit(1);
    }
}
