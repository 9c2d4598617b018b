//! The web console in a real browser: headless Chromium, driven by
//! `tests/browser/console.mjs` (playwright-core), against the real binary.
//! An administrator created with the command line signs in, adds a user
//! (checked through the API), saves a broken dialplan and sees the error at its
//! line, saves a valid one, searches call records and downloads them as CSV;
//! then a SIP user signs in and sees only their own calls and registrations.
//!
//! Call records are seeded by writing rows with `sqlite3` into the migrated
//! database before the server starts: the console only reads them, and rows
//! with fixed times make the expected pages and days exact.
//!
//! Needs `node`, `npm` and `/usr/bin/chromium` (Debian packages `nodejs`,
//! `npm`, `chromium`; the test command installs them) and the npm registry
//! for `npm ci` the first time (skipped while `node_modules` matches the lock).

#![allow(clippy::print_stderr)]

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sb_e2e::{Server, browser, config_text, free_port, run_cli, switchboard_bin};

/// The dialplan the server starts with (the console replaces it).
const PLAN: &str = r#"[[context]]
name = "internal"

[[context.rule]]
name = "four digits"
to = "_1XXX"
actions = [{ ring_user = "${to}" }]
"#;

/// The administrator the console signs in as.
const ADMIN: &str = "console-admin";
const ADMIN_PASSWORD: &str = "console-admin-secret";
/// The SIP user who signs in to see their own calls.
const ALICE_PASSWORD: &str = "alice-console-secret";

/// Bound on the whole browser run.
const BROWSER_RUN: Duration = Duration::from_secs(180);

/// 2026-01-10T09:00:00Z.
const BASE_MS: i64 = 1_768_035_600_000;
const HOUR_MS: i64 = 3_600_000;

/// One seeded call record.
#[derive(Debug)]
struct Seeded {
    call_id: String,
    caller: &'static str,
    callee: &'static str,
    start_ms: i64,
}

/// Call records: 12 calls by alice to bob (every 7 hours, so they span four
/// days) and 3 calls by dave (the first to alice,
/// which a caller filter must leave out and alice's own view must show).
fn seed() -> Vec<Seeded> {
    let alice = (0..12).map(|i| Seeded {
        call_id: format!("console-alice-{i}@example.test"),
        caller: "alice",
        callee: "bob",
        start_ms: BASE_MS + i * 7 * HOUR_MS,
    });
    let dave = (0..3).map(|i| Seeded {
        call_id: format!("console-dave-{i}@example.test"),
        caller: "dave",
        callee: if i == 0 { "alice" } else { "bob" },
        start_ms: BASE_MS + i * 11 * HOUR_MS + HOUR_MS,
    });
    alice.chain(dave).collect()
}

/// The INSERT statements for `rows` (every fourth record unanswered).
fn seed_sql(rows: &[Seeded]) -> String {
    let mut sql = String::from("BEGIN;\n");
    for (i, r) in rows.iter().enumerate() {
        let start = r.start_ms;
        let (answer, end, disposition, status, by) = if i % 4 == 3 {
            (
                "NULL".to_owned(),
                start + 20_000,
                "NO ANSWER",
                480,
                "system",
            )
        } else {
            let answer = start + 2_000;
            let end = answer + 45_000;
            (answer.to_string(), end, "ANSWERED", 200, "caller")
        };
        let (id, caller, callee) = (&r.call_id, r.caller, r.callee);
        sql.push_str(&format!(
            "INSERT INTO cdrs (call_id, caller, caller_domain, callee, dialed, source_kind, \
             source_name, destination_kind, destination_name, start_at, answer_at, end_at, \
             disposition, sip_status, hangup_by) VALUES ('{id}', '{caller}', \
             'example.test', '{callee}', '{callee}', 'user', '{caller}', 'user', '{callee}', \
             {start}, {answer}, {end}, '{disposition}', {status}, '{by}');\n"
        ));
    }
    sql.push_str("COMMIT;\n");
    sql
}

/// The Call-IDs of the records `pick` selects, newest first.
fn newest_first(rows: &[Seeded], pick: impl Fn(&Seeded) -> bool) -> Vec<String> {
    let mut picked: Vec<&Seeded> = rows.iter().filter(|r| pick(r)).collect();
    picked.sort_by_key(|r| std::cmp::Reverse(r.start_ms));
    picked.into_iter().map(|r| r.call_id.clone()).collect()
}

/// `switchboard admin add NAME --password-stdin`.
fn add_admin(config: &Path) {
    use std::io::Write;
    let mut child = Command::new(switchboard_bin())
        .arg("--config")
        .arg(config)
        .args(["admin", "add", ADMIN, "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run switchboard admin add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{ADMIN_PASSWORD}\n").as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("wait for admin add");
    assert!(
        out.status.success(),
        "admin add failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs the browser script to completion (killed after [`BROWSER_RUN`]) and
/// returns whether it passed and what it printed.
fn run_console_script(base: &str, rows: &[Seeded], dir: &Path) -> (bool, String) {
    // A screenshot and the page's HTML land here when a check fails.
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).expect("artifacts directory");
    let log_path = dir.join("console-run.log");
    let log = File::create(&log_path).expect("log file");
    let mut child = Command::new("node")
        .arg("console.mjs")
        .current_dir(browser::dir())
        .env("SB_CONSOLE_URL", base)
        .env("SB_ADMIN_NAME", ADMIN)
        .env("SB_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("SB_DIALPLAN", "main")
        .env("SB_CDR_CALLER", "alice")
        .env(
            "SB_CDR_CALL_IDS",
            newest_first(rows, |r| r.caller == "alice").join(","),
        )
        .env("SB_USER", "alice@example.test")
        .env("SB_USER_PASSWORD", ALICE_PASSWORD)
        .env(
            "SB_USER_CALL_IDS",
            newest_first(rows, |r| r.caller == "alice" || r.callee == "alice").join(","),
        )
        .env("SB_ARTIFACTS", &artifacts)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .expect("run node");
    let status = browser::wait_or_stop(&mut child, BROWSER_RUN);
    let mut output = std::fs::read_to_string(&log_path).unwrap_or_default();
    if status.is_none() {
        output.push_str(&format!(
            "\n(the browser run did not finish within {BROWSER_RUN:?})"
        ));
    }
    (status.is_some_and(|s| s.success()), output)
}

#[test]
fn an_administrator_works_through_the_web_console() {
    browser::require_tools();
    browser::install_packages("playwright-core");

    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    let plans = dir.join("plans");
    std::fs::create_dir_all(&plans).expect("plans directory");
    std::fs::write(plans.join("main.toml"), PLAN).expect("write the dialplan");
    let config = dir.join("switchboard.toml");
    let extra = format!("[dialplan]\ndir = \"{}\"\n", plans.display());
    std::fs::write(&config, config_text(dir, free_port(), "", &extra)).expect("write config");

    let out = run_cli(&config, &["migrate"]);
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = seed();
    let out = Command::new("sqlite3")
        .arg(dir.join("switchboard.db"))
        .arg(seed_sql(&rows))
        .output()
        .expect("run sqlite3 (install the Debian package sqlite3)");
    assert!(
        out.status.success(),
        "seeding call records: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    add_admin(&config);
    let out = run_cli(
        &config,
        &[
            "user",
            "add",
            "alice",
            "--domain",
            "example.test",
            "--password",
            ALICE_PASSWORD,
        ],
    );
    assert!(
        out.status.success(),
        "user add alice: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let server = Server::start_in(dir);
    let base = server
        .http
        .clone()
        .expect("the server prints the console's URL when it is ready");
    let (passed, output) = run_console_script(&base, &rows, dir);
    eprintln!("--- console.mjs ---\n{output}");
    server.stop();
    assert!(passed, "the console run failed:\n{output}");
    assert!(output.contains("every check passed"), "{output}");
}
