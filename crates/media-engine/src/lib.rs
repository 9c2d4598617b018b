//! Sans-IO media sessions for the Switchboard gateway.
//!
//! Owns: per-call media sessions with legs — RTP/RTCP relay with symmetric-RTP latching,
//! SDES-SRTP (RFC 4568, RFC 3711), WebRTC legs (ICE-lite, DTLS-SRTP, rtcp-mux and BUNDLE
//! through str0m, confined to the `webrtc` module), codec negotiation and SDP rewriting
//! (RFC 3264) with a browser profile, transcoding with a jitter buffer and loss concealment,
//! RFC 4733 DTMF, per-leg statistics, media timeouts, and RTP port allocation.
//!
//! Must not depend on: sockets, tokio, clocks, global randomness. The driver (the server's
//! media task) binds the sockets, feeds datagrams and timeouts in with `now: Instant`, and
//! sends what the session queues. The one exception to seeded randomness is inside str0m on
//! WebRTC legs: the DTLS key pair and handshake randoms (aws-lc) and ICE transaction ids
//! (`fastrand`) come from the operating system.
//!
//! Data plane: one [`MediaSession`] per call. The driver takes RTP/RTCP port pairs from a
//! [`PortAllocator`], binds them, [`MediaSession::add_leg`]s each leg with its ports,
//! [`MediaSession::configure`]s it with the [`LegPlan`] negotiation produced, and connects
//! legs ([`MediaSession::bridge`], [`MediaSession::echo`], [`MediaSession::play_tone`]).
//! Then, after every datagram ([`MediaSession::handle_packet`]) or wake-up
//! ([`MediaSession::handle_timeout`] at [`MediaSession::poll_timeout`]), it drains
//! [`MediaSession::poll_transmit`] (and hands sent buffers back with
//! [`MediaSession::recycle`]) and [`MediaSession::poll_event`].
//!
//! WebRTC legs: when a leg's peer is a browser (a SIP binding on WS/WSS, or an offer for which
//! [`is_webrtc_offer`] holds), the driver adds it with [`MediaSession::add_webrtc_leg`] and a
//! fresh [`WebRtcIdentity`] (one UDP socket: `ports.rtp`), hands the returned [`WebRtcLocal`]
//! to [`Negotiator::set_webrtc`], and after each exchange applies [`Answered::webrtc`] (and
//! [`Offered::webrtc`]) with [`MediaSession::configure_webrtc`] next to the plans. Every
//! datagram of that socket goes to [`MediaSession::handle_packet`] with [`SocketKind::Rtp`];
//! [`MediaEvent::WebRtcConnected`] tells when media can flow.

mod dtmf;
mod error;
mod jitter;
mod latch;
mod negotiate;
mod plan;
mod ports;
mod rtcp;
mod rtp;
mod session;
mod srtp;
mod stats;
mod stream;
mod transcode;
mod webrtc;

pub use error::EngineError;
pub use negotiate::{
    Answered, NegotiateError, Negotiator, NegotiatorConfig, Offered, SrtpOffer, is_webrtc_offer,
};
pub use plan::{
    Codec, Direction, LegId, LegPlan, LocalPorts, MediaPath, PayloadFormat, SrtpKey, SrtpPair,
    SrtpSuite, TelephoneEvent,
};
pub use ports::PortAllocator;
pub use session::{MediaEvent, MediaSession, SessionConfig, SocketKind, TimeoutReason, Transmit};
pub use stats::{LegStats, RemoteReport, SessionPath, SessionStats};
pub use webrtc::{
    DtlsFingerprint, DtlsRole, IceCredentials, MediaId, WebRtcIdentity, WebRtcLocal, WebRtcRemote,
};
