//! The embedded store: one SQLite file (`server.db`, WAL, `synchronous = FULL`) opened through
//! the workspace's rusqlite (SQLCipher build, used here with no key: the server's disk
//! encryption is the host's job) and a small pool of connections.
//!
//! Writes start with `BEGIN IMMEDIATE`, so two writers queue on the busy timeout instead of
//! failing half-way; reads use deferred transactions and run beside a writer under WAL.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, params};
use uuid::Uuid;

use super::pool::Pool;
use super::{
    CasePage, CaseRecord, CaseWrite, Device, DeviceListing, NewDevice, NewUser, Result, Role,
    Store, StoreError, Team, Tx, Upload, User, UserCredentials, Viewer,
};

/// The schema migrations, in order; file `N` takes the database to `user_version = N`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/server/sqlite/0001_init.sql"),
    include_str!("../../../../migrations/server/sqlite/0002_person_aliases.sql"),
    include_str!("../../../../migrations/server/sqlite/0003_pending_heads.sql"),
    include_str!("../../../../migrations/server/sqlite/0004_token_issued_at.sql"),
    include_str!("../../../../migrations/server/sqlite/0005_departures.sql"),
    include_str!("../../../../migrations/server/sqlite/0006_case_heads.sql"),
    include_str!("../../../../migrations/server/sqlite/0007_departed_index.sql"),
    include_str!("../../../../migrations/server/sqlite/0008_photos.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const POOL_SIZE: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The embedded SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    pool: Pool<Connection>,
    /// Held for each write transaction: this process's writers queue here and are woken as
    /// soon as the previous one commits, instead of polling SQLite's lock with the busy
    /// handler's growing sleeps (which, with many devices syncing at once, left the server
    /// idle while requests waited seconds). Another process's writer still meets the busy
    /// timeout.
    writer: Mutex<()>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in a data directory: `DIR/server.db` and the blob
    /// directory `DIR/blobs/`.
    pub fn open_dir(dir: &Path) -> Result<SqliteStore> {
        create_private_dir(dir)?;
        create_private_dir(&dir.join("blobs"))?;
        SqliteStore::open(&dir.join("server.db"))
    }

    /// Opens (creating if needed) a store file and brings its schema up to date. A database
    /// from a newer server is refused, untouched.
    pub fn open(path: &Path) -> Result<SqliteStore> {
        let mut conn = connect(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            path: path.to_owned(),
            pool: Pool::new(conn, POOL_SIZE),
            writer: Mutex::new(()),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        // A connection left inside a transaction (a failed ROLLBACK) is not reused.
        self.pool
            .with(|| connect(&self.path), Connection::is_autocommit, f)
    }

    fn in_tx(&self, begin: &str, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.with_conn(|conn| {
            conn.execute_batch(begin)?;
            let tx = SqliteTx { conn };
            match f(&tx) {
                Ok(()) => match conn.execute_batch("COMMIT") {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Err(e.into())
                    }
                },
                Err(e) => {
                    conn.execute_batch("ROLLBACK")?;
                    Err(e)
                }
            }
        })
    }
}

impl Store for SqliteStore {
    fn ping(&self) -> Result<()> {
        self.with_conn(|conn| {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
            if version == SCHEMA_VERSION {
                Ok(())
            } else {
                Err(StoreError::Corrupt(format!(
                    "schema version {version}, expected {SCHEMA_VERSION}"
                )))
            }
        })
    }

    fn write_tx(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.in_tx("BEGIN IMMEDIATE", f)
    }

    fn read_tx(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.in_tx("BEGIN DEFERRED", f)
    }
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    Ok(())
}

fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 0 {
        return Err(StoreError::Corrupt(format!("schema version {version}")));
    }
    let mut applied = false;
    for (sql, target) in MIGRATIONS.iter().zip(1_i64..).skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", target)?;
        applied = true;
    }
    if applied {
        tx.commit()?;
    }
    Ok(())
}

struct SqliteTx<'c> {
    conn: &'c Connection,
}

fn now_conflict(e: rusqlite::Error, code: &'static str, message: String) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(err, _)
            if err.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict { code, message }
        }
        other => other.into(),
    }
}

fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("id {text:?}: {e}")))
}

fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v}")))
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("sequence {v} out of range")))
}

const USER_COLUMNS: &str =
    "u.user_id, u.name, u.role, u.created_at, t.team_id, t.name, t.created_at, u.password_hash";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<RawUser> {
    Ok(RawUser {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        created_at: r.get(3)?,
        team_id: r.get(4)?,
        team_name: r.get(5)?,
        team_created_at: r.get(6)?,
        password_hash: r.get(7)?,
    })
}

struct RawUser {
    id: String,
    name: String,
    role: String,
    created_at: i64,
    team_id: Option<String>,
    team_name: Option<String>,
    team_created_at: Option<i64>,
    password_hash: String,
}

impl RawUser {
    fn into_credentials(self) -> Result<UserCredentials> {
        let role = self
            .role
            .parse::<Role>()
            .ok()
            .ok_or_else(|| StoreError::Corrupt(format!("role {:?}", self.role)))?;
        let team = match (self.team_id, self.team_name, self.team_created_at) {
            (Some(id), Some(name), Some(created_at)) => Some(Team {
                id: parse_uuid(&id)?,
                name,
                created_at,
            }),
            _ => None,
        };
        Ok(UserCredentials {
            user: User {
                id: parse_uuid(&self.id)?,
                name: self.name,
                role,
                team,
                created_at: self.created_at,
            },
            password_hash: self.password_hash,
        })
    }
}

const DEVICE_COLUMNS: &str = "d.device_id, d.user_id, d.device_number, d.name, d.created_at, d.last_seen_at, d.revoked_at, d.revoked_reason, d.token_issued_at";

struct RawDevice {
    device_id: String,
    user_id: String,
    device_number: i64,
    name: String,
    created_at: i64,
    last_seen_at: Option<i64>,
    revoked_at: Option<i64>,
    revoked_reason: Option<String>,
    token_issued_at: Option<i64>,
}

fn device_from_row(r: &Row<'_>, at: usize) -> rusqlite::Result<RawDevice> {
    Ok(RawDevice {
        device_id: r.get(at)?,
        user_id: r.get(at + 1)?,
        device_number: r.get(at + 2)?,
        name: r.get(at + 3)?,
        created_at: r.get(at + 4)?,
        last_seen_at: r.get(at + 5)?,
        revoked_at: r.get(at + 6)?,
        revoked_reason: r.get(at + 7)?,
        token_issued_at: r.get(at + 8)?,
    })
}

impl RawDevice {
    fn into_device(self) -> Result<Device> {
        Ok(Device {
            device_id: parse_uuid(&self.device_id)?,
            user_id: parse_uuid(&self.user_id)?,
            device_number: u32::try_from(self.device_number).map_err(|_| {
                StoreError::Corrupt(format!("device number {}", self.device_number))
            })?,
            name: self.name,
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            revoked_at: self.revoked_at,
            revoked_reason: self.revoked_reason,
            token_issued_at: self.token_issued_at.unwrap_or(self.created_at),
        })
    }
}

const CASE_COLUMNS: &str =
    "case_id, doc, seq, created_by, assignee, team_id, kind, status, updated_at, heads, writers";

fn case_from_row(r: &Row<'_>) -> rusqlite::Result<(CaseRecord, i64)> {
    let seq: i64 = r.get(2)?;
    Ok((
        CaseRecord {
            case_id: r.get(0)?,
            doc: r.get(1)?,
            seq: 0,
            created_by: r.get(3)?,
            assignee: r.get(4)?,
            team_id: r.get(5)?,
            kind: r.get(6)?,
            status: r.get(7)?,
            updated_at: r.get(8)?,
            heads: json_list(r, 9)?,
            writers: json_list(r, 10)?,
        },
        seq,
    ))
}

/// A list column stored as a JSON array of strings (NULL: not known).
fn json_list(r: &Row<'_>, i: usize) -> rusqlite::Result<Option<Vec<String>>> {
    r.get::<_, Option<String>>(i)?
        .map(|t| {
            serde_json::from_str(&t).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
            })
        })
        .transpose()
}

fn json_text(list: &[String]) -> Result<String> {
    serde_json::to_string(list).map_err(|e| StoreError::Corrupt(format!("list: {e}")))
}

fn finish_case((mut case, seq): (CaseRecord, i64)) -> Result<CaseRecord> {
    case.seq = to_u64(seq, "sequence")?;
    Ok(case)
}

impl SqliteTx<'_> {
    /// The user id a device-minted person id belongs to, if any.
    fn alias_owner(&self, person_id: Uuid) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT user_id FROM person_aliases WHERE person_id = ?1",
                [person_id.to_string()],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn users_where(&self, filter: &str, param: &str) -> Result<Vec<UserCredentials>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u LEFT JOIN teams t ON t.team_id = u.team_id \
             {filter} ORDER BY u.name"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = if filter.is_empty() {
            stmt.query_map([], user_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        } else {
            stmt.query_map([param], user_from_row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        rows.into_iter().map(RawUser::into_credentials).collect()
    }
}

impl Tx for SqliteTx<'_> {
    fn create_team(&self, name: &str, now: i64) -> Result<Team> {
        let team = Team {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            created_at: now,
        };
        self.conn
            .execute(
                "INSERT INTO teams (team_id, name, created_at) VALUES (?1, ?2, ?3)",
                params![team.id.to_string(), team.name, team.created_at],
            )
            .map_err(|e| now_conflict(e, "team_exists", format!("team {name:?} already exists")))?;
        Ok(team)
    }

    fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        let row = self
            .conn
            .query_row(
                "SELECT team_id, name, created_at FROM teams WHERE name = ?1",
                [name],
                |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        row.map(|(id, name, created_at)| {
            Ok(Team {
                id: parse_uuid(&id)?,
                name,
                created_at,
            })
        })
        .transpose()
    }

    fn list_teams(&self) -> Result<Vec<Team>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT team_id, name, created_at FROM teams ORDER BY name")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, name, created_at)| {
                Ok(Team {
                    id: parse_uuid(&id)?,
                    name,
                    created_at,
                })
            })
            .collect()
    }

    fn create_user(&self, new: &NewUser<'_>) -> Result<User> {
        let id = Uuid::now_v7();
        self.conn
            .execute(
                "INSERT INTO users (user_id, name, role, team_id, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    id.to_string(),
                    new.name,
                    new.role.code(),
                    new.team_id.map(|t| t.to_string()),
                    new.password_hash,
                    new.now
                ],
            )
            .map_err(|e| {
                now_conflict(
                    e,
                    "user_exists",
                    format!("user {:?} already exists (or the team does not)", new.name),
                )
            })?;
        self.user(id)?.ok_or_else(|| StoreError::NotFound {
            what: "user",
            key: id.to_string(),
        })
    }

    fn user(&self, id: Uuid) -> Result<Option<User>> {
        Ok(self
            .users_where("WHERE u.user_id = ?1", &id.to_string())?
            .pop()
            .map(|c| c.user))
    }

    fn user_credentials(&self, name: &str) -> Result<Option<UserCredentials>> {
        Ok(self.users_where("WHERE u.name = ?1", name)?.pop())
    }

    fn list_users(&self) -> Result<Vec<User>> {
        Ok(self
            .users_where("", "")?
            .into_iter()
            .map(|c| c.user)
            .collect())
    }

    fn register_device(&self, new: &NewDevice<'_>) -> Result<Device> {
        let id = new.device_id.to_string();
        if let Some(existing) = self.device(new.device_id)? {
            if existing.user_id != new.user_id {
                return Err(StoreError::Conflict {
                    code: "device_taken",
                    message: format!("device {id} is registered to another user"),
                });
            }
            if existing.revoked_at.is_some() {
                return Err(StoreError::DeviceRevoked {
                    reason: existing.revoked_reason.unwrap_or_default(),
                });
            }
        }
        if let Some(other) = self
            .conn
            .query_row(
                "SELECT device_id FROM devices WHERE device_number = ?1 AND device_id <> ?2",
                params![new.device_number, id],
                |r| r.get::<_, String>(0),
            )
            .optional()?
        {
            return Err(StoreError::Conflict {
                code: "device_number_taken",
                message: format!(
                    "device number {} is already used by device {other}; set this device up \
                     with another number",
                    new.device_number
                ),
            });
        }
        self.conn
            .execute(
                "INSERT INTO devices (device_id, user_id, device_number, name, token_sha256, created_at, last_seen_at, token_issued_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?6)
                 ON CONFLICT (device_id) DO UPDATE SET
                    device_number = excluded.device_number, name = excluded.name,
                    token_sha256 = excluded.token_sha256, last_seen_at = excluded.last_seen_at,
                    token_issued_at = excluded.token_issued_at",
                params![
                    id,
                    new.user_id.to_string(),
                    new.device_number,
                    new.name,
                    hex::encode(new.token_sha256),
                    new.now
                ],
            )
            .map_err(|e| now_conflict(e, "token_collision", "token collision; retry".into()))?;
        self.device(new.device_id)?
            .ok_or_else(|| StoreError::NotFound {
                what: "device",
                key: id,
            })
    }

    fn device_by_token(&self, token_sha256: &[u8; 32]) -> Result<Option<(Device, User)>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.token_sha256 = ?1");
        let Some(raw) = self
            .conn
            .query_row(&sql, [hex::encode(token_sha256)], |r| device_from_row(r, 0))
            .optional()?
        else {
            return Ok(None);
        };
        let device = raw.into_device()?;
        let user = self.user(device.user_id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("device {} has no user", device.device_id))
        })?;
        Ok(Some((device, user)))
    }

    fn device(&self, device_id: Uuid) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.device_id = ?1");
        self.conn
            .query_row(&sql, [device_id.to_string()], |r| device_from_row(r, 0))
            .optional()?
            .map(RawDevice::into_device)
            .transpose()
    }

    fn touch_device(&self, device_id: Uuid, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE devices SET last_seen_at = ?2 WHERE device_id = ?1",
            params![device_id.to_string(), now],
        )?;
        Ok(())
    }

    fn list_devices(&self) -> Result<Vec<DeviceListing>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS}, u.name FROM devices d JOIN users u ON u.user_id = d.user_id \
             ORDER BY u.name, d.device_number"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt
            .query_map([], |r| Ok((device_from_row(r, 0)?, r.get::<_, String>(9)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(raw, user_name)| {
                Ok(DeviceListing {
                    device: raw.into_device()?,
                    user_name,
                })
            })
            .collect()
    }

    fn revoke_device(&self, device_id: Uuid, reason: &str, now: i64) -> Result<Device> {
        self.conn.execute(
            "UPDATE devices SET revoked_at = ?2, revoked_reason = ?3
             WHERE device_id = ?1 AND revoked_at IS NULL",
            params![device_id.to_string(), now, reason],
        )?;
        let device = self
            .device(device_id)?
            .ok_or_else(|| StoreError::NotFound {
                what: "device",
                key: device_id.to_string(),
            })?;
        Ok(device)
    }

    fn get_case(&self, case_id: &str) -> Result<Option<CaseRecord>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_id = ?1");
        self.conn
            .query_row(&sql, [case_id], case_from_row)
            .optional()?
            .map(finish_case)
            .transpose()
    }

    fn put_case(&self, case: &CaseWrite<'_>) -> Result<u64> {
        let seq: i64 = self.conn.query_row(
            "UPDATE server_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq",
            [],
            |r| r.get(0),
        )?;
        self.conn.execute(
            "INSERT INTO cases (case_id, doc, seq, created_by, assignee, team_id, kind, status,
                 updated_at, heads, writers)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (case_id) DO UPDATE SET
                doc = excluded.doc, seq = excluded.seq,
                created_by = COALESCE(cases.created_by, excluded.created_by),
                assignee = excluded.assignee, team_id = excluded.team_id, kind = excluded.kind,
                status = excluded.status, updated_at = excluded.updated_at,
                heads = excluded.heads, writers = excluded.writers",
            params![
                case.case_id,
                case.doc,
                seq,
                case.created_by,
                case.assignee,
                case.team_id,
                case.kind,
                case.status,
                case.updated_at,
                json_text(case.heads)?,
                json_text(case.writers)?
            ],
        )?;
        to_u64(seq, "sequence")
    }

    fn current_seq(&self) -> Result<u64> {
        let seq: i64 = self
            .conn
            .query_row("SELECT seq FROM server_seq WHERE id = 1", [], |r| r.get(0))?;
        to_u64(seq, "sequence")
    }

    fn cases_since(&self, viewer: &Viewer, after_seq: u64, limit: u32) -> Result<CasePage> {
        use rusqlite::types::Value;
        // The role's filter and its parameters, shared by the page and the count; `?1` is the
        // sequence to start after.
        let (filter, args): (&str, Vec<Value>) = match viewer.role {
            Role::Admin => ("", vec![]),
            Role::TeamLeader => match viewer.team_id {
                Some(team) => ("AND team_id = ?2", vec![Value::Text(team.to_string())]),
                // A team leader without a team sees nothing.
                None => ("AND 0", vec![]),
            },
            Role::Officer => (
                "AND (assignee = ?2 OR created_by = ?2)",
                vec![Value::Text(viewer.person_id.to_string())],
            ),
        };
        let with = |first: i64, extra: Option<i64>| {
            let mut all = vec![Value::Integer(first)];
            all.extend(args.iter().cloned());
            all.extend(extra.map(Value::Integer));
            rusqlite::params_from_iter(all)
        };
        let limit_param = args.len() + 2;
        let page_sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE seq > ?1 {filter} ORDER BY seq LIMIT ?{limit_param}"
        );
        let after = to_i64(after_seq)?;
        let raw = self
            .conn
            .prepare_cached(&page_sql)?
            .query_map(with(after, Some(i64::from(limit))), case_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let cases = raw
            .into_iter()
            .map(finish_case)
            .collect::<Result<Vec<_>>>()?;
        let last = match cases.last() {
            Some(c) => to_i64(c.seq)?,
            None => after,
        };
        let count_sql = format!("SELECT COUNT(*) FROM cases WHERE seq > ?1 {filter}");
        let remaining: i64 = self
            .conn
            .prepare_cached(&count_sql)?
            .query_row(with(last, None), |r| r.get(0))?;
        Ok(CasePage {
            cases,
            remaining: to_u64(remaining, "count")?,
        })
    }

    fn device_heads(&self, device_id: Uuid, case_id: &str) -> Result<Option<Vec<String>>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT heads FROM device_case_heads
                 WHERE device_id = ?1 AND case_id = ?2 AND departed_seq IS NULL",
                params![device_id.to_string(), case_id],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(format!("heads {t:?}: {e}")))
        })
        .transpose()
    }

    fn set_pending_heads(
        &self,
        device_id: Uuid,
        case_id: &str,
        heads: &[String],
        seq: u64,
    ) -> Result<()> {
        let text =
            serde_json::to_string(heads).map_err(|e| StoreError::Corrupt(format!("heads: {e}")))?;
        self.conn.execute(
            "INSERT INTO device_case_heads (device_id, case_id, heads, pending_heads, pending_seq)
             VALUES (?1, ?2, '[]', ?3, ?4)
             ON CONFLICT (device_id, case_id) DO UPDATE SET
                 pending_heads = excluded.pending_heads, pending_seq = excluded.pending_seq,
                 heads = CASE WHEN departed_seq IS NULL THEN heads ELSE '[]' END,
                 departed_seq = NULL",
            params![device_id.to_string(), case_id, text, to_i64(seq)?],
        )?;
        Ok(())
    }

    fn confirm_pending_heads(&self, device_id: Uuid, applied: u64, since: u64) -> Result<()> {
        let (device, applied, since) = (device_id.to_string(), to_i64(applied)?, to_i64(since)?);
        self.conn
            .prepare_cached(
                "UPDATE device_case_heads
                 SET heads = CASE WHEN pending_seq <= ?2 THEN pending_heads ELSE heads END,
                     pending_heads = NULL, pending_seq = NULL
                 WHERE device_id = ?1 AND pending_seq IS NOT NULL
                   AND (pending_seq <= ?2 OR pending_seq > ?3)",
            )?
            .execute(params![device, applied, since])?;
        self.conn
            .prepare_cached(
                "DELETE FROM device_case_heads
                 WHERE device_id = ?1 AND departed_seq IS NOT NULL AND departed_seq <= ?2
                   AND NOT EXISTS (SELECT 1 FROM cases c
                                   WHERE c.case_id = device_case_heads.case_id AND c.seq > ?2)",
            )?
            .execute(params![device, applied])?;
        Ok(())
    }

    fn has_pending(&self, device_id: Uuid, upto_seq: u64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM device_case_heads WHERE device_id = ?1
                                AND pending_seq IS NOT NULL AND pending_seq <= ?2)
                     OR EXISTS (SELECT 1 FROM device_case_heads WHERE device_id = ?1
                                AND departed_seq IS NOT NULL AND departed_seq <= ?2)",
            )?
            .query_row(params![device_id.to_string(), to_i64(upto_seq)?], |r| {
                r.get(0)
            })?)
    }

    fn departures(
        &self,
        device_id: Uuid,
        viewer: &Viewer,
        after_seq: u64,
        upto_seq: u64,
    ) -> Result<Vec<(String, u64)>> {
        if upto_seq <= after_seq {
            return Ok(Vec::new());
        }
        // Cases first (a short range of sequences), then the device's row for each.
        let visible = match viewer.role {
            Role::Admin => return Ok(Vec::new()),
            Role::TeamLeader => "coalesce(c.team_id = ?4, 0)",
            Role::Officer => "(coalesce(c.assignee = ?4, 0) OR coalesce(c.created_by = ?4, 0))",
        };
        let who = match viewer.role {
            Role::TeamLeader => viewer.team_id.map(|t| t.to_string()).unwrap_or_default(),
            _ => viewer.person_id.to_string(),
        };
        let sql = format!(
            "SELECT c.case_id, c.seq FROM cases c CROSS JOIN device_case_heads h
             WHERE c.seq > ?2 AND c.seq <= ?3 AND h.device_id = ?1 AND h.case_id = c.case_id
               AND NOT {visible}
             ORDER BY c.seq"
        );
        let device = device_id.to_string();
        let gone = self
            .conn
            .prepare_cached(&sql)?
            .query_map(
                params![device, to_i64(after_seq)?, to_i64(upto_seq)?, who],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut mark = self.conn.prepare_cached(
            "UPDATE device_case_heads SET departed_seq = ?3 WHERE device_id = ?1 AND case_id = ?2",
        )?;
        gone.into_iter()
            .map(|(case_id, seq)| {
                mark.execute(params![device, case_id, seq])?;
                Ok((case_id, to_u64(seq, "seq")?))
            })
            .collect()
    }

    fn add_person_alias(&self, person_id: Uuid, user_id: Uuid, now: i64) -> Result<()> {
        match self.alias_owner(person_id)? {
            Some(o) if o == user_id.to_string() => Ok(()),
            Some(_) => Err(StoreError::Conflict {
                code: "person_taken",
                message: format!("person id {person_id} belongs to another user"),
            }),
            None => {
                self.conn.execute(
                    "INSERT INTO person_aliases (person_id, user_id, created_at) VALUES (?1, ?2, ?3)",
                    params![person_id.to_string(), user_id.to_string(), now],
                )?;
                Ok(())
            }
        }
    }

    fn person_aliases(&self, user_id: Uuid) -> Result<Vec<Uuid>> {
        let mut stmt = self.conn.prepare(
            "SELECT person_id FROM person_aliases WHERE user_id = ?1 ORDER BY person_id",
        )?;
        let ids: Vec<String> = stmt
            .query_map([user_id.to_string()], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        ids.iter().map(|s| parse_uuid(s)).collect()
    }

    fn user_of_person(&self, person_id: Uuid) -> Result<Option<User>> {
        if let Some(u) = self.user(person_id)? {
            return Ok(Some(u));
        }
        match self.alias_owner(person_id)? {
            Some(o) => self.user(parse_uuid(&o)?),
            None => Ok(None),
        }
    }

    fn set_device_heads(&self, device_id: Uuid, case_id: &str, heads: &[String]) -> Result<()> {
        let text =
            serde_json::to_string(heads).map_err(|e| StoreError::Corrupt(format!("heads: {e}")))?;
        self.conn.execute(
            "INSERT INTO device_case_heads (device_id, case_id, heads) VALUES (?1, ?2, ?3)
             ON CONFLICT (device_id, case_id) DO UPDATE SET heads = excluded.heads",
            params![device_id.to_string(), case_id, text],
        )?;
        Ok(())
    }

    fn applied_batch(&self, device_id: Uuid, batch_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row(
                "SELECT response FROM applied_batches WHERE device_id = ?1 AND batch_id = ?2",
                params![device_id.to_string(), batch_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn put_applied_batch(
        &self,
        device_id: Uuid,
        batch_id: &str,
        response: &[u8],
        now: i64,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO applied_batches (device_id, batch_id, response, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![device_id.to_string(), batch_id, response, now],
            )
            .map_err(|e| {
                now_conflict(
                    e,
                    "batch_applied",
                    format!("batch {batch_id} was already applied"),
                )
            })?;
        Ok(())
    }

    fn set_case_photos(&self, case_id: &str, sha256s: &[String]) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM case_photos WHERE case_id = ?1")?
            .execute([case_id])?;
        let mut insert = self.conn.prepare_cached(
            "INSERT INTO case_photos (case_id, sha256) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?;
        for sha in sha256s {
            insert.execute(params![case_id, sha])?;
        }
        Ok(())
    }

    fn case_photos(&self, case_id: &str) -> Result<Vec<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT sha256 FROM case_photos WHERE case_id = ?1 ORDER BY sha256")?
            .query_map([case_id], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn photo_visible(&self, viewer: &Viewer, sha256: &str) -> Result<bool> {
        // The same rule as `cases_since`.
        let (filter, who) = match viewer.role {
            Role::Admin => ("", None),
            Role::TeamLeader => match viewer.team_id {
                Some(team) => ("AND c.team_id = ?2", Some(team.to_string())),
                None => return Ok(false),
            },
            Role::Officer => (
                "AND (c.assignee = ?2 OR c.created_by = ?2)",
                Some(viewer.person_id.to_string()),
            ),
        };
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM case_photos p JOIN cases c ON c.case_id = p.case_id
                            WHERE p.sha256 = ?1 {filter})"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        Ok(match who {
            Some(who) => stmt.query_row(params![sha256, who], |r| r.get(0))?,
            None => stmt.query_row([sha256], |r| r.get(0))?,
        })
    }

    fn upload(&self, sha256: &str) -> Result<Option<Upload>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT total, received, started_by_device, started_at FROM uploads
                 WHERE sha256 = ?1",
            )?
            .query_row([sha256], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .optional()?;
        row.map(|(total, received, device, started_at)| {
            Ok(Upload {
                sha256: sha256.to_owned(),
                total: to_u64(total, "upload length")?,
                received: to_u64(received, "upload offset")?,
                started_by_device: parse_uuid(&device)?,
                started_at,
            })
        })
        .transpose()
    }

    fn start_upload(&self, upload: &Upload) -> Result<()> {
        self.delete_upload(&upload.sha256)?;
        self.conn.execute(
            "INSERT INTO uploads (sha256, total, received, started_by_device, started_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                upload.sha256,
                to_i64(upload.total)?,
                to_i64(upload.received)?,
                upload.started_by_device.to_string(),
                upload.started_at
            ],
        )?;
        Ok(())
    }

    fn append_upload_chunk(&self, sha256: &str, offset: u64, data: &[u8]) -> Result<()> {
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or_else(|| StoreError::Corrupt("upload offset out of range".into()))?;
        let moved = self
            .conn
            .prepare_cached("UPDATE uploads SET received = ?3 WHERE sha256 = ?1 AND received = ?2")?
            .execute(params![sha256, to_i64(offset)?, to_i64(end)?])?;
        if moved != 1 {
            return Err(StoreError::Conflict {
                code: "offset_mismatch",
                message: format!("no upload of {sha256} at offset {offset}"),
            });
        }
        self.conn
            .prepare_cached(
                "INSERT INTO upload_chunks (sha256, byte_offset, data) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![sha256, to_i64(offset)?, data])?;
        Ok(())
    }

    fn upload_data(&self, sha256: &str) -> Result<Vec<u8>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT data FROM upload_chunks WHERE sha256 = ?1 ORDER BY byte_offset",
        )?;
        let mut rows = stmt.query([sha256])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let chunk: Vec<u8> = row.get(0)?;
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn delete_upload(&self, sha256: &str) -> Result<()> {
        self.conn
            .prepare_cached("DELETE FROM upload_chunks WHERE sha256 = ?1")?
            .execute([sha256])?;
        self.conn
            .prepare_cached("DELETE FROM uploads WHERE sha256 = ?1")?
            .execute([sha256])?;
        Ok(())
    }

    fn expire_uploads(&self, started_before: i64) -> Result<u64> {
        self.conn.execute(
            "DELETE FROM upload_chunks WHERE sha256 IN
                 (SELECT sha256 FROM uploads WHERE started_at < ?1)",
            [started_before],
        )?;
        let gone = self.conn.execute(
            "DELETE FROM uploads WHERE started_at < ?1",
            [started_before],
        )?;
        Ok(gone as u64)
    }
}
