//! SRTP legs: RFC 3711 reference packets through the session both ways, SRTCP, replay.

use super::*;
use crate::plan::{SrtpKey, SrtpPair, SrtpSuite};
use crate::rtcp::parse_compound;
use crate::srtp::SrtpContext;

/// The master key of RFC 3711 Appendix B.3 (libsrtp's reference packets use it).
fn rfc_key(suite: SrtpSuite) -> SrtpKey {
    SrtpKey {
        suite,
        key: hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap(),
        salt: hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap(),
    }
}

fn other_key(suite: SrtpSuite) -> SrtpKey {
    SrtpKey {
        suite,
        key: [0x42; 16],
        salt: [0x24; 14],
    }
}

/// PT 15 (G728, static, relayed only) as in the reference packet.
fn g728() -> PayloadFormat {
    PayloadFormat {
        pt: 15,
        codec: Codec::Other {
            name: "G728".into(),
            clock_rate: 8000,
            channels: None,
        },
    }
}

const PLAIN: &str = "800f1234decafbadcafebabe abababababababababababababababab";
const PROTECTED_80: &str =
    "800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc99ea179b8dbb";
const PROTECTED_32: &str = "800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402 b78d6acc";

fn srtp_plan(remote: &str, device_key: SrtpKey, our_key: SrtpKey) -> LegPlan {
    LegPlan {
        srtp: Some(SrtpPair {
            local: our_key,
            remote: device_key,
        }),
        ..plan(remote, g728())
    }
}

#[test]
fn srtp_to_rtp_with_the_reference_packets() {
    for (suite, packet) in [
        (SrtpSuite::AesCm128HmacSha1_80, PROTECTED_80),
        (SrtpSuite::AesCm128HmacSha1_32, PROTECTED_32),
    ] {
        let t0 = Instant::now();
        let a = srtp_plan("192.0.2.10:4000", rfc_key(suite), other_key(suite));
        let mut s = bridged(t0, a, plan("192.0.2.30:6000", g728()));
        s.handle_packet(
            t0,
            A,
            SocketKind::Rtp,
            addr("192.0.2.10:4000"),
            &hex(packet),
        );
        let sent = drain_rtp(&mut s);
        assert_eq!(sent.len(), 1, "{suite:?}");
        assert_eq!(sent[0].leg, B);
        assert_eq!(sent[0].pt, 15);
        assert_eq!(sent[0].payload, hex(PLAIN)[12..]);
        // The same packet again is a replay.
        s.handle_packet(
            ms(t0, 1),
            A,
            SocketKind::Rtp,
            addr("192.0.2.10:4000"),
            &hex(packet),
        );
        assert!(drain_rtp(&mut s).is_empty());
        // A forged one fails authentication.
        let mut forged = hex(packet);
        forged[20] ^= 0x01;
        forged[3] = 0x35;
        s.handle_packet(
            ms(t0, 2),
            A,
            SocketKind::Rtp,
            addr("192.0.2.10:4000"),
            &forged,
        );
        assert!(drain_rtp(&mut s).is_empty());
        let stats = leg_stats(&s, A);
        assert_eq!((stats.srtp_auth_failures, stats.packets_received), (2, 1));
        assert!(stats.srtp);
        assert!(!leg_stats(&s, B).srtp);
    }
}

#[test]
fn rtp_to_srtp_protects_with_our_key() {
    for suite in [
        SrtpSuite::AesCm128HmacSha1_80,
        SrtpSuite::AesCm128HmacSha1_32,
    ] {
        let t0 = Instant::now();
        let b = srtp_plan("192.0.2.30:6000", other_key(suite), rfc_key(suite));
        let mut s = bridged(t0, plan("192.0.2.10:4000", g728()), b);
        s.handle_packet(t0, A, SocketKind::Rtp, addr("192.0.2.10:4000"), &hex(PLAIN));
        let mut sent = drain(&mut s);
        assert_eq!(sent.len(), 1);
        let tag = if suite == SrtpSuite::AesCm128HmacSha1_80 {
            10
        } else {
            4
        };
        assert_eq!(sent[0].data.len(), 12 + 16 + tag);
        assert_ne!(sent[0].data[12..28], hex(PLAIN)[12..], "encrypted");
        // The device, holding our key, reads it back.
        let mut device = SrtpContext::new(&rfc_key(suite));
        device.unprotect_rtp(&mut sent[0].data).unwrap();
        let p = parse(&sent[0]);
        assert_eq!((p.pt, &p.payload[..]), (15, &hex(PLAIN)[12..]));
    }
}

#[test]
fn srtcp_both_ways() {
    let t0 = Instant::now();
    let suite = SrtpSuite::AesCm128HmacSha1_80;
    let a = srtp_plan("192.0.2.10:4000", rfc_key(suite), other_key(suite));
    let mut s = bridged(t0, a, plan("192.0.2.30:6000", g728()));
    // Media from B to A so that A's report is an SR.
    s.handle_packet(
        t0,
        B,
        SocketKind::Rtp,
        addr("192.0.2.30:6000"),
        &rtp(15, 1, 0, 0xb, &[0; 20]),
    );
    let ours = drain_rtp(&mut s)[0].ssrc;
    // The device's SRTCP receiver report about our stream, protected with its key.
    let mut rr = vec![0x81, 201, 0, 7, 0xca, 0xfe, 0xba, 0xbe];
    rr.extend_from_slice(&ours.to_be_bytes());
    rr.extend_from_slice(&[64, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut device = SrtpContext::new(&rfc_key(suite));
    let mut protected = rr.clone();
    device.protect_rtcp(&mut protected).unwrap();
    s.handle_packet(
        ms(t0, 100),
        A,
        SocketKind::Rtcp,
        addr("192.0.2.10:4001"),
        &protected,
    );
    let report = leg_stats(&s, A).remote_report.expect("the RR was read");
    assert_eq!((report.fraction_lost, report.packets_lost), (0.25, 3));
    assert_eq!(report.jitter_ms, 10.0);
    // Replayed SRTCP is refused; plain RTCP on an SRTP leg too.
    s.handle_packet(
        ms(t0, 200),
        A,
        SocketKind::Rtcp,
        addr("192.0.2.10:4001"),
        &protected,
    );
    s.handle_packet(
        ms(t0, 200),
        A,
        SocketKind::Rtcp,
        addr("192.0.2.10:4001"),
        &rr,
    );
    assert_eq!(leg_stats(&s, A).srtp_auth_failures, 2);
    // Our SR to A is SRTCP under our key.
    run_until(&mut s, ms(t0, 5000));
    let mut reports: Vec<Transmit> = drain(&mut s).into_iter().filter(|t| t.leg == A).collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (reports[0].socket, reports[0].to),
        (SocketKind::Rtcp, addr("192.0.2.10:4001"))
    );
    let mut device_rx = SrtpContext::new(&other_key(suite));
    device_rx.unprotect_rtcp(&mut reports[0].data).unwrap();
    let summary = parse_compound(&reports[0].data, 0).unwrap();
    assert_eq!(summary.sender_ssrc, Some(ours));
    assert_eq!(summary.sender_info.map(|i| i.packets), Some(1));
}
