//! baresip as the phone of the call tests: it registers to the real server,
//! and two phones calling each other directly (no server) count RTP both
//! ways — the RTP counters are checked independently of the server.

use std::time::Duration;

use sb_e2e::Sipp;
use sb_e2e::baresip::{Baresip, BaresipConfig, EventKind};
use sb_e2e::calls::{add_user, bindings, start_server_for_phones};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn two_phones_register_over_udp_and_tcp() {
    let server = start_server_for_phones();
    add_user(&server, "alice", "secret");
    add_user(&server, "bob", "pw-bob");
    let mut alice = Baresip::start(&BaresipConfig::registered(
        "alice",
        "example.test",
        "secret",
        server.sip,
    ));
    let mut bob = Baresip::start(
        &BaresipConfig::registered("bob", "example.test", "pw-bob", server.sip).tcp(),
    );
    alice.wait_registered(WAIT);
    bob.wait_registered(WAIT);
    // The server holds each phone's own contact (its SIP port).
    let a = bindings(&server, "alice", "secret");
    assert!(
        a.contains(&format!("@{}", alice.sip_addr())),
        "alice's binding is not baresip's address {}:\n{a}",
        alice.sip_addr()
    );
    let b = bindings(&server, "bob", "pw-bob");
    assert!(
        b.contains(&format!("@{}", bob.sip_addr())),
        "bob's binding is not baresip's address {}:\n{b}",
        bob.sip_addr()
    );
}

#[test]
fn a_phone_with_a_wrong_password_is_not_registered() {
    let server = start_server_for_phones();
    add_user(&server, "alice", "secret");
    let mut alice = Baresip::start(&BaresipConfig::registered(
        "alice",
        "example.test",
        "not-the-password",
        server.sip,
    ));
    // The REGISTER_FAIL event may fire before the control connection is up:
    // poll the status until the attempt is over.
    let deadline = std::time::Instant::now() + WAIT;
    let mut status = alice.registration_status();
    while status.as_deref() != Some("ERR") && std::time::Instant::now() < deadline {
        let _ = alice.wait_event(&EventKind::RegisterFail, Duration::from_millis(100));
        status = alice.registration_status();
    }
    assert_eq!(status.as_deref(), Some("ERR"), "{}", alice.log());
    assert!(!alice.is_registered());
}

#[test]
fn two_phones_call_each_other_directly_and_count_rtp_both_ways() {
    let mut a = Baresip::start(&BaresipConfig::peer("a"));
    let mut b = Baresip::start(&BaresipConfig::peer("b"));
    a.dial(&b.direct_uri());
    let incoming = b.expect_event(&EventKind::CallIncoming, WAIT);
    a.expect_event(&EventKind::CallRinging, WAIT);
    b.answer();
    let established = a.expect_event(&EventKind::CallEstablished, WAIT);
    assert_eq!(
        established.call_id, incoming.call_id,
        "one call, one Call-ID"
    );
    b.expect_event(&EventKind::CallEstablished, WAIT);
    // 20 ms packets: 25 is half a second of audio each way.
    let live_a = a.wait_rtp_flowing(25, WAIT);
    let live_b = b.wait_rtp_flowing(25, WAIT);
    a.hangup();
    a.expect_event(&EventKind::CallClosed, WAIT);
    b.expect_event(&EventKind::CallClosed, WAIT);
    let end_a = a
        .wait_rtp_summary(WAIT)
        .expect("a's end-of-call RTP counters");
    let end_b = b
        .wait_rtp_summary(WAIT)
        .expect("b's end-of-call RTP counters");
    // The totals only grew since the live reading.
    assert!(end_a.sent >= live_a.sent && end_a.received >= live_a.received);
    assert!(end_b.sent >= live_b.sent && end_b.received >= live_b.received);
    // What one sent, the other received (loopback loses nothing; a few
    // packets may be in flight when the call ends).
    let close = |received: u64, sent: u64| received <= sent && received + 10 >= sent;
    assert!(
        close(end_b.received, end_a.sent),
        "a→b: {end_a:?} {end_b:?}"
    );
    assert!(
        close(end_a.received, end_b.sent),
        "b→a: {end_a:?} {end_b:?}"
    );
}

#[test]
fn rejecting_an_incoming_call_answers_486() {
    let mut a = Baresip::start(&BaresipConfig::peer("a"));
    let mut b = Baresip::start(&BaresipConfig::peer("b"));
    a.dial(&b.direct_uri());
    b.expect_event(&EventKind::CallIncoming, WAIT);
    b.hangup();
    let closed = a.expect_event(&EventKind::CallClosed, WAIT);
    assert!(closed.param.starts_with("486"), "{closed:?}");
    assert!(!a.has_seen(&EventKind::CallEstablished));
}

#[test]
fn a_phone_that_quits_unregisters() {
    let server = start_server_for_phones();
    add_user(&server, "alice", "secret");
    let mut alice = Baresip::start(&BaresipConfig::registered(
        "alice",
        "example.test",
        "secret",
        server.sip,
    ));
    alice.wait_registered(WAIT);
    let contact = format!("@{}", alice.sip_addr());
    assert!(bindings(&server, "alice", "secret").contains(&contact));
    // SIGTERM: baresip sends REGISTER with Expires: 0 before it exits.
    alice.stop();
    let query = Sipp::new("query.xml", server.sip, false)
        .set("user", "alice")
        .set("domain", "example.test")
        .auth("alice", "secret")
        .run();
    assert!(!query.success, "the binding must be gone");
    assert!(query.messages.contains("SIP/2.0 200"), "{}", query.messages);
    assert!(!query.messages.contains(&contact), "{}", query.messages);
}

#[test]
fn hanging_up_before_the_answer_cancels_the_call() {
    let mut a = Baresip::start(&BaresipConfig::peer("a"));
    let mut b = Baresip::start(&BaresipConfig::peer("b"));
    a.dial(&b.direct_uri());
    b.expect_event(&EventKind::CallIncoming, WAIT);
    a.expect_event(&EventKind::CallRinging, WAIT);
    // CANCEL: the callee's alerting call closes without being answered.
    a.hangup();
    let closed = b.expect_event(&EventKind::CallClosed, WAIT);
    assert!(!b.has_seen(&EventKind::CallEstablished), "{closed:?}");
    a.expect_event(&EventKind::CallClosed, WAIT);
    assert!(b.wait_rtp_summary(Duration::from_millis(200)).is_none());
}
