//! Forking to every device of the callee: CANCEL, first answer wins, late
//! answers, the ring timeout, the best failure, ring groups.

mod support;

use std::time::Duration;

use sb_sip_message::{Method, StatusCode};
use sb_switch::{CallState, Disposition, HangupBy, SwitchConfig, Wakeup};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, response_to, to_addr};

/// alice, and bob on two devices.
fn two_devices(config: SwitchConfig) -> (Harness, Phone, Phone, Phone) {
    let mut h = Harness::with_config(config);
    let alice = Phone::alice();
    let desk = Phone::new("bob", "hunter2", "192.0.2.60:5060", "192.0.2.60:5060");
    let soft = Phone::new("bob", "hunter2", "192.0.2.61:5070", "192.0.2.61:5070");
    for p in [&alice, &desk, &soft] {
        assert_eq!(h.register_phone(p).status, StatusCode::OK);
    }
    h.take_sent();
    h.effects.clear();
    h.events.clear();
    (h, alice, desk, soft)
}

/// Calls bob; returns the caller and one callee per device, in order.
fn ring_both(
    h: &mut Harness,
    alice: &Phone,
    desk: &Phone,
    soft: &Phone,
) -> (support::calls::Caller, Callee, Callee) {
    let a = h.call(alice, "sip:bob@example.test", "fork-1", SDP_A);
    let sent = h.take_sent();
    let (to_desk, _) = to_addr(&sent, desk.addr());
    let (to_soft, _) = to_addr(&sent, soft.addr());
    assert_eq!(methods(&to_desk), [Method::Invite]);
    assert_eq!(methods(&to_soft), [Method::Invite]);
    // Separate dialogs.
    assert_ne!(
        to_desk[0].headers.call_id().unwrap(),
        to_soft[0].headers.call_id().unwrap()
    );
    (
        a,
        Callee::new(desk, to_desk[0].clone(), "desk"),
        Callee::new(soft, to_soft[0].clone(), "soft"),
    )
}

#[test]
fn cancel_before_answer_cancels_every_device() {
    let (mut h, alice, desk, soft) = two_devices(SwitchConfig::for_tests());
    let (a, d, s) = ring_both(&mut h, &alice, &desk, &soft);
    h.send_response(&d.response(180, ""), desk.peer);
    // The soft phone has not answered anything yet.
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [180]);
    h.advance(Duration::from_secs(3));
    h.send_request(&a.cancel(), alice.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    let mut got = codes(&to_a);
    got.sort_unstable();
    assert_eq!(got, [200, 487]);
    let cancel_ok = to_a.iter().find(|r| r.status == StatusCode::OK).unwrap();
    assert_eq!(cancel_ok.headers.cseq().unwrap().method, Method::Cancel);
    // CANCEL now to the device that rang (same branch as its INVITE)...
    let (to_desk, _) = to_addr(&sent, desk.addr());
    assert_eq!(methods(&to_desk), [Method::Cancel]);
    assert_eq!(
        to_desk[0].headers.top_via().unwrap().branch(),
        d.invite.headers.top_via().unwrap().branch()
    );
    assert_eq!(to_desk[0].headers.cseq().unwrap().seq, 1);
    // ...and to the other only once it rings (RFC 3261 §9.1).
    assert!(!methods(&to_addr(&sent, soft.addr()).0).contains(&Method::Cancel));
    h.send_response(&s.response(100, ""), soft.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, soft.addr()).0), [Method::Cancel]);
    assert!(to_addr(&sent, alice.addr()).1.is_empty());
    // The devices end their INVITEs with 487, which their transactions ACK.
    h.send_response(&d.response(487, ""), desk.peer);
    h.send_response(&s.response(487, ""), soft.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, desk.addr()).0), [Method::Ack]);
    assert_eq!(methods(&to_addr(&sent, soft.addr()).0), [Method::Ack]);
    assert!(to_addr(&sent, alice.addr()).1.is_empty());
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Cancelled);
    assert_eq!(cdr.sip_status, StatusCode::REQUEST_TERMINATED);
    assert_eq!(cdr.hangup_by, HangupBy::Caller);
    assert_eq!(cdr.end_unix_ms - cdr.start_unix_ms, 3_000);
    assert_eq!(h.switch.stats().calls_cancelled, 1);
}

#[test]
fn first_answer_wins_and_a_late_answer_is_acked_and_hung_up() {
    let (mut h, alice, desk, soft) = two_devices(SwitchConfig::for_tests());
    let (mut a, d, s) = ring_both(&mut h, &alice, &desk, &soft);
    h.send_response(&d.response(180, ""), desk.peer);
    h.send_response(&s.response(180, ""), soft.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [180, 180]);
    // The soft phone answers first.
    h.send_response(&s.response(200, SDP_B), soft.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [200]);
    assert_eq!(methods(&to_addr(&sent, desk.addr()).0), [Method::Cancel]);
    assert!(
        to_addr(&sent, soft.addr()).0.is_empty(),
        "ACK waits for the caller's"
    );
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, soft.addr()).0), [Method::Ack]);
    // The desk phone answered before the CANCEL reached it.
    h.send_response(&d.response(200, SDP_B), desk.peer);
    let sent = h.take_sent();
    let (to_desk, _) = to_addr(&sent, desk.addr());
    assert_eq!(methods(&to_desk), [Method::Ack, Method::Bye]);
    assert_eq!(to_desk[0].uri.to_string(), "sip:bob@192.0.2.60:5060");
    assert_eq!(to_desk[1].headers.cseq().unwrap().seq, 2);
    assert_eq!(
        to_desk[1]
            .headers
            .to_addr()
            .unwrap()
            .tag()
            .unwrap()
            .as_str(),
        "desk"
    );
    assert!(to_addr(&sent, alice.addr()).1.is_empty());
    assert!(to_addr(&sent, soft.addr()).0.is_empty());
    let snapshot: Vec<_> = h.switch.calls().collect();
    assert_eq!(snapshot.len(), 1);
    assert_eq!(snapshot[0].state, CallState::Answered);
    assert_eq!(snapshot[0].callee, "bob");
}

#[test]
fn ring_timeout_cancels_and_answers_480() {
    let mut config = SwitchConfig::for_tests();
    config.calls.no_answer_timeout = Duration::from_secs(20);
    let (mut h, alice, desk, soft) = two_devices(config);
    let (_a, d, s) = ring_both(&mut h, &alice, &desk, &soft);
    h.send_response(&d.response(180, ""), desk.peer);
    h.send_response(&s.response(180, ""), soft.peer);
    h.take_sent();
    h.advance(Duration::from_millis(19_999));
    assert!(to_addr(&h.take_sent(), alice.addr()).1.is_empty());
    h.advance(Duration::from_millis(1));
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [480]);
    assert_eq!(methods(&to_addr(&sent, desk.addr()).0), [Method::Cancel]);
    assert_eq!(methods(&to_addr(&sent, soft.addr()).0), [Method::Cancel]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::NoAnswer);
    assert_eq!(cdr.sip_status, StatusCode::TEMPORARILY_UNAVAILABLE);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    // A device that never answers its CANCEL is given up after 64·T1,
    // and nothing stays behind.
    h.advance(Duration::from_secs(40));
    assert_eq!(h.switch.transaction_stats().live(), 0);
    assert!(matches!(
        h.switch.poll_timeout(),
        Some((_, Wakeup::BindingExpiry))
    ));
}

#[test]
fn best_failure_is_chosen_when_every_device_fails() {
    let (mut h, alice, desk, soft) = two_devices(SwitchConfig::for_tests());
    let (_a, d, s) = ring_both(&mut h, &alice, &desk, &soft);
    h.send_response(&d.response(480, ""), desk.peer);
    assert!(
        to_addr(&h.take_sent(), alice.addr()).1.is_empty(),
        "one device still rings"
    );
    h.send_response(&s.response(486, ""), soft.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [486]);
    assert_eq!(h.cdrs().pop().unwrap().disposition, Disposition::Busy);

    // 503 from a device is not the switch's overload: 500.
    let (_a, d, s) = {
        let a = h.call(&alice, "sip:bob@example.test", "fork-2", SDP_A);
        let sent = h.take_sent();
        (
            a,
            Callee::new(&desk, to_addr(&sent, desk.addr()).0[0].clone(), "d2"),
            Callee::new(&soft, to_addr(&sent, soft.addr()).0[0].clone(), "s2"),
        )
    };
    h.send_response(&d.response(503, ""), desk.peer);
    h.send_response(&s.response(500, ""), soft.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [500]);
    assert_eq!(h.cdrs().pop().unwrap().disposition, Disposition::Failed);
}

#[test]
fn sequential_ring_group_rings_members_in_turn() {
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
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "sales"
actions = [{ ring_group = { users = ["bob", "nobody", "carol2"], strategy = "sequential", timeout = "5s" } }]
"#,
        &[],
    ));
    let mut a = h.call(&alice, "sip:sales@example.test", "group-1", SDP_A);
    let sent = h.take_sent();
    let (to_bob, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_bob), [Method::Invite]);
    assert!(to_addr(&sent, carol.addr()).0.is_empty());
    let b = Callee::new(&bob, to_bob[0].clone(), "bg");
    h.send_response(&b.response(180, ""), bob.peer);
    h.take_sent();
    h.advance(Duration::from_secs(5));
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Cancel]);
    // "nobody" does not exist: carol2 is next.
    let (to_carol, _) = to_addr(&sent, carol.addr());
    assert_eq!(methods(&to_carol), [Method::Invite]);
    let c = Callee::new(&carol, to_carol[0].clone(), "cg");
    h.send_response(&c.response(200, SDP_B), carol.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    h.take_sent();
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.callee, "carol2");
    assert_eq!(cdr.dialed, "sales");
    assert_eq!(cdr.disposition, Disposition::Answered);
    // bob's late 487 changes nothing.
    h.send_response(
        &response_to(&b.invite, 487, "bg", &bob.contact, ""),
        bob.peer,
    );
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Ack]);
    assert_eq!(sent.len(), 1);
}

#[test]
fn an_answer_crossing_the_callers_cancel_is_acked_and_hung_up() {
    let (mut h, alice, desk, soft) = two_devices(SwitchConfig::for_tests());
    let (a, d, s) = ring_both(&mut h, &alice, &desk, &soft);
    h.send_response(&d.response(180, ""), desk.peer);
    h.send_response(&s.response(180, ""), soft.peer);
    h.send_request(&a.cancel(), alice.peer);
    h.take_sent();
    // The desk phone answered before the CANCEL arrived.
    h.send_response(&d.response(200, SDP_B), desk.peer);
    let sent = h.take_sent();
    assert_eq!(
        methods(&to_addr(&sent, desk.addr()).0),
        [Method::Ack, Method::Bye]
    );
    assert!(
        to_addr(&sent, alice.addr()).1.is_empty(),
        "the caller has its 487"
    );
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Cancelled);
    assert_eq!(h.switch.calls().count(), 0);
}
