//! One leg of a session: its plan, routes per payload type, outgoing stream, latching, SRTP
//! contexts, statistics and per-leg generators.

use std::time::{Duration, Instant};

use sb_media_codec::CodecKind;

use crate::dtmf::{DtmfDetector, DtmfSender};
use crate::latch::Latch;
use crate::plan::{Codec, LegId, LegPlan, LocalPorts};
use crate::session::SessionConfig;
use crate::srtp::SrtpContext;
use crate::stats::{LegStats, ReceiveStats, RemoteReport};
use crate::stream::OutStream;
use crate::transcode::{Output, TonePlayer, Transcoder, frame_ms};
use crate::webrtc::{WebRtcRemote, WebRtcTransport};

/// Where a leg's media goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    /// Nowhere (dropped).
    None,
    /// Back to the leg itself.
    Echo,
    /// To another leg.
    Peer(LegId),
}

/// What a received payload type is on a leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum InKind {
    /// Not negotiated: the packet is invalid.
    Unknown,
    /// Audio.
    Audio {
        /// The codec, when the gateway can decode it.
        codec: Option<CodecKind>,
        /// Its clock rate.
        clock: u32,
        /// The payload type to relay it with on the target leg, when the target takes the
        /// codec as is.
        relay_pt: Option<u8>,
    },
    /// RFC 4733 telephone-event.
    Event {
        /// Its clock rate.
        clock: u32,
    },
}

/// Counters behind [`LegStats`].
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counters {
    pub(super) packets_received: u64,
    pub(super) bytes_received: u64,
    pub(super) packets_sent: u64,
    pub(super) bytes_sent: u64,
    pub(super) frames_decoded: u64,
    pub(super) frames_encoded: u64,
    pub(super) frames_concealed: u64,
    pub(super) dtmf_events: u64,
    pub(super) srtp_auth_failures: u64,
    pub(super) packets_dropped: u64,
}

/// A leg.
#[derive(Debug)]
pub(super) struct Leg {
    pub(super) id: LegId,
    pub(super) ports: LocalPorts,
    pub(super) plan: Option<LegPlan>,
    pub(super) routes: [InKind; 128],
    pub(super) target: Target,
    pub(super) out: OutStream,
    pub(super) rtp_latch: Latch,
    pub(super) rtcp_latch: Latch,
    pub(super) srtp_in: Option<SrtpContext>,
    pub(super) srtp_out: Option<SrtpContext>,
    pub(super) rx: ReceiveStats,
    pub(super) counters: Counters,
    pub(super) remote_report: Option<RemoteReport>,
    /// Middle 32 bits of the NTP time of the last SR from the device, and when it came.
    pub(super) last_sr: Option<(u32, Instant)>,
    pub(super) next_rtcp: Option<Instant>,
    pub(super) dtmf_rx: DtmfDetector,
    pub(super) dtmf_tx: DtmfSender,
    /// Timestamp of the event being generated.
    pub(super) dtmf_ts: u32,
    /// Received event timestamp → the timestamp it was given on this leg (events converted
    /// between clocks or into a transcoded stream).
    pub(super) event_map: Option<(u32, u32)>,
    pub(super) tone: Option<Box<TonePlayer>>,
    /// Decodes this leg's audio for its target leg.
    pub(super) transcoder: Option<Box<Transcoder>>,
    pub(super) last_rx: Instant,
    pub(super) timeout_fired: bool,
    /// The wire side of a WebRTC leg (`None` on a phone leg).
    pub(super) webrtc: Option<Box<WebRtcTransport>>,
    /// What negotiation learnt of the browser on a WebRTC leg.
    pub(super) webrtc_remote: Option<WebRtcRemote>,
}

impl Leg {
    pub(super) fn new(
        id: LegId,
        ports: LocalPorts,
        ssrc: u32,
        seq: u16,
        ts: u32,
        now: Instant,
    ) -> Leg {
        Leg {
            id,
            ports,
            plan: None,
            routes: [InKind::Unknown; 128],
            target: Target::None,
            out: OutStream::new(ssrc, seq, ts),
            rtp_latch: Latch::default(),
            rtcp_latch: Latch::default(),
            srtp_in: None,
            srtp_out: None,
            rx: ReceiveStats::default(),
            counters: Counters::default(),
            remote_report: None,
            last_sr: None,
            next_rtcp: None,
            dtmf_rx: DtmfDetector::default(),
            dtmf_tx: DtmfSender::default(),
            dtmf_ts: 0,
            event_map: None,
            tone: None,
            transcoder: None,
            last_rx: now,
            timeout_fired: false,
            webrtc: None,
            webrtc_remote: None,
        }
    }

    pub(super) fn configure(&mut self, now: Instant, plan: LegPlan, rtcp_interval: Duration) {
        self.rtp_latch.set_planned(plan.remote_rtp);
        self.rtcp_latch.set_planned(if plan.rtcp_mux {
            plan.remote_rtp
        } else {
            plan.remote_rtcp
        });
        match &plan.srtp {
            Some(pair) => {
                if !self
                    .srtp_in
                    .as_ref()
                    .is_some_and(|c| c.has_key(&pair.remote))
                {
                    self.srtp_in = Some(SrtpContext::new(&pair.remote));
                }
                if !self
                    .srtp_out
                    .as_ref()
                    .is_some_and(|c| c.has_key(&pair.local))
                {
                    self.srtp_out = Some(SrtpContext::new(&pair.local));
                }
            }
            None => {
                self.srtp_in = None;
                self.srtp_out = None;
            }
        }
        // A renegotiation is a sign of life: the media timeout starts over.
        self.last_rx = now;
        self.timeout_fired = false;
        if self.next_rtcp.is_none() && !rtcp_interval.is_zero() {
            self.next_rtcp = Some(now + rtcp_interval);
        }
        self.plan = Some(plan);
    }

    /// The clock of the format the leg sends (8000 until configured).
    pub(super) fn send_clock(&self) -> u32 {
        self.plan
            .as_ref()
            .and_then(|p| p.send.as_ref())
            .map_or(8000, |f| f.codec.clock_rate())
    }

    /// Where the leg sends RTP, when it sends at all (configured, a format to send, a
    /// direction that sends, an address).
    pub(super) fn rtp_destination(&self) -> Option<std::net::SocketAddr> {
        let plan = self.plan.as_ref()?;
        if plan.send.is_none() || !plan.direction.sends() {
            return None;
        }
        match self.webrtc.as_deref() {
            // The address ICE nominated; nothing before DTLS is up.
            Some(transport) => transport.peer(),
            None => self.rtp_latch.target(),
        }
    }

    /// When the media timeout fires, if the leg is expected to send.
    pub(super) fn media_deadline(&self, timeout: Duration) -> Option<Instant> {
        let plan = self.plan.as_ref()?;
        let active = !timeout.is_zero()
            && !self.timeout_fired
            && plan.send.is_some()
            && plan.direction.receives()
            && self.rtp_latch.target().is_some();
        active.then(|| self.last_rx + timeout)
    }

    /// Recomputes the payload type routes towards `to` (the target leg's plan; `echo` when
    /// the target is this leg) and the transcoder.
    pub(super) fn set_routes(&mut self, to: Option<&LegPlan>, echo: bool, config: &SessionConfig) {
        self.routes = [InKind::Unknown; 128];
        let Some(plan) = self.plan.as_ref() else {
            self.transcoder = None;
            return;
        };
        let mut needs_transcoding = false;
        // What the device may send: the negotiated list, and in any case the format it was
        // told we send (devices answer with what they send).
        let send_only = plan
            .send
            .iter()
            .filter(|s| plan.receive.iter().all(|r| r.pt != s.pt));
        for f in plan.receive.iter().chain(send_only) {
            let relay_pt = to.and_then(|to| {
                if echo {
                    return Some(f.pt);
                }
                let send = to.send.as_ref().filter(|s| s.codec.relays_to(&f.codec));
                send.or_else(|| to.receive.iter().find(|g| g.codec.relays_to(&f.codec)))
                    .map(|g| g.pt)
            });
            let codec = match f.codec {
                Codec::Known(k) => Some(k),
                Codec::Other { .. } => None,
            };
            needs_transcoding |= relay_pt.is_none() && codec.is_some();
            if let Some(slot) = self.routes.get_mut(usize::from(f.pt)) {
                *slot = InKind::Audio {
                    codec,
                    clock: f.codec.clock_rate(),
                    relay_pt,
                };
            }
        }
        if let Some(te) = plan.telephone_event
            && let Some(slot) = self.routes.get_mut(usize::from(te.pt))
        {
            *slot = InKind::Event {
                clock: te.clock_rate,
            };
        }
        let output = to.filter(|_| needs_transcoding && !echo).and_then(|to| {
            let send = to.send.as_ref()?;
            match send.codec {
                Codec::Known(codec) => Some(Output {
                    codec,
                    pt: send.pt,
                    frame_ms: frame_ms(to.ptime_ms),
                }),
                Codec::Other { .. } => None,
            }
        });
        let keep = match (&self.transcoder, output) {
            (Some(t), Some(o)) => {
                t.output() == o && t.jitter_bounds() == (config.jitter_min_ms, config.jitter_max_ms)
            }
            _ => false,
        };
        if !keep {
            if let Some(old) = self.transcoder.take() {
                self.counters.frames_decoded += old.frames_decoded;
                self.counters.frames_concealed += old.frames_concealed;
                self.counters.packets_dropped += old.dropped();
            }
            self.transcoder = output.and_then(|o| {
                Transcoder::new(o, &config.opus, config.jitter_min_ms, config.jitter_max_ms)
                    .ok()
                    .map(Box::new)
            });
        }
    }

    pub(super) fn stats(&self) -> LegStats {
        let c = &self.counters;
        // Figures of the current transcoder are added in; earlier ones were folded in.
        let t = self.transcoder.as_deref();
        let pending_decoded = t.map_or(0, |t| t.frames_decoded);
        let pending_concealed = t.map_or(0, |t| t.frames_concealed);
        let pending_dropped = t.map_or(0, Transcoder::dropped);
        LegStats {
            leg: self.id,
            codec: self
                .plan
                .as_ref()
                .and_then(|p| p.send.as_ref())
                .map(|f| f.codec.name().to_string()),
            packets_received: c.packets_received,
            bytes_received: c.bytes_received,
            packets_sent: c.packets_sent,
            bytes_sent: c.bytes_sent,
            packets_lost: u64::try_from(self.rx.cumulative_lost()).unwrap_or(0),
            jitter_ms: self.rx.jitter_ms(),
            frames_decoded: c.frames_decoded + pending_decoded,
            frames_encoded: c.frames_encoded,
            frames_concealed: c.frames_concealed + pending_concealed,
            remote: self.rtp_latch.target(),
            srtp: self.srtp_out.is_some() || self.webrtc.is_some(),
            dtmf_events: c.dtmf_events,
            srtp_auth_failures: c.srtp_auth_failures,
            packets_dropped: c.packets_dropped + pending_dropped,
            remote_report: self.remote_report,
        }
    }
}
