//! Why a file was refused: a stable `code` for programs and a message a field officer understands.

/// Why [`crate::ingest`] refused a file. [`MediaError::code`] is stable; the message (`Display`)
/// is written for the officer who chose the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// No bytes at all.
    #[error("this file is empty: add the photo again")]
    Empty,
    /// More bytes than [`crate::Settings::max_bytes`]; checked before anything is decoded.
    #[error("this photo is {} but the largest allowed is {}", megabytes(*size, true), megabytes(*limit, false))]
    TooLarge { size: u64, limit: u64 },
    /// More pixels than [`crate::Settings::max_pixels`], read from the header before any pixel
    /// is decoded (a small file can claim a huge picture).
    #[error(
        "this photo is {width} × {height} pixels ({} megapixels) but the largest allowed is {} megapixels",
        megapixels(u64::from(*width) * u64::from(*height)),
        megapixels(*limit)
    )]
    TooManyPixels { width: u32, height: u32, limit: u64 },
    /// A JPEG or PNG that cannot be decoded, or that stops before its end (a copy cut short).
    /// `detail` is for logs, not for the officer.
    #[error("this {format} is damaged or incomplete: copy it from the camera again")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    /// Not a JPEG or PNG. `what` names the format when it was recognised ("a GIF image").
    #[error("{}: only JPEG and PNG photos can be added", match what {
        Some(what) => format!("this file is {what}"),
        None => "this file is not a JPEG or PNG photo".to_owned(),
    })]
    UnsupportedFormat { what: Option<&'static str> },
    /// An HEIC/HEIF photo (iPhones' default format); see the crate docs for why.
    #[error("HEIC photos are not supported yet: export the photo as JPEG and add it again")]
    HeicUnsupported,
    /// The file's name or MIME type says one format and its bytes are another.
    #[error("this file is called {called} but is {actual}")]
    Mislabelled {
        called: String,
        actual: &'static str,
    },
}

impl MediaError {
    /// A stable snake_case code: `empty`, `too_large`, `too_many_pixels`, `corrupt`,
    /// `unsupported_format`, `heic_unsupported` or `mislabelled`.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty => "empty",
            MediaError::TooLarge { .. } => "too_large",
            MediaError::TooManyPixels { .. } => "too_many_pixels",
            MediaError::Corrupt { .. } => "corrupt",
            MediaError::UnsupportedFormat { .. } => "unsupported_format",
            MediaError::HeicUnsupported => "heic_unsupported",
            MediaError::Mislabelled { .. } => "mislabelled",
        }
    }
}

/// Bytes as MB (of 1,048,576 bytes, as file managers count): a limit as a whole number when it
/// is one, a size to one decimal rounded up (so 40 MB and a bit never reads as "40.0 MB").
fn megabytes(bytes: u64, round_up: bool) -> String {
    let mb = bytes as f64 / 1_048_576.0;
    if mb.fract() == 0.0 {
        format!("{mb:.0} MB")
    } else if round_up {
        format!("{:.1} MB", (mb * 10.0).ceil() / 10.0)
    } else {
        format!("{mb:.1} MB")
    }
}

fn megapixels(pixels: u64) -> String {
    let mp = pixels as f64 / 1_000_000.0;
    if mp.fract() == 0.0 || mp >= 10.0 {
        format!("{mp:.0}")
    } else {
        format!("{mp:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_the_size_and_the_limit() {
        let e = MediaError::TooLarge {
            size: 52_500_000,
            limit: 40 * 1_048_576,
        };
        assert_eq!(
            e.to_string(),
            "this photo is 50.1 MB but the largest allowed is 40 MB"
        );
        let e = MediaError::TooManyPixels {
            width: 100_000,
            height: 100_000,
            limit: 100_000_000,
        };
        assert_eq!(
            e.to_string(),
            "this photo is 100000 × 100000 pixels (10000 megapixels) but the largest allowed is 100 megapixels"
        );
        assert_eq!(e.code(), "too_many_pixels");
    }

    #[test]
    fn unsupported_names_the_format_when_known() {
        let e = MediaError::UnsupportedFormat {
            what: Some("a GIF image"),
        };
        assert_eq!(
            e.to_string(),
            "this file is a GIF image: only JPEG and PNG photos can be added"
        );
        let e = MediaError::UnsupportedFormat { what: None };
        assert_eq!(
            e.to_string(),
            "this file is not a JPEG or PNG photo: only JPEG and PNG photos can be added"
        );
    }
}
