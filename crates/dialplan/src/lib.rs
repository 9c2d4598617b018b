//! The Switchboard dialplan: a readable, ordered, declarative routing table written in TOML, a
//! compiler that reports every problem with file, line and column, and a pure evaluator that
//! turns the facts of a call into a [`RouteDecision`].
//!
//! This crate owns the format (documented with examples in `dialplans/README.md`), its
//! compilation and evaluation. It must not read files, touch a database or the network, or read
//! a clock: the caller passes file contents in ([`SourceFile`]) and the time of the call in
//! ([`CallFacts::at`]). It depends on no other Switchboard crate.
//!
//! How to drive it:
//! 1. At start-up and on reload, read the dialplan files and call [`compile`] with the configured
//!    trunks in [`CompileOptions`]. On `Err`, print each [`Diagnostic`] (`file:line:col: error:
//!    …`) and refuse the plan; on `Ok`, print [`Dialplan::warnings`] and share the plan behind an
//!    `Arc`.
//! 2. For each new call, fill in [`CallFacts`] (borrowed; nothing is copied) and call
//!    [`Dialplan::evaluate`]. Execute the [`RouteDecision`] as its documentation says; print it
//!    with `Display` for `switchboard dialplan test`.
//!
//! Number patterns: [`NumberPattern`] is the matcher behind a rule's `to` and `from` (`_00.`,
//! `_9NXXXXXX`, `100`), public so that other parts of the system (the switch's per-user call
//! permissions, the HTTP API's validation) read numbers exactly as the dialplan does.
//!
//! Optional trunks: a rule may say `if_trunk_configured = "default"`. The compiler knows the
//! configured trunks ([`CompileOptions::trunks`]) and leaves such a rule out, with a warning,
//! while the trunk is missing; an unguarded `trunk` action naming an unknown trunk is an error.
//! This keeps the shipped plan's `9` + number rule harmless until a trunk exists, and typos loud.
//!
//! Why TOML: the server's configuration is TOML already, so operators learn one syntax; TOML
//! keeps the order of `[[context]]` and `[[context.rule]]` tables (rules are tried in order, the
//! first match wins); arrays of inline tables read naturally as an ordered list of actions; the
//! parser reports exact positions, so every diagnostic points at a line and column; and unlike
//! YAML there is no indentation to get wrong and no implicit typing (`no` stays a string). An
//! Asterisk-style text format would need a parser of its own and reads worse for conditions such
//! as time windows.

mod compile;
mod decision;
mod diagnostics;
mod eval;
mod names;
mod pattern;
mod plan;
mod syntax;
mod template;
mod time;

pub use compile::{CompileOptions, SourceFile, compile};
pub use decision::{
    CallerId, ExtraHeader, MediaMode, Outcome, RingStrategy, RingTarget, RouteDecision, RuleInfo,
    Step, TraceEntry,
};
pub use diagnostics::{Diagnostic, DialplanError, Severity};
pub use eval::{CallFacts, MAX_JUMPS, Source};
pub use names::{ContextName, GroupName, HeaderName, RuleName, TrunkName, UserName};
pub use pattern::NumberPattern;
pub use plan::Dialplan;
pub use time::UnixTime;
