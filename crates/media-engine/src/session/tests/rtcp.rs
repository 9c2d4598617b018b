//! RTCP terminated per leg: our reports, the device's reports in statistics, rtcp-mux.

use super::*;
use crate::rtcp::{ReportBlock, SenderInfo, parse_compound, write_report};

/// Sends `n` PCMU packets 20 ms apart from both devices (A's sequence numbers in `lost` are
/// skipped) and runs the timers along.
fn talk(s: &mut MediaSession, t0: Instant, n: u16, lost: &[u16]) {
    for i in 0..n {
        let at = ms(t0, 20 * u64::from(i));
        run_until(s, at);
        if !lost.contains(&i) {
            let p = rtp(0, 1000 + i, 160 * u32::from(i), 0xaaaa, &[0; 160]);
            s.handle_packet(at, A, SocketKind::Rtp, addr("192.0.2.10:4000"), &p);
        }
        let p = rtp(0, 2000 + i, 160 * u32::from(i), 0xbbbb, &[0; 160]);
        s.handle_packet(at, B, SocketKind::Rtp, addr("192.0.2.30:6000"), &p);
    }
}

#[test]
fn sender_reports_carry_what_we_sent_and_received() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
        plan("192.0.2.30:6000", known(0, CodecKind::Pcmu)),
    );
    talk(&mut s, t0, 240, &[10, 11, 100]);
    let to_a: Vec<Transmit> = drain(&mut s).into_iter().filter(|t| t.leg == A).collect();
    let ours = to_a
        .iter()
        .find(|t| t.socket == SocketKind::Rtp)
        .map(|t| parse(t).ssrc)
        .unwrap();
    assert!(
        to_a.iter().all(|t| t.socket == SocketKind::Rtp),
        "no report before 5 s"
    );
    run_until(&mut s, ms(t0, 5000));
    let reports: Vec<Transmit> = drain(&mut s).into_iter().filter(|t| t.leg == A).collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(
        (reports[0].socket, reports[0].to),
        (SocketKind::Rtcp, addr("192.0.2.10:4001"))
    );
    let summary = parse_compound(&reports[0].data, 0xaaaa).unwrap();
    assert_eq!(summary.sender_ssrc, Some(ours));
    let info = summary.sender_info.unwrap();
    assert_eq!((info.packets, info.octets), (240, 240 * 160));
    let block = summary.block.unwrap();
    assert_eq!(block.cumulative_lost, 3);
    assert_eq!(block.highest_seq, 1239);
    assert_eq!(block.fraction_lost, (3 * 256 / 240) as u8);
    assert_eq!(leg_stats(&s, A).packets_lost, 3);
    // The next one comes an interval later.
    assert_eq!(
        s.poll_timeout().map(|(at, _)| at),
        Some(ms(t0, 10_000)),
        "B's report at 5 s is out too; both are next due at 10 s"
    );
}

#[test]
fn receiver_reports_from_the_device_fill_the_stats() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
        plan("192.0.2.30:6000", known(0, CodecKind::Pcmu)),
    );
    talk(&mut s, t0, 250, &[]);
    let ours = drain(&mut s)
        .iter()
        .find(|t| t.leg == A && t.socket == SocketKind::Rtp)
        .map(|t| parse(t).ssrc)
        .unwrap();
    run_until(&mut s, ms(t0, 5000));
    let sr = drain(&mut s)
        .into_iter()
        .find(|t| t.leg == A && t.socket == SocketKind::Rtcp)
        .unwrap();
    let lsr = (parse_compound(&sr.data, 0)
        .unwrap()
        .sender_info
        .unwrap()
        .ntp
        >> 16) as u32;
    // The device answers 1.25 s later, having held our SR for 1 s: 250 ms round trip.
    let block = ReportBlock {
        ssrc: ours,
        fraction_lost: 26,
        cumulative_lost: 12,
        highest_seq: 5000,
        jitter: 240,
        lsr,
        dlsr: 65536,
    };
    let info = SenderInfo {
        ntp: 0xdead_0000_0000,
        rtp_ts: 1,
        packets: 2,
        octets: 3,
    };
    let mut rr = Vec::new();
    write_report(
        &mut rr,
        0xaaaa,
        Some(&info),
        Some(&block),
        b"phone@192.0.2.10",
    );
    s.handle_packet(
        ms(t0, 6250),
        A,
        SocketKind::Rtcp,
        addr("192.0.2.10:4001"),
        &rr,
    );
    let report = leg_stats(&s, A).remote_report.unwrap();
    assert_eq!(report.packets_lost, 12);
    assert!((report.fraction_lost - 26.0 / 256.0).abs() < 1e-9);
    assert_eq!(report.jitter_ms, 30.0);
    let rtt = report.rtt_ms.unwrap();
    assert!((rtt - 250.0).abs() < 0.1, "{rtt}");
    // Our next report echoes the device's SR in LSR/DLSR.
    run_until(&mut s, ms(t0, 10_000));
    let next = drain(&mut s).into_iter().find(|t| t.leg == A).unwrap();
    let block = parse_compound(&next.data, 0xaaaa).unwrap().block.unwrap();
    assert_eq!(
        block.lsr, 0xdead_0000,
        "middle 32 bits of its NTP timestamp"
    );
    assert_eq!(block.dlsr, 65536 * 3750 / 1000);
    // Garbage on the RTCP socket is counted, never fatal.
    let dropped = leg_stats(&s, A).packets_dropped;
    s.handle_packet(
        ms(t0, 10_001),
        A,
        SocketKind::Rtcp,
        addr("192.0.2.10:4001"),
        &[0x80, 200, 0xff],
    );
    assert_eq!(leg_stats(&s, A).packets_dropped, dropped + 1);
}

#[test]
fn rtcp_mux_shares_the_rtp_socket() {
    let t0 = Instant::now();
    let mut a = plan("192.0.2.10:4000", known(0, CodecKind::Pcmu));
    a.rtcp_mux = true;
    a.remote_rtcp = a.remote_rtp;
    let mut s = bridged(t0, a, plan("192.0.2.30:6000", known(0, CodecKind::Pcmu)));
    talk(&mut s, t0, 10, &[]);
    drain(&mut s);
    // A receiver report on the RTP socket is RTCP, not RTP with PT 73.
    let mut rr = Vec::new();
    let block = ReportBlock {
        ssrc: 0,
        ..ReportBlock::default()
    };
    write_report(&mut rr, 0xaaaa, None, Some(&block), b"x");
    s.handle_packet(
        ms(t0, 300),
        A,
        SocketKind::Rtp,
        addr("192.0.2.20:5000"),
        &rr,
    );
    assert!(drain(&mut s).is_empty(), "not relayed");
    assert_eq!(leg_stats(&s, A).packets_dropped, 0);
    run_until(&mut s, ms(t0, 5000));
    let report = drain(&mut s).into_iter().find(|t| t.leg == A).unwrap();
    assert_eq!(
        (report.socket, report.to),
        (SocketKind::Rtp, addr("192.0.2.10:4000"))
    );
    assert!(crate::rtp::is_rtcp(&report.data));
}
