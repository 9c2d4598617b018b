//! Inputs found by the `media_session` and `media_negotiate` fuzz targets (crates/fuzz),
//! replayed through the public API with the same checks: what the gateway protects on an SRTP
//! leg, a device holding the keys accepts, and no SRTP packet index is ever used twice
//! (RFC 3711 §9.1); every SDP the gateway writes is written back identically once parsed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use sb_media_codec::CodecKind;
use sb_media_engine::{
    Codec, Direction, LegId, LegPlan, LocalPorts, MediaSession, Negotiator, NegotiatorConfig,
    PayloadFormat, SessionConfig, SocketKind, SrtpKey, SrtpPair, SrtpSuite, Transmit,
};
use sb_sdp::Sdp;

const A: LegId = LegId(1);
const B: LegId = LegId(2);
const DEVICE: LegId = LegId(10);
const DEVICE_PLAIN: LegId = LegId(11);

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)), port)
}

fn ports(last: u8, port: u16) -> LocalPorts {
    LocalPorts {
        rtp: addr(last, port),
        rtcp: addr(last, port + 1),
    }
}

fn key(fill: u8) -> SrtpKey {
    SrtpKey {
        suite: SrtpSuite::AesCm128HmacSha1_80,
        key: [fill; 16],
        salt: [fill ^ 0x5a; 14],
    }
}

fn plan(remote: SocketAddr, srtp: Option<SrtpPair>) -> LegPlan {
    let pcmu = PayloadFormat {
        pt: 0,
        codec: Codec::Known(CodecKind::Pcmu),
    };
    LegPlan {
        remote_rtp: Some(remote),
        remote_rtcp: Some(SocketAddr::new(remote.ip(), remote.port() + 1)),
        rtcp_mux: false,
        send: Some(pcmu.clone()),
        receive: vec![pcmu],
        telephone_event: None,
        srtp,
        direction: Direction::SendRecv,
        ptime_ms: 20,
    }
}

fn rtp(seq: u16, fill: u8) -> Vec<u8> {
    let mut p = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xe0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    p.extend_from_slice(&[fill; 160]);
    p
}

fn drain(s: &mut MediaSession) -> Vec<Transmit> {
    std::iter::from_fn(|| s.poll_transmit()).collect()
}

/// A plain phone on leg B sends a packet twice (the second copy with other audio, as a
/// duplicate or a forged one may carry): relaying both onto SRTP leg A would encrypt two
/// payloads with one keystream. The copy is dropped; the device keeps authenticating
/// everything, the later packet included.
#[test]
fn a_relayed_duplicate_never_reuses_an_srtp_index() {
    let t0 = Instant::now();
    let config = SessionConfig {
        seed: 7,
        ..SessionConfig::default()
    };
    let phone_a = addr(11, 4000);
    let pair = SrtpPair {
        local: key(0x11),
        remote: key(0x22),
    };
    let mut gateway = MediaSession::new(&config, t0);
    gateway.add_leg(A, ports(1, 20000));
    gateway.add_leg(B, ports(1, 20002));
    gateway
        .configure(t0, A, plan(phone_a, Some(pair.clone())))
        .unwrap();
    gateway
        .configure(t0, B, plan(addr(12, 4000), None))
        .unwrap();
    gateway.bridge(A, B).unwrap();

    // The phone on leg A: its SRTP leg uses the keys the other way round.
    let mut device = MediaSession::new(&config, t0);
    device.add_leg(DEVICE, ports(11, 4000));
    device.add_leg(DEVICE_PLAIN, ports(11, 30000));
    let swapped = SrtpPair {
        local: pair.remote,
        remote: pair.local,
    };
    device
        .configure(t0, DEVICE, plan(addr(1, 20000), Some(swapped)))
        .unwrap();
    device
        .configure(t0, DEVICE_PLAIN, plan(addr(50, 7000), None))
        .unwrap();
    device.bridge(DEVICE, DEVICE_PLAIN).unwrap();

    let mut sent_seqs = Vec::new();
    for (i, (seq, fill)) in [
        (100, 0xff),
        (101, 0xfe),
        (102, 0xfd),
        (101, 0x7f),
        (103, 0xfc),
    ]
    .into_iter()
    .enumerate()
    {
        let now = t0 + Duration::from_millis(20 * i as u64);
        gateway.handle_packet(now, B, SocketKind::Rtp, addr(12, 4000), &rtp(seq, fill));
        for t in drain(&mut gateway) {
            if t.leg == A && t.socket == SocketKind::Rtp {
                sent_seqs.push(u16::from_be_bytes([t.data[2], t.data[3]]));
                device.handle_packet(now, DEVICE, SocketKind::Rtp, addr(1, 20000), &t.data);
            }
        }
    }
    assert_eq!(
        sent_seqs.len(),
        4,
        "the duplicate is dropped: {sent_seqs:?}"
    );
    let mut unique = sent_seqs.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        unique.len(),
        sent_seqs.len(),
        "an index was reused: {sent_seqs:?}"
    );
    let stats = device.stats();
    let leg = stats.legs.iter().find(|l| l.leg == DEVICE).unwrap();
    assert_eq!(leg.srtp_auth_failures, 0);
    assert_eq!(leg.packets_received, 4);
}

/// An offer whose `a=fmtp` has no parameters (the line ends after the payload type): the
/// parameters were copied into our offer as `a=fmtp:106 ` with a trailing space, which parses
/// back without it. An fmtp without parameters is left out (RFC 8866 §6.15 requires them).
#[test]
fn an_fmtp_without_parameters_is_not_written() {
    let offer = b"v=0\r\no=Z 0 36410872 IN IP4 192.0.2.40\r\ns=Z\r\nc=IN IP4 192.0.2.40\r\n\
                  t=0 0\r\nm=audio 8000 RTP/AVP 106 0 101\r\na=rtpmap:106 opus/48000/2\r\n\
                  a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=fmtp:106 \r\n";
    let config = NegotiatorConfig {
        seed: 5,
        ..NegotiatorConfig::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
    };
    let mut n = Negotiator::new(&config, 0);
    let offered = n
        .offer(A, B, offer, ports(1, 40002), ports(1, 40004))
        .unwrap();
    let text = std::str::from_utf8(&offered.sdp).unwrap();
    assert!(!text.contains("a=fmtp:106"), "{text}");
    assert!(text.contains("a=fmtp:101 0-16\r\n"), "{text}");
    assert_eq!(Sdp::parse(&offered.sdp).unwrap().to_bytes(), offered.sdp);
}
