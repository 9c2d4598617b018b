//! Session tests: sans-IO, time passed in, fixed seeds.

mod dtmf;
mod relay;
mod rtcp;
mod srtp;
mod transcode;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sb_media_codec::{CodecKind, Encoder, OpusConfig, ToneGenerator};

use super::*;
use crate::plan::{Direction, PayloadFormat, TelephoneEvent};
use crate::rtp::{RtpHeader, payload_end};
use crate::stats::LegStats;

pub(super) const A: LegId = LegId(1);
pub(super) const B: LegId = LegId(2);
pub(super) const C: LegId = LegId(3);

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a socket address")
}

pub(super) fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

/// Local sockets on the gateway (documentation address).
pub(super) fn ports(rtp: u16) -> LocalPorts {
    LocalPorts {
        rtp: SocketAddr::new([192, 0, 2, 1].into(), rtp),
        rtcp: SocketAddr::new([192, 0, 2, 1].into(), rtp + 1),
    }
}

pub(super) fn known(pt: u8, kind: CodecKind) -> PayloadFormat {
    PayloadFormat {
        pt,
        codec: Codec::Known(kind),
    }
}

/// A plan sending and receiving `format` at `remote` (RTCP on the next port).
pub(super) fn plan(remote: &str, format: PayloadFormat) -> LegPlan {
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

pub(super) fn with_te(mut plan: LegPlan, pt: u8, clock_rate: u32) -> LegPlan {
    plan.telephone_event = Some(TelephoneEvent { pt, clock_rate });
    plan
}

pub(super) fn config() -> SessionConfig {
    SessionConfig {
        seed: 7,
        ..SessionConfig::default()
    }
}

/// A session with legs A (gateway port 20000) and B (20002) configured from the plans and
/// bridged.
pub(super) fn bridged(t0: Instant, a: LegPlan, b: LegPlan) -> MediaSession {
    bridged_with(&config(), t0, a, b)
}

/// [`bridged`] with a given configuration.
pub(super) fn bridged_with(
    config: &SessionConfig,
    t0: Instant,
    a: LegPlan,
    b: LegPlan,
) -> MediaSession {
    let mut s = MediaSession::new(config, t0);
    s.add_leg(A, ports(20000));
    s.add_leg(B, ports(20002));
    s.configure(t0, A, a).unwrap();
    s.configure(t0, B, b).unwrap();
    s.bridge(A, B).unwrap();
    s
}

/// An RTP packet as a device sends it.
pub(super) fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A sent RTP packet, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sent {
    pub(super) leg: LegId,
    pub(super) to: SocketAddr,
    pub(super) marker: bool,
    pub(super) pt: u8,
    pub(super) seq: u16,
    pub(super) ts: u32,
    pub(super) ssrc: u32,
    pub(super) payload: Vec<u8>,
}

pub(super) fn parse(t: &Transmit) -> Sent {
    let h = RtpHeader::parse(&t.data).expect("valid RTP");
    let end = payload_end(&h, &t.data).expect("valid padding");
    Sent {
        leg: t.leg,
        to: t.to,
        marker: h.marker,
        pt: h.pt,
        seq: h.seq,
        ts: h.ts,
        ssrc: h.ssrc,
        payload: t.data[h.header_len..end].to_vec(),
    }
}

/// Everything queued, recycling nothing.
pub(super) fn drain(s: &mut MediaSession) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// RTP packets queued (RTCP left out), parsed.
pub(super) fn drain_rtp(s: &mut MediaSession) -> Vec<Sent> {
    drain(s)
        .iter()
        .filter(|t| t.socket == SocketKind::Rtp && !crate::rtp::is_rtcp(&t.data))
        .map(parse)
        .collect()
}

pub(super) fn events(s: &mut MediaSession) -> Vec<MediaEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Handles every timeout due up to `until`.
pub(super) fn run_until(s: &mut MediaSession, until: Instant) {
    while let Some((at, _)) = s.poll_timeout() {
        if at > until {
            break;
        }
        s.handle_timeout(at);
    }
}

/// `n` 20 ms frames of a `hz` tone encoded in `kind`.
pub(super) fn tone_frames(kind: CodecKind, hz: u32, n: usize) -> Vec<Vec<u8>> {
    let mut generator = ToneGenerator::new(hz, kind.sample_rate(), 8000);
    let mut encoder = Encoder::new(kind, &OpusConfig::default()).expect("encoder");
    (0..n)
        .map(|_| {
            let mut pcm = vec![0i16; kind.samples(20)];
            generator.fill(&mut pcm);
            let mut out = Vec::new();
            encoder.encode(&pcm, &mut out).expect("encode");
            out
        })
        .collect()
}

/// Bytes from hex digits (whitespace ignored).
pub(super) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// A device on a leg: where it sends from, and the payload type and timestamp units per
/// 20 ms frame of its audio.
#[derive(Debug, Clone, Copy)]
pub(super) struct Device {
    pub(super) leg: LegId,
    pub(super) from: &'static str,
    pub(super) pt: u8,
    pub(super) kind: CodecKind,
}

impl Device {
    /// Timestamp units of one 20 ms frame.
    pub(super) fn units(&self) -> u32 {
        self.kind.rtp_units(20)
    }

    /// Hands `packet` to the session as coming from this device at `at`.
    pub(super) fn send(&self, s: &mut MediaSession, at: Instant, packet: &[u8]) {
        s.handle_packet(at, self.leg, SocketKind::Rtp, addr(self.from), packet);
    }
}

/// The stats of one leg.
pub(super) fn leg_stats(s: &MediaSession, leg: LegId) -> LegStats {
    s.stats()
        .legs
        .into_iter()
        .find(|l| l.leg == leg)
        .expect("the leg exists")
}
