//! What the nodes of a cluster share beyond the plain tables: the `nodes` table (who runs,
//! where its SIP listener is, when it was last heard of) and, on PostgreSQL, the change
//! notifications every node listens to ([`ChangeListener`]).
//!
//! Liveness is measured on the database's clock (`seen_at` is written and compared there),
//! so the nodes' own clocks never have to agree.

use sqlx::postgres::PgListener;
use sqlx::{ColumnIndex, Row};

use crate::bindings::{binding_columns, binding_from_row};
use crate::store::{Column, Pools, with_reader, with_writer};
use crate::{BindingRecord, Store, StoreError};

/// The database's clock in unix milliseconds, per dialect.
macro_rules! pg_now {
    () => {
        "(extract(epoch from clock_timestamp()) * 1000)::bigint"
    };
}
macro_rules! sqlite_now {
    () => {
        "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    };
}

/// Inserts or replaces a node's row, heard of and started now.
macro_rules! upsert_node {
    ($now:expr) => {
        concat!(
            "INSERT INTO nodes (name, sip_address, started_at, seen_at) VALUES ($1, $2, ",
            $now,
            ", ",
            $now,
            ") ON CONFLICT (name) DO UPDATE SET sip_address = excluded.sip_address, \
             started_at = excluded.started_at, seen_at = excluded.seen_at"
        )
    };
}

/// One node of the cluster as the `nodes` table knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    /// The node's name (`[cluster] node`).
    pub name: String,
    /// `ip:port` of its SIP UDP listener, as the other nodes reach it.
    pub sip_address: String,
    /// When it (last) started, unix milliseconds of the database's clock.
    pub started_at_unix_ms: i64,
    /// How long ago it was last heard of, milliseconds (the database's clock).
    pub silent_ms: i64,
}

fn node_from_row<'r, R>(row: &'r R) -> Result<NodeRecord, StoreError>
where
    R: Row,
    usize: ColumnIndex<R>,
    i64: Column<'r, R::Database>,
    String: Column<'r, R::Database>,
{
    Ok(NodeRecord {
        name: row.try_get(0)?,
        sip_address: row.try_get(1)?,
        started_at_unix_ms: row.try_get(2)?,
        silent_ms: row.try_get(3)?,
    })
}

/// Something another node (or process) changed, as announced by PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A change counter moved: `users` (users) or `config` (groups, ACLs, trunks), or
    /// `dialplans` (stored dialplan documents).
    Counter(String),
    /// A binding row was written or deleted.
    Binding {
        /// Deleted (else written).
        deleted: bool,
        /// The `application_name` of the connection that wrote it (a node's is
        /// `switchboard/<node>`, see [`crate::StoreOptions::application_name`]).
        writer: String,
        /// The node named in the row (`None`: a node without a name).
        node: Option<String>,
        /// The row's last write, unix milliseconds.
        updated_at_unix_ms: i64,
        /// The address of record.
        aor: String,
        /// The binding's id within the AOR.
        binding_id: String,
    },
    /// A new text of dialplan file `name` was recorded.
    Dialplan(String),
    /// A node started, restarted or stopped.
    Node(String),
    /// The listening connection was lost and is being re-established: whatever was
    /// announced meanwhile is lost, so everything should be read again.
    Lost,
}

/// The channels [`ChangeListener`] listens on (see `migrations/postgres/0005_cluster.sql`).
const CHANNELS: [&str; 4] = [
    "switchboard_changes",
    "switchboard_bindings",
    "switchboard_dialplans",
    "switchboard_nodes",
];

/// A dedicated PostgreSQL connection listening to every change notification.
#[derive(Debug)]
pub struct ChangeListener {
    listener: PgListener,
}

impl ChangeListener {
    /// The next change. After [`Change::Lost`] the next call reconnects (and listens again).
    ///
    /// # Errors
    /// [`StoreError::Database`] when the database cannot be reached again, or the pool was
    /// closed.
    pub async fn recv(&mut self) -> Result<Change, StoreError> {
        loop {
            let Some(n) = self.listener.try_recv().await? else {
                return Ok(Change::Lost);
            };
            let payload = n.payload();
            let change = match n.channel() {
                "switchboard_changes" => Change::Counter(payload.to_owned()),
                "switchboard_bindings" => {
                    let mut parts = payload.splitn(6, ' ');
                    let mut next = || parts.next();
                    let (Some(op), Some(writer), Some(node), Some(updated), Some(aor), Some(id)) =
                        (next(), next(), next(), next(), next(), next())
                    else {
                        continue;
                    };
                    let Ok(updated_at_unix_ms) = updated.parse() else {
                        continue;
                    };
                    Change::Binding {
                        deleted: op == "D",
                        writer: writer.to_owned(),
                        node: Some(node).filter(|n| !n.is_empty()).map(str::to_owned),
                        updated_at_unix_ms,
                        aor: aor.to_owned(),
                        binding_id: id.to_owned(),
                    }
                }
                "switchboard_dialplans" => Change::Dialplan(payload.to_owned()),
                "switchboard_nodes" => Change::Node(payload.to_owned()),
                _ => continue,
            };
            return Ok(change);
        }
    }
}

impl Store {
    /// Listens to the change notifications of a PostgreSQL database; `None` for SQLite,
    /// whose changes come from this process or its command line only (its change counters
    /// are read instead). The listener holds one connection of its own.
    ///
    /// # Errors
    /// [`StoreError::Database`] when the connection cannot be opened.
    pub async fn listen_changes(&self) -> Result<Option<ChangeListener>, StoreError> {
        let Pools::Postgres(pool) = &self.pools else {
            return Ok(None);
        };
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen_all(CHANNELS).await?;
        Ok(Some(ChangeListener { listener }))
    }

    /// Records node `name` as running with its SIP listener at `sip_address` (a restart
    /// replaces the row), heard of now.
    pub async fn register_node(&self, name: &str, sip_address: &str) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Postgres(pool) => {
                sqlx::query(upsert_node!(pg_now!()))
                    .bind(name)
                    .bind(sip_address)
                    .execute(pool)
                    .await?;
            }
            Pools::Sqlite { writer, .. } => {
                sqlx::query(upsert_node!(sqlite_now!()))
                    .bind(name)
                    .bind(sip_address)
                    .execute(writer)
                    .await?;
            }
        }
        Ok(())
    }

    /// Node `name` is alive: its `seen_at` becomes now. `false` when it has no row (deleted
    /// by an operator, or never registered): register it again.
    pub async fn node_heartbeat(&self, name: &str) -> Result<bool, StoreError> {
        let sql = match &self.pools {
            Pools::Postgres(_) => {
                concat!("UPDATE nodes SET seen_at = ", pg_now!(), " WHERE name = $1")
            }
            Pools::Sqlite { .. } => {
                concat!(
                    "UPDATE nodes SET seen_at = ",
                    sqlite_now!(),
                    " WHERE name = $1"
                )
            }
        };
        let updated = with_writer!(self, pool => {
            sqlx::query(sql).bind(name).execute(pool).await?.rows_affected()
        });
        Ok(updated > 0)
    }

    /// Every node with how long it has been silent, by name.
    pub async fn list_nodes(&self) -> Result<Vec<NodeRecord>, StoreError> {
        let sql = match &self.pools {
            Pools::Postgres(_) => concat!(
                "SELECT name, sip_address, started_at, ",
                pg_now!(),
                " - seen_at FROM nodes ORDER BY name"
            ),
            Pools::Sqlite { .. } => concat!(
                "SELECT name, sip_address, started_at, ",
                sqlite_now!(),
                " - seen_at FROM nodes ORDER BY name"
            ),
        };
        with_reader!(self, pool => {
            let rows = sqlx::query(sql).fetch_all(pool).await?;
            rows.iter().map(node_from_row).collect()
        })
    }

    /// Node `name` stopped: its row goes (the others are told at once).
    pub async fn remove_node(&self, name: &str) -> Result<(), StoreError> {
        with_writer!(self, pool => {
            sqlx::query("DELETE FROM nodes WHERE name = $1").bind(name).execute(pool).await?;
        });
        Ok(())
    }

    /// The unexpired bindings of the given AORs, ordered by AOR then binding id.
    pub async fn bindings_of(
        &self,
        aors: &[String],
        now_unix_ms: i64,
    ) -> Result<Vec<BindingRecord>, StoreError> {
        if aors.is_empty() {
            return Ok(Vec::new());
        }
        match &self.pools {
            Pools::Postgres(pool) => {
                let sql = concat!(
                    "SELECT ",
                    binding_columns!(),
                    " FROM bindings WHERE aor = ANY($1) AND expires_at > $2 \
                     ORDER BY aor, binding_id"
                );
                let rows = sqlx::query(sql)
                    .bind(aors)
                    .bind(now_unix_ms)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(binding_from_row).collect()
            }
            Pools::Sqlite { reader, .. } => {
                // One node per SQLite file: no batch worth a JSON array.
                let sql = concat!(
                    "SELECT ",
                    binding_columns!(),
                    " FROM bindings WHERE aor = $1 AND expires_at > $2 ORDER BY binding_id"
                );
                let mut out = Vec::new();
                for aor in aors {
                    let rows = sqlx::query(sql)
                        .bind(aor)
                        .bind(now_unix_ms)
                        .fetch_all(reader)
                        .await?;
                    for row in &rows {
                        out.push(binding_from_row(row)?);
                    }
                }
                out.sort_by(|a, b| (&a.aor, &a.binding_id).cmp(&(&b.aor, &b.binding_id)));
                Ok(out)
            }
        }
    }
}
