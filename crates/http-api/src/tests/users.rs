//! SIP users through the API: SIP-ready secrets, validation, the error shapes, and that a
//! failed request changes nothing.

use std::sync::atomic::Ordering;

use axum::http::Method;
use sb_sip_auth::{Algorithm, compute_ha1};
use sb_store::ListUsers;
use serde_json::{Value, json};

use super::schema::assert_documented;
use super::{DOMAIN, Harness};

/// Everything the store holds about users, to compare before and after a request.
async fn users_state(h: &Harness) -> (i64, Vec<sb_store::User>) {
    let generation = h.store.users_generation().await.unwrap();
    let users = h.store.list_users(&ListUsers::default()).await.unwrap();
    (generation, users)
}

#[tokio::test]
async fn a_created_user_can_authenticate_over_sip_at_once() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let reply = h
        .call(
            Method::POST,
            "/api/users",
            Some(&admin),
            Some(json!({
                "username": "alice", "password": "alice-secret", "display_name": "Alice",
                "extension": "201", "groups": ["sales"], "context": "internal",
                "allow": ["_00.", "911"], "deny": ["_0900."]
            })),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_documented(&Method::POST, "/api/users", &reply);
    let body = reply.json();
    assert_eq!(body["domain"], DOMAIN);
    assert_eq!(body["allow"], json!(["_00.", "911"]));
    assert!(body.get("password").is_none() && !reply.text().contains("alice-secret"));
    assert_eq!(h.live.users_changed.load(Ordering::SeqCst), 1);

    let creds = h.store.credentials("alice", DOMAIN).await.unwrap().unwrap();
    let md5 = compute_ha1(Algorithm::Md5, "alice", DOMAIN, "alice-secret");
    let sha = compute_ha1(Algorithm::Sha256, "alice", DOMAIN, "alice-secret");
    assert_eq!(creds.ha1_md5.as_hex(), md5.expose_hex());
    assert_eq!(creds.ha1_sha256.as_hex(), sha.expose_hex());
    assert!(creds.enabled);
}

#[tokio::test]
async fn invalid_requests_answer_the_error_shape_and_change_nothing() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    h.create_user(
        &admin,
        json!({ "username": "alice", "password": "alice-secret", "extension": "201" }),
    )
    .await;
    let before = users_state(&h).await;
    let changes_before = h.live.users_changed.load(Ordering::SeqCst);

    let post = |body: Value| h.call(Method::POST, "/api/users", Some(&admin), Some(body));
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (
            json!({ "username": "alice", "password": "other-secret" }),
            409,
            "conflict",
            None,
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "extension": "201" }),
            409,
            "conflict",
            Some("extension"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "nickname": "b" }),
            400,
            "unknown_field",
            Some("nickname"),
        ),
        (
            json!({ "password": "bob-secret" }),
            400,
            "missing_field",
            Some("username"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "enabled": "yes" }),
            400,
            "invalid_field",
            Some("enabled"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "groups": ["ok", 5] }),
            400,
            "invalid_field",
            Some("groups[1]"),
        ),
        (
            json!({ "username": "bob", "password": "short" }),
            400,
            "invalid_field",
            Some("password"),
        ),
        (
            json!({ "username": "b b", "password": "bob-secret" }),
            400,
            "invalid_field",
            Some("username"),
        ),
        (
            json!({ "username": "bob", "domain": "bad domain", "password": "bob-secret" }),
            400,
            "invalid_field",
            Some("domain"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "extension": "12a" }),
            400,
            "invalid_field",
            Some("extension"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "allow": ["_00.", "_1["] }),
            400,
            "invalid_field",
            Some("allow[1]"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "deny": [""] }),
            400,
            "invalid_field",
            Some("deny[0]"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "groups": ["a", "a"] }),
            400,
            "invalid_field",
            Some("groups[1]"),
        ),
        (
            json!({ "username": "bob", "password": "bob-secret", "context": "no spaces" }),
            400,
            "invalid_field",
            Some("context"),
        ),
    ];
    for (body, status, code, field) in cases {
        let reply = post(body.clone()).await;
        reply.assert_error(status, code, field);
        assert_documented(&Method::POST, "/api/users", &reply);
    }

    let malformed = h
        .raw(
            Method::POST,
            "/api/users",
            &admin,
            Some("application/json"),
            "{\n \"username\": \"bob\",\n}",
        )
        .await;
    malformed.assert_error(400, "malformed_json", None);
    let message = malformed.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("line 3, column 1"), "{message}");
    let plain = h
        .raw(Method::POST, "/api/users", &admin, Some("text/plain"), "{}")
        .await;
    plain.assert_error(415, "unsupported_media_type", None);
    assert_documented(&Method::POST, "/api/users", &plain);
    h.raw(Method::POST, "/api/users", &admin, None, "{}")
        .await
        .assert_error(415, "unsupported_media_type", None);

    let patch = async |user: &str, body: Value| {
        h.call(
            Method::PATCH,
            &format!("/api/users/{user}"),
            Some(&admin),
            Some(body),
        )
        .await
    };
    patch("alice", json!({ "extension": "1".repeat(16) }))
        .await
        .assert_error(400, "invalid_field", Some("extension"));
    patch("alice", json!({ "deny": ["_9X", "_["] }))
        .await
        .assert_error(400, "invalid_field", Some("deny[1]"));
    patch("alice", json!({ "username": "alicia" }))
        .await
        .assert_error(400, "unknown_field", Some("username"));
    patch("nobody", json!({ "enabled": false }))
        .await
        .assert_error(404, "not_found", None);

    assert_eq!(
        users_state(&h).await,
        before,
        "a failed request changed the store"
    );
    assert_eq!(h.live.users_changed.load(Ordering::SeqCst), changes_before);
}

#[tokio::test]
async fn users_are_read_changed_and_deleted() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    for (name, group) in [("alice", "sales"), ("bob", "support"), ("carol", "sales")] {
        h.create_user(
            &admin,
            json!({ "username": name, "password": "secret-pw", "groups": [group] }),
        )
        .await;
    }
    h.create_user(
        &admin,
        json!({ "username": "alice", "domain": "branch.example.com", "password": "secret-pw" }),
    )
    .await;

    let page = h.get("/api/users?group=sales&limit=1", &admin).await;
    assert_documented(&Method::GET, "/api/users", &page);
    let page = page.json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let all = h.get("/api/users?search=ALI", &admin).await.json();
    assert_eq!(all["total"], 2, "{all}");
    h.get("/api/users?limit=0", &admin)
        .await
        .assert_error(400, "invalid_field", Some("limit"));
    h.get("/api/users?colour=red", &admin)
        .await
        .assert_error(400, "unknown_field", Some("colour"));

    let one = h.get("/api/users/alice@branch.example.com", &admin).await;
    assert_documented(&Method::GET, "/api/users/{user}", &one);
    assert_eq!(one.json()["domain"], "branch.example.com");
    assert_eq!(
        h.get("/api/users/alice", &admin).await.json()["domain"],
        DOMAIN
    );
    h.get("/api/users/nobody", &admin)
        .await
        .assert_error(404, "not_found", None);
    h.get("/api/users/bad%20name", &admin).await.assert_error(
        400,
        "invalid_field",
        Some("username"),
    );

    let changed = h
        .call(
            Method::PATCH,
            "/api/users/alice",
            Some(&admin),
            Some(json!({ "extension": "301", "display_name": "Alice A.", "context": "vip", "password": "new-secret" })),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text());
    assert_documented(&Method::PATCH, "/api/users/{user}", &changed);
    assert_eq!(changed.json()["extension"], "301");
    let creds = h.store.credentials("alice", DOMAIN).await.unwrap().unwrap();
    let md5 = compute_ha1(Algorithm::Md5, "alice", DOMAIN, "new-secret");
    assert_eq!(creds.ha1_md5.as_hex(), md5.expose_hex());
    // null (or "") clears; absent keeps.
    let cleared = h
        .call(
            Method::PATCH,
            "/api/users/alice",
            Some(&admin),
            Some(json!({ "extension": null, "context": "" })),
        )
        .await
        .json();
    assert_eq!(
        (cleared["extension"].clone(), cleared["context"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(cleared["display_name"], "Alice A.");

    let changes = h.live.users_changed.load(Ordering::SeqCst);
    let deleted = h
        .call(Method::DELETE, "/api/users/alice", Some(&admin), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_eq!(h.live.users_changed.load(Ordering::SeqCst), changes + 1);
    h.call(Method::DELETE, "/api/users/alice", Some(&admin), None)
        .await
        .assert_error(404, "not_found", None);
    assert!(
        h.store
            .get_user("alice", "branch.example.com")
            .await
            .unwrap()
            .is_some()
    );
}
