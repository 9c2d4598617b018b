//! Per-packet costs of the data plane: a relayed PCMU packet (plain, and SRTP in → RTP out),
//! and one transcoded PCMU → Opus 20 ms frame. Each measures `handle_packet` (plus the tick
//! for transcoding) and draining `poll_transmit`, with buffers recycled as a driver does.
//!
//! `cargo bench -p sb-media-engine --bench relay`

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use sb_media_codec::CodecKind;
use sb_media_engine::{
    Codec, Direction, LegId, LegPlan, LocalPorts, MediaSession, PayloadFormat, SessionConfig,
    SocketKind, SrtpKey, SrtpPair, SrtpSuite,
};

const A: LegId = LegId(1);
const B: LegId = LegId(2);
const FRAME: Duration = Duration::from_millis(20);

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

fn ports(rtp: u16) -> LocalPorts {
    LocalPorts {
        rtp: SocketAddr::new([192, 0, 2, 1].into(), rtp),
        rtcp: SocketAddr::new([192, 0, 2, 1].into(), rtp + 1),
    }
}

fn plan(remote: &str, pt: u8, kind: CodecKind) -> LegPlan {
    let format = PayloadFormat {
        pt,
        codec: Codec::Known(kind),
    };
    let rtp = addr(remote);
    LegPlan {
        remote_rtp: Some(rtp),
        remote_rtcp: Some(SocketAddr::new(rtp.ip(), rtp.port() + 1)),
        rtcp_mux: false,
        send: Some(format.clone()),
        receive: vec![format],
        telephone_event: None,
        srtp: None,
        direction: Direction::SendRecv,
        ptime_ms: 20,
    }
}

fn session(now: Instant, a: LegPlan, b: LegPlan) -> MediaSession {
    let config = SessionConfig {
        seed: 1,
        ..SessionConfig::default()
    };
    let mut s = MediaSession::new(&config, now);
    s.add_leg(A, ports(20000));
    s.add_leg(B, ports(20002));
    s.configure(now, A, a).expect("leg A exists");
    s.configure(now, B, b).expect("leg B exists");
    s.bridge(A, B).expect("both legs exist");
    s
}

fn rtp(seq: u16, ts: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0xd0, 0xd0, 0xd0, 0xd0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn drain(s: &mut MediaSession) -> usize {
    let mut n = 0;
    while let Some(t) = s.poll_transmit() {
        n += t.data.len();
        s.recycle(t.data);
    }
    n
}

fn relay_plain(c: &mut Criterion) {
    let mut now = Instant::now();
    let mut s = session(
        now,
        plan("192.0.2.10:4000", 0, CodecKind::Pcmu),
        plan("192.0.2.30:6000", 0, CodecKind::Pcmu),
    );
    let from = addr("192.0.2.10:4000");
    let mut packet = rtp(0, 0, &[0xd5; 160]);
    let mut seq = 0u16;
    c.bench_function("relay PCMU packet (RTP → RTP)", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            now += FRAME;
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            packet[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            s.handle_packet(now, A, SocketKind::Rtp, from, black_box(&packet));
            black_box(drain(&mut s))
        });
    });
}

fn key(byte: u8) -> SrtpKey {
    SrtpKey {
        suite: SrtpSuite::AesCm128HmacSha1_80,
        key: [byte; 16],
        salt: [byte; 14],
    }
}

fn relay_srtp(c: &mut Criterion) {
    let mut now = Instant::now();
    let device_key = key(1);
    // The gateway: leg A is SRTP with the device's key, leg B plain.
    let mut a = plan("192.0.2.10:4000", 0, CodecKind::Pcmu);
    a.srtp = Some(SrtpPair {
        local: key(2),
        remote: device_key.clone(),
    });
    let mut s = session(now, a, plan("192.0.2.30:6000", 0, CodecKind::Pcmu));
    // The device, played by another session whose leg B protects with the device's key.
    let mut b = plan("192.0.2.1:20000", 0, CodecKind::Pcmu);
    b.srtp = Some(SrtpPair {
        local: device_key,
        remote: key(3),
    });
    let mut device = session(now, plan("192.0.2.99:9000", 0, CodecKind::Pcmu), b);
    let from = addr("192.0.2.10:4000");
    let mut seq = 0u16;
    c.bench_function("relay PCMU packet (SRTP → RTP)", |bench| {
        bench.iter_custom(|iters| {
            let mut protected = Vec::with_capacity(iters as usize);
            for _ in 0..iters {
                seq = seq.wrapping_add(1);
                let p = rtp(seq, u32::from(seq) * 160, &[0xd5; 160]);
                device.handle_packet(now, A, SocketKind::Rtp, addr("192.0.2.99:9000"), &p);
                while let Some(t) = device.poll_transmit() {
                    if t.leg == B && t.socket == SocketKind::Rtp {
                        protected.push(t.data);
                    }
                }
            }
            let start = Instant::now();
            for p in &protected {
                now += FRAME;
                s.handle_packet(now, A, SocketKind::Rtp, from, black_box(p));
                black_box(drain(&mut s));
            }
            start.elapsed()
        });
    });
}

fn transcode(c: &mut Criterion) {
    let mut now = Instant::now();
    let mut s = session(
        now,
        plan("192.0.2.10:4000", 0, CodecKind::Pcmu),
        plan("192.0.2.30:6000", 111, CodecKind::Opus),
    );
    let from = addr("192.0.2.10:4000");
    // A 1 kHz tone in µ-law (8 samples per period).
    let period = [0xff, 0x9d, 0x8f, 0x9d, 0x7f, 0x1d, 0x0f, 0x1d];
    let payload: Vec<u8> = period.iter().copied().cycle().take(160).collect();
    let mut packet = rtp(0, 0, &payload);
    let mut seq = 0u16;
    c.bench_function("transcode PCMU → Opus 20 ms frame", |b| {
        b.iter(|| {
            seq = seq.wrapping_add(1);
            now += FRAME;
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            packet[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
            s.handle_packet(now, A, SocketKind::Rtp, from, black_box(&packet));
            while let Some((at, _)) = s.poll_timeout() {
                if at > now {
                    break;
                }
                s.handle_timeout(at);
            }
            black_box(drain(&mut s))
        });
    });
}

criterion_group!(benches, relay_plain, relay_srtp, transcode);
criterion_main!(benches);
