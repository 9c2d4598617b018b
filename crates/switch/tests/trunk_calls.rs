//! Calls out through trunks, driven byte for byte: the INVITE a carrier
//! sees, digest challenges answered, failover between trunks, CANCEL and
//! BYE across the trunk leg, the shipped dialplan's `9` prefix, and calls
//! arriving from a registered trunk.

mod support;

use std::time::Duration;

use sb_sip_auth::{Algorithm, Credentials, compute_ha1, verify};
use sb_sip_message::{HeaderName, Method, Request};
use sb_switch::{CallDestination, CallSource, Disposition, HangupBy, SwitchConfig, TrunkConfig};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, request_text, to_addr};

const PASSWORD: &str = "out-secret-9";

fn trunk(name: &str, gateway: &str) -> TrunkConfig {
    TrunkConfig {
        name: name.into(),
        addresses: vec![gateway.split(':').next().unwrap().parse().unwrap()],
        gateway: gateway.parse().unwrap(),
        username: Some("acct".into()),
        password: Some(PASSWORD.into()),
        ..TrunkConfig::default()
    }
}

/// A switch with `trunks`, alice and bob registered, routed by `plan`.
fn setup(trunks: Vec<TrunkConfig>, plan: &str) -> (Harness, Phone) {
    let names: Vec<String> = trunks.iter().map(|t| t.name.clone()).collect();
    let mut config = SwitchConfig::for_tests();
    config.trunks = trunks;
    let mut h = Harness::with_config(config);
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.register_phone(&Phone::bob());
    h.take_sent();
    h.effects.clear();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    h.switch.set_dialplan(support::dialplan(plan, &names));
    (h, alice)
}

/// A gateway answering as a UA at `addr`.
fn gateway(addr: &str) -> Phone {
    Phone::new("gw", "", addr, addr)
}

const TWO_TRUNKS: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_0."
actions = [{ trunk = { name = "first", failover = ["second"] } }]
"#;

/// The one INVITE sent to `gw` since the last call.
fn invite_to(
    sent: &[(sb_sip_message::Destination, sb_sip_message::Message)],
    gw: &Phone,
) -> Request {
    let (requests, _) = to_addr(sent, gw.addr());
    assert_eq!(methods(&requests), [Method::Invite], "{requests:?}");
    requests[0].clone()
}

#[test]
fn outbound_call_answers_the_challenge_and_relays_ack_and_bye() {
    let (mut h, alice) = setup(
        vec![TrunkConfig {
            from_domain: Some("carrier.example".into()),
            ..trunk("carrier", "203.0.113.1:5060")
        }],
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_0."
actions = [
  { set_caller_id = { name = "Example Ltd", number = "+4930123" } },
  { set_header = { name = "X-Billing", value = "${from}" } },
  { trunk = "carrier" },
]
"#,
    );
    let gw = gateway("203.0.113.1:5060");
    let mut a = h.call(&alice, "sip:015551234@example.test", "out-1", SDP_A);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100]);
    let first = invite_to(&sent, &gw);
    assert_eq!(first.uri.to_string(), "sip:015551234@203.0.113.1");
    assert_eq!(
        first.headers.get(&HeaderName::To).unwrap(),
        "<sip:015551234@203.0.113.1>"
    );
    let from = first.headers.from_addr().unwrap();
    assert_eq!(from.uri.to_string(), "sip:+4930123@carrier.example");
    assert_eq!(from.display_name.as_deref(), Some("Example Ltd"));
    assert_eq!(
        first.headers.get(&HeaderName::parse("X-Billing")).unwrap(),
        "alice"
    );
    assert_eq!(first.headers.cseq().unwrap().seq, 1);
    assert_eq!(&first.body[..], SDP_A.as_bytes());
    assert!(first.headers.get(&HeaderName::ProxyAuthorization).is_none());

    // 407: the transaction ACKs it, and the INVITE goes again with
    // credentials, the next CSeq, the same Call-ID and From tag.
    let c = Callee::new(&gw, first.clone(), "gwtag");
    h.send_response(&c.response(100, ""), gw.peer);
    let mut challenge = c.response(407, "");
    challenge.headers.push(
        HeaderName::ProxyAuthenticate,
        "Digest realm=\"carrier.example\", nonce=\"q1\", algorithm=MD5, qop=\"auth\"",
    );
    h.send_response(&challenge, gw.peer);
    let sent = h.take_sent();
    let (to_gw, _) = to_addr(&sent, gw.addr());
    assert_eq!(methods(&to_gw), [Method::Ack, Method::Invite]);
    assert!(
        to_addr(&sent, alice.addr()).1.is_empty(),
        "the caller hears nothing"
    );
    let second = to_gw[1].clone();
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(second.headers.call_id(), first.headers.call_id());
    assert_eq!(second.headers.from_addr().unwrap().tag(), from.tag());
    assert_eq!(second.uri, first.uri);
    assert_eq!(&second.body[..], SDP_A.as_bytes());
    assert_eq!(
        second.headers.get(&HeaderName::parse("X-Billing")).unwrap(),
        "alice"
    );
    let creds =
        Credentials::parse(second.headers.get(&HeaderName::ProxyAuthorization).unwrap()).unwrap();
    assert_eq!(creds.uri(), "sip:015551234@203.0.113.1");
    let ha1 = compute_ha1(Algorithm::Md5, "acct", "carrier.example", PASSWORD);
    verify(&creds, "INVITE", &ha1).expect("a valid digest");

    let c = Callee::new(&gw, second, "gwtag2");
    h.send_response(&c.response(183, SDP_B), gw.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [183]);
    h.advance(Duration::from_secs(1));
    h.send_response(&c.response(200, SDP_B), gw.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    let sent = h.take_sent();
    let (to_gw, _) = to_addr(&sent, gw.addr());
    assert_eq!(methods(&to_gw), [Method::Ack]);
    assert_eq!(to_gw[0].headers.cseq().unwrap().seq, 2);
    assert_eq!(to_gw[0].uri.to_string(), "sip:gw@203.0.113.1:5060");
    h.advance(Duration::from_secs(20));
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    let sent = h.take_sent();
    let (to_gw, _) = to_addr(&sent, gw.addr());
    assert_eq!(methods(&to_gw), [Method::Bye]);
    assert_eq!(to_gw[0].headers.cseq().unwrap().seq, 3);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.destination, CallDestination::Trunk("carrier".into()));
    assert_eq!(cdr.callee, "015551234");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.billable_ms(), 20_000);
    assert_eq!(cdr.hangup_by, HangupBy::Caller);
}

#[test]
fn a_trunk_that_fails_hands_the_call_to_the_next() {
    let (mut h, alice) = setup(
        vec![
            trunk("first", "203.0.113.1:5060"),
            trunk("second", "203.0.113.2:5080"),
        ],
        TWO_TRUNKS,
    );
    let (gw1, gw2) = (gateway("203.0.113.1:5060"), gateway("203.0.113.2:5080"));
    let trunks = h.switch.trunks();
    assert_eq!(trunks.len(), 2);
    assert!(trunks.iter().all(|t| !t.register && !t.registered));
    let mut a = h.call(&alice, "sip:0301234@example.test", "fo-1", SDP_A);
    let sent = h.take_sent();
    let first = invite_to(&sent, &gw1);
    assert!(to_addr(&sent, gw2.addr()).0.is_empty());
    let c1 = Callee::new(&gw1, first, "g1");
    h.send_response(&c1.response(100, ""), gw1.peer);
    h.send_response(&c1.response(503, ""), gw1.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, gw1.addr()).0), [Method::Ack]);
    let second = invite_to(&sent, &gw2);
    assert_eq!(second.uri.to_string(), "sip:0301234@203.0.113.2:5080");
    assert_eq!(
        second.headers.from_addr().unwrap().uri.to_string(),
        "sip:alice@203.0.113.2"
    );
    assert!(to_addr(&sent, alice.addr()).1.is_empty());
    let c2 = Callee::new(&gw2, second, "g2");
    h.send_response(&c2.response(200, SDP_B), gw2.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    // The carrier hangs up.
    let mut c2 = c2;
    h.send_request(&c2.request("BYE", "", ""), gw2.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, gw2.addr()).1), [200]);
    assert_eq!(methods(&to_addr(&sent, alice.addr()).0), [Method::Bye]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.destination, CallDestination::Trunk("second".into()));
    assert_eq!(cdr.hangup_by, HangupBy::Callee);
}

#[test]
fn no_response_fails_over_after_timer_b() {
    let (mut h, alice) = setup(
        vec![
            trunk("first", "203.0.113.1:5060"),
            trunk("second", "203.0.113.2:5060"),
        ],
        TWO_TRUNKS,
    );
    let (gw1, gw2) = (gateway("203.0.113.1:5060"), gateway("203.0.113.2:5060"));
    h.call(&alice, "sip:0301234@example.test", "to-1", SDP_A);
    invite_to(&h.take_sent(), &gw1);
    h.advance(Duration::from_millis(31_999));
    let sent = h.take_sent();
    // Retransmissions to the first gateway (RFC 3261 §17.1.1.2), nothing else.
    assert_eq!(methods(&to_addr(&sent, gw1.addr()).0).len(), 6);
    assert!(to_addr(&sent, gw2.addr()).0.is_empty());
    h.advance(Duration::from_millis(1));
    let sent = h.take_sent();
    assert_eq!(
        invite_to(&sent, &gw2).uri.to_string(),
        "sip:0301234@203.0.113.2"
    );
    // Nobody there either: the caller gets 408 once the list is exhausted.
    h.advance(Duration::from_secs(32));
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [408]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.destination, CallDestination::Trunk("second".into()));
    assert_eq!(cdr.disposition, Disposition::NoAnswer);
}

#[test]
fn refusals_end_the_step_and_a_second_challenge_fails_over() {
    let (mut h, alice) = setup(
        vec![
            trunk("first", "203.0.113.1:5060"),
            trunk("second", "203.0.113.2:5060"),
        ],
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_0."
actions = [{ trunk = { name = "first", failover = ["second"] } }, { ring_user = "bob" }]
"#,
    );
    let (gw1, gw2) = (gateway("203.0.113.1:5060"), gateway("203.0.113.2:5060"));
    let bob = Phone::bob();
    // 404 from the first trunk: no failover, the next step (bob) rings.
    h.call(&alice, "sip:0301234@example.test", "rf-1", SDP_A);
    let c1 = Callee::new(&gw1, invite_to(&h.take_sent(), &gw1), "r1");
    h.send_response(&c1.response(404, ""), gw1.peer);
    let sent = h.take_sent();
    assert!(to_addr(&sent, gw2.addr()).0.is_empty());
    let b = Callee::new(&bob, invite_to(&sent, &bob), "rb");
    h.send_response(&b.response(480, ""), bob.peer);
    // 404 from the carrier beats bob's 480.
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [404]);

    // Challenged twice by the first trunk: the second trunk is tried.
    h.call(&alice, "sip:0301234@example.test", "rf-2", SDP_A);
    let invite = invite_to(&h.take_sent(), &gw1);
    let challenge = |invite: &Request, nonce: &str| {
        let mut r = Callee::new(&gw1, invite.clone(), "r2").response(401, "");
        r.headers.push(
            HeaderName::WwwAuthenticate,
            format!("Digest realm=\"carrier.example\", nonce=\"{nonce}\", qop=\"auth\""),
        );
        r
    };
    h.send_response(&challenge(&invite, "a"), gw1.peer);
    let sent = h.take_sent();
    let (to_gw1, _) = to_addr(&sent, gw1.addr());
    assert_eq!(methods(&to_gw1), [Method::Ack, Method::Invite]);
    assert!(to_gw1[1].headers.get(&HeaderName::Authorization).is_some());
    h.send_response(&challenge(&to_gw1[1], "b"), gw1.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, gw1.addr()).0), [Method::Ack]);
    let c2 = Callee::new(&gw2, invite_to(&sent, &gw2), "r3");
    h.send_response(&c2.response(603, ""), gw2.peer);
    // 603 ends the step; bob's step is next.
    let sent = h.take_sent();
    let b = Callee::new(&bob, invite_to(&sent, &bob), "rb2");
    h.send_response(&b.response(486, ""), bob.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [603]);
}

#[test]
fn the_callers_cancel_reaches_the_trunk_leg() {
    // An inbound-only trunk (no gateway) in the list is skipped.
    let listen = TrunkConfig {
        name: "listen".into(),
        addresses: vec!["198.51.100.0/24".parse().unwrap()],
        ..TrunkConfig::default()
    };
    let (mut h, alice) = setup(
        vec![listen, trunk("first", "203.0.113.1:5060")],
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_0."
actions = [{ trunk = { name = "listen", failover = ["first"] } }]
"#,
    );
    let gw = gateway("203.0.113.1:5060");
    let a = h.call(&alice, "sip:0301234@example.test", "cx-1", SDP_A);
    let invite = invite_to(&h.take_sent(), &gw);
    let c = Callee::new(&gw, invite.clone(), "cx");
    h.send_response(&c.response(180, ""), gw.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [180]);
    h.send_request(&a.cancel(), alice.peer);
    let sent = h.take_sent();
    let mut got = codes(&to_addr(&sent, alice.addr()).1);
    got.sort_unstable();
    assert_eq!(got, [200, 487]);
    let (to_gw, _) = to_addr(&sent, gw.addr());
    assert_eq!(methods(&to_gw), [Method::Cancel]);
    assert_eq!(
        to_gw[0].headers.top_via().unwrap().branch(),
        invite.headers.top_via().unwrap().branch()
    );
    h.send_response(&c.response(487, ""), gw.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), gw.addr()).0),
        [Method::Ack]
    );
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Cancelled);
    assert_eq!(cdr.destination, CallDestination::Trunk("first".into()));
}

#[test]
fn the_shipped_plan_strips_the_nine() {
    let plan = include_str!("../../../dialplans/default.toml");
    let (mut h, alice) = setup(vec![trunk("default", "203.0.113.1:5060")], plan);
    let gw = gateway("203.0.113.1:5060");
    h.call(&alice, "sip:9015551234@example.test", "nine-1", SDP_A);
    let invite = invite_to(&h.take_sent(), &gw);
    assert_eq!(invite.uri.to_string(), "sip:015551234@203.0.113.1");
    let c = Callee::new(&gw, invite, "n1");
    h.send_response(&c.response(486, ""), gw.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [486]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.dialed.as_str(), cdr.callee.as_str()),
        ("9015551234", "015551234")
    );
    // Users by name still ring.
    h.call(&alice, "sip:bob@example.test", "nine-2", SDP_A);
    let sent = h.take_sent();
    invite_to(&sent, &Phone::bob());
}

/// An INVITE from the gateway at `gw` to `uri` with To `to`.
fn inbound(gw: &Phone, uri: &str, to: &str, call_id: &str) -> Request {
    request_text(
        &format!(
            "INVITE {uri} SIP/2.0\n\
             Via: SIP/2.0/UDP {addr};branch=z9hG4bKin{call_id}\n\
             Max-Forwards: 70\n\
             From: <sip:+15550100@carrier.example>;tag=in1\n\
             To: <{to}>\n\
             Call-ID: {call_id}\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:+15550100@{addr}>\n\
             Content-Type: application/sdp\n",
            addr = gw.addr()
        ),
        SDP_A,
    )
}

#[test]
fn trunk_calls_start_in_the_trunks_context() {
    let plan = include_str!("../../../dialplans/default.toml");
    let (mut h, _) = setup(
        vec![TrunkConfig {
            context: "from-trunk".into(),
            ..trunk("default", "203.0.113.1:5060")
        }],
        plan,
    );
    let gw = gateway("203.0.113.1:5060");
    let bob = Phone::bob();
    // "from-trunk" reaches local users…
    h.send_request(
        &inbound(&gw, "sip:bob@192.0.2.10", "sip:bob@192.0.2.10", "in-1"),
        gw.peer,
    );
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, gw.addr()).1), [100]);
    invite_to(&sent, &bob);
    assert_eq!(
        h.switch.calls().next().unwrap().source,
        CallSource::Trunk("default".into())
    );
    // …never the trunks again.
    h.send_request(
        &inbound(
            &gw,
            "sip:9015551234@192.0.2.10",
            "sip:9015551234@192.0.2.10",
            "in-2",
        ),
        gw.peer,
    );
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, gw.addr()).1), [100, 404]);
    assert!(to_addr(&sent, gw.addr()).0.is_empty());
    // A registered trunk calls its Contact (the user name): To says who.
    h.send_request(
        &inbound(
            &gw,
            "sip:acct@192.0.2.10:5060",
            "sip:bob@carrier.example",
            "in-3",
        ),
        gw.peer,
    );
    let sent = h.take_sent();
    invite_to(&sent, &bob);
}
