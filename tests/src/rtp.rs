//! A test as its own RTP peer: RTP packets (RFC 3550 §5.1), G.711 µ-law
//! (ITU-T G.711) to carry a tone as PCMU, and the media address an SDP
//! names (RFC 8866 §5.7, §5.14).

use std::net::{IpAddr, SocketAddr};

use crate::HarnessError;

/// The static payload type of PCMU (RFC 3551 §6).
pub const PCMU: u8 = 0;

/// One RTP packet, borrowing its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// The marker bit.
    pub marker: bool,
    /// The payload type.
    pub payload_type: u8,
    /// The sequence number.
    pub sequence: u16,
    /// The timestamp.
    pub timestamp: u32,
    /// The synchronization source.
    pub ssrc: u32,
    /// The payload (without padding).
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses an RTP version 2 packet: CSRCs, a header extension and
    /// padding are skipped.
    pub fn parse(data: &'a [u8]) -> Result<RtpPacket<'a>, HarnessError> {
        let bad = |reason| HarnessError::Rtp { reason };
        if data.len() < 12 {
            return Err(bad("shorter than the fixed header"));
        }
        if data[0] >> 6 != 2 {
            return Err(bad("not version 2"));
        }
        let mut start = 12 + 4 * usize::from(data[0] & 0x0f);
        if data[0] & 0x10 != 0 {
            let words = data
                .get(start + 2..start + 4)
                .ok_or(bad("header extension cut short"))?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        }
        let mut end = data.len();
        if data[0] & 0x20 != 0 {
            let pad = usize::from(data[end - 1]);
            end = end.checked_sub(pad).ok_or(bad("padding too long"))?;
        }
        if start > end {
            return Err(bad("headers longer than the packet"));
        }
        Ok(RtpPacket {
            marker: data[1] & 0x80 != 0,
            payload_type: data[1] & 0x7f,
            sequence: u16::from_be_bytes([data[2], data[3]]),
            timestamp: u32::from_be_bytes(data[4..8].try_into().expect("4 bytes")),
            ssrc: u32::from_be_bytes(data[8..12].try_into().expect("4 bytes")),
            payload: &data[start..end],
        })
    }

    /// Appends the packet (fixed header, no CSRC, no extension) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(0x80);
        out.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(self.payload);
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// G.711 µ-law encoding of one sample.
pub fn ulaw_encode(sample: i16) -> u8 {
    let mut v = i32::from(sample);
    let sign = if v < 0 {
        v = -v;
        0x80
    } else {
        0
    };
    v = v.min(ULAW_CLIP) + ULAW_BIAS;
    // The segment is the position of the highest set bit above bit 7.
    let exponent = (31 - v.leading_zeros() as i32 - 7).clamp(0, 7);
    let mantissa = (v >> (exponent + 3)) & 0x0f;
    let byte = sign | (exponent << 4) as u8 | mantissa as u8;
    !byte
}

/// G.711 µ-law decoding of one byte.
pub fn ulaw_decode(byte: u8) -> i16 {
    let b = !byte;
    let exponent = i32::from((b >> 4) & 0x07);
    let mantissa = i32::from(b & 0x0f);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    let v = if b & 0x80 != 0 { -magnitude } else { magnitude };
    i16::try_from(v).expect("µ-law magnitudes stay below 32768")
}

/// The address of the first audio stream an SDP names: the media-level
/// `c=` (or else the session-level one) and the `m=audio` port. `None`
/// without an audio stream or a usable address.
pub fn audio_address(sdp: &str) -> Option<SocketAddr> {
    let mut session_addr: Option<IpAddr> = None;
    let mut port: Option<u16> = None;
    let mut media_addr: Option<IpAddr> = None;
    let mut in_audio = false;
    let mut seen_media = false;
    for line in sdp.lines().map(str::trim) {
        if let Some(m) = line.strip_prefix("m=") {
            if port.is_some() {
                break;
            }
            seen_media = true;
            let mut fields = m.split_whitespace();
            in_audio = fields.next() == Some("audio");
            if in_audio {
                // "49170" or "49170/2".
                port = fields.next()?.split('/').next()?.parse().ok();
            }
        } else if let Some(c) = line.strip_prefix("c=") {
            let addr = c
                .split_whitespace()
                .nth(2)
                .and_then(|a| a.split('/').next())
                .and_then(|a| a.parse().ok());
            if in_audio {
                media_addr = addr;
            } else if !seen_media {
                session_addr = addr;
            }
        }
    }
    Some(SocketAddr::new(media_addr.or(session_addr)?, port?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_round_trip() {
        let payload = [1u8, 2, 3];
        let p = RtpPacket {
            marker: true,
            payload_type: PCMU,
            sequence: 65535,
            timestamp: 0xdead_beef,
            ssrc: 0x0102_0304,
            payload: &payload,
        };
        let mut out = Vec::new();
        p.write(&mut out);
        assert_eq!(out.len(), 15);
        assert_eq!(RtpPacket::parse(&out).unwrap(), p);
    }

    #[test]
    fn csrcs_extensions_and_padding_are_skipped() {
        let mut data = vec![0xb1, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        data.extend_from_slice(&[9, 9, 9, 9]); // one CSRC
        data.extend_from_slice(&[0xbe, 0xde, 0, 1, 7, 7, 7, 7]); // extension, one word
        data.extend_from_slice(&[0xaa, 0xbb]); // payload
        data.extend_from_slice(&[0, 2]); // two bytes of padding
        let p = RtpPacket::parse(&data).unwrap();
        assert_eq!(p.payload, [0xaa, 0xbb]);
        assert_eq!((p.sequence, p.timestamp, p.ssrc), (1, 2, 3));
    }

    #[test]
    fn broken_packets_are_errors() {
        assert!(RtpPacket::parse(&[0x80; 11]).is_err());
        assert!(RtpPacket::parse(&[0x40; 12]).is_err());
        let mut pad = vec![0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        pad.push(200);
        assert!(RtpPacket::parse(&pad).is_err());
        assert!(RtpPacket::parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        let mut ext = vec![0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[0, 0, 0, 9]);
        assert!(RtpPacket::parse(&ext).is_err());
    }

    #[test]
    fn ulaw_matches_the_g711_reference_points() {
        assert_eq!(ulaw_encode(0), 0xff);
        assert_eq!(ulaw_decode(0xff), 0);
        assert_eq!(ulaw_decode(0x7f), 0);
        assert_eq!(ulaw_encode(i16::MAX), 0x80);
        assert_eq!(ulaw_encode(i16::MIN), 0x00);
        assert_eq!(ulaw_decode(0x80), 32124);
        assert_eq!(ulaw_decode(0x00), -32124);
        // Decoding then encoding gives the code back (0x7f is −0 → +0).
        for b in 0..=255u8 {
            if b != 0x7f {
                assert_eq!(ulaw_encode(ulaw_decode(b)), b, "{b:#x}");
            }
        }
        // The quantization error stays within the segment's step.
        for s in (-32000i16..32000).step_by(97) {
            let back = i32::from(ulaw_decode(ulaw_encode(s)));
            let err = (back - i32::from(s)).abs();
            assert!(err <= 1024.max(i32::from(s).abs() / 16), "{s} → {back}");
        }
    }

    #[test]
    fn the_audio_address_prefers_the_media_level_connection() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
                   m=audio 40000 RTP/AVP 0\r\nc=IN IP4 192.0.2.2\r\nm=video 40002 RTP/AVP 96\r\n";
        assert_eq!(audio_address(sdp), Some("192.0.2.2:40000".parse().unwrap()));
        let session_only = "c=IN IP6 2001:db8::1\nm=audio 5004/2 RTP/AVP 0\n";
        assert_eq!(
            audio_address(session_only),
            Some("[2001:db8::1]:5004".parse().unwrap())
        );
        let video_first = "c=IN IP4 192.0.2.1\nm=video 6000 RTP/AVP 96\nc=IN IP4 192.0.2.7\n\
                           m=audio 6002 RTP/AVP 0\n";
        assert_eq!(
            audio_address(video_first),
            Some("192.0.2.1:6002".parse().unwrap())
        );
        assert_eq!(audio_address("m=audio 5004 RTP/AVP 0\n"), None);
        assert_eq!(audio_address("c=IN IP4 192.0.2.1\n"), None);
    }
}
