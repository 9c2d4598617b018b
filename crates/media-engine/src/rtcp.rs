//! RTCP compound packets (RFC 3550 §6): reading the sender and receiver reports a device sends,
//! and writing the gateway's own SR/RR + SDES CNAME (and BYE when a leg ends).

use crate::error::EngineError;

/// Packet types (RFC 3550 §12.1).
const SR: u8 = 200;
const RR: u8 = 201;
const SDES: u8 = 202;
const BYE: u8 = 203;
/// SDES item CNAME (RFC 3550 §6.5.1).
const CNAME: u8 = 1;

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SenderInfo {
    /// NTP timestamp, 32.32 fixed point.
    pub(crate) ntp: u64,
    /// The RTP timestamp for the same instant.
    pub(crate) rtp_ts: u32,
    /// Packets sent.
    pub(crate) packets: u32,
    /// Payload octets sent.
    pub(crate) octets: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ReportBlock {
    /// The source this block reports on.
    pub(crate) ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub(crate) fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub(crate) cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub(crate) highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub(crate) jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source.
    pub(crate) lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub(crate) dlsr: u32,
}

/// What the data plane takes from a received compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct RtcpSummary {
    /// SSRC of the first SR or RR.
    pub(crate) sender_ssrc: Option<u32>,
    /// Sender information, when the compound packet holds an SR.
    pub(crate) sender_info: Option<SenderInfo>,
    /// The report block about the SSRC the caller asked for.
    pub(crate) block: Option<ReportBlock>,
    /// A BYE was present.
    pub(crate) bye: bool,
}

fn malformed(reason: &'static str) -> EngineError {
    EngineError::MalformedRtcp { reason }
}

fn be32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

/// Parses a compound RTCP packet (RFC 3550 §6.1), keeping the report block about `ours`.
/// Packet types other than SR, RR, SDES and BYE (APP, feedback, XR) are skipped.
pub(crate) fn parse_compound(data: &[u8], ours: u32) -> Result<RtcpSummary, EngineError> {
    let mut summary = RtcpSummary::default();
    if data.len() < 4 {
        return Err(malformed("shorter than an RTCP header"));
    }
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return Err(malformed("trailing octets after the last packet"));
        }
        if rest[0] >> 6 != 2 {
            return Err(malformed("version is not 2"));
        }
        let count = usize::from(rest[0] & 0x1f);
        let pt = rest[1];
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        if len > rest.len() {
            return Err(malformed("length field exceeds the datagram"));
        }
        let packet = &rest[..len];
        match pt {
            SR | RR => {
                let info_len = if pt == SR { 20 } else { 0 };
                if len < 8 + info_len + 24 * count {
                    return Err(malformed("report shorter than its report count"));
                }
                let ssrc = be32(packet, 4);
                if summary.sender_ssrc.is_none() {
                    summary.sender_ssrc = Some(ssrc);
                }
                if pt == SR {
                    summary.sender_info = Some(SenderInfo {
                        ntp: (u64::from(be32(packet, 8)) << 32) | u64::from(be32(packet, 12)),
                        rtp_ts: be32(packet, 16),
                        packets: be32(packet, 20),
                        octets: be32(packet, 24),
                    });
                }
                for i in 0..count {
                    let b = &packet[8 + info_len + 24 * i..8 + info_len + 24 * (i + 1)];
                    if be32(b, 0) == ours {
                        summary.block = Some(read_block(b));
                    }
                }
            }
            BYE => summary.bye = true,
            _ => {}
        }
        rest = &rest[len..];
    }
    // Reduced-size RTCP (RFC 5506) may carry only feedback: valid, with nothing for us.
    Ok(summary)
}

fn read_block(b: &[u8]) -> ReportBlock {
    // 24-bit two's complement.
    let lost = (i32::from(b[5]) << 16) | (i32::from(b[6]) << 8) | i32::from(b[7]);
    ReportBlock {
        ssrc: be32(b, 0),
        fraction_lost: b[4],
        cumulative_lost: (lost << 8) >> 8,
        highest_seq: be32(b, 8),
        jitter: be32(b, 12),
        lsr: be32(b, 16),
        dlsr: be32(b, 20),
    }
}

fn write_block(out: &mut Vec<u8>, b: &ReportBlock) {
    out.extend_from_slice(&b.ssrc.to_be_bytes());
    let lost = b.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff).to_be_bytes();
    out.extend_from_slice(&[b.fraction_lost, lost[1], lost[2], lost[3]]);
    out.extend_from_slice(&b.highest_seq.to_be_bytes());
    out.extend_from_slice(&b.jitter.to_be_bytes());
    out.extend_from_slice(&b.lsr.to_be_bytes());
    out.extend_from_slice(&b.dlsr.to_be_bytes());
}

/// Appends an SR (when `sender` is given) or RR from `ssrc` with at most one report block,
/// followed by an SDES with its CNAME: the minimal compound packet (RFC 3550 §6.1).
pub(crate) fn write_report(
    out: &mut Vec<u8>,
    ssrc: u32,
    sender: Option<&SenderInfo>,
    block: Option<&ReportBlock>,
    cname: &[u8],
) {
    let count = u8::from(block.is_some());
    let words = 1 + if sender.is_some() { 5 } else { 0 } + 6 * u16::from(count);
    out.push(0x80 | count);
    out.push(if sender.is_some() { SR } else { RR });
    out.extend_from_slice(&words.to_be_bytes());
    out.extend_from_slice(&ssrc.to_be_bytes());
    if let Some(s) = sender {
        out.extend_from_slice(&s.ntp.to_be_bytes());
        out.extend_from_slice(&s.rtp_ts.to_be_bytes());
        out.extend_from_slice(&s.packets.to_be_bytes());
        out.extend_from_slice(&s.octets.to_be_bytes());
    }
    if let Some(b) = block {
        write_block(out, b);
    }
    // SDES: one chunk with CNAME, then a null item and padding to a 32-bit boundary.
    let cname = &cname[..cname.len().min(255)];
    let chunk = 4 + 2 + cname.len() + 1;
    let padded = chunk.div_ceil(4) * 4;
    out.push(0x81);
    out.push(SDES);
    out.extend_from_slice(
        &u16::try_from(padded / 4)
            .expect("a CNAME chunk is under 300 octets")
            .to_be_bytes(),
    );
    out.extend_from_slice(&ssrc.to_be_bytes());
    out.push(CNAME);
    out.push(u8::try_from(cname.len()).expect("capped at 255"));
    out.extend_from_slice(cname);
    out.resize(out.len() + (padded - chunk + 1), 0);
}

/// Appends a BYE for `ssrc` (RFC 3550 §6.6).
pub(crate) fn write_bye(out: &mut Vec<u8>, ssrc: u32) {
    out.extend_from_slice(&[0x81, BYE, 0, 1]);
    out.extend_from_slice(&ssrc.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(ssrc: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 64,
            cumulative_lost: -3,
            highest_seq: 0x0001_0005,
            jitter: 80,
            lsr: 0x1234_5678,
            dlsr: 65536,
        }
    }

    #[test]
    fn sender_report_round_trip() {
        let info = SenderInfo {
            ntp: 0x0000_0010_8000_0000,
            rtp_ts: 160_000,
            packets: 50,
            octets: 8000,
        };
        let mut out = Vec::new();
        write_report(&mut out, 7, Some(&info), Some(&block(9)), b"sb@example.com");
        assert_eq!(out.len() % 4, 0);
        let s = parse_compound(&out, 9).unwrap();
        assert_eq!(s.sender_ssrc, Some(7));
        assert_eq!(s.sender_info, Some(info));
        assert_eq!(s.block, Some(block(9)));
        assert!(!s.bye);
        // A block about another SSRC is not ours.
        assert_eq!(parse_compound(&out, 10).unwrap().block, None);
    }

    #[test]
    fn receiver_report_with_sdes_and_bye() {
        let mut out = Vec::new();
        write_report(&mut out, 11, None, Some(&block(5)), b"phone@192.0.2.20");
        write_bye(&mut out, 11);
        let s = parse_compound(&out, 5).unwrap();
        assert_eq!(s.sender_ssrc, Some(11));
        assert_eq!(s.sender_info, None);
        assert_eq!(s.block.unwrap().cumulative_lost, -3);
        assert!(s.bye);
    }

    #[test]
    fn device_receiver_report_bytes() {
        // RR from SSRC 0x01020304 with one block about 0xcafebabe: 5% lost (13/256),
        // 2 cumulative, highest 1000, jitter 40 (8 kHz units), no SR seen yet.
        let rr = [
            0x81, 201, 0, 7, 1, 2, 3, 4, // header, sender SSRC
            0xca, 0xfe, 0xba, 0xbe, 13, 0, 0, 2, 0, 0, 0x03, 0xe8, 0, 0, 0, 40, 0, 0, 0, 0, 0, 0,
            0, 0,
        ];
        let b = parse_compound(&rr, 0xcafe_babe).unwrap().block.unwrap();
        assert_eq!(
            (b.fraction_lost, b.cumulative_lost, b.highest_seq, b.jitter),
            (13, 2, 1000, 40)
        );
    }

    #[test]
    fn malformed_compounds_are_errors() {
        assert!(parse_compound(&[0x80, 200, 0], 0).is_err());
        assert!(
            parse_compound(&[0x40, 201, 0, 1, 0, 0, 0, 0], 0).is_err(),
            "version"
        );
        assert!(
            parse_compound(&[0x80, 201, 0, 9, 0, 0, 0, 0], 0).is_err(),
            "length"
        );
        assert!(
            parse_compound(&[0x81, 201, 0, 1, 0, 0, 0, 0], 0).is_err(),
            "count"
        );
        assert!(
            parse_compound(&[0x80, 201, 0, 1, 0, 0, 0, 0, 0x80], 0).is_err(),
            "trailer"
        );
        // An unknown type (APP) alone is skipped.
        let s = parse_compound(&[0x80, 204, 0, 2, 0, 0, 0, 1, b'a', b'b', b'c', b'd'], 0);
        assert_eq!(s.unwrap(), RtcpSummary::default());
    }
}
