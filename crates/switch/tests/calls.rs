//! Calls through the B2BUA, driven byte for byte as phones would drive them:
//! authentication, routing, ringing, answer, ACK, BYE from either side, the
//! CDR of every ending.

mod support;

use std::time::Duration;

use sb_sip_message::{HeaderName, Method, StatusCode};
use sb_switch::{
    CallDestination, CallSource, Disposition, Effect, EffectResult, HangupBy, LegId, SwitchEvent,
};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, to_addr};

/// A switch with alice and bob registered, outputs cleared.
fn registered() -> (Harness, Phone, Phone) {
    let mut h = Harness::new();
    let alice = Phone::alice();
    let bob = Phone::bob();
    assert_eq!(h.register_phone(&alice).status, StatusCode::OK);
    assert_eq!(h.register_phone(&bob).status, StatusCode::OK);
    h.take_sent();
    h.effects.clear();
    h.events.clear();
    (h, alice, bob)
}

#[test]
fn basic_call_caller_hangs_up() {
    let (mut h, alice, bob) = registered();
    let mut a = h.call(&alice, "sip:bob@example.test", "call-1@192.0.2.50", SDP_A);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [100]);
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Invite]);
    let invite = &to_b[0];
    // A new dialog towards the registered contact.
    assert_eq!(invite.uri.to_string(), "sip:bob@192.0.2.60:5060");
    let b_call_id = invite.headers.call_id().unwrap();
    assert_ne!(b_call_id.as_str(), "call-1@192.0.2.50");
    let from = invite.headers.from_addr().unwrap();
    assert_eq!(from.uri.to_string(), "sip:alice@example.test");
    assert_eq!(from.display_name.as_deref(), Some("alice"));
    assert_ne!(from.tag().unwrap().as_str(), "ftag-call-1@192.0.2.50");
    assert_eq!(
        invite.headers.get(&HeaderName::To).unwrap(),
        "<sip:bob@example.test>"
    );
    assert_eq!(invite.headers.cseq().unwrap().seq, 1);
    assert_eq!(invite.headers.max_forwards().unwrap(), Some(69));
    assert_eq!(
        invite.headers.get(&HeaderName::Contact).unwrap(),
        "<sip:192.0.2.10:5060>"
    );
    let via = invite.headers.top_via().unwrap();
    assert_eq!(
        via.to_string().split(';').next().unwrap(),
        "SIP/2.0/UDP 192.0.2.10:5060"
    );
    assert!(via.branch().unwrap().is_rfc3261());
    assert_eq!(invite.headers.count(&HeaderName::Via), 1);
    assert!(
        invite
            .headers
            .get(&HeaderName::ProxyAuthorization)
            .is_none()
    );
    assert_eq!(&invite.body[..], SDP_A.as_bytes());
    // The offer went through the media seam.
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::MediaOffer {
            from: LegId::A,
            to: LegId(1),
            ..
        }
    )));

    let b = Callee::new(&bob, invite.clone(), "btag1");
    h.send_response(&b.response(100, ""), bob.peer);
    assert!(h.take_sent().is_empty(), "100 is not relayed");
    h.send_response(&b.response(180, ""), bob.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [180]);
    let ringing = &to_a[0];
    let tag = ringing.headers.to_addr().unwrap().tag().unwrap();
    assert_eq!(
        ringing.headers.get(&HeaderName::Contact).unwrap(),
        "<sip:192.0.2.10:5060>"
    );
    assert_eq!(
        ringing.headers.call_id().unwrap().as_str(),
        "call-1@192.0.2.50"
    );

    h.advance(Duration::from_secs(2));
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [200]);
    let ok = &to_a[0];
    assert_eq!(
        ok.headers.to_addr().unwrap().tag().unwrap(),
        tag,
        "one tag towards the caller"
    );
    assert_eq!(&ok.body[..], SDP_B.as_bytes());
    assert_eq!(
        ok.headers.get(&HeaderName::ContentType).unwrap(),
        "application/sdp"
    );
    assert_eq!(ok.headers.cseq().unwrap().seq, 2);
    // B gets no ACK before the caller's.
    assert!(to_addr(&sent, bob.addr()).0.is_empty());
    a.learn(ok);

    let ack = a.ack("");
    h.send_request(&ack, alice.peer);
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Ack]);
    let b_ack = &to_b[0];
    assert_eq!(b_ack.uri.to_string(), "sip:bob@192.0.2.60:5060");
    assert_eq!(b_ack.headers.cseq().unwrap().seq, 1);
    assert_eq!(b_ack.headers.call_id().unwrap(), b_call_id);
    assert_eq!(
        b_ack.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "btag1"
    );
    assert_ne!(b_ack.headers.top_via().unwrap().branch(), via.branch());

    h.advance(Duration::from_secs(30));
    let bye = a.request("BYE", "", "");
    h.send_request(&bye, alice.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [200]);
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Bye]);
    let b_bye = &to_b[0];
    assert_eq!(b_bye.headers.cseq().unwrap().seq, 2);
    assert_eq!(
        b_bye.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "btag1"
    );
    h.send_response(
        &support::calls::response_to(b_bye, 200, "btag1", &bob.contact, ""),
        bob.peer,
    );
    assert!(h.take_sent().is_empty());

    let cdrs = h.cdrs();
    assert_eq!(cdrs.len(), 1);
    let cdr = &cdrs[0];
    assert_eq!(cdr.call_id.as_str(), "call-1@192.0.2.50");
    assert_eq!(cdr.caller, "alice");
    assert_eq!(cdr.caller_domain, "example.test");
    assert_eq!(cdr.callee, "bob");
    assert_eq!(cdr.dialed, "bob");
    assert_eq!(cdr.source, CallSource::User("alice".into()));
    assert_eq!(cdr.destination, CallDestination::User("bob".into()));
    assert_eq!(cdr.start_unix_ms, support::UNIX_START);
    assert_eq!(cdr.answer_unix_ms, Some(support::UNIX_START + 2_000));
    assert_eq!(cdr.end_unix_ms, support::UNIX_START + 32_000);
    assert_eq!(cdr.billable_ms(), 30_000);
    assert_eq!(cdr.duration_ms(), 32_000);
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.sip_status, StatusCode::OK);
    assert_eq!(cdr.hangup_by, HangupBy::Caller);
    assert!(
        h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::MediaRelease { .. }))
    );
    let kinds: Vec<&str> = h
        .events
        .iter()
        .filter_map(|e| match e {
            SwitchEvent::CallStarted { .. } => Some("started"),
            SwitchEvent::CallAnswered { .. } => Some("answered"),
            SwitchEvent::CallEnded { .. } => Some("ended"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["started", "answered", "ended"]);
    let stats = h.switch.stats();
    assert_eq!(
        (
            stats.calls_attempted,
            stats.calls_answered,
            stats.calls_active
        ),
        (1, 1, 0)
    );
    assert_eq!(h.switch.calls().count(), 0);
}

/// Rings bob and answers; returns the caller and callee sides with the ACK
/// exchanged, outputs cleared.
pub fn answered(h: &mut Harness, alice: &Phone, bob: &Phone) -> (support::calls::Caller, Callee) {
    let mut a = h.call(alice, "sip:bob@example.test", "call-x@192.0.2.50", SDP_A);
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    let b = Callee::new(bob, to_b[0].clone(), "btagx");
    h.send_response(&b.response(180, ""), bob.peer);
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [180, 200]);
    a.learn(&to_a[1]);
    let ack = a.ack("");
    h.send_request(&ack, alice.peer);
    h.take_sent();
    (a, b)
}

#[test]
fn basic_call_callee_hangs_up() {
    let (mut h, alice, bob) = registered();
    let (_a, mut b) = answered(&mut h, &alice, &bob);
    h.advance(Duration::from_secs(10));
    let bye = b.request("BYE", "", "");
    h.send_request(&bye, bob.peer);
    let sent = h.take_sent();
    let (_, to_b) = to_addr(&sent, bob.addr());
    assert_eq!(codes(&to_b), [200]);
    let (to_a, _) = to_addr(&sent, alice.addr());
    assert_eq!(methods(&to_a), [Method::Bye]);
    let a_bye = &to_a[0];
    // The caller's dialog: its Contact, its Call-ID and tags swapped.
    assert_eq!(a_bye.uri.to_string(), "sip:alice@192.0.2.50:5062");
    assert_eq!(
        a_bye.headers.call_id().unwrap().as_str(),
        "call-x@192.0.2.50"
    );
    assert_eq!(
        a_bye.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "ftag-call-x@192.0.2.50"
    );
    assert_eq!(a_bye.headers.cseq().unwrap().seq, 1);
    let cdr = &h.cdrs()[0];
    assert_eq!(cdr.hangup_by, HangupBy::Callee);
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.billable_ms(), 10_000);
    // A BYE for the ended call is not relayed.
    let again = b.request("BYE", "", "");
    h.send_request(&again, bob.peer);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1);
    assert_eq!(codes(&to_addr(&sent, bob.addr()).1), [481]);
}

#[test]
fn invite_without_credentials_is_challenged_with_407() {
    let (mut h, alice, bob) = registered();
    let invite = Harness::invite_text(&alice, "sip:bob@example.test", "c407", 1, "", SDP_A);
    h.send_request(&invite, alice.peer);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1, "only the challenge: {sent:?}");
    let (_, to_a) = to_addr(&sent, alice.addr());
    let r = &to_a[0];
    assert_eq!(r.status, StatusCode::PROXY_AUTHENTICATION_REQUIRED);
    let challenges: Vec<&str> = r
        .headers
        .get_all(&HeaderName::ProxyAuthenticate)
        .map(|v| v.as_str())
        .collect();
    assert_eq!(challenges.len(), 2);
    assert!(challenges[0].contains("realm=\"example.test\"") && challenges[0].contains("MD5"));
    assert!(r.headers.get(&HeaderName::WwwAuthenticate).is_none());
    assert!(to_addr(&sent, bob.addr()).0.is_empty());
    assert!(h.effects.is_empty());
    assert_eq!(h.switch.stats().calls_attempted, 0);
    // With credentials: 100 Trying at once, then the B leg.
    let auth = Harness::proxy_authorization(r, &alice, "sip:bob@example.test", 1);
    let invite = Harness::invite_text(&alice, "sip:bob@example.test", "c407", 2, &auth, SDP_A);
    h.send_request(&invite, alice.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100]);
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Invite]);
    // Wrong password: a fresh challenge and an auth failure.
    let mut wrong = alice.clone();
    wrong.password = "nope".into();
    let auth = Harness::proxy_authorization(r, &wrong, "sip:bob@example.test", 2);
    let invite = Harness::invite_text(&alice, "sip:bob@example.test", "c407b", 2, &auth, SDP_A);
    h.send_request(&invite, alice.peer);
    assert_eq!(
        h.response().status,
        StatusCode::PROXY_AUTHENTICATION_REQUIRED
    );
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::AuthFailed { .. }))
    );
}

#[test]
fn from_must_be_the_authenticated_user() {
    let (mut h, alice, bob) = registered();
    // bob's From, alice's credentials.
    let mut impostor = bob;
    impostor.peer = alice.peer;
    let first = Harness::invite_text(&impostor, "sip:bob@example.test", "c403", 1, "", SDP_A);
    h.send_request(&first, alice.peer);
    let challenge = h.response();
    let auth = Harness::proxy_authorization(&challenge, &alice, "sip:bob@example.test", 1);
    let invite = Harness::invite_text(&impostor, "sip:bob@example.test", "c403", 2, &auth, SDP_A);
    h.send_request(&invite, alice.peer);
    let sent = h.take_sent();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [403]);
    assert_eq!(h.switch.stats().calls_attempted, 0);
}

#[test]
fn unknown_callee_gets_404_and_unregistered_480() {
    let mut h = Harness::new();
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.take_sent();
    h.effects.clear();
    let mut a = h.call(&alice, "sip:nobody@example.test", "c404", SDP_A);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100, 404]);
    // The existence check used the credential lookup.
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::FetchCredentials { username, .. } if username == "nobody"
    )));
    let r404 = &to_addr(&sent, alice.addr()).1[1];
    a.learn(r404);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.sip_status.as_u16(), cdr.disposition),
        (404, Disposition::Failed)
    );
    assert_eq!(cdr.destination, CallDestination::None);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    assert_eq!(cdr.callee, "nobody");

    // bob exists but has no registration.
    h.call(&alice, "sip:bob@example.test", "c480", SDP_A);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100, 480]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.sip_status.as_u16(), cdr.disposition),
        (480, Disposition::Failed)
    );
    assert_eq!(cdr.destination, CallDestination::User("bob".into()));
    assert_eq!(h.switch.stats().calls_failed, 2);
}

#[test]
fn busy_callee_gives_486_and_a_busy_cdr() {
    let (mut h, alice, bob) = registered();
    let a = h.call(&alice, "sip:bob@example.test", "c486", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bb");
    h.send_response(&b.response(486, ""), bob.peer);
    let sent = h.take_sent();
    // The client transaction ACKs the 486; the caller gets it relayed.
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Ack]);
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [486]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Busy);
    assert_eq!(cdr.sip_status, StatusCode::BUSY_HERE);
    assert_eq!(cdr.hangup_by, HangupBy::Callee);
    assert_eq!(cdr.answer_unix_ms, None);
    // The caller's ACK for the 486 is absorbed by its transaction.
    let ack = a.ack_failure(&to_a[0]);
    h.send_request(&ack, alice.peer);
    assert!(h.take_sent().is_empty());
}

#[test]
fn a_hang_up_is_confirmed_once_the_record_is_committed() {
    let (mut h, alice, bob) = registered();
    h.auto_cdr = false;
    let (mut a, _b) = answered(&mut h, &alice, &bob);
    h.advance(Duration::from_secs(5));
    let bye = a.request("BYE", "", "");
    h.send_request(&bye, alice.peer);
    // The record is being written: nobody hears of the end yet, and a
    // retransmitted BYE changes nothing.
    assert!(h.take_sent().is_empty());
    h.send_request(&bye, alice.peer);
    assert!(h.take_sent().is_empty());
    let (token, _) = h
        .effects
        .iter()
        .find(|(_, e)| matches!(e, Effect::WriteCdr(_)))
        .cloned()
        .expect("the record is written");
    let unix = h.unix_ms();
    h.switch
        .handle_effect_result(h.now, unix, token, EffectResult::Written);
    h.drain();
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [200]);
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Bye]);
}

#[test]
fn a_hang_up_waits_for_its_record_at_most_record_wait() {
    // The callee hangs up; the record is never answered.
    let (mut h, alice, bob) = registered();
    h.auto_cdr = false;
    let (_a, mut b2) = answered(&mut h, &alice, &bob);
    let bye = b2.request("BYE", "", "");
    h.send_request(&bye, bob.peer);
    assert!(h.take_sent().is_empty());
    h.advance(Duration::from_millis(1_999));
    assert!(h.take_sent().is_empty());
    h.advance(Duration::from_millis(1));
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, bob.addr()).1), [200]);
    assert_eq!(methods(&to_addr(&sent, alice.addr()).0), [Method::Bye]);
}
