//! Photo bytes between a device and the server (`docs/photos.md`): this device's photos go up
//! in chunks that resume where the server says it stopped, and the thumbnails of photos on
//! cases this device holds come down, each checked against its hash. Full images come down one
//! at a time when a person opens them ([`fetch_photo`]). Run after a case sync, so the server
//! already knows the references that let other devices fetch the bytes.

use std::time::Duration;

use fieldbook_store::Store;
use fieldbook_store::media::{BlobIn, Variant};

use crate::{ClientError, Result, failure, signed_in};

/// Bytes per PATCH: under the server's 1 MiB body limit, small enough to resume cheaply on a
/// poor connection.
pub const CHUNK: usize = 512 * 1024;
/// How long one chunk or one download may take.
const TIMEOUT: Duration = Duration::from_secs(120);

/// What a photo transfer did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PhotoReport {
    /// Blobs (display versions, thumbnails, originals) the server now holds from this device.
    pub uploaded: usize,
    /// Bytes sent in this transfer (a resumed upload counts only what it sent now).
    pub bytes_sent: u64,
    /// Thumbnails fetched for photos taken on other devices.
    pub thumbnails: usize,
    /// Thumbnails the server does not have yet (their device has not uploaded them).
    pub waiting: usize,
}

/// Progress through a transfer: blobs done of all, and bytes of the blob under way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoProgress {
    pub done: usize,
    pub total: usize,
    pub blob_sent: u64,
    pub blob_size: u64,
}

fn http() -> Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| ClientError::Unreachable(e.to_string()))
}

fn header_u64(res: &reqwest::blocking::Response, name: &str) -> Option<u64> {
    res.headers().get(name)?.to_str().ok()?.parse().ok()
}

fn unreachable(e: reqwest::Error) -> ClientError {
    ClientError::Unreachable(e.to_string())
}

/// Where the server's copy of a blob stands: `None` when it holds all of it, else the offset
/// to send from.
fn offset_on_server(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    size: u64,
) -> Result<Option<u64>> {
    let res = client
        .head(url)
        .bearer_auth(token)
        .send()
        .map_err(unreachable)?;
    match res.status().as_u16() {
        404 => Ok(Some(0)),
        200 if res.headers().contains_key("x-blob-complete") => Ok(None),
        200 => {
            let offset = header_u64(&res, "upload-offset").unwrap_or(0);
            let length = header_u64(&res, "upload-length").unwrap_or(size);
            // Another length in progress, or nonsense: start again (the server replaces it).
            Ok(Some(if length == size && offset <= size {
                offset
            } else {
                0
            }))
        }
        _ => Err(failure(res)),
    }
}

/// Send one blob from wherever the server's copy stopped; returns the bytes sent.
fn upload_blob(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    data: &[u8],
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let size = data.len() as u64;
    let Some(mut offset) = offset_on_server(client, url, token, size)? else {
        return Ok(0);
    };
    let mut sent = 0;
    // Bounded: every round either moves forward or takes the server's word for the offset.
    for _ in 0..(data.len() / CHUNK + 8) {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let end = (start + CHUNK).min(data.len());
        let res = client
            .patch(url)
            .bearer_auth(token)
            .header("upload-offset", offset)
            .header("upload-length", size)
            .header("content-type", "application/offset+octet-stream")
            .body(data[start..end].to_vec())
            .send()
            .map_err(unreachable)?;
        let status = res.status().as_u16();
        if status == 409 {
            // The server holds a different amount (an answer lost, another device): resume
            // from what it says.
            offset = header_u64(&res, "upload-offset").unwrap_or(0);
            continue;
        }
        if !res.status().is_success() {
            return Err(failure(res));
        }
        if status == 200 || res.headers().contains_key("x-blob-complete") {
            return Ok(sent + (end - start) as u64);
        }
        sent += (end - start) as u64;
        offset = header_u64(&res, "upload-offset").unwrap_or(end as u64);
        progress(offset);
    }
    Err(ClientError::Refused {
        code: "upload_stalled".into(),
        message: "the server did not take the photo; it is sent again next time".into(),
    })
}

/// Send this device's photos the server lacks (thumbnails first), then fetch the thumbnails of
/// photos on this device's cases that it lacks. The store is lent one step at a time and never
/// across a request, as in [`crate::sync_with`]. A cut connection stops the transfer with
/// `server_unreachable`; the next one resumes each blob where the server's copy stopped.
pub fn transfer_photos_with<F>(
    mut with_store: F,
    progress: &mut dyn FnMut(PhotoProgress),
) -> Result<PhotoReport>
where
    F: FnMut(&mut dyn FnMut(&mut Store) -> Result<()>) -> Result<()>,
{
    let link = signed_in(&mut with_store)?;
    let mut pending = Vec::new();
    let mut wanted = Vec::new();
    with_store(&mut |s| {
        pending = s.photo_blobs_to_upload()?;
        wanted = s.thumbnails_to_fetch()?;
        Ok(())
    })?;
    let client = http()?;
    let total = pending.len() + wanted.len();
    let mut report = PhotoReport::default();
    for (i, (photo, variant, sha256)) in pending.into_iter().enumerate() {
        let mut data = None;
        with_store(&mut |s| {
            data = s.photo_blob(&photo, variant)?.map(|b| b.data);
            Ok(())
        })?;
        let Some(data) = data else { continue };
        let url = format!("{}/photos/v1/blobs/{sha256}", link.url);
        let size = data.len() as u64;
        report.bytes_sent += upload_blob(&client, &url, &link.token, &data, &mut |sent| {
            progress(PhotoProgress {
                done: i,
                total,
                blob_sent: sent,
                blob_size: size,
            })
        })?;
        with_store(&mut |s| Ok(s.mark_uploaded(&sha256)?))?;
        report.uploaded += 1;
        progress(PhotoProgress {
            done: i + 1,
            total,
            blob_sent: size,
            blob_size: size,
        });
    }
    let done = report.uploaded;
    for (i, (photo, thumb)) in wanted.into_iter().enumerate() {
        if fetch(
            &client,
            &link,
            &mut with_store,
            &photo,
            Variant::Thumb,
            &thumb,
        )? {
            report.thumbnails += 1;
        } else {
            report.waiting += 1;
        }
        progress(PhotoProgress {
            done: done + i + 1,
            total,
            ..PhotoProgress::default()
        });
    }
    Ok(report)
}

/// [`transfer_photos_with`] over a store this caller holds throughout.
pub fn transfer_photos(store: &mut Store) -> Result<PhotoReport> {
    transfer_photos_with(|f| f(store), &mut |_| {})
}

/// Fetch one version of a photo from the server and keep it if it hashes right; false when the
/// server does not have it (yet).
fn fetch<F>(
    client: &reqwest::blocking::Client,
    link: &fieldbook_store::ServerLink,
    with_store: &mut F,
    photo: &str,
    variant: Variant,
    sha256: &str,
) -> Result<bool>
where
    F: FnMut(&mut dyn FnMut(&mut Store) -> Result<()>) -> Result<()>,
{
    let res = client
        .get(format!("{}/photos/v1/blobs/{sha256}", link.url))
        .bearer_auth(&link.token)
        .send()
        .map_err(unreachable)?;
    if res.status().as_u16() == 404 {
        return Ok(false);
    }
    if !res.status().is_success() {
        return Err(failure(res));
    }
    let data = res.bytes().map_err(unreachable)?;
    let (width, height) = jpeg_size(&data).unwrap_or((0, 0));
    let mut kept = false;
    with_store(&mut |s| {
        kept = s.put_photo_blob(
            photo,
            variant,
            sha256,
            &BlobIn {
                mime: "image/jpeg",
                width,
                height,
                data: &data,
            },
        )?;
        if kept {
            s.mark_uploaded(sha256)?;
        }
        Ok(())
    })?;
    if !kept {
        return Err(ClientError::Refused {
            code: "hash_mismatch".into(),
            message: "the server sent a photo that does not match its name; it was not kept".into(),
        });
    }
    Ok(true)
}

/// Fetch a photo's full version from the server when a person opens it on a device that holds
/// only its thumbnail (the store lent one step at a time, never across the request). False
/// when the server does not have it yet.
pub fn fetch_photo_with<F>(mut with_store: F, photo: &str) -> Result<bool>
where
    F: FnMut(&mut dyn FnMut(&mut Store) -> Result<()>) -> Result<()>,
{
    let link = signed_in(&mut with_store)?;
    let client = http()?;
    fetch(&client, &link, &mut with_store, photo, Variant::Full, photo)
}

/// A JPEG's width and height from its start-of-frame marker (the server sends only JPEGs).
fn jpeg_size(data: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 9 < data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        if matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF) {
            let h = u16::from_be_bytes([data[i + 5], data[i + 6]]);
            let w = u16::from_be_bytes([data[i + 7], data[i + 8]]);
            return Some((u32::from(w), u32::from(h)));
        }
        i += 2 + len;
    }
    None
}

/// The largest map tile fetched from a tile server.
const MAX_TILE: u64 = 2 * 1024 * 1024;

/// The address of one tile: `template` with `{z}`, `{x}` and `{y}` filled in, checked as every
/// server address is (https, or http only to loopback).
pub fn tile_url(template: &str, z: u8, x: u32, y: u32) -> Result<String> {
    crate::checked_url(
        &template
            .replace("{z}", &z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{y}", &y.to_string()),
    )
}

/// One HTTP client for every tile, so a map full of tiles reuses its connections.
fn tile_client() -> Result<reqwest::blocking::Client> {
    static CLIENT: std::sync::OnceLock<reqwest::blocking::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = http()?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// One map tile from the council's tile server: `template` is an https URL (http only to
/// loopback) with `{z}`, `{x}` and `{y}`. `None` when the server has no such tile (404).
pub fn fetch_tile(template: &str, z: u8, x: u32, y: u32) -> Result<Option<(Vec<u8>, String)>> {
    let url = tile_url(template, z, x, y)?;
    let res = tile_client()?.get(&url).send().map_err(unreachable)?;
    if res.status() == reqwest::StatusCode::NOT_FOUND {
        return Ok(None);
    }
    if !res.status().is_success() {
        return Err(ClientError::Refused {
            code: "tile_unavailable".into(),
            message: format!("the tile server answered {}", res.status()),
        });
    }
    let mime = res
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("image/png")
        .to_string();
    if !mime.starts_with("image/") {
        return Err(ClientError::Refused {
            code: "tile_unavailable".into(),
            message: format!("the tile server sent {mime}, not an image"),
        });
    }
    let mut body = Vec::new();
    use std::io::Read;
    res.take(MAX_TILE + 1)
        .read_to_end(&mut body)
        .map_err(|e| ClientError::Unreachable(e.to_string()))?;
    if body.len() as u64 > MAX_TILE {
        return Err(ClientError::Refused {
            code: "tile_unavailable".into(),
            message: "the tile server sent a tile over 2 MB".into(),
        });
    }
    Ok(Some((body, mime)))
}
