//! Accounts and devices: password hashing (Argon2id, PHC strings), device tokens, registration
//! and authentication. Used by the admin commands and the HTTP layer alike; knows nothing of
//! HTTP.

use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore as _;
use rand::rngs::OsRng;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::attempts::{Attempts, Keys};
use crate::store::{Device, NewDevice, NewUser, Role, Store, StoreError, Team, User};

/// The shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest device name accepted, in characters.
pub const MAX_DEVICE_NAME_CHARS: usize = 100;
/// How stale `last_seen_at` may get before an authenticated request refreshes it (ms): saves a
/// write per request.
const TOUCH_AFTER_MS: i64 = 60_000;
/// How long a device token works after it is issued, unless the server says otherwise
/// (`serve --token-lifetime`). Long, because a field device may be offline for weeks and must
/// still be able to hand in its work; revocation is the way to stop a lost device at once.
pub const DEFAULT_TOKEN_LIFETIME: std::time::Duration =
    std::time::Duration::from_secs(90 * 24 * 60 * 60);

/// Why an account operation was refused. Each has a stable code.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the user name or password is wrong")]
    BadCredentials,
    #[error("sign in again: this device's token is missing or unknown")]
    Unauthorised,
    #[error("this device was revoked: {reason}. Its data will be removed; ask your administrator")]
    DeviceRevoked { reason: String },
    #[error(
        "this device's sign-in expired (tokens last {lifetime_days} days); sign in again with your \
         user name and password: nothing on the device is lost"
    )]
    TokenExpired { lifetime_days: u64 },
    #[error(
        "too many wrong passwords for this user name or from this address: try again in \
         {retry_after_secs} seconds"
    )]
    TooManyAttempts { retry_after_secs: u64 },
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error(transparent)]
    Store(StoreError),
}

impl AccountError {
    /// The stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::BadCredentials => "bad_credentials",
            AccountError::Unauthorised => "unauthorised",
            AccountError::DeviceRevoked { .. } => "device_revoked",
            AccountError::TokenExpired { .. } => "token_expired",
            AccountError::TooManyAttempts { .. } => "too_many_attempts",
            AccountError::Invalid { code, .. }
            | AccountError::Conflict { code, .. }
            | AccountError::NotFound { code, .. } => code,
            AccountError::Store(_) => "store_error",
        }
    }
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { code, message } => AccountError::Conflict { code, message },
            StoreError::DeviceRevoked { reason } => AccountError::DeviceRevoked { reason },
            StoreError::NotFound { what, key } => AccountError::NotFound {
                code: match what {
                    "device" => "unknown_device",
                    "user" => "unknown_user",
                    "team" => "unknown_team",
                    _ => "not_found",
                },
                message: format!("no {what} {key}"),
            },
            other => AccountError::Store(other),
        }
    }
}

fn invalid(code: &'static str, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        code,
        message: message.into(),
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

fn lifetime_ms(lifetime: std::time::Duration) -> i64 {
    i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX)
}

/// Checks a new password's length.
pub fn check_new_password(password: &str) -> Result<(), AccountError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(invalid(
            "password_too_short",
            format!("the password must have at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Hashes a password with Argon2id (the crate's default parameters) into a PHC string.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| AccountError::Store(StoreError::Unsupported(format!("salt: {e}"))))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Store(StoreError::Unsupported(format!("hashing: {e}"))))
}

/// Whether `password` matches a PHC string (false for a malformed one).
pub fn verify_password(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

fn fill_random(buf: &mut [u8]) -> Result<(), AccountError> {
    OsRng.try_fill_bytes(buf).map_err(|e| {
        AccountError::Store(StoreError::Unsupported(format!(
            "the system random number generator failed: {e}"
        )))
    })
}

/// A new device token (32 random bytes, base64url without padding) and its SHA-256, the only
/// form the store keeps.
pub fn new_token() -> Result<(String, [u8; 32]), AccountError> {
    let mut bytes = [0u8; 32];
    fill_random(&mut bytes)?;
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let sha = token_sha256(&token);
    Ok((token, sha))
}

/// The SHA-256 of a token's text, as stored.
pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// What a device sends to register.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub device_id: &'a str,
    pub device_number: u32,
    pub device_name: &'a str,
    /// The person id the device minted when it was set up (its cases carry it), if any.
    pub person_id: Option<&'a str>,
    /// Where the request came from, when known: failed attempts are counted per address too.
    pub client: Option<std::net::IpAddr>,
}

/// A registered device: the token is shown this once.
#[derive(Debug, Clone)]
pub struct Registered {
    pub token: String,
    pub device: Device,
    pub user: User,
}

/// The account operations over a store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    /// A hash of a random password, verified against when the user does not exist so that a
    /// wrong name costs the same Argon2 work as a wrong password.
    dummy_hash: Arc<str>,
    /// How long a token works after it is issued, in milliseconds.
    token_lifetime_ms: i64,
    /// Failed sign-ins per name and address, to slow guessing.
    attempts: Arc<Attempts>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>) -> Result<Accounts, AccountError> {
        let mut random = [0u8; 24];
        fill_random(&mut random)?;
        let dummy_hash = hash_password(&URL_SAFE_NO_PAD.encode(random))?.into();
        Ok(Accounts {
            store,
            dummy_hash,
            token_lifetime_ms: lifetime_ms(DEFAULT_TOKEN_LIFETIME),
            attempts: Arc::default(),
        })
    }

    /// The same accounts with device tokens that expire `lifetime` after they are issued.
    pub fn with_token_lifetime(mut self, lifetime: std::time::Duration) -> Accounts {
        self.token_lifetime_ms = lifetime_ms(lifetime);
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn add_team(&self, name: &str) -> Result<Team, AccountError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("invalid_name", "a team needs a name"));
        }
        self.store
            .transaction(|tx| Ok(tx.create_team(name, now_ms())?))
    }

    /// Adds a user. Officers and team leaders need a team; an admin may have one.
    pub fn add_user(
        &self,
        name: &str,
        role: Role,
        team: Option<&str>,
        password: &str,
    ) -> Result<User, AccountError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(invalid("invalid_name", "a user needs a name"));
        }
        if team.is_none() && role != Role::Admin {
            return Err(invalid(
                "team_required",
                format!("a user with the role {role} needs a team (--team)"),
            ));
        }
        check_new_password(password)?;
        let hash = hash_password(password)?;
        self.store.transaction(|tx| {
            let team_id = match team {
                Some(t) => Some(
                    tx.team_by_name(t)?
                        .ok_or_else(|| AccountError::NotFound {
                            code: "unknown_team",
                            message: format!("there is no team {t:?}; add it with `team add`"),
                        })?
                        .id,
                ),
                None => None,
            };
            Ok(tx.create_user(&NewUser {
                name,
                role,
                team_id,
                password_hash: &hash,
                now: now_ms(),
            })?)
        })
    }

    /// Registers a device to a user who proves their password, issuing a new token.
    pub fn register(&self, r: &Registration<'_>) -> Result<Registered, AccountError> {
        let device_id = Uuid::parse_str(r.device_id)
            .map_err(|_| invalid("invalid_device_id", "device_id must be a UUID"))?;
        if r.device_number == 0 || r.device_number > fieldbook_core::reference::MAX_DEVICE_NUMBER {
            return Err(invalid(
                "invalid_device_number",
                format!(
                    "device_number must be between 1 and {}",
                    fieldbook_core::reference::MAX_DEVICE_NUMBER
                ),
            ));
        }
        let device_name = r.device_name.trim();
        if device_name.is_empty() || device_name.chars().count() > MAX_DEVICE_NAME_CHARS {
            return Err(invalid(
                "invalid_device_name",
                format!("device_name must have 1 to {MAX_DEVICE_NAME_CHARS} characters"),
            ));
        }
        let keys = Keys::new(r.user, r.client);
        if let Err(retry_after_secs) = self.attempts.check(&keys, now_ms()) {
            return Err(AccountError::TooManyAttempts { retry_after_secs });
        }
        let credentials = self.store.read(|tx| tx.user_credentials(r.user))?;
        // The same Argon2 work whether or not the user exists.
        let (hash, user) = match &credentials {
            Some(c) => (c.password_hash.as_str(), Some(&c.user)),
            None => (&*self.dummy_hash, None),
        };
        let matches = verify_password(hash, r.password);
        let Some(user) = user.filter(|_| matches) else {
            self.attempts.failed(&keys, now_ms());
            return Err(AccountError::BadCredentials);
        };
        self.attempts.succeeded(&keys);
        let (token, sha) = new_token()?;
        let alias = r
            .person_id
            .map(|p| {
                Uuid::parse_str(p)
                    .map_err(|_| invalid("invalid_person_id", "person_id must be a UUID"))
            })
            .transpose()?;
        let device = self.store.transaction(|tx| {
            let device = tx.register_device(&NewDevice {
                device_id,
                user_id: user.id,
                device_number: r.device_number,
                name: device_name,
                token_sha256: sha,
                now: now_ms(),
            })?;
            if let Some(p) = alias.filter(|p| *p != user.id) {
                tx.add_person_alias(p, user.id, now_ms())?;
            }
            Ok::<_, StoreError>(device)
        })?;
        Ok(Registered {
            token,
            device,
            user: user.clone(),
        })
    }

    /// The device and user a bearer token belongs to. A revoked device is refused with its
    /// reason.
    pub fn authenticate(&self, token: &str) -> Result<(Device, User), AccountError> {
        let sha = token_sha256(token);
        let Some((device, user)) = self.store.read_one(|tx| tx.device_by_token(&sha))? else {
            return Err(AccountError::Unauthorised);
        };
        if device.revoked_at.is_some() {
            return Err(AccountError::DeviceRevoked {
                reason: device.revoked_reason.clone().unwrap_or_default(),
            });
        }
        let now = now_ms();
        if now.saturating_sub(device.token_issued_at) >= self.token_lifetime_ms {
            return Err(AccountError::TokenExpired {
                lifetime_days: u64::try_from(self.token_lifetime_ms / 86_400_000).unwrap_or(0),
            });
        }
        if device.last_seen_at.is_none_or(|t| now - t > TOUCH_AFTER_MS) {
            self.store
                .transaction(|tx| tx.touch_device(device.device_id, now))?;
        }
        Ok((device, user))
    }

    /// Revokes a device with a reason shown to its user.
    pub fn revoke(&self, device_id: &str, reason: &str) -> Result<Device, AccountError> {
        let device_id = Uuid::parse_str(device_id)
            .map_err(|_| invalid("invalid_device_id", "the device id must be a UUID"))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid(
                "reason_required",
                "say why the device is revoked (--reason): its user is shown it",
            ));
        }
        self.store
            .transaction(|tx| tx.revoke_device(device_id, reason, now_ms()))
            .map_err(AccountError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unknown user name is checked against the dummy hash, so it must cost what a real
    /// user's check costs: the same algorithm, version and parameters (checked without timing).
    #[test]
    fn the_dummy_hash_costs_what_a_real_password_hash_costs() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = crate::store::open(&crate::store::Location::Data(dir.path().join("s")))
            .unwrap_or_else(|e| panic!("{e}"));
        let accounts = Accounts::new(store).unwrap_or_else(|e| panic!("{e}"));
        let real = hash_password("a long password").unwrap_or_else(|e| panic!("{e}"));
        fn parse(phc: &str) -> (String, Option<u32>, String) {
            let h = PasswordHash::new(phc).unwrap_or_else(|e| panic!("{e}"));
            (h.algorithm.to_string(), h.version, h.params.to_string())
        }
        let dummy = parse(&accounts.dummy_hash);
        assert_eq!(dummy, parse(&real));
        assert_eq!(dummy.0, "argon2id");
        assert!(!verify_password(&accounts.dummy_hash, "a long password"));
    }
}
