//! Registrations (RFC 3261 §10): the persisted copy of the registrar's location table.
//!
//! The server keeps bindings in memory and writes them behind in batches; this module
//! persists exactly what it is given and loads it back at start-up.

use sqlx::{ColumnIndex, Row};

use crate::store::{Column, Pools, with_reader, with_writer};
use crate::{Store, StoreError, bindings_pg, bindings_sqlite};

/// One contact binding of an address of record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    /// Address of record, `sip:user@domain`.
    pub aor: String,
    /// Identity of the binding within the AOR, chosen by the caller (opaque).
    pub binding_id: String,
    /// The Contact URI.
    pub contact: String,
    /// RFC 5626 §4.1 `+sip.instance`, when the UA sent one.
    pub instance: Option<String>,
    /// RFC 5626 §4.2 `reg-id`, when the UA sent one.
    pub reg_id: Option<u32>,
    /// Contact `q` in thousandths (0..=1000), when given (RFC 3261 §10.2.1.2).
    pub q: Option<u16>,
    /// Call-ID of the REGISTER that created or refreshed the binding.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Expiry, unix milliseconds; the binding is gone once `now >= expires_at_unix_ms`.
    pub expires_at_unix_ms: i64,
    /// Transport the REGISTER arrived on (e.g. `udp`, `ws`).
    pub transport: String,
    /// Remote address the REGISTER came from, `ip:port`.
    pub source: String,
    /// Local address it arrived on, `ip:port`.
    pub local: String,
    /// User-Agent header value, if any.
    pub user_agent: Option<String>,
    /// Path header values (RFC 3327), as one text, if any.
    pub path: Option<String>,
    /// Cluster node that owns the flow, if any.
    pub node: Option<String>,
    /// Last write of this binding, unix milliseconds.
    pub updated_at_unix_ms: i64,
}

/// One change in a batch for [`Store::apply_binding_changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "batches are mostly upserts; boxing would add an allocation per binding"
)]
pub enum BindingChange {
    /// Insert the binding, or overwrite every column of the one with the same
    /// `(aor, binding_id)`.
    Upsert(BindingRecord),
    /// Remove one binding (no error when it does not exist).
    Remove {
        /// Address of record.
        aor: String,
        /// Binding within it.
        binding_id: String,
    },
    /// Remove every binding of an address of record (REGISTER with `Contact: *`).
    RemoveAor {
        /// Address of record.
        aor: String,
    },
}

macro_rules! binding_columns {
    () => {
        "aor, binding_id, contact, instance, reg_id, q, call_id, cseq, expires_at, \
         transport, source, local, user_agent, path, node, updated_at"
    };
}
pub(crate) use binding_columns;

/// The `ON CONFLICT` clause shared by both dialects' upserts.
macro_rules! binding_upsert_tail {
    () => {
        " ON CONFLICT (aor, binding_id) DO UPDATE SET \
         contact = excluded.contact, instance = excluded.instance, reg_id = excluded.reg_id, \
         q = excluded.q, call_id = excluded.call_id, cseq = excluded.cseq, \
         expires_at = excluded.expires_at, transport = excluded.transport, \
         source = excluded.source, local = excluded.local, user_agent = excluded.user_agent, \
         path = excluded.path, node = excluded.node, updated_at = excluded.updated_at"
    };
}
pub(crate) use binding_upsert_tail;

pub(crate) fn binding_from_row<'r, R>(row: &'r R) -> Result<BindingRecord, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    Option<i64>: Column<'r, R::Database>,
    Option<i32>: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
    Option<String>: Column<'r, R::Database>,
{
    let reg_id: Option<i64> = row.try_get(4)?;
    let q: Option<i32> = row.try_get(5)?;
    let cseq: i64 = row.try_get(7)?;
    Ok(BindingRecord {
        aor: row.try_get(0)?,
        binding_id: row.try_get(1)?,
        contact: row.try_get(2)?,
        instance: row.try_get(3)?,
        reg_id: reg_id
            .map(|v| u32::try_from(v).map_err(|_| corrupt("bindings.reg_id", v)))
            .transpose()?,
        q: q.map(|v| u16::try_from(v).map_err(|_| corrupt("bindings.q", v.into())))
            .transpose()?,
        call_id: row.try_get(6)?,
        cseq: u32::try_from(cseq).map_err(|_| corrupt("bindings.cseq", cseq))?,
        expires_at_unix_ms: row.try_get(8)?,
        transport: row.try_get(9)?,
        source: row.try_get(10)?,
        local: row.try_get(11)?,
        user_agent: row.try_get(12)?,
        path: row.try_get(13)?,
        node: row.try_get(14)?,
        updated_at_unix_ms: row.try_get(15)?,
    })
}

fn corrupt(what: &'static str, value: i64) -> StoreError {
    StoreError::Corrupt {
        what,
        reason: format!("{value} is out of range"),
    }
}

impl Store {
    /// Applies a batch of binding changes, in order, in ONE transaction: either every change
    /// is committed or none is.
    ///
    /// The result is that of applying the changes one by one, but the batch is first
    /// reduced to its net effect (see "Writing a batch of bindings" in the crate docs): the
    /// AORs cleared, the bindings removed and the bindings upserted, each key once, so it is
    /// written with a few multi-row statements whatever its size. A change superseded later
    /// in the same batch (an upsert followed by another change of the same binding,
    /// anything before a `RemoveAor` of its AOR) is never sent to the database.
    ///
    /// # Errors
    /// [`StoreError::ConstraintViolation`] when a value that would be written is out of
    /// range (e.g. `q` above 1000), [`StoreError::Database`] otherwise; the whole batch is
    /// rolled back.
    pub async fn apply_binding_changes(&self, changes: &[BindingChange]) -> Result<(), StoreError> {
        if changes.is_empty() {
            return Ok(());
        }
        match &self.pools {
            Pools::Sqlite { writer, .. } => bindings_sqlite::apply(writer, changes).await,
            Pools::Postgres(pool) => bindings_pg::apply(pool, changes).await,
        }
    }

    /// Every binding that has not expired at `now_unix_ms`, ordered by AOR then binding id.
    pub async fn load_bindings(&self, now_unix_ms: i64) -> Result<Vec<BindingRecord>, StoreError> {
        let sql = concat!(
            "SELECT ",
            binding_columns!(),
            " FROM bindings WHERE expires_at > $1 ORDER BY aor, binding_id"
        );
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).bind(now_unix_ms).fetch_all(pool).await?;
            rows.iter().map(binding_from_row).collect()
        })
    }

    /// Deletes every binding expired at `now_unix_ms`; returns how many.
    pub async fn purge_expired_bindings(&self, now_unix_ms: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM bindings WHERE expires_at <= $1";
        let purged = with_writer!(self, pool => {
            sqlx::query(sql).bind(now_unix_ms).execute(pool).await?.rows_affected()
        });
        Ok(purged)
    }
}
