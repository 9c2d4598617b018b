//! The crate's error type.

use sb_media_codec::CodecError;

use crate::plan::LegId;

/// What went wrong in the data plane: API misuse by the driver, or a packet that could not be
/// used (those are counted and dropped inside the session, never returned to the driver).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The leg was never added, or was removed.
    #[error("{leg} is not part of the media session")]
    UnknownLeg {
        /// The leg asked for.
        leg: LegId,
    },
    /// The leg has not been configured from negotiation yet, or has no format to send.
    #[error("{leg} has no negotiated format to send")]
    NotConfigured {
        /// The leg.
        leg: LegId,
    },
    /// The leg's send codec is one the gateway only relays.
    #[error("{leg} sends {codec}, which the gateway cannot encode")]
    CannotEncode {
        /// The leg.
        leg: LegId,
        /// The codec's encoding name.
        codec: String,
    },
    /// RFC 4733 events were not negotiated on the leg.
    #[error("{leg} has no negotiated telephone-event payload type")]
    NoTelephoneEvent {
        /// The leg.
        leg: LegId,
    },
    /// Not one of `0-9 * # A-D`.
    #[error("{digit:?} is not a DTMF digit")]
    InvalidDigit {
        /// The character given.
        digit: char,
    },
    /// A port range with no even port that has its odd neighbour inside the range.
    #[error("port range {first}..={last} holds no RTP/RTCP port pair")]
    EmptyPortRange {
        /// First port of the range.
        first: u16,
        /// Last port of the range.
        last: u16,
    },
    /// A codec could not be created or failed on a frame.
    #[error("codec failure on {leg}: {source}")]
    Codec {
        /// The leg whose media was being coded.
        leg: LegId,
        /// The codec's error.
        #[source]
        source: CodecError,
    },
    /// An RTP packet that breaks RFC 3550 §5.1.
    #[error("malformed RTP packet: {reason}")]
    MalformedRtp {
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// An RTCP packet that breaks RFC 3550 §6.4 (or the compound rules of §6.1).
    #[error("malformed RTCP packet: {reason}")]
    MalformedRtcp {
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// An RFC 4733 event payload shorter than its 4 bytes.
    #[error("malformed telephone-event payload ({len} bytes)")]
    MalformedEvent {
        /// The payload length.
        len: usize,
    },
    /// An SRTP or SRTCP packet whose authentication tag does not verify (RFC 3711 §3.3).
    #[error("SRTP authentication failed")]
    SrtpAuthentication,
    /// An SRTP or SRTCP packet already received, or too old for the replay window
    /// (RFC 3711 §3.3.2).
    #[error("SRTP replay of packet index {index}")]
    SrtpReplay {
        /// The packet index (RFC 3711 §3.3.1).
        index: u64,
    },
    /// The crypto library could not make a DTLS certificate for a WebRTC leg.
    #[error("cannot generate a DTLS certificate")]
    DtlsCertificate,
    /// A WebRTC operation on a leg added with [`crate::MediaSession::add_leg`].
    #[error("{leg} is not a WebRTC leg")]
    NotWebRtc {
        /// The leg.
        leg: LegId,
    },
    /// The WebRTC stack refused the leg's negotiated parameters.
    #[error("WebRTC setup of {leg} failed: {reason}")]
    WebRtc {
        /// The leg.
        leg: LegId,
        /// The stack's explanation.
        reason: String,
    },
    /// A packet too short to carry the SRTP authentication tag or SRTCP index.
    #[error("SRTP packet too short ({len} bytes)")]
    SrtpTooShort {
        /// The packet length.
        len: usize,
    },
}
