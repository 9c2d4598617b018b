//! Calls the switch answers itself with the gateway's media: the dialplan's
//! `echo` and `tone`, answered (200, ACK, BYE) or as early media before the
//! next step, their in-dialog requests, failures and endings.

mod support;

use std::time::Duration;

use bytes::Bytes;
use sb_sip_message::{HeaderName, Method};
use sb_switch::{
    CallDestination, CallState, Disposition, Effect, EffectResult, HangupBy, LegId, LegState,
    LocalMedia, SwitchConfig, SwitchEvent,
};
use support::Harness;
use support::calls::{Callee, Caller, Phone, SDP_A, SDP_B, codes, methods, to_addr};

/// What the stand-in media gateway answers with.
const SDP_GW: &str = "v=0\r\no=- 7 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n\
                      t=0 0\r\nm=audio 16384 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";

fn gateway(_: &[u8]) -> Vec<u8> {
    SDP_GW.as_bytes().to_vec()
}

const PLAN: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "*43"
actions = ["echo"]

[[context.rule]]
to = "*44"
actions = [{ tone = { frequency = 1000, duration = "5s" } }]

[[context.rule]]
to = "*45"
actions = [{ tone = { frequency = 440, duration = "100ms" } }]

[[context.rule]]
to = "*46"
actions = [{ tone = { frequency = 425, duration = "2s" } }, { ring_user = "bob" }]

[[context.rule]]
to = "*47"
actions = [{ tone = { frequency = 425, duration = "2s" } }, { reject = 486 }]
"#;

fn setup_with(config: SwitchConfig) -> (Harness, Phone, Phone) {
    let mut h = Harness::with_config(config);
    h.media_rewrite = Some(gateway);
    let alice = Phone::alice();
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.switch.set_dialplan(support::dialplan(PLAN, &[]));
    h.take_sent();
    h.effects.clear();
    h.events.clear();
    (h, alice, bob)
}

fn setup() -> (Harness, Phone, Phone) {
    setup_with(SwitchConfig::for_tests())
}

fn local_effects(h: &Harness) -> Vec<(LegId, LocalMedia, Bytes)> {
    h.effects
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::MediaLocal {
                leg, action, sdp, ..
            } => Some((*leg, *action, sdp.clone())),
            _ => None,
        })
        .collect()
}

fn releases(h: &Harness) -> usize {
    h.effects
        .iter()
        .filter(|(_, e)| matches!(e, Effect::MediaRelease { .. }))
        .count()
}

/// Calls `target`, expects 100 then 200 from the switch; acknowledges it.
fn answered_locally(h: &mut Harness, alice: &Phone, target: &str, call_id: &str) -> Caller {
    let mut a = h.call(alice, target, call_id, SDP_A);
    let sent = h.take_sent();
    let (to_a, from_switch) = (to_addr(&sent, alice.addr()), sent.len());
    assert_eq!(codes(&to_a.1), [100, 200], "{sent:?}");
    assert_eq!(from_switch, 2, "nothing goes anywhere else");
    a.learn(&to_a.1[1]);
    h.send_request(&a.ack(""), alice.peer);
    assert!(h.take_sent().is_empty(), "the ACK goes nowhere");
    a
}

#[test]
fn echo_is_answered_by_the_switch_until_the_caller_hangs_up() {
    let (mut h, alice, bob) = setup();
    let mut a = h.call(&alice, "sip:*43@example.test", "echo-1", SDP_A);
    let sent = h.take_sent();
    assert!(to_addr(&sent, bob.addr()).0.is_empty(), "nobody is rung");
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [100, 200]);
    let ok = &to_a[1];
    assert_eq!(&ok.body[..], SDP_GW.as_bytes(), "the gateway's answer");
    assert_eq!(
        ok.headers.get(&HeaderName::ContentType).unwrap(),
        "application/sdp"
    );
    assert!(ok.headers.to_addr().unwrap().tag().is_some());
    assert_eq!(
        ok.headers.get(&HeaderName::Contact).unwrap(),
        "<sip:192.0.2.10:5060>"
    );
    assert!(ok.headers.get(&HeaderName::RecordRoute).is_none());
    assert_eq!(
        local_effects(&h),
        [(
            LegId::A,
            LocalMedia::Echo,
            Bytes::from_static(SDP_A.as_bytes())
        )]
    );
    assert!(
        !h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::MediaOffer { .. } | Effect::MediaAnswer { .. }))
    );
    assert!(
        h.events
            .iter()
            .any(|e| matches!(e, SwitchEvent::CallAnswered { leg: LegId::A, .. }))
    );
    let snapshot = h.switch.calls().next().expect("the call is live");
    assert_eq!(snapshot.state, CallState::Answered);
    assert_eq!(snapshot.legs.len(), 1);
    assert_eq!(snapshot.legs[0].state, LegState::Confirmed);
    assert_eq!(snapshot.destination, CallDestination::Media("echo".into()));
    a.learn(ok);
    h.send_request(&a.ack(""), alice.peer);
    assert!(h.take_sent().is_empty());
    // No retransmission after the ACK, no end of its own.
    h.advance(Duration::from_secs(3_600));
    assert!(h.take_sent().is_empty());
    assert!(h.cdrs().is_empty());

    h.advance(Duration::from_secs(10));
    let bye = a.request("BYE", "", "");
    h.send_request(&bye, alice.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    assert_eq!(releases(&h), 1);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.hangup_by, HangupBy::Caller);
    assert_eq!(cdr.destination, CallDestination::Media("echo".into()));
    assert_eq!(cdr.destination.kind(), "media");
    assert_eq!(cdr.callee, "*43");
    assert_eq!(cdr.billable_ms(), 3_610_000);
    assert_eq!(cdr.answered_leg, None);
    assert_eq!(cdr.end_reason, None);
    assert_eq!(cdr.media, None);
    assert_eq!(
        Some(cdr.call),
        h.events.iter().find_map(|e| match e {
            SwitchEvent::CallStarted { call, .. } => Some(*call),
            _ => None,
        })
    );
    assert_eq!(h.switch.calls().count(), 0);
}

#[test]
fn a_final_tone_ends_with_the_switchs_bye_after_its_duration() {
    let (mut h, alice, _) = setup();
    let mut a = answered_locally(&mut h, &alice, "sip:*44@example.test", "tone-1");
    assert_eq!(
        local_effects(&h),
        [(
            LegId::A,
            LocalMedia::Tone {
                frequency_hz: 1000,
                duration: Duration::from_secs(5)
            },
            Bytes::from_static(SDP_A.as_bytes())
        )]
    );
    h.advance(Duration::from_millis(4_999));
    assert!(h.take_sent().is_empty(), "still playing");
    h.advance(Duration::from_millis(1));
    let (to_a, _) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(methods(&to_a), [Method::Bye]);
    let bye = &to_a[0];
    assert_eq!(bye.headers.call_id().unwrap().as_str(), "tone-1");
    assert_eq!(
        bye.headers.to_addr().unwrap().tag().unwrap().as_str(),
        "ftag-tone-1"
    );
    assert_eq!(bye.uri.to_string(), "sip:alice@192.0.2.50:5062");
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    assert_eq!(cdr.destination, CallDestination::Media("tone".into()));
    assert_eq!(cdr.billable_ms(), 5_000);
    assert_eq!(releases(&h), 1);
    // The caller's late BYE finds nothing.
    let late = a.request("BYE", "", "");
    h.send_request(&late, alice.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [481]);
}

#[test]
fn a_tone_over_before_the_ack_hangs_up_once_acknowledged() {
    let (mut h, alice, _) = setup();
    let mut a = h.call(&alice, "sip:*45@example.test", "tone-2", SDP_A);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 200]);
    a.learn(&to_a[1]);
    // RFC 3261 §15: no BYE before the ACK; the 200 is retransmitted.
    h.advance(Duration::from_millis(700));
    let (requests, responses) = to_addr(&h.take_sent(), alice.addr());
    assert!(requests.is_empty());
    assert_eq!(codes(&responses), [200], "retransmitted after T1");
    h.send_request(&a.ack(""), alice.peer);
    let (to_a, _) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(methods(&to_a), [Method::Bye]);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Answered, HangupBy::System)
    );
}

#[test]
fn a_tone_before_more_steps_is_early_media_then_the_next_step_runs() {
    let (mut h, alice, bob) = setup();
    let mut a = h.call(&alice, "sip:*46@example.test", "early-1", SDP_A);
    let sent = h.take_sent();
    assert!(to_addr(&sent, bob.addr()).0.is_empty(), "bob rings later");
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [100, 183]);
    assert_eq!(to_a[1].reason, "Session Progress");
    assert_eq!(&to_a[1].body[..], SDP_GW.as_bytes());
    let tag = to_a[1].headers.to_addr().unwrap().tag().unwrap();
    assert!(matches!(
        local_effects(&h)[..],
        [(
            LegId::A,
            LocalMedia::Tone {
                frequency_hz: 425,
                ..
            },
            _
        )]
    ));
    assert_eq!(h.switch.calls().next().unwrap().state, CallState::Routing);
    h.advance(Duration::from_millis(1_999));
    assert!(h.take_sent().is_empty());
    h.effects.clear();
    h.advance(Duration::from_millis(1));
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Invite]);
    assert!(h.effects.iter().any(|(_, e)| matches!(
        e,
        Effect::MediaOffer {
            from: LegId::A,
            to: LegId(1),
            anchor: true,
            ..
        }
    )));
    // Ringing reaches the caller again after the tone.
    let b = Callee::new(&bob, to_b[0].clone(), "bt");
    h.send_response(&b.response(180, ""), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [180]);
    assert_eq!(to_a[0].headers.to_addr().unwrap().tag(), Some(tag.clone()));
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    assert_eq!(to_a[0].headers.to_addr().unwrap().tag(), Some(tag));
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), bob.addr()).0),
        [Method::Ack]
    );
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(cdr.destination, CallDestination::User("bob".into()));
    assert_eq!(cdr.answered_leg, Some(LegId(1)));
    assert_eq!(releases(&h), 1);
}

#[test]
fn an_early_tone_then_a_reject() {
    let (mut h, alice, _) = setup();
    h.call(&alice, "sip:*47@example.test", "early-2", SDP_A);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 183]);
    h.advance(Duration::from_secs(2));
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [486]);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(cdr.disposition, Disposition::Busy);
    assert_eq!(cdr.destination, CallDestination::None);
    assert_eq!(releases(&h), 1, "the tone's session is released");
}

#[test]
fn without_an_offer_echo_is_488_and_an_early_tone_is_skipped() {
    let (mut h, alice, bob) = setup();
    h.call(&alice, "sip:*43@example.test", "no-sdp-1", "");
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 488]);
    assert!(local_effects(&h).is_empty());
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Failed, HangupBy::System)
    );
    h.call(&alice, "sip:*44@example.test", "no-sdp-2", "");
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 488]);
    // The tone before ringing is left out: bob rings at once.
    h.call(&alice, "sip:*46@example.test", "no-sdp-3", "");
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100]);
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Invite]);
    assert!(local_effects(&h).is_empty());
}

#[test]
fn requests_in_an_echo_call_are_answered_by_the_switch() {
    let (mut h, alice, _) = setup();
    let mut a = answered_locally(&mut h, &alice, "sip:*43@example.test", "echo-2");
    h.effects.clear();
    let info = a.request(
        "INFO",
        "Content-Type: application/dtmf-relay\n",
        "Signal=7\r\nDuration=200\r\n",
    );
    h.send_request(&info, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    let dtmf: Vec<_> = h
        .effects
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::MediaDtmf {
                to,
                digit,
                duration_ms,
                ..
            } => Some((*to, *digit, *duration_ms)),
            _ => None,
        })
        .collect();
    assert_eq!(dtmf, [(LegId::A, '7', 200)], "an echo sends digits back");
    let bad = a.request("INFO", "Content-Type: application/dtmf\n", "x");
    h.send_request(&bad, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [400]);
    let other = a.request("INFO", "Content-Type: text/plain\n", "hello");
    h.send_request(&other, alice.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [415]);
    assert!(to_a[0].headers.get(&HeaderName::Accept).is_some());
    let options = a.request("OPTIONS", "", "");
    h.send_request(&options, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    let offerless = a.request("INVITE", "", "");
    h.send_request(&offerless, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [488]);
    let update = a.request("UPDATE", "", "");
    h.send_request(&update, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [488]);
    let message = a.request("MESSAGE", "Content-Type: text/plain\n", "hi");
    h.send_request(&message, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [405]);
    assert_eq!(
        h.effects
            .iter()
            .filter(|(_, e)| matches!(e, Effect::MediaDtmf { .. }))
            .count(),
        1
    );
    // The call is still up.
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    assert_eq!(h.cdrs().pop().unwrap().hangup_by, HangupBy::Caller);
}

#[test]
fn a_reinvite_in_an_echo_call_is_answered_again_by_the_gateway() {
    let (mut h, alice, _) = setup();
    let mut a = answered_locally(&mut h, &alice, "sip:*43@example.test", "echo-hold");
    h.effects.clear();
    // Hold: the gateway answers the new offer; 200 until the ACK.
    let hold = format!("{SDP_A}a=sendonly\r\n");
    let reinvite = a.request("INVITE", "Content-Type: application/sdp\n", &hold);
    let cseq = reinvite.headers.cseq().unwrap().seq;
    h.send_request(&reinvite, alice.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 200]);
    assert_eq!(to_a[1].body, SDP_GW.as_bytes());
    assert_eq!(to_a[1].headers.cseq().unwrap().seq, cseq);
    assert_eq!(
        local_effects(&h),
        [(LegId::A, LocalMedia::Echo, Bytes::from(hold))],
        "the echo plays on with the new offer"
    );
    h.advance(Duration::from_millis(600));
    let (_, again) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&again), [200], "retransmitted until the ACK");
    h.send_request(&a.ack_of(cseq, ""), alice.peer);
    h.advance(Duration::from_secs(2));
    assert!(h.take_sent().is_empty(), "acknowledged: no more 200s");

    // One offer at a time (491), and one the gateway refuses (488): the call
    // goes on as it was.
    h.auto_media = false;
    let resume = a.request("INVITE", "Content-Type: application/sdp\n", SDP_A);
    h.send_request(&resume, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [100]);
    let overlapping = a.request("INVITE", "Content-Type: application/sdp\n", SDP_A);
    h.send_request(&overlapping, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [491]);
    answer_local_effect(
        &mut h,
        EffectResult::MediaNotAcceptable {
            reason: "no codec in common".into(),
        },
    );
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [488]);
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Answered, HangupBy::Caller)
    );
}

#[test]
fn a_tone_call_takes_digits_without_playing_them() {
    let (mut h, alice, _) = setup();
    let mut a = answered_locally(&mut h, &alice, "sip:*44@example.test", "tone-3");
    h.effects.clear();
    let info = a.request("INFO", "Content-Type: application/dtmf\n", "5");
    h.send_request(&info, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200]);
    assert!(h.effects.is_empty());
}

#[test]
fn the_caller_cancels_while_the_gateway_answers() {
    let (mut h, alice, _) = setup();
    h.auto_media = false;
    let a = h.call(&alice, "sip:*43@example.test", "cancel-1", SDP_A);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [100]);
    let (token, _) = h
        .effects
        .iter()
        .find(|(_, e)| matches!(e, Effect::MediaLocal { .. }))
        .cloned()
        .expect("the gateway is asked");
    h.send_request(&a.cancel(), alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [200, 487]);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(cdr.disposition, Disposition::Cancelled);
    assert_eq!(releases(&h), 1);
    let unix = h.unix_ms();
    h.switch.handle_effect_result(
        h.now,
        unix,
        token,
        EffectResult::Media(Bytes::from_static(SDP_GW.as_bytes())),
    );
    h.drain();
    assert!(h.take_sent().is_empty(), "the late answer is dropped");
}

fn answer_local_effect(h: &mut Harness, result: EffectResult) {
    let token = h
        .effects
        .iter()
        .rev()
        .find(|(_, e)| matches!(e, Effect::MediaLocal { .. }))
        .map(|(t, _)| *t)
        .expect("the gateway is asked");
    let unix = h.unix_ms();
    h.switch.handle_effect_result(h.now, unix, token, result);
    h.drain();
}

#[test]
fn gateway_failures_and_refusals() {
    let (mut h, alice, bob) = setup();
    h.auto_media = false;
    // Refused: 488 to the caller.
    h.call(&alice, "sip:*43@example.test", "fail-1", SDP_A);
    h.take_sent();
    answer_local_effect(
        &mut h,
        EffectResult::MediaNotAcceptable {
            reason: "no codec in common".into(),
        },
    );
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [488]);
    // Failed: 503.
    h.call(&alice, "sip:*44@example.test", "fail-2", SDP_A);
    h.take_sent();
    answer_local_effect(
        &mut h,
        EffectResult::Failed {
            reason: "no ports".into(),
        },
    );
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [503]);
    // No answer in time: 503.
    h.call(&alice, "sip:*43@example.test", "fail-3", SDP_A);
    h.take_sent();
    h.advance(Duration::from_secs(2));
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    let fail_3: Vec<_> = to_a
        .into_iter()
        .filter(|r| r.headers.call_id().unwrap().as_str() == "fail-3")
        .collect();
    assert_eq!(codes(&fail_3), [503]);
    // An early tone that cannot play is skipped: bob rings.
    h.call(&alice, "sip:*46@example.test", "fail-4", SDP_A);
    h.take_sent();
    answer_local_effect(
        &mut h,
        EffectResult::Failed {
            reason: "no ports".into(),
        },
    );
    let sent = h.take_sent();
    assert!(
        to_addr(&sent, alice.addr())
            .1
            .iter()
            .all(|r| r.headers.call_id().unwrap().as_str() != "fail-4"),
        "nothing for the caller yet"
    );
    assert!(
        h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::MediaOffer { to: LegId(1), .. }))
    );
    assert!(
        to_addr(&sent, bob.addr()).0.is_empty(),
        "its offer is pending"
    );
    for cdr in h.cdrs() {
        assert_eq!(cdr.disposition, Disposition::Failed, "{cdr:?}");
        assert_eq!(cdr.hangup_by, HangupBy::System);
    }
}

#[test]
fn hang_up_and_media_timeout_end_a_local_call() {
    let (mut h, alice, _) = setup();
    answered_locally(&mut h, &alice, "sip:*43@example.test", "end-1");
    let unix = h.unix_ms();
    assert!(h.switch.hang_up(h.now, unix, "end-1"));
    h.drain();
    assert_eq!(
        methods(&to_addr(&h.take_sent(), alice.addr()).0),
        [Method::Bye]
    );
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(
        (cdr.disposition, cdr.hangup_by, cdr.end_reason),
        (Disposition::Answered, HangupBy::System, None)
    );

    answered_locally(&mut h, &alice, "sip:*43@example.test", "end-2");
    let call = h.switch.calls().next().unwrap().call;
    let unix = h.unix_ms();
    assert!(h.switch.media_timeout(h.now, unix, call));
    h.drain();
    assert_eq!(
        methods(&to_addr(&h.take_sent(), alice.addr()).0),
        [Method::Bye]
    );
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Answered, HangupBy::System)
    );
    assert_eq!(cdr.end_reason.map(|r| r.as_str()), Some("media_timeout"));
    assert!(!h.switch.media_timeout(h.now, unix, call), "already over");
}

#[test]
fn without_a_media_gateway_echo_and_tone_are_unavailable() {
    let mut config = SwitchConfig::for_tests();
    config.calls.media_gateway = false;
    let (mut h, alice, bob) = setup_with(config);
    h.call(&alice, "sip:*43@example.test", "gw-1", SDP_A);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [100, 503]);
    assert_eq!(to_a[1].reason, "Media Not Available");
    h.call(&alice, "sip:*46@example.test", "gw-2", SDP_A);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100]);
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Invite]);
    assert!(local_effects(&h).is_empty());
    assert!(
        h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::MediaOffer { anchor: false, .. }))
    );
}
