//! Reading the projection tables: lists with filters, full-text search, sorting and paging.

use fieldbook_core::{CaseKind, CaseStatus, Date, PersonId};
use rusqlite::types::Value;

use crate::Result;

/// How to order a list of cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Soonest due first; cases with no due date last.
    #[default]
    Due,
    /// Most recently changed first.
    Updated,
    Created,
    Reference,
    Title,
    /// Best full-text match first (only with a search; otherwise by due date).
    Relevance,
}

impl CaseSort {
    pub const ALL: [CaseSort; 6] = [
        Self::Due,
        Self::Updated,
        Self::Created,
        Self::Reference,
        Self::Title,
        Self::Relevance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::Updated => "updated",
            Self::Created => "created",
            Self::Reference => "reference",
            Self::Title => "title",
            Self::Relevance => "relevance",
        }
    }
}

/// A filtered, sorted page of cases. Empty filters match everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CaseQuery {
    pub search: Option<String>,
    pub statuses: Vec<CaseStatus>,
    pub kinds: Vec<CaseKind>,
    pub assignee: Option<PersonId>,
    /// Due on or before this date.
    pub due_before: Option<Date>,
    /// Due on or after this date.
    pub due_after: Option<Date>,
    pub sort: CaseSort,
    pub descending: bool,
    pub limit: u32,
    pub offset: u32,
}

/// The largest page a query may ask for.
pub const MAX_PAGE: u32 = 500;

/// One case as lists show it: projection columns only, no document is loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseRow {
    pub case_id: String,
    pub reference: String,
    pub kind: String,
    pub title: String,
    pub address: Option<String>,
    pub postcode: Option<String>,
    pub uprn: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub status: String,
    pub assignee: Option<String>,
    pub due: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub visit_count: i64,
    pub note_count: i64,
    pub photo_count: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CasePage {
    pub rows: Vec<CaseRow>,
    /// How many cases match the filters in all.
    pub total: u64,
}

/// Turn what a person typed into an FTS5 query: each word quoted (so no character of theirs is
/// FTS syntax), every word required, the last one as a prefix so results come as they type.
pub fn fts_query(input: &str) -> Option<String> {
    let words: Vec<String> = input
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(16)
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    let (last, rest) = words.split_last()?;
    let mut q = rest.join(" ");
    if !q.is_empty() {
        q.push(' ');
    }
    q.push_str(last);
    q.push('*');
    Some(q)
}

pub(crate) fn list(conn: &rusqlite::Connection, q: &CaseQuery) -> Result<CasePage> {
    let mut wheres: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let search = q.search.as_deref().and_then(fts_query);
    let from = if let Some(fts) = &search {
        args.push(Value::Text(fts.clone()));
        "cases c JOIN (SELECT rowid, rank FROM case_search WHERE case_search MATCH ?1) s ON s.rowid = c.pk"
    } else {
        "cases c"
    };
    let placeholders = |values: Vec<Value>, args: &mut Vec<Value>| -> String {
        let start = args.len();
        args.extend(values);
        (start + 1..=args.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !q.statuses.is_empty() {
        let p = placeholders(
            q.statuses
                .iter()
                .map(|s| Value::Text(s.code().into()))
                .collect(),
            &mut args,
        );
        wheres.push(format!("c.status IN ({p})"));
    }
    if !q.kinds.is_empty() {
        let p = placeholders(
            q.kinds
                .iter()
                .map(|k| Value::Text(k.code().into()))
                .collect(),
            &mut args,
        );
        wheres.push(format!("c.kind IN ({p})"));
    }
    if let Some(a) = q.assignee {
        let p = placeholders(vec![Value::Text(a.to_string())], &mut args);
        wheres.push(format!("c.assignee = {p}"));
    }
    if let Some(d) = q.due_before {
        let p = placeholders(vec![Value::Text(d.to_string())], &mut args);
        wheres.push(format!("c.due <= {p}"));
    }
    if let Some(d) = q.due_after {
        let p = placeholders(vec![Value::Text(d.to_string())], &mut args);
        wheres.push(format!("c.due >= {p}"));
    }
    let where_sql = if wheres.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", wheres.join(" AND "))
    };
    let dir = if q.descending { "DESC" } else { "ASC" };
    let order = match (q.sort, search.is_some()) {
        (CaseSort::Relevance, true) => format!("s.rank {dir}, c.pk"),
        (CaseSort::Due | CaseSort::Relevance, _) => {
            format!("c.due IS NULL, c.due {dir}, c.pk {dir}")
        }
        (CaseSort::Updated, _) => format!(
            "c.updated_at {}, c.pk",
            if q.descending { "ASC" } else { "DESC" }
        ),
        (CaseSort::Created, _) => format!("c.created_at {dir}, c.pk {dir}"),
        (CaseSort::Reference, _) => format!("c.ref_sort {dir}"),
        (CaseSort::Title, _) => format!("c.title COLLATE NOCASE {dir}, c.pk {dir}"),
    };
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM {from} {where_sql}"))?
        .query_row(rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
    let limit = q.limit.clamp(1, MAX_PAGE);
    let sql = format!(
        "SELECT c.case_id, c.reference, c.kind, c.title, c.address, c.postcode, c.uprn, c.lat, c.lon,
                c.status, c.assignee, c.due, c.created_at, c.updated_at, c.visit_count, c.note_count,
                c.photo_count
         FROM {from} {where_sql} ORDER BY {order} LIMIT {limit} OFFSET {}",
        q.offset
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(args.iter()), |r| {
            Ok(CaseRow {
                case_id: r.get(0)?,
                reference: r.get(1)?,
                kind: r.get(2)?,
                title: r.get(3)?,
                address: r.get(4)?,
                postcode: r.get(5)?,
                uprn: r.get(6)?,
                lat: r.get(7)?,
                lon: r.get(8)?,
                status: r.get(9)?,
                assignee: r.get(10)?,
                due: r.get(11)?,
                created_at: r.get(12)?,
                updated_at: r.get(13)?,
                visit_count: r.get(14)?,
                note_count: r.get(15)?,
                photo_count: r.get(16)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(CasePage {
        rows,
        total: total as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn typed_text_becomes_a_safe_prefix_query() {
        assert_eq!(
            fts_query("Golden spo").as_deref(),
            Some("\"golden\" \"spo\"*")
        );
        assert_eq!(fts_query("SW1A 2AA").as_deref(), Some("\"sw1a\" \"2aa\"*"));
        assert_eq!(
            fts_query("\" OR NEAR(*").as_deref(),
            Some("\"or\" \"near\"*")
        );
        assert_eq!(fts_query("  -- "), None);
    }
}
