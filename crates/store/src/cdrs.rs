//! Call-detail records: one row per call, written when the call ends.
//!
//! The store keeps what the switch reports about a call and serves it back filtered and
//! paged; it decides nothing about the call. Times are UTC instants as unix milliseconds
//! (`i64`), the same in both databases; `duration_ms` and `billable_ms` are generated
//! columns computed by the database from those instants, so they can never disagree.
//!
//! # Paging
//!
//! [`Store::query_cdrs`] returns records ordered by `(start, id)`, descending (newest
//! first, the default) or ascending ([`CdrOrder::OldestFirst`](crate::CdrOrder)), a total
//! order either way (ids are unique). The next page is asked for with the cursor of
//! the last record received ([`Cdr::cursor`] as [`CdrQuery::after`]): the query continues
//! strictly after that position, so pages never repeat or skip a record of a set that does
//! not change, and a record inserted meanwhile shows up in a later page exactly when its
//! `(start, id)` sorts after the cursor (records are written at the end of a call, so a
//! new record may well have started before records already paged through). Every index of
//! the table ends in `(start_at, id)`, so a page is one index range scan however deep it
//! is, unlike `OFFSET` (see `cdr_sql.rs` for how the `party` and `trunk` filters, which
//! match either of two columns, keep to that).
//!
//! # Per-day summary
//!
//! [`Store::cdr_daily_summary`] groups the matching records by the local day they
//! started on, in a fixed UTC offset given by the caller (the database has no time-zone
//! rules to apply): one statement, computing the day number in integers in the database
//! and the `YYYY-MM-DD` text here.

use sqlx::{ColumnIndex, Row};

use crate::cdr_sql::{
    Value, bind_values, count_sql, filter_shape, filter_values, page_shape, select_sql, summary_sql,
};
use crate::store::{Column, Pools, with_reader, with_writer};
use crate::{
    Cdr, CdrDaySummary, CdrDestination, CdrId, CdrQuery, CdrSource, NewCdr, Store, StoreError,
};

const INSERT_SQL: &str = "INSERT INTO cdrs \
    (call_id, caller, caller_domain, callee, dialed, source_kind, source_name, \
     destination_kind, destination_name, start_at, answer_at, end_at, disposition, \
     sip_status, hangup_by, node, end_reason, media) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
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
            .bind(cdr.end_reason.as_deref())
            .bind(cdr.media.as_deref())
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
        ("media", Some(name)) => CdrDestination::Media(name),
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
        end_reason: row.try_get(19)?,
        media: row.try_get(20)?,
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

    /// One page of records matching `query` in its [`CdrOrder`](crate::CdrOrder) (by
    /// start time, then id; see the module docs on paging), continuing after its cursor.
    /// At most [`CdrQuery::MAX_LIMIT`] records.
    ///
    /// Filter values are always bound parameters; the statement text only depends on
    /// which filters are set.
    pub async fn query_cdrs(&self, query: &CdrQuery) -> Result<Vec<Cdr>, StoreError> {
        let limit = query.limit.min(CdrQuery::MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = select_sql(page_shape(query));
        let cursor = query.after.map(|c| {
            [
                Some(Value::Int(c.start_unix_ms)),
                Some(Value::Int(c.id.get())),
            ]
        });
        let values = filter_values(query)
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

    /// How many records match the filters of `query` (its order, cursor and limit are
    /// ignored).
    pub async fn count_cdrs(&self, query: &CdrQuery) -> Result<u64, StoreError> {
        let filters = filter_values(query);
        let sql = count_sql(filter_shape(&filters));
        let values = filters.into_iter().flatten();
        let count: i64 = with_reader!(self, pool => {
            bind_values!(sqlx::query_scalar(sql), values)
                .fetch_one(pool)
                .await?
        });
        u64::try_from(count).map_err(|_| corrupt("COUNT(*)", &count.to_string()))
    }

    /// Calls per local day of the records matching the filters of `query` (its order,
    /// cursor and limit are ignored), oldest day first; days without calls are left out.
    /// A record counts on the day its start falls on in UTC shifted by
    /// `utc_offset_minutes` (e.g. 60 for UTC+01:00, -300 for UTC-05:00).
    pub async fn cdr_daily_summary(
        &self,
        query: &CdrQuery,
        utc_offset_minutes: i32,
    ) -> Result<Vec<CdrDaySummary>, StoreError> {
        let filters = filter_values(query);
        let sql = summary_sql(filter_shape(&filters));
        let offset_ms = i64::from(utc_offset_minutes) * 60_000;
        let values = filters.into_iter().flatten().chain([Value::Int(offset_ms)]);
        let rows: Vec<(i64, i64, i64, i64)> = with_reader!(self, pool => {
            bind_values!(sqlx::query_as(sql), values)
                .fetch_all(pool)
                .await?
        });
        rows.into_iter()
            .map(|(day, calls, answered, billable_ms)| {
                let count =
                    |what, n: i64| u64::try_from(n).map_err(|_| corrupt(what, &n.to_string()));
                Ok(CdrDaySummary {
                    day: civil_date(day),
                    calls: count("COUNT(*)", calls)?,
                    answered: count("answered", answered)?,
                    billable_ms: count("SUM(billable_ms)", billable_ms)?,
                })
            })
            .collect()
    }
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01) in the proleptic Gregorian
/// calendar (H. Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(-1), "1969-12-31");
        assert_eq!(civil_date(19_675), "2023-11-14");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(11_017), "2000-03-01");
        assert_eq!(civil_date(-719_468), "0000-03-01");
    }
}
