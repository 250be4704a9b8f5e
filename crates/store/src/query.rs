//! Reading the projection tables: lists with filters, full-text search, sorting and paging.
//!
//! Every order but one has an index that yields rows in that order (see the `cases_*` indexes in
//! `migrations/device/0001_init.sql`), so a page reads about as many rows as it shows however many
//! cases match; only the count visits every match, in an index. A search with no other filter
//! ranks and counts inside FTS5 and reads `cases` only for the page's rows. The exception is
//! "near me" ([`CaseSort::Distance`]): it measures every matching located case from the
//! `cases_location` index and sorts them (see there).

use fieldbook_core::{CaseKind, CaseStatus, Date, PersonId};
use rusqlite::types::Value;

use crate::Result;

/// How to order a list of cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum CaseSort {
    /// Soonest due first; cases with no due date last, in both directions: descending is latest
    /// due first, then the cases with no due date (newest first).
    #[default]
    Due,
    /// Most recently changed first.
    Updated,
    Created,
    Reference,
    Title,
    /// Best full-text match first (only with a search; otherwise by due date).
    Relevance,
    /// Nearest to `CaseQuery::near` first (farthest first when descending); cases with no
    /// location last. Without `near`, by due date.
    /// No index yields this order: the distance to every matching case is measured from the
    /// `cases_location` index (schema 8) and sorted, keeping only the page's cases, whose rows
    /// are then read. The distance is equirectangular, which orders like the true one at a
    /// council's scale.
    Distance,
}

impl CaseSort {
    pub const ALL: [CaseSort; 7] = [
        Self::Due,
        Self::Updated,
        Self::Created,
        Self::Reference,
        Self::Title,
        Self::Relevance,
        Self::Distance,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Due => "due",
            Self::Updated => "updated",
            Self::Created => "created",
            Self::Reference => "reference",
            Self::Title => "title",
            Self::Relevance => "relevance",
            Self::Distance => "distance",
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
    /// The point [`CaseSort::Distance`] measures from: WGS84 latitude and longitude, degrees.
    pub near: Option<(f64, f64)>,
    pub descending: bool,
    pub limit: u32,
    pub offset: u32,
}

impl CaseQuery {
    /// The `SELECT` that reads this page, and its arguments: what `Store::list_cases` runs after
    /// counting. For `EXPLAIN QUERY PLAN` checks and diagnostics. By due date descending this
    /// reads the cases that have a due date; a second statement reads the undated ones after them.
    pub fn list_sql(&self) -> (String, Vec<Value>) {
        let sql = ListSql::new(self);
        let args = sql.page_args();
        (sql.page, args)
    }
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

const COLUMNS: &str = "c.case_id, c.reference, c.kind, c.title, c.address, c.postcode, c.uprn, \
    c.lat, c.lon, c.status, c.assignee, c.due, c.created_at, c.updated_at, c.visit_count, \
    c.note_count, c.photo_count";

/// The cases that match the search in `?1`, as `cases.pk` values.
const MATCHES: &str = "SELECT rowid FROM case_search WHERE case_search MATCH ?1";

/// The statements behind a page, all taking `args`.
struct ListSql {
    /// How many cases match in all.
    count: String,
    page: String,
    args: Vec<Value>,
    /// Arguments only `page` takes, after `args` (the point a distance order measures from).
    page_only: Vec<Value>,
    /// By due date descending, `page` reads only the cases that have a due date. The undated
    /// cases come after them, but the due indexes hold them first (`due IS NULL` is their
    /// first due column), so they are a second read of the same index: this statement, whose
    /// LIMIT and OFFSET are two more arguments after `args`, and a count of the dated cases.
    undated: Option<(String, String)>,
}

impl ListSql {
    /// The arguments `page` takes: `args`, then `page_only`.
    fn page_args(&self) -> Vec<Value> {
        self.args.iter().chain(&self.page_only).cloned().collect()
    }

    fn new(q: &CaseQuery) -> ListSql {
        let mut args: Vec<Value> = Vec::new();
        let search = q.search.as_deref().and_then(fts_query);
        if let Some(fts) = &search {
            args.push(Value::Text(fts.clone()));
        }
        let mut add = |values: Vec<Value>| -> String {
            let start = args.len();
            args.extend(values);
            (start + 1..=args.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut filters: Vec<String> = Vec::new();
        if !q.statuses.is_empty() {
            let p = add(q
                .statuses
                .iter()
                .map(|s| Value::Text(s.code().into()))
                .collect());
            filters.push(format!("c.status IN ({p})"));
        }
        if !q.kinds.is_empty() {
            let p = add(q
                .kinds
                .iter()
                .map(|k| Value::Text(k.code().into()))
                .collect());
            filters.push(format!("c.kind IN ({p})"));
        }
        if let Some(a) = q.assignee {
            let p = add(vec![Value::Text(a.to_string())]);
            filters.push(format!("c.assignee = {p}"));
        }
        let dated = q.due_before.is_some() || q.due_after.is_some();
        if dated {
            // Implied by either bound, but written as the due indexes' `due IS NULL` column so
            // that the bounds are a range in those indexes.
            filters.push(DATED.into());
        }
        if let Some(d) = q.due_before {
            let p = add(vec![Value::Text(d.to_string())]);
            filters.push(format!("c.due <= {p}"));
        }
        if let Some(d) = q.due_after {
            let p = add(vec![Value::Text(d.to_string())]);
            filters.push(format!("c.due >= {p}"));
        }
        let limit = q.limit.clamp(1, MAX_PAGE);
        let offset = q.offset;
        let dir = if q.descending { "DESC" } else { "ASC" };

        let count = if search.is_some() && filters.is_empty() {
            // Every row of `case_search` has its `cases` row: the projection writes both.
            "SELECT count(*) FROM case_search WHERE case_search MATCH ?1".to_string()
        } else {
            let mut wheres = filters.clone();
            if search.is_some() {
                wheres.push(format!("+c.pk IN ({MATCHES})"));
            }
            format!("SELECT count(*) FROM cases c {}", where_clause(&wheres))
        };

        if search.is_some() && q.sort == CaseSort::Relevance {
            let page = if filters.is_empty() {
                // Rank inside FTS5, then read only this page's cases. Ties go by pk, as below.
                format!(
                    "SELECT {COLUMNS}
                     FROM (SELECT rowid, rank FROM case_search WHERE case_search MATCH ?1
                           ORDER BY rank {dir}, rowid LIMIT {limit} OFFSET {offset}) s
                     JOIN cases c ON c.pk = s.rowid
                     ORDER BY s.rank {dir}, s.rowid"
                )
            } else {
                format!(
                    "SELECT {COLUMNS}
                     FROM cases c
                     JOIN (SELECT rowid, rank FROM case_search WHERE case_search MATCH ?1) s
                       ON s.rowid = c.pk
                     {}
                     ORDER BY s.rank {dir}, c.pk LIMIT {limit} OFFSET {offset}",
                    where_clause(&filters)
                )
            };
            return ListSql {
                count,
                page,
                args,
                page_only: Vec::new(),
                undated: None,
            };
        }

        let mut wheres = filters;
        if search.is_some() {
            // Unary `+`: the matches are a set that each row of the index is tested against
            // while the index is read in the page's order, not a list of rows to fetch and sort.
            // The page then stops after `limit` matches, however common the word.
            wheres.push(format!("+c.pk IN ({MATCHES})"));
        }
        let mut undated = None;
        let mut page_only = Vec::new();
        let near = match (q.sort, q.near) {
            (CaseSort::Distance, Some((lat, lon))) => Some((lat, lon)),
            _ => None,
        };
        let order = match q.sort {
            CaseSort::Distance if near.is_some() => {
                let (lat, lon) = near.unwrap_or_default();
                // Squared equirectangular distance: degrees of longitude shrink by cos(lat).
                let k = lat.to_radians().cos();
                let n = args.len();
                page_only.extend([Value::Real(lat), Value::Real(lon), Value::Real(k)]);
                let (a, b, k) = (n + 1, n + 2, n + 3);
                format!(
                    "c.lat IS NULL, (c.lat - ?{a}) * (c.lat - ?{a}) + \
                     (c.lon - ?{b}) * ?{k} * (c.lon - ?{b}) * ?{k} {dir}, c.pk {dir}"
                )
            }
            // With a due bound every row has a due date.
            CaseSort::Due | CaseSort::Relevance | CaseSort::Distance if dated => {
                format!("c.due {dir}, c.pk {dir}")
            }
            CaseSort::Due | CaseSort::Relevance | CaseSort::Distance if q.descending => {
                let order = "c.due DESC, c.pk DESC";
                let mut rest = wheres.clone();
                rest.push(UNDATED.into());
                let n = args.len();
                let page = format!(
                    "SELECT {COLUMNS} FROM cases c {} ORDER BY {order} LIMIT ?{} OFFSET ?{}",
                    where_clause(&rest),
                    n + 1,
                    n + 2
                );
                let mut dated = wheres.clone();
                dated.push(DATED.into());
                let count = format!("SELECT count(*) FROM cases c {}", where_clause(&dated));
                undated = Some((page, count));
                wheres.push(DATED.into());
                order.to_string()
            }
            CaseSort::Due | CaseSort::Relevance | CaseSort::Distance => {
                "c.due IS NULL, c.due, c.pk".to_string()
            }
            CaseSort::Updated => format!(
                "c.updated_at {}, c.pk",
                if q.descending { "ASC" } else { "DESC" }
            ),
            CaseSort::Created => format!("c.created_at {dir}, c.pk {dir}"),
            CaseSort::Reference => format!("c.ref_sort {dir}, c.pk {dir}"),
            CaseSort::Title => format!("c.title COLLATE NOCASE {dir}, c.pk {dir}"),
        };
        let page = if near.is_some() {
            // Measure every case from the location index (pk, lat, lon), keep the page's pks,
            // then read only those rows, in the same order.
            format!(
                "SELECT {COLUMNS} FROM cases c
                 JOIN (SELECT c.pk FROM cases c {} ORDER BY {order} LIMIT {limit} OFFSET {offset})
                   AS near USING (pk)
                 ORDER BY {order}",
                where_clause(&wheres)
            )
        } else {
            format!(
                "SELECT {COLUMNS} FROM cases c {} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
                where_clause(&wheres)
            )
        };
        ListSql {
            count,
            page,
            args,
            page_only,
            undated,
        }
    }
}

/// Has a due date, written as the due indexes' first due column.
const DATED: &str = "(c.due IS NULL) = 0";
const UNDATED: &str = "(c.due IS NULL) = 1";

fn where_clause(terms: &[String]) -> String {
    if terms.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", terms.join(" AND "))
    }
}

fn read_rows(
    conn: &rusqlite::Connection,
    sql: &str,
    args: &[Value],
    rows: &mut Vec<CaseRow>,
) -> Result<()> {
    let mut stmt = conn.prepare_cached(sql)?;
    let found = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
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
    })?;
    for row in found {
        rows.push(row?);
    }
    Ok(())
}

pub(crate) fn list(conn: &rusqlite::Connection, q: &CaseQuery) -> Result<CasePage> {
    // Search text with no word in it ("!!!") matches nothing, rather than everything.
    if q.search
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty() && fts_query(s).is_none())
    {
        return Ok(CasePage {
            rows: Vec::new(),
            total: 0,
        });
    }
    let sql = ListSql::new(q);
    let count = |statement: &str| -> Result<u64> {
        let n: i64 = conn
            .prepare_cached(statement)?
            .query_row(rusqlite::params_from_iter(sql.args.iter()), |r| r.get(0))?;
        Ok(n as u64)
    };
    let total = count(&sql.count)?;
    let mut rows = Vec::new();
    read_rows(conn, &sql.page, &sql.page_args(), &mut rows)?;
    if let Some((undated, count_dated)) = &sql.undated {
        let limit = u64::from(q.limit.clamp(1, MAX_PAGE));
        let offset = u64::from(q.offset);
        let read = rows.len() as u64;
        if read < limit && offset + read < total {
            // The dated cases ran out on this page, or before it.
            let dated = if read > 0 || offset == 0 {
                offset + read
            } else {
                count(count_dated)?
            };
            let mut args = sql.args.clone();
            args.push(Value::Integer((limit - read) as i64));
            args.push(Value::Integer(offset.saturating_sub(dated) as i64));
            read_rows(conn, undated, &args, &mut rows)?;
        }
    }
    Ok(CasePage { rows, total })
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
