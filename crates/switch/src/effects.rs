//! Effects: the asynchronous work the switch asks its driver to do, and the
//! results fed back (DESIGN §3). The switch never waits: it emits an effect with
//! a token, keeps going, and resumes when the result arrives (or answers 503
//! when it does not arrive in time).

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use sb_sip_auth::Ha1;
use sb_sip_message::{Aor, ByteStr, CallId, Transport};

use crate::call::cdr::CdrRecord;
use crate::call::{CallRef, LegId};

/// Identifies one effect so its result can be matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EffectToken(pub u64);

impl fmt::Display for EffectToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "effect-{}", self.0)
    }
}

/// The identity of one binding within its address of record: `inst:<urn>:<reg-id>`
/// for RFC 5626 contacts, `inst:<urn>` for an instance without reg-id, otherwise
/// `uri:<contact URI>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BindingId(pub ByteStr);

impl fmt::Display for BindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unit of asynchronous work.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Look up a user's digest credentials; answer with
    /// [`EffectResult::Credentials`] (or [`EffectResult::Failed`]).
    FetchCredentials {
        /// User name (the digest `username`).
        username: ByteStr,
        /// Domain (the realm).
        domain: ByteStr,
    },
    /// Store (insert or replace) a binding. Written behind: no result is expected.
    PersistBinding(Box<BindingRecord>),
    /// Delete a binding. No result is expected.
    RemoveBinding {
        /// Its address of record.
        aor: Aor,
        /// Its identity.
        binding_id: BindingId,
    },
    /// An SDP offer arrived on leg `from` of `call` and is to be sent on leg
    /// `to`: the media engine creates or updates the call's session and
    /// answers with [`EffectResult::Media`], the offer to send on `to`
    /// (pass-through: the same bytes). `to_transport` is the signalling
    /// transport of leg `to` (WS/WSS: a browser, which needs WebRTC media).
    /// The switch waits at most [`crate::CallPolicy::media_timeout`].
    /// An offer the media engine cannot accept (no audio, nothing in
    /// common) is answered with [`EffectResult::MediaNotAcceptable`].
    MediaOffer {
        /// The call.
        call: CallRef,
        /// The leg the offer came from.
        from: LegId,
        /// The leg it goes to.
        to: LegId,
        /// Signalling transport of leg `to`.
        to_transport: Transport,
        /// The offer as received.
        sdp: Bytes,
        /// Whether the call's media goes through the gateway (the dialplan
        /// rule's `media` option, else [`crate::CallPolicy::anchor_media`]);
        /// `false`: pass-through, answer with the same bytes. The same for
        /// every media effect of a call.
        anchor: bool,
    },
    /// The SDP answer to an offer arrived on leg `from` and is to be sent on
    /// leg `to`; answered with [`EffectResult::Media`], the answer to send.
    /// When several B legs rang, the answer of the answering leg tells the
    /// media engine which one remains.
    MediaAnswer {
        /// The call.
        call: CallRef,
        /// The leg the answer came from.
        from: LegId,
        /// The leg it goes to.
        to: LegId,
        /// The answer as received.
        sdp: Bytes,
        /// Whether the call's media goes through the gateway (as for
        /// [`Effect::MediaOffer`]).
        anchor: bool,
    },
    /// The switch answers the call itself with media of its own (the
    /// dialplan's `echo` or `tone`): the media engine answers the offer
    /// `sdp` of leg `leg` (the caller's, [`LegId::A`]) from the gateway,
    /// starts `action` on that leg, and answers with [`EffectResult::Media`],
    /// the SDP answer the switch sends in its 200 (or, for a tone played
    /// before further steps, its 183 Session Progress). Always anchored.
    /// [`EffectResult::MediaNotAcceptable`] when the offer cannot be
    /// answered (488 to the caller). The switch waits at most
    /// [`crate::CallPolicy::media_timeout`]. Later effects of the call (an
    /// offer towards a callee after an early tone) replace the action.
    MediaLocal {
        /// The call.
        call: CallRef,
        /// The leg to answer and play to.
        leg: LegId,
        /// What to play.
        action: LocalMedia,
        /// The leg's offer as received.
        sdp: Bytes,
    },
    /// Send DTMF as RFC 4733 events on leg `to` of an anchored call: a
    /// digit the other leg sent as SIP INFO (`application/dtmf-relay` or
    /// `application/dtmf`), which the switch answered itself and does not
    /// relay. No result is expected.
    MediaDtmf {
        /// The call.
        call: CallRef,
        /// The leg to send the digit on.
        to: LegId,
        /// `0`–`9`, `*`, `#` or `A`–`D`.
        digit: char,
        /// How long the key was pressed, ms.
        duration_ms: u32,
    },
    /// The call is over: free its media session. No result is expected.
    MediaRelease {
        /// The call.
        call: CallRef,
    },
    /// Write a call-detail record durably; answer with
    /// [`EffectResult::Written`] or [`EffectResult::Failed`] (the switch
    /// reports a failure as [`crate::SwitchEvent::CdrWriteFailed`], with
    /// the record, and does not retry).
    WriteCdr(Box<CdrRecord>),
}

impl Effect {
    /// Whether the switch waits for a result of this effect.
    pub fn expects_result(&self) -> bool {
        matches!(
            self,
            Effect::FetchCredentials { .. }
                | Effect::MediaOffer { .. }
                | Effect::MediaAnswer { .. }
                | Effect::MediaLocal { .. }
                | Effect::WriteCdr(_)
        )
    }
}

/// Media the switch plays itself on a call it answers
/// ([`Effect::MediaLocal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalMedia {
    /// Loop the leg's media back to it until the call ends.
    Echo,
    /// A steady sine tone for `duration` (the switch ends the call, or goes
    /// on with the dialplan, when the duration is over).
    Tone {
        /// Frequency in hertz.
        frequency_hz: u32,
        /// How long to play.
        duration: Duration,
    },
}

impl LocalMedia {
    /// `echo` or `tone` (the name call records give the destination).
    pub fn name(self) -> &'static str {
        match self {
            LocalMedia::Echo => "echo",
            LocalMedia::Tone { .. } => "tone",
        }
    }
}

/// The outcome of an effect that expects one.
#[derive(Debug, Clone)]
pub enum EffectResult {
    /// Credentials of the user, `None` when there is no such user.
    Credentials(Option<StoredCredentials>),
    /// The SDP to send, for [`Effect::MediaOffer`], [`Effect::MediaAnswer`]
    /// and [`Effect::MediaLocal`].
    Media(Bytes),
    /// The media engine cannot accept the SDP of a media effect (no audio
    /// stream, no codec in common and none to transcode to). The switch
    /// answers the request that carried it with 488 Not Acceptable Here
    /// (RFC 3261 §21.4.26) where that leaves a consistent call: the caller's
    /// offer towards a callee (that leg fails, the caller gets 488 when
    /// nothing else answers), an offer for the switch's own media (488 to
    /// the caller), a re-INVITE or UPDATE offer (488 back, the call goes on
    /// unchanged, RFC 3261 §14.2). Elsewhere (an answer the call already
    /// depends on) it counts as [`EffectResult::Failed`].
    MediaNotAcceptable {
        /// Why, for the log.
        reason: String,
    },
    /// The CDR of [`Effect::WriteCdr`] is stored.
    Written,
    /// The work failed (database unavailable…); `reason` is for the log.
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// A user's stored secrets: HA1 per algorithm for realm = the user's domain.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredCredentials {
    /// HA1 for MD5, when stored.
    pub ha1_md5: Option<Ha1>,
    /// HA1 for SHA-256, when stored.
    pub ha1_sha256: Option<Ha1>,
    /// A disabled user cannot authenticate.
    pub enabled: bool,
}

impl fmt::Debug for StoredCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredentials")
            .field("ha1_md5", &self.ha1_md5.as_ref().map(|_| "<redacted>"))
            .field(
                "ha1_sha256",
                &self.ha1_sha256.as_ref().map(|_| "<redacted>"),
            )
            .field("enabled", &self.enabled)
            .finish()
    }
}

/// A binding as persisted: everything needed to restore it after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRecord {
    /// Address of record.
    pub aor: Aor,
    /// Identity within the AOR.
    pub binding_id: BindingId,
    /// The Contact value (name-addr with its parameters, without `expires`).
    pub contact: ByteStr,
    /// RFC 5626 `+sip.instance` (without quotes and brackets).
    pub instance: Option<ByteStr>,
    /// RFC 5626 `reg-id`.
    pub reg_id: Option<u32>,
    /// `q` in thousandths.
    pub q: Option<u16>,
    /// Call-ID of the registering request.
    pub call_id: CallId,
    /// CSeq number of the registering request.
    pub cseq: u32,
    /// Expiry, wall clock, Unix milliseconds.
    pub expires_unix_ms: u64,
    /// Transport the REGISTER arrived on.
    pub transport: Transport,
    /// Where it came from (the address requests to this contact are sent to).
    pub source: std::net::SocketAddr,
    /// The local address it arrived at.
    pub local: std::net::SocketAddr,
    /// `User-Agent` of the registering device.
    pub user_agent: Option<ByteStr>,
    /// RFC 3327 Path values, comma-separated, in order.
    pub path: Option<ByteStr>,
    /// When the binding was last written, Unix milliseconds.
    pub updated_unix_ms: u64,
    /// The cluster node the binding's flow lives on; `None`: this node.
    pub node: Option<ByteStr>,
}
