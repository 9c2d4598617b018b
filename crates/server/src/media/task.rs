//! One call's media: its leg sockets, its media session and its SDP
//! negotiator, owned by one media worker for the call's whole life (see
//! `worker.rs`). The worker hands it readable sockets, due timers and
//! commands from the switch task; it stops on release (reporting the call's
//! final statistics) or when the gateway goes away.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sb_media_engine::{
    LegId, LegPlan, LocalPorts, MediaEvent, MediaSession, NegotiateError, Negotiator, SocketKind,
    WebRtcRemote, is_webrtc_offer,
};
use sb_switch::{CallRef, EffectResult, EffectToken, LocalMedia};
use tokio::sync::{mpsc, oneshot};

use super::report::{CallMediaStats, Totals};
use super::sockets::LegSockets;
use super::worker::Registry;
use super::{MediaMetrics, MediaSettings};

/// What the switch task asks of a call's media.
#[derive(Debug)]
pub(crate) enum MediaCommand {
    /// An offer from leg `from` to send on `to` (`to_browser`: `to` is a
    /// browser, a WebRTC leg).
    Offer {
        token: EffectToken,
        from: u32,
        to: u32,
        to_browser: bool,
        sdp: Bytes,
    },
    /// The answer from leg `from` to send on `to`.
    Answer {
        token: EffectToken,
        from: u32,
        to: u32,
        sdp: Bytes,
    },
    /// The gateway answers leg `leg` itself.
    Local {
        token: EffectToken,
        leg: u32,
        action: LocalMedia,
        sdp: Bytes,
    },
    /// Generate RFC 4733 digits towards `to`.
    Dtmf {
        to: u32,
        digit: char,
        duration_ms: u32,
    },
    /// Statistics now.
    Stats(oneshot::Sender<CallMediaStats>),
    /// The call ended: final statistics, then stop.
    Release(oneshot::Sender<CallMediaStats>),
}

impl MediaCommand {
    /// The effect token a result is owed for.
    pub(crate) fn token(&self) -> Option<EffectToken> {
        match self {
            MediaCommand::Offer { token, .. }
            | MediaCommand::Answer { token, .. }
            | MediaCommand::Local { token, .. } => Some(*token),
            _ => None,
        }
    }
}

/// What the media does in this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Legs are bridged (relay or transcode).
    Bridge,
    /// The caller hears itself.
    Echo,
    /// The caller hears a tone.
    Tone,
}

/// Why a media effect has no SDP.
#[derive(Debug)]
enum Refusal {
    /// The SDP cannot be served (no audio, no codec, no usable crypto): 488.
    NotAcceptable(String),
    /// The gateway could not do it (no port): the call fails.
    Failed(String),
}

impl From<NegotiateError> for Refusal {
    fn from(e: NegotiateError) -> Self {
        match e {
            NegotiateError::Sdp { .. }
            | NegotiateError::NoAudio
            | NegotiateError::NoCommonCodec
            | NegotiateError::NoCommonCrypto
            | NegotiateError::UnsupportedTransport { .. } => Refusal::NotAcceptable(e.to_string()),
            other => Refusal::Failed(other.to_string()),
        }
    }
}

pub(crate) struct CallMediaTask {
    call: CallRef,
    settings: Arc<MediaSettings>,
    session: MediaSession,
    negotiator: Negotiator,
    legs: Vec<(LegId, LegSockets)>,
    results: mpsc::Sender<(EffectToken, EffectResult)>,
    /// The worker's epoll set, once a worker owns the call.
    registry: Option<Registry>,
    /// Carries answers that do not fit the switch's queue at once.
    runtime: Option<tokio::runtime::Handle>,
    timeouts: mpsc::Sender<CallRef>,
    role: Role,
    /// The caller's leg and the leg it is bridged to.
    bridged: Option<(LegId, LegId)>,
    /// What was last added to the gateway's counters.
    reported: Totals,
    timed_out: bool,
}

impl std::fmt::Debug for CallMediaTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallMediaTask")
            .field("call", &self.call)
            .field("legs", &self.legs.len())
            .finish_non_exhaustive()
    }
}

impl CallMediaTask {
    pub(crate) fn new(
        call: CallRef,
        settings: Arc<MediaSettings>,
        seeds: (u64, u64),
        results: mpsc::Sender<(EffectToken, EffectResult)>,
        timeouts: mpsc::Sender<CallRef>,
        now: Instant,
    ) -> Self {
        let mut session_config = settings.session.clone();
        session_config.seed = seeds.0 ^ seeds.1.rotate_left(32);
        let mut negotiator_config = settings.negotiator.clone();
        negotiator_config.seed = seeds.0;
        CallMediaTask {
            call,
            session: MediaSession::new(&session_config, now),
            negotiator: Negotiator::new(&negotiator_config, seeds.1),
            settings,
            legs: Vec::new(),
            results,
            registry: None,
            runtime: None,
            timeouts,
            role: Role::Bridge,
            bridged: None,
            reported: Totals::default(),
            timed_out: false,
        }
    }

    /// The worker that owns the call from now on.
    pub(crate) fn attach(&mut self, registry: Registry, runtime: tokio::runtime::Handle) {
        self.registry = Some(registry);
        self.runtime = Some(runtime);
        let metrics = &self.settings.metrics;
        MediaMetrics::add(&metrics.sessions_total, 1);
        metrics
            .sessions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The call this media belongs to.
    pub(crate) fn call(&self) -> CallRef {
        self.call
    }

    /// One datagram from a readable socket (the set is level-triggered: a
    /// socket with more waiting is reported again).
    pub(crate) fn readable(&mut self, leg_index: usize, kind: SocketKind, buf: &mut [u8]) {
        let Some((leg, sockets)) = self.legs.get(leg_index) else {
            return;
        };
        let socket = match kind {
            SocketKind::Rtp => &sockets.rtp,
            SocketKind::Rtcp => &sockets.rtcp,
        };
        match socket.recv_from(buf) {
            Ok((len, from)) => {
                let leg = *leg;
                self.session
                    .handle_packet(Instant::now(), leg, kind, from, &buf[..len]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                tracing::debug!(call = %self.call, %leg, error = %e, "RTP socket error");
            }
        }
    }

    /// When the session next needs [`CallMediaTask::timeout`].
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.session.poll_timeout().map(|(at, _)| at)
    }

    /// The session's timers at `now`.
    pub(crate) fn timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
        self.report_metrics();
    }

    /// The call's media ends: last counters, then the sockets close.
    pub(crate) fn finish(mut self) {
        self.report_metrics();
        if self.registry.is_some() {
            self.settings
                .metrics
                .sessions
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Sends what the session queued and acts on its events.
    pub(crate) fn flush(&mut self) {
        send_all(&mut self.session, &self.legs);
        while let Some(event) = self.session.poll_event() {
            match event {
                MediaEvent::MediaTimeout { leg } => {
                    if !self.timed_out {
                        self.timed_out = true;
                        MediaMetrics::add(&self.settings.metrics.timeouts, 1);
                        tracing::info!(call = %self.call, %leg, "no RTP: ending the call");
                        let _ = self.timeouts.try_send(self.call);
                    }
                }
                MediaEvent::DtmfReceived { leg, digit, .. } => {
                    tracing::debug!(call = %self.call, %leg, %digit, "DTMF received");
                }
                MediaEvent::WebRtcConnected { leg } => {
                    tracing::debug!(call = %self.call, %leg, "browser media connected (ICE, DTLS)");
                }
                MediaEvent::WebRtcClosed { leg } => {
                    tracing::info!(call = %self.call, %leg, "browser media connection closed");
                }
                other => tracing::trace!(call = %self.call, ?other, "media event"),
            }
        }
    }

    /// Handles a command; `false` when the call's media is to stop.
    pub(crate) fn command(&mut self, command: MediaCommand) -> bool {
        let now = Instant::now();
        match command {
            MediaCommand::Offer {
                token,
                from,
                to,
                to_browser,
                sdp,
            } => {
                let result = self.offer(now, (LegId(from), LegId(to)), to_browser, &sdp);
                self.reply(token, result);
            }
            MediaCommand::Answer {
                token,
                from,
                to,
                sdp,
            } => {
                let result = self.answer(now, LegId(from), LegId(to), &sdp);
                self.reply(token, result);
            }
            MediaCommand::Local {
                token,
                leg,
                action,
                sdp,
            } => {
                let result = self.local(now, LegId(leg), action, &sdp);
                self.reply(token, result);
            }
            MediaCommand::Dtmf {
                to,
                digit,
                duration_ms,
            } => {
                let duration = Duration::from_millis(u64::from(duration_ms));
                if let Err(e) = self.session.send_dtmf(now, LegId(to), digit, duration) {
                    tracing::debug!(call = %self.call, error = %e, "DTMF not sent");
                }
            }
            MediaCommand::Stats(reply) => {
                let _ = reply.send(self.stats());
            }
            MediaCommand::Release(reply) => {
                let _ = reply.send(self.stats());
                return false;
            }
        }
        true
    }

    fn reply(&self, token: EffectToken, result: Result<Bytes, Refusal>) {
        let result = match result {
            Ok(sdp) => EffectResult::Media(sdp),
            Err(Refusal::NotAcceptable(reason)) => {
                tracing::info!(call = %self.call, %reason, "SDP not acceptable");
                EffectResult::MediaNotAcceptable { reason }
            }
            Err(Refusal::Failed(reason)) => {
                tracing::warn!(call = %self.call, %reason, "media set-up failed");
                EffectResult::Failed { reason }
            }
        };
        match &self.runtime {
            Some(runtime) => answer(runtime, &self.results, token, result),
            None => crate::effects::answer(&self.results, token, result),
        }
    }

    /// The leg's sockets, bound on first use. A `browser` leg is a WebRTC
    /// leg: everything (STUN, DTLS, SRTP, SRTCP) goes over its RTP socket
    /// (RFC 5761, RFC 7983), under a DTLS certificate of its own.
    fn ensure_leg(&mut self, leg: LegId, browser: bool) -> Result<LocalPorts, Refusal> {
        if let Some((_, s)) = self.legs.iter().find(|(l, _)| *l == leg) {
            return Ok(s.ports);
        }
        let identity = if browser {
            Some(
                self.settings
                    .webrtc_identity()
                    .map_err(|e| Refusal::Failed(format!("no DTLS certificate for {leg}: {e}")))?,
            )
        } else {
            None
        };
        let sockets = LegSockets::bind(&self.settings)
            .map_err(|e| Refusal::Failed(format!("no RTP port for {leg}: {e}")))?;
        if let Some(registry) = &self.registry {
            let index = self.legs.len();
            registry
                .add(&sockets.rtp, index, SocketKind::Rtp)
                .and_then(|()| match identity {
                    Some(_) => Ok(()),
                    None => registry.add(&sockets.rtcp, index, SocketKind::Rtcp),
                })
                .map_err(|e| Refusal::Failed(format!("cannot watch RTP sockets: {e}")))?;
        }
        let ports = sockets.ports;
        match identity {
            Some(identity) => {
                let local = self.session.add_webrtc_leg(leg, ports, identity);
                self.negotiator.set_webrtc(leg, ports, local);
            }
            None => self.session.add_leg(leg, ports),
        }
        self.legs.push((leg, sockets));
        Ok(ports)
    }

    /// Applies what an exchange settled: every leg's plan, and the browser's
    /// parameters on WebRTC legs (which start ICE and DTLS).
    fn apply(
        &mut self,
        now: Instant,
        plans: Vec<(LegId, LegPlan)>,
        webrtc: Vec<(LegId, WebRtcRemote)>,
    ) -> Result<(), Refusal> {
        for (leg, plan) in plans {
            self.session
                .configure(now, leg, plan)
                .map_err(|e| Refusal::Failed(e.to_string()))?;
        }
        for (leg, remote) in webrtc {
            self.session
                .configure_webrtc(now, leg, remote)
                .map_err(|e| Refusal::Failed(e.to_string()))?;
        }
        Ok(())
    }

    fn offer(
        &mut self,
        now: Instant,
        (from, to): (LegId, LegId),
        to_browser: bool,
        sdp: &[u8],
    ) -> Result<Bytes, Refusal> {
        let from_ports = self.ensure_leg(from, is_webrtc_offer(sdp))?;
        let to_ports = self.ensure_leg(to, to_browser)?;
        let offered = self.negotiator.offer(from, to, sdp, from_ports, to_ports)?;
        self.apply(now, offered.plans, offered.webrtc)?;
        Ok(offered.sdp)
    }

    fn answer(
        &mut self,
        now: Instant,
        from: LegId,
        to: LegId,
        sdp: &[u8],
    ) -> Result<Bytes, Refusal> {
        let answered = self.negotiator.answer(from, to, sdp)?;
        self.apply(now, answered.plans, answered.webrtc)?;
        let pair = if from.0 < to.0 {
            (from, to)
        } else {
            (to, from)
        };
        if self.bridged != Some(pair) {
            self.session
                .bridge(pair.0, pair.1)
                .map_err(|e| Refusal::Failed(e.to_string()))?;
            self.bridged = Some(pair);
        }
        Ok(answered.sdp)
    }

    fn local(
        &mut self,
        now: Instant,
        leg: LegId,
        action: LocalMedia,
        sdp: &[u8],
    ) -> Result<Bytes, Refusal> {
        let ports = self.ensure_leg(leg, is_webrtc_offer(sdp))?;
        let answered = self.negotiator.answer_locally(leg, sdp, ports)?;
        self.apply(now, answered.plans, answered.webrtc)?;
        match action {
            LocalMedia::Echo => {
                self.role = Role::Echo;
                self.session
                    .echo(leg)
                    .map_err(|e| Refusal::Failed(e.to_string()))?;
            }
            LocalMedia::Tone {
                frequency_hz,
                duration,
            } => {
                self.role = Role::Tone;
                self.session
                    .play_tone(now, leg, frequency_hz, duration)
                    .map_err(|e| Refusal::Failed(e.to_string()))?;
            }
        }
        self.bridged = Some((leg, leg));
        Ok(answered.sdp)
    }

    fn stats(&self) -> CallMediaStats {
        let stats = self.session.stats();
        let path = match self.role {
            Role::Echo => "echo",
            Role::Tone => "tone",
            Role::Bridge => stats.path.map_or("negotiating", |p| p.as_str()),
        };
        CallMediaStats::from_session(path, &stats, self.bridged)
    }

    /// Adds what happened since the last report to the gateway's counters.
    fn report_metrics(&mut self) {
        let now = Totals::of(&self.session.stats());
        let m = &self.settings.metrics;
        let d = now.since(&self.reported);
        MediaMetrics::add(&m.packets_received, d.packets_received);
        MediaMetrics::add(&m.packets_sent, d.packets_sent);
        MediaMetrics::add(&m.frames_decoded, d.frames_decoded);
        MediaMetrics::add(&m.frames_encoded, d.frames_encoded);
        MediaMetrics::add(&m.srtp_auth_failures, d.srtp_auth_failures);
        self.reported = now;
    }
}

/// Answers an effect from a media worker's thread: at once when the switch's
/// queue has room, otherwise through the runtime.
pub(crate) fn answer(
    runtime: &tokio::runtime::Handle,
    results: &mpsc::Sender<(EffectToken, EffectResult)>,
    token: EffectToken,
    result: EffectResult,
) {
    if let Err(mpsc::error::TrySendError::Full(item)) = results.try_send((token, result)) {
        let results = results.clone();
        runtime.spawn(async move {
            let _ = results.send(item).await;
        });
    }
}

/// Sends every datagram the session queued from the leg's socket.
fn send_all(session: &mut MediaSession, legs: &[(LegId, LegSockets)]) {
    while let Some(t) = session.poll_transmit() {
        let Some((_, sockets)) = legs.iter().find(|(l, _)| *l == t.leg) else {
            continue;
        };
        let socket = match t.socket {
            SocketKind::Rtp => &sockets.rtp,
            SocketKind::Rtcp => &sockets.rtcp,
        };
        // A full socket buffer drops the packet, as the network would.
        let _ = socket.send_to(&t.data, t.to);
        session.recycle(t.data);
    }
}
