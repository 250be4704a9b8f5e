//! Fieldbook's desktop shell. It owns the window, the capabilities and the CSP, and registers
//! one-line commands over `fieldbook_app`: each takes the device context from Tauri's state,
//! calls the device API and returns its DTO or `AppError` (`{code, message}`). It must not
//! contain business logic: anything a command needs beyond a call belongs in `fieldbook-app`.

use fieldbook_app::{self as app, AppError, Ctx};
use tauri::{Manager, State};

type R<T> = Result<T, AppError>;

/// The commands registered below, as declared to Tauri's ACL in `build.rs`.
pub const COMMANDS: &[&str] = include!("../commands.rs");

#[tauri::command(async)]
fn device(ctx: State<'_, Ctx>) -> R<app::DeviceDto> {
    app::device(&ctx)
}
#[tauri::command(async)]
fn init_device(ctx: State<'_, Ctx>, args: app::InitArgs) -> R<app::DeviceDto> {
    app::init_device(&ctx, args)
}
#[tauri::command(async)]
fn unlock(ctx: State<'_, Ctx>, passphrase: String) -> R<app::DeviceDto> {
    app::unlock(&ctx, &passphrase)
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
fn create_case(ctx: State<'_, Ctx>, args: app::NewCaseArgs) -> R<app::CaseDto> {
    app::create_case(&ctx, args)
}
#[tauri::command(async)]
fn edit_case(ctx: State<'_, Ctx>, args: app::EditCaseArgs) -> R<app::CaseDto> {
    app::edit_case(&ctx, args)
}
#[tauri::command(async)]
fn add_visit(ctx: State<'_, Ctx>, args: app::AddVisitArgs) -> R<app::CaseDto> {
    app::add_visit(&ctx, args)
}
#[tauri::command(async)]
fn answer(ctx: State<'_, Ctx>, args: app::AnswerArgs) -> R<app::CaseDto> {
    app::answer(&ctx, args)
}
#[tauri::command(async)]
fn add_note(ctx: State<'_, Ctx>, args: app::NoteArgs) -> R<app::CaseDto> {
    app::add_note(&ctx, args)
}
#[tauri::command(async)]
fn submit(ctx: State<'_, Ctx>, case: String) -> R<app::CaseDto> {
    app::submit(&ctx, &case)
}
#[tauri::command(async)]
fn transition(ctx: State<'_, Ctx>, args: app::TransitionArgs) -> R<app::CaseDto> {
    app::transition(&ctx, args)
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

/// `base` with the app's commands and device context, on any runtime (the tests pass Tauri's
/// mock builder). The device lives in `data_dir` when given, else in the platform's app data
/// directory.
pub fn configure<Rt: tauri::Runtime>(
    base: tauri::Builder<Rt>,
    data_dir: Option<std::path::PathBuf>,
) -> tauri::Builder<Rt> {
    let base = match data_dir {
        Some(dir) => base.manage(Ctx::new(dir)),
        None => base.setup(|app| {
            let dir = app.path().app_data_dir()?;
            app.manage(Ctx::new(dir));
            Ok(())
        }),
    };
    base.invoke_handler(tauri::generate_handler![
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
        clear_drafts
    ])
}

/// Draw the page without WebKitGTK's accelerated compositing. Fieldbook's pages are forms and
/// tables with no animation to speed up, and compositing costs the web process about 95 MiB
/// (PSS, measured with `cargo bench -p fieldbook-desktop --bench startup`: 334 → 238 MiB for
/// the app with its webview), which the 300 MB memory budget cannot spare on a tablet. It also
/// avoids the blank windows some GPU drivers give WebKitGTK.
fn software_rendering<Rt: tauri::Runtime>(webview: &tauri::Webview<Rt>) {
    #[cfg(target_os = "linux")]
    {
        let done = webview.with_webview(|platform| {
            use webkit2gtk::{HardwareAccelerationPolicy, SettingsExt, WebViewExt};
            if let Some(settings) = platform.inner().settings()
                && settings.hardware_acceleration_policy() != HardwareAccelerationPolicy::Never
            {
                settings.set_hardware_acceleration_policy(HardwareAccelerationPolicy::Never);
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
    let base = tauri::Builder::default().on_page_load(|webview, _| software_rendering(webview));
    if let Err(e) = configure(base, data_dir).run(context) {
        eprintln!("error: Fieldbook could not start: {e}");
        std::process::exit(1);
    }
}
