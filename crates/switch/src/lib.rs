//! Switchboard's transaction user: the registrar (RFC 3261 §10), digest
//! authentication policy, and call control as a back-to-back user agent
//! (RFC 3261 §12–§15) with forking, CANCEL, re-INVITE and CDRs. Sans-IO.
//!
//! Owns: the [`Switch`] state machine with its transaction layer, the in-memory
//! location table (registrations are served from memory and written behind to
//! the store through effects), the credential cache, the user directory
//! (extensions, call groups, start contexts, call permissions: pushed in as
//! a [`UserDirectory`], compiled to hash maps), the live calls with their
//! dialogs, the trunks (source-address ACL, outbound registration, outbound
//! calls), the execution of dialplan decisions, and the decision of which
//! response every request gets. The dialplan itself is compiled elsewhere and
//! handed in ([`Switch::set_dialplan`]); the switch only evaluates and runs it.
//!
//! Must not depend on: tokio, sqlx, sockets, clocks, global randomness, or the
//! media engine's types. Time comes in as `now: Instant` (and wall-clock Unix
//! milliseconds where records need it); randomness comes from a seed in
//! [`SwitchConfig`]; SDP goes to the media engine and back as opaque bytes.
//! Trunk gateways come in as socket addresses (the driver resolves names).
//!
//! How to drive it (see `sb-server` for the real driver):
//! 0. build it with [`Switch::new`], hand it the compiled dialplan
//!    ([`Switch::set_dialplan`], again on every reload) and the user
//!    directory ([`Switch::set_directory`], again whenever users or groups
//!    change), then call [`Switch::start`] once: trunks that register send
//!    their first REGISTER (the first [`Switch::handle_timeout`] starts them
//!    when `start` was never called);
//! 1. feed inputs: [`Switch::handle_inbound`] for each parsed message,
//!    [`Switch::handle_malformed`] for bytes that did not parse,
//!    [`Switch::handle_timeout`] when [`Switch::poll_timeout`]'s instant has
//!    come, [`Switch::handle_effect_result`] when an effect finishes,
//!    [`Switch::shutdown`] to end every call and remove the trunks'
//!    registrations before stopping (keep driving it until
//!    [`Switch::shutdown_complete`] or a grace period ends);
//! 2. after every input, drain [`Switch::poll_transmit`] (send each
//!    [`Transmit`]), [`Switch::poll_effect`] (run each [`Effect`];
//!    [`Effect::expects_result`] says which ones the switch waits for) and
//!    [`Switch::poll_event`];
//! 3. administrative commands are inputs too, drained the same way:
//!    [`Switch::set_trunks`] (replace the trunks), [`Switch::hang_up`] (end
//!    a call by its caller's Call-ID), [`Switch::media_timeout`] (the media
//!    gateway saw no RTP on a call), [`Switch::remove_binding`] (drop a
//!    registration), [`Switch::set_directory`]. Read-only views:
//!    [`Switch::calls`] ([`CallSnapshot`] with its legs), [`Switch::trunks`],
//!    [`Switch::location`], [`Switch::stats`] (with
//!    [`SwitchStats::responses_sent`] by status code);
//! 4. in a cluster (several nodes sharing a database), the driver also feeds
//!    the other live nodes ([`Switch::set_cluster_peers`]), their bindings
//!    as the shared store has them ([`Switch::apply_remote_bindings`]) and
//!    this node's bindings deleted elsewhere ([`Switch::forget_binding`]);
//!    calls to another node's binding are handed to that node, and a node
//!    admits the calls handed to it ([`CallSource::Node`]); see the
//!    `cluster` module.
//!
//! The REGISTER flow: no credentials → 401 with one stateless nonce challenge
//! per configured algorithm; credentials → nonce checked (HMAC, expiry →
//! `stale=true`), user's HA1 from the cache or through a
//! [`Effect::FetchCredentials`] effect (the request waits, at most
//! [`AuthPolicy::effect_timeout`], then 503), digest verified, nonce-count
//! replay refused; the registrar applies the contacts; 200 lists every binding
//! with its remaining time; [`Effect::PersistBinding`] /
//! [`Effect::RemoveBinding`] go to the store; expiry runs on a timer;
//! [`Switch::remove_binding`] removes one by an administrator's decision.
//! Unknown users, disabled users and wrong passwords get the very same answer
//! (a fresh 401), so REGISTER cannot tell which users exist.
//!
//! The call flow (leg A: caller ↔ switch, legs B: switch ↔ callee devices):
//! - INVITE → admission: from a [`TrunkConfig`] source address, no
//!   authentication ([`CallSource::Trunk`]); otherwise digest with 407 and
//!   `Proxy-Authenticate` (credentials as for REGISTER), and the From user
//!   must be the authenticated one (403). 100 Trying as soon as the request
//!   is taken (before a credential lookup, or before routing).
//! - Call permissions (users only, never trunks), on the number as dialed,
//!   before the dialplan: a `deny` pattern ([`DirectoryUser::deny`],
//!   [`GroupPolicy::deny`]; dialplan number patterns,
//!   [`sb_dialplan::NumberPattern`]) of the user or one of its groups that
//!   matches, or — when the user or one of its groups lists what is
//!   allowed — no `allow` pattern matching, refuses the call with 403 (CDR
//!   `FAILED`, 403, `system`).
//! - Routing: the facts of the call (caller, dialed number and domain,
//!   source, the caller's groups — [`DirectoryUser::groups`] then
//!   [`CallPolicy::user_groups`] — and time) go to the dialplan
//!   ([`sb_dialplan::Dialplan::evaluate`]), starting for users in the
//!   user's [`DirectoryUser::context`], else that of its first group with
//!   one, else [`CallPolicy::user_context`], and in the trunk's
//!   [`TrunkConfig::context`] for trunk calls (a registered trunk that calls
//!   the Contact it registered has the number in To). No rule: 404; an
//!   unknown context or a `goto` loop: 500. The decision's caller ID (From
//!   display name and user) and headers go on every B-leg INVITE, and its
//!   steps run in order: `Ring` rings users by name or by
//!   [`DirectoryUser::extension`] in the call's domain (the CDR names the
//!   user), checks they exist (credential cache or
//!   [`Effect::FetchCredentials`]: nobody → 404) and have devices (none →
//!   480), parallel or sequential, for the step's timeout (default
//!   [`CallPolicy::no_answer_timeout`]); `Trunk` goes out through trunks
//!   (below); `Reject` answers its status; `Echo` and `Tone` are answered by
//!   the switch with the media gateway's media ([`Effect::MediaLocal`]):
//!   `Echo` answers (200, ACK awaited) and lasts until the caller's BYE; a
//!   `Tone` that is the last step answers, plays for its duration and then
//!   the switch sends BYE (`hangup_by` system); a `Tone` followed by more
//!   steps plays as early media (183 with the gateway's SDP) for its
//!   duration, then the next step runs. The CDR's destination is
//!   [`CallDestination::Media`]. An INVITE without SDP gets 488 from `Echo`
//!   or a final `Tone` (an early `Tone` is skipped). A step that fails moves
//!   on to the next; when none is left the caller gets the best failure of
//!   all steps. Without a dialplan the switch rings the Request-URI user of
//!   a served domain. Nothing is ever relayed to a foreign domain.
//! - Media: every SDP goes through [`Effect::MediaOffer`] /
//!   [`Effect::MediaAnswer`] with `anchor` set from the dialplan rule's
//!   `media` option, else [`CallPolicy::anchor_media`] (no gateway at all,
//!   [`CallPolicy::media_gateway`] `false`: never). An SDP the gateway cannot
//!   accept ([`EffectResult::MediaNotAcceptable`]) gets 488 where the call
//!   stays consistent (the caller's offer, a re-INVITE's).
//! - Ringing: one B leg per device (one per RFC 5626 instance), each a new
//!   dialog (fresh Call-ID, tags, CSeq 1, the switch's Via and Contact,
//!   Max-Forwards decremented, Route from the registration's Path), sent to
//!   the address and connection the device registered from (NAT). Each leg's
//!   SDP comes from [`Effect::MediaOffer`]. 18x are relayed with the switch's
//!   one To tag; early media SDP (through [`Effect::MediaAnswer`]) from one
//!   leg only. The first 2xx wins: the others get CANCEL (only once they
//!   rang, RFC 3261 §9.1; given up 64·T1 later), a late 2xx gets ACK and BYE.
//!   When every leg fails the caller gets the best failure (RFC 3261 §16.7:
//!   6xx, else lowest class, 486 over 480/408; a device's 503 becomes 500).
//!   No answer within the step's ring time: CANCEL everywhere, the next step
//!   (or 480 to the caller, CDR `NO ANSWER`).
//! - Trunks out: Request-URI and To `sip:NUMBER@gateway`, From
//!   `sip:from_user-or-caller-number@from_domain-or-gateway`; a 401/407 is
//!   answered once per leg with digest credentials (a second challenge fails
//!   the attempt); 408, 5xx, no response (Timer B) and refused credentials
//!   fail over to the next trunk of the step, other failures end the step.
//!   The CDR names the trunk that answered (or was tried last).
//! - Trunk registration (RFC 3261 §10.2): REGISTER to the gateway from
//!   [`Switch::start`], challenges answered (MD5 or SHA-256, `qop=auth`),
//!   refreshed at 90 % of the interval granted, retried after failures
//!   (30 s doubling to 5 min), removed at shutdown;
//!   [`SwitchEvent::TrunkRegistered`] / [`SwitchEvent::TrunkRegistrationFailed`]
//!   report it and [`Switch::trunks`] shows it. Passwords are kept only to
//!   compute digests and never appear in `Debug` output or logs.
//!   [`Switch::set_trunks`] replaces the trunks while running: new ones
//!   register, changed ones register again (the same registration when the
//!   account and registrar are unchanged), removed ones are unregistered and
//!   dropped; a call leg through a trunk keeps the settings it started with,
//!   so calls in progress are not affected.
//! - Answer: 200 to the caller with the media engine's SDP, retransmitted
//!   (T1 doubling to T2, UDP) until the caller's ACK, which is relayed as the
//!   ACK of the callee's 2xx (a delayed offer's answer travels in the ACKs).
//!   No ACK in 64·T1: BYE on both legs.
//! - In the dialogs: requests are found by Call-ID and the switch's tag and
//!   checked for the peer's From tag and a rising CSeq (else 481 / 500, never
//!   relayed). BYE → 200 and BYE on the other leg; re-INVITE (one at a time,
//!   491 otherwise), UPDATE, INFO, OPTIONS, MESSAGE are relayed as new
//!   requests of the other dialog with their responses relayed back; CANCEL
//!   before the answer → 200, 487, CANCEL to every device. On anchored calls
//!   an INFO digit (`application/dtmf-relay`, `application/dtmf`) is
//!   answered 200 by the switch and goes to the other leg as
//!   [`Effect::MediaDtmf`] (RFC 4733 events), not relayed.
//! - Hang-up on request ([`Switch::hang_up`]): an answered call gets BYE on
//!   both legs; an unanswered one CANCEL towards its devices and 480
//!   ("Call Terminated") to the caller; the CDR's `hangup_by` is `system`.
//!   [`Switch::media_timeout`] (the gateway saw no RTP) ends a call the same
//!   way, with [`CdrRecord::end_reason`] [`EndReason::MediaTimeout`].
//! - End: [`Effect::MediaRelease`], [`Effect::WriteCdr`] with a
//!   [`CdrRecord`] (its [`CdrRecord::call`] and [`CdrRecord::answered_leg`]
//!   name the media session's legs, [`LegId::A`] being the caller's; the
//!   driver fills [`CdrRecord::media`]; a failed write is reported as
//!   [`SwitchEvent::CdrWriteFailed`], not retried), [`SwitchEvent::CallEnded`].
//!   Media effects that fail or time out ([`CallPolicy::media_timeout`]) end
//!   the call: 503 to an unanswered caller, BYE otherwise.
//! - Keep-alives: with [`CallPolicy::keepalive_interval`], CRLF CRLF to UDP
//!   devices that registered with `;ob` or a `reg-id`.

mod acl;
mod auth;
mod call;
mod cluster;
mod config;
mod core;
mod directory;
mod domains;
mod effects;
mod events;
mod keepalive;
mod pending;
mod register;
pub mod registrar;
mod reply;
mod respond;
pub mod timers;
mod trunk;

pub use acl::{InvalidPrefix, IpPrefix};
pub use call::cdr::{
    CallDestination, CallSource, CdrRecord, Disposition, EndReason, HangupBy, MediaLegRole,
    MediaLegSummary, MediaSummary,
};
pub use call::{CallRef, CallSnapshot, CallState, LegId, LegSnapshot, LegState};
pub use config::{AuthPolicy, CallPolicy, RegistrarPolicy, SwitchConfig, TrunkConfig};
pub use core::{Switch, Wakeup};
pub use directory::{DirectoryError, DirectoryUser, GroupPolicy, UserDirectory};
pub use effects::{
    BindingId, BindingRecord, Effect, EffectResult, EffectToken, LocalMedia, StoredCredentials,
};
pub use events::{RemovalReason, ResponseCounts, SwitchEvent, SwitchStats};
pub use sb_sip_transaction::Transmit;
pub use trunk::TrunkSnapshot;
