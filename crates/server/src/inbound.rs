//! What the transports hand to the SIP driver: messages parsed in the receiving
//! task (so parsing runs in parallel with the switch), malformed input, flow
//! closures and send failures.
//!
//! Every message first passes the [`Guard`], before it is parsed and before
//! it takes a place in the switch's queue: a banned source's messages are
//! dropped here, without an answer, and its connection (TCP, TLS,
//! WebSocket) is closed — a banned peer would otherwise keep a connection
//! slot and the reads it costs.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Message, ParseError, Peer};
use sb_sip_transport::{InboundHandler, Transports};
use tokio::sync::mpsc;

use crate::guard::{Admission, Guard};

/// One input for the switch task.
#[derive(Debug)]
pub(crate) enum SwitchInput {
    /// A parsed message (boxed: a message with its inline parameters is large
    /// next to the other inputs, and the queue's slots are sized by the largest).
    Message { message: Box<Message>, peer: Peer },
    /// Bytes that did not parse.
    Malformed {
        payload: Bytes,
        peer: Peer,
        error: ParseError,
    },
    /// A connection closed.
    FlowClosed { flow: FlowId },
    /// An asynchronous send failed.
    SendFailed { dest: Destination },
}

/// Checks the source, parses in the transport's task and queues for the
/// switch. The queue is bounded: when the switch falls behind, receiving
/// slows down (UDP datagrams then wait, and eventually drop, in the kernel's
/// buffer).
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) queue: mpsc::Sender<SwitchInput>,
    pub(crate) guard: Arc<Guard>,
    /// The transports this handler serves, to close a banned source's
    /// connection (set once they have started).
    pub(crate) transports: OnceLock<Transports>,
}

impl InboundHandler for Inbound {
    async fn on_message(&self, payload: Bytes, peer: Peer) {
        if self.guard.admit(Instant::now(), peer.remote.ip()) != Admission::Pass {
            if let Some(flow) = peer.flow
                && let Some(transports) = self.transports.get()
            {
                transports.close_flow(flow);
            }
            return;
        }
        let input = match Message::parse(payload.clone()) {
            Ok(message) => SwitchInput::Message {
                message: Box::new(message),
                peer,
            },
            Err(error) => SwitchInput::Malformed {
                payload,
                peer,
                error,
            },
        };
        // An error means the switch task has stopped (shutdown): drop.
        let _ = self.queue.send(input).await;
    }

    fn on_flow_closed(&self, flow: FlowId, _peer: Peer) {
        if self
            .queue
            .try_send(SwitchInput::FlowClosed { flow })
            .is_err()
        {
            tracing::debug!(%flow, "switch queue full; flow closure not delivered");
        }
    }

    fn on_send_failed(&self, dest: Destination, error: std::io::Error) {
        tracing::debug!(?dest, %error, "send failed");
        if self
            .queue
            .try_send(SwitchInput::SendFailed { dest })
            .is_err()
        {
            tracing::debug!(?dest, "switch queue full; send failure not delivered");
        }
    }
}
