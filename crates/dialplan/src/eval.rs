//! The evaluator: pure, no I/O, no clock; patterns and regexes were compiled beforehand.

use regex::CaptureLocations;

use crate::decision::TraceEntry;
use crate::plan::{Action, Rule};
use crate::template::{Env, push_clean};
use crate::{
    CallerId, ContextName, Dialplan, DialplanError, ExtraHeader, GroupName, Outcome, RingStrategy,
    RingTarget, RouteDecision, Step, UnixTime, UserName,
};

/// The most `goto` jumps one evaluation follows before giving up with [`Outcome::JumpLimit`].
pub const MAX_JUMPS: usize = 16;

/// Where a call comes from, as established by the switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// An authenticated local user.
    User {
        /// The user name.
        name: &'a str,
        /// The groups the user belongs to.
        groups: &'a [GroupName],
    },
    /// A configured trunk.
    Trunk {
        /// The trunk name.
        name: &'a str,
    },
    /// Anything else (e.g. an unauthenticated request that policy lets through).
    Unknown,
}

impl<'a> Source<'a> {
    /// Reads `user:NAME`, `trunk:NAME` or `unknown` (e.g. for `switchboard dialplan test
    /// --source`); a user read this way belongs to no group.
    pub fn parse(text: &'a str) -> Result<Source<'a>, DialplanError> {
        let bad = |reason: &str| DialplanError::BadValue {
            key: "source".to_owned(),
            reason: format!("`{text}`: {reason}"),
        };
        match text.split_once(':') {
            _ if text == "unknown" => Ok(Source::Unknown),
            Some(("user", name)) if !name.is_empty() => Ok(Source::User { name, groups: &[] }),
            Some(("trunk", name)) if !name.is_empty() => Ok(Source::Trunk { name }),
            _ => Err(bad("write user:NAME, trunk:NAME or unknown")),
        }
    }
}

/// What the evaluator knows about a call. Everything is borrowed from the caller; nothing is
/// looked up.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    /// The context to start in (chosen by the switch from the source, e.g. `internal` for users).
    pub context: &'a ContextName,
    /// The caller's user part (From URI).
    pub from_user: &'a str,
    /// The caller's domain (From URI).
    pub from_domain: &'a str,
    /// The dialed user part / number (Request-URI).
    pub to: &'a str,
    /// The dialed domain (Request-URI).
    pub to_domain: &'a str,
    /// Where the call comes from.
    pub source: Source<'a>,
    /// When the call arrives (for time windows).
    pub at: UnixTime,
}

/// Groups captured by the matched rule's regexes.
struct Groups {
    to: Option<(String, CaptureLocations)>,
    from: Option<CaptureLocations>,
}

impl Dialplan {
    /// Decides how to route a call. Never fails: a call nothing matches gets
    /// [`Outcome::NoRoute`].
    pub fn evaluate(&self, facts: &CallFacts<'_>) -> RouteDecision {
        let mut decision = RouteDecision {
            outcome: Outcome::NoRoute,
            steps: Vec::new(),
            caller_id: CallerId::default(),
            headers: Vec::new(),
            media: None,
            number: String::with_capacity(facts.to.len() + 16),
            start: facts.context.clone(),
            trace: Vec::new(),
        };
        push_clean(&mut decision.number, facts.to);
        let Some(&start) = self.index.get(facts.context.as_str()) else {
            decision.outcome = Outcome::UnknownContext;
            return decision;
        };
        let mut context = start;
        let mut jumps = 0;
        loop {
            let found = self.contexts[context]
                .rules
                .iter()
                .map(|&i| &self.rules[i as usize])
                .find(|rule| rule.matches(facts, &decision.number));
            let Some(rule) = found else {
                decision.outcome = if decision.steps.is_empty() {
                    Outcome::NoRoute
                } else {
                    Outcome::Route
                };
                return decision;
            };
            decision.trace.push(TraceEntry {
                context: self.contexts[context].name.clone(),
                rule: rule.info.clone(),
            });
            if rule.media.is_some() {
                decision.media = rule.media;
            }
            match run(rule, facts, &mut decision) {
                None => {
                    decision.outcome = Outcome::Route;
                    return decision;
                }
                Some(next) => {
                    jumps += 1;
                    if jumps > MAX_JUMPS {
                        decision.outcome = Outcome::JumpLimit;
                        decision.steps.clear();
                        return decision;
                    }
                    context = next;
                }
            }
        }
    }
}

fn groups(rule: &Rule, facts: &CallFacts<'_>, number: &str) -> Groups {
    let to = rule
        .to_groups
        .then(|| rule.to.first().and_then(|m| m.regex()))
        .flatten()
        .map(|re| {
            let mut locations = re.capture_locations();
            re.captures_read(&mut locations, number);
            (number.to_owned(), locations)
        });
    let from = rule
        .from_groups
        .then(|| rule.from.first().and_then(|m| m.regex()))
        .flatten()
        .map(|re| {
            let mut locations = re.capture_locations();
            re.captures_read(&mut locations, facts.from_user);
            locations
        });
    Groups { to, from }
}

fn env<'e>(number: &'e str, facts: &'e CallFacts<'_>, groups: &'e Groups) -> Env<'e> {
    Env {
        number,
        from: facts.from_user,
        to_domain: facts.to_domain,
        from_domain: facts.from_domain,
        to_groups: groups.to.as_ref().map(|(s, l)| (s.as_str(), l)),
        from_groups: groups.from.as_ref().map(|l| (facts.from_user, l)),
    }
}

fn user_target(rendered: String) -> RingTarget {
    match rendered.split_once('@') {
        Some((user, domain)) => RingTarget::User {
            user: UserName::from(user),
            domain: (!domain.is_empty()).then(|| domain.to_owned()),
        },
        None => RingTarget::User {
            user: UserName::from(rendered),
            domain: None,
        },
    }
}

/// Runs the rule's actions; returns the context to jump to on `goto`.
fn run(rule: &Rule, facts: &CallFacts<'_>, d: &mut RouteDecision) -> Option<usize> {
    let groups = groups(rule, facts, &d.number);
    for action in &*rule.actions {
        match action {
            Action::RingUser { user, timeout } => {
                let user = user.render(&env(&d.number, facts, &groups));
                d.steps.push(Step::Ring {
                    targets: vec![user_target(user)],
                    strategy: RingStrategy::Parallel,
                    timeout: *timeout,
                });
            }
            Action::RingGroup {
                users,
                strategy,
                timeout,
            } => {
                let env = env(&d.number, facts, &groups);
                let targets = users.iter().map(|u| user_target(u.render(&env))).collect();
                d.steps.push(Step::Ring {
                    targets,
                    strategy: *strategy,
                    timeout: *timeout,
                });
            }
            Action::Trunk { trunks } => d.steps.push(Step::Trunk {
                trunks: trunks.clone(),
                number: d.number.clone(),
            }),
            Action::Reject { code, reason } => d.steps.push(Step::Reject {
                code: *code,
                reason: reason.clone(),
            }),
            Action::Echo => d.steps.push(Step::Echo),
            Action::Tone {
                frequency_hz,
                duration,
            } => d.steps.push(Step::Tone {
                frequency_hz: *frequency_hz,
                duration: *duration,
            }),
            Action::SetCallerId { name, number } => {
                let env = env(&d.number, facts, &groups);
                if let Some(name) = name {
                    d.caller_id.name = Some(name.render(&env));
                }
                if let Some(number) = number {
                    d.caller_id.number = Some(number.render(&env));
                }
            }
            Action::SetHeader { name, value } => {
                let value = value.render(&env(&d.number, facts, &groups));
                match d
                    .headers
                    .iter_mut()
                    .find(|h| h.name.as_str().eq_ignore_ascii_case(name.as_str()))
                {
                    Some(existing) => existing.value = value,
                    None => d.headers.push(ExtraHeader {
                        name: name.clone(),
                        value,
                    }),
                }
            }
            Action::Strip(n) => {
                let cut = d
                    .number
                    .char_indices()
                    .nth(*n)
                    .map_or(d.number.len(), |(i, _)| i);
                d.number.replace_range(..cut, "");
            }
            Action::Prepend(prefix) => {
                let mut number = String::with_capacity(d.number.len() + 16);
                prefix.render_into(&env(&d.number, facts, &groups), &mut number);
                number.push_str(&d.number);
                d.number = number;
            }
            Action::SetTo(value) => {
                d.number = value.render(&env(&d.number, facts, &groups));
            }
            Action::Goto(context) => return Some(*context),
        }
    }
    None
}
