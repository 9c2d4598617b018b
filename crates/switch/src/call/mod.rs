//! Call control: a back-to-back user agent (RFC 3261 §12–§15). Every call is
//! two dialogs: leg A with the caller (the switch is its UAS) and leg B with
//! the callee (the switch is its UAC, one dialog per forked device until one
//! answers). Nothing is proxied: each leg has its own Call-ID, tags, CSeq
//! numbers, Via and Contact, and the switch relays what one leg says to the
//! other (provisional and final responses, ACK, BYE, re-INVITE, UPDATE, INFO,
//! OPTIONS), asking the media engine to rewrite every SDP on the way.
//!
//! Files: [`invite`] takes a new INVITE (authentication, trunk ACL),
//! [`plan`] evaluates the dialplan and runs its steps (callee lookup),
//! [`fork`] runs the B legs (forking, CANCEL, best response), [`trunk`] the
//! legs through trunks (credentials, failover), [`cancel`] disposes of legs
//! nobody wants, [`answer`] the 2xx/ACK exchange, [`relay`] requests inside
//! a dialog, [`media`] the media effects, [`local`] calls the switch answers
//! with media of its own (echo, tone), [`dtmf`] SIP INFO digits on anchored
//! calls, [`end`] teardown, CDRs, shutdown, hanging up on request and media
//! timeouts, [`snapshot`] the live view of calls.

pub(crate) mod cdr;
pub(crate) mod cdr_media;
pub(crate) mod dialog;
pub(crate) mod plan;
pub(crate) mod snapshot;

mod answer;
mod best;
mod cancel;
pub(crate) mod confirm;
mod dtmf;
mod end;
mod fork;
mod invite;
mod local;
mod media;
mod relay;
mod trunk;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use foldhash::fast::FixedState;
use sb_sip_message::{Aor, ByteStr, Method, Request, Response, StatusCode, Tag};
use sb_sip_transaction::TxId;

use crate::config::TrunkConfig;
use crate::timers::{TimerHandle, TimerQueue};
use cdr::{CallDestination, CallSource, CdrRecord, Disposition};
pub(crate) use dialog::Dialog;
pub(crate) use local::LocalPlay;
pub(crate) use media::MediaStep;
use plan::{Plan, RingLookup, TrunkStep};
pub use snapshot::{CallSnapshot, LegSnapshot, LegState};

/// Identifies one call in the switch (and in its effects and events).
/// Numbers are never reused within a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallRef(pub u64);

impl fmt::Display for CallRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call-{}", self.0)
    }
}

/// One leg of a call: [`LegId::A`] is the caller's; the B legs towards the
/// callee's devices are numbered from 1 in the order they were created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u32);

impl LegId {
    /// The caller's leg.
    pub const A: LegId = LegId(0);

    /// Whether this is the caller's leg.
    pub fn is_a(self) -> bool {
        self == LegId::A
    }

    fn fork_index(self) -> Option<usize> {
        usize::try_from(self.0).ok()?.checked_sub(1)
    }
}

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_a() {
            f.write_str("leg-A")
        } else {
            write!(f, "leg-B{}", self.0)
        }
    }
}

/// Where a live call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// Looking up the callee.
    Routing,
    /// Devices or trunks are being called.
    Ringing,
    /// A device answered (the caller may not have acknowledged yet).
    Answered,
}

/// What a transaction is to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TxRole {
    /// The caller's INVITE (server).
    AInvite,
    /// The INVITE of a B leg (client).
    Fork(LegId),
    /// The INVITE of a B leg whose call is over: cancelled when it rings
    /// (unless done already), acknowledged and hung up when it answers.
    Orphan {
        /// Whether its CANCEL went out.
        cancel_sent: bool,
    },
    /// A CANCEL or BYE the switch sent; its response needs nothing.
    Fire,
    /// A relayed request (client), by relay number.
    Relay(u32),
    /// A relayed re-INVITE as received (server), by relay number.
    RelayServer(u32),
}

/// Timers of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallTimer {
    /// The ring time of the current step (a parallel ring, one attempt
    /// through a trunk) is over.
    NoAnswer,
    /// The current member of a sequential ring group rang long enough.
    NextGroup,
    /// Retransmit the 2xx the switch sent (RFC 3261 §13.3.1.4).
    Retransmit2xx,
    /// No ACK for the 2xx within 64·T1.
    AckTimeout,
    /// The switch's own tone has played for its duration.
    ToneEnd,
}

/// Whether a B leg is to be cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancel {
    No,
    /// Cancel as soon as a provisional response arrives (RFC 3261 §9.1).
    Wanted,
    /// CANCEL sent.
    Sent,
}

/// Where a B leg is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ForkState {
    /// Waiting for the media engine's offer.
    Offering,
    /// INVITE sent, no response yet.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// It answered (the winner).
    Answered,
    /// Over: failed, cancelled or lost.
    Done,
}

/// Who a B leg calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForkTarget {
    /// A device of a local user (the user name).
    User(ByteStr),
    /// A trunk's gateway, with the trunk's settings as they were when the
    /// leg started (the trunk may change or go while the call lasts).
    Trunk(Arc<TrunkConfig>),
}

impl ForkTarget {
    /// The CDR's destination when this leg answers.
    pub(crate) fn destination(&self) -> CallDestination {
        match self {
            ForkTarget::User(user) => CallDestination::User(user.clone()),
            ForkTarget::Trunk(trunk) => CallDestination::Trunk(ByteStr::from(trunk.name.as_str())),
        }
    }
}

/// One B leg.
#[derive(Debug)]
pub(crate) struct Fork {
    pub(crate) leg: LegId,
    pub(crate) state: ForkState,
    /// The INVITE's transaction (the latest, after a challenge).
    pub(crate) tx: Option<TxId>,
    pub(crate) dialog: Dialog,
    /// Who it calls (for the CDR, and trunk credentials).
    pub(crate) target: ForkTarget,
    /// CSeq number of its INVITE.
    pub(crate) invite_cseq: u32,
    pub(crate) cancel: Cancel,
    /// The SDP its INVITE carries (sent again with credentials).
    pub(crate) sdp: Option<Bytes>,
    /// A digest challenge to its INVITE was answered (once per leg).
    pub(crate) auth_answered: bool,
    /// A provisional response other than 100 arrived.
    pub(crate) rang: bool,
}

/// A request received on one leg and sent on the other, waiting for its
/// answer.
#[derive(Debug)]
pub(crate) struct Relay {
    pub(crate) id: u32,
    pub(crate) from: LegId,
    pub(crate) to: LegId,
    pub(crate) server_tx: TxId,
    pub(crate) request: Request,
    pub(crate) client_tx: Option<TxId>,
    /// The request carried an SDP offer (so a 2xx carries the answer).
    pub(crate) offer_in_request: bool,
    /// CSeq number of the request as sent.
    pub(crate) sent_cseq: u32,
}

/// A 2xx to an INVITE the switch sent on leg `toward`, retransmitted until
/// its ACK arrives; the ACK is then relayed to leg `other`, whose 2xx it
/// acknowledges (`None`: the switch answered the call itself, nothing to
/// relay).
#[derive(Debug)]
pub(crate) struct AckWait {
    pub(crate) toward: LegId,
    pub(crate) server_tx: TxId,
    pub(crate) cseq: u32,
    pub(crate) response: Response,
    pub(crate) other: Option<LegId>,
    pub(crate) other_cseq: u32,
    /// The 2xx carried an offer, so the ACK carries the answer.
    pub(crate) answer_in_ack: bool,
    pub(crate) interval: Duration,
    pub(crate) retransmit: Option<TimerHandle>,
    pub(crate) give_up: TimerHandle,
}

/// The failure response chosen so far among the B legs.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) reason: ByteStr,
    /// Contacts of a 3xx, relayed to the caller.
    pub(crate) contacts: Vec<ByteStr>,
    /// The switch decided it (a leg cancelled after ringing too long, a leg
    /// that could not be sent), not the device.
    pub(crate) system: bool,
    /// The CDR's disposition if this failure ends the call.
    pub(crate) disposition: Disposition,
}

/// One call.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) id: CallRef,
    pub(crate) state: CallState,
    /// The caller's dialog (the switch is its UAS).
    pub(crate) a: Dialog,
    pub(crate) a_tx: TxId,
    /// The caller's INVITE, until its final response.
    pub(crate) a_invite: Option<Request>,
    /// Record-Route of the caller's INVITE, copied into responses.
    pub(crate) a_record_route: Vec<ByteStr>,
    /// A provisional response with the switch's tag went to the caller.
    pub(crate) a_early: bool,
    /// Early media (a provisional response with SDP) went to the caller.
    pub(crate) a_early_media: bool,
    /// Max-Forwards for requests sent on B legs.
    pub(crate) max_forwards: u32,
    /// The caller's SDP offer (`None`: the INVITE had none).
    pub(crate) offer: Option<Bytes>,
    /// From for B legs to users (the caller's identity after the
    /// dialplan's caller ID, without tag).
    pub(crate) b_from: ByteStr,
    /// What the dialplan decided, and the steps still to run.
    pub(crate) plan: Plan,
    pub(crate) forks: Vec<Fork>,
    /// Members of a sequential ring group still to ring.
    pub(crate) groups: VecDeque<Vec<Aor>>,
    pub(crate) group_timeout: Option<Duration>,
    pub(crate) winner: Option<LegId>,
    /// The B leg whose early media the caller gets.
    pub(crate) early_leg: Option<LegId>,
    pub(crate) best: Option<Failure>,
    pub(crate) relays: Vec<Relay>,
    pub(crate) next_relay: u32,
    pub(crate) ack_wait: Option<AckWait>,
    /// The ring time of the current step (parallel ring, trunk attempt).
    pub(crate) step_timer: Option<TimerHandle>,
    pub(crate) group_timer: Option<TimerHandle>,
    /// A ring step waiting for its users' existence to be looked up.
    pub(crate) ring_lookup: Option<RingLookup>,
    /// The trunk step being run.
    pub(crate) trunk_step: Option<TrunkStep>,
    /// A media effect was emitted (so the media engine holds a session).
    pub(crate) media_used: bool,
    /// The call's media goes through the gateway (the dialplan's `media`
    /// option, else the policy); set for good once the switch plays media
    /// of its own.
    pub(crate) anchor: bool,
    /// Media the switch plays itself (echo, tone), while it does.
    pub(crate) local: Option<LocalPlay>,
    /// The record, completed when the call ends.
    pub(crate) cdr: CdrRecord,
    /// A call another node handed over for this node's binding with this
    /// contact ([`crate::cluster`]): only that binding rings, and no record
    /// is written here.
    pub(crate) hop_contact: Option<sb_sip_message::Uri>,
}

impl Call {
    pub(crate) fn fork(&self, leg: LegId) -> Option<&Fork> {
        self.forks.get(leg.fork_index()?)
    }

    pub(crate) fn fork_mut(&mut self, leg: LegId) -> Option<&mut Fork> {
        self.forks.get_mut(leg.fork_index()?)
    }

    /// Whether the call is answered: by a device, or by the switch itself
    /// (echo, tone).
    pub(crate) fn answered(&self) -> bool {
        self.winner.is_some() || self.local.as_ref().is_some_and(|l| l.answered)
    }

    /// The dialog of leg `leg`.
    pub(crate) fn dialog_mut(&mut self, leg: LegId) -> Option<&mut Dialog> {
        if leg.is_a() {
            Some(&mut self.a)
        } else {
            self.fork_mut(leg).map(|f| &mut f.dialog)
        }
    }

    /// The leg a request received on `leg` is relayed to: the caller's
    /// requests go to the answering device (or, before the answer, the one
    /// giving early media); a device's requests go to the caller once the
    /// caller knows the dialog.
    pub(crate) fn peer_of(&self, leg: LegId) -> Option<LegId> {
        if leg.is_a() {
            self.winner.or(self.early_leg)
        } else if self.winner == Some(leg) || (self.winner.is_none() && self.a_early) {
            Some(LegId::A)
        } else {
            None
        }
    }
}

/// Every live call and the indexes that find them.
#[derive(Debug)]
pub(crate) struct Calls {
    pub(crate) map: BTreeMap<CallRef, Box<Call>>,
    /// Dialogs by Call-ID: (the switch's tag, call, leg).
    dialogs: HashMap<ByteStr, Vec<(Tag, CallRef, LegId)>, FixedState>,
    pub(crate) by_tx: HashMap<TxId, (CallRef, TxRole), FixedState>,
    pub(crate) timers: TimerQueue<(CallRef, CallTimer)>,
    /// INVITE client transactions given up 64·T1 after their CANCEL unless
    /// a final response ends them first (RFC 3261 §9.1).
    pub(crate) guards: TimerQueue<TxId>,
    /// Live calls placed by each local user (by the name they authenticated
    /// as), for [`crate::CallPolicy::max_calls_per_user`].
    per_user: HashMap<ByteStr, u32, FixedState>,
    next: u64,
}

impl Calls {
    pub(crate) fn new(seed: u64) -> Calls {
        Calls {
            map: BTreeMap::new(),
            dialogs: HashMap::with_hasher(FixedState::with_seed(seed)),
            by_tx: HashMap::with_hasher(FixedState::with_seed(seed)),
            timers: TimerQueue::new(),
            guards: TimerQueue::new(),
            per_user: HashMap::with_hasher(FixedState::with_seed(seed)),
            next: 1,
        }
    }

    /// Live calls `user` placed.
    pub(crate) fn of_user(&self, user: &ByteStr) -> u32 {
        self.per_user.get(user).copied().unwrap_or(0)
    }

    /// A call placed by `source` began (trunk calls are not counted).
    pub(crate) fn source_started(&mut self, source: &CallSource) {
        if let CallSource::User(user) = source {
            *self.per_user.entry(user.clone()).or_insert(0) += 1;
        }
    }

    /// A call placed by `source` ended.
    pub(crate) fn source_ended(&mut self, source: &CallSource) {
        if let CallSource::User(user) = source
            && let Some(count) = self.per_user.get_mut(user)
        {
            *count -= 1;
            if *count == 0 {
                self.per_user.remove(user);
            }
        }
    }

    pub(crate) fn allocate(&mut self) -> CallRef {
        let id = CallRef(self.next);
        self.next += 1;
        id
    }

    pub(crate) fn add_dialog(&mut self, dialog: &Dialog, call: CallRef, leg: LegId) {
        self.dialogs
            .entry(dialog.call_id.0.clone())
            .or_default()
            .push((dialog.local_tag.clone(), call, leg));
    }

    pub(crate) fn remove_dialog(&mut self, dialog: &Dialog) {
        if let Some(list) = self.dialogs.get_mut(dialog.call_id.as_str()) {
            list.retain(|(tag, _, _)| *tag != dialog.local_tag);
            if list.is_empty() {
                self.dialogs.remove(dialog.call_id.as_str());
            }
        }
    }

    /// The call whose caller's leg has Call-ID `call_id`.
    pub(crate) fn by_caller_call_id(&self, call_id: &str) -> Option<CallRef> {
        self.dialogs
            .get(call_id)?
            .iter()
            .find(|(_, _, leg)| leg.is_a())
            .map(|&(_, call, _)| call)
    }

    /// The call and leg of the dialog whose Call-ID is `call_id` and whose
    /// tag on the switch's side is `local_tag`.
    pub(crate) fn find_dialog(&self, call_id: &str, local_tag: &str) -> Option<(CallRef, LegId)> {
        self.dialogs
            .get(call_id)?
            .iter()
            .find(|(tag, _, _)| tag.as_str() == local_tag)
            .map(|&(_, call, leg)| (call, leg))
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// The earliest call timer or CANCEL guard.
    pub(crate) fn next_deadline(&self) -> Option<std::time::Instant> {
        match (self.timers.next_deadline(), self.guards.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Whether a message body is an SDP session description (the only body the
/// media engine rewrites): `application/sdp`, or a body without Content-Type.
pub(crate) fn is_sdp(headers: &sb_sip_message::Headers, body: &Bytes) -> bool {
    if body.is_empty() {
        return false;
    }
    match headers.get(&sb_sip_message::HeaderName::ContentType) {
        None => true,
        Some(ct) => ct
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/sdp")),
    }
}

/// Whether `method` is relayed inside a dialog.
pub(crate) fn relayed_method(method: &Method) -> bool {
    matches!(
        method,
        Method::Invite | Method::Update | Method::Info | Method::Options | Method::Message
    )
}
