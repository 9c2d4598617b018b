//! Groups, ACLs and trunks: validation, conflicts, write-only passwords, configuration
//! trunks, and the rollback when the server refuses a change.

use std::sync::atomic::Ordering;

use axum::http::Method;
use serde_json::{Value, json};

use super::Harness;
use super::schema::assert_documented;

/// Stored ACLs and trunks, to compare before and after a request.
async fn config_state(h: &Harness) -> (Vec<sb_store::Acl>, Vec<sb_store::StoredTrunk>) {
    let acls = h.store.list_acls().await.unwrap();
    let trunks = h.store.list_trunks().await.unwrap();
    (acls, trunks)
}

/// Ignores `updated_at` (a rollback rewrites the row with the old values).
fn without_times(
    state: (Vec<sb_store::Acl>, Vec<sb_store::StoredTrunk>),
) -> (Vec<sb_store::Acl>, Vec<sb_store::StoredTrunk>) {
    let (mut acls, mut trunks) = state;
    acls.iter_mut().for_each(|a| a.updated_at_unix_ms = 0);
    trunks.iter_mut().for_each(|t| t.updated_at_unix_ms = 0);
    (acls, trunks)
}

#[tokio::test]
async fn groups_round_trip_with_member_counts() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let created = h
        .call(Method::POST, "/api/groups", Some(&admin), Some(json!({ "name": "sales", "context": "internal", "allow": ["_0."], "deny": ["_0900."] })))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_documented(&Method::POST, "/api/groups", &created);
    assert_eq!(h.live.users_changed.load(Ordering::SeqCst), 1);
    h.create_user(
        &admin,
        json!({ "username": "alice", "password": "secret-pw", "groups": ["sales"] }),
    )
    .await;

    let list = h.get("/api/groups", &admin).await;
    assert_documented(&Method::GET, "/api/groups", &list);
    assert_eq!(list.json()[0]["members"], 1);
    h.call(
        Method::POST,
        "/api/groups",
        Some(&admin),
        Some(json!({ "name": "sales" })),
    )
    .await
    .assert_error(409, "conflict", None);
    h.call(
        Method::POST,
        "/api/groups",
        Some(&admin),
        Some(json!({ "name": "x", "allow": ["ok", "_["] })),
    )
    .await
    .assert_error(400, "invalid_field", Some("allow[1]"));
    h.call(
        Method::POST,
        "/api/groups",
        Some(&admin),
        Some(json!({ "context": "x" })),
    )
    .await
    .assert_error(400, "missing_field", Some("name"));

    let replaced = h
        .call(
            Method::PUT,
            "/api/groups/sales",
            Some(&admin),
            Some(json!({ "description": "Sales team" })),
        )
        .await;
    assert_documented(&Method::PUT, "/api/groups/{name}", &replaced);
    let replaced = replaced.json();
    assert_eq!(
        (replaced["description"].clone(), replaced["allow"].clone()),
        (json!("Sales team"), json!([]))
    );
    h.call(
        Method::PUT,
        "/api/groups/sales",
        Some(&admin),
        Some(json!({ "name": "other" })),
    )
    .await
    .assert_error(400, "invalid_field", Some("name"));
    h.call(
        Method::PUT,
        "/api/groups/none",
        Some(&admin),
        Some(json!({})),
    )
    .await
    .assert_error(404, "not_found", None);
    let one = h.get("/api/groups/sales", &admin).await;
    assert_documented(&Method::GET, "/api/groups/{name}", &one);
    assert_eq!(
        h.call(Method::DELETE, "/api/groups/sales", Some(&admin), None)
            .await
            .status,
        204
    );
    h.get("/api/groups/sales", &admin)
        .await
        .assert_error(404, "not_found", None);
}

#[tokio::test]
async fn acls_validate_every_cidr_and_report_their_users() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let before = config_state(&h).await;
    let bad = h
        .call(
            Method::POST,
            "/api/acls",
            Some(&admin),
            Some(json!({ "name": "office", "cidrs": ["192.0.2.0/24", "192.0.2.0/33", "x"] })),
        )
        .await;
    bad.assert_error(400, "invalid_field", Some("cidrs[1]"));
    assert_documented(&Method::POST, "/api/acls", &bad);
    assert_eq!(config_state(&h).await, before);
    assert_eq!(h.live.trunks_changed.load(Ordering::SeqCst), 0);

    let created = h
        .call(Method::POST, "/api/acls", Some(&admin), Some(json!({ "name": "office", "description": "HQ", "cidrs": ["192.0.2.0/24", "2001:db8::1"] })))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_documented(&Method::POST, "/api/acls", &created);
    h.call(
        Method::POST,
        "/api/acls",
        Some(&admin),
        Some(json!({ "name": "office", "cidrs": [] })),
    )
    .await
    .assert_error(409, "conflict", None);

    let trunk = h
        .call(
            Method::POST,
            "/api/trunks",
            Some(&admin),
            Some(json!({ "name": "carrier", "gateway": "sip.example.net:5060", "acl": "office" })),
        )
        .await;
    assert_eq!(trunk.status, 201, "{}", trunk.text());
    let acl = h.get("/api/acls/office", &admin).await;
    assert_documented(&Method::GET, "/api/acls/{name}", &acl);
    assert_eq!(acl.json()["used_by"], json!(["trunk:carrier"]));
    let list = h.get("/api/acls", &admin).await;
    assert_documented(&Method::GET, "/api/acls", &list);
    h.call(Method::DELETE, "/api/acls/office", Some(&admin), None)
        .await
        .assert_error(409, "conflict", None);

    let replaced = h
        .call(
            Method::PUT,
            "/api/acls/office",
            Some(&admin),
            Some(json!({ "cidrs": ["198.51.100.0/24"] })),
        )
        .await;
    assert_eq!(replaced.status, 200);
    assert_documented(&Method::PUT, "/api/acls/{name}", &replaced);
    h.call(
        Method::PUT,
        "/api/acls/office",
        Some(&admin),
        Some(json!({ "cidrs": ["1.2.3.4/40"] })),
    )
    .await
    .assert_error(400, "invalid_field", Some("cidrs[0]"));
    assert_eq!(
        h.call(Method::DELETE, "/api/trunks/carrier", Some(&admin), None)
            .await
            .status,
        204
    );
    assert_eq!(
        h.call(Method::DELETE, "/api/acls/office", Some(&admin), None)
            .await
            .status,
        204
    );
}

#[tokio::test]
async fn trunk_passwords_are_write_only() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let body = json!({
        "name": "carrier", "gateway": "sip.example.net", "transport": "tcp", "addresses": ["198.51.100.7"],
        "username": "acct-17", "password": "s3cret-trunk", "register": true, "register_expires": 600,
    });
    let created = h
        .call(Method::POST, "/api/trunks", Some(&admin), Some(body))
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_documented(&Method::POST, "/api/trunks", &created);
    assert!(!created.text().contains("s3cret-trunk"));
    let trunk = created.json();
    assert_eq!(
        (trunk["password_set"].clone(), trunk["source"].clone()),
        (json!(true), json!("api"))
    );
    assert_eq!(trunk["state"]["registration"], "unregistered");
    assert_eq!(trunk["context"], "from-trunk");

    // PUT without a password keeps it; null clears it.
    let kept = h
        .call(Method::PUT, "/api/trunks/carrier", Some(&admin), Some(json!({ "gateway": "sip.example.net:5080", "username": "acct-17", "register": true })))
        .await;
    assert_eq!(kept.status, 200, "{}", kept.text());
    assert_documented(&Method::PUT, "/api/trunks/{name}", &kept);
    let stored = h.store.get_trunk("carrier").await.unwrap().unwrap();
    assert_eq!(stored.password.as_deref(), Some("s3cret-trunk"));
    assert_eq!(stored.transport, "udp", "PUT replaces every other field");
    let cleared = h
        .call(
            Method::PUT,
            "/api/trunks/carrier",
            Some(&admin),
            Some(json!({ "password": null })),
        )
        .await;
    assert_eq!(cleared.json()["password_set"], false);

    let list = h.get("/api/trunks", &admin).await;
    assert_documented(&Method::GET, "/api/trunks", &list);
    let list = list.json();
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["carrier", "carrier-file"]);
    assert!(!list.to_string().contains("s3cret"));
    let file = h.get("/api/trunks/carrier-file", &admin).await;
    assert_documented(&Method::GET, "/api/trunks/{name}", &file);
    assert_eq!(file.json()["source"], "config");
    assert_eq!(file.json()["state"]["expires_in"], 1800);
}

#[tokio::test]
async fn trunk_validation_and_configuration_trunks() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let before = config_state(&h).await;
    let post = |body: Value| h.call(Method::POST, "/api/trunks", Some(&admin), Some(body));
    let cases: Vec<(Value, u16, &str, Option<&str>)> = vec![
        (json!({ "name": "carrier-file" }), 409, "conflict", None),
        (
            json!({ "name": "t", "gateway": "gw:99999" }),
            400,
            "invalid_field",
            Some("gateway"),
        ),
        (
            json!({ "name": "t", "transport": "sctp" }),
            400,
            "invalid_field",
            Some("transport"),
        ),
        (
            json!({ "name": "t", "addresses": ["192.0.2.1", "192.0.2.0/99"] }),
            400,
            "invalid_field",
            Some("addresses[1]"),
        ),
        (
            json!({ "name": "t", "acl": "missing" }),
            400,
            "invalid_field",
            Some("acl"),
        ),
        (
            json!({ "name": "t", "register": true, "gateway": "gw.example.net" }),
            400,
            "invalid_field",
            Some("username"),
        ),
        (
            json!({ "name": "t", "register_expires": 5 }),
            400,
            "invalid_field",
            Some("register_expires"),
        ),
        (
            json!({ "name": "t", "from_domain": "a b" }),
            400,
            "invalid_field",
            Some("from_domain"),
        ),
        (
            json!({ "name": "t", "secret": "x" }),
            400,
            "unknown_field",
            Some("secret"),
        ),
        (
            json!({ "gateway": "gw.example.net" }),
            400,
            "missing_field",
            Some("name"),
        ),
    ];
    for (body, status, code, field) in cases {
        let reply = post(body).await;
        reply.assert_error(status, code, field);
        assert_documented(&Method::POST, "/api/trunks", &reply);
    }
    h.call(
        Method::PUT,
        "/api/trunks/carrier-file",
        Some(&admin),
        Some(json!({})),
    )
    .await
    .assert_error(409, "conflict", None);
    h.call(
        Method::DELETE,
        "/api/trunks/carrier-file",
        Some(&admin),
        None,
    )
    .await
    .assert_error(409, "conflict", None);
    h.call(Method::DELETE, "/api/trunks/none", Some(&admin), None)
        .await
        .assert_error(404, "not_found", None);
    assert_eq!(config_state(&h).await, before);
    assert_eq!(h.live.trunks_changed.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_change_the_server_refuses_is_rolled_back() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let created = h
        .call(
            Method::POST,
            "/api/trunks",
            Some(&admin),
            Some(json!({ "name": "carrier", "gateway": "sip.example.net", "password": "pw-1" })),
        )
        .await;
    assert_eq!(created.status, 201);
    h.call(
        Method::POST,
        "/api/acls",
        Some(&admin),
        Some(json!({ "name": "office", "cidrs": ["192.0.2.0/24"] })),
    )
    .await;
    let before = without_times(config_state(&h).await);
    *h.live.refuse_trunks.lock().unwrap() = Some("cannot resolve gw.invalid".to_owned());

    let requests = [
        (
            Method::POST,
            "/api/trunks",
            Some(json!({ "name": "second", "gateway": "gw.invalid" })),
        ),
        (
            Method::PUT,
            "/api/trunks/carrier",
            Some(json!({ "gateway": "gw.invalid" })),
        ),
        (Method::DELETE, "/api/trunks/carrier", None),
        (
            Method::POST,
            "/api/acls",
            Some(json!({ "name": "lab", "cidrs": ["198.51.100.0/24"] })),
        ),
        (
            Method::PUT,
            "/api/acls/office",
            Some(json!({ "cidrs": [] })),
        ),
        (Method::DELETE, "/api/acls/office", None),
    ];
    for (method, path, body) in requests {
        let reply = h.call(method.clone(), path, Some(&admin), body).await;
        reply.assert_error(400, "invalid_field", None);
        assert!(
            reply.text().contains("cannot resolve gw.invalid"),
            "{}",
            reply.text()
        );
        assert_eq!(
            without_times(config_state(&h).await),
            before,
            "{method} {path} was not rolled back"
        );
    }
    assert_eq!(
        h.store
            .get_trunk("carrier")
            .await
            .unwrap()
            .unwrap()
            .password
            .as_deref(),
        Some("pw-1")
    );
}
