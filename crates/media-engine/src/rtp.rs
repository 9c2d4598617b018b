//! RTP fixed header (RFC 3550 §5.1): parsing a received packet without copying, and writing
//! the 12-byte header the gateway sends (it never sends CSRCs or header extensions).

use crate::error::EngineError;

/// Length of the fixed RTP header.
pub(crate) const HEADER_LEN: usize = 12;

/// The fields of a received RTP header the data plane uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RtpHeader {
    /// The P bit: padding octets at the end (their count is the last octet).
    pub(crate) padding: bool,
    /// The M bit.
    pub(crate) marker: bool,
    /// Payload type.
    pub(crate) pt: u8,
    /// Sequence number.
    pub(crate) seq: u16,
    /// Timestamp.
    pub(crate) ts: u32,
    /// Synchronization source.
    pub(crate) ssrc: u32,
    /// Octets before the payload: fixed header, CSRC list and header extension.
    pub(crate) header_len: usize,
}

impl RtpHeader {
    /// Parses the header of `data` (RFC 3550 §5.1, §5.3.1). Does not look at padding, which
    /// may still be encrypted: see [`payload_end`].
    pub(crate) fn parse(data: &[u8]) -> Result<RtpHeader, EngineError> {
        if data.len() < HEADER_LEN {
            return Err(EngineError::MalformedRtp {
                reason: "shorter than the fixed header",
            });
        }
        if data[0] >> 6 != 2 {
            return Err(EngineError::MalformedRtp {
                reason: "version is not 2",
            });
        }
        let csrc_count = usize::from(data[0] & 0x0f);
        let mut header_len = HEADER_LEN + 4 * csrc_count;
        if data[0] & 0x10 != 0 {
            // Header extension: 16-bit profile data, 16-bit length in 32-bit words.
            if data.len() < header_len + 4 {
                return Err(EngineError::MalformedRtp {
                    reason: "header extension truncated",
                });
            }
            let words = u16::from_be_bytes([data[header_len + 2], data[header_len + 3]]);
            header_len += 4 + 4 * usize::from(words);
        }
        if data.len() < header_len {
            return Err(EngineError::MalformedRtp {
                reason: "CSRC list or header extension truncated",
            });
        }
        Ok(RtpHeader {
            padding: data[0] & 0x20 != 0,
            marker: data[1] & 0x80 != 0,
            pt: data[1] & 0x7f,
            seq: u16::from_be_bytes([data[2], data[3]]),
            ts: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
            header_len,
        })
    }
}

/// The end of the payload of a (decrypted) packet `data` with header `header`: its length
/// minus the padding octets the last octet counts (RFC 3550 §5.1, P bit).
pub(crate) fn payload_end(header: &RtpHeader, data: &[u8]) -> Result<usize, EngineError> {
    if !header.padding {
        return Ok(data.len());
    }
    let count = usize::from(*data.last().ok_or(EngineError::MalformedRtp {
        reason: "padding bit set on an empty packet",
    })?);
    if count == 0 || count > data.len() - header.header_len {
        return Err(EngineError::MalformedRtp {
            reason: "padding count out of range",
        });
    }
    Ok(data.len() - count)
}

/// Writes a 12-byte RTP header (version 2, no padding, extension or CSRC) into `out[..12]`.
pub(crate) fn write_header(out: &mut [u8], marker: bool, pt: u8, seq: u16, ts: u32, ssrc: u32) {
    out[0] = 0x80;
    out[1] = (u8::from(marker) << 7) | (pt & 0x7f);
    out[2..4].copy_from_slice(&seq.to_be_bytes());
    out[4..8].copy_from_slice(&ts.to_be_bytes());
    out[8..12].copy_from_slice(&ssrc.to_be_bytes());
}

/// Whether a datagram on an RTP socket is RTCP (RFC 5761 §4: second octet 192–223, i.e. RTCP
/// packet types 192–223 or RTP payload types 64–95 with the marker bit, which RTP must not
/// use).
pub(crate) fn is_rtcp(data: &[u8]) -> bool {
    data.len() >= 2 && (192..=223).contains(&data[1])
}

/// Sequence-number arithmetic (RFC 3550 §A.1): whether `a` comes after `b`, modulo 2^16.
pub(crate) fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(first: u8, extra: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            first,
            0x80 | 96,
            0x12,
            0x34,
            0,
            0,
            0x03,
            0x20,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        p.extend_from_slice(extra);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn fixed_header_fields() {
        let p = packet(0x80, &[], &[1, 2, 3]);
        let h = RtpHeader::parse(&p).unwrap();
        assert!(h.marker);
        assert_eq!(
            (h.pt, h.seq, h.ts, h.ssrc, h.header_len),
            (96, 0x1234, 800, 0xdead_beef, 12)
        );
        assert_eq!(payload_end(&h, &p).unwrap(), p.len());
    }

    #[test]
    fn csrc_extension_and_padding() {
        // Two CSRCs, a one-word extension, then 3 payload octets and 2 padding octets.
        let extra = [
            0, 0, 0, 1, 0, 0, 0, 2, // CSRCs
            0xbe, 0xde, 0, 1, 0x10, 0xaa, 0, 0, // extension, one word
        ];
        let p = packet(0x80 | 0x20 | 0x10 | 2, &extra, &[7, 8, 9, 0, 2]);
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h.header_len, 12 + 8 + 8);
        assert_eq!(&p[h.header_len..payload_end(&h, &p).unwrap()], &[7, 8, 9]);
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert!(RtpHeader::parse(&[0x80; 11]).is_err());
        assert!(
            RtpHeader::parse(&packet(0x40, &[], &[])).is_err(),
            "version 1"
        );
        assert!(
            RtpHeader::parse(&packet(0x83, &[0; 8], &[])).is_err(),
            "CSRC truncated"
        );
        assert!(RtpHeader::parse(&packet(0x90, &[0xbe, 0xde, 0, 2, 0, 0, 0, 0], &[])).is_err());
        let p = packet(0xa0, &[], &[1, 9]);
        let h = RtpHeader::parse(&p).unwrap();
        assert!(
            payload_end(&h, &p).is_err(),
            "padding longer than the payload"
        );
        let p = packet(0xa0, &[], &[1, 0]);
        let h = RtpHeader::parse(&p).unwrap();
        assert!(payload_end(&h, &p).is_err(), "zero padding count");
    }

    #[test]
    fn write_then_parse() {
        let mut buf = [0u8; 12];
        write_header(&mut buf, true, 8, 65535, 0xffff_fff0, 42);
        let h = RtpHeader::parse(&buf).unwrap();
        assert_eq!(
            (h.marker, h.pt, h.seq, h.ts, h.ssrc),
            (true, 8, 65535, 0xffff_fff0, 42)
        );
    }

    #[test]
    fn rtcp_mux_demux() {
        assert!(is_rtcp(&[0x80, 200]));
        assert!(is_rtcp(&[0x81, 201, 0, 7]));
        assert!(!is_rtcp(&[0x80, 0]));
        assert!(
            !is_rtcp(&[0x80, 0x80 | 96]),
            "PT 96 with the marker bit is RTP"
        );
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn sequence_order_wraps() {
        assert!(seq_newer(1, 0));
        assert!(seq_newer(0, 65535));
        assert!(!seq_newer(65535, 0));
        assert!(!seq_newer(5, 5));
    }
}
