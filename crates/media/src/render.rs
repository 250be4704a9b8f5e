//! Pixels to the stored versions: flatten to 8-bit RGB, resize, turn upright, encode as JPEG.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, Encoder};

use crate::MediaError;

/// 8-bit RGB; transparency is composited on white (a display JPEG has no alpha, and white is
/// what a transparent scan or screenshot shows on a page).
pub(crate) fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (width, height) = rgba.dimensions();
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for p in rgba.pixels() {
        let alpha = u32::from(p[3]);
        for &c in &p.0[..3] {
            // c·α + 255·(1−α), in 8-bit with rounding.
            rgb.push(((u32::from(c) * alpha + 255 * (255 - alpha) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(width, height, rgb).unwrap_or_default()
}

/// The size that fits `width`×`height` within `max` on its long edge, never larger than it is.
pub(crate) fn fit(width: u32, height: u32, max: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max {
        return (width, height);
    }
    let scale = |side: u32| {
        let scaled = (u64::from(side) * u64::from(max) + u64::from(long) / 2) / u64::from(long);
        scaled.clamp(1, u64::from(max)) as u32
    };
    (scale(width), scale(height))
}

/// The image resized to fit `max` on its long edge (Lanczos3), or `None` if it already fits.
pub(crate) fn shrink(image: &RgbImage, max: u32) -> Result<Option<RgbImage>, MediaError> {
    let (width, height) = fit(image.width(), image.height(), max);
    if (width, height) == image.dimensions() {
        return Ok(None);
    }
    let source = ImageRef::new(
        image.width(),
        image.height(),
        image.as_raw(),
        PixelType::U8x3,
    )
    .map_err(internal)?;
    let mut target = Image::new(width, height, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&source, &mut target, &options)
        .map_err(internal)?;
    RgbImage::from_raw(width, height, target.into_vec())
        .map(Some)
        .ok_or_else(|| internal("resized buffer has the wrong length"))
}

/// Applies EXIF orientation 1..=8 so the pixels are upright.
pub(crate) fn upright(image: RgbImage, orientation: u8) -> RgbImage {
    match Orientation::from_exif(orientation) {
        Some(Orientation::NoTransforms) | None => image,
        Some(orientation) => {
            let mut image = DynamicImage::ImageRgb8(image);
            image.apply_orientation(orientation);
            image.into_rgb8()
        }
    }
}

/// A baseline JPEG with no metadata at all (no EXIF, no ICC profile), 4:2:0 with averaged chroma.
pub(crate) fn encode_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, MediaError> {
    let (width, height) = image.dimensions();
    let too_big = |_| internal("a rendition is larger than 65535 pixels");
    let (width, height) = (
        u16::try_from(width).map_err(too_big)?,
        u16::try_from(height).map_err(too_big)?,
    );
    let mut out = Vec::with_capacity(image.as_raw().len() / 8);
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
    encoder
        .encode(image.as_raw(), width, height, ColorType::Rgb)
        .map_err(internal)?;
    Ok(out)
}

/// Resizing or encoding failed though the decoded image was fine: cannot happen with the sizes
/// used here, reported as `corrupt` rather than a panic.
fn internal(e: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt {
        format: "photo",
        detail: format!("could not make the display version: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_the_long_edge_without_upscaling() {
        assert_eq!(fit(4000, 3000, 2048), (2048, 1536));
        assert_eq!(fit(3000, 4000, 2048), (1536, 2048));
        assert_eq!(fit(2048, 1536, 320), (320, 240));
        assert_eq!(fit(300, 200, 2048), (300, 200));
        assert_eq!(fit(2048, 2048, 2048), (2048, 2048));
        assert_eq!(fit(100_000, 10, 320), (320, 1));
    }

    #[test]
    fn transparency_goes_on_white() {
        let rgba =
            image::RgbaImage::from_raw(3, 1, vec![255, 0, 0, 0, 255, 0, 0, 128, 0, 0, 255, 255])
                .expect("3 pixels");
        let rgb = flatten(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.as_raw(), &[255, 255, 255, 255, 127, 127, 0, 0, 255]);
    }
}
