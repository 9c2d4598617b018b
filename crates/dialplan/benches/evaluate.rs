//! Evaluation cost per call: a 50-rule plan where the 50th rule matches (every earlier rule is
//! tried and rejected), a regex rule with captures, and the shipped default plan.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use sb_dialplan::{
    CallFacts, CompileOptions, ContextName, Dialplan, Source, SourceFile, TrunkName, UnixTime,
    compile,
};

/// 49 rules that do not match `5551234` (patterns, literals, regexes, conditions on the caller,
/// the source and the time), then a rule that does.
fn fifty_rules() -> String {
    let mut text = String::from("[[context]]\nname = \"bench\"\n");
    for i in 0..49 {
        let condition = match i % 7 {
            0 => format!("to = \"_{}XXX\"", i % 9 + 1),
            1 => format!("to = \"user{i}\""),
            2 => format!("to_regex = '\\+{i}(\\d+)'"),
            3 => format!("to = \"_[1-4]{i}.\""),
            4 => format!("from = \"_9{i}X\""),
            5 => format!("source = {{ trunk = \"t{i}\" }}"),
            _ => {
                "time = { days = \"sat,sun\", hours = \"22:00-06:00\", tz = \"+01:00\" }".to_owned()
            }
        };
        write!(
            text,
            "\n[[context.rule]]\nname = \"r{i}\"\n{condition}\nactions = [{{ ring_user = \"${{to}}\" }}]\n"
        )
        .expect("writing to a String");
    }
    text.push_str(
        "\n[[context.rule]]\nname = \"out\"\nto = \"_NXXXXXX\"\nactions = [{ set_caller_id = { number = \"+4930100\" } }, { prepend = \"+4930\" }, { trunk = { name = \"carrier1\", failover = [\"carrier2\"] } }]\n",
    );
    text
}

fn plan(name: &str, text: String) -> Dialplan {
    let options = CompileOptions {
        trunks: vec![
            TrunkName::from("carrier1"),
            TrunkName::from("carrier2"),
            TrunkName::from("default"),
        ],
    };
    compile(
        &[SourceFile {
            name: name.to_owned(),
            text,
        }],
        &options,
    )
    .expect("the bench plan compiles")
}

fn bench(c: &mut Criterion) {
    let fifty = plan("bench.toml", fifty_rules());
    assert_eq!(fifty.rule_count(), 50);
    let default = plan(
        "default.toml",
        include_str!("../../../dialplans/default.toml").to_owned(),
    );
    let regex = plan(
        "regex.toml",
        "[[context]]\nname = \"bench\"\n\n[[context.rule]]\nto_regex = '\\+(?<cc>1|33|49)(\\d+)'\nactions = [{ set_to = \"00${cc}${2}\" }, { trunk = \"carrier1\" }]\n".to_owned(),
    );
    let bench_context = ContextName::from("bench");
    let internal = ContextName::from("internal");
    let facts = |context, to| CallFacts {
        context,
        from_user: "alice",
        from_domain: "example.com",
        to,
        to_domain: "example.com",
        source: Source::User {
            name: "alice",
            groups: &[],
        },
        at: UnixTime::from_secs(1_736_157_600),
    };

    let last = facts(&bench_context, "5551234");
    assert_eq!(
        fifty.evaluate(&last).trace[0]
            .rule
            .name
            .as_ref()
            .map(|n| n.as_str()),
        Some("out")
    );
    c.bench_function("evaluate/50 rules, last matches", |b| {
        b.iter(|| fifty.evaluate(black_box(&last)));
    });
    let none = facts(&bench_context, "x");
    c.bench_function("evaluate/50 rules, none matches", |b| {
        b.iter(|| fifty.evaluate(black_box(&none)));
    });
    let e164 = facts(&bench_context, "+4930123456");
    c.bench_function("evaluate/regex with captures", |b| {
        b.iter(|| regex.evaluate(black_box(&e164)));
    });
    let extension = facts(&internal, "1001");
    c.bench_function("evaluate/default plan, extension", |b| {
        b.iter(|| default.evaluate(black_box(&extension)));
    });
    let outbound = facts(&internal, "95551234");
    c.bench_function("evaluate/default plan, trunk", |b| {
        b.iter(|| default.evaluate(black_box(&outbound)));
    });
    let source = SourceFile {
        name: "bench.toml".to_owned(),
        text: fifty_rules(),
    };
    let options = CompileOptions {
        trunks: vec![TrunkName::from("carrier1"), TrunkName::from("carrier2")],
    };
    c.bench_function("compile/50 rules", |b| {
        b.iter(|| compile(black_box(std::slice::from_ref(&source)), &options));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
