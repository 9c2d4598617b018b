//! Users' directory fields: extensions unique per domain, partial updates, counting,
//! the directory and the lookup by extension.

use sb_store::{DirectoryEntry, ListUsers, NewUser, StoreError, UserChanges};

use crate::{Harness, md5, new_user, sha};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn with_extension(username: &str, domain: &str, extension: &str) -> NewUser {
    NewUser {
        extension: Some(extension.to_owned()),
        ..new_user(username, domain)
    }
}

fn extension_conflict(err: &StoreError) -> Option<&str> {
    match err {
        StoreError::Conflict {
            what: "extension",
            key,
            used_by: None,
        } => Some(key),
        _ => None,
    }
}

pub(crate) async fn user_directory_fields_round_trip(h: &Harness) {
    let store = h.open().await;
    let alice = NewUser {
        extension: Some("201".to_owned()),
        context: Some("internal".to_owned()),
        groups: strings(&["sales", "night_shift", "a%b"]),
        call_allow: strings(&["_2XX", "_00."]),
        call_deny: strings(&["_900.", "+"]),
        ..new_user("alice", "Example.COM")
    };
    let created = store.create_user(&alice).await.expect("create");
    assert_eq!(created.extension.as_deref(), Some("201"));
    assert_eq!(created.context.as_deref(), Some("internal"));
    assert_eq!(created.groups, alice.groups);
    assert_eq!(created.call_allow, alice.call_allow);
    assert_eq!(created.call_deny, alice.call_deny);
    let fetched = store
        .get_user("alice", "example.com")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(fetched, created);
    let plain = store
        .create_user(&new_user("bob", "example.com"))
        .await
        .expect("create");
    assert_eq!(
        (plain.extension, plain.context, plain.groups),
        (None, None, Vec::new())
    );
    // List items that would not read back as the same list are refused.
    for bad in [strings(&[""]), strings(&["a\nb"])] {
        let user = NewUser {
            groups: bad,
            ..new_user("carol", "example.com")
        };
        let err = store.create_user(&user).await.expect_err("bad list");
        assert!(
            matches!(
                err,
                StoreError::InvalidInput {
                    field: "groups",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(
        store.get_user("carol", "example.com").await.expect("get"),
        None
    );
    store.close().await;
}

pub(crate) async fn extension_is_unique_per_domain(h: &Harness) {
    let store = h.open().await;
    store
        .create_user(&with_extension("alice", "example.com", "201"))
        .await
        .expect("create");
    let err = store
        .create_user(&with_extension("bob", "EXAMPLE.com", "201"))
        .await
        .expect_err("taken");
    assert_eq!(extension_conflict(&err), Some("201"), "{err:?}");
    assert!(err.to_string().contains("201"), "{err}");
    // The same extension in another domain, and users without one, are fine.
    store
        .create_user(&with_extension("bob", "example.net", "201"))
        .await
        .expect("other domain");
    store
        .create_user(&new_user("carol", "example.com"))
        .await
        .expect("no extension");
    store
        .create_user(&new_user("dave", "example.com"))
        .await
        .expect("no extension either");
    // A duplicate user name is still reported as such, also with an extension.
    let err = store
        .create_user(&with_extension("alice", "example.com", "299"))
        .await
        .expect_err("duplicate user");
    assert!(
        matches!(&err, StoreError::Conflict { what: "user", key, .. } if key == "alice@example.com"),
        "{err:?}"
    );

    // Taking a used extension by update is refused and changes nothing.
    let before = store.users_generation().await.expect("generation");
    let take = UserChanges {
        extension: Some(Some("201".to_owned())),
        display_name: Some(Some("Carol".to_owned())),
        ..UserChanges::default()
    };
    let err = store
        .update_user("carol", "example.com", &take)
        .await
        .expect_err("taken");
    assert_eq!(extension_conflict(&err), Some("201"), "{err:?}");
    let carol = store
        .get_user("carol", "example.com")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((carol.extension, carol.display_name), (None, None));
    assert_eq!(store.users_generation().await.expect("generation"), before);
    // Clearing it frees it.
    let clear = UserChanges {
        extension: Some(None),
        ..UserChanges::default()
    };
    store
        .update_user("alice", "example.com", &clear)
        .await
        .expect("clear");
    let carol = store
        .update_user("carol", "example.com", &take)
        .await
        .expect("now free");
    assert_eq!(carol.extension.as_deref(), Some("201"));
    assert_eq!(
        store
            .find_user_by_extension("201", "EXAMPLE.COM")
            .await
            .expect("find")
            .map(|u| u.username),
        Some("carol".to_owned())
    );
    assert_eq!(
        store
            .find_user_by_extension("201", "example.net")
            .await
            .expect("find")
            .map(|u| u.username),
        Some("bob".to_owned())
    );
    assert_eq!(
        store
            .find_user_by_extension("202", "example.com")
            .await
            .expect("find"),
        None
    );
    store.close().await;
}

pub(crate) async fn update_user_changes_only_what_is_set(h: &Harness) {
    let store = h.open().await;
    let original = store
        .create_user(&NewUser {
            display_name: Some("Alice".to_owned()),
            extension: Some("201".to_owned()),
            context: Some("internal".to_owned()),
            groups: strings(&["sales"]),
            call_allow: strings(&["_2XX"]),
            call_deny: strings(&["_900."]),
            ..new_user("alice", "example.com")
        })
        .await
        .expect("create");

    // Nothing set: no write, the user as stored.
    let before = store.users_generation().await.expect("generation");
    let same = store
        .update_user("alice", "EXAMPLE.COM", &UserChanges::default())
        .await
        .expect("no-op");
    assert_eq!(same, original);
    assert_eq!(store.users_generation().await.expect("generation"), before);

    // Each field alone.
    type Apply = Box<dyn Fn(&mut sb_store::User)>;
    let cases: Vec<(UserChanges, Apply)> = vec![
        (
            UserChanges {
                display_name: Some(None),
                ..UserChanges::default()
            },
            Box::new(|u| u.display_name = None),
        ),
        (
            UserChanges {
                extension: Some(Some("301".to_owned())),
                ..UserChanges::default()
            },
            Box::new(|u| u.extension = Some("301".to_owned())),
        ),
        (
            UserChanges {
                enabled: Some(false),
                ..UserChanges::default()
            },
            Box::new(|u| u.enabled = false),
        ),
        (
            UserChanges {
                context: Some(None),
                ..UserChanges::default()
            },
            Box::new(|u| u.context = None),
        ),
        (
            UserChanges {
                groups: Some(strings(&["support", "sales"])),
                ..UserChanges::default()
            },
            Box::new(|u| u.groups = strings(&["support", "sales"])),
        ),
        (
            UserChanges {
                call_allow: Some(Vec::new()),
                ..UserChanges::default()
            },
            Box::new(|u| u.call_allow = Vec::new()),
        ),
        (
            UserChanges {
                call_deny: Some(strings(&["_00.", "_900."])),
                ..UserChanges::default()
            },
            Box::new(|u| u.call_deny = strings(&["_00.", "_900."])),
        ),
        (
            UserChanges {
                secrets: Some((md5('c'), sha('d'))),
                ..UserChanges::default()
            },
            Box::new(|u| {
                u.ha1_md5 = md5('c');
                u.ha1_sha256 = sha('d');
            }),
        ),
    ];
    let mut expected = original.clone();
    for (changes, apply) in cases {
        let before = store.users_generation().await.expect("generation");
        let updated = store
            .update_user("alice", "example.com", &changes)
            .await
            .expect("update");
        apply(&mut expected);
        expected.updated_at_unix_ms = updated.updated_at_unix_ms;
        assert_eq!(updated, expected, "{changes:?}");
        assert!(updated.updated_at_unix_ms >= original.updated_at_unix_ms);
        assert_eq!(
            store.get_user("alice", "example.com").await.expect("get"),
            Some(expected.clone())
        );
        assert!(store.users_generation().await.expect("generation") > before);
    }
    let creds = store
        .credentials("alice", "example.com")
        .await
        .expect("credentials")
        .expect("exists");
    assert_eq!((creds.ha1_md5, creds.enabled), (md5('c'), false));

    // Several at once.
    let all = UserChanges {
        display_name: Some(Some("Alice Liddell".to_owned())),
        enabled: Some(true),
        context: Some(Some("vip".to_owned())),
        ..UserChanges::default()
    };
    let updated = store
        .update_user("alice", "example.com", &all)
        .await
        .expect("update");
    assert_eq!(updated.display_name.as_deref(), Some("Alice Liddell"));
    assert!(updated.enabled);
    assert_eq!(updated.context.as_deref(), Some("vip"));
    assert_eq!(updated.groups, strings(&["support", "sales"]));

    // Missing users, and bad lists.
    for changes in [UserChanges::default(), all.clone()] {
        let err = store
            .update_user("nobody", "example.com", &changes)
            .await
            .expect_err("missing");
        assert!(
            matches!(&err, StoreError::NotFound { what: "user", key } if key == "nobody@example.com"),
            "{err:?}"
        );
    }
    let bad = UserChanges {
        call_deny: Some(strings(&["_9.", ""])),
        ..UserChanges::default()
    };
    let err = store
        .update_user("alice", "example.com", &bad)
        .await
        .expect_err("bad list");
    assert!(
        matches!(
            err,
            StoreError::InvalidInput {
                field: "call_deny",
                ..
            }
        ),
        "{err:?}"
    );
    store.close().await;
}

pub(crate) async fn count_users_and_group_filter(h: &Harness) {
    let store = h.open().await;
    let members = [
        ("alice", "example.com", &["sales", "support"][..]),
        ("bob", "example.com", &["support"]),
        ("carol", "example.com", &["sales_eu"]),
        ("dave", "example.net", &["sales"]),
        ("erin", "example.net", &[]),
        ("frank", "example.com", &["salesXeu"]),
    ];
    for (user, domain, groups) in members {
        store
            .create_user(&NewUser {
                groups: strings(groups),
                ..new_user(user, domain)
            })
            .await
            .expect("create");
    }
    let names = |users: Vec<sb_store::User>| -> Vec<String> {
        users.into_iter().map(|u| u.username).collect()
    };
    for (filter, want) in [
        (
            ListUsers::default(),
            &["alice", "bob", "carol", "frank", "dave", "erin"][..],
        ),
        (
            ListUsers {
                group: Some("sales".to_owned()),
                ..ListUsers::default()
            },
            &["alice", "dave"],
        ),
        (
            ListUsers {
                group: Some("support".to_owned()),
                ..ListUsers::default()
            },
            &["alice", "bob"],
        ),
        // `_` is a literal, not a wildcard; names match whole.
        (
            ListUsers {
                group: Some("sales_eu".to_owned()),
                ..ListUsers::default()
            },
            &["carol"],
        ),
        (
            ListUsers {
                group: Some("sale".to_owned()),
                ..ListUsers::default()
            },
            &[],
        ),
        (
            ListUsers {
                group: Some("sales".to_owned()),
                domain: Some("EXAMPLE.NET".to_owned()),
                ..ListUsers::default()
            },
            &["dave"],
        ),
        (
            ListUsers {
                search: Some("a".to_owned()),
                group: Some("support".to_owned()),
                ..ListUsers::default()
            },
            &["alice"],
        ),
    ] {
        assert_eq!(
            names(store.list_users(&filter).await.expect("list")),
            want,
            "{filter:?}"
        );
        // The count ignores the page.
        let paged = ListUsers {
            limit: 1,
            offset: 1,
            ..filter.clone()
        };
        assert_eq!(
            store.count_users(&paged).await.expect("count"),
            want.len() as u64,
            "{filter:?}"
        );
    }
    store.close().await;
}

pub(crate) async fn user_directory_lists_everyone_without_secrets(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.user_directory().await.expect("directory"), []);
    store
        .create_user(&NewUser {
            extension: Some("201".to_owned()),
            context: Some("internal".to_owned()),
            groups: strings(&["sales"]),
            call_allow: strings(&["_2XX"]),
            call_deny: strings(&["_900."]),
            ..new_user("zoe", "example.com")
        })
        .await
        .expect("create");
    store
        .create_user(&NewUser {
            enabled: false,
            ..new_user("adam", "example.net")
        })
        .await
        .expect("create");
    store
        .create_user(&new_user("adam", "example.com"))
        .await
        .expect("create");
    let directory = store.user_directory().await.expect("directory");
    let entry = |username: &str, domain: &str, enabled| DirectoryEntry {
        username: username.to_owned(),
        domain: domain.to_owned(),
        extension: None,
        context: None,
        groups: Vec::new(),
        call_allow: Vec::new(),
        call_deny: Vec::new(),
        enabled,
    };
    assert_eq!(
        directory,
        [
            entry("adam", "example.com", true),
            DirectoryEntry {
                extension: Some("201".to_owned()),
                context: Some("internal".to_owned()),
                groups: strings(&["sales"]),
                call_allow: strings(&["_2XX"]),
                call_deny: strings(&["_900."]),
                ..entry("zoe", "example.com", true)
            },
            entry("adam", "example.net", false),
        ]
    );
    store.close().await;
}
