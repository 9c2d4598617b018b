//! Databases for tests (feature `testing`): temporary SQLite files and fresh PostgreSQL
//! databases, for this crate's contract tests and for other crates' tests; and the query
//! plans of the call-detail record statements ([`explain_cdr_query`]).
//!
//! # PostgreSQL
//!
//! [`PostgresDatabase::create`] creates a fresh, empty database for one test on:
//! - the server named by `SWITCHBOARD_TEST_POSTGRES_URL` when that variable is set (the
//!   URL's role must be allowed to create databases); or else
//! - a throwaway cluster started once per test process from Debian's `postgresql`
//!   package (`/usr/lib/postgresql/<version>/bin`, newest version): `initdb` into a
//!   temporary directory, then `postgres -p <free port> -k <dir> -c
//!   listen_addresses=127.0.0.1` with `fsync=off` (nothing needs to survive). As root,
//!   both run as the `postgres` system user via `runuser -u postgres --` (they refuse
//!   root) and the directory is handed to that user.
//!
//! When neither is possible (no binaries) the call panics with a message saying to install
//! `postgresql`: a test that needs PostgreSQL fails, it is never skipped.
//!
//! ## How the throwaway cluster is always stopped
//!
//! Rust never runs destructors of statics, and a test process may also die from a panic
//! with `panic = "abort"`, a signal or a timeout. So the cluster is not owned by the
//! process but by a watchdog: a small `sh` script that runs `initdb`, starts `postgres`
//! itself, and then blocks reading its stdin, a pipe whose only writer is the test process
//! (so no directory or server ever exists without a watchdog responsible for it). Whenever the
//! test process ends, however it ends, the kernel closes that pipe; the watchdog reads
//! EOF, sends SIGINT (fast shutdown) to the postmaster by the pid in its own
//! `postmaster.pid`, waits for it to exit, and deletes the temporary directory. The
//! watchdog ignores SIGINT and SIGHUP so a Ctrl-C on the test run cannot skip that
//! clean-up.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

pub use crate::explain::{CdrStatement, explain_cdr_query};

/// Rows per statement of the SQLite binding batch path: batches around multiples of it
/// exercise the chunk boundaries (smaller remainders go out as falling powers of two).
pub const BINDING_CHUNK_ROWS: usize = crate::bindings_sqlite::CHUNK_ROWS;

/// Environment variable naming an existing PostgreSQL server to use instead of a throwaway
/// cluster, e.g. `postgres://postgres:secret@127.0.0.1:5432/postgres`.
pub const POSTGRES_URL_ENV: &str = "SWITCHBOARD_TEST_POSTGRES_URL";

/// A temporary SQLite database file, deleted with its directory on drop.
#[derive(Debug)]
pub struct SqliteDatabase {
    dir: TempDir,
    url: String,
}

impl SqliteDatabase {
    /// Names a database file in a fresh temporary directory (the store creates the file).
    ///
    /// # Panics
    /// When the temporary directory cannot be created.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("sb-store-sqlite-")
            .tempdir()
            .expect("create a temporary directory for SQLite");
        let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());
        SqliteDatabase { dir, url }
    }

    /// The `sqlite://` URL to pass to [`Store::connect`](crate::Store::connect).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The directory holding the database file (and its `-wal`/`-shm` companions).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Default for SqliteDatabase {
    fn default() -> Self {
        Self::new()
    }
}

/// A fresh, empty PostgreSQL database for one test.
#[derive(Debug)]
pub struct PostgresDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PostgresDatabase {
    /// Creates a database with a unique name (see the module docs for which server).
    ///
    /// # Panics
    /// When no PostgreSQL server is available or the database cannot be created; the
    /// message says what to install or check.
    pub async fn create() -> PostgresDatabase {
        match Self::try_create().await {
            Ok(db) => db,
            Err(why) => panic!("{why}"),
        }
    }

    /// Like [`PostgresDatabase::create`], but says why instead of panicking (for
    /// benchmarks, which skip PostgreSQL when it cannot be started; tests never do).
    ///
    /// # Errors
    /// Why no database could be created.
    pub async fn try_create() -> Result<PostgresDatabase, String> {
        let admin_url = admin_url()
            .map_err(|why| format!("PostgreSQL for tests is unavailable: {why}"))?
            .to_owned();
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "sb_test_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .map_err(|e| format!("connect to the test PostgreSQL server: {e}"))?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await
            .map_err(|e| format!("create test database {name}: {e}"))?;
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        Ok(PostgresDatabase {
            admin_url,
            name,
            url,
        })
    }

    /// The `postgres://` URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database, disconnecting any session still using it. Worth calling on a
    /// shared server (`SWITCHBOARD_TEST_POSTGRES_URL`); a throwaway cluster is deleted
    /// whole when the test process ends.
    ///
    /// # Panics
    /// When the server refuses.
    pub async fn drop_database(self) {
        let mut admin = PgConnection::connect(&self.admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to the test PostgreSQL server: {e}"));
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            )))
            .await
            .unwrap_or_else(|e| panic!("drop test database {}: {e}", self.name));
        admin.close().await.ok();
    }
}

/// The admin URL of the server to create test databases on.
fn admin_url() -> Result<&'static str, String> {
    static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();
    let server = SERVER.get_or_init(|| match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.is_empty() => Ok(Server::External(url)),
        // The free port may be taken by someone else before the server binds it: retry.
        _ => Cluster::start()
            .or_else(|_| Cluster::start())
            .or_else(|_| Cluster::start())
            .map(Server::Throwaway),
    });
    match server {
        Ok(Server::External(url)) => Ok(url),
        Ok(Server::Throwaway(cluster)) => Ok(&cluster.admin_url),
        Err(why) => Err(why.clone()),
    }
}

#[derive(Debug)]
enum Server {
    External(String),
    Throwaway(Cluster),
}

/// A running throwaway cluster; lives until the process exits (see the module docs).
#[derive(Debug)]
struct Cluster {
    admin_url: String,
    /// Our end of the watchdog's stdin: closing it (at process exit) stops the cluster.
    _lifeline: ChildStdin,
    _watchdog: Child,
}

/// The watchdog: prepares and starts the cluster, then stops it and deletes its directory
/// once stdin reaches EOF (the test process is gone). It does the `initdb` too, so there
/// is no moment when a directory or a server exists without a watchdog responsible for it.
///
/// Arguments: tmp, data, log, bin, as_root (1/0), then the extra `postgres` arguments.
const WATCHDOG: &str = r#"
trap '' INT HUP
tmp=$1; data=$2; log=$3; bin=$4; as_root=$5; shift 5
as_pg() { if [ "$as_root" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
launcher=
if { [ "$as_root" != 1 ] || chown postgres:postgres "$tmp"; } >"$log" 2>&1 &&
   as_pg "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
       >>"$log" 2>&1 </dev/null; then
    as_pg "$bin/postgres" -D "$data" "$@" >>"$log" 2>&1 </dev/null &
    launcher=$!
else
    echo "FATAL: initdb failed" >>"$log"
fi
while read -r _line; do :; done
if [ -n "$launcher" ]; then
    i=0
    while [ ! -s "$data/postmaster.pid" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null)
    if [ -n "$pid" ]; then kill -INT "$pid" 2>/dev/null; else kill -TERM "$launcher" 2>/dev/null; fi
    wait "$launcher"
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
fi
rm -rf "$tmp"
"#;

impl Cluster {
    fn start() -> Result<Cluster, String> {
        let bin = postgres_bin_dir()?;
        let as_root = running_as_root()?;
        let port = free_port()?;
        let tmp = tempfile::Builder::new()
            .prefix("sb-store-pg-")
            .tempdir()
            .map_err(|e| format!("create a temporary directory: {e}"))?
            .keep();
        let data = tmp.join("data");
        let log = tmp.join("postgres.log");
        let mut watchdog = Command::new("sh");
        watchdog
            // The postgres user may not be able to enter our working directory.
            .current_dir(&tmp)
            .arg("-c")
            .arg(WATCHDOG)
            .arg("sb-store-pg-watchdog")
            .arg(&tmp)
            .arg(&data)
            .arg(&log)
            .arg(&bin)
            .arg(if as_root { "1" } else { "0" })
            .arg("-k")
            .arg(&tmp)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut watchdog = match watchdog.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(format!("start the PostgreSQL watchdog (sh): {e}"));
            }
        };
        // Dropping this on an error below closes the pipe: the watchdog cleans up.
        let lifeline = watchdog.stdin.take().expect("stdin was piped");
        wait_until_ready(&bin, port, &log, &mut watchdog)?;
        Ok(Cluster {
            admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
            _lifeline: lifeline,
            _watchdog: watchdog,
        })
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb` and `postgres`.
fn postgres_bin_dir() -> Result<PathBuf, String> {
    const ROOT: &str = "/usr/lib/postgresql";
    let missing = || {
        format!(
            "no PostgreSQL server binaries under {ROOT}/<version>/bin; install the \
             `postgresql` package (apt-get install postgresql) or set {POSTGRES_URL_ENV}"
        )
    };
    let entries = std::fs::read_dir(ROOT).map_err(|_| missing())?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
        .ok_or_else(missing)
}

fn running_as_root() -> Result<bool, String> {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("run `id -u`: {e}"))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim() == "0")
}

/// A port that was free a moment ago on 127.0.0.1.
fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("find a free port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("find a free port: {e}"))
}

/// Polls `pg_isready` until the server accepts connections; fails fast when `initdb`
/// failed or the server shut down (both visible in the log), and after 60 s.
fn wait_until_ready(bin: &Path, port: u16, log: &Path, watchdog: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let port = port.to_string();
    loop {
        let ready = Command::new(bin.join("pg_isready"))
            .args([
                "-q",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-t",
                "2",
            ])
            .stdin(Stdio::null())
            .status()
            .map_err(|e| format!("run pg_isready: {e}"))?;
        if ready.success() {
            return Ok(());
        }
        let log_text = read_log(log);
        // Not "FATAL" alone: connection attempts during start-up log "FATAL: the database
        // system is starting up" while all is well.
        let failed =
            log_text.contains("initdb failed") || log_text.contains("database system is shut down");
        let watchdog_gone = matches!(watchdog.try_wait(), Ok(Some(_)));
        if failed || watchdog_gone || Instant::now() > deadline {
            return Err(format!("PostgreSQL did not start; its log:\n{log_text}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_log(log: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(log) {
        let _ = file.read_to_string(&mut text);
    }
    text
}

/// Replaces the database name in a `postgres://` URL, keeping its query parameters.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced_and_parameters_kept() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5432/postgres", "t1"),
            "postgres://u:p@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://db.example.com?sslmode=disable", "t2"),
            "postgresql://db.example.com/t2?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://db.example.com/x/y?a=1&b=2", "t3"),
            "postgres://db.example.com/t3?a=1&b=2"
        );
    }

    #[test]
    fn sqlite_database_url_points_into_its_directory() {
        let db = SqliteDatabase::new();
        assert!(db.url().starts_with("sqlite://"));
        assert!(db.url().ends_with("switchboard.db"));
        assert!(db.dir().is_dir());
    }
}
