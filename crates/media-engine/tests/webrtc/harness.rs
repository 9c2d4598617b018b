//! The call under test: gateway (negotiator + session), browser (str0m, full ICE, RTP mode)
//! and phone (plain RTP packets), with the datagram shuttle and the simulated clock.

use std::time::{Duration, Instant};

use sb_media_engine::{
    Answered, MediaEvent, MediaSession, Negotiator, NegotiatorConfig, SessionConfig, SocketKind,
    WebRtcIdentity, WebRtcLocal, WebRtcRemote,
};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec as RtcCodec, FormatParams};
use str0m::media::{Direction as RtcDirection, Frequency, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use crate::{A, B, browser, phone, ports};

/// An RTP packet as received by the browser or the phone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Packet {
    pub(crate) pt: u8,
    pub(crate) seq: u16,
    pub(crate) ts: u32,
    pub(crate) ssrc: u32,
    pub(crate) marker: bool,
    pub(crate) payload: Vec<u8>,
}

/// Parses a plain RTP packet the gateway sent to the phone.
fn parse_plain(data: &[u8]) -> Option<Packet> {
    if data.len() < 12 || data[0] >> 6 != 2 || (200..=206).contains(&data[1]) {
        return None;
    }
    let cc = usize::from(data[0] & 0x0f);
    let start = 12 + 4 * cc;
    Some(Packet {
        pt: data[1] & 0x7f,
        seq: u16::from_be_bytes([data[2], data[3]]),
        ts: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
        marker: data[1] & 0x80 != 0,
        payload: data.get(start..)?.to_vec(),
    })
}

/// The browser: a str0m peer in full ICE mode, audio only.
pub(crate) fn new_browser(now: Instant, codecs: &[RtcCodec]) -> Rtc {
    let mut config = Rtc::builder()
        .set_rtp_mode(true)
        .set_stats_interval(None)
        .clear_codecs();
    for codec in codecs {
        config = match codec {
            RtcCodec::Opus => config.enable_opus(true, false),
            RtcCodec::PCMU => config.enable_pcmu(true, false),
            RtcCodec::PCMA => config.enable_pcma(true, false),
            RtcCodec::Tele => {
                let params = FormatParams::default();
                let clock = Frequency::EIGHT_KHZ;
                let codecs = config.codec_config();
                codecs.add_config(126.into(), None, RtcCodec::Tele, clock, None, params);
                config
            }
            other => panic!("no test browser codec {other:?}"),
        };
    }
    let mut rtc = config.build(now);
    rtc.add_local_candidate(Candidate::host(browser(), "udp").expect("a host candidate"));
    rtc
}

/// One call: the gateway between a phone on leg A and a browser on leg B.
pub(crate) struct Call {
    pub(crate) now: Instant,
    pub(crate) session: MediaSession,
    pub(crate) negotiator: Negotiator,
    pub(crate) browser: Rtc,
    pub(crate) local: WebRtcLocal,
    browser_timeout: Instant,
    pub(crate) browser_mid: Option<Mid>,
    pub(crate) browser_connected: bool,
    /// What the browser received.
    pub(crate) at_browser: Vec<Packet>,
    /// What the phone received (RTP only).
    pub(crate) at_phone: Vec<Packet>,
    /// The browser's ICE states, in order.
    pub(crate) browser_ice: Vec<IceConnectionState>,
    pub(crate) events: Vec<MediaEvent>,
    /// The browser's end as negotiated.
    pub(crate) remote: Option<WebRtcRemote>,
    /// Datagrams the browser sent to the gateway.
    pub(crate) browser_datagrams: usize,
}

impl Call {
    /// The gateway's session with leg A (phone) and leg B (WebRTC), and a browser.
    pub(crate) fn new(codecs: &[RtcCodec]) -> Call {
        let now = Instant::now();
        let mut session = MediaSession::new(
            &SessionConfig {
                seed: 11,
                ..SessionConfig::default()
            },
            now,
        );
        let mut negotiator = Negotiator::new(
            &NegotiatorConfig {
                seed: 5,
                ..NegotiatorConfig::new("192.0.2.1".parse().expect("an address"))
            },
            0,
        );
        session.add_leg(A, ports(A));
        let identity = WebRtcIdentity::generate().expect("a DTLS certificate");
        let local = session.add_webrtc_leg(B, ports(B), identity);
        negotiator.set_webrtc(B, ports(B), local.clone());
        Call {
            now,
            session,
            negotiator,
            browser: new_browser(now, codecs),
            local,
            browser_timeout: now,
            browser_mid: None,
            browser_connected: false,
            at_browser: Vec::new(),
            at_phone: Vec::new(),
            browser_ice: Vec::new(),
            events: Vec::new(),
            remote: None,
            browser_datagrams: 0,
        }
    }

    /// The browser's offer, as str0m writes it.
    pub(crate) fn browser_offer(&mut self) -> (String, SdpPendingOffer) {
        let mut change = self.browser.sdp_api();
        let mid = change.add_media(MediaKind::Audio, RtcDirection::SendRecv, None, None, None);
        let (offer, pending) = change.apply().expect("a change to offer");
        self.browser_mid = Some(mid);
        (offer.to_sdp_string(), pending)
    }

    /// The browser's re-offer restarting ICE (new credentials, same media).
    pub(crate) fn browser_restarts_ice(&mut self) -> (String, SdpPendingOffer) {
        let mut change = self.browser.sdp_api();
        change.ice_restart(true);
        let (offer, pending) = change.apply().expect("an ICE restart is a change");
        (offer.to_sdp_string(), pending)
    }

    /// The browser's re-offer with its audio now `direction` (hold: `sendonly`).
    pub(crate) fn browser_changes_direction(
        &mut self,
        direction: &str,
    ) -> (String, SdpPendingOffer) {
        let mid = self.browser_mid.expect("the browser's audio mid");
        let direction = match direction {
            "sendonly" => RtcDirection::SendOnly,
            "recvonly" => RtcDirection::RecvOnly,
            "inactive" => RtcDirection::Inactive,
            _ => RtcDirection::SendRecv,
        };
        let mut change = self.browser.sdp_api();
        change.set_direction(mid, direction);
        let (offer, pending) = change.apply().expect("a direction change is a change");
        (offer.to_sdp_string(), pending)
    }

    /// The browser accepts the gateway's answer.
    pub(crate) fn browser_accepts_answer(&mut self, pending: SdpPendingOffer, answer: &[u8]) {
        let text = std::str::from_utf8(answer).expect("UTF-8 SDP");
        let answer = SdpAnswer::from_sdp_string(text).expect("the browser parses our answer");
        self.browser
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("the browser accepts our answer");
        self.drain_browser();
    }

    /// The browser answers the gateway's offer.
    pub(crate) fn browser_answers(&mut self, offer: &[u8]) -> String {
        let text = std::str::from_utf8(offer).expect("UTF-8 SDP");
        let offer = SdpOffer::from_sdp_string(text).expect("the browser parses our offer");
        let answer = self
            .browser
            .sdp_api()
            .accept_offer(offer)
            .expect("the browser accepts our offer");
        // The gateway's offer names the audio section "0".
        self.browser_mid = Some("0".into());
        self.drain_browser();
        answer.to_sdp_string()
    }

    /// Applies a completed exchange to the session and bridges the legs.
    pub(crate) fn apply(&mut self, answered: &Answered) {
        for (leg, plan) in &answered.plans {
            self.session
                .configure(self.now, *leg, plan.clone())
                .expect("configure");
        }
        for (leg, remote) in &answered.webrtc {
            self.remote = Some(remote.clone());
            self.session
                .configure_webrtc(self.now, *leg, remote.clone())
                .expect("configure WebRTC");
        }
        self.session.bridge(A, B).expect("bridge");
        self.shuttle();
    }

    /// Moves every queued datagram to its destination until nothing moves.
    pub(crate) fn shuttle(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.session.poll_transmit() {
                moved = true;
                match t.leg {
                    l if l == B => {
                        assert_eq!(t.socket, SocketKind::Rtp, "one socket on a WebRTC leg");
                        assert_eq!(t.to, browser(), "sent to where the browser is");
                        let contents = t.data.as_slice().try_into().expect("a datagram");
                        let input = Input::Receive(
                            self.now,
                            Receive {
                                proto: Protocol::Udp,
                                source: ports(B).rtp,
                                destination: browser(),
                                contents,
                            },
                        );
                        self.browser.handle_input(input).expect("browser input");
                    }
                    l if l == A => {
                        if t.socket == SocketKind::Rtp
                            && let Some(p) = parse_plain(&t.data)
                        {
                            assert_eq!(t.to, phone());
                            self.at_phone.push(p);
                        }
                    }
                    other => panic!("datagram on unknown {other}"),
                }
                self.session.recycle(t.data);
            }
            moved |= self.drain_browser();
            self.events
                .extend(std::iter::from_fn(|| self.session.poll_event()));
            if !moved {
                break;
            }
        }
    }

    /// Polls the browser; datagrams it sends go to the gateway. Whether anything moved.
    fn drain_browser(&mut self) -> bool {
        let mut moved = false;
        loop {
            match self.browser.poll_output().expect("browser output") {
                Output::Timeout(at) => {
                    self.browser_timeout = at;
                    break;
                }
                Output::Transmit(t) => {
                    moved = true;
                    self.browser_datagrams += 1;
                    assert_eq!(t.destination, ports(B).rtp, "the gateway's one candidate");
                    self.session
                        .handle_packet(self.now, B, SocketKind::Rtp, t.source, &t.contents);
                }
                Output::Event(Event::Connected) => self.browser_connected = true,
                Output::Event(Event::IceConnectionStateChange(state)) => {
                    self.browser_ice.push(state);
                }
                Output::Event(Event::RtpPacket(p)) => self.at_browser.push(Packet {
                    pt: *p.header.payload_type,
                    seq: p.header.sequence_number,
                    ts: p.header.timestamp,
                    ssrc: *p.header.ssrc,
                    marker: p.header.marker,
                    payload: p.payload.to_vec(),
                }),
                Output::Event(_) => {}
            }
        }
        moved
    }

    /// Runs both ends' timers up to `until`, shuttling after each.
    pub(crate) fn run_until(&mut self, until: Instant) {
        loop {
            let gateway = self.session.poll_timeout().map(|(at, _)| at);
            let next = gateway
                .into_iter()
                .chain([self.browser_timeout])
                .min()
                .filter(|&at| at <= until);
            let Some(at) = next else {
                break;
            };
            self.now = self.now.max(at);
            if gateway.is_some_and(|g| g <= self.now) {
                self.session.handle_timeout(self.now);
            }
            if self.browser_timeout <= self.now {
                self.browser
                    .handle_input(Input::Timeout(self.now))
                    .expect("browser timeout");
            }
            self.shuttle();
        }
        self.now = self.now.max(until);
    }

    /// Runs until ICE and DTLS are up on both ends (at most 5 s of simulated time).
    pub(crate) fn connect(&mut self) {
        let deadline = self.now + Duration::from_secs(5);
        while !(self.browser_connected && self.session.webrtc_connected(B)) {
            assert!(self.now < deadline, "no connection within 5 s");
            let step = self.now + Duration::from_millis(10);
            self.run_until(step);
        }
        assert!(
            self.events
                .contains(&MediaEvent::WebRtcConnected { leg: B }),
            "{:?}",
            self.events
        );
    }

    /// The phone sends an RTP packet to the gateway.
    pub(crate) fn phone_sends(&mut self, packet: &[u8]) {
        self.session
            .handle_packet(self.now, A, SocketKind::Rtp, phone(), packet);
        self.shuttle();
    }

    /// The browser sends an RTP packet on its audio stream.
    pub(crate) fn browser_sends(&mut self, pt: u8, seq: u64, ts: u32, payload: &[u8]) {
        let mid = self.browser_mid.expect("the browser's audio mid");
        let now = self.now;
        let mut api = self.browser.direct_api();
        let stream = api
            .stream_tx_by_mid(mid, None)
            .expect("the browser's send stream");
        stream.write_rtp(RtpWrite::new(
            pt.into(),
            SeqNo::from(seq),
            ts,
            now,
            payload.to_vec(),
        ));
        self.drain_browser();
        self.shuttle();
    }

    /// The browser's payload type for a codec.
    pub(crate) fn browser_pt(&self, codec: RtcCodec) -> u8 {
        *self
            .browser
            .codec_config()
            .find(|p| p.spec().codec == codec)
            .expect("the codec is configured")
            .pt()
    }
}

/// A plain RTP packet.
pub(crate) fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p[4..8].copy_from_slice(&ts.to_be_bytes());
    p[8..12].copy_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}
