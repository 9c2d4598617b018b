//! SDP offer/answer for one call (RFC 3264): every SDP the gateway sends names its own address
//! and ports, lists what the other leg offered plus what the gateway can transcode to, and the
//! result of each exchange is a [`LegPlan`] per leg that the data plane uses as it is.
//!
//! A [`Negotiator`] lives as long as the call. An offer from one leg ([`Negotiator::offer`])
//! becomes our offer to the other; the answer ([`Negotiator::answer`]) becomes our answer to
//! the offerer, and decides relay (the same codec on both legs) or transcoding. Re-offers in
//! either direction go through the same two calls and keep each leg's ports, keys and payload
//! type numbers. [`Negotiator::answer_locally`] answers a leg without a second leg (echo,
//! tones).
//!
//! Randomness (SDES keys, the `o=` session id when none is given) comes from a generator
//! seeded by [`NegotiatorConfig::seed`] and the session id: identical inputs give identical
//! SDP. Keys are secret only as long as those two numbers are: the driver draws both from the
//! operating system's generator for every call.

mod answer;
mod browser;
mod compose;
mod formats;
mod keys;
mod negotiator;
mod remote;

use std::net::IpAddr;

use bytes::Bytes;
use sb_media_codec::CodecKind;
use sb_sdp::SdpError;

use crate::plan::{LegId, LegPlan, MediaPath};
use crate::webrtc::WebRtcRemote;

pub use browser::is_webrtc_offer;
pub use negotiator::Negotiator;

/// How offers the gateway originates on a leg treat SDES-SRTP (RFC 4568).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SrtpOffer {
    /// Plain RTP (`RTP/AVP`, no `a=crypto`).
    Never,
    /// `RTP/AVP` with `a=crypto` lines for both suites: SRTP when the answer accepts a key,
    /// plain RTP otherwise.
    #[default]
    Optional,
    /// `RTP/SAVP` with `a=crypto`: an answer without a usable key fails.
    Mandatory,
}

/// Negotiation settings (the `[media]` configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatorConfig {
    /// The address in `o=` and `c=` of every SDP we write.
    pub advertised: IpAddr,
    /// Codecs the gateway offers to transcode to, in preference order.
    pub codecs: Vec<CodecKind>,
    /// SDES in offers we originate.
    pub srtp_offer: SrtpOffer,
    /// `a=ptime`, and the packetization we send when the device asks for none we can do.
    pub ptime_ms: u16,
    /// Seeds the generator of keys and session ids.
    pub seed: u64,
}

impl NegotiatorConfig {
    /// Defaults: every codec in [`CodecKind::ALL`] order, optional SRTP, 20 ms, seed 0.
    pub fn new(advertised: IpAddr) -> NegotiatorConfig {
        NegotiatorConfig {
            advertised,
            codecs: CodecKind::ALL.to_vec(),
            srtp_offer: SrtpOffer::default(),
            ptime_ms: 20,
            seed: 0,
        }
    }
}

/// The result of an offer: the SDP to send on the other leg, and what is known so far of the
/// offerer's leg (its address, the formats it may send, its SRTP keys). Plans are final only
/// after the answer.
#[derive(Debug, Clone)]
pub struct Offered {
    /// The offer to send on the answering leg.
    pub sdp: Bytes,
    /// The offerer's leg as far as the offer tells.
    pub plans: Vec<(LegId, LegPlan)>,
    /// The browser's parameters when the offerer is a WebRTC leg
    /// (for [`crate::MediaSession::configure_webrtc`]).
    pub webrtc: Vec<(LegId, WebRtcRemote)>,
}

/// The result of an answer: the SDP to send on the offerer's leg, the final plans, and how
/// media moves between the legs.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The answer to send on the offerer's leg (empty when the offer was our own and there is
    /// nothing to forward).
    pub sdp: Bytes,
    /// Every leg the exchange configured.
    pub plans: Vec<(LegId, LegPlan)>,
    /// Relay or transcode (one leg answered locally: [`MediaPath::Relay`]).
    pub path: MediaPath,
    /// The browser's parameters on every WebRTC leg of the exchange
    /// (for [`crate::MediaSession::configure_webrtc`]).
    pub webrtc: Vec<(LegId, WebRtcRemote)>,
}

/// Why an offer or answer could not be negotiated.
#[derive(Debug, thiserror::Error)]
pub enum NegotiateError {
    /// The SDP does not parse.
    #[error("malformed SDP: {source}")]
    Sdp {
        /// The parser's error.
        #[from]
        source: SdpError,
    },
    /// The SDP has no `m=audio` line.
    #[error("the SDP has no audio stream")]
    NoAudio,
    /// The answer has no audio `m=` line where the offer had it (RFC 3264 §6).
    #[error("the answer has no audio stream at m-line {index}")]
    MissingStream {
        /// The position of the audio stream in the offer, from 0.
        index: usize,
    },
    /// No codec in common, and none the gateway can decode on the offerer's side.
    #[error("no codec in common and none that can be transcoded")]
    NoCommonCodec,
    /// SRTP is required (RTP/SAVP) but no `a=crypto` line has a usable suite and key.
    #[error("SRTP required but no usable a=crypto line")]
    NoCommonCrypto,
    /// A transport the gateway does not speak towards this leg (DTLS-SRTP without SDES).
    #[error("unsupported media transport {proto}")]
    UnsupportedTransport {
        /// The `m=` protocol.
        proto: String,
    },
    /// A browser's SDP lacks what a WebRTC leg needs (RFC 8829 §5.8).
    #[error("the browser's SDP has no usable a={attribute}")]
    MissingWebRtcAttribute {
        /// The attribute.
        attribute: &'static str,
    },
    /// An answer arrived on a leg that has no offer pending.
    #[error("no offer is pending for an answer from {leg}")]
    NoPendingOffer {
        /// The leg the answer came from.
        leg: LegId,
    },
}

impl NegotiateError {
    /// The SIP status that refuses the offer: 488 Not Acceptable Here (RFC 3261 §21.4.26)
    /// for SDP the gateway cannot accept, 500 for a call flow that breaks the offer/answer
    /// sequence.
    pub fn sip_status(&self) -> u16 {
        match self {
            NegotiateError::NoPendingOffer { .. } => 500,
            _ => 488,
        }
    }
}

#[cfg(test)]
mod tests;
