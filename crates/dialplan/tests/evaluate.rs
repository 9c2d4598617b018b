//! Evaluation semantics: matching, conditions, include/goto, actions and the decision's text.

use std::time::Duration;

use sb_dialplan::{
    CallFacts, CallerId, CompileOptions, ContextName, Dialplan, ExtraHeader, GroupName, Outcome,
    RingStrategy, RingTarget, RouteDecision, Source, SourceFile, Step, TrunkName, UnixTime,
    UserName, compile,
};

fn plan_with(text: &str, trunks: &[&str]) -> Dialplan {
    let options = CompileOptions {
        trunks: trunks.iter().map(|t| TrunkName::from(*t)).collect(),
    };
    let source = SourceFile {
        name: "plan.toml".to_owned(),
        text: text.to_owned(),
    };
    match compile(&[source], &options) {
        Ok(plan) => plan,
        Err(errors) => panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

fn plan(text: &str) -> Dialplan {
    plan_with(text, &["carrier1", "carrier2"])
}

/// A call to evaluate; defaults: from alice@example.com (a user) to `to`@example.com, Monday
/// 2025-01-06 10:00 UTC, context `start`.
struct Call<'a> {
    context: ContextName,
    from: &'a str,
    to: &'a str,
    source: Source<'a>,
    at: UnixTime,
}

fn call(to: &str) -> Call<'_> {
    Call {
        context: ContextName::from("start"),
        from: "alice",
        to,
        source: Source::User {
            name: "alice",
            groups: &[],
        },
        at: "2025-01-06T10:00:00Z".parse().expect("valid time"),
    }
}

impl Call<'_> {
    fn eval(&self, plan: &Dialplan) -> RouteDecision {
        plan.evaluate(&CallFacts {
            context: &self.context,
            from_user: self.from,
            from_domain: "example.com",
            to: self.to,
            to_domain: "example.com",
            source: self.source,
            at: self.at,
        })
    }
}

fn user(name: &str) -> RingTarget {
    RingTarget::User {
        user: UserName::from(name),
        domain: None,
    }
}

fn ring(names: &[&str]) -> Step {
    Step::Ring {
        targets: names.iter().map(|n| user(n)).collect(),
        strategy: RingStrategy::Parallel,
        timeout: None,
    }
}

/// The names of the rules that matched, in order.
fn matched(d: &RouteDecision) -> Vec<String> {
    d.trace
        .iter()
        .map(|t| {
            t.rule
                .name
                .as_ref()
                .map_or("?".to_owned(), ToString::to_string)
        })
        .collect()
}

#[test]
fn first_match_wins_and_lists_match_any() {
    let plan = plan(
        r#"
[[context]]
name = "start"

[[context.rule]]
name = "specific"
to = "1000"
actions = [{ ring_user = "boss" }]

[[context.rule]]
name = "range"
to = ["_1XXX", "_2XXX"]
actions = [{ ring_user = "ext-${to}" }]

[[context.rule]]
name = "from bob"
from = ["bob", "_5XX"]
actions = [{ reject = 403 }]
"#,
    );
    let d = call("1000").eval(&plan);
    assert_eq!(
        (d.outcome, d.steps.clone()),
        (Outcome::Route, vec![ring(&["boss"])])
    );
    assert_eq!(matched(&d), ["specific"]);
    let d = call("2001").eval(&plan);
    assert_eq!(d.steps, [ring(&["ext-2001"])]);
    let d = call("3001").eval(&plan);
    assert_eq!((d.outcome, d.steps.len()), (Outcome::NoRoute, 0));
    assert_eq!(d.outcome.failure_status(), Some(404));
    let mut c = call("3001");
    c.from = "bob";
    assert_eq!(
        c.eval(&plan).steps,
        [Step::Reject {
            code: 403,
            reason: None
        }]
    );
    c.from = "512";
    assert_eq!(c.eval(&plan).matched_rule(), Some("from bob".to_owned()));
}

trait MatchedRule {
    fn matched_rule(&self) -> Option<String>;
}

impl MatchedRule for RouteDecision {
    fn matched_rule(&self) -> Option<String> {
        matched(self).last().cloned()
    }
}

#[test]
fn includes_are_searched_after_own_rules_in_order_and_once() {
    let plan = plan(
        r#"
[[context]]
name = "start"
include = ["b", "c"]

[[context.rule]]
name = "own"
to = "1"
actions = [{ ring_user = "own" }]

[[context]]
name = "b"
include = ["c"]

[[context.rule]]
name = "b"
to = "_[12]"
actions = [{ ring_user = "b" }]

[[context]]
name = "c"

[[context.rule]]
name = "c"
to = "_X"
actions = [{ ring_user = "c" }]
"#,
    );
    // (dialed, rule that wins)
    for (to, rule) in [("1", "own"), ("2", "b"), ("3", "c")] {
        let d = call(to).eval(&plan);
        assert_eq!(d.matched_rule().as_deref(), Some(rule), "{to}");
        assert_eq!(d.trace[0].context.as_str(), "start");
        assert_eq!(
            d.trace[0].rule.context.as_str(),
            rule.replace("own", "start")
        );
    }
    assert_eq!(plan.rule_count(), 3);
    assert!(plan.has_context("c") && !plan.has_context("d"));
    let names: Vec<&str> = plan.contexts().map(ContextName::as_str).collect();
    assert_eq!(names, ["start", "b", "c"]);
}

#[test]
fn goto_carries_state_and_is_bounded() {
    let plan = plan(
        r#"
[[context]]
name = "start"

[[context.rule]]
name = "prefix 0"
to = "_0."
actions = [
  { set_caller_id = { number = "+4930100" } },
  { set_header = { name = "X-Via", value = "start" } },
  { ring_user = "first" },
  { strip = 1 },
  { goto = "national" },
]

[[context.rule]]
name = "spin"
to = "_8."
actions = [{ prepend = "8" }, { goto = "again" }]

[[context]]
name = "national"

[[context.rule]]
name = "carrier"
to = "_NX."
actions = [{ set_header = { name = "x-via", value = "national" } }, { prepend = "+49" }, { trunk = "carrier1" }]

[[context]]
name = "again"
include = ["start"]
"#,
    );
    let d = call("0301234").eval(&plan);
    assert_eq!(d.outcome, Outcome::Route);
    assert_eq!(matched(&d), ["prefix 0", "carrier"]);
    assert_eq!(
        d.steps,
        [
            ring(&["first"]),
            Step::Trunk {
                trunks: vec![TrunkName::from("carrier1")].into(),
                number: "+49301234".to_owned(),
            },
        ]
    );
    assert_eq!(d.number, "+49301234");
    assert_eq!(d.caller_id.number.as_deref(), Some("+4930100"));
    // A header set again replaces the earlier value (names compare case-insensitively).
    assert_eq!(
        d.headers,
        [ExtraHeader {
            name: "X-Via".into(),
            value: "national".to_owned()
        }]
    );

    // Nothing matches after the goto: the steps already decided still run.
    let d = call("0101").eval(&plan);
    assert_eq!(
        (d.outcome, d.steps),
        (Outcome::Route, vec![ring(&["first"])])
    );

    // Growing the number on every jump never ends: refused after MAX_JUMPS.
    let d = call("81").eval(&plan);
    assert_eq!(d.outcome, Outcome::JumpLimit);
    assert_eq!(d.outcome.failure_status(), Some(500));
    assert_eq!(d.trace.len(), sb_dialplan::MAX_JUMPS + 1);
    assert!(d.steps.is_empty());
}

#[test]
fn unknown_start_context() {
    let plan = plan("[[context]]\nname = \"x\"\n");
    let d = call("1").eval(&plan);
    assert_eq!(d.outcome, Outcome::UnknownContext);
    assert_eq!(d.outcome.failure_status(), Some(500));
    assert_eq!(
        d.to_string(),
        "no route: context `start` is not defined (answer 500)\n"
    );
}

#[test]
fn source_conditions() {
    let plan = plan(
        r#"
[[context]]
name = "start"
rule = [
  { name = "alice", source = { user = ["alice", "al"] }, to = "1", actions = ["echo"] },
  { name = "sales", source = { group = "sales" }, to = "1", actions = ["echo"] },
  { name = "any user", source = "user", to = "1", actions = ["echo"] },
  { name = "carrier", source = { trunk = "carrier1" }, to = "1", actions = ["echo"] },
  { name = "any trunk", source = "trunk", to = "1", actions = ["echo"] },
  { name = "unknown", source = "unknown", to = "1", actions = ["echo"] },
]
"#,
    );
    let sales = [GroupName::from("support"), GroupName::from("sales")];
    let none: [GroupName; 0] = [];
    let cases: &[(Source<'_>, &str)] = &[
        (
            Source::User {
                name: "alice",
                groups: &sales,
            },
            "alice",
        ),
        (
            Source::User {
                name: "bob",
                groups: &sales,
            },
            "sales",
        ),
        (
            Source::User {
                name: "bob",
                groups: &none,
            },
            "any user",
        ),
        (Source::Trunk { name: "carrier1" }, "carrier"),
        (Source::Trunk { name: "carrier2" }, "any trunk"),
        (Source::Unknown, "unknown"),
    ];
    for (source, rule) in cases {
        let mut c = call("1");
        c.source = *source;
        assert_eq!(
            c.eval(&plan).matched_rule().as_deref(),
            Some(*rule),
            "{source:?}"
        );
    }
}

#[test]
fn time_windows_in_rules() {
    let plan = plan(
        r#"
[[context]]
name = "start"

[[context.rule]]
name = "night"
time = { days = "fri", hours = "22:00-06:00", tz = "+01:00" }
actions = [{ reject = { code = 480, reason = "Closed" } }]

[[context.rule]]
name = "office"
time = [
  { days = "mon-fri", hours = "09:00-17:00", tz = "+01:00" },
  { days = "sat", hours = "10:00-12:00", tz = "+01:00" },
]
actions = [{ ring_user = "reception" }]

[[context.rule]]
name = "holiday"
time = { dates = "2025-12-24..2025-12-26" }
actions = [{ reject = 404 }]
"#,
    );
    // (UTC time, rule); 2025-01-10 is a Friday. Local time is UTC+1.
    let cases: &[(&str, Option<&str>)] = &[
        ("2025-01-10T08:00:00Z", Some("office")), // Fri 09:00
        ("2025-01-10T15:59:59Z", Some("office")),
        ("2025-01-10T16:00:00Z", None),           // Fri 17:00
        ("2025-01-10T21:00:00Z", Some("night")),  // Fri 22:00
        ("2025-01-11T02:30:00Z", Some("night")),  // Sat 03:30, Friday's night
        ("2025-01-11T05:00:00Z", None),           // Sat 06:00
        ("2025-01-11T09:30:00Z", Some("office")), // Sat 10:30
        ("2025-01-09T23:30:00Z", None),           // Fri 00:30: Thursday's night
        ("2025-12-25T12:00:00Z", Some("office")), // a Thursday, office hours first
        ("2025-12-25T20:00:00Z", Some("holiday")),
        ("2025-12-27T20:00:00Z", None),
    ];
    for (time, rule) in cases {
        let mut c = call("1");
        c.at = time.parse().expect("valid time");
        assert_eq!(c.eval(&plan).matched_rule().as_deref(), *rule, "{time}");
    }
}

#[test]
fn actions_resolve_variables_and_captures() {
    let plan = plan(
        r#"
[[context]]
name = "start"

[[context.rule]]
name = "e164"
to_regex = '\+(?<cc>1|33|49)(\d+)'
from_regex = '(?<dept>[a-z]+)\.(\d+)'
actions = [
  { set_caller_id = { name = "${dept} desk", number = "${from}" } },
  { set_header = { name = "X-Country", value = "${cc}/${to_domain}/${from_domain}" } },
  { set_to = "00${1}${2}" },
  { trunk = { name = "carrier1", failover = ["carrier2"] } },
  { ring_group = { users = ["${dept}-${2}", "op@example.org"], strategy = "sequential", timeout = "15s" } },
  { tone = { frequency = 425, duration = "1500ms" } },
  "echo",
]

[[context.rule]]
name = "strip too much"
to = "_1"
actions = [{ strip = 5 }, { ring_user = { user = "x${to}y", timeout = "20s" } }]
"#,
    );
    let mut c = call("+4930123");
    c.from = "sales.7";
    let d = c.eval(&plan);
    assert_eq!(
        d.caller_id,
        CallerId {
            name: Some("sales desk".to_owned()),
            number: Some("sales.7".to_owned()),
        }
    );
    assert_eq!(d.headers[0].value, "49/example.com/example.com");
    assert_eq!(d.number, "004930123");
    assert_eq!(
        d.steps,
        [
            Step::Trunk {
                trunks: vec![TrunkName::from("carrier1"), TrunkName::from("carrier2")].into(),
                number: "004930123".to_owned(),
            },
            Step::Ring {
                targets: vec![
                    user("sales-30123"),
                    RingTarget::User {
                        user: UserName::from("op"),
                        domain: Some("example.org".to_owned()),
                    },
                ],
                strategy: RingStrategy::Sequential,
                timeout: Some(Duration::from_secs(15)),
            },
            Step::Tone {
                frequency_hz: 425,
                duration: Duration::from_millis(1500),
            },
            Step::Echo,
        ]
    );
    assert_eq!(
        d.to_string(),
        "route from context `start`:
  matched rule \"e164\" (plan.toml:5, context `start`)
  caller id: name \"sales desk\" number \"sales.7\"
  header X-Country: 49/example.com/example.com
  number: 004930123
  1. dial 004930123 via trunk carrier1, then carrier2
  2. ring sales-30123, op@example.org (sequential, timeout 15s each)
  3. tone 425 Hz for 1500ms
  4. echo
"
    );
    // The regex does not match without the caller condition.
    c.from = "alice";
    assert_eq!(c.eval(&plan).outcome, Outcome::NoRoute);

    let d = call("1").eval(&plan);
    assert_eq!(
        d.steps,
        [Step::Ring {
            targets: vec![user("xy")],
            strategy: RingStrategy::Parallel,
            timeout: Some(Duration::from_secs(20)),
        }]
    );
}

#[test]
fn caller_data_cannot_inject_header_lines() {
    let plan = plan(
        r#"
[[context]]
name = "start"
rule = [{ actions = [{ set_header = { name = "X-From", value = "<${from}>" } }, { reject = { code = 486, reason = "Busy Here" } }] }]
"#,
    );
    let mut c = call("1\r\n");
    c.from = "eve\r\nVia: SIP/2.0/UDP 192.0.2.1";
    let d = c.eval(&plan);
    assert_eq!(d.headers[0].value, "<eveVia: SIP/2.0/UDP 192.0.2.1>");
    assert_eq!(d.number, "1");
    assert_eq!(
        d.to_string(),
        "route from context `start`:
  matched unnamed rule (plan.toml:4, context `start`)
  header X-From: <eveVia: SIP/2.0/UDP 192.0.2.1>
  number: 1
  1. reject 486 Busy Here
"
    );
}

#[test]
fn trunk_guard_follows_the_configuration() {
    let text = r#"
[[context]]
name = "start"

[[context.rule]]
name = "out"
to = "_9."
if_trunk_configured = "default"
actions = [{ strip = 1 }, { trunk = "default" }]
"#;
    let without = plan_with(text, &[]);
    assert_eq!(without.warnings().len(), 1);
    assert_eq!(call("9555").eval(&without).outcome, Outcome::NoRoute);
    let with = plan_with(text, &["default"]);
    assert!(with.warnings().is_empty());
    assert_eq!(
        call("9555").eval(&with).steps,
        [Step::Trunk {
            trunks: vec![TrunkName::from("default")].into(),
            number: "555".to_owned(),
        }]
    );
}

#[test]
fn sources_parse_for_the_command_line() {
    assert_eq!(
        Source::parse("user:alice"),
        Ok(Source::User {
            name: "alice",
            groups: &[]
        })
    );
    assert_eq!(
        Source::parse("trunk:carrier1"),
        Ok(Source::Trunk { name: "carrier1" })
    );
    assert_eq!(Source::parse("unknown"), Ok(Source::Unknown));
    for bad in ["", "user", "user:", "trunk:", "alice", "group:sales"] {
        assert!(Source::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn plans_are_shared_between_threads_and_times_never_overflow() {
    fn shared<T: Send + Sync>(_: &T) {}
    let plan = plan(
        "[[context]]\nname = \"start\"\nrule = [{ time = { hours = \"09:00-17:00\", tz = \"+14:00\" }, actions = [{ ring_user = \"x@\" }] }]\n",
    );
    shared(&plan);
    for secs in [i64::MIN, -1, 0, i64::MAX] {
        let mut c = call("1");
        c.at = UnixTime::from_secs(secs);
        let _ = c.eval(&plan);
    }
    let mut c = call("1");
    c.at = "2025-01-06T00:00:00Z".parse().expect("valid");
    // An empty domain after `@` means the call's own domain.
    assert_eq!(c.eval(&plan).steps, [ring(&["x"])]);
}
