//! Registration bindings: batches, atomicity, expiry.

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
