//! Cost of writing call-detail records on SQLite: one record ([`Store::insert_cdr`], one
//! commit per call) and a batch of 100 ([`Store::insert_cdrs`], one transaction), and of
//! reading one newest-first page of 100 from the table those runs filled.
//!
//! The table holds [`PREFILL`] records (500 callers) before the first case and grows by
//! what the cases insert, so the figures include a realistic index depth and pages that
//! are not all in SQLite's cache. SQLite is a temporary file with the default options (WAL, `synchronous = FULL`: one
//! WAL sync per commit), then the same file with `synchronous = NORMAL` (no sync per
//! commit). Each case is measured in wall time (what the caller waits, including the
//! sync) and in CPU time of this process (the async side plus SQLite's worker thread;
//! see `support/cpu_time.rs`).
//!
//! `cargo bench -p sb-store --bench cdrs -- cpu` runs the CPU-time measurements only.

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion};
use sb_store::testing::SqliteDatabase;
use sb_store::{
    CdrDestination, CdrQuery, CdrSource, Disposition, HangupBy, NewCdr, Store, StoreOptions,
    Synchronous,
};
use tokio::runtime::Runtime;

use crate::cpu_time::{CpuTime, Scope};

#[expect(
    dead_code,
    reason = "the PostgreSQL cluster scope is for the bindings benchmark"
)]
#[path = "support/cpu_time.rs"]
mod cpu_time;

const NOW: i64 = 1_700_000_000_000;
const BATCH: usize = 100;
/// Records written before measuring.
const PREFILL: usize = 100_000;

/// A realistic answered call between two users, varied by `i`.
fn record(i: usize) -> NewCdr {
    let n = i64::try_from(i).expect("small");
    let start = NOW + n * 1_000;
    NewCdr {
        call_id: format!("{i:08x}-5b2c-4f0e@192.0.2.10"),
        caller: format!("user{:03}", i % 500),
        caller_domain: "example.com".to_owned(),
        callee: format!("user{:03}", (i + 1) % 500),
        dialed: format!("{}", 1_000 + (i + 1) % 500),
        source: CdrSource::User(format!("user{:03}", i % 500)),
        destination: CdrDestination::User(format!("user{:03}", (i + 1) % 500)),
        start_unix_ms: start,
        answer_unix_ms: Some(start + 3_200),
        end_unix_ms: start + 3_200 + 95_000,
        disposition: Disposition::Answered,
        sip_status: 200,
        hangup_by: HangupBy::Caller,
        node: None,
        end_reason: None,
        media: None,
    }
}

fn bench_cases<M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    rt: &Runtime,
    store: &Store,
    id: &str,
) {
    let single = record(7);
    group.bench_function(format!("{id}/insert_cdr"), |b| {
        b.iter(|| {
            rt.block_on(store.insert_cdr(black_box(&single)))
                .expect("insert")
        });
    });
    let batch: Vec<NewCdr> = (0..BATCH).map(record).collect();
    group.bench_function(format!("{id}/insert_cdrs_100"), |b| {
        b.iter(|| {
            rt.block_on(store.insert_cdrs(black_box(&batch)))
                .expect("batch")
        });
    });
    let page = CdrQuery {
        caller: Some("user042".to_owned()),
        limit: 100,
        ..CdrQuery::default()
    };
    group.bench_function(format!("{id}/query_cdrs_page_100_by_caller"), |b| {
        b.iter(|| {
            rt.block_on(store.query_cdrs(black_box(&page)))
                .expect("page")
        });
    });
}

fn bench_store(
    wall: &mut Criterion,
    cpu: &mut Criterion<CpuTime>,
    rt: &Runtime,
    name: &str,
    url: &str,
    options: StoreOptions,
) {
    let store = rt.block_on(async {
        let store = Store::connect(url, options).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    });
    let mut group = wall.benchmark_group("cdrs");
    group.sample_size(20);
    bench_cases(&mut group, rt, &store, name);
    group.finish();

    let mut group = cpu.benchmark_group("cdrs");
    group.sample_size(20);
    bench_cases(&mut group, rt, &store, &format!("{name}/cpu/this_process"));
    group.finish();
    rt.block_on(store.close());
}

fn main() {
    let mut wall = Criterion::default().configure_from_args();
    let mut cpu = Criterion::default()
        .with_measurement(CpuTime(Scope::ThisProcess))
        .configure_from_args();
    let rt = Runtime::new().expect("tokio runtime");

    let sqlite = SqliteDatabase::new();
    rt.block_on(async {
        let store = Store::connect(sqlite.url(), StoreOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        let records: Vec<NewCdr> = (0..PREFILL).map(record).collect();
        for chunk in records.chunks(1_000) {
            store.insert_cdrs(chunk).await.expect("prefill");
        }
        store.close().await;
    });
    let full = StoreOptions::default();
    bench_store(&mut wall, &mut cpu, &rt, "sqlite", sqlite.url(), full);
    let normal = StoreOptions {
        sqlite_synchronous: Synchronous::Normal,
        ..StoreOptions::default()
    };
    let name = "sqlite_sync_normal";
    bench_store(&mut wall, &mut cpu, &rt, name, sqlite.url(), normal);

    cpu.final_summary();
    wall.final_summary();
}
