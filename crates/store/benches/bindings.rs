//! Cost of one write-behind batch of 1,000 binding upserts, and of one credentials
//! lookup, on each backend.
//!
//! SQLite is a temporary file with the default options (WAL, `synchronous = FULL`), then
//! the same with `synchronous = NORMAL` (no fsync per commit).
//! PostgreSQL is `SWITCHBOARD_TEST_POSTGRES_URL` or the throwaway test cluster, which runs
//! with `fsync=off`: its figure is CPU and round trips, not disk flushes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sb_store::testing::{PostgresDatabase, SqliteDatabase};
use sb_store::{
    BindingChange, BindingRecord, Ha1Md5, Ha1Sha256, NewUser, Store, StoreOptions, Synchronous,
};
use tokio::runtime::Runtime;

const NOW: i64 = 1_700_000_000_000;
const BATCH: usize = 1_000;

fn batch(round: u64) -> Vec<BindingChange> {
    (0..BATCH)
        .map(|i| {
            BindingChange::Upsert(BindingRecord {
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
            })
        })
        .collect()
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, name: &str, url: &str, options: StoreOptions) {
    let store: Store = rt.block_on(async {
        let store = Store::connect(url, options).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    });
    // Two alternating batches over the same keys: every iteration overwrites 1,000 rows,
    // like a server refreshing re-REGISTERs.
    let batches = [batch(1), batch(2)];
    rt.block_on(store.apply_binding_changes(&batches[0]))
        .expect("initial insert");
    let mut group = c.benchmark_group("apply_binding_changes");
    group.sample_size(20);
    let mut round = 0usize;
    group.bench_function(format!("{name}/1000_upserts"), |b| {
        b.iter(|| {
            round += 1;
            rt.block_on(store.apply_binding_changes(black_box(&batches[round % 2])))
                .expect("batch");
        });
    });
    group.finish();

    rt.block_on(store.create_user(&NewUser {
        username: "alice".to_owned(),
        domain: "example.com".to_owned(),
        display_name: None,
        ha1_md5: Ha1Md5::from_hex(&"1".repeat(32)).expect("hex"),
        ha1_sha256: Ha1Sha256::from_hex(&"2".repeat(64)).expect("hex"),
        enabled: true,
    }))
    .ok();
    c.bench_function(&format!("credentials/{name}"), |b| {
        b.iter(|| {
            rt.block_on(store.credentials(black_box("alice"), black_box("example.com")))
                .expect("lookup")
                .expect("exists")
        });
    });
    rt.block_on(store.close());
}

fn bindings(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let sqlite = SqliteDatabase::new();
    bench_backend(c, &rt, "sqlite", sqlite.url(), StoreOptions::default());
    let normal = StoreOptions {
        sqlite_synchronous: Synchronous::Normal,
        ..StoreOptions::default()
    };
    bench_backend(c, &rt, "sqlite_sync_normal", sqlite.url(), normal);
    let postgres = rt.block_on(PostgresDatabase::create());
    bench_backend(c, &rt, "postgres", postgres.url(), StoreOptions::default());
    rt.block_on(postgres.drop_database());
}

criterion_group!(benches, bindings);
criterion_main!(benches);
