//! Sans-IO media sessions for the Switchboard gateway.
//!
//! Owns: per-call media sessions with legs — RTP/RTCP relay with symmetric-RTP latching,
//! SDES-SRTP (RFC 4568, RFC 3711), codec negotiation and SDP rewriting (RFC 3264),
//! transcoding with a jitter buffer and loss concealment, RFC 4733 DTMF, per-leg statistics,
//! media timeouts, and RTP port allocation.
//!
//! Must not depend on: sockets, tokio, clocks, global randomness. The driver (the server's
//! media task) binds the sockets, feeds datagrams and timeouts in with `now: Instant`, and
//! sends what the session queues.
//!
//! Data plane: one [`MediaSession`] per call. The driver takes RTP/RTCP port pairs from a
//! [`PortAllocator`], binds them, [`MediaSession::add_leg`]s each leg with its ports,
//! [`MediaSession::configure`]s it with the [`LegPlan`] negotiation produced, and connects
//! legs ([`MediaSession::bridge`], [`MediaSession::echo`], [`MediaSession::play_tone`]).
//! Then, after every datagram ([`MediaSession::handle_packet`]) or wake-up
//! ([`MediaSession::handle_timeout`] at [`MediaSession::poll_timeout`]), it drains
//! [`MediaSession::poll_transmit`] (and hands sent buffers back with
//! [`MediaSession::recycle`]) and [`MediaSession::poll_event`].

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

pub use error::EngineError;
pub use negotiate::{Answered, NegotiateError, Negotiator, NegotiatorConfig, Offered, SrtpOffer};
pub use plan::{
    Codec, Direction, LegId, LegPlan, LocalPorts, MediaPath, PayloadFormat, SrtpKey, SrtpPair,
    SrtpSuite, TelephoneEvent,
};
pub use ports::PortAllocator;
pub use session::{MediaEvent, MediaSession, SessionConfig, SocketKind, TimeoutReason, Transmit};
pub use stats::{LegStats, RemoteReport, SessionPath, SessionStats};
