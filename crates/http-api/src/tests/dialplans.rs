//! Dialplans (through the fake server), their versions, route tests, and live state:
//! registrations and calls.

use axum::http::Method;
use serde_json::json;

use super::fake::registration;
use super::schema::assert_documented;
use super::{ADMIN, Harness};

#[tokio::test]
async fn saving_a_plan_that_does_not_compile_answers_422_with_details() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let content = "[[context]]\nname = \"office\"\nerror = 1\n";
    let reply = h
        .call(
            Method::PUT,
            "/api/dialplans/office",
            Some(&admin),
            Some(json!({ "content": content })),
        )
        .await;
    reply.assert_error(422, "invalid_dialplan", None);
    assert_documented(&Method::PUT, "/api/dialplans/{name}", &reply);
    assert_eq!(
        reply.json()["error"]["details"],
        json!([{ "file": "office.toml", "line": 3, "column": 1, "message": "unknown key `error`" }])
    );
    h.get("/api/dialplans/office", &admin)
        .await
        .assert_error(404, "not_found", None);
    assert!(
        h.store
            .list_dialplan_versions("office")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn plans_are_saved_versioned_and_restored() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let save = async |content: &str, query: &str| {
        let path = format!("/api/dialplans/office{query}");
        h.call(
            Method::PUT,
            &path,
            Some(&admin),
            Some(json!({ "content": content })),
        )
        .await
    };
    let dry = save("first", "?dry_run=true").await;
    assert_eq!(
        dry.json(),
        json!({ "name": "office", "version": 0, "applied": false })
    );
    assert_documented(&Method::PUT, "/api/dialplans/{name}", &dry);
    assert_eq!(
        save("first", "").await.json(),
        json!({ "name": "office", "version": 1, "applied": true })
    );
    assert_eq!(save("second", "").await.json()["version"], 2);
    save("x", "?dry_run=maybe")
        .await
        .assert_error(400, "invalid_field", Some("dry_run"));
    save("x", "?force=1")
        .await
        .assert_error(400, "unknown_field", Some("force"));

    let list = h.get("/api/dialplans", &admin).await;
    assert_documented(&Method::GET, "/api/dialplans", &list);
    assert_eq!(list.json()[1]["size"], 6);
    let one = h.get("/api/dialplans/office", &admin).await;
    assert_documented(&Method::GET, "/api/dialplans/{name}", &one);
    assert_eq!(one.json()["content"], "second");
    h.get("/api/dialplans/..", &admin)
        .await
        .assert_error(400, "invalid_field", Some("name"));

    let versions = h.get("/api/dialplans/office/versions", &admin).await;
    assert_documented(&Method::GET, "/api/dialplans/{name}/versions", &versions);
    let versions = versions.json();
    assert_eq!(versions[0]["version"], 2);
    assert_eq!(versions[1]["author"], ADMIN);
    let v1 = h.get("/api/dialplans/office/versions/1", &admin).await;
    assert_documented(
        &Method::GET,
        "/api/dialplans/{name}/versions/{version}",
        &v1,
    );
    assert_eq!(v1.json()["content"], "first");
    h.get("/api/dialplans/office/versions/9", &admin)
        .await
        .assert_error(404, "not_found", None);
    h.get("/api/dialplans/office/versions/x", &admin)
        .await
        .assert_error(400, "invalid_field", Some("version"));

    let restored = h
        .call(
            Method::POST,
            "/api/dialplans/office/versions/1/restore",
            Some(&admin),
            None,
        )
        .await;
    assert_documented(
        &Method::POST,
        "/api/dialplans/{name}/versions/{version}/restore",
        &restored,
    );
    assert_eq!(
        restored.json(),
        json!({ "name": "office", "version": 3, "applied": true })
    );
    assert_eq!(
        h.get("/api/dialplans/office", &admin).await.json()["content"],
        "first"
    );

    // Deleting what the rest needs is refused with the diagnostics.
    let refused = h
        .call(Method::DELETE, "/api/dialplans/default", Some(&admin), None)
        .await;
    refused.assert_error(422, "invalid_dialplan", None);
    assert_documented(&Method::DELETE, "/api/dialplans/{name}", &refused);
    assert_eq!(
        h.call(Method::DELETE, "/api/dialplans/office", Some(&admin), None)
            .await
            .status,
        204
    );
    h.call(Method::DELETE, "/api/dialplans/office", Some(&admin), None)
        .await
        .assert_error(404, "not_found", None);
}

#[tokio::test]
async fn route_tests_reach_the_server() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let reply = h
        .call(
            Method::POST,
            "/api/dialplans/test",
            Some(&admin),
            Some(json!({ "from": "alice", "to": "201", "source": "user:alice", "at": "2023-11-14T22:13:20Z" })),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_documented(&Method::POST, "/api/dialplans/test", &reply);
    assert_eq!(reply.json()["outcome"], "ring user 201");
    let seen = h.live.route_tests.lock().unwrap()[0].clone();
    assert_eq!(seen.at_unix_ms, Some(1_700_000_000_000));
    assert_eq!(seen.source.as_deref(), Some("user:alice"));
    for (body, field) in [
        (
            json!({ "from": "a", "to": "1", "source": "phone:x" }),
            "source",
        ),
        (json!({ "from": "a", "to": "1", "at": "soon" }), "at"),
        (json!({ "from": "a", "to": "" }), "to"),
    ] {
        h.call(
            Method::POST,
            "/api/dialplans/test",
            Some(&admin),
            Some(body),
        )
        .await
        .assert_error(400, "invalid_field", Some(field));
    }
}

#[tokio::test]
async fn registrations_are_filtered_and_removed() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    h.live
        .registrations
        .lock()
        .unwrap()
        .push(registration("alice", "branch.example.com", "b3"));
    let all = h.get("/api/registrations", &admin).await;
    assert_documented(&Method::GET, "/api/registrations", &all);
    assert_eq!(all.json().as_array().unwrap().len(), 3);
    let alice = h.get("/api/registrations?user=alice", &admin).await.json();
    assert_eq!(alice.as_array().unwrap().len(), 1);
    assert_eq!(alice[0]["binding_id"], "b1");
    let branch = h
        .get("/api/registrations?user=alice@branch.example.com", &admin)
        .await
        .json();
    assert_eq!(branch[0]["binding_id"], "b3");
    h.get("/api/registrations?user=a%20b", &admin)
        .await
        .assert_error(400, "invalid_field", Some("user"));

    // A SIP user sees its own AOR only, whatever it asks for.
    let bob = h.user_session(&admin, "bob").await;
    let own = h.get("/api/registrations", &bob).await.json();
    assert_eq!(own.as_array().unwrap().len(), 1);
    assert_eq!(own[0]["user"], "bob");
    assert_eq!(
        h.get("/api/registrations?user=alice", &bob).await.json(),
        json!([])
    );

    let removed = h
        .call(
            Method::DELETE,
            "/api/registrations/sip%3Aalice%40example.com/b1",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204);
    let again = h
        .call(
            Method::DELETE,
            "/api/registrations/sip%3Aalice%40example.com/b1",
            Some(&admin),
            None,
        )
        .await;
    again.assert_error(404, "not_found", None);
    assert_documented(
        &Method::DELETE,
        "/api/registrations/{aor}/{binding_id}",
        &again,
    );
}

#[tokio::test]
async fn calls_are_listed_and_hung_up() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let calls = h.get("/api/calls", &admin).await;
    assert_documented(&Method::GET, "/api/calls", &calls);
    let calls = calls.json();
    assert_eq!(calls[0]["duration"], 65.5);
    assert_eq!(calls[0]["started_at"], "2023-11-14T22:13:20.000Z");
    let id = calls[0]["id"].as_str().unwrap().replace('@', "%40");
    assert_eq!(
        h.call(
            Method::DELETE,
            &format!("/api/calls/{id}"),
            Some(&admin),
            None
        )
        .await
        .status,
        204
    );
    let gone = h
        .call(
            Method::DELETE,
            &format!("/api/calls/{id}"),
            Some(&admin),
            None,
        )
        .await;
    gone.assert_error(404, "not_found", None);
    assert_documented(&Method::DELETE, "/api/calls/{id}", &gone);
}
