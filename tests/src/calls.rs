//! Call-test support: users added with the command line, a server that phones
//! (baresip) can register to, and the call-detail records the server writes.
//!
//! CDRs are read from the server's SQLite file with the `sqlite3` command
//! (Debian package `sqlite3`), read-only, as an operator would.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Server, Sipp, SippRun};

/// The `[auth]` table for servers that baresip 1.0 registers to: libre gives
/// up on a challenge when another challenge header names an algorithm it does
/// not know (SHA-256), so only MD5 is offered.
pub const MD5_ONLY: &str = "[auth]\nalgorithms = [\"MD5\"]\n";

/// Starts a server on loopback that baresip can register to (see [`MD5_ONLY`]).
pub fn start_server_for_phones() -> Server {
    start_server_for_phones_with("")
}

/// [`start_server_for_phones`] with more configuration tables (e.g. `[calls]`).
pub fn start_server_for_phones_with(extra: &str) -> Server {
    Server::start("", &format!("{MD5_ONLY}{extra}"))
}

/// Adds `name@example.test` with `password` through the command line.
pub fn add_user(server: &Server, name: &str, password: &str) {
    server.add_user(name, "example.test", password);
}

/// The binding list the server returns for `user@example.test` (a SIPp
/// binding query over UDP).
pub fn bindings(server: &Server, user: &str, password: &str) -> String {
    let run = Sipp::new("query.xml", server.sip, false)
        .set("user", user)
        .set("domain", "example.test")
        .auth(user, password)
        .run();
    assert!(run.success, "binding query for {user} failed");
    run.messages
}

/// alice (a user of `server`, password `secret`) calls `dialed` with SIPp
/// over UDP (scenario `trunk_caller.xml`) and hangs up once answered.
pub fn call_out(server: &Server, dialed: &str) -> SippRun {
    Sipp::new("trunk_caller.xml", server.sip, false)
        .set("caller", "alice")
        .set("callee", dialed)
        .set("domain", "example.test")
        .auth("alice", "secret")
        .args(&["-auth_uri", &format!("{dialed}@example.test")])
        .run()
}

/// One row of the `cdrs` table (the columns the call tests check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdr {
    /// Call-ID of the caller's leg.
    pub call_id: String,
    /// The calling user.
    pub caller: String,
    /// The called user.
    pub callee: String,
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED` or `CANCELLED`.
    pub disposition: String,
    /// Milliseconds from answer to hang-up (0 when not answered).
    pub billable_ms: i64,
    /// `caller`, `callee` or `system`.
    pub hangup_by: String,
    /// The final SIP status of the call.
    pub sip_status: i64,
}

/// Every CDR in the server's database, oldest first. An empty list when the
/// table is empty (or does not exist yet).
pub fn cdrs(server: &Server) -> Vec<Cdr> {
    let db = server.dir.join("switchboard.db");
    let out = Command::new("sqlite3")
        .arg("-readonly")
        .arg("-json")
        .arg(&db)
        .arg(
            "SELECT call_id, caller, callee, disposition, billable_ms, hangup_by, sip_status \
             FROM cdrs ORDER BY id",
        )
        .output()
        .expect("run sqlite3 (install the Debian package sqlite3)");
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no such table"),
            "sqlite3 on {} failed: {err}",
            db.display()
        );
        return Vec::new();
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Vec::new();
    }
    let rows: Vec<Value> = serde_json::from_str(&text).expect("sqlite3 -json output");
    rows.iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let n = |k: &str| r[k].as_i64().unwrap_or(-1);
            Cdr {
                call_id: s("call_id"),
                caller: s("caller"),
                callee: s("callee"),
                disposition: s("disposition"),
                billable_ms: n("billable_ms"),
                hangup_by: s("hangup_by"),
                sip_status: n("sip_status"),
            }
        })
        .collect()
}

/// Waits until the database holds at least `count` CDRs and returns them;
/// panics after `timeout` with what is there.
pub fn wait_for_cdrs(server: &Server, count: usize, timeout: Duration) -> Vec<Cdr> {
    let deadline = Instant::now() + timeout;
    loop {
        let rows = cdrs(server);
        if rows.len() >= count {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} CDR(s) within {timeout:?}, found {rows:?}"
        );
        // Records are written behind the call; poll the file.
        std::thread::sleep(Duration::from_millis(100));
    }
}
