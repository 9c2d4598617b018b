//! What the nodes of a cluster share: the `nodes` table, the bindings of chosen AORs and,
//! on PostgreSQL, the change notifications.

use std::time::Duration;

use sb_store::{BindingChange, Change, Store, StoreOptions};

use crate::{Harness, NOW, binding, new_user};

pub(crate) async fn nodes_join_beat_and_leave(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.list_nodes().await.expect("list"), []);
    assert!(
        !store.node_heartbeat("sb-1").await.expect("beat"),
        "no row yet"
    );
    store
        .register_node("sb-1", "192.0.2.11:5060")
        .await
        .expect("join");
    store
        .register_node("sb-2", "192.0.2.12:5060")
        .await
        .expect("join");
    // A restart replaces the row.
    store
        .register_node("sb-2", "192.0.2.22:5060")
        .await
        .expect("rejoin");
    assert!(store.node_heartbeat("sb-1").await.expect("beat"));
    let nodes = store.list_nodes().await.expect("list");
    let names: Vec<(&str, &str)> = nodes
        .iter()
        .map(|n| (n.name.as_str(), n.sip_address.as_str()))
        .collect();
    assert_eq!(
        names,
        [("sb-1", "192.0.2.11:5060"), ("sb-2", "192.0.2.22:5060")]
    );
    for n in &nodes {
        // Heard of just now, on the database's clock.
        assert!((-1_000..5_000).contains(&n.silent_ms), "{n:?}");
        assert!(n.started_at_unix_ms > NOW, "{n:?}");
    }
    // Silence grows while no heartbeat comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = store.list_nodes().await.expect("list");
    assert!(later[0].silent_ms >= nodes[0].silent_ms + 250, "{later:?}");
    assert!(store.node_heartbeat("sb-1").await.expect("beat"));
    assert!(store.list_nodes().await.expect("list")[0].silent_ms < later[0].silent_ms);
    store.remove_node("sb-1").await.expect("leave");
    let left: Vec<String> = store
        .list_nodes()
        .await
        .expect("list")
        .into_iter()
        .map(|n| n.name)
        .collect();
    assert_eq!(left, ["sb-2"]);
}

pub(crate) async fn bindings_of_chosen_aors_with_their_nodes(h: &Harness) {
    let store = h.open().await;
    let far = NOW + 3_600_000;
    let mut a1 = binding("sip:alice@example.test", "a1", far);
    a1.node = Some("sb-1".to_owned());
    let mut b1 = binding("sip:bob@example.test", "b1", far);
    b1.node = Some("sb-2".to_owned());
    let b2 = binding("sip:bob@example.test", "b2", NOW - 1);
    let c1 = binding("sip:carol@example.test", "c1", far);
    store
        .apply_binding_changes(&[
            BindingChange::Upsert(a1.clone()),
            BindingChange::Upsert(b1.clone()),
            BindingChange::Upsert(b2),
            BindingChange::Upsert(c1),
        ])
        .await
        .expect("write");
    let got = store
        .bindings_of(
            &[
                "sip:bob@example.test".to_owned(),
                "sip:alice@example.test".to_owned(),
                "sip:nobody@example.test".to_owned(),
            ],
            NOW,
        )
        .await
        .expect("read");
    // Unexpired ones only, by AOR, each with its node.
    assert_eq!(got, [a1, b1]);
    assert_eq!(store.bindings_of(&[], NOW).await.expect("read"), []);
}

pub(crate) async fn changes_are_announced(h: &Harness) {
    let store = h.open().await;
    let Some(mut listener) = store.listen_changes().await.expect("listen") else {
        assert!(h.url.starts_with("sqlite"), "PostgreSQL announces changes");
        return;
    };
    // Another node writes, under its own application name.
    let other = Store::connect(
        &h.url,
        StoreOptions {
            application_name: "switchboard/sb-2".to_owned(),
            ..StoreOptions::default()
        },
    )
    .await
    .expect("connect");
    let mut bound = binding("sip:bob@example.test", "b1", NOW + 3_600_000);
    bound.node = Some("sb-2".to_owned());
    other
        .apply_binding_changes(&[BindingChange::Upsert(bound)])
        .await
        .expect("write");
    other
        .create_user(&new_user("dave", "example.test"))
        .await
        .expect("user");
    other
        .add_dialplan_version("default", "# text\n", "root")
        .await
        .expect("version");
    other
        .register_node("sb-2", "192.0.2.12:5060")
        .await
        .expect("join");
    other
        .apply_binding_changes(&[BindingChange::RemoveAor {
            aor: "sip:bob@example.test".to_owned(),
        }])
        .await
        .expect("remove");
    let mut got = Vec::new();
    for _ in 0..5 {
        let change = tokio::time::timeout(Duration::from_secs(5), listener.recv())
            .await
            .expect("announced within 5 s")
            .expect("listening");
        got.push(change);
    }
    let bob = |deleted| Change::Binding {
        deleted,
        writer: "switchboard/sb-2".to_owned(),
        node: Some("sb-2".to_owned()),
        updated_at_unix_ms: NOW,
        aor: "sip:bob@example.test".to_owned(),
        binding_id: "b1".to_owned(),
    };
    assert_eq!(
        got,
        [
            bob(false),
            Change::Counter("users".to_owned()),
            Change::Dialplan("default".to_owned()),
            Change::Node("sb-2".to_owned()),
            bob(true),
        ]
    );
    // A heartbeat announces nothing.
    assert!(other.node_heartbeat("sb-2").await.expect("beat"));
    assert!(
        tokio::time::timeout(Duration::from_millis(300), listener.recv())
            .await
            .is_err(),
        "a heartbeat is silent"
    );
}
