//! Calls through the server as users make them: real phones (baresip)
//! registered to the real binary call each other by user name; SIPp plays
//! the caller where the test must see the exact SIP answer (487, 480, 404).
//!
//! Each test starts its own server. These tests fail — they never skip —
//! while the server cannot place calls: the caller's phone reports how its
//! INVITE ended (e.g. `405 Method Not Allowed`) in the failure message.

use std::time::Duration;

use sb_e2e::baresip::{Baresip, BaresipConfig, Event, EventKind};
use sb_e2e::calls::{
    Cdr, add_user, start_server_for_phones, start_server_for_phones_with, wait_for_cdrs,
};
use sb_e2e::{Server, Sipp, SippRun};

/// Bound on every single wait for an event.
const WAIT: Duration = Duration::from_secs(10);
/// How long the callee rings before answering.
const RING: Duration = Duration::from_secs(1);
/// How long answered calls last.
const TALK: Duration = Duration::from_secs(2);
/// How far the billed time may be from the talk time the phones saw.
const BILLING_TOLERANCE_MS: i64 = 500;

fn phone(server: &Server, user: &str, password: &str) -> Baresip {
    let mut p = Baresip::start(&BaresipConfig::registered(
        user,
        "example.test",
        password,
        server.sip,
    ));
    p.wait_registered(WAIT);
    p
}

/// A server with alice (password `secret`) and bob (password `pw-bob`).
fn server_with_alice_and_bob() -> Server {
    let server = start_server_for_phones();
    add_user(&server, "alice", "secret");
    add_user(&server, "bob", "pw-bob");
    server
}

/// Waits until the caller hears ringing. A call that ends first was not
/// placed by the server: fail with how it ended.
fn expect_ringing(caller: &mut Baresip) -> Event {
    let kinds = [
        EventKind::CallRinging,
        EventKind::CallProgress,
        EventKind::CallClosed,
    ];
    match caller.wait_event_any(&kinds, WAIT) {
        Some(e) if e.kind == EventKind::CallClosed => {
            panic!(
                "the server did not place the call: it ended with \"{}\"",
                e.param
            )
        }
        Some(e) => e,
        None => panic!(
            "no ringing within {WAIT:?}; caller's events: {:?}",
            caller.history()
        ),
    }
}

/// Expects the callee to alert with a call from alice.
fn expect_call_from_alice(callee: &mut Baresip) -> Event {
    let incoming = callee.expect_event(&EventKind::CallIncoming, WAIT);
    let from = incoming.peer_uri.as_deref().unwrap_or_default();
    assert!(
        from.contains("alice@example.test"),
        "the callee must see the caller's identity, saw {from:?}"
    );
    incoming
}

/// Whether `received` is what the peer `sent`, give or take the packets in
/// flight when the call ended.
fn matches(received: u64, sent: u64) -> bool {
    received <= sent && received + 10 >= sent
}

/// The caller's end-of-call counters, checked against the callee's.
fn check_rtp_summaries(caller: &mut Baresip, callee: &mut Baresip) {
    let a = caller
        .wait_rtp_summary(WAIT)
        .expect("caller's RTP counters at the end of the call");
    let b = callee
        .wait_rtp_summary(WAIT)
        .expect("callee's RTP counters at the end of the call");
    assert!(a.sent > 0 && a.received > 0 && b.sent > 0 && b.received > 0);
    assert!(matches(b.received, a.sent), "caller→callee: {a:?} {b:?}");
    assert!(matches(a.received, b.sent), "callee→caller: {a:?} {b:?}");
}

/// The only CDR of the server, once written.
fn the_cdr(server: &Server) -> Cdr {
    let rows = wait_for_cdrs(server, 1, WAIT);
    assert_eq!(rows.len(), 1, "one record per call: {rows:?}");
    rows.into_iter().next().expect("one row")
}

/// alice calls bob, bob rings for [`RING`] and answers, RTP flows both ways
/// for [`TALK`], then the caller or the callee hangs up; the CDR bills the
/// talk time.
fn answered_call_ended_by(caller_hangs_up: bool, callee_over_tcp: bool) {
    let server = server_with_alice_and_bob();
    let mut alice = phone(&server, "alice", "secret");
    let mut bob = {
        let mut config = BaresipConfig::registered("bob", "example.test", "pw-bob", server.sip);
        if callee_over_tcp {
            config = config.tcp();
        }
        let mut p = Baresip::start(&config);
        p.wait_registered(WAIT);
        p
    };
    alice.dial("sip:bob@example.test");
    expect_ringing(&mut alice);
    expect_call_from_alice(&mut bob);
    std::thread::sleep(RING);
    bob.answer();
    let answered = alice.expect_event(&EventKind::CallEstablished, WAIT);
    bob.expect_event(&EventKind::CallEstablished, WAIT);
    let call_id = answered.call_id.clone().expect("the call's Call-ID");
    // Media goes phone to phone: each counts what the other sent.
    alice.wait_rtp_flowing(25, WAIT);
    bob.wait_rtp_flowing(25, WAIT);
    std::thread::sleep(TALK.saturating_sub(answered.at.elapsed()));
    let talk = answered.at.elapsed();
    let (hanging, other) = if caller_hangs_up {
        (&mut alice, &mut bob)
    } else {
        (&mut bob, &mut alice)
    };
    hanging.hangup();
    hanging.expect_event(&EventKind::CallClosed, WAIT);
    let closed = other.expect_event(&EventKind::CallClosed, WAIT);
    assert!(
        !closed.param.starts_with(|c: char| c.is_ascii_digit()),
        "a BYE ends the call, not an error: {closed:?}"
    );
    check_rtp_summaries(&mut alice, &mut bob);

    let cdr = the_cdr(&server);
    assert_eq!(cdr.call_id, call_id, "{cdr:?}");
    assert_eq!(cdr.caller, "alice", "{cdr:?}");
    assert_eq!(cdr.callee, "bob", "{cdr:?}");
    assert_eq!(cdr.disposition, "ANSWERED", "{cdr:?}");
    assert_eq!(cdr.sip_status, 200, "{cdr:?}");
    let by = if caller_hangs_up { "caller" } else { "callee" };
    assert_eq!(cdr.hangup_by, by, "{cdr:?}");
    let talk_ms = i64::try_from(talk.as_millis()).expect("short call");
    assert!(
        (cdr.billable_ms - talk_ms).abs() <= BILLING_TOLERANCE_MS,
        "billed {} ms for {talk_ms} ms of talk after {} ms of ringing: {cdr:?}",
        cdr.billable_ms,
        RING.as_millis()
    );
}

#[test]
fn answered_call_carries_rtp_both_ways_and_the_caller_hangs_up() {
    answered_call_ended_by(true, false);
}

#[test]
fn answered_call_ended_by_the_callee_on_tcp() {
    answered_call_ended_by(false, true);
}

#[test]
fn callee_rejecting_the_call_makes_it_busy() {
    let server = server_with_alice_and_bob();
    let mut alice = phone(&server, "alice", "secret");
    let mut bob = phone(&server, "bob", "pw-bob");
    alice.dial("bob");
    expect_ringing(&mut alice);
    expect_call_from_alice(&mut bob);
    // Hanging up an alerting call answers 486 Busy Here.
    bob.hangup();
    let closed = alice.expect_event(&EventKind::CallClosed, WAIT);
    assert!(closed.param.starts_with("486"), "{closed:?}");
    assert!(!alice.has_seen(&EventKind::CallEstablished));

    let cdr = the_cdr(&server);
    assert_eq!(cdr.disposition, "BUSY", "{cdr:?}");
    assert_eq!(cdr.sip_status, 486, "{cdr:?}");
    assert_eq!(cdr.billable_ms, 0, "{cdr:?}");
    assert_eq!(cdr.hangup_by, "callee", "{cdr:?}");
    assert_eq!(cdr.caller, "alice", "{cdr:?}");
}

#[test]
fn a_call_nobody_answers_is_given_up_with_480() {
    let server = start_server_for_phones_with("[calls]\nno_answer_timeout = \"2s\"\n");
    add_user(&server, "alice", "secret");
    add_user(&server, "bob", "pw-bob");
    let mut alice = phone(&server, "alice", "secret");
    let mut bob = phone(&server, "bob", "pw-bob");
    alice.dial("sip:bob@example.test");
    let ringing = expect_ringing(&mut alice);
    expect_call_from_alice(&mut bob);
    // The server gives up: the callee's phone is cancelled, the caller
    // gets 480.
    let closed = alice.expect_event(&EventKind::CallClosed, WAIT);
    assert!(closed.param.starts_with("480"), "{closed:?}");
    let rang = closed.at.duration_since(ringing.at);
    assert!(
        rang >= Duration::from_millis(1500) && rang <= Duration::from_secs(5),
        "given up after {rang:?} of ringing, not about 2 s"
    );
    bob.expect_event(&EventKind::CallClosed, WAIT);
    assert!(!bob.has_seen(&EventKind::CallEstablished));

    let cdr = the_cdr(&server);
    assert_eq!(cdr.disposition, "NO ANSWER", "{cdr:?}");
    assert_eq!(cdr.sip_status, 480, "{cdr:?}");
    assert_eq!(cdr.hangup_by, "system", "{cdr:?}");
    assert_eq!(cdr.billable_ms, 0, "{cdr:?}");
}

/// SIPp as alice calling `callee` with `scenario`, authenticating the INVITE
/// (the digest URI is the Request-URI).
fn sipp_call(server: &Server, scenario: &str, callee: &str) -> SippRun {
    Sipp::new(scenario, server.sip, false)
        .set("caller", "alice")
        .set("callee", callee)
        .set("domain", "example.test")
        .auth("alice", "secret")
        .args(&["-auth_uri", &format!("{callee}@example.test")])
        .run()
}

/// The Call-ID SIPp used (the caller's leg).
fn sipp_call_id(messages: &str) -> &str {
    messages
        .lines()
        .find_map(|l| l.trim().strip_prefix("Call-ID:"))
        .map(str::trim)
        .expect("a Call-ID in SIPp's messages")
}

/// The final status of the INVITE the server answered last (not the 407).
fn final_status(messages: &str) -> Option<u16> {
    messages
        .lines()
        .rev()
        .filter_map(|l| l.strip_prefix("SIP/2.0 "))
        .filter_map(|rest| rest.get(..3)?.parse::<u16>().ok())
        .find(|&code| code >= 200 && code != 407)
}

#[test]
fn cancel_before_answer_gets_487_and_the_callee_stops_ringing() {
    let server = server_with_alice_and_bob();
    let mut bob = phone(&server, "bob", "pw-bob");
    let run = sipp_call(&server, "call_cancel.xml", "bob");
    assert!(
        run.success,
        "the caller must see 180, then 200 to its CANCEL and 487 (final status: {:?})",
        final_status(&run.messages)
    );
    expect_call_from_alice(&mut bob);
    bob.expect_event(&EventKind::CallClosed, WAIT);
    assert!(!bob.has_seen(&EventKind::CallEstablished));

    let cdr = the_cdr(&server);
    assert_eq!(cdr.call_id, sipp_call_id(&run.messages), "{cdr:?}");
    assert_eq!(cdr.disposition, "CANCELLED", "{cdr:?}");
    assert_eq!(cdr.sip_status, 487, "{cdr:?}");
    assert_eq!(cdr.billable_ms, 0, "{cdr:?}");
    assert_eq!(cdr.hangup_by, "caller", "{cdr:?}");
    assert_eq!(cdr.caller, "alice", "{cdr:?}");
    assert_eq!(cdr.callee, "bob", "{cdr:?}");
}

/// A call that cannot connect: SIPp must see exactly `expected`, and the
/// server records the attempt.
fn rejected_call(server: &Server, callee: &str, expected: u16) {
    let run = sipp_call(server, "call_rejected.xml", callee);
    let status = final_status(&run.messages);
    assert_eq!(
        status,
        Some(expected),
        "calling {callee}: SIPp's messages:\n{}",
        run.messages
    );
    assert!(run.success, "{}", run.errors);
    let cdr = the_cdr(server);
    assert_eq!(cdr.call_id, sipp_call_id(&run.messages), "{cdr:?}");
    assert_eq!(i64::from(expected), cdr.sip_status, "{cdr:?}");
    assert_eq!(cdr.callee, callee, "{cdr:?}");
    assert_eq!(cdr.hangup_by, "system", "{cdr:?}");
    assert_ne!(cdr.disposition, "ANSWERED", "{cdr:?}");
    assert_eq!(cdr.billable_ms, 0, "{cdr:?}");
    assert_eq!(cdr.caller, "alice", "{cdr:?}");
}

#[test]
fn calling_a_known_user_without_a_registered_phone_gets_480() {
    let server = server_with_alice_and_bob();
    rejected_call(&server, "bob", 480);
}

#[test]
fn calling_an_unknown_user_gets_404() {
    let server = server_with_alice_and_bob();
    rejected_call(&server, "nobody", 404);
}

#[test]
fn a_user_on_two_phones_rings_on_both_and_the_first_answer_wins() {
    let server = server_with_alice_and_bob();
    let mut alice = phone(&server, "alice", "secret");
    let mut desk = phone(&server, "bob", "pw-bob");
    let mut mobile = phone(&server, "bob", "pw-bob");
    alice.dial("sip:bob@example.test");
    expect_ringing(&mut alice);
    expect_call_from_alice(&mut desk);
    expect_call_from_alice(&mut mobile);
    mobile.answer();
    alice.expect_event(&EventKind::CallEstablished, WAIT);
    mobile.expect_event(&EventKind::CallEstablished, WAIT);
    // The other phone is cancelled: its call closes without being answered.
    desk.expect_event(&EventKind::CallClosed, WAIT);
    assert!(!desk.has_seen(&EventKind::CallEstablished));
    alice.wait_rtp_flowing(25, WAIT);
    mobile.wait_rtp_flowing(25, WAIT);
    alice.hangup();
    alice.expect_event(&EventKind::CallClosed, WAIT);
    mobile.expect_event(&EventKind::CallClosed, WAIT);
    check_rtp_summaries(&mut alice, &mut mobile);
    assert!(
        desk.wait_rtp_summary(Duration::ZERO).is_none(),
        "the cancelled phone never had media"
    );

    let cdr = the_cdr(&server);
    assert_eq!(cdr.disposition, "ANSWERED", "{cdr:?}");
    assert_eq!(cdr.hangup_by, "caller", "{cdr:?}");
    assert_eq!(cdr.callee, "bob", "{cdr:?}");
    assert!(cdr.billable_ms > 0, "{cdr:?}");
}

#[test]
fn a_graceful_shutdown_ends_live_calls_and_records_them() {
    let mut server = server_with_alice_and_bob();
    let mut alice = phone(&server, "alice", "secret");
    let mut bob = phone(&server, "bob", "pw-bob");
    alice.dial("bob");
    expect_ringing(&mut alice);
    expect_call_from_alice(&mut bob);
    bob.answer();
    alice.expect_event(&EventKind::CallEstablished, WAIT);
    bob.expect_event(&EventKind::CallEstablished, WAIT);

    // SIGTERM: both phones are hung up by the server before it exits, and
    // the record is committed by then.
    let tmp = server.take_dir();
    let dir = server.dir.clone();
    assert!(server.stop().success(), "graceful exit");
    alice.expect_event(&EventKind::CallClosed, WAIT);
    bob.expect_event(&EventKind::CallClosed, WAIT);
    let restarted = Server::start_in(&dir);
    let cdr = the_cdr(&restarted);
    assert_eq!(cdr.disposition, "ANSWERED", "{cdr:?}");
    assert_eq!(cdr.hangup_by, "system", "{cdr:?}");
    assert_eq!((cdr.caller.as_str(), cdr.callee.as_str()), ("alice", "bob"));
    restarted.stop();
    drop(tmp);
}
