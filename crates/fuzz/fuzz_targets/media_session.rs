//! Fuzz target for what the media engine reads from packets: RTP headers (RFC 3550 §5.1,
//! CSRCs, header extensions, padding), RTCP compound packets (RFC 3550 §6), SRTP/SRTCP
//! (RFC 3711), RFC 4733 telephone-events, and the codec payloads the transcoder decodes
//! (G.711, G.722, Opus), through the public [`MediaSession`] a media task drives.
//!
//! Input: one octet choosing a call (relay, transcoding, SRTP, echo, tone, other codecs), then
//! records: a control octet (leg, socket, source address, time step), a length octet and that
//! many octets of datagram. A time step of 15 is a command instead (re-INVITE, hold, DTMF,
//! tone, echo, bridge). An SRTP leg faces a second session playing the device (the keys
//! swapped): a datagram for that leg from source choice 1 is first sent through the device,
//! which protects it, so that valid SRTP and SRTCP reach the gateway too. With bit 6 of the
//! first octet, leg B is a WebRTC leg (one socket for STUN, DTLS, SRTP and SRTCP; RFC 7983),
//! so its datagrams reach the ICE-lite and DTLS code. For any input, nothing panics, timers
//! always move forward, and:
//! - every datagram goes to an address the leg was configured with or received from;
//! - on a plain leg every RTP packet has version 2, the leg's one SSRC and a payload type of
//!   the leg's plan, and every RTCP packet is a well-formed compound packet (RFC 3550 §6.1)
//!   starting with an SR or RR;
//! - on an SRTP leg the device authenticates everything the gateway protects, and never sees
//!   a packet index twice (RFC 3711 §3.3.2, §9.1: an index is never reused under one key);
//! - a leg never counts more packets received than were sent to it;
//! - received DTMF digits are `0-9 * # A-D`.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz media_session -- -max_total_time=600`.
//! Seeds are in `corpus/media_session/seed-*`.

#![no_main]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sb_media_codec::CodecKind;
use sb_media_engine::{
    Codec, Direction, DtlsFingerprint, DtlsRole, IceCredentials, LegId, LegPlan, LocalPorts,
    MediaEvent, MediaId, MediaSession, PayloadFormat, SessionConfig, SocketKind, SrtpKey, SrtpPair,
    SrtpSuite, TelephoneEvent, Transmit, WebRtcIdentity, WebRtcRemote,
};

const A: LegId = LegId(1);
const B: LegId = LegId(2);
/// The device session's SRTP leg (facing the gateway) and plain leg (taking datagrams).
const DEVICE_SRTP: LegId = LegId(10);
const DEVICE_PLAIN: LegId = LegId(11);
/// Most records read from one input: keeps each run short.
const MAX_RECORDS: usize = 64;
/// Most timer wake-ups handled between two records before the timers count as stuck.
const MAX_WAKEUPS: usize = 10_000;

fn gateway(port: u16) -> LocalPorts {
    let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    LocalPorts {
        rtp: SocketAddr::new(ip, port),
        rtcp: SocketAddr::new(ip, port + 1),
    }
}

fn device(leg: LegId) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + leg.0 as u8)), 4000)
}

fn known(pt: u8, kind: CodecKind) -> PayloadFormat {
    PayloadFormat {
        pt,
        codec: Codec::Known(kind),
    }
}

fn g729() -> PayloadFormat {
    PayloadFormat {
        pt: 18,
        codec: Codec::Other {
            name: "G729".into(),
            clock_rate: 8000,
            channels: None,
        },
    }
}

fn key(suite: SrtpSuite, fill: u8) -> SrtpKey {
    SrtpKey {
        suite,
        key: [fill; 16],
        salt: [fill ^ 0x5a; 14],
    }
}

fn plan(leg: LegId, format: PayloadFormat, te: Option<(u8, u32)>) -> LegPlan {
    let rtp = device(leg);
    LegPlan {
        remote_rtp: Some(rtp),
        remote_rtcp: Some(SocketAddr::new(rtp.ip(), rtp.port() + 1)),
        rtcp_mux: false,
        send: Some(format.clone()),
        receive: vec![format],
        telephone_event: te.map(|(pt, clock_rate)| TelephoneEvent { pt, clock_rate }),
        srtp: None,
        direction: Direction::SendRecv,
        ptime_ms: 20,
    }
}

fn srtp(mut p: LegPlan, suite: SrtpSuite) -> LegPlan {
    p.srtp = Some(SrtpPair {
        local: key(suite, 0x11),
        remote: key(suite, 0x22),
    });
    p
}

fn mux(mut p: LegPlan) -> LegPlan {
    p.rtcp_mux = true;
    p.remote_rtcp = p.remote_rtp;
    p
}

/// The plans of legs A and B for each call the input can choose.
fn scenario(n: u8) -> (LegPlan, LegPlan) {
    use CodecKind::{G722, Opus, Pcma, Pcmu};
    match n % 8 {
        0 => (
            plan(A, known(0, Pcmu), Some((101, 8000))),
            plan(B, known(0, Pcmu), Some((101, 8000))),
        ),
        1 => (
            plan(A, known(0, Pcmu), Some((101, 8000))),
            plan(B, known(9, G722), Some((101, 8000))),
        ),
        2 => (
            plan(A, known(8, Pcma), Some((101, 8000))),
            plan(B, known(111, Opus), Some((110, 48000))),
        ),
        3 => (
            mux(srtp(
                plan(A, known(0, Pcmu), Some((101, 8000))),
                SrtpSuite::AesCm128HmacSha1_80,
            )),
            plan(B, known(0, Pcmu), Some((96, 8000))),
        ),
        4 => (
            plan(A, known(0, Pcmu), Some((101, 8000))),
            plan(B, known(0, Pcmu), None),
        ),
        5 => {
            let mut b = mux(plan(B, g729(), None));
            b.direction = Direction::RecvOnly;
            (plan(A, g729(), Some((101, 8000))), b)
        }
        6 => (
            plan(A, known(111, Opus), Some((101, 48000))),
            plan(B, known(0, Pcmu), Some((101, 8000))),
        ),
        _ => (
            plan(A, known(9, G722), Some((101, 8000))),
            srtp(
                plan(B, known(111, Opus), Some((110, 48000))),
                SrtpSuite::AesCm128HmacSha1_32,
            ),
        ),
    }
}

/// The far end of an SRTP leg: a session whose SRTP leg uses the gateway leg's keys swapped
/// and is bridged to a plain leg the harness feeds.
struct Device {
    /// The gateway leg it faces.
    leg: LegId,
    session: MediaSession,
}

impl Device {
    /// The device's plan for the SRTP leg facing gateway ports `facing` with `gateway_plan`.
    fn plan(gateway_plan: &LegPlan, facing: LocalPorts) -> LegPlan {
        let pair = gateway_plan.srtp.as_ref().expect("an SRTP leg");
        LegPlan {
            remote_rtp: Some(facing.rtp),
            remote_rtcp: Some(if gateway_plan.rtcp_mux {
                facing.rtp
            } else {
                facing.rtcp
            }),
            srtp: Some(SrtpPair {
                local: pair.remote.clone(),
                remote: pair.local.clone(),
            }),
            direction: Direction::SendRecv,
            ..gateway_plan.clone()
        }
    }

    fn new(
        config: &SessionConfig,
        now: Instant,
        leg: LegId,
        p: &LegPlan,
        facing: LocalPorts,
    ) -> Device {
        let mut session = MediaSession::new(
            &SessionConfig {
                seed: 9,
                ..config.clone()
            },
            now,
        );
        let addr = device(leg);
        session.add_leg(
            DEVICE_SRTP,
            LocalPorts {
                rtp: addr,
                rtcp: SocketAddr::new(addr.ip(), addr.port() + 1),
            },
        );
        session.add_leg(DEVICE_PLAIN, gateway(30000));
        let plain = LegPlan {
            remote_rtp: Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)),
                7000,
            )),
            remote_rtcp: Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)),
                7001,
            )),
            srtp: None,
            rtcp_mux: false,
            ..p.clone()
        };
        for (id, plan) in [
            (DEVICE_SRTP, Device::plan(p, facing)),
            (DEVICE_PLAIN, plain),
        ] {
            session.configure(now, id, plan).expect("the leg was added");
        }
        session
            .bridge(DEVICE_SRTP, DEVICE_PLAIN)
            .expect("both legs were added");
        Device { leg, session }
    }

    /// Where the gateway sees the device's datagrams come from.
    fn source(&self, socket: SocketKind, mux: bool) -> SocketAddr {
        let addr = device(self.leg);
        match socket {
            SocketKind::Rtcp if !mux => SocketAddr::new(addr.ip(), addr.port() + 1),
            _ => addr,
        }
    }
}

/// The browser's end of WebRTC leg B as its SDP would announce it.
fn browser(role: DtlsRole, local_ice: IceCredentials) -> WebRtcRemote {
    WebRtcRemote {
        ice: IceCredentials::new("brw4", "browserpassword4fuzzing+/").expect("valid"),
        fingerprint: DtlsFingerprint::parse(&format!("sha-256 {}", ["5E"; 32].join(":")))
            .expect("valid"),
        role,
        mid: MediaId::new("0").expect("valid"),
        ssrcs: vec![0xe0],
        mid_extension: Some(4),
        local_ice,
    }
}

/// What the harness knows about each leg to check what the session sends.
struct Harness {
    session: MediaSession,
    devices: Vec<Device>,
    /// The WebRTC leg, if any: its datagrams are STUN, DTLS and SRTP.
    webrtc: Option<LegId>,
    plans: HashMap<LegId, LegPlan>,
    /// Addresses a leg may send to: configured ones and every source seen.
    allowed: HashMap<LegId, Vec<SocketAddr>>,
    /// Datagrams fed to each leg.
    fed: HashMap<LegId, u64>,
    ssrc: HashMap<LegId, u32>,
}

impl Harness {
    fn allow_plan(&mut self, leg: LegId, p: &LegPlan) {
        let allowed = self.allowed.entry(leg).or_default();
        allowed.extend(p.remote_rtp);
        allowed.extend(p.remote_rtcp);
    }

    fn configure(&mut self, now: Instant, leg: LegId, p: LegPlan) {
        self.allow_plan(leg, &p);
        self.session
            .configure(now, leg, p.clone())
            .expect("the leg was added");
        self.plans.insert(leg, p);
    }

    fn run_timers(&mut self, now: Instant) {
        let mut wakeups = 0;
        loop {
            let gateway = self
                .session
                .poll_timeout()
                .map(|(at, r)| (at, format!("{r:?}")));
            let devices = self.devices.iter().enumerate().filter_map(|(i, d)| {
                d.session
                    .poll_timeout()
                    .map(|(at, r)| (at, format!("device {i}: {r:?}")))
            });
            let Some((at, reason)) = gateway.into_iter().chain(devices).min_by_key(|(at, _)| *at)
            else {
                break;
            };
            if at > now {
                break;
            }
            if self.session.poll_timeout().is_some_and(|(t, _)| t == at) {
                self.session.handle_timeout(at);
            }
            for d in &mut self.devices {
                if d.session.poll_timeout().is_some_and(|(t, _)| t == at) {
                    d.session.handle_timeout(at);
                }
            }
            wakeups += 1;
            assert!(
                wakeups < MAX_WAKEUPS,
                "timer {reason} at {at:?} does not move on"
            );
            self.drain(at);
        }
        self.drain(now);
    }

    /// A datagram from the harness to gateway leg `leg`.
    fn feed(
        &mut self,
        now: Instant,
        leg: LegId,
        socket: SocketKind,
        from: SocketAddr,
        data: &[u8],
    ) {
        self.allowed.entry(leg).or_default().push(from);
        *self.fed.entry(leg).or_default() += 1;
        self.session.handle_packet(now, leg, socket, from, data);
    }

    /// Moves datagrams between the gateway and the devices until none is left, checking them.
    fn drain(&mut self, now: Instant) {
        loop {
            let mut moved = false;
            while let Some(t) = self.session.poll_transmit() {
                moved = true;
                self.check_transmit(&t);
                if let Some(d) = self.devices.iter_mut().find(|d| d.leg == t.leg) {
                    let ports = if d.leg == A {
                        gateway(20000)
                    } else {
                        gateway(20002)
                    };
                    let from = match t.socket {
                        SocketKind::Rtp => ports.rtp,
                        SocketKind::Rtcp => ports.rtcp,
                    };
                    d.session
                        .handle_packet(now, DEVICE_SRTP, t.socket, from, &t.data);
                    let stats = d.session.stats();
                    let srtp = stats
                        .legs
                        .iter()
                        .find(|l| l.leg == DEVICE_SRTP)
                        .expect("a leg");
                    assert_eq!(
                        srtp.srtp_auth_failures, 0,
                        "the device refuses what {} protected: {:02x?}",
                        t.leg, t.data
                    );
                }
                self.session.recycle(t.data);
            }
            let mut from_devices = Vec::new();
            for d in &mut self.devices {
                while let Some(t) = d.session.poll_transmit() {
                    if t.leg == DEVICE_SRTP {
                        let mux = self.plans[&d.leg].rtcp_mux;
                        from_devices.push((d.leg, t.socket, d.source(t.socket, mux), t.data));
                    }
                }
                while d.session.poll_event().is_some() {}
            }
            for (leg, socket, from, data) in from_devices {
                moved = true;
                self.feed(now, leg, socket, from, &data);
            }
            if !moved {
                break;
            }
        }
        while let Some(event) = self.session.poll_event() {
            if let MediaEvent::DtmfReceived { digit, .. } = event {
                assert!("0123456789*#ABCD".contains(digit), "digit {digit:?}");
            }
        }
        for stats in self.session.stats().legs {
            let fed = self.fed.get(&stats.leg).copied().unwrap_or(0);
            assert!(
                stats.packets_received <= fed,
                "{} received {} of {fed} datagrams",
                stats.leg,
                stats.packets_received
            );
        }
    }

    fn check_transmit(&mut self, t: &Transmit) {
        let allowed = self
            .allowed
            .get(&t.leg)
            .map(Vec::as_slice)
            .unwrap_or_default();
        assert!(allowed.contains(&t.to), "{} sends to {}", t.leg, t.to);
        let p = &self.plans[&t.leg];
        if p.srtp.is_some() || self.webrtc == Some(t.leg) {
            return;
        }
        let d = &t.data;
        assert!(
            d.len() >= 8 && d[0] >> 6 == 2,
            "not RTP/RTCP version 2: {d:02x?}"
        );
        let is_rtcp = (192..=223).contains(&d[1]);
        if t.socket == SocketKind::Rtcp || is_rtcp {
            check_rtcp(d);
            return;
        }
        assert!(d.len() >= 12, "short RTP packet {d:02x?}");
        let pt = d[1] & 0x7f;
        let pts: Vec<u8> = p
            .receive
            .iter()
            .chain(&p.send)
            .map(|f| f.pt)
            .chain(p.telephone_event.map(|te| te.pt))
            .collect();
        assert!(
            pts.contains(&pt),
            "{} sends payload type {pt}, plan has {pts:?}",
            t.leg
        );
        let ssrc = u32::from_be_bytes([d[8], d[9], d[10], d[11]]);
        let first = *self.ssrc.entry(t.leg).or_insert(ssrc);
        assert_eq!(first, ssrc, "{} changed its SSRC", t.leg);
    }
}

/// A compound RTCP packet: whole packets, version 2, SR or RR first (RFC 3550 §6.1).
fn check_rtcp(d: &[u8]) {
    assert!(
        matches!(d[1], 200 | 201),
        "compound RTCP starts with {}",
        d[1]
    );
    let mut rest = d;
    while !rest.is_empty() {
        assert!(
            rest.len() >= 4 && rest[0] >> 6 == 2,
            "bad RTCP header {d:02x?}"
        );
        let len = (usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1) * 4;
        assert!(
            len <= rest.len(),
            "RTCP length beyond the datagram {d:02x?}"
        );
        rest = &rest[len..];
    }
}

/// Where a datagram comes from: the planned device, another port, another host, IPv6.
fn source(leg: LegId, choice: u8) -> SocketAddr {
    let planned = device(leg);
    match choice & 3 {
        0 => planned,
        1 => SocketAddr::new(planned.ip(), planned.port() + 1),
        2 => SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 99)), 5004),
        _ => SocketAddr::new(
            IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 7)),
            5004,
        ),
    }
}

fn command(h: &mut Harness, now: Instant, leg: LegId, payload: &[u8]) {
    let arg = payload.get(1).copied().unwrap_or(0);
    let peer = if leg == A { B } else { A };
    match payload.first().copied().unwrap_or(0) % 6 {
        0 => {
            let digit = b"0123456789*#ABCDx"[usize::from(arg % 17)] as char;
            let _ = h
                .session
                .send_dtmf(now, leg, digit, Duration::from_millis(u64::from(arg) * 4));
        }
        1 => {
            let _ = h.session.play_tone(
                now,
                leg,
                200 + u32::from(arg) * 10,
                Duration::from_millis(u64::from(arg) * 8),
            );
        }
        2 => {
            // A re-INVITE moving the device (and its SRTP keys, if any, to new ones).
            let mut p = h.plans[&leg].clone();
            let moved = source(leg, arg);
            p.remote_rtp = Some(moved);
            p.remote_rtcp = Some(SocketAddr::new(moved.ip(), moved.port() + 1));
            if let Some(pair) = &mut p.srtp {
                pair.remote = key(pair.remote.suite, arg);
            }
            let ports = if leg == A {
                gateway(20000)
            } else {
                gateway(20002)
            };
            if let Some(d) = h.devices.iter_mut().find(|d| d.leg == leg) {
                let plan = Device::plan(&p, ports);
                d.session
                    .configure(now, DEVICE_SRTP, plan)
                    .expect("the leg was added");
            }
            h.configure(now, leg, p);
        }
        3 => {
            let mut p = h.plans[&leg].clone();
            p.direction = match arg % 4 {
                0 => Direction::SendRecv,
                1 => Direction::SendOnly,
                2 => Direction::RecvOnly,
                _ => Direction::Inactive,
            };
            h.configure(now, leg, p);
        }
        4 => h.session.echo(leg).expect("the leg was added"),
        _ => h.session.bridge(leg, peer).expect("both legs were added"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&call, mut rest)) = data.split_first() else {
        return;
    };
    let t0 = Instant::now();
    let config = SessionConfig {
        seed: 7,
        media_timeout: Duration::from_millis(800),
        rtcp_interval: Duration::from_millis(300),
        ..SessionConfig::default()
    };
    let mut h = Harness {
        session: MediaSession::new(&config, t0),
        devices: Vec::new(),
        webrtc: (call & 0x40 != 0).then_some(B),
        plans: HashMap::new(),
        allowed: HashMap::new(),
        fed: HashMap::new(),
        ssrc: HashMap::new(),
    };
    h.session.add_leg(A, gateway(20000));
    let (a, mut b) = scenario(call);
    let mut local_ice = None;
    if h.webrtc.is_some() {
        // A browser: DTLS-SRTP instead of SDES, RTCP on the RTP socket (RFC 8843, RFC 5761).
        b = mux(LegPlan { srtp: None, ..b });
        let identity = WebRtcIdentity::generate().expect("a certificate");
        local_ice = Some(h.session.add_webrtc_leg(B, gateway(20002), identity).ice);
    } else {
        h.session.add_leg(B, gateway(20002));
    }
    for (leg, p, ports) in [(A, &a, gateway(20000)), (B, &b, gateway(20002))] {
        if p.srtp.is_some() {
            h.devices.push(Device::new(&config, t0, leg, p, ports));
        }
    }
    h.configure(t0, A, a);
    h.configure(t0, B, b);
    if let Some(local_ice) = local_ice {
        let role = if call & 0x20 == 0 {
            DtlsRole::Server
        } else {
            DtlsRole::Client
        };
        h.session
            .configure_webrtc(t0, B, browser(role, local_ice))
            .expect("the browser's parameters are valid");
    }
    match call / 8 % 4 {
        0 | 1 => h.session.bridge(A, B).expect("both legs were added"),
        2 => h.session.echo(A).expect("the leg was added"),
        _ => {
            h.session.bridge(A, B).expect("both legs were added");
            let _ = h.session.play_tone(t0, B, 440, Duration::from_millis(300));
        }
    }
    h.drain(t0);

    let mut now = t0;
    for _ in 0..MAX_RECORDS {
        let [control, len, tail @ ..] = rest else {
            break;
        };
        let (payload, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        let leg = if control & 1 == 0 { A } else { B };
        let step = control >> 4;
        if step == 15 {
            command(&mut h, now, leg, payload);
            h.drain(now);
            continue;
        }
        now += Duration::from_millis(u64::from(step) * 10);
        h.run_timers(now);
        let socket = if control & 2 == 0 {
            SocketKind::Rtp
        } else {
            SocketKind::Rtcp
        };
        let through_device = control >> 2 & 3 == 1;
        match h.devices.iter_mut().find(|d| d.leg == leg) {
            Some(d) if through_device => {
                let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 50)), 7000);
                d.session
                    .handle_packet(now, DEVICE_PLAIN, socket, from, payload);
            }
            _ => h.feed(now, leg, socket, source(leg, control >> 2), payload),
        }
        h.drain(now);
    }
    // Let the call run on: reports, concealment, DTMF ends and media timeouts.
    h.run_timers(now + Duration::from_secs(1));
});
