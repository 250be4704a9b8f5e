//! `fieldbook photo …`, `fieldbook place …` and `fieldbook setting …`: photos on a case, the
//! gazetteer and ward boundaries an administrator loads, and the device's settings.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use fieldbook_app::{self as app, AppError, Ctx};

use crate::{out, print};

#[derive(Subcommand, Debug)]
pub enum PhotoCommand {
    /// Attach a JPEG or PNG to a case: made upright, resized (long edge 2048 px) with a
    /// thumbnail, stored encrypted; its EXIF time and GPS position are kept with it.
    Add {
        reference: String,
        file: PathBuf,
        /// The visit it belongs to: its id, its number on the case (1, 2, ...) or "latest".
        #[arg(long)]
        visit: Option<String>,
        #[arg(long)]
        caption: Option<String>,
    },
    /// List a case's photos.
    List { reference: String },
    /// Send this device's photos to the server (resuming any cut short) and fetch the
    /// thumbnails of photos on its cases; run after `fieldbook sync`.
    Sync,
    /// Fetch a photo's full version from the server (a photo another device took).
    Fetch { reference: String, hash: String },
    /// Write one of a case's photos to a file (the display version, or --thumb / --original).
    Export {
        reference: String,
        /// The photo's SHA-256, as `photo list` shows it.
        hash: String,
        file: PathBuf,
        #[arg(long, conflicts_with = "original")]
        thumb: bool,
        #[arg(long)]
        original: bool,
    },
    /// Change a photo's caption or visit (--visit "" unlinks it from its visit).
    Edit {
        reference: String,
        hash: String,
        #[arg(long)]
        caption: Option<String>,
        #[arg(long)]
        visit: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PlaceCommand {
    /// Find a property by UPRN or postcode in the gazetteer, offline.
    Find { query: String },
    /// Replace the gazetteer with a CSV in OS Open UPRN form (UPRN, X_COORDINATE,
    /// Y_COORDINATE, LATITUDE, LONGITUDE; optional ADDRESS, POSTCODE).
    LoadGazetteer { file: PathBuf },
    /// Replace the ward boundaries with an ONS-style GeoJSON file (WGS84 or EPSG:27700).
    LoadWards { file: PathBuf },
    /// Make an MBTiles file of raster tiles (png, jpg or webp) the offline basemap.
    LoadBasemap { file: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum SettingCommand {
    /// Show every setting and its value.
    List,
    /// Set a setting ("" returns it to its default).
    Set { key: String, value: String },
}

fn read_file(path: &Path) -> Result<Vec<u8>, AppError> {
    std::fs::read(path).map_err(|e| AppError::InvalidInput {
        field: "file".into(),
        message: format!("cannot read {}: {e}", path.display()),
    })
}

pub fn photo(ctx: &Ctx, cmd: PhotoCommand, json: bool) -> Result<(), AppError> {
    match cmd {
        PhotoCommand::Add {
            reference,
            file,
            visit,
            caption,
        } => {
            let bytes = read_file(&file)?;
            let visit = visit
                .map(|v| crate::resolve_visit(ctx, &reference, &v))
                .transpose()?;
            let added = app::add_photo(
                ctx,
                app::AddPhotoArgs {
                    case: reference.clone(),
                    file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
                    visit,
                    caption,
                },
                &bytes,
            )?;
            out(json, &added, |a| {
                let verb = if a.added {
                    "Added"
                } else {
                    "Already attached:"
                };
                format!(
                    "{verb} photo to {reference}\n{}",
                    print::photos(&vec![a.photo.clone()])
                )
            });
        }
        PhotoCommand::List { reference } => {
            out(json, &app::photos(ctx, &reference)?, print::photos);
        }
        PhotoCommand::Sync => {
            let r = app::sync_photos(ctx)?;
            out(json, &r, |r| {
                format!(
                    "Photos: sent {} ({} KB), fetched {} thumbnails{}",
                    r.uploaded,
                    r.bytes_sent.div_ceil(1024),
                    r.thumbnails,
                    if r.waiting > 0 {
                        format!("; {} not on the server yet", r.waiting)
                    } else {
                        String::new()
                    }
                )
            });
        }
        PhotoCommand::Fetch { reference, hash } => {
            let fetched = app::fetch_photo(ctx, &reference, &hash)?;
            out(json, &serde_json::json!({ "fetched": fetched }), |_| {
                if fetched {
                    "The photo is on this device".to_string()
                } else {
                    "The server does not have this photo yet: try again after its device syncs"
                        .to_string()
                }
            });
        }
        PhotoCommand::Export {
            reference,
            hash,
            file,
            thumb,
            original,
        } => {
            let variant = match (thumb, original) {
                (true, _) => "thumb",
                (_, true) => "original",
                _ => "full",
            };
            let (mime, bytes) = app::photo_data(ctx, &reference, &hash, variant)?;
            std::fs::write(&file, &bytes).map_err(|e| AppError::InvalidInput {
                field: "file".into(),
                message: format!("cannot write {}: {e}", file.display()),
            })?;
            let summary = serde_json::json!({
                "file": file.display().to_string(),
                "mime": mime,
                "bytes": bytes.len(),
            });
            out(json, &summary, |_| {
                format!("Wrote {} ({mime}, {} bytes)", file.display(), bytes.len())
            });
        }
        PhotoCommand::Edit {
            reference,
            hash,
            caption,
            visit,
        } => {
            let visit = match visit {
                Some(v) if !v.trim().is_empty() => Some(crate::resolve_visit(ctx, &reference, &v)?),
                other => other,
            };
            let p = app::edit_photo(
                ctx,
                app::EditPhotoArgs {
                    case: reference,
                    photo: hash,
                    caption,
                    visit,
                },
            )?;
            out(json, &p, |p| print::photos(&vec![p.clone()]));
        }
    }
    Ok(())
}

pub fn place(ctx: &Ctx, cmd: PlaceCommand, json: bool) -> Result<(), AppError> {
    match cmd {
        PlaceCommand::Find { query } => {
            out(json, &app::find_place(ctx, &query)?, print::places);
        }
        PlaceCommand::LoadGazetteer { file } => {
            let reader = std::fs::File::open(&file).map_err(|e| AppError::InvalidInput {
                field: "file".into(),
                message: format!("cannot read {}: {e}", file.display()),
            })?;
            let load = app::load_gazetteer(ctx, std::io::BufReader::new(reader))?;
            out(json, &load, |l| {
                let mut s = format!(
                    "Loaded {} places into the gazetteer; refused {} rows",
                    l.loaded, l.refused
                );
                for r in &l.first_refusals {
                    s.push_str(&format!("\n  {r}"));
                }
                s
            });
        }
        PlaceCommand::LoadWards { file } => {
            let text =
                String::from_utf8(read_file(&file)?).map_err(|_| AppError::InvalidInput {
                    field: "file".into(),
                    message: format!("{} is not a text (GeoJSON) file", file.display()),
                })?;
            let wards = app::load_wards(ctx, &text)?;
            out(json, &serde_json::json!({ "wards": wards }), |_| {
                format!("Loaded the boundaries of {wards} wards")
            });
        }
        PlaceCommand::LoadBasemap { file } => {
            let pack = app::load_basemap(ctx, &file)?;
            out(json, &pack, |p| {
                format!(
                    "Loaded the basemap \"{}\" ({} tiles, zoom {} to {})",
                    p.name, p.format, p.min_zoom, p.max_zoom
                )
            });
        }
    }
    Ok(())
}

pub fn setting(ctx: &Ctx, cmd: SettingCommand, json: bool) -> Result<(), AppError> {
    if let SettingCommand::Set { key, value } = &cmd {
        app::set_setting(ctx, key, value)?;
    }
    let all: serde_json::Map<String, serde_json::Value> = app::settings(ctx)?
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect();
    out(json, &all, |all| {
        app::SETTINGS
            .iter()
            .map(|(k, what)| {
                let v = all.get(*k).and_then(|v| v.as_str()).unwrap_or("");
                format!("{k} = {v}\n    {what}")
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}
