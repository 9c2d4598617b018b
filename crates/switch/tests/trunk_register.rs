//! Registering to a carrier (RFC 3261 §10.2) as a gateway would see it:
//! the REGISTER's bytes, digest credentials checked with the server-side
//! verifier, refreshes at 90 % of the interval granted, retries after
//! failures with a growing backoff, the unregistration at shutdown.

mod support;

use std::time::Duration;

use sb_sip_auth::{Algorithm, Credentials, compute_ha1, verify};
use sb_sip_message::{
    Destination, HeaderName, Message, Method, Peer, Request, Response, StatusCode, Tag, Transport,
};
use sb_switch::{SwitchConfig, SwitchEvent, TrunkConfig, TrunkSnapshot, Wakeup};
use support::Harness;

const GATEWAY: &str = "203.0.113.1:5060";
const PASSWORD: &str = "trunk-secret-81";

fn trunk() -> TrunkConfig {
    TrunkConfig {
        name: "carrier".into(),
        addresses: vec!["203.0.113.1".parse().unwrap()],
        gateway: GATEWAY.parse().unwrap(),
        username: Some("acct".into()),
        password: Some(PASSWORD.into()),
        register: true,
        ..TrunkConfig::default()
    }
}

fn harness(trunk: TrunkConfig) -> Harness {
    let mut config = SwitchConfig::for_tests();
    config.trunks = vec![trunk];
    Harness::with_config(config)
}

fn gateway_peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: GATEWAY.parse().unwrap(),
        local: "192.0.2.10:5060".parse().unwrap(),
        flow: None,
    }
}

/// The requests sent to the gateway since the last call (retransmissions
/// included), with their destinations.
fn to_gateway(h: &mut Harness) -> Vec<(Destination, Request)> {
    h.sent
        .drain(..)
        .map(|(d, b)| match Message::parse(b).unwrap() {
            Message::Request(r) => (d, r),
            Message::Response(r) => panic!("unexpected response {}", r.status),
        })
        .collect()
}

/// The single REGISTER sent since the last call.
fn one_register(h: &mut Harness) -> Request {
    let mut sent = to_gateway(h);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (dest, r) = sent.remove(0);
    assert_eq!(dest.remote, GATEWAY.parse().unwrap());
    assert_eq!(dest.transport, Transport::Udp);
    assert_eq!(r.method, Method::Register);
    r
}

fn answer(h: &mut Harness, request: &Request, status: u16, extra: &[(&str, &str)]) {
    let mut r = Response::from_request(request, StatusCode::new(status).unwrap());
    r.set_to_tag(&Tag::from("gw1"));
    for (name, value) in extra {
        r.headers.push(HeaderName::parse(name), *value);
    }
    h.send_response(&r, gateway_peer());
}

fn challenge(algorithm: &str, nonce: &str) -> String {
    format!(
        "Digest realm=\"carrier.example\", nonce=\"{nonce}\", algorithm={algorithm}, qop=\"auth\""
    )
}

/// Checks the credentials of `request` against the trunk's password.
fn assert_authorized(request: &Request, header: &HeaderName, algorithm: Algorithm, nc: u32) {
    let value = request.headers.get(header).expect("credentials");
    let creds = Credentials::parse(value).unwrap();
    assert_eq!(creds.username(), "acct");
    assert_eq!(creds.realm(), "carrier.example");
    assert_eq!(creds.uri(), request.uri.to_string());
    assert_eq!(creds.algorithm(), algorithm);
    assert_eq!(creds.nc(), Some(nc));
    assert!(creds.cnonce().is_some_and(|c| !c.is_empty()));
    let ha1 = compute_ha1(algorithm, "acct", "carrier.example", PASSWORD);
    verify(&creds, request.method.as_str(), &ha1).expect("a valid digest");
}

fn events(h: &Harness) -> Vec<String> {
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

fn start(h: &mut Harness) {
    let unix = h.unix_ms();
    h.switch.start(h.now, unix);
    h.drain();
}

#[test]
fn challenged_register_then_refresh_at_ninety_percent() {
    let mut h = harness(trunk());
    assert!(to_gateway(&mut h).is_empty(), "nothing before start");
    start(&mut h);
    let first = one_register(&mut h);
    assert_eq!(first.uri.to_string(), "sip:203.0.113.1");
    let from = first.headers.from_addr().unwrap();
    assert_eq!(from.uri.to_string(), "sip:acct@203.0.113.1");
    assert!(from.tag().is_some());
    assert_eq!(
        first.headers.get(&HeaderName::To).unwrap(),
        "<sip:acct@203.0.113.1>"
    );
    assert_eq!(
        first.headers.get(&HeaderName::Contact).unwrap(),
        "<sip:acct@192.0.2.10:5060>"
    );
    assert_eq!(first.headers.get(&HeaderName::Expires).unwrap(), "3600");
    assert_eq!(first.headers.cseq().unwrap().seq, 1);
    assert!(first.headers.get(&HeaderName::Authorization).is_none());
    assert_eq!(
        first
            .headers
            .top_via()
            .unwrap()
            .to_string()
            .split(';')
            .next(),
        Some("SIP/2.0/UDP 192.0.2.10:5060")
    );

    // The gateway offers MD5 and SHA-256: SHA-256 is answered.
    answer(
        &mut h,
        &first,
        401,
        &[
            ("WWW-Authenticate", &challenge("MD5", "n1")),
            ("WWW-Authenticate", &challenge("SHA-256", "n1")),
        ],
    );
    let second = one_register(&mut h);
    assert_eq!(second.headers.cseq().unwrap().seq, 2);
    assert_eq!(second.headers.call_id(), first.headers.call_id());
    assert_eq!(
        second.headers.from_addr().unwrap().tag(),
        from.tag(),
        "same From tag"
    );
    assert_ne!(
        second.headers.top_via().unwrap().branch(),
        first.headers.top_via().unwrap().branch()
    );
    assert_authorized(&second, &HeaderName::Authorization, Algorithm::Sha256, 1);

    answer(
        &mut h,
        &second,
        200,
        &[("Contact", "<sip:acct@192.0.2.10:5060>;expires=1800")],
    );
    assert!(to_gateway(&mut h).is_empty());
    assert_eq!(events(&h), ["registered carrier 1800"]);
    let snapshot = h.switch.trunks();
    assert_eq!(
        snapshot,
        [TrunkSnapshot {
            name: "carrier".into(),
            gateway: GATEWAY.parse().unwrap(),
            transport: Transport::Udp,
            register: true,
            registered: true,
            expires: Some(1800),
            last_failure: None,
        }]
    );

    // Refreshed at 90 % of 1800 s, with the same nonce and the next count.
    h.advance(Duration::from_millis(1_619_999));
    assert!(to_gateway(&mut h).is_empty());
    assert!(matches!(
        h.switch.poll_timeout(),
        Some((_, Wakeup::TrunkRegistration))
    ));
    h.advance(Duration::from_millis(1));
    let refresh = one_register(&mut h);
    assert_eq!(refresh.headers.cseq().unwrap().seq, 3);
    assert_eq!(refresh.headers.call_id(), first.headers.call_id());
    assert_authorized(&refresh, &HeaderName::Authorization, Algorithm::Sha256, 2);
    // The Expires header counts when the Contact carries none.
    answer(&mut h, &refresh, 200, &[("Expires", "600")]);
    assert_eq!(h.switch.trunks()[0].expires, Some(600));
    h.advance(Duration::from_secs(539));
    assert!(to_gateway(&mut h).is_empty());
    h.advance(Duration::from_secs(1));
    let again = one_register(&mut h);
    assert_eq!(again.headers.cseq().unwrap().seq, 4);
}

#[test]
fn a_proxy_challenge_is_answered_and_a_second_challenge_fails() {
    let mut h = harness(trunk());
    start(&mut h);
    let first = one_register(&mut h);
    answer(
        &mut h,
        &first,
        407,
        &[("Proxy-Authenticate", &challenge("MD5", "p1"))],
    );
    let second = one_register(&mut h);
    assert_authorized(&second, &HeaderName::ProxyAuthorization, Algorithm::Md5, 1);
    assert!(second.headers.get(&HeaderName::Authorization).is_none());
    // Refused again: wrong password, not answered a second time.
    answer(
        &mut h,
        &second,
        407,
        &[("Proxy-Authenticate", &challenge("MD5", "p2"))],
    );
    assert!(to_gateway(&mut h).is_empty());
    assert_eq!(events(&h), ["failed carrier 407"]);
    let snapshot = &h.switch.trunks()[0];
    assert!(!snapshot.registered);
    assert_eq!(
        snapshot.last_failure.as_deref(),
        Some("credentials refused")
    );
}

#[test]
fn failures_are_retried_with_a_growing_backoff() {
    let mut h = harness(trunk());
    start(&mut h);
    let first = one_register(&mut h);
    answer(&mut h, &first, 503, &[]);
    assert_eq!(events(&h), ["failed carrier 503"]);
    // 30 s later, again; then 60 s.
    h.advance(Duration::from_millis(29_999));
    assert!(to_gateway(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let retry = one_register(&mut h);
    assert_eq!(retry.headers.cseq().unwrap().seq, 2);
    answer(&mut h, &retry, 500, &[]);
    h.advance(Duration::from_millis(59_999));
    assert!(to_gateway(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let retry = one_register(&mut h);

    // No answer at all: UDP retransmissions, Timer F at 64·T1 = 32 s, then
    // a retry 120 s later.
    h.advance(Duration::from_millis(31_999));
    let resent = to_gateway(&mut h);
    assert!(
        resent.iter().all(|(_, r)| r == &retry),
        "retransmissions only"
    );
    assert_eq!(resent.len(), 10, "T1, 2·T1 … capped at T2 within Timer F");
    h.advance(Duration::from_millis(1));
    assert_eq!(
        events(&h),
        [
            "failed carrier 503",
            "failed carrier 500",
            "failed carrier 0"
        ]
    );
    assert_eq!(
        h.switch.trunks()[0].last_failure.as_deref(),
        Some("no response")
    );
    h.advance(Duration::from_millis(119_999));
    assert!(to_gateway(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    let retry = one_register(&mut h);
    answer(&mut h, &retry, 200, &[("Expires", "300")]);
    assert!(h.switch.trunks()[0].registered);
    // Success resets the backoff: the next failure waits 30 s again.
    h.advance(Duration::from_secs(270));
    let refresh = one_register(&mut h);
    answer(&mut h, &refresh, 403, &[]);
    assert!(!h.switch.trunks()[0].registered);
    h.advance(Duration::from_millis(29_999));
    assert!(to_gateway(&mut h).is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(one_register(&mut h).method, Method::Register);
}

#[test]
fn shutdown_unregisters() {
    let mut h = harness(trunk());
    start(&mut h);
    let first = one_register(&mut h);
    answer(&mut h, &first, 200, &[("Expires", "3600")]);
    let unix = h.unix_ms();
    h.switch.shutdown(h.now, unix);
    h.drain();
    assert!(
        !h.switch.shutdown_complete(),
        "the unregistration is in flight"
    );
    let bye = one_register(&mut h);
    assert_eq!(bye.headers.get(&HeaderName::Expires).unwrap(), "0");
    assert_eq!(bye.headers.call_id(), first.headers.call_id());
    assert_eq!(bye.headers.cseq().unwrap().seq, 2);
    // Challenged: answered even now.
    answer(
        &mut h,
        &bye,
        401,
        &[("WWW-Authenticate", &challenge("MD5", "s1"))],
    );
    let bye = one_register(&mut h);
    assert_eq!(bye.headers.get(&HeaderName::Expires).unwrap(), "0");
    assert_authorized(&bye, &HeaderName::Authorization, Algorithm::Md5, 1);
    answer(&mut h, &bye, 200, &[]);
    assert!(h.switch.shutdown_complete());
    assert_eq!(
        events(&h),
        ["registered carrier 3600", "unregistered carrier"]
    );
    assert!(!h.switch.trunks()[0].registered);
    // No refresh after shutdown.
    h.advance(Duration::from_secs(7_200));
    assert!(to_gateway(&mut h).is_empty());
}

#[test]
fn the_first_timeout_starts_registrations_and_tcp_trunks_say_so() {
    let mut h = harness(TrunkConfig {
        transport: Transport::Tcp,
        local: Some("192.0.2.10:5070".parse().unwrap()),
        from_domain: Some("carrier.example".into()),
        register_expires: 600,
        ..trunk()
    });
    let unix = h.unix_ms();
    h.switch.handle_timeout(h.now, unix);
    h.drain();
    let mut sent = to_gateway(&mut h);
    assert_eq!(sent.len(), 1);
    let (dest, register) = sent.remove(0);
    assert_eq!(dest.transport, Transport::Tcp);
    assert_eq!(dest.local, Some("192.0.2.10:5070".parse().unwrap()));
    assert_eq!(register.uri.to_string(), "sip:carrier.example");
    assert_eq!(
        register.headers.get(&HeaderName::To).unwrap(),
        "<sip:acct@carrier.example>"
    );
    assert_eq!(
        register.headers.get(&HeaderName::Contact).unwrap(),
        "<sip:acct@192.0.2.10:5070;transport=tcp>"
    );
    assert!(
        register
            .headers
            .get(&HeaderName::Via)
            .unwrap()
            .starts_with("SIP/2.0/TCP 192.0.2.10:5070;")
    );
    assert_eq!(register.headers.get(&HeaderName::Expires).unwrap(), "600");
    // Starting again does nothing.
    start(&mut h);
    assert!(to_gateway(&mut h).is_empty());
}

#[test]
fn the_password_never_shows() {
    let mut h = harness(trunk());
    let config = {
        let mut c = SwitchConfig::for_tests();
        c.trunks = vec![trunk()];
        c
    };
    for text in [
        format!("{:?}", trunk()),
        format!("{config:?}"),
        format!("{:?}", h.switch),
    ] {
        assert!(!text.contains(PASSWORD), "{text}");
    }
    assert!(format!("{:?}", trunk()).contains("<redacted>"));
    start(&mut h);
    let first = one_register(&mut h);
    answer(
        &mut h,
        &first,
        401,
        &[("WWW-Authenticate", &challenge("MD5", "x1"))],
    );
    let second = one_register(&mut h);
    answer(&mut h, &second, 200, &[]);
    let text = format!("{first:?}{second:?}{:?}{:?}", h.events, h.switch.trunks());
    assert!(!text.contains(PASSWORD));
    let wire = format!(
        "{}{}",
        String::from_utf8_lossy(&first.to_bytes()),
        String::from_utf8_lossy(&second.to_bytes())
    );
    assert!(!wire.contains(PASSWORD));
}
