//! Photo bytes on the device. They live in `media.db`, a second SQLCipher file beside the case
//! database, under the same key, attached to the device's connection as the schema `media`, so
//! they are encrypted at rest exactly as the cases are and need no key of their own. Keeping them
//! out of `fieldbook.db` keeps the case database small (its pages, checkpoints and integrity
//! checks do not carry megabytes of JPEG).
//!
//! Content-addressed: a photo is named by the SHA-256 of its full version (the display version,
//! or the original when the council keeps originals), which is also its key in the case
//! document. Each photo has a `full` and a `thumb` blob (and an `original` where the council
//! keeps originals), each stored with its own SHA-256, which
//! this module computes itself rather than trusting a caller. The same photo added twice, to one
//! case or to many, is stored once; `sources` remembers which input file made which photo, so
//! adding the same file again is found without decoding it.
//!
//! A blob may be present without any case referring to it (added, then the reference refused or
//! removed); never the other way round on the device that took the photo. A device that received
//! a case by sync holds its references before it holds the bytes: [`Store::photo_blob`] then
//! answers `None`, and the upload/download machinery fills them in.

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::{Result, Store};

/// The photo file inside a device's data directory.
pub const MEDIA_FILE: &str = "media.db";

/// The version of `media.db`'s schema this build writes.
const MEDIA_SCHEMA: u32 = 2;

/// The schema of `media.db`, created on open when missing (its own `user_version`, so it can
/// change without touching the case database's migrations).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS media.blobs (
    photo   TEXT    NOT NULL,
    variant TEXT    NOT NULL CHECK (variant IN ('full', 'thumb', 'original')),
    sha256  TEXT    NOT NULL,
    mime    TEXT    NOT NULL,
    width   INTEGER NOT NULL,
    height  INTEGER NOT NULL,
    size    INTEGER NOT NULL,
    data    BLOB    NOT NULL,
    PRIMARY KEY (photo, variant)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media.sources (
    source_sha256 TEXT NOT NULL PRIMARY KEY,
    photo         TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS media.on_server (
    sha256 TEXT NOT NULL PRIMARY KEY
) WITHOUT ROWID;
PRAGMA media.user_version = 2;
";

/// Which version of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The version people look at and the back office receives (long edge 2048 px); its
    /// SHA-256 names the photo.
    Full,
    /// A small version for galleries and lists (long edge 320 px).
    Thumb,
    /// The file as the camera wrote it, EXIF and all, kept only where the council says so.
    Original,
}

impl Variant {
    pub fn code(self) -> &'static str {
        match self {
            Variant::Full => "full",
            Variant::Thumb => "thumb",
            Variant::Original => "original",
        }
    }

    pub fn from_code(code: &str) -> Option<Variant> {
        match code {
            "full" => Some(Variant::Full),
            "thumb" => Some(Variant::Thumb),
            "original" => Some(Variant::Original),
            _ => None,
        }
    }
}

/// One version of a photo to store.
#[derive(Clone, Copy, Debug)]
pub struct BlobIn<'a> {
    pub mime: &'a str,
    pub width: u32,
    pub height: u32,
    pub data: &'a [u8],
}

/// A photo's bytes, ready to store: what `fieldbook-media` made of an input file.
#[derive(Clone, Copy, Debug)]
pub struct PhotoIn<'a> {
    /// The SHA-256 of the input file, so that adding it again is found without decoding.
    pub source_sha256: Option<&'a str>,
    pub full: BlobIn<'a>,
    pub thumb: BlobIn<'a>,
    /// The input file itself, where the council keeps originals.
    pub original: Option<BlobIn<'a>>,
}

/// What [`Store::put_photo`] stored: the photo's name and its blobs' hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPhoto {
    /// The SHA-256 of the full version, hex: the photo's name everywhere.
    pub sha256: String,
    pub thumb_sha256: String,
    /// False when the same photo was already on the device.
    pub new: bool,
}

/// One stored version of a photo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub sha256: String,
    pub mime: String,
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// The SHA-256 of `data`, as lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Attach `media.db` (created when missing) under the device's key and make sure its tables
/// exist. `key_sql` is the key as SQLCipher's `x'...'` literal.
pub(crate) fn attach(conn: &rusqlite::Connection, dir: &std::path::Path, key: &str) -> Result<()> {
    let path = dir.join(MEDIA_FILE);
    // The device's connection may not create files; an empty file is an empty database, made
    // readable by the device's user alone from the start.
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create.open(&path).map_err(|e| crate::StoreError::DataDir {
        dir: dir.display().to_string(),
        detail: format!("cannot create {MEDIA_FILE}: {e}"),
    })?;
    conn.execute(
        "ATTACH DATABASE ?1 AS media KEY ?2",
        params![path.to_string_lossy(), key],
    )?;
    // Only the device's user may read it (SQLite gives its -wal and -shm files its modes).
    crate::set_private(&path)?;
    // The first read decrypts page 1: a damaged file fails here, with the error's own code.
    conn.query_row("SELECT count(*) FROM media.sqlite_master", [], |_| Ok(()))?;
    conn.execute_batch(
        "PRAGMA media.journal_mode = WAL;
         PRAGMA media.synchronous = FULL;",
    )?;
    let version: u32 = conn.query_row("PRAGMA media.user_version", [], |r| r.get(0))?;
    if version > MEDIA_SCHEMA {
        return Err(crate::StoreError::DatabaseNewer {
            found: version,
            supported: MEDIA_SCHEMA,
        });
    }
    // Every statement of the schema is `IF NOT EXISTS`: running it again adds what is new.
    if version < MEDIA_SCHEMA {
        conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;"))?;
    }
    Ok(())
}

/// Store one version of a photo unless it is already there; returns the rows written (0 or 1).
fn insert_blob(
    conn: &rusqlite::Connection,
    photo: &str,
    variant: Variant,
    sha256: &str,
    blob: &BlobIn<'_>,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO media.blobs (photo, variant, sha256, mime, width, height, size, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (photo, variant) DO NOTHING",
        )?
        .execute(params![
            photo,
            variant.code(),
            sha256,
            blob.mime,
            blob.width,
            blob.height,
            blob.data.len() as i64,
            blob.data
        ])?)
}

impl Store {
    /// Store a photo's full version and thumbnail, named by the full version's SHA-256. Storing
    /// a photo that is already here changes nothing (and says so).
    pub fn put_photo(&mut self, photo: &PhotoIn<'_>) -> Result<StoredPhoto> {
        let sha = sha256_hex(photo.full.data);
        let thumb_sha = sha256_hex(photo.thumb.data);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let original_sha = photo.original.map(|o| sha256_hex(o.data));
        let mut inserted = 0;
        let blobs = [
            Some((Variant::Full, &photo.full, &sha)),
            Some((Variant::Thumb, &photo.thumb, &thumb_sha)),
            photo
                .original
                .as_ref()
                .zip(original_sha.as_ref())
                .map(|(o, s)| (Variant::Original, o, s)),
        ];
        for (variant, blob, blob_sha) in blobs.into_iter().flatten() {
            inserted += insert_blob(&tx, &sha, variant, blob_sha, blob)?;
        }
        if let Some(source) = photo.source_sha256 {
            tx.prepare_cached(
                "INSERT INTO media.sources (source_sha256, photo) VALUES (?1, ?2)
                 ON CONFLICT (source_sha256) DO NOTHING",
            )?
            .execute(params![source, sha])?;
        }
        tx.commit()?;
        Ok(StoredPhoto {
            sha256: sha,
            thumb_sha256: thumb_sha,
            new: inserted > 0,
        })
    }

    /// Store one version of a photo that came from elsewhere (the server), if its bytes hash to
    /// `expected_sha256`; otherwise nothing is stored and the answer is false.
    pub fn put_photo_blob(
        &mut self,
        photo: &str,
        variant: Variant,
        expected_sha256: &str,
        blob: &BlobIn<'_>,
    ) -> Result<bool> {
        if sha256_hex(blob.data) != expected_sha256 {
            return Ok(false);
        }
        insert_blob(&self.conn, photo, variant, expected_sha256, blob)?;
        Ok(true)
    }

    /// The photo an input file with this SHA-256 made earlier on this device, if any.
    pub fn photo_for_source(&self, source_sha256: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT photo FROM media.sources WHERE source_sha256 = ?1")?
            .query_row([source_sha256], |r| r.get(0))
            .optional()?)
    }

    /// One version of a photo, or `None` when this device does not hold its bytes.
    pub fn photo_blob(&self, photo: &str, variant: Variant) -> Result<Option<Blob>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT sha256, mime, width, height, data FROM media.blobs
                 WHERE photo = ?1 AND variant = ?2",
            )?
            .query_row(params![photo, variant.code()], |r| {
                Ok(Blob {
                    sha256: r.get(0)?,
                    mime: r.get(1)?,
                    width: r.get(2)?,
                    height: r.get(3)?,
                    data: r.get(4)?,
                })
            })
            .optional()?)
    }

    /// The blobs this device holds that the server does not (as far as it knows): each photo's
    /// thumbnails first, then full versions, then originals.
    pub fn photo_blobs_to_upload(&self) -> Result<Vec<(String, Variant, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT photo, variant, sha256 FROM media.blobs b
             WHERE NOT EXISTS (SELECT 1 FROM media.on_server s WHERE s.sha256 = b.sha256)
             ORDER BY CASE variant WHEN 'thumb' THEN 0 WHEN 'full' THEN 1 ELSE 2 END, photo",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(p, v, s)| Some((p, Variant::from_code(&v)?, s)))
            .collect())
    }

    /// The server holds this blob whole (uploaded, or fetched from it).
    pub fn mark_uploaded(&mut self, sha256: &str) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO media.on_server (sha256) VALUES (?1) ON CONFLICT DO NOTHING",
            )?
            .execute([sha256])?;
        Ok(())
    }

    /// Photos on this device's cases whose thumbnail it does not hold: (photo, thumbnail hash).
    pub fn thumbnails_to_fetch(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT DISTINCT p.sha256, p.thumb_sha256 FROM photos p
             WHERE p.thumb_sha256 IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM media.blobs b
                               WHERE b.photo = p.sha256 AND b.variant = 'thumb')
             ORDER BY p.sha256",
        )?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Which versions of a photo this device holds.
    pub fn photo_variants(&self, photo: &str) -> Result<Vec<Variant>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT variant FROM media.blobs WHERE photo = ?1 ORDER BY variant")?;
        let codes = stmt
            .query_map([photo], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(codes.iter().filter_map(|c| Variant::from_code(c)).collect())
    }
}
