//! The user directory pushed with `set_directory`: extensions that ring
//! their users, call groups feeding the dialplan's group conditions, call
//! permissions (403 with a CDR), the context a user's calls start in, and a
//! bad directory refused without changing anything.

mod support;

use sb_sip_message::{HeaderName, Method, StatusCode};
use sb_switch::{
    CallDestination, CallSource, DirectoryError, DirectoryUser, Disposition, GroupPolicy, HangupBy,
    SwitchConfig, TrunkConfig, UserDirectory,
};
use support::Harness;
use support::calls::{Callee, Phone, SDP_A, codes, methods, request_text, to_addr};

/// alice, bob and 1001 registered, routed by `plan`, outputs cleared.
fn office(config: SwitchConfig, plan: &str) -> (Harness, Phone, Phone, Phone) {
    let mut h = Harness::with_config(config);
    h.users.insert(
        ("1001".into(), "example.test".into()),
        ("pw1001".into(), true),
    );
    let (alice, bob) = (Phone::alice(), Phone::bob());
    let ext = Phone::new("1001", "pw1001", "192.0.2.63:5060", "192.0.2.63:5060");
    for p in [&alice, &bob, &ext] {
        assert_eq!(h.register_phone(p).status, StatusCode::OK);
    }
    if !plan.is_empty() {
        h.switch.set_dialplan(support::dialplan(plan, &[]));
    }
    h.take_sent();
    h.effects.clear();
    h.events.clear();
    (h, alice, bob, ext)
}

fn user(name: &str) -> DirectoryUser {
    DirectoryUser {
        username: name.into(),
        domain: "example.test".into(),
        ..DirectoryUser::default()
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn group(name: &str, context: Option<&str>, allow: &[&str], deny: &[&str]) -> GroupPolicy {
    GroupPolicy {
        name: name.into(),
        context: context.map(Into::into),
        allow: strings(allow),
        deny: strings(deny),
    }
}

/// Calls `number` from `phone`; returns the statuses the caller got.
fn dial(h: &mut Harness, phone: &Phone, number: &str, call_id: &str) -> Vec<u16> {
    h.call(phone, &format!("sip:{number}@example.test"), call_id, SDP_A);
    codes(&to_addr(&h.take_sent(), phone.addr()).1)
}

#[test]
fn an_extension_rings_its_user() {
    let plan = r#"
[[context]]
name = "internal"

[[context.rule]]
name = "extensions"
to = "_[12]XXX"
actions = [{ ring_user = "${to}" }]
"#;
    let (mut h, alice, bob, ext) = office(SwitchConfig::for_tests(), plan);
    let mut other = user("dave");
    other.domain = "other.test".into();
    other.extension = Some("2002".into());
    h.switch
        .set_directory(UserDirectory {
            users: vec![
                DirectoryUser {
                    extension: Some("2001".into()),
                    ..user("bob")
                },
                // A user named like an extension keeps its name.
                DirectoryUser {
                    extension: Some("1001".into()),
                    ..user("alice")
                },
                user("1001"),
                other,
            ],
            groups: Vec::new(),
        })
        .unwrap();

    h.call(&alice, "sip:2001@example.test", "ext-1", SDP_A);
    let sent = h.take_sent();
    assert_eq!(codes(&to_addr(&sent, alice.addr()).1), [100]);
    let (to_bob, _) = to_addr(&sent, bob.addr());
    assert_eq!(methods(&to_bob), [Method::Invite]);
    assert_eq!(to_bob[0].uri.to_string(), "sip:bob@192.0.2.60:5060");
    assert_eq!(
        to_bob[0].headers.get(&HeaderName::To).unwrap(),
        "<sip:bob@example.test>"
    );
    let call = h.switch.calls().next().unwrap();
    assert_eq!(call.callee, "bob");
    assert_eq!(call.dialed, "2001");
    let b = Callee::new(&bob, to_bob[0].clone(), "x1");
    h.send_response(&b.response(486, ""), bob.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), alice.addr()).1), [486]);
    let cdr = h.cdrs().pop().unwrap();
    assert_eq!(cdr.dialed, "2001");
    assert_eq!(cdr.callee, "bob");
    assert_eq!(cdr.destination, CallDestination::User("bob".into()));

    // 1001 is a user's name: that user rings, not alice whose extension it is.
    h.call(&bob, "sip:1001@example.test", "ext-2", SDP_A);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, ext.addr()).0), [Method::Invite]);
    assert!(to_addr(&sent, alice.addr()).0.is_empty());

    // An extension of another domain means nothing here: no user 2002.
    assert_eq!(dial(&mut h, &alice, "2002", "ext-3"), [100, 404]);
    assert_eq!(h.cdrs().pop().unwrap().callee, "2002");
}

#[test]
fn extensions_work_without_a_dialplan() {
    let (mut h, alice, bob, _) = office(SwitchConfig::for_tests(), "");
    h.switch
        .set_directory(UserDirectory {
            users: vec![DirectoryUser {
                extension: Some("*7".into()),
                ..user("bob")
            }],
            groups: Vec::new(),
        })
        .unwrap();
    h.call(&alice, "sip:*7@example.test", "ext-nd", SDP_A);
    let sent = h.take_sent();
    assert_eq!(methods(&to_addr(&sent, bob.addr()).0), [Method::Invite]);
}

const GROUP_PLAN: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_9."
source = { group = "sales" }
actions = [{ reject = { code = 488, reason = "Sales" } }]

[[context.rule]]
to = "_8."
source = { group = "night" }
actions = [{ reject = { code = 486, reason = "Night" } }]

[[context.rule]]
to = "_[89]."
actions = [{ reject = { code = 404 } }]
"#;

#[test]
fn directory_groups_and_configured_groups_feed_group_conditions() {
    let mut config = SwitchConfig::for_tests();
    config
        .calls
        .user_groups
        .insert("alice".into(), vec!["night".into()]);
    let (mut h, alice, bob, _) = office(config, GROUP_PLAN);
    // Before any directory: the configured groups only.
    assert_eq!(dial(&mut h, &alice, "95550100", "g-0"), [100, 404]);
    assert_eq!(dial(&mut h, &alice, "85550100", "g-1"), [100, 486]);
    h.switch
        .set_directory(UserDirectory {
            users: vec![
                DirectoryUser {
                    groups: strings(&["sales"]),
                    ..user("alice")
                },
                user("bob"),
            ],
            groups: Vec::new(),
        })
        .unwrap();
    // Directory groups, plus the configured ones.
    assert_eq!(dial(&mut h, &alice, "95550100", "g-2"), [100, 488]);
    assert_eq!(dial(&mut h, &alice, "85550100", "g-3"), [100, 486]);
    assert_eq!(dial(&mut h, &bob, "95550100", "g-4"), [100, 404]);
    // Pushed again: bob joins sales at once.
    h.switch
        .set_directory(UserDirectory {
            users: vec![DirectoryUser {
                groups: strings(&["sales"]),
                ..user("bob")
            }],
            groups: Vec::new(),
        })
        .unwrap();
    assert_eq!(dial(&mut h, &bob, "95550100", "g-5"), [100, 488]);
    assert_eq!(dial(&mut h, &alice, "95550100", "g-6"), [100, 404]);
}

const ROUTED: &str = r#"
[[context]]
name = "internal"

[[context.rule]]
to = "_!"
actions = [{ reject = { code = 488, reason = "Routed" } }]

[[context]]
name = "from-trunk"

[[context.rule]]
to = "_!"
actions = [{ reject = { code = 488, reason = "Routed" } }]
"#;

#[test]
fn permissions_refuse_with_403_and_a_cdr() {
    let mut config = SwitchConfig::for_tests();
    config.trunks = vec![TrunkConfig {
        name: "carrier".into(),
        addresses: vec!["203.0.113.1".parse().unwrap()],
        ..TrunkConfig::default()
    }];
    let (mut h, alice, bob, _) = office(config, ROUTED);
    h.switch
        .set_directory(UserDirectory {
            users: vec![
                DirectoryUser {
                    groups: strings(&["local"]),
                    deny: strings(&["_1900."]),
                    ..user("alice")
                },
                user("bob"),
            ],
            groups: vec![group("local", None, &["_1XX", "_0[1-9]."], &["_00."])],
        })
        .unwrap();
    // Allowed by the group's allow list: the dialplan decides.
    assert_eq!(dial(&mut h, &alice, "101", "p-1"), [100, 488]);
    assert_eq!(dial(&mut h, &alice, "0301234", "p-2"), [100, 488]);
    // Denied by the group, by the user, and not allowed at all.
    for (number, id) in [("0049301234", "p-3"), ("19001234", "p-4"), ("5555", "p-5")] {
        h.call(&alice, &format!("sip:{number}@example.test"), id, SDP_A);
        let sent = h.take_sent();
        let (requests, to_a) = to_addr(&sent, alice.addr());
        assert!(requests.is_empty());
        assert_eq!(codes(&to_a), [100, 403], "{number}");
        let refusal = &to_a[1];
        assert_eq!(refusal.reason, "Forbidden");
        assert!(refusal.headers.to_addr().unwrap().tag().is_some());
        assert_eq!(refusal.headers.call_id().unwrap().as_str(), id);
        let cdr = h.cdrs().pop().unwrap();
        assert_eq!(cdr.call_id.as_str(), id);
        assert_eq!(cdr.dialed, number);
        assert_eq!(cdr.caller, "alice");
        assert_eq!(cdr.disposition, Disposition::Failed);
        assert_eq!(cdr.sip_status, StatusCode::FORBIDDEN);
        assert_eq!(cdr.hangup_by, HangupBy::System);
        assert_eq!(cdr.destination, CallDestination::None);
        assert_eq!(cdr.answer_unix_ms, None);
    }
    assert_eq!(h.switch.stats().responses_by_code.get(403), 3);
    // bob has no limits; nor do trunks, whoever their From names.
    assert_eq!(dial(&mut h, &bob, "0049301234", "p-6"), [100, 488]);
    let gw = Phone::new("gw", "", "203.0.113.1:5060", "203.0.113.1:5060");
    let invite = request_text(
        "INVITE sip:0049301234@192.0.2.10 SIP/2.0\n\
         Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKtr1\n\
         Max-Forwards: 70\n\
         From: <sip:alice@example.test>;tag=t1\n\
         To: <sip:0049301234@192.0.2.10>\n\
         Call-ID: p-7\n\
         CSeq: 1 INVITE\n\
         Contact: <sip:alice@203.0.113.1:5060>\n",
        "",
    );
    h.send_request(&invite, gw.peer);
    assert_eq!(codes(&to_addr(&h.take_sent(), gw.addr()).1), [100, 488]);
    assert_eq!(
        h.cdrs().pop().unwrap().source,
        CallSource::Trunk("carrier".into())
    );
}

const CONTEXTS: &str = r#"
[[context]]
name = "internal"
[[context.rule]]
actions = [{ reject = { code = 480, reason = "Internal" } }]

[[context]]
name = "own"
[[context.rule]]
actions = [{ reject = { code = 486, reason = "Own" } }]

[[context]]
name = "first"
[[context.rule]]
actions = [{ reject = { code = 488, reason = "First" } }]

[[context]]
name = "second"
[[context.rule]]
actions = [{ reject = { code = 603, reason = "Second" } }]
"#;

#[test]
fn the_start_context_is_the_users_then_its_first_groups_then_the_default() {
    let mut config = SwitchConfig::for_tests();
    config
        .calls
        .user_groups
        .insert("alice".into(), vec!["g2".into()]);
    let (mut h, alice, bob, _) = office(config, CONTEXTS);
    let groups = || {
        vec![
            group("plain", None, &[], &[]),
            group("g1", Some("first"), &[], &[]),
            group("g2", Some("second"), &[], &[]),
        ]
    };
    let set = |h: &mut Harness, alice: DirectoryUser| {
        h.switch
            .set_directory(UserDirectory {
                users: vec![alice],
                groups: groups(),
            })
            .unwrap();
    };
    set(
        &mut h,
        DirectoryUser {
            context: Some("own".into()),
            groups: strings(&["plain", "g1"]),
            ..user("alice")
        },
    );
    assert_eq!(dial(&mut h, &alice, "100", "c-1"), [100, 486]);
    set(
        &mut h,
        DirectoryUser {
            groups: strings(&["plain", "g1", "g2"]),
            ..user("alice")
        },
    );
    assert_eq!(dial(&mut h, &alice, "100", "c-2"), [100, 488]);
    set(
        &mut h,
        DirectoryUser {
            groups: strings(&["g2", "g1"]),
            ..user("alice")
        },
    );
    assert_eq!(dial(&mut h, &alice, "100", "c-3"), [100, 603]);
    // The configured group g2 comes after the directory's (contextless) one.
    set(
        &mut h,
        DirectoryUser {
            groups: strings(&["plain"]),
            ..user("alice")
        },
    );
    assert_eq!(dial(&mut h, &alice, "100", "c-4"), [100, 603]);
    // Not in the directory: its configured group g2 still gives a context…
    set(&mut h, user("bob"));
    assert_eq!(dial(&mut h, &alice, "100", "c-5"), [100, 603]);
    // …and without any group with one, the configured user context.
    assert_eq!(dial(&mut h, &bob, "100", "c-6"), [100, 480]);
}

#[test]
fn a_bad_directory_is_refused_and_changes_nothing() {
    let (mut h, alice, _, _) = office(SwitchConfig::for_tests(), ROUTED);
    let good = UserDirectory {
        users: vec![DirectoryUser {
            deny: strings(&["_00."]),
            ..user("alice")
        }],
        groups: Vec::new(),
    };
    h.switch.set_directory(good.clone()).unwrap();
    assert_eq!(dial(&mut h, &alice, "0049301234", "b-1"), [100, 403]);

    let mut bad = good.clone();
    bad.users[0].deny = Vec::new();
    bad.users[0].allow = strings(&["_0.", "_9.1"]);
    let err = h.switch.set_directory(bad).unwrap_err();
    assert_eq!(
        err,
        DirectoryError::UserPattern {
            username: "alice".into(),
            domain: "example.test".into(),
            list: "allow",
            pattern: "_9.1".into(),
            reason: "`.` and `!` must end the pattern".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "user alice@example.test: bad allow pattern `_9.1`: `.` and `!` must end the pattern"
    );
    let mut bad = good;
    bad.users.push(DirectoryUser {
        extension: Some("7".into()),
        ..user("bob")
    });
    bad.groups.push(group("sales", None, &[], &["_[9"]));
    let err = h.switch.set_directory(bad).unwrap_err();
    assert_eq!(
        err.to_string(),
        "group sales: bad deny pattern `_[9`: `[` without a closing `]`"
    );
    // The directory in force is still the good one.
    assert_eq!(dial(&mut h, &alice, "0049301234", "b-2"), [100, 403]);
    assert_eq!(dial(&mut h, &alice, "0301234", "b-3"), [100, 488]);
}
