//! SQLite batch path for binding changes: the batch's [`Plan`] as multi-row statements of
//! fixed sizes, inside one `BEGIN IMMEDIATE` transaction.
//!
//! sqlx runs every SQLite statement on the connection's worker thread and hands the result
//! back through channels; that hand-off, not SQLite, was most of the cost of a statement
//! per change. So each part of the plan goes out in chunks of [`CHUNK_ROWS`] rows, one
//! statement per chunk, and the remainder in power-of-two chunks (32, 16, …, 1 rows): the
//! statement texts are fixed, so every one is prepared once per connection and then
//! served from sqlx's statement cache. A 1,000-row batch is 17 statements.
//!
//! Placeholders are anonymous `?`: sqlx looks a named parameter (`$N`) up by position for
//! every value it binds, and SQLite finds the name by a linear scan, which is quadratic in
//! the parameters of a statement (a 64-row chunk of `$N` placeholders costs more than a
//! statement per row).
//!
//! Text values are handed to sqlx as `Arc<str>` (one allocation, where `&str` costs two),
//! and a value equal to the same column of the previous row reuses its `Arc`, so columns
//! that repeat across a batch (transport, local address, user agent) allocate once.

use std::sync::{Arc, LazyLock};

use sqlx::sqlite::{SqliteArguments, SqliteConnection};
use sqlx::{Arguments, Encode, Sqlite, SqlitePool, Type};

use crate::StoreError;
use crate::bindings::{BindingChange, BindingRecord, binding_columns, binding_upsert_tail};
use crate::bindings_plan::Plan;

/// Rows per statement for full chunks; a power of two (the remainder is cut into smaller
/// powers of two). 64 rows of 16 values stay far below SQLite's parameter limit (32,766).
pub(crate) const CHUNK_ROWS: usize = 64;

/// Chunk sizes 1, 2, 4, …, [`CHUNK_ROWS`].
const SIZES: usize = CHUNK_ROWS.trailing_zeros() as usize + 1;

/// Values bound per upserted row (the binding columns).
const UPSERT_VALUES: usize = 16;

/// The statement texts, indexed by `log2(rows)`.
struct Statements {
    upsert: [String; SIZES],
    remove: [String; SIZES],
    remove_aor: [String; SIZES],
}

static STATEMENTS: LazyLock<Statements> = LazyLock::new(|| Statements {
    upsert: std::array::from_fn(|k| upsert_sql(1 << k)),
    remove: std::array::from_fn(|k| remove_sql(1 << k)),
    remove_aor: std::array::from_fn(|k| remove_aor_sql(1 << k)),
});

/// `(?, ?, …)` with `values` placeholders, `rows` times, comma-separated.
fn placeholders(rows: usize, values: usize) -> String {
    let row = format!("({})", vec!["?"; values].join(", "));
    vec![row; rows].join(", ")
}

fn upsert_sql(rows: usize) -> String {
    format!(
        concat!(
            "INSERT INTO bindings (",
            binding_columns!(),
            ") VALUES {}",
            binding_upsert_tail!()
        ),
        placeholders(rows, UPSERT_VALUES)
    )
}

/// The row-value `IN` takes its keys from a subquery: with a bare `IN (VALUES …)` list
/// SQLite scans the table instead of searching the primary key.
fn remove_sql(rows: usize) -> String {
    format!(
        "DELETE FROM bindings WHERE (aor, binding_id) IN \
         (SELECT column1, column2 FROM (VALUES {}))",
        placeholders(rows, 2)
    )
}

fn remove_aor_sql(rows: usize) -> String {
    format!(
        "DELETE FROM bindings WHERE aor IN ({})",
        vec!["?"; rows].join(", ")
    )
}

/// The sizes `n` rows are cut into: full chunks, then falling powers of two.
fn chunk_sizes(mut n: usize) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let size = match n {
            0 => return None,
            n if n >= CHUNK_ROWS => CHUNK_ROWS,
            n => 1 << n.ilog2(),
        };
        n -= size;
        Some(size)
    })
}

/// The statement text for a chunk of `rows` (a size from [`chunk_sizes`]).
fn statement(texts: &'static [String; SIZES], rows: usize) -> &'static str {
    texts[rows.trailing_zeros() as usize].as_str()
}

pub(crate) async fn apply(pool: &SqlitePool, changes: &[BindingChange]) -> Result<(), StoreError> {
    let plan = Plan::new(changes);
    if plan.parts() == 0 {
        return Ok(());
    }
    // IMMEDIATE takes the write lock up front, so another process's writer makes this wait
    // (busy_timeout) instead of failing half-way through the batch.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    run(&mut tx, &plan).await?;
    tx.commit().await?;
    Ok(())
}

async fn run(conn: &mut SqliteConnection, plan: &Plan<'_>) -> Result<(), StoreError> {
    let statements = &*STATEMENTS;
    for aors in chunks(&plan.remove_aors) {
        let mut args = Args::new(aors.len());
        for aor in aors {
            args.text(0, aor)?;
        }
        args.execute(conn, statement(&statements.remove_aor, aors.len()))
            .await?;
    }
    for keys in chunks(&plan.removes) {
        let mut args = Args::new(keys.len() * 2);
        for &(aor, binding_id) in keys {
            args.key(aor, binding_id)?;
        }
        args.execute(conn, statement(&statements.remove, keys.len()))
            .await?;
    }
    for records in chunks(&plan.upserts) {
        let mut args = Args::new(records.len() * UPSERT_VALUES);
        for record in records {
            args.record(record)?;
        }
        args.execute(conn, statement(&statements.upsert, records.len()))
            .await?;
    }
    Ok(())
}

/// `items` cut by [`chunk_sizes`].
fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    chunk_sizes(items.len()).map(move |size| {
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        chunk
    })
}

/// The bound values of one statement.
struct Args {
    args: SqliteArguments,
    /// Per column, the last text bound, to share equal values between rows.
    last: [Option<Arc<str>>; UPSERT_VALUES],
}

impl Args {
    fn new(values: usize) -> Args {
        let mut args = SqliteArguments::default();
        args.reserve(values, 0);
        Args {
            args,
            last: Default::default(),
        }
    }

    fn add<'q, T: Encode<'q, Sqlite> + Type<Sqlite>>(
        &mut self,
        value: T,
    ) -> Result<(), StoreError> {
        self.args
            .add(value)
            .map_err(|e| StoreError::from(sqlx::Error::Encode(e)))
    }

    /// Binds a text of column `column`, reusing the previous row's value when equal.
    fn text(&mut self, column: usize, value: &str) -> Result<(), StoreError> {
        let shared = match &self.last[column] {
            Some(last) if **last == *value => Arc::clone(last),
            _ => {
                let fresh: Arc<str> = Arc::from(value);
                self.last[column] = Some(Arc::clone(&fresh));
                fresh
            }
        };
        self.add(shared)
    }

    fn opt_text(&mut self, column: usize, value: Option<&str>) -> Result<(), StoreError> {
        match value {
            Some(value) => self.text(column, value),
            None => self.add(None::<Arc<str>>),
        }
    }

    fn key(&mut self, aor: &str, binding_id: &str) -> Result<(), StoreError> {
        self.text(0, aor)?;
        self.text(1, binding_id)
    }

    /// The [`binding_columns!`] of one record, in order.
    fn record(&mut self, r: &BindingRecord) -> Result<(), StoreError> {
        self.key(&r.aor, &r.binding_id)?;
        self.text(2, &r.contact)?;
        self.opt_text(3, r.instance.as_deref())?;
        self.add(r.reg_id.map(i64::from))?;
        self.add(r.q.map(i64::from))?;
        self.text(6, &r.call_id)?;
        self.add(i64::from(r.cseq))?;
        self.add(r.expires_at_unix_ms)?;
        self.text(9, &r.transport)?;
        self.text(10, &r.source)?;
        self.text(11, &r.local)?;
        self.opt_text(12, r.user_agent.as_deref())?;
        self.opt_text(13, r.path.as_deref())?;
        self.opt_text(14, r.node.as_deref())?;
        self.add(r.updated_at_unix_ms)
    }

    async fn execute(
        self,
        conn: &mut SqliteConnection,
        sql: &'static str,
    ) -> Result<(), StoreError> {
        sqlx::query_with(sql, self.args).execute(conn).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Pools;
    use crate::{Store, StoreOptions};

    #[test]
    fn sizes_are_full_chunks_then_falling_powers_of_two() {
        let sizes = |n| chunk_sizes(n).collect::<Vec<_>>();
        assert_eq!(sizes(0), [0; 0]);
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(CHUNK_ROWS - 1), [32, 16, 8, 4, 2, 1]);
        assert_eq!(sizes(CHUNK_ROWS), [CHUNK_ROWS]);
        assert_eq!(sizes(CHUNK_ROWS + 1), [CHUNK_ROWS, 1]);
        assert_eq!(sizes(2 * CHUNK_ROWS + 3), [CHUNK_ROWS, CHUNK_ROWS, 2, 1]);
        let mut thousand = vec![CHUNK_ROWS; 15];
        thousand.extend([32, 8]);
        assert_eq!(sizes(1000), thousand);
        for n in 0..=4 * CHUNK_ROWS {
            let sizes = sizes(n);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{n}: {sizes:?}");
            assert!(
                sizes
                    .iter()
                    .all(|s| s.is_power_of_two() && *s <= CHUNK_ROWS)
            );
            // Each remainder size at most once, so the statement count stays small.
            let remainder = &sizes[n / CHUNK_ROWS..];
            assert!(remainder.windows(2).all(|w| w[0] > w[1]), "{n}: {sizes:?}");
        }
    }

    #[test]
    fn chunks_keep_order_and_cover_everything() {
        let items: Vec<usize> = (0..2 * CHUNK_ROWS + 3).collect();
        let cut: Vec<&[usize]> = chunks(&items).collect();
        assert_eq!(cut.len(), 4);
        assert_eq!(cut.concat(), items);
        assert!(chunks(&[0u8; 0]).next().is_none());
    }

    #[test]
    fn statements_have_one_placeholder_per_value() {
        let count = |sql: &str| sql.matches('?').count();
        for k in 0..SIZES {
            let rows = 1 << k;
            assert_eq!(count(&STATEMENTS.upsert[k]), rows * UPSERT_VALUES);
            assert_eq!(count(&STATEMENTS.remove[k]), rows * 2);
            assert_eq!(count(&STATEMENTS.remove_aor[k]), rows);
            assert!(
                !STATEMENTS.upsert[k].contains('$'),
                "anonymous placeholders"
            );
        }
        assert_eq!(
            statement(&STATEMENTS.upsert, CHUNK_ROWS),
            STATEMENTS.upsert[SIZES - 1]
        );
    }

    /// The removal statements must search the primary key, never scan the table.
    #[tokio::test]
    async fn removals_search_the_primary_key() {
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .expect("in-memory database");
        store.migrate().await.expect("migrate");
        let Pools::Sqlite { writer, .. } = &store.pools else {
            panic!("SQLite pools");
        };
        for sql in [
            &STATEMENTS.remove[0],
            &STATEMENTS.remove[SIZES - 1],
            &STATEMENTS.remove_aor[SIZES - 1],
        ] {
            let rows: Vec<(i64, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")))
                    .fetch_all(writer)
                    .await
                    .expect("query plan");
            let plan: Vec<String> = rows.into_iter().map(|(_, _, _, detail)| detail).collect();
            let plan = plan.join("\n");
            // "USING INDEX" or "USING COVERING INDEX" of the primary key.
            assert!(plan.contains("SEARCH bindings USING "), "{sql}:\n{plan}");
            assert!(
                plan.contains("sqlite_autoindex_bindings_1 (aor=?"),
                "{sql}:\n{plan}"
            );
            assert!(!plan.contains("SCAN bindings"), "{sql}:\n{plan}");
        }
        store.close().await;
    }
}
