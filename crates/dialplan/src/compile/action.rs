//! Compiling one entry of a rule's `actions` list.

use std::ops::Range;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::names::is_plain_name;
use crate::plan::Action;
use crate::syntax::{Sink, Value, get};
use crate::template::{Captures, Template};
use crate::{DialplanError, HeaderName, RingStrategy, TrunkName};

const ACTIONS: &str = "ring_user, ring_group, trunk, reject, set_caller_id, set_header, strip, prepend, set_to, goto, echo, tone";

/// What an action does to the flow of its rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Adds a routing step; later steps run if it fails.
    Step,
    /// Adds a step and ends the rule (`reject`, `echo`).
    Final,
    /// Ends the rule and continues in another context.
    Goto,
    /// Changes caller id or headers.
    Modifier,
    /// Changes the dialed number.
    Rewrite,
}

/// A compiled action with what the rule-level checks need to know.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) action: Action,
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// Where the action starts.
    pub(crate) offset: usize,
    /// For `goto`: the target name and where it is written.
    pub(crate) goto: Option<(String, usize)>,
    /// For `trunk`: every trunk named, with where it is written.
    pub(crate) trunks: Vec<(String, Range<usize>)>,
}

/// Headers that carry transaction, dialog, routing, authentication, body or negotiated-extension
/// state; only the switch writes them. Compact forms included (RFC 3261 §7.3.3).
const PROTECTED: &[&str] = &[
    "via",
    "v",
    "call-id",
    "i",
    "cseq",
    "from",
    "f",
    "to",
    "t",
    "contact",
    "m",
    "max-forwards",
    "content-length",
    "l",
    "content-type",
    "c",
    "content-encoding",
    "e",
    "route",
    "record-route",
    "authorization",
    "proxy-authorization",
    "www-authenticate",
    "proxy-authenticate",
    "require",
    "proxy-require",
    "supported",
    "k",
    "path",
    "rseq",
    "rack",
    "event",
    "o",
    "allow",
    "session-expires",
    "x",
    "min-se",
    "expires",
];

/// RFC 3261 §25.1 `token` characters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
                )
        })
}

/// Compiles one action value.
pub(crate) fn compile_action(
    sink: &mut Sink<'_>,
    value: &Value<'_>,
    captures: Captures<'_>,
) -> Option<Compiled> {
    let offset = value.span().start;
    let (name, arg) = match value.get_ref() {
        DeValue::String(s) if s == "echo" => {
            return Some(simple(Action::Echo, "echo", Kind::Final, offset));
        }
        DeValue::String(s) => {
            let error = match ACTIONS.split(", ").find(|a| *a == s.as_ref()) {
                Some(a) => DialplanError::BadValue {
                    key: a.to_owned(),
                    reason: format!("`{a}` needs a value: write {{ {a} = … }}"),
                },
                None => DialplanError::UnknownAction {
                    name: s.to_string(),
                    expected: ACTIONS,
                },
            };
            sink.error(offset, error);
            return None;
        }
        DeValue::Table(t) if t.len() == 1 => {
            let (k, v) = t.iter().next().expect("the table has one entry");
            (k, v)
        }
        _ => {
            sink.error(
                offset,
                DialplanError::BadValue {
                    key: "actions".to_owned(),
                    reason: "each action is \"echo\" or a table with exactly one key, like { ring_user = \"alice\" }".to_owned(),
                },
            );
            return None;
        }
    };
    let mut a = ActionCx {
        sink,
        captures,
        offset,
    };
    match name.get_ref().as_ref() {
        "ring_user" => a.ring_user(arg),
        "ring_group" => a.ring_group(arg),
        "trunk" => a.trunk(arg),
        "reject" => a.reject(arg),
        "set_caller_id" => a.set_caller_id(arg),
        "set_header" => a.set_header(arg),
        "strip" => a.strip(arg),
        "prepend" => {
            let t = a.template("prepend", arg, false)?;
            Some(simple(Action::Prepend(t), "prepend", Kind::Rewrite, offset))
        }
        "set_to" => {
            let t = a.template("set_to", arg, false)?;
            Some(simple(Action::SetTo(t), "set_to", Kind::Rewrite, offset))
        }
        "goto" => a.goto(arg),
        "tone" => a.tone(arg),
        "echo" => {
            a.sink.error(
                arg.span().start,
                DialplanError::BadValue {
                    key: "echo".to_owned(),
                    reason: "`echo` takes no value: write \"echo\" in the list".to_owned(),
                },
            );
            None
        }
        other => {
            a.sink.error(
                name.span().start,
                DialplanError::UnknownAction {
                    name: other.to_owned(),
                    expected: ACTIONS,
                },
            );
            None
        }
    }
}

fn simple(action: Action, name: &'static str, kind: Kind, offset: usize) -> Compiled {
    Compiled {
        action,
        name,
        kind,
        offset,
        goto: None,
        trunks: Vec::new(),
    }
}

struct ActionCx<'s, 'a, 'c> {
    sink: &'s mut Sink<'a>,
    captures: Captures<'c>,
    offset: usize,
}

impl ActionCx<'_, '_, '_> {
    fn bad(&mut self, key: &str, value: &Value<'_>, reason: impl Into<String>) {
        self.sink.error(
            value.span().start,
            DialplanError::BadValue {
                key: key.to_owned(),
                reason: reason.into(),
            },
        );
    }

    /// A table argument, its unknown keys reported.
    fn args<'v, 'i>(
        &mut self,
        action: &str,
        value: &'v Value<'i>,
        allowed: &[&str],
        expected: &'static str,
    ) -> Option<&'v DeTable<'i>> {
        let table = self.sink.table(action, value)?;
        self.sink.check_keys(table, allowed, "action", expected);
        Some(table)
    }

    fn required<'v, 'i>(
        &mut self,
        table: &'v DeTable<'i>,
        key: &'static str,
        value: &Value<'_>,
    ) -> Option<&'v Value<'i>> {
        let found = get(table, key);
        if found.is_none() {
            self.sink.error(
                value.span().start,
                DialplanError::MissingKey {
                    key,
                    place: "action",
                },
            );
        }
        found
    }

    fn template(&mut self, key: &str, value: &Value<'_>, allow_empty: bool) -> Option<Template> {
        let text = self.sink.string(key, value)?;
        if text.is_empty() && !allow_empty {
            self.bad(key, value, "must not be empty");
            return None;
        }
        match Template::parse(text, self.captures) {
            Ok(t) => Some(t),
            Err(e) => {
                self.sink.error_in_string(
                    &value.span(),
                    e.offset,
                    DialplanError::BadVariable { reason: e.reason },
                );
                None
            }
        }
    }

    fn timeout(&mut self, table: &DeTable<'_>) -> Option<Option<std::time::Duration>> {
        match get(table, "timeout") {
            Some(v) => self.sink.duration("timeout", v).map(Some),
            None => Some(None),
        }
    }

    fn ring_user(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let (user, timeout) = if let DeValue::String(_) = arg.get_ref() {
            (self.template("ring_user", arg, false)?, None)
        } else {
            let t = self.args("ring_user", arg, &["user", "timeout"], "user, timeout")?;
            let user = self.required(t, "user", arg)?;
            let user = self.template("user", user, false);
            let timeout = self.timeout(t);
            (user?, timeout?)
        };
        Some(simple(
            Action::RingUser { user, timeout },
            "ring_user",
            Kind::Step,
            self.offset,
        ))
    }

    fn ring_group(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let t = self.args(
            "ring_group",
            arg,
            &["users", "strategy", "timeout"],
            "users, strategy, timeout",
        )?;
        let users_value = self.required(t, "users", arg)?;
        let list = self.sink.strings("users", users_value)?;
        let mut users = Vec::with_capacity(list.len());
        let mut ok = true;
        for (text, span) in list {
            if text.is_empty() {
                self.sink.error(
                    span.start,
                    DialplanError::BadValue {
                        key: "users".to_owned(),
                        reason: "empty user name".to_owned(),
                    },
                );
                ok = false;
                continue;
            }
            match Template::parse(text, self.captures) {
                Ok(t) => users.push(t),
                Err(e) => {
                    self.sink.error_in_string(
                        &span,
                        e.offset,
                        DialplanError::BadVariable { reason: e.reason },
                    );
                    ok = false;
                }
            }
        }
        let strategy = match get(t, "strategy") {
            None => Some(RingStrategy::Parallel),
            Some(v) => match self.sink.string("strategy", v)? {
                "parallel" => Some(RingStrategy::Parallel),
                "sequential" => Some(RingStrategy::Sequential),
                other => {
                    let reason = format!("`{other}` is not `parallel` or `sequential`");
                    self.bad("strategy", v, reason);
                    None
                }
            },
        };
        let timeout = self.timeout(t);
        let (strategy, timeout) = (strategy?, timeout?);
        ok.then(|| {
            simple(
                Action::RingGroup {
                    users: users.into_boxed_slice(),
                    strategy,
                    timeout,
                },
                "ring_group",
                Kind::Step,
                self.offset,
            )
        })
    }

    fn trunk_name(&mut self, key: &str, value: &Value<'_>) -> Option<(String, Range<usize>)> {
        let name = self.sink.string(key, value)?;
        if !is_plain_name(name) {
            self.bad(
                key,
                value,
                format!("`{name}` is not a trunk name (letters, digits, `_`, `-`, `.`)"),
            );
            return None;
        }
        Some((name.to_owned(), value.span()))
    }

    fn trunk(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let mut names = Vec::new();
        if let DeValue::String(_) = arg.get_ref() {
            names.push(self.trunk_name("trunk", arg)?);
        } else {
            let t = self.args("trunk", arg, &["name", "failover"], "name, failover")?;
            let first = self.required(t, "name", arg)?;
            names.push(self.trunk_name("name", first)?);
            if let Some(failover) = get(t, "failover") {
                for item in self.sink.array("failover", failover)? {
                    names.push(self.trunk_name("failover", item)?);
                }
            }
        }
        for (i, (name, span)) in names.iter().enumerate() {
            if names[..i].iter().any(|(n, _)| n == name) {
                self.sink.error(
                    span.start,
                    DialplanError::BadValue {
                        key: "failover".to_owned(),
                        reason: format!("trunk `{name}` is listed twice"),
                    },
                );
                return None;
            }
        }
        let trunks: Arc<[TrunkName]> = names
            .iter()
            .map(|(n, _)| TrunkName::from(n.as_str()))
            .collect();
        Some(Compiled {
            trunks: names,
            ..simple(Action::Trunk { trunks }, "trunk", Kind::Step, self.offset)
        })
    }

    fn status_code(&mut self, value: &Value<'_>) -> Option<u16> {
        let code = self.sink.integer("code", value)?;
        match u16::try_from(code) {
            Ok(c) if (400..=699).contains(&c) => Some(c),
            _ => {
                self.sink
                    .error(value.span().start, DialplanError::BadStatusCode { code });
                None
            }
        }
    }

    fn reject(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let (code, reason) = if let DeValue::Integer(_) = arg.get_ref() {
            (self.status_code(arg)?, None)
        } else {
            let t = self.args("reject", arg, &["code", "reason"], "code, reason")?;
            let code = self.required(t, "code", arg)?;
            let code = self.status_code(code);
            let reason = match get(t, "reason") {
                None => Some(None),
                Some(v) => match self.sink.string("reason", v)? {
                    r if r.is_empty() || r.chars().any(|c| c.is_control()) => {
                        self.bad("reason", v, "a reason phrase is non-empty text on one line");
                        None
                    }
                    r => Some(Some(Arc::<str>::from(r))),
                },
            };
            (code?, reason?)
        };
        Some(simple(
            Action::Reject { code, reason },
            "reject",
            Kind::Final,
            self.offset,
        ))
    }

    fn set_caller_id(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let t = self.args("set_caller_id", arg, &["name", "number"], "name, number")?;
        if t.is_empty() {
            self.bad("set_caller_id", arg, "give `name`, `number` or both");
            return None;
        }
        let name = get(t, "name").map(|v| self.template("name", v, true));
        let number = get(t, "number").map(|v| self.template("number", v, false));
        let name = match name {
            Some(n) => Some(n?),
            None => None,
        };
        let number = match number {
            Some(n) => Some(n?),
            None => None,
        };
        Some(simple(
            Action::SetCallerId { name, number },
            "set_caller_id",
            Kind::Modifier,
            self.offset,
        ))
    }

    fn set_header(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let t = self.args("set_header", arg, &["name", "value"], "name, value")?;
        let name_value = self.required(t, "name", arg);
        let value = self.required(t, "value", arg);
        let name = match name_value {
            Some(v) => self.header_name(v),
            None => None,
        };
        let value = self.template("value", value?, true);
        Some(simple(
            Action::SetHeader {
                name: name?,
                value: value?,
            },
            "set_header",
            Kind::Modifier,
            self.offset,
        ))
    }

    fn header_name(&mut self, value: &Value<'_>) -> Option<HeaderName> {
        let name = self.sink.string("name", value)?;
        if !is_token(name) {
            self.bad("name", value, format!("`{name}` is not a header name"));
            return None;
        }
        if PROTECTED.iter().any(|p| p.eq_ignore_ascii_case(name)) {
            self.sink.error(
                value.span().start,
                DialplanError::ProtectedHeader {
                    name: name.to_owned(),
                },
            );
            return None;
        }
        Some(HeaderName::from(name))
    }

    fn strip(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let n = self.sink.integer("strip", arg)?;
        match usize::try_from(n) {
            Ok(n @ 1..=64) => Some(simple(
                Action::Strip(n),
                "strip",
                Kind::Rewrite,
                self.offset,
            )),
            _ => {
                self.bad("strip", arg, "strip between 1 and 64 leading characters");
                None
            }
        }
    }

    fn goto(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let name = self.sink.string("goto", arg)?;
        if !is_plain_name(name) {
            self.bad("goto", arg, format!("`{name}` is not a context name"));
            return None;
        }
        Some(Compiled {
            goto: Some((name.to_owned(), arg.span().start)),
            ..simple(Action::Goto(usize::MAX), "goto", Kind::Goto, self.offset)
        })
    }

    fn tone(&mut self, arg: &Value<'_>) -> Option<Compiled> {
        let t = self.args(
            "tone",
            arg,
            &["frequency", "duration"],
            "frequency, duration",
        )?;
        let frequency = self.required(t, "frequency", arg);
        let duration = self.required(t, "duration", arg);
        let frequency_hz = match frequency {
            Some(v) => match self.sink.integer("frequency", v) {
                Some(f @ 1..=20_000) => Some(f as u32),
                Some(_) => {
                    self.bad("frequency", v, "a frequency from 1 to 20000 Hz");
                    None
                }
                None => None,
            },
            None => None,
        };
        let duration = self.sink.duration("duration", duration?);
        Some(simple(
            Action::Tone {
                frequency_hz: frequency_hz?,
                duration: duration?,
            },
            "tone",
            Kind::Step,
            self.offset,
        ))
    }
}
