//! The SIP transaction layer of Switchboard: RFC 3261 §17 with the corrections
//! of RFC 6026, sans-IO.
//!
//! Owns: the four transaction state machines (INVITE and non-INVITE, client and
//! server, one file each, states named as in the RFCs), Timers A–M derived from
//! T1/T2/T4, matching of requests to server transactions and of responses to
//! client transactions (RFC 3261 §17.1.3, §17.2.3, with the RFC 2543 fallback),
//! the ACK for non-2xx responses (§17.1.1.3), the `received`/`rport` stamping of
//! inbound requests (§18.2.1, RFC 3581) and the destination of responses
//! ([`response_destination`], §18.2.2).
//!
//! Must not depend on: sockets, clocks, tokio, or any Switchboard crate other
//! than `sip-message`. Time is passed in; randomness comes from the seed.
//!
//! How to drive it: feed every input with the current time, then drain every
//! output until empty.
//!
//! ```
//! use std::time::Instant;
//!
//! use bytes::Bytes;
//! use sb_sip_message::{Message, Peer, Response, StatusCode, Transport};
//! use sb_sip_transaction::{TimerConfig, TransactionLayer, TxEvent};
//!
//! let mut layer = TransactionLayer::new(TimerConfig::default(), 42);
//! let peer = Peer {
//!     transport: Transport::Udp,
//!     remote: "192.0.2.10:5060".parse().unwrap(),
//!     local: "192.0.2.1:5060".parse().unwrap(),
//!     flow: None,
//! };
//! let register = Message::parse(Bytes::from_static(
//!     b"REGISTER sip:example.com SIP/2.0\r\n\
//!       Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n\
//!       Max-Forwards: 70\r\nTo: <sip:alice@example.com>\r\n\
//!       From: <sip:alice@example.com>;tag=1928301774\r\n\
//!       Call-ID: a84b4c76e66710\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n",
//! ))
//! .unwrap();
//!
//! let t0 = Instant::now();
//! layer.handle_inbound(t0, register, peer);
//! let Some(TxEvent::Request { tx, request, .. }) = layer.poll_event() else { panic!() };
//! // The TU answers on the server transaction...
//! let ok = Response::from_request(&request, StatusCode::OK);
//! layer.send_response(t0, tx, ok).unwrap();
//! // ...and the transport sends what the layer hands out.
//! let transmit = layer.poll_transmit().unwrap();
//! assert_eq!(transmit.dest.remote, peer.remote);
//! // Timer J keeps the transaction for retransmissions, then it ends.
//! let (at, _timer_j) = layer.poll_timeout().unwrap();
//! layer.handle_timeout(at);
//! assert_eq!(layer.poll_event(), Some(TxEvent::Terminated { tx }));
//! ```
//!
//! The driver loop: after `handle_inbound`, `send_request`, `send_response`,
//! `transport_error` or `handle_timeout`, drain [`TransactionLayer::poll_transmit`]
//! to the transport and [`TransactionLayer::poll_event`] to the TU, then sleep
//! until [`TransactionLayer::poll_timeout`] and call
//! [`TransactionLayer::handle_timeout`] with that instant.
//!
//! Division of work with the TU:
//! - The TU sends 100 Trying for an INVITE itself, retransmits its own 2xx to
//!   an INVITE (through [`TransactionLayer::send_response`] while the server
//!   transaction is Accepted) and sends the ACK for a 2xx with
//!   [`TransactionLayer::send_stateless`]. The ACK for a non-2xx is the
//!   client transaction's (RFC 3261 §17.1.1.3).
//! - The TU puts its own Via (with [`TransactionLayer::new_branch`]) on the
//!   requests it sends, and matches a CANCEL to its INVITE with
//!   [`TransactionLayer::matching_invite`].
//! - Timer C of a proxy (RFC 3261 §16.6) and any limit on how long an INVITE
//!   may stay in Proceeding belong to the TU; a TU that gives up on an INVITE
//!   whose CANCEL got no final response (RFC 3261 §9.1) removes it with
//!   [`TransactionLayer::abandon`].
//! - Keep-alives outside transactions go out with
//!   [`TransactionLayer::send_keepalive`].
//!
//! A response is dropped when its Via count differs from that of the request
//! of its client transaction: one Via for a request the TU originated (RFC 3261
//! §8.1.3.3), more for a request it forwarded as a proxy. `maddr` in a Via is
//! ignored (responses go to the source address).
//!
//! Memory: a server transaction keeps its request only until its final
//! response is sent, then just the serialized response (`Bytes`), its matching
//! key and its destination. Timers live in one binary heap; cancelled timers
//! are discarded lazily when they reach its top. Hash maps use `foldhash` seeded
//! from the constructor's seed; output order never depends on map order.

mod ack;
mod branch;
mod client_invite;
mod client_non_invite;
mod ctx;
mod destination;
mod error;
mod key;
mod layer;
mod server_invite;
mod server_non_invite;
mod stamp;
mod stats;
mod text;
mod timer;
mod types;

pub use destination::response_destination;
pub use error::TxError;
pub use layer::TransactionLayer;
pub use stats::{ClientInviteCounts, NonInviteCounts, ServerInviteCounts, TxStats};
pub use timer::{TimerConfig, TimerKind};
pub use types::{Transmit, TxEvent, TxId, TxKind, TxState};
