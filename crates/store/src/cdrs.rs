//! Call-detail records: one row per call, written when the call ends.
//!
//! The store keeps what the switch reports about a call and serves it back filtered and
//! paged; it decides nothing about the call. Times are UTC instants as unix milliseconds
//! (`i64`), the same in both databases; `duration_ms` and `billable_ms` are generated
//! columns computed by the database from those instants, so they can never disagree.
//!
//! # Paging
//!
//! [`Store::query_cdrs`] returns records newest first, ordered by `(start, id)` descending,
//! which is a total order (ids are unique). The next page is asked for with the cursor of
//! the last record received ([`Cdr::cursor`] as [`CdrQuery::after`]): the query continues
//! strictly after that position, so pages never repeat or skip a record of a set that does
//! not change, and a record inserted meanwhile shows up in a later page exactly when its
//! `(start, id)` sorts after the cursor (records are written at the end of a call, so a
//! new record may well have started before records already paged through). Every index of
//! the table ends in `(start_at, id)`, so a page is one index range scan however deep it
//! is, unlike `OFFSET`.

use std::fmt::Write as _;
use std::sync::OnceLock;

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, Pools, with_reader, with_writer};
use crate::{Cdr, CdrDestination, CdrId, CdrQuery, CdrSource, NewCdr, Store, StoreError};

macro_rules! cdr_columns {
    () => {
        "id, call_id, caller, caller_domain, callee, dialed, source_kind, source_name, \
         destination_kind, destination_name, start_at, answer_at, end_at, duration_ms, \
         billable_ms, disposition, sip_status, hangup_by, node"
    };
}

const INSERT_SQL: &str = "INSERT INTO cdrs \
    (call_id, caller, caller_domain, callee, dialed, source_kind, source_name, \
     destination_kind, destination_name, start_at, answer_at, end_at, disposition, \
     sip_status, hangup_by, node) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
    RETURNING id";

/// Binds the [`INSERT_SQL`] values of a [`NewCdr`] to a query of either backend.
macro_rules! bind_new_cdr {
    ($query:expr, $cdr:expr) => {{
        let cdr: &NewCdr = $cdr;
        $query
            .bind(cdr.call_id.as_str())
            .bind(cdr.caller.as_str())
            .bind(cdr.caller_domain.as_str())
            .bind(cdr.callee.as_str())
            .bind(cdr.dialed.as_str())
            .bind(cdr.source.kind())
            .bind(cdr.source.name())
            .bind(cdr.destination.kind())
            .bind(cdr.destination.name())
            .bind(cdr.start_unix_ms)
            .bind(cdr.answer_unix_ms)
            .bind(cdr.end_unix_ms)
            .bind(cdr.disposition.as_str())
            .bind(i32::from(cdr.sip_status))
            .bind(cdr.hangup_by.as_str())
            .bind(cdr.node.as_deref())
    }};
}

/// The filters of a [`CdrQuery`], in a fixed order; bit `i` of a statement's mask says
/// whether `CLAUSES[i]` is part of it.
const CLAUSES: [&str; 7] = [
    "start_at >= ",
    "start_at < ",
    "caller = ",
    "callee = ",
    "disposition = ",
    "source_name = ",
    "destination_name = ",
];

/// Mask bit of the `(start_at, id) < cursor` condition (select statements only).
const CURSOR: usize = 1 << CLAUSES.len();

/// Select statement texts by mask, built on first use. A text depends only on which
/// filters are set, never on their values, which are always bound parameters; so there
/// are at most 256 distinct texts, each prepared once per connection.
static SELECTS: [OnceLock<String>; 2 * CURSOR] = [const { OnceLock::new() }; 2 * CURSOR];
/// Count statement texts by mask (no cursor bit).
static COUNTS: [OnceLock<String>; CURSOR] = [const { OnceLock::new() }; CURSOR];

/// A bound filter value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value<'a> {
    Int(i64),
    Text(&'a str),
}

/// The values of a query's filters, in [`CLAUSES`] order (`None` = not filtered).
fn filter_values(q: &CdrQuery) -> [Option<Value<'_>>; CLAUSES.len()] {
    fn text(t: &Option<String>) -> Option<Value<'_>> {
        t.as_deref().map(Value::Text)
    }
    [
        q.from_unix_ms.map(Value::Int),
        q.to_unix_ms.map(Value::Int),
        text(&q.caller),
        text(&q.callee),
        q.disposition.map(|d| Value::Text(d.as_str())),
        text(&q.source_name),
        text(&q.destination_name),
    ]
}

fn mask_of(values: &[Option<Value<'_>>]) -> usize {
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_some())
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// `WHERE …` for the filters in `mask` with placeholders `$1`, `$2`, … in [`CLAUSES`]
/// order, then the cursor's two; returns the next placeholder number.
fn push_where(sql: &mut String, mask: usize) -> usize {
    let mut next = 1;
    let mut keyword = " WHERE ";
    for (i, clause) in CLAUSES.iter().enumerate() {
        if mask & 1 << i != 0 {
            write!(sql, "{keyword}{clause}${next}").expect("writing to a String");
            next += 1;
            keyword = " AND ";
        }
    }
    if mask & CURSOR != 0 {
        write!(sql, "{keyword}(start_at, id) < (${next}, ${})", next + 1)
            .expect("writing to a String");
        next += 2;
    }
    next
}

fn select_sql(mask: usize) -> &'static str {
    SELECTS[mask].get_or_init(|| {
        let mut sql = concat!("SELECT ", cdr_columns!(), " FROM cdrs").to_owned();
        let limit = push_where(&mut sql, mask);
        write!(sql, " ORDER BY start_at DESC, id DESC LIMIT ${limit}")
            .expect("writing to a String");
        sql
    })
}

fn count_sql(mask: usize) -> &'static str {
    COUNTS[mask].get_or_init(|| {
        let mut sql = "SELECT COUNT(*) FROM cdrs".to_owned();
        push_where(&mut sql, mask);
        sql
    })
}

/// Binds `$values` (an iterator of [`Value`]) in order to `$query`.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Int(v) => query.bind(v),
                Value::Text(t) => query.bind(t),
            };
        }
        query
    }};
}

fn cdr_from_row<'r, R>(row: &'r R) -> Result<Cdr, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    Option<i64>: Column<'r, R::Database>,
    i32: Column<'r, R::Database>,
    &'r str: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
{
    let source_name: String = row.try_get(7)?;
    let source = match row.try_get::<&str, _>(6)? {
        "user" => CdrSource::User(source_name),
        "trunk" => CdrSource::Trunk(source_name),
        other => return Err(corrupt("cdrs.source_kind", other)),
    };
    let destination_name: Option<String> = row.try_get(9)?;
    let destination = match (row.try_get::<&str, _>(8)?, destination_name) {
        ("user", Some(name)) => CdrDestination::User(name),
        ("trunk", Some(name)) => CdrDestination::Trunk(name),
        ("none", None) => CdrDestination::None,
        (other, _) => return Err(corrupt("cdrs.destination_kind", other)),
    };
    let disposition: &str = row.try_get(15)?;
    let sip_status: i32 = row.try_get(16)?;
    let hangup_by: &str = row.try_get(17)?;
    Ok(Cdr {
        id: CdrId::new(row.try_get(0)?),
        call_id: row.try_get(1)?,
        caller: row.try_get(2)?,
        caller_domain: row.try_get(3)?,
        callee: row.try_get(4)?,
        dialed: row.try_get(5)?,
        source,
        destination,
        start_unix_ms: row.try_get(10)?,
        answer_unix_ms: row.try_get(11)?,
        end_unix_ms: row.try_get(12)?,
        duration_ms: row.try_get(13)?,
        billable_ms: row.try_get(14)?,
        disposition: disposition
            .parse()
            .map_err(|_| corrupt("cdrs.disposition", disposition))?,
        sip_status: u16::try_from(sip_status)
            .map_err(|_| corrupt("cdrs.sip_status", &sip_status.to_string()))?,
        hangup_by: hangup_by
            .parse()
            .map_err(|_| corrupt("cdrs.hangup_by", hangup_by))?,
        node: row.try_get(18)?,
    })
}

fn corrupt(what: &'static str, value: &str) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: format!("unexpected value {value:?}"),
    }
}

impl Store {
    /// Inserts one call-detail record and returns its id.
    ///
    /// When this returns `Ok`, the record is committed: the insert runs as one autocommit
    /// statement on the writer connection, and the result is reported only after SQLite
    /// finished (and committed) the statement, or after PostgreSQL acknowledged the commit.
    /// How far that holds depends on the database's durability settings:
    /// - SQLite (file, always WAL): with [`Synchronous::Full`](crate::Synchronous::Full),
    ///   the default, the WAL is synced to disk before the commit returns, so the record
    ///   survives a crash of the process and of the machine (power loss). With
    ///   [`Synchronous::Normal`](crate::Synchronous::Normal) the commit is written to the
    ///   WAL file but only synced at checkpoints: it survives a crash of the process (the
    ///   operating system still holds the written pages), while a power loss or kernel
    ///   crash may lose the last commits (never corrupting the file). `Normal` saves one
    ///   `fsync` per insert; `Off` also survives a process crash in WAL mode but may
    ///   corrupt the file on power loss.
    /// - PostgreSQL: as durable as the server's `synchronous_commit` (on by default: the
    ///   commit's WAL is flushed before it is acknowledged).
    /// - `sqlite::memory:` keeps nothing beyond the store's life.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when the record breaks an invariant of [`NewCdr`]
    /// (nothing is written); [`StoreError::Database`] when the database fails.
    pub async fn insert_cdr(&self, cdr: &NewCdr) -> Result<CdrId, StoreError> {
        cdr.check()?;
        let id: i64 = with_writer!(self, pool => {
            bind_new_cdr!(sqlx::query_scalar(INSERT_SQL), cdr)
                .fetch_one(pool)
                .await?
        });
        Ok(CdrId::new(id))
    }

    /// Inserts many records in ONE transaction (all or none) and returns their ids in the
    /// order given; for writing the records of every call still up at shutdown. Durable
    /// when it returns, as [`Store::insert_cdr`], at the cost of one commit for the batch.
    ///
    /// # Errors
    /// [`StoreError::InvalidInput`] when any record breaks an invariant of [`NewCdr`]
    /// (nothing is written); [`StoreError::Database`] when the database fails (the whole
    /// batch is rolled back).
    pub async fn insert_cdrs(&self, cdrs: &[NewCdr]) -> Result<Vec<CdrId>, StoreError> {
        for cdr in cdrs {
            cdr.check()?;
        }
        if cdrs.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = Vec::with_capacity(cdrs.len());
        match &self.pools {
            Pools::Sqlite { writer, .. } => {
                // IMMEDIATE takes the write lock up front, so another process's writer makes
                // this wait (busy_timeout) instead of failing half-way through the batch.
                let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
                for cdr in cdrs {
                    let id: i64 = bind_new_cdr!(sqlx::query_scalar(INSERT_SQL), cdr)
                        .fetch_one(&mut *tx)
                        .await?;
                    ids.push(CdrId::new(id));
                }
                tx.commit().await?;
            }
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                for cdr in cdrs {
                    let id: i64 = bind_new_cdr!(sqlx::query_scalar(INSERT_SQL), cdr)
                        .fetch_one(&mut *tx)
                        .await?;
                    ids.push(CdrId::new(id));
                }
                tx.commit().await?;
            }
        }
        Ok(ids)
    }

    /// One page of records matching `query`, newest first (by start time, then id; see
    /// the module docs on paging). At most [`CdrQuery::MAX_LIMIT`] records.
    ///
    /// Filter values are always bound parameters; the statement text only depends on
    /// which filters are set.
    pub async fn query_cdrs(&self, query: &CdrQuery) -> Result<Vec<Cdr>, StoreError> {
        let limit = query.limit.min(CdrQuery::MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let filters = filter_values(query);
        let cursor = query.after.map(|c| {
            [
                Some(Value::Int(c.start_unix_ms)),
                Some(Value::Int(c.id.get())),
            ]
        });
        let mask = mask_of(&filters) | if cursor.is_some() { CURSOR } else { 0 };
        let sql = select_sql(mask);
        let values = filters
            .into_iter()
            .chain(cursor.into_iter().flatten())
            .flatten()
            .chain([Value::Int(i64::from(limit))]);
        with_reader!(self, pool => {
            let rows = bind_values!(sqlx::query(sql), values)
                .fetch_all(pool)
                .await?;
            rows.iter().map(cdr_from_row).collect()
        })
    }

    /// How many records match the filters of `query` (its cursor and limit are ignored).
    pub async fn count_cdrs(&self, query: &CdrQuery) -> Result<u64, StoreError> {
        let filters = filter_values(query);
        let sql = count_sql(mask_of(&filters));
        let values = filters.into_iter().flatten();
        let count: i64 = with_reader!(self, pool => {
            bind_values!(sqlx::query_scalar(sql), values)
                .fetch_one(pool)
                .await?
        });
        u64::try_from(count).map_err(|_| corrupt("COUNT(*)", &count.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Disposition, StoreOptions};

    #[test]
    fn statement_texts_number_placeholders_in_binding_order() {
        assert_eq!(
            count_sql(0b101_0101),
            "SELECT COUNT(*) FROM cdrs WHERE start_at >= $1 AND caller = $2 \
             AND disposition = $3 AND destination_name = $4"
        );
        let all = select_sql(2 * CURSOR - 1);
        assert!(
            all.ends_with(
                " FROM cdrs WHERE start_at >= $1 AND start_at < $2 AND caller = $3 \
                 AND callee = $4 AND disposition = $5 AND source_name = $6 \
                 AND destination_name = $7 AND (start_at, id) < ($8, $9) \
                 ORDER BY start_at DESC, id DESC LIMIT $10"
            ),
            "{all}"
        );
        assert!(
            select_sql(CURSOR).ends_with(
                " FROM cdrs WHERE (start_at, id) < ($1, $2) \
                 ORDER BY start_at DESC, id DESC LIMIT $3"
            ),
            "{}",
            select_sql(CURSOR)
        );
        assert!(select_sql(0).ends_with(" FROM cdrs ORDER BY start_at DESC, id DESC LIMIT $1"));
        // Every text is a pure function of the mask: the same &'static str each time.
        assert!(std::ptr::eq(select_sql(5), select_sql(5)));
    }

    #[test]
    fn mask_follows_the_set_filters() {
        let query = CdrQuery {
            to_unix_ms: Some(5),
            callee: Some("bob".to_owned()),
            disposition: Some(Disposition::Busy),
            ..CdrQuery::default()
        };
        let values = filter_values(&query);
        assert_eq!(mask_of(&values), 0b001_1010);
        let bound: Vec<Value<'_>> = values.into_iter().flatten().collect();
        assert_eq!(
            bound,
            [Value::Int(5), Value::Text("bob"), Value::Text("BUSY")]
        );
        assert_eq!(mask_of(&filter_values(&CdrQuery::default())), 0);
    }

    /// Each filtered page is an index range scan, never a scan of the table plus a sort.
    #[tokio::test]
    async fn filtered_pages_use_an_index_in_order() {
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .expect("in-memory database");
        store.migrate().await.expect("migrate");
        let Pools::Sqlite { writer, .. } = &store.pools else {
            panic!("SQLite pools");
        };
        for (mask, index) in [
            (CURSOR, "cdrs_start"),
            (0b1 | CURSOR, "cdrs_start"),
            (0b11, "cdrs_start"),
            (0b100 | CURSOR, "cdrs_caller"),
            (0b1000 | 0b11, "cdrs_callee"),
            (0b1_0000 | CURSOR, "cdrs_disposition"),
        ] {
            let sql = select_sql(mask);
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .fetch_all(writer)
                    .await
                    .expect("query plan");
            let plan: Vec<String> = rows.into_iter().map(|(_, _, _, detail)| detail).collect();
            let plan = plan.join("\n");
            assert!(
                plan.contains(&format!("SEARCH cdrs USING INDEX {index} ")),
                "{sql}:\n{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE"),
                "no sort step: {sql}:\n{plan}"
            );
        }
        store.close().await;
    }
}
