//! The contract between SDP negotiation ([`crate::negotiate`]) and the data plane
//! ([`crate::MediaSession`]): what one leg of a call sends, accepts and where to, as the
//! offer/answer exchange decided it (RFC 3264).

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;

use sb_media_codec::CodecKind;

/// One leg of a media session: the caller's side, one callee device, a local endpoint.
/// The driver chooses the numbers (the switch's leg numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegId(pub u32);

impl fmt::Display for LegId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "leg-{}", self.0)
    }
}

/// The local sockets of a leg, bound by the driver: RTP on an even port, RTCP on the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalPorts {
    /// The RTP socket's address (as advertised in SDP: the port is what matters).
    pub rtp: SocketAddr,
    /// The RTCP socket's address (unused when RTCP is multiplexed, RFC 5761).
    pub rtcp: SocketAddr,
}

/// A codec as negotiated: one the gateway can decode, or any other, which is only relayed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Codec {
    /// A codec of [`sb_media_codec`].
    Known(CodecKind),
    /// A codec the gateway does not implement (relayed untouched when both legs use it).
    Other {
        /// The `a=rtpmap` encoding name.
        name: Arc<str>,
        /// The RTP clock rate.
        clock_rate: u32,
        /// The channel count, when the rtpmap gave one.
        channels: Option<u8>,
    },
}

impl Codec {
    /// The RTP clock rate.
    pub fn clock_rate(&self) -> u32 {
        match self {
            Codec::Known(k) => k.rtp_clock_rate(),
            Codec::Other { clock_rate, .. } => *clock_rate,
        }
    }

    /// The encoding name (for statistics and records).
    pub fn name(&self) -> &str {
        match self {
            Codec::Known(k) => k.encoding_name(),
            Codec::Other { name, .. } => name,
        }
    }

    /// Whether two legs using `self` and `other` can exchange packets without transcoding.
    pub fn relays_to(&self, other: &Codec) -> bool {
        match (self, other) {
            (Codec::Known(a), Codec::Known(b)) => a == b,
            (
                Codec::Other {
                    name: a,
                    clock_rate: ca,
                    channels: xa,
                },
                Codec::Other {
                    name: b,
                    clock_rate: cb,
                    channels: xb,
                },
            ) => a.eq_ignore_ascii_case(b) && ca == cb && xa.unwrap_or(1) == xb.unwrap_or(1),
            _ => false,
        }
    }
}

/// A payload type number bound to a codec on one leg (`a=rtpmap`, or a static type).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PayloadFormat {
    /// The RTP payload type number on this leg.
    pub pt: u8,
    /// The codec.
    pub codec: Codec,
}

/// RFC 4733 telephone-event on one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Its payload type number on this leg.
    pub pt: u8,
    /// Its clock rate (8000, or 48000 next to Opus).
    pub clock_rate: u32,
}

/// An SDES-SRTP crypto suite (RFC 4568 §6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SrtpSuite {
    /// `AES_CM_128_HMAC_SHA1_80`: 80-bit authentication tag.
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: 32-bit authentication tag on SRTP (80 on SRTCP).
    AesCm128HmacSha1_32,
}

impl SrtpSuite {
    /// The suite's name in `a=crypto`.
    pub fn name(self) -> &'static str {
        match self {
            SrtpSuite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            SrtpSuite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite an `a=crypto` name stands for.
    pub fn from_name(name: &str) -> Option<SrtpSuite> {
        [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ]
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// An SRTP master key and salt (RFC 3711 §8.2; `inline:` in `a=crypto`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SrtpKey {
    /// The suite.
    pub suite: SrtpSuite,
    /// 128-bit master key.
    pub key: [u8; 16],
    /// 112-bit master salt.
    pub salt: [u8; 14],
}

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys are never printed (DESIGN §6.8).
        f.debug_struct("SrtpKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// The keys of an SRTP leg: ours protects what we send, theirs unprotects what we receive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SrtpPair {
    /// The key we announced in our SDP: protects packets we send on the leg.
    pub local: SrtpKey,
    /// The key the device announced: unprotects packets it sends.
    pub remote: SrtpKey,
}

/// Media direction of a leg, from the gateway's point of view towards that leg
/// (RFC 3264 §5.1, mirrored: the device's `sendonly` means we only receive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Both ways.
    #[default]
    SendRecv,
    /// We send to the device, it does not send (the device said `recvonly`).
    SendOnly,
    /// The device sends, we do not send to it (the device said `sendonly`: it put us on hold).
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// Whether we send media to the device.
    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    /// Whether the device is expected to send media to us.
    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

/// What one leg does, as negotiated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LegPlan {
    /// Where to send RTP until latching learns better; `None` when unknown or declined.
    pub remote_rtp: Option<SocketAddr>,
    /// Where to send RTCP (the RTP address when multiplexed; `a=rtcp` or RTP port + 1).
    pub remote_rtcp: Option<SocketAddr>,
    /// RTP and RTCP share one port (RFC 5761).
    pub rtcp_mux: bool,
    /// The format we send on this leg; `None` when the leg is declined (port 0).
    pub send: Option<PayloadFormat>,
    /// Formats the device may send us (the negotiated list on this leg).
    pub receive: Vec<PayloadFormat>,
    /// RFC 4733 events on this leg, when negotiated.
    pub telephone_event: Option<TelephoneEvent>,
    /// SDES-SRTP keys, when the leg is RTP/SAVP (or AVP with an accepted `a=crypto`).
    pub srtp: Option<SrtpPair>,
    /// Media direction.
    pub direction: Direction,
    /// Packetization we send with, in milliseconds.
    pub ptime_ms: u16,
}

/// How a two-leg session moves audio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaPath {
    /// Both legs use the same codec: packets are forwarded without decoding.
    Relay,
    /// The legs use different codecs: decode, resample, encode.
    Transcode,
}

impl MediaPath {
    /// `relay` or `transcode`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaPath::Relay => "relay",
            MediaPath::Transcode => "transcode",
        }
    }
}
