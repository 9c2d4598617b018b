//! The live view of a call ([`crate::Switch::calls`]): who, where it is,
//! when it started and was answered, and each leg with the address and
//! transport it talks to. Built on demand; nothing here is on the call path.

use std::net::SocketAddr;

use sb_sip_message::{ByteStr, CallId, Transport};

use super::cdr::{CallDestination, CallSource};
use super::{Call, CallRef, CallState, ForkState, LegId};

/// A live call, for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallSnapshot {
    /// The call.
    pub call: CallRef,
    /// Call-ID of the caller's leg (what [`crate::Switch::hang_up`] takes).
    pub call_id: CallId,
    /// The caller (user name or number).
    pub caller: ByteStr,
    /// The callee after routing (the dialed string before).
    pub callee: ByteStr,
    /// What was dialed.
    pub dialed: ByteStr,
    /// Where the call came from.
    pub source: CallSource,
    /// Where it goes (the user or trunk rung or answering; `None` while
    /// routing).
    pub destination: CallDestination,
    /// Its state.
    pub state: CallState,
    /// When the INVITE arrived, Unix ms.
    pub start_unix_ms: u64,
    /// When it was answered, Unix ms.
    pub answer_unix_ms: Option<u64>,
    /// The caller's leg first, then every B leg in the order they were
    /// created (those that ended included, as [`LegState::Terminated`]).
    pub legs: Vec<LegSnapshot>,
}

/// Where one leg's dialog is (RFC 3261 §12: early, confirmed, terminated;
/// before any of those, the INVITE is being sent or answered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegState {
    /// The INVITE is on its way (B leg: waiting for the media engine's offer
    /// or for a response; caller's leg: nothing but 100 sent back yet).
    Trying,
    /// A provisional response with a tag was sent or received: ringing.
    Early,
    /// Answered (for the caller's leg: the callee answered; the caller's
    /// ACK may still be on its way).
    Confirmed,
    /// Over: failed, cancelled, or lost to another device.
    Terminated,
}

impl LegState {
    /// `trying`, `early`, `confirmed` or `terminated`.
    pub fn as_str(self) -> &'static str {
        match self {
            LegState::Trying => "trying",
            LegState::Early => "early",
            LegState::Confirmed => "confirmed",
            LegState::Terminated => "terminated",
        }
    }
}

/// One leg of a live call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegSnapshot {
    /// The leg ([`LegId::A`] is the caller's).
    pub leg: LegId,
    /// The user or trunk this B leg calls (`None` for the caller's leg).
    pub target: Option<CallDestination>,
    /// The address the switch sends this leg's requests and responses to
    /// (where the device registered from, a trunk's gateway, the caller's
    /// source).
    pub peer: SocketAddr,
    /// The signalling transport towards it.
    pub transport: Transport,
    /// Where its dialog is.
    pub state: LegState,
}

impl Call {
    pub(crate) fn snapshot(&self) -> CallSnapshot {
        let a_state = if self.answered() {
            LegState::Confirmed
        } else if self.a_early {
            LegState::Early
        } else {
            LegState::Trying
        };
        let mut legs = Vec::with_capacity(self.forks.len() + 1);
        legs.push(LegSnapshot {
            leg: LegId::A,
            target: None,
            peer: self.a.dest.remote,
            transport: self.a.dest.transport,
            state: a_state,
        });
        legs.extend(self.forks.iter().map(|f| LegSnapshot {
            leg: f.leg,
            target: Some(f.target.destination()),
            peer: f.dialog.dest.remote,
            transport: f.dialog.dest.transport,
            state: match f.state {
                ForkState::Offering | ForkState::Calling => LegState::Trying,
                ForkState::Proceeding if f.rang => LegState::Early,
                ForkState::Proceeding => LegState::Trying,
                ForkState::Answered => LegState::Confirmed,
                ForkState::Done => LegState::Terminated,
            },
        }));
        CallSnapshot {
            call: self.id,
            call_id: self.cdr.call_id.clone(),
            caller: self.cdr.caller.clone(),
            callee: self.cdr.callee.clone(),
            dialed: self.cdr.dialed.clone(),
            source: self.cdr.source.clone(),
            destination: self.cdr.destination.clone(),
            state: self.state,
            start_unix_ms: self.cdr.start_unix_ms,
            answer_unix_ms: self.cdr.answer_unix_ms,
            legs,
        }
    }
}
