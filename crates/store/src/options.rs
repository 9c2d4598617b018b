//! Connection settings.

use std::time::Duration;

/// Which database a [`Store`](crate::Store) talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An SQLite file (or an in-memory database for tests).
    Sqlite,
    /// A PostgreSQL server, for several nodes sharing state.
    Postgres,
}

impl Backend {
    /// Lower-case name, as used in URLs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// SQLite `PRAGMA synchronous` level (see the SQLite documentation of that pragma).
///
/// In WAL mode (every file database of the store), [`Synchronous::Full`] syncs the WAL on
/// every commit, so a committed write survives power loss; [`Synchronous::Normal`] only
/// syncs at checkpoints (a crash of the machine may lose the last commits, never corrupt
/// the file). At every level a commit has been written to the WAL file when it returns,
/// so a crash of the process alone (panic with abort, kill, OOM) loses nothing committed:
/// the operating system still holds the written pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// No syncs at all: fastest, a power loss may corrupt the database.
    Off,
    /// Sync at checkpoints only.
    Normal,
    /// Sync the WAL on every commit (the default).
    #[default]
    Full,
    /// Like `Full`, and also sync the directory after a rollback journal is removed.
    Extra,
}

/// How to connect; [`StoreOptions::default`] suits a single-node server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Longest wait for a pooled connection, including opening a new one
    /// (TCP connect and login for PostgreSQL). Default 5 s.
    pub connect_timeout: Duration,
    /// SQLite: how long a statement waits for another process's lock before failing
    /// with "database is locked". Default 5 s.
    pub sqlite_busy_timeout: Duration,
    /// SQLite: durability level. Default [`Synchronous::Full`].
    pub sqlite_synchronous: Synchronous,
    /// SQLite file databases: size of the read-only connection pool that serves reads
    /// alongside the single writer connection. Default 4. Ignored for `sqlite::memory:`,
    /// which uses one connection for everything.
    pub sqlite_readers: u32,
    /// PostgreSQL: maximum pool size. Default 8.
    pub postgres_max_connections: u32,
    /// PostgreSQL: the connections' `application_name` when the URL names none. Default
    /// `switchboard`; a cluster node uses `switchboard/<node>`, which its change
    /// notifications carry as their writer ([`crate::Change::Binding`]).
    pub application_name: String,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            connect_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_synchronous: Synchronous::Full,
            sqlite_readers: 4,
            postgres_max_connections: 8,
            application_name: "switchboard".to_owned(),
        }
    }
}
