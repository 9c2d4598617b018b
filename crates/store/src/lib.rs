//! Switchboard persistence: users, registrations, call-detail records and dialplan
//! documents in SQLite or PostgreSQL, through sqlx.
//!
//! Owns: the schema (`migrations/sqlite` and `migrations/postgres`, embedded in the binary),
//! connection pools, and the repositories for
//! - users, with their HA1 digests, directory fields (extension unique per domain, start
//!   context, call groups, allowed and denied number patterns) and a change counter;
//! - call groups, ACLs and trunks (the configuration the HTTP API edits), with one change
//!   counter for the three ([`Store::config_generation`]);
//! - administrator accounts (argon2 hashes) and the HTTP API's bearer tokens (SHA-256
//!   hashes only; see [`TokenSubject`]);
//! - registration bindings (the write-behind copy of the location table);
//! - call-detail records (one per call: insert, filtered pages in either order, counts,
//!   per-day summaries) and their CSV export ([`write_cdrs_csv`]), with the media
//!   gateway's summary of the call kept as the JSON text the server gives
//!   ([`NewCdr::media`]);
//! - dialplan documents (named texts with a version per document for optimistic
//!   concurrency and a change counter) and the history of dialplan files
//!   ([`Store::add_dialplan_version`]);
//! - the nodes of a cluster ([`Store::register_node`], heartbeats and silence on the
//!   database's clock) and, on PostgreSQL, the change notifications every node listens to
//!   ([`Store::listen_changes`], [`Change`]).
//!
//! It persists what it is given: what a binding is, when it expires, who may register,
//! what a call's disposition is, whether a dialplan text, a number pattern or a CIDR is
//! valid are decided by the callers. It checks only what keeps its own data consistent
//! (for example that a call record's answer time lies between its start and end, that a
//! trunk's ACL exists, that a list item reads back as written).
//!
//! Lists of short texts (group names, number patterns, CIDRs) are stored as one TEXT
//! column each, newline-separated; an item may not be empty or contain a line break.
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
//!         extension: Some("201".to_owned()),
//!         context: None,
//!         groups: vec!["sales".to_owned()],
//!         call_allow: Vec::new(),
//!         call_deny: vec!["_900.".to_owned()],
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
//! - binding batches: SQLite binds rows into multi-row `VALUES` statements of fixed sizes
//!   inside `BEGIN IMMEDIATE`; PostgreSQL passes column arrays to `UNNEST` (see below);
//! - user search lower-cases with the database's `lower()`: ASCII-only in SQLite,
//!   locale-aware in PostgreSQL;
//! - CDR batches run one statement per record inside `BEGIN IMMEDIATE` (SQLite) or a
//!   plain transaction (PostgreSQL).
//!
//! Both support what the CDR table relies on: `STORED` generated columns for the
//! durations and row-value comparisons (`(start_at, id) < ($1, $2)`) for the page cursor,
//! which both planners turn into an index range.
//!
//! # Writing a batch of bindings
//!
//! The server writes registrations behind in batches ([`Store::apply_binding_changes`],
//! every 200 ms, coalesced per binding), so the cost that matters is CPU per changed row.
//! A batch is first reduced to its net effect: the AORs cleared, the bindings removed and
//! the bindings upserted, each key at most once (an upsert overwrites every column, so a
//! key's last change decides; a `RemoveAor` runs first and drops what it supersedes).
//! That turns any interleaving of changes into at most three set-based writes, and is the
//! same on both backends.
//!
//! SQLite (file, WAL): sqlx hands every statement to the connection's worker thread and
//! waits for the answer; with one statement per change, that hand-off (two thread
//! wake-ups and channel traffic per row) was over half of the cost, SQLite's own work
//! about a fifth. Each part now goes out as multi-row statements of 64 rows
//! (`INSERT … VALUES (…), (…) … ON CONFLICT … DO UPDATE`,
//! `DELETE … WHERE (aor, binding_id) IN (SELECT … FROM (VALUES …))`,
//! `DELETE … WHERE aor IN (…)`), the remainder in falling powers of two, so every
//! statement text is fixed and prepared once: 17 statements for 1,000 rows. What was
//! measured along the way (CPU time of the whole process per 1,000-upsert batch on a
//! shared 2-vCPU machine, where figures move by 10–15% between runs):
//! - one statement per row, `$N` placeholders (the previous path): 20–22 ms;
//! - the same rows as one JSON text expanded by `json_each` with `->>` per column:
//!   16–18 ms (the per-column extraction costs what the hand-off saved);
//! - 64 single-row statements in one text (one hand-off, one step each): 12 ms;
//! - 64-row `VALUES` with `$N` placeholders: 28 ms, slower than a statement per row,
//!   because sqlx resolves a named parameter's name for every value and SQLite finds it
//!   by a linear scan (quadratic in the statement's parameters); with anonymous `?`:
//!   5.2–6 ms, within 10% from 16 to 128 rows per statement (256 is slower);
//! - text values as `Arc<str>` (one allocation instead of two) shared with the previous
//!   row when equal: 4.6–5.4 ms.
//!
//! What is left is SQLite itself (under half: the upsert's B-tree work, including moving
//! the `expires_at` index entry of every refreshed row, which alone is about 15%), its
//! copies of the bound texts (about a quarter) and the commit's WAL writes; the hand-offs
//! are down to a few percent.
//!
//! PostgreSQL: each part is one statement whose parameters are column arrays (`UNNEST`),
//! so a batch is at most three round trips however its changes interleave (before, every
//! switch between upserts and removals cost another statement); a batch with one part runs
//! as one autocommit statement, which is its own transaction. The server's work per
//! upserted row is MVCC's: a new row version and new entries in both indexes, because
//! `expires_at` changes on every refresh and so rules out heap-only (HOT) updates. Without
//! the `expires_at` index the same batches cost the server about a quarter less, at the
//! price of a full scan for every purge of expired bindings.
//!
//! Durability is unchanged: one transaction per batch, committed with the configured
//! `synchronous` level (SQLite) or `synchronous_commit` (PostgreSQL).
//!
//! # Call-detail records
//!
//! Times are UTC instants stored as unix milliseconds (`i64`) in both databases;
//! `duration_ms` and `billable_ms` are generated columns the database computes from them.
//! Dispositions, kinds and who hung up are texts with CHECK constraints. A record is
//! committed when [`Store::insert_cdr`] returns; how durable that is follows the
//! `synchronous` setting (SQLite, see [`Store::insert_cdr`]: `FULL`, the default,
//! survives power loss; `NORMAL` survives a crash of the process, not of the machine) or
//! the server's `synchronous_commit` (PostgreSQL). [`Store::insert_cdrs`] writes many in
//! one transaction (shutdown).
//!
//! [`Store::query_cdrs`] pages by `(start, id)`, newest or oldest first ([`CdrOrder`]),
//! with a keyset cursor ([`Cdr::cursor`] into [`CdrQuery::after`]), never `OFFSET`: every
//! CDR index ends in `(start_at, id)`, so any page is one index range scan in either
//! direction and pages neither repeat nor skip records. The two "either side" filters
//! (`party`: caller or callee; `trunk`: source or destination trunk) run as one ordered
//! range per side whose pages are merged (`UNION ALL` of disjoint branches), so they too
//! read at most a page per side. Filter values are always bound parameters: the statement
//! text depends only on which filters are set (each text built once). Measured on
//! 1,000,000 records: see `benches/cdr_page.rs`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use sb_store::{
//!     CdrDestination, CdrQuery, CdrSource, Disposition, HangupBy, NewCdr, Store, StoreOptions,
//! };
//!
//! let store = Store::connect("sqlite::memory:", StoreOptions::default()).await?;
//! store.migrate().await?;
//! let start = 1_700_000_000_000; // unix ms, UTC
//! store
//!     .insert_cdr(&NewCdr {
//!         call_id: "a84b4c76e66710@192.0.2.4".to_owned(),
//!         caller: "alice".to_owned(),
//!         caller_domain: "example.com".to_owned(),
//!         callee: "bob".to_owned(),
//!         dialed: "201".to_owned(),
//!         source: CdrSource::User("alice".to_owned()),
//!         destination: CdrDestination::User("bob".to_owned()),
//!         start_unix_ms: start,
//!         answer_unix_ms: Some(start + 3_000),
//!         end_unix_ms: start + 63_500,
//!         disposition: Disposition::Answered,
//!         sip_status: 200,
//!         hangup_by: HangupBy::Caller,
//!         node: None,
//!         end_reason: None,
//!         media: None,
//!     })
//!     .await?;
//! let query = CdrQuery { caller: Some("alice".to_owned()), limit: 50, ..CdrQuery::default() };
//! let page = store.query_cdrs(&query).await?;
//! assert_eq!((page[0].duration_secs(), page[0].billable_secs()), (63, 60));
//! // The next page continues after the last record of this one.
//! let next = CdrQuery { after: page.last().map(|c| c.cursor()), ..query };
//! assert!(store.query_cdrs(&next).await?.is_empty());
//! let mut csv = Vec::new();
//! sb_store::write_cdrs_csv(&page, &mut csv).expect("writing to memory");
//! assert!(csv.starts_with(b"id,call_id,caller,"));
//! # Ok::<(), sb_store::StoreError>(())
//! # }).unwrap();
//! ```
//!
//! # Dialplan documents
//!
//! [`Store::put_dialplan`] writes conditionally in one statement: with an expected version
//! it is an `UPDATE … WHERE version = $expected` (or an insert that must not conflict, for
//! version 0), so two editors cannot overwrite each other unnoticed; the loser gets
//! [`StoreError::VersionConflict`]. [`Store::dialplans_generation`] is a counter bumped by
//! triggers on every write, like [`Store::users_generation`], for cheap polling.
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

mod acls;
mod admins;
mod bindings;
mod bindings_pg;
mod bindings_plan;
mod bindings_sqlite;
mod cdr_csv;
mod cdr_query;
mod cdr_record;
mod cdr_sql;
mod cdrs;
mod cluster;
mod dialplan_versions;
mod dialplans;
mod error;
#[cfg(feature = "testing")]
mod explain;
mod groups;
mod lists;
mod migrations;
mod options;
mod secret;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
mod tokens;
mod trunks;
mod user_directory;
mod users;

pub use acls::Acl;
pub use admins::Admin;
pub use bindings::{BindingChange, BindingRecord};
pub use cdr_csv::{CDR_CSV_COLUMNS, CdrCsvWriter, write_cdrs_csv};
pub use cdr_query::{CdrCursor, CdrDaySummary, CdrOrder, CdrQuery};
pub use cdr_record::{Cdr, CdrDestination, CdrId, CdrSource, Disposition, HangupBy, NewCdr};
pub use cluster::{Change, ChangeListener, NodeRecord};
pub use dialplan_versions::{DialplanVersion, DialplanVersionInfo};
pub use dialplans::Dialplan;
pub use error::StoreError;
pub use groups::CallGroup;
pub use options::{Backend, StoreOptions, Synchronous};
pub use secret::{Ha1Md5, Ha1Sha256};
pub use store::Store;
pub use tokens::{AuthToken, NewToken, TOKEN_USE_RESOLUTION_MS, TokenKind, TokenSubject};
pub use trunks::StoredTrunk;
pub use user_directory::{DirectoryEntry, UserChanges};
pub use users::{ListUsers, NewUser, User, UserCredentials, UserId};
