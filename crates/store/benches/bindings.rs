//! Cost of one write-behind batch of 1,000 binding changes, and of one credentials lookup,
//! on each backend.
//!
//! Every batch is measured twice: in wall time, and in CPU time (user + system, every
//! thread) of the processes doing the work, read from `/proc/<pid>/task/<tid>/schedstat`.
//! The machine running benchmarks is often busy, which inflates wall time but not CPU time;
//! CPU time is also what the batch takes away from the rest of the server:
//! - `…/cpu/this_process`: this process (the async side plus the SQLite worker thread);
//! - `…/cpu/postgres_server`: every process of the PostgreSQL cluster (backend, WAL
//!   writer…), measured when the server runs on this machine.
//!
//! Batches:
//! - `1000_upserts`: every change overwrites an existing row, like a server refreshing
//!   re-REGISTERs (two batches over the same keys alternate);
//! - `1000_mixed`: one change in ten removes a binding and the next batch inserts it again,
//!   the other nine overwrite.
//!
//! SQLite is a temporary file with the default options (WAL, `synchronous = FULL`), then
//! the same with `synchronous = NORMAL` (no fsync per commit).
//! PostgreSQL is `SWITCHBOARD_TEST_POSTGRES_URL` or the throwaway test cluster, which runs
//! with `fsync=off`: its figure is CPU and round trips, not disk flushes.
//!
//! `cargo bench -p sb-store --bench bindings -- cpu` runs the CPU-time measurements only.

use std::hint::black_box;

use criterion::measurement::Measurement;
use criterion::{BenchmarkGroup, Criterion};
use sb_store::testing::{PostgresDatabase, SqliteDatabase};
use sb_store::{
    BindingChange, BindingRecord, Ha1Md5, Ha1Sha256, NewUser, Store, StoreOptions, Synchronous,
};
use sqlx::Connection;
use tokio::runtime::Runtime;

use crate::cpu_time::{CpuTime, Scope, parent_pid};

#[path = "support/cpu_time.rs"]
mod cpu_time;

const NOW: i64 = 1_700_000_000_000;
const BATCH: usize = 1_000;

fn record(i: usize, round: u64) -> BindingRecord {
    BindingRecord {
        aor: format!("sip:user{i:04}@example.com"),
        binding_id: "b0".to_owned(),
        contact: format!("<sip:user{i:04}@192.0.2.10:{};transport=udp>", 5060 + i),
        instance: Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".to_owned()),
        reg_id: Some(1),
        q: None,
        call_id: format!("{i}-call@192.0.2.10"),
        cseq: u32::try_from(round % 1_000_000).expect("small"),
        expires_at_unix_ms: NOW + 3_600_000 + i64::try_from(round).expect("small"),
        transport: "udp".to_owned(),
        source: format!("192.0.2.10:{}", 5060 + i),
        local: "192.0.2.1:5060".to_owned(),
        user_agent: Some("Example Phone 1.0".to_owned()),
        path: None,
        node: None,
        updated_at_unix_ms: NOW,
    }
}

fn upserts(round: u64) -> Vec<BindingChange> {
    (0..BATCH)
        .map(|i| BindingChange::Upsert(record(i, round)))
        .collect()
}

/// One change in ten is a removal; which ones depends on `round`.
fn mixed(round: u64) -> Vec<BindingChange> {
    (0..BATCH)
        .map(|i| {
            if (i as u64 + round).is_multiple_of(10) {
                BindingChange::Remove {
                    aor: format!("sip:user{i:04}@example.com"),
                    binding_id: "b0".to_owned(),
                }
            } else {
                BindingChange::Upsert(record(i, round))
            }
        })
        .collect()
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

async fn open(url: &str, options: StoreOptions) -> Store {
    let store = Store::connect(url, options).await.expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// Two alternating batches over the same keys, after the first one was applied once.
fn bench_batches<M: Measurement>(
    group: &mut BenchmarkGroup<'_, M>,
    rt: &Runtime,
    store: &Store,
    id: &str,
) {
    for (kind, batches) in [
        ("1000_upserts", [upserts(1), upserts(2)]),
        ("1000_mixed", [mixed(1), mixed(2)]),
    ] {
        rt.block_on(store.apply_binding_changes(&batches[0]))
            .expect("initial batch");
        let mut round = 0usize;
        group.bench_function(format!("{id}/{kind}"), |b| {
            b.iter(|| {
                round += 1;
                rt.block_on(store.apply_binding_changes(black_box(&batches[round % 2])))
                    .expect("batch");
            });
        });
    }
}

fn bench_backend(
    wall: &mut Criterion,
    cpu: &mut Criterion<CpuTime>,
    rt: &Runtime,
    name: &str,
    url: &str,
    options: StoreOptions,
) {
    let store = rt.block_on(open(url, options));
    let mut group = wall.benchmark_group("apply_binding_changes");
    group.sample_size(20);
    bench_batches(&mut group, rt, &store, name);
    group.finish();

    let mut group = cpu.benchmark_group("apply_binding_changes");
    group.sample_size(20);
    bench_batches(&mut group, rt, &store, &format!("{name}/cpu/this_process"));
    group.finish();

    rt.block_on(store.create_user(&NewUser {
        username: "alice".to_owned(),
        domain: "example.com".to_owned(),
        display_name: None,
        ha1_md5: Ha1Md5::from_hex(&"1".repeat(32)).expect("hex"),
        ha1_sha256: Ha1Sha256::from_hex(&"2".repeat(64)).expect("hex"),
        enabled: true,
        extension: None,
        context: None,
        groups: Vec::new(),
        call_allow: Vec::new(),
        call_deny: Vec::new(),
    }))
    .ok();
    wall.bench_function(&format!("credentials/{name}"), |b| {
        b.iter(|| {
            rt.block_on(store.credentials(black_box("alice"), black_box("example.com")))
                .expect("lookup")
                .expect("exists")
        });
    });
    rt.block_on(store.close());
}

fn main() {
    let mut wall = Criterion::default().configure_from_args();
    let mut cpu = Criterion::default()
        .with_measurement(CpuTime(Scope::ThisProcess))
        .configure_from_args();
    let rt = Runtime::new().expect("tokio runtime");

    let sqlite = SqliteDatabase::new();
    let full = StoreOptions::default();
    bench_backend(&mut wall, &mut cpu, &rt, "sqlite", sqlite.url(), full);
    let normal = StoreOptions {
        sqlite_synchronous: Synchronous::Normal,
        ..StoreOptions::default()
    };
    let name = "sqlite_sync_normal";
    bench_backend(&mut wall, &mut cpu, &rt, name, sqlite.url(), normal);

    let postgres = rt.block_on(PostgresDatabase::create());
    let url = postgres.url();
    bench_backend(
        &mut wall,
        &mut cpu,
        &rt,
        "postgres",
        url,
        StoreOptions::default(),
    );
    if let Some(postmaster) = rt.block_on(local_postmaster(url)) {
        let mut server = Criterion::default()
            .with_measurement(CpuTime(Scope::Cluster(postmaster)))
            .configure_from_args();
        let store = rt.block_on(open(url, StoreOptions::default()));
        let mut group = server.benchmark_group("apply_binding_changes");
        group.sample_size(20);
        bench_batches(&mut group, &rt, &store, "postgres/cpu/postgres_server");
        group.finish();
        rt.block_on(store.close());
        server.final_summary();
    }
    rt.block_on(postgres.drop_database());

    cpu.final_summary();
    wall.final_summary();
}
