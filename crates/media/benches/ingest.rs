//! Photo ingest benchmark (issue 5): a 12-megapixel JPEG to a display version and a thumbnail.
//!
//! `cargo bench -p fieldbook-media` prints Markdown tables: fieldbook-media's `ingest` in this
//! process (single-threaded by construction) against ImageMagick's `convert` and libvips'
//! `vipsthumbnail` run as processes on the same file in the same run, each pinned to one core
//! (`taskset`, one thread) and with its default threads; then ingest's steps one by one. Every
//! contender runs once per round, round after round, so a shared machine's changing load falls
//! on all alike. Process times include process start. The input is made with ImageMagick
//! (`plasma:fractal`, quality 92, fixed seed) when it is installed, else in Rust.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use fieldbook_media::{DISPLAY_QUALITY, Settings, THUMBNAIL_QUALITY, ingest};
use image::ImageDecoder;
use image::codecs::jpeg::JpegDecoder;
use sha2::{Digest, Sha256};

const RUNS: usize = 15;
const TARGET_MS: f64 = 300.0;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; filter arguments are ignored.
    let dir = tempfile::tempdir()?;
    let convert = real_convert();
    let input = dir.path().join("in.jpg");
    let made_by = make_input(&input, convert.as_deref())?;
    let bytes = std::fs::read(&input)?;
    let rotated = with_orientation(&bytes, 6);
    let (w, h) = image::image_dimensions(&input)?;
    println!(
        "Input: {w}x{h} JPEG, {:.2} MB ({made_by}); {RUNS} rounds; load average at start: {}",
        bytes.len() as f64 / 1e6,
        load_average()
    );
    let settings = Settings::default();

    // Peak memory of one ingest, first, before anything else has grown the heap.
    let rss_before = proc_status_kb("VmRSS");
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
    ingest(&bytes, Some("in.jpg"), &settings)?;
    let peak = proc_status_kb("VmHWM");

    // Declared before the contenders, which borrow it.
    let steps = Steps::new(&bytes)?;
    let mut contenders: Vec<Contender> = vec![
        Contender::in_process(
            "fieldbook-media `ingest` (in process, 1 thread)",
            Box::new(|| {
                let p = ingest(&bytes, Some("in.jpg"), &settings)?;
                Ok((p.display.bytes, p.thumbnail.bytes))
            }),
        ),
        Contender::in_process(
            "fieldbook-media, same pixels with EXIF orientation 6",
            Box::new(|| {
                let p = ingest(&rotated, None, &settings)?;
                Ok((p.display.bytes, p.thumbnail.bytes))
            }),
        ),
    ];

    // Baselines, as processes, producing the same two outputs from the same file.
    let one_core = Path::new("/usr/bin/taskset").exists();
    if let Some(convert) = &convert {
        for (label, threads) in [
            ("ImageMagick `convert`, 1 thread", Some("1")),
            ("ImageMagick `convert`, default threads", None),
        ] {
            let (d, t) = outputs(dir.path(), contenders.len());
            // One process, one decode, both outputs (the thumbnail from the display version,
            // as ours); -strip so that, like ours, they carry no metadata.
            let args = [
                input.display().to_string(),
                "-auto-orient".into(),
                "-strip".into(),
                "-resize".into(),
                "2048x2048".into(),
                "-quality".into(),
                DISPLAY_QUALITY.to_string(),
                "-write".into(),
                d.display().to_string(),
                "-resize".into(),
                "320x320".into(),
                "-quality".into(),
                THUMBNAIL_QUALITY.to_string(),
                t.display().to_string(),
            ];
            let convert = convert.clone();
            let run = move || {
                let mut c = pinned(&convert, threads.is_some() && one_core);
                c.args(&args);
                if let Some(n) = threads {
                    c.env("MAGICK_THREAD_LIMIT", n);
                }
                run_ok(c)
            };
            contenders.push(Contender::process(label, (d, t), Box::new(run)));
        }
    } else {
        println!("(ImageMagick's convert not found: apt-get install imagemagick)");
    }
    if which("vipsthumbnail") {
        for (label, threads) in [
            ("libvips `vipsthumbnail`, 1 thread", Some("1")),
            ("libvips `vipsthumbnail`, default threads", None),
        ] {
            let (d, t) = outputs(dir.path(), contenders.len());
            let jobs = [
                (2048, DISPLAY_QUALITY, d.clone()),
                (320, THUMBNAIL_QUALITY, t.clone()),
            ];
            let input = input.clone();
            // Two processes: vipsthumbnail writes one size a call, each decoding with
            // shrink-on-load, its fastest path.
            let run = move || {
                for (size, quality, out) in &jobs {
                    let mut c = pinned(Path::new("vipsthumbnail"), threads.is_some() && one_core);
                    c.arg(&input).args(["-s", &size.to_string(), "-o"]);
                    c.arg(format!("{}[Q={quality},strip]", out.display()));
                    if let Some(n) = threads {
                        c.env("VIPS_CONCURRENCY", n);
                    }
                    run_ok(c)?;
                }
                Ok(())
            };
            contenders.push(Contender::process(label, (d, t), Box::new(run)));
        }
    } else {
        println!("(vipsthumbnail not found: apt-get install libvips-tools)");
    }
    let main_rows = contenders.len();
    contenders.extend(steps.contenders());

    // One warm-up each, then round-robin, so that the shared machine's load drifts over all alike.
    for c in &mut contenders {
        c.run_once()?;
        c.took = Took::default();
    }
    for _ in 0..RUNS {
        for c in &mut contenders {
            c.run_once()?;
        }
    }

    let ours = ms(median(&contenders[0].took.wall));
    println!();
    println!("| | median | p95 | CPU per run | vs fieldbook-media | display | thumbnail |");
    println!("|---|---:|---:|---:|---:|---|---|");
    for c in &contenders[..main_rows] {
        let (display, thumbnail) = c.outputs()?;
        let median_ms = ms(median(&c.took.wall));
        println!(
            "| {} | {:.0} ms | {:.0} ms | {:.0} ms | {:.2}× | {} | {} |",
            c.label,
            median_ms,
            ms(p95(&c.took.wall)),
            ms(median(&c.took.cpu)),
            median_ms / ours,
            describe(&display),
            describe(&thumbnail),
        );
    }
    println!();
    println!(
        "fieldbook-media's steps, each made with the same crates on its own, median of {RUNS}:"
    );
    println!();
    println!("| step | median |");
    println!("|---|---:|");
    let mut sum = 0.0;
    for c in &contenders[main_rows..] {
        let step = ms(median(&c.took.wall));
        sum += step;
        println!("| {} | {step:.1} ms |", c.label);
    }
    println!(
        "| sum of the steps (ingest itself: {ours:.0} ms; it also walks the JPEG to its end marker and reads EXIF) | {sum:.1} ms |"
    );
    println!();
    println!(
        "Peak RSS of one ingest: {:.0} MiB (VmHWM; the process held {:.0} MiB before, input included).",
        peak as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );
    let imagemagick = contenders[..main_rows]
        .iter()
        .find(|c| c.label.starts_with("ImageMagick") && c.label.contains("1 thread"))
        .map(|c| ms(median(&c.took.wall)));
    println!(
        "Target: <= {TARGET_MS:.0} ms on one core ({}: {ours:.0} ms median) and faster than ImageMagick on one core ({}).",
        if ours <= TARGET_MS { "met" } else { "MISSED" },
        imagemagick.map_or("not measured".to_owned(), |im| format!(
            "{}: {im:.0} ms, {:.1}× ours",
            if ours < im { "met" } else { "MISSED" },
            im / ours
        )),
    );
    println!("Load average at end: {}", load_average());
    Ok(())
}

type Outputs = (Vec<u8>, Vec<u8>);
type Run<'a, T> = Box<dyn FnMut() -> Result<T> + 'a>;

/// One thing timed: `ingest`, a baseline command, or one step of ingest.
struct Contender<'a> {
    label: String,
    run: Run<'a, Option<Outputs>>,
    /// Count the CPU time of waited-for child processes rather than this thread's.
    children: bool,
    files: Option<(PathBuf, PathBuf)>,
    last: Option<Outputs>,
    took: Took,
}

/// Wall and CPU time of each run.
#[derive(Default)]
struct Took {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl<'a> Contender<'a> {
    fn in_process(label: &str, mut run: Run<'a, Outputs>) -> Self {
        Contender::new(label, false, None, Box::new(move || run().map(Some)))
    }

    fn step(label: &str, mut run: Run<'a, ()>) -> Self {
        Contender::new(label, false, None, Box::new(move || run().map(|()| None)))
    }

    fn process(label: &str, files: (PathBuf, PathBuf), mut run: Run<'a, ()>) -> Self {
        Contender::new(
            label,
            true,
            Some(files),
            Box::new(move || run().map(|()| None)),
        )
    }

    fn new(
        label: &str,
        children: bool,
        files: Option<(PathBuf, PathBuf)>,
        run: Run<'a, Option<Outputs>>,
    ) -> Self {
        let label = label.to_owned();
        Contender {
            label,
            run,
            children,
            files,
            last: None,
            took: Took::default(),
        }
    }

    fn run_once(&mut self) -> Result<()> {
        let cpu = |children| {
            if children {
                children_cpu()
            } else {
                thread_cpu()
            }
        };
        let (cpu_before, start) = (cpu(self.children), Instant::now());
        let out = (self.run)()?;
        self.took.wall.push(start.elapsed());
        self.took
            .cpu
            .push(cpu(self.children).saturating_sub(cpu_before));
        if out.is_some() {
            self.last = out;
        }
        Ok(())
    }

    fn outputs(&self) -> Result<Outputs> {
        match (&self.last, &self.files) {
            (Some(out), _) => Ok(out.clone()),
            (None, Some((d, t))) => Ok((std::fs::read(d)?, std::fs::read(t)?)),
            (None, None) => Err("no outputs".into()),
        }
    }
}

fn outputs(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    (dir.join(format!("d{n}.jpg")), dir.join(format!("t{n}.jpg")))
}

fn describe(jpeg: &[u8]) -> String {
    let (w, h) = image::load_from_memory(jpeg)
        .map(|i| (i.width(), i.height()))
        .unwrap_or_default();
    format!("{w}x{h}, {} KB", jpeg.len() / 1000)
}

/// The steps of `ingest` made with the same crates, each timed on its own, to see what dominates.
struct Steps<'a> {
    bytes: &'a [u8],
    decoded: image::RgbImage,
    display: Vec<u8>,
    display_size: (u32, u32),
    thumb_size: (u32, u32),
}

impl<'a> Steps<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self> {
        let decoded = decode(bytes)?;
        let (w, h) = decoded.dimensions();
        let display_size = fit(w, h, 2048);
        let thumb_size = fit(display_size.0, display_size.1, 320);
        let display = resize(decoded.as_raw(), (w, h), display_size)?;
        Ok(Steps {
            bytes,
            decoded,
            display,
            display_size,
            thumb_size,
        })
    }

    fn contenders(&self) -> Vec<Contender<'_>> {
        let source = self.decoded.dimensions();
        vec![
            Contender::step(
                "SHA-256 of the input",
                Box::new(|| {
                    std::hint::black_box(Sha256::digest(self.bytes));
                    Ok(())
                }),
            ),
            Contender::step(
                "decode (image 0.25 → zune-jpeg)",
                Box::new(|| {
                    std::hint::black_box(decode(self.bytes)?);
                    Ok(())
                }),
            ),
            Contender::step(
                "resize to the display size (fast_image_resize, Lanczos3)",
                Box::new(move || {
                    let raw = self.decoded.as_raw();
                    std::hint::black_box(resize(raw, source, self.display_size)?);
                    Ok(())
                }),
            ),
            Contender::step(
                "encode the display JPEG (jpeg-encoder, AVX2)",
                Box::new(|| {
                    std::hint::black_box(encode(
                        &self.display,
                        self.display_size,
                        DISPLAY_QUALITY,
                    )?);
                    Ok(())
                }),
            ),
            Contender::step(
                "thumbnail: resize the display version, encode",
                Box::new(|| {
                    let thumb = resize(&self.display, self.display_size, self.thumb_size)?;
                    std::hint::black_box(encode(&thumb, self.thumb_size, THUMBNAIL_QUALITY)?);
                    Ok(())
                }),
            ),
        ]
    }
}

fn decode(bytes: &[u8]) -> Result<image::RgbImage> {
    let mut decoder = JpegDecoder::new(std::io::Cursor::new(bytes))?;
    let _ = decoder.exif_metadata()?;
    Ok(image::DynamicImage::from_decoder(decoder)?.into_rgb8())
}

fn resize(src: &[u8], (sw, sh): (u32, u32), (dw, dh): (u32, u32)) -> Result<Vec<u8>> {
    let source = ImageRef::new(sw, sh, src, PixelType::U8x3)?;
    let mut target = Image::new(dw, dh, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(&source, &mut target, &options)?;
    Ok(target.into_vec())
}

fn encode(pixels: &[u8], (w, h): (u32, u32), quality: u8) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    let (w, h) = (u16::try_from(w)?, u16::try_from(h)?);
    encoder.encode(pixels, w, h, jpeg_encoder::ColorType::Rgb)?;
    Ok(out)
}

/// As the crate's own: fit `max` on the long edge, rounded, never larger.
fn fit(w: u32, h: u32, max: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= max {
        return (w, h);
    }
    let scale =
        |s: u32| ((u64::from(s) * u64::from(max) + u64::from(long) / 2) / u64::from(long)) as u32;
    (scale(w), scale(h))
}

/// ImageMagick's real `convert` (not a wrapper script in front of it), if installed.
fn real_convert() -> Option<PathBuf> {
    [
        "/usr/bin/convert",
        "/usr/bin/convert-im6.q16",
        "/usr/bin/magick",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .or_else(|| which("convert").then(|| PathBuf::from("convert")))
}

fn make_input(path: &Path, convert: Option<&Path>) -> Result<&'static str> {
    if let Some(convert) = convert {
        let mut c = Command::new(convert);
        c.args(["-seed", "42", "-size", "4000x3000", "plasma:fractal"]);
        c.args(["-quality", "92"]).arg(path);
        if run_ok(c).is_ok() {
            return Ok("ImageMagick `convert -seed 42 -size 4000x3000 plasma:fractal -quality 92`");
        }
    }
    // Gradients plus noise, so the JPEG has a photo's amount of detail.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let image = image::RgbImage::from_fn(4000, 3000, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state & 0x3F) as u32;
        let wave = ((x as f32 / 37.0).sin() * (y as f32 / 53.0).cos() * 60.0 + 60.0) as u32;
        let channel = |v: u32| v.min(255) as u8;
        image::Rgb([
            channel(x / 16 + n),
            channel(y / 12 + wave),
            channel(wave + n),
        ])
    });
    std::fs::write(path, encode(image.as_raw(), (4000, 3000), 92)?)?;
    Ok("made in Rust: gradients and noise, quality 92")
}

/// The same JPEG with an EXIF APP1 segment carrying only `Orientation`, right after SOI.
fn with_orientation(jpeg: &[u8], orientation: u8) -> Vec<u8> {
    // TIFF header (little-endian, IFD0 at 8); one entry: Orientation (0x0112), SHORT, count 1,
    // the value; no next IFD.
    let tiff = [
        b"II*\0\x08\0\0\0".as_slice(),
        b"\x01\0",
        b"\x12\x01\x03\0\x01\0\0\0",
        &[orientation, 0, 0, 0],
        b"\0\0\0\0",
    ]
    .concat();
    let length = (2 + 6 + tiff.len()) as u16;
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(length.to_be_bytes());
    out.extend(b"Exif\0\0");
    out.extend(tiff);
    out.extend(&jpeg[2..]);
    out
}

fn pinned(program: &Path, one_core: bool) -> Command {
    if one_core {
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run_ok(mut c: Command) -> Result<()> {
    let out = c.output()?;
    if !out.status.success() {
        return Err(format!("{c:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(())
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// This thread's CPU time (/proc/thread-self/schedstat, nanoseconds).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// CPU time of the children waited for (cutime + cstime in /proc/self/stat; 100 ticks a second).
fn children_cpu() -> Duration {
    let ticks = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // Field 3 (state) is rest[0]; cutime and cstime are fields 16 and 17.
            Some(fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?)
        });
    Duration::from_millis(ticks.unwrap_or(0) * 10)
}

fn proc_status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(key)?
                .strip_prefix(':')?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn p95(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    let i = (v.len() * 95).div_ceil(100).saturating_sub(1);
    v.get(i).copied().unwrap_or_default()
}
