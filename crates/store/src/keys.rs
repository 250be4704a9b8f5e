//! The database key: derived from the person's passphrase with Argon2id, never stored.
//!
//! Beside the database lives `fieldbook.key`, a small JSON file with the Argon2id parameters,
//! the random salt, and a verifier. Argon2id produces 64 bytes: the first 32 are the SQLCipher
//! key, the last 32 the verifier. Comparing the verifier tells a wrong passphrase apart from a
//! damaged database without ever handing SQLCipher a wrong key; the verifier reveals nothing
//! about the key half (they are independent output bytes of the KDF).

use std::fs;
use std::io::Write;
use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Result, StoreError};

/// The shortest passphrase accepted.
pub const MIN_PASSPHRASE: usize = 8;

/// OWASP's Argon2id guidance is at least 19 MiB and 2 passes; a field laptop unlocks once a
/// session, so spend more: 64 MiB, 3 passes (about 0.2 s here).
const M_KIB: u32 = 64 * 1024;
const T_COST: u32 = 3;
const P_COST: u32 = 1;

#[derive(Serialize, Deserialize)]
struct KeyFile {
    kdf: String,
    m_kib: u32,
    t: u32,
    p: u32,
    salt: String,
    verifier: String,
}

/// A 32-byte SQLCipher key, wiped from memory when dropped.
pub(crate) struct DbKey(Zeroizing<[u8; 32]>);

impl DbKey {
    /// The `PRAGMA key` statement for this raw key (SQLCipher's `x'...'` form skips its own
    /// PBKDF2, since the key is already derived). Wiped when dropped.
    pub(crate) fn pragma(&self) -> Zeroizing<String> {
        let mut sql = Zeroizing::new(String::with_capacity(80));
        sql.push_str("PRAGMA key = \"");
        sql.push_str(&self.literal());
        sql.push_str("\";");
        sql
    }

    /// The raw key as SQLCipher's `x'...'` literal (for `ATTACH ... KEY`). Wiped when dropped.
    pub(crate) fn literal(&self) -> Zeroizing<String> {
        let mut hex = Zeroizing::new([0u8; 64]);
        // Encoding 32 bytes into 64 always fits.
        let _ = hex::encode_to_slice(self.0.as_slice(), hex.as_mut_slice());
        let mut literal = Zeroizing::new(String::with_capacity(67));
        literal.push_str("x'");
        literal.extend(hex.iter().map(|&b| char::from(b)));
        literal.push('\'');
        literal
    }
}

fn derive(passphrase: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Result<Zeroizing<[u8; 64]>> {
    let params = Params::new(m, t, p, Some(64)).map_err(|e| StoreError::Corrupt {
        detail: format!("key parameters: {e}"),
    })?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), salt, out.as_mut())
        .map_err(|e| StoreError::Corrupt {
            detail: format!("key derivation: {e}"),
        })?;
    Ok(out)
}

fn split(out: &[u8; 64]) -> (DbKey, [u8; 32]) {
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    let mut verifier = [0u8; 32];
    verifier.copy_from_slice(&out[32..]);
    (DbKey(key), verifier)
}

/// Make a new key for a new device and write its key file (atomically).
pub(crate) fn create(path: &Path, passphrase: &str) -> Result<DbKey> {
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(StoreError::WeakPassphrase {
            min: MIN_PASSPHRASE,
        });
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let out = derive(passphrase, &salt, M_KIB, T_COST, P_COST)?;
    let (key, verifier) = split(&out);
    let file = KeyFile {
        kdf: "argon2id".into(),
        m_kib: M_KIB,
        t: T_COST,
        p: P_COST,
        salt: hex::encode(salt),
        verifier: hex::encode(verifier),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| StoreError::Document(e.to_string()))?;
    write_atomically(path, &json)?;
    Ok(key)
}

/// Derive the key for an existing device; a wrong passphrase is refused before the database
/// is touched.
pub(crate) fn unlock(path: &Path, passphrase: &str) -> Result<DbKey> {
    let data_dir_err = |e: std::io::Error| StoreError::DataDir {
        dir: path.parent().unwrap_or(path).display().to_string(),
        detail: e.to_string(),
    };
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => StoreError::Corrupt {
            detail: format!("the key file {} is missing", path.display()),
        },
        _ => data_dir_err(e),
    })?;
    let corrupt = |what: &str| StoreError::Corrupt {
        detail: format!("the key file {} is damaged ({what})", path.display()),
    };
    let file: KeyFile = serde_json::from_slice(&bytes).map_err(|_| corrupt("not valid JSON"))?;
    if file.kdf != "argon2id" {
        return Err(corrupt("unknown key derivation"));
    }
    let salt = hex::decode(&file.salt).map_err(|_| corrupt("salt"))?;
    let want = hex::decode(&file.verifier).map_err(|_| corrupt("verifier"))?;
    if salt.len() < 16 || want.len() != 32 || file.m_kib > 4 * 1024 * 1024 || file.t > 100 {
        return Err(corrupt("parameters out of range"));
    }
    let out = derive(passphrase, &salt, file.m_kib, file.t, file.p)?;
    let (key, verifier) = split(&out);
    // Constant-time comparison: no early exit on the first differing byte.
    let diff = verifier
        .iter()
        .zip(&want)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return Err(StoreError::WrongPassphrase);
    }
    Ok(key)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| StoreError::DataDir {
        dir: path.parent().unwrap_or(path).display().to_string(),
        detail: e.to_string(),
    };
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(&tmp).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(())
}
