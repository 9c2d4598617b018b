//! What the evaluator decides: [`RouteDecision`], the steps the switch executes and the trace of
//! rules that led there.
//!
//! How the switch executes a decision:
//! - [`Outcome::Route`]: apply [`RouteDecision::caller_id`] and [`RouteDecision::headers`] to every
//!   outgoing leg, then run [`RouteDecision::steps`] in order. A [`Step::Ring`] or [`Step::Trunk`]
//!   that fails (no answer before its timeout, busy, unavailable, every trunk failed) moves on to
//!   the next step; [`Step::Tone`] plays and moves on (or, as the last step, answers, plays and
//!   hangs up); an answered leg, [`Step::Echo`] and [`Step::Reject`] end routing. When the last
//!   step fails, the caller gets that step's failure.
//! - Any other outcome: answer with [`Outcome::failure_status`] (404 when nothing matched).
//!
//! [`Step::Echo`] and [`Step::Tone`] are answered by the switch itself, with media from the
//! gateway: `Echo` answers (200) and loops the caller's audio back until the caller hangs up; a
//! `Tone` that is the last step answers, plays for its duration and hangs up; a `Tone` with steps
//! after it plays as early media (183 Session Progress) for its duration, then the next step runs.
//! Both need an SDP offer in the INVITE (an INVITE without one gets 488 Not Acceptable Here; a
//! tone before further steps is skipped instead).
//!
//! [`RouteDecision::media`] says whether the call's media goes through the gateway
//! ([`MediaMode::Anchor`]) or flows between the devices directly ([`MediaMode::PassThrough`]);
//! `None` leaves it to the switch's default. Echo and tone always use the gateway.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::{ContextName, HeaderName, RuleName, TrunkName, UserName};

/// How the targets of a [`Step::Ring`] are called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RingStrategy {
    /// All targets (and all their contacts) at once; the first to answer wins. The timeout
    /// bounds the whole step.
    Parallel,
    /// One target after another, in order; the timeout applies to each target.
    Sequential,
}

/// Someone to ring.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RingTarget {
    /// Every registered contact of a user.
    User {
        /// The user name.
        user: UserName,
        /// The user's domain when the dialplan named one (`alice@example.com`); `None` means the
        /// domain the call was addressed to ([`CallFacts::to_domain`](crate::CallFacts::to_domain)).
        domain: Option<String>,
    },
}

/// One step of a routing decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Ring users (`ring_user`, `ring_group`).
    Ring {
        /// Who to ring, in order.
        targets: Vec<RingTarget>,
        /// Together or one after another.
        strategy: RingStrategy,
        /// How long to ring (see [`RingStrategy`]); `None` means the switch's default.
        timeout: Option<Duration>,
    },
    /// Send the call to a trunk, then to each failover trunk in turn.
    Trunk {
        /// The trunk first, then its failover list.
        trunks: Arc<[TrunkName]>,
        /// The number to dial (the dialed number after `strip`/`prepend`/`set_to`).
        number: String,
    },
    /// Answer with a failure status; ends routing.
    Reject {
        /// A SIP status from 400 to 699.
        code: u16,
        /// The reason phrase, when the dialplan gave one.
        reason: Option<Arc<str>>,
    },
    /// Answer and echo the caller's media back (a test line); ends routing.
    Echo,
    /// Play a tone (a test line, an announcement): as the last step, answer, play for
    /// `duration`, hang up; with steps after it, play as early media (183) for `duration`, then
    /// go on with the next step.
    Tone {
        /// Frequency in hertz.
        frequency_hz: u32,
        /// How long to play.
        duration: Duration,
    },
}

/// Where a call's media (RTP) flows: the rule option `media = "anchor" | "pass-through"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaMode {
    /// Through the media gateway: every SDP names the gateway, which relays (or transcodes)
    /// RTP between the legs.
    Anchor,
    /// Directly between the devices: SDP passes through the switch unchanged.
    PassThrough,
}

impl MediaMode {
    /// `anchor` or `pass-through`, as written in a dialplan.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaMode::Anchor => "anchor",
            MediaMode::PassThrough => "pass-through",
        }
    }

    /// Reads the dialplan spelling (`anchor`, `pass-through`); `None` for anything else.
    pub fn parse(text: &str) -> Option<MediaMode> {
        match text {
            "anchor" => Some(MediaMode::Anchor),
            "pass-through" => Some(MediaMode::PassThrough),
            _ => None,
        }
    }
}

impl fmt::Display for MediaMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Caller identity to present on outgoing legs (`set_caller_id`); `None` keeps the caller's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallerId {
    /// Display name.
    pub name: Option<String>,
    /// User part / number.
    pub number: Option<String>,
}

/// A header to add to outgoing legs (`set_header`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraHeader {
    /// The header name (never one the switch manages itself).
    pub name: HeaderName,
    /// The value (control characters removed).
    pub value: String,
}

/// Where a rule is defined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// The context that defines the rule.
    pub context: ContextName,
    /// The rule's `name`, when it has one.
    pub name: Option<RuleName>,
    /// The source file.
    pub file: Arc<str>,
    /// 1-based line where the rule starts (its `[[context.rule]]` header or inline table).
    pub line: u32,
}

impl fmt::Display for RuleInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "rule \"{name}\"")?,
            None => f.write_str("unnamed rule")?,
        }
        write!(f, " ({}:{}", self.file, self.line)?;
        write!(f, ", context `{}`)", self.context)
    }
}

/// One rule that matched, in the order evaluation went through them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceEntry {
    /// The context being evaluated (the rule may come from a context it includes).
    pub context: ContextName,
    /// The rule that matched.
    pub rule: Arc<RuleInfo>,
}

/// How evaluation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Run [`RouteDecision::steps`].
    Route,
    /// No rule matched: answer 404 Not Found.
    NoRoute,
    /// The start context is not defined: answer 500 (a configuration error; check start
    /// contexts with [`Dialplan::has_context`](crate::Dialplan::has_context) at start-up).
    UnknownContext,
    /// More than [`MAX_JUMPS`](crate::MAX_JUMPS) `goto`s: answer 500 (a dialplan loop).
    JumpLimit,
}

impl Outcome {
    /// The SIP status to answer with when there is nothing to run; `None` for [`Outcome::Route`].
    pub fn failure_status(self) -> Option<u16> {
        match self {
            Outcome::Route => None,
            Outcome::NoRoute => Some(404),
            Outcome::UnknownContext | Outcome::JumpLimit => Some(500),
        }
    }
}

/// The result of [`Dialplan::evaluate`](crate::Dialplan::evaluate).
///
/// `Display` renders it for people (`switchboard dialplan test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDecision {
    /// How evaluation ended.
    pub outcome: Outcome,
    /// What to do, in order (empty unless the outcome is [`Outcome::Route`]).
    pub steps: Vec<Step>,
    /// Caller identity for outgoing legs.
    pub caller_id: CallerId,
    /// Headers to add to outgoing legs, in the order they were set.
    pub headers: Vec<ExtraHeader>,
    /// Where the call's media flows, from the `media` option of the last matched rule that
    /// sets one; `None`: the switch's default.
    pub media: Option<MediaMode>,
    /// The dialed number after every rewrite.
    pub number: String,
    /// The context evaluation started in.
    pub start: ContextName,
    /// The rules that matched (one per context visited through `goto`).
    pub trace: Vec<TraceEntry>,
}

impl fmt::Display for RingTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RingTarget::User { user, domain: None } => write!(f, "{user}"),
            RingTarget::User {
                user,
                domain: Some(d),
            } => write!(f, "{user}@{d}"),
        }
    }
}

fn write_duration(f: &mut fmt::Formatter<'_>, d: Duration) -> fmt::Result {
    if d.subsec_millis() == 0 {
        write!(f, "{}s", d.as_secs())
    } else {
        write!(f, "{}ms", d.as_millis())
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Ring {
                targets,
                strategy,
                timeout,
            } => {
                f.write_str("ring ")?;
                for (i, t) in targets.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{t}")?;
                }
                f.write_str(match strategy {
                    RingStrategy::Parallel => " (parallel",
                    RingStrategy::Sequential => " (sequential",
                })?;
                if let Some(d) = timeout {
                    f.write_str(", timeout ")?;
                    write_duration(f, *d)?;
                    if *strategy == RingStrategy::Sequential {
                        f.write_str(" each")?;
                    }
                }
                f.write_str(")")
            }
            Step::Trunk { trunks, number } => {
                write!(f, "dial {number} via trunk ")?;
                for (i, t) in trunks.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", then ")?;
                    }
                    write!(f, "{t}")?;
                }
                Ok(())
            }
            Step::Reject { code, reason } => {
                write!(f, "reject {code}")?;
                if let Some(r) = reason {
                    write!(f, " {r}")?;
                }
                Ok(())
            }
            Step::Echo => f.write_str("echo"),
            Step::Tone {
                frequency_hz,
                duration,
            } => {
                write!(f, "tone {frequency_hz} Hz for ")?;
                write_duration(f, *duration)
            }
        }
    }
}

impl fmt::Display for RouteDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.outcome {
            Outcome::Route => writeln!(f, "route from context `{}`:", self.start)?,
            Outcome::NoRoute => writeln!(
                f,
                "no route from context `{}`: no rule matched (answer 404)",
                self.start
            )?,
            Outcome::UnknownContext => writeln!(
                f,
                "no route: context `{}` is not defined (answer 500)",
                self.start
            )?,
            Outcome::JumpLimit => writeln!(
                f,
                "no route from context `{}`: more than {} gotos, the dialplan loops (answer 500)",
                self.start,
                crate::MAX_JUMPS
            )?,
        }
        for entry in &self.trace {
            write!(f, "  matched {}", entry.rule)?;
            if entry.context != entry.rule.context {
                write!(f, " via context `{}`", entry.context)?;
            }
            writeln!(f)?;
        }
        if self.outcome != Outcome::Route {
            return Ok(());
        }
        if self.caller_id.name.is_some() || self.caller_id.number.is_some() {
            f.write_str("  caller id:")?;
            if let Some(name) = &self.caller_id.name {
                write!(f, " name \"{name}\"")?;
            }
            if let Some(number) = &self.caller_id.number {
                write!(f, " number \"{number}\"")?;
            }
            writeln!(f)?;
        }
        for h in &self.headers {
            writeln!(f, "  header {}: {}", h.name, h.value)?;
        }
        if let Some(media) = self.media {
            writeln!(f, "  media: {media}")?;
        }
        writeln!(f, "  number: {}", self.number)?;
        for (i, step) in self.steps.iter().enumerate() {
            writeln!(f, "  {}. {step}", i + 1)?;
        }
        Ok(())
    }
}
