//! Fieldbook's photo ingest: bytes an officer picked in, the versions a case keeps out.
//!
//! This crate owns checking a photo file (format from its bytes, size and pixel limits, damage),
//! reading what the camera wrote in EXIF (orientation, GPS position and accuracy, the time it was
//! taken), and making the two versions the app shows and syncs: a display JPEG (long edge at most
//! [`DISPLAY_MAX`] px) and a thumbnail JPEG (at most [`THUMBNAIL_MAX`] px), both upright, 8-bit
//! sRGB and stripped of all metadata, with SHA-256 hashes. It must not know cases, SQL, HTTP or
//! Tauri, and depends on no other Fieldbook crate: bytes and settings in, bytes and values out.
//!
//! ```no_run
//! let bytes = std::fs::read("IMG_0042.JPG")?;
//! let photo = fieldbook_media::ingest(&bytes, Some("IMG_0042.JPG"), &Default::default())?;
//! println!("{}×{} taken {:?} at {:?}", photo.width, photo.height, photo.taken_at, photo.location);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Usage notes for callers:
//! - Refusals are [`MediaError`]s with a stable [`MediaError::code`] and a message for the
//!   officer. EXIF that is missing or impossible never refuses a photo: the field is `None`.
//! - `declared` (a file name or MIME type) is only used to catch a mislabelled file; the format
//!   always comes from the bytes.
//! - The outputs carry no EXIF, so no location leaks through them; whether to keep the position
//!   ([`Ingested::location`]) or the untouched original ([`Settings::keep_original`], which does
//!   keep EXIF) is the caller's decision.
//! - Outputs are deterministic for the same input on the same build and CPU (callers de-duplicate
//!   by hash); the SIMD paths chosen at run time may differ between CPUs, so do not expect the
//!   display hash of one photo to match across machines; `source_sha256` always does.
//! - One photo uses one core; ingest several photos on several threads if you want more.
//!
//! Formats: JPEG and PNG (with a PNG `eXIf` chunk read like a JPEG's EXIF). HEIC/HEIF is refused
//! with `heic_unsupported`: the Rust binding (`libheif-rs` 3, through `libheif-sys` 5) needs
//! libheif 1.17 or newer and Debian 12 ships 1.15, so it does not build against the system
//! library; building libheif and an HEVC decoder from source for every platform is a project of
//! its own. Other formats are refused with `unsupported_format`, naming the format when known.
//!
//! Colour: embedded ICC profiles are not applied, the pixels are taken as sRGB (a Display P3
//! photo comes out slightly duller).

mod error;
mod exif;
mod format;
mod jpeg;
mod render;

use std::io::Cursor;

use image::codecs::jpeg::JpegDecoder;
use image::codecs::png::PngDecoder;
use image::{DynamicImage, ImageDecoder, Limits};
use sha2::{Digest, Sha256};

pub use error::MediaError;
pub use exif::{Location, TakenAt, TimeSource};
use format::Kind;

/// The display version's long edge, at most (pixels).
pub const DISPLAY_MAX: u32 = 2048;
/// The display version's JPEG quality.
pub const DISPLAY_QUALITY: u8 = 80;
/// The thumbnail's long edge, at most (pixels).
pub const THUMBNAIL_MAX: u32 = 320;
/// The thumbnail's JPEG quality.
pub const THUMBNAIL_QUALITY: u8 = 75;

/// The council's limits. `Default` gives 40 MiB, 100 megapixels and no original kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Largest file accepted, in bytes; checked before decoding.
    pub max_bytes: u64,
    /// Largest picture accepted, width × height from the file's header, checked before any
    /// pixel is decoded (a few-KB file can claim billions of pixels).
    pub max_pixels: u64,
    /// Return the original bytes too ([`Ingested::original`]), EXIF and all.
    pub keep_original: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_bytes: 40 * 1024 * 1024,
            max_pixels: 100_000_000,
            keep_original: false,
        }
    }
}

/// A photo ready to store: what it is and the versions to keep.
#[derive(Clone, PartialEq)]
pub struct Ingested {
    /// SHA-256 of the input bytes, lower-case hex.
    pub source_sha256: String,
    /// MIME type of the input: `image/jpeg` or `image/png`.
    pub source_mime: &'static str,
    /// The original's width and height as seen upright (after EXIF orientation).
    pub width: u32,
    pub height: u32,
    /// When it was taken, if the camera said.
    pub taken_at: Option<TakenAt>,
    /// Where it was taken, if the camera had a position.
    pub location: Option<Location>,
    /// Long edge at most [`DISPLAY_MAX`], never upscaled, JPEG quality [`DISPLAY_QUALITY`].
    pub display: Rendition,
    /// Long edge at most [`THUMBNAIL_MAX`], made from the display version.
    pub thumbnail: Rendition,
    /// The input bytes, when [`Settings::keep_original`] is on.
    pub original: Option<Vec<u8>>,
}

/// One stored version: an upright JPEG without metadata.
#[derive(Clone, PartialEq, Eq)]
pub struct Rendition {
    /// The JPEG file.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`, lower-case hex.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
}

impl Rendition {
    /// Every rendition is a JPEG.
    pub const MIME: &'static str = "image/jpeg";

    fn new(image: &image::RgbImage, quality: u8) -> Result<Rendition, MediaError> {
        let bytes = render::encode_jpeg(image, quality)?;
        Ok(Rendition {
            sha256: sha256_hex(&bytes),
            bytes,
            width: image.width(),
            height: image.height(),
        })
    }
}

/// Byte buffers are shown by their length, not their contents.
impl std::fmt::Debug for Ingested {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingested")
            .field("source_sha256", &self.source_sha256)
            .field("source_mime", &self.source_mime)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("taken_at", &self.taken_at)
            .field("location", &self.location)
            .field("display", &self.display)
            .field("thumbnail", &self.thumbnail)
            .field(
                "original",
                &self.original.as_ref().map(|o| format!("{} bytes", o.len())),
            )
            .finish()
    }
}

impl std::fmt::Debug for Rendition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendition")
            .field("bytes", &format_args!("{} bytes", self.bytes.len()))
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

/// Checks a photo file and makes its display version and thumbnail.
///
/// `declared` is what the caller was told the file is (its name, extension or MIME type), used
/// only to refuse a file whose name and contents disagree. The checks run cheapest first: empty,
/// size, format, label, completeness, pixel count (from the header), and only then decoding.
pub fn ingest(
    bytes: &[u8],
    declared: Option<&str>,
    settings: &Settings,
) -> Result<Ingested, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    let size = bytes.len() as u64;
    if size > settings.max_bytes {
        return Err(MediaError::TooLarge {
            size,
            limit: settings.max_bytes,
        });
    }
    let kind = match Kind::sniff(bytes) {
        Some(kind @ (Kind::Jpeg | Kind::Png)) => kind,
        Some(Kind::Heic) => return Err(MediaError::HeicUnsupported),
        other => {
            return Err(MediaError::UnsupportedFormat {
                what: other.map(Kind::described),
            });
        }
    };
    if let Some(called) = declared
        && let Some(claimed) = Kind::declared(called)
        && claimed != kind
    {
        return Err(MediaError::Mislabelled {
            called: format::quote_declared(called),
            actual: kind.described(),
        });
    }

    let (image, exif) = match kind {
        Kind::Jpeg => {
            if !jpeg::is_complete(bytes) {
                return Err(corrupt(
                    kind,
                    "the file ends before the end-of-image marker",
                ));
            }
            decode(JpegDecoder::new(Cursor::new(bytes)), kind, settings)?
        }
        // The PNG decoder's own buffers (metadata chunks can be compressed bombs too) stay
        // within image's default 512 MiB.
        _ => decode(
            PngDecoder::with_limits(Cursor::new(bytes), Limits::default()),
            kind,
            settings,
        )?,
    };
    let metadata = exif.map(exif::Metadata::read).unwrap_or_default();

    let (mut width, mut height) = (image.width(), image.height());
    if metadata.orientation >= 5 {
        (width, height) = (height, width);
    }
    // Resize first and turn upright after: rotating the display version moves a quarter of the
    // pixels of a 12-megapixel original. The long edge is the same either way.
    let pixels = render::flatten(image);
    let display = render::shrink(&pixels, DISPLAY_MAX)?.unwrap_or(pixels);
    let display = render::upright(display, metadata.orientation);
    let thumbnail = render::shrink(&display, THUMBNAIL_MAX)?;

    Ok(Ingested {
        source_sha256: sha256_hex(bytes),
        source_mime: match kind {
            Kind::Jpeg => "image/jpeg",
            _ => "image/png",
        },
        width,
        height,
        taken_at: metadata.taken_at,
        location: metadata.location,
        display: Rendition::new(&display, DISPLAY_QUALITY)?,
        thumbnail: Rendition::new(thumbnail.as_ref().unwrap_or(&display), THUMBNAIL_QUALITY)?,
        original: settings.keep_original.then(|| bytes.to_vec()),
    })
}

/// Refuses too many pixels (from the header), takes the EXIF block, then decodes the pixels.
fn decode(
    decoder: image::ImageResult<impl ImageDecoder>,
    kind: Kind,
    settings: &Settings,
) -> Result<(DynamicImage, Option<Vec<u8>>), MediaError> {
    let mut decoder = decoder.map_err(|e| corrupt(kind, e))?;
    let (width, height) = decoder.dimensions();
    // This is the decompression-bomb guard: `from_decoder` allocates the whole picture at once,
    // without counting it against `Limits::max_alloc`.
    if u64::from(width) * u64::from(height) > settings.max_pixels {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            limit: settings.max_pixels,
        });
    }
    let exif = decoder.exif_metadata().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(|e| corrupt(kind, e))?;
    Ok((image, exif))
}

fn corrupt(kind: Kind, detail: impl std::fmt::Display) -> MediaError {
    let format = match kind {
        Kind::Jpeg => "JPEG image",
        _ => "PNG image",
    };
    MediaError::Corrupt {
        format,
        detail: detail.to_string(),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
