//! Routing: the facts of a new call go to the dialplan
//! ([`sb_dialplan::Dialplan::evaluate`]) and the switch runs the decision's
//! steps in order (the dialplan crate's `decision.rs` says how):
//! - `Ring`: a target that is a directory extension ([`crate::DirectoryUser::extension`])
//!   in its domain stands for that user (a user of that name comes first);
//!   the users' existence is checked (credential cache, else
//!   [`crate::Effect::FetchCredentials`]); unknown users are skipped, and
//!   a step with nobody left fails with 404; a user without a registered
//!   device fails with 480. Parallel: every device of every member at once,
//!   the step's timeout bounding the whole step; sequential: one member
//!   after the other, the timeout for each. No timeout given:
//!   [`crate::CallPolicy::no_answer_timeout`].
//! - `Trunk`: out through the first trunk, failing over to the next
//!   ([`super::trunk`]).
//! - `Reject`: that status; routing ends.
//! - `Echo` and `Tone`: the switch answers with media of its own
//!   ([`super::local`]): `Echo` answers and routing ends; `Tone` as the last
//!   step answers, plays and hangs up, and before other steps plays as
//!   early media, then the next step runs.
//!
//! The decision's `media` option (else [`crate::CallPolicy::anchor_media`];
//! calls without a dialplan: the policy) says whether the call's media
//! effects ask the gateway to anchor the media.
//!
//! A step that fails (every leg failed, no answer in time) moves on to the
//! next; when none is left the caller gets the best failure seen in any step
//! (RFC 3261 §16.7). Without a dialplan the switch rings the user the
//! Request-URI names at a served domain, and answers 404 to anything else.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sb_dialplan::{
    CallFacts, CallerId, ContextName, Dialplan, GroupName, MediaMode, Outcome, RingStrategy,
    RingTarget, Source, Step, TrunkName, UnixTime, UserName,
};
use sb_sip_message::{Aor, ByteStr, HeaderName, Peer, RequestCore, StatusCode};

use super::cdr::{CallDestination, CallSource, Disposition, HangupBy};
use super::fork::note_failure_as;
use super::{Call, CallRef, CallState, CallTimer};
use crate::core::Switch;
use crate::effects::LocalMedia;
use crate::pending::Waiter;

/// How long a handed-over call may ring at most: the first node's own
/// ring timeout ends it sooner with a CANCEL.
const HOP_RING_LIMIT: Duration = Duration::from_secs(600);

/// What the dialplan decided for a call, and the steps still to run.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) steps: VecDeque<Step>,
    /// Caller identity for outgoing legs.
    pub(crate) caller_id: CallerId,
    /// Headers added to every outgoing INVITE.
    pub(crate) headers: Vec<(HeaderName, ByteStr)>,
    /// The served domain of ring targets that name none: the one the call
    /// was addressed to (`None`: a foreign domain, nobody is rung there).
    pub(crate) domain: Option<ByteStr>,
    /// The caller's number for trunk legs (after `set_caller_id`).
    pub(crate) number: ByteStr,
    /// The caller's display name for outgoing legs (after `set_caller_id`).
    pub(crate) display: Option<ByteStr>,
    /// Where the call's media flows, when the dialplan chose.
    pub(crate) media: Option<MediaMode>,
}

/// A ring step waiting for its users' existence to be looked up.
#[derive(Debug)]
pub(crate) struct RingLookup {
    /// The members, with what the credential cache said (`None`: looked up).
    pub(crate) members: Vec<(Aor, Option<bool>)>,
    pub(crate) strategy: RingStrategy,
    pub(crate) timeout: Duration,
    /// Lookups still running.
    pub(crate) pending: usize,
}

/// A trunk step being run.
#[derive(Debug)]
pub(crate) struct TrunkStep {
    /// The trunks, in order.
    pub(crate) trunks: Arc<[TrunkName]>,
    /// The next one to try.
    pub(crate) next: usize,
    /// The number to dial.
    pub(crate) number: ByteStr,
    /// The last attempt failed in a way another trunk may not (408, 5xx,
    /// no response, no credentials accepted).
    pub(crate) failover: bool,
}

/// What the switch knows about a new call when it routes it.
pub(crate) struct Facts<'a> {
    pub(crate) source: &'a CallSource,
    /// The context the call starts in.
    pub(crate) context: &'a ContextName,
    /// The calling user's groups (none for trunk calls).
    pub(crate) groups: &'a [GroupName],
    pub(crate) caller: &'a str,
    pub(crate) caller_domain: &'a str,
    pub(crate) caller_display: Option<&'a ByteStr>,
    pub(crate) dialed: &'a str,
    /// The Request-URI's host as written (empty for `tel:`).
    pub(crate) dialed_host: &'a str,
    /// The served domain the Request-URI names.
    pub(crate) dialed_domain: Option<&'a str>,
    /// The Request-URI is a `tel:` URI.
    pub(crate) tel: bool,
    pub(crate) unix_ms: u64,
}

impl Switch {
    /// Replaces the dialplan new calls are routed by (calls already routed
    /// keep their decision). Before the first plan, the switch rings the
    /// user the Request-URI names at a served domain and answers 404 to
    /// anything else.
    pub fn set_dialplan(&mut self, plan: Arc<Dialplan>) {
        self.dialplan = Some(plan);
    }

    /// The plan of a call another node handed over ([`crate::cluster`]):
    /// ring the user `To` names at a served domain (only the binding whose
    /// contact is the Request-URI rings), media passed through, no ring
    /// timeout of its own (the first node's step bounds it and cancels).
    pub(crate) fn hop_plan(&self, core: &RequestCore, peer: &Peer) -> Result<Plan, StatusCode> {
        let to = core.to.uri.as_sip().ok_or(StatusCode::NOT_FOUND)?;
        let user = to.user_unescaped().ok_or(StatusCode::NOT_FOUND)?;
        let domain = self
            .domains
            .resolve(&to.host, peer)
            .ok_or(StatusCode::NOT_FOUND)?;
        let mut plan = Plan {
            domain: Some(ByteStr::from(domain)),
            display: core.from.display_name.clone(),
            media: Some(MediaMode::PassThrough),
            ..Plan::default()
        };
        plan.steps.push_back(Step::Ring {
            targets: vec![RingTarget::User {
                user: UserName::from(user.as_ref()),
                domain: Some(domain.to_owned()),
            }],
            strategy: RingStrategy::Parallel,
            timeout: Some(HOP_RING_LIMIT),
        });
        Ok(plan)
    }

    /// Evaluates the dialplan for a new call: its plan, or the status to
    /// refuse it with.
    pub(crate) fn decide(&self, facts: &Facts<'_>) -> Result<Plan, StatusCode> {
        let domain = match (facts.dialed_domain, facts.tel) {
            (Some(d), _) => Some(ByteStr::from(d)),
            (None, true) => Some(ByteStr::from(self.domains.default_domain())),
            (None, false) => None,
        };
        let mut plan = Plan {
            domain,
            number: ByteStr::from(facts.caller),
            display: facts.caller_display.cloned(),
            ..Plan::default()
        };
        let Some(dialplan) = &self.dialplan else {
            if plan.domain.is_none() || facts.dialed.is_empty() {
                return Err(StatusCode::NOT_FOUND);
            }
            plan.steps.push_back(Step::Ring {
                targets: vec![RingTarget::User {
                    user: UserName::from(facts.dialed),
                    domain: None,
                }],
                strategy: RingStrategy::Parallel,
                timeout: None,
            });
            return Ok(plan);
        };
        let source = match facts.source {
            CallSource::User(name) => Source::User {
                name,
                groups: facts.groups,
            },
            CallSource::Trunk(name) => Source::Trunk { name },
            // Handed-over calls are planned by `hop_plan`, never by the
            // dialplan.
            CallSource::Node(_) => return Err(StatusCode::FORBIDDEN),
        };
        let decision = dialplan.evaluate(&CallFacts {
            context: facts.context,
            from_user: facts.caller,
            from_domain: facts.caller_domain,
            to: facts.dialed,
            to_domain: facts.dialed_domain.unwrap_or(facts.dialed_host),
            source,
            at: UnixTime::from_millis(facts.unix_ms),
        });
        if decision.outcome != Outcome::Route {
            let code = decision.outcome.failure_status().unwrap_or(500);
            return Err(StatusCode::new(code).unwrap_or(StatusCode::SERVER_INTERNAL_ERROR));
        }
        plan.steps = decision.steps.into();
        if let Some(name) = &decision.caller_id.name {
            plan.display = Some(ByteStr::from(name.as_str()));
        }
        if let Some(number) = &decision.caller_id.number {
            plan.number = ByteStr::from(number.as_str());
        }
        plan.headers = decision
            .headers
            .iter()
            .map(|h| {
                (
                    HeaderName::parse(h.name.as_str()),
                    ByteStr::from(h.value.as_str()),
                )
            })
            .collect();
        plan.caller_id = decision.caller_id;
        plan.media = decision.media;
        Ok(plan)
    }

    /// Runs the next step of the call's plan; with none left, the caller
    /// gets the best failure.
    pub(crate) fn next_step(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        let Some(step) = call.plan.steps.pop_front() else {
            self.routing_failed(now, unix_ms, call);
            return;
        };
        match step {
            Step::Ring {
                targets,
                strategy,
                timeout,
            } => {
                let timeout = timeout.unwrap_or(self.config.calls.no_answer_timeout);
                self.start_ring(now, unix_ms, call, &targets, strategy, timeout);
            }
            Step::Trunk { trunks, number } => {
                self.start_trunk_step(now, unix_ms, call, trunks, &number);
            }
            Step::Reject { code, reason } => {
                let status = StatusCode::new(code)
                    .filter(|s| s.is_final() && !s.is_success())
                    .unwrap_or(StatusCode::SERVER_INTERNAL_ERROR);
                self.reject_call(now, unix_ms, call, status, reason.as_deref());
            }
            Step::Echo => self.start_local_media(now, unix_ms, call, LocalMedia::Echo),
            Step::Tone {
                frequency_hz,
                duration,
            } => {
                let tone = LocalMedia::Tone {
                    frequency_hz,
                    duration,
                };
                self.start_local_media(now, unix_ms, call, tone);
            }
        }
    }

    /// The current step is over without an answer: the next one runs.
    pub(crate) fn step_over(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        for t in [call.step_timer.take(), call.group_timer.take()]
            .into_iter()
            .flatten()
        {
            self.calls.timers.cancel(t);
        }
        call.groups.clear();
        call.group_timeout = None;
        call.trunk_step = None;
        self.next_step(now, unix_ms, call);
    }

    /// No step is left: the best failure to the caller.
    fn routing_failed(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        let (status, reason, contacts, disposition, by) = match call.best.take() {
            Some(f) => (
                super::best::forwardable(f.status),
                Some(f.reason),
                f.contacts,
                f.disposition,
                if f.system {
                    HangupBy::System
                } else {
                    HangupBy::Callee
                },
            ),
            None => (
                StatusCode::TEMPORARILY_UNAVAILABLE,
                None,
                Vec::new(),
                Disposition::Failed,
                HangupBy::System,
            ),
        };
        self.fail_call(
            now,
            unix_ms,
            call,
            status,
            reason.as_ref(),
            &contacts,
            disposition,
            by,
        );
    }

    /// A ring step: the members' existence first.
    fn start_ring(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        targets: &[RingTarget],
        strategy: RingStrategy,
        timeout: Duration,
    ) {
        let mut members = Vec::with_capacity(targets.len());
        let mut callee: Option<ByteStr> = None;
        for RingTarget::User { user, domain } in targets {
            let domain = match domain {
                Some(d) => self.domains.served(d).map(ByteStr::from),
                None => call.plan.domain.clone(),
            };
            let name = match &domain {
                // A directory extension stands for its user.
                Some(domain) => self.directory.ring_target(domain, user.as_str()),
                None => user.as_str(),
            };
            callee.get_or_insert_with(|| ByteStr::from(name));
            if let Some(domain) = domain {
                members.push(Aor::new(name, &domain));
            }
        }
        if let Some(callee) = callee {
            call.cdr.callee = callee;
        }
        let id = call.id;
        let mut lookup = RingLookup {
            members: Vec::with_capacity(members.len()),
            strategy,
            timeout,
            pending: 0,
        };
        let mut fetches = Vec::new();
        for aor in members {
            let known = self.auth.known_user(aor.user(), aor.domain(), now);
            if known.is_none() {
                lookup.pending += 1;
                fetches.push((ByteStr::from(aor.user()), ByteStr::from(aor.domain())));
            }
            lookup.members.push((aor, known));
        }
        if lookup.pending == 0 {
            self.ring_members(now, unix_ms, call, lookup);
            return;
        }
        call.state = CallState::Routing;
        call.ring_lookup = Some(lookup);
        self.calls.map.insert(id, call);
        for key in fetches {
            self.fetch_credentials(now, key, Waiter::Callee(id));
        }
    }

    /// One existence lookup of a ring step finished.
    pub(crate) fn callee_known(&mut self, now: Instant, unix_ms: u64, id: CallRef) {
        let Some(mut call) = self.calls.map.remove(&id) else {
            return;
        };
        let ready = match &mut call.ring_lookup {
            Some(lookup) => {
                lookup.pending = lookup.pending.saturating_sub(1);
                lookup.pending == 0
            }
            None => false,
        };
        if !ready || call.a_invite.is_none() {
            self.calls.map.insert(id, call);
            return;
        }
        let lookup = call.ring_lookup.take().expect("checked just above");
        self.ring_members(now, unix_ms, call, lookup);
    }

    /// Rings the members that exist (a user not in the cache after its
    /// lookup — a zero cache lifetime — counts as existing).
    fn ring_members(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        lookup: RingLookup,
    ) {
        let mut known: Vec<Aor> = Vec::with_capacity(lookup.members.len());
        for (aor, cached) in lookup.members {
            let exists = cached.unwrap_or_else(|| {
                self.auth.known_user(aor.user(), aor.domain(), now) != Some(false)
            });
            if exists {
                known.push(aor);
            }
        }
        let Some(first) = known.first() else {
            if call.best.is_none() {
                call.cdr.destination = CallDestination::None;
            }
            note_failure_as(&mut call, StatusCode::NOT_FOUND, None, Disposition::Failed);
            self.step_over(now, unix_ms, call);
            return;
        };
        let first = ByteStr::from(first.user());
        call.cdr.callee = first.clone();
        call.cdr.destination = CallDestination::User(first);
        match lookup.strategy {
            RingStrategy::Parallel => {
                call.step_timer =
                    Some(self.call_timer(now + lookup.timeout, call.id, CallTimer::NoAnswer));
                call.group_timeout = None;
                self.ring(now, unix_ms, call, &known);
            }
            RingStrategy::Sequential => {
                let mut groups: VecDeque<Vec<Aor>> = known.into_iter().map(|m| vec![m]).collect();
                call.group_timeout = Some(lookup.timeout);
                let first = groups.pop_front().unwrap_or_default();
                call.groups = groups;
                self.ring(now, unix_ms, call, &first);
            }
        }
    }

    /// Ends a call that rang nobody with `status` (system's decision).
    pub(crate) fn reject_call(
        &mut self,
        now: Instant,
        unix_ms: u64,
        call: Box<Call>,
        status: StatusCode,
        reason: Option<&str>,
    ) {
        let disposition = match Disposition::of_failure(status) {
            Disposition::Busy => Disposition::Busy,
            _ => Disposition::Failed,
        };
        let reason = reason.map(|r| ByteStr::from(crate::respond::reason_phrase(r)));
        self.fail_call(
            now,
            unix_ms,
            call,
            status,
            reason.as_ref(),
            &[],
            disposition,
            HangupBy::System,
        );
    }
}
