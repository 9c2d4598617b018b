//! The media gateway's driver: each call's RTP sockets, its
//! [`MediaSession`](sb_media_engine::MediaSession) and its
//! [`Negotiator`](sb_media_engine::Negotiator) are owned by one media worker
//! (a thread per core running an event loop over its calls' sockets; a panic
//! ends one call, not the process — DESIGN §3). The switch's media effects
//! reach the worker over a queue; the answers go straight back to the switch
//! as effect results.
//!
//! [`MediaGateway`] lives in the effect executor (the switch task): it starts
//! the workers on the first anchored call, gives each new call to the least
//! loaded one, routes commands and keeps, per ended call, the final
//! statistics its call record waits for.

mod identities;
mod report;
mod sockets;
mod task;
mod worker;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use sb_media_engine::{NegotiatorConfig, PortAllocator, SessionConfig};
use sb_switch::{CallRef, EffectResult, EffectToken, LegId, LocalMedia};
use tokio::sync::{mpsc, oneshot};

pub(crate) use report::CallMediaStats;
use task::{CallMediaTask, MediaCommand};
use worker::{Message, WorkerHandle, Workers};

use crate::config::MediaConfig;

/// Settings every call's media shares.
#[derive(Debug)]
pub struct MediaSettings {
    pub(crate) enabled: bool,
    pub(crate) bind: IpAddr,
    pub(crate) negotiator: NegotiatorConfig,
    pub(crate) session: SessionConfig,
    pub(crate) ports: Mutex<PortAllocator>,
    pub(crate) metrics: MediaMetrics,
    /// Media worker threads (one per core by default).
    pub(crate) workers: usize,
    /// DTLS identities for browser legs, made ahead (started with the first one).
    identities: std::sync::OnceLock<Arc<identities::Identities>>,
}

impl MediaSettings {
    /// From the `[media]` section (already checked); `advertised` is the
    /// address written into SDP.
    pub fn new(config: &MediaConfig, advertised: IpAddr, seed: u64) -> Self {
        let negotiator = NegotiatorConfig {
            advertised,
            codecs: config.codec_list().unwrap_or_default(),
            srtp_offer: config
                .srtp()
                .unwrap_or(sb_media_engine::SrtpOffer::Optional),
            ptime_ms: 20,
            seed,
        };
        let session = SessionConfig {
            seed,
            opus: config.opus_config(),
            media_timeout: config.timeout,
            jitter_min_ms: millis_u16(config.jitter_min),
            jitter_max_ms: millis_u16(config.jitter_max),
            rtcp_interval: Duration::from_secs(5),
        };
        MediaSettings {
            enabled: config.enabled,
            bind: config.bind,
            negotiator,
            session,
            ports: Mutex::new(
                PortAllocator::new(config.port_min..=config.port_max)
                    .expect("the configuration check keeps the range valid"),
            ),
            metrics: MediaMetrics::default(),
            workers: match config.workers {
                0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
                n => n,
            },
            identities: std::sync::OnceLock::new(),
        }
    }

    /// A DTLS identity for a new browser leg (from the stock made ahead).
    pub(crate) fn webrtc_identity(
        &self,
    ) -> Result<sb_media_engine::WebRtcIdentity, sb_media_engine::EngineError> {
        self.identities
            .get_or_init(identities::Identities::start)
            .take()
    }
}

fn millis_u16(d: Duration) -> u16 {
    u16::try_from(d.as_millis()).unwrap_or(u16::MAX)
}

/// Gateway-wide counters for `/metrics` (calls add their deltas).
#[derive(Debug, Default)]
pub(crate) struct MediaMetrics {
    /// Calls with anchored media now.
    pub(crate) sessions: AtomicU64,
    /// Calls whose media was anchored.
    pub(crate) sessions_total: AtomicU64,
    /// RTP packets received from devices.
    pub(crate) packets_received: AtomicU64,
    /// RTP packets sent to devices.
    pub(crate) packets_sent: AtomicU64,
    /// Audio frames decoded (transcoding paths only).
    pub(crate) frames_decoded: AtomicU64,
    /// Audio frames encoded (transcoding, tones).
    pub(crate) frames_encoded: AtomicU64,
    /// Calls hung up because a device stopped sending RTP.
    pub(crate) timeouts: AtomicU64,
    /// SRTP/SRTCP packets that failed authentication.
    pub(crate) srtp_auth_failures: AtomicU64,
    /// Port pairs that could not be bound (in use by another program).
    pub(crate) bind_failures: AtomicU64,
}

impl MediaMetrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        if n > 0 {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// `(name, help, value, is_gauge)` for each counter.
    pub(crate) fn snapshot(&self) -> Vec<(&'static str, &'static str, u64, bool)> {
        let v = |c: &AtomicU64| c.load(Ordering::Relaxed);
        vec![
            (
                "media_sessions",
                "Calls with anchored media now.",
                v(&self.sessions),
                true,
            ),
            (
                "media_sessions_total",
                "Calls whose media the gateway anchored.",
                v(&self.sessions_total),
                false,
            ),
            (
                "media_packets_received_total",
                "RTP packets received from devices.",
                v(&self.packets_received),
                false,
            ),
            (
                "media_packets_sent_total",
                "RTP packets sent to devices.",
                v(&self.packets_sent),
                false,
            ),
            (
                "media_frames_decoded_total",
                "Audio frames decoded for transcoding.",
                v(&self.frames_decoded),
                false,
            ),
            (
                "media_frames_encoded_total",
                "Audio frames encoded (transcoding, tones).",
                v(&self.frames_encoded),
                false,
            ),
            (
                "media_timeouts_total",
                "Calls hung up because RTP stopped.",
                v(&self.timeouts),
                false,
            ),
            (
                "media_srtp_auth_failures_total",
                "SRTP packets that failed authentication.",
                v(&self.srtp_auth_failures),
                false,
            ),
            (
                "media_port_bind_failures_total",
                "RTP ports that could not be bound.",
                v(&self.bind_failures),
                false,
            ),
        ]
    }
}

/// A handle on one call's media, for the live API.
#[derive(Debug, Clone)]
pub(crate) enum MediaHandle {
    /// Media passes between the devices directly.
    PassThrough,
    /// A media worker anchors it.
    Anchored {
        /// The worker that owns the call.
        worker: WorkerHandle,
        /// The call.
        call: CallRef,
    },
}

impl MediaHandle {
    /// The call's media statistics now.
    pub(crate) async fn stats(&self) -> Option<CallMediaStats> {
        match self {
            MediaHandle::PassThrough => Some(CallMediaStats::pass_through()),
            MediaHandle::Anchored { worker, call } => {
                let (reply, rx) = oneshot::channel();
                if !worker.send(Message::Command(*call, MediaCommand::Stats(reply))) {
                    return None;
                }
                rx.await.ok()
            }
        }
    }
}

/// Gives calls to media workers and routes the switch's media effects to them.
#[derive(Debug)]
pub struct MediaGateway {
    settings: Arc<MediaSettings>,
    /// Started on the first anchored call.
    workers: Option<Workers>,
    results: mpsc::Sender<(EffectToken, EffectResult)>,
    timeouts: mpsc::Sender<CallRef>,
    calls: HashMap<CallRef, MediaHandle>,
    /// Final statistics of ended calls, until their record is written.
    ended: HashMap<CallRef, oneshot::Receiver<CallMediaStats>>,
}

impl MediaGateway {
    /// `results` takes the answers to media effects; `timeouts` the calls
    /// whose devices stopped sending RTP (to be hung up).
    pub fn new(
        settings: Arc<MediaSettings>,
        results: mpsc::Sender<(EffectToken, EffectResult)>,
        timeouts: mpsc::Sender<CallRef>,
    ) -> Self {
        MediaGateway {
            settings,
            workers: None,
            results,
            timeouts,
            calls: HashMap::new(),
            ended: HashMap::new(),
        }
    }

    /// Handles on the live calls' media.
    pub(crate) fn handles(&self) -> HashMap<CallRef, MediaHandle> {
        self.calls.clone()
    }

    /// The worker owning `call`'s media, giving the call to one first.
    fn worker(&mut self, call: CallRef) -> Option<WorkerHandle> {
        if let Some(MediaHandle::Anchored { worker, .. }) = self.calls.get(&call) {
            return Some(worker.clone());
        }
        if self.workers.is_none() {
            let runtime = tokio::runtime::Handle::current();
            match Workers::start(self.settings.workers, &runtime, &self.results) {
                Ok(workers) => self.workers = Some(workers),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start media workers");
                    return None;
                }
            }
        }
        let worker = self.workers.as_ref()?.least_loaded().clone();
        // SRTP keys come from the negotiator's seed and session id: both
        // drawn fresh from the operating system's generator, 128 bits a call.
        let seeds = (rand::random::<u64>(), rand::random::<u64>());
        let media = CallMediaTask::new(
            call,
            self.settings.clone(),
            seeds,
            self.results.clone(),
            self.timeouts.clone(),
            Instant::now(),
        );
        if !worker.send(Message::Start(Box::new(media))) {
            return None;
        }
        self.calls.insert(
            call,
            MediaHandle::Anchored {
                worker: worker.clone(),
                call,
            },
        );
        Some(worker)
    }

    /// [`MediaGateway::worker`], answering `token` when there is none.
    fn worker_for(&mut self, call: CallRef, token: EffectToken) -> Option<WorkerHandle> {
        let worker = self.worker(call);
        if worker.is_none() {
            crate::effects::answer(
                &self.results,
                token,
                EffectResult::Failed {
                    reason: "the media gateway is not running".into(),
                },
            );
        }
        worker
    }

    fn send(&self, worker: &WorkerHandle, call: CallRef, command: MediaCommand) {
        let token = command.token();
        if !worker.send(Message::Command(call, command))
            && let Some(token) = token
        {
            crate::effects::answer(
                &self.results,
                token,
                EffectResult::Failed {
                    reason: "the media gateway is not answering".into(),
                },
            );
        }
    }

    /// An SDP offer from leg `legs.0` to send on leg `legs.1`; `to_browser`:
    /// the receiving leg's signalling is a WebSocket, so it gets a WebRTC leg
    /// (the offering leg is recognised as a browser by its offer).
    pub fn offer(
        &mut self,
        token: EffectToken,
        call: CallRef,
        (from, to): (LegId, LegId),
        to_browser: bool,
        sdp: Bytes,
        anchor: bool,
    ) {
        let Some(worker) = self.anchored(token, call, anchor, &sdp) else {
            return;
        };
        let command = MediaCommand::Offer {
            token,
            from: from.0,
            to: to.0,
            to_browser,
            sdp,
        };
        self.send(&worker, call, command);
    }

    /// The answer from leg `legs.0` to the offer sent on it, to send on `legs.1`.
    pub fn answer(
        &mut self,
        token: EffectToken,
        call: CallRef,
        (from, to): (LegId, LegId),
        sdp: Bytes,
        anchor: bool,
    ) {
        let Some(worker) = self.anchored(token, call, anchor, &sdp) else {
            return;
        };
        let command = MediaCommand::Answer {
            token,
            from: from.0,
            to: to.0,
            sdp,
        };
        self.send(&worker, call, command);
    }

    /// The worker for an anchored call; `None` once the effect is answered
    /// (pass-through: the SDP to send is the SDP received; or no worker).
    fn anchored(
        &mut self,
        token: EffectToken,
        call: CallRef,
        anchor: bool,
        sdp: &Bytes,
    ) -> Option<WorkerHandle> {
        if !anchor || !self.settings.enabled {
            self.calls.entry(call).or_insert(MediaHandle::PassThrough);
            crate::effects::answer(&self.results, token, EffectResult::Media(sdp.clone()));
            return None;
        }
        self.worker_for(call, token)
    }

    /// The switch answers the call itself (echo, tone).
    pub(crate) fn local(
        &mut self,
        token: EffectToken,
        call: CallRef,
        leg: LegId,
        action: LocalMedia,
        sdp: Bytes,
    ) {
        let Some(worker) = self.worker_for(call, token) else {
            return;
        };
        self.send(
            &worker,
            call,
            MediaCommand::Local {
                token,
                leg: leg.0,
                action,
                sdp,
            },
        );
    }

    /// RFC 4733 digits to generate towards `to` (from SIP INFO).
    pub(crate) fn dtmf(&mut self, call: CallRef, to: LegId, digit: char, duration_ms: u32) {
        if let Some(MediaHandle::Anchored { worker, .. }) = self.calls.get(&call) {
            worker.send(Message::Command(
                call,
                MediaCommand::Dtmf {
                    to: to.0,
                    digit,
                    duration_ms,
                },
            ));
        }
    }

    /// The call is over: its media stops and reports its final statistics.
    pub(crate) fn release(&mut self, call: CallRef) {
        match self.calls.remove(&call) {
            Some(MediaHandle::Anchored { worker, .. }) => {
                let (reply, rx) = oneshot::channel();
                if worker.send(Message::Command(call, MediaCommand::Release(reply))) {
                    self.ended.insert(call, rx);
                }
            }
            Some(MediaHandle::PassThrough) => {
                let (reply, rx) = oneshot::channel();
                let _ = reply.send(CallMediaStats::pass_through());
                self.ended.insert(call, rx);
            }
            None => {}
        }
    }

    /// The final statistics of an ended call, when it had media.
    pub(crate) fn take_final(
        &mut self,
        call: CallRef,
    ) -> Option<oneshot::Receiver<CallMediaStats>> {
        self.ended.remove(&call)
    }
}
