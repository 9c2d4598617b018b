//! Switchboard persistence: users and registrations in SQLite or PostgreSQL, through sqlx.
//!
//! Owns: the schema (`migrations/sqlite` and `migrations/postgres`, embedded in the binary),
//! connection pools, and the repositories for users (with their HA1 digests and a change
//! counter) and registration bindings. It persists what it is given: what a binding is,
//! when it expires, and who may register are decided by the callers.
//!
//! Must not depend on: other Switchboard crates, SIP parsing, business rules.
//!
//! How to drive it:
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use sb_store::{Ha1Md5, Ha1Sha256, NewUser, Store, StoreOptions};
//!
//! let store = Store::connect("sqlite::memory:", StoreOptions::default()).await?;
//! store.migrate().await?;
//! let before = store.users_generation().await?;
//! store
//!     .create_user(&NewUser {
//!         username: "alice".to_owned(),
//!         domain: "Example.COM".to_owned(),
//!         display_name: None,
//!         ha1_md5: Ha1Md5::from_hex("0123456789abcdef0123456789abcdef")?,
//!         ha1_sha256: Ha1Sha256::from_hex(&"ab".repeat(32))?,
//!         enabled: true,
//!     })
//!     .await?;
//! let creds = store.credentials("alice", "example.com").await?.expect("just created");
//! assert!(creds.enabled);
//! assert_ne!(store.users_generation().await?, before);
//! # Ok::<(), sb_store::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! # One API, two databases
//!
//! [`Store`] wraps an enum over the two native sqlx pools rather than sqlx's `Any` driver.
//! Each query is written once; a small macro expands its body for both pool types, so the
//! same SQL text and row mapping compile against each driver with its native types (no
//! per-row conversion through `AnyValue`), and the backend-specific parts stay explicit:
//! SQLite connection pragmas, the SQLite writer/reader split, and the PostgreSQL array
//! batch path. Queries are runtime-checked (`sqlx::query`, no compile-time macros) and
//! rows are mapped by column position.
//!
//! # Pools
//!
//! - SQLite file: the file is in WAL mode; one writer connection takes every write (so the
//!   process never fights itself over SQLite's single write lock, and batches queue in the
//!   pool), and a pool of [`StoreOptions::sqlite_readers`] `query_only` connections serves
//!   reads concurrently with it. Other processes (the CLI) coordinate through SQLite's lock
//!   and [`StoreOptions::sqlite_busy_timeout`]. `synchronous` defaults to FULL, so a
//!   committed write survives power loss.
//! - `sqlite::memory:`: one connection for everything (the database lives as long as it).
//! - PostgreSQL: one pool of up to [`StoreOptions::postgres_max_connections`].
//!
//! # Where the dialects differ
//!
//! Placeholders are `$1`, `$2`, … in both (SQLite accepts `$NNN`). Upserts use
//! `INSERT … ON CONFLICT … DO UPDATE SET col = excluded.col` in both. The differences:
//! - schema: `INTEGER PRIMARY KEY AUTOINCREMENT` vs `BIGINT GENERATED ALWAYS AS IDENTITY`;
//!   booleans as 0/1 integers vs `BOOLEAN`; SQLite's three triggers vs one PL/pgSQL
//!   trigger function for the change counter; the lower-case domain check uses `COLLATE "C"`
//!   in PostgreSQL so both fold ASCII letters only;
//! - writes: SQLite batches run one prepared statement per change inside
//!   `BEGIN IMMEDIATE`; PostgreSQL batches send one `UNNEST` array statement per run of
//!   same-kind changes;
//! - user search lower-cases with the database's `lower()`: ASCII-only in SQLite,
//!   locale-aware in PostgreSQL.
//!
//! # Migrations
//!
//! [`Store::migrate`] hands the embedded files to sqlx's runtime `Migrator`, which records
//! versions and checksums in `_sqlx_migrations`. Files are `NNNN_name.sql`, with the same
//! numbers and meaning in both directories.
//!
//! # Test support
//!
//! The `testing` feature adds [`testing`]: a throwaway PostgreSQL cluster and temporary
//! SQLite databases for this crate's contract tests and other crates' tests.

mod bindings;
mod bindings_pg;
mod bindings_sqlite;
mod error;
mod migrations;
mod options;
mod secret;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use bindings::{BindingChange, BindingRecord};
pub use error::StoreError;
pub use options::{Backend, StoreOptions, Synchronous};
pub use secret::{Ha1Md5, Ha1Sha256};
pub use store::Store;
pub use users::{ListUsers, NewUser, User, UserCredentials, UserId};
