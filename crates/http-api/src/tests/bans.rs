//! `/api/bans`: listing the server's bans and lifting them.

use axum::http::Method;
use serde_json::json;

use super::Harness;
use super::schema::assert_documented;
use crate::live::{Ban, BanKind, BanReason};

fn ban(kind: BanKind, key: &str, reason: BanReason, drops: u64) -> Ban {
    Ban {
        kind,
        key: key.to_owned(),
        reason,
        since_unix_ms: 1_700_000_000_000,
        expires_unix_ms: 1_700_000_300_000,
        drops,
    }
}

async fn harness_with_bans() -> Harness {
    let h = Harness::new().await;
    *h.live.bans.lock().unwrap() = vec![
        ban(BanKind::Source, "192.0.2.66", BanReason::Rate, 5_000),
        ban(BanKind::Source, "2001:db8:1:2::/64", BanReason::Auth, 0),
        ban(BanKind::User, "alice", BanReason::Auth, 3),
    ];
    h
}

#[tokio::test]
async fn admins_list_bans_as_documented() {
    let h = harness_with_bans().await;
    let admin = h.admin_token().await;
    let list = h.get("/api/bans", &admin).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert_documented(&Method::GET, "/api/bans", &list);
    assert_eq!(
        list.json()[0],
        json!({
            "kind": "source",
            "key": "192.0.2.66",
            "reason": "rate",
            "since": "2023-11-14T22:13:20.000Z",
            "expires": "2023-11-14T22:18:20.000Z",
            "drops": 5000,
        })
    );
    assert_eq!(list.json()[2]["kind"], "user");
    // A SIP user may not see them.
    let user = h.user_session(&admin, "bob").await;
    h.get("/api/bans", &user)
        .await
        .assert_error(403, "forbidden", None);
}

#[tokio::test]
async fn a_ban_is_lifted_once_by_kind_and_key() {
    let h = harness_with_bans().await;
    let admin = h.admin_token().await;
    let delete = |path: &'static str| h.call(Method::DELETE, path, Some(&admin), None);
    let lifted = delete("/api/bans/source/192.0.2.66").await;
    assert_eq!(lifted.status, 204, "{}", lifted.text());
    assert_documented(&Method::DELETE, "/api/bans/{kind}/{key}", &lifted);
    let again = delete("/api/bans/source/192.0.2.66").await;
    again.assert_error(404, "not_found", None);
    assert_documented(&Method::DELETE, "/api/bans/{kind}/{key}", &again);
    // An IPv6 source as listed (its /64, percent-encoded), a user name in any case.
    assert_eq!(
        delete("/api/bans/source/2001:db8:1:2::%2F64").await.status,
        204
    );
    assert_eq!(delete("/api/bans/user/ALICE").await.status, 204);
    assert!(h.live.bans.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_malformed_kind_or_key_is_refused() {
    let h = harness_with_bans().await;
    let admin = h.admin_token().await;
    for (path, field) in [
        ("/api/bans/trunk/carrier", "kind"),
        ("/api/bans/source/192.0.2.0%2F24", "key"),
        ("/api/bans/source/example.com", "key"),
    ] {
        let reply = h.call(Method::DELETE, path, Some(&admin), None).await;
        reply.assert_error(400, "invalid_field", Some(field));
        assert_documented(&Method::DELETE, "/api/bans/{kind}/{key}", &reply);
    }
    assert_eq!(h.live.bans.lock().unwrap().len(), 3, "nothing lifted");
}
