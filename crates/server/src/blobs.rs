//! Photo blobs, whole and checked, in an object store (`object_store`): a local directory
//! (`DIR/blobs` of the embedded store, or `--blob-url file:///path`) or S3
//! (`--blob-url s3://bucket/prefix`, credentials and region from the usual `AWS_*` environment).
//! A blob is named by its own SHA-256: `sha256/<first two hex digits>/<64 hex digits>`.
//! Uploads in progress are not here but in the database (`docs/photos.md`), so this holds only
//! blobs that were whole and hashed right when they were put.

use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::path::Path as Key;
use object_store::prefix::PrefixStore;
use object_store::{GetResult, ObjectStore, ObjectStoreExt, PutPayload};

/// What the blob store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The blob store named on the command line cannot be used.
    #[error("{0}")]
    Config(String),
    #[error("blob store error: {0}")]
    Store(#[from] object_store::Error),
}

/// The server's photo blobs. Cheap to clone; holds no per-connection state, so every server
/// node over the same object store sees the same blobs.
#[derive(Debug, Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    /// Where the blobs live, for the log (never a credential).
    place: String,
}

/// Whether `text` is a SHA-256 as blobs are named: the domain's rule for photo names.
pub use fieldbook_core::case::is_sha256_hex;

impl Blobs {
    /// Blobs in a local directory, created (0700) if missing.
    pub fn local(dir: &Path) -> Result<Blobs, BlobError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder.create(dir).map_err(|e| {
            BlobError::Config(format!(
                "cannot create the blob directory {}: {e}",
                dir.display()
            ))
        })?;
        let store = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Blobs {
            store: Arc::new(store),
            place: format!("file://{}", dir.display()),
        })
    }

    /// Blobs where a URL says: `file:///absolute/path` or `s3://bucket[/prefix]` (the rest of
    /// the S3 configuration from `AWS_*` environment variables: region, credentials, endpoint).
    pub fn from_url(url: &str) -> Result<Blobs, BlobError> {
        if let Some(path) = url.strip_prefix("file://") {
            let path = Path::new(path);
            if !path.is_absolute() {
                return Err(BlobError::Config(format!(
                    "--blob-url {url}: a file URL needs an absolute path (file:///srv/blobs)"
                )));
            }
            return Blobs::local(path);
        }
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(BlobError::Config(format!(
                    "--blob-url {url}: name the bucket (s3://bucket/prefix)"
                )));
            }
            let s3 = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()?;
            let prefix = prefix.trim_matches('/');
            let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            };
            return Ok(Blobs {
                store,
                place: format!("s3://{bucket}/{prefix}"),
            });
        }
        Err(BlobError::Config(format!(
            "--blob-url {:?}: expected file:///path or s3://bucket/prefix",
            url.split(':').next().unwrap_or_default()
        )))
    }

    /// Where the blobs live (a URL without credentials).
    pub fn place(&self) -> &str {
        &self.place
    }

    /// The object key of a blob: `sha256/ab/ab…` (the caller has checked the hash).
    pub fn key(sha256: &str) -> Key {
        Key::from(format!(
            "sha256/{}/{sha256}",
            sha256.get(..2).unwrap_or_default()
        ))
    }

    /// The blob's size, if the store holds it.
    pub async fn size(&self, sha256: &str) -> Result<Option<u64>, BlobError> {
        match self.store.head(&Blobs::key(sha256)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores a whole blob (atomically: a reader sees all of it or nothing). Putting the same
    /// blob again is harmless.
    pub async fn put(&self, sha256: &str, bytes: Vec<u8>) -> Result<(), BlobError> {
        self.store
            .put(&Blobs::key(sha256), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// The blob, to stream, if the store holds it.
    pub async fn get(&self, sha256: &str) -> Result<Option<GetResult>, BlobError> {
        match self.store.get(&Blobs::key(sha256)).await {
            Ok(found) => Ok(Some(found)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_named_by_lower_case_sha256() {
        let sha = "ab".repeat(32);
        assert!(is_sha256_hex(&sha));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert!(!is_sha256_hex(&"ab".repeat(31)));
        assert!(!is_sha256_hex(&format!("{}g", "a".repeat(63))));
        assert_eq!(Blobs::key(&sha).as_ref(), format!("sha256/ab/{sha}"));
    }

    #[test]
    fn blob_urls_are_checked() {
        let err = |url: &str| Blobs::from_url(url).expect_err(url).to_string();
        assert!(err("ftp://x/y").contains("expected file:///path"));
        assert!(err("file://relative/path").contains("absolute path"));
        assert!(err("s3:///prefix").contains("name the bucket"));
    }
}
