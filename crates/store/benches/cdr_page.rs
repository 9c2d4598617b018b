//! Reading call-detail records from a table of 1,000,000: one page of 100 per filter the
//! API offers, a page deep behind a cursor, and the per-day summary of one month, on
//! SQLite (a temporary file) and PostgreSQL (`SWITCHBOARD_TEST_POSTGRES_URL` or a
//! throwaway cluster, as the contract tests; skipped with a message when neither works).
//!
//! The rows are built once per database, straight into the table (multi-row inserts in
//! one transaction on SQLite, `COPY` on PostgreSQL), from a fixed seed: one year of calls
//! (2025), 2,000 users calling each other, out through and in from 20 trunks, every
//! disposition, with some users and trunks much busier than others. Before timing, each
//! case prints its plan and fails if the table is scanned. SQLite runs without `ANALYZE`
//! (the store never runs it); PostgreSQL is vacuumed and analysed after the load, as
//! autovacuum would. Indexes are dropped for the load and built after it, which is only
//! a faster way to the same files.

#![expect(
    clippy::print_stdout,
    reason = "the plans and load times are part of the benchmark's report"
)]

use std::hint::black_box;
use std::time::Instant;

use criterion::Criterion;
use criterion::measurement::Measurement;
use sb_store::testing::{CdrStatement, PostgresDatabase, SqliteDatabase, explain_cdr_query};
use sb_store::{CdrOrder, CdrQuery, Disposition, Store, StoreOptions};
use sqlx::Connection;
use tokio::runtime::Runtime;

use crate::cpu_time::{CpuTime, Scope, parent_pid};

#[path = "support/cpu_time.rs"]
mod cpu_time;

const ROWS: usize = 1_000_000;
const USERS: u64 = 2_000;
const TRUNKS: u64 = 20;
/// 2025-01-01T00:00:00Z.
const YEAR_START: i64 = 1_735_689_600_000;
const DAY: i64 = 86_400_000;
const SPAN: i64 = 365 * DAY;
/// Rows per SQLite `INSERT` (16 values each, below SQLite's 32,766 parameters).
const SQLITE_ROWS_PER_STATEMENT: usize = 500;

/// splitmix64: a fixed, fast sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Skewed toward 0: the smaller of two uniform draws.
    fn busy(&mut self, n: u64) -> u64 {
        self.below(n).min(self.below(n))
    }

    fn unit(&mut self) -> f64 {
        // 53 random bits in [0, 1).
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One generated row, in the column order of [`COLUMNS`].
struct Row {
    call_id: String,
    caller: String,
    callee: String,
    dialed: String,
    source_kind: &'static str,
    source_name: String,
    destination_kind: &'static str,
    destination_name: Option<String>,
    start: i64,
    answer: Option<i64>,
    end: i64,
    disposition: &'static str,
    sip_status: i32,
    hangup_by: &'static str,
}

const COLUMNS: &str = "call_id, caller, caller_domain, callee, dialed, source_kind, \
    source_name, destination_kind, destination_name, start_at, answer_at, end_at, \
    disposition, sip_status, hangup_by, node";

fn user(i: u64) -> String {
    format!("u{i:04}")
}

fn trunk(i: u64) -> String {
    format!("trunk-{i:02}")
}

fn row(rng: &mut Rng, i: usize) -> Row {
    let n = i64::try_from(i).expect("fits");
    let slot = SPAN / i64::try_from(ROWS).expect("fits");
    let start = YEAR_START + n * slot + i64::try_from(rng.below(slot as u64)).expect("fits");
    let number = format!("+1555{:07}", rng.below(50_000));
    let (caller, callee, dialed, source, destination) = match rng.below(100) {
        // Internal: user to user.
        0..40 => {
            let a = rng.busy(USERS);
            let b = (a + 1 + rng.below(USERS - 1)) % USERS;
            let b_name = user(b);
            (
                user(a),
                b_name.clone(),
                format!("{}", 1_000 + b),
                ("user", user(a)),
                ("user", Some(b_name)),
            )
        }
        // Outbound: a user through a trunk.
        40..75 => {
            let a = rng.busy(USERS);
            (
                user(a),
                number.clone(),
                format!("9{number}"),
                ("user", user(a)),
                ("trunk", Some(trunk(rng.busy(TRUNKS)))),
            )
        }
        // Inbound: from a trunk to a user.
        _ => {
            let b = rng.busy(USERS);
            (
                number,
                user(b),
                format!("{}", 1_000 + b),
                ("trunk", trunk(rng.busy(TRUNKS))),
                ("user", Some(user(b))),
            )
        }
    };
    let ring = i64::try_from(rng.below(30_000)).expect("fits");
    let (disposition, sip_status) = match rng.below(100) {
        0..60 => ("ANSWERED", 200),
        60..75 => ("NO ANSWER", 480),
        75..83 => ("BUSY", 486),
        83..93 => ("FAILED", if rng.below(2) == 0 { 503 } else { 404 }),
        _ => ("CANCELLED", 487),
    };
    let (answer, end) = if disposition == "ANSWERED" {
        // Talk time: exponential with a mean of three minutes, at most two hours.
        let talk = (-(1.0 - rng.unit()).ln() * 180_000.0).min(7_200_000.0) as i64;
        (Some(start + ring), start + ring + talk)
    } else {
        (None, start + ring)
    };
    let (destination_kind, destination_name) = if disposition == "FAILED" && sip_status == 404 {
        ("none", None)
    } else {
        destination
    };
    Row {
        call_id: format!("{i:08x}-{:08x}@192.0.2.10", rng.next() as u32),
        caller,
        callee,
        dialed,
        source_kind: source.0,
        source_name: source.1,
        destination_kind,
        destination_name,
        start,
        answer,
        end,
        disposition,
        sip_status,
        hangup_by: ["caller", "callee", "system"][usize::try_from(rng.below(3)).expect("small")],
    }
}

fn rows() -> impl Iterator<Item = Row> {
    let mut rng = Rng(0x5b_2c_4f_0e);
    (0..ROWS).map(move |i| row(&mut rng, i))
}

async fn fill_sqlite(url: &str) {
    let mut conn = sqlx::SqliteConnection::connect(url).await.expect("connect");
    // Loading only: a big page cache (the indexes are written in random order) and no
    // syncs; the timed reads use the store's own settings.
    for pragma in ["PRAGMA cache_size = -1048576", "PRAGMA synchronous = OFF"] {
        sqlx::query(pragma)
            .execute(&mut conn)
            .await
            .expect("pragma");
    }
    let mut sql = format!("INSERT INTO cdrs ({COLUMNS}) VALUES ");
    let one = "(?, ?, 'example.com', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)";
    sql.push_str(&vec![one; SQLITE_ROWS_PER_STATEMENT].join(", "));
    // Indexes are built after the load (one sort each instead of a million random inserts).
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = 'cdrs' AND sql IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    let mut tx = conn.begin().await.expect("begin");
    for (name, _) in &indexes {
        let drop = format!("DROP INDEX {name}");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut *tx)
            .await
            .expect("drop index");
    }
    let mut batch = Vec::with_capacity(SQLITE_ROWS_PER_STATEMENT);
    for r in rows() {
        batch.push(r);
        if batch.len() < SQLITE_ROWS_PER_STATEMENT {
            continue;
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()));
        for r in batch.drain(..) {
            query = query
                .bind(r.call_id)
                .bind(r.caller)
                .bind(r.callee)
                .bind(r.dialed)
                .bind(r.source_kind)
                .bind(r.source_name)
                .bind(r.destination_kind)
                .bind(r.destination_name)
                .bind(r.start)
                .bind(r.answer)
                .bind(r.end)
                .bind(r.disposition)
                .bind(r.sip_status)
                .bind(r.hangup_by);
        }
        query.execute(&mut *tx).await.expect("insert");
    }
    assert!(batch.is_empty(), "ROWS is a multiple of the statement size");
    for (_, create) in indexes {
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut *tx)
            .await
            .expect("index");
    }
    tx.commit().await.expect("commit");
    // Reads then find the pages in the database file, as in a long-running system.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
    conn.close().await.expect("close");
}

async fn fill_postgres(url: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    // Indexes are built after the load (one sort each instead of a million inserts).
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "SELECT indexname, indexdef FROM pg_indexes \
         WHERE tablename = 'cdrs' AND indexname <> 'cdrs_pkey'",
    )
    .fetch_all(&mut conn)
    .await
    .expect("indexes");
    for (name, _) in &indexes {
        let drop = format!("DROP INDEX {name}");
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&mut conn)
            .await
            .expect("drop index");
    }
    let copy = format!("COPY cdrs ({COLUMNS}) FROM STDIN (FORMAT text)");
    let mut copy = conn.copy_in_raw(&copy).await.expect("copy");
    let mut buf = String::with_capacity(4 << 20);
    let opt = |v: Option<String>| v.unwrap_or_else(|| "\\N".to_owned());
    for r in rows() {
        use std::fmt::Write as _;
        writeln!(
            buf,
            "{}\t{}\texample.com\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t\\N",
            r.call_id,
            r.caller,
            r.callee,
            r.dialed,
            r.source_kind,
            r.source_name,
            r.destination_kind,
            opt(r.destination_name),
            r.start,
            opt(r.answer.map(|a| a.to_string())),
            r.end,
            r.disposition,
            r.sip_status,
            r.hangup_by,
        )
        .expect("writing to a String");
        if buf.len() > 4 << 20 {
            copy.send(std::mem::take(&mut buf).into_bytes())
                .await
                .expect("copy data");
        }
    }
    copy.send(buf.into_bytes()).await.expect("copy data");
    copy.finish().await.expect("copy finish");
    for (_, create) in indexes {
        sqlx::query(sqlx::AssertSqlSafe(create))
            .execute(&mut conn)
            .await
            .expect("index");
    }
    // What autovacuum does to an insert-only table soon after: statistics and the
    // visibility map.
    sqlx::query("VACUUM ANALYZE cdrs")
        .execute(&mut conn)
        .await
        .expect("vacuum");
    conn.close().await.expect("close");
}

/// A timed case: name, query and, for the daily summary, its UTC offset in minutes.
type Case = (&'static str, CdrQuery, Option<i32>);

/// The timed cases.
async fn cases(store: &Store) -> Vec<Case> {
    let text = |s: String| Some(s);
    let page = CdrQuery {
        limit: 100,
        ..CdrQuery::default()
    };
    let mid_year = YEAR_START + 180 * DAY;
    // A cursor 60% of the way back from the newest record.
    let deep = store
        .query_cdrs(&CdrQuery {
            from_unix_ms: Some(YEAR_START + SPAN * 2 / 5),
            order: CdrOrder::OldestFirst,
            limit: 1,
            ..CdrQuery::default()
        })
        .await
        .expect("cursor")[0]
        .cursor();
    // The busiest user's 1,000th call, newest first (of about 1,400).
    let busy = CdrQuery {
        party: text(user(0)),
        limit: 1_000,
        ..CdrQuery::default()
    };
    let busy_deep = store.query_cdrs(&busy).await.expect("page")[999].cursor();
    vec![
        ("newest_page", page.clone(), None),
        (
            "by_caller",
            CdrQuery {
                caller: text(user(42)),
                ..page.clone()
            },
            None,
        ),
        (
            "by_party",
            CdrQuery {
                party: text(user(42)),
                ..page.clone()
            },
            None,
        ),
        (
            "by_trunk_one_week",
            CdrQuery {
                trunk: text(trunk(3)),
                from_unix_ms: Some(mid_year),
                to_unix_ms: Some(mid_year + 7 * DAY),
                ..page.clone()
            },
            None,
        ),
        (
            "by_trunk_oldest_first",
            CdrQuery {
                trunk: text(trunk(3)),
                order: CdrOrder::OldestFirst,
                ..page.clone()
            },
            None,
        ),
        (
            "answered_min_5min",
            CdrQuery {
                disposition: Some(Disposition::Answered),
                min_billable_ms: Some(300_000),
                ..page.clone()
            },
            None,
        ),
        (
            "deep_cursor",
            CdrQuery {
                after: Some(deep),
                ..page.clone()
            },
            None,
        ),
        (
            "deep_cursor_by_party",
            CdrQuery {
                party: text(user(0)),
                after: Some(busy_deep),
                ..page.clone()
            },
            None,
        ),
        (
            "daily_summary_one_month",
            CdrQuery {
                from_unix_ms: Some(mid_year),
                to_unix_ms: Some(mid_year + 30 * DAY),
                ..CdrQuery::default()
            },
            Some(120),
        ),
    ]
}

/// Prints each case's plan and first result, and fails on a table scan.
async fn check_cases(store: &Store, backend: &str, cases: &[Case]) {
    for (name, query, offset) in cases {
        let statement = if offset.is_some() {
            CdrStatement::DailySummary
        } else {
            CdrStatement::Page
        };
        let plan = explain_cdr_query(store, query, statement, false)
            .await
            .expect("plan");
        let started = Instant::now();
        let found = match offset {
            Some(offset) => store
                .cdr_daily_summary(query, *offset)
                .await
                .expect("summary")
                .len(),
            None => store.query_cdrs(query).await.expect("page").len(),
        };
        println!(
            "{backend}/{name}: {found} {} (first run {:.2?}); plan:\n  {}",
            if offset.is_some() { "days" } else { "records" },
            started.elapsed(),
            plan.replace('\n', "\n  ")
        );
        let scans_table = plan.lines().any(|l| {
            (l.starts_with("SCAN cdrs") && !l.contains("USING")) || l.contains("Seq Scan")
        });
        assert!(!scans_table, "{backend}/{name} scans the table:\n{plan}");
        assert!(found > 0, "{backend}/{name} finds something");
    }
}

fn run_cases<M: Measurement>(
    c: &mut Criterion<M>,
    rt: &Runtime,
    store: &Store,
    id: &str,
    cases: &[Case],
) {
    let mut group = c.benchmark_group(format!("cdr_page/{id}"));
    group.sample_size(30);
    for (name, query, offset) in cases {
        group.bench_function(*name, |b| match offset {
            Some(offset) => b.iter(|| {
                rt.block_on(store.cdr_daily_summary(black_box(query), *offset))
                    .expect("summary")
            }),
            None => b.iter(|| {
                rt.block_on(store.query_cdrs(black_box(query)))
                    .expect("page")
            }),
        });
    }
    group.finish();
}

/// Opens a filled database and times every case in wall time and in CPU time of this
/// process (the async side plus SQLite's worker thread) and, for a local PostgreSQL, of
/// its server processes.
fn bench_backend(
    wall: &mut Criterion,
    cpu: &mut Criterion<CpuTime>,
    rt: &Runtime,
    backend: &str,
    url: &str,
) {
    let store = rt.block_on(async {
        let store = Store::connect(url, StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    });
    let cases = rt.block_on(cases(&store));
    rt.block_on(check_cases(&store, backend, &cases));
    run_cases(wall, rt, &store, backend, &cases);
    run_cases(
        cpu,
        rt,
        &store,
        &format!("{backend}/cpu/this_process"),
        &cases,
    );
    if backend == "postgres"
        && let Some(postmaster) = rt.block_on(local_postmaster(url))
    {
        let mut server = Criterion::default()
            .with_measurement(CpuTime(Scope::Cluster(postmaster)))
            .configure_from_args();
        let id = format!("{backend}/cpu/postgres_server");
        run_cases(&mut server, rt, &store, &id, &cases);
        server.final_summary();
    }
    rt.block_on(store.close());
}

/// The pid of the postmaster serving `url`, when it runs on this machine.
async fn local_postmaster(url: &str) -> Option<u32> {
    let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await
        .expect("backend pid");
    // A remote server's pid means nothing here: check it is a postgres process.
    let pid = u32::try_from(backend).ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let postmaster = parent_pid(pid).filter(|_| comm.starts_with("postgres"));
    conn.close().await.ok();
    postmaster
}

fn main() {
    let mut wall = Criterion::default().configure_from_args();
    let mut cpu = Criterion::default()
        .with_measurement(CpuTime(Scope::ThisProcess))
        .configure_from_args();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let sqlite = SqliteDatabase::new();
    rt.block_on(async {
        let store = Store::connect(sqlite.url(), StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store.close().await;
        let started = Instant::now();
        fill_sqlite(sqlite.url()).await;
        println!(
            "sqlite: {ROWS} records written in {:.1?}",
            started.elapsed()
        );
    });
    bench_backend(&mut wall, &mut cpu, &rt, "sqlite", sqlite.url());

    match rt.block_on(PostgresDatabase::try_create()) {
        Ok(db) => {
            rt.block_on(async {
                let store = Store::connect(db.url(), StoreOptions::default())
                    .await
                    .expect("connect");
                store.migrate().await.expect("migrate");
                store.close().await;
                let started = Instant::now();
                fill_postgres(db.url()).await;
                println!(
                    "postgres: {ROWS} records written in {:.1?}",
                    started.elapsed()
                );
            });
            bench_backend(&mut wall, &mut cpu, &rt, "postgres", db.url());
            rt.block_on(db.drop_database());
        }
        Err(why) => println!("skipping PostgreSQL: {why}"),
    }
    cpu.final_summary();
    wall.final_summary();
}
