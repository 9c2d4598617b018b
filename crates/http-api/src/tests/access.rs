//! Authentication and authorization: tokens, roles, the admin ACL, login limits.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use sb_store::Acl;
use serde_json::json;

use super::schema::assert_documented;
use super::{ADMIN, ADMIN_PASSWORD, DOMAIN, Harness, cheap_hash};
use crate::ApiConfig;
use crate::routes::Access;

/// A concrete path for a route template.
fn concrete(template: &str) -> String {
    template
        .replace("{aor}", "sip%3Aalice%40example.com")
        .replace("{id}", "1")
        .replace("{version}", "1")
        .replace("{file}", "app.js")
        .replace(['{', '}'], "")
}

#[tokio::test]
async fn every_protected_route_needs_a_token() {
    let h = Harness::new().await;
    let protected: Vec<_> = h
        .routes
        .iter()
        .filter(|r| r.access != Access::Public)
        .collect();
    assert!(protected.len() > 40, "{} protected routes", protected.len());
    for route in &h.routes {
        if route.path.starts_with("/api") && route.path != "/api/login" {
            assert_ne!(
                route.access,
                Access::Public,
                "{} {}",
                route.method,
                route.path
            );
        }
    }
    let expired = "sbs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for route in protected {
        let path = concrete(route.path);
        for token in [None, Some(expired), Some("not-a-token")] {
            let reply = h
                .call(route.method.clone(), &path, token, Some(json!({})))
                .await;
            reply.assert_error(401, "unauthorized", None);
            assert_eq!(reply.headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_documented(&route.method, route.path, &reply);
        }
    }
}

#[tokio::test]
async fn a_sip_user_gets_403_on_every_admin_route() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let alice = h.user_session(&admin, "alice").await;
    for route in h.routes.iter().filter(|r| r.access == Access::Admin) {
        let reply = h
            .call(
                route.method.clone(),
                &concrete(route.path),
                Some(&alice),
                Some(json!({})),
            )
            .await;
        reply.assert_error(403, "forbidden", None);
        assert_documented(&route.method, route.path, &reply);
    }
    // What a SIP user may do.
    let me = h.get("/api/me", &alice).await;
    assert_eq!(
        me.json(),
        json!({ "role": "user", "name": "alice", "domain": DOMAIN })
    );
    assert_documented(&Method::GET, "/api/me", &me);
    let logout = h
        .call(Method::POST, "/api/logout", Some(&alice), None)
        .await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    h.get("/api/me", &alice)
        .await
        .assert_error(401, "unauthorized", None);
}

#[tokio::test]
async fn login_answers_and_failures() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let me = h.get("/api/me", &admin).await;
    assert_eq!(me.json(), json!({ "role": "admin", "name": ADMIN }));
    h.create_user(
        &admin,
        json!({ "username": "bob", "domain": "Other.Example.COM", "password": "bob-secret" }),
    )
    .await;

    let login = |username: &str, password: &str| {
        let body = json!({ "username": username, "password": password });
        h.call(Method::POST, "/api/login", None, Some(body))
    };
    let ok = login("bob@other.example.com", "bob-secret").await;
    assert_eq!(ok.status, 200);
    assert_documented(&Method::POST, "/api/login", &ok);
    let body = ok.json();
    assert_eq!(
        (body["role"].as_str(), body["domain"].as_str()),
        (Some("user"), Some("other.example.com"))
    );
    assert!(body["token"].as_str().unwrap().starts_with("sbs_"));

    // Same answer whatever was wrong.
    let mut messages = Vec::new();
    for (user, password) in [
        ("bob@other.example.com", "wrong-pass"),
        ("bob", "bob-secret"), // not at the default domain
        ("nobody@example.com", "whatever1"),
        (ADMIN, "wrong-pass"),
        ("bad user@@", "x"),
    ] {
        let reply = login(user, password).await;
        reply.assert_error(401, "unauthorized", None);
        assert_documented(&Method::POST, "/api/login", &reply);
        messages.push(reply.json()["error"]["message"].clone());
    }
    assert!(messages.iter().all(|m| *m == messages[0]), "{messages:?}");

    // A disabled user is refused and its sessions stop working.
    let session = h.login("bob@other.example.com", "bob-secret").await;
    let patch = h
        .call(
            Method::PATCH,
            "/api/users/bob@other.example.com",
            Some(&admin),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(patch.status, 200);
    login("bob@other.example.com", "bob-secret")
        .await
        .assert_error(401, "unauthorized", None);
    h.get("/api/me", &session)
        .await
        .assert_error(401, "unauthorized", None);
}

#[tokio::test]
async fn an_admin_name_wins_over_a_sip_user_of_the_same_name() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    h.create_user(
        &admin,
        json!({ "username": ADMIN, "password": "sip-password" }),
    )
    .await;
    h.call(
        Method::POST,
        "/api/login",
        None,
        Some(json!({ "username": ADMIN, "password": "sip-password" })),
    )
    .await
    .assert_error(401, "unauthorized", None);
    let token = h.login(&format!("{ADMIN}@{DOMAIN}"), "sip-password").await;
    assert_eq!(h.get("/api/me", &token).await.json()["role"], "user");
}

#[tokio::test]
async fn failed_logins_are_limited_per_source_and_per_name() {
    let config = ApiConfig {
        login_attempts: 3,
        ..ApiConfig::default()
    };
    let h = Harness::with_config(config).await;
    let from = |addr: &str, username: &str, password: &str| {
        let mut request = Request::post("/api/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                json!({ "username": username, "password": password }).to_string(),
            ))
            .unwrap();
        let addr: SocketAddr = addr.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        h.send(request)
    };
    for i in 0..3 {
        from("192.0.2.50:1000", &format!("guess{i}"), "wrong-pass")
            .await
            .assert_error(401, "unauthorized", None);
    }
    // The source is blocked, even with the right password.
    let blocked = from("192.0.2.50:1001", ADMIN, ADMIN_PASSWORD).await;
    blocked.assert_error(429, "rate_limited", None);
    assert_documented(&Method::POST, "/api/login", &blocked);
    let retry: u64 = blocked.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Another source is not.
    assert_eq!(
        from("192.0.2.51:1000", ADMIN, ADMIN_PASSWORD).await.status,
        200
    );
    // A user name is blocked from every source after its failures.
    for i in 0..3 {
        from(&format!("192.0.2.{}:1000", 60 + i), ADMIN, "wrong-pass")
            .await
            .assert_error(401, "unauthorized", None);
    }
    from("192.0.2.70:1000", ADMIN, ADMIN_PASSWORD)
        .await
        .assert_error(429, "rate_limited", None);
}

#[tokio::test]
async fn api_tokens_are_created_used_listed_and_revoked() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let created = h
        .call(
            Method::POST,
            "/api/tokens",
            Some(&admin),
            Some(json!({ "name": "monitoring", "expires_in_days": 30 })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_documented(&Method::POST, "/api/tokens", &created);
    let body = created.json();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sbt_"));
    assert!(body["expires_at"].is_string());
    // Only the hash is stored.
    let stored = h
        .store
        .list_tokens(&sb_store::TokenSubject::Admin {
            name: ADMIN.to_owned(),
        })
        .await
        .unwrap();
    assert!(
        stored
            .iter()
            .all(|t| t.name.as_deref() != Some(token.as_str()))
    );

    assert_eq!(h.get("/api/users", &token).await.status, 200);
    let list = h.get("/api/tokens", &admin).await;
    assert_documented(&Method::GET, "/api/tokens", &list);
    let list = list.json();
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "sessions are not listed: {list}"
    );
    assert_eq!(list[0]["name"], "monitoring");
    assert!(list[0]["last_used_at"].is_string(), "{list}");

    // Another admin cannot revoke it; its owner can.
    h.store
        .create_admin("ops", &cheap_hash("ops-password"))
        .await
        .unwrap();
    let ops = h.login("ops", "ops-password").await;
    let id = list[0]["id"].as_i64().unwrap();
    h.call(
        Method::DELETE,
        &format!("/api/tokens/{id}"),
        Some(&ops),
        None,
    )
    .await
    .assert_error(404, "not_found", None);
    h.call(Method::DELETE, "/api/tokens/abc", Some(&admin), None)
        .await
        .assert_error(400, "invalid_field", Some("id"));
    let revoked = h
        .call(
            Method::DELETE,
            &format!("/api/tokens/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, 204);
    h.get("/api/users", &token)
        .await
        .assert_error(401, "unauthorized", None);

    for bad in [
        json!({ "name": "x", "expires_in_days": 0 }),
        json!({ "name": "" }),
    ] {
        let reply = h
            .call(Method::POST, "/api/tokens", Some(&admin), Some(bad))
            .await;
        assert_eq!(reply.status, 400);
    }
}

#[tokio::test]
async fn sessions_expire_after_their_lifetime() {
    let config = ApiConfig {
        session_ttl: Duration::ZERO,
        ..ApiConfig::default()
    };
    let h = Harness::with_config(config).await;
    let token = h.admin_token().await;
    h.get("/api/me", &token)
        .await
        .assert_error(401, "unauthorized", None);
}

#[tokio::test]
async fn disabled_admins_lose_access_and_the_last_admin_stays() {
    let h = Harness::new().await;
    let root = h.admin_token().await;
    let created = h
        .call(
            Method::POST,
            "/api/admins",
            Some(&root),
            Some(json!({ "name": "ops", "password": "ops-password" })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_documented(&Method::POST, "/api/admins", &created);
    let ops = h.login("ops", "ops-password").await;
    h.call(
        Method::POST,
        "/api/admins",
        Some(&root),
        Some(json!({ "name": "ops", "password": "ops-password" })),
    )
    .await
    .assert_error(409, "conflict", None);
    h.call(
        Method::POST,
        "/api/admins",
        Some(&root),
        Some(json!({ "name": "x", "password": "short" })),
    )
    .await
    .assert_error(400, "invalid_field", Some("password"));

    let disabled = h
        .call(
            Method::PATCH,
            "/api/admins/ops",
            Some(&root),
            Some(json!({ "enabled": false })),
        )
        .await;
    assert_eq!(disabled.json()["enabled"], false);
    assert_documented(&Method::PATCH, "/api/admins/{name}", &disabled);
    h.get("/api/me", &ops)
        .await
        .assert_error(401, "unauthorized", None);

    // root is now the only enabled admin.
    h.call(
        Method::PATCH,
        "/api/admins/root",
        Some(&root),
        Some(json!({ "enabled": false })),
    )
    .await
    .assert_error(409, "conflict", None);
    h.call(Method::DELETE, "/api/admins/root", Some(&root), None)
        .await
        .assert_error(409, "conflict", None);
    assert_eq!(
        h.call(Method::DELETE, "/api/admins/ops", Some(&root), None)
            .await
            .status,
        204
    );
    h.call(Method::DELETE, "/api/admins/ops", Some(&root), None)
        .await
        .assert_error(404, "not_found", None);
    let list = h.get("/api/admins", &root).await;
    assert_documented(&Method::GET, "/api/admins", &list);
    assert_eq!(list.json().as_array().unwrap().len(), 1);

    // A password change through the API hashes with argon2id.
    let changed = h
        .call(
            Method::PATCH,
            "/api/admins/root",
            Some(&root),
            Some(json!({ "password": "new password 1" })),
        )
        .await;
    assert_eq!(changed.status, 200);
    let stored = h.store.get_admin(ADMIN).await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    h.login(ADMIN, "new password 1").await;
}

#[tokio::test]
async fn the_admin_acl_restricts_admin_sources() {
    let config = ApiConfig {
        admin_acl: Some("office".to_owned()),
        ..ApiConfig::default()
    };
    let h = Harness::with_config(config).await;
    // The ACL does not exist yet: no admin access at all.
    let login = h
        .call(
            Method::POST,
            "/api/login",
            None,
            Some(json!({ "username": ADMIN, "password": ADMIN_PASSWORD })),
        )
        .await;
    login.assert_error(403, "forbidden", None);
    h.store
        .create_acl(&Acl {
            name: "office".to_owned(),
            description: None,
            cidrs: vec!["192.0.2.0/28".to_owned(), "2001:db8::/32".to_owned()],
            updated_at_unix_ms: 0,
        })
        .await
        .unwrap();
    let token = h.admin_token().await; // from 192.0.2.10
    let from = |addr: &str| {
        let mut request = Request::get("/api/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
        h.send(request)
    };
    assert_eq!(from("192.0.2.14:1").await.status, 200);
    assert_eq!(from("[2001:db8::7]:1").await.status, 200);
    from("192.0.2.16:1")
        .await
        .assert_error(403, "forbidden", None);
    from("[2001:db9::1]:1")
        .await
        .assert_error(403, "forbidden", None);
    // The ACL is listed as used by the admin access and cannot be deleted.
    let acl = h.get("/api/acls/office", &token).await;
    assert_eq!(acl.json()["used_by"], json!(["admin"]));
    h.call(Method::DELETE, "/api/acls/office", Some(&token), None)
        .await
        .assert_error(409, "conflict", None);
    // SIP users are not subject to it.
    h.create_user(
        &token,
        json!({ "username": "carol", "password": "carol-secret" }),
    )
    .await;
    let mut request = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({ "username": "carol", "password": "carol-secret" }).to_string(),
        ))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo("203.0.113.9:1".parse::<SocketAddr>().unwrap()));
    assert_eq!(h.send(request).await.status, 200);
}
