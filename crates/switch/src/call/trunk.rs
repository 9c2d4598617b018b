//! Calls out through trunks: a dialplan `trunk` step sends the call to the
//! first trunk's gateway as a new B leg — Request-URI and To
//! `sip:NUMBER@gateway`, From `sip:USER@DOMAIN` (the trunk's `from_user`,
//! else the caller's number; its `from_domain`, else the gateway's address).
//! A 401/407 is answered once per leg with digest credentials (RFC 3261
//! §22.2: the INVITE again with the next CSeq, same Call-ID and From tag);
//! a second challenge fails the attempt. 408, 5xx, no response (Timer B) and
//! refused credentials fail over to the next trunk; other 4xx, 3xx and 6xx
//! end the step. An attempt that goes unanswered for
//! [`crate::CallPolicy::no_answer_timeout`] is cancelled: after ringing it
//! ends the step (480), before any ringing it fails over (408).

use std::sync::Arc;
use std::time::Instant;

use sb_dialplan::TrunkName;
use sb_sip_auth::{Challenge, ClientSecret, respond};
use sb_sip_message::{ByteStr, HeaderName, NameAddr, Params, Response, StatusCode, Uri};

use super::fork::{NewLeg, note_failure};
use super::plan::TrunkStep;
use super::{Call, CallTimer, ForkState, ForkTarget, LegId};
use crate::config::TrunkConfig;
use crate::core::Switch;
use crate::trunk::{destination, push_escaped_user, push_from_domain, push_gateway};

/// Whether another trunk may succeed where one answered `status`.
pub(crate) fn fails_over(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT || status.class() == 5
}

impl Switch {
    /// A trunk step: the first trunk of the list.
    pub(crate) fn start_trunk_step(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        trunks: Arc<[TrunkName]>,
        number: &str,
    ) {
        call.cdr.callee = ByteStr::from(number);
        call.trunk_step = Some(TrunkStep {
            trunks,
            next: 0,
            number: ByteStr::from(number),
            failover: true,
        });
        self.next_trunk(now, unix_ms, call);
    }

    /// The next trunk of the step (skipping trunks that are not configured
    /// or have no gateway); none left: the step is over.
    pub(crate) fn next_trunk(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        loop {
            let step = call.trunk_step.as_mut().expect("a trunk step is running");
            let Some(name) = step.trunks.get(step.next).cloned() else {
                self.step_over(now, unix_ms, call);
                return;
            };
            step.next += 1;
            let number = step.number.clone();
            if number.is_empty() {
                step.failover = false;
                note_failure(&mut call, StatusCode::ADDRESS_INCOMPLETE, None, true);
                self.step_over(now, unix_ms, call);
                return;
            }
            let trunk = self.outbound_trunk(name.as_str()).cloned();
            call.cdr.destination = super::CallDestination::Trunk(ByteStr::from(name.as_str()));
            let Some(trunk) = trunk else {
                tracing::warn!(call = %call.id, trunk = %name, "trunk not configured for outbound calls");
                let reason = ByteStr::from_static("Trunk Not Available");
                note_failure(
                    &mut call,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some(&reason),
                    true,
                );
                continue;
            };
            let leg = Self::trunk_leg(&call, trunk, &number);
            if let Some(t) = call.step_timer.take() {
                self.calls.timers.cancel(t);
            }
            let ring = self.config.calls.no_answer_timeout;
            call.step_timer = Some(self.call_timer(now + ring, call.id, CallTimer::NoAnswer));
            call.state = super::CallState::Ringing;
            self.add_fork(now, &mut call, leg);
            self.check_forks(now, unix_ms, call);
            return;
        }
    }

    /// The B leg towards `trunk` for `number`.
    fn trunk_leg(call: &Call, trunk: Arc<TrunkConfig>, number: &str) -> NewLeg {
        let mut uri = String::with_capacity(64);
        uri.push_str("sip:");
        push_escaped_user(&mut uri, number);
        uri.push('@');
        push_gateway(&mut uri, &trunk);
        let uri = Uri::parse(&ByteStr::from(uri)).expect("an escaped user at an IP address parses");
        let to = NameAddr::new(uri.clone()).to_string();
        let user = match trunk.from_user.as_deref() {
            Some(u) => u,
            None if call.plan.number.is_empty() => "anonymous",
            None => &call.plan.number,
        };
        let mut from_uri = String::with_capacity(64);
        from_uri.push_str("sip:");
        push_escaped_user(&mut from_uri, user);
        from_uri.push('@');
        push_from_domain(&mut from_uri, &trunk);
        let from = match Uri::parse(&ByteStr::from(from_uri)) {
            Ok(uri) => NameAddr {
                display_name: call.plan.display.clone(),
                uri,
                params: Params::default(),
            }
            .to_string(),
            Err(_) => "<sip:anonymous@anonymous.invalid>".to_owned(),
        };
        NewLeg {
            uri,
            to: ByteStr::from(to),
            from: ByteStr::from(from),
            dest: destination(&trunk),
            route: None,
            target: ForkTarget::Trunk(trunk),
        }
    }

    /// A 401/407 to the INVITE of trunk leg `leg`: the INVITE again with
    /// credentials. `false` when it cannot be answered (not a trunk leg,
    /// answered once already, no credentials, no usable challenge).
    pub(crate) fn answer_trunk_challenge(
        &mut self,
        now: Instant,
        call: &mut Call,
        leg: LegId,
        response: &Response,
    ) -> bool {
        let Some(fork) = call.fork(leg) else {
            return false;
        };
        let ForkTarget::Trunk(trunk) = &fork.target else {
            return false;
        };
        if fork.auth_answered || fork.state == ForkState::Done {
            return false;
        }
        let trunk = Arc::clone(trunk);
        let cnonce = self.new_tag();
        let (Some(username), Some(password)) = (&trunk.username, &trunk.password) else {
            return false;
        };
        let proxy = response.status == StatusCode::PROXY_AUTHENTICATION_REQUIRED;
        let (asked, answer) = if proxy {
            (
                HeaderName::ProxyAuthenticate,
                HeaderName::ProxyAuthorization,
            )
        } else {
            (HeaderName::WwwAuthenticate, HeaderName::Authorization)
        };
        let Some(challenge) =
            Challenge::choose(response.headers.get_all(&asked).map(|v| v.as_str()))
        else {
            return false;
        };
        let uri = fork.dialog.remote_target.to_string();
        let value = match respond(
            &challenge,
            "INVITE",
            &uri,
            username,
            ClientSecret::Password(password),
            cnonce.as_str(),
            1,
        ) {
            Ok(v) => v,
            Err(e) => {
                tracing::debug!(call = %call.id, error = %e, "trunk challenge not answered");
                return false;
            }
        };
        let fork = call.fork_mut(leg).expect("checked above");
        fork.auth_answered = true;
        fork.state = ForkState::Offering;
        self.dispatch_fork_invite(now, call, leg, Some((answer, ByteStr::from(value))));
        true
    }

    /// A trunk leg failed with `status`: whether the step fails over.
    pub(crate) fn trunk_leg_failed(call: &mut Call, leg: LegId, status: StatusCode) {
        let is_trunk = call
            .fork(leg)
            .is_some_and(|f| matches!(f.target, ForkTarget::Trunk(_)));
        if is_trunk && let Some(step) = &mut call.trunk_step {
            step.failover = fails_over(status);
        }
    }
}
