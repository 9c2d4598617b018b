//! Events: what happened, for logs, metrics and the live API. The switch never
//! needs an answer to an event.

use std::fmt;

use sb_sip_message::{Aor, ByteStr, CallId, Peer, StatusCode};

use crate::call::cdr::{CallSource, CdrRecord, Disposition, HangupBy};
use crate::call::{CallRef, LegId};

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// The device unregistered (expires 0 or `Contact: *`).
    Unregistered,
    /// Its registration expired.
    Expired,
    /// An administrator removed it ([`crate::Switch::remove_binding`]).
    Removed,
    /// The WebSocket connection it was registered over closed.
    FlowClosed,
}

/// Something the switch did or saw.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchEvent {
    /// A binding was added or refreshed.
    Registered {
        /// Address of record.
        aor: Aor,
        /// The Contact value (URI and parameters).
        contact: ByteStr,
        /// Granted duration, seconds.
        expires: u32,
    },
    /// A binding was removed.
    Unregistered {
        /// Address of record.
        aor: Aor,
        /// The Contact value (URI and parameters).
        contact: ByteStr,
        /// Why.
        reason: RemovalReason,
    },
    /// Credentials were presented and were wrong (wrong password, unknown
    /// user, replayed nonce count). `username` is what the request claimed.
    AuthFailed {
        /// Where the request came from.
        peer: Peer,
        /// The claimed user name.
        username: ByteStr,
    },
    /// A message could not be parsed or failed validation.
    Malformed {
        /// Where it came from.
        peer: Peer,
        /// Why.
        reason: String,
        /// Whether a 400 was sent (otherwise it was dropped).
        answered: bool,
    },
    /// An effect failed (the database or the media engine did not answer).
    EffectFailed {
        /// What went wrong.
        reason: String,
    },
    /// A call was accepted (authenticated or from a trunk) and routed.
    CallStarted {
        /// The call.
        call: CallRef,
        /// Call-ID of the caller's leg.
        call_id: CallId,
        /// The caller (user name or number).
        caller: ByteStr,
        /// What was dialed.
        dialed: ByteStr,
        /// Where it came from.
        source: CallSource,
    },
    /// A device answered the call, or the switch did (echo, tone).
    CallAnswered {
        /// The call.
        call: CallRef,
        /// The B leg that answered; [`LegId::A`] when the switch answered
        /// the call itself.
        leg: LegId,
    },
    /// A call ended (its CDR was emitted as [`crate::Effect::WriteCdr`]).
    CallEnded {
        /// The call.
        call: CallRef,
        /// Call-ID of the caller's leg.
        call_id: CallId,
        /// How it ended.
        disposition: Disposition,
        /// The final status towards the caller.
        status: StatusCode,
        /// Which side ended it.
        hangup_by: HangupBy,
        /// Answered time in milliseconds (0 when not answered).
        billable_ms: u64,
    },
    /// A trunk's gateway accepted the switch's registration (a first
    /// registration or a refresh).
    TrunkRegistered {
        /// The trunk's name.
        trunk: ByteStr,
        /// Seconds granted.
        expires: u32,
    },
    /// A trunk's registration failed; it is retried later (30 s, doubling
    /// up to 5 min) unless the switch is shutting down.
    TrunkRegistrationFailed {
        /// The trunk's name.
        trunk: ByteStr,
        /// The gateway's final response; `None` when there was none (no
        /// answer, transport error).
        status: Option<StatusCode>,
        /// What went wrong, for the log (never credentials).
        reason: String,
    },
    /// A trunk's registration was removed at shutdown.
    TrunkUnregistered {
        /// The trunk's name.
        trunk: ByteStr,
    },
    /// A CDR could not be written (the write failed or did not finish in
    /// time). The record is here so it can at least be logged.
    CdrWriteFailed {
        /// The record.
        record: Box<CdrRecord>,
        /// What went wrong.
        reason: String,
    },
}

/// Responses sent, by status code (100–699): one counter per code in a
/// fixed array, so counting is an index and an add.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseCounts(Box<[u64; 600]>);

impl Default for ResponseCounts {
    fn default() -> Self {
        ResponseCounts(Box::new([0; 600]))
    }
}

impl fmt::Debug for ResponseCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl ResponseCounts {
    /// Counts one response with `status`.
    pub(crate) fn count(&mut self, status: StatusCode) {
        if let Some(n) = usize::from(status.as_u16())
            .checked_sub(100)
            .and_then(|i| self.0.get_mut(i))
        {
            *n += 1;
        }
    }

    /// How many responses with status `code` were sent.
    pub fn get(&self, code: u16) -> u64 {
        usize::from(code)
            .checked_sub(100)
            .and_then(|i| self.0.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// `(code, count)` for every code sent at least once, lowest code first.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        (100u16..)
            .zip(self.0.iter())
            .filter(|&(_, &n)| n > 0)
            .map(|(code, &n)| (code, n))
    }
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// Requests received (after transaction matching: retransmissions excluded).
    pub requests: u64,
    /// Responses sent, by class (index 1 = 1xx … 6 = 6xx).
    pub responses_by_class: [u64; 7],
    /// Responses sent, by status code (retransmissions excluded, as for
    /// [`SwitchStats::responses_by_class`]); see
    /// [`SwitchStats::responses_sent`].
    pub responses_by_code: ResponseCounts,
    /// Malformed messages answered with 400.
    pub malformed_answered: u64,
    /// Malformed messages dropped (no usable Via).
    pub malformed_dropped: u64,
    /// Successful registrations (REGISTER answered 200 with a change).
    pub registrations: u64,
    /// Authentication failures.
    pub auth_failures: u64,
    /// Challenges sent (401/407).
    pub challenges: u64,
    /// Credential lookups started.
    pub credential_fetches: u64,
    /// Bindings currently held.
    pub bindings: u64,
    /// Addresses of record with at least one binding.
    pub aors: u64,
    /// Calls accepted and routed (authenticated or from a trunk).
    pub calls_attempted: u64,
    /// Calls answered.
    pub calls_answered: u64,
    /// Calls that ended unanswered for a reason other than the caller
    /// giving up (busy, no answer, no such user, errors).
    pub calls_failed: u64,
    /// Calls the caller cancelled before the answer.
    pub calls_cancelled: u64,
    /// Calls live now.
    pub calls_active: u64,
    /// CDRs whose write failed or timed out.
    pub cdr_write_failures: u64,
    /// Keep-alives sent towards UDP bindings.
    pub keepalives: u64,
}

impl SwitchStats {
    /// `(status code, responses sent)` for every code sent at least once,
    /// lowest code first (for `switchboard_sip_responses_total{code}`).
    pub fn responses_sent(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.responses_by_code.iter()
    }
}
