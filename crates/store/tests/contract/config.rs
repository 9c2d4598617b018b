//! Call groups, ACLs and trunks, and the configuration change counter.

use sb_store::{Acl, CallGroup, Store, StoreError, StoredTrunk};

use crate::{Harness, new_user};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn group(name: &str) -> CallGroup {
    CallGroup {
        name: name.to_owned(),
        description: Some("Sales team".to_owned()),
        context: Some("sales".to_owned()),
        call_allow: strings(&["_2XX", "_00."]),
        call_deny: strings(&["_900."]),
        updated_at_unix_ms: 0,
    }
}

fn acl(name: &str) -> Acl {
    Acl {
        name: name.to_owned(),
        description: None,
        cidrs: strings(&["192.0.2.0/24", "2001:db8::1"]),
        updated_at_unix_ms: 0,
    }
}

fn trunk(name: &str) -> StoredTrunk {
    StoredTrunk {
        name: name.to_owned(),
        gateway: Some("sip.example.com:5060".to_owned()),
        transport: "udp".to_owned(),
        addresses: strings(&["198.51.100.0/24"]),
        acl: None,
        context: "from-carrier".to_owned(),
        username: Some("acct-1".to_owned()),
        password: Some("pa55-w0rd".to_owned()),
        register: true,
        register_expires: 3600,
        from_user: Some("+15550001111".to_owned()),
        from_domain: Some("example.com".to_owned()),
        enabled: true,
        updated_at_unix_ms: 0,
    }
}

async fn generation(store: &Store) -> i64 {
    store.config_generation().await.expect("generation")
}

fn is_not_found(err: &StoreError, what: &str, name: &str) -> bool {
    matches!(err, StoreError::NotFound { what: w, key } if *w == what && key == name)
}

fn is_conflict(err: &StoreError, what: &str, name: &str) -> bool {
    matches!(err, StoreError::Conflict { what: w, key, used_by: None } if *w == what && key == name)
}

pub(crate) async fn group_crud(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.list_groups().await.expect("list"), []);
    let g0 = generation(&store).await;
    let created = store.create_group(&group("sales")).await.expect("create");
    assert!(created.updated_at_unix_ms > 0);
    assert_eq!(
        created,
        CallGroup {
            updated_at_unix_ms: created.updated_at_unix_ms,
            ..group("sales")
        }
    );
    let g1 = generation(&store).await;
    assert!(g1 > g0);
    assert_eq!(
        store.get_group("sales").await.expect("get"),
        Some(created.clone())
    );
    assert_eq!(store.get_group("Sales").await.expect("get"), None);
    let err = store.create_group(&group("sales")).await.expect_err("dup");
    assert!(is_conflict(&err, "group", "sales"), "{err:?}");
    assert_eq!(
        generation(&store).await,
        g1,
        "a refused write bumps nothing"
    );

    let bare = CallGroup {
        name: "night".to_owned(),
        description: None,
        context: None,
        call_allow: Vec::new(),
        call_deny: Vec::new(),
        updated_at_unix_ms: 0,
    };
    let night = store.create_group(&bare).await.expect("create");
    let changed = CallGroup {
        description: None,
        context: None,
        call_allow: Vec::new(),
        call_deny: strings(&["_00."]),
        ..created.clone()
    };
    let g2 = generation(&store).await;
    let updated = store.update_group(&changed).await.expect("update");
    assert!(generation(&store).await > g2);
    assert_eq!(
        store.list_groups().await.expect("list"),
        [night, updated.clone()],
        "ordered by name"
    );
    assert_eq!(updated.call_deny, strings(&["_00."]));
    let err = store
        .update_group(&group("nobody"))
        .await
        .expect_err("missing");
    assert!(is_not_found(&err, "group", "nobody"), "{err:?}");

    // Deleting a group leaves its members' lists as they are.
    store
        .create_user(&sb_store::NewUser {
            groups: strings(&["sales"]),
            ..new_user("alice", "example.com")
        })
        .await
        .expect("member");
    let users_before = store.users_generation().await.expect("generation");
    store.delete_group("sales").await.expect("delete");
    assert_eq!(store.get_group("sales").await.expect("get"), None);
    let err = store.delete_group("sales").await.expect_err("gone");
    assert!(is_not_found(&err, "group", "sales"), "{err:?}");
    let alice = store
        .get_user("alice", "example.com")
        .await
        .expect("get")
        .expect("kept");
    assert_eq!(alice.groups, strings(&["sales"]));
    assert_eq!(
        store.users_generation().await.expect("generation"),
        users_before
    );

    let err = store
        .create_group(&group(""))
        .await
        .expect_err("empty name");
    assert!(
        matches!(err, StoreError::InvalidInput { field: "name", .. }),
        "{err:?}"
    );
    store.close().await;
}

pub(crate) async fn acl_crud_and_references(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.list_acls().await.expect("list"), []);
    let g0 = generation(&store).await;
    let office = store.create_acl(&acl("office")).await.expect("create");
    assert_eq!(office.cidrs, strings(&["192.0.2.0/24", "2001:db8::1"]));
    assert!(generation(&store).await > g0);
    assert_eq!(
        store.get_acl("office").await.expect("get"),
        Some(office.clone())
    );
    let err = store.create_acl(&acl("office")).await.expect_err("dup");
    assert!(is_conflict(&err, "acl", "office"), "{err:?}");

    let empty = Acl {
        cidrs: Vec::new(),
        description: Some("nobody yet".to_owned()),
        ..acl("office")
    };
    let updated = store.update_acl(&empty).await.expect("update");
    assert_eq!(store.get_acl("office").await.expect("get"), Some(updated));
    let err = store.update_acl(&acl("lab")).await.expect_err("missing");
    assert!(is_not_found(&err, "acl", "lab"), "{err:?}");

    // A trunk refers to it: the delete is refused, naming the trunk.
    store.create_acl(&acl("carriers")).await.expect("create");
    for name in ["zeta", "alpha"] {
        store
            .create_trunk(&StoredTrunk {
                acl: Some("carriers".to_owned()),
                ..trunk(name)
            })
            .await
            .expect("trunk");
    }
    let g1 = generation(&store).await;
    let err = store.delete_acl("carriers").await.expect_err("in use");
    assert!(
        matches!(&err, StoreError::Conflict { what: "acl", key, used_by: Some(t) }
            if key == "carriers" && t == "alpha"),
        "{err:?}"
    );
    assert!(err.to_string().contains("trunk alpha"), "{err}");
    assert_eq!(generation(&store).await, g1);
    assert!(store.get_acl("carriers").await.expect("get").is_some());
    store.delete_trunk("alpha").await.expect("delete trunk");
    let err = store
        .delete_acl("carriers")
        .await
        .expect_err("still in use");
    assert!(
        matches!(&err, StoreError::Conflict { used_by: Some(t), .. } if t == "zeta"),
        "{err:?}"
    );
    store
        .update_trunk(&StoredTrunk {
            acl: None,
            ..trunk("zeta")
        })
        .await
        .expect("drop the reference");
    store.delete_acl("carriers").await.expect("delete");
    assert!(generation(&store).await > g1);
    let err = store.delete_acl("carriers").await.expect_err("gone");
    assert!(is_not_found(&err, "acl", "carriers"), "{err:?}");
    store.close().await;
}

pub(crate) async fn trunk_crud(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.list_trunks().await.expect("list"), []);
    let g0 = generation(&store).await;
    let users0 = store.users_generation().await.expect("generation");
    let created = store
        .create_trunk(&trunk("carrier-a"))
        .await
        .expect("create");
    assert!(generation(&store).await > g0);
    assert_eq!(store.users_generation().await.expect("generation"), users0);
    let fetched = store
        .get_trunk("carrier-a")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(fetched, created);
    assert_eq!(
        fetched.password.as_deref(),
        Some("pa55-w0rd"),
        "the password is kept"
    );
    assert!(!format!("{fetched:?}").contains("pa55-w0rd"));
    let err = store
        .create_trunk(&trunk("carrier-a"))
        .await
        .expect_err("dup");
    assert!(is_conflict(&err, "trunk", "carrier-a"), "{err:?}");

    // Every field changes on update, including clearing the optional ones.
    let inbound_only = StoredTrunk {
        gateway: None,
        transport: "tcp".to_owned(),
        addresses: Vec::new(),
        acl: None,
        context: "inbound".to_owned(),
        username: None,
        password: None,
        register: false,
        register_expires: u32::MAX,
        from_user: None,
        from_domain: None,
        enabled: false,
        ..trunk("carrier-a")
    };
    let g1 = generation(&store).await;
    let updated = store.update_trunk(&inbound_only).await.expect("update");
    assert!(generation(&store).await > g1);
    assert_eq!(
        store.get_trunk("carrier-a").await.expect("get"),
        Some(updated.clone())
    );
    assert_eq!(updated.register_expires, u32::MAX);
    let err = store
        .update_trunk(&trunk("carrier-b"))
        .await
        .expect_err("missing");
    assert!(is_not_found(&err, "trunk", "carrier-b"), "{err:?}");

    // The ACL must exist.
    let with_acl = StoredTrunk {
        acl: Some("nowhere".to_owned()),
        ..trunk("carrier-b")
    };
    let g2 = generation(&store).await;
    let err = store
        .create_trunk(&with_acl)
        .await
        .expect_err("no such acl");
    assert!(
        matches!(err, StoreError::InvalidInput { field: "acl", .. }),
        "{err:?}"
    );
    let err = store
        .update_trunk(&StoredTrunk {
            acl: Some("nowhere".to_owned()),
            ..trunk("carrier-a")
        })
        .await
        .expect_err("no such acl");
    assert!(
        matches!(err, StoreError::InvalidInput { field: "acl", .. }),
        "{err:?}"
    );
    assert_eq!(generation(&store).await, g2);
    let err = store
        .create_trunk(&StoredTrunk {
            transport: "tls".to_owned(),
            ..trunk("carrier-c")
        })
        .await
        .expect_err("bad transport");
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "transport",
                ..
            }
        ),
        "{err:?}"
    );
    store.create_acl(&acl("nowhere")).await.expect("acl");
    store.create_trunk(&with_acl).await.expect("now it exists");
    let names: Vec<String> = store
        .list_trunks()
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["carrier-a", "carrier-b"]);

    store.delete_trunk("carrier-a").await.expect("delete");
    let err = store.delete_trunk("carrier-a").await.expect_err("gone");
    assert!(is_not_found(&err, "trunk", "carrier-a"), "{err:?}");
    store.close().await;
}

pub(crate) async fn config_generation_counts_every_write(h: &Harness) {
    let store = h.open().await;
    let mut last = generation(&store).await;
    let mut bumped = |now: i64, what: &str| {
        assert!(now > last, "{what} bumps the counter");
        last = now;
    };
    store.create_group(&group("g")).await.expect("write");
    bumped(generation(&store).await, "create_group");
    store.update_group(&group("g")).await.expect("write");
    bumped(generation(&store).await, "update_group");
    store.create_acl(&acl("a")).await.expect("write");
    bumped(generation(&store).await, "create_acl");
    store.update_acl(&acl("a")).await.expect("write");
    bumped(generation(&store).await, "update_acl");
    store.create_trunk(&trunk("t")).await.expect("write");
    bumped(generation(&store).await, "create_trunk");
    store.update_trunk(&trunk("t")).await.expect("write");
    bumped(generation(&store).await, "update_trunk");
    store.delete_trunk("t").await.expect("write");
    bumped(generation(&store).await, "delete_trunk");
    store.delete_acl("a").await.expect("write");
    bumped(generation(&store).await, "delete_acl");
    store.delete_group("g").await.expect("write");
    bumped(generation(&store).await, "delete_group");
    // Users, dialplans and reads do not count.
    let before = generation(&store).await;
    store
        .create_user(&new_user("alice", "example.com"))
        .await
        .expect("user");
    store
        .put_dialplan("main", "", None)
        .await
        .expect("dialplan");
    store.list_trunks().await.expect("read");
    assert_eq!(generation(&store).await, before);
    // Another connection sees the counter.
    let other = h.open().await;
    assert_eq!(other.config_generation().await.expect("generation"), before);
    other.close().await;
    store.close().await;
}
