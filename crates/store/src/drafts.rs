//! Drafts: what a person has typed into a form but not yet saved into a case. One row per form
//! field, written on every keystroke (one small durable transaction), read back when the form
//! opens again, and removed once the value is saved into the case or the form is abandoned.
//! Drafts never reach a case document, the outbox or the server. Keys and sizes are checked by
//! the caller (`fieldbook-app`).

use rusqlite::params;

use crate::{Result, Store};
use fieldbook_core::Timestamp;

/// One saved draft.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    pub key: String,
    pub value: String,
    pub updated_at: Timestamp,
}

/// `prefix` as a LIKE pattern that matches only keys starting with it.
fn like_prefix(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

impl Store {
    /// Keep `value` as the draft under `key`, replacing any earlier one, durably.
    pub fn save_draft(&mut self, key: &str, value: &str, now: Timestamp) -> Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO drafts (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value,
                                                 updated_at = excluded.updated_at",
            )?
            .execute(params![key, value, now.0])?;
        Ok(())
    }

    /// Every draft whose key starts with `prefix`, in key order.
    pub fn drafts(&self, prefix: &str) -> Result<Vec<Draft>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT key, value, updated_at FROM drafts WHERE key LIKE ?1 ESCAPE '\\'
             ORDER BY key",
        )?;
        let rows = stmt.query_map([like_prefix(prefix)], |r| {
            Ok(Draft {
                key: r.get(0)?,
                value: r.get(1)?,
                updated_at: Timestamp(r.get(2)?),
            })
        })?;
        // LIKE is case-insensitive for ASCII: keep exact prefix matches only.
        Ok(rows
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .filter(|d| d.key.starts_with(prefix))
            .collect())
    }

    /// Remove every draft whose key starts with `prefix`; returns how many went.
    pub fn clear_drafts(&mut self, prefix: &str) -> Result<usize> {
        let keys: Vec<String> = self.drafts(prefix)?.into_iter().map(|d| d.key).collect();
        let tx = self.conn.transaction()?;
        {
            let mut del = tx.prepare_cached("DELETE FROM drafts WHERE key = ?1")?;
            for k in &keys {
                del.execute([k])?;
            }
        }
        tx.commit()?;
        Ok(keys.len())
    }
}
