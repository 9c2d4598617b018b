//! Administrator accounts and auth tokens.

use sb_store::{AuthToken, NewToken, StoreError, TOKEN_USE_RESOLUTION_MS, TokenKind, TokenSubject};

use crate::{Harness, NOW, new_user};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
const OTHER_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b3RoZXJzYWx0$b3RoZXJoYXNoaGFzaA";

fn admin(name: &str) -> TokenSubject {
    TokenSubject::Admin {
        name: name.to_owned(),
    }
}

fn user(username: &str, domain: &str) -> TokenSubject {
    TokenSubject::User {
        username: username.to_owned(),
        domain: domain.to_owned(),
    }
}

fn token(fill: u8, subject: TokenSubject, expires: Option<i64>) -> NewToken {
    NewToken {
        token_hash: [fill; 32],
        subject,
        kind: TokenKind::Session,
        name: None,
        expires_at_unix_ms: expires,
    }
}

fn ids(tokens: &[AuthToken]) -> Vec<i64> {
    tokens.iter().map(|t| t.id).collect()
}

pub(crate) async fn admin_crud(h: &Harness) {
    let store = h.open().await;
    assert_eq!(store.list_admins().await.expect("list"), []);
    let root = store.create_admin("root", HASH).await.expect("create");
    assert_eq!(
        (root.name.as_str(), root.password_hash.as_str()),
        ("root", HASH)
    );
    assert!(root.enabled && root.created_at_unix_ms > 0);
    assert!(
        !format!("{root:?}").contains("argon2"),
        "Debug redacts the hash"
    );
    assert_eq!(
        store.get_admin("root").await.expect("get"),
        Some(root.clone())
    );
    assert_eq!(store.get_admin("Root").await.expect("get"), None);
    let err = store
        .create_admin("root", OTHER_HASH)
        .await
        .expect_err("dup");
    assert!(
        matches!(&err, StoreError::Conflict { what: "admin", key, used_by: None } if key == "root"),
        "{err:?}"
    );
    let ops = store.create_admin("ops", HASH).await.expect("create");
    assert_eq!(
        store.list_admins().await.expect("list"),
        [ops, root.clone()],
        "ordered by name"
    );

    store
        .set_admin_password("root", OTHER_HASH)
        .await
        .expect("set password");
    store
        .set_admin_enabled("root", false)
        .await
        .expect("disable");
    let changed = store.get_admin("root").await.expect("get").expect("exists");
    assert_eq!(changed.password_hash, OTHER_HASH);
    assert!(!changed.enabled);
    assert_eq!(changed.created_at_unix_ms, root.created_at_unix_ms);
    for err in [
        store
            .set_admin_password("nobody", HASH)
            .await
            .expect_err("missing"),
        store
            .set_admin_enabled("nobody", true)
            .await
            .expect_err("missing"),
        store.delete_admin("nobody").await.expect_err("missing"),
    ] {
        assert!(
            matches!(&err, StoreError::NotFound { what: "admin", key } if key == "nobody"),
            "{err:?}"
        );
    }
    for err in [
        store.create_admin("", HASH).await.expect_err("empty name"),
        store.create_admin("x", "").await.expect_err("empty hash"),
    ] {
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    }
    store.delete_admin("root").await.expect("delete");
    assert_eq!(store.get_admin("root").await.expect("get"), None);
    store.close().await;
}

pub(crate) async fn tokens_find_list_and_revoke(h: &Harness) {
    let store = h.open().await;
    store.create_admin("root", HASH).await.expect("admin");
    store
        .create_user(&new_user("alice", "example.com"))
        .await
        .expect("user");

    let session = store
        .create_token(&token(1, admin("root"), Some(NOW + 3_600_000)))
        .await
        .expect("session");
    assert_eq!(session.subject, admin("root"));
    assert_eq!(session.kind, TokenKind::Session);
    assert_eq!(session.expires_at_unix_ms, Some(NOW + 3_600_000));
    assert_eq!(session.last_used_at_unix_ms, None);
    let api = store
        .create_token(&NewToken {
            kind: TokenKind::Api,
            name: Some("monitoring".to_owned()),
            ..token(2, admin("root"), None)
        })
        .await
        .expect("api token");
    let alice = store
        .create_token(&token(3, user("alice", "EXAMPLE.com"), Some(NOW + 1_000)))
        .await
        .expect("user session");
    assert_eq!(
        alice.subject,
        user("alice", "example.com"),
        "domain lower-case"
    );
    assert!(session.id != api.id && api.id != alice.id);

    // Unknown subjects and a reused hash are refused.
    let err = store
        .create_token(&token(4, admin("nobody"), None))
        .await
        .expect_err("no admin");
    assert!(
        matches!(err, StoreError::NotFound { what: "admin", .. }),
        "{err:?}"
    );
    let err = store
        .create_token(&token(4, user("bob", "example.com"), None))
        .await
        .expect_err("no user");
    assert!(
        matches!(err, StoreError::NotFound { what: "user", .. }),
        "{err:?}"
    );
    let err = store
        .create_token(&token(1, admin("root"), None))
        .await
        .expect_err("same hash");
    assert!(
        matches!(err, StoreError::Conflict { what: "token", .. }),
        "{err:?}"
    );

    // Found by hash; the use is recorded at its resolution.
    let found = store
        .find_token(&[2; 32], NOW)
        .await
        .expect("find")
        .expect("valid");
    assert_eq!(found.id, api.id);
    assert_eq!(found.name.as_deref(), Some("monitoring"));
    assert_eq!(found.last_used_at_unix_ms, Some(NOW));
    let soon = NOW + TOKEN_USE_RESOLUTION_MS - 1;
    let again = store
        .find_token(&[2; 32], soon)
        .await
        .expect("find")
        .expect("valid");
    assert_eq!(
        again.last_used_at_unix_ms,
        Some(NOW),
        "not rewritten within the resolution"
    );
    let later = NOW + TOKEN_USE_RESOLUTION_MS;
    let again = store
        .find_token(&[2; 32], later)
        .await
        .expect("find")
        .expect("valid");
    assert_eq!(again.last_used_at_unix_ms, Some(later));
    assert_eq!(store.find_token(&[9; 32], NOW).await.expect("find"), None);

    // Expiry: valid while now < expires_at.
    let user_token = store
        .find_token(&[3; 32], NOW + 999)
        .await
        .expect("find")
        .expect("valid");
    assert_eq!(user_token.subject, user("alice", "example.com"));
    assert_eq!(
        store.find_token(&[3; 32], NOW + 1_000).await.expect("find"),
        None
    );
    assert_eq!(
        store.find_token(&[3; 32], NOW + 5_000).await.expect("find"),
        None
    );

    // Listing per subject, expired ones included, oldest first.
    assert_eq!(
        ids(&store.list_tokens(&admin("root")).await.expect("list")),
        [session.id, api.id]
    );
    let alices = store
        .list_tokens(&user("alice", "Example.COM"))
        .await
        .expect("list");
    assert_eq!(ids(&alices), [alice.id]);
    assert_eq!(alices[0].last_used_at_unix_ms, Some(NOW + 999));
    assert_eq!(store.list_tokens(&admin("nobody")).await.expect("list"), []);

    // Purge removes exactly the expired ones.
    assert_eq!(
        store
            .purge_expired_tokens(NOW + 1_000)
            .await
            .expect("purge"),
        1
    );
    assert_eq!(
        store
            .purge_expired_tokens(NOW + 1_000)
            .await
            .expect("purge"),
        0
    );
    assert_eq!(
        store
            .list_tokens(&user("alice", "example.com"))
            .await
            .expect("list"),
        []
    );

    // Revoking.
    assert!(store.delete_token_by_hash(&[1; 32]).await.expect("logout"));
    assert!(!store.delete_token_by_hash(&[1; 32]).await.expect("logout"));
    assert_eq!(store.find_token(&[1; 32], NOW).await.expect("find"), None);
    store.delete_token(api.id).await.expect("revoke");
    let err = store.delete_token(api.id).await.expect_err("gone");
    assert!(
        matches!(err, StoreError::NotFound { what: "token", .. }),
        "{err:?}"
    );
    assert_eq!(store.list_tokens(&admin("root")).await.expect("list"), []);
    store.close().await;
}

pub(crate) async fn tokens_go_with_their_admin_or_user(h: &Harness) {
    let store = h.open().await;
    store.create_admin("root", HASH).await.expect("admin");
    store.create_admin("ops", HASH).await.expect("admin");
    for (username, domain) in [("alice", "example.com"), ("alice", "example.net")] {
        store
            .create_user(&new_user(username, domain))
            .await
            .expect("user");
    }
    let subjects = [
        admin("root"),
        admin("ops"),
        user("alice", "example.com"),
        user("alice", "example.net"),
    ];
    for (i, subject) in subjects.iter().enumerate() {
        for j in 0..2u8 {
            let fill = u8::try_from(i).expect("small") * 2 + j + 1;
            store
                .create_token(&token(fill, subject.clone(), None))
                .await
                .expect("token");
        }
    }
    store.delete_admin("root").await.expect("delete admin");
    store
        .delete_user("alice", "example.com")
        .await
        .expect("delete user");
    for (fill, alive) in [
        (1, false),
        (2, false),
        (3, true),
        (4, true),
        (5, false),
        (6, false),
        (7, true),
        (8, true),
    ] {
        let found = store.find_token(&[fill; 32], NOW).await.expect("find");
        assert_eq!(found.is_some(), alive, "token {fill}");
    }
    assert_eq!(
        store.list_tokens(&admin("ops")).await.expect("list").len(),
        2
    );
    assert_eq!(
        store
            .list_tokens(&user("alice", "example.net"))
            .await
            .expect("list")
            .len(),
        2
    );
    // Re-created accounts of the same name start without tokens.
    store.create_admin("root", HASH).await.expect("admin again");
    store
        .create_user(&new_user("alice", "example.com"))
        .await
        .expect("user again");
    assert_eq!(store.list_tokens(&admin("root")).await.expect("list"), []);
    assert_eq!(
        store
            .list_tokens(&user("alice", "example.com"))
            .await
            .expect("list"),
        []
    );
    assert_eq!(
        h.scalar("SELECT COUNT(*) FROM auth_tokens").await,
        4,
        "only hashes of the surviving subjects remain"
    );
    store.close().await;
}
