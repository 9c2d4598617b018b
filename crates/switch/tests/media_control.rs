//! What the switch tells the media gateway and takes from it on bridged
//! calls: the anchoring choice on every SDP effect (dialplan rule, policy),
//! SIP INFO digits turned into RFC 4733 events, the gateway's media timeout,
//! SDP it cannot accept (488), and the legs a call record's media summary
//! refers to.

mod support;

use std::time::Duration;

use sb_sip_message::{FlowId, Method, Transport};
use sb_switch::{
    CallDestination, Disposition, Effect, EffectResult, EndReason, HangupBy, LegId, SwitchConfig,
};
use support::Harness;
use support::calls::{Callee, Caller, Phone, SDP_A, SDP_B, codes, methods, to_addr};

const PLAN: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "direct"
media = "pass-through"
actions = [{ ring_user = "bob" }]

[[context.rule]]
to = "anchored"
media = "anchor"
actions = [{ ring_user = "bob" }]

[[context.rule]]
to = "bob"
actions = [{ ring_user = "bob" }]
"#;

fn setup_with(config: SwitchConfig, plan: bool) -> (Harness, Phone, Phone) {
    let mut h = Harness::with_config(config);
    let alice = Phone::alice();
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    if plan {
        h.switch.set_dialplan(support::dialplan(PLAN, &[]));
    }
    h.take_sent();
    h.effects.clear();
    (h, alice, bob)
}

fn setup() -> (Harness, Phone, Phone) {
    setup_with(SwitchConfig::for_tests(), true)
}

/// Calls `number` at example.test and has bob answer; returns both sides,
/// acknowledged.
fn answered(h: &mut Harness, alice: &Phone, bob: &Phone, number: &str) -> (Caller, Callee) {
    let target = format!("sip:{number}@example.test");
    let mut a = h.call(alice, &target, &format!("mc-{number}"), SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(bob, to_addr(&sent, bob.addr()).0[0].clone(), "bt");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    h.take_sent();
    (a, b)
}

/// The `anchor` flag of every offer and answer effect so far.
fn anchor_flags(h: &Harness) -> Vec<bool> {
    h.effects
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::MediaOffer { anchor, .. } | Effect::MediaAnswer { anchor, .. } => Some(*anchor),
            _ => None,
        })
        .collect()
}

#[test]
fn the_rule_or_the_policy_decides_anchoring_for_every_sdp_of_a_call() {
    for (policy, target, want) in [
        (true, "direct", false),
        (true, "anchored", true),
        (true, "bob", true),
        (false, "direct", false),
        (false, "anchored", true),
        (false, "bob", false),
    ] {
        let mut config = SwitchConfig::for_tests();
        config.calls.anchor_media = policy;
        let (mut h, alice, bob) = setup_with(config, true);
        let (mut a, _) = answered(&mut h, &alice, &bob, target);
        // A re-INVITE later in the call follows the same choice.
        let reinvite = a.request("INVITE", "Content-Type: application/sdp\n", SDP_A);
        h.send_request(&reinvite, alice.peer);
        assert_eq!(
            anchor_flags(&h),
            [want; 3],
            "policy {policy}, dialing {target}"
        );
    }
    // Without a dialplan: the policy.
    for policy in [true, false] {
        let mut config = SwitchConfig::for_tests();
        config.calls.anchor_media = policy;
        let (mut h, alice, bob) = setup_with(config, false);
        answered(&mut h, &alice, &bob, "bob");
        assert_eq!(anchor_flags(&h), [policy; 2]);
    }
    // No gateway at all: never anchored, whatever the rule says.
    let mut config = SwitchConfig::for_tests();
    config.calls.media_gateway = false;
    let (mut h, alice, bob) = setup_with(config, true);
    answered(&mut h, &alice, &bob, "anchored");
    assert_eq!(anchor_flags(&h), [false; 2]);
}

/// A device on a WebSocket (a browser): flow 7, a `.invalid` contact.
fn browser(mut phone: Phone) -> Phone {
    phone.peer.transport = Transport::Ws;
    phone.peer.flow = Some(FlowId(7));
    phone.contact = format!("<sip:{}@df7jal23ls0d.invalid;transport=ws>", phone.user);
    phone
}

#[test]
fn a_call_with_a_browser_on_either_end_is_anchored_whatever_the_rule_says() {
    // The browser answers.
    let mut h = Harness::with_config(SwitchConfig::for_tests());
    let alice = Phone::alice();
    let bob = browser(Phone::bob());
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.switch.set_dialplan(support::dialplan(PLAN, &[]));
    h.take_sent();
    h.effects.clear();
    h.call(&alice, "sip:direct@example.test", "mc-browser-b", SDP_A);
    let offers: Vec<_> = h
        .effects
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::MediaOffer {
                anchor,
                to_transport,
                ..
            } => Some((*anchor, *to_transport)),
            _ => None,
        })
        .collect();
    assert_eq!(offers, [(true, Transport::Ws)]);

    // The browser calls.
    let mut h = Harness::with_config(SwitchConfig::for_tests());
    let alice = browser(Phone::alice());
    let bob = Phone::bob();
    h.register_phone(&alice);
    h.register_phone(&bob);
    h.switch.set_dialplan(support::dialplan(PLAN, &[]));
    h.take_sent();
    h.effects.clear();
    answered(&mut h, &alice, &bob, "direct");
    assert_eq!(anchor_flags(&h), [true; 2]);

    // Phones only: the rule holds.
    let (mut h, alice, bob) = setup();
    answered(&mut h, &alice, &bob, "direct");
    assert_eq!(anchor_flags(&h), [false; 2]);

    // No gateway: nothing to anchor with.
    let mut config = SwitchConfig::for_tests();
    config.calls.media_gateway = false;
    let (mut h, alice, _) = setup_with(config, true);
    let bob = browser(Phone::bob());
    h.register_phone(&bob);
    h.effects.clear();
    h.call(&alice, "sip:direct@example.test", "mc-browser-none", SDP_A);
    assert!(
        h.effects
            .iter()
            .all(|(_, e)| !matches!(e, Effect::MediaOffer { anchor: true, .. }))
    );
}

fn dtmf_effects(h: &Harness) -> Vec<(LegId, char, u32)> {
    h.effects
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
        .collect()
}

#[test]
fn info_digits_on_anchored_calls_become_rfc_4733_events_for_the_other_leg() {
    let (mut h, alice, bob) = setup();
    let (mut a, mut b) = answered(&mut h, &alice, &bob, "anchored");
    h.effects.clear();
    let info = a.request(
        "INFO",
        "Content-Type: application/dtmf-relay\n",
        "Signal=5\r\nDuration=160\r\n",
    );
    h.send_request(&info, alice.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [200]);
    assert!(to_addr(&sent, bob.addr()).0.is_empty(), "not relayed");
    let info = b.request("INFO", "Content-Type: application/dtmf\n", "#");
    h.send_request(&info, bob.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, bob.addr()).1), [200]);
    assert!(to_addr(&sent, alice.addr()).0.is_empty(), "not relayed");
    assert_eq!(
        dtmf_effects(&h),
        [(LegId(1), '5', 160), (LegId::A, '#', 160)]
    );
    assert!(
        h.effects.iter().all(|(_, e)| !e.expects_result()),
        "digits need no answer"
    );
    // An unreadable digit: 400, nothing sent.
    let bad = a.request("INFO", "Content-Type: application/dtmf-relay\n", "Signal=X");
    h.send_request(&bad, alice.peer);
    let sent = h.take_sent();
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [400]);
    assert_eq!(to_a[0].reason, "Bad DTMF Signal");
    assert!(to_addr(&sent, bob.addr()).0.is_empty());
    assert_eq!(dtmf_effects(&h).len(), 2);
    // Other INFO bodies are still relayed.
    let other = a.request("INFO", "Content-Type: application/x-custom\n", "x=1");
    h.send_request(&other, alice.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), bob.addr()).0),
        [Method::Info]
    );
}

#[test]
fn info_digits_on_pass_through_calls_are_relayed() {
    let (mut h, alice, bob) = setup();
    let (mut a, _) = answered(&mut h, &alice, &bob, "direct");
    h.effects.clear();
    let info = a.request(
        "INFO",
        "Content-Type: application/dtmf-relay\n",
        "Signal=5\r\nDuration=160\r\n",
    );
    h.send_request(&info, alice.peer);
    let sent = h.take_sent();
    assert!(to_addr(&sent, alice.addr()).1.is_empty(), "bob answers it");
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Info]);
    assert!(dtmf_effects(&h).is_empty());
}

#[test]
fn a_media_timeout_hangs_up_both_legs() {
    let (mut h, alice, bob) = setup();
    answered(&mut h, &alice, &bob, "bob");
    let call = h.switch.calls().next().unwrap().call;
    h.advance(Duration::from_secs(90));
    let unix = h.unix_ms();
    assert!(h.switch.media_timeout(h.now, unix, call));
    h.drain();
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, alice.addr()).0), [Method::Bye]);
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Bye]);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(cdr.call, call);
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.hangup_by, HangupBy::System);
    assert_eq!(cdr.end_reason, Some(EndReason::MediaTimeout));
    assert_eq!(cdr.answered_leg, Some(LegId(1)));
    assert_eq!(cdr.destination, CallDestination::User("bob".into()));
    assert_eq!(cdr.media, None, "the driver fills it in");
    assert_eq!(cdr.billable_ms(), 90_000);
    assert!(
        h.effects
            .iter()
            .any(|(_, e)| matches!(e, Effect::MediaRelease { call: c } if *c == call))
    );
    assert_eq!(h.switch.calls().count(), 0);
    assert!(!h.switch.media_timeout(h.now, unix, call));
}

#[test]
fn a_media_timeout_before_the_answer_cancels_and_answers_480() {
    let (mut h, alice, bob) = setup();
    h.call(&alice, "sip:bob@example.test", "mt-early", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bt");
    h.send_response(&b.response(183, SDP_B), bob.peer);
    h.take_sent();
    let call = h.switch.calls().next().unwrap().call;
    let unix = h.unix_ms();
    assert!(h.switch.media_timeout(h.now, unix, call));
    h.drain();
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Cancel]);
    let (_, to_a) = to_addr(&sent, alice.addr());
    assert_eq!(codes(&to_a), [480]);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(
        (cdr.disposition, cdr.hangup_by, cdr.end_reason),
        (
            Disposition::Failed,
            HangupBy::System,
            Some(EndReason::MediaTimeout)
        )
    );
    assert_eq!(cdr.answered_leg, None);
}

/// Answers the latest media effect of the given kind with `result`.
fn answer_media(h: &mut Harness, result: EffectResult) {
    let token = h
        .effects
        .iter()
        .rev()
        .find(|(_, e)| matches!(e, Effect::MediaOffer { .. } | Effect::MediaAnswer { .. }))
        .map(|(t, _)| *t)
        .expect("a media effect");
    let unix = h.unix_ms();
    h.switch.handle_effect_result(h.now, unix, token, result);
    h.drain();
}

fn not_acceptable() -> EffectResult {
    EffectResult::MediaNotAcceptable {
        reason: "no audio stream".into(),
    }
}

#[test]
fn an_offer_the_gateway_cannot_accept_is_488() {
    let (mut h, alice, bob) = setup();
    h.auto_media = false;
    h.call(&alice, "sip:anchored@example.test", "na-1", SDP_A);
    h.take_sent();
    answer_media(&mut h, not_acceptable());
    let sent = h.take_sent();
    assert!(to_addr(&sent, bob.addr()).0.is_empty(), "bob is not called");
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [488]);
    let cdr = h.cdrs().pop().expect("a record");
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Failed, HangupBy::System)
    );
}

#[test]
fn a_reoffer_the_gateway_cannot_accept_is_refused_and_the_call_goes_on() {
    let (mut h, alice, bob) = setup();
    let (mut a, _) = answered(&mut h, &alice, &bob, "anchored");
    h.auto_media = false;
    let reinvite = a.request("INVITE", "Content-Type: application/sdp\n", SDP_A);
    h.send_request(&reinvite, alice.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [100]);
    answer_media(&mut h, not_acceptable());
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [488]);
    assert!(to_addr(&sent, bob.addr()).0.is_empty());
    assert_eq!(h.switch.calls().count(), 1, "the call is still up");
    // A later re-INVITE is not refused as pending.
    h.auto_media = true;
    let again = a.request("INVITE", "Content-Type: application/sdp\n", SDP_A);
    h.send_request(&again, alice.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), bob.addr()).0),
        [Method::Invite]
    );
    // An answer it cannot take is a failure: the call ends.
    let (mut h, alice, bob) = setup();
    h.auto_media = false;
    h.call(&alice, "sip:anchored@example.test", "na-2", SDP_A);
    answer_media(&mut h, EffectResult::Media(SDP_A.into()));
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bt");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    h.take_sent();
    answer_media(&mut h, not_acceptable());
    let sent = h.take_sent();
    assert_eq!(
        methods(&to_addr(&sent, bob.addr()).0),
        [Method::Ack, Method::Bye]
    );
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [503]);
}
