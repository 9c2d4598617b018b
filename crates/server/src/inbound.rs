//! What the transports hand to the SIP driver: messages parsed in the receiving
//! task (so parsing runs in parallel with the switch), malformed input, flow
//! closures and send failures.

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Message, ParseError, Peer};
use sb_sip_transport::InboundHandler;
use tokio::sync::mpsc;

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

/// Parses in the transport's task and queues for the switch. The queue is
/// bounded: when the switch falls behind, receiving slows down (UDP datagrams
/// then wait, and eventually drop, in the kernel's buffer).
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) queue: mpsc::Sender<SwitchInput>,
}

impl InboundHandler for Inbound {
    async fn on_message(&self, payload: Bytes, peer: Peer) {
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
