//! SQLite batch path for binding changes: one cached prepared statement per change, all
//! inside one `BEGIN IMMEDIATE` transaction.
//!
//! Multi-row `VALUES` upserts (64 rows per statement) are no faster here, so each change
//! stays its own statement.

use sqlx::SqlitePool;
use sqlx::query::Query;
use sqlx::sqlite::{Sqlite, SqliteArguments};

use crate::StoreError;
use crate::bindings::{BindingChange, BindingRecord, binding_columns, binding_upsert_tail};

const UPSERT: &str = concat!(
    "INSERT INTO bindings (",
    binding_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    binding_upsert_tail!()
);
const DELETE_ONE: &str = "DELETE FROM bindings WHERE aor = $1 AND binding_id = $2";
const DELETE_AOR: &str = "DELETE FROM bindings WHERE aor = $1";

pub(crate) async fn apply(pool: &SqlitePool, changes: &[BindingChange]) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock up front, so another process's writer makes this wait
    // (busy_timeout) instead of failing half-way through the batch.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    for change in changes {
        match change {
            BindingChange::Upsert(record) => {
                bind_record(sqlx::query(UPSERT), record)
                    .execute(&mut *tx)
                    .await?;
            }
            BindingChange::Remove { aor, binding_id } => {
                sqlx::query(DELETE_ONE)
                    .bind(aor)
                    .bind(binding_id)
                    .execute(&mut *tx)
                    .await?;
            }
            BindingChange::RemoveAor { aor } => {
                sqlx::query(DELETE_AOR).bind(aor).execute(&mut *tx).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

fn bind_record<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    r: &'q BindingRecord,
) -> Query<'q, Sqlite, SqliteArguments> {
    query
        .bind(&r.aor)
        .bind(&r.binding_id)
        .bind(&r.contact)
        .bind(r.instance.as_deref())
        .bind(r.reg_id.map(i64::from))
        .bind(r.q.map(i32::from))
        .bind(&r.call_id)
        .bind(i64::from(r.cseq))
        .bind(r.expires_at_unix_ms)
        .bind(&r.transport)
        .bind(&r.source)
        .bind(&r.local)
        .bind(r.user_agent.as_deref())
        .bind(r.path.as_deref())
        .bind(r.node.as_deref())
        .bind(r.updated_at_unix_ms)
}
