//! Who may call and where calls go: trunks by source address, no open relay,
//! routes, NAT traversal towards registered devices, effects that fail,
//! shutdown, keep-alives.

mod support;

use std::time::Duration;

use sb_sip_message::{FlowId, HeaderName, Method, StatusCode, Transport};
use sb_switch::{
    CallSource, Disposition, Effect, EffectResult, HangupBy, SwitchConfig, SwitchEvent, TrunkConfig,
};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, request_text, to_addr};

fn trunk_config() -> SwitchConfig {
    let mut config = SwitchConfig::for_tests();
    config.trunks = vec![TrunkConfig {
        name: "carrier".into(),
        addresses: vec!["203.0.113.0/24".parse().unwrap()],
        context: "from-carrier".into(),
        ..TrunkConfig::default()
    }];
    config
}

fn trunk_invite(target: &str, call_id: &str) -> sb_sip_message::Request {
    request_text(
        &format!(
            "INVITE {target} SIP/2.0\n\
             Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKtrunk{call_id}\n\
             Max-Forwards: 70\n\
             From: <sip:+15550100@carrier.example>;tag=t1\n\
             To: <{target}>\n\
             Call-ID: {call_id}\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:+15550100@203.0.113.5:5060>\n\
             Content-Type: application/sdp\n"
        ),
        SDP_A,
    )
}

#[test]
fn trunk_source_skips_authentication_and_others_are_challenged() {
    let mut h = Harness::with_config(trunk_config());
    let bob = Phone::bob();
    h.register_phone(&bob);
    h.take_sent();
    // Each context marks the B leg, so the one the call started in shows.
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
actions = [{ set_header = { name = "X-Context", value = "internal" } }, { ring_user = "${to}" }]

[[context]]
name = "from-carrier"

[[context.rule]]
source = { trunk = "carrier" }
actions = [{ set_header = { name = "X-Context", value = "from-carrier ${from}" } }, { ring_user = "${to}" }]
"#,
        &["carrier"],
    ));
    let carrier = Phone::new("carrier", "", "203.0.113.5:5060", "203.0.113.5:5060");
    h.send_request(&trunk_invite("sip:bob@example.test", "tr-1"), carrier.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, carrier.addr()).1), [100]);
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Invite]);
    assert_eq!(
        to_b[0].headers.from_addr().unwrap().uri.to_string(),
        "sip:+15550100@carrier.example"
    );
    assert_eq!(
        to_b[0]
            .headers
            .get(&HeaderName::parse("X-Context"))
            .unwrap(),
        "from-carrier +15550100"
    );
    let b = Callee::new(&bob, to_b[0].clone(), "tb");
    h.send_response(&b.response(603, ""), bob.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), carrier.addr()).1), [603]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.source, CallSource::Trunk("carrier".into()));
    assert_eq!(cdr.caller, "+15550100");
    assert_eq!(cdr.caller_domain, "carrier.example");

    // The same INVITE from an unlisted address must authenticate.
    let stranger = Phone::new("x", "", "198.51.100.7:5060", "198.51.100.7:5060");
    h.send_request(&trunk_invite("sip:bob@example.test", "tr-2"), stranger.peer);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(codes(&to_addr(&sent, stranger.addr()).1), [407]);
}

#[test]
fn no_open_relay_for_foreign_domains() {
    let mut h = Harness::with_config(trunk_config());
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.take_sent();
    h.call(&alice, "sip:someone@elsewhere.test", "relay-1", SDP_A);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100, 404]);
    let carrier = Phone::new("carrier", "", "203.0.113.5:5060", "203.0.113.5:5060");
    h.send_request(
        &trunk_invite("sip:someone@elsewhere.test", "relay-2"),
        carrier.peer,
    );
    let sent = h.take_sent();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(codes(&to_addr(&sent, carrier.addr()).1), [100, 404]);
    // Unauthenticated and not a trunk: challenged, nothing else.
    let stranger = Phone::new("x", "", "198.51.100.7:5060", "198.51.100.7:5060");
    h.send_request(
        &trunk_invite("sip:someone@elsewhere.test", "relay-3"),
        stranger.peer,
    );
    assert_eq!(
        h.response().status,
        StatusCode::PROXY_AUTHENTICATION_REQUIRED
    );
    assert!(
        h.effects
            .iter()
            .all(|(_, e)| !matches!(e, Effect::MediaOffer { .. }))
    );
}

#[test]
fn reject_steps_and_unmatched_numbers() {
    let mut h = Harness::new();
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.take_sent();
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "0800"
actions = [{ reject = { code = 486, reason = "Closed" } }]

"#,
        &[],
    ));
    h.call(&alice, "sip:0800@example.test", "rt-1", SDP_A);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 486]);
    assert_eq!(to_a[1].reason, "Closed");
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Busy, HangupBy::System)
    );
    // Nothing matches: 404.
    h.call(&alice, "sip:42@example.test", "rt-2", SDP_A);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 404]);
    assert_eq!(h.cdrs().pop().unwrap().disposition, Disposition::Failed);
    assert!(
        h.effects
            .iter()
            .all(|(_, e)| !matches!(e, Effect::MediaOffer { .. }))
    );
}

#[test]
fn invites_go_where_the_device_registered_from() {
    let mut h = Harness::new();
    let alice = Phone::alice();
    // Behind NAT: the Contact names the device's own address, packets come
    // from the NAT's mapping.
    let bob = Phone::new("bob", "hunter2", "192.0.2.70:40123", "192.0.2.99:5060");
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.take_sent();
    h.call(&alice, "sip:bob@example.test", "nat-1", SDP_A);
    let sent = h.take_sent();
    let invites: Vec<_> = sent
        .iter()
        .filter(
            |(_, m)| matches!(m, sb_sip_message::Message::Request(r) if r.method == Method::Invite),
        )
        .collect();
    assert_eq!(invites.len(), 1);
    let (dest, sb_sip_message::Message::Request(invite)) = invites[0] else {
        unreachable!("filtered requests")
    };
    assert_eq!(dest.remote, "192.0.2.70:40123".parse().unwrap());
    assert_eq!(invite.uri.to_string(), "sip:bob@192.0.2.99:5060");

    // Over TCP, the registration's connection is reused.
    let mut tcp = Phone::new(
        "carol2",
        "pw2",
        "192.0.2.71:50000",
        "192.0.2.71:5060;transport=tcp",
    );
    tcp.peer.transport = Transport::Tcp;
    tcp.peer.flow = Some(FlowId(7));
    h.users.insert(
        ("carol2".into(), "example.test".into()),
        ("pw2".into(), true),
    );
    h.register_phone(&tcp);
    h.take_sent();
    h.call(&alice, "sip:carol2@example.test", "nat-2", SDP_A);
    let sent = h.take_sent();
    let (dest, invite) = sent
        .iter()
        .find_map(|(d, m)| match m {
            sb_sip_message::Message::Request(r) if d.remote == tcp.addr() => Some((d, r)),
            _ => None,
        })
        .expect("an INVITE over the TCP flow");
    assert_eq!(dest.flow, Some(FlowId(7)));
    assert_eq!(dest.transport, Transport::Tcp);
    assert!(
        invite
            .headers
            .get(&HeaderName::Via)
            .unwrap()
            .starts_with("SIP/2.0/TCP ")
    );
    assert_eq!(
        invite.headers.get(&HeaderName::Contact).unwrap(),
        "<sip:192.0.2.10:5060;transport=tcp>"
    );
}

#[test]
fn shutdown_ends_live_calls_with_cdrs() {
    let mut h = Harness::new();
    h.users.insert(
        ("carol2".into(), "example.test".into()),
        ("pw2".into(), true),
    );
    let alice = Phone::alice();
    let bob = Phone::bob();
    let carol = Phone::new("carol2", "pw2", "192.0.2.62:5060", "192.0.2.62:5060");
    for p in [&alice, &bob, &carol] {
        h.register_phone(p);
    }
    h.take_sent();
    // alice → bob answered; carol → alice ringing.
    let mut a = h.call(&alice, "sip:bob@example.test", "sd-1", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "sb");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    h.take_sent();
    h.call(&carol, "sip:alice@example.test", "sd-2", SDP_A);
    let sent = h.take_sent();
    let ca = Callee::new(&alice, to_addr(&sent, alice.addr()).0[0].clone(), "ca");
    h.send_response(&ca.response(180, ""), alice.peer);
    h.take_sent();
    assert_eq!(h.switch.calls().count(), 2);

    let unix = h.unix_ms();
    h.switch.shutdown(h.now, unix);
    h.drain();
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Bye]);
    let (to_alice, responses_to_alice) = to_addr(&sent, alice.addr());
    assert_eq!(methods(&to_alice), [Method::Bye, Method::Cancel]);
    assert!(responses_to_alice.is_empty());
    assert_eq!(codes(&to_addr(&sent, carol.addr()).1), [503]);
    let cdrs = h.cdrs();
    assert_eq!(cdrs.len(), 2);
    assert!(cdrs.iter().all(|c| c.hangup_by == HangupBy::System));
    assert_eq!(cdrs[0].disposition, Disposition::Answered);
    assert_eq!(
        (cdrs[1].disposition, cdrs[1].sip_status),
        (Disposition::Failed, StatusCode::SERVICE_UNAVAILABLE)
    );
    assert_eq!(h.switch.calls().count(), 0);
    // New calls are refused.
    let invite = Harness::invite_text(&alice, "sip:bob@example.test", "sd-3", 1, "", SDP_A);
    h.send_request(&invite, alice.peer);
    assert_eq!(h.response().status, StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn media_timeout_fails_the_call() {
    let mut h = Harness::new();
    h.auto_media = false;
    let alice = Phone::alice();
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.take_sent();
    h.call(&alice, "sip:bob@example.test", "mt-1", SDP_A);
    let sent = h.take_sent();
    assert!(
        to_addr(&sent, bob.addr()).0.is_empty(),
        "the INVITE waits for the offer"
    );
    assert!(
        h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::MediaOffer { .. }))
    );
    h.advance(Duration::from_secs(2));
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [503]);
    assert!(to_addr(&sent, bob.addr()).0.is_empty());
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::EffectFailed { .. }))
    );
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Failed, HangupBy::System)
    );
    // The late result changes nothing.
    let (token, _) = h
        .effects
        .iter()
        .find(|(_, e)| matches!(e, Effect::MediaOffer { .. }))
        .cloned()
        .unwrap();
    let unix = h.unix_ms();
    h.switch
        .handle_effect_result(h.now, unix, token, EffectResult::Media(SDP_A.into()));
    h.drain();
    assert!(h.take_sent().is_empty());
}

#[test]
fn a_cdr_that_cannot_be_written_is_reported_with_its_record() {
    let mut h = Harness::new();
    h.auto_cdr = false;
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.take_sent();
    h.call(&alice, "sip:nobody@example.test", "cdr-1", SDP_A);
    h.take_sent();
    h.call(&alice, "sip:nobody@example.test", "cdr-2", SDP_A);
    let tokens: Vec<_> = h
        .effects
        .iter()
        .filter(|(_, e)| matches!(e, Effect::WriteCdr(_)))
        .map(|(t, _)| *t)
        .collect();
    assert_eq!(tokens.len(), 2);
    let unix = h.unix_ms();
    h.switch.handle_effect_result(
        h.now,
        unix,
        tokens[0],
        EffectResult::Failed {
            reason: "disk full".into(),
        },
    );
    h.drain();
    h.advance(Duration::from_secs(30));
    let failed: Vec<(&str, &str)> = h
        .events
        .iter()
        .filter_map(|e| match e {
            SwitchEvent::CdrWriteFailed { record, reason } => {
                Some((record.call_id.as_str(), reason.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2);
    assert_eq!(failed[0], ("cdr-1", "disk full"));
    assert_eq!(failed[1].0, "cdr-2");
    assert_eq!(h.switch.stats().cdr_write_failures, 2);
}

#[test]
fn max_forwards_zero_gets_483_and_a_parked_invite_can_be_cancelled() {
    let mut h = Harness::new();
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.take_sent();
    let mut invite = Harness::invite_text(&alice, "sip:bob@example.test", "mf-0", 1, "", SDP_A);
    invite.headers.set(HeaderName::MaxForwards, "0");
    h.send_request(&invite, alice.peer);
    assert_eq!(h.response().status, StatusCode::TOO_MANY_HOPS);

    // The credential lookup of alice's INVITE is outstanding when she cancels.
    h.invalidate_for_test();
    h.auto_effects = false;
    let a = h.call_unanswered_lookup(&alice, "sip:bob@example.test", "mf-1");
    h.send_request(&a.cancel(), alice.peer);
    let mut got = codes(&to_addr(&h.take_sent(), alice.addr()).1);
    got.sort_unstable();
    assert_eq!(got, [200, 487]);
    // The lookup's result arrives: nothing more happens.
    h.auto_effects = true;
    h.answer_pending_lookups();
    assert!(h.take_sent().is_empty());
    assert_eq!(h.switch.stats().calls_attempted, 0);
}

#[test]
fn keepalives_go_to_udp_devices_that_ask() {
    let mut config = SwitchConfig::for_tests();
    config.calls.keepalive_interval = Some(Duration::from_secs(15));
    let mut h = Harness::with_config(config);
    let outbound = Phone::new("alice", "secret", "192.0.2.80:6000", "192.0.2.80:6000;ob");
    let plain = Phone::bob();
    h.register_phone(&outbound);
    h.register_phone(&plain);
    h.take_sent();
    h.advance(Duration::from_secs(15));
    let sent: Vec<_> = h.sent.drain(..).collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0.remote, outbound.addr());
    assert_eq!(&sent[0].1[..], b"\r\n\r\n");
    h.advance(Duration::from_secs(15));
    assert_eq!(h.sent.drain(..).count(), 1);
    assert_eq!(h.switch.stats().keepalives, 2);
}

#[test]
fn a_user_over_the_per_user_call_limit_gets_503_until_a_call_ends() {
    let mut config = SwitchConfig::for_tests();
    config.calls.max_calls_per_user = 2;
    let mut h = Harness::with_config(config);
    let alice = Phone::alice();
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.take_sent();
    let first = h.call(&alice, "sip:bob@example.test", "pu-1", SDP_A);
    h.take_sent();
    h.call(&alice, "sip:bob@example.test", "pu-2", SDP_A);
    h.take_sent();
    assert_eq!(h.switch.calls().count(), 2);

    // A third call while two ring: refused before routing, nobody rings.
    h.call(&alice, "sip:bob@example.test", "pu-3", SDP_A);
    let sent = h.take_sent();
    let (_, to_alice) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_alice), [503]);
    assert_eq!(
        to_alice[0]
            .headers
            .get(&HeaderName::RetryAfter)
            .map(|v| v.as_str()),
        Some("5")
    );
    assert!(to_addr(&sent, bob.addr()).0.is_empty());
    assert_eq!(h.switch.calls().count(), 2);

    // Another user is not affected by alice's count.
    h.call(&bob, "sip:alice@example.test", "pu-4", SDP_A);
    assert_eq!(h.switch.calls().count(), 3);
    h.take_sent();

    // Once one of alice's calls ends, she may call again.
    h.send_request(&first.cancel(), alice.peer);
    h.take_sent();
    assert_eq!(h.switch.calls().count(), 2);
    h.call(&alice, "sip:bob@example.test", "pu-5", SDP_A);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Invite]);
    assert_eq!(h.switch.calls().count(), 3);
}
