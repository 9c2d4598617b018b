//! SIP transports for Switchboard on tokio: UDP and TCP listeners (sharing a
//! port), TLS listeners (rustls), WebSocket listeners (WS and WSS, RFC 7118)
//! and connections upgraded to WebSocket by the HTTP server
//! ([`Transports::serve_websocket`]), outbound TCP and TLS connections, and
//! the connection table with flow ids.
//!
//! Owns: sockets, the receive loops, stream framing (through
//! [`sb_sip_message::StreamFramer`], RFC 3261 §18.3), CRLF keep-alives
//! (RFC 5626 §3.5.1), connection reuse (RFC 3261 §18.2.2, §18.1.1), idle
//! timeouts and connection limits. A *flow* is one connection of any
//! connection-oriented transport: the table and the connection task work on
//! any byte stream, so a TLS connection, once its handshake is done, is a
//! flow exactly like a TCP one, and so is a WebSocket connection once its
//! opening handshake is done (its messages come one per frame instead of
//! through the framer).
//!
//! Must not depend on: transactions, dialogs, routing or any Switchboard crate
//! but `sb-sip-message` (for plain types). It parses nothing beyond framing:
//! the [`InboundHandler`] receives raw bytes and parses them itself.
//!
//! # How to drive it
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use sb_sip_message::{Destination, FlowId, Peer};
//! use sb_sip_transport::{InboundHandler, ListenerConfig, TransportConfig, Transports};
//!
//! struct Echo;
//!
//! impl InboundHandler for Echo {
//!     async fn on_message(&self, payload: Bytes, peer: Peer) {
//!         // Parse with `sb_sip_message::Message::parse(payload)` and hand it on.
//!         let _ = (payload, peer);
//!     }
//!     fn on_flow_closed(&self, _flow: FlowId, _peer: Peer) {}
//!     fn on_send_failed(&self, _dest: Destination, _error: std::io::Error) {}
//! }
//!
//! # async fn run() -> Result<(), sb_sip_transport::TransportError> {
//! let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
//! let config = TransportConfig::with_listeners(vec![
//!     ListenerConfig::udp(addr),
//!     ListenerConfig::tcp(addr), // same port as the UDP listener
//! ]);
//! let transports = Transports::start(config, Arc::new(Echo)).await?;
//! // To answer a request: transports.send(&Destination::back_to(&peer), bytes)?;
//! transports.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Design
//!
//! - **Tasks.** One receive task per UDP socket, one accept task per TCP
//!   listener, one task per connection (reader, writer and idle watch run
//!   concurrently inside it), one task per connection attempt (it becomes the
//!   connection's task), and a short-lived task per UDP send that found the
//!   socket buffer full. All are tracked: [`Transports::shutdown`] cancels and
//!   joins them, then releases every socket so the ports can be bound again.
//! - **Back-pressure.** Receive loops await [`InboundHandler::on_message`], so a
//!   slow handler slows reading from that socket or connection (UDP datagrams
//!   then queue in the kernel's receive buffer, `SO_RCVBUF` 4 MiB by default;
//!   TCP applies flow control to the peer). Sending never waits: each
//!   connection has a writer queue of 256 messages and a full queue fails the
//!   send with [`TransportError::QueueFull`]; at most 1 024 UDP datagrams may
//!   wait for a full socket buffer.
//! - **Buffers.** UDP reuses one receive buffer per socket (`max_udp_message` +
//!   1 bytes, so oversize datagrams are detected) and copies each datagram into
//!   a `Bytes` of exact size. TCP reads 16 KiB at a time through a stack buffer
//!   that lives only during one poll, so idle connections hold no read buffer;
//!   the framer keeps only unframed bytes and hands out messages without
//!   copying them again.
//! - **Failures.** A message accepted by [`Transports::send`] is either handed
//!   to the operating system or reported once through
//!   [`InboundHandler::on_send_failed`] (connect refused or timed out, write
//!   error, connection closed with the message still queued). Errors known at
//!   once are returned instead. [`InboundHandler::on_flow_closed`] fires
//!   exactly once per flow, after it has left the table.
//! - **Flows.** Flow ids come from a process-wide counter and are never reused.
//!   A connection reaches the table only once established (accepted, or
//!   connected); messages for a connection still being established wait in its
//!   queue. The table, behind one mutex, is consulted per stream send; it is
//!   never held across an await. Connections get `TCP_NODELAY`.
//! - **TLS.** A TLS listener accepts TCP connections and runs the handshake
//!   in the connection's task, bounded by `tls_handshake_timeout` (10 s by
//!   default); failures and timeouts are counted (`tls_handshake_failures`,
//!   `tls_handshake_timeouts`) and the listener carries on. Only then does
//!   the connection enter the table. Outbound TLS connections do the same
//!   after connecting; until then messages wait in the pending queue.
//! - **WebSocket.** A WS listener runs the opening handshake (a WSS one TLS
//!   first) in the connection's task, bounded by `tls_handshake_timeout`; a
//!   handshake without the subprotocol `sip` is refused with 400 and counted
//!   (`ws_handshakes_refused`). Each text or binary frame must hold exactly
//!   one SIP message: other frames are dropped and counted (`ws_bad_frames`),
//!   and [`MAX_BAD_FRAMES`] of them close the connection. Messages go out one
//!   per frame, text when UTF-8. Pings are answered (WebSocket pings, and
//!   double-CRLF keep-alive frames with a CRLF frame), a close frame ends the
//!   flow, and a local close sends one.
//! - **Limits.** `max_connections` counts open and connecting connections
//!   and inbound TLS handshakes in progress. An
//!   inbound connection beyond it is accepted and closed at once; an outbound
//!   one fails with [`TransportError::ConnectionLimit`]. A stream message over
//!   `max_stream_message`, or bytes that cannot be framed, close the
//!   connection. `tcp_idle_timeout` closes a connection with no traffic in
//!   either direction (keep-alives count).
//!
//! - **Handler panics** are contained: a panic while receiving on a UDP socket
//!   is logged and the receive loop starts again; a panic on a connection
//!   closes that connection, which is reported through
//!   [`InboundHandler::on_flow_closed`] like any close.
//!
//! # Statistics
//!
//! [`Transports::stats`] returns [`TransportStats`]: [`TrafficStats`] (UDP
//! datagrams and bytes in/out and CRLF keep-alives; stream messages and bytes
//! in/out, pings and pongs; connections accepted, connected and closed), the
//! number of open flows, and [`DropStats`] (oversize datagrams, UDP receive and
//! send errors, framing errors, oversize stream messages, read and write
//! errors, idle timeouts, refused connections, failed connects, failed and
//! timed-out TLS handshakes, full queues, queued messages discarded by a
//! close).
//!
//! # Known limits
//!
//! - `Peer::local` of a datagram received on a wildcard (`0.0.0.0`) socket is
//!   the wildcard address: the destination IP of each datagram is not asked
//!   from the kernel. A `Destination::local` naming a specific IP is served by
//!   a wildcard socket of the same port.
//! - STUN keep-alives on UDP (RFC 5626 §4.4.2) are not answered here; they
//!   reach the handler like any datagram.
//! - TCP and TLS connections are opened outbound; WS and WSS destinations
//!   are reachable only over an existing flow (browsers accept no
//!   connections): a send to one whose flow is gone fails with
//!   [`TransportError::Unsupported`]. An outbound TLS connection
//!   needs client settings: the peer's own ([`Transports::set_tls_peers`],
//!   e.g. a trunk's host name, or no verification for a self-signed peer) or
//!   the default ([`TransportConfig::tls_client`], which verifies the peer's
//!   IP address).
//! - Client certificates are neither asked for nor sent (no mutual TLS).

mod bind;
mod catch;
mod config;
mod connection;
mod error;
mod flows;
mod guard;
mod handler;
mod shared;
mod stats;
mod tcp;
mod tls;
mod transports;
mod udp;
mod ws;

pub use config::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_CONNECTIONS_PER_SOURCE, DEFAULT_MAX_STREAM_MESSAGE,
    DEFAULT_MAX_UDP_MESSAGE, DEFAULT_STREAM_MESSAGE_TIMEOUT, DEFAULT_TCP_CONNECT_TIMEOUT,
    DEFAULT_TCP_IDLE_TIMEOUT, DEFAULT_TLS_HANDSHAKE_TIMEOUT, DEFAULT_UDP_RECV_BUFFER,
    ListenerConfig, TransportConfig,
};
pub use error::TransportError;
pub use handler::InboundHandler;
pub use stats::{DropStats, TrafficStats, TransportStats};
pub use tls::{TlsPeer, client_config, roots_from_pem, system_roots, unverified_client_config};
pub use transports::Transports;
pub use ws::{MAX_BAD_FRAMES, SIP_SUBPROTOCOL, offers_sip};
