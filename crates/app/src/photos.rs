//! Photos and places on the device: attaching a photo to a case (checked and re-encoded by
//! `fieldbook-media`, bytes into the encrypted photo store, the reference into the case
//! document), captions and visit links, reading a photo's bytes back; the gazetteer and ward
//! boundaries an administrator loads; the settings that steer them; and the British National
//! Grid and ward shown beside every location.

use fieldbook_core::geo::{Bng, GazetteerEntry, LatLon, far_from_property, read_gazetteer};
use fieldbook_core::{Location, LocationSource, PhotoEdit, PhotoRef, Timestamp, VisitId};
use fieldbook_store::Store;
use fieldbook_store::media::{BlobIn, PhotoIn, Variant};

use crate::dto::{
    AddPhotoArgs, BngDto, EditPhotoArgs, GazetteerLoadDto, LocationDto, PhotoAddedDto, PhotoDto,
    PlaceDto, WardDto,
};
use crate::{AppError, AppResult, Ctx, parse};

/// The device settings a person or administrator may change, with what each takes.
pub const SETTINGS: &[(&str, &str)] = &[
    (
        KEEP_ORIGINALS,
        "yes or no: keep each photo's original file (with its EXIF) beside the display version",
    ),
    (
        MAX_VISIT_DISTANCE,
        "metres: flag a visit recorded further than this from its case's location",
    ),
    (
        TILE_URL,
        "the council's map tile server, https://…/{z}/{x}/{y}.png: tiles the basemap pack \
         lacks come from it (none is asked while this is empty)",
    ),
];
pub(crate) const TILE_URL: &str = "map.tile_url";
const KEEP_ORIGINALS: &str = "photos.keep_original";
const MAX_VISIT_DISTANCE: &str = "visits.max_distance_m";
/// A visit recorded further than this from its property is flagged, unless set otherwise.
pub const DEFAULT_MAX_VISIT_DISTANCE_M: f64 = 250.0;

fn setting_bool(s: &Store, key: &str) -> AppResult<bool> {
    Ok(s.setting(key)?.is_some_and(|v| v == "yes"))
}

pub(crate) fn max_visit_distance(s: &Store) -> AppResult<f64> {
    Ok(s.setting(MAX_VISIT_DISTANCE)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_MAX_VISIT_DISTANCE_M))
}

/// Set one of [`SETTINGS`]; an empty value returns it to its default.
pub fn set_setting(ctx: &Ctx, key: &str, value: &str) -> AppResult<()> {
    let value = value.trim();
    let stored = match key {
        _ if value.is_empty() => None,
        KEEP_ORIGINALS => match value.to_ascii_lowercase().as_str() {
            "yes" | "true" | "on" => Some("yes".to_string()),
            "no" | "false" | "off" => Some("no".to_string()),
            _ => return Err(AppError::input("value", "answer yes or no")),
        },
        MAX_VISIT_DISTANCE => match value.parse::<f64>() {
            Ok(m) if m.is_finite() && (1.0..=100_000.0).contains(&m) => Some(m.to_string()),
            _ => {
                return Err(AppError::input(
                    "value",
                    "give a distance in metres from 1 to 100000",
                ));
            }
        },
        TILE_URL => {
            if !["{z}", "{x}", "{y}"].iter().all(|p| value.contains(p)) {
                return Err(AppError::input(
                    "value",
                    "a tile server address needs {z}, {x} and {y}, e.g. \
                     https://tiles.anytown.gov.uk/{z}/{x}/{y}.png",
                ));
            }
            fieldbook_client::tile_url(value, 0, 0, 0)
                .map_err(|e| AppError::input("value", e.to_string()))?;
            Some(value.to_string())
        }
        _ => {
            let known: Vec<&str> = SETTINGS.iter().map(|(k, _)| *k).collect();
            return Err(AppError::input(
                "key",
                format!("'{key}' is not a setting (there are: {})", known.join(", ")),
            ));
        }
    };
    ctx.with_store(|s| Ok(s.set_setting(key, stored.as_deref())?))
}

/// Every setting with its value now (the default where none was set).
pub fn settings(ctx: &Ctx) -> AppResult<Vec<(String, String)>> {
    ctx.with_store(|s| {
        Ok(vec![
            (
                KEEP_ORIGINALS.to_string(),
                if setting_bool(s, KEEP_ORIGINALS)? {
                    "yes"
                } else {
                    "no"
                }
                .to_string(),
            ),
            (
                MAX_VISIT_DISTANCE.to_string(),
                max_visit_distance(s)?.to_string(),
            ),
            (
                TILE_URL.to_string(),
                s.setting(TILE_URL)?.unwrap_or_default(),
            ),
        ])
    })
}

// ---------------------------------------------------------------- photos

/// Attach a photo file to a case: check and re-encode it (upright, no metadata, display
/// version and thumbnail), keep its bytes in the encrypted photo store, and record its
/// reference, with the EXIF time and position, in the case. The file is checked before
/// anything is stored: a refused file leaves no trace. Attaching a photo the case already has
/// changes nothing.
pub fn add_photo(ctx: &Ctx, args: AddPhotoArgs, bytes: &[u8]) -> AppResult<PhotoAddedDto> {
    let visit = args
        .visit
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .map(parse::<VisitId>)
        .transpose()?;
    // The same file attached to this case before: nothing to decode or change.
    let source = fieldbook_store::media::sha256_hex(bytes);
    let (keep_original, known) = ctx.with_store(|s| {
        let case = s.load_case(s.find_case(&args.case)?)?;
        if let Some(v) = visit {
            case.visit(v)?;
        }
        let known = s
            .photo_for_source(&source)?
            .and_then(|sha| case.photos.get(&sha).map(|p| photo_dto(s, p)))
            .transpose()?;
        Ok((setting_bool(s, KEEP_ORIGINALS)?, known))
    })?;
    if let Some(photo) = known {
        return Ok(PhotoAddedDto {
            photo,
            added: false,
        });
    }
    // The expensive part (decoding, resizing, encoding) runs without holding the store.
    let settings = fieldbook_media::Settings {
        keep_original,
        ..fieldbook_media::Settings::default()
    };
    let photo = fieldbook_media::ingest(bytes, args.file_name.as_deref(), &settings)?;
    let now = ctx.now();
    let location = photo.location.and_then(|l| {
        Location::new(
            l.latitude,
            l.longitude,
            l.accuracy_m,
            LocationSource::PhotoExif,
            photo.taken_at.map_or(now, |t| Timestamp(t.unix_ms)),
        )
        .ok()
    });
    ctx.with_store(|s| {
        let case = s.find_case(&args.case)?;
        fn blob(r: &fieldbook_media::Rendition) -> BlobIn<'_> {
            BlobIn {
                mime: fieldbook_media::Rendition::MIME,
                width: r.width,
                height: r.height,
                data: &r.bytes,
            }
        }
        let original = photo.original.as_deref().map(|data| BlobIn {
            mime: photo.source_mime,
            width: photo.width,
            height: photo.height,
            data,
        });
        let stored = s.put_photo(&PhotoIn {
            source_sha256: Some(&photo.source_sha256),
            full: blob(&photo.display),
            thumb: blob(&photo.thumbnail),
            original,
        })?;
        let reference = PhotoRef {
            sha256: stored.sha256.clone(),
            bytes: photo.display.bytes.len() as u64,
            mime: fieldbook_media::Rendition::MIME.to_string(),
            width: photo.display.width,
            height: photo.display.height,
            taken_at: photo.taken_at.map(|t| Timestamp(t.unix_ms)),
            location,
            caption: args.caption.clone().unwrap_or_default(),
            visit,
            thumb_sha256: Some(stored.thumb_sha256.clone()),
        };
        let mut added = false;
        let saved = s.change_case(case, now, |c, a| {
            added = c.add_photo(reference, a)?;
            Ok(if added {
                "Added a photo".to_string()
            } else {
                String::new()
            })
        })?;
        let photo = saved
            .photos
            .get(&stored.sha256)
            .ok_or_else(|| AppError::input("photo", "the photo was not attached"))?;
        Ok(PhotoAddedDto {
            photo: photo_dto(s, photo)?,
            added,
        })
    })
}

/// Change a photo's caption, or the visit it belongs to (`visit: ""` unlinks it).
pub fn edit_photo(ctx: &Ctx, args: EditPhotoArgs) -> AppResult<PhotoDto> {
    let visit = match args.visit.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(v) => Some(Some(parse::<VisitId>(v)?)),
    };
    let edit = PhotoEdit {
        caption: args.caption,
        visit,
    };
    let now = ctx.now();
    ctx.with_store(|s| {
        let case = s.find_case(&args.case)?;
        let sha = photo_name(&args.photo);
        let saved = s.change_case(case, now, |c, a| {
            c.edit_photo(&sha, edit, a)?;
            Ok("Changed a photo's details".to_string())
        })?;
        let photo = saved.photos.get(&sha).ok_or_else(|| unknown_photo(&sha))?;
        photo_dto(s, photo)
    })
}

/// The photos of a case, oldest first (by the time taken, then by name).
pub fn photos(ctx: &Ctx, case: &str) -> AppResult<Vec<PhotoDto>> {
    ctx.with_store(|s| {
        let c = s.load_case(s.find_case(case)?)?;
        photo_dtos(s, &c)
    })
}

/// The bytes of one version of a photo of a case, with their MIME type: `full` (the display
/// version), `thumb`, or `original` where the council keeps originals.
pub fn photo_data(
    ctx: &Ctx,
    case: &str,
    photo: &str,
    variant: &str,
) -> AppResult<(String, Vec<u8>)> {
    let variant = Variant::from_code(variant)
        .ok_or_else(|| AppError::input("variant", "choose full, thumb or original"))?;
    ctx.with_store(|s| {
        let c = s.load_case(s.find_case(case)?)?;
        let sha = photo_name(photo);
        if !c.photos.contains_key(&sha) {
            return Err(unknown_photo(&sha));
        }
        let blob = s.photo_blob(&sha, variant)?.ok_or_else(|| {
            AppError::input(
                "photo",
                match variant {
                    Variant::Original => "this device does not keep the original of that photo",
                    _ => "this photo has not reached this device yet: sync, then try again",
                },
            )
        })?;
        Ok((blob.mime, blob.data))
    })
}

fn photo_name(input: &str) -> String {
    input.trim().to_ascii_lowercase()
}

fn unknown_photo(sha: &str) -> AppError {
    AppError::from(fieldbook_core::DomainError::UnknownPhoto {
        photo: sha.chars().take(80).collect(),
    })
}

pub(crate) fn photo_dtos(s: &Store, c: &fieldbook_core::Case) -> AppResult<Vec<PhotoDto>> {
    let mut ordered: Vec<&PhotoRef> = c.photos.values().collect();
    ordered.sort_by(|a, b| (a.taken_at, &a.sha256).cmp(&(b.taken_at, &b.sha256)));
    ordered.into_iter().map(|p| photo_dto(s, p)).collect()
}

fn photo_dto(s: &Store, p: &PhotoRef) -> AppResult<PhotoDto> {
    Ok(PhotoDto {
        sha256: p.sha256.clone(),
        bytes: p.bytes,
        mime: p.mime.clone(),
        width: p.width,
        height: p.height,
        caption: p.caption.clone(),
        visit_id: p.visit.map(|v| v.to_string()),
        taken_at: p.taken_at.map(|t| t.to_rfc3339()),
        location: p
            .location
            .as_ref()
            .map(|l| location_dto(s, l))
            .transpose()?,
        held: s
            .photo_variants(&p.sha256)?
            .into_iter()
            .map(|v| v.code().to_string())
            .collect(),
    })
}

// ---------------------------------------------------------------- places

fn bng_dto(b: Bng) -> BngDto {
    BngDto {
        easting: b.easting,
        northing: b.northing,
        grid_ref: b.grid_ref(),
    }
}

/// A location as front ends show it: the WGS84 point with its British National Grid
/// coordinates (none outside the grid) and its ward (none when no boundaries are loaded).
pub(crate) fn location_dto(s: &Store, l: &Location) -> AppResult<LocationDto> {
    let point = LatLon::try_from(l).ok();
    Ok(LocationDto {
        lat: l.lat,
        lon: l.lon,
        accuracy_m: l.accuracy_m,
        source: l.source.code().into(),
        at: l.at.to_rfc3339(),
        bng: point.and_then(|p| Bng::from_wgs84(p).ok()).map(bng_dto),
        ward: match point {
            Some(p) => s.ward_at(p)?.map(|w| WardDto {
                code: w.code,
                name: w.name,
            }),
            None => None,
        },
    })
}

/// Metres between a visit's location and its case's, when more than the device's limit.
pub(crate) fn far_from_case(
    limit_m: f64,
    visit: Option<&Location>,
    case: Option<&Location>,
) -> Option<f64> {
    let visit = LatLon::try_from(visit?).ok()?;
    let case = LatLon::try_from(case?).ok()?;
    far_from_property(visit, case, limit_m)
}

/// Replace the device's gazetteer with a CSV in OS Open UPRN form (UPRN, X_COORDINATE,
/// Y_COORDINATE, LATITUDE, LONGITUDE, and optionally ADDRESS and POSTCODE). Bad rows are
/// counted and reported, not loaded; a file whose header is wrong loads nothing.
pub fn load_gazetteer(ctx: &Ctx, csv: impl std::io::Read) -> AppResult<GazetteerLoadDto> {
    let rows = read_gazetteer(csv)?;
    ctx.with_store(|s| {
        let load = s.load_gazetteer(rows)?;
        Ok(GazetteerLoadDto {
            loaded: load.loaded,
            refused: load.refused,
            first_refusals: load
                .first_refusals
                .into_iter()
                .map(|(line, why)| format!("line {line}: {why}"))
                .collect(),
        })
    })
}

/// Replace the device's ward boundaries with a GeoJSON file's (checked whole first). Returns
/// how many wards it holds.
pub fn load_wards(ctx: &Ctx, geojson: &str) -> AppResult<usize> {
    let now = ctx.now();
    ctx.with_store(|s| Ok(s.load_wards(geojson, now)?))
}

/// Find a property in the gazetteer by UPRN (digits) or postcode.
pub fn find_place(ctx: &Ctx, query: &str) -> AppResult<Vec<PlaceDto>> {
    enum Query {
        Uprn(u64),
        Postcode(String),
    }
    // What was typed is checked first: a person hears about a mistyped postcode before
    // being told there is nothing to look it up in.
    let query = query.trim();
    let parsed = if !query.is_empty() && query.bytes().all(|b| b.is_ascii_digit()) {
        Query::Uprn(
            fieldbook_core::case::parse_uprn(query)?
                .ok_or_else(|| AppError::input("query", "enter a UPRN or a postcode"))?,
        )
    } else {
        let postcode = fieldbook_core::case::normalise_postcode(query)?;
        if postcode.is_empty() {
            return Err(AppError::input("query", "enter a UPRN or a postcode"));
        }
        Query::Postcode(postcode)
    };
    ctx.with_store(|s| {
        if s.gazetteer_count()? == 0 {
            return Err(AppError::NoGazetteer);
        }
        let entries = match &parsed {
            Query::Uprn(uprn) => s.gazetteer_uprn(*uprn)?.into_iter().collect(),
            Query::Postcode(postcode) => s.gazetteer_postcode(postcode)?,
        };
        entries.into_iter().map(|e| place_dto(s, e)).collect()
    })
}

fn place_dto(s: &Store, e: GazetteerEntry) -> AppResult<PlaceDto> {
    let ward = match LatLon::new(e.lat, e.lon) {
        Ok(p) => s.ward_at(p)?.map(|w| WardDto {
            code: w.code,
            name: w.name,
        }),
        Err(_) => None,
    };
    Ok(PlaceDto {
        uprn: e.uprn,
        address: e.address,
        postcode: e.postcode,
        lat: e.lat,
        lon: e.lon,
        bng: BngDto {
            easting: e.easting,
            northing: e.northing,
            grid_ref: Bng {
                easting: e.easting,
                northing: e.northing,
            }
            .grid_ref(),
        },
        ward,
    })
}
