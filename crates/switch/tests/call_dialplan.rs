//! Calls routed by a compiled dialplan: patterns and regex captures, caller
//! ID and extra headers on the B legs, steps that fail over to the next
//! step, the best failure across steps, replacing the plan between calls.

mod support;

use std::time::Duration;

use sb_sip_message::{HeaderName, Method, StatusCode};
use sb_switch::{CallDestination, Disposition, HangupBy, SwitchConfig};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, SDP_B, codes, methods, to_addr};

/// alice, bob, 1001 and carol2, each with one device; outputs cleared.
fn office() -> (Harness, [Phone; 4]) {
    let mut h = Harness::with_config(SwitchConfig::for_tests());
    for (user, pw) in [("1001", "pw1001"), ("carol2", "pw2")] {
        h.users
            .insert((user.into(), "example.test".into()), (pw.into(), true));
    }
    let phones = [
        Phone::alice(),
        Phone::bob(),
        Phone::new("1001", "pw1001", "192.0.2.63:5060", "192.0.2.63:5060"),
        Phone::new("carol2", "pw2", "192.0.2.62:5060", "192.0.2.62:5060"),
    ];
    for p in &phones {
        assert_eq!(h.register_phone(p).status, StatusCode::OK);
    }
    h.take_sent();
    h.effects.clear();
    h.events.clear();
    (h, phones)
}

#[test]
fn patterns_and_regex_captures_pick_the_user() {
    let (mut h, [alice, _, ext, _]) = office();
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
name = "extensions"
to = "_1XXX"
actions = [{ ring_user = "${to}" }]

[[context.rule]]
name = "e164 extensions"
to_regex = '\+4930555(?<ext>1\d{3})'
actions = [{ ring_user = "${ext}" }]
"#,
        &[],
    ));
    for (i, dialed) in ["1001", "+49305551001"].iter().enumerate() {
        let target = format!("sip:{dialed}@example.test");
        h.call(&alice, &target, &format!("pat-{i}"), SDP_A);
        let sent = h.take_sent();
        let (to_ext, _) = to_addr(&sent, ext.addr());
        assert_eq!(methods(&to_ext), [Method::Invite], "{dialed}");
        assert_eq!(to_ext[0].uri.to_string(), "sip:1001@192.0.2.63:5060");
        assert_eq!(
            to_ext[0].headers.get(&HeaderName::To).unwrap(),
            "<sip:1001@example.test>"
        );
        let b = Callee::new(&ext, to_ext[0].clone(), "e1");
        h.send_response(&b.response(486, ""), ext.peer);
        h.take_sent();
        let cdr = h.cdrs().pop().unwrap();
        assert_eq!(cdr.dialed, *dialed);
        assert_eq!(cdr.callee, "1001");
        assert_eq!(cdr.destination, CallDestination::User("1001".into()));
    }
    // 2001 matches no rule.
    h.call(&alice, "sip:2001@example.test", "pat-x", SDP_A);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [100, 404]);
}

#[test]
fn group_conditions_use_the_configured_groups_of_the_caller() {
    let mut config = SwitchConfig::for_tests();
    config
        .calls
        .user_groups
        .insert("alice".into(), vec!["sales".into()]);
    let mut h = Harness::with_config(config);
    let (alice, bob) = (Phone::alice(), Phone::bob());
    for p in [&alice, &bob] {
        assert_eq!(h.register_phone(p).status, StatusCode::OK);
    }
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
name = "sales may call out"
to = "_9."
source = { group = "sales" }
actions = [{ reject = { code = 488, reason = "Sales Line" } }]

[[context.rule]]
name = "others may not"
to = "_9."
actions = [{ reject = { code = 403 } }]
"#,
        &[],
    ));
    h.take_sent();
    h.call(&alice, "sip:95550100@example.test", "grp-a", SDP_A);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [100, 488]);
    h.call(&bob, "sip:95550100@example.test", "grp-b", SDP_A);
    assert_eq!(codes(&to_addr(&h.take_sent(), bob.addr()).1), [100, 403]);
}

#[test]
fn caller_id_and_headers_go_on_the_b_leg() {
    let (mut h, [alice, bob, _, _]) = office();
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "bob"
actions = [
  { set_caller_id = { name = "Reception", number = "100" } },
  { set_header = { name = "X-Account", value = "${from}" } },
  { set_header = { name = "X-Dialed", value = "${to}@${to_domain}" } },
  { ring_user = "bob" },
]
"#,
        &[],
    ));
    h.call(&alice, "sip:bob@example.test", "cid-1", SDP_A);
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Invite]);
    let invite = &to_b[0];
    let from = invite.headers.from_addr().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("Reception"));
    assert_eq!(from.uri.to_string(), "sip:100@example.test");
    assert!(from.tag().is_some());
    assert_eq!(
        invite.headers.get(&HeaderName::parse("X-Account")).unwrap(),
        "alice"
    );
    assert_eq!(
        invite.headers.get(&HeaderName::parse("X-Dialed")).unwrap(),
        "bob@example.test"
    );
    // The caller's own leg is untouched, and the CDR keeps the real caller.
    let b = Callee::new(&bob, invite.clone(), "cb");
    h.send_response(&b.response(603, ""), bob.peer);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [603]);
    assert_eq!(h.cdrs().pop().unwrap().caller, "alice");
}

#[test]
fn a_ring_step_that_fails_moves_on_to_the_next() {
    let (mut h, [alice, bob, _, carol]) = office();
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "bob"
actions = [
  { ring_user = { user = "bob", timeout = "5s" } },
  { ring_user = "carol2" },
  { reject = { code = 480, reason = "Nobody Home" } },
]
"#,
        &[],
    ));
    // bob rings for 5 s, then carol2 answers.
    let mut a = h.call(&alice, "sip:bob@example.test", "step-1", SDP_A);
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    let b = Callee::new(&bob, to_b[0].clone(), "sb1");
    h.send_response(&b.response(180, ""), bob.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [180]);
    h.advance(Duration::from_millis(4_999));
    assert!(h.take_sent().is_empty());
    h.advance(Duration::from_millis(1));
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Cancel]);
    let (to_c, _) = to_addr(&sent, carol.addr());
    assert_eq!(methods(&to_c), [Method::Invite]);
    assert!(to_addr(&sent, alice.addr()).1.is_empty(), "still ringing");
    h.send_response(&b.response(487, ""), bob.peer);
    let c = Callee::new(&carol, to_c[0].clone(), "sc1");
    h.send_response(&c.response(200, SDP_B), carol.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [200]);
    a.learn(&to_a[0]);
    h.send_request(&a.ack(""), alice.peer);
    h.send_request(&a.request("BYE", "", ""), alice.peer);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.disposition, Disposition::Answered);
    assert_eq!(cdr.destination, CallDestination::User("carol2".into()));
    h.take_sent();

    // Busy at once moves on at once; the last step's reject is what the
    // caller hears.
    h.call(&alice, "sip:bob@example.test", "step-2", SDP_A);
    let sent = h.take_sent();
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "sb2");
    h.send_response(&b.response(486, ""), bob.peer);
    let sent = h.take_sent();
    let (to_c, _) = to_addr(&sent, carol.addr());
    assert_eq!(methods(&to_c), [Method::Invite]);
    let c = Callee::new(&carol, to_c[0].clone(), "sc2");
    h.send_response(&c.response(603, ""), carol.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    assert_eq!(codes(&to_a), [480]);
    assert_eq!(to_a[0].reason, "Nobody Home");
}

#[test]
fn when_every_step_fails_the_best_failure_wins() {
    let (mut h, [alice, bob, _, carol]) = office();
    h.switch.set_dialplan(support::dialplan(
        r#"
[[context]]
name = "internal"

[[context.rule]]
to = "team"
actions = [
  { ring_user = { user = "nobody", timeout = "5s" } },
  { ring_user = { user = "bob", timeout = "5s" } },
  { ring_user = "carol2" },
]
"#,
        &[],
    ));
    h.call(&alice, "sip:team@example.test", "best-1", SDP_A);
    let sent = h.take_sent();
    // "nobody" does not exist (404): bob is next, and says busy.
    let b = Callee::new(&bob, to_addr(&sent, bob.addr()).0[0].clone(), "bb");
    h.send_response(&b.response(486, ""), bob.peer);
    let sent = h.take_sent();
    let c = Callee::new(&carol, to_addr(&sent, carol.addr()).0[0].clone(), "cc");
    h.send_response(&c.response(480, ""), carol.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    // 486 over 480 and over the 404 (RFC 3261 §16.7: a specific answer
    // from the callee beats "could not be reached").
    assert_eq!(codes(&to_a), [486]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(
        (cdr.disposition, cdr.hangup_by),
        (Disposition::Busy, HangupBy::Callee)
    );
}

#[test]
fn a_new_plan_routes_new_calls_and_leaves_routed_calls_alone() {
    let (mut h, [alice, bob, _, carol]) = office();
    let plan = |user: &str| {
        support::dialplan(
            &format!(
                "[[context]]\nname = \"internal\"\n\n[[context.rule]]\nto = \"help\"\n\
                 actions = [{{ ring_user = \"{user}\" }}]\n"
            ),
            &[],
        )
    };
    h.switch.set_dialplan(plan("bob"));
    let mut a1 = h.call(&alice, "sip:help@example.test", "hot-1", SDP_A);
    let sent = h.take_sent();
    let (to_b, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_b), [Method::Invite]);

    h.switch.set_dialplan(plan("carol2"));
    h.call(&alice, "sip:help@example.test", "hot-2", SDP_A);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, carol.addr()).0), [Method::Invite]);
    assert!(to_addr(&sent, bob.addr()).0.is_empty());

    // The first call still reaches bob.
    let b = Callee::new(&bob, to_b[0].clone(), "hb");
    h.send_response(&b.response(200, SDP_B), bob.peer);
    let (_, to_a) = to_addr(&h.take_sent(), alice.addr());
    let ok = to_a.iter().find(|r| r.status == StatusCode::OK).unwrap();
    assert_eq!(ok.headers.call_id().unwrap().as_str(), "hot-1");
    a1.learn(ok);
    h.send_request(&a1.ack(""), alice.peer);
    assert_eq!(
        methods(&to_addr(&h.take_sent(), bob.addr()).0),
        [Method::Ack]
    );
}

#[test]
fn a_start_context_the_plan_lacks_answers_500() {
    let mut config = SwitchConfig::for_tests();
    config.calls.user_context = "staff".into();
    let mut h = Harness::with_config(config);
    let alice = Phone::alice();
    h.register_phone(&alice);
    h.take_sent();
    h.switch.set_dialplan(support::dialplan(
        "[[context]]\nname = \"internal\"\n\n[[context.rule]]\nactions = [\"echo\"]\n",
        &[],
    ));
    h.call(&alice, "sip:bob@example.test", "ctx-1", SDP_A);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [100, 500]);
}
