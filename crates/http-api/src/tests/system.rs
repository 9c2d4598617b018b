//! Health, metrics, security headers, the console and the fallbacks.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header};
use sb_store::Acl;

use super::schema::assert_documented;
use super::{Harness, Reply};
use crate::ApiConfig;
use crate::live::MetricsSnapshot;

#[track_caller]
fn assert_security_headers(reply: &Reply, no_store: bool) {
    let h = &reply.headers;
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'self'")
    );
    assert_eq!(
        h.get(header::CACHE_CONTROL)
            .is_some_and(|v| v == "no-store"),
        no_store
    );
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    assert_security_headers(&h.get("/api/users", &admin).await, true);
    assert_security_headers(&h.call(Method::GET, "/api/me", None, None).await, true);
    assert_security_headers(&h.call(Method::GET, "/healthz", None, None).await, true);
    let console = h.call(Method::GET, "/", None, None).await;
    assert_security_headers(&console, false);
    let missing = h.call(Method::GET, "/nowhere", None, None).await;
    missing.assert_error(404, "not_found", None);
    assert_security_headers(&missing, false);
    let api_missing = h.get("/api/nowhere", &admin).await;
    api_missing.assert_error(404, "not_found", None);
    assert_security_headers(&api_missing, true);
    let wrong_method = h.call(Method::PUT, "/api/users", Some(&admin), None).await;
    wrong_method.assert_error(405, "method_not_allowed", None);
}

#[tokio::test]
async fn the_console_is_served_from_embedded_files() {
    let h = Harness::new().await;
    let index = h.call(Method::GET, "/", None, None).await;
    assert_eq!(index.status, 200);
    assert_eq!(
        index.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(index.text().contains("<html"), "{}", index.text());
    assert_documented(&Method::GET, "/", &index);
    let script = h.call(Method::GET, "/assets/app.js", None, None).await;
    assert_eq!(
        script.headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        &script.body[..],
        crate::embedded::find(&crate::console::FILES, "app.js")
            .unwrap()
            .content
    );
    let css = h.call(Method::GET, "/assets/app.css", None, None).await;
    assert_eq!(css.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    let missing = h.call(Method::GET, "/assets/secret.txt", None, None).await;
    missing.assert_error(404, "not_found", None);
    assert_documented(&Method::GET, "/assets/{file}", &missing);
    h.call(Method::GET, "/assets/..%2FCargo.toml", None, None)
        .await
        .assert_error(404, "not_found", None);
}

#[tokio::test]
async fn health_reports_the_server_state() {
    let h = Harness::with_config(ApiConfig {
        node: Some("node-a".to_owned()),
        ..ApiConfig::default()
    })
    .await;
    let ok = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(ok.status, 200);
    assert_documented(&Method::GET, "/healthz", &ok);
    assert_eq!(ok.json()["status"], "ok");
    assert_eq!(ok.json()["node"], "node-a");
    *h.live.healthy.lock().unwrap() = false;
    let down = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(down.status, 503);
    assert_documented(&Method::GET, "/healthz", &down);
    assert_eq!(down.json()["checks"][0]["detail"], "timed out");
}

#[tokio::test]
async fn readiness_is_ready_with_the_node_and_its_checks() {
    let h = Harness::with_config(ApiConfig {
        node: Some("node-a".to_owned()),
        ..ApiConfig::default()
    })
    .await;
    let ready = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status, 200);
    assert_documented(&Method::GET, "/readyz", &ready);
    assert_security_headers(&ready, true);
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(ready.json()["node"], "node-a");
    let checks = ready.json()["checks"].clone();
    assert_eq!(checks[0]["name"], "database");
    assert_eq!(checks[1]["name"], "draining");
    assert_eq!(checks[1]["ok"], true);
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_down() {
    let h = Harness::new().await;
    *h.live.healthy.lock().unwrap() = false;
    let down = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(down.status, 503);
    assert_documented(&Method::GET, "/readyz", &down);
    assert_eq!(down.json()["status"], "not_ready");
    assert_eq!(down.json()["checks"][0]["ok"], false);
    assert_eq!(down.json()["checks"][0]["detail"], "timed out");
    assert!(down.json().get("node").is_none(), "{}", down.text());
}

#[tokio::test]
async fn readiness_fails_while_draining_but_liveness_holds() {
    let h = Harness::new().await;
    *h.live.draining.lock().unwrap() = true;
    let draining = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(draining.status, 503);
    assert_documented(&Method::GET, "/readyz", &draining);
    assert_eq!(draining.json()["status"], "not_ready");
    assert_eq!(draining.json()["checks"][0]["ok"], true);
    assert_eq!(draining.json()["checks"][1]["name"], "draining");
    assert_eq!(draining.json()["checks"][1]["detail"], "shutting down");
    let alive = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.json()["status"], "ok");
    *h.live.draining.lock().unwrap() = false;
    let back = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(back.status, 200);
}

#[tokio::test]
async fn metrics_render_the_snapshot_and_http_counts() {
    let h = Harness::with_config(ApiConfig {
        node: Some("node-a".to_owned()),
        ..ApiConfig::default()
    })
    .await;
    *h.live.metrics.lock().unwrap() = MetricsSnapshot {
        registrations: 4,
        active_calls: 2,
        sip_responses: vec![(401, 9)],
        trunk_registered: vec![("carrier-file".to_owned(), true)],
        ..MetricsSnapshot::default()
    };
    h.call(Method::GET, "/api/me", None, None).await; // one 401
    let reply = h.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = reply.text();
    for line in [
        "# TYPE switchboard_registrations gauge",
        "switchboard_registrations{node=\"node-a\"} 4",
        "switchboard_active_calls{node=\"node-a\"} 2",
        "switchboard_sip_responses_total{node=\"node-a\",code=\"401\"} 9",
        "switchboard_trunk_registered{node=\"node-a\",trunk=\"carrier-file\"} 1",
        "switchboard_http_requests_total{node=\"node-a\",code=\"401\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}

#[tokio::test]
async fn the_metrics_acl_restricts_sources() {
    let h = Harness::with_config(ApiConfig {
        metrics_acl: Some("monitoring".to_owned()),
        ..ApiConfig::default()
    })
    .await;
    let from = |addr: &str| {
        let mut request = Request::get("/metrics").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(addr.parse::<SocketAddr>().unwrap()));
        h.send(request)
    };
    // No such ACL yet: nobody.
    let refused = from("192.0.2.5:9000").await;
    refused.assert_error(403, "forbidden", None);
    assert_documented(&Method::GET, "/metrics", &refused);
    h.store
        .create_acl(&Acl {
            name: "monitoring".to_owned(),
            description: None,
            cidrs: vec!["192.0.2.5".to_owned()],
            updated_at_unix_ms: 0,
        })
        .await
        .unwrap();
    assert_eq!(from("192.0.2.5:9000").await.status, 200);
    from("192.0.2.6:9000")
        .await
        .assert_error(403, "forbidden", None);
}
