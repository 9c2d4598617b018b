//! What a call-detail record is: the record to insert, the stored record, its enums and
//! the query that selects records. Times are UTC instants as unix milliseconds (`i64`).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::{CdrCursor, StoreError};

/// Database identity of a call-detail record, assigned on insert; later inserts get
/// larger ids (within one database).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CdrId(i64);

impl CdrId {
    /// Wraps a raw id (as printed by [`CdrId::get`]).
    pub fn new(id: i64) -> Self {
        CdrId(id)
    }

    /// The raw id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// How a call ended, as billing systems name it. Stored as the upper-case text of
/// [`Disposition::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The callee answered (the record has an answer time).
    Answered,
    /// Nobody answered before the caller gave up or the ring timeout expired.
    NoAnswer,
    /// The callee was busy (486 or 600).
    Busy,
    /// The call failed for another reason (no route, error response, timeout).
    Failed,
    /// The caller cancelled the call before it was answered (RFC 3261 §9).
    Cancelled,
}

impl Disposition {
    /// Every disposition, in declaration order.
    pub const ALL: [Disposition; 5] = [
        Disposition::Answered,
        Disposition::NoAnswer,
        Disposition::Busy,
        Disposition::Failed,
        Disposition::Cancelled,
    ];

    /// The stored text: `ANSWERED`, `NO ANSWER`, `BUSY`, `FAILED` or `CANCELLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Answered => "ANSWERED",
            Disposition::NoAnswer => "NO ANSWER",
            Disposition::Busy => "BUSY",
            Disposition::Failed => "FAILED",
            Disposition::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for Disposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Disposition {
    type Err = StoreError;

    /// Parses the stored text exactly (upper case, one space in `NO ANSWER`).
    fn from_str(text: &str) -> Result<Self, StoreError> {
        Disposition::ALL
            .into_iter()
            .find(|d| d.as_str() == text)
            .ok_or(StoreError::InvalidInput {
                field: "disposition",
                reason: "expected ANSWERED, NO ANSWER, BUSY, FAILED or CANCELLED",
            })
    }
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupBy {
    /// The calling party (BYE or CANCEL from the caller).
    Caller,
    /// The called party (BYE or a final failure response from the callee).
    Callee,
    /// The switch itself (timeout, shutdown, media failure, no route).
    System,
}

impl HangupBy {
    /// Every value, in declaration order.
    pub const ALL: [HangupBy; 3] = [HangupBy::Caller, HangupBy::Callee, HangupBy::System];

    /// The stored text: `caller`, `callee` or `system`.
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

impl FromStr for HangupBy {
    type Err = StoreError;

    /// Parses the stored text exactly (lower case).
    fn from_str(text: &str) -> Result<Self, StoreError> {
        HangupBy::ALL
            .into_iter()
            .find(|h| h.as_str() == text)
            .ok_or(StoreError::InvalidInput {
                field: "hangup_by",
                reason: "expected caller, callee or system",
            })
    }
}

/// Where a call came from. Stored as a kind (`user`, `trunk`) and a non-empty name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CdrSource {
    /// A local user, by username.
    User(String),
    /// A trunk, by its configured name.
    Trunk(String),
}

impl CdrSource {
    /// The stored kind: `user` or `trunk`.
    pub fn kind(&self) -> &'static str {
        match self {
            CdrSource::User(_) => "user",
            CdrSource::Trunk(_) => "trunk",
        }
    }

    /// The user or trunk name.
    pub fn name(&self) -> &str {
        match self {
            CdrSource::User(name) | CdrSource::Trunk(name) => name,
        }
    }
}

/// Where a call went. Stored as a kind (`user`, `trunk`, `media`, `none`) and a name
/// that is present exactly when the kind is not `none`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CdrDestination {
    /// A local user, by username.
    User(String),
    /// A trunk, by its configured name.
    Trunk(String),
    /// The switch answered the call itself with media of its own, by what it played
    /// (`echo`, `tone`).
    Media(String),
    /// The call was never routed anywhere (rejected, no route, cancelled before routing).
    None,
}

impl CdrDestination {
    /// The stored kind: `user`, `trunk`, `media` or `none`.
    pub fn kind(&self) -> &'static str {
        match self {
            CdrDestination::User(_) => "user",
            CdrDestination::Trunk(_) => "trunk",
            CdrDestination::Media(_) => "media",
            CdrDestination::None => "none",
        }
    }

    /// The user or trunk name, or what the switch played; `None` for
    /// [`CdrDestination::None`].
    pub fn name(&self) -> Option<&str> {
        match self {
            CdrDestination::User(name)
            | CdrDestination::Trunk(name)
            | CdrDestination::Media(name) => Some(name),
            CdrDestination::None => None,
        }
    }
}

/// A call-detail record to insert. Times are UTC unix milliseconds.
///
/// Checked before it reaches the database (and again by the table's CHECK constraints):
/// `start <= answer <= end`, an answer time exactly when the disposition is
/// [`Disposition::Answered`], a final status in 100..=699, a non-empty Call-ID and names,
/// an end reason that is not empty when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCdr {
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Who called: a user name or a number, as text.
    pub caller: String,
    /// The caller's domain (of a local user, or the host a trunk call came from).
    pub caller_domain: String,
    /// Who was called, after routing (user name or number).
    pub callee: String,
    /// The number as dialed, before any rewriting.
    pub dialed: String,
    /// Where the call came from.
    pub source: CdrSource,
    /// Where the call went.
    pub destination: CdrDestination,
    /// When the call arrived (the initial INVITE), unix ms.
    pub start_unix_ms: i64,
    /// When it was answered (the 2xx), unix ms; `None` when never answered.
    pub answer_unix_ms: Option<i64>,
    /// When it ended, unix ms.
    pub end_unix_ms: i64,
    /// How it ended.
    pub disposition: Disposition,
    /// The final SIP status code of the call (200 when answered; e.g. 486, 487, 404).
    pub sip_status: u16,
    /// Which side ended it.
    pub hangup_by: HangupBy,
    /// The cluster node that handled the call, if any.
    pub node: Option<String>,
    /// Why the switch ended the call, when `hangup_by` does not say it all
    /// (`media_timeout`); stored as given.
    pub end_reason: Option<String>,
    /// The media gateway's summary of the call (JSON text written by the server); stored
    /// as given, never parsed here.
    pub media: Option<String>,
}

/// A stored call-detail record: the inserted fields plus the id and the durations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cdr {
    /// Row identity.
    pub id: CdrId,
    /// SIP Call-ID of the caller's leg.
    pub call_id: String,
    /// Who called: a user name or a number.
    pub caller: String,
    /// The caller's domain.
    pub caller_domain: String,
    /// Who was called, after routing.
    pub callee: String,
    /// The number as dialed, before any rewriting.
    pub dialed: String,
    /// Where the call came from.
    pub source: CdrSource,
    /// Where the call went.
    pub destination: CdrDestination,
    /// When the call arrived, unix ms.
    pub start_unix_ms: i64,
    /// When it was answered, unix ms, if it was.
    pub answer_unix_ms: Option<i64>,
    /// When it ended, unix ms.
    pub end_unix_ms: i64,
    /// `end - start` in milliseconds (never negative).
    pub duration_ms: i64,
    /// `end - answer` in milliseconds, 0 when the call was not answered.
    pub billable_ms: i64,
    /// How it ended.
    pub disposition: Disposition,
    /// The final SIP status code of the call.
    pub sip_status: u16,
    /// Which side ended it.
    pub hangup_by: HangupBy,
    /// The cluster node that handled the call, if any.
    pub node: Option<String>,
    /// Why the switch ended the call, if it said.
    pub end_reason: Option<String>,
    /// The media gateway's summary of the call (JSON text), if there is one.
    pub media: Option<String>,
}

impl Cdr {
    /// [`Cdr::duration_ms`] as a [`Duration`].
    pub fn duration(&self) -> Duration {
        millis(self.duration_ms)
    }

    /// [`Cdr::billable_ms`] as a [`Duration`].
    pub fn billable(&self) -> Duration {
        millis(self.billable_ms)
    }

    /// Whole seconds of the call, rounded down.
    pub fn duration_secs(&self) -> u64 {
        self.duration().as_secs()
    }

    /// Whole billable seconds, rounded down (a 59.9 s call is 59 s).
    pub fn billable_secs(&self) -> u64 {
        self.billable().as_secs()
    }

    /// Billable seconds counting every started second (a 59.1 s call is 60 s; an
    /// answered call of 0.2 s is 1 s).
    pub fn billable_started_secs(&self) -> u64 {
        u64::try_from(self.billable_ms).unwrap_or(0).div_ceil(1000)
    }

    /// The position of this record in the order of [`Store::query_cdrs`](crate::Store::query_cdrs)
    /// (either direction), to ask for the next page.
    pub fn cursor(&self) -> CdrCursor {
        CdrCursor {
            start_unix_ms: self.start_unix_ms,
            id: self.id,
        }
    }
}

fn millis(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl NewCdr {
    /// The invariants the table's CHECK constraints also enforce, reported per field.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        let invalid = |field, reason| Err(StoreError::InvalidInput { field, reason });
        if self.call_id.is_empty() {
            return invalid("call_id", "must not be empty");
        }
        if self.source.name().is_empty() {
            return invalid("source", "name must not be empty");
        }
        if self.destination.name().is_some_and(str::is_empty) {
            return invalid("destination", "name must not be empty");
        }
        if self.end_unix_ms < self.start_unix_ms {
            return invalid("end_unix_ms", "is before start_unix_ms");
        }
        if let Some(answer) = self.answer_unix_ms
            && !(self.start_unix_ms..=self.end_unix_ms).contains(&answer)
        {
            return invalid("answer_unix_ms", "is outside start_unix_ms..=end_unix_ms");
        }
        if (self.disposition == Disposition::Answered) != self.answer_unix_ms.is_some() {
            return invalid(
                "answer_unix_ms",
                "must be set exactly when the disposition is ANSWERED",
            );
        }
        if !(100..=699).contains(&self.sip_status) {
            return invalid("sip_status", "must be in 100..=699");
        }
        if self.end_reason.as_deref() == Some("") {
            return invalid("end_reason", "must not be empty");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip() {
        for d in Disposition::ALL {
            assert_eq!(d.as_str().parse::<Disposition>().expect("parses"), d);
            assert_eq!(d.to_string(), d.as_str());
        }
        for h in HangupBy::ALL {
            assert_eq!(h.as_str().parse::<HangupBy>().expect("parses"), h);
        }
        for bad in ["answered", "NO_ANSWER", "NOANSWER", " BUSY", ""] {
            assert!(bad.parse::<Disposition>().is_err(), "{bad:?}");
        }
        assert!("Caller".parse::<HangupBy>().is_err());
    }

    #[test]
    fn check_reports_the_first_broken_invariant() {
        let ok = NewCdr {
            call_id: "c1@192.0.2.1".to_owned(),
            caller: "alice".to_owned(),
            caller_domain: "example.com".to_owned(),
            callee: "bob".to_owned(),
            dialed: "201".to_owned(),
            source: CdrSource::User("alice".to_owned()),
            destination: CdrDestination::User("bob".to_owned()),
            start_unix_ms: 1_000,
            answer_unix_ms: Some(1_000),
            end_unix_ms: 1_000,
            disposition: Disposition::Answered,
            sip_status: 200,
            hangup_by: HangupBy::Caller,
            node: None,
            end_reason: None,
            media: None,
        };
        assert!(ok.check().is_ok(), "answer may equal start and end");
        let unanswered = NewCdr {
            answer_unix_ms: None,
            disposition: Disposition::Cancelled,
            sip_status: 487,
            destination: CdrDestination::None,
            ..ok.clone()
        };
        assert!(unanswered.check().is_ok());
        let field = |cdr: NewCdr| match cdr.check() {
            Err(StoreError::InvalidInput { field, .. }) => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        };
        assert_eq!(
            field(NewCdr {
                call_id: String::new(),
                ..ok.clone()
            }),
            "call_id"
        );
        assert_eq!(
            field(NewCdr {
                source: CdrSource::User(String::new()),
                ..ok.clone()
            }),
            "source"
        );
        assert_eq!(
            field(NewCdr {
                destination: CdrDestination::Trunk(String::new()),
                ..ok.clone()
            }),
            "destination"
        );
        assert_eq!(
            field(NewCdr {
                destination: CdrDestination::Media(String::new()),
                ..ok.clone()
            }),
            "destination"
        );
        assert_eq!(
            field(NewCdr {
                end_reason: Some(String::new()),
                ..ok.clone()
            }),
            "end_reason"
        );
        assert!(
            NewCdr {
                destination: CdrDestination::Media("echo".to_owned()),
                end_reason: Some("media_timeout".to_owned()),
                media: Some(String::new()),
                ..ok.clone()
            }
            .check()
            .is_ok(),
            "the media summary is opaque"
        );
        assert_eq!(
            field(NewCdr {
                end_unix_ms: 999,
                ..unanswered.clone()
            }),
            "end_unix_ms"
        );
        assert_eq!(
            field(NewCdr {
                answer_unix_ms: Some(1_001),
                ..ok.clone()
            }),
            "answer_unix_ms"
        );
        assert_eq!(
            field(NewCdr {
                answer_unix_ms: Some(1_000),
                ..unanswered.clone()
            }),
            "answer_unix_ms"
        );
        for status in [0, 99, 700, u16::MAX] {
            assert_eq!(
                field(NewCdr {
                    sip_status: status,
                    ..ok.clone()
                }),
                "sip_status"
            );
        }
        assert!(
            NewCdr {
                sip_status: 699,
                ..unanswered.clone()
            }
            .check()
            .is_ok()
        );
        assert!(
            NewCdr {
                sip_status: 100,
                ..unanswered
            }
            .check()
            .is_ok()
        );
    }

    #[test]
    fn seconds_helpers_round_as_documented() {
        let cdr = |duration_ms, billable_ms| Cdr {
            id: CdrId::new(1),
            call_id: "c".to_owned(),
            caller: String::new(),
            caller_domain: String::new(),
            callee: String::new(),
            dialed: String::new(),
            source: CdrSource::User("alice".to_owned()),
            destination: CdrDestination::None,
            start_unix_ms: 0,
            answer_unix_ms: None,
            end_unix_ms: duration_ms,
            duration_ms,
            billable_ms,
            disposition: Disposition::Answered,
            sip_status: 200,
            hangup_by: HangupBy::Caller,
            node: None,
            end_reason: None,
            media: None,
        };
        let c = cdr(61_999, 59_100);
        assert_eq!(c.duration_secs(), 61);
        assert_eq!(c.billable_secs(), 59);
        assert_eq!(c.billable_started_secs(), 60);
        assert_eq!(c.duration(), Duration::from_millis(61_999));
        assert_eq!(cdr(200, 200).billable_started_secs(), 1);
        assert_eq!(cdr(5_000, 0).billable_started_secs(), 0);
        assert_eq!(cdr(5_000, 3_000).billable_started_secs(), 3);
        assert_eq!(cdr(5_000, 3_000).billable_secs(), 3);
    }
}
