//! Transcoding: PCMU ↔ Opus with the tone checked after decoding, G.722 timestamps, jitter
//! buffer reordering and loss, tones.

use sb_media_codec::{Decoder, tone_power};

use super::*;

/// Feeds `frames` from `device` (20 ms apart), skipping the indices in `lost` and swapping
/// the pairs starting at the indices in `swapped`, runs the timers along, and returns what
/// the session sent to `to`.
fn feed(
    s: &mut MediaSession,
    t0: Instant,
    device: Device,
    frames: &[Vec<u8>],
    (lost, swapped): (&[usize], &[usize]),
    to: LegId,
) -> Vec<Sent> {
    let mut order: Vec<usize> = (0..frames.len()).collect();
    for &i in swapped {
        order.swap(i, i + 1);
    }
    let mut out = Vec::new();
    for (slot, &i) in order.iter().enumerate() {
        let at = ms(t0, 20 * slot as u64);
        run_until(s, at);
        if !lost.contains(&i) {
            let ts = 1000 + device.units() * i as u32;
            device.send(s, at, &rtp(device.pt, 500 + i as u16, ts, 0xd0, &frames[i]));
        }
        out.extend(drain_rtp(s).into_iter().filter(|p| p.leg == to));
    }
    run_until(s, ms(t0, 20 * frames.len() as u64 + 500));
    out.extend(drain_rtp(s).into_iter().filter(|p| p.leg == to));
    out
}

const PHONE_A: Device = Device {
    leg: A,
    from: "192.0.2.10:4000",
    pt: 0,
    kind: CodecKind::Pcmu,
};

const BROWSER_B: Device = Device {
    leg: B,
    from: "192.0.2.30:6000",
    pt: 111,
    kind: CodecKind::Opus,
};

fn decode(kind: CodecKind, packets: &[Sent]) -> Vec<i16> {
    let mut dec = Decoder::new(kind).unwrap();
    let mut pcm = Vec::new();
    for p in packets {
        dec.decode(&p.payload, &mut pcm).unwrap();
    }
    pcm
}

fn assert_tone(pcm: &[i16], rate: u32, hz: u32) {
    let middle = &pcm[pcm.len() / 4..pcm.len() * 3 / 4];
    let on = tone_power(middle, rate, hz);
    let off = tone_power(middle, rate, hz * 3);
    assert!(on > 100.0 * off, "{hz} Hz: {on}, {} Hz: {off}", hz * 3);
}

fn assert_stream(sent: &[Sent], pt: u8, units: u32) {
    assert!(sent.iter().all(|p| p.pt == pt && p.ssrc == sent[0].ssrc));
    for w in sent.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1));
        assert_eq!(w[1].ts.wrapping_sub(w[0].ts), units);
    }
    assert!(sent[0].marker);
    assert!(sent[1..].iter().all(|p| !p.marker));
}

fn pcmu_opus(t0: Instant, config: &SessionConfig) -> MediaSession {
    bridged_with(
        config,
        t0,
        plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
        plan("192.0.2.30:6000", known(111, CodecKind::Opus)),
    )
}

#[test]
fn pcmu_to_opus_and_back() {
    let t0 = Instant::now();
    let mut s = pcmu_opus(t0, &config());
    assert_eq!(s.stats().path, Some(SessionPath::Transcode));
    let input = tone_frames(CodecKind::Pcmu, 1000, 100);
    let sent = feed(&mut s, t0, PHONE_A, &input, (&[], &[]), B);
    assert!(sent.len() >= 95, "{}", sent.len());
    assert_stream(&sent, 111, 960);
    assert_tone(&decode(CodecKind::Opus, &sent), 48000, 1000);
    let (a, b) = (leg_stats(&s, A), leg_stats(&s, B));
    assert_eq!(a.frames_decoded, 100);
    assert_eq!(b.frames_encoded, sent.len() as u64);
    assert_eq!(b.codec.as_deref(), Some("opus"));

    let t1 = ms(t0, 10_000);
    let input = tone_frames(CodecKind::Opus, 600, 100);
    let sent = feed(&mut s, t1, BROWSER_B, &input, (&[], &[]), A);
    assert!(sent.len() >= 95, "{}", sent.len());
    assert_stream(&sent, 0, 160);
    assert!(sent.iter().all(|p| p.payload.len() == 160));
    assert_tone(&decode(CodecKind::Pcmu, &sent), 8000, 600);
    // The tick stops once nobody sends.
    run_until(&mut s, ms(t1, 10_000));
    assert!(s.next_tick.is_none());
}

#[test]
fn g722_uses_an_8000_hz_clock() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
        plan("192.0.2.30:6000", known(9, CodecKind::G722)),
    );
    let input = tone_frames(CodecKind::Pcmu, 1000, 50);
    let sent = feed(&mut s, t0, PHONE_A, &input, (&[], &[]), B);
    assert!(sent.len() >= 45);
    assert_stream(&sent, 9, 160);
    assert!(sent.iter().all(|p| p.payload.len() == 160), "64 kbit/s");
    assert_tone(&decode(CodecKind::G722, &sent), 16000, 1000);
}

#[test]
fn reordering_is_repaired_and_loss_concealed() {
    let t0 = Instant::now();
    // 60 ms of delay: packet 30, swapped with 31, comes 20 ms late and still plays.
    let cfg = SessionConfig {
        jitter_min_ms: 60,
        ..config()
    };
    let mut s = pcmu_opus(t0, &cfg);
    let input = tone_frames(CodecKind::Pcmu, 1000, 100);
    let sent = feed(&mut s, t0, PHONE_A, &input, (&[60], &[30]), B);
    assert_tone(&decode(CodecKind::Opus, &sent), 48000, 1000);
    let a = leg_stats(&s, A);
    assert_eq!(a.frames_decoded, 99, "the swapped pair played in order");
    assert!(a.frames_concealed >= 1);
    assert_eq!(a.packets_lost, 1);
    assert_eq!(a.packets_received, 99);
}

#[test]
fn tone_plays_for_its_duration() {
    let t0 = Instant::now();
    let mut s = MediaSession::new(&config(), t0);
    s.add_leg(A, ports(20000));
    s.configure(t0, A, plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)))
        .unwrap();
    s.play_tone(t0, A, 425, Duration::from_millis(1000))
        .unwrap();
    assert_eq!(s.stats().path, Some(SessionPath::Tone));
    let mut sent = Vec::new();
    for i in 0..100u64 {
        run_until(&mut s, ms(t0, 20 * i));
        sent.extend(drain_rtp(&mut s));
    }
    assert_eq!(sent.len(), 50);
    assert_stream(&sent, 0, 160);
    assert_tone(&decode(CodecKind::Pcmu, &sent), 8000, 425);
    assert_eq!(events(&mut s), [MediaEvent::ToneFinished { leg: A }]);
    assert_eq!(leg_stats(&s, A).frames_encoded, 50);
    assert!(s.next_tick.is_none());
    assert_eq!(s.stats().path, None);
    // Errors: unknown leg, unconfigured leg, codec the gateway cannot encode.
    assert!(matches!(
        s.play_tone(t0, B, 425, Duration::from_secs(1)),
        Err(EngineError::UnknownLeg { leg: B })
    ));
    s.add_leg(B, ports(20002));
    assert!(matches!(
        s.play_tone(t0, B, 425, Duration::from_secs(1)),
        Err(EngineError::NotConfigured { leg: B })
    ));
    let other = PayloadFormat {
        pt: 18,
        codec: Codec::Other {
            name: "G729".into(),
            clock_rate: 8000,
            channels: None,
        },
    };
    s.configure(t0, B, plan("192.0.2.30:6000", other)).unwrap();
    assert!(matches!(
        s.play_tone(t0, B, 425, Duration::from_secs(1)),
        Err(EngineError::CannotEncode { .. })
    ));
}

#[test]
fn tone_then_bridge_continues_the_stream() {
    let t0 = Instant::now();
    let mut s = MediaSession::new(&config(), t0);
    s.add_leg(A, ports(20000));
    s.add_leg(B, ports(20002));
    s.configure(t0, A, plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)))
        .unwrap();
    s.configure(t0, B, plan("192.0.2.30:6000", known(0, CodecKind::Pcmu)))
        .unwrap();
    s.play_tone(t0, A, 425, Duration::from_millis(200)).unwrap();
    let mut sent = Vec::new();
    for i in 0..15u64 {
        run_until(&mut s, ms(t0, 20 * i));
        sent.extend(drain_rtp(&mut s));
    }
    s.bridge(A, B).unwrap();
    let p = rtp(0, 9, 9, 0xb, &[0x55; 160]);
    s.handle_packet(ms(t0, 300), B, SocketKind::Rtp, addr("192.0.2.30:6000"), &p);
    sent.extend(drain_rtp(&mut s));
    assert_eq!(sent.len(), 11);
    let last = &sent[10];
    assert_eq!(last.seq, sent[9].seq.wrapping_add(1));
    assert_eq!(
        last.ts.wrapping_sub(sent[9].ts),
        8 * 120,
        "120 ms after the last tone frame"
    );
    assert!(last.marker);
    assert_eq!(last.payload, [0x55; 160]);
}
