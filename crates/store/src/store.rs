//! The [`Store`] handle: connecting, pools, migrations.

use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Database, Decode, Type};

use crate::{Backend, StoreError, StoreOptions, Synchronous, migrations};

/// Handle to the database: cheap to clone, safe to share between tasks.
///
/// Every method takes `&self`; clones share the same connection pools.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pools: Pools,
}

/// The connection pools of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pools {
    /// SQLite: all writes go through `writer` (one connection, so in-process writers queue in
    /// the pool instead of fighting over SQLite's lock); reads use `reader`, whose connections
    /// are `query_only` and run concurrently with the writer thanks to WAL. For an in-memory
    /// database both are the same single-connection pool.
    Sqlite {
        writer: SqlitePool,
        reader: SqlitePool,
    },
    /// PostgreSQL: one pool for reads and writes.
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the pool that serves reads, once per backend, so the
/// same query text and row mapping compile against both drivers.
macro_rules! with_reader {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { reader: $pool, .. } => $body,
            $crate::store::Pools::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_reader;

/// Like [`with_reader!`] for the pool that takes writes.
macro_rules! with_writer {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pools {
            $crate::store::Pools::Sqlite { writer: $pool, .. } => $body,
            $crate::store::Pools::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_writer;

/// A Rust type that both drivers can decode from a column (keeps row-mapping bounds short).
pub(crate) trait Column<'r, DB: Database>: Decode<'r, DB> + Type<DB> {}
impl<'r, DB: Database, T: Decode<'r, DB> + Type<DB>> Column<'r, DB> for T {}

impl Store {
    /// Opens the database named by `url`.
    ///
    /// - `sqlite://path/to/file.db` (or `sqlite:path`): the file is created when missing and
    ///   switched to WAL; `synchronous`, `busy_timeout` and foreign keys are set on every
    ///   connection. One writer connection plus [`StoreOptions::sqlite_readers`] read-only
    ///   connections.
    /// - `sqlite::memory:`: a private in-memory database on one connection (tests).
    /// - `postgres://user:password@host:port/database` (or `postgresql://`): a pool of up to
    ///   [`StoreOptions::postgres_max_connections`].
    ///
    /// Opens one connection before returning, so a wrong path, host or password fails here.
    /// Does not migrate: call [`Store::migrate`].
    ///
    /// # Errors
    /// [`StoreError::InvalidUrl`] for an unusable URL, [`StoreError::Database`] when the
    /// database cannot be reached within [`StoreOptions::connect_timeout`].
    pub async fn connect(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => connect_sqlite(url, &options).await,
            "postgres" | "postgresql" => connect_postgres(url, &options).await,
            _ => Err(StoreError::InvalidUrl {
                reason: "expected a URL starting with sqlite: or postgres:".to_owned(),
            }),
        }
    }

    /// Applies every embedded migration not yet recorded in `_sqlx_migrations`.
    ///
    /// Idempotent; safe to run from several processes at once (PostgreSQL takes an advisory
    /// lock; SQLite serializes writers).
    ///
    /// # Errors
    /// [`StoreError::Migration`], also when an already applied migration's text changed.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = migrations::migrator(self.backend());
        match &self.pools {
            Pools::Sqlite { writer, .. } => migrator.run(writer).await?,
            Pools::Postgres(pool) => migrator.run(pool).await?,
        }
        tracing::debug!(
            backend = self.backend().as_str(),
            migrations = migrator.iter().count(),
            "schema up to date"
        );
        Ok(())
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every connection, waiting for the ones in use to be returned. Later calls on
    /// any clone fail with [`StoreError::Database`].
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { writer, reader } => {
                reader.close().await;
                writer.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }
}

async fn connect_sqlite(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    let base = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::InvalidUrl {
            reason: e.to_string(),
        })?
        .busy_timeout(options.sqlite_busy_timeout)
        .foreign_keys(true);

    if sqlite_is_memory(url) {
        // One connection that never idles out: the database lives exactly as long as it.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.connect_timeout)
            .connect_with(base)
            .await?;
        return Ok(Store {
            pools: Pools::Sqlite {
                writer: pool.clone(),
                reader: pool,
            },
        });
    }
    if base.get_filename().as_os_str().is_empty() {
        return Err(StoreError::InvalidUrl {
            reason: "missing SQLite file path".to_owned(),
        });
    }

    // The writer connects first: it creates the file and switches it to WAL (a persistent
    // property of the file), so readers never need to write anything.
    let writer_options = base
        .clone()
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(synchronous(options.sqlite_synchronous));
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(options.connect_timeout)
        .connect_with(writer_options)
        .await?;
    let reader_options = base.pragma("query_only", "ON");
    let reader = SqlitePoolOptions::new()
        .max_connections(options.sqlite_readers.max(1))
        .acquire_timeout(options.connect_timeout)
        .connect_with(reader_options)
        .await?;
    tracing::debug!(
        readers = options.sqlite_readers.max(1),
        "SQLite store connected"
    );
    Ok(Store {
        pools: Pools::Sqlite { writer, reader },
    })
}

/// Whether an `sqlite:` URL names an in-memory database (the forms sqlx accepts).
fn sqlite_is_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|p| p == "mode=memory")
}

fn synchronous(level: Synchronous) -> SqliteSynchronous {
    match level {
        Synchronous::Off => SqliteSynchronous::Off,
        Synchronous::Normal => SqliteSynchronous::Normal,
        Synchronous::Full => SqliteSynchronous::Full,
        Synchronous::Extra => SqliteSynchronous::Extra,
    }
}

async fn connect_postgres(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
    let mut connect = PgConnectOptions::from_str(url).map_err(|e| StoreError::InvalidUrl {
        reason: e.to_string(),
    })?;
    if connect.get_application_name().is_none() {
        connect = connect.application_name(&options.application_name);
    }
    let pool = PgPoolOptions::new()
        .max_connections(options.postgres_max_connections.max(1))
        .acquire_timeout(options.connect_timeout)
        .connect_with(connect)
        .await?;
    tracing::debug!(
        max_connections = options.postgres_max_connections.max(1),
        "PostgreSQL store connected"
    );
    Ok(Store {
        pools: Pools::Postgres(pool),
    })
}

/// Wall-clock time in unix milliseconds, for audit columns the store fills in itself.
pub(crate) fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_in_memory_urls() {
        assert!(sqlite_is_memory("sqlite::memory:"));
        assert!(sqlite_is_memory("sqlite://:memory:"));
        assert!(sqlite_is_memory("sqlite://?mode=memory"));
        assert!(sqlite_is_memory("sqlite://x.db?cache=shared&mode=memory"));
        assert!(!sqlite_is_memory(
            "sqlite:///var/lib/switchboard/switchboard.db"
        ));
        assert!(!sqlite_is_memory("sqlite://memory.db"));
    }

    #[tokio::test]
    async fn refuses_unknown_schemes_without_echoing_the_url() {
        for url in ["mysql://root:hunter2@db.example.com/x", "hunter2", ""] {
            let err = Store::connect(url, StoreOptions::default())
                .await
                .expect_err("unsupported URL");
            assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
            assert!(!err.to_string().contains("hunter2"), "{err}");
        }
    }

    #[tokio::test]
    async fn refuses_sqlite_url_without_path() {
        let err = Store::connect("sqlite://", StoreOptions::default())
            .await
            .expect_err("no path");
        assert!(matches!(err, StoreError::InvalidUrl { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn sqlite_file_is_wal_with_full_sync_and_read_only_readers() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("nested.db").display());
        let store = Store::connect(&url, StoreOptions::default())
            .await
            .expect("file is created");
        store.migrate().await.expect("migrate");
        let Pools::Sqlite { writer, reader } = &store.pools else {
            panic!("sqlite URL gives SQLite pools");
        };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(reader)
            .await
            .expect("journal mode");
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(writer)
            .await
            .expect("synchronous");
        assert_eq!(sync, 2, "FULL");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(writer)
            .await
            .expect("foreign keys");
        assert_eq!(fk, 1);
        let write = sqlx::query("DELETE FROM bindings").execute(reader).await;
        assert!(write.is_err(), "reader connections are query_only");
        store.close().await;

        let normal = StoreOptions {
            sqlite_synchronous: Synchronous::Normal,
            ..StoreOptions::default()
        };
        let store = Store::connect(&url, normal).await.expect("reopen");
        let Pools::Sqlite { writer, .. } = &store.pools else {
            panic!("sqlite URL gives SQLite pools");
        };
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(writer)
            .await
            .expect("synchronous");
        assert_eq!(sync, 1, "NORMAL");
        store.close().await;
    }

    #[tokio::test]
    async fn store_and_its_futures_can_move_between_threads() {
        fn shared<T: Clone + Send + Sync + 'static>(_: &T) {}
        fn send<T: Send>(_: T) {}
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .expect("in-memory database");
        shared(&store);
        let md5 = crate::Ha1Md5::from_hex(&"0".repeat(32)).expect("hex");
        let sha = crate::Ha1Sha256::from_hex(&"0".repeat(64)).expect("hex");
        let user = crate::NewUser {
            username: "alice".to_owned(),
            domain: "example.com".to_owned(),
            display_name: None,
            ha1_md5: md5.clone(),
            ha1_sha256: sha.clone(),
            enabled: true,
            extension: None,
            context: None,
            groups: Vec::new(),
            call_allow: Vec::new(),
            call_deny: Vec::new(),
        };
        send(store.migrate());
        send(store.create_user(&user));
        send(store.get_user("alice", "example.com"));
        send(store.list_users(&crate::ListUsers::default()));
        send(store.delete_user("alice", "example.com"));
        send(store.update_user_secrets("alice", "example.com", &md5, &sha));
        send(store.set_user_enabled("alice", "example.com", false));
        send(store.credentials("alice", "example.com"));
        send(store.users_generation());
        send(store.apply_binding_changes(&[]));
        send(store.load_bindings(0));
        send(store.purge_expired_bindings(0));
        send(store.insert_cdrs(&[]));
        send(store.query_cdrs(&crate::CdrQuery::default()));
        send(store.count_cdrs(&crate::CdrQuery::default()));
        send(store.list_dialplans());
        send(store.get_dialplan("main"));
        send(store.put_dialplan("main", "", None));
        send(store.delete_dialplan("main"));
        send(store.dialplans_generation());
        send(store.update_user("alice", "example.com", &crate::UserChanges::default()));
        send(store.count_users(&crate::ListUsers::default()));
        send(store.user_directory());
        send(store.find_user_by_extension("201", "example.com"));
        send(store.list_groups());
        send(store.delete_acl("office"));
        send(store.list_trunks());
        send(store.config_generation());
        send(store.create_admin("root", "$argon2id$"));
        send(store.find_token(&[0; 32], 0));
        send(store.add_dialplan_version("main", "", "root"));
        send(store.cdr_daily_summary(&crate::CdrQuery::default(), 60));
        send(store.close());
    }

    #[tokio::test]
    async fn in_memory_store_migrates_and_reports_backend() {
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .expect("in-memory database");
        assert_eq!(store.backend(), Backend::Sqlite);
        store.migrate().await.expect("first migration");
        store.migrate().await.expect("second migration is a no-op");
        assert_eq!(store.users_generation().await.expect("generation"), 0);
        store.close().await;
        assert!(store.users_generation().await.is_err(), "closed pool");
    }
}
