//! The compiled dialplan: contexts with their rules flattened (own rules, then included
//! contexts), pre-compiled matchers, time windows and action templates.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use foldhash::fast::FixedState;

use crate::pattern::Matcher;
use crate::template::Template;
use crate::time::TimeWindow;
use crate::{
    CallFacts, ContextName, Diagnostic, GroupName, HeaderName, MediaMode, RingStrategy, RuleInfo,
    Source, TrunkName,
};

/// A condition on where the call comes from.
#[derive(Debug, Clone)]
pub(crate) enum SourceCond {
    /// Any authenticated user.
    AnyUser,
    /// Any trunk.
    AnyTrunk,
    /// Neither a user nor a trunk.
    Unknown,
    /// One of these users.
    Users(Box<[Box<str>]>),
    /// A user in one of these groups.
    Groups(Box<[GroupName]>),
    /// One of these trunks.
    Trunks(Box<[Box<str>]>),
}

impl SourceCond {
    fn matches(&self, source: &Source<'_>) -> bool {
        match (self, source) {
            (SourceCond::AnyUser, Source::User { .. })
            | (SourceCond::AnyTrunk, Source::Trunk { .. })
            | (SourceCond::Unknown, Source::Unknown) => true,
            (SourceCond::Users(list), Source::User { name, .. }) => {
                list.iter().any(|u| **u == **name)
            }
            (SourceCond::Groups(list), Source::User { groups, .. }) => {
                groups.iter().any(|g| list.contains(g))
            }
            (SourceCond::Trunks(list), Source::Trunk { name }) => {
                list.iter().any(|t| **t == **name)
            }
            _ => false,
        }
    }
}

/// A compiled action.
#[derive(Debug, Clone)]
pub(crate) enum Action {
    RingUser {
        user: Template,
        timeout: Option<Duration>,
    },
    RingGroup {
        users: Box<[Template]>,
        strategy: RingStrategy,
        timeout: Option<Duration>,
    },
    Trunk {
        trunks: Arc<[TrunkName]>,
    },
    Reject {
        code: u16,
        reason: Option<Arc<str>>,
    },
    SetCallerId {
        name: Option<Template>,
        number: Option<Template>,
    },
    SetHeader {
        name: HeaderName,
        value: Template,
    },
    Strip(usize),
    Prepend(Template),
    SetTo(Template),
    /// Index of the target context (resolved once every file is read).
    Goto(usize),
    Echo,
    Tone {
        frequency_hz: u32,
        duration: Duration,
    },
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    pub(crate) info: Arc<RuleInfo>,
    /// `false` when an `if_trunk_configured` trunk is not configured.
    pub(crate) enabled: bool,
    /// Any of these must match the dialed number (none: any number).
    pub(crate) to: Box<[Matcher]>,
    /// Any of these must match the caller's user part (none: any caller).
    pub(crate) from: Box<[Matcher]>,
    pub(crate) source: Option<SourceCond>,
    /// Any of these windows must contain the call's time (none: any time).
    pub(crate) time: Box<[TimeWindow]>,
    pub(crate) actions: Box<[Action]>,
    /// The rule's `media` option.
    pub(crate) media: Option<MediaMode>,
    /// Templates use groups of `to_regex` (then `to` holds exactly that regex).
    pub(crate) to_groups: bool,
    /// Templates use groups of `from_regex` (then `from` holds exactly that regex).
    pub(crate) from_groups: bool,
}

impl Rule {
    /// Whether the rule applies to the call, with `number` the dialed number as rewritten so far.
    pub(crate) fn matches(&self, facts: &CallFacts<'_>, number: &str) -> bool {
        self.enabled
            && self
                .source
                .as_ref()
                .is_none_or(|s| s.matches(&facts.source))
            && (self.to.is_empty() || self.to.iter().any(|m| m.matches(number)))
            && (self.from.is_empty() || self.from.iter().any(|m| m.matches(facts.from_user)))
            && (self.time.is_empty() || self.time.iter().any(|w| w.matches(facts.at)))
    }
}

/// A compiled context.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) name: ContextName,
    /// Indices into [`Dialplan::rules`]: the context's own rules in order, then those of each
    /// included context (depth first, each context once).
    pub(crate) rules: Box<[u32]>,
}

/// A compiled, immutable dialplan. Build one with [`compile`](crate::compile) and evaluate calls
/// with [`Dialplan::evaluate`]; it is `Send + Sync`, so one plan can be shared behind an `Arc`
/// and swapped whole on reload.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub(crate) contexts: Vec<Context>,
    pub(crate) index: HashMap<ContextName, usize, FixedState>,
    pub(crate) rules: Vec<Rule>,
    pub(crate) warnings: Vec<Diagnostic>,
}

impl Dialplan {
    /// Warnings found while compiling (rules disabled for lack of a trunk, possible `goto`
    /// loops), sorted by file and position.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// Whether a context of that name exists (check configured start contexts at start-up).
    pub fn has_context(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The contexts, in definition order.
    pub fn contexts(&self) -> impl Iterator<Item = &ContextName> {
        self.contexts.iter().map(|c| &c.name)
    }

    /// How many rules the plan defines (disabled ones included).
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }
}
