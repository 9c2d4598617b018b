//! The shipped `dialplans/default.toml` and the examples of `dialplans/README.md`.

use std::time::Duration;

use sb_dialplan::{
    CallFacts, CompileOptions, ContextName, Dialplan, Outcome, RingStrategy, RingTarget,
    RouteDecision, Source, SourceFile, Step, TrunkName, UnixTime, UserName, compile,
};

const DEFAULT: &str = include_str!("../../../dialplans/default.toml");
const README: &str = include_str!("../../../dialplans/README.md");

fn compile_default(trunks: &[&str]) -> Dialplan {
    let source = SourceFile {
        name: "dialplans/default.toml".to_owned(),
        text: DEFAULT.to_owned(),
    };
    let options = CompileOptions {
        trunks: trunks.iter().map(|t| TrunkName::from(*t)).collect(),
    };
    compile(&[source], &options).unwrap_or_else(|errors| {
        panic!(
            "{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn evaluate(plan: &Dialplan, context: &str, to: &str, source: Source<'_>) -> RouteDecision {
    let context = ContextName::from(context);
    plan.evaluate(&CallFacts {
        context: &context,
        from_user: "alice",
        from_domain: "example.com",
        to,
        to_domain: "example.com",
        source,
        at: UnixTime::from_secs(1_736_157_600),
    })
}

const ALICE: Source<'static> = Source::User {
    name: "alice",
    groups: &[],
};
const CARRIER: Source<'static> = Source::Trunk { name: "default" };

fn ring(user: &str) -> Vec<Step> {
    vec![Step::Ring {
        targets: vec![RingTarget::User {
            user: UserName::from(user),
            domain: None,
        }],
        strategy: RingStrategy::Parallel,
        timeout: None,
    }]
}

/// 1-based line of the `[[context.rule]]` header of the rule named `name`.
fn rule_line(name: &str) -> usize {
    let lines: Vec<&str> = DEFAULT.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("name = \"{name}\""))
        .expect("the rule exists");
    lines[..at]
        .iter()
        .rposition(|l| *l == "[[context.rule]]")
        .expect("the rule has a header")
        + 1
}

#[test]
fn users_call_each_other_by_name_and_extension() {
    let plan = compile_default(&[]);
    // (context, dialed, expected steps; empty = no route)
    let cases: &[(&str, &str, Vec<Step>)] = &[
        ("internal", "100", ring("100")),
        ("internal", "1001", ring("1001")),
        ("internal", "alice", ring("alice")),
        ("internal", "bob.smith", ring("bob.smith")),
        ("internal", "*43", vec![Step::Echo]),
        (
            "internal",
            "*44",
            vec![Step::Tone {
                frequency_hz: 1000,
                duration: Duration::from_secs(5),
            }],
        ),
        ("internal", "12", vec![]),
        ("internal", "12345", vec![]),
        ("internal", "95551234", vec![]),
        ("internal", "+4930123", vec![]),
        ("internal", "", vec![]),
        ("from-trunk", "1001", ring("1001")),
        ("from-trunk", "bob", ring("bob")),
        ("from-trunk", "95551234", vec![]),
    ];
    for (context, to, steps) in cases {
        let source = if *context == "internal" {
            ALICE
        } else {
            CARRIER
        };
        let d = evaluate(&plan, context, to, source);
        assert_eq!(&d.steps, steps, "{context} {to}");
        let outcome = if steps.is_empty() {
            Outcome::NoRoute
        } else {
            Outcome::Route
        };
        assert_eq!(d.outcome, outcome, "{context} {to}");
    }
}

#[test]
fn the_trunk_rule_needs_a_configured_trunk() {
    let without = compile_default(&[]);
    let warnings: Vec<String> = without.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].ends_with("warning: rule disabled: trunk `default` is not configured"),
        "{warnings:?}"
    );
    assert!(warnings[0].starts_with(&format!(
        "dialplans/default.toml:{}:",
        rule_line("trunk") + 3
    )));

    let with = compile_default(&["default", "other"]);
    assert!(with.warnings().is_empty());
    let trunk = |number: &str| {
        vec![Step::Trunk {
            trunks: vec![TrunkName::from("default")].into(),
            number: number.to_owned(),
        }]
    };
    let cases: &[(&str, &str, Vec<Step>)] = &[
        ("internal", "95551234", trunk("5551234")),
        ("internal", "900", ring("900")), // three digits: an extension first
        ("internal", "9", vec![]),
        ("internal", "91", trunk("1")),
        ("from-trunk", "95551234", vec![]), // never back out through a trunk
    ];
    for (context, to, steps) in cases {
        let d = evaluate(&with, context, to, ALICE);
        assert_eq!(&d.steps, steps, "{context} {to}");
    }
}

#[test]
fn decisions_explain_themselves() {
    let plan = compile_default(&["default"]);
    let d = evaluate(&plan, "internal", "1001", ALICE);
    assert_eq!(
        d.to_string(),
        format!(
            "route from context `internal`:
  matched rule \"extensions\" (dialplans/default.toml:{}, context `local`) via context `internal`
  number: 1001
  1. ring 1001 (parallel)
",
            rule_line("extensions")
        )
    );
    let d = evaluate(&plan, "internal", "95551234", ALICE);
    assert_eq!(
        d.to_string(),
        format!(
            "route from context `internal`:
  matched rule \"trunk\" (dialplans/default.toml:{}, context `outbound`) via context `internal`
  number: 5551234
  1. dial 5551234 via trunk default
",
            rule_line("trunk")
        )
    );
    let d = evaluate(&plan, "internal", "12", ALICE);
    assert_eq!(
        d.to_string(),
        "no route from context `internal`: no rule matched (answer 404)\n"
    );
}

#[test]
fn readme_examples_compile_and_route() {
    let block = README
        .rsplit("```toml\n")
        .next()
        .and_then(|b| b.split("```").next())
        .expect("the README ends with a TOML example");
    let source = SourceFile {
        name: "dialplans/README.md".to_owned(),
        text: block.to_owned(),
    };
    let options = CompileOptions {
        trunks: vec![TrunkName::from("carrier1"), TrunkName::from("carrier2")],
    };
    let plan = compile(&[source], &options).expect("the examples compile");
    let context = ContextName::from("from-trunk");
    let office: UnixTime = "2025-01-06T09:00:00Z".parse().expect("valid");
    let d = plan.evaluate(&CallFacts {
        context: &context,
        from_user: "+15550100",
        from_domain: "carrier.example.net",
        to: "+4930123456",
        to_domain: "example.com",
        source: Source::Trunk { name: "carrier1" },
        at: office,
    });
    assert_eq!(d.steps.len(), 2, "{d}");
    let context = ContextName::from("outbound");
    let d = plan.evaluate(&CallFacts {
        context: &context,
        from_user: "anna",
        from_domain: "example.com",
        to: "+33123456789",
        to_domain: "example.com",
        source: Source::User {
            name: "anna",
            groups: &[],
        },
        at: office,
    });
    assert_eq!(d.number, "0033123456789");
    assert_eq!(d.headers[0].value, "33");
}
