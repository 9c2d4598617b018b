//! Broken dialplans: every problem is reported, each at the exact file:line:column.

use sb_dialplan::{
    CompileOptions, Diagnostic, DialplanError, Severity, SourceFile, TrunkName, compile,
};

fn options() -> CompileOptions {
    CompileOptions {
        trunks: vec![TrunkName::from("carrier1")],
    }
}

fn file(name: &str, text: &str) -> SourceFile {
    SourceFile {
        name: name.to_owned(),
        text: text.to_owned(),
    }
}

/// Compiles and renders every diagnostic (`file:line:col: severity: message`).
fn rendered(sources: &[SourceFile]) -> Vec<String> {
    match compile(sources, &options()) {
        Ok(plan) => panic!(
            "expected errors, got a plan with warnings {:?}",
            plan.warnings()
        ),
        Err(diagnostics) => diagnostics.iter().map(Diagnostic::to_string).collect(),
    }
}

const UNKNOWN_THINGS: &str = r#"[[context]]
name = "internal"
include = ["missing", "local"]

[[context.rule]]
name = "bad pattern"
to = "_1[23"
tos = "x"
actions = [{ ring_user = "${to}" }]

[[context.rule]]
to_regex = '\+(\d+'
actions = [{ ring_usr = "x" }]

[[context.rule]]
to = "_9."
actions = [{ reject = 200 }, { goto = "nowhere" }]

[[context]]
name = "local"

[[context.rule]]
to = "_X."
actions = [{ set_header = { name = "Call-ID", value = "x" } }, { trunk = "carrier9" }]

[[context]]
name = "internal"
"#;

const FLOW_AND_VALUES: &str = r#"[[context]]
name = "a"
include = ["b"]

[[context]]
name = "b"
include = ["a"]

[[context.rule]]
to = "_X."
time = { days = "mon-fry", hours = "9:00-17:00", tz = "Europe/Paris" }
actions = [{ ring_user = "\u00e9${nope}" }]

[[context.rule]]
to_regex = '(\d)(\d)'
actions = [{ ring_user = "${3}" }, "echo", { strip = 1 }]

[[context.rule]]
name = "loop"
actions = [{ goto = "b" }]

[[context.rule]]
from = 5
source = { user = "alice", trunk = "t" }
actions = [{ set_caller_id = { number = "1" } }]

[[context.rule]]
to = "x"
actions = [{ ring_user = "x" }, { set_caller_id = { name = "late" } }]

[[context.rule]]
to = "y"
"#;

const INLINE_RULES: &str = r#"title = "x"

[[context]]
include = ["a"]

[[context]]
name = "bad name"

[[context]]
name = "c"
rule = [
  { to = "1", to_regex = "1", actions = ["echo"] },
  { to_regex = '(?<to>\d+)', actions = ["echo"] },
  { actions = [{ strip = 0 }, { prepend = "" }, { goto = "c" }] },
  { actions = [{ ring_group = { users = ["a"], strategy = "random" } }] },
  { actions = [{ tone = { frequency = 30000, duration = "forever" } }] },
  { actions = [{ set_header = { name = "X Bad", value = "1" } }, "echo"] },
  { actions = [{ reject = { code = 486, reason = "a\nb" } }] },
  { actions = [{ ring_user = { user = "a", timeout = "0s" } }] },
  { actions = [{ ring_user = "a", timeout = "5s" }] },
  { actions = ["ring_user"] },
  { actions = [] },
  { actions = [{ trunk = { name = "carrier1", failover = ["carrier1"] } }] },
  { time = [], actions = ["echo"] },
  { time = { tz = "UTC" }, actions = ["echo"] },
  { to = "_9.1", from_regex = "a{2,1}", actions = ["echo"] },
  { to = "_1", actions = [{ prepend = """
  ab${x}""" }] },
]
"#;

#[test]
fn unknown_names_keys_and_values() {
    assert_eq!(
        rendered(&[file("bad.toml", UNKNOWN_THINGS)]),
        [
            "bad.toml:3:12: error: unknown context `missing`",
            "bad.toml:7:9: error: bad pattern `_1[23`: `[` without a closing `]`",
            "bad.toml:8:1: error: unknown key `tos` in rule; expected one of: name, to, to_regex, from, from_regex, source, time, if_trunk_configured, media, actions",
            "bad.toml:12:15: error: bad regular expression: unclosed group",
            "bad.toml:13:14: error: unknown action `ring_usr`; expected one of: ring_user, ring_group, trunk, reject, set_caller_id, set_header, strip, prepend, set_to, goto, echo, tone",
            "bad.toml:17:23: error: SIP status 200 cannot reject a call; use a code from 400 to 699",
            "bad.toml:17:39: error: unknown context `nowhere`",
            "bad.toml:24:36: error: header `Call-ID` is managed by the switch and cannot be set by the dialplan",
            "bad.toml:24:74: error: trunk `carrier9` is not configured; guard the rule with `if_trunk_configured = \"carrier9\"` if it is optional",
            "bad.toml:27:8: error: duplicate context `internal`; first defined at bad.toml:2:8",
        ]
    );
}

#[test]
fn cycles_flow_and_time_windows() {
    assert_eq!(
        rendered(&[file("flow.toml", FLOW_AND_VALUES)]),
        [
            "flow.toml:7:12: error: include cycle: a → b → a",
            "flow.toml:11:17: error: bad time window `days`: `fry` is not a day (mon, tue, wed, thu, fri, sat, sun)",
            "flow.toml:11:36: error: bad time window `hours`: `9:00` is not a time of day (HH:MM)",
            "flow.toml:11:55: error: bad time window `tz`: `Europe/Paris` is not a fixed UTC offset (write `UTC`, `+01:00` or `-05:00`; named time zones are not supported)",
            // The column counts `\u00e9` as written (6 characters) before `${nope}`.
            "flow.toml:12:33: error: bad variable: unknown variable `${nope}`; known: to, from, to_domain, from_domain, regex group numbers and names",
            "flow.toml:16:27: error: bad variable: `${3}` refers to group 3, but the regex has 2 group(s)",
            "flow.toml:16:44: error: `strip` is never run: it follows `echo`, which ends the rule",
            "flow.toml:20:21: error: `goto b` re-enters the rule's own context without changing the number; the same rule would match forever",
            "flow.toml:23:8: error: `from` must be a string or an array of strings, found integer",
            "flow.toml:24:10: error: bad `source`: give exactly one of `user`, `group`, `trunk`",
            "flow.toml:25:11: error: the rule has no action that routes the call (ring_user, ring_group, trunk, reject, echo, tone or goto)",
            "flow.toml:29:33: error: `set_caller_id` after `ring_user` would change a call that is already being routed; move it before the first routing action",
            "flow.toml:31:1: error: missing key `actions` in rule",
        ]
    );
}

#[test]
fn inline_rules_and_value_checks() {
    assert_eq!(
        rendered(&[file("inline.toml", INLINE_RULES)]),
        [
            "inline.toml:1:1: error: unknown key `title` in the file; expected one of: context ([[context]] tables)",
            "inline.toml:3:1: error: missing key `name` in context",
            "inline.toml:7:8: error: bad `name`: `bad name` is not a context name (letters, digits, `_`, `-`, `.`)",
            "inline.toml:12:26: error: bad `to_regex`: a rule has either `to` or `to_regex`, not both",
            "inline.toml:13:16: error: bad regular expression: group name `to` is already a variable; rename the group",
            "inline.toml:14:26: error: bad `strip`: strip between 1 and 64 leading characters",
            "inline.toml:14:43: error: bad `prepend`: must not be empty",
            "inline.toml:15:59: error: bad `strategy`: `random` is not `parallel` or `sequential`",
            "inline.toml:16:39: error: bad `frequency`: a frequency from 1 to 20000 Hz",
            "inline.toml:16:57: error: bad `duration`: `forever` is not a duration like \"30s\" or \"500ms\" (expected number at 0)",
            "inline.toml:17:40: error: bad `name`: `X Bad` is not a header name",
            "inline.toml:18:50: error: bad `reason`: a reason phrase is non-empty text on one line",
            "inline.toml:19:54: error: bad `timeout`: the duration must not be zero",
            "inline.toml:20:16: error: bad `actions`: each action is \"echo\" or a table with exactly one key, like { ring_user = \"alice\" }",
            "inline.toml:21:16: error: bad `ring_user`: `ring_user` needs a value: write { ring_user = … }",
            "inline.toml:22:15: error: bad `actions`: the list is empty",
            "inline.toml:23:59: error: bad `failover`: trunk `carrier1` is listed twice",
            "inline.toml:24:12: error: `time` must be a table or a non-empty array of tables, found array",
            "inline.toml:25:12: error: bad `time`: give at least one of `days`, `hours`, `dates`",
            "inline.toml:26:14: error: bad pattern `_9.1`: `.` and `!` must end the pattern",
            "inline.toml:26:33: error: bad regular expression: invalid repetition count range, the start must be <= the end",
            // Inside a multi-line string: the newline after `"""` is not part of the value.
            "inline.toml:28:5: error: bad variable: unknown variable `${x}`; known: to, from, to_domain, from_domain, regex group numbers and names",
        ]
    );
}

#[test]
fn toml_syntax_errors_are_placed() {
    let cases: &[(&str, &str)] = &[
        (
            "[[context]]\nname = \"x\"\n[[context.rule]\nto = 1\n",
            "syntax.toml:3:16: error: TOML syntax: unclosed array table, expected `]`",
        ),
        (
            "[[context]]\nname = \"x\"\nname = \"y\"\n",
            "syntax.toml:3:1: error: TOML syntax: duplicate key",
        ),
        (
            "[[context]]\nname = x\n",
            "syntax.toml:2:8: error: TOML syntax: string values must be quoted, expected literal string",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            rendered(&[file("syntax.toml", text)]),
            [*expected],
            "{text}"
        );
    }
}

#[test]
fn errors_across_files_are_sorted_by_file_then_position() {
    let first = file(
        "dialplans/a.toml",
        "[[context]]\nname = \"a\"\n\n[[context.rule]]\nactions = [{ goto = \"c\" }]\n",
    );
    let second = file(
        "dialplans/b.toml",
        "[[context]]\nname = \"b\"\ninclude = [\"a\", \"zz\"]\n\n[[context]]\nname = \"a\"\n",
    );
    assert_eq!(
        rendered(&[first, second]),
        [
            "dialplans/a.toml:5:21: error: unknown context `c`",
            "dialplans/b.toml:3:17: error: unknown context `zz`",
            "dialplans/b.toml:6:8: error: duplicate context `a`; first defined at dialplans/a.toml:2:8",
        ]
    );
}

#[test]
fn diagnostics_carry_structured_errors() {
    let text = "[[context]]\nname = \"a\"\n\n[[context.rule]]\nactions = [{ reject = 99 }]\n";
    let errors = compile(&[file("x.toml", text)], &options()).expect_err("bad code");
    assert_eq!(
        errors,
        [Diagnostic {
            file: "x.toml".to_owned(),
            line: 5,
            column: 23,
            severity: Severity::Error,
            error: DialplanError::BadStatusCode { code: 99 },
        }]
    );
}

#[test]
fn warnings_do_not_stop_compilation() {
    let text = r#"[[context]]
name = "a"

[[context.rule]]
to = "_9."
if_trunk_configured = ["carrier1", "carrier2"]
actions = [{ strip = 1 }, { trunk = { name = "carrier1", failover = ["carrier2"] } }]

[[context.rule]]
to = "_1"
actions = [{ goto = "b" }]

[[context]]
name = "b"

[[context.rule]]
to = "_1"
actions = [{ goto = "a" }]
"#;
    let plan = compile(&[file("w.toml", text)], &options()).expect("warnings only");
    let warnings: Vec<String> = plan.warnings().iter().map(Diagnostic::to_string).collect();
    assert_eq!(
        warnings,
        [
            "w.toml:6:36: warning: rule disabled: trunk `carrier2` is not configured",
            "w.toml:11:21: warning: `goto` may loop (a → b → a) without changing the number; such a call is refused after 16 jumps",
        ]
    );
    assert!(
        plan.warnings()
            .iter()
            .all(|w| w.severity == Severity::Warning)
    );
}

#[test]
fn damaged_files_never_panic() {
    let original = include_str!("../../../dialplans/default.toml");
    let replacements = ['"', '[', ']', '{', '}', '=', '\\', '$', '\n', 'é'];
    let mut errors = 0;
    for (n, (i, _)) in original.char_indices().enumerate() {
        let mut damaged = original.to_owned();
        damaged.replace_range(
            i..i + original[i..].chars().next().map_or(0, char::len_utf8),
            "",
        );
        damaged.insert(i, replacements[n % replacements.len()]);
        for text in [&damaged[..], &original[..i]] {
            if compile(&[file("damaged.toml", text)], &options()).is_err() {
                errors += 1;
            }
        }
    }
    // Most damage is detected; comments and some values absorb the rest.
    assert!(errors > original.len() / 2, "{errors}");
}

#[test]
fn goto_back_into_an_including_context_is_a_warning() {
    let text = r#"[[context]]
name = "main"
include = ["shared"]

[[context]]
name = "shared"

[[context.rule]]
to = "_X."
actions = [{ set_caller_id = { name = "x" } }, { goto = "main" }]
"#;
    let plan = compile(&[file("w.toml", text)], &options()).expect("warnings only");
    let warnings: Vec<String> = plan.warnings().iter().map(Diagnostic::to_string).collect();
    assert_eq!(
        warnings,
        [
            "w.toml:10:57: warning: `goto` may loop (main → main) without changing the number; such a call is refused after 16 jumps"
        ]
    );
    // With a rewrite before the jump there is nothing to warn about.
    let text = text.replace("{ goto", "{ strip = 1 }, { goto");
    let plan = compile(&[file("w.toml", &text)], &options()).expect("valid");
    assert!(plan.warnings().is_empty());
}
