//! The rule option `media = "anchor" | "pass-through"`: compiled, checked with file:line:col,
//! carried into the decision (the last matched rule that sets it wins across `goto`) and shown
//! by the decision's text.

use sb_dialplan::{
    CallFacts, CompileOptions, ContextName, Diagnostic, Dialplan, MediaMode, Outcome,
    RouteDecision, Source, SourceFile, TrunkName, UnixTime, compile,
};

const README: &str = include_str!("../../../dialplans/README.md");

fn options() -> CompileOptions {
    CompileOptions {
        trunks: vec![TrunkName::from("carrier1")],
    }
}

fn source(text: &str) -> SourceFile {
    SourceFile {
        name: "media.toml".to_owned(),
        text: text.to_owned(),
    }
}

fn plan(text: &str) -> Dialplan {
    match compile(&[source(text)], &options()) {
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

fn errors(text: &str) -> Vec<String> {
    match compile(&[source(text)], &options()) {
        Ok(_) => panic!("expected errors"),
        Err(diagnostics) => diagnostics.iter().map(Diagnostic::to_string).collect(),
    }
}

fn evaluate(plan: &Dialplan, to: &str) -> RouteDecision {
    let context = ContextName::from("internal");
    let at: UnixTime = "2025-01-06T10:00:00Z".parse().expect("valid time");
    plan.evaluate(&CallFacts {
        context: &context,
        from_user: "alice",
        from_domain: "example.com",
        to,
        to_domain: "example.com",
        source: Source::User {
            name: "alice",
            groups: &[],
        },
        at,
    })
}

const PLAN: &str = r#"[[context]]
name = "internal"

[[context.rule]]
name = "direct"
to = "100"
media = "pass-through"
actions = [{ ring_user = "bob" }]

[[context.rule]]
name = "anchored"
to = "101"
media = "anchor"
actions = [{ ring_user = "carol" }]

[[context.rule]]
name = "default"
to = "102"
actions = [{ ring_user = "dave" }]

[[context.rule]]
name = "jump direct"
to = "_2XX"
media = "pass-through"
actions = [{ strip = 1 }, { goto = "second" }]

[[context.rule]]
name = "jump plain"
to = "_3XX"
actions = [{ strip = 1 }, { goto = "second" }]

[[context]]
name = "second"

[[context.rule]]
name = "second anchored"
to = "00"
media = "anchor"
actions = ["echo"]

[[context.rule]]
name = "second plain"
to = "_XX"
actions = [{ trunk = "carrier1" }]
"#;

#[test]
fn each_rule_chooses_or_leaves_it_to_the_switch() {
    let plan = plan(PLAN);
    assert_eq!(evaluate(&plan, "100").media, Some(MediaMode::PassThrough));
    assert_eq!(evaluate(&plan, "101").media, Some(MediaMode::Anchor));
    assert_eq!(evaluate(&plan, "102").media, None);
    let none = evaluate(&plan, "999");
    assert_eq!(none.outcome, Outcome::NoRoute);
    assert_eq!(none.media, None);
}

#[test]
fn the_last_matched_rule_that_sets_it_wins_across_goto() {
    let plan = plan(PLAN);
    // Set before the jump, kept by a rule that says nothing.
    assert_eq!(evaluate(&plan, "212").media, Some(MediaMode::PassThrough));
    // Set before the jump, overridden after it.
    assert_eq!(evaluate(&plan, "200").media, Some(MediaMode::Anchor));
    // Set only after the jump.
    assert_eq!(evaluate(&plan, "300").media, Some(MediaMode::Anchor));
    // Never set.
    assert_eq!(evaluate(&plan, "312").media, None);
}

#[test]
fn the_decision_text_shows_the_choice_only_when_made() {
    let plan = plan(PLAN);
    assert_eq!(
        evaluate(&plan, "100").to_string(),
        "route from context `internal`:\n  matched rule \"direct\" (media.toml:4, context \
         `internal`)\n  media: pass-through\n  number: 100\n  1. ring bob (parallel)\n"
    );
    let anchored = evaluate(&plan, "200").to_string();
    assert!(anchored.contains("\n  media: anchor\n"), "{anchored}");
    let default = evaluate(&plan, "102").to_string();
    assert!(!default.contains("  media:"), "{default}");
}

#[test]
fn other_values_are_errors_at_their_position() {
    let text = "[[context]]\nname = \"internal\"\n\n[[context.rule]]\nto = \"1\"\n\
                media = \"relay\"\nactions = [\"echo\"]\n\n[[context.rule]]\nto = \"2\"\n\
                media = true\nactions = [\"echo\"]\n\n[[context.rule]]\nto = \"3\"\n\
                medias = \"anchor\"\nactions = [\"echo\"]\n\n[[context.rule]]\nto = \"4\"\n\
                media = \"Anchor\"\nactions = [\"echo\"]\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert!(
        errors[0].starts_with("media.toml:6:9: error:")
            && errors[0].contains("`relay` is not `anchor` or `pass-through`"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with("media.toml:11:9: error:") && errors[1].contains("a string"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].starts_with("media.toml:16:1: error:") && errors[2].contains("media"),
        "the list of expected keys names `media`: {}",
        errors[2]
    );
    assert!(
        errors[3].starts_with("media.toml:21:9: error:") && errors[3].contains("`Anchor` is not"),
        "values are case-sensitive: {}",
        errors[3]
    );
}

#[test]
fn the_modes_read_and_print_as_written() {
    for mode in [MediaMode::Anchor, MediaMode::PassThrough] {
        assert_eq!(MediaMode::parse(mode.as_str()), Some(mode));
        assert_eq!(mode.to_string(), mode.as_str());
    }
    assert_eq!(MediaMode::parse("passthrough"), None);
    assert_eq!(MediaMode::parse(""), None);
}

#[test]
fn the_readme_example_compiles() {
    let section = README
        .split("## Media")
        .nth(1)
        .expect("the README has a media section");
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("the media section has a TOML example");
    let text = format!("[[context]]\nname = \"internal\"\n\n{block}");
    let plan = plan(&text);
    let d = evaluate(&plan, "0049301234");
    assert_eq!(d.media, Some(MediaMode::PassThrough), "{d}");
}
