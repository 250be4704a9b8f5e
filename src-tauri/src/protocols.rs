//! The window's two custom protocols, for bytes that should not travel as JSON:
//!
//! - `fbphoto://localhost/{case id}/{sha256}/{thumb|full}`: a photo from the encrypted photo
//!   store, decrypted in memory and sent with `Cache-Control: no-store`, so the webview keeps
//!   no copy on disk.
//! - `fbtiles://localhost/{z}/{x}/{y}`: a map tile from the offline basemap pack, or from the
//!   council's tile server only when one is configured (`map.tile_url`).
//!
//! (On Windows the webview spells them `http://fbphoto.localhost/…`; `convertFileSrc` in the
//! UI gives the right form.) Each answer is computed off the event loop.

use fieldbook_app::{self as app, AppError, Ctx};
use tauri::http::{Response, StatusCode, header};

pub const PHOTO_SCHEME: &str = "fbphoto";
pub const TILE_SCHEME: &str = "fbtiles";

fn text(status: StatusCode, message: &str) -> Response<Vec<u8>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(header::CACHE_CONTROL, "no-store")
        .body(message.as_bytes().to_vec())
        .unwrap_or_default()
}

/// The path's parts, percent-decoded first (`convertFileSrc` may send a whole path encoded as
/// one segment).
fn segments(path: &str) -> Vec<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The answer to a `fbphoto` request for `path`.
pub fn photo(ctx: &Ctx, path: &str) -> Response<Vec<u8>> {
    let parts = segments(path);
    let [case, sha, variant] = parts.as_slice() else {
        return text(
            StatusCode::NOT_FOUND,
            "ask for /{case}/{sha256}/{thumb|full}",
        );
    };
    if variant != "thumb" && variant != "full" {
        return text(StatusCode::NOT_FOUND, "a photo is thumb or full");
    }
    match app::photo_data(ctx, case, sha, variant) {
        Ok((mime, bytes)) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, mime)
            .header(header::CACHE_CONTROL, "no-store")
            .body(bytes)
            .unwrap_or_default(),
        Err(e @ AppError::Locked) => text(StatusCode::FORBIDDEN, &e.to_string()),
        Err(e) => text(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

/// The answer to a `fbtiles` request for `path`: 204 (no content) where there is no tile, so
/// the map leaves that square empty without an error.
pub fn tile(ctx: &Ctx, path: &str) -> Response<Vec<u8>> {
    let parts = segments(path);
    let numbers = match parts.as_slice() {
        [z, x, y] => (
            z.parse::<u8>(),
            x.parse::<u32>(),
            // A template may end in an extension: `{y}.png`.
            y.split('.').next().unwrap_or_default().parse::<u32>(),
        ),
        _ => return text(StatusCode::NOT_FOUND, "ask for /{z}/{x}/{y}"),
    };
    let (Ok(z), Ok(x), Ok(y)) = numbers else {
        return text(StatusCode::NOT_FOUND, "z, x and y are whole numbers");
    };
    let mut answer = match app::map_tile(ctx, z, x, y) {
        Ok(Some((bytes, mime))) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, mime)
            .header(header::CACHE_CONTROL, "max-age=86400")
            .body(bytes)
            .unwrap_or_default(),
        Ok(None) => Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Vec::new())
            .unwrap_or_default(),
        Err(e) => text(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    // The map reads tiles with fetch() from the app's own origin, another origin than this
    // protocol's, so every answer (an error too) must allow it. Tiles are public; nothing else
    // is served here.
    answer.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    answer
}
