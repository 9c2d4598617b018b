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

mod plan;

pub use plan::{
    Codec, Direction, LegId, LegPlan, LocalPorts, MediaPath, PayloadFormat, SrtpKey, SrtpPair,
    SrtpSuite, TelephoneEvent,
};
