//! What a file is, from its first bytes, and what its name or MIME type claims it is.

/// A file format recognised from its magic bytes. Only `Jpeg` and `Png` are ingested; the others
/// are recognised so that the refusal can name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Jpeg,
    Png,
    Heic,
    Avif,
    Gif,
    WebP,
    Tiff,
    Bmp,
    Pdf,
    JpegXl,
    Video,
}

impl Kind {
    /// How a message names it, with its article: "this file is called .png but is a JPEG image".
    pub(crate) fn described(self) -> &'static str {
        match self {
            Kind::Jpeg => "a JPEG image",
            Kind::Png => "a PNG image",
            Kind::Heic => "an HEIC image",
            Kind::Avif => "an AVIF image",
            Kind::Gif => "a GIF image",
            Kind::WebP => "a WebP image",
            Kind::Tiff => "a TIFF or camera raw image",
            Kind::Bmp => "a BMP image",
            Kind::Pdf => "a PDF document",
            Kind::JpegXl => "a JPEG XL image",
            Kind::Video => "a video",
        }
    }

    /// Recognises a file from its first bytes (never from its name).
    pub(crate) fn sniff(b: &[u8]) -> Option<Kind> {
        let kind = if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Kind::Jpeg
        } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
            Kind::Png
        } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
            Kind::Gif
        } else if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") {
            Kind::WebP
        } else if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
            Kind::Tiff
        } else if b.starts_with(b"BM") && b.len() > 14 {
            Kind::Bmp
        } else if b.starts_with(b"%PDF-") {
            Kind::Pdf
        } else if b.starts_with(&[0xFF, 0x0A]) || b.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
            Kind::JpegXl
        } else if b.get(4..8) == Some(b"ftyp") {
            iso_media(b)
        } else {
            return None;
        };
        Some(kind)
    }

    /// The format a file name ("IMG_0042.JPG"), bare extension ("png") or MIME type ("image/heic")
    /// claims, or `None` when it claims nothing we know (no extension, "application/octet-stream").
    pub(crate) fn declared(declared: &str) -> Option<Kind> {
        let declared = declared.trim().to_ascii_lowercase();
        let name = match declared.split_once('/') {
            Some(("image", subtype)) => subtype.strip_prefix("x-").unwrap_or(subtype).to_owned(),
            Some(("video", _)) => return Some(Kind::Video),
            Some(("application", "pdf")) => return Some(Kind::Pdf),
            Some(_) => return None,
            None => match declared.rsplit_once('.') {
                Some((_, extension)) => extension.to_owned(),
                None => declared,
            },
        };
        Some(match name.as_str() {
            "jpeg" | "jpg" | "jpe" | "jfif" | "pjpeg" => Kind::Jpeg,
            "png" => Kind::Png,
            "heic" | "heif" | "hif" | "heic-sequence" | "heif-sequence" => Kind::Heic,
            "avif" => Kind::Avif,
            "gif" => Kind::Gif,
            "webp" => Kind::WebP,
            "tif" | "tiff" | "dng" | "cr2" | "nef" | "arw" => Kind::Tiff,
            "bmp" => Kind::Bmp,
            "pdf" => Kind::Pdf,
            "jxl" => Kind::JpegXl,
            "mp4" | "mov" | "m4v" | "quicktime" => Kind::Video,
            _ => return None,
        })
    }
}

/// An ISO base media file (`ftyp` box): HEIC/HEIF, AVIF, or else a video (MP4, MOV).
fn iso_media(b: &[u8]) -> Kind {
    let size = b
        .get(0..4)
        .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]));
    let end = (size as usize).clamp(12, 64).min(b.len());
    // The major brand (bytes 8..12), then the compatible brands from byte 16.
    let brands: Vec<&[u8]> = b
        .get(8..12)
        .into_iter()
        .chain(b.get(16..end).unwrap_or_default().chunks_exact(4))
        .collect();
    if brands
        .iter()
        .any(|brand| matches!(*brand, b"avif" | b"avis"))
    {
        Kind::Avif
    } else if brands.iter().any(|brand| {
        matches!(
            *brand,
            b"heic"
                | b"heix"
                | b"heim"
                | b"heis"
                | b"hevc"
                | b"hevx"
                | b"hevm"
                | b"hevs"
                | b"mif1"
                | b"msf1"
        )
    }) {
        Kind::Heic
    } else {
        Kind::Video
    }
}

/// How a refusal quotes what the caller declared: ".png" for a file name, the MIME type as given.
pub(crate) fn quote_declared(declared: &str) -> String {
    let declared = declared.trim();
    if declared.contains('/') {
        declared.to_owned()
    } else {
        match declared.rsplit_once('.') {
            Some((_, extension)) => format!(".{extension}"),
            None => format!(".{declared}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_magic_bytes() {
        assert_eq!(Kind::sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Some(Kind::Jpeg));
        assert_eq!(Kind::sniff(b"\x89PNG\r\n\x1a\n\0\0"), Some(Kind::Png));
        assert_eq!(Kind::sniff(b"GIF89a...."), Some(Kind::Gif));
        assert_eq!(Kind::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Kind::WebP));
        assert_eq!(Kind::sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
        assert_eq!(
            Kind::sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(Kind::Heic)
        );
        assert_eq!(
            Kind::sniff(b"\0\0\0\x18ftypmif1\0\0\0\0mif1heic"),
            Some(Kind::Heic)
        );
        assert_eq!(
            Kind::sniff(b"\0\0\0\x1cftypavif\0\0\0\0avifmif1miaf"),
            Some(Kind::Avif)
        );
        assert_eq!(
            Kind::sniff(b"\0\0\0\x14ftypqt  \0\0\0\0qt  "),
            Some(Kind::Video)
        );
        assert_eq!(Kind::sniff(b"hello, world"), None);
        assert_eq!(Kind::sniff(b""), None);
    }

    #[test]
    fn reads_names_extensions_and_mime_types() {
        assert_eq!(Kind::declared("IMG_0042.JPG"), Some(Kind::Jpeg));
        assert_eq!(Kind::declared("scan.final.png"), Some(Kind::Png));
        assert_eq!(Kind::declared("jpeg"), Some(Kind::Jpeg));
        assert_eq!(Kind::declared("image/jpeg"), Some(Kind::Jpeg));
        assert_eq!(Kind::declared("image/heic"), Some(Kind::Heic));
        assert_eq!(Kind::declared("image/x-png"), Some(Kind::Png));
        assert_eq!(Kind::declared("application/octet-stream"), None);
        assert_eq!(Kind::declared("photo"), None);
        assert_eq!(Kind::declared("notes.txt"), None);
        assert_eq!(quote_declared("IMG_0042.PNG"), ".PNG");
        assert_eq!(quote_declared("image/png"), "image/png");
    }
}
