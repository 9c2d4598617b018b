//! The registrar driven through the switch's public inputs, as a phone would
//! (RFC 3261 §10.3 with digest authentication).

mod support;

use std::time::Duration;

use sb_sip_auth::Algorithm;
use sb_sip_message::{FlowId, HeaderName, Peer, StatusCode, Transport};
use sb_switch::{Effect, EffectResult, RemovalReason, SwitchEvent};
use support::{Harness, contacts, peer};

#[test]
fn first_register_is_challenged_with_both_algorithms_md5_first() {
    let mut h = Harness::new();
    let text = h.register_text(
        "alice",
        "c1@192.0.2.50",
        Some("<sip:alice@192.0.2.50:5062>"),
        "",
    );
    h.deliver(&text, peer(5062));
    let sent = h.take_responses();
    assert_eq!(sent.len(), 1);
    let (dest, r) = &sent[0];
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // rport: the answer goes to the source address and port (RFC 3581 §4).
    assert_eq!(dest.remote, "192.0.2.50:5062".parse().unwrap());
    let challenges: Vec<&str> = r
        .headers
        .get_all(&HeaderName::WwwAuthenticate)
        .map(|v| v.as_str())
        .collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert!(challenges[0].contains("algorithm=MD5"), "{}", challenges[0]);
    assert!(
        challenges[1].contains("algorithm=SHA-256"),
        "{}",
        challenges[1]
    );
    assert!(
        challenges
            .iter()
            .all(|c| c.contains("realm=\"example.test\"") && c.contains("qop=\"auth\""))
    );
    let via = r.headers.top_via().unwrap();
    assert_eq!(via.rport(), Some(Some(5062)));
    assert_eq!(via.received(), Some("192.0.2.50".parse().unwrap()));
    assert!(r.headers.to_addr().unwrap().tag().is_some());
    assert_eq!(
        r.headers.get(&HeaderName::Server).unwrap(),
        "Switchboard-test"
    );
    // Nothing was looked up or stored for an unauthenticated request.
    assert!(h.effects.is_empty());
}

#[test]
fn authenticated_register_binds_and_lists_the_contact() {
    let mut h = Harness::new();
    let r = h.register(
        "alice",
        "secret",
        "c1@192.0.2.50",
        Some("<sip:alice@192.0.2.50:5062>"),
        "",
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        contacts(&r),
        vec!["<sip:alice@192.0.2.50:5062>;expires=3600"]
    );
    assert!(r.headers.get(&HeaderName::Date).unwrap().ends_with("GMT"));
    // One lookup, one write-behind.
    assert!(
        matches!(h.effects[0].1, Effect::FetchCredentials { ref username, .. } if username == "alice")
    );
    let Effect::PersistBinding(rec) = &h.effects[1].1 else {
        panic!("expected a persisted binding, got {:?}", h.effects);
    };
    assert_eq!(rec.aor.as_str(), "sip:alice@example.test");
    assert_eq!(rec.source, "192.0.2.50:5062".parse().unwrap());
    assert_eq!(rec.expires_unix_ms, support::UNIX_START + 3_600_000);
    assert_eq!(rec.user_agent.as_deref(), Some("harness/1"));
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::Registered { expires: 3600, .. }))
    );
    assert_eq!(h.switch.stats().bindings, 1);
}

#[test]
fn sha256_credentials_work_too() {
    let mut h = Harness::new();
    let text = h.register_text("bob", "c2", Some("<sip:bob@192.0.2.51>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    let auth = Harness::authorization(&challenge, Algorithm::Sha256, "bob", "hunter2", 1);
    let text = h.register_text("bob", "c2", Some("<sip:bob@192.0.2.51>"), &auth);
    h.deliver(&text, peer(5062));
    assert_eq!(h.response().status, StatusCode::OK);
}

/// Wrong password, unknown user and disabled user get the same answer:
/// a fresh 401 with the same headers (only nonce and tag differ).
#[test]
fn no_user_enumeration() {
    let mut h = Harness::new();
    let mut shapes = Vec::new();
    for (user, password) in [("alice", "wrong"), ("mallory", "whatever"), ("carol", "pw")] {
        let r = h.register(user, password, "c3", Some("<sip:x@192.0.2.52>"), "");
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}");
        let names: Vec<String> = r.headers.iter().map(|x| x.name.to_string()).collect();
        let challenges: Vec<String> = r
            .headers
            .get_all(&HeaderName::WwwAuthenticate)
            .map(|v| {
                let (head, tail) = v.split_once("nonce=\"").unwrap();
                let (_, rest) = tail.split_once('"').unwrap();
                format!("{head}{rest}")
            })
            .collect();
        shapes.push((r.reason.to_string(), names, challenges));
    }
    assert_eq!(shapes[0], shapes[1]);
    assert_eq!(shapes[0], shapes[2]);
    assert_eq!(h.switch.stats().auth_failures, 3);
    assert_eq!(h.switch.stats().bindings, 0);
    let failed: Vec<&str> = h
        .events
        .iter()
        .filter_map(|e| match e {
            SwitchEvent::AuthFailed { username, .. } => Some(username.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failed, ["alice", "mallory", "carol"]);
}

#[test]
fn expires_zero_removes_one_binding_and_star_removes_all() {
    let mut h = Harness::new();
    h.register(
        "alice",
        "secret",
        "c4",
        Some("<sip:alice@192.0.2.50:5062>"),
        "",
    );
    let r = h.register(
        "alice",
        "secret",
        "c4",
        Some("<sip:alice@192.0.2.60:5060>"),
        "",
    );
    assert_eq!(contacts(&r).len(), 2);
    let r = h.register(
        "alice",
        "secret",
        "c4",
        Some("<sip:alice@192.0.2.60:5060>;expires=0"),
        "",
    );
    assert_eq!(
        contacts(&r),
        vec!["<sip:alice@192.0.2.50:5062>;expires=3600"]
    );
    h.register("alice", "secret", "c4", Some("<sip:alice@192.0.2.61>"), "");
    let r = h.register("alice", "secret", "c4", Some("*"), "Expires: 0\n");
    assert_eq!(r.status, StatusCode::OK);
    assert!(contacts(&r).is_empty());
    assert_eq!(h.switch.stats().bindings, 0);
    let removed = h
        .effects
        .iter()
        .filter(|(_, e)| matches!(e, Effect::RemoveBinding { .. }))
        .count();
    assert_eq!(removed, 3);
    assert!(h.events.iter().any(|e| matches!(
        e,
        SwitchEvent::Unregistered {
            reason: RemovalReason::Unregistered,
            ..
        }
    )));
}

#[test]
fn star_needs_expires_zero_and_to_be_alone() {
    let mut h = Harness::new();
    let r = h.register("alice", "secret", "c5", Some("*"), "Expires: 60\n");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = h.register(
        "alice",
        "secret",
        "c5",
        Some("*, <sip:a@192.0.2.1>"),
        "Expires: 0\n",
    );
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[test]
fn too_brief_gets_423_with_min_expires() {
    let mut h = Harness::new();
    let r = h.register(
        "alice",
        "secret",
        "c6",
        Some("<sip:alice@192.0.2.50>"),
        "Expires: 10\n",
    );
    assert_eq!(r.status, StatusCode::INTERVAL_TOO_BRIEF);
    assert_eq!(r.headers.get(&HeaderName::MinExpires).unwrap(), "60");
    assert_eq!(h.switch.stats().bindings, 0);
    // Longer than the maximum is shortened, not refused.
    let r = h.register(
        "alice",
        "secret",
        "c6",
        Some("<sip:alice@192.0.2.50>;expires=99999"),
        "",
    );
    assert_eq!(contacts(&r), vec!["<sip:alice@192.0.2.50>;expires=3600"]);
}

#[test]
fn query_lists_bindings_without_changing_them() {
    let mut h = Harness::new();
    h.register(
        "alice",
        "secret",
        "c7",
        Some("<sip:alice@192.0.2.50>"),
        "Expires: 120\n",
    );
    h.advance(Duration::from_secs(20));
    let persisted_before = h.effects.len();
    let r = h.register("alice", "secret", "c7", None, "");
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(contacts(&r), vec!["<sip:alice@192.0.2.50>;expires=100"]);
    // Only the credential lookup may have happened; nothing was written.
    assert!(
        h.effects[persisted_before..]
            .iter()
            .all(|(_, e)| matches!(e, Effect::FetchCredentials { .. }))
    );
}

#[test]
fn bindings_expire_on_their_timer() {
    let mut h = Harness::new();
    h.register(
        "alice",
        "secret",
        "c8",
        Some("<sip:alice@192.0.2.50>"),
        "Expires: 60\n",
    );
    h.advance(Duration::from_secs(59));
    assert_eq!(h.switch.stats().bindings, 1);
    h.advance(Duration::from_secs(2));
    assert_eq!(h.switch.stats().bindings, 0);
    assert!(h.events.iter().any(|e| matches!(
        e,
        SwitchEvent::Unregistered {
            reason: RemovalReason::Expired,
            ..
        }
    )));
    assert!(matches!(
        h.effects.last().unwrap().1,
        Effect::RemoveBinding { .. }
    ));
}

#[test]
fn closing_a_websocket_flow_removes_its_bindings_and_a_tcp_flow_does_not() {
    let mut h = Harness::new();
    let over = |transport, flow| Peer {
        transport,
        flow: Some(FlowId(flow)),
        ..peer(50_000)
    };
    let r = h.register_from(
        over(Transport::Ws, 7),
        "alice",
        "secret",
        "ws1",
        Some("<sip:alice@df7jal23ls0d.invalid;transport=ws>"),
        "",
    );
    assert_eq!(r.status, StatusCode::OK);
    let r = h.register_from(
        over(Transport::Tcp, 8),
        "alice",
        "secret",
        "tcp1",
        Some("<sip:alice@192.0.2.50:50000;transport=tcp>"),
        "",
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(h.switch.stats().bindings, 2);

    // A phone over TCP can be reached by a new connection: its binding stays.
    h.switch.handle_flow_closed(h.now, FlowId(8));
    h.drain();
    assert_eq!(h.switch.stats().bindings, 2);
    // A browser cannot: its binding goes with the flow.
    h.switch.handle_flow_closed(h.now, FlowId(7));
    h.drain();
    assert_eq!(h.switch.stats().bindings, 1);
    assert!(h.events.iter().any(|e| matches!(
        e,
        SwitchEvent::Unregistered {
            reason: RemovalReason::FlowClosed,
            contact,
            ..
        } if contact.contains(".invalid")
    )));
    assert!(matches!(
        h.effects.last().unwrap().1,
        Effect::RemoveBinding { .. }
    ));
    // Closing it again changes nothing.
    h.switch.handle_flow_closed(h.now, FlowId(7));
    assert_eq!(h.switch.stats().bindings, 1);
}

#[test]
fn instance_and_reg_id_identify_the_binding() {
    let mut h = Harness::new();
    let inst = "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\";reg-id=1";
    let r = h.register(
        "alice",
        "secret",
        "c9",
        Some(&format!("<sip:alice@192.0.2.50:5062;transport=tcp>;{inst}")),
        "",
    );
    assert_eq!(r.status, StatusCode::OK);
    // Same instance and reg-id from a new address (new Call-ID, e.g. after a
    // reboot): replaces the old binding instead of adding one.
    let r = h.register(
        "alice",
        "secret",
        "c9b",
        Some(&format!("<sip:alice@192.0.2.70:5062;transport=tcp>;{inst}")),
        "",
    );
    let listed = contacts(&r);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(listed[0].contains("192.0.2.70"));
    assert!(
        listed[0].contains("+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-000a95a0e128>\"")
    );
    assert!(listed[0].contains("reg-id=1"));
    let Some(Effect::PersistBinding(rec)) = h
        .effects
        .iter()
        .rev()
        .map(|(_, e)| e)
        .find(|e| matches!(e, Effect::PersistBinding(_)))
        .cloned()
    else {
        panic!()
    };
    assert_eq!(
        rec.instance.as_deref(),
        Some("urn:uuid:00000000-0000-1000-8000-000a95a0e128")
    );
    assert_eq!(rec.reg_id, Some(1));
}

#[test]
fn equivalent_contact_uri_refreshes_instead_of_duplicating() {
    let mut h = Harness::new();
    h.register(
        "alice",
        "secret",
        "c10",
        Some("<sip:alice@Host.Example.Test:5062>"),
        "",
    );
    let r = h.register(
        "alice",
        "secret",
        "c10",
        Some("<sip:alice@host.example.test:5062>"),
        "",
    );
    assert_eq!(contacts(&r).len(), 1, "{:?}", contacts(&r));
}

#[test]
fn out_of_order_cseq_is_refused() {
    let mut h = Harness::new();
    h.register("alice", "secret", "c11", Some("<sip:alice@192.0.2.50>"), "");
    // Replay the same Call-ID with a lower CSeq.
    h.cseq = 0;
    let r = h.register("alice", "secret", "c11", Some("<sip:alice@192.0.2.50>"), "");
    assert_eq!(r.status, StatusCode::SERVER_INTERNAL_ERROR);
}

#[test]
fn contacts_are_limited_per_aor() {
    let mut h = Harness::new();
    for i in 0..10 {
        let r = h.register(
            "alice",
            "secret",
            "c12",
            Some(&format!("<sip:alice@192.0.2.{}>", 100 + i)),
            "",
        );
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = h.register(
        "alice",
        "secret",
        "c12",
        Some("<sip:alice@192.0.2.200>"),
        "",
    );
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(h.switch.stats().bindings, 10);
}

#[test]
fn user_may_only_register_their_own_address() {
    let mut h = Harness::new();
    // bob's credentials for alice's AOR: the digest is valid, the AOR is not his.
    let text = h.register_text("alice", "c13", Some("<sip:x@192.0.2.1>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    let auth = Harness::authorization(&challenge, Algorithm::Md5, "bob", "hunter2", 1);
    let text = h.register_text("alice", "c13", Some("<sip:x@192.0.2.1>"), &auth);
    h.deliver(&text, peer(5062));
    assert_eq!(h.response().status, StatusCode::FORBIDDEN);
}

#[test]
fn foreign_domain_is_refused_before_any_challenge() {
    let mut h = Harness::new();
    let text = "REGISTER sip:elsewhere.test SIP/2.0\n\
                Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKforeign\n\
                Max-Forwards: 70\n\
                From: <sip:alice@elsewhere.test>;tag=1\n\
                To: <sip:alice@elsewhere.test>\n\
                Call-ID: f1\n\
                CSeq: 1 REGISTER\n\
                Contact: <sip:alice@192.0.2.50>\n\
                Content-Length: 0\n\n";
    h.deliver(text, peer(5062));
    assert_eq!(h.response().status, StatusCode::FORBIDDEN);
}

#[test]
fn stale_nonce_is_answered_with_stale_true() {
    let mut h = Harness::new();
    let text = h.register_text("alice", "c14", Some("<sip:alice@192.0.2.50>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    h.advance(Duration::from_secs(400)); // nonce lifetime is 300 s
    let auth = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 1);
    let text = h.register_text("alice", "c14", Some("<sip:alice@192.0.2.50>"), &auth);
    h.deliver(&text, peer(5062));
    let r = h.response();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.headers
            .get(&HeaderName::WwwAuthenticate)
            .unwrap()
            .contains("stale=true")
    );
    // Not counted as a failure: the password was right.
    assert_eq!(h.switch.stats().auth_failures, 0);
}

#[test]
fn replayed_nonce_count_is_refused_and_increasing_counts_are_accepted() {
    let mut h = Harness::new();
    let text = h.register_text("alice", "c15", Some("<sip:alice@192.0.2.50>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    let auth1 = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 1);
    let text = h.register_text("alice", "c15", Some("<sip:alice@192.0.2.50>"), &auth1);
    h.deliver(&text, peer(5062));
    assert_eq!(h.response().status, StatusCode::OK);
    // The same nonce and count again (a new transaction): refused.
    let text = h.register_text("alice", "c15", Some("<sip:alice@192.0.2.50>"), &auth1);
    h.deliver(&text, peer(5062));
    let r = h.response();
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.headers
            .get(&HeaderName::WwwAuthenticate)
            .unwrap()
            .contains("stale=true")
    );
    // The next count with the same nonce is fine (how phones re-register).
    let auth2 = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 2);
    let text = h.register_text("alice", "c15", Some("<sip:alice@192.0.2.50>"), &auth2);
    h.deliver(&text, peer(5062));
    assert_eq!(h.response().status, StatusCode::OK);
}

#[test]
fn retransmitted_register_gets_the_same_response_and_is_processed_once() {
    let mut h = Harness::new();
    let text = h.register_text("alice", "c16", Some("<sip:alice@192.0.2.50>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    let auth = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 1);
    let text = h.register_text("alice", "c16", Some("<sip:alice@192.0.2.50>"), &auth);
    h.deliver(&text, peer(5062));
    let first = h.take_responses();
    h.deliver(&text, peer(5062));
    let again = h.take_responses();
    assert_eq!(
        first[0].1, again[0].1,
        "the retransmission gets the stored response"
    );
    assert_eq!(h.switch.stats().registrations, 1);
}

#[test]
fn credential_lookup_is_shared_and_times_out_with_503() {
    let mut h = Harness::new();
    h.auto_effects = false;
    let text = h.register_text("alice", "c17", Some("<sip:alice@192.0.2.50>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    let auth = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 1);
    let a = h.register_text("alice", "c17", Some("<sip:alice@192.0.2.50>"), &auth);
    let auth2 = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 2);
    let b = h.register_text("alice", "c17b", Some("<sip:alice@192.0.2.51>"), &auth2);
    h.deliver(&a, peer(5062));
    h.deliver(&b, peer(5062));
    assert!(h.sent.is_empty(), "both wait for the lookup");
    let fetches = h
        .effects
        .iter()
        .filter(|(_, e)| matches!(e, Effect::FetchCredentials { .. }))
        .count();
    assert_eq!(fetches, 1, "one lookup for both requests");
    h.advance(Duration::from_secs(2));
    let rs = h.take_responses();
    assert_eq!(rs.len(), 2);
    assert!(
        rs.iter()
            .all(|(_, r)| r.status == StatusCode::SERVICE_UNAVAILABLE)
    );
    assert!(
        rs.iter()
            .all(|(_, r)| r.headers.get(&HeaderName::RetryAfter).is_some())
    );
    // A late answer is ignored.
    let token = h.effects[0].0;
    let unix = h.unix_ms();
    h.switch.handle_effect_result(
        h.now,
        unix,
        token,
        EffectResult::Failed {
            reason: "late".into(),
        },
    );
    h.drain();
    assert!(h.sent.is_empty());
}

#[test]
fn failed_lookup_answers_503() {
    let mut h = Harness::new();
    h.auto_effects = false;
    let text = h.register_text("alice", "c18", Some("<sip:alice@192.0.2.50>"), "");
    h.deliver(&text, peer(5062));
    let challenge = h.response();
    let auth = Harness::authorization(&challenge, Algorithm::Md5, "alice", "secret", 1);
    let text = h.register_text("alice", "c18", Some("<sip:alice@192.0.2.50>"), &auth);
    h.deliver(&text, peer(5062));
    let token = h.effects[0].0;
    let unix = h.unix_ms();
    h.switch.handle_effect_result(
        h.now,
        unix,
        token,
        EffectResult::Failed {
            reason: "database down".into(),
        },
    );
    h.drain();
    assert_eq!(h.response().status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::EffectFailed { .. }))
    );
}

#[test]
fn cached_credentials_skip_the_lookup_and_invalidation_forgets_them() {
    let mut h = Harness::new();
    h.register("alice", "secret", "c19", Some("<sip:alice@192.0.2.50>"), "");
    h.register("alice", "secret", "c19", Some("<sip:alice@192.0.2.50>"), "");
    let fetches = |h: &Harness| {
        h.effects
            .iter()
            .filter(|(_, e)| matches!(e, Effect::FetchCredentials { .. }))
            .count()
    };
    assert_eq!(fetches(&h), 1);
    // The password changes in the database; the server is told users changed.
    h.users.insert(
        ("alice".into(), "example.test".into()),
        ("newpass".into(), true),
    );
    h.switch.invalidate_credentials();
    let r = h.register("alice", "secret", "c19", Some("<sip:alice@192.0.2.50>"), "");
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = h.register(
        "alice",
        "newpass",
        "c19",
        Some("<sip:alice@192.0.2.50>"),
        "",
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(fetches(&h), 2);
}

#[test]
fn restored_bindings_are_served_and_expire() {
    let mut h = Harness::new();
    h.register(
        "alice",
        "secret",
        "c20",
        Some("<sip:alice@192.0.2.50>"),
        "Expires: 600\n",
    );
    let Some(Effect::PersistBinding(rec)) = h
        .effects
        .iter()
        .map(|(_, e)| e)
        .find(|e| matches!(e, Effect::PersistBinding(_)))
        .cloned()
    else {
        panic!()
    };
    // A new switch (after a restart) restores the record 100 s later.
    let mut h2 = Harness::new();
    h2.advance(Duration::from_secs(100));
    let rec = *rec;
    let mut expired = rec.clone();
    expired.expires_unix_ms = support::UNIX_START + 50_000;
    let now = h2.now;
    let unix = h2.unix_ms();
    assert_eq!(h2.switch.restore_bindings(now, unix, vec![rec, expired]), 1);
    let r = h2.register("alice", "secret", "c20x", None, "");
    assert_eq!(contacts(&r), vec!["<sip:alice@192.0.2.50>;expires=500"]);
    h2.advance(Duration::from_secs(501));
    assert_eq!(h2.switch.stats().bindings, 0);
}

#[test]
fn path_is_stored_and_echoed_when_supported() {
    let mut h = Harness::new();
    let r = h.register(
        "alice",
        "secret",
        "c21",
        Some("<sip:alice@192.0.2.50>"),
        "Path: <sip:edge.example.test;lr>\nSupported: path\n",
    );
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers.get(&HeaderName::Path).unwrap(),
        "<sip:edge.example.test;lr>"
    );
}
