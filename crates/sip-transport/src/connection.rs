//! One connection (flow) from registration to close, for any byte-stream
//! transport: TCP, TLS (anything `AsyncRead` + `AsyncWrite`).
//!
//! A single task runs three branches concurrently: the reader (framing,
//! delivering messages, answering pings), the writer (draining the flow's
//! queue), and the idle watch; the first to finish, or the flow's close token,
//! closes the connection. Reading pauses while the handler processes a
//! message, which is the back-pressure; the writer keeps going meanwhile.
//!
//! Reads go through a stack buffer that lives only inside one poll, so an idle
//! connection costs no read buffer; the framer holds only unframed bytes.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Poll, ready};

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Frame, ParseError, Peer, StreamFramer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::catch::catch_panic;
use crate::flows::{Outbound, Queue};
use crate::guard::{Admitted, MessageMark};
use crate::handler::InboundHandler;
use crate::shared::Shared;
use crate::stats::{add, bump};

/// Bytes read from the socket per read call.
const READ_CHUNK: usize = 16 * 1024;

/// The answer to a double-CRLF ping (RFC 5626 §3.5.1).
pub(crate) const PONG: Bytes = Bytes::from_static(b"\r\n");

/// How long closing the write side (TLS `close_notify`, then FIN) may take
/// before the connection is dropped regardless.
pub(crate) const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Why a connection closed.
#[derive(Debug)]
pub(crate) enum CloseReason {
    /// The peer closed its side.
    PeerClosed,
    /// Reading failed.
    ReadFailed(io::Error),
    /// Writing failed.
    WriteFailed(io::Error),
    /// The stream could not be framed.
    Framing(ParseError),
    /// A message exceeded the limit.
    TooLarge,
    /// Too many WebSocket frames that did not hold exactly one message.
    BadFrames,
    /// No traffic for the idle timeout.
    Idle,
    /// A message begun and not completed within `stream_message_timeout`.
    SlowMessage,
    /// `close_flow` or shutdown.
    Closed,
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("closed by the peer"),
            CloseReason::ReadFailed(error) => write!(f, "read failed: {error}"),
            CloseReason::WriteFailed(error) => write!(f, "write failed: {error}"),
            CloseReason::Framing(error) => write!(f, "cannot frame: {error}"),
            CloseReason::TooLarge => f.write_str("message too large"),
            CloseReason::BadFrames => f.write_str("too many frames without exactly one message"),
            CloseReason::Idle => f.write_str("idle timeout"),
            CloseReason::SlowMessage => f.write_str("message not completed in time"),
            CloseReason::Closed => f.write_str("closed locally"),
        }
    }
}

/// Removes the flow from the table however the task ends (a handler panic
/// included), so a dead flow never keeps its slot.
pub(crate) struct Registration<'a> {
    pub(crate) shared: &'a Shared,
    pub(crate) flow: FlowId,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.shared.flows().remove(self.flow);
    }
}

/// The last time the connection carried traffic.
pub(crate) struct Activity {
    start: Instant,
    /// Milliseconds since `start`.
    last: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
        }
    }

    pub(crate) fn touch(&self) {
        let elapsed = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(elapsed, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + std::time::Duration::from_millis(self.last.load(Ordering::Relaxed))
    }
}

/// A flow registered in the table, ready to run.
#[derive(Debug)]
pub(crate) struct NewFlow {
    /// Its peer; `peer.flow` is its id.
    pub(crate) peer: Peer,
    /// A sender of its writer queue (for pongs).
    pub(crate) queue: Queue,
    /// Its writer queue.
    pub(crate) rx: mpsc::Receiver<Outbound>,
    /// Cancelled by `close_flow` and shutdown.
    pub(crate) close: CancellationToken,
    /// An inbound connection's source slot and message mark; `None` for
    /// connections this side opened.
    pub(crate) admitted: Option<Admitted>,
}

/// Runs the registered flow until it closes, then reports the close and fails
/// whatever its queue still holds. A panic in the handler closes the
/// connection and is reported like any close.
pub(crate) async fn run<H, R, W>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    new_flow: NewFlow,
    reader: R,
    writer: W,
) where
    H: InboundHandler,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let peer = new_flow.peer;
    let reported = AtomicBool::new(false);
    let serving = serve(&shared, &*handler, new_flow, reader, writer, &reported);
    guard(&shared, &*handler, peer, &reported, serving).await;
}

/// Runs a flow's `serving` future; a panic in it closes that flow only (the
/// socket and the table entry go with the dropped state) and, unless the flow
/// already reported its close (`reported`), reports it.
pub(crate) async fn guard<H: InboundHandler>(
    shared: &Shared,
    handler: &H,
    peer: Peer,
    reported: &AtomicBool,
    serving: impl std::future::Future<Output = ()>,
) {
    if catch_panic(serving).await.is_err() {
        tracing::error!(flow = ?peer.flow, remote = %peer.remote, transport = %peer.transport, "panic on a connection; closed");
        if !reported.load(Ordering::Relaxed) {
            bump(&shared.counters.traffic.flows_closed);
            let flow = peer.flow.expect("a connection's peer carries its flow id");
            handler.on_flow_closed(flow, peer);
        }
    }
}

async fn serve<H, R, W>(
    shared: &Shared,
    handler: &H,
    new_flow: NewFlow,
    mut reader: R,
    mut writer: W,
    reported: &AtomicBool,
) where
    H: InboundHandler,
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let NewFlow {
        peer,
        queue,
        mut rx,
        close,
        admitted,
    } = new_flow;
    let flow = peer.flow.expect("a connection's peer carries its flow id");
    let registration = Registration { shared, flow };
    let activity = Activity::new();
    let mark = admitted.as_ref().map(|a| &a.mark);
    let mut framer = StreamFramer::new(shared.limits.max_stream_message);
    let mut in_flight: Option<Outbound> = None;

    let reason = tokio::select! {
        reason = read_loop(shared, handler, peer, &mut reader, &mut framer, &queue, &activity, mark) => reason,
        error = write_loop(shared, &mut writer, &mut rx, &mut in_flight, &activity) => {
            CloseReason::WriteFailed(error)
        }
        () = idle_watch(&activity, shared.limits.tcp_idle_timeout) => CloseReason::Idle,
        () = close.cancelled() => CloseReason::Closed,
    };
    drop(reader);
    if !matches!(
        reason,
        CloseReason::ReadFailed(_) | CloseReason::WriteFailed(_)
    ) {
        // A TLS peer is told with close_notify (RFC 8446 §6.1); TCP gets its
        // FIN. Best effort and bounded: the socket is dropped next anyway.
        let _ = tokio::time::timeout(CLOSE_WAIT, writer.shutdown()).await;
    }
    drop(writer);
    drop(registration);
    drop(queue);
    drop(admitted);

    finish(shared, handler, peer, reason, &mut rx, in_flight, reported);
}

/// After a flow's socket is gone: counts why it closed, reports the close
/// (and marks it `reported`), then reports every message left unsent.
pub(crate) fn finish<H: InboundHandler>(
    shared: &Shared,
    handler: &H,
    peer: Peer,
    reason: CloseReason,
    rx: &mut mpsc::Receiver<Outbound>,
    in_flight: Option<Outbound>,
    reported: &AtomicBool,
) {
    count_close(shared, peer, &reason);
    let unsent = take_unsent(shared, rx, in_flight);
    reported.store(true, Ordering::Relaxed);
    let flow = peer.flow.expect("a connection's peer carries its flow id");
    handler.on_flow_closed(flow, peer);
    let error = match reason {
        CloseReason::WriteFailed(error) => error,
        _ => io::Error::new(
            io::ErrorKind::NotConnected,
            "connection closed before the message was written",
        ),
    };
    report_unsent(handler, unsent, error);
}

/// Closes `rx` and takes the destinations of the messages it and `in_flight`
/// still hold (pongs are nobody's loss).
pub(crate) fn take_unsent(
    shared: &Shared,
    rx: &mut mpsc::Receiver<Outbound>,
    in_flight: Option<Outbound>,
) -> Vec<Destination> {
    rx.close();
    let mut unsent = Vec::new();
    let held = in_flight
        .into_iter()
        .chain(std::iter::from_fn(|| rx.try_recv().ok()));
    unsent.extend(held.filter_map(|message| message.dest));
    add(
        &shared.counters.drops.send_queue_discarded,
        unsent.len() as u64,
    );
    unsent
}

/// Reports every one of `unsent` through `on_send_failed`: the first with
/// `error` itself, the others with an error of the same kind.
pub(crate) fn report_unsent<H: InboundHandler>(
    handler: &H,
    unsent: Vec<Destination>,
    error: io::Error,
) {
    let kind = error.kind();
    let mut first = Some(error);
    for dest in unsent {
        let error = first
            .take()
            .unwrap_or_else(|| io::Error::new(kind, "message not written"));
        handler.on_send_failed(dest, error);
    }
}

pub(crate) fn count_close(shared: &Shared, peer: Peer, reason: &CloseReason) {
    let drops = &shared.counters.drops;
    bump(&shared.counters.traffic.flows_closed);
    match reason {
        CloseReason::ReadFailed(_) => bump(&drops.stream_read_errors),
        CloseReason::WriteFailed(_) => bump(&drops.stream_write_errors),
        CloseReason::Framing(_) => bump(&drops.stream_framing_errors),
        CloseReason::TooLarge => bump(&drops.stream_oversize),
        CloseReason::BadFrames => bump(&drops.ws_connections_closed),
        CloseReason::Idle => bump(&drops.idle_timeouts),
        CloseReason::SlowMessage => bump(&drops.slow_messages),
        CloseReason::PeerClosed | CloseReason::Closed => {}
    }
    tracing::debug!(
        flow = ?peer.flow,
        transport = %peer.transport,
        remote = %peer.remote,
        %reason,
        "connection closed"
    );
}

/// Reads, frames and delivers until the stream ends or cannot be framed.
/// `mark` is told whenever no unfinished message remains.
#[allow(
    clippy::too_many_arguments,
    reason = "the parts of one connection, borrowed separately from the select! branches"
)]
async fn read_loop<H, R>(
    shared: &Shared,
    handler: &H,
    peer: Peer,
    reader: &mut R,
    framer: &mut StreamFramer,
    queue: &Queue,
    activity: &Activity,
    mark: Option<&MessageMark>,
) -> CloseReason
where
    H: InboundHandler,
    R: AsyncRead + Unpin,
{
    let counters = &shared.counters;
    let max = shared.limits.max_stream_message;
    loop {
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(message))) => {
                    bump(&counters.traffic.stream_messages_in);
                    handler.on_message(message, peer).await;
                }
                Ok(Some(Frame::Ping)) => {
                    bump(&counters.traffic.stream_pings_in);
                    let pong = Outbound {
                        payload: PONG,
                        dest: None,
                    };
                    if queue.try_send(pong).is_err() {
                        bump(&counters.drops.send_queue_full);
                    }
                }
                Ok(Some(Frame::Pong)) => bump(&counters.traffic.stream_pongs_in),
                Ok(None) => break,
                Err(ParseError::TooLarge { .. }) => return CloseReason::TooLarge,
                Err(error) => return CloseReason::Framing(error),
            }
        }
        // Every complete frame is gone, so what remains is one unfinished
        // message; past the limit it can only grow into an oversize one.
        let buffered = framer.buffered();
        if buffered > max {
            return CloseReason::TooLarge;
        }
        if buffered == 0
            && let Some(mark) = mark
        {
            mark.complete();
        }
        match read_into(reader, framer).await {
            Ok(0) => return CloseReason::PeerClosed,
            Ok(read) => {
                activity.touch();
                add(&counters.traffic.stream_bytes_in, read as u64);
            }
            // A TLS peer that closes the TCP connection without
            // close_notify, as many phones do: SIP frames by
            // Content-Length, so nothing can be truncated unnoticed.
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => {
                return CloseReason::PeerClosed;
            }
            Err(error) => return read_failed(error),
        }
    }
}

/// Why a failed read closes a connection: the message clock of [`Paced`]
/// (`TimedOut`), or an I/O error.
///
/// [`Paced`]: crate::guard::Paced
pub(crate) fn read_failed(error: io::Error) -> CloseReason {
    if error.kind() == io::ErrorKind::TimedOut {
        CloseReason::SlowMessage
    } else {
        CloseReason::ReadFailed(error)
    }
}

/// Reads once from `reader` into `framer`; `Ok(0)` at end of stream.
async fn read_into<R: AsyncRead + Unpin>(
    reader: &mut R,
    framer: &mut StreamFramer,
) -> io::Result<usize> {
    poll_fn(|cx| {
        let mut storage = [const { MaybeUninit::<u8>::uninit() }; READ_CHUNK];
        let mut buf = ReadBuf::uninit(&mut storage);
        ready!(Pin::new(&mut *reader).poll_read(cx, &mut buf))?;
        framer.push(buf.filled());
        Poll::Ready(Ok(buf.filled().len()))
    })
    .await
}

/// Writes queued messages until a write fails. The message being written sits
/// in `in_flight` so that it can be reported if the connection closes first.
async fn write_loop<W: AsyncWrite + Unpin>(
    shared: &Shared,
    writer: &mut W,
    rx: &mut mpsc::Receiver<Outbound>,
    in_flight: &mut Option<Outbound>,
    activity: &Activity,
) -> io::Error {
    let counters = &shared.counters;
    loop {
        if in_flight.is_none() {
            *in_flight = rx.recv().await;
        }
        let Some(message) = in_flight.as_ref() else {
            // The table and the reader hold senders while the task runs.
            return io::Error::new(io::ErrorKind::NotConnected, "writer queue closed");
        };
        if let Err(error) = writer.write_all(&message.payload).await {
            return error;
        }
        if message.dest.is_some() {
            bump(&counters.traffic.stream_messages_out);
        }
        add(
            &counters.traffic.stream_bytes_out,
            message.payload.len() as u64,
        );
        *in_flight = None;
        activity.touch();
        // Buffered writers (TLS) need a flush once the burst is written.
        if rx.is_empty()
            && let Err(error) = writer.flush().await
        {
            return error;
        }
    }
}

/// Completes once the connection has carried no traffic for `timeout`; never
/// when `timeout` is zero (disabled).
pub(crate) async fn idle_watch(activity: &Activity, timeout: std::time::Duration) {
    if timeout.is_zero() {
        return std::future::pending().await;
    }
    loop {
        let Some(deadline) = activity.last().checked_add(timeout) else {
            // Beyond any representable instant: never idle.
            return std::future::pending().await;
        };
        if deadline <= Instant::now() {
            return;
        }
        tokio::time::sleep_until(deadline).await;
    }
}
