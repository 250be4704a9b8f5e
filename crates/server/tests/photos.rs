//! `/photos/v1/blobs/{sha256}` end to end (`docs/photos.md`): the real server binary on
//! loopback, uploading in chunks, resuming after a cut and after a restart, refusing what it
//! must, and sending a blob only to the devices whose user may see a case referencing it (the
//! case pushed by a real device store through `/sync/v1/sync`). Every test runs on both server
//! stores: SQLite with its blobs in `DIR/blobs`, PostgreSQL with `--blob-url file:///…`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::{Backend, Device, Location, PASSWORD, Server, admin_ok_at, client, device, seed_at};
use fieldbook_core::{CaseKind, NewCase, PhotoRef, Role, Timestamp};
use fieldbook_sync::{PROTOCOL, PushedCase, SyncRequest, SyncResponse, heads_hex};
use rand::RngCore as _;
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};

/// Runs each named test, an `async fn(Backend)`, once on SQLite and once on PostgreSQL.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

both_backends!(
    a_photo_uploads_in_chunks_and_reaches_only_those_who_may_see_its_case,
    a_cut_upload_resumes_from_the_offset_the_server_reports,
    an_upload_resumes_after_the_server_restarts,
    bytes_that_do_not_match_the_name_are_refused_and_discarded,
    bad_uploads_and_requests_get_their_documented_answers,
    an_upload_whole_in_the_database_but_not_stored_finishes_with_an_empty_patch,
);

const MIB: usize = 1024 * 1024;
const CHUNK: &str = "application/offset+octet-stream";

/// A seeded server (team North: officers olive and owen, team leader lena) with a blob store,
/// and what it runs on, so it can be restarted.
struct Env {
    server: Option<Server>,
    location: Location,
    extra: Vec<String>,
    blob_dir: PathBuf,
    dir: tempfile::TempDir,
    _pg: Option<fieldbook_testkit::PgDatabase>,
}

impl Env {
    fn start(backend: Backend) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let (location, pg) = backend.location(dir.path());
        seed_at(&location);
        let (blob_dir, extra) = match &location {
            Location::Data(data) => (data.join("blobs"), Vec::new()),
            Location::Url(_) => {
                let blobs = dir.path().join("object-store");
                let url = format!("file://{}", blobs.display());
                (blobs, vec!["--blob-url".to_string(), url])
            }
        };
        let mut env = Env {
            server: None,
            location,
            extra,
            blob_dir,
            dir,
            _pg: pg,
        };
        env.restart();
        env
    }

    /// Stops the server (if running) and starts it again on the same data.
    fn restart(&mut self) {
        self.server = None;
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        self.server = Some(Server::start_at(
            &self.location,
            &self.dir.path().join("server.stderr.log"),
            &extra,
        ));
    }

    fn url(&self, sha: &str) -> String {
        self.server
            .as_ref()
            .unwrap()
            .url(&format!("/photos/v1/blobs/{sha}"))
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// Where the blob store keeps a blob.
    fn blob_file(&self, sha: &str) -> PathBuf {
        self.blob_dir.join("sha256").join(&sha[..2]).join(sha)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // The server stops before its database goes.
        self.server = None;
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Device {
    /// Opens a case holding a photo (`sha`, with thumbnail `thumb`) and pushes it to the server.
    async fn push_case_with_photo(&mut self, env: &Env, sha: &str, thumb: &str) {
        let case = self
            .store
            .create_case(
                CaseKind::General,
                NewCase {
                    title: "Fly-tipping behind the library".into(),
                    ..NewCase::default()
                },
                Timestamp(1_790_000_000_000),
            )
            .unwrap()
            .id;
        let photo = PhotoRef {
            sha256: sha.into(),
            bytes: 1000,
            mime: "image/jpeg".into(),
            width: 2048,
            height: 1536,
            taken_at: None,
            location: None,
            caption: "Bags by the bins".into(),
            visit: None,
            thumb_sha256: Some(thumb.into()),
        };
        self.store
            .change_case(case, Timestamp(1_790_000_001_000), |c, a| {
                c.add_photo(photo, a)?;
                Ok("photo".into())
            })
            .unwrap();
        let req = SyncRequest {
            protocol: PROTOCOL,
            batch_id: uuid::Uuid::new_v4().to_string(),
            since: self.store.sync_since().unwrap(),
            applied: None,
            push: self
                .store
                .outgoing(50)
                .unwrap()
                .into_iter()
                .map(|o| PushedCase {
                    case_id: o.case_id,
                    base_heads: heads_hex(&o.base_heads),
                    changes: o.changes,
                    heads: heads_hex(&o.sent_heads),
                })
                .collect(),
            page_size: 50,
        };
        let res = client()
            .post(env.server().url("/sync/v1/sync"))
            .bearer_auth(&self.token)
            .json(&req)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let res: SyncResponse = res.json().await.unwrap();
        assert!(res.refused.is_empty(), "{:?}", res.refused);
        assert_eq!(res.acks.len(), 1);
    }
}

/// PATCHes one chunk; the response.
async fn patch(
    env: &Env,
    token: &str,
    sha: &str,
    total: usize,
    offset: usize,
    chunk: &[u8],
) -> reqwest::Response {
    client()
        .patch(env.url(sha))
        .bearer_auth(token)
        .header("Content-Type", CHUNK)
        .header("Upload-Length", total.to_string())
        .header("Upload-Offset", offset.to_string())
        .body(chunk.to_vec())
        .send()
        .await
        .unwrap()
}

fn header(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// Uploads `bytes` under `sha` from `from`, in 1 MiB chunks; the last answer.
async fn upload_from(
    env: &Env,
    token: &str,
    sha: &str,
    bytes: &[u8],
    from: usize,
) -> reqwest::Response {
    let mut offset = from;
    loop {
        let end = (offset + MIB).min(bytes.len());
        let res = patch(env, token, sha, bytes.len(), offset, &bytes[offset..end]).await;
        if end == bytes.len() || res.status() != StatusCode::NO_CONTENT {
            return res;
        }
        assert_eq!(header(&res, "upload-offset"), Some(end.to_string()));
        offset = end;
    }
}

async fn head(env: &Env, token: &str, sha: &str) -> reqwest::Response {
    client()
        .head(env.url(sha))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn get(env: &Env, token: &str, sha: &str) -> reqwest::Response {
    client()
        .get(env.url(sha))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn code_of(res: reqwest::Response) -> (StatusCode, serde_json::Value) {
    let status = res.status();
    (status, res.json().await.unwrap())
}

/// HEAD says the server holds the whole blob of `len` bytes.
async fn assert_complete(env: &Env, token: &str, sha: &str, len: usize) {
    let res = head(env, token, sha).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "upload-offset"), Some(len.to_string()));
    assert_eq!(header(&res, "x-blob-complete").as_deref(), Some("true"));
}

fn assert_stored(env: &Env, sha: &str, bytes: &[u8]) {
    let on_disk = std::fs::read(env.blob_file(sha)).unwrap();
    assert!(on_disk == bytes, "the stored blob differs from the upload");
}

async fn a_photo_uploads_in_chunks_and_reaches_only_those_who_may_see_its_case(backend: Backend) {
    let env = Env::start(backend);
    let mut olive = device(env.server(), "olive", Role::Officer).await;
    let lena = device(env.server(), "lena", Role::TeamLeader).await;
    let owen = device(env.server(), "owen", Role::Officer).await;
    let photo = random_bytes(5 * MIB / 2);
    let sha = sha256_hex(&photo);
    let thumb = random_bytes(20_000);
    let thumb_sha = sha256_hex(&thumb);

    assert_eq!(head(&env, &olive.token, &sha).await.status(), 404);
    let res = upload_from(&env, &olive.token, &sha, &photo, 0).await;
    assert_eq!(res.status(), 204);
    assert_eq!(header(&res, "upload-offset"), Some(photo.len().to_string()));
    assert_complete(&env, &olive.token, &sha, photo.len()).await;
    assert_stored(&env, &sha, &photo);
    let res = upload_from(&env, &olive.token, &thumb_sha, &thumb, 0).await;
    assert_eq!(res.status(), 204);

    // Sending a chunk of a blob the server holds whole changes nothing.
    let res = patch(&env, &olive.token, &sha, photo.len(), 0, &photo[..MIB]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-blob-complete").as_deref(), Some("true"));

    // Nobody may fetch a blob no case references, not even its uploader.
    let (status, body) = code_of(get(&env, &olive.token, &sha).await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (404, Some("not_found"))
    );

    // Once olive's case references it: olive and her team leader get it, another officer not.
    olive.push_case_with_photo(&env, &sha, &thumb_sha).await;
    for (who, token) in [("olive", &olive.token), ("lena", &lena.token)] {
        for (name, bytes) in [(&sha, &photo), (&thumb_sha, &thumb)] {
            let res = get(&env, token, name).await;
            assert_eq!(res.status(), 200, "{who}");
            assert_eq!(header(&res, "content-type").as_deref(), Some("image/jpeg"));
            let got = res.bytes().await.unwrap();
            assert!(got.as_ref() == bytes.as_slice(), "{who} got other bytes");
        }
    }
    for name in [&sha, &thumb_sha] {
        let (status, body) = code_of(get(&env, &owen.token, name).await).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (404, Some("not_found"))
        );
    }
    // A blob the server lacks: the same answer.
    let (status, _) = code_of(get(&env, &olive.token, &"ab".repeat(32)).await).await;
    assert_eq!(status, 404);
}

async fn a_cut_upload_resumes_from_the_offset_the_server_reports(backend: Backend) {
    let env = Env::start(backend);
    let olive = device(env.server(), "olive", Role::Officer).await;
    let photo = random_bytes(5 * MIB / 2);
    let sha = sha256_hex(&photo);

    // The first chunk arrives, then the connection is gone.
    let res = patch(&env, &olive.token, &sha, photo.len(), 0, &photo[..MIB]).await;
    assert_eq!(res.status(), 204);
    let res = head(&env, &olive.token, &sha).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "upload-offset"), Some(MIB.to_string()));
    assert_eq!(header(&res, "upload-length"), Some(photo.len().to_string()));
    assert_eq!(header(&res, "x-blob-complete"), None);

    // A chunk from anywhere else is refused with where to resume.
    for wrong in [0, 2 * MIB] {
        let end = (wrong + MIB).min(photo.len());
        let res = patch(
            &env,
            &olive.token,
            &sha,
            photo.len(),
            wrong,
            &photo[wrong..end],
        )
        .await;
        assert_eq!(header(&res, "upload-offset"), Some(MIB.to_string()));
        let (status, body) = code_of(res).await;
        assert_eq!(status, 409);
        assert_eq!(body["code"], "offset_mismatch");
        assert_eq!(body["offset"], MIB);
    }
    let res = upload_from(&env, &olive.token, &sha, &photo, MIB).await;
    assert_eq!(res.status(), 204);
    assert_complete(&env, &olive.token, &sha, photo.len()).await;
    assert_stored(&env, &sha, &photo);
}

async fn an_upload_resumes_after_the_server_restarts(backend: Backend) {
    let mut env = Env::start(backend);
    let olive = device(env.server(), "olive", Role::Officer).await;
    let photo = random_bytes(5 * MIB / 2);
    let sha = sha256_hex(&photo);

    let res = patch(&env, &olive.token, &sha, photo.len(), 0, &photo[..MIB]).await;
    assert_eq!(res.status(), 204);
    env.restart();
    let res = head(&env, &olive.token, &sha).await;
    assert_eq!(header(&res, "upload-offset"), Some(MIB.to_string()));
    let res = patch(
        &env,
        &olive.token,
        &sha,
        photo.len(),
        MIB,
        &photo[MIB..2 * MIB],
    )
    .await;
    assert_eq!(res.status(), 204);
    env.restart();
    let res = upload_from(&env, &olive.token, &sha, &photo, 2 * MIB).await;
    assert_eq!(res.status(), 204);
    assert_complete(&env, &olive.token, &sha, photo.len()).await;
    assert_stored(&env, &sha, &photo);
}

async fn bytes_that_do_not_match_the_name_are_refused_and_discarded(backend: Backend) {
    let env = Env::start(backend);
    let olive = device(env.server(), "olive", Role::Officer).await;
    let photo = random_bytes(3 * MIB / 2);
    let sha = sha256_hex(&photo);
    let mut wrong = photo.clone();
    wrong[MIB + 10] ^= 0xff;

    let res = upload_from(&env, &olive.token, &sha, &wrong, 0).await;
    let (status, body) = code_of(res).await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "hash_mismatch");
    assert_eq!(head(&env, &olive.token, &sha).await.status(), 404);
    assert!(!env.blob_file(&sha).exists());
    // Sent again, right, from the start: stored.
    let res = upload_from(&env, &olive.token, &sha, &photo, 0).await;
    assert_eq!(res.status(), 204);
    assert_stored(&env, &sha, &photo);
}

async fn bad_uploads_and_requests_get_their_documented_answers(backend: Backend) {
    let env = Env::start(backend);
    let olive = device(env.server(), "olive", Role::Officer).await;
    let token = &olive.token;
    let sha = sha256_hex(b"a photo");

    // Over 40 MiB in all.
    let res = patch(&env, token, &sha, 40 * MIB + 1, 0, b"a photo").await;
    let (status, body) = code_of(res).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (413, Some("too_large"))
    );
    assert!(
        body["message"].as_str().unwrap().contains("40 MiB"),
        "{body}"
    );
    // A chunk over the 1 MiB body limit.
    let big = random_bytes(MIB + 1);
    let res = patch(&env, token, &sha256_hex(&big), big.len(), 0, &big).await;
    let (status, body) = code_of(res).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (413, Some("body_too_large"))
    );
    // Not a hash, on every method.
    for bad in ["ABCD".repeat(16), "ab".repeat(31), "zz".repeat(32)] {
        let (status, body) = code_of(patch(&env, token, &bad, 7, 0, b"a photo").await).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("invalid_hash"))
        );
        let (status, body) = code_of(get(&env, token, &bad).await).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("invalid_hash"))
        );
        assert_eq!(head(&env, token, &bad).await.status(), 400);
    }
    // Wrong content type; missing or mangled offset; a chunk past the length.
    let res = client()
        .patch(env.url(&sha))
        .bearer_auth(token)
        .header("Content-Type", "image/jpeg")
        .header("Upload-Length", "7")
        .header("Upload-Offset", "0")
        .body(b"a photo".to_vec())
        .send()
        .await
        .unwrap();
    let (status, body) = code_of(res).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    for offset in [None, Some("-1"), Some("1e3")] {
        let mut req = client()
            .patch(env.url(&sha))
            .bearer_auth(token)
            .header("Content-Type", CHUNK)
            .header("Upload-Length", "7");
        if let Some(o) = offset {
            req = req.header("Upload-Offset", o);
        }
        let (status, body) = code_of(req.body(b"a photo".to_vec()).send().await.unwrap()).await;
        assert_eq!(
            (status.as_u16(), body["code"].as_str()),
            (400, Some("invalid_upload_header")),
            "{offset:?}"
        );
    }
    let (status, body) = code_of(patch(&env, token, &sha, 3, 0, b"a photo").await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (400, Some("chunk_past_end"))
    );
    // A first chunk that does not start at 0.
    let (status, body) = code_of(patch(&env, token, &sha, 7, 2, b"hoto").await).await;
    assert_eq!(
        (
            status.as_u16(),
            body["code"].as_str(),
            body["offset"].as_u64()
        ),
        (409, Some("offset_mismatch"), Some(0))
    );

    // No token, a token nobody issued, a revoked device: 401 on every method.
    let res = client().get(env.url(&sha)).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(
        client().head(env.url(&sha)).send().await.unwrap().status(),
        401
    );
    let (status, body) = code_of(patch(&env, "not-a-token", &sha, 7, 0, b"a photo").await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (401, Some("unauthorised"))
    );
    admin_ok_at(
        &env.location,
        &[
            "device",
            "revoke",
            &olive.device_id,
            "--reason",
            "lost on the bus",
        ],
        None,
    );
    let (status, body) = code_of(patch(&env, token, &sha, 7, 0, b"a photo").await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (401, Some("device_revoked"))
    );
    assert_eq!(head(&env, token, &sha).await.status(), 401);
    let (status, body) = code_of(get(&env, token, &sha).await).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (401, Some("device_revoked"))
    );
}

async fn an_upload_whole_in_the_database_but_not_stored_finishes_with_an_empty_patch(
    backend: Backend,
) {
    let env = Env::start(backend);
    let olive = device(env.server(), "olive", Role::Officer).await;
    let photo = random_bytes(MIB + 1000);
    let sha = sha256_hex(&photo);
    // As a server that stopped after committing the last chunk and before storing the blob
    // leaves it.
    // (The PostgreSQL store is a blocking client: off the test's runtime.)
    let location = env.location.to_store();
    let device_id = uuid::Uuid::parse_str(&olive.device_id).unwrap();
    let (name, bytes) = (sha.clone(), photo.clone());
    tokio::task::spawn_blocking(move || {
        let (sha, photo) = (name, bytes);
        let store = fieldbook_server::store::open(&location).unwrap();
        store
            .transaction(|tx| {
                tx.start_upload(&fieldbook_server::store::Upload {
                    sha256: sha.clone(),
                    total: photo.len() as u64,
                    received: 0,
                    started_by_device: device_id,
                    started_at: 1_790_000_000_000,
                })?;
                tx.append_upload_chunk(&sha, 0, &photo[..MIB])?;
                tx.append_upload_chunk(&sha, MIB as u64, &photo[MIB..])
            })
            .unwrap();
    })
    .await
    .unwrap();
    let res = head(&env, &olive.token, &sha).await;
    assert_eq!(header(&res, "upload-offset"), Some(photo.len().to_string()));
    assert_eq!(header(&res, "upload-length"), Some(photo.len().to_string()));
    assert_eq!(header(&res, "x-blob-complete"), None);
    let res = patch(&env, &olive.token, &sha, photo.len(), photo.len(), &[]).await;
    assert_eq!(res.status(), 204);
    assert_eq!(header(&res, "x-blob-complete").as_deref(), Some("true"));
    assert_complete(&env, &olive.token, &sha, photo.len()).await;
    assert_stored(&env, &sha, &photo);
}

/// A PostgreSQL server has no data directory: without `--blob-url` it serves sync but says
/// plainly that it takes no photos.
#[tokio::test]
async fn a_postgres_server_without_a_blob_store_takes_no_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (location, _pg) = Backend::Postgres.location(dir.path());
    seed_at(&location);
    let server = Server::start_at(&location, &dir.path().join("server.log"), &[]);
    let (status, body) = common::register(
        &server,
        &common::register_body("olive", PASSWORD, "0190f5d2-54a1-7c3e-8d2b-3f4a5b6c7d8e", 9),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = body["token"].as_str().unwrap();
    let res = client()
        .get(server.url(&format!("/photos/v1/blobs/{}", "ab".repeat(32))))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let (status, body) = code_of(res).await;
    assert_eq!(
        (status.as_u16(), body["code"].as_str()),
        (503, Some("photos_unavailable"))
    );
    assert!(server.logs().contains("--blob-url"), "{}", server.logs());
    drop(server);
}

/// `--blob-url` that names no usable store stops the server before it listens.
#[test]
fn a_bad_blob_url_is_refused_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = std::process::Command::new(common::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--blob-url",
            "ftp://blobs",
        ])
        .arg("--data")
        .arg(&data)
        .env_remove("FIELDBOOK_BLOB_URL")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("expected file:///path or s3://bucket/prefix"),
        "{stderr}"
    );
}

// ------------------------------------------------------------------- devices, end to end

/// A photo-like PNG (noise, so its display JPEG is larger than one upload chunk).
fn noisy_png(width: u32, height: u32) -> Vec<u8> {
    let mut noise = random_bytes((width * height * 3) as usize);
    for (i, b) in noise.iter_mut().enumerate() {
        *b = b.wrapping_add((i % 251) as u8);
    }
    let mut out = Vec::new();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut out),
        &noise,
        width,
        height,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    out
}

/// An officer's photo reaches her team leader's device through the real server: the case
/// first, then the bytes; the upload resumes from what the server already holds (as after a
/// cut connection); the leader's device fetches the thumbnail with the sync and the full
/// image when it is opened, each checked against its hash.
fn a_photo_taken_offline_reaches_the_team_leaders_device(backend: Backend) {
    use fieldbook_app::{self as app, AddPhotoArgs, NewCaseArgs};
    let env = Env::start(backend);
    let base = env.server().base.clone();
    let olive = common::app_device(&base, "olive", "officer");
    let lena = common::app_device(&base, "lena", "team_leader");
    let case = app::create_case(
        &olive.ctx,
        NewCaseArgs {
            kind: "food_hygiene".into(),
            title: "Mill Cafe".into(),
            ..Default::default()
        },
    )
    .unwrap()
    .reference;
    let photo = app::add_photo(
        &olive.ctx,
        AddPhotoArgs {
            case: case.clone(),
            file_name: Some("yard.png".into()),
            visit: None,
            caption: Some("Yard".into()),
        },
        &noisy_png(1800, 1200),
    )
    .unwrap()
    .photo;
    let sha = photo.sha256.clone();
    let (_, full) = app::photo_data(&olive.ctx, &case, &sha, "full").unwrap();
    let (_, thumb) = app::photo_data(&olive.ctx, &case, &sha, "thumb").unwrap();
    let chunk = fieldbook_client::CHUNK;
    assert!(full.len() > chunk, "{} bytes", full.len());

    // The first chunk already reached the server (an upload cut short).
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let owen = device(env.server(), "owen", Role::Officer).await;
        let res = patch(&env, &owen.token, &sha, full.len(), 0, &full[..chunk]).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    });

    olive.sync();
    let sent = app::sync_photos(&olive.ctx).unwrap();
    assert_eq!(sent.uploaded, 2, "{sent:?}");
    assert_eq!(
        sent.bytes_sent,
        (full.len() - chunk + thumb.len()) as u64,
        "only what the server lacked"
    );
    assert_stored(&env, &sha, &full);
    let again = app::sync_photos(&olive.ctx).unwrap();
    assert_eq!((again.uploaded, again.bytes_sent), (0, 0));

    lena.sync();
    let got = app::sync_photos(&lena.ctx).unwrap();
    assert_eq!((got.thumbnails, got.waiting), (1, 0), "{got:?}");
    let shown = app::open_case(&lena.ctx, &case).unwrap();
    assert_eq!(shown.photos[0].held, vec!["thumb"]);
    assert_eq!(shown.photos[0].caption, "Yard");
    assert_eq!(
        app::photo_data(&lena.ctx, &case, &sha, "thumb").unwrap().1,
        thumb
    );
    assert_eq!(
        app::photo_data(&lena.ctx, &case, &sha, "full")
            .unwrap_err()
            .code(),
        "invalid_input",
        "not fetched yet"
    );
    assert!(app::fetch_photo(&lena.ctx, &case, &sha).unwrap());
    assert_eq!(
        app::photo_data(&lena.ctx, &case, &sha, "full").unwrap().1,
        full
    );
    assert_eq!(
        app::sync_photos(&lena.ctx).unwrap().uploaded,
        0,
        "nothing to send back"
    );
}

#[test]
fn a_photo_taken_offline_reaches_the_team_leaders_device_sqlite() {
    a_photo_taken_offline_reaches_the_team_leaders_device(Backend::Sqlite);
}

#[test]
fn a_photo_taken_offline_reaches_the_team_leaders_device_postgres() {
    a_photo_taken_offline_reaches_the_team_leaders_device(Backend::Postgres);
}
