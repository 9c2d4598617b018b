//! Relay: latching, rewriting, payload type mapping, echo, hold, timers.

use super::*;

const PCMU: CodecKind = CodecKind::Pcmu;

#[test]
fn latching_follows_where_packets_come_from() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        plan("192.0.2.10:4000", known(0, PCMU)),
        plan("192.0.2.30:6000", known(0, PCMU)),
    );
    // Before A's device sends anything, A gets media at the address of its SDP.
    s.handle_packet(
        t0,
        B,
        SocketKind::Rtp,
        addr("192.0.2.30:6000"),
        &rtp(0, 1, 160, 0xb, &[0xff; 160]),
    );
    let sent = drain_rtp(&mut s);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].leg, sent[0].to), (A, addr("192.0.2.10:4000")));
    // A's device is behind NAT: its packets come from elsewhere.
    s.handle_packet(
        ms(t0, 20),
        A,
        SocketKind::Rtp,
        addr("192.0.2.20:5000"),
        &rtp(0, 100, 0, 0xa, &[0x7f; 160]),
    );
    let sent = drain_rtp(&mut s);
    assert_eq!((sent[0].leg, sent[0].to), (B, addr("192.0.2.30:6000")));
    s.handle_packet(
        ms(t0, 20),
        B,
        SocketKind::Rtp,
        addr("192.0.2.30:6000"),
        &rtp(0, 2, 320, 0xb, &[0xff; 160]),
    );
    let sent = drain_rtp(&mut s);
    assert_eq!((sent[0].leg, sent[0].to), (A, addr("192.0.2.20:5000")));
    assert_eq!(leg_stats(&s, A).remote, Some(addr("192.0.2.20:5000")));
    // A stray source is ignored while the device keeps sending.
    s.handle_packet(
        ms(t0, 30),
        A,
        SocketKind::Rtp,
        addr("192.0.2.66:9999"),
        &rtp(0, 101, 160, 0xa, &[0; 160]),
    );
    assert!(drain_rtp(&mut s).is_empty());
    assert_eq!(leg_stats(&s, A).packets_dropped, 1);
}

#[test]
fn relay_rewrites_and_stays_continuous_across_sources() {
    let t0 = Instant::now();
    let mut s = MediaSession::new(&config(), t0);
    s.add_leg(A, ports(20000));
    s.add_leg(B, ports(20002));
    s.configure(t0, A, plan("192.0.2.10:4000", known(0, PCMU)))
        .unwrap();
    s.configure(t0, B, plan("192.0.2.30:6000", known(0, PCMU)))
        .unwrap();
    s.bridge(A, B).unwrap();
    let mut to_a = Vec::new();
    // Early media from B.
    for i in 0..5u16 {
        let p = rtp(0, 1000 + i, 8000 + 160 * u32::from(i), 0xb1, &[1; 160]);
        s.handle_packet(
            ms(t0, 20 * u64::from(i)),
            B,
            SocketKind::Rtp,
            addr("192.0.2.30:6000"),
            &p,
        );
        to_a.extend(drain_rtp(&mut s));
    }
    // The call is answered by another device (leg C) 100 ms later: the stream to A goes on.
    s.remove_leg(B);
    drain(&mut s);
    s.add_leg(C, ports(20004));
    s.configure(ms(t0, 100), C, plan("192.0.2.40:7000", known(0, PCMU)))
        .unwrap();
    s.bridge(A, C).unwrap();
    for i in 0..5u16 {
        let p = rtp(0, 40_000 + i, 999_999 + 160 * u32::from(i), 0xc1, &[2; 160]);
        s.handle_packet(
            ms(t0, 200 + 20 * u64::from(i)),
            C,
            SocketKind::Rtp,
            addr("192.0.2.40:7000"),
            &p,
        );
        to_a.extend(drain_rtp(&mut s));
    }
    // Then C's device changes SSRC and numbering (a re-INVITE), right on time.
    for i in 0..3u16 {
        let p = rtp(0, 7 + i, 5 + 160 * u32::from(i), 0xc2, &[3; 160]);
        s.handle_packet(
            ms(t0, 300 + 20 * u64::from(i)),
            C,
            SocketKind::Rtp,
            addr("192.0.2.40:7000"),
            &p,
        );
        to_a.extend(drain_rtp(&mut s));
    }
    assert_eq!(to_a.len(), 13);
    let ssrc = to_a[0].ssrc;
    assert!(
        to_a.iter()
            .all(|p| p.ssrc == ssrc && p.leg == A && p.pt == 0)
    );
    assert!(![0xb1, 0xc1, 0xc2].contains(&ssrc), "the leg's own SSRC");
    for w in to_a.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "sequence continues");
    }
    let ts: Vec<u32> = to_a.iter().map(|p| p.ts.wrapping_sub(to_a[0].ts)).collect();
    // 20 ms apart within a source; across a source change the elapsed time counts.
    assert_eq!(
        ts,
        [
            0, 160, 320, 480, 640, 1600, 1760, 1920, 2080, 2240, 2400, 2560, 2720
        ]
    );
    let markers: Vec<usize> = (0..13).filter(|&i| to_a[i].marker).collect();
    assert_eq!(markers, [0, 5, 10]);
    assert_eq!(to_a[7].payload, [2; 160]);
}

#[test]
fn payload_types_are_mapped_and_unknown_ones_dropped() {
    let t0 = Instant::now();
    let opus = |pt| known(pt, CodecKind::Opus);
    let mut s = bridged(
        t0,
        with_te(plan("192.0.2.10:4000", opus(111)), 101, 48000),
        with_te(plan("192.0.2.30:6000", opus(96)), 97, 48000),
    );
    let from_a = addr("192.0.2.10:4000");
    s.handle_packet(
        t0,
        A,
        SocketKind::Rtp,
        from_a,
        &rtp(111, 1, 0, 0xa, &[9; 40]),
    );
    s.handle_packet(
        ms(t0, 20),
        A,
        SocketKind::Rtp,
        from_a,
        &rtp(101, 2, 960, 0xa, &[5, 10, 0, 160]),
    );
    s.handle_packet(
        ms(t0, 20),
        A,
        SocketKind::Rtp,
        from_a,
        &rtp(55, 3, 960, 0xa, &[1]),
    );
    let sent = drain_rtp(&mut s);
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].pt, &sent[0].payload[..]), (96, &[9u8; 40][..]));
    assert_eq!(
        (sent[1].pt, &sent[1].payload[..]),
        (97, &[5u8, 10, 0, 160][..])
    );
    assert_eq!(
        sent[1].ts.wrapping_sub(sent[0].ts),
        960,
        "same timeline as the audio"
    );
    assert_eq!(sent[1].seq, sent[0].seq.wrapping_add(1));
    assert_eq!(
        leg_stats(&s, A).packets_dropped,
        1,
        "PT 55 was not negotiated"
    );
    // A target without telephone-event gets no events.
    let mut s = bridged(
        t0,
        with_te(plan("192.0.2.10:4000", opus(111)), 101, 48000),
        plan("192.0.2.30:6000", opus(96)),
    );
    s.handle_packet(
        t0,
        A,
        SocketKind::Rtp,
        from_a,
        &rtp(101, 2, 960, 0xa, &[5, 10, 0, 160]),
    );
    assert!(drain_rtp(&mut s).is_empty());
    assert_eq!(events(&mut s).len(), 0, "no end bit yet");
}

#[test]
fn csrc_extension_and_padding_are_stripped() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        plan("192.0.2.10:4000", known(0, PCMU)),
        plan("192.0.2.30:6000", known(0, PCMU)),
    );
    let mut p = rtp(0, 1, 0, 0xa, &[]);
    p[0] = 0x80 | 0x20 | 0x10 | 1; // padding, extension, one CSRC
    p.extend_from_slice(&[0, 0, 0, 9]); // CSRC
    p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0x55, 0, 0]); // one-word extension
    p.extend_from_slice(&[0x11; 160]);
    p.extend_from_slice(&[0, 0, 3]); // padding
    s.handle_packet(t0, A, SocketKind::Rtp, addr("192.0.2.10:4000"), &p);
    let sent = drain(&mut s);
    assert_eq!(sent[0].data.len(), 12 + 160);
    assert_eq!(sent[0].data[0], 0x80);
    assert_eq!(parse(&sent[0]).payload, [0x11; 160]);
}

#[test]
fn echo_returns_the_media_to_its_sender() {
    let t0 = Instant::now();
    let mut s = MediaSession::new(&config(), t0);
    s.add_leg(A, ports(20000));
    s.configure(
        t0,
        A,
        with_te(
            plan("192.0.2.10:4000", known(8, CodecKind::Pcma)),
            101,
            8000,
        ),
    )
    .unwrap();
    s.echo(A).unwrap();
    assert_eq!(s.stats().path, Some(SessionPath::Echo));
    for i in 0..3u16 {
        let p = rtp(8, 10 + i, 160 * u32::from(i), 0xa, &[i as u8; 160]);
        s.handle_packet(
            ms(t0, 20 * u64::from(i)),
            A,
            SocketKind::Rtp,
            addr("192.0.2.20:5000"),
            &p,
        );
    }
    let sent = drain_rtp(&mut s);
    assert_eq!(sent.len(), 3);
    assert!(
        sent.iter()
            .all(|p| p.leg == A && p.to == addr("192.0.2.20:5000") && p.pt == 8)
    );
    assert_ne!(sent[0].ssrc, 0xa, "our SSRC, not the device's");
    assert_eq!(sent[2].payload, [2; 160]);
    assert!(
        s.poll_timeout()
            .is_none_or(|(_, r)| r != TimeoutReason::Tick)
    );
}

#[test]
fn a_held_leg_gets_nothing_and_relay_needs_no_tick() {
    let t0 = Instant::now();
    let mut held = plan("192.0.2.10:4000", known(0, PCMU));
    held.direction = Direction::RecvOnly; // A's device said sendonly: it plays music on hold
    let mut s = bridged(t0, held, plan("192.0.2.30:6000", known(0, PCMU)));
    s.handle_packet(
        t0,
        B,
        SocketKind::Rtp,
        addr("192.0.2.30:6000"),
        &rtp(0, 1, 0, 0xb, &[0; 160]),
    );
    assert!(
        drain_rtp(&mut s).is_empty(),
        "nothing to a leg that does not receive"
    );
    s.handle_packet(
        t0,
        A,
        SocketKind::Rtp,
        addr("192.0.2.10:4000"),
        &rtp(0, 1, 0, 0xa, &[0; 160]),
    );
    assert_eq!(drain_rtp(&mut s).len(), 1, "its music goes to B");
    assert_eq!(s.stats().path, Some(SessionPath::Relay));
    let (_, reason) = s.poll_timeout().expect("RTCP and media timeouts");
    assert!(matches!(reason, TimeoutReason::Rtcp { .. }), "{reason:?}");
    run_until(&mut s, ms(t0, 4000));
    assert!(s.next_tick.is_none());
}

#[test]
fn media_timeout_fires_once_and_not_on_hold() {
    let t0 = Instant::now();
    let cfg = SessionConfig {
        media_timeout: Duration::from_secs(10),
        ..config()
    };
    let mut s = MediaSession::new(&cfg, t0);
    s.add_leg(A, ports(20000));
    s.add_leg(B, ports(20002));
    s.configure(t0, A, plan("192.0.2.10:4000", known(0, PCMU)))
        .unwrap();
    let mut held = plan("192.0.2.30:6000", known(0, PCMU));
    held.direction = Direction::SendOnly; // B's device said recvonly: it is held and silent
    s.configure(t0, B, held).unwrap();
    s.bridge(A, B).unwrap();
    // A talks for 3 s, then goes silent.
    for i in 0..150u64 {
        let p = rtp(0, i as u16, 160 * i as u32, 0xa, &[0; 160]);
        s.handle_packet(
            ms(t0, 20 * i),
            A,
            SocketKind::Rtp,
            addr("192.0.2.10:4000"),
            &p,
        );
        run_until(&mut s, ms(t0, 20 * i));
    }
    run_until(&mut s, ms(t0, 12_979));
    assert!(
        events(&mut s).is_empty(),
        "not yet: the last packet came at 2.98 s"
    );
    run_until(&mut s, ms(t0, 12_980));
    assert_eq!(events(&mut s), [MediaEvent::MediaTimeout { leg: A }]);
    run_until(&mut s, ms(t0, 120_000));
    assert!(
        events(&mut s).is_empty(),
        "once only, and never for the held leg"
    );
    // A re-INVITE puts A on hold too: still nothing.
    let mut a_held = plan("192.0.2.10:4000", known(0, PCMU));
    a_held.direction = Direction::Inactive;
    s.configure(ms(t0, 120_000), A, a_held).unwrap();
    run_until(&mut s, ms(t0, 300_000));
    assert!(events(&mut s).is_empty());
}

#[test]
fn the_send_format_is_accepted_when_the_receive_list_lacks_it() {
    let t0 = Instant::now();
    let mut a = plan("192.0.2.10:4000", known(0, PCMU));
    a.receive.clear();
    let mut s = bridged(t0, a, plan("192.0.2.30:6000", known(0, PCMU)));
    let p = rtp(0, 1, 0, 0xa, &[0; 160]);
    s.handle_packet(t0, A, SocketKind::Rtp, addr("192.0.2.10:4000"), &p);
    assert_eq!(drain_rtp(&mut s).len(), 1);
}

#[test]
fn mangled_network_input_is_dropped_without_panicking() {
    use rand::rngs::SmallRng;
    use rand::{RngExt, SeedableRng};

    use crate::plan::{SrtpKey, SrtpPair, SrtpSuite};

    let t0 = Instant::now();
    let key = SrtpKey {
        suite: SrtpSuite::AesCm128HmacSha1_32,
        key: [1; 16],
        salt: [2; 14],
    };
    let mut a = with_te(plan("192.0.2.10:4000", known(0, PCMU)), 101, 8000);
    a.srtp = Some(SrtpPair {
        local: key.clone(),
        remote: key,
    });
    let b = with_te(
        plan("192.0.2.30:6000", known(111, CodecKind::Opus)),
        110,
        48000,
    );
    let mut s = bridged(t0, a, b);
    let opus = tone_frames(CodecKind::Opus, 440, 1).remove(0);
    let mut sr = Vec::new();
    crate::rtcp::write_report(&mut sr, 5, None, None, b"x");
    let seeds: [Vec<u8>; 4] = [
        rtp(111, 1, 960, 0xb, &opus),
        rtp(110, 2, 960, 0xb, &[5, 0x8a, 0, 160]),
        rtp(0, 3, 160, 0xb, &[0xff; 160]),
        sr,
    ];
    let mut rng = SmallRng::seed_from_u64(4733);
    for i in 0..20_000u64 {
        let mut p = seeds[rng.random_range(0..seeds.len())].clone();
        for _ in 0..rng.random_range(0..4) {
            let at = rng.random_range(0..p.len());
            p[at] ^= 1 << rng.random_range(0..8);
        }
        p.truncate(rng.random_range(0..=p.len()));
        let leg = if rng.random::<bool>() { A } else { B };
        let socket = if rng.random::<bool>() {
            SocketKind::Rtp
        } else {
            SocketKind::Rtcp
        };
        let now = ms(t0, i);
        s.handle_packet(now, leg, socket, addr("192.0.2.30:6000"), &p);
        run_until(&mut s, now);
        while let Some(t) = s.poll_transmit() {
            s.recycle(t.data);
        }
    }
    let stats = s.stats();
    assert!(stats.legs.iter().all(|l| l.packets_dropped > 0));
    assert!(
        leg_stats(&s, B).frames_decoded > 0,
        "some packets got through"
    );
}
