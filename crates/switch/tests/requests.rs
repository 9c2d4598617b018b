//! Requests other than REGISTER, and malformed input.

mod support;

use sb_sip_message::{HeaderName, StatusCode};
use sb_switch::SwitchEvent;
use support::{Harness, peer};

fn request(method: &str, ruri: &str, to_tag: &str, extra: &str) -> String {
    format!(
        "{method} {ruri} SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bK{method}1\n\
         Max-Forwards: 70\n\
         From: <sip:alice@example.test>;tag=f1\n\
         To: <{ruri}>{to_tag}\n\
         Call-ID: req-{method}\n\
         CSeq: 1 {method}\n\
         {extra}Content-Length: 0\n\n"
    )
}

#[test]
fn options_to_the_server_or_any_user_lists_capabilities() {
    for ruri in [
        "sip:example.test",
        "sip:192.0.2.10",
        "sip:alice@example.test",
        "sip:nobody@example.test",
    ] {
        let mut h = Harness::new();
        h.deliver(&request("OPTIONS", ruri, "", ""), peer(5062));
        let r = h.response();
        assert_eq!(r.status, StatusCode::OK, "{ruri}");
        assert_eq!(
            r.headers.get(&HeaderName::Allow).unwrap(),
            "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER"
        );
        assert_eq!(
            r.headers.get(&HeaderName::Accept).unwrap(),
            "application/sdp"
        );
        assert_eq!(r.headers.get(&HeaderName::Supported).unwrap(), "path");
    }
}

#[test]
fn options_for_another_domain_is_not_relayed() {
    let mut h = Harness::new();
    h.deliver(
        &request("OPTIONS", "sip:someone@elsewhere.test", "", ""),
        peer(5062),
    );
    assert_eq!(h.response().status, StatusCode::FORBIDDEN);
}

#[test]
fn recognised_but_unsupported_methods_get_405_with_allow() {
    for m in ["SUBSCRIBE", "MESSAGE", "PUBLISH", "REFER"] {
        let mut h = Harness::new();
        h.deliver(&request(m, "sip:alice@example.test", "", ""), peer(5062));
        let r = h.response();
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m}");
        assert!(
            r.headers
                .get(&HeaderName::Allow)
                .unwrap()
                .contains("REGISTER")
        );
    }
}

#[test]
fn unknown_methods_get_501() {
    let mut h = Harness::new();
    h.deliver(
        &request("FROBNICATE", "sip:alice@example.test", "", ""),
        peer(5062),
    );
    assert_eq!(h.response().status, StatusCode::NOT_IMPLEMENTED);
}

#[test]
fn requests_for_unknown_dialogs_get_481() {
    for m in ["BYE", "INFO", "UPDATE", "PRACK", "NOTIFY"] {
        let mut h = Harness::new();
        h.deliver(
            &request(m, "sip:alice@example.test", ";tag=made-up", ""),
            peer(5062),
        );
        assert_eq!(
            h.response().status,
            StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST,
            "{m}"
        );
    }
    let mut h = Harness::new();
    h.deliver(
        &request("INVITE", "sip:alice@example.test", ";tag=made-up", ""),
        peer(5062),
    );
    assert_eq!(
        h.response().status,
        StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST
    );
    let mut h = Harness::new();
    h.deliver(
        &request("CANCEL", "sip:alice@example.test", "", ""),
        peer(5062),
    );
    assert_eq!(
        h.response().status,
        StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST
    );
}

#[test]
fn unsupported_required_extension_gets_420() {
    let mut h = Harness::new();
    h.deliver(
        &request("OPTIONS", "sip:example.test", "", "Require: foo, path\n"),
        peer(5062),
    );
    let r = h.response();
    assert_eq!(r.status, StatusCode::BAD_EXTENSION);
    assert_eq!(r.headers.get(&HeaderName::Unsupported).unwrap(), "foo");
}

#[test]
fn invalid_request_with_readable_via_gets_400_to_the_right_place() {
    let mut h = Harness::new();
    // CSeq method disagrees with the request method (RFC 4475 §3.1.2.x style).
    let text = "OPTIONS sip:example.test SIP/2.0\n\
                Via: SIP/2.0/UDP 192.0.2.50:5070;branch=z9hG4bKbad1\n\
                Max-Forwards: 70\n\
                From: <sip:alice@example.test>;tag=f1\n\
                To: <sip:example.test>\n\
                Call-ID: bad1\n\
                CSeq: 1 INVITE\n\
                Content-Length: 0\n\n";
    h.deliver(text, peer(5070));
    let rs = h.take_responses();
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0].1.status, StatusCode::BAD_REQUEST);
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::Malformed { answered: true, .. }))
    );
}

#[test]
fn unparsable_message_with_via_gets_400_and_without_via_is_dropped_and_counted() {
    let mut h = Harness::new();
    // Content-Length larger than the body: the message cannot be parsed, but
    // its Via can. No rport: the answer goes to the Via's sent-by port.
    let text = "OPTIONS sip:example.test SIP/2.0\r\n\
                Via: SIP/2.0/UDP 192.0.2.50:5080;branch=z9hG4bKbad2\r\n\
                From: <sip:alice@example.test>;tag=f1\r\n\
                To: <sip:example.test>\r\n\
                Call-ID: bad2\r\n\
                CSeq: 1 OPTIONS\r\n\
                Content-Length: 500\r\n\r\nshort";
    h.deliver_bytes(text.as_bytes(), peer(40000));
    let rs = h.take_responses();
    assert_eq!(rs.len(), 1, "{rs:?}");
    let (dest, r) = &rs[0];
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(dest.remote, "192.0.2.50:5080".parse().unwrap());
    assert_eq!(r.headers.call_id().unwrap().as_str(), "bad2");
    assert!(r.headers.to_addr().unwrap().tag().is_some());

    h.deliver_bytes(
        b"\x00\x01garbage that is not SIP at all\r\n\r\n",
        peer(40001),
    );
    assert!(h.take_responses().is_empty());
    assert_eq!(h.switch.stats().malformed_answered, 1);
    assert_eq!(h.switch.stats().malformed_dropped, 1);
}
