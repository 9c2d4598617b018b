//! Migrations, users and the users change counter.

use sb_store::{Backend, BindingChange, Ha1Md5, ListUsers, Store, StoreError, User};

use crate::{Harness, NOW, binding, md5, new_user, sha};

pub(crate) async fn migrations_are_idempotent(h: &Harness) {
    let store = h.open_unmigrated().await;
    store.migrate().await.expect("first run");
    store.migrate().await.expect("second run");
    store.close().await;
    // A second process migrating the same database is a no-op too.
    let other = h.open().await;
    other.close().await;
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM _sqlx_migrations").await,
        5,
        "each migration recorded once"
    );
    assert_eq!(
        h.scalar("SELECT MAX(version) FROM _sqlx_migrations").await,
        5
    );
    let store = h.open().await;
    assert_eq!(store.users_generation().await.expect("generation"), 0);
    assert_eq!(store.dialplans_generation().await.expect("generation"), 0);
    assert_eq!(store.config_generation().await.expect("generation"), 0);
    store.close().await;
}

pub(crate) async fn backend_matches_url(h: &Harness) {
    let store = h.open().await;
    let expected = if h.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(store.backend(), expected);
    store.close().await;
}

pub(crate) async fn user_crud(h: &Harness) {
    let store = h.open().await;
    let mut alice = new_user("alice", "example.com");
    alice.display_name = Some("Alice Example".to_owned());
    let created = store.create_user(&alice).await.expect("create");
    assert_eq!(created.username, "alice");
    assert_eq!(created.domain, "example.com");
    assert_eq!(created.display_name.as_deref(), Some("Alice Example"));
    assert!(created.enabled);
    assert!(created.created_at_unix_ms > 0);
    assert_eq!(created.created_at_unix_ms, created.updated_at_unix_ms);

    let fetched = store
        .get_user("alice", "example.com")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(fetched, created);
    assert_eq!(
        store.get_user("bob", "example.com").await.expect("get"),
        None
    );

    assert!(
        store
            .update_user_secrets("alice", "example.com", &md5('a'), &sha('b'))
            .await
            .expect("update secrets")
    );
    assert!(
        store
            .set_user_enabled("alice", "example.com", false)
            .await
            .expect("disable")
    );
    let updated = store
        .get_user("alice", "example.com")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.ha1_md5, md5('a'));
    assert_eq!(updated.ha1_sha256, sha('b'));
    assert!(!updated.enabled);
    assert!(updated.updated_at_unix_ms >= created.updated_at_unix_ms);
    assert_eq!(updated.created_at_unix_ms, created.created_at_unix_ms);

    let listed = store.list_users(&ListUsers::default()).await.expect("list");
    assert_eq!(listed, vec![updated]);

    store
        .delete_user("alice", "example.com")
        .await
        .expect("delete");
    assert_eq!(
        store.get_user("alice", "example.com").await.expect("get"),
        None
    );
    for err in [
        store
            .delete_user("alice", "example.com")
            .await
            .expect_err("gone"),
        store
            .set_user_enabled("alice", "example.com", true)
            .await
            .expect_err("gone"),
        store
            .update_user_secrets("alice", "example.com", &md5('c'), &sha('d'))
            .await
            .expect_err("gone"),
    ] {
        assert!(
            matches!(&err, StoreError::NotFound { what: "user", key } if key == "alice@example.com"),
            "{err:?}"
        );
    }
    // Ids are never reused.
    let again = store.create_user(&alice).await.expect("recreate");
    assert_ne!(again.id, created.id);
    store.close().await;
}

pub(crate) async fn duplicate_user_is_a_conflict(h: &Harness) {
    let store = h.open().await;
    store
        .create_user(&new_user("alice", "example.com"))
        .await
        .expect("create");
    for domain in ["example.com", "EXAMPLE.com"] {
        let err = store
            .create_user(&new_user("alice", domain))
            .await
            .expect_err("duplicate");
        assert!(
            matches!(&err, StoreError::Conflict { what: "user", key, used_by: None } if key == "alice@example.com"),
            "{err:?}"
        );
    }
    // The user part is case-sensitive (RFC 3261 §19.1.4); other domains are separate.
    store
        .create_user(&new_user("Alice", "example.com"))
        .await
        .expect("different user part");
    store
        .create_user(&new_user("alice", "example.net"))
        .await
        .expect("different domain");
    assert_eq!(
        store
            .list_users(&ListUsers::default())
            .await
            .expect("list")
            .len(),
        3
    );
    store.close().await;
}

pub(crate) async fn domain_is_case_insensitive(h: &Harness) {
    let store = h.open().await;
    let created = store
        .create_user(&new_user("bob", "Example.COM"))
        .await
        .expect("create");
    assert_eq!(created.domain, "example.com");
    let fetched = store
        .get_user("bob", "eXample.com")
        .await
        .expect("get")
        .expect("found in any case");
    assert_eq!(fetched.domain, "example.com");
    assert!(
        store
            .credentials("bob", "EXAMPLE.COM")
            .await
            .expect("credentials")
            .is_some()
    );
    assert!(
        store
            .set_user_enabled("bob", "EXAMPLE.com", false)
            .await
            .expect("disable")
    );
    let filter = ListUsers {
        domain: Some("Example.Com".to_owned()),
        ..ListUsers::default()
    };
    assert_eq!(store.list_users(&filter).await.expect("list").len(), 1);
    store
        .delete_user("bob", "EXAMPLE.COM")
        .await
        .expect("delete");
    assert_eq!(
        store.get_user("bob", "example.com").await.expect("get"),
        None
    );
    store.close().await;
}

pub(crate) async fn credentials_lookup(h: &Harness) {
    let store = h.open().await;
    let mut carol = new_user("carol", "example.com");
    carol.ha1_md5 = Ha1Md5::from_hex("0123456789ABCDEF0123456789abcdef").expect("hex");
    store.create_user(&carol).await.expect("create");
    let creds = store
        .credentials("carol", "example.com")
        .await
        .expect("credentials")
        .expect("exists");
    assert_eq!(creds.ha1_md5.as_hex(), "0123456789abcdef0123456789abcdef");
    assert_eq!(creds.ha1_sha256, sha('2'));
    assert!(creds.enabled);
    assert!(!format!("{creds:?}").contains("0123456789abcdef"));

    store
        .set_user_enabled("carol", "example.com", false)
        .await
        .expect("disable");
    let creds = store
        .credentials("carol", "example.com")
        .await
        .expect("credentials")
        .expect("exists");
    assert!(!creds.enabled, "disabled users still resolve, flagged");
    assert_eq!(
        store
            .credentials("carol", "example.net")
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        store
            .credentials("Carol", "example.com")
            .await
            .expect("lookup"),
        None
    );
    store.close().await;
}

pub(crate) async fn generation_bumps_on_each_change_and_only_then(h: &Harness) {
    let store = h.open().await;
    let mut last = store.users_generation().await.expect("generation");
    let mut expect_bump = async |store: &Store, bumped: bool, what: &str| {
        let now = store.users_generation().await.expect("generation");
        if bumped {
            assert!(now > last, "{what}: expected a bump from {last}, got {now}");
        } else {
            assert_eq!(now, last, "{what}: expected no bump");
        }
        last = now;
    };

    store
        .create_user(&new_user("dave", "example.com"))
        .await
        .expect("create");
    expect_bump(&store, true, "create").await;
    store.get_user("dave", "example.com").await.expect("get");
    store
        .credentials("dave", "example.com")
        .await
        .expect("credentials");
    store.list_users(&ListUsers::default()).await.expect("list");
    expect_bump(&store, false, "reads").await;
    store
        .create_user(&new_user("dave", "example.com"))
        .await
        .expect_err("duplicate");
    expect_bump(&store, false, "failed create").await;

    assert!(
        !store
            .set_user_enabled("dave", "example.com", true)
            .await
            .expect("same")
    );
    expect_bump(&store, false, "enable an enabled user").await;
    assert!(
        store
            .set_user_enabled("dave", "example.com", false)
            .await
            .expect("disable")
    );
    expect_bump(&store, true, "disable").await;

    assert!(
        !store
            .update_user_secrets("dave", "example.com", &md5('1'), &sha('2'))
            .await
            .expect("same secrets")
    );
    expect_bump(&store, false, "same secrets").await;
    assert!(
        store
            .update_user_secrets("dave", "example.com", &md5('1'), &sha('3'))
            .await
            .expect("new sha-256 secret")
    );
    expect_bump(&store, true, "new secrets").await;

    store
        .apply_binding_changes(&[BindingChange::Upsert(binding(
            "sip:dave@example.com",
            "b1",
            NOW + 60_000,
        ))])
        .await
        .expect("binding");
    store
        .purge_expired_bindings(NOW + 120_000)
        .await
        .expect("purge");
    expect_bump(&store, false, "binding changes").await;

    store
        .delete_user("dave", "example.com")
        .await
        .expect("delete");
    expect_bump(&store, true, "delete").await;
    store
        .delete_user("dave", "example.com")
        .await
        .expect_err("missing");
    expect_bump(&store, false, "failed delete").await;
    store.close().await;
}

pub(crate) async fn generation_sees_other_connections(h: &Harness) {
    let server = h.open().await;
    let cli = h.open().await;
    let before = server.users_generation().await.expect("generation");
    cli.create_user(&new_user("erin", "example.com"))
        .await
        .expect("create");
    cli.close().await;
    let after = server.users_generation().await.expect("generation");
    assert!(
        after > before,
        "a change by another connection pool is visible"
    );
    assert!(
        server
            .credentials("erin", "example.com")
            .await
            .expect("lookup")
            .is_some()
    );
    server.close().await;
}

pub(crate) async fn list_users_filters_and_pages(h: &Harness) {
    let store = h.open().await;
    for (username, domain, display) in [
        ("zoe", "example.com", Some("Zoe Zed")),
        ("alice", "example.com", Some("Alice Able")),
        ("bob", "example.com", None),
        ("a_b", "example.com", None),
        ("alice", "example.net", Some("Other Alice")),
    ] {
        let mut user = new_user(username, domain);
        user.display_name = display.map(str::to_owned);
        store.create_user(&user).await.expect("create");
    }
    let names = |users: Vec<User>| -> Vec<String> {
        users
            .into_iter()
            .map(|u| format!("{}@{}", u.username, u.domain))
            .collect()
    };
    let all = store.list_users(&ListUsers::default()).await.expect("list");
    assert_eq!(
        names(all),
        [
            "a_b@example.com",
            "alice@example.com",
            "bob@example.com",
            "zoe@example.com",
            "alice@example.net"
        ]
    );

    let net = ListUsers {
        domain: Some("EXAMPLE.NET".to_owned()),
        ..ListUsers::default()
    };
    assert_eq!(
        names(store.list_users(&net).await.expect("list")),
        ["alice@example.net"]
    );

    let search = ListUsers {
        search: Some("ALI".to_owned()),
        ..ListUsers::default()
    };
    assert_eq!(
        names(store.list_users(&search).await.expect("list")),
        ["alice@example.com", "alice@example.net"]
    );
    let by_display_name = ListUsers {
        search: Some("zed".to_owned()),
        ..ListUsers::default()
    };
    assert_eq!(
        names(store.list_users(&by_display_name).await.expect("list")),
        ["zoe@example.com"]
    );
    // `_` is a literal, not a LIKE wildcard.
    let underscore = ListUsers {
        search: Some("_".to_owned()),
        ..ListUsers::default()
    };
    assert_eq!(
        names(store.list_users(&underscore).await.expect("list")),
        ["a_b@example.com"]
    );

    let page = ListUsers {
        limit: 2,
        offset: 1,
        ..ListUsers::default()
    };
    assert_eq!(
        names(store.list_users(&page).await.expect("list")),
        ["alice@example.com", "bob@example.com"]
    );
    let past_end = ListUsers {
        offset: 10,
        ..ListUsers::default()
    };
    assert!(store.list_users(&past_end).await.expect("list").is_empty());
    store.close().await;
}

pub(crate) async fn domains_of_users_are_listed(h: &Harness) {
    let store = h.open().await;
    assert!(store.list_domains().await.expect("domains").is_empty());
    for (user, domain) in [
        ("a", "b.example.test"),
        ("b", "A.Example.Test"),
        ("c", "b.example.test"),
    ] {
        store
            .create_user(&new_user(user, domain))
            .await
            .expect("create");
    }
    assert_eq!(
        store.list_domains().await.expect("domains"),
        ["a.example.test", "b.example.test"]
    );
    store
        .delete_user("b", "a.example.test")
        .await
        .expect("delete");
    assert_eq!(
        store.list_domains().await.expect("domains"),
        ["b.example.test"]
    );
    store.close().await;
}
