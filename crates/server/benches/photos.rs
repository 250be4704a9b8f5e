//! Photo upload throughput on loopback (issue 5, BENCHMARKS.md): the real `fieldbook-server`
//! binary on its embedded store, a real encrypted device store, and `fieldbook_client`'s
//! resumable upload (512 KiB chunks, each a durable write on the server, the whole blob hashed
//! and put in the blob directory at the end). Baseline in the same run: copying the same bytes
//! from one file to another on the same disk, with and without `fsync`.
//!
//! `cargo bench -p fieldbook-server --bench photos` (`-- --quick` for a smoke run).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fieldbook_core::{Role, Timestamp};
use fieldbook_store::media::{BlobIn, PhotoIn};
use fieldbook_store::{DeviceSetup, Store};
use rand::RngCore as _;

const BIN: &str = env!("CARGO_BIN_EXE_fieldbook-server");
const PASSWORD: &str = "a long server password";

fn admin(data: &Path, args: &[&str]) {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .env("FIELDBOOK_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn random(n: usize) -> Vec<u8> {
    let mut b = vec![0u8; n];
    rand::rng().fill_bytes(&mut b);
    b
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb_per_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1_000_000.0 / d.as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (size, runs) = if quick { (1 << 20, 2) } else { (8 << 20, 7) };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    admin(&data, &["team", "add", "North"]);
    admin(
        &data,
        &[
            "user", "add", "--name", "olive", "--role", "officer", "--team", "North",
        ],
    );
    let mut server = Command::new(BIN)
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_string();

    let mut store = Store::init(
        &dir.path().join("device"),
        "device passphrase",
        DeviceSetup {
            person_name: "olive".into(),
            role: Role::Officer,
            device_number: 1,
        },
        Timestamp(1_790_000_000_000),
    )
    .unwrap();
    fieldbook_client::login(&mut store, &base, "olive", PASSWORD, 1_790_000_000_000).unwrap();

    let mut upload = Vec::new();
    let mut copy = Vec::new();
    let mut copy_synced = Vec::new();
    for _ in 0..runs {
        // A new photo each run (random bytes: nothing to deduplicate), stored on the device.
        let full = random(size);
        let thumb = random(8 * 1024);
        fn blob(data: &[u8]) -> BlobIn<'_> {
            BlobIn {
                mime: "image/jpeg",
                width: 1,
                height: 1,
                data,
            }
        }
        store
            .put_photo(&PhotoIn {
                source_sha256: None,
                full: blob(&full),
                thumb: blob(&thumb),
                original: None,
            })
            .unwrap();
        let started = Instant::now();
        let report = fieldbook_client::transfer_photos(&mut store).unwrap();
        upload.push(started.elapsed());
        assert_eq!(report.uploaded, 2);
        assert_eq!(report.bytes_sent, (full.len() + thumb.len()) as u64);

        // Baseline: the same bytes copied file to file on the same disk.
        let from = dir.path().join("from.bin");
        std::fs::write(&from, &full).unwrap();
        let to = dir.path().join("to.bin");
        let started = Instant::now();
        std::fs::copy(&from, &to).unwrap();
        copy.push(started.elapsed());
        let started = Instant::now();
        let mut f = std::fs::File::create(&to).unwrap();
        f.write_all(&std::fs::read(&from).unwrap()).unwrap();
        f.sync_all().unwrap();
        copy_synced.push(started.elapsed());
    }
    let _ = server.kill();
    let _ = server.wait();
    let (u, c, cs) = (median(upload), median(copy), median(copy_synced));
    println!("| Measurement | Median of {runs} | Throughput |");
    println!("|---|---|---|");
    println!(
        "| Upload of a {} MiB photo + 8 KiB thumbnail, `fieldbook_client::transfer_photos` to `fieldbook-server` on 127.0.0.1 (SQLite store, 512 KiB chunks) | {:.1} ms | **{:.0} MB/s** |",
        size >> 20,
        u.as_secs_f64() * 1000.0,
        mb_per_s(size, u)
    );
    println!(
        "| Baseline: `std::fs::copy` of the same bytes on the same disk | {:.1} ms | {:.0} MB/s |",
        c.as_secs_f64() * 1000.0,
        mb_per_s(size, c)
    );
    println!(
        "| Baseline: read + write + `fsync` of the same bytes | {:.1} ms | {:.0} MB/s |",
        cs.as_secs_f64() * 1000.0,
        mb_per_s(size, cs)
    );
}
