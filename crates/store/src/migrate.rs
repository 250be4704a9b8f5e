//! Numbered SQL migrations from `migrations/device/`, embedded at build time and applied in one
//! transaction, tracked by `PRAGMA user_version`. A database newer than this build is refused.

use rusqlite::Connection;

use crate::{Result, StoreError};

/// Every migration, in order; the number is the schema version it produces. Never edit a
/// landed file: add the next one. A test checks this list against the directory.
pub(crate) const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "0001_init.sql",
        include_str!("../../../migrations/device/0001_init.sql"),
    ),
    (
        2,
        "0002_drafts.sql",
        include_str!("../../../migrations/device/0002_drafts.sql"),
    ),
    (
        3,
        "0003_sync.sql",
        include_str!("../../../migrations/device/0003_sync.sql"),
    ),
    (
        4,
        "0004_server_link.sql",
        include_str!("../../../migrations/device/0004_server_link.sql"),
    ),
    (
        5,
        "0005_departures.sql",
        include_str!("../../../migrations/device/0005_departures.sql"),
    ),
    (
        6,
        "0006_places.sql",
        include_str!("../../../migrations/device/0006_places.sql"),
    ),
    (
        7,
        "0007_photo_thumbs.sql",
        include_str!("../../../migrations/device/0007_photo_thumbs.sql"),
    ),
    (
        8,
        "0008_case_location.sql",
        include_str!("../../../migrations/device/0008_case_location.sql"),
    ),
];

pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

pub(crate) fn run(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = latest();
    if current > supported {
        return Err(StoreError::DatabaseNewer {
            found: current,
            supported,
        });
    }
    if current == supported {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Another process may have migrated while this one waited for the write lock.
    let current: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (version, _, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    tx.commit()?;
    Ok(())
}
