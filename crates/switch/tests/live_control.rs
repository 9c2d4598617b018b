//! What the live API does to a running switch: the calls as it lists them,
//! hanging up an answered or a ringing call, removing a registration, and
//! the responses it counts by status code.

mod support;

use std::time::Duration;

use sb_sip_message::{Aor, Method, StatusCode, Transport};
use sb_switch::{
    CallDestination, CallState, Disposition, Effect, HangupBy, LegId, LegState, RemovalReason,
    SwitchEvent,
};
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, response_to, to_addr};
use support::{Harness, UNIX_START};

/// alice and bob registered, outputs cleared.
fn registered() -> (Harness, Phone, Phone) {
    let mut h = Harness::new();
    let (alice, bob) = (Phone::alice(), Phone::bob());
    assert_eq!(h.register_phone(&alice).status, StatusCode::OK);
    assert_eq!(h.register_phone(&bob).status, StatusCode::OK);
    h.take_sent();
    h.effects.clear();
    h.events.clear();
    (h, alice, bob)
}

fn hang_up(h: &mut Harness, call_id: &str) -> bool {
    let unix = h.unix_ms();
    let done = h.switch.hang_up(h.now, unix, call_id);
    h.drain();
    done
}

#[test]
fn an_answered_call_is_hung_up_on_both_legs() {
    let (mut h, alice, bob) = registered();
    let mut a = h.call(&alice, "sip:bob@example.test", "hu-1@192.0.2.50", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bt1");
    h.send_response(&b.response(180, ""), bob.peer);
    h.advance(Duration::from_secs(3));
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [180, 200]);
    a.learn(&to_a[1]);
    h.send_request(&a.ack(""), alice.peer);
    h.take_sent();

    let calls: Vec<_> = h.switch.calls().collect();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.call_id.as_str(), "hu-1@192.0.2.50");
    assert_eq!(
        (call.caller.as_str(), call.callee.as_str()),
        ("alice", "bob")
    );
    assert_eq!(call.state, CallState::Answered);
    assert_eq!(call.start_unix_ms, UNIX_START);
    assert_eq!(call.answer_unix_ms, Some(UNIX_START + 3_000));
    assert_eq!(call.destination, CallDestination::User("bob".into()));
    let legs: Vec<_> = call
        .legs
        .iter()
        .map(|l| (l.leg, l.peer, l.transport, l.state, l.target.clone()))
        .collect();
    assert_eq!(
        legs,
        [
            (
                LegId::A,
                alice.addr(),
                Transport::Udp,
                LegState::Confirmed,
                None
            ),
            (
                LegId(1),
                bob.addr(),
                Transport::Udp,
                LegState::Confirmed,
                Some(CallDestination::User("bob".into()))
            ),
        ]
    );

    h.advance(Duration::from_secs(7));
    assert!(!hang_up(&mut h, "no-such-call"));
    assert!(
        !hang_up(&mut h, b.invite.headers.call_id().unwrap().as_str()),
        "a callee's Call-ID names no call"
    );
    assert!(h.take_sent().is_empty());
    assert!(hang_up(&mut h, "hu-1@192.0.2.50"));
    let sent = h.take_sent();
    let (to_a, _) = to_addr(&sent, alice.addr());
    assert_eq!(methods(&to_a), [Method::Bye]);
    let a_bye = &to_a[0];
    assert_eq!(a_bye.uri.to_string(), "sip:alice@192.0.2.50:5062");
    assert_eq!(a_bye.headers.call_id().unwrap().as_str(), "hu-1@192.0.2.50");
    assert_eq!(
        a_bye.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "ftag-hu-1@192.0.2.50"
    );
    assert_eq!(a_bye.headers.cseq().unwrap().seq, 1);
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Bye]);
    let b_bye = &to_b[0];
    assert_eq!(b_bye.headers.call_id(), b.invite.headers.call_id());
    assert_eq!(
        b_bye.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "bt1"
    );
    assert_eq!(b_bye.headers.cseq().unwrap().seq, 2);
    assert_eq!(sent.len(), 2);
    assert_eq!(h.switch.calls().count(), 0);
    assert_eq!(h.switch.stats().calls_active, 0);
    // Both BYEs answered: nothing more.
    h.send_response(
        &response_to(a_bye, 200, "x", &alice.contact, ""),
        alice.peer,
    );
    h.send_response(&response_to(b_bye, 200, "bt1", &bob.contact, ""), bob.peer);
    assert!(h.take_sent().is_empty());

    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.sip_status, StatusCode::OK);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    assert_eq!(cdr.billable_ms(), 7_000);
    assert!(h.events.iter().any(|e| matches!(
        e,
        SwitchEvent::CallEnded {
            hangup_by: HangupBy::System,
            disposition: Disposition::Answered,
            ..
        }
    )));
    assert!(!hang_up(&mut h, "hu-1@192.0.2.50"), "over already");
}

#[test]
fn a_ringing_call_is_cancelled_and_the_caller_gets_480() {
    let (mut h, alice, bob) = registered();
    let a = h.call(&alice, "sip:bob@example.test", "hu-2@192.0.2.50", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bt2");
    h.send_response(&b.response(180, ""), bob.peer);
    h.take_sent();
    let call = h.switch.calls().next().unwrap();
    assert_eq!(call.state, CallState::Ringing);
    assert_eq!(call.answer_unix_ms, None);
    let states: Vec<LegState> = call.legs.iter().map(|l| l.state).collect();
    assert_eq!(states, [LegState::Early, LegState::Early]);

    assert!(hang_up(&mut h, "hu-2@192.0.2.50"));
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [480]);
    assert_eq!(to_a[0].reason, "Call Terminated");
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Cancel]);
    let cancel = &to_b[0];
    assert_eq!(cancel.headers.call_id(), b.invite.headers.call_id());
    assert_eq!(
        cancel.headers.top_via().unwrap().branch(),
        b.invite.headers.top_via().unwrap().branch()
    );
    assert_eq!(cancel.headers.cseq().unwrap().seq, 1);
    assert_eq!(h.switch.calls().count(), 0);

    // The device confirms: 200 to the CANCEL, 487 to the INVITE (ACKed by
    // the transaction); the caller ACKs its 480. Nothing else goes out.
    h.send_response(&response_to(cancel, 200, "bt2", &bob.contact, ""), bob.peer);
    h.send_response(&b.response(487, ""), bob.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Ack]);
    assert_eq!(sent.len(), 1);
    h.send_request(&a.ack_failure(&to_a[0]), alice.peer);
    assert!(h.take_sent().is_empty());

    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.call_id.as_str(), "hu-2@192.0.2.50");
    assert_eq!(cdr.disposition, Disposition::Failed);
    assert_eq!(cdr.sip_status, StatusCode::TEMPORARILY_UNAVAILABLE);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    assert_eq!(cdr.answer_unix_ms, None);
    assert_eq!(h.switch.stats().calls_failed, 1);
}

#[test]
fn a_binding_is_removed_by_an_administrator() {
    let (mut h, alice, bob) = registered();
    let aor = Aor::new("bob", "example.test");
    let id = h
        .switch
        .location()
        .bindings(&aor)
        .next()
        .unwrap()
        .id
        .clone();
    assert_eq!(h.switch.stats().bindings, 2);
    let now = h.now;
    assert!(
        !h.switch
            .remove_binding(now, &Aor::new("dave", "example.test"), &id)
    );
    assert!(h.switch.remove_binding(now, &aor, &id));
    h.drain();
    assert!(h.take_sent().is_empty(), "the device is not told");
    assert_eq!(h.switch.location().bindings(&aor).count(), 0);
    assert_eq!(h.switch.stats().bindings, 1);
    assert_eq!(h.switch.stats().aors, 1);
    assert!(h.effects.iter().any(|(_, e)| *e
        == Effect::RemoveBinding {
            aor: aor.clone(),
            binding_id: id.clone(),
        }));
    assert_eq!(
        h.events,
        [SwitchEvent::Unregistered {
            aor: aor.clone(),
            contact: "<sip:bob@192.0.2.60:5060>".into(),
            reason: RemovalReason::Removed,
        }]
    );
    assert!(!h.switch.remove_binding(now, &aor, &id), "gone already");
    // Nobody to ring now; the binding's expiry timer went with it.
    let a = h.call(&alice, "sip:bob@example.test", "rb-1", SDP_A);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 480]);
    h.send_request(&a.ack_failure(&to_a[1]), alice.peer);
    h.events.clear();
    h.advance(Duration::from_secs(3_601));
    assert!(
        !h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::Unregistered { aor: a, .. } if *a == aor))
    );
    assert!(h.switch.location().bindings(&aor).next().is_none());
    // It registers again at its next refresh.
    assert_eq!(h.register_phone(&bob).status, StatusCode::OK);
    assert_eq!(h.switch.location().bindings(&aor).count(), 1);
}

#[test]
fn responses_are_counted_by_status_code() {
    let mut h = Harness::new();
    assert_eq!(h.switch.stats().responses_sent().count(), 0);
    let alice = Phone::alice();
    h.register_phone(&alice); // 401, 200
    h.register_phone(&alice); // 401, 200
    h.call(&alice, "sip:nobody@example.test", "rc-1", SDP_A); // 407, 100, 404
    h.take_sent();
    let sent: Vec<(u16, u64)> = h.switch.stats().responses_sent().collect();
    assert_eq!(sent, [(100, 1), (200, 2), (401, 2), (404, 1), (407, 1)]);
    let stats = h.switch.stats();
    assert_eq!(stats.responses_by_code.get(401), 2);
    assert_eq!(stats.responses_by_code.get(486), 0);
    assert_eq!(stats.responses_by_code.get(99), 0);
    assert_eq!(stats.responses_by_code.get(700), 0);
    let total: u64 = sent.iter().map(|&(_, n)| n).sum();
    assert_eq!(total, stats.responses_by_class.iter().sum::<u64>());
    assert_eq!(
        format!("{:?}", stats.responses_by_code),
        "{100: 1, 200: 2, 401: 2, 404: 1, 407: 1}"
    );
    // A malformed request answered with 400 counts too.
    h.deliver(
        "OPTIONS sip:example.test SIP/2.0\n\
         Via: SIP/2.0/UDP 192.0.2.50:5062;branch=z9hG4bKbad\n\
         From: <sip:alice@example.test>;tag=1\n\
         To: <sip:example.test>\n\
         Call-ID: bad-1\n\
         CSeq: x OPTIONS\n\
         Content-Length: 0\n\n",
        alice.peer,
    );
    assert_eq!(h.take_responses()[0].1.status, StatusCode::BAD_REQUEST);
    assert_eq!(h.switch.stats().responses_by_code.get(400), 1);
}
