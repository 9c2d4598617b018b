//! History of dialplan files: numbering, listing, lookups.

use std::collections::BTreeSet;

use sb_store::StoreError;

use crate::Harness;

pub(crate) async fn dialplan_versions_number_from_one_per_name(h: &Harness) {
    let store = h.open().await;
    assert_eq!(
        store.list_dialplan_versions("main").await.expect("list"),
        []
    );
    assert_eq!(
        store.latest_dialplan_version("main").await.expect("latest"),
        None
    );

    let texts = ["route \"200\" -> user bob\n", "# Zürich ☎\n", ""];
    for (i, text) in texts.iter().enumerate() {
        let v = store
            .add_dialplan_version("main", text, if i == 1 { "cli" } else { "root" })
            .await
            .expect("add");
        assert_eq!(v.version, i64::try_from(i).expect("small") + 1);
        assert_eq!((v.name.as_str(), v.content.as_str()), ("main", *text));
        assert!(v.created_at_unix_ms > 0);
        assert_eq!(
            store
                .get_dialplan_version("main", v.version)
                .await
                .expect("get"),
            Some(v.clone())
        );
        assert_eq!(
            store.latest_dialplan_version("main").await.expect("latest"),
            Some(v)
        );
    }
    // Numbering is per name.
    let other = store
        .add_dialplan_version("trunks", "x", "root")
        .await
        .expect("add");
    assert_eq!(other.version, 1);

    let list = store.list_dialplan_versions("main").await.expect("list");
    let summary: Vec<(i64, &str, i64)> = list
        .iter()
        .map(|v| (v.version, v.author.as_str(), v.size))
        .collect();
    // Newest first; sizes in bytes of UTF-8.
    assert_eq!(summary, [(3, "root", 0), (2, "cli", 14), (1, "root", 24)]);
    assert!(list.iter().all(|v| v.name == "main"));
    assert_eq!(
        store.get_dialplan_version("main", 4).await.expect("get"),
        None
    );
    assert_eq!(
        store.get_dialplan_version("main", 0).await.expect("get"),
        None
    );
    assert_eq!(
        store.get_dialplan_version("Main", 1).await.expect("get"),
        None
    );

    let err = store
        .add_dialplan_version("", "x", "root")
        .await
        .expect_err("empty name");
    assert!(
        matches!(err, StoreError::InvalidInput { field: "name", .. }),
        "{err:?}"
    );
    // History is separate from the edited documents and their counter.
    assert_eq!(store.dialplans_generation().await.expect("generation"), 0);
    store.close().await;
}

pub(crate) async fn dialplan_versions_concurrent_writers_get_distinct_numbers(h: &Harness) {
    let store = h.open().await;
    let other = h.open().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = if i % 2 == 0 {
            store.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            store
                .add_dialplan_version("main", &format!("# text {i}\n"), "root")
                .await
                .expect("add")
                .version
        }));
    }
    let mut versions = BTreeSet::new();
    for task in tasks {
        versions.insert(task.await.expect("task"));
    }
    assert_eq!(versions, (1..=12).collect());
    assert_eq!(
        store
            .latest_dialplan_version("main")
            .await
            .expect("latest")
            .map(|v| v.version),
        Some(12)
    );
    other.close().await;
    store.close().await;
}
