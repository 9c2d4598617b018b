//! Inside a call's dialogs: re-INVITE and UPDATE in both directions, INFO
//! and OPTIONS relayed, forged requests refused, the 2xx/ACK exchange,
//! delayed offers and early media.

mod support;

use std::time::Duration;

use sb_sip_message::{HeaderName, Method, Request, StatusCode};
use sb_switch::{Disposition, Effect, HangupBy, LegId};
use support::Harness;
use support::calls::{
    Callee, Caller, Phone, SDP_A, SDP_B, codes, methods, request_text, response_to, to_addr,
};

const HOLD: &str = "v=0\r\no=alice 1 2 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\n\
                    t=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=sendonly\r\n";

fn setup() -> (Harness, Phone, Phone) {
    let mut h = Harness::new();
    let alice = Phone::alice();
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.take_sent();
    h.effects.clear();
    (h, alice, bob)
}

/// An answered and acknowledged call.
fn answered(h: &mut Harness, alice: &Phone, bob: &Phone) -> (Caller, Callee) {
    let mut a = h.call(alice, "sip:bob@example.test", "dlg-1", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(bob, to_addr(&sent, bob.addr()).0[0].clone(), "bt");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), bob.addr()).0),
        [Method::Ack]
    );
    h.effects.clear();
    (a, b)
}

#[test]
fn reinvite_is_relayed_in_both_directions() {
    let (mut h, alice, bob) = setup();
    let (mut a, mut b) = answered(&mut h, &alice, &bob);
    // Caller puts the call on hold.
    let reinvite = a.request("INVITE", "Content-Type: application/sdp\n", HOLD);
    h.send_request(&reinvite, alice.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100]);
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Invite]);
    let b_reinvite = &to_b[0];
    assert_eq!(b_reinvite.headers.cseq().unwrap().seq, 2);
    assert_eq!(b_reinvite.uri.to_string(), "sip:bob@192.0.2.60:5060");
    assert_eq!(&b_reinvite.body[..], HOLD.as_bytes());
    assert_eq!(
        b_reinvite.headers.get(&HeaderName::ContentType).unwrap(),
        "application/sdp"
    );
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::MediaOffer {
            from: LegId::A,
            to: LegId(1),
            ..
        }
    )));
    h.send_response(
        &response_to(b_reinvite, 200, "bt", &bob.contact, SDP_B),
        bob.peer,
    );
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [200]);
    assert_eq!(to_a[0].headers.cseq().unwrap().seq, 3);
    assert_eq!(&to_a[0].body[..], SDP_B.as_bytes());
    assert!(to_a[0].headers.get(&HeaderName::Contact).is_some());
    assert!(
        to_addr(&sent, bob.addr()).0.is_empty(),
        "ACK waits for the caller's"
    );
    let mut ack = a.ack("");
    ack.headers.set(HeaderName::CSeq, "3 ACK");
    h.send_request(&ack, alice.peer);
    let (to_b, _) = to_addr(&h.take_sent(), bob.addr());
    assert_eq!(methods(&to_b), [Method::Ack]);
    assert_eq!(to_b[0].headers.cseq().unwrap().seq, 2);

    // The callee re-INVITEs the other way.
    let reinvite = b.request("INVITE", "Content-Type: application/sdp\n", SDP_B);
    h.send_request(&reinvite, bob.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, bob.addr()).1), [100]);
    let (to_a, _) = to_addr(&sent, alice.addr());
    assert_eq!(methods(&to_a), [Method::Invite]);
    let a_reinvite = &to_a[0];
    assert_eq!(a_reinvite.uri.to_string(), "sip:alice@192.0.2.50:5062");
    assert_eq!(a_reinvite.headers.cseq().unwrap().seq, 1);
    assert_eq!(a_reinvite.headers.call_id().unwrap().as_str(), "dlg-1");
    let ok = response_to(a_reinvite, 200, "ftag-dlg-1", &alice.contact, SDP_A);
    h.send_response(&ok, alice.peer);
    let sent = h.take_sent();
    let (_, to_b) = to_addr(&sent, bob.addr());
    assert_eq!(codes(&to_b), [200]);
    assert_eq!(&to_b[0].body[..], SDP_A.as_bytes());
    let b_ack = request_text(
        &format!(
            "ACK sip:192.0.2.10:5060 SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.60:5060;branch=z9hG4bKback\n\
             Max-Forwards: 70\nFrom: {}\nTo: {}\nCall-ID: {}\nCSeq: {} ACK\n",
            reinvite.headers.get(&HeaderName::From).unwrap(),
            to_b[0].headers.get(&HeaderName::To).unwrap(),
            reinvite.headers.call_id().unwrap(),
            reinvite.headers.cseq().unwrap().seq,
        ),
        "",
    );
    h.send_request(&b_ack, bob.peer);
    let (to_a, _) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(methods(&to_a), [Method::Ack]);
    assert_eq!(to_a[0].headers.cseq().unwrap().seq, 1);
}

#[test]
fn info_and_options_are_relayed_with_their_answers() {
    // Media passes through: INFO digits are the devices' business.
    let mut config = sb_switch::SwitchConfig::for_tests();
    config.calls.anchor_media = false;
    let mut h = Harness::with_config(config);
    let alice = Phone::alice();
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.take_sent();
    let (mut a, mut b) = answered(&mut h, &alice, &bob);
    let info = a.request(
        "INFO",
        "Content-Type: application/dtmf-relay\n",
        "Signal=5\r\nDuration=160\r\n",
    );
    h.send_request(&info, alice.peer);
    let sent = h.take_sent();
    assert!(
        to_addr(&sent, alice.addr()).1.is_empty(),
        "no answer before bob's"
    );
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Info]);
    assert_eq!(&to_b[0].body[..], b"Signal=5\r\nDuration=160\r\n");
    assert_eq!(
        to_b[0].headers.get(&HeaderName::ContentType).unwrap(),
        "application/dtmf-relay"
    );
    h.send_response(
        &response_to(&to_b[0], 200, "bt", &bob.contact, ""),
        bob.peer,
    );
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    assert_eq!(to_a[0].headers.cseq().unwrap().method, Method::Info);

    let options = b.request("OPTIONS", "Accept: application/sdp\n", "");
    h.send_request(&options, bob.peer);
    let (to_a, _) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(methods(&to_a), [Method::Options]);
    h.send_response(
        &response_to(&to_a[0], 486, "ftag-dlg-1", &alice.contact, ""),
        alice.peer,
    );
    let (_, to_b) = to_addr(&h.take_sent(), bob.addr());
    assert_eq!(codes(&to_b), [486]);
    // An INFO that gets no answer comes back as 408.
    let info = a.request("INFO", "", "");
    h.send_request(&info, alice.peer);
    h.advance(Duration::from_secs(33));
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [408]);
}

#[test]
fn requests_for_dialogs_the_switch_does_not_hold_get_481() {
    let (mut h, alice, bob) = setup();
    let (a, _b) = answered(&mut h, &alice, &bob);
    let forge = |to_tag: &str, from_tag: &str, method: &str| -> Request {
        request_text(
            &format!(
                "{method} sip:192.0.2.10:5060 SIP/2.0\n\
                 Via: SIP/2.0/UDP 192.0.2.66:5060;branch=z9hG4bKforged{method}{to_tag}\n\
                 Max-Forwards: 70\nFrom: <sip:alice@example.test>;tag={from_tag}\n\
                 To: <sip:bob@example.test>;tag={to_tag}\nCall-ID: dlg-1\nCSeq: 9 {method}\n\
                 Contact: <sip:x@192.0.2.66>\nContent-Type: application/sdp\n"
            ),
            SDP_A,
        )
    };
    let switch_tag = a.remote_tag.unwrap();
    for (to_tag, from_tag, method) in [
        ("made-up", "ftag-dlg-1", "INVITE"),
        (switch_tag.as_str(), "wrong", "INVITE"),
        ("made-up", "ftag-dlg-1", "BYE"),
        (switch_tag.as_str(), "wrong", "BYE"),
    ] {
        h.send_request(&forge(to_tag, from_tag, method), alice.peer);
        let sent = h.take_sent();
        assert_eq!(sent.len(), 1, "{method} {to_tag} {from_tag}: {sent:?}");
        // Answered to the source address and the Via port (no rport);
        // nothing relayed.
        let forged_via = "192.0.2.50:5060".parse().unwrap();
        assert_eq!(codes(&to_addr(&sent, forged_via).1), [481], "{sent:?}");
    }
    assert!(
        h.effects
            .iter()
            .all(|(_, e)| !matches!(e, Effect::MediaOffer { .. }))
    );
    assert_eq!(h.switch.calls().count(), 1, "the call is untouched");
}

#[test]
fn out_of_order_cseq_and_reinvite_glare() {
    let (mut h, alice, bob) = setup();
    let (mut a, _b) = answered(&mut h, &alice, &bob);
    let first = a.request("INVITE", "", "");
    h.send_request(&first, alice.peer);
    h.take_sent();
    let second = a.request("INVITE", "", "");
    h.send_request(&second, alice.peer);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [491]);
    let mut stale = a.request("INFO", "", "");
    stale.headers.set(HeaderName::CSeq, "1 INFO");
    h.send_request(&stale, alice.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [500]);
}

#[test]
fn update_is_relayed_with_sdp() {
    let (mut h, alice, bob) = setup();
    let (mut a, _b) = answered(&mut h, &alice, &bob);
    let update = a.request("UPDATE", "Content-Type: application/sdp\n", HOLD);
    h.send_request(&update, alice.peer);
    let (to_b, _) = to_addr(&h.take_sent(), bob.addr());
    assert_eq!(methods(&to_b), [Method::Update]);
    assert_eq!(&to_b[0].body[..], HOLD.as_bytes());
    h.send_response(
        &response_to(&to_b[0], 200, "bt", &bob.contact, SDP_B),
        bob.peer,
    );
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    assert_eq!(&to_a[0].body[..], SDP_B.as_bytes());
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::MediaAnswer {
            from: LegId(1),
            to: LegId::A,
            ..
        }
    )));
}

#[test]
fn delayed_offer_goes_through_the_2xx_and_the_ack() {
    let (mut h, alice, bob) = setup();
    let mut a = h.call(&alice, "sip:bob@example.test", "late-1", "");
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert!(to_b[0].body.is_empty());
    let b = Callee::new(&bob, to_b[0].clone(), "bl");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(&to_a[0].body[..], SDP_B.as_bytes());
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::MediaOffer {
            from: LegId(1),
            to: LegId::A,
            ..
        }
    )));
    a.learn(&to_a[0]);
    h.send_request(&a.ack(SDP_A), alice.peer);
    let (to_b, _) = to_addr(&h.take_sent(), bob.addr());
    assert_eq!(methods(&to_b), [Method::Ack]);
    assert_eq!(&to_b[0].body[..], SDP_A.as_bytes());
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::MediaAnswer {
            from: LegId::A,
            to: LegId(1),
            ..
        }
    )));
}

#[test]
fn early_media_is_relayed_and_not_replaced_by_ringing() {
    let (mut h, alice, bob) = setup();
    h.media_rewrite = Some(|sdp| {
        String::from_utf8_lossy(sdp)
            .replace("192.0.2.", "198.51.100.")
            .into_bytes()
    });
    h.call(&alice, "sip:bob@example.test", "early-1", SDP_A);
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    // The B leg carries the media engine's offer, not the caller's.
    assert!(String::from_utf8_lossy(&to_b[0].body).contains("c=IN IP4 198.51.100.50"));
    let b = Callee::new(&bob, to_b[0].clone(), "be");
    h.send_response(&b.response(183, SDP_B), bob.peer);
    h.send_response(&b.response(180, ""), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [183]);
    assert!(String::from_utf8_lossy(&to_a[0].body).contains("c=IN IP4 198.51.100.60"));
}

#[test]
fn the_2xx_is_retransmitted_until_acked_and_no_ack_ends_the_call() {
    let (mut h, alice, bob) = setup();
    let a = h.call(&alice, "sip:bob@example.test", "noack-1", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bn");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    let start = h.now;
    let mut times = Vec::new();
    for _ in 0..400 {
        h.advance(Duration::from_millis(100));
        let sent = h.take_sent();
        let (bye_a, to_a) = to_addr(&sent, alice.addr());
        for r in &to_a {
            assert_eq!(r.status, StatusCode::OK);
            times.push((h.now - start).as_millis());
        }
        if !bye_a.is_empty() {
            assert_eq!(methods(&bye_a), [Method::Bye]);
            // bob's 2xx is acknowledged before its BYE.
            assert_eq!(
                methods(&to_addr(&sent, bob.addr()).0),
                [Method::Ack, Method::Bye]
            );
            break;
        }
    }
    // First send at 0 (not counted), then T1 doubling up to T2.
    assert_eq!(
        times,
        [
            500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
        ]
    );
    assert_eq!((h.now - start).as_millis(), 32_000);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    drop(a);
}

#[test]
fn a_retransmitted_2xx_gets_the_same_ack() {
    let (mut h, alice, bob) = setup();
    let (_a, b) = answered(&mut h, &alice, &bob);
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (to_b, _) = to_addr(&h.take_sent(), bob.addr());
    assert_eq!(methods(&to_b), [Method::Ack]);
    assert_eq!(to_b[0].headers.cseq().unwrap().seq, 1);
}

#[test]
fn an_answer_the_caller_never_acknowledged_is_acked_before_the_bye() {
    let (mut h, alice, bob) = setup();
    h.call(&alice, "sip:bob@example.test", "ackbye-1", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bz");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    // The switch stops before the caller's ACK came.
    let unix = h.unix_ms();
    h.switch.shutdown(h.now, unix);
    h.drain();
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Ack, Method::Bye]);
    assert_eq!(to_b[0].headers.cseq().unwrap().seq, 1);
    assert_eq!(to_b[1].headers.cseq().unwrap().seq, 2);
    assert_eq!(methods(&to_addr(&sent, alice.addr()).0), [Method::Bye]);
    // Nothing is retransmitted any more.
    h.advance(Duration::from_secs(5));
    assert!(to_addr(&h.take_sent(), alice.addr()).1.is_empty());
}
