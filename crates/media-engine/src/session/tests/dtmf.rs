//! RFC 4733 through the session: detection, relay with payload type mapping and clock
//! conversion, generation.

use super::*;
use crate::dtmf::EventPayload;

fn event(code: u8, end: bool, duration: u16) -> [u8; 4] {
    EventPayload {
        code,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

/// `device` talks (a 20 ms frame of tone every 20 ms) and presses '5' for 160 ms from 200 ms
/// on, as telephone-events `te` = (payload type, clock). Returns what `to` received.
fn press_five(
    s: &mut MediaSession,
    t0: Instant,
    device: Device,
    te: (u8, u32),
    to: LegId,
) -> Vec<Sent> {
    let frames = tone_frames(device.kind, 1000, 30);
    let units = device.units();
    let per_ms = te.1 / 1000;
    let mut out = Vec::new();
    let mut seq = 100u16;
    for i in 0..30u32 {
        let at = ms(t0, 20 * u64::from(i));
        run_until(s, at);
        seq += 1;
        device.send(
            s,
            at,
            &rtp(device.pt, seq, units * i, 0xd0, &frames[i as usize]),
        );
        // Event starting at 200 ms (timestamp of frame 10): updates, then three ends.
        let start_ts = units * 10;
        let update = |n: u32| event(5, false, u16::try_from(n * 20 * per_ms).unwrap());
        let packets: Vec<[u8; 4]> = match i {
            10..=17 => vec![update(i - 9)],
            18 => vec![event(5, true, u16::try_from(160 * per_ms).unwrap()); 3],
            _ => vec![],
        };
        for p in packets {
            seq += 1;
            let mut packet = rtp(te.0, seq, start_ts, 0xd0, &p);
            if i == 10 {
                packet[1] |= 0x80; // the event's first packet carries the marker
            }
            device.send(s, at, &packet);
        }
        out.extend(drain_rtp(s).into_iter().filter(|p| p.leg == to));
    }
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

fn durations(sent: &[Sent], te_pt: u8) -> Vec<(u16, bool)> {
    sent.iter()
        .filter(|p| p.pt == te_pt)
        .map(|p| {
            let e = EventPayload::parse(&p.payload).unwrap();
            (e.duration, e.end)
        })
        .collect()
}

#[test]
fn relayed_events_map_payload_types_and_are_detected_once() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        with_te(
            plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
            101,
            8000,
        ),
        with_te(plan("192.0.2.30:6000", known(0, CodecKind::Pcmu)), 96, 8000),
    );
    let sent = press_five(&mut s, t0, PHONE_A, (101, 8000), B);
    let ev: Vec<&Sent> = sent.iter().filter(|p| p.pt == 96).collect();
    assert_eq!(ev.len(), 11);
    assert!(ev[0].marker && ev[1..].iter().all(|p| !p.marker));
    assert!(ev.iter().all(|p| p.ts == ev[0].ts));
    // Relayed: the event's timestamp is the audio's at 200 ms.
    let audio_at_200 = sent
        .iter()
        .find(|p| p.pt == 0 && p.seq.wrapping_add(1) == ev[0].seq);
    assert_eq!(audio_at_200.map(|p| p.ts), Some(ev[0].ts));
    assert_eq!(durations(&sent, 96).last(), Some(&(1280, true)));
    assert_eq!(
        events(&mut s),
        [MediaEvent::DtmfReceived {
            leg: A,
            digit: '5',
            duration: Duration::from_millis(160),
        }]
    );
    assert_eq!(leg_stats(&s, A).dtmf_events, 1);
}

#[test]
fn transcoded_events_convert_clocks_both_ways() {
    let t0 = Instant::now();
    let mut s = bridged(
        t0,
        with_te(
            plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
            101,
            8000,
        ),
        with_te(
            plan("192.0.2.30:6000", known(111, CodecKind::Opus)),
            110,
            48000,
        ),
    );
    let sent = press_five(&mut s, t0, PHONE_A, (101, 8000), B);
    let d = durations(&sent, 110);
    assert_eq!(d.len(), 11);
    assert_eq!(d[0], (960, false), "20 ms at 48 kHz");
    assert_eq!(d[7], (7680, false));
    assert_eq!(d[8..], [(7680, true); 3]);
    let ev: Vec<&Sent> = sent.iter().filter(|p| p.pt == 110).collect();
    assert!(ev.iter().all(|p| p.ts == ev[0].ts && p.ssrc == ev[0].ssrc));
    assert!(ev[0].marker);
    // On B's timeline: within the audio sent around it.
    let audio: Vec<&Sent> = sent.iter().filter(|p| p.pt == 111).collect();
    assert!(audio.iter().any(|p| p.ts.wrapping_sub(ev[0].ts) < 48_000));
    assert!(audio.iter().any(|p| ev[0].ts.wrapping_sub(p.ts) < 48_000));
    assert_eq!(events(&mut s).len(), 1);

    let t1 = ms(t0, 5000);
    let sent = press_five(&mut s, t1, BROWSER_B, (110, 48000), A);
    let d = durations(&sent, 101);
    assert_eq!(d.first(), Some(&(160, false)));
    assert_eq!(d.last(), Some(&(1280, true)));
    assert_eq!(
        events(&mut s),
        [MediaEvent::DtmfReceived {
            leg: B,
            digit: '5',
            duration: Duration::from_millis(160),
        }]
    );
}

#[test]
fn send_dtmf_schedule() {
    let t0 = Instant::now();
    let mut s = MediaSession::new(&config(), t0);
    s.add_leg(A, ports(20000));
    s.configure(
        t0,
        A,
        with_te(
            plan("192.0.2.10:4000", known(0, CodecKind::Pcmu)),
            101,
            8000,
        ),
    )
    .unwrap();
    s.send_dtmf(t0, A, '#', Duration::from_millis(160)).unwrap();
    let mut sent = Vec::new();
    for i in 0..=30u64 {
        run_until(&mut s, ms(t0, 10 * i));
        sent.extend(drain_rtp(&mut s).into_iter().map(|p| (10 * i, p)));
    }
    let schedule: Vec<(u64, bool, u16, bool)> = sent
        .iter()
        .map(|(at, p)| {
            let e = EventPayload::parse(&p.payload).unwrap();
            assert_eq!((p.pt, e.code, p.ts), (101, 11, sent[0].1.ts));
            (*at, p.marker, e.duration, e.end)
        })
        .collect();
    assert_eq!(
        schedule,
        [
            (0, true, 400, false),
            (50, false, 800, false),
            (100, false, 1200, false),
            (150, false, 1280, false),
            (160, false, 1280, true),
            (180, false, 1280, true),
            (200, false, 1280, true),
        ]
    );
    for w in sent.windows(2) {
        assert_eq!(w[1].1.seq, w[0].1.seq.wrapping_add(1));
    }
    assert!(matches!(
        s.send_dtmf(t0, A, 'X', Duration::from_millis(100)),
        Err(EngineError::InvalidDigit { digit: 'X' })
    ));
    assert!(matches!(
        s.send_dtmf(t0, B, '1', Duration::from_millis(100)),
        Err(EngineError::UnknownLeg { leg: B })
    ));
    s.add_leg(B, ports(20002));
    s.configure(t0, B, plan("192.0.2.30:6000", known(0, CodecKind::Pcmu)))
        .unwrap();
    assert!(matches!(
        s.send_dtmf(t0, B, '1', Duration::from_millis(100)),
        Err(EngineError::NoTelephoneEvent { leg: B })
    ));
}
