//! Compiling one `[[context.rule]]` table: conditions, actions and the checks that span actions.

use std::sync::Arc;

use regex::Regex;
use toml::de::{DeTable, DeValue};

use super::action::{Compiled, Kind, compile_action};
use crate::names::is_plain_name;
use crate::pattern::{Matcher, compile_pattern, compile_regex};
use crate::plan::{Rule, SourceCond};
use crate::syntax::{Sink, Value, get};
use crate::template::Captures;
use crate::time::{TimeWindow, parse_dates, parse_days, parse_hours, parse_tz};
use crate::{CompileOptions, ContextName, DialplanError, GroupName, MediaMode, RuleInfo, RuleName};

const RULE_KEYS: &[&str] = &[
    "name",
    "to",
    "to_regex",
    "from",
    "from_regex",
    "source",
    "time",
    "if_trunk_configured",
    "media",
    "actions",
];
const RULE_EXPECTED: &str =
    "name, to, to_regex, from, from_regex, source, time, if_trunk_configured, media, actions";

/// A `goto` found in a rule, resolved once every file is read.
#[derive(Debug)]
pub(crate) struct GotoSite {
    /// Index of the action in the rule.
    pub(crate) action: usize,
    /// The target as written.
    pub(crate) name: String,
    /// Where the target is written.
    pub(crate) offset: usize,
    /// Whether an action before it rewrites the dialed number.
    pub(crate) rewrites: bool,
}

/// A compiled rule and its unresolved `goto`, if any.
#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub(crate) rule: Rule,
    pub(crate) goto: Option<GotoSite>,
}

/// The outcome of compiling a rule: the rule when it has no error, and every context name its
/// `goto`s mention (checked even when the rule has errors, so all problems are reported).
#[derive(Debug)]
pub(crate) struct RuleOutput {
    pub(crate) compiled: Option<CompiledRule>,
    pub(crate) goto_names: Vec<(String, usize)>,
}

/// Compiles a rule of `context`; `header` is where the rule's table starts.
pub(crate) fn compile_rule(
    sink: &mut Sink<'_>,
    file: &Arc<str>,
    context: &ContextName,
    table: &DeTable<'_>,
    header: usize,
    options: &CompileOptions,
) -> RuleOutput {
    let mut goto_names = Vec::new();
    let compiled = compile_rule_inner(sink, file, context, table, header, options, &mut goto_names);
    RuleOutput {
        compiled,
        goto_names,
    }
}

fn compile_rule_inner(
    sink: &mut Sink<'_>,
    file: &Arc<str>,
    context: &ContextName,
    table: &DeTable<'_>,
    header: usize,
    options: &CompileOptions,
    goto_names: &mut Vec<(String, usize)>,
) -> Option<CompiledRule> {
    let errors_before = sink.errors();
    sink.check_keys(table, RULE_KEYS, "rule", RULE_EXPECTED);
    let name = get(table, "name").and_then(|v| match sink.string("name", v) {
        Some("") => {
            sink.error(
                v.span().start,
                DialplanError::BadValue {
                    key: "name".to_owned(),
                    reason: "must not be empty".to_owned(),
                },
            );
            None
        }
        Some(n) => Some(RuleName::from(n)),
        None => None,
    });
    let to = matchers(sink, table, "to", "to_regex");
    let from = matchers(sink, table, "from", "from_regex");
    let to_regex = to
        .first()
        .and_then(Matcher::regex)
        .filter(|_| get(table, "to_regex").is_some());
    let from_regex = from
        .first()
        .and_then(Matcher::regex)
        .filter(|_| get(table, "from_regex").is_some());
    check_group_names(sink, table, to_regex, from_regex);
    let source = get(table, "source").and_then(|v| source_condition(sink, v));
    let time = get(table, "time").map_or_else(Vec::new, |v| time_windows(sink, v));
    let media = get(table, "media").and_then(|v| media_mode(sink, v));
    let guard =
        get(table, "if_trunk_configured").and_then(|v| sink.strings("if_trunk_configured", v));
    let mut enabled = true;
    for (trunk, span) in guard.iter().flatten() {
        if !is_plain_name(trunk) {
            sink.error(
                span.start,
                DialplanError::BadValue {
                    key: "if_trunk_configured".to_owned(),
                    reason: format!("`{trunk}` is not a trunk name"),
                },
            );
        } else if !options.trunks.iter().any(|t| t.as_str() == *trunk) {
            enabled = false;
            sink.warning(
                span.start,
                DialplanError::RuleDisabled {
                    name: (*trunk).to_owned(),
                },
            );
        }
    }

    let captures = Captures {
        to: to_regex,
        from: from_regex,
    };
    let Some(actions_value) = get(table, "actions") else {
        sink.error(
            header,
            DialplanError::MissingKey {
                key: "actions",
                place: "rule",
            },
        );
        return None;
    };
    let (compiled, complete) = compile_actions(sink, actions_value, captures);
    goto_names.extend(compiled.iter().filter_map(|c| c.goto.clone()));
    let goto = check_flow(sink, &compiled, complete, actions_value, context);
    for c in &compiled {
        for (trunk, span) in &c.trunks {
            let configured = options.trunks.iter().any(|t| t.as_str() == trunk);
            let guarded = guard.iter().flatten().any(|(g, _)| g == trunk);
            if !configured && !guarded {
                sink.error(
                    span.start,
                    DialplanError::UnknownTrunk {
                        name: trunk.clone(),
                    },
                );
            }
        }
    }
    if sink.errors() > errors_before {
        return None;
    }
    let (line, _) = sink.line_col(header);
    let to_groups = compiled_uses(&compiled, |t| t.uses_to_groups());
    let from_groups = compiled_uses(&compiled, |t| t.uses_from_groups());
    let rule = Rule {
        info: Arc::new(RuleInfo {
            context: context.clone(),
            name,
            file: file.clone(),
            line,
        }),
        enabled,
        to: to.into_boxed_slice(),
        from: from.into_boxed_slice(),
        source,
        time: time.into_boxed_slice(),
        actions: compiled.into_iter().map(|c| c.action).collect(),
        media,
        to_groups,
        from_groups,
    };
    Some(CompiledRule { rule, goto })
}

fn compiled_uses(compiled: &[Compiled], uses: impl Fn(&crate::template::Template) -> bool) -> bool {
    use crate::plan::Action;
    compiled.iter().any(|c| match &c.action {
        Action::RingUser { user, .. } => uses(user),
        Action::RingGroup { users, .. } => users.iter().any(&uses),
        Action::SetCallerId { name, number } => {
            name.as_ref().is_some_and(&uses) || number.as_ref().is_some_and(&uses)
        }
        Action::SetHeader { value, .. } => uses(value),
        Action::Prepend(t) | Action::SetTo(t) => uses(t),
        Action::Trunk { .. }
        | Action::Reject { .. }
        | Action::Strip(_)
        | Action::Goto(_)
        | Action::Echo
        | Action::Tone { .. } => false,
    })
}

/// Compiles `key` (patterns or literals) or `regex_key` (one regex); both is an error.
fn matchers(sink: &mut Sink<'_>, table: &DeTable<'_>, key: &str, regex_key: &str) -> Vec<Matcher> {
    let plain = get(table, key);
    let regex = get(table, regex_key);
    if let (Some(_), Some(r)) = (plain, regex) {
        sink.error(
            r.span().start,
            DialplanError::BadValue {
                key: regex_key.to_owned(),
                reason: format!("a rule has either `{key}` or `{regex_key}`, not both"),
            },
        );
        return Vec::new();
    }
    if let Some(v) = plain {
        let mut out = Vec::new();
        for (text, span) in sink.strings(key, v).unwrap_or_default() {
            match compile_pattern(text) {
                Ok(m) => out.push(m),
                Err(e) => sink.error_in_string(
                    &span,
                    e.offset,
                    DialplanError::BadPattern {
                        pattern: text.to_owned(),
                        reason: e.reason.to_owned(),
                    },
                ),
            }
        }
        return out;
    }
    if let Some(v) = regex {
        let Some(text) = sink.string(regex_key, v) else {
            return Vec::new();
        };
        match compile_regex(text) {
            Ok(r) => return vec![Matcher::Regex(r)],
            Err(e) => sink.error_in_string(
                &v.span(),
                e.offset.unwrap_or(0),
                DialplanError::BadRegex { reason: e.reason },
            ),
        }
    }
    Vec::new()
}

/// Named groups must not shadow the built-in variables nor appear in both regexes.
fn check_group_names(
    sink: &mut Sink<'_>,
    table: &DeTable<'_>,
    to: Option<&Regex>,
    from: Option<&Regex>,
) {
    const BUILTIN: [&str; 4] = ["to", "from", "to_domain", "from_domain"];
    for (key, regex) in [("to_regex", to), ("from_regex", from)] {
        let (Some(regex), Some(value)) = (regex, get(table, key)) else {
            continue;
        };
        for name in regex.capture_names().flatten() {
            let clash = BUILTIN.contains(&name)
                || (key == "from_regex"
                    && to.is_some_and(|t| t.capture_names().flatten().any(|n| n == name)));
            if clash {
                sink.error(
                    value.span().start,
                    DialplanError::BadRegex {
                        reason: format!(
                            "group name `{name}` is already a variable; rename the group"
                        ),
                    },
                );
            }
        }
    }
}

fn source_condition(sink: &mut Sink<'_>, value: &Value<'_>) -> Option<SourceCond> {
    match value.get_ref() {
        DeValue::String(s) => match s.as_ref() {
            "user" => Some(SourceCond::AnyUser),
            "trunk" => Some(SourceCond::AnyTrunk),
            "unknown" => Some(SourceCond::Unknown),
            other => {
                sink.error(
                    value.span().start,
                    DialplanError::BadValue {
                        key: "source".to_owned(),
                        reason: format!(
                            "`{other}` is not `user`, `trunk`, `unknown` or a table like {{ user = \"alice\" }}"
                        ),
                    },
                );
                None
            }
        },
        DeValue::Table(t) => {
            sink.check_keys(
                t,
                &["user", "group", "trunk"],
                "source",
                "user, group, trunk",
            );
            if t.len() != 1 {
                sink.error(
                    value.span().start,
                    DialplanError::BadValue {
                        key: "source".to_owned(),
                        reason: "give exactly one of `user`, `group`, `trunk`".to_owned(),
                    },
                );
                return None;
            }
            let (key, v) = t.iter().next().expect("the table has one entry");
            let names: Vec<&str> = sink
                .strings(key.get_ref(), v)?
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            match key.get_ref().as_ref() {
                "user" => Some(SourceCond::Users(
                    names.into_iter().map(Box::from).collect(),
                )),
                "group" => Some(SourceCond::Groups(
                    names.into_iter().map(GroupName::from).collect(),
                )),
                "trunk" => Some(SourceCond::Trunks(
                    names.into_iter().map(Box::from).collect(),
                )),
                _ => None,
            }
        }
        _ => {
            sink.error(
                value.span().start,
                DialplanError::WrongType {
                    key: "source".to_owned(),
                    expected: "a string or a table",
                    found: value.get_ref().type_str(),
                },
            );
            None
        }
    }
}

/// The rule's `media` option: `anchor` or `pass-through`.
fn media_mode(sink: &mut Sink<'_>, value: &Value<'_>) -> Option<MediaMode> {
    let text = sink.string("media", value)?;
    let mode = MediaMode::parse(text);
    if mode.is_none() {
        sink.error(
            value.span().start,
            DialplanError::BadValue {
                key: "media".to_owned(),
                reason: format!("`{text}` is not `anchor` or `pass-through`"),
            },
        );
    }
    mode
}

fn time_windows(sink: &mut Sink<'_>, value: &Value<'_>) -> Vec<TimeWindow> {
    match value.get_ref() {
        DeValue::Table(t) => time_window(sink, t, value.span().start)
            .into_iter()
            .collect(),
        DeValue::Array(items) if !items.is_empty() => items
            .iter()
            .filter_map(|item| {
                let t = sink.table("time", item)?;
                time_window(sink, t, item.span().start)
            })
            .collect(),
        _ => {
            sink.error(
                value.span().start,
                DialplanError::WrongType {
                    key: "time".to_owned(),
                    expected: "a table or a non-empty array of tables",
                    found: value.get_ref().type_str(),
                },
            );
            Vec::new()
        }
    }
}

fn time_window(sink: &mut Sink<'_>, t: &DeTable<'_>, at: usize) -> Option<TimeWindow> {
    sink.check_keys(
        t,
        &["days", "hours", "dates", "tz"],
        "time window",
        "days, hours, dates, tz",
    );
    if ["days", "hours", "dates"]
        .iter()
        .all(|k| get(t, k).is_none())
    {
        sink.error(
            at,
            DialplanError::BadValue {
                key: "time".to_owned(),
                reason: "give at least one of `days`, `hours`, `dates`".to_owned(),
            },
        );
        return None;
    }
    let mut ok = true;
    let days = time_part(sink, t, "days", parse_days, &mut ok);
    let hours = time_part(sink, t, "hours", parse_hours, &mut ok);
    let dates = time_part(sink, t, "dates", parse_dates, &mut ok);
    let offset = time_part(sink, t, "tz", parse_tz, &mut ok).unwrap_or(0);
    ok.then_some(TimeWindow {
        days,
        hours,
        dates,
        offset,
    })
}

fn time_part<T>(
    sink: &mut Sink<'_>,
    t: &DeTable<'_>,
    key: &'static str,
    parse: impl Fn(&str) -> Result<T, String>,
    ok: &mut bool,
) -> Option<T> {
    let value = get(t, key)?;
    let Some(text) = sink.string(key, value) else {
        *ok = false;
        return None;
    };
    match parse(text) {
        Ok(v) => Some(v),
        Err(reason) => {
            sink.error(value.span().start, DialplanError::BadTime { key, reason });
            *ok = false;
            None
        }
    }
}

/// Compiles every action; returns those that compiled and whether all did.
fn compile_actions(
    sink: &mut Sink<'_>,
    value: &Value<'_>,
    captures: Captures<'_>,
) -> (Vec<Compiled>, bool) {
    let Some(items) = sink.array("actions", value) else {
        return (Vec::new(), false);
    };
    if items.is_empty() {
        sink.error(
            value.span().start,
            DialplanError::BadValue {
                key: "actions".to_owned(),
                reason: "the list is empty".to_owned(),
            },
        );
        return (Vec::new(), false);
    }
    let compiled: Vec<Compiled> = items
        .iter()
        .filter_map(|item| compile_action(sink, item, captures))
        .collect();
    let complete = compiled.len() == items.len();
    (compiled, complete)
}

/// Checks the order of actions (`complete`: no action failed to compile); returns the rule's
/// `goto`.
fn check_flow(
    sink: &mut Sink<'_>,
    compiled: &[Compiled],
    complete: bool,
    actions: &Value<'_>,
    context: &ContextName,
) -> Option<GotoSite> {
    let mut first_step: Option<&'static str> = None;
    let mut ended_by: Option<&'static str> = None;
    let mut rewrites = false;
    let mut routes = false;
    let mut goto = None;
    for (i, c) in compiled.iter().enumerate() {
        if let Some(after) = ended_by {
            sink.error(
                c.offset,
                DialplanError::Unreachable {
                    action: c.name,
                    after,
                },
            );
            break;
        }
        match c.kind {
            Kind::Step | Kind::Final => {
                routes = true;
                first_step.get_or_insert(c.name);
                if c.kind == Kind::Final {
                    ended_by = Some(c.name);
                }
            }
            Kind::Goto => {
                routes = true;
                ended_by = Some(c.name);
                if let Some((name, offset)) = &c.goto {
                    if complete && !rewrites && name == context.as_str() {
                        sink.error(
                            *offset,
                            DialplanError::GotoLoop {
                                context: name.clone(),
                            },
                        );
                    }
                    goto = Some(GotoSite {
                        action: i,
                        name: name.clone(),
                        offset: *offset,
                        rewrites,
                    });
                }
            }
            Kind::Modifier => {
                if let Some(step) = first_step {
                    sink.error(
                        c.offset,
                        DialplanError::ModifierAfterStep {
                            action: c.name,
                            step,
                        },
                    );
                }
            }
            Kind::Rewrite => rewrites = true,
        }
    }
    if !routes && complete {
        sink.error(actions.span().start, DialplanError::NoRoutingAction);
    }
    goto
}
