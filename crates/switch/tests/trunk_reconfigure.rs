//! Replacing the trunks of a running switch (`set_trunks`): new trunks
//! register, changed ones register again, removed ones unregister and go,
//! calls from trunks are recognised by the new set at once, and calls in
//! progress through (or from) a trunk that went keep working.

mod support;

use std::time::Duration;

use sb_sip_auth::{Algorithm, Credentials, compute_ha1, verify};
use sb_sip_message::{
    Destination, HeaderName, Message, Method, Request, Response, StatusCode, Tag,
};
use sb_switch::{CallDestination, CallSource, Disposition, SwitchConfig, SwitchEvent, TrunkConfig};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, request_text, to_addr};

const OLD_PASSWORD: &str = "old-secret-1";
const NEW_PASSWORD: &str = "new-secret-2";

fn trunk(name: &str, gateway: &str, register: bool) -> TrunkConfig {
    TrunkConfig {
        name: name.into(),
        addresses: vec![gateway.split(':').next().unwrap().parse().unwrap()],
        gateway: gateway.parse().unwrap(),
        username: Some("acct".into()),
        password: Some(OLD_PASSWORD.into()),
        register,
        ..TrunkConfig::default()
    }
}

fn gateway(addr: &str) -> Phone {
    Phone::new("gw", "", addr, addr)
}

fn harness(trunks: Vec<TrunkConfig>) -> Harness {
    let mut config = SwitchConfig::for_tests();
    config.trunks = trunks;
    Harness::with_config(config)
}

fn set_trunks(h: &mut Harness, trunks: Vec<TrunkConfig>) {
    let unix = h.unix_ms();
    h.switch.set_trunks(h.now, unix, trunks);
    h.drain();
}

/// The requests sent since the last call, in order.
fn requests(h: &mut Harness) -> Vec<(Destination, Request)> {
    h.sent
        .drain(..)
        .map(|(d, b)| match Message::parse(b).unwrap() {
            Message::Request(r) => (d, r),
            Message::Response(r) => panic!("unexpected response {}", r.status),
        })
        .collect()
}

/// `(gateway, Expires, CSeq)` of each REGISTER sent since the last call.
fn registers(sent: &[(Destination, Request)]) -> Vec<(String, String, u32)> {
    sent.iter()
        .map(|(d, r)| {
            assert_eq!(r.method, Method::Register);
            (
                d.remote.to_string(),
                r.headers.get(&HeaderName::Expires).unwrap().to_string(),
                r.headers.cseq().unwrap().seq,
            )
        })
        .collect()
}

/// The gateway a REGISTER is for: its Request-URI's address and port.
fn registrar(request: &Request) -> Phone {
    let host = request.uri.to_string();
    let host = host.trim_start_matches("sip:");
    if host.contains(':') {
        gateway(host)
    } else {
        gateway(&format!("{host}:5060"))
    }
}

/// The registrar's answer to `request`.
fn answer(h: &mut Harness, request: &Request, status: u16, extra: &[(&str, &str)]) {
    let mut r = Response::from_request(request, StatusCode::new(status).unwrap());
    r.set_to_tag(&Tag::from("gw1"));
    for (name, value) in extra {
        r.headers.push(HeaderName::parse(name), *value);
    }
    h.send_response(&r, registrar(request).peer);
}

fn trunk_events(h: &Harness) -> Vec<String> {
    h.events
        .iter()
        .filter_map(|e| match e {
            SwitchEvent::TrunkRegistered { trunk, expires } => {
                Some(format!("registered {trunk} {expires}"))
            }
            SwitchEvent::TrunkRegistrationFailed { trunk, status, .. } => Some(format!(
                "failed {trunk} {}",
                status.map_or(0, StatusCode::as_u16)
            )),
            SwitchEvent::TrunkUnregistered { trunk } => Some(format!("unregistered {trunk}")),
            _ => None,
        })
        .collect()
}

fn names(h: &Harness) -> Vec<String> {
    h.switch.trunks().into_iter().map(|t| t.name).collect()
}

/// An INVITE from `gw` for `number`.
fn inbound(gw: &Phone, number: &str, call_id: &str) -> Request {
    request_text(
        &format!(
            "INVITE sip:{number}@192.0.2.10 SIP/2.0\n\
             Via: SIP/2.0/UDP {addr};branch=z9hG4bKin{call_id}\n\
             Max-Forwards: 70\n\
             From: <sip:+15550100@carrier.example>;tag=in-{call_id}\n\
             To: <sip:{number}@192.0.2.10>\n\
             Call-ID: {call_id}\n\
             CSeq: 1 INVITE\n\
             Contact: <sip:+15550100@{addr}>\n\
             Content-Type: application/sdp\n",
            addr = gw.addr()
        ),
        SDP_A,
    )
}

/// The ACK for a failure response to `invite` (RFC 3261 §17.1.1.3).
fn ack_failure(h: &mut Harness, gw: &Phone, invite: &Request, response: &Response) {
    let ack = request_text(
        &format!(
            "ACK {uri} SIP/2.0\nVia: {via}\nMax-Forwards: 70\nFrom: {from}\nTo: {to}\n\
             Call-ID: {cid}\nCSeq: 1 ACK\n",
            uri = invite.uri,
            via = invite.headers.get(&HeaderName::Via).unwrap(),
            from = invite.headers.get(&HeaderName::From).unwrap(),
            to = response.headers.get(&HeaderName::To).unwrap(),
            cid = invite.headers.call_id().unwrap(),
        ),
        "",
    );
    h.send_request(&ack, gw.peer);
    assert!(h.sent.is_empty());
}

#[test]
fn trunks_are_added_changed_and_removed_while_running() {
    let mut h = harness(vec![
        trunk("carrier", "203.0.113.1:5060", true),
        trunk("plain", "203.0.113.2:5060", false),
    ]);
    let unix = h.unix_ms();
    h.switch.start(h.now, unix);
    h.drain();
    let sent = requests(&mut h);
    assert_eq!(
        registers(&sent),
        [("203.0.113.1:5060".into(), "3600".into(), 1)]
    );
    let first = sent[0].1.clone();
    answer(&mut h, &first, 200, &[("Expires", "3600")]);
    assert_eq!(names(&h), ["carrier", "plain"]);
    assert!(h.switch.trunks()[0].registered);

    // carrier: a new interval and password, same account and registrar;
    // plain: gone; fresh: new.
    set_trunks(
        &mut h,
        vec![
            TrunkConfig {
                register_expires: 600,
                password: Some(NEW_PASSWORD.into()),
                ..trunk("carrier", "203.0.113.1:5060", true)
            },
            trunk("fresh", "203.0.113.3:5060", true),
        ],
    );
    assert_eq!(names(&h), ["carrier", "fresh"]);
    let sent = requests(&mut h);
    assert_eq!(
        registers(&sent),
        [
            ("203.0.113.1:5060".into(), "600".into(), 2),
            ("203.0.113.3:5060".into(), "3600".into(), 1),
        ]
    );
    let (again, fresh) = (sent[0].1.clone(), sent[1].1.clone());
    assert_eq!(again.headers.call_id(), first.headers.call_id());
    assert_eq!(
        again.headers.from_addr().unwrap().tag(),
        first.headers.from_addr().unwrap().tag()
    );
    assert_ne!(fresh.headers.call_id(), first.headers.call_id());
    // The new password answers the next challenge.
    answer(
        &mut h,
        &again,
        401,
        &[(
            "WWW-Authenticate",
            "Digest realm=\"carrier.example\", nonce=\"r1\", algorithm=MD5, qop=\"auth\"",
        )],
    );
    let sent = requests(&mut h);
    assert_eq!(
        registers(&sent),
        [("203.0.113.1:5060".into(), "600".into(), 3)]
    );
    let creds =
        Credentials::parse(sent[0].1.headers.get(&HeaderName::Authorization).unwrap()).unwrap();
    let ha1 = compute_ha1(Algorithm::Md5, "acct", "carrier.example", NEW_PASSWORD);
    verify(&creds, "REGISTER", &ha1).expect("the new password");
    answer(&mut h, &sent[0].1, 200, &[("Expires", "600")]);
    answer(&mut h, &fresh, 200, &[("Expires", "3600")]);
    assert_eq!(
        trunk_events(&h),
        [
            "registered carrier 3600",
            "registered carrier 600",
            "registered fresh 3600"
        ]
    );

    // Calls from the removed trunk's address are no longer trunk calls
    // (challenged like any caller); the new trunk's are.
    let plain = gateway("203.0.113.2:5060");
    let invite = inbound(&plain, "bob", "from-plain");
    h.send_request(&invite, plain.peer);
    let (_, answers) = to_addr(&h.take_sent(), plain.addr());
    assert_eq!(codes(&answers), [407]);
    ack_failure(&mut h, &plain, &invite, &answers[0]);
    let fresh_gw = gateway("203.0.113.3:5060");
    let invite = inbound(&fresh_gw, "nobody", "from-fresh");
    h.send_request(&invite, fresh_gw.peer);
    let (_, answers) = to_addr(&h.take_sent(), fresh_gw.addr());
    assert_eq!(codes(&answers), [100, 404]);
    ack_failure(&mut h, &fresh_gw, &invite, &answers[1]);
    assert_eq!(
        h.cdrs().pop().unwrap().source,
        CallSource::Trunk("fresh".into())
    );

    // carrier removed while a refresh is in flight: the refresh is
    // replaced by the removal (same Call-ID, next CSeq).
    h.advance(Duration::from_secs(540));
    let sent = requests(&mut h);
    assert_eq!(
        registers(&sent),
        [("203.0.113.1:5060".into(), "600".into(), 4)]
    );
    let refresh = sent[0].1.clone();
    h.events.clear();
    set_trunks(&mut h, vec![trunk("fresh", "203.0.113.3:5060", true)]);
    assert_eq!(names(&h), ["fresh"]);
    let sent = requests(&mut h);
    assert_eq!(
        registers(&sent),
        [("203.0.113.1:5060".into(), "0".into(), 5)]
    );
    let removal = sent[0].1.clone();
    assert_eq!(removal.headers.call_id(), first.headers.call_id());
    // The abandoned refresh's answer changes nothing.
    answer(&mut h, &refresh, 200, &[("Expires", "600")]);
    assert!(h.take_sent().is_empty());
    assert!(trunk_events(&h).is_empty());
    answer(&mut h, &removal, 200, &[]);
    assert_eq!(trunk_events(&h), ["unregistered carrier"]);
    assert_eq!(names(&h), ["fresh"]);
    // No refresh of the removed trunk ever again (fresh's is due at 3240 s).
    h.advance(Duration::from_secs(2_000));
    assert!(requests(&mut h).is_empty());

    // fresh moves to another gateway: a new registration there, and the old
    // one removed.
    h.events.clear();
    set_trunks(&mut h, vec![trunk("fresh", "203.0.113.4:5060", true)]);
    let sent = requests(&mut h);
    assert_eq!(
        registers(&sent),
        [
            ("203.0.113.4:5060".into(), "3600".into(), 1),
            ("203.0.113.3:5060".into(), "0".into(), 2),
        ]
    );
    assert_eq!(sent[1].1.headers.call_id(), fresh.headers.call_id());
    assert_ne!(sent[0].1.headers.call_id(), fresh.headers.call_id());
    let snapshot = h.switch.trunks();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].gateway, "203.0.113.4:5060".parse().unwrap());
    assert!(!snapshot[0].registered);
    answer(&mut h, &sent[0].1, 200, &[("Expires", "3600")]);
    answer(&mut h, &sent[1].1, 200, &[]);
    assert_eq!(
        trunk_events(&h),
        ["registered fresh 3600", "unregistered fresh"]
    );
    assert!(h.switch.trunks()[0].registered);
    // Unchanged: nothing is sent.
    set_trunks(&mut h, vec![trunk("fresh", "203.0.113.4:5060", true)]);
    assert!(h.sent.is_empty());
    // Removed when not registered (registration failed): dropped at once.
    set_trunks(
        &mut h,
        vec![
            trunk("fresh", "203.0.113.4:5060", true),
            trunk("flaky", "203.0.113.5:5060", true),
        ],
    );
    let sent = requests(&mut h);
    answer(&mut h, &sent[0].1, 503, &[]);
    set_trunks(&mut h, vec![trunk("fresh", "203.0.113.4:5060", true)]);
    assert!(h.sent.is_empty());
    h.advance(Duration::from_secs(60));
    assert!(requests(&mut h).is_empty(), "no retry of a removed trunk");
}

#[test]
fn trunks_set_before_start_wait_for_it() {
    let mut h = harness(vec![trunk("carrier", "203.0.113.1:5060", true)]);
    set_trunks(
        &mut h,
        vec![
            trunk("other", "203.0.113.6:5070", true),
            trunk("carrier", "203.0.113.1:5060", true),
        ],
    );
    assert!(h.sent.is_empty());
    assert_eq!(names(&h), ["other", "carrier"]);
    let unix = h.unix_ms();
    h.switch.start(h.now, unix);
    h.drain();
    assert_eq!(
        registers(&requests(&mut h)),
        [
            ("203.0.113.6:5070".into(), "3600".into(), 1),
            ("203.0.113.1:5060".into(), "3600".into(), 1),
        ]
    );
}

const OUT: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_0."
actions = [{ trunk = "carrier" }]

[[context]]
name = "from-trunk"

[[context.rule]]
to = "bob"
actions = [{ ring_user = "bob" }]
"#;

#[test]
fn calls_in_progress_survive_their_trunks_removal() {
    let mut h = harness(vec![trunk("carrier", "203.0.113.1:5060", false)]);
    h.switch
        .set_dialplan(support::dialplan(OUT, &["carrier", "other"]));
    let (alice, bob) = (Phone::alice(), Phone::bob());
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.take_sent();
    let gw = gateway("203.0.113.1:5060");

    // Out through the trunk, and in from it.
    let mut a = h.call(&alice, "sip:0301234@example.test", "out-1", SDP_A);
    let sent = h.take_sent();
    let (to_gw, _) = to_addr(&sent, gw.addr());
    assert_eq!(methods(&to_gw), [Method::Invite]);
    let out = Callee::new(&gw, to_gw[0].clone(), "gwo");
    h.send_request(&inbound(&gw, "bob", "in-1"), gw.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, gw.addr()).1), [100]);
    let (to_bob, _) = to_addr(&sent, bob.addr());
    let inb = Callee::new(&bob, to_bob[0].clone(), "bi");

    // The trunk goes; another takes the first position.
    set_trunks(&mut h, vec![trunk("other", "198.51.100.9:5060", false)]);
    assert_eq!(names(&h), ["other"]);
    assert!(h.sent.is_empty());
    assert_eq!(h.switch.calls().count(), 2);

    // Outbound: the carrier's challenge is still answered with the
    // trunk's credentials, and the call goes on to the end.
    let mut challenge = out.response(407, "");
    challenge.headers.push(
        HeaderName::ProxyAuthenticate,
        "Digest realm=\"carrier.example\", nonce=\"c1\", algorithm=MD5",
    );
    h.send_response(&challenge, gw.peer);
    let sent = h.take_sent();
    let (to_gw, _) = to_addr(&sent, gw.addr());
    assert_eq!(methods(&to_gw), [Method::Ack, Method::Invite]);
    let creds = Credentials::parse(
        to_gw[1]
            .headers
            .get(&HeaderName::ProxyAuthorization)
            .unwrap(),
    )
    .unwrap();
    let ha1 = compute_ha1(Algorithm::Md5, "acct", "carrier.example", OLD_PASSWORD);
    verify(&creds, "INVITE", &ha1).expect("the trunk's password");
    let out = Callee::new(&gw, to_gw[1].clone(), "gwo2");
    h.send_response(&out.response(200, SDP_B), gw.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), gw.addr()).0),
        [Method::Ack]
    );
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, gw.addr()).0), [Method::Bye]);
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [200]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.call_id.as_str(), "out-1");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.destination, CallDestination::Trunk("carrier".into()));

    // Inbound: bob answers, the gateway's ACK and BYE still reach him.
    h.send_response(&inb.response(200, SDP_B), bob.peer);
    let (_, to_gw) = to_addr(&h.take_sent(), gw.addr());
    assert_eq!(codes(&to_gw), [200]);
    let ok = &to_gw[0];
    let tag = ok.headers.to_addr().unwrap().tag().unwrap();
    let in_dialog = |method: &str, cseq: u32| {
        request_text(
            &format!(
                "{method} sip:192.0.2.10:5060 SIP/2.0\n\
                 Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKd{method}\n\
                 Max-Forwards: 70\n\
                 From: <sip:+15550100@carrier.example>;tag=in-in-1\n\
                 To: <sip:bob@192.0.2.10>;tag={tag}\n\
                 Call-ID: in-1\n\
                 CSeq: {cseq} {method}\n"
            ),
            "",
        )
    };
    h.send_request(&in_dialog("ACK", 1), gw.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), bob.addr()).0),
        [Method::Ack]
    );
    h.send_request(&in_dialog("BYE", 2), gw.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Bye]);
    assert_eq!(codes(&to_addr(&sent, gw.addr()).1), [200]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.call_id.as_str(), "in-1");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.source, CallSource::Trunk("carrier".into()));
    assert_eq!(h.switch.calls().count(), 0);
}
