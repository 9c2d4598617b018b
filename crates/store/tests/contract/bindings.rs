//! Registration bindings: batches, atomicity, expiry.

use std::collections::BTreeMap;

use sb_store::testing::BINDING_CHUNK_ROWS;
use sb_store::{BindingChange, BindingRecord, StoreError};

use crate::{Harness, NOW, binding, keys};

pub(crate) async fn binding_batch_upsert_overwrite_remove_remove_aor(h: &Harness) {
    let store = h.open().await;
    let a = "sip:alice@example.com";
    let b = "sip:bob@example.com";
    let c = "sip:carol@example.com";
    let exp = NOW + 3_600_000;
    let mut a1_new = binding(a, "a1", exp + 1);
    a1_new.contact = "<sip:alice@192.0.2.20:5062>".to_owned();
    a1_new.cseq = 2;
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(binding(a, "a1", exp)),
            BindingChange::Upsert(binding(a, "a2", exp)),
            BindingChange::Upsert(binding(b, "b1", exp)),
            BindingChange::Upsert(binding(c, "c1", exp)),
            BindingChange::Upsert(binding(c, "c2", exp)),
            // Overwrite within the same batch: the later one wins.
            BindingChange::Upsert(a1_new.clone()),
            BindingChange::Remove {
                aor: a.to_owned(),
                binding_id: "a2".to_owned(),
            },
            BindingChange::RemoveAor { aor: c.to_owned() },
        ])
        .await
        .expect("first batch");
    let loaded = store.load_bindings(NOW).await.expect("load");
    assert_eq!(keys(&loaded), [(a, "a1"), (b, "b1")]);
    assert_eq!(loaded[0], a1_new);

    // Order inside a batch matters: upsert, remove, upsert again ends present; removing
    // something absent is not an error.
    let mut c3 = binding(c, "c3", exp);
    c3.cseq = 9;
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(binding(c, "c3", exp)),
            BindingChange::RemoveAor { aor: c.to_owned() },
            BindingChange::Upsert(c3.clone()),
            BindingChange::Remove {
                aor: b.to_owned(),
                binding_id: "b1".to_owned(),
            },
            BindingChange::Upsert(binding(b, "b1", exp)),
            BindingChange::Remove {
                aor: b.to_owned(),
                binding_id: "b1".to_owned(),
            },
            BindingChange::Remove {
                aor: "sip:nobody@example.com".to_owned(),
                binding_id: "x".to_owned(),
            },
            BindingChange::RemoveAor {
                aor: "sip:nobody@example.com".to_owned(),
            },
        ])
        .await
        .expect("second batch");
    let loaded = store.load_bindings(NOW).await.expect("load");
    assert_eq!(keys(&loaded), [(a, "a1"), (c, "c3")]);
    assert_eq!(loaded[1], c3);

    // Overwriting in a later batch replaces every column.
    let mut a1_last = binding(a, "a1", exp + 2);
    a1_last.instance = Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".to_owned());
    store
        .apply_binding_changes(&[BindingChange::Upsert(a1_last.clone())])
        .await
        .expect("third batch");
    assert_eq!(store.load_bindings(NOW).await.expect("load")[0], a1_last);

    store.apply_binding_changes(&[]).await.expect("empty batch");
    store.close().await;
}

pub(crate) async fn binding_fields_round_trip(h: &Harness) {
    let store = h.open().await;
    let full = BindingRecord {
        aor: "sip:alice@example.com".to_owned(),
        binding_id: "urn:uuid:00000000-0000-1000-8000-000a95a0e128;1".to_owned(),
        contact: "<sip:alice@[2001:db8::10]:5061;transport=tls;ob>;+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>\"".to_owned(),
        instance: Some("<urn:uuid:00000000-0000-1000-8000-000A95A0E128>".to_owned()),
        reg_id: Some(u32::MAX),
        q: Some(1000),
        call_id: "9a8b7c6d@2001:db8::10".to_owned(),
        cseq: u32::MAX,
        expires_at_unix_ms: NOW + 600_000,
        transport: "tls".to_owned(),
        source: "[2001:db8::10]:49152".to_owned(),
        local: "[2001:db8::1]:5061".to_owned(),
        user_agent: Some("Example Phone 1.0 — ünïcödé".to_owned()),
        path: Some("<sip:edge.example.com;lr>,<sip:core.example.com;lr>".to_owned()),
        node: Some("node-1.example.com".to_owned()),
        updated_at_unix_ms: NOW,
    };
    let mut minimal = binding("sip:alice@example.com", "b0", NOW + 600_000);
    minimal.q = Some(0);
    minimal.reg_id = Some(0);
    minimal.cseq = 0;
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(full.clone()),
            BindingChange::Upsert(minimal.clone()),
        ])
        .await
        .expect("batch");
    assert_eq!(
        store.load_bindings(NOW).await.expect("load"),
        [minimal, full]
    );
    store.close().await;
}

pub(crate) async fn binding_batch_is_atomic(h: &Harness) {
    let store = h.open().await;
    let aor = "sip:alice@example.com";
    let kept = binding(aor, "kept", NOW + 60_000);
    store
        .apply_binding_changes(&[BindingChange::Upsert(kept.clone())])
        .await
        .expect("setup");
    let mut bad = binding(aor, "bad", NOW + 60_000);
    bad.q = Some(1001);
    let err = store
        .apply_binding_changes(&[
            BindingChange::Upsert(binding(aor, "new", NOW + 60_000)),
            BindingChange::Remove {
                aor: aor.to_owned(),
                binding_id: "kept".to_owned(),
            },
            BindingChange::RemoveAor {
                aor: "sip:bob@example.com".to_owned(),
            },
            BindingChange::Upsert(bad),
        ])
        .await
        .expect_err("q above 1000 is refused");
    assert!(
        matches!(err, StoreError::ConstraintViolation { .. }),
        "{err:?}"
    );
    assert_eq!(
        store.load_bindings(NOW).await.expect("load"),
        [kept],
        "nothing of the failed batch was applied"
    );
    // The store is healthy afterwards.
    store
        .apply_binding_changes(&[BindingChange::Upsert(binding(aor, "next", NOW + 60_000))])
        .await
        .expect("next batch");
    assert_eq!(store.load_bindings(NOW).await.expect("load").len(), 2);
    store.close().await;
}

pub(crate) async fn load_skips_expired_bindings(h: &Harness) {
    let store = h.open().await;
    let aor = "sip:alice@example.com";
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(binding(aor, "past", NOW - 1)),
            BindingChange::Upsert(binding(aor, "now", NOW)),
            BindingChange::Upsert(binding(aor, "future", NOW + 1)),
        ])
        .await
        .expect("batch");
    assert_eq!(
        keys(&store.load_bindings(NOW).await.expect("load")),
        [(aor, "future")]
    );
    assert_eq!(
        keys(&store.load_bindings(NOW - 1).await.expect("load")),
        [(aor, "future"), (aor, "now")]
    );
    assert!(store.load_bindings(NOW + 1).await.expect("load").is_empty());
    store.close().await;
}

pub(crate) async fn purge_expired_bindings(h: &Harness) {
    let store = h.open().await;
    let aor = "sip:bob@example.com";
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(binding(aor, "past", NOW - 1)),
            BindingChange::Upsert(binding(aor, "now", NOW)),
            BindingChange::Upsert(binding(aor, "future", NOW + 1)),
        ])
        .await
        .expect("batch");
    assert_eq!(store.purge_expired_bindings(NOW).await.expect("purge"), 2);
    assert_eq!(store.purge_expired_bindings(NOW).await.expect("purge"), 0);
    assert_eq!(
        keys(&store.load_bindings(0).await.expect("load")),
        [(aor, "future")]
    );
    store.close().await;
}

pub(crate) async fn big_batch_of_5000_upserts(h: &Harness) {
    let store = h.open().await;
    let records: Vec<BindingRecord> = (0..5_000)
        .map(|i| {
            binding(
                &format!("sip:user{:04}@example.com", i / 2),
                &format!("b{}", i % 2),
                NOW + 60_000 + i,
            )
        })
        .collect();
    let upserts: Vec<BindingChange> = records.iter().cloned().map(BindingChange::Upsert).collect();
    store
        .apply_binding_changes(&upserts)
        .await
        .expect("5,000 upserts");
    let loaded = store.load_bindings(NOW).await.expect("load");
    assert_eq!(
        loaded, records,
        "all stored, ordered by aor then binding id"
    );

    let removals: Vec<BindingChange> = records
        .iter()
        .map(|r| BindingChange::Remove {
            aor: r.aor.clone(),
            binding_id: r.binding_id.clone(),
        })
        .collect();
    store
        .apply_binding_changes(&removals)
        .await
        .expect("5,000 removals");
    assert!(store.load_bindings(0).await.expect("load").is_empty());
    store.close().await;
}

/// Batch sizes around the SQLite statement chunk: empty, one, one short of a chunk, a
/// chunk, one over, two chunks and three rows.
fn chunk_boundary_sizes() -> [usize; 6] {
    let chunk = BINDING_CHUNK_ROWS;
    [0, 1, chunk - 1, chunk, chunk + 1, 2 * chunk + 3]
}

fn numbered(i: usize, id: &str, cseq: u32) -> BindingRecord {
    let mut r = binding(
        &format!("sip:user{i:04}@example.com"),
        id,
        NOW + 60_000 + i64::from(cseq),
    );
    r.cseq = cseq;
    r.contact = format!("<sip:user{i:04}@192.0.2.10:{};transport=udp>", 5060 + i);
    r
}

pub(crate) async fn batches_around_chunk_boundaries(h: &Harness) {
    let store = h.open().await;
    for n in chunk_boundary_sizes() {
        // Inserts, then overwrites of every row, then removals of every row.
        for cseq in [1, 2] {
            let records: Vec<BindingRecord> = (0..n).map(|i| numbered(i, "b0", cseq)).collect();
            let changes: Vec<BindingChange> =
                records.iter().cloned().map(BindingChange::Upsert).collect();
            store
                .apply_binding_changes(&changes)
                .await
                .unwrap_or_else(|e| panic!("{n} upserts: {e}"));
            assert_eq!(
                store.load_bindings(NOW).await.expect("load"),
                records,
                "{n} upserts, round {cseq}"
            );
        }
        let removals: Vec<BindingChange> = (0..n)
            .map(|i| BindingChange::Remove {
                aor: format!("sip:user{i:04}@example.com"),
                binding_id: "b0".to_owned(),
            })
            .collect();
        store
            .apply_binding_changes(&removals)
            .await
            .unwrap_or_else(|e| panic!("{n} removals: {e}"));
        assert!(
            store.load_bindings(0).await.expect("load").is_empty(),
            "{n}"
        );

        // Two bindings per AOR, then every AOR cleared.
        let two_each: Vec<BindingChange> = (0..n)
            .flat_map(|i| [numbered(i, "b0", 3), numbered(i, "b1", 3)])
            .map(BindingChange::Upsert)
            .collect();
        store
            .apply_binding_changes(&two_each)
            .await
            .unwrap_or_else(|e| panic!("{} upserts: {e}", 2 * n));
        assert_eq!(store.load_bindings(NOW).await.expect("load").len(), 2 * n);
        let clear_all: Vec<BindingChange> = (0..n)
            .map(|i| BindingChange::RemoveAor {
                aor: format!("sip:user{i:04}@example.com"),
            })
            .collect();
        store
            .apply_binding_changes(&clear_all)
            .await
            .unwrap_or_else(|e| panic!("{n} AOR removals: {e}"));
        assert!(
            store.load_bindings(0).await.expect("load").is_empty(),
            "{n}"
        );
    }
    store.close().await;
}

pub(crate) async fn same_key_changes_across_chunk_boundaries(h: &Harness) {
    let store = h.open().await;
    let chunk = BINDING_CHUNK_ROWS;
    let target = |cseq| numbered(9_999, "b0", cseq);
    let gone = numbered(9_998, "b0", 1);
    let mut changes = vec![
        BindingChange::Upsert(target(1)),
        BindingChange::Upsert(gone.clone()),
    ];
    // Fillers push each later change of the same keys into a later chunk.
    let filler =
        |from: usize| (from..from + chunk).map(|i| BindingChange::Upsert(numbered(i, "b0", 1)));
    changes.extend(filler(0));
    changes.push(BindingChange::Remove {
        aor: target(0).aor,
        binding_id: "b0".to_owned(),
    });
    changes.push(BindingChange::Upsert(numbered(9_998, "b0", 2)));
    changes.extend(filler(chunk));
    changes.push(BindingChange::Upsert(target(3)));
    changes.push(BindingChange::Remove {
        aor: gone.aor.clone(),
        binding_id: "b0".to_owned(),
    });
    changes.extend(filler(2 * chunk));
    changes.push(BindingChange::Upsert(target(4)));
    store
        .apply_binding_changes(&changes)
        .await
        .expect("mixed batch");
    let loaded = store.load_bindings(NOW).await.expect("load");
    assert_eq!(loaded.len(), 3 * chunk + 1);
    assert_eq!(
        loaded.last(),
        Some(&target(4)),
        "the last upsert of a key wins"
    );
    assert!(
        !loaded.iter().any(|r| r.aor == gone.aor),
        "removed after its last upsert"
    );
    store.close().await;
}

/// Batches of random changes over a few keys (fixed seed), longer than two chunks, checked
/// against applying the same changes one by one to a map.
pub(crate) async fn random_batches_match_in_order_application(h: &Harness) {
    let store = h.open().await;
    let mut model: BTreeMap<(String, String), BindingRecord> = BTreeMap::new();
    let mut seed: u64 = 0x5eed_0001;
    let mut next = move |bound: u64| {
        // 64-bit LCG (Knuth's MMIX constants); the high bits are the good ones.
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    let len = 2 * BINDING_CHUNK_ROWS + 3;
    for round in 0..6u32 {
        let changes: Vec<BindingChange> = (0..len)
            .map(|step| {
                let user = usize::try_from(next(12)).expect("small");
                let aor = format!("sip:user{user:04}@example.com");
                let binding_id = format!("b{}", next(4));
                match next(20) {
                    0 => BindingChange::RemoveAor { aor },
                    1..=5 => BindingChange::Remove { aor, binding_id },
                    _ => {
                        let cseq = round * 1_000 + u32::try_from(step).expect("small");
                        BindingChange::Upsert(numbered(user, &binding_id, cseq))
                    }
                }
            })
            .collect();
        store
            .apply_binding_changes(&changes)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        for change in &changes {
            match change {
                BindingChange::Upsert(r) => {
                    model.insert((r.aor.clone(), r.binding_id.clone()), r.clone());
                }
                BindingChange::Remove { aor, binding_id } => {
                    model.remove(&(aor.clone(), binding_id.clone()));
                }
                BindingChange::RemoveAor { aor } => model.retain(|(a, _), _| a != aor),
            }
        }
        let want: Vec<BindingRecord> = model.values().cloned().collect();
        assert_eq!(
            store.load_bindings(0).await.expect("load"),
            want,
            "round {round}"
        );
    }
    store.close().await;
}
