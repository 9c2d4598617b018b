//! Fuzz target for the dialplan compiler and evaluator: TOML source → compiled plan →
//! [`RouteDecision`] (the format is documented in `dialplans/README.md`).
//!
//! Input: dialplan text; a line `#--- next file` starts a second file (contexts of all files
//! share one namespace). For any input:
//! - compiling never panics; every diagnostic (errors, and the warnings of a plan that
//!   compiles) names its file and a line and column inside that file's text, diagnostics come
//!   sorted by file and position, and they display without panicking;
//! - a compiled plan evaluates a fixed set of calls in every context without panicking, twice
//!   with the same result; a decision routes exactly when it has steps, follows at most
//!   [`MAX_JUMPS`] jumps, and puts no control characters into the number, caller id or added
//!   header lines (caller data cannot inject SIP header lines).
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz dialplan_compile -- -max_total_time=600`.
//! Seeds are in `corpus/dialplan_compile/seed-*`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use sb_dialplan::{
    CallFacts, CompileOptions, ContextName, Diagnostic, GroupName, MAX_JUMPS, Outcome,
    RouteDecision, Source, SourceFile, TrunkName, UnixTime, compile,
};

const SEPARATOR: &str = "\n#--- next file\n";

/// Called numbers: extensions, names, feature codes, E.164 and national numbers, empty, and
/// caller data that tries to break a header line.
const NUMBERS: [&str; 8] = [
    "100",
    "alice",
    "*43",
    "900441234567",
    "+4930123456",
    "",
    "1001\r\nX-Injected: 1",
    "b\u{e9}atrice",
];

fn check_positions(sources: &[SourceFile], diagnostics: &[Diagnostic]) {
    let mut previous: Option<(usize, u32, u32)> = None;
    for d in diagnostics {
        let _ = d.to_string();
        let file = sources
            .iter()
            .position(|s| s.name == d.file)
            .unwrap_or_else(|| panic!("diagnostic names an unknown file: {d}"));
        let text = &sources[file].text;
        let lines: Vec<&str> = text.split('\n').collect();
        assert!(d.line >= 1 && d.column >= 1, "position not 1-based: {d}");
        let line = lines
            .get(d.line as usize - 1)
            .unwrap_or_else(|| panic!("line beyond the end of the file: {d}"));
        assert!(
            d.column as usize <= line.chars().count() + 1,
            "column beyond the end of the line: {d}"
        );
        let here = (file, d.line, d.column);
        if let Some(before) = previous {
            assert!(before <= here, "diagnostics out of order at {d}");
        }
        previous = Some(here);
    }
}

fn clean(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

fn check_decision(d: &RouteDecision) {
    let _ = d.to_string();
    assert_eq!(
        d.outcome == Outcome::Route,
        !d.steps.is_empty(),
        "outcome {:?} with {} steps",
        d.outcome,
        d.steps.len()
    );
    assert!(
        d.trace.len() <= MAX_JUMPS + 1,
        "{} rules in the trace",
        d.trace.len()
    );
    assert!(
        clean(&d.number),
        "control characters in the number {:?}",
        d.number
    );
    for h in &d.headers {
        assert!(
            clean(h.name.as_str()) && clean(&h.value),
            "control characters in a header line {:?}: {:?}",
            h.name,
            h.value
        );
    }
    for v in [&d.caller_id.name, &d.caller_id.number]
        .into_iter()
        .flatten()
    {
        assert!(clean(v), "control characters in the caller id {v:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sources: Vec<SourceFile> = text
        .splitn(2, SEPARATOR)
        .enumerate()
        .map(|(i, part)| SourceFile {
            name: format!("plan{i}.toml"),
            text: part.to_owned(),
        })
        .collect();
    let options = CompileOptions {
        trunks: vec![TrunkName::from("default"), TrunkName::from("carrier1")],
    };
    let plan = match compile(&sources, &options) {
        Ok(plan) => plan,
        Err(errors) => {
            assert!(
                !errors.is_empty(),
                "compilation failed without a diagnostic"
            );
            check_positions(&sources, &errors);
            return;
        }
    };
    check_positions(&sources, plan.warnings());

    let groups = [GroupName::from("sales")];
    let sources_of_calls = [
        Source::User {
            name: "alice",
            groups: &groups,
        },
        Source::Trunk { name: "carrier1" },
        Source::Unknown,
    ];
    // Monday 2025-01-06 10:00 UTC, Saturday 2025-01-11 23:30 UTC, and the extremes.
    let times = [1_736_157_600, 1_736_638_200, i64::MIN, i64::MAX];
    let mut contexts: Vec<ContextName> = plan.contexts().cloned().collect();
    contexts.push(ContextName::from("no-such-context"));
    for context in &contexts {
        for (i, to) in NUMBERS.iter().enumerate() {
            let facts = CallFacts {
                context,
                from_user: NUMBERS[(i + 1) % NUMBERS.len()],
                from_domain: "example.com",
                to,
                to_domain: "example.com",
                source: sources_of_calls[i % sources_of_calls.len()],
                at: UnixTime::from_secs(times[i % times.len()]),
            };
            let decision = plan.evaluate(&facts);
            check_decision(&decision);
            assert_eq!(
                plan.evaluate(&facts),
                decision,
                "evaluation is not deterministic"
            );
            if !plan.has_context(context.as_str()) {
                assert_eq!(decision.outcome, Outcome::UnknownContext);
            }
        }
    }
});
