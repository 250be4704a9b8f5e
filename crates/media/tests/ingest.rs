//! Photo ingest, end to end: files made here (with EXIF written byte by byte), refusals, outputs.

use fieldbook_media::{Ingested, MediaError, Settings, TimeSource, ingest};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder, Rgb, RgbImage, RgbaImage};
use sha2::{Digest, Sha256};

// ---------------------------------------------------------------------------------------------
// Making test files

/// An EXIF value, as a TIFF entry carries it.
enum V<'a> {
    Short(u16),
    Long(u32),
    Ascii(&'a str),
    Rational(&'a [(u32, u32)]),
}

const ORIENTATION: u16 = 0x0112;
const EXIF_IFD: u16 = 0x8769;
const GPS_IFD: u16 = 0x8825;
const DATE_TIME_ORIGINAL: u16 = 0x9003;
const OFFSET_TIME_ORIGINAL: u16 = 0x9011;
const SUBSEC_TIME_ORIGINAL: u16 = 0x9291;
const GPS_LATITUDE_REF: u16 = 1;
const GPS_LATITUDE: u16 = 2;
const GPS_LONGITUDE_REF: u16 = 3;
const GPS_LONGITUDE: u16 = 4;
const GPS_TIME_STAMP: u16 = 7;
const GPS_DATE_STAMP: u16 = 29;
const GPS_H_POSITIONING_ERROR: u16 = 31;

/// A little-endian TIFF block as EXIF stores it: IFD0, then the EXIF and GPS IFDs when given,
/// then the values that do not fit in an entry.
fn tiff(ifd0: Vec<(u16, V)>, exif: Vec<(u16, V)>, gps: Vec<(u16, V)>) -> Vec<u8> {
    let size = |entries: usize| 2 + 12 * entries + 4;
    let n0 = ifd0.len() + usize::from(!exif.is_empty()) + usize::from(!gps.is_empty());
    let exif_at = 8 + size(n0);
    let gps_at = exif_at + if exif.is_empty() { 0 } else { size(exif.len()) };
    let data_at = gps_at + if gps.is_empty() { 0 } else { size(gps.len()) };
    let mut ifd0 = ifd0;
    if !exif.is_empty() {
        ifd0.push((EXIF_IFD, V::Long(exif_at as u32)));
    }
    if !gps.is_empty() {
        ifd0.push((GPS_IFD, V::Long(gps_at as u32)));
    }
    let mut out = b"II*\0".to_vec();
    out.extend(8u32.to_le_bytes());
    let mut data = Vec::new();
    for mut ifd in [ifd0, exif, gps] {
        if ifd.is_empty() {
            continue;
        }
        ifd.sort_by_key(|(tag, _)| *tag);
        out.extend((ifd.len() as u16).to_le_bytes());
        for (tag, value) in ifd {
            let (kind, count, mut bytes): (u16, usize, Vec<u8>) = match value {
                V::Short(v) => (3, 1, v.to_le_bytes().to_vec()),
                V::Long(v) => (4, 1, v.to_le_bytes().to_vec()),
                V::Ascii(s) => (2, s.len() + 1, [s.as_bytes(), b"\0"].concat()),
                V::Rational(rs) => (
                    5,
                    rs.len(),
                    rs.iter()
                        .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()])
                        .flatten()
                        .collect(),
                ),
            };
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend((count as u32).to_le_bytes());
            if bytes.len() <= 4 {
                bytes.resize(4, 0);
                out.extend(bytes);
            } else {
                out.extend(((data_at + data.len()) as u32).to_le_bytes());
                data.extend(bytes);
                if data.len() % 2 == 1 {
                    data.push(0);
                }
            }
        }
        out.extend(0u32.to_le_bytes()); // no next IFD
    }
    out.extend(data);
    out
}

fn jpeg(image: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 95);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).expect("JPEG takes EXIF");
    }
    encoder
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encode JPEG");
    out
}

fn png_rgba(image: &RgbaImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new(&mut out);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).expect("PNG takes eXIf");
    }
    encoder
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgba8,
        )
        .expect("encode PNG");
    out
}

fn png_rgb(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .expect("encode PNG");
    out
}

/// Deterministic noise with gradients, so a JPEG of it has real entropy-coded data to cut.
fn noisy(width: u32, height: u32) -> RgbImage {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state & 0x3F) as u32;
        Rgb([
            ((x * 255 / width) + n).min(255) as u8,
            ((y * 255 / height) + n).min(255) as u8,
            (n * 3) as u8,
        ])
    })
}

fn flat(width: u32, height: u32, colour: [u8; 3]) -> RgbImage {
    RgbImage::from_pixel(width, height, Rgb(colour))
}

fn ok(bytes: &[u8]) -> Ingested {
    ingest(bytes, None, &Settings::default()).expect("ingest accepts the photo")
}

fn refused(bytes: &[u8], declared: Option<&str>, settings: &Settings) -> MediaError {
    match ingest(bytes, declared, settings) {
        Ok(photo) => panic!("ingest accepted what it should refuse: {photo:?}"),
        Err(e) => e,
    }
}

fn decoded(bytes: &[u8]) -> RgbImage {
    image::load_from_memory(bytes)
        .expect("outputs decode")
        .to_rgb8()
}

fn assert_colour(image: &RgbImage, x: u32, y: u32, want: [u8; 3], what: &str) {
    let got = image.get_pixel(x, y).0;
    let close = got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 48);
    assert!(
        close,
        "{what}: pixel ({x},{y}) is {got:?}, want about {want:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Orientation

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];

/// 384×288, upright: red top left, green top right, blue bottom left, white bottom right.
fn quadrants() -> RgbImage {
    RgbImage::from_fn(384, 288, |x, y| {
        Rgb(match (x < 192, y < 144) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

/// The pixels a camera stores for an upright picture with EXIF orientation `o`, straight from
/// the EXIF definition of where row 0 and column 0 of the stored image belong when shown.
fn stored_for(upright: &RgbImage, o: u16) -> RgbImage {
    let (w, h) = upright.dimensions();
    let (sw, sh) = if o >= 5 { (h, w) } else { (w, h) };
    RgbImage::from_fn(sw, sh, |x, y| {
        let (ux, uy) = match o {
            1 => (x, y),
            2 => (w - 1 - x, y),         // row 0 top, column 0 right
            3 => (w - 1 - x, h - 1 - y), // row 0 bottom, column 0 right
            4 => (x, h - 1 - y),         // row 0 bottom, column 0 left
            5 => (y, x),                 // row 0 left, column 0 top
            6 => (w - 1 - y, x),         // row 0 right, column 0 top
            7 => (w - 1 - y, h - 1 - x), // row 0 right, column 0 bottom
            8 => (y, h - 1 - x),         // row 0 left, column 0 bottom
            _ => unreachable!(),
        };
        *upright.get_pixel(ux, uy)
    })
}

#[test]
fn the_eight_exif_orientations_come_out_upright() {
    let upright = quadrants();
    for o in 1..=8u16 {
        let stored = stored_for(&upright, o);
        let file = jpeg(
            &stored,
            Some(tiff(vec![(ORIENTATION, V::Short(o))], vec![], vec![])),
        );
        let photo = ok(&file);
        assert_eq!(
            (photo.width, photo.height),
            (384, 288),
            "orientation {o}: reported size"
        );
        for (bytes, (w, h), what) in [
            (&photo.display.bytes, (384, 288), "display"),
            (&photo.thumbnail.bytes, (320, 240), "thumbnail"),
        ] {
            let shown = decoded(bytes);
            assert_eq!(shown.dimensions(), (w, h), "orientation {o}: {what} size");
            let what = format!("orientation {o}, {what}");
            assert_colour(&shown, 8, 8, RED, &what);
            assert_colour(&shown, w - 9, 8, GREEN, &what);
            assert_colour(&shown, 8, h - 9, BLUE, &what);
            assert_colour(&shown, w - 9, h - 9, WHITE, &what);
        }
    }
}

#[test]
fn orientation_applies_to_resized_versions_too() {
    // A phone's portrait photo: stored landscape, EXIF orientation 6, just over the display size.
    let photo = ok(&grey_jpeg(2064, 1040, 6));
    assert_eq!((photo.width, photo.height), (1040, 2064));
    assert_eq!((photo.display.width, photo.display.height), (1032, 2048));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (161, 320));
    assert_eq!(decoded(&photo.display.bytes).dimensions(), (1032, 2048));
    assert_eq!(decoded(&photo.thumbnail.bytes).dimensions(), (161, 320));
}

#[test]
fn a_png_exif_chunk_is_read() {
    let stored = image::DynamicImage::ImageRgb8(stored_for(&quadrants(), 8)).to_rgba8();
    let file = png_rgba(
        &stored,
        Some(tiff(vec![(ORIENTATION, V::Short(8))], vec![], vec![])),
    );
    let photo = ok(&file);
    assert_eq!(photo.source_mime, "image/png");
    assert_eq!((photo.width, photo.height), (384, 288));
    let shown = decoded(&photo.display.bytes);
    assert_colour(&shown, 8, 8, RED, "PNG eXIf orientation 8");
    assert_colour(&shown, 375, 279, WHITE, "PNG eXIf orientation 8");
}

// ---------------------------------------------------------------------------------------------
// Place and time

/// 51°30'12.34"N 0°7'39.1"W, Trafalgar Square.
fn trafalgar() -> Vec<(u16, V<'static>)> {
    vec![
        (GPS_LATITUDE_REF, V::Ascii("N")),
        (GPS_LATITUDE, V::Rational(&[(51, 1), (30, 1), (1234, 100)])),
        (GPS_LONGITUDE_REF, V::Ascii("W")),
        (GPS_LONGITUDE, V::Rational(&[(0, 1), (7, 1), (391, 10)])),
        (GPS_H_POSITIONING_ERROR, V::Rational(&[(5, 1)])),
    ]
}

fn with_exif(exif: Vec<(u16, V)>, gps: Vec<(u16, V)>) -> Vec<u8> {
    jpeg(
        &flat(32, 24, [90, 120, 60]),
        Some(tiff(vec![(ORIENTATION, V::Short(1))], exif, gps)),
    )
}

#[test]
fn exif_gps_becomes_the_position() {
    let photo = ok(&with_exif(vec![], trafalgar()));
    let at = photo.location.expect("a position");
    assert!(
        (at.latitude - 51.503428).abs() < 1e-6,
        "latitude {}",
        at.latitude
    );
    assert!(
        (at.longitude - -0.127528).abs() < 1e-6,
        "longitude {}",
        at.longitude
    );
    assert_eq!(at.accuracy_m, Some(5.0));

    let mut south_east = trafalgar();
    south_east[0].1 = V::Ascii("S");
    south_east[2].1 = V::Ascii("E");
    south_east.pop();
    let at = ok(&with_exif(vec![], south_east))
        .location
        .expect("a position");
    assert!((at.latitude + 51.503428).abs() < 1e-6 && (at.longitude - 0.127528).abs() < 1e-6);
    assert_eq!(at.accuracy_m, None);
}

#[test]
fn impossible_gps_gives_no_position_and_no_error() {
    let cases: Vec<Vec<(u16, V)>> = vec![
        // 95° north
        vec![
            (GPS_LATITUDE_REF, V::Ascii("N")),
            (GPS_LATITUDE, V::Rational(&[(95, 1), (0, 1), (0, 1)])),
            (GPS_LONGITUDE_REF, V::Ascii("W")),
            (GPS_LONGITUDE, V::Rational(&[(0, 1), (7, 1), (0, 1)])),
        ],
        // a zero denominator
        vec![
            (GPS_LATITUDE_REF, V::Ascii("N")),
            (GPS_LATITUDE, V::Rational(&[(51, 0), (30, 1), (0, 1)])),
            (GPS_LONGITUDE_REF, V::Ascii("W")),
            (GPS_LONGITUDE, V::Rational(&[(0, 1), (7, 1), (0, 1)])),
        ],
        // no hemisphere
        vec![
            (GPS_LATITUDE, V::Rational(&[(51, 1), (30, 1), (0, 1)])),
            (GPS_LONGITUDE_REF, V::Ascii("W")),
            (GPS_LONGITUDE, V::Rational(&[(0, 1), (7, 1), (0, 1)])),
        ],
        // 0,0: a camera without a fix
        vec![
            (GPS_LATITUDE_REF, V::Ascii("N")),
            (GPS_LATITUDE, V::Rational(&[(0, 1), (0, 1), (0, 1)])),
            (GPS_LONGITUDE_REF, V::Ascii("E")),
            (GPS_LONGITUDE, V::Rational(&[(0, 1), (0, 1), (0, 1)])),
        ],
    ];
    for (i, gps) in cases.into_iter().enumerate() {
        assert_eq!(ok(&with_exif(vec![], gps)).location, None, "case {i}");
    }
}

#[test]
fn gps_time_is_utc_and_preferred_to_the_camera_clock() {
    let mut gps = trafalgar();
    gps.push((GPS_DATE_STAMP, V::Ascii("2026:07:15")));
    gps.push((GPS_TIME_STAMP, V::Rational(&[(7, 1), (0, 1), (155, 10)])));
    let photo = ok(&with_exif(
        vec![(DATE_TIME_ORIGINAL, V::Ascii("2026:07:15 10:30:15"))],
        gps,
    ));
    let taken = photo.taken_at.expect("a time");
    assert_eq!(taken.unix_ms, 1_784_098_815_500); // 2026-07-15T07:00:15.500Z
    assert_eq!(taken.source, TimeSource::Gps);
}

#[test]
fn camera_time_is_uk_time_in_winter_and_summer() {
    let winter = ok(&with_exif(
        vec![(DATE_TIME_ORIGINAL, V::Ascii("2026:01:15 10:30:15"))],
        vec![],
    ));
    let taken = winter.taken_at.expect("a time");
    assert_eq!(taken.unix_ms, 1_768_473_015_000); // 10:30:15 GMT
    assert_eq!(taken.source, TimeSource::CameraAssumedUk);

    let summer = ok(&with_exif(
        vec![
            (DATE_TIME_ORIGINAL, V::Ascii("2026:07:15 10:30:15")),
            (SUBSEC_TIME_ORIGINAL, V::Ascii("25")),
        ],
        vec![],
    ));
    assert_eq!(summer.taken_at.expect("a time").unix_ms, 1_784_107_815_250); // 10:30:15.25 BST

    let offset = ok(&with_exif(
        vec![
            (DATE_TIME_ORIGINAL, V::Ascii("2026:07:15 10:30:15")),
            (OFFSET_TIME_ORIGINAL, V::Ascii("+02:00")),
        ],
        vec![],
    ));
    let taken = offset.taken_at.expect("a time");
    assert_eq!(taken.unix_ms, 1_784_104_215_000); // 08:30:15Z
    assert_eq!(taken.source, TimeSource::CameraWithOffset);

    let unset = ok(&with_exif(
        vec![(DATE_TIME_ORIGINAL, V::Ascii("0000:00:00 00:00:00"))],
        vec![],
    ));
    assert_eq!(unset.taken_at, None);
    assert_eq!(ok(&jpeg(&flat(16, 16, WHITE), None)).taken_at, None);
}

// ---------------------------------------------------------------------------------------------
// Refusals

fn defaults() -> Settings {
    Settings::default()
}

#[test]
fn refuses_an_empty_file() {
    assert_eq!(
        refused(b"", Some("IMG_0001.JPG"), &defaults()).code(),
        "empty"
    );
}

#[test]
fn refuses_a_jpeg_cut_in_half() {
    let whole = jpeg(&noisy(400, 300), None);
    ok(&whole);
    for cut in [whole.len() / 2, whole.len() - 2] {
        let e = refused(&whole[..cut], None, &defaults());
        assert_eq!(e.code(), "corrupt", "cut at {cut} of {}", whole.len());
        assert_eq!(
            e.to_string(),
            "this JPEG image is damaged or incomplete: copy it from the camera again"
        );
    }
}

#[test]
fn refuses_a_png_cut_in_half() {
    let whole = png_rgb(&noisy(200, 150));
    ok(&whole);
    assert_eq!(
        refused(&whole[..whole.len() / 2], None, &defaults()).code(),
        "corrupt"
    );
}

#[test]
fn refuses_random_bytes_and_text() {
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert_eq!(
        refused(&random, None, &defaults()).code(),
        "unsupported_format"
    );
    let e = refused(
        b"Site visit notes: rear yard.\n",
        Some("notes.jpg"),
        &defaults(),
    );
    assert_eq!(e.code(), "unsupported_format");
    assert_eq!(
        e.to_string(),
        "this file is not a JPEG or PNG photo: only JPEG and PNG photos can be added"
    );
}

#[test]
fn refuses_a_png_called_jpg() {
    let png = png_rgb(&flat(8, 8, WHITE));
    let e = refused(&png, Some("IMG_0042.jpg"), &defaults());
    assert_eq!(e.code(), "mislabelled");
    assert_eq!(e.to_string(), "this file is called .jpg but is a PNG image");
    let e = refused(
        &jpeg(&flat(8, 8, WHITE), None),
        Some("image/png"),
        &defaults(),
    );
    assert_eq!(
        e.to_string(),
        "this file is called image/png but is a JPEG image"
    );
    // Names that agree, or say nothing, are fine.
    for declared in [
        "IMG_0042.PNG",
        "image/png",
        "scan",
        "application/octet-stream",
    ] {
        ingest(&png, Some(declared), &defaults()).expect(declared);
    }
}

#[test]
fn refuses_a_gif() {
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let e = refused(gif, Some("map.gif"), &defaults());
    assert_eq!(e.code(), "unsupported_format");
    assert_eq!(
        e.to_string(),
        "this file is a GIF image: only JPEG and PNG photos can be added"
    );
}

#[test]
fn refuses_heic_with_advice() {
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\x01\x00meta";
    let e = refused(heic, Some("IMG_0042.HEIC"), &defaults());
    assert_eq!(e.code(), "heic_unsupported");
    assert_eq!(
        e.to_string(),
        "HEIC photos are not supported yet: export the photo as JPEG and add it again"
    );
    // Even when it is called .jpg: the advice is what helps.
    assert_eq!(
        refused(heic, Some("IMG_0042.jpg"), &defaults()).code(),
        "heic_unsupported"
    );
}

#[test]
fn refuses_a_file_over_the_size_limit_before_decoding() {
    let file = jpeg(&noisy(200, 150), None);
    let settings = Settings {
        max_bytes: 1000,
        ..defaults()
    };
    let e = refused(&file, None, &settings);
    assert_eq!(e.code(), "too_large");
    assert!(
        e.to_string().contains("MB but the largest allowed is"),
        "{e}"
    );
    // Garbage over the limit is refused for its size, without being looked at.
    let big = vec![0u8; 41 * 1024 * 1024];
    let e = refused(&big, None, &defaults());
    assert_eq!(
        e.to_string(),
        "this photo is 41 MB but the largest allowed is 40 MB"
    );
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let body = [kind.as_slice(), data].concat();
    out.extend(&body);
    out.extend(crc32(&body).to_be_bytes());
    out
}

#[test]
fn refuses_a_decompression_bomb_from_its_header() {
    // A 100000×100000 PNG header (30 GB of pixels) in under 100 bytes.
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let bomb = [
        b"\x89PNG\r\n\x1a\n".to_vec(),
        png_chunk(b"IHDR", &ihdr),
        png_chunk(b"IDAT", &[0x78, 0x9C, 0x03, 0x00]),
        png_chunk(b"IEND", &[]),
    ]
    .concat();
    let e = refused(&bomb, Some("bomb.png"), &defaults());
    assert_eq!(e.code(), "too_many_pixels");
    assert_eq!(
        e.to_string(),
        "this photo is 100000 × 100000 pixels (10000 megapixels) but the largest allowed is 100 megapixels"
    );

    // A JPEG whose frame header claims 65535×65535.
    let mut file = jpeg(&flat(16, 16, WHITE), None);
    let sof = file
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    file[sof + 5..sof + 9].copy_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(refused(&file, None, &defaults()).code(), "too_many_pixels");

    // A real, valid PNG over a lowered limit.
    let settings = Settings {
        max_pixels: 1_000_000,
        ..defaults()
    };
    let e = refused(&png_rgb(&flat(1001, 1000, WHITE)), None, &settings);
    assert_eq!(e.code(), "too_many_pixels");
}

// ---------------------------------------------------------------------------------------------
// Outputs

fn has_exif(jpeg: &[u8]) -> bool {
    jpeg.windows(6).any(|w| w == b"Exif\0\0")
}

#[test]
fn outputs_carry_no_exif() {
    let mut gps = trafalgar();
    gps.push((GPS_DATE_STAMP, V::Ascii("2026:07:15")));
    let file = with_exif(
        vec![(DATE_TIME_ORIGINAL, V::Ascii("2026:07:15 10:30:15"))],
        gps,
    );
    assert!(has_exif(&file), "the test file itself has EXIF");
    let photo = ok(&file);
    assert!(photo.location.is_some());
    for bytes in [&photo.display.bytes, &photo.thumbnail.bytes] {
        assert!(bytes.starts_with(&[0xFF, 0xD8]));
        assert!(!has_exif(bytes), "EXIF left in an output");
        assert!(
            exif::Reader::new()
                .read_from_container(&mut std::io::Cursor::new(bytes))
                .is_err()
        );
    }
}

/// A mid-grey baseline JPEG (sides multiples of 8) written byte by byte in a blink, where encoding
/// a real 12-megapixel picture takes seconds in a debug build: one component, every 8×8 block
/// DC-only, with Huffman tables of one one-bit code each, so each block is the two bits `0 0`.
fn grey_jpeg(width: u16, height: u16, orientation: u16) -> Vec<u8> {
    let blocks = usize::from(width / 8) * usize::from(height / 8);
    let segment = |marker: u8, body: &[u8]| {
        let mut s = vec![0xFF, marker];
        s.extend(((body.len() + 2) as u16).to_be_bytes());
        s.extend(body);
        s
    };
    let mut dqt = vec![0x00];
    dqt.extend([1u8; 64]);
    let mut sof = vec![8];
    sof.extend(height.to_be_bytes());
    sof.extend(width.to_be_bytes());
    sof.extend([1, 1, 0x11, 0]);
    let huffman = |class: u8| {
        let mut t = vec![class];
        t.extend([1u8].iter().chain(&[0u8; 15]));
        t.push(0x00); // DC: difference category 0; AC: end of block
        t
    };
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff(
        vec![(ORIENTATION, V::Short(orientation))],
        vec![],
        vec![],
    ));
    [
        vec![0xFF, 0xD8],
        segment(0xE1, &app1),
        segment(0xDB, &dqt),
        segment(0xC0, &sof),
        segment(0xC4, &huffman(0x00)),
        segment(0xC4, &huffman(0x10)),
        segment(0xDA, &[1, 1, 0x00, 0, 63, 0]),
        vec![0u8; blocks * 2 / 8],
        vec![0xFF, 0xD9],
    ]
    .concat()
}

#[test]
fn a_12_megapixel_photo_becomes_2048_and_320() {
    let photo = ok(&grey_jpeg(4000, 3000, 1));
    assert_eq!((photo.width, photo.height), (4000, 3000));
    assert_eq!((photo.display.width, photo.display.height), (2048, 1536));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (320, 240));
    assert_eq!(decoded(&photo.display.bytes).dimensions(), (2048, 1536));
    assert_eq!(decoded(&photo.thumbnail.bytes).dimensions(), (320, 240));
    assert_colour(
        &decoded(&photo.display.bytes),
        1000,
        700,
        [128, 128, 128],
        "grey",
    );
    assert_eq!(photo.source_mime, "image/jpeg");
}

#[test]
fn small_photos_are_not_upscaled() {
    let photo = ok(&jpeg(&noisy(300, 200), None));
    assert_eq!((photo.display.width, photo.display.height), (300, 200));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (300, 200));
    let photo = ok(&png_rgb(&flat(1000, 10, WHITE)));
    assert_eq!((photo.display.width, photo.display.height), (1000, 10));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (320, 3));
}

#[test]
fn a_transparent_png_goes_on_white() {
    // Left half clear, right half opaque blue.
    let image = RgbaImage::from_fn(64, 32, |x, _| {
        image::Rgba(if x < 32 {
            [0, 0, 0, 0]
        } else {
            [0, 0, 255, 255]
        })
    });
    let photo = ok(&png_rgba(&image, None));
    let shown = decoded(&photo.display.bytes);
    assert_colour(&shown, 4, 16, WHITE, "transparent part");
    assert_colour(&shown, 60, 16, BLUE, "opaque part");
}

#[test]
fn keeps_the_original_only_when_asked() {
    let file = with_exif(vec![], trafalgar());
    assert_eq!(ok(&file).original, None);
    let kept = ingest(
        &file,
        None,
        &Settings {
            keep_original: true,
            ..defaults()
        },
    )
    .expect("ingest");
    assert_eq!(kept.original.as_deref(), Some(file.as_slice()));
}

#[test]
fn same_input_same_bytes_and_hashes() {
    let file = jpeg(
        &noisy(640, 480),
        Some(tiff(vec![(ORIENTATION, V::Short(6))], vec![], trafalgar())),
    );
    let (a, b) = (ok(&file), ok(&file));
    assert_eq!(a, b);
    assert_eq!(a.source_sha256, hex::encode(Sha256::digest(&file)));
    assert_eq!(
        a.display.sha256,
        hex::encode(Sha256::digest(&a.display.bytes))
    );
    assert_eq!(
        a.thumbnail.sha256,
        hex::encode(Sha256::digest(&a.thumbnail.bytes))
    );
    assert_ne!(a.display.sha256, a.thumbnail.sha256);
    assert_eq!(a.source_sha256.len(), 64);
}
