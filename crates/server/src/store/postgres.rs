//! The PostgreSQL store, for a server that keeps its data in a database of its own or runs as
//! more than one node over one database. Same trait, same rules and error codes as
//! [`super::sqlite`]; migrations `migrations/server/postgres/000N_*.sql` mirror the SQLite ones
//! number for number.
//!
//! # Transactions, and why pulls never skip a case
//!
//! A device pulls "cases with `seq > since`" and then asks from the highest `seq` it saw. That
//! is only safe if a commit with a smaller `seq` can never become visible after one with a
//! larger `seq`: otherwise a device that read `seq` 8 before 7 committed would never pull 7.
//! And two pushes to one case (on one node or on two) each read the stored document, merge, and
//! write it back: the second must read what the first wrote, or the first's changes are lost.
//!
//! Both follow from one rule: **every write transaction first locks the single `server_seq` row**
//! (`SELECT ... FOR UPDATE`, at `READ COMMITTED`). Writers therefore run one at a time across
//! every node, exactly as `BEGIN IMMEDIATE` makes them do in SQLite:
//! - A writer takes its `seq` while holding the lock and keeps the lock until it commits, and
//!   PostgreSQL makes a transaction visible before it releases its locks. So writers commit in
//!   `seq` order, and any snapshot that sees `seq` n also sees every `seq` below n.
//! - At `READ COMMITTED` each statement reads the data committed before it started; after the
//!   lock is granted that includes every earlier writer, so a read-merge-write always merges into
//!   the latest document. (`REPEATABLE READ` would instead fail the lock with a serialisation
//!   error whenever another writer had committed meanwhile.)
//!
//! Within one node, writers also queue on a mutex before taking a connection, so waiting
//! writers never tie up the pool (see [`PostgresStore`]'s `writer`).
//!
//! Reads (`read_tx`) are `REPEATABLE READ READ ONLY`: one snapshot, never blocked by writers.
//! `tests/store.rs` checks both properties with several stores over one database.
//!
//! Migrations run under a transaction-scoped advisory lock, so two nodes starting at once apply
//! them once; DDL is transactional in PostgreSQL, so a migration applies entirely or not at all.
//! The schema version lives in `fieldbook_schema`; a database from a newer server is refused
//! before anything is written.
//!
//! # Connections
//!
//! A small pool of its own (as [`super::sqlite`] has), bounded at [`POOL_SIZE`] connections per
//! node; a connection that broke is dropped rather than returned. Each connection keeps the
//! statements it prepared, so a statement costs one round trip from its second use on. It needs no more than that, so
//! no pool crate. Connections use no TLS: keep the database on loopback or a private network
//! between the server nodes and PostgreSQL. Each session sets `lock_timeout` (a writer waits at
//! most [`LOCK_TIMEOUT`] for the others, like SQLite's busy timeout) and
//! `idle_in_transaction_session_timeout`, so a stalled node cannot hold the write lock forever.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{Client, Config, IsolationLevel, NoTls, Row, Statement, Transaction};
use uuid::Uuid;

use super::pool::Pool;
use super::{
    CasePage, CaseRecord, CaseWrite, Device, DeviceListing, NewDevice, NewUser, Result, Role,
    Store, StoreError, Team, Tx, Upload, User, UserCredentials, Viewer,
};

/// The schema migrations, in order; file `N` takes the database to schema version `N`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../../migrations/server/postgres/0001_init.sql"),
    include_str!("../../../../migrations/server/postgres/0002_person_aliases.sql"),
    include_str!("../../../../migrations/server/postgres/0003_pending_heads.sql"),
    include_str!("../../../../migrations/server/postgres/0004_token_issued_at.sql"),
    include_str!("../../../../migrations/server/postgres/0005_departures.sql"),
    include_str!("../../../../migrations/server/postgres/0006_case_heads.sql"),
    include_str!("../../../../migrations/server/postgres/0007_departed_index.sql"),
    include_str!("../../../../migrations/server/postgres/0008_photos.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Connections per server node.
pub const POOL_SIZE: usize = 8;
/// How long a writer waits for the write lock before failing.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);
const IDLE_IN_TRANSACTION_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The key of the advisory lock migrations run under ("fieldbk" in ASCII).
const MIGRATION_LOCK: i64 = 0x0066_6965_6c64_626b;

/// The PostgreSQL store.
pub struct PostgresStore {
    config: Config,
    pool: Pool<Conn>,
    /// Held for each write transaction, from before it takes a connection. Writers run one at a
    /// time anyway (the `server_seq` lock), so this node's writers wait here rather than each
    /// holding a pooled connection idle in a row-lock wait: reads always find a connection, and
    /// a queue of writers never meets `lock_timeout` behind one another.
    writer: Mutex<()>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the config: it may hold a password.
        f.debug_struct("PostgresStore")
            .field("hosts", &self.config.get_hosts())
            .field("dbname", &self.config.get_dbname())
            .finish_non_exhaustive()
    }
}

/// A pooled connection and the statements prepared on it (a fixed set of SQL texts, so the
/// cache stays small): a statement's second use skips the round trip that prepares it.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    fn new(client: Client) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
        }
    }
}

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names and brings its schema up to date
    /// (creating it in an empty database). A database from a newer server is refused, untouched.
    pub fn open(url: &str) -> Result<PostgresStore> {
        let mut config = Config::from_str(url).map_err(|e| {
            StoreError::Unsupported(format!("the database URL does not parse: {e}"))
        })?;
        config
            .application_name("fieldbook-server")
            .connect_timeout(CONNECT_TIMEOUT)
            .options(&format!(
                "-c lock_timeout={} -c idle_in_transaction_session_timeout={}",
                LOCK_TIMEOUT.as_millis(),
                IDLE_IN_TRANSACTION_TIMEOUT.as_millis()
            ));
        let mut client = config.connect(NoTls)?;
        migrate(&mut client)?;
        Ok(PostgresStore {
            config,
            pool: Pool::new(Conn::new(client), POOL_SIZE),
            writer: Mutex::new(()),
        })
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        // A connection that broke is not reused.
        self.pool.with(
            || Ok(Conn::new(self.config.connect(NoTls)?)),
            |c| !c.client.is_closed(),
            f,
        )
    }

    fn in_tx(&self, write: bool, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.with_conn(|conn| {
            let Conn { client, statements } = conn;
            let tx = if write {
                let mut tx = client
                    .build_transaction()
                    .isolation_level(IsolationLevel::ReadCommitted)
                    .start()?;
                // The write lock: see the module docs.
                let locked =
                    tx.execute("SELECT seq FROM server_seq WHERE id = 1 FOR UPDATE", &[])?;
                if locked != 1 {
                    return Err(StoreError::Corrupt(
                        "the server_seq row is missing, so writes cannot be ordered".into(),
                    ));
                }
                tx
            } else {
                client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()?
            };
            let tx = PgTx {
                tx: RefCell::new(Session::Tx(tx)),
                statements: RefCell::new(statements),
                failed: Cell::new(false),
            };
            // On `Err` the transaction rolls back when dropped.
            f(&tx)?;
            if tx.failed.get() {
                return Err(StoreError::Unsupported(
                    "a statement failed inside the transaction, so it was rolled back".into(),
                ));
            }
            if let Session::Tx(t) = tx.tx.into_inner() {
                t.commit()?;
            }
            Ok(())
        })
    }
}

impl Store for PostgresStore {
    fn ping(&self) -> Result<()> {
        self.with_conn(|conn| {
            let version = schema_version(&mut conn.client)?;
            if version == Some(SCHEMA_VERSION) {
                Ok(())
            } else {
                Err(StoreError::Corrupt(format!(
                    "schema version {version:?}, expected {SCHEMA_VERSION}"
                )))
            }
        })
    }

    fn write_tx(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.in_tx(true, f)
    }

    fn read_tx(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.in_tx(false, f)
    }

    fn read_each(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.with_conn(|conn| {
            let Conn { client, statements } = conn;
            let tx = PgTx {
                tx: RefCell::new(Session::Single(client)),
                statements: RefCell::new(statements),
                failed: Cell::new(false),
            };
            f(&tx)
        })
    }
}

/// The stored schema version, or `None` before the first migration.
fn schema_version(client: &mut impl postgres::GenericClient) -> Result<Option<i64>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('fieldbook_schema') IS NOT NULL", &[])?
        .try_get(0)?;
    if !exists {
        return Ok(None);
    }
    Ok(client
        .query_opt("SELECT version FROM fieldbook_schema WHERE id = 1", &[])?
        .map(|r| r.try_get(0))
        .transpose()?)
}

fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    // Another node starting at the same moment waits here until this one commits.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let version = schema_version(&mut tx)?.unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 0 {
        return Err(StoreError::Corrupt(format!("schema version {version}")));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS fieldbook_schema (
             id      INTEGER PRIMARY KEY CHECK (id = 1),
             version BIGINT NOT NULL
         )",
    )?;
    for (sql, target) in MIGRATIONS.iter().zip(1_i64..).skip(version as usize) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO fieldbook_schema (id, version) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version",
            &[&target],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Where a [`PgTx`]'s statements run: in a transaction, or each on its own (autocommit: one
/// statement, one snapshot, and no `BEGIN` and `COMMIT` round trips around it).
enum Session<'c> {
    Tx(Transaction<'c>),
    Single(&'c mut Client),
}

impl Session<'_> {
    fn prepare(&mut self, sql: &str) -> std::result::Result<Statement, postgres::Error> {
        match self {
            Session::Tx(t) => t.prepare(sql),
            Session::Single(c) => c.prepare(sql),
        }
    }

    fn query(
        &mut self,
        s: &Statement,
        params: Params<'_>,
    ) -> std::result::Result<Vec<Row>, postgres::Error> {
        match self {
            Session::Tx(t) => t.query(s, params),
            Session::Single(c) => c.query(s, params),
        }
    }

    fn query_opt(
        &mut self,
        s: &Statement,
        params: Params<'_>,
    ) -> std::result::Result<Option<Row>, postgres::Error> {
        match self {
            Session::Tx(t) => t.query_opt(s, params),
            Session::Single(c) => c.query_opt(s, params),
        }
    }

    fn query_one(
        &mut self,
        s: &Statement,
        params: Params<'_>,
    ) -> std::result::Result<Row, postgres::Error> {
        match self {
            Session::Tx(t) => t.query_one(s, params),
            Session::Single(c) => c.query_one(s, params),
        }
    }

    fn execute(
        &mut self,
        s: &Statement,
        params: Params<'_>,
    ) -> std::result::Result<u64, postgres::Error> {
        match self {
            Session::Tx(t) => t.execute(s, params),
            Session::Single(c) => c.execute(s, params),
        }
    }
}

struct PgTx<'c> {
    tx: RefCell<Session<'c>>,
    statements: RefCell<&'c mut HashMap<String, Statement>>,
    /// A statement failed: PostgreSQL has aborted the transaction, so it must not report a
    /// commit even if the caller carried on past the error.
    failed: Cell<bool>,
}

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

impl PgTx<'_> {
    fn noted<T>(&self, r: std::result::Result<T, postgres::Error>) -> Result<T> {
        r.map_err(|e| {
            self.failed.set(true);
            e.into()
        })
    }

    /// The statement for `sql`, prepared on this connection once.
    fn prepared(&self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let r = self.tx.borrow_mut().prepare(sql);
        let statement = self.noted(r)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn query(&self, sql: &str, params: Params<'_>) -> Result<Vec<Row>> {
        let statement = self.prepared(sql)?;
        let r = self.tx.borrow_mut().query(&statement, params);
        self.noted(r)
    }

    fn query_opt(&self, sql: &str, params: Params<'_>) -> Result<Option<Row>> {
        let statement = self.prepared(sql)?;
        let r = self.tx.borrow_mut().query_opt(&statement, params);
        self.noted(r)
    }

    fn query_one(&self, sql: &str, params: Params<'_>) -> Result<Row> {
        let statement = self.prepared(sql)?;
        let r = self.tx.borrow_mut().query_one(&statement, params);
        self.noted(r)
    }

    fn execute(&self, sql: &str, params: Params<'_>) -> Result<u64> {
        let statement = self.prepared(sql)?;
        let r = self.tx.borrow_mut().execute(&statement, params);
        self.noted(r)
    }

    /// The user id a device-minted person id belongs to, if any.
    fn alias_owner(&self, person_id: Uuid) -> Result<Option<Uuid>> {
        self.query_opt(
            "SELECT user_id FROM person_aliases WHERE person_id = $1",
            &[&person_id],
        )?
        .map(|r| r.try_get(0).map_err(StoreError::from))
        .transpose()
    }

    fn users_where(&self, filter: &str, params: Params<'_>) -> Result<Vec<UserCredentials>> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u LEFT JOIN teams t ON t.team_id = u.team_id \
             {filter} ORDER BY u.name"
        );
        self.query(&sql, params)?
            .iter()
            .map(user_from_row)
            .collect()
    }
}

/// A constraint the write broke, as the stable conflict `code`; other errors pass through.
fn conflict(e: StoreError, code: &'static str, message: String) -> StoreError {
    match &e {
        // Class 23: integrity constraint violation.
        StoreError::Postgres(pe) if pe.code().is_some_and(|c| c.code().starts_with("23")) => {
            StoreError::Conflict { code, message }
        }
        _ => e,
    }
}

fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v}")))
}

fn to_i64(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("sequence {v} out of range")))
}

const USER_COLUMNS: &str =
    "u.user_id, u.name, u.role, u.created_at, t.team_id, t.name, t.created_at, u.password_hash";

fn user_from_row(r: &Row) -> Result<UserCredentials> {
    user_from_row_at(r, 0)
}

/// A user from [`USER_COLUMNS`] starting at column `at`.
fn user_from_row_at(r: &Row, at: usize) -> Result<UserCredentials> {
    let role: String = r.try_get(at + 2)?;
    let role = role
        .parse::<Role>()
        .ok()
        .ok_or_else(|| StoreError::Corrupt(format!("role {role:?}")))?;
    let team = match (
        r.try_get::<_, Option<Uuid>>(at + 4)?,
        r.try_get::<_, Option<String>>(at + 5)?,
        r.try_get::<_, Option<i64>>(at + 6)?,
    ) {
        (Some(id), Some(name), Some(created_at)) => Some(Team {
            id,
            name,
            created_at,
        }),
        _ => None,
    };
    Ok(UserCredentials {
        user: User {
            id: r.try_get(at)?,
            name: r.try_get(at + 1)?,
            role,
            team,
            created_at: r.try_get(at + 3)?,
        },
        password_hash: r.try_get(at + 7)?,
    })
}

const DEVICE_COLUMNS: &str = "d.device_id, d.user_id, d.device_number, d.name, d.created_at, \
     d.last_seen_at, d.revoked_at, d.revoked_reason, d.token_issued_at";
/// The number of [`DEVICE_COLUMNS`].
const DEVICE_COLUMN_COUNT: usize = 9;

fn device_from_row(r: &Row) -> Result<Device> {
    let number: i64 = r.try_get(2)?;
    let created_at: i64 = r.try_get(4)?;
    Ok(Device {
        device_id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        device_number: u32::try_from(number)
            .map_err(|_| StoreError::Corrupt(format!("device number {number}")))?,
        name: r.try_get(3)?,
        created_at,
        last_seen_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
        revoked_reason: r.try_get(7)?,
        token_issued_at: r.try_get::<_, Option<i64>>(8)?.unwrap_or(created_at),
    })
}

const CASE_COLUMNS: &str =
    "case_id, doc, seq, created_by, assignee, team_id, kind, status, updated_at, heads, writers";

fn case_from_row(r: &Row) -> Result<CaseRecord> {
    Ok(CaseRecord {
        case_id: r.try_get(0)?,
        doc: r.try_get(1)?,
        seq: to_u64(r.try_get(2)?, "sequence")?,
        created_by: r.try_get(3)?,
        assignee: r.try_get(4)?,
        team_id: r.try_get(5)?,
        kind: r.try_get(6)?,
        status: r.try_get(7)?,
        updated_at: r.try_get(8)?,
        heads: r.try_get(9)?,
        writers: r.try_get(10)?,
    })
}

fn team_from_row(r: &Row) -> Result<Team> {
    Ok(Team {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        created_at: r.try_get(2)?,
    })
}

impl Tx for PgTx<'_> {
    fn create_team(&self, name: &str, now: i64) -> Result<Team> {
        let team = Team {
            id: Uuid::now_v7(),
            name: name.to_owned(),
            created_at: now,
        };
        let inserted = self
            .execute(
                "INSERT INTO teams (team_id, name, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO NOTHING",
                &[&team.id, &team.name, &team.created_at],
            )
            .map_err(|e| conflict(e, "team_exists", format!("team {name:?} already exists")))?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                code: "team_exists",
                message: format!("team {name:?} already exists"),
            });
        }
        Ok(team)
    }

    fn team_by_name(&self, name: &str) -> Result<Option<Team>> {
        self.query_opt(
            "SELECT team_id, name, created_at FROM teams WHERE name = $1",
            &[&name],
        )?
        .as_ref()
        .map(team_from_row)
        .transpose()
    }

    fn list_teams(&self) -> Result<Vec<Team>> {
        self.query(
            "SELECT team_id, name, created_at FROM teams ORDER BY name",
            &[],
        )?
        .iter()
        .map(team_from_row)
        .collect()
    }

    fn create_user(&self, new: &NewUser<'_>) -> Result<User> {
        let id = Uuid::now_v7();
        let exists = || StoreError::Conflict {
            code: "user_exists",
            message: format!("user {:?} already exists (or the team does not)", new.name),
        };
        // Checked first, as a failed statement would end the transaction in PostgreSQL (the
        // write lock makes the check and the insert one step).
        if let Some(team) = new.team_id
            && self
                .query_opt("SELECT 1 FROM teams WHERE team_id = $1", &[&team])?
                .is_none()
        {
            return Err(exists());
        }
        let inserted = self
            .execute(
                "INSERT INTO users (user_id, name, role, team_id, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (name) DO NOTHING",
                &[
                    &id,
                    &new.name,
                    &new.role.code(),
                    &new.team_id,
                    &new.password_hash,
                    &new.now,
                ],
            )
            .map_err(|e| {
                conflict(
                    e,
                    "user_exists",
                    format!("user {:?} already exists (or the team does not)", new.name),
                )
            })?;
        if inserted == 0 {
            return Err(exists());
        }
        self.user(id)?.ok_or_else(|| StoreError::NotFound {
            what: "user",
            key: id.to_string(),
        })
    }

    fn user(&self, id: Uuid) -> Result<Option<User>> {
        Ok(self
            .users_where("WHERE u.user_id = $1", &[&id])?
            .pop()
            .map(|c| c.user))
    }

    fn user_credentials(&self, name: &str) -> Result<Option<UserCredentials>> {
        Ok(self.users_where("WHERE u.name = $1", &[&name])?.pop())
    }

    fn list_users(&self) -> Result<Vec<User>> {
        Ok(self
            .users_where("", &[])?
            .into_iter()
            .map(|c| c.user)
            .collect())
    }

    fn register_device(&self, new: &NewDevice<'_>) -> Result<Device> {
        let id = new.device_id;
        if let Some(existing) = self.device(id)? {
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
        let number = i64::from(new.device_number);
        if let Some(other) = self.query_opt(
            "SELECT device_id FROM devices WHERE device_number = $1 AND device_id <> $2",
            &[&number, &id],
        )? {
            let other: Uuid = other.try_get(0)?;
            return Err(StoreError::Conflict {
                code: "device_number_taken",
                message: format!(
                    "device number {} is already used by device {other}; set this device up \
                     with another number",
                    new.device_number
                ),
            });
        }
        self.execute(
            "INSERT INTO devices (device_id, user_id, device_number, name, token_sha256,
                 created_at, last_seen_at, token_issued_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $6)
             ON CONFLICT (device_id) DO UPDATE SET
                device_number = EXCLUDED.device_number, name = EXCLUDED.name,
                token_sha256 = EXCLUDED.token_sha256, last_seen_at = EXCLUDED.last_seen_at,
                token_issued_at = EXCLUDED.token_issued_at",
            &[
                &id,
                &new.user_id,
                &number,
                &new.name,
                &new.token_sha256.as_slice(),
                &new.now,
            ],
        )
        .map_err(|e| conflict(e, "token_collision", "token collision; retry".into()))?;
        self.device(id)?.ok_or_else(|| StoreError::NotFound {
            what: "device",
            key: id.to_string(),
        })
    }

    fn device_by_token(&self, token_sha256: &[u8; 32]) -> Result<Option<(Device, User)>> {
        // One statement (every authenticated request runs it): the device, its user and team.
        let sql = format!(
            "SELECT {DEVICE_COLUMNS}, {USER_COLUMNS} FROM devices d
             JOIN users u ON u.user_id = d.user_id LEFT JOIN teams t ON t.team_id = u.team_id
             WHERE d.token_sha256 = $1"
        );
        let Some(row) = self.query_opt(&sql, &[&token_sha256.as_slice()])? else {
            return Ok(None);
        };
        let device = device_from_row(&row)?;
        let user = user_from_row_at(&row, DEVICE_COLUMN_COUNT)?.user;
        Ok(Some((device, user)))
    }

    fn device(&self, device_id: Uuid) -> Result<Option<Device>> {
        let sql = format!("SELECT {DEVICE_COLUMNS} FROM devices d WHERE d.device_id = $1");
        self.query_opt(&sql, &[&device_id])?
            .as_ref()
            .map(device_from_row)
            .transpose()
    }

    fn touch_device(&self, device_id: Uuid, now: i64) -> Result<()> {
        self.execute(
            "UPDATE devices SET last_seen_at = $2 WHERE device_id = $1",
            &[&device_id, &now],
        )?;
        Ok(())
    }

    fn list_devices(&self) -> Result<Vec<DeviceListing>> {
        let sql = format!(
            "SELECT {DEVICE_COLUMNS}, u.name FROM devices d JOIN users u ON u.user_id = d.user_id \
             ORDER BY u.name, d.device_number"
        );
        self.query(&sql, &[])?
            .iter()
            .map(|r| {
                Ok(DeviceListing {
                    device: device_from_row(r)?,
                    user_name: r.try_get(DEVICE_COLUMN_COUNT)?,
                })
            })
            .collect()
    }

    fn revoke_device(&self, device_id: Uuid, reason: &str, now: i64) -> Result<Device> {
        self.execute(
            "UPDATE devices SET revoked_at = $2, revoked_reason = $3
             WHERE device_id = $1 AND revoked_at IS NULL",
            &[&device_id, &now, &reason],
        )?;
        self.device(device_id)?.ok_or_else(|| StoreError::NotFound {
            what: "device",
            key: device_id.to_string(),
        })
    }

    fn get_case(&self, case_id: &str) -> Result<Option<CaseRecord>> {
        let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE case_id = $1");
        self.query_opt(&sql, &[&case_id])?
            .as_ref()
            .map(case_from_row)
            .transpose()
    }

    fn put_case(&self, case: &CaseWrite<'_>) -> Result<u64> {
        let seq: i64 = self
            .query_one(
                "UPDATE server_seq SET seq = seq + 1 WHERE id = 1 RETURNING seq",
                &[],
            )?
            .try_get(0)?;
        self.execute(
            "INSERT INTO cases (case_id, doc, seq, created_by, assignee, team_id, kind, status,
                 updated_at, heads, writers)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT (case_id) DO UPDATE SET
                doc = EXCLUDED.doc, seq = EXCLUDED.seq,
                created_by = COALESCE(cases.created_by, EXCLUDED.created_by),
                assignee = EXCLUDED.assignee, team_id = EXCLUDED.team_id, kind = EXCLUDED.kind,
                status = EXCLUDED.status, updated_at = EXCLUDED.updated_at,
                heads = EXCLUDED.heads, writers = EXCLUDED.writers",
            &[
                &case.case_id,
                &case.doc,
                &seq,
                &case.created_by,
                &case.assignee,
                &case.team_id,
                &case.kind,
                &case.status,
                &case.updated_at,
                &case.heads,
                &case.writers,
            ],
        )?;
        to_u64(seq, "sequence")
    }

    fn current_seq(&self) -> Result<u64> {
        let seq: i64 = self
            .query_one("SELECT seq FROM server_seq WHERE id = 1", &[])?
            .try_get(0)?;
        to_u64(seq, "sequence")
    }

    fn cases_since(&self, viewer: &Viewer, after_seq: u64, limit: u32) -> Result<CasePage> {
        // The role's filter and its parameter, shared by the page and the count; `$1` is the
        // sequence to start after.
        let (filter, arg): (&str, Option<String>) = match viewer.role {
            Role::Admin => ("", None),
            Role::TeamLeader => match viewer.team_id {
                Some(team) => ("AND team_id = $2", Some(team.to_string())),
                // A team leader without a team sees nothing.
                None => ("AND FALSE", None),
            },
            Role::Officer => (
                "AND (assignee = $2 OR created_by = $2)",
                Some(viewer.person_id.to_string()),
            ),
        };
        let after = to_i64(after_seq)?;
        let limit = i64::from(limit);
        let limit_param = if arg.is_some() { 3 } else { 2 };
        let page_sql = format!(
            "SELECT {CASE_COLUMNS} FROM cases WHERE seq > $1 {filter} ORDER BY seq \
             LIMIT ${limit_param}"
        );
        let page_rows = match &arg {
            Some(a) => self.query(&page_sql, &[&after, a, &limit])?,
            None => self.query(&page_sql, &[&after, &limit])?,
        };
        let cases = page_rows
            .iter()
            .map(case_from_row)
            .collect::<Result<Vec<_>>>()?;
        let last = match cases.last() {
            Some(c) => to_i64(c.seq)?,
            None => after,
        };
        let count_sql = format!("SELECT COUNT(*) FROM cases WHERE seq > $1 {filter}");
        let remaining: i64 = match &arg {
            Some(a) => self.query_one(&count_sql, &[&last, a])?,
            None => self.query_one(&count_sql, &[&last])?,
        }
        .try_get(0)?;
        Ok(CasePage {
            cases,
            remaining: to_u64(remaining, "count")?,
        })
    }

    fn add_person_alias(&self, person_id: Uuid, user_id: Uuid, now: i64) -> Result<()> {
        match self.alias_owner(person_id)? {
            Some(o) if o == user_id => Ok(()),
            Some(_) => Err(StoreError::Conflict {
                code: "person_taken",
                message: format!("person id {person_id} belongs to another user"),
            }),
            None => {
                self.execute(
                    "INSERT INTO person_aliases (person_id, user_id, created_at) VALUES ($1, $2, $3)",
                    &[&person_id, &user_id, &now],
                )?;
                Ok(())
            }
        }
    }

    fn person_aliases(&self, user_id: Uuid) -> Result<Vec<Uuid>> {
        self.query(
            "SELECT person_id FROM person_aliases WHERE user_id = $1 ORDER BY person_id",
            &[&user_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn user_of_person(&self, person_id: Uuid) -> Result<Option<User>> {
        if let Some(u) = self.user(person_id)? {
            return Ok(Some(u));
        }
        match self.alias_owner(person_id)? {
            Some(o) => self.user(o),
            None => Ok(None),
        }
    }

    fn device_heads(&self, device_id: Uuid, case_id: &str) -> Result<Option<Vec<String>>> {
        self.query_opt(
            "SELECT heads FROM device_case_heads
             WHERE device_id = $1 AND case_id = $2 AND departed_seq IS NULL",
            &[&device_id, &case_id],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn set_device_heads(&self, device_id: Uuid, case_id: &str, heads: &[String]) -> Result<()> {
        self.execute(
            "INSERT INTO device_case_heads (device_id, case_id, heads) VALUES ($1, $2, $3)
             ON CONFLICT (device_id, case_id) DO UPDATE SET heads = EXCLUDED.heads",
            &[&device_id, &case_id, &heads],
        )?;
        Ok(())
    }

    fn set_pending_heads(
        &self,
        device_id: Uuid,
        case_id: &str,
        heads: &[String],
        seq: u64,
    ) -> Result<()> {
        // The page-wide statement below holds the rule; one case is a page of one.
        self.set_pending_heads_of(device_id, &[(case_id, heads, seq)])
    }

    // One statement each for a whole pull page, not a round trip per case. A case's heads
    // travel as one space-separated string (an array of arrays would not unnest by row).
    fn device_heads_of(
        &self,
        device_id: Uuid,
        case_ids: &[&str],
    ) -> Result<HashMap<String, Vec<String>>> {
        if case_ids.is_empty() {
            return Ok(HashMap::new());
        }
        self.query(
            "SELECT case_id, heads FROM device_case_heads
             WHERE device_id = $1 AND case_id = ANY($2) AND departed_seq IS NULL",
            &[&device_id, &case_ids],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
    }

    fn set_pending_heads_of(
        &self,
        device_id: Uuid,
        pending: &[(&str, &[String], u64)],
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = pending.iter().map(|p| p.0).collect();
        let heads: Vec<String> = pending.iter().map(|p| p.1.join(" ")).collect();
        let seqs = pending
            .iter()
            .map(|p| to_i64(p.2))
            .collect::<Result<Vec<i64>>>()?;
        self.execute(
            "INSERT INTO device_case_heads (device_id, case_id, heads, pending_heads, pending_seq)
             SELECT $1, p.case_id, '{}', string_to_array(p.heads, ' '), p.seq
             FROM unnest($2::text[], $3::text[], $4::bigint[]) AS p(case_id, heads, seq)
             ON CONFLICT (device_id, case_id) DO UPDATE SET
                 pending_heads = EXCLUDED.pending_heads, pending_seq = EXCLUDED.pending_seq,
                 heads = CASE WHEN device_case_heads.departed_seq IS NULL
                              THEN device_case_heads.heads ELSE '{}' END,
                 departed_seq = NULL",
            &[&device_id, &ids, &heads, &seqs],
        )?;
        Ok(())
    }

    fn confirm_pending_heads(&self, device_id: Uuid, applied: u64, since: u64) -> Result<()> {
        let (applied, since) = (to_i64(applied)?, to_i64(since)?);
        self.execute(
            "UPDATE device_case_heads
             SET heads = CASE WHEN pending_seq <= $2 THEN pending_heads ELSE heads END,
                 pending_heads = NULL, pending_seq = NULL
             WHERE device_id = $1 AND pending_seq IS NOT NULL
               AND (pending_seq <= $2 OR pending_seq > $3)",
            &[&device_id, &applied, &since],
        )?;
        self.execute(
            "DELETE FROM device_case_heads h
             WHERE h.device_id = $1 AND h.departed_seq IS NOT NULL AND h.departed_seq <= $2
               AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.case_id = h.case_id AND c.seq > $2)",
            &[&device_id, &applied],
        )?;
        Ok(())
    }

    fn has_pending(&self, device_id: Uuid, upto_seq: u64) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM device_case_heads WHERE device_id = $1
                                AND pending_seq IS NOT NULL AND pending_seq <= $2)
                     OR EXISTS (SELECT 1 FROM device_case_heads WHERE device_id = $1
                                AND departed_seq IS NOT NULL AND departed_seq <= $2)",
                &[&device_id, &to_i64(upto_seq)?],
            )?
            .try_get(0)?)
    }

    fn is_quiet(&self, device_id: Uuid, batch_id: &str, applied: u64, since: u64) -> Result<bool> {
        Ok(self
            .query_one(
                "SELECT (SELECT seq FROM server_seq WHERE id = 1) <= $3
                    AND NOT EXISTS (SELECT 1 FROM applied_batches
                                    WHERE device_id = $1 AND batch_id = $2)
                    AND NOT EXISTS (SELECT 1 FROM device_case_heads WHERE device_id = $1
                        AND pending_seq IS NOT NULL AND pending_seq <= $4)
                    AND NOT EXISTS (SELECT 1 FROM device_case_heads WHERE device_id = $1
                        AND departed_seq IS NOT NULL AND departed_seq <= $4)",
                &[&device_id, &batch_id, &to_i64(since)?, &to_i64(applied)?],
            )?
            .try_get(0)?)
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
        let visible = match viewer.role {
            Role::Admin => return Ok(Vec::new()),
            Role::TeamLeader => "coalesce(c.team_id = $4, FALSE)",
            Role::Officer => {
                "(coalesce(c.assignee = $4, FALSE) OR coalesce(c.created_by = $4, FALSE))"
            }
        };
        let who = match viewer.role {
            Role::TeamLeader => viewer.team_id.map(|t| t.to_string()).unwrap_or_default(),
            _ => viewer.person_id.to_string(),
        };
        let sql = format!(
            "UPDATE device_case_heads h SET departed_seq = c.seq FROM cases c
             WHERE h.device_id = $1 AND h.case_id = c.case_id AND c.seq > $2 AND c.seq <= $3
               AND NOT {visible}
             RETURNING c.case_id, c.seq"
        );
        let rows = self.query(
            &sql,
            &[&device_id, &to_i64(after_seq)?, &to_i64(upto_seq)?, &who],
        )?;
        let mut gone = rows
            .iter()
            .map(|r| Ok((r.try_get::<_, String>(0)?, r.try_get::<_, i64>(1)?)))
            .collect::<Result<Vec<_>>>()?;
        gone.sort_by_key(|g| g.1);
        gone.into_iter()
            .map(|(case_id, seq)| Ok((case_id, to_u64(seq, "seq")?)))
            .collect()
    }

    fn applied_batch(&self, device_id: Uuid, batch_id: &str) -> Result<Option<Vec<u8>>> {
        self.query_opt(
            "SELECT response FROM applied_batches WHERE device_id = $1 AND batch_id = $2",
            &[&device_id, &batch_id],
        )?
        .map(|r| Ok(r.try_get(0)?))
        .transpose()
    }

    fn put_applied_batch(
        &self,
        device_id: Uuid,
        batch_id: &str,
        response: &[u8],
        now: i64,
    ) -> Result<()> {
        let inserted = self.execute(
            "INSERT INTO applied_batches (device_id, batch_id, response, created_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (device_id, batch_id) DO NOTHING",
            &[&device_id, &batch_id, &response, &now],
        )?;
        if inserted == 0 {
            return Err(StoreError::Conflict {
                code: "batch_applied",
                message: format!("batch {batch_id} was already applied"),
            });
        }
        Ok(())
    }

    fn set_case_photos(&self, case_id: &str, sha256s: &[String]) -> Result<()> {
        self.execute("DELETE FROM case_photos WHERE case_id = $1", &[&case_id])?;
        if !sha256s.is_empty() {
            self.execute(
                "INSERT INTO case_photos (case_id, sha256)
                 SELECT $1, s FROM unnest($2::text[]) AS s ON CONFLICT DO NOTHING",
                &[&case_id, &sha256s],
            )?;
        }
        Ok(())
    }

    fn case_photos(&self, case_id: &str) -> Result<Vec<String>> {
        self.query(
            "SELECT sha256 FROM case_photos WHERE case_id = $1 ORDER BY sha256",
            &[&case_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn photo_visible(&self, viewer: &Viewer, sha256: &str) -> Result<bool> {
        // The same rule as `cases_since`.
        let (filter, who) = match viewer.role {
            Role::Admin => ("", None),
            Role::TeamLeader => match viewer.team_id {
                Some(team) => ("AND c.team_id = $2", Some(team.to_string())),
                None => return Ok(false),
            },
            Role::Officer => (
                "AND (c.assignee = $2 OR c.created_by = $2)",
                Some(viewer.person_id.to_string()),
            ),
        };
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM case_photos p JOIN cases c ON c.case_id = p.case_id
                            WHERE p.sha256 = $1 {filter})"
        );
        let row = match &who {
            Some(who) => self.query_one(&sql, &[&sha256, who])?,
            None => self.query_one(&sql, &[&sha256])?,
        };
        Ok(row.try_get(0)?)
    }

    fn upload(&self, sha256: &str) -> Result<Option<Upload>> {
        self.query_opt(
            "SELECT total, received, started_by_device, started_at FROM uploads
             WHERE sha256 = $1",
            &[&sha256],
        )?
        .map(|r| {
            Ok(Upload {
                sha256: sha256.to_owned(),
                total: to_u64(r.try_get(0)?, "upload length")?,
                received: to_u64(r.try_get(1)?, "upload offset")?,
                started_by_device: r.try_get(2)?,
                started_at: r.try_get(3)?,
            })
        })
        .transpose()
    }

    fn start_upload(&self, upload: &Upload) -> Result<()> {
        self.delete_upload(&upload.sha256)?;
        self.execute(
            "INSERT INTO uploads (sha256, total, received, started_by_device, started_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &upload.sha256,
                &to_i64(upload.total)?,
                &to_i64(upload.received)?,
                &upload.started_by_device,
                &upload.started_at,
            ],
        )?;
        Ok(())
    }

    fn append_upload_chunk(&self, sha256: &str, offset: u64, data: &[u8]) -> Result<()> {
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or_else(|| StoreError::Corrupt("upload offset out of range".into()))?;
        let moved = self.execute(
            "UPDATE uploads SET received = $3 WHERE sha256 = $1 AND received = $2",
            &[&sha256, &to_i64(offset)?, &to_i64(end)?],
        )?;
        if moved != 1 {
            return Err(StoreError::Conflict {
                code: "offset_mismatch",
                message: format!("no upload of {sha256} at offset {offset}"),
            });
        }
        self.execute(
            "INSERT INTO upload_chunks (sha256, byte_offset, data) VALUES ($1, $2, $3)",
            &[&sha256, &to_i64(offset)?, &data],
        )?;
        Ok(())
    }

    fn upload_data(&self, sha256: &str) -> Result<Vec<u8>> {
        let rows = self.query(
            "SELECT data FROM upload_chunks WHERE sha256 = $1 ORDER BY byte_offset",
            &[&sha256],
        )?;
        let mut out = Vec::new();
        for r in &rows {
            out.extend_from_slice(r.try_get::<_, &[u8]>(0)?);
        }
        Ok(out)
    }

    fn delete_upload(&self, sha256: &str) -> Result<()> {
        self.execute("DELETE FROM upload_chunks WHERE sha256 = $1", &[&sha256])?;
        self.execute("DELETE FROM uploads WHERE sha256 = $1", &[&sha256])?;
        Ok(())
    }

    fn expire_uploads(&self, started_before: i64) -> Result<u64> {
        self.execute(
            "DELETE FROM upload_chunks WHERE sha256 IN
                 (SELECT sha256 FROM uploads WHERE started_at < $1)",
            &[&started_before],
        )?;
        self.execute(
            "DELETE FROM uploads WHERE started_at < $1",
            &[&started_before],
        )
    }
}
