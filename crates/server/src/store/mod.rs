//! The server's storage: one trait, [`Store`], with transactions as its only way in, and two
//! implementations with the same rules: the embedded SQLite store ([`sqlite::SqliteStore`],
//! `--data DIR`) and PostgreSQL ([`postgres::PostgresStore`], `--database-url postgres://...`),
//! which also serves several server nodes over one database.
//!
//! The trait is synchronous. rusqlite is synchronous, and the sync endpoint merges automerge
//! documents (CPU work) inside a transaction: both belong on a blocking thread, so the HTTP layer
//! calls the store through `tokio::task::spawn_blocking` and an async trait would only move that
//! call inside every method. The PostgreSQL store uses the blocking `postgres` client likewise.
//!
//! Every operation lives on [`Tx`], so a caller composes any of them into one atomic unit:
//! `store.transaction(|tx| { ... })` commits when the closure returns `Ok` and rolls back on `Err`.

mod pool;
pub mod postgres;
pub mod sqlite;

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;
use uuid::Uuid;

/// What a storage call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule refused the write; `code` is stable and machine-readable.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The named row does not exist.
    #[error("no {what} {key}")]
    NotFound { what: &'static str, key: String },
    /// The device asking is revoked.
    #[error("this device was revoked: {reason}")]
    DeviceRevoked { reason: String },
    /// The database was written by a newer server.
    #[error(
        "the database has schema version {found}, newer than this server understands ({supported}); \
         run a newer fieldbook-server"
    )]
    NewerSchema { found: i64, supported: i64 },
    /// A stored value does not parse (a damaged or hand-edited database).
    #[error("damaged data in the store: {0}")]
    Corrupt(String),
    /// The backend named is not available in this build.
    #[error("{0}")]
    Unsupported(String),
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL error: {0}")]
    Postgres(#[from] ::postgres::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Internal marker: the transaction closure failed with its own error (see [`dyn Store::transaction`]).
    #[error("transaction rolled back")]
    RolledBack,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A person's role: the domain's own (`fieldbook_core::Role`), stored and sent by its code.
pub use fieldbook_core::Role;

/// Serialise a role by its stable code (`team_leader`); core types are not `Serialize`.
pub fn role_code<S: serde::Serializer>(role: &Role, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(role.code())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
}

/// A person who signs in. `id` is the stable person id the devices record as author.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    #[serde(serialize_with = "role_code")]
    pub role: Role,
    pub team: Option<Team>,
    pub created_at: i64,
}

/// A user with the PHC string of their password's Argon2id hash.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

impl fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub role: Role,
    pub team_id: Option<Uuid>,
    pub password_hash: &'a str,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub device_id: Uuid,
    pub user_id: Uuid,
    pub device_number: u32,
    pub name: String,
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_reason: Option<String>,
    /// When the device's current token was issued (ms); it expires a lifetime after this.
    pub token_issued_at: i64,
}

/// A device with its owner's name, for listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceListing {
    #[serde(flatten)]
    pub device: Device,
    pub user_name: String,
}

#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    pub device_id: Uuid,
    pub user_id: Uuid,
    pub device_number: u32,
    pub name: &'a str,
    pub token_sha256: [u8; 32],
    pub now: i64,
}

/// Whose cases a read may return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer {
    pub person_id: Uuid,
    pub role: Role,
    pub team_id: Option<Uuid>,
}

impl Viewer {
    pub fn of(user: &User) -> Viewer {
        Viewer {
            person_id: user.id,
            role: user.role,
            team_id: user.team.as_ref().map(|t| t.id),
        }
    }
}

/// A case as the server stores it: the full automerge save plus the fields that authorisation
/// and paging read (taken from the document by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    pub case_id: String,
    pub doc: Vec<u8>,
    /// The server sequence number of the case's last change.
    pub seq: u64,
    pub created_by: Option<String>,
    pub assignee: Option<String>,
    pub team_id: Option<String>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub updated_at: Option<i64>,
    /// The document's heads (hex), so a pull need not load it; `None` for rows stored before
    /// schema 6, until their next change.
    pub heads: Option<Vec<String>>,
    /// The automerge actors (hex) whose changes the document holds; `None` as for `heads`.
    pub writers: Option<Vec<String>>,
}

/// A case to store; the store allocates its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseWrite<'a> {
    pub case_id: &'a str,
    pub doc: &'a [u8],
    pub created_by: Option<&'a str>,
    pub assignee: Option<&'a str>,
    pub team_id: Option<&'a str>,
    pub kind: Option<&'a str>,
    pub status: Option<&'a str>,
    pub updated_at: Option<i64>,
    /// The document's heads (hex).
    pub heads: &'a [String],
    /// The automerge actors (hex) whose changes the document holds.
    pub writers: &'a [String],
}

/// One page of the cases a viewer may see, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePage {
    pub cases: Vec<CaseRecord>,
    /// Visible cases after this page (with a higher sequence than its last).
    pub remaining: u64,
}

/// A photo upload in progress (`docs/photos.md`): `received` of `total` bytes have arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The SHA-256 (lower-case hex) the whole blob must have.
    pub sha256: String,
    pub total: u64,
    pub received: u64,
    pub started_by_device: Uuid,
    pub started_at: i64,
}

/// Every storage operation, inside one transaction.
pub trait Tx {
    // Teams and users.
    /// Adds a team; `team_exists` when the name is taken.
    fn create_team(&self, name: &str, now: i64) -> Result<Team>;
    fn team_by_name(&self, name: &str) -> Result<Option<Team>>;
    fn list_teams(&self) -> Result<Vec<Team>>;
    /// Adds a user; `user_exists` when the name is taken.
    fn create_user(&self, new: &NewUser<'_>) -> Result<User>;
    fn user(&self, id: Uuid) -> Result<Option<User>>;
    fn user_credentials(&self, name: &str) -> Result<Option<UserCredentials>>;
    fn list_users(&self) -> Result<Vec<User>>;

    // Devices.
    /// Registers a device to a user with a new token hash. The same device signing in again as
    /// the same user gets the new token (the old one stops working). Refused with
    /// `device_taken` when the id belongs to another user, `device_number_taken` when another
    /// device has the number, and [`StoreError::DeviceRevoked`] when the device was revoked.
    fn register_device(&self, new: &NewDevice<'_>) -> Result<Device>;
    /// The device holding this token hash, revoked or not, and its user.
    fn device_by_token(&self, token_sha256: &[u8; 32]) -> Result<Option<(Device, User)>>;
    fn device(&self, device_id: Uuid) -> Result<Option<Device>>;
    fn touch_device(&self, device_id: Uuid, now: i64) -> Result<()>;
    fn list_devices(&self) -> Result<Vec<DeviceListing>>;
    /// Revokes a device; revoking it again keeps the first time and reason.
    fn revoke_device(&self, device_id: Uuid, reason: &str, now: i64) -> Result<Device>;

    // Cases and sync bookkeeping.
    fn get_case(&self, case_id: &str) -> Result<Option<CaseRecord>>;
    /// Inserts or replaces a case, allocating the next server sequence number for it (in this
    /// transaction), and returns that number. `created_by` never changes once set.
    fn put_case(&self, case: &CaseWrite<'_>) -> Result<u64>;
    /// The last sequence number allocated (0 for an empty store).
    fn current_seq(&self) -> Result<u64>;
    /// Up to `limit` cases the viewer may see with `seq > after_seq`, in sequence order, and
    /// how many visible cases follow. Admin: all; team leader: their team's; officer: assigned
    /// to or created by them.
    fn cases_since(&self, viewer: &Viewer, after_seq: u64, limit: u32) -> Result<CasePage>;
    /// Record `person_id` (minted by one of the user's devices) as another id of the user;
    /// `person_taken` if it already names another user.
    fn add_person_alias(&self, person_id: Uuid, user_id: Uuid, now: i64) -> Result<()>;
    /// The person ids the user's devices minted.
    fn person_aliases(&self, user_id: Uuid) -> Result<Vec<Uuid>>;
    /// The user a person id (a user id or an alias) names.
    fn user_of_person(&self, person_id: Uuid) -> Result<Option<User>>;
    /// The automerge heads (hex change hashes) the server knows the device has for a case. A
    /// case marked as departed from the device ([`Tx::departures`]) counts as held no more, even
    /// before the device confirms it has read that: it may have removed the case already.
    fn device_heads(&self, device_id: Uuid, case_id: &str) -> Result<Option<Vec<String>>>;
    fn set_device_heads(&self, device_id: Uuid, case_id: &str, heads: &[String]) -> Result<()>;
    /// [`Tx::device_heads`] of several cases at once (a pull page), for those it knows any of.
    fn device_heads_of(
        &self,
        device_id: Uuid,
        case_ids: &[&str],
    ) -> Result<HashMap<String, Vec<String>>> {
        let mut out = HashMap::new();
        for id in case_ids {
            if let Some(heads) = self.device_heads(device_id, id)? {
                out.insert((*id).to_owned(), heads);
            }
        }
        Ok(out)
    }
    /// Heads sent to the device in a pull page with sequence `seq`: pending until confirmed.
    /// A case marked as departed is back in sight: the mark goes, and with it the heads known
    /// from before it left (the device may have removed the case since).
    fn set_pending_heads(
        &self,
        device_id: Uuid,
        case_id: &str,
        heads: &[String],
        seq: u64,
    ) -> Result<()>;
    /// [`Tx::set_pending_heads`] for each case of a pull page: (case id, heads, sequence).
    fn set_pending_heads_of(
        &self,
        device_id: Uuid,
        pending: &[(&str, &[String], u64)],
    ) -> Result<()> {
        for (case_id, heads, seq) in pending {
            self.set_pending_heads(device_id, case_id, heads, *seq)?;
        }
        Ok(())
    }
    /// A request from the device says it has applied every pull up to `applied` (its
    /// `applied`, or its `since` when absent) and asks for what follows `since`
    /// (`applied <= since`): its pending heads up to `applied` are known now; those after
    /// `since` came in an answer the device will not apply (lost, or dropped when a sync
    /// stopped: it would have asked from further on), so they are forgotten, never to be
    /// confirmed by a later `applied` that passes their sequence although the device never got
    /// them; those between stay pending (a page the device is still writing). The cases that
    /// departed from it up to `applied` are gone from it: their rows are forgotten, so a case
    /// that comes back is sent whole, unless the case changed after `applied` (the device may
    /// not have been told, if the answer that said so was dropped: the row stays, so the
    /// departure at its new sequence is told).
    fn confirm_pending_heads(&self, device_id: Uuid, applied: u64, since: u64) -> Result<()>;
    /// Whether the device has pulled heads or departures up to `upto_seq` still waiting for
    /// [`Tx::confirm_pending_heads`].
    fn has_pending(&self, device_id: Uuid, upto_seq: u64) -> Result<bool>;
    /// Nothing for this request to do, as one read: nothing after `since`, the batch not seen
    /// before, and no pulled heads or departures up to `applied` (a request's `applied`, or
    /// its `since`) waiting to be confirmed. `applied, since` in that order, as for
    /// [`Tx::confirm_pending_heads`].
    fn is_quiet(&self, device_id: Uuid, batch_id: &str, applied: u64, since: u64) -> Result<bool> {
        Ok(self.current_seq()? <= since
            && self.applied_batch(device_id, batch_id)?.is_none()
            && !self.has_pending(device_id, applied)?)
    }
    /// Cases the device holds (has heads for) whose last change has a sequence in
    /// `(after_seq, upto_seq]` and which the viewer may no longer see: they have departed from
    /// the device. Each is marked with that sequence, for [`Tx::confirm_pending_heads`].
    fn departures(
        &self,
        device_id: Uuid,
        viewer: &Viewer,
        after_seq: u64,
        upto_seq: u64,
    ) -> Result<Vec<(String, u64)>>;
    /// The response stored for a batch the device already sent.
    fn applied_batch(&self, device_id: Uuid, batch_id: &str) -> Result<Option<Vec<u8>>>;
    /// Records a batch's response; `batch_applied` if that batch id is already recorded.
    fn put_applied_batch(
        &self,
        device_id: Uuid,
        batch_id: &str,
        response: &[u8],
        now: i64,
    ) -> Result<()>;

    // Photos (`docs/photos.md`).
    /// Replaces the photo blobs (SHA-256, hex) a case references: its photo keys and their
    /// thumbnails' hashes. Called with each stored document, in the same transaction.
    fn set_case_photos(&self, case_id: &str, sha256s: &[String]) -> Result<()>;
    /// The blobs a case references, sorted.
    fn case_photos(&self, case_id: &str) -> Result<Vec<String>>;
    /// Whether some case the viewer may see (the rule of [`Tx::cases_since`]) references the blob.
    fn photo_visible(&self, viewer: &Viewer, sha256: &str) -> Result<bool>;
    /// The upload in progress for a blob.
    fn upload(&self, sha256: &str) -> Result<Option<Upload>>;
    /// Starts an upload, replacing (and discarding the chunks of) any other of the same blob.
    fn start_upload(&self, upload: &Upload) -> Result<()>;
    /// Stores a chunk at `offset` (which must be the upload's `received`) and moves `received`
    /// past it.
    fn append_upload_chunk(&self, sha256: &str, offset: u64, data: &[u8]) -> Result<()>;
    /// The bytes received so far, in order.
    fn upload_data(&self, sha256: &str) -> Result<Vec<u8>>;
    /// Forgets an upload and its chunks (none: nothing happens).
    fn delete_upload(&self, sha256: &str) -> Result<()>;
    /// Forgets the uploads started before `started_before` (ms) and their chunks; how many.
    fn expire_uploads(&self, started_before: i64) -> Result<u64>;
}

/// A server store. Shared between request handlers (`Arc<dyn Store>`); holds no per-connection
/// state, so a second server node over the same database can serve the next request.
pub trait Store: Send + Sync + fmt::Debug {
    /// Checks that the database answers (for `/healthz`).
    fn ping(&self) -> Result<()>;
    /// Runs `f` in a write transaction: committed when it returns `Ok`, rolled back otherwise.
    /// Use [`dyn Store::transaction`], which carries the closure's own result and error type.
    fn write_tx(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;
    /// Runs `f` in a read-only transaction (one consistent snapshot).
    fn read_tx(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;
    /// Runs `f`'s statements each on its own, with no transaction around them: each sees the
    /// data committed when it starts. Only for a read that is one statement (the hot paths: a
    /// request's token, a quiet sync), where PostgreSQL would otherwise pay two more round
    /// trips for `BEGIN` and `COMMIT`. By default, a read transaction.
    fn read_each(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.read_tx(f)
    }
}

impl dyn Store + '_ {
    /// Runs `f` in one write transaction; commits on `Ok`, rolls back on `Err`.
    pub fn transaction<R, E>(&self, f: impl FnOnce(&dyn Tx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        run(f, |g| self.write_tx(g))
    }

    /// Runs `f` in one read-only transaction.
    pub fn read<R, E>(&self, f: impl FnOnce(&dyn Tx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        run(f, |g| self.read_tx(g))
    }

    /// Runs `f`, a read of one statement, without a transaction ([`Store::read_each`]).
    pub fn read_one<R, E>(&self, f: impl FnOnce(&dyn Tx) -> Result<R, E>) -> Result<R, E>
    where
        E: From<StoreError>,
    {
        run(f, |g| self.read_each(g))
    }
}

fn run<R, E>(
    f: impl FnOnce(&dyn Tx) -> Result<R, E>,
    tx: impl FnOnce(&mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>,
) -> Result<R, E>
where
    E: From<StoreError>,
{
    let mut f = Some(f);
    let mut out: Option<Result<R, E>> = None;
    let status = tx(&mut |t| {
        let Some(f) = f.take() else {
            return Err(StoreError::Unsupported(
                "a transaction closure ran twice".into(),
            ));
        };
        match f(t) {
            Ok(r) => {
                out = Some(Ok(r));
                Ok(())
            }
            Err(e) => {
                out = Some(Err(e));
                Err(StoreError::RolledBack)
            }
        }
    });
    match (status, out) {
        (Ok(()), Some(Ok(r))) => Ok(r),
        (Err(StoreError::RolledBack), Some(Err(e))) => Err(e),
        (Err(e), _) => Err(e.into()),
        (Ok(()), _) => {
            Err(StoreError::Unsupported("a transaction closure did not run".into()).into())
        }
    }
}

/// Where the server keeps its data, as chosen on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The embedded store: `DIR/server.db` and `DIR/blobs/`.
    Data(std::path::PathBuf),
    /// A database URL: `postgres://` or `postgresql://`.
    Url(String),
}

/// Opens the store a location names.
pub fn open(location: &Location) -> Result<std::sync::Arc<dyn Store>> {
    match location {
        Location::Data(dir) => Ok(std::sync::Arc::new(sqlite::SqliteStore::open_dir(dir)?)),
        Location::Url(url) => {
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                Ok(std::sync::Arc::new(postgres::PostgresStore::open(url)?))
            } else {
                Err(StoreError::Unsupported(format!(
                    "unsupported database URL scheme in {:?}: expected postgres://",
                    url.split(':').next().unwrap_or_default()
                )))
            }
        }
    }
}
