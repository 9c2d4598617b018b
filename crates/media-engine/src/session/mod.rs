//! [`MediaSession`]: the media of one call. Legs are added with their local sockets,
//! configured from negotiation, and connected (bridged, echoed, or fed a tone). The driver
//! feeds datagrams and timeouts in with `now`, and drains [`MediaSession::poll_transmit`],
//! [`MediaSession::poll_event`] and [`MediaSession::poll_timeout`] after every input.

mod inbound;
mod leg;
mod timers;
mod webrtc;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use sb_media_codec::OpusConfig;

use crate::error::EngineError;
use crate::plan::{Codec, LegId, LegPlan, LocalPorts};
use crate::stats::{SessionPath, SessionStats};
use crate::transcode::{Output, TICK, TonePlayer, frame_ms};
use crate::webrtc::Inbound;
use leg::{Leg, Target};

/// Settings of a media session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Seed of the session's random numbers (SSRCs, initial sequence numbers and timestamps,
    /// CNAME).
    pub seed: u64,
    /// Opus encoder settings for transcoding and tones.
    pub opus: OpusConfig,
    /// No RTP from an active leg this long raises [`MediaEvent::MediaTimeout`]; zero turns
    /// the check off.
    pub media_timeout: Duration,
    /// Smallest jitter buffer delay, in milliseconds.
    pub jitter_min_ms: u16,
    /// Largest jitter buffer delay, in milliseconds.
    pub jitter_max_ms: u16,
    /// Interval of the RTCP reports the gateway sends on each leg; zero sends none.
    pub rtcp_interval: Duration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            seed: 0,
            opus: OpusConfig::default(),
            media_timeout: Duration::from_secs(60),
            jitter_min_ms: 20,
            jitter_max_ms: 200,
            rtcp_interval: Duration::from_secs(5),
        }
    }
}

/// Which of a leg's two sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketKind {
    /// The RTP socket (also RTCP when multiplexed, RFC 5761).
    Rtp,
    /// The RTCP socket.
    Rtcp,
}

/// A datagram to send from one of a leg's sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The leg whose socket sends it.
    pub leg: LegId,
    /// Which socket.
    pub socket: SocketKind,
    /// Destination.
    pub to: SocketAddr,
    /// The datagram. Hand the buffer back with [`MediaSession::recycle`] once sent to spare
    /// an allocation on the next packet.
    pub data: Vec<u8>,
}

/// Something the signalling side should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// An active leg sent no RTP for the configured media timeout.
    MediaTimeout {
        /// The silent leg.
        leg: LegId,
    },
    /// A DTMF digit arrived as RFC 4733 events (reported once, when it ends).
    DtmfReceived {
        /// The leg it came from.
        leg: LegId,
        /// `0-9 * # A-D`.
        digit: char,
        /// How long it was pressed.
        duration: Duration,
    },
    /// A tone started by [`MediaSession::play_tone`] has played its duration.
    ToneFinished {
        /// The leg it played to.
        leg: LegId,
    },
    /// A WebRTC leg's ICE and DTLS handshakes completed: SRTP keys exist, media flows.
    WebRtcConnected {
        /// The leg.
        leg: LegId,
    },
    /// A WebRTC leg's connection ended: the browser closed DTLS, or the handshake failed
    /// (a certificate that does not match the SDP fingerprint).
    WebRtcClosed {
        /// The leg.
        leg: LegId,
    },
}

/// Why the session wants to be woken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeoutReason {
    /// The 20 ms playout tick of transcoding and tones.
    Tick,
    /// A leg's RTCP report is due.
    Rtcp {
        /// The leg.
        leg: LegId,
    },
    /// The next packet of a DTMF event the gateway generates.
    Dtmf {
        /// The leg.
        leg: LegId,
    },
    /// A leg's media timeout.
    MediaTimeout {
        /// The leg.
        leg: LegId,
    },
    /// A WebRTC leg's ICE, DTLS or RTCP timer.
    WebRtc {
        /// The leg.
        leg: LegId,
    },
}

/// Reusable packet buffers.
#[derive(Debug, Default)]
struct BufferPool {
    free: Vec<Vec<u8>>,
}

/// Buffers kept for reuse.
const POOL_SIZE: usize = 64;
/// Capacity of a new buffer: an Ethernet MTU.
const BUFFER_CAPACITY: usize = 1500;

impl BufferPool {
    fn take(&mut self) -> Vec<u8> {
        self.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY))
    }

    fn put(&mut self, mut buf: Vec<u8>) {
        if self.free.len() < POOL_SIZE && buf.capacity() >= BUFFER_CAPACITY / 2 {
            buf.clear();
            self.free.push(buf);
        }
    }
}

/// The media of one call: its legs and what connects them. Sans-IO: see the module docs.
///
/// ```
/// use std::time::Instant;
///
/// use sb_media_codec::CodecKind;
/// use sb_media_engine::{
///     Codec, LegId, LegPlan, LocalPorts, MediaSession, PayloadFormat, SessionConfig, SocketKind,
/// };
///
/// let now = Instant::now();
/// let mut session = MediaSession::new(&SessionConfig::default(), now);
/// let pcmu = PayloadFormat { pt: 0, codec: Codec::Known(CodecKind::Pcmu) };
/// for (leg, local, remote) in [(1, 20000, "192.0.2.10:4000"), (2, 20002, "192.0.2.30:6000")] {
///     let rtp = format!("192.0.2.1:{local}").parse().unwrap();
///     let rtcp = format!("192.0.2.1:{}", local + 1).parse().unwrap();
///     session.add_leg(LegId(leg), LocalPorts { rtp, rtcp });
///     let plan = LegPlan {
///         remote_rtp: Some(remote.parse().unwrap()),
///         send: Some(pcmu.clone()),
///         receive: vec![pcmu.clone()],
///         ptime_ms: 20,
///         ..LegPlan::default()
///     };
///     session.configure(now, LegId(leg), plan).unwrap();
/// }
/// session.bridge(LegId(1), LegId(2)).unwrap();
///
/// // A PCMU packet from the first leg's device is relayed to the second leg's.
/// let mut packet = vec![0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 42];
/// packet.extend_from_slice(&[0xff; 160]);
/// let from = "192.0.2.10:4000".parse().unwrap();
/// session.handle_packet(now, LegId(1), SocketKind::Rtp, from, &packet);
/// let sent = session.poll_transmit().unwrap();
/// assert_eq!((sent.leg, sent.to), (LegId(2), "192.0.2.30:6000".parse().unwrap()));
/// session.recycle(sent.data);
/// ```
#[derive(Debug)]
pub struct MediaSession {
    config: SessionConfig,
    start: Instant,
    rng: SmallRng,
    cname: Vec<u8>,
    legs: Vec<Leg>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<MediaEvent>,
    pool: BufferPool,
    next_tick: Option<Instant>,
    /// Reused output buffer of WebRTC transports.
    webrtc_out: Vec<Inbound>,
}

impl MediaSession {
    /// An empty session.
    pub fn new(config: &SessionConfig, now: Instant) -> Self {
        let mut rng = SmallRng::seed_from_u64(config.seed);
        // A random CNAME (RFC 7022 §4.2): nothing about the host or the call leaks.
        let cname = format!("{:016x}{:08x}", rng.random::<u64>(), rng.random::<u32>()).into_bytes();
        MediaSession {
            config: config.clone(),
            start: now,
            rng,
            cname,
            legs: Vec::with_capacity(2),
            transmits: VecDeque::with_capacity(16),
            events: VecDeque::new(),
            pool: BufferPool::default(),
            next_tick: None,
            webrtc_out: Vec::new(),
        }
    }

    fn index(&self, leg: LegId) -> Option<usize> {
        self.legs.iter().position(|l| l.id == leg)
    }

    fn index_or_err(&self, leg: LegId) -> Result<usize, EngineError> {
        self.index(leg).ok_or(EngineError::UnknownLeg { leg })
    }

    /// Adds a leg with its bound local sockets. Adding a leg that exists changes its ports
    /// only.
    pub fn add_leg(&mut self, leg: LegId, ports: LocalPorts) {
        if let Some(i) = self.index(leg) {
            self.legs[i].ports = ports;
            return;
        }
        let ssrc = loop {
            let s: u32 = self.rng.random();
            if s != 0 && self.legs.iter().all(|l| l.out.ssrc != s) {
                break s;
            }
        };
        let seq = self.rng.random();
        let ts = self.rng.random();
        self.legs
            .push(Leg::new(leg, ports, ssrc, seq, ts, self.start));
    }

    /// Removes a leg: a final RTCP BYE is queued for it, and what it was connected to stops.
    pub fn remove_leg(&mut self, leg: LegId) {
        let Some(i) = self.index(leg) else {
            return;
        };
        self.send_bye(i);
        self.legs.remove(i);
        for l in &mut self.legs {
            if l.target == Target::Peer(leg) {
                l.target = Target::None;
            }
        }
        self.refresh_routes();
    }

    /// (Re)configures a leg from negotiation. The outgoing SSRC, sequence numbers and
    /// timestamps continue; latching starts over when the remote address changed; SRTP
    /// contexts are kept when the keys did not change.
    pub fn configure(
        &mut self,
        now: Instant,
        leg: LegId,
        plan: LegPlan,
    ) -> Result<(), EngineError> {
        let i = self.index_or_err(leg)?;
        let rtcp_interval = self.config.rtcp_interval;
        self.legs[i].configure(now, plan, rtcp_interval);
        self.refresh_routes();
        self.start_webrtc(now, i)
    }

    fn unlink(&mut self, i: usize) {
        if let Target::Peer(peer) = self.legs[i].target
            && let Some(p) = self.index(peer)
            && self.legs[p].target == Target::Peer(self.legs[i].id)
        {
            self.legs[p].target = Target::None;
        }
    }

    /// Connects two legs both ways: what one sends goes to the other, relayed when their
    /// codecs match, transcoded otherwise.
    pub fn bridge(&mut self, a: LegId, b: LegId) -> Result<(), EngineError> {
        let ia = self.index_or_err(a)?;
        let ib = self.index_or_err(b)?;
        self.unlink(ia);
        self.unlink(ib);
        self.legs[ia].target = Target::Peer(b);
        self.legs[ib].target = Target::Peer(a);
        self.refresh_routes();
        Ok(())
    }

    /// Loops a leg's media back to it.
    pub fn echo(&mut self, leg: LegId) -> Result<(), EngineError> {
        let i = self.index_or_err(leg)?;
        self.unlink(i);
        self.legs[i].target = Target::Echo;
        self.refresh_routes();
        Ok(())
    }

    /// Plays a sine of `frequency_hz` to a leg for `duration`, in the leg's send codec,
    /// instead of what it would receive otherwise; [`MediaEvent::ToneFinished`] follows.
    pub fn play_tone(
        &mut self,
        now: Instant,
        leg: LegId,
        frequency_hz: u32,
        duration: Duration,
    ) -> Result<(), EngineError> {
        let i = self.index_or_err(leg)?;
        let send = self.legs[i]
            .plan
            .as_ref()
            .and_then(|p| p.send.as_ref().map(|f| (f.clone(), p.ptime_ms)))
            .ok_or(EngineError::NotConfigured { leg })?;
        let (format, ptime) = send;
        let Codec::Known(codec) = format.codec else {
            return Err(EngineError::CannotEncode {
                leg,
                codec: format.codec.name().to_string(),
            });
        };
        let output = Output {
            codec,
            pt: format.pt,
            frame_ms: frame_ms(ptime),
        };
        let tone = TonePlayer::new(output, &self.config.opus, frequency_hz, now + duration)
            .map_err(|source| EngineError::Codec { leg, source })?;
        self.legs[i].tone = Some(Box::new(tone));
        self.next_tick = Some(self.next_tick.map_or(now, |t| t.min(now)));
        Ok(())
    }

    /// Generates an RFC 4733 event for `digit` on a leg (DTMF signalled by the other side,
    /// e.g. SIP INFO): start packet with the marker bit, updates every 50 ms, three end
    /// packets. Digits asked while one plays follow it.
    pub fn send_dtmf(
        &mut self,
        now: Instant,
        leg: LegId,
        digit: char,
        duration: Duration,
    ) -> Result<(), EngineError> {
        let i = self.index_or_err(leg)?;
        let te = self.legs[i]
            .plan
            .as_ref()
            .and_then(|p| p.telephone_event)
            .ok_or(EngineError::NoTelephoneEvent { leg })?;
        self.legs[i]
            .dtmf_tx
            .push(now, digit, duration, te.clock_rate)?;
        self.emit_dtmf(now, i);
        Ok(())
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Gives a sent datagram's buffer back for reuse.
    pub fn recycle(&mut self, data: Vec<u8>) {
        self.pool.put(data);
    }

    /// The next event for signalling.
    pub fn poll_event(&mut self) -> Option<MediaEvent> {
        self.events.pop_front()
    }

    /// Current figures.
    pub fn stats(&self) -> SessionStats {
        SessionStats {
            path: self.path(),
            legs: self.legs.iter().map(Leg::stats).collect(),
        }
    }

    fn path(&self) -> Option<SessionPath> {
        if self.legs.iter().any(|l| l.tone.is_some()) {
            return Some(SessionPath::Tone);
        }
        if self.legs.iter().any(|l| l.target == Target::Echo) {
            return Some(SessionPath::Echo);
        }
        let (a, b) = self.legs.iter().find_map(|l| match l.target {
            Target::Peer(p) => self.index(p).map(|j| (l, &self.legs[j])),
            _ => None,
        })?;
        fn codec(l: &Leg) -> Option<&Codec> {
            l.plan
                .as_ref()
                .and_then(|p| p.send.as_ref())
                .map(|f| &f.codec)
        }
        match (codec(a), codec(b)) {
            (Some(x), Some(y)) if !x.relays_to(y) => Some(SessionPath::Transcode),
            _ => Some(SessionPath::Relay),
        }
    }

    /// Recomputes every leg's payload type routes and transcoders after a change of plans
    /// or connections.
    fn refresh_routes(&mut self) {
        for i in 0..self.legs.len() {
            let target = match self.legs[i].target {
                Target::None => None,
                Target::Echo => Some(i),
                Target::Peer(p) => self.index(p),
            };
            let to_plan = target.and_then(|t| self.legs[t].plan.clone());
            let echo = target == Some(i);
            let config = &self.config;
            self.legs[i].set_routes(to_plan.as_ref(), echo, config);
        }
    }

    /// Starts the tick if it is not running.
    fn ensure_tick(&mut self, now: Instant) {
        if self.next_tick.is_none() {
            self.next_tick = Some(now + TICK);
        }
    }
}

#[cfg(test)]
mod tests;
