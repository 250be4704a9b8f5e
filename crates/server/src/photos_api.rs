//! `/photos/v1/blobs/{sha256}`: resumable, content-addressed photo upload (`HEAD` for the
//! offset, `PATCH` for the next chunk, tus-style) and download (`GET`), bearer-authenticated.
//! `docs/photos.md` is the protocol and the authorisation rule.
//!
//! Chunks of an upload in progress live in the database (`uploads`, `upload_chunks`), so an
//! upload survives a restart and any server node takes the next chunk. When the last one
//! arrives the whole blob is read back and hashed: if it matches its name it goes to the object
//! store ([`crate::blobs::Blobs`]) and the chunks are deleted; if not, the upload is discarded.
//! Anyone signed in may upload (a blob is useless unless its bytes match its hash), but a blob
//! is sent only to a device whose user may see a case that references it.

use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::blobs::{BlobError, Blobs, is_sha256_hex};
use crate::http::{ApiError, AppState, Authenticated, MAX_BODY_BYTES, blocking};
use crate::store::{StoreError, Tx, Upload, Viewer};

/// The largest blob accepted (`Upload-Length`).
pub const MAX_BLOB_BYTES: u64 = 40 * 1024 * 1024;
/// The content type of a chunk.
pub const CHUNK_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// An upload untouched since it started this long ago is forgotten when another starts.
pub const UPLOAD_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

pub const UPLOAD_OFFSET: HeaderName = HeaderName::from_static("upload-offset");
pub const UPLOAD_LENGTH: HeaderName = HeaderName::from_static("upload-length");
pub const BLOB_COMPLETE: HeaderName = HeaderName::from_static("x-blob-complete");

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> ApiError {
        ApiError::internal(e)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The hash in the path, if it is one (64 lower-case hex digits).
fn blob_name(sha256: &str) -> Result<&str, ApiError> {
    if is_sha256_hex(sha256) {
        Ok(sha256)
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_hash",
            "a blob is named by its SHA-256: 64 lower-case hex digits",
        ))
    }
}

fn blobs(state: &AppState) -> Result<&Blobs, ApiError> {
    state.blobs.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "photos_unavailable",
            "this server was started without a blob store (--blob-url), so it takes no photos",
        )
    })
}

fn number(value: u64) -> HeaderValue {
    HeaderValue::from(value)
}

/// A `u64` header, required.
fn header_u64(headers: &HeaderMap, name: &HeaderName) -> Result<u64, ApiError> {
    let bad = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload_header",
            format!("send {name} as a whole number of bytes"),
        )
    };
    let text = headers
        .get(name)
        .ok_or_else(bad)?
        .to_str()
        .map_err(|_| bad())?;
    // Digits only: no sign, no spaces, no "1e6".
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

/// A 409 that tells the device where to resume: `{code, message, offset}` and `Upload-Offset`.
fn resume_at(code: &'static str, message: String, offset: u64) -> Response {
    (
        StatusCode::CONFLICT,
        [(UPLOAD_OFFSET, number(offset))],
        Json(json!({ "code": code, "message": message, "offset": offset })),
    )
        .into_response()
}

/// The answer about a blob the server holds whole.
fn complete(status: StatusCode, size: u64) -> Response {
    (
        status,
        [
            (UPLOAD_OFFSET, number(size)),
            (UPLOAD_LENGTH, number(size)),
            (BLOB_COMPLETE, HeaderValue::from_static("true")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
    )
        .into_response()
}

/// `HEAD /photos/v1/blobs/{sha256}`: how much of the blob the server holds.
pub async fn head_blob(
    State(state): State<AppState>,
    _auth: Authenticated,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let sha256 = blob_name(&sha256)?.to_owned();
    let blobs = blobs(&state)?;
    if let Some(size) = blobs.size(&sha256).await? {
        return Ok(complete(StatusCode::OK, size));
    }
    let store = state.accounts.store().clone();
    let upload = blocking(move || store.read_one(|tx| tx.upload(&sha256))).await?;
    Ok(match upload {
        Some(u) => (
            StatusCode::OK,
            [
                (UPLOAD_OFFSET, number(u.received)),
                (UPLOAD_LENGTH, number(u.total)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such blob").into_response(),
    })
}

/// What adding a chunk came to.
enum Appended {
    /// The upload holds this many bytes now.
    Received(u64),
    /// The chunk does not start where the upload stands.
    OffsetMismatch(u64),
    /// Another upload of this blob, with another length, is in progress.
    LengthMismatch,
}

fn append(
    tx: &dyn Tx,
    sha256: &str,
    total: u64,
    offset: u64,
    chunk: &[u8],
    device: uuid::Uuid,
) -> Result<Appended, StoreError> {
    let now = now_ms();
    let received = match tx.upload(sha256)? {
        Some(u) if u.total == total => u.received,
        // A fresh start from 0 replaces an upload of another length (the hash decides which
        // was right); anything else must not be mixed with it.
        Some(_) if offset != 0 => return Ok(Appended::LengthMismatch),
        _ if offset != 0 => return Ok(Appended::OffsetMismatch(0)),
        _ => {
            tx.expire_uploads(now - UPLOAD_EXPIRY.as_millis() as i64)?;
            tx.start_upload(&Upload {
                sha256: sha256.to_owned(),
                total,
                received: 0,
                started_by_device: device,
                started_at: now,
            })?;
            0
        }
    };
    if offset != received {
        return Ok(Appended::OffsetMismatch(received));
    }
    if !chunk.is_empty() {
        tx.append_upload_chunk(sha256, offset, chunk)?;
    }
    Ok(Appended::Received(received + chunk.len() as u64))
}

/// What checking a whole upload came to.
enum Checked {
    /// The bytes hash to the blob's name.
    Whole(Vec<u8>),
    /// They do not; the upload is gone.
    Mismatch,
    /// The upload is gone or not whole (another request finished or discarded it).
    Gone,
}

/// `PATCH /photos/v1/blobs/{sha256}`: the next chunk of an upload.
pub async fn patch_blob(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(sha256): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let sha256 = blob_name(&sha256)?.to_owned();
    let blobs = blobs(&state)?.clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.eq_ignore_ascii_case(CHUNK_CONTENT_TYPE) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send a chunk with Content-Type: {CHUNK_CONTENT_TYPE}"),
        ));
    }
    let total = header_u64(&headers, &UPLOAD_LENGTH)?;
    if total > MAX_BLOB_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "a photo may be at most {} MiB; this one is {total} bytes",
                MAX_BLOB_BYTES / (1024 * 1024)
            ),
        ));
    }
    if total == 0 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload_header",
            "Upload-Length must be at least 1 byte",
        ));
    }
    let offset = header_u64(&headers, &UPLOAD_OFFSET)?;
    let chunk = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("send chunks of at most {MAX_BODY_BYTES} bytes"),
            )
        } else {
            ApiError::new(e.status(), "unreadable_body", e.body_text())
        }
    })?;
    // Already whole: nothing to add (a device resending after a lost answer).
    if let Some(size) = blobs.size(&sha256).await? {
        return Ok(complete(StatusCode::OK, size));
    }
    if offset.saturating_add(chunk.len() as u64) > total {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "chunk_past_end",
            "the chunk runs past Upload-Length",
        ));
    }
    let store = state.accounts.store().clone();
    let device = auth.device.device_id;
    let name = sha256.clone();
    let appended =
        blocking(move || store.transaction(|tx| append(tx, &name, total, offset, &chunk, device)))
            .await?;
    let received = match appended {
        Appended::Received(n) => n,
        Appended::OffsetMismatch(at) => {
            return Ok(resume_at(
                "offset_mismatch",
                format!("the server holds {at} bytes of this blob: send the chunk from there"),
                at,
            ));
        }
        Appended::LengthMismatch => {
            return Ok(resume_at(
                "length_mismatch",
                "an upload of this blob with another Upload-Length is in progress; start again \
                 from offset 0"
                    .into(),
                0,
            ));
        }
    };
    if received < total {
        return Ok((StatusCode::NO_CONTENT, [(UPLOAD_OFFSET, number(received))]).into_response());
    }
    finish(&state, &blobs, sha256, total).await
}

/// The last chunk is in: hash the whole upload; a match goes to the object store.
async fn finish(
    state: &AppState,
    blobs: &Blobs,
    sha256: String,
    total: u64,
) -> Result<Response, ApiError> {
    let store = state.accounts.store().clone();
    let name = sha256.clone();
    let checked = blocking(move || -> Result<Checked, StoreError> {
        let data = store.read(|tx| tx.upload_data(&name))?;
        if data.len() as u64 != total {
            return Ok(Checked::Gone);
        }
        if hex::encode(Sha256::digest(&data)) == name {
            Ok(Checked::Whole(data))
        } else {
            store.transaction(|tx| tx.delete_upload(&name))?;
            Ok(Checked::Mismatch)
        }
    })
    .await?;
    match checked {
        Checked::Whole(data) => {
            blobs.put(&sha256, data).await?;
            let store = state.accounts.store().clone();
            let name = sha256.clone();
            blocking(move || store.transaction(|tx| tx.delete_upload(&name))).await?;
            tracing::info!(sha256, bytes = total, "blob stored");
            Ok((
                StatusCode::NO_CONTENT,
                [
                    (UPLOAD_OFFSET, number(total)),
                    (BLOB_COMPLETE, HeaderValue::from_static("true")),
                ],
            )
                .into_response())
        }
        Checked::Mismatch => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "hash_mismatch",
            "the bytes received do not hash to the blob's name; the upload was discarded: \
             send it again from offset 0",
        )),
        Checked::Gone => match blobs.size(&sha256).await? {
            Some(size) => Ok(complete(StatusCode::OK, size)),
            None => Ok(resume_at(
                "offset_mismatch",
                "the upload was discarded meanwhile: send it again from offset 0".into(),
                0,
            )),
        },
    }
}

/// `GET /photos/v1/blobs/{sha256}`: the blob, to a device whose user may see a case that
/// references it; 404 otherwise, the same as for a blob the server lacks, so a device cannot
/// learn which photos others hold.
pub async fn get_blob(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(sha256): Path<String>,
) -> Result<Response, ApiError> {
    let sha256 = blob_name(&sha256)?.to_owned();
    let blobs = blobs(&state)?;
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such photo");
    let store = state.accounts.store().clone();
    let viewer = Viewer::of(&auth.user);
    let name = sha256.clone();
    let visible = blocking(move || store.read_one(|tx| tx.photo_visible(&viewer, &name))).await?;
    if !visible {
        return Err(not_found());
    }
    let Some(found) = blobs.get(&sha256).await? else {
        return Err(not_found());
    };
    let size = found.meta.size;
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg")),
            (header::CONTENT_LENGTH, number(size)),
            // Content-addressed: the bytes behind a name never change.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=31536000, immutable"),
            ),
        ],
        Body::from_stream(found.into_stream()),
    )
        .into_response())
}
