//! SDES-SRTP (RFC 3711, keys from RFC 4568 `a=crypto`): AES_CM_128_HMAC_SHA1_80 and
//! AES_CM_128_HMAC_SHA1_32, in place on the packet buffer, with replay protection.
//!
//! A context holds one master key for one direction of a leg: the leg's inbound context
//! unprotects what the device sends (its key), the outbound one protects what the gateway
//! sends (the gateway's key). SRTCP always carries an 80-bit tag (RFC 4568 §6.2).

mod keys;
mod replay;

use crate::error::EngineError;
use crate::plan::{SrtpKey, SrtpSuite};
use crate::rtp::RtpHeader;
use keys::{SRTCP_LABELS, SRTP_LABELS, SessionKeys};
use replay::{ReplayWindow, StreamState};

/// SRTCP authentication tag length (80 bits for both suites).
const SRTCP_TAG_LEN: usize = 10;
/// The E flag of the SRTCP index word: the packet is encrypted.
const E_FLAG: u32 = 0x8000_0000;
/// Streams remembered per context (a leg's SSRC changes on re-INVITE or early media).
const MAX_STREAMS: usize = 4;

/// One direction of an SRTP leg.
#[derive(Debug, Clone)]
pub(crate) struct SrtpContext {
    key: SrtpKey,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    streams: Vec<StreamState>,
    rtcp_windows: Vec<(u32, ReplayWindow, u64)>,
    uses: u64,
    srtcp_index: u32,
}

impl SrtpContext {
    /// A context for `key`: derives the SRTP and SRTCP session keys.
    pub(crate) fn new(key: &SrtpKey) -> SrtpContext {
        SrtpContext {
            key: key.clone(),
            rtp: SessionKeys::derive(key, SRTP_LABELS),
            rtcp: SessionKeys::derive(key, SRTCP_LABELS),
            streams: Vec::with_capacity(MAX_STREAMS),
            rtcp_windows: Vec::with_capacity(MAX_STREAMS),
            uses: 0,
            srtcp_index: 0,
        }
    }

    /// Whether the context was made for exactly `key`.
    pub(crate) fn has_key(&self, key: &SrtpKey) -> bool {
        self.key == *key
    }

    fn rtp_tag_len(&self) -> usize {
        match self.key.suite {
            SrtpSuite::AesCm128HmacSha1_80 => 10,
            SrtpSuite::AesCm128HmacSha1_32 => 4,
        }
    }

    fn stream(&mut self, ssrc: u32) -> &mut StreamState {
        self.uses += 1;
        let pos = match self.streams.iter().position(|s| s.ssrc == ssrc) {
            Some(pos) => pos,
            None if self.streams.len() < MAX_STREAMS => {
                self.streams.push(StreamState::new(ssrc));
                self.streams.len() - 1
            }
            None => {
                let oldest = (0..self.streams.len())
                    .min_by_key(|&i| self.streams[i].last_used)
                    .expect("the table is full, so not empty");
                self.streams[oldest] = StreamState::new(ssrc);
                oldest
            }
        };
        let stream = &mut self.streams[pos];
        stream.last_used = self.uses;
        stream
    }

    /// Encrypts the payload of the RTP packet in `packet` and appends the authentication tag
    /// (RFC 3711 §3.3). A packet whose index was protected before (or is older than the
    /// replay window) is refused, as a receiver would refuse it.
    pub(crate) fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), EngineError> {
        let header = RtpHeader::parse(packet)?;
        let tag_len = self.rtp_tag_len();
        let stream = self.stream(header.ssrc);
        let index = stream.estimate(header.seq);
        // An index is never used twice under one key (RFC 3711 §9.1): a relayed duplicate
        // would be encrypted with the keystream of the packet it repeats.
        stream.window.check(index)?;
        stream.window.accept(index);
        stream.update(index);
        self.rtp
            .apply_keystream(header.ssrc, index, &mut packet[header.header_len..]);
        let roc = ((index >> 16) as u32).to_be_bytes();
        let tag = self.rtp.tag(&[packet, &roc]);
        packet.extend_from_slice(&tag[..tag_len]);
        Ok(())
    }

    /// Verifies and decrypts the SRTP packet in `packet`, removing the tag (RFC 3711 §3.3).
    /// Replayed packets and packets whose tag does not verify are errors and leave the
    /// stream state untouched.
    pub(crate) fn unprotect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), EngineError> {
        let tag_len = self.rtp_tag_len();
        let header = RtpHeader::parse(packet)?;
        if packet.len() < header.header_len + tag_len {
            return Err(EngineError::SrtpTooShort { len: packet.len() });
        }
        let body = packet.len() - tag_len;
        // Estimate without creating state for a forged SSRC.
        let known = self.streams.iter().position(|s| s.ssrc == header.ssrc);
        let fresh = StreamState::new(header.ssrc);
        let state = known.map_or(&fresh, |i| &self.streams[i]);
        let index = state.estimate(header.seq);
        state.window.check(index)?;
        let roc = ((index >> 16) as u32).to_be_bytes();
        if !self.rtp.verify(&[&packet[..body], &roc], &packet[body..]) {
            return Err(EngineError::SrtpAuthentication);
        }
        packet.truncate(body);
        self.rtp
            .apply_keystream(header.ssrc, index, &mut packet[header.header_len..]);
        let stream = self.stream(header.ssrc);
        stream.window.accept(index);
        stream.update(index);
        Ok(())
    }

    /// Encrypts the compound RTCP packet in `packet` and appends the E flag with the SRTCP
    /// index, then the tag (RFC 3711 §3.4).
    pub(crate) fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), EngineError> {
        let index = self.srtcp_index;
        self.srtcp_index = (self.srtcp_index + 1) & !E_FLAG;
        self.protect_rtcp_with_index(packet, index)
    }

    fn protect_rtcp_with_index(
        &mut self,
        packet: &mut Vec<u8>,
        index: u32,
    ) -> Result<(), EngineError> {
        if packet.len() < 8 {
            return Err(EngineError::MalformedRtcp {
                reason: "shorter than a report header",
            });
        }
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        self.rtcp
            .apply_keystream(ssrc, u64::from(index), &mut packet[8..]);
        packet.extend_from_slice(&(E_FLAG | index).to_be_bytes());
        let tag = self.rtcp.tag(&[packet]);
        packet.extend_from_slice(&tag[..SRTCP_TAG_LEN]);
        Ok(())
    }

    /// Verifies and decrypts the SRTCP packet in `packet`, removing index and tag
    /// (RFC 3711 §3.4).
    pub(crate) fn unprotect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), EngineError> {
        if packet.len() < 8 + 4 + SRTCP_TAG_LEN {
            return Err(EngineError::SrtpTooShort { len: packet.len() });
        }
        let body = packet.len() - SRTCP_TAG_LEN;
        let word = u32::from_be_bytes([
            packet[body - 4],
            packet[body - 3],
            packet[body - 2],
            packet[body - 1],
        ]);
        let index = word & !E_FLAG;
        let ssrc = u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]);
        let slot = self.rtcp_windows.iter().position(|w| w.0 == ssrc);
        if let Some(i) = slot {
            self.rtcp_windows[i].1.check(u64::from(index))?;
        }
        if !self.rtcp.verify(&[&packet[..body]], &packet[body..]) {
            return Err(EngineError::SrtpAuthentication);
        }
        packet.truncate(body - 4);
        if word & E_FLAG != 0 {
            self.rtcp
                .apply_keystream(ssrc, u64::from(index), &mut packet[8..]);
        }
        self.uses += 1;
        let i = match slot {
            Some(i) => i,
            None if self.rtcp_windows.len() < MAX_STREAMS => {
                self.rtcp_windows.push((ssrc, ReplayWindow::default(), 0));
                self.rtcp_windows.len() - 1
            }
            None => {
                let oldest = (0..self.rtcp_windows.len())
                    .min_by_key(|&i| self.rtcp_windows[i].2)
                    .expect("the table is full, so not empty");
                self.rtcp_windows[oldest] = (ssrc, ReplayWindow::default(), 0);
                oldest
            }
        };
        self.rtcp_windows[i].1.accept(u64::from(index));
        self.rtcp_windows[i].2 = self.uses;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::keys::tests::hex;
    use super::*;

    /// The master key and salt of RFC 3711 Appendix B.3, also used by libsrtp's reference
    /// packets below.
    fn key(suite: SrtpSuite) -> SrtpKey {
        SrtpKey {
            suite,
            key: hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap(),
            salt: hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap(),
        }
    }

    const PLAIN_RTP: &str = "800f1234decafbadcafebabe abababababababababababababababab";
    const CIPHER_RTP: &str = "800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402";
    const PLAIN_RTCP: &str = "81c8000bcafebabe abababababababababababababababab";
    const SRTCP_INDEX_1: &str =
        "81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8 80000001 993e08cd54d6c1230798";

    #[test]
    fn protect_and_unprotect_rtp_80() {
        let mut tx = SrtpContext::new(&key(SrtpSuite::AesCm128HmacSha1_80));
        let mut packet = hex(PLAIN_RTP);
        tx.protect_rtp(&mut packet).unwrap();
        let mut expected = hex(CIPHER_RTP);
        expected.extend_from_slice(&hex("b78d6acc99ea179b8dbb"));
        assert_eq!(packet, expected);
        let mut rx = SrtpContext::new(&key(SrtpSuite::AesCm128HmacSha1_80));
        rx.unprotect_rtp(&mut packet).unwrap();
        assert_eq!(packet, hex(PLAIN_RTP));
    }

    #[test]
    fn protect_and_unprotect_rtp_32() {
        // The 32-bit tag is the leftmost part of the same HMAC.
        let mut tx = SrtpContext::new(&key(SrtpSuite::AesCm128HmacSha1_32));
        let mut packet = hex(PLAIN_RTP);
        tx.protect_rtp(&mut packet).unwrap();
        let mut expected = hex(CIPHER_RTP);
        expected.extend_from_slice(&hex("b78d6acc"));
        assert_eq!(packet, expected);
        let mut rx = SrtpContext::new(&key(SrtpSuite::AesCm128HmacSha1_32));
        rx.unprotect_rtp(&mut packet).unwrap();
        assert_eq!(packet, hex(PLAIN_RTP));
    }

    #[test]
    fn srtcp_reference_packet() {
        for suite in [
            SrtpSuite::AesCm128HmacSha1_80,
            SrtpSuite::AesCm128HmacSha1_32,
        ] {
            let mut tx = SrtpContext::new(&key(suite));
            let mut packet = hex(PLAIN_RTCP);
            tx.protect_rtcp_with_index(&mut packet, 1).unwrap();
            assert_eq!(packet, hex(SRTCP_INDEX_1));
            let mut rx = SrtpContext::new(&key(suite));
            rx.unprotect_rtcp(&mut packet).unwrap();
            assert_eq!(packet, hex(PLAIN_RTCP));
            let mut again = hex(SRTCP_INDEX_1);
            assert!(matches!(
                rx.unprotect_rtcp(&mut again),
                Err(EngineError::SrtpReplay { index: 1 })
            ));
        }
    }

    #[test]
    fn replayed_and_forged_packets_are_rejected() {
        let k = key(SrtpSuite::AesCm128HmacSha1_80);
        let mut tx = SrtpContext::new(&k);
        let mut rx = SrtpContext::new(&k);
        let mut packet = hex(PLAIN_RTP);
        tx.protect_rtp(&mut packet).unwrap();
        let copy = packet.clone();
        rx.unprotect_rtp(&mut packet).unwrap();
        let mut replay = copy.clone();
        assert!(matches!(
            rx.unprotect_rtp(&mut replay),
            Err(EngineError::SrtpReplay { index: 0x1234 })
        ));
        let mut forged = copy.clone();
        forged[3] ^= 1; // another sequence number, same tag
        assert!(matches!(
            rx.unprotect_rtp(&mut forged),
            Err(EngineError::SrtpAuthentication)
        ));
        let mut short = copy[..15].to_vec();
        assert!(rx.unprotect_rtp(&mut short).is_err());
        let mut other_key = SrtpContext::new(&SrtpKey { key: [7; 16], ..k });
        let mut p = copy;
        assert!(matches!(
            other_key.unprotect_rtp(&mut p),
            Err(EngineError::SrtpAuthentication)
        ));
    }

    #[test]
    fn sequence_wrap_keeps_streams_in_step() {
        let k = key(SrtpSuite::AesCm128HmacSha1_80);
        let mut tx = SrtpContext::new(&k);
        let mut rx = SrtpContext::new(&k);
        for n in 0..10u16 {
            let seq = 65530u16.wrapping_add(n);
            let mut p = hex(PLAIN_RTP);
            p[2..4].copy_from_slice(&seq.to_be_bytes());
            let plain = p.clone();
            tx.protect_rtp(&mut p).unwrap();
            rx.unprotect_rtp(&mut p).unwrap();
            assert_eq!(p, plain, "seq {seq}");
        }
        // Outbound SRTCP indices count up from 0.
        let mut r = hex(PLAIN_RTCP);
        tx.protect_rtcp(&mut r).unwrap();
        assert_eq!(r[r.len() - 14..r.len() - 10], [0x80, 0, 0, 0]);
        rx.unprotect_rtcp(&mut r).unwrap();
        assert_eq!(r, hex(PLAIN_RTCP));
    }
}
