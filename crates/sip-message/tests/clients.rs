//! Messages shaped like those of the user agents Switchboard serves: a JsSIP
//! (browser) REGISTER over WebSocket, a baresip REGISTER over UDP and a
//! Linphone INVITE with SDP over TCP/IPv6.

mod common;

use common::{build, request, response, sdp};
use sb_sip_message::{
    Contact, HeaderName, Host, Method, Response, StatusCode, Tag, Transport, Uri, validate_request,
};

const INSTANCE: &str = "urn:uuid:5d2f6b0e-8c1a-4f3b-9e7d-2a6c4b8e0f13";

#[test]
fn jssip_register() {
    let contact = format!(
        "Contact: <sip:abc@df7jal23ls0d.invalid;transport=ws>;+sip.ice;reg-id=1;\
         +sip.instance=\"<{INSTANCE}>\";expires=600"
    );
    let req = request(build(
        &[
            "REGISTER sip:example.com SIP/2.0",
            "Via: SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bK5623781",
            "Max-Forwards: 69",
            "To: <sip:alice@example.com>",
            "From: \"Alice\" <sip:alice@example.com>;tag=oc6vfj8q2t",
            "Call-ID: 8l3b4v7fpmq2r1c0ekn5",
            "CSeq: 2 REGISTER",
            "Authorization: Digest algorithm=MD5, username=\"alice\", realm=\"example.com\", \
             nonce=\"6a1f0c2e9b7d4a53\", uri=\"sip:example.com\", \
             response=\"9f1d0b6a2e3c4d5f6a7b8c9d0e1f2a3b\", qop=auth, cnonce=\"x7k2m9\", nc=00000001",
            &contact,
            "Expires: 600",
            "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY",
            "Supported: path,gruu,outbound",
            "User-Agent: JsSIP 3.10.0",
            "Content-Length: 0",
        ],
        b"",
    ));
    validate_request(&req).unwrap();
    assert_eq!(req.method, Method::Register);
    let h = &req.headers;
    let mut via = h.top_via().unwrap();
    assert_eq!(via.transport(), Some(Transport::Wss));
    assert_eq!(via.host, Host::Domain("df7jal23ls0d.invalid".into()));
    // The server learns where the browser really is.
    via.stamp_source("192.0.2.77".parse().unwrap(), 50432);
    assert_eq!(via.received(), Some("192.0.2.77".parse().unwrap()));

    // Authorization holds commas but is one field.
    assert_eq!(h.count(&HeaderName::Authorization), 1);
    assert!(
        h.get(&HeaderName::Authorization)
            .unwrap()
            .ends_with("nc=00000001")
    );

    let contacts: Vec<Contact> = h.contacts().map(Result::unwrap).collect();
    assert_eq!(contacts.len(), 1);
    let c = contacts[0].addr().unwrap();
    let uri = c.uri.as_sip().unwrap();
    assert_eq!(uri.transport_param(), Some(Transport::Ws));
    assert_eq!(c.sip_instance().as_deref(), Some(INSTANCE));
    assert_eq!(c.reg_id(), Some(1));
    assert_eq!(c.expires(), Some(600));
    assert!(c.params.contains("+sip.ice"));
    assert_eq!(h.expires().unwrap(), Some(600));
    assert_eq!(
        h.to_addr().unwrap().uri.as_sip().unwrap().aor().as_str(),
        "sip:alice@example.com"
    );
}

#[test]
fn baresip_register() {
    let req = request(build(
        &[
            "REGISTER sip:example.com SIP/2.0",
            "Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK7f2e0c8a1b3d;rport",
            "Contact: <sip:alice-0x55d1c9@192.0.2.20:5060>;expires=3600",
            "Max-Forwards: 70",
            "To: <sip:alice@example.com>",
            "From: <sip:alice@example.com>;tag=a3f9c1e07b2d4e68",
            "Call-ID: 0e7c4b2a9f1d3e5c",
            "CSeq: 37284 REGISTER",
            "User-Agent: baresip v1.0.0 (x86_64/linux)",
            "Allow: INVITE,ACK,BYE,CANCEL,OPTIONS,NOTIFY,SUBSCRIBE,INFO,MESSAGE,UPDATE",
            "Supported: replaces,norefersub,100rel",
            "Content-Length: 0",
        ],
        b"",
    ));
    validate_request(&req).unwrap();
    let mut via = req.headers.top_via().unwrap();
    assert_eq!(via.rport(), Some(None));
    via.stamp_source("198.51.100.9".parse().unwrap(), 41000);
    assert_eq!(via.rport(), Some(Some(41000)));
    assert_eq!(via.received(), Some("198.51.100.9".parse().unwrap()));
    let contact = req.headers.contacts().next().unwrap().unwrap();
    let c = contact.addr().unwrap();
    assert_eq!(c.expires(), Some(3600));
    assert_eq!(c.uri.as_sip().unwrap().port, Some(5060));

    // The registrar's answer: Via, From, To, Call-ID, CSeq copied, tag added.
    let mut ok = Response::from_request(&req, StatusCode::OK);
    ok.set_to_tag(&Tag::from("srv7"));
    ok.headers
        .push(HeaderName::Contact, c.to_string() + ";expires=3600");
    let again = response(ok.to_bytes());
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(
        again.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "srv7"
    );
    assert_eq!(
        again.headers.call_id().unwrap(),
        req.headers.call_id().unwrap()
    );
    assert_eq!(again.headers.top_via().unwrap().branch(), via.branch());
}

#[test]
fn linphone_invite_with_sdp() {
    let body = sdp("2001:db8::20", 7078);
    let contact = format!(
        "Contact: <sip:alice@[2001:db8::20]:5060;transport=tcp>;+sip.instance=\"<{INSTANCE}>\""
    );
    let req = request(build(
        &[
            "INVITE sip:bob@example.com SIP/2.0",
            "Via: SIP/2.0/TCP [2001:db8::20]:5060;alias;branch=z9hG4bK.Ue1Rw8kLz;rport",
            "From: \"Alice Liddell\" <sip:alice@example.com>;tag=Lq7Dz2mJ",
            "To: sip:bob@example.com",
            "CSeq: 20 INVITE",
            "Call-ID: kP3x9v-Fq2",
            "Max-Forwards: 70",
            "Supported: replaces, outbound, gruu, path",
            "Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, SUBSCRIBE, INFO, PRACK, UPDATE",
            "Content-Type: application/sdp",
            "Content-Length: {len}",
            &contact,
            "User-Agent: Linphone Desktop/5.2.4 (belle-sip/5.2.0)",
        ],
        &body,
    ));
    validate_request(&req).unwrap();
    assert_eq!(req.body, body);
    let via = req.headers.top_via().unwrap();
    assert_eq!(via.host, Host::Ipv6("2001:db8::20".parse().unwrap()));
    assert_eq!(via.port, Some(5060));
    assert!(via.params.contains("alias"));
    let from = req.headers.from_addr().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("Alice Liddell"));
    let to = req.headers.to_addr().unwrap();
    assert!(to.tag().is_none());
    assert!(matches!(to.uri, Uri::Sip(_)));
    let contact = req.headers.contacts().next().unwrap().unwrap();
    let c = contact.addr().unwrap();
    assert_eq!(
        c.uri.as_sip().unwrap().host,
        Host::Ipv6("2001:db8::20".parse().unwrap())
    );
    assert_eq!(c.sip_instance().as_deref(), Some(INSTANCE));

    // A 180 with a To tag, serialized and read back.
    let mut ringing = Response::from_request(&req, StatusCode::RINGING);
    ringing.set_to_tag(&Tag::from("b2bua-1"));
    let again = response(ringing.to_bytes());
    assert_eq!(again.reason, "Ringing");
    assert_eq!(
        again.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "b2bua-1"
    );
    assert_eq!(again.headers.cseq().unwrap().method, Method::Invite);
}
