//! Call-detail records: what the switch reports about every call it handled
//! once the call is over ([`crate::Effect::WriteCdr`]). Plain data; the store
//! has its own row types and the server converts.

use std::fmt;

use sb_sip_message::{ByteStr, CallId, StatusCode};

pub use super::cdr_media::{MediaLegRole, MediaLegSummary, MediaSummary};
use super::{CallRef, LegId};

/// How a call ended, as billing systems name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The callee answered.
    Answered,
    /// Nobody answered: the ring timeout expired, or every device answered
    /// 408 or 480.
    NoAnswer,
    /// The callee was busy or declined (486, 600, 603).
    Busy,
    /// Anything else: no such user, nobody registered, no route, an error
    /// response, a media failure, shutdown before answer.
    Failed,
    /// The caller gave up before the answer (CANCEL, or BYE on the early dialog).
    Cancelled,
}

impl Disposition {
    /// `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED` or `CANCELLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "ANSWERED",
            Disposition::NoAnswer => "NO ANSWER",
            Disposition::Busy => "BUSY",
            Disposition::Failed => "FAILED",
            Disposition::Cancelled => "CANCELLED",
        }
    }

    /// The disposition of a call that was not answered and ended with
    /// `status` from the callee's side.
    pub fn of_failure(status: StatusCode) -> Disposition {
        match status.as_u16() {
            486 | 600 | 603 => Disposition::Busy,
            408 | 480 => Disposition::NoAnswer,
            487 => Disposition::Cancelled,
            _ => Disposition::Failed,
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which side ended a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupBy {
    /// The caller: BYE, or CANCEL before the answer.
    Caller,
    /// The callee: BYE, or the final failure response of the called devices.
    Callee,
    /// The switch: no route, no such user, ring timeout, media failure,
    /// missing ACK, shutdown.
    System,
}

impl HangupBy {
    /// `caller`, `callee` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            HangupBy::Caller => "caller",
            HangupBy::Callee => "callee",
            HangupBy::System => "system",
        }
    }
}

impl fmt::Display for HangupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a call came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallSource {
    /// A local user who authenticated (user name, without domain).
    User(ByteStr),
    /// A trunk admitted by its source address (the trunk's name).
    Trunk(ByteStr),
    /// Another node of the cluster handing over a call for a binding of
    /// this node (the node's name). Such calls leave no record here.
    Node(ByteStr),
}

impl CallSource {
    /// `user` or `trunk`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallSource::User(_) => "user",
            CallSource::Trunk(_) => "trunk",
            CallSource::Node(_) => "node",
        }
    }

    /// The user or trunk name.
    pub fn name(&self) -> &str {
        match self {
            CallSource::User(n) | CallSource::Trunk(n) | CallSource::Node(n) => n,
        }
    }
}

/// Where a call went.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallDestination {
    /// A local user (user name, without domain).
    User(ByteStr),
    /// A trunk (its name).
    Trunk(ByteStr),
    /// The switch answered the call itself with media of its own: the
    /// dialplan's `echo` or `tone` (that name).
    Media(ByteStr),
    /// Nowhere: rejected, no route, no such user.
    None,
}

impl CallDestination {
    /// `user`, `trunk`, `media` or `none`.
    pub fn kind(&self) -> &'static str {
        match self {
            CallDestination::User(_) => "user",
            CallDestination::Trunk(_) => "trunk",
            CallDestination::Media(_) => "media",
            CallDestination::None => "none",
        }
    }

    /// The user or trunk name, or `echo`/`tone`; `None` for
    /// [`CallDestination::None`].
    pub fn name(&self) -> Option<&str> {
        match self {
            CallDestination::User(n) | CallDestination::Trunk(n) | CallDestination::Media(n) => {
                Some(n)
            }
            CallDestination::None => None,
        }
    }
}

/// Why the switch ended a call, when the disposition and `hangup_by` do
/// not say it all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// The media gateway saw no RTP from a device for too long
    /// ([`crate::Switch::media_timeout`]).
    MediaTimeout,
}

impl EndReason {
    /// The stored text: `media_timeout`.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::MediaTimeout => "media_timeout",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished call. Times are wall clock, Unix milliseconds, as passed to
/// the switch's inputs; `start <= answer <= end`.
#[derive(Debug, Clone, PartialEq)]
pub struct CdrRecord {
    /// The call in the switch's effects and events (its media session is
    /// known by it).
    pub call: CallRef,
    /// Call-ID of the caller's leg.
    pub call_id: CallId,
    /// Who called: the authenticated user name, or the From user (a number)
    /// of a trunk call.
    pub caller: ByteStr,
    /// The caller's domain: the user's domain, or the From host of a trunk call.
    pub caller_domain: ByteStr,
    /// Who was called after routing (user name or number); the dialed
    /// string when routing named nobody.
    pub callee: ByteStr,
    /// The Request-URI user (or `tel:` number) as dialed.
    pub dialed: ByteStr,
    /// Where the call came from.
    pub source: CallSource,
    /// Where it went.
    pub destination: CallDestination,
    /// When the INVITE arrived.
    pub start_unix_ms: u64,
    /// When the callee's 2xx arrived; `None` when never answered.
    pub answer_unix_ms: Option<u64>,
    /// When the call ended.
    pub end_unix_ms: u64,
    /// How it ended.
    pub disposition: Disposition,
    /// The final status of the call towards the caller (200 when answered).
    pub sip_status: StatusCode,
    /// Which side ended it.
    pub hangup_by: HangupBy,
    /// Why the switch ended it, when there is more to say than `hangup_by`
    /// (a media timeout).
    pub end_reason: Option<EndReason>,
    /// The B leg of the device that answered (also when the caller never
    /// got that answer); the caller's leg is [`LegId::A`]. `None` when no
    /// device answered (not answered, or answered by the switch itself:
    /// [`CallDestination::Media`]).
    pub answered_leg: Option<LegId>,
    /// What the media gateway measured. The switch always leaves it `None`:
    /// the driver fills it in from the call's media session (the caller's
    /// leg is [`LegId::A`], the callee's [`CdrRecord::answered_leg`]) before
    /// writing the record.
    pub media: Option<MediaSummary>,
}

impl CdrRecord {
    /// `end − start` in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.end_unix_ms.saturating_sub(self.start_unix_ms)
    }

    /// `end − answer` in milliseconds; 0 when not answered.
    pub fn billable_ms(&self) -> u64 {
        self.answer_unix_ms
            .map_or(0, |a| self.end_unix_ms.saturating_sub(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_dispositions() {
        let d = |c| Disposition::of_failure(StatusCode::new(c).unwrap());
        assert_eq!(d(486), Disposition::Busy);
        assert_eq!(d(603), Disposition::Busy);
        assert_eq!(d(480), Disposition::NoAnswer);
        assert_eq!(d(408), Disposition::NoAnswer);
        assert_eq!(d(487), Disposition::Cancelled);
        assert_eq!(d(404), Disposition::Failed);
        assert_eq!(d(503), Disposition::Failed);
        assert_eq!(Disposition::NoAnswer.to_string(), "NO ANSWER");
    }

    #[test]
    fn destinations_and_end_reasons_as_stored() {
        let echo = CallDestination::Media(ByteStr::from_static("echo"));
        assert_eq!((echo.kind(), echo.name()), ("media", Some("echo")));
        assert_eq!(CallDestination::None.name(), None);
        assert_eq!(EndReason::MediaTimeout.to_string(), "media_timeout");
    }
}
