//! Dialplan documents: versions, optimistic concurrency, the change counter.

use sb_store::{Dialplan, Store, StoreError};

use crate::{Harness, new_user};

const MAIN: &str = "# main dialplan\nroute \"200\" -> user bob\n";

fn conflict(err: &StoreError) -> Option<(&str, i64, Option<i64>)> {
    match err {
        StoreError::VersionConflict {
            what: "dialplan",
            key,
            expected,
            actual,
        } => Some((key.as_str(), *expected, *actual)),
        _ => None,
    }
}

pub(crate) async fn dialplan_crud_and_versions(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.list_dialplans().await.expect("list"), []);
    assert_eq!(store.get_dialplan("main").await.expect("get"), None);

    let created = store
        .put_dialplan("main", MAIN, None)
        .await
        .expect("create");
    assert_eq!(
        (created.name.as_str(), created.content.as_str()),
        ("main", MAIN)
    );
    assert_eq!(created.version, 1);
    assert!(created.updated_at_unix_ms > 0);
    assert_eq!(
        store.get_dialplan("main").await.expect("get"),
        Some(created.clone())
    );

    // Unconditional and conditional writes both bump the version, even with the same text.
    let same = store
        .put_dialplan("main", MAIN, None)
        .await
        .expect("rewrite");
    assert_eq!(same.version, 2);
    let edited = store
        .put_dialplan("main", "route \"*\" -> trunk carrier-a\n", Some(2))
        .await
        .expect("update what was read");
    assert_eq!(edited.version, 3);
    assert!(edited.updated_at_unix_ms >= created.updated_at_unix_ms);

    // A stale version, a create over an existing document, an update of a missing one.
    let err = store
        .put_dialplan("main", "lost update", Some(2))
        .await
        .expect_err("stale");
    assert_eq!(conflict(&err), Some(("main", 2, Some(3))), "{err:?}");
    assert!(err.to_string().contains("version 3"), "{err}");
    let err = store
        .put_dialplan("main", "lost create", Some(0))
        .await
        .expect_err("exists");
    assert_eq!(conflict(&err), Some(("main", 0, Some(3))), "{err:?}");
    let err = store
        .put_dialplan("night", "x", Some(1))
        .await
        .expect_err("absent");
    assert_eq!(conflict(&err), Some(("night", 1, None)), "{err:?}");
    assert_eq!(
        store.get_dialplan("main").await.expect("get"),
        Some(edited.clone())
    );
    assert_eq!(store.get_dialplan("night").await.expect("get"), None);

    // Create-only, and text exactly as given (no trimming, any Unicode, large).
    let night_text = format!(
        "# Zoë's ☎ plan\r\n\ttab \"quoted\" 'single' \\ {}\n",
        "x".repeat(64 * 1024)
    );
    let night = store
        .put_dialplan("night", &night_text, Some(0))
        .await
        .expect("create only");
    assert_eq!(night.version, 1);
    let also = store
        .put_dialplan("after-hours", "", None)
        .await
        .expect("empty text");
    assert_eq!(also.content, "");
    let listed = store.list_dialplans().await.expect("list");
    assert_eq!(listed, [also, edited, night.clone()], "ordered by name");
    assert_eq!(listed[2].content, night_text);
    // Names are case-sensitive.
    assert_eq!(store.get_dialplan("Night").await.expect("get"), None);

    store.delete_dialplan("night").await.expect("delete");
    let err = store.delete_dialplan("night").await.expect_err("gone");
    assert!(
        matches!(&err, StoreError::NotFound { what: "dialplan", key } if key == "night"),
        "{err:?}"
    );
    // Recreated after a delete, it starts again at version 1.
    let again = store
        .put_dialplan("night", "y", None)
        .await
        .expect("recreate");
    assert_eq!(again.version, 1);

    for (result, field) in [
        (store.put_dialplan("", "x", None).await, "name"),
        (
            store.put_dialplan("main", "x", Some(-1)).await,
            "expected_version",
        ),
    ] {
        let err = result.expect_err(field);
        assert!(
            matches!(err, StoreError::InvalidInput { field: f, .. } if f == field),
            "{err:?}"
        );
    }
    store.close().await;
}

pub(crate) async fn dialplan_concurrent_updates_one_wins(h: &Harness) {
    let store = h.open().await;
    store
        .put_dialplan("main", MAIN, None)
        .await
        .expect("create");
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .put_dialplan("main", &format!("edit {i}\n"), Some(1))
                    .await
            })
        })
        .collect();
    let mut won: Vec<Dialplan> = Vec::new();
    let mut lost = 0;
    for writer in writers {
        match writer.await.expect("writer joins") {
            Ok(dialplan) => won.push(dialplan),
            Err(err) => {
                assert_eq!(
                    conflict(&err).map(|c| (c.0, c.1)),
                    Some(("main", 1)),
                    "{err:?}"
                );
                lost += 1;
            }
        }
    }
    assert_eq!((won.len(), lost), (1, 7));
    assert_eq!(won[0].version, 2);
    let stored = store
        .get_dialplan("main")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(stored, won[0]);
    store.close().await;
}

pub(crate) async fn dialplans_generation_changes_on_every_write(h: &Harness) {
    let store = h.open().await;
    let users_before = store.users_generation().await.expect("users generation");
    let mut last = store.dialplans_generation().await.expect("generation");
    assert_eq!(last, 0, "fresh database");
    let mut step = async |store: &Store, bumped: bool, what: &str| {
        let now = store.dialplans_generation().await.expect("generation");
        if bumped {
            assert!(now > last, "{what}: expected a bump from {last}, got {now}");
        } else {
            assert_eq!(now, last, "{what}: expected no bump");
        }
        last = now;
    };

    store
        .put_dialplan("main", MAIN, None)
        .await
        .expect("create");
    step(&store, true, "create").await;
    store
        .put_dialplan("main", MAIN, None)
        .await
        .expect("same text");
    step(&store, true, "rewrite with the same text").await;
    store
        .put_dialplan("main", "b", Some(2))
        .await
        .expect("update");
    step(&store, true, "conditional update").await;
    store
        .put_dialplan("other", "c", Some(0))
        .await
        .expect("create only");
    step(&store, true, "create only").await;

    store
        .put_dialplan("main", "x", Some(1))
        .await
        .expect_err("stale");
    step(&store, false, "refused update").await;
    store
        .put_dialplan("other", "x", Some(0))
        .await
        .expect_err("exists");
    step(&store, false, "refused create").await;
    store.delete_dialplan("missing").await.expect_err("missing");
    step(&store, false, "delete of nothing").await;
    store.list_dialplans().await.expect("list");
    store.get_dialplan("main").await.expect("get");
    step(&store, false, "reads").await;

    // Another process (connection) sees the writes of this one, and the reverse.
    let other = h.open().await;
    assert_eq!(
        other.dialplans_generation().await.expect("generation"),
        store.dialplans_generation().await.expect("generation")
    );
    other.delete_dialplan("other").await.expect("delete");
    step(&store, true, "delete by another store").await;

    // The counters are independent.
    store
        .create_user(&new_user("alice", "example.com"))
        .await
        .expect("user");
    step(&store, false, "user created").await;
    assert!(store.users_generation().await.expect("users generation") > users_before);
    let users_now = store.users_generation().await.expect("users generation");
    store.put_dialplan("main", "z", None).await.expect("write");
    step(&store, true, "write").await;
    assert_eq!(
        store.users_generation().await.expect("users generation"),
        users_now
    );
    other.close().await;
    store.close().await;
}
