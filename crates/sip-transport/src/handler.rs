//! What the transports deliver to their owner.

use std::future::Future;
use std::io;

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Peer};

/// Receives inbound messages and connection events. One handler serves every
/// listener and connection; its methods are called concurrently from many
/// tasks.
pub trait InboundHandler: Send + Sync + 'static {
    /// One datagram, or one framed message from a stream (raw bytes; the caller
    /// parses). Awaited by the receive loop: returning later applies
    /// back-pressure to that socket/connection. The future may be dropped before
    /// it completes when its connection closes or at shutdown.
    fn on_message(&self, payload: Bytes, peer: Peer) -> impl Future<Output = ()> + Send;

    /// A connection closed (by either side, idle timeout, framing error, or
    /// write failure). Called exactly once per flow, after the flow has left
    /// the connection table.
    fn on_flow_closed(&self, flow: FlowId, peer: Peer);

    /// An asynchronous send failure (connect refused/timed out, write error) for
    /// `dest` (the transaction layer turns it into a transport error, RFC 3261
    /// §17.1.4). Called once for every message that [`crate::Transports::send`]
    /// accepted but could not hand to the operating system.
    fn on_send_failed(&self, dest: Destination, error: io::Error);
}
