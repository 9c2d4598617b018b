//! The codecs the gateway can decode and encode, with the facts RTP and SDP need about them
//! (RFC 3551 §4.5, RFC 7587 for Opus).

/// A codec the gateway decodes and encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law (RFC 3551 §4.5.14), static payload type 0.
    Pcmu,
    /// G.711 A-law (RFC 3551 §4.5.14), static payload type 8.
    Pcma,
    /// G.722 at 64 kbit/s (RFC 3551 §4.5.2), static payload type 9; 16 kHz audio on an 8000 Hz
    /// RTP clock.
    G722,
    /// Opus (RFC 7587), dynamic payload type, 48000 Hz clock, `opus/48000/2` in SDP.
    Opus,
}

impl CodecKind {
    /// Every codec, in the gateway's default preference order.
    pub const ALL: [CodecKind; 4] = [
        CodecKind::Opus,
        CodecKind::G722,
        CodecKind::Pcmu,
        CodecKind::Pcma,
    ];

    /// The encoding name in an SDP `a=rtpmap` line.
    pub fn encoding_name(self) -> &'static str {
        match self {
            CodecKind::Pcmu => "PCMU",
            CodecKind::Pcma => "PCMA",
            CodecKind::G722 => "G722",
            CodecKind::Opus => "opus",
        }
    }

    /// The RTP timestamp clock rate (G.722: 8000 although it samples at 16 kHz, RFC 3551 §4.5.2).
    pub fn rtp_clock_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => 8000,
            CodecKind::Opus => 48000,
        }
    }

    /// The codec's native PCM rate: what [`crate::Encoder::new`] and [`crate::Decoder::new`]
    /// run at. Opus can also run at 8, 12, 16 or 24 kHz ([`crate::OPUS_PCM_RATES`]).
    pub fn sample_rate(self) -> u32 {
        match self {
            CodecKind::Pcmu | CodecKind::Pcma => 8000,
            CodecKind::G722 => 16000,
            CodecKind::Opus => 48000,
        }
    }

    /// The channel count written in `a=rtpmap` (`opus/48000/2`, RFC 7587 §7), if any.
    pub fn sdp_channels(self) -> Option<u8> {
        match self {
            CodecKind::Opus => Some(2),
            _ => None,
        }
    }

    /// The static payload type (RFC 3551 table 4), if the codec has one.
    pub fn static_payload_type(self) -> Option<u8> {
        match self {
            CodecKind::Pcmu => Some(0),
            CodecKind::Pcma => Some(8),
            CodecKind::G722 => Some(9),
            CodecKind::Opus => None,
        }
    }

    /// The codec an `a=rtpmap` encoding name (case-insensitive) and clock rate stand for.
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<CodecKind> {
        CodecKind::ALL.into_iter().find(|k| {
            k.encoding_name().eq_ignore_ascii_case(name) && k.rtp_clock_rate() == clock_rate
        })
    }

    /// PCM samples (at [`CodecKind::sample_rate`]) in `ms` milliseconds.
    pub fn samples(self, ms: u32) -> usize {
        (self.sample_rate() / 1000 * ms) as usize
    }

    /// RTP timestamp units in `ms` milliseconds.
    pub fn rtp_units(self, ms: u32) -> u32 {
        self.rtp_clock_rate() / 1000 * ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_facts() {
        assert_eq!(CodecKind::from_rtpmap("pcmu", 8000), Some(CodecKind::Pcmu));
        assert_eq!(CodecKind::from_rtpmap("OPUS", 48000), Some(CodecKind::Opus));
        assert_eq!(CodecKind::from_rtpmap("opus", 8000), None);
        assert_eq!(CodecKind::G722.samples(20), 320);
        assert_eq!(CodecKind::G722.rtp_units(20), 160);
        assert_eq!(CodecKind::Opus.rtp_units(20), 960);
    }
}
