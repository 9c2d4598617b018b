//! Fuzz target for SDP offer/answer in the media engine (RFC 3264, RFC 4568 SDES keys,
//! RFC 4733 telephone-event): the device's SDP is read into formats, keys, addresses and
//! directions, and turned into our SDP and the plans the data plane runs.
//!
//! Input: one octet choosing the exchange, the SRTP policy and whether leg A is a browser
//! (a WebRTC leg: ICE-lite, DTLS-SRTP, BUNDLE), then a device's SDP, a NUL octet, and a second
//! SDP (the answer, or the later re-offer). For any input, nothing panics, and:
//! - every SDP we write parses, is written back identically, names our address in `o=` and
//!   every `c=`, has an audio stream, and gives every payload type it lists on that stream an
//!   `a=rtpmap` or a static assignment;
//! - the same inputs give the same SDP (keys and ids come from the seeded generator);
//! - every plan negotiation returns can be given to a [`MediaSession`] (with the browser's
//!   ICE and DTLS parameters on a WebRTC leg), which then relays a packet of each payload type
//!   it may receive, generates DTMF when events were negotiated and runs its timers, without
//!   panicking.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz media_negotiate -- -max_total_time=600`.
//! Seeds are in `corpus/media_negotiate/seed-*`.

#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sb_media_codec::CodecKind;
use sb_media_engine::{
    DtlsFingerprint, IceCredentials, LegId, LegPlan, LocalPorts, MediaSession, NegotiateError,
    Negotiator, NegotiatorConfig, SessionConfig, SocketKind, SrtpOffer, WebRtcIdentity,
    WebRtcLocal, WebRtcRemote,
};
use sb_sdp::Sdp;

const A: LegId = LegId(1);
const B: LegId = LegId(2);
const OURS: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

fn ports(leg: LegId) -> LocalPorts {
    let base = 40000 + 2 * leg.0 as u16;
    LocalPorts {
        rtp: SocketAddr::new(OURS, base),
        rtcp: SocketAddr::new(OURS, base + 1),
    }
}

/// Static payload types of RFC 3551 §6 (audio) that need no `a=rtpmap`.
fn is_static_audio(pt: &str) -> bool {
    pt.parse::<u8>().is_ok_and(|n| n < 35)
}

fn check_written(sdp: &Bytes) {
    if sdp.is_empty() {
        return;
    }
    let parsed = Sdp::parse(sdp).unwrap_or_else(|e| {
        panic!(
            "our SDP does not parse ({e}): {:?}",
            String::from_utf8_lossy(sdp)
        )
    });
    assert_eq!(
        parsed.to_bytes(),
        *sdp,
        "our SDP is not written as it parses"
    );
    assert_eq!(
        parsed.origin.address,
        OURS.to_string(),
        "o= does not name our address"
    );
    for c in parsed
        .connection
        .iter()
        .chain(parsed.media.iter().flat_map(|m| &m.connections))
    {
        assert_eq!(c.ip(), Some(OURS), "c= does not name our address");
    }
    let (_, audio) = parsed.first_audio().expect("our SDP has an audio stream");
    if audio.port != 0 {
        for pt in &audio.formats {
            let typed = pt
                .parse::<u8>()
                .ok()
                .and_then(|n| audio.attributes.rtpmap(n));
            assert!(
                typed.is_some() || is_static_audio(pt),
                "payload type {pt} without a=rtpmap"
            );
        }
    }
}

/// What an offer or answer gives the data plane.
type Negotiated = Result<(Vec<(LegId, LegPlan)>, Vec<(LegId, WebRtcRemote)>), NegotiateError>;

/// Our end of a WebRTC leg as the SDP announces it (fixed: the session makes its own).
fn webrtc_local() -> WebRtcLocal {
    WebRtcLocal {
        ice: IceCredentials::new("gw4fuzz", "gatewaypassword4fuzzing+/").expect("valid"),
        fingerprint: DtlsFingerprint::parse(&format!("sha-256 {}", ["AB"; 32].join(":")))
            .expect("valid"),
        ssrc: 0x1122_3344,
        cname: "gw4fuzz".into(),
    }
}

/// Runs `plans` in a session: configure, connect, a packet per payload type, DTMF, timers.
fn run_plans(plans: &[(LegId, LegPlan)], webrtc: &[(LegId, WebRtcRemote)]) {
    let t0 = Instant::now();
    let mut session = MediaSession::new(
        &SessionConfig {
            seed: 3,
            ..SessionConfig::default()
        },
        t0,
    );
    for (leg, plan) in plans {
        let remote = webrtc
            .iter()
            .find(|(l, _)| l == leg)
            .map(|(_, r)| r.clone());
        if remote.is_some() {
            let identity = WebRtcIdentity::generate().expect("a certificate");
            session.add_webrtc_leg(*leg, ports(*leg), identity);
        } else {
            session.add_leg(*leg, ports(*leg));
        }
        session
            .configure(t0, *leg, plan.clone())
            .expect("the leg was added");
        if let Some(remote) = remote {
            // The transport may refuse what it cannot use; it must not panic.
            let _ = session.configure_webrtc(t0, *leg, remote);
        }
    }
    match plans {
        [(a, _), (b, _), ..] if a != b => session.bridge(*a, *b).expect("both legs were added"),
        [(a, _), ..] => session.echo(*a).expect("the leg was added"),
        [] => return,
    }
    let mut seq = 1u16;
    for (leg, plan) in plans {
        let from = plan
            .remote_rtp
            .unwrap_or_else(|| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9)), 5004));
        let pts = plan
            .receive
            .iter()
            .map(|f| f.pt)
            .chain(plan.telephone_event.map(|t| t.pt));
        for pt in pts {
            let mut packet = vec![0x80, pt, 0, 0, 0, 0, 0, 160, 0, 0, 0, 9];
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            packet.extend_from_slice(&[0x05, 0x0a, 0x00, 0xa0]);
            packet.extend_from_slice(&[0xff; 156]);
            session.handle_packet(t0, *leg, SocketKind::Rtp, from, &packet);
            seq += 1;
        }
        let _ = session.send_dtmf(t0, *leg, '5', Duration::from_millis(100));
        let _ = session.play_tone(t0, *leg, 1000, Duration::from_millis(60));
    }
    let end = t0 + Duration::from_secs(1);
    let mut wakeups = 0;
    while let Some((at, reason)) = session.poll_timeout() {
        if at > end {
            break;
        }
        session.handle_timeout(at);
        while let Some(t) = session.poll_transmit() {
            session.recycle(t.data);
        }
        while session.poll_event().is_some() {}
        wakeups += 1;
        assert!(wakeups < 10_000, "timer {reason:?} does not move on");
    }
    let _ = session.stats();
}

/// One exchange; returns every SDP written, for the determinism check.
fn exchange(mode: u8, first: &[u8], second: &[u8]) -> Vec<Bytes> {
    let config = NegotiatorConfig {
        srtp_offer: match mode / 4 % 3 {
            0 => SrtpOffer::Never,
            1 => SrtpOffer::Optional,
            _ => SrtpOffer::Mandatory,
        },
        codecs: if mode & 0x10 == 0 {
            CodecKind::ALL.to_vec()
        } else {
            vec![CodecKind::Pcma, CodecKind::Opus]
        },
        ptime_ms: if mode & 0x20 == 0 { 20 } else { 30 },
        seed: 5,
        ..NegotiatorConfig::new(OURS)
    };
    let mut n = Negotiator::new(&config, u64::from(mode & 0x40));
    if mode & 0x80 != 0 {
        n.set_webrtc(A, ports(A), webrtc_local());
    }
    let mut written = Vec::new();
    let mut keep = |r: Negotiated, sdp: Option<Bytes>| {
        if let Some(sdp) = sdp {
            check_written(&sdp);
            written.push(sdp);
        }
        match r {
            Ok((plans, webrtc)) => run_plans(&plans, &webrtc),
            Err(e) => assert!(matches!(e.sip_status(), 488 | 500)),
        }
    };
    match mode % 4 {
        // Offer from A to B, B's answer, then a re-offer from B answered by A.
        0 | 1 => {
            let offered = n.offer(A, B, first, ports(A), ports(B));
            let sdp = offered.as_ref().ok().map(|o| o.sdp.clone());
            keep(offered.map(|o| (o.plans, o.webrtc)), sdp);
            let answered = n.answer(B, A, second);
            let sdp = answered.as_ref().ok().map(|a| a.sdp.clone());
            keep(answered.map(|a| (a.plans, a.webrtc)), sdp);
            let reoffer = n.offer(B, A, second, ports(B), ports(A));
            let sdp = reoffer.as_ref().ok().map(|o| o.sdp.clone());
            keep(reoffer.map(|o| (o.plans, o.webrtc)), sdp);
            let answered = n.answer(A, B, first);
            let sdp = answered.as_ref().ok().map(|a| a.sdp.clone());
            keep(answered.map(|a| (a.plans, a.webrtc)), sdp);
        }
        // The switch answers (echo, tone), then the device re-offers.
        2 => {
            for sdp in [first, second] {
                let answered = n.answer_locally(A, sdp, ports(A));
                let written_sdp = answered.as_ref().ok().map(|a| a.sdp.clone());
                keep(answered.map(|a| (a.plans, a.webrtc)), written_sdp);
            }
        }
        // An INVITE without SDP: our offer, the device's answer in the ACK.
        _ => {
            let offered = n.answer_locally(A, b"", ports(A));
            let sdp = offered.as_ref().ok().map(|a| a.sdp.clone());
            keep(offered.map(|a| (a.plans, a.webrtc)), sdp);
            let answered = n.answer(A, A, first);
            let sdp = answered.as_ref().ok().map(|a| a.sdp.clone());
            keep(answered.map(|a| (a.plans, a.webrtc)), sdp);
            let _ = n.plan(A);
        }
    }
    written
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (first, second) = match rest.iter().position(|&b| b == 0) {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, rest),
    };
    let once = exchange(mode, first, second);
    let again = exchange(mode, first, second);
    assert_eq!(once, again, "negotiation is not deterministic");
});
