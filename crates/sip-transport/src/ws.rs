//! SIP over WebSocket (RFC 7118): the opening handshake of the WS and WSS
//! listeners (subprotocol `sip` required, RFC 7118 §4.1), connections
//! upgraded elsewhere (the HTTP server's `/ws`), and the flow of one
//! WebSocket connection.
//!
//! Each text or binary frame carries exactly one SIP message (RFC 7118 §5.2):
//! there is no stream framing. A frame holding a partial message or several
//! is dropped and counted (`ws_bad_frames`); after [`MAX_BAD_FRAMES`] of them
//! the connection is closed. WebSocket pings are answered by the WebSocket
//! layer; a frame holding a double-CRLF keep-alive (as SIP.js sends, RFC 5626
//! §3.5.1) is answered with a CRLF frame. A close frame is answered and ends
//! the flow. The flow's table entry, idle
//! timeout, limits and close report are those of every connection
//! ([`crate::connection`]).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sb_sip_message::{Frame, Peer, StreamFramer, Transport};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use crate::connection::{
    self, Activity, CLOSE_WAIT, CloseReason, NewFlow, PONG, Registration, idle_watch,
};
use crate::flows::{FLOW_QUEUE, Outbound, Queue, Refusal, next_flow_id};
use crate::guard::{Admitted, MessageMark, SourceSlot, paced};
use crate::handler::InboundHandler;
use crate::shared::Shared;
use crate::stats::{add, bump};
use crate::tls;

/// Frames without exactly one SIP message tolerated on one connection before
/// it is closed.
pub const MAX_BAD_FRAMES: u32 = 8;

/// The WebSocket subprotocol of SIP (RFC 7118 §4.1).
pub const SIP_SUBPROTOCOL: &str = "sip";

/// A byte stream that can carry a WebSocket connection.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Whether a `Sec-WebSocket-Protocol` request header value offers `sip`.
pub fn offers_sip(value: &[u8]) -> bool {
    value.split(|&b| b == b',').any(|token| {
        token
            .trim_ascii()
            .eq_ignore_ascii_case(SIP_SUBPROTOCOL.as_bytes())
    })
}

/// Message and frame limits of a SIP WebSocket connection.
fn ws_config(shared: &Shared) -> WebSocketConfig {
    let max = shared.limits.max_stream_message;
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// Runs the TLS (for WSS) and WebSocket handshakes of an accepted connection
/// in a task of its own, then serves it as a flow. Handshakes in progress
/// count against `max_connections`; both together are bounded by
/// `tls_handshake_timeout`.
pub(crate) fn spawn_accept<H: InboundHandler>(
    shared: &Arc<Shared>,
    handler: &Arc<H>,
    acceptor: Option<TlsAcceptor>,
    stream: TcpStream,
    remote: SocketAddr,
    slot: SourceSlot,
) {
    if !enter_handshake(shared, remote) {
        return;
    }
    let runtime = shared.runtime.clone();
    let tasks = shared.tasks.clone();
    let shared = shared.clone();
    let handler = handler.clone();
    let task = async move {
        let local = stream.local_addr();
        let _ = stream.set_nodelay(true);
        // Under TLS, so that a dribbled record counts as a slow message.
        let (stream, mark) = paced(stream, shared.limits.stream_message_timeout);
        let timeout = shared.limits.tls_handshake_timeout;
        let transport = if acceptor.is_some() {
            Transport::Wss
        } else {
            Transport::Ws
        };
        let handshake = async {
            let io: Box<dyn Io> = match &acceptor {
                Some(acceptor) => {
                    Box::new(tls::accept(acceptor, stream, timeout, &shared.counters.drops).await?)
                }
                None => Box::new(stream),
            };
            handshake(&shared, io, timeout).await
        };
        let done = tokio::select! {
            done = handshake => Some(done),
            () = shared.shutdown.cancelled() => None,
        };
        shared.handshakes.fetch_sub(1, Ordering::Relaxed);
        match (done, local) {
            (Some(Ok(socket)), Ok(local)) => {
                // The handshakes are not messages: the clock starts with the first.
                mark.complete();
                let admitted = Admitted { _slot: slot, mark };
                serve_new(shared, handler, transport, remote, local, socket, admitted).await;
            }
            (Some(Err(error)), _) => tracing::debug!(%remote, %error, "WebSocket handshake failed"),
            (Some(Ok(_)), Err(error)) => {
                tracing::debug!(%remote, %error, "accepted connection already gone");
            }
            (None, _) => {}
        }
    };
    tasks.spawn_on(task, &runtime);
}

/// Serves a connection whose WebSocket handshake (with subprotocol `sip`)
/// another server already completed.
pub(crate) fn spawn_upgraded<H: InboundHandler>(
    shared: &Arc<Shared>,
    handler: Arc<H>,
    io: Box<dyn Io>,
    transport: Transport,
    remote: SocketAddr,
    local: SocketAddr,
) {
    let Some(slot) = SourceSlot::take(shared, remote.ip()) else {
        return;
    };
    if !enter_handshake(shared, remote) {
        return;
    }
    let config = ws_config(shared);
    let (runtime, tasks) = (shared.runtime.clone(), shared.tasks.clone());
    let shared = shared.clone();
    let task = async move {
        let (io, mark) = paced(io, shared.limits.stream_message_timeout);
        let io: Box<dyn Io> = Box::new(io);
        let socket = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        shared.handshakes.fetch_sub(1, Ordering::Relaxed);
        let admitted = Admitted { _slot: slot, mark };
        serve_new(shared, handler, transport, remote, local, socket, admitted).await;
    };
    tasks.spawn_on(task, &runtime);
}

/// Counts a connection being set up against `max_connections`; `false` (and
/// counted as refused) beyond it.
fn enter_handshake(shared: &Shared, remote: SocketAddr) -> bool {
    let handshakes = shared.handshakes.fetch_add(1, Ordering::Relaxed);
    if handshakes + shared.flows().open_count() >= shared.limits.max_connections {
        shared.handshakes.fetch_sub(1, Ordering::Relaxed);
        bump(&shared.counters.drops.connections_refused);
        tracing::debug!(%remote, "connection limit reached, WebSocket connection refused");
        return false;
    }
    true
}

/// The server side of the opening handshake (RFC 6455 §4.2), refused (400)
/// unless the client offers the `sip` subprotocol, which the answer selects.
async fn handshake(
    shared: &Shared,
    io: Box<dyn Io>,
    timeout: Duration,
) -> io::Result<WebSocketStream<Box<dyn Io>>> {
    #[allow(
        clippy::result_large_err,
        reason = "the signature of tungstenite's handshake callback"
    )]
    let check = |request: &Request, mut response: Response| {
        let offered = request
            .headers()
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .any(|value| offers_sip(value.as_bytes()));
        if !offered {
            let mut refusal = ErrorResponse::new(Some("the sip subprotocol is required".into()));
            *refusal.status_mut() = StatusCode::BAD_REQUEST;
            return Err(refusal);
        }
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(SIP_SUBPROTOCOL),
        );
        Ok(response)
    };
    let accept =
        tokio_tungstenite::accept_hdr_async_with_config(io, check, Some(ws_config(shared)));
    match tokio::time::timeout(timeout, accept).await {
        Ok(Ok(socket)) => Ok(socket),
        Ok(Err(error)) => {
            bump(&shared.counters.drops.ws_handshakes_refused);
            Err(io::Error::new(io::ErrorKind::InvalidData, error))
        }
        Err(_elapsed) => {
            bump(&shared.counters.drops.ws_handshakes_refused);
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "WebSocket handshake timed out",
            ))
        }
    }
}

/// Enters an established WebSocket connection into the table and serves it.
async fn serve_new<H: InboundHandler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    transport: Transport,
    remote: SocketAddr,
    local: SocketAddr,
    socket: WebSocketStream<Box<dyn Io>>,
    admitted: Admitted,
) {
    let peer = Peer {
        transport,
        remote,
        local,
        flow: Some(next_flow_id()),
    };
    let (queue, rx) = mpsc::channel(FLOW_QUEUE);
    let close = shared.shutdown.child_token();
    if let Err(refusal) = shared.flows().insert(peer, queue.clone(), close.clone()) {
        if refusal == Refusal::Limit {
            bump(&shared.counters.drops.connections_refused);
        }
        return;
    }
    bump(&shared.counters.traffic.flows_accepted);
    let new_flow = NewFlow {
        peer,
        queue,
        rx,
        close,
        admitted: Some(admitted),
    };
    let reported = AtomicBool::new(false);
    let serving = serve(&shared, &*handler, new_flow, socket, &reported);
    connection::guard(&shared, &*handler, peer, &reported, serving).await;
}

async fn serve<H: InboundHandler>(
    shared: &Shared,
    handler: &H,
    new_flow: NewFlow,
    socket: WebSocketStream<Box<dyn Io>>,
    reported: &AtomicBool,
) {
    let NewFlow {
        peer,
        queue,
        mut rx,
        close,
        admitted,
    } = new_flow;
    let mark = admitted.as_ref().map(|a| &a.mark);
    let flow = peer.flow.expect("a connection's peer carries its flow id");
    let registration = Registration { shared, flow };
    let activity = Activity::new();
    let (mut sink, mut stream) = socket.split();
    let mut in_flight: Option<Outbound> = None;

    let reason = tokio::select! {
        reason = read_loop(shared, handler, peer, &mut stream, &queue, &activity, mark) => reason,
        error = write_loop(shared, &mut sink, &mut rx, &mut in_flight, &activity) => {
            CloseReason::WriteFailed(error)
        }
        () = idle_watch(&activity, shared.limits.tcp_idle_timeout) => CloseReason::Idle,
        () = close.cancelled() => CloseReason::Closed,
    };
    if !matches!(
        reason,
        CloseReason::ReadFailed(_) | CloseReason::WriteFailed(_) | CloseReason::PeerClosed
    ) {
        // A close frame (RFC 6455 §5.5.1), best effort and bounded.
        let _ = tokio::time::timeout(CLOSE_WAIT, sink.close()).await;
    }
    drop((sink, stream));
    drop(registration);
    drop(queue);
    drop(admitted);

    connection::finish(shared, handler, peer, reason, &mut rx, in_flight, reported);
}

/// What one data frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    /// Exactly one SIP message (framed by Content-Length).
    Message,
    /// A double-CRLF keep-alive ping (RFC 5626 §3.5.1).
    Ping,
    /// A CRLF pong.
    Pong,
    /// Part of a message, several, or garbage.
    Bad,
}

fn content(payload: &[u8], max: usize) -> Content {
    match payload {
        b"\r\n\r\n" => return Content::Ping,
        b"\r\n" => return Content::Pong,
        _ => {}
    }
    let mut framer = StreamFramer::new(max);
    framer.push(payload);
    if matches!(framer.next_frame(), Ok(Some(Frame::Message(_)))) && framer.buffered() == 0 {
        Content::Message
    } else {
        Content::Bad
    }
}

/// Delivers one message per data frame until the connection ends; `mark` is
/// told after every frame.
async fn read_loop<H, S>(
    shared: &Shared,
    handler: &H,
    peer: Peer,
    stream: &mut S,
    queue: &Queue,
    activity: &Activity,
    mark: Option<&MessageMark>,
) -> CloseReason
where
    H: InboundHandler,
    S: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    let counters = &shared.counters;
    let mut bad_frames = 0_u32;
    loop {
        let message = match stream.next().await {
            None => return CloseReason::PeerClosed,
            Some(Ok(message)) => message,
            Some(Err(error)) => return read_error(error),
        };
        activity.touch();
        if let Some(mark) = mark {
            mark.complete();
        }
        let payload = match message {
            Message::Text(text) => Bytes::from(text),
            Message::Binary(bytes) => bytes,
            Message::Ping(_) => {
                bump(&counters.traffic.stream_pings_in);
                continue;
            }
            Message::Pong(_) => {
                bump(&counters.traffic.stream_pongs_in);
                continue;
            }
            Message::Close(_) => return CloseReason::PeerClosed,
            Message::Frame(_) => continue,
        };
        add(&counters.traffic.stream_bytes_in, payload.len() as u64);
        match content(&payload, shared.limits.max_stream_message) {
            Content::Message => {
                bump(&counters.traffic.stream_messages_in);
                handler.on_message(payload, peer).await;
            }
            Content::Ping => {
                bump(&counters.traffic.stream_pings_in);
                let pong = Outbound {
                    payload: PONG,
                    dest: None,
                };
                if queue.try_send(pong).is_err() {
                    bump(&counters.drops.send_queue_full);
                }
            }
            Content::Pong => bump(&counters.traffic.stream_pongs_in),
            Content::Bad => {
                bump(&counters.drops.ws_bad_frames);
                bad_frames += 1;
                tracing::debug!(remote = %peer.remote, len = payload.len(), "WebSocket frame without exactly one SIP message dropped");
                if bad_frames >= MAX_BAD_FRAMES {
                    return CloseReason::BadFrames;
                }
            }
        }
    }
}

fn read_error(error: WsError) -> CloseReason {
    match error {
        WsError::ConnectionClosed | WsError::AlreadyClosed => CloseReason::PeerClosed,
        WsError::Capacity(_) => CloseReason::TooLarge,
        WsError::Io(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
            CloseReason::PeerClosed
        }
        WsError::Io(error) => connection::read_failed(error),
        other => CloseReason::ReadFailed(io::Error::new(io::ErrorKind::InvalidData, other)),
    }
}

/// Writes queued messages, one per frame (text when UTF-8, as every SIP
/// message without a binary body is), until a write fails.
async fn write_loop<K>(
    shared: &Shared,
    sink: &mut K,
    rx: &mut mpsc::Receiver<Outbound>,
    in_flight: &mut Option<Outbound>,
    activity: &Activity,
) -> io::Error
where
    K: futures_util::Sink<Message, Error = WsError> + Unpin,
{
    let counters = &shared.counters;
    loop {
        if in_flight.is_none() {
            *in_flight = rx.recv().await;
        }
        let Some(message) = in_flight.as_ref() else {
            return io::Error::new(io::ErrorKind::NotConnected, "writer queue closed");
        };
        let payload = message.payload.clone();
        let len = payload.len();
        let frame = match Utf8Bytes::try_from(payload) {
            Ok(text) => Message::Text(text),
            Err(_) => Message::Binary(message.payload.clone()),
        };
        if let Err(error) = sink.send(frame).await {
            return match error {
                WsError::Io(error) => error,
                other => io::Error::new(io::ErrorKind::BrokenPipe, other),
            };
        }
        if message.dest.is_some() {
            bump(&counters.traffic.stream_messages_out);
        }
        add(&counters.traffic.stream_bytes_out, len as u64);
        *in_flight = None;
        activity.touch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sip_subprotocol_is_found_in_a_list() {
        assert!(offers_sip(b"sip"));
        assert!(offers_sip(b"chat, SIP"));
        assert!(!offers_sip(b"sips, chat"));
        assert!(!offers_sip(b""));
    }

    #[test]
    fn a_frame_holds_exactly_one_message_or_a_keep_alive() {
        let one = b"OPTIONS sip:example.com SIP/2.0\r\nContent-Length: 2\r\n\r\nhi";
        assert_eq!(content(one, 65_536), Content::Message);
        let mut two = one.to_vec();
        two.extend_from_slice(one);
        assert_eq!(content(&two, 65_536), Content::Bad);
        assert_eq!(content(&one[..one.len() - 1], 65_536), Content::Bad);
        assert_eq!(content(b"\r\n\r\n", 65_536), Content::Ping);
        assert_eq!(content(b"\r\n", 65_536), Content::Pong);
        assert_eq!(content(b"\r\n\r\n\r\n", 65_536), Content::Bad);
        assert_eq!(content(one, 16), Content::Bad);
    }
}
