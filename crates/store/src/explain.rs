//! Query plans of the call-detail record statements, for tests and benchmarks (feature
//! `testing`; re-exported from [`crate::testing`]).

use sqlx::Row;

use crate::cdr_sql::{
    Value, bind_values, count_sql, filter_shape, filter_values, page_shape, select_sql, summary_sql,
};
use crate::store::Pools;
use crate::{CdrQuery, Store, StoreError};

/// Which statement of a [`CdrQuery`] to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdrStatement {
    /// The page of [`Store::query_cdrs`].
    Page,
    /// [`Store::count_cdrs`].
    Count,
    /// [`Store::cdr_daily_summary`] (at UTC).
    DailySummary,
}

/// The database's plan for one statement of `query`, with the query's values bound, one
/// line per plan node: SQLite's `EXPLAIN QUERY PLAN` details, PostgreSQL's `EXPLAIN`
/// text. With `discourage_table_scans`, PostgreSQL plans with `enable_seqscan = off` (in
/// a transaction of its own), which shows whether an index can serve the statement even
/// on a table too small for the planner to prefer it; SQLite ignores the flag.
///
/// # Errors
/// [`StoreError::Database`] when the database fails.
pub async fn explain_cdr_query(
    store: &Store,
    query: &CdrQuery,
    statement: CdrStatement,
    discourage_table_scans: bool,
) -> Result<String, StoreError> {
    let filters = filter_values(query);
    let shape = filter_shape(&filters);
    let (sql, tail): (&str, Vec<Value<'_>>) = match statement {
        CdrStatement::Page => {
            let mut tail = Vec::new();
            if let Some(c) = query.after {
                tail.extend([Value::Int(c.start_unix_ms), Value::Int(c.id.get())]);
            }
            let limit = query.limit.clamp(1, CdrQuery::MAX_LIMIT);
            tail.push(Value::Int(i64::from(limit)));
            (select_sql(page_shape(query)), tail)
        }
        CdrStatement::Count => (count_sql(shape), Vec::new()),
        CdrStatement::DailySummary => (summary_sql(shape), vec![Value::Int(0)]),
    };
    let values = filters.into_iter().flatten().chain(tail);
    let lines: Vec<String> = match &store.pools {
        Pools::Sqlite { reader, .. } => {
            let text = sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"));
            let rows = bind_values!(sqlx::query(text), values)
                .fetch_all(reader)
                .await?;
            rows.iter()
                .map(|row| row.try_get::<String, _>(3))
                .collect::<Result<_, _>>()?
        }
        Pools::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            if discourage_table_scans {
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await?;
            }
            let text = sqlx::AssertSqlSafe(format!("EXPLAIN {sql}"));
            let rows = bind_values!(sqlx::query(text), values)
                .fetch_all(&mut *tx)
                .await?;
            tx.rollback().await?;
            rows.iter()
                .map(|row| row.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?
        }
    };
    Ok(lines.join("\n"))
}
