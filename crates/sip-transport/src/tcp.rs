//! TCP and TLS: accepting connections, the send path of every
//! connection-oriented transport, and outbound connections.
//!
//! A TLS connection becomes a flow once its handshake is done (bounded by
//! `tls_handshake_timeout`); from then on it is served exactly like a TCP one.
//!
//! Sending never waits: a message goes into the queue of the destination's
//! flow (RFC 5626 flow reuse), else of an open connection to the destination's
//! address (RFC 3261 §18.2.2, §18.1.1 connection reuse), else of a connection
//! being established there, else a new connection is started and the message
//! waits in its queue. A connect failure is reported through
//! [`crate::InboundHandler::on_send_failed`] once for every queued message.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use sb_sip_message::{Destination, Peer, Transport};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_rustls::TlsAcceptor;

use crate::connection::{self, NewFlow, report_unsent, take_unsent};
use crate::error::TransportError;
use crate::flows::{FLOW_QUEUE, Outbound, Queue, Refusal, RemoteKey, Route, next_flow_id};
use crate::guard::{Admitted, SourceSlot, paced};
use crate::handler::InboundHandler;
use crate::shared::Shared;
use crate::stats::bump;
use crate::{tls, ws};

/// Pause after an accept error (out of file descriptors, ...) so that a
/// persistent error does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// What an accepted connection goes through before it is a flow.
#[derive(Clone)]
pub(crate) enum Accept {
    /// Nothing: plain TCP.
    Tcp,
    /// The TLS handshake.
    Tls(TlsAcceptor),
    /// The WebSocket handshake (RFC 7118).
    Ws,
    /// TLS, then the WebSocket handshake.
    Wss(TlsAcceptor),
}

/// Accepts connections on `listener` until shutdown, each through `kind`'s
/// handshakes.
pub(crate) async fn accept_loop<H: InboundHandler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    listener: TcpListener,
    kind: Accept,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shared.shutdown.cancelled() => return,
        };
        match accepted {
            Ok((stream, remote)) => {
                // Dropping the stream closes a connection over its source's limit.
                let Some(slot) = SourceSlot::take(&shared, remote.ip()) else {
                    continue;
                };
                match &kind {
                    Accept::Tcp => accept_one(&shared, &handler, stream, remote, slot),
                    Accept::Tls(acceptor) => {
                        spawn_handshake(&shared, &handler, acceptor, stream, remote, slot);
                    }
                    Accept::Ws => ws::spawn_accept(&shared, &handler, None, stream, remote, slot),
                    Accept::Wss(acceptor) => {
                        let acceptor = Some(acceptor.clone());
                        ws::spawn_accept(&shared, &handler, acceptor, stream, remote, slot);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "TCP accept failed");
                tokio::select! {
                    () = tokio::time::sleep(ACCEPT_ERROR_PAUSE) => {}
                    () = shared.shutdown.cancelled() => return,
                }
            }
        }
    }
}

fn accept_one<H: InboundHandler>(
    shared: &Arc<Shared>,
    handler: &Arc<H>,
    stream: TcpStream,
    remote: SocketAddr,
    slot: SourceSlot,
) {
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(error) => {
            tracing::debug!(%remote, %error, "accepted connection already gone");
            return;
        }
    };
    // SIP messages are written whole; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let (reader, writer) = stream.into_split();
    let (reader, mark) = paced(reader, shared.limits.stream_message_timeout);
    let admitted = Admitted { _slot: slot, mark };
    if let Some(task) = register(
        shared,
        handler,
        Transport::Tcp,
        remote,
        local,
        reader,
        writer,
        admitted,
    ) {
        shared.tasks.spawn_on(task, &shared.runtime);
    }
}

/// Runs the TLS handshake of an accepted connection in a task of its own,
/// then serves it as a flow. Handshakes in progress count against
/// `max_connections`.
fn spawn_handshake<H: InboundHandler>(
    shared: &Arc<Shared>,
    handler: &Arc<H>,
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    remote: SocketAddr,
    slot: SourceSlot,
) {
    let handshakes = shared.handshakes.fetch_add(1, Ordering::Relaxed);
    if handshakes + shared.flows().open_count() >= shared.limits.max_connections {
        shared.handshakes.fetch_sub(1, Ordering::Relaxed);
        bump(&shared.counters.drops.connections_refused);
        tracing::debug!(%remote, "connection limit reached, TLS connection refused");
        return;
    }
    let task = {
        let shared = shared.clone();
        let handler = handler.clone();
        let acceptor = acceptor.clone();
        async move {
            let local = stream.local_addr();
            let _ = stream.set_nodelay(true);
            // Under TLS, so that a dribbled record counts as a slow message.
            let (stream, mark) = paced(stream, shared.limits.stream_message_timeout);
            let timeout = shared.limits.tls_handshake_timeout;
            let handshake = tls::accept(&acceptor, stream, timeout, &shared.counters.drops);
            let done = tokio::select! {
                done = handshake => Some(done),
                () = shared.shutdown.cancelled() => None,
            };
            shared.handshakes.fetch_sub(1, Ordering::Relaxed);
            let stream = match (done, local) {
                (Some(Ok(stream)), Ok(local)) => (stream, local),
                (Some(Err(error)), _) => {
                    tracing::debug!(%remote, %error, "TLS handshake failed");
                    return;
                }
                (Some(Ok(_)), Err(error)) => {
                    tracing::debug!(%remote, %error, "accepted connection already gone");
                    return;
                }
                (None, _) => return,
            };
            // The handshake is no message: the reader's first pass, with
            // nothing unframed, stops the clock the handshake started.
            let (stream, local) = stream;
            let (reader, writer) = tokio::io::split(stream);
            let admitted = Admitted { _slot: slot, mark };
            let registered = register(
                &shared,
                &handler,
                Transport::Tls,
                remote,
                local,
                reader,
                writer,
                admitted,
            );
            if let Some(flow) = registered {
                flow.await;
            }
        }
    };
    shared.tasks.spawn_on(task, &shared.runtime);
}

/// Enters an accepted connection into the table; the returned future serves
/// it. `None` when the table refuses it (limit, shutdown).
#[allow(
    clippy::too_many_arguments,
    reason = "an accepted connection's parts, moved into the flow's task"
)]
fn register<H, R, W>(
    shared: &Arc<Shared>,
    handler: &Arc<H>,
    transport: Transport,
    remote: SocketAddr,
    local: SocketAddr,
    reader: R,
    writer: W,
    admitted: Admitted,
) -> Option<impl Future<Output = ()> + Send + 'static>
where
    H: InboundHandler,
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let flow = next_flow_id();
    let peer = Peer {
        transport,
        remote,
        local,
        flow: Some(flow),
    };
    let (queue, rx) = mpsc::channel(FLOW_QUEUE);
    let close = shared.shutdown.child_token();
    if let Err(refusal) = shared.flows().insert(peer, queue.clone(), close.clone()) {
        if refusal == Refusal::Limit {
            bump(&shared.counters.drops.connections_refused);
            tracing::debug!(%remote, "connection limit reached, connection refused");
        }
        return None;
    }
    bump(&shared.counters.traffic.flows_accepted);
    let new_flow = NewFlow {
        peer,
        queue,
        rx,
        close,
        admitted: Some(admitted),
    };
    Some(connection::run(
        shared.clone(),
        handler.clone(),
        new_flow,
        reader,
        writer,
    ))
}

/// Queues `payload` for a connection-oriented destination, connecting first
/// when no connection can carry it.
pub(crate) fn send(
    shared: &Arc<Shared>,
    dest: &Destination,
    payload: Bytes,
) -> Result<(), TransportError> {
    let message = Outbound {
        payload,
        dest: Some(*dest),
    };
    let mut table = shared.flows();
    let queue = match table.route(dest) {
        Route::Flow(queue) | Route::Pending(queue) => queue,
        Route::None => {
            let can_connect = match dest.transport {
                Transport::Tcp => true,
                Transport::Tls => {
                    tls::peer_for(&shared.tls_peers, shared.tls_client.as_ref(), dest.remote)
                        .is_some()
                }
                _ => false,
            };
            if !can_connect {
                return Err(TransportError::Unsupported {
                    transport: dest.transport,
                });
            }
            let (queue, rx) = mpsc::channel(FLOW_QUEUE);
            match table.insert_pending((dest.transport, dest.remote), queue.clone()) {
                Ok(()) => {}
                Err(Refusal::Closed) => return Err(TransportError::ShutDown),
                Err(Refusal::Limit) => {
                    bump(&shared.counters.drops.connections_refused);
                    return Err(TransportError::ConnectionLimit {
                        limit: shared.limits.max_connections,
                    });
                }
            }
            queue
                .try_send(message)
                .expect("a new queue has room for one message");
            // Spawned under the table lock: shutdown closes the table before
            // it waits for the tasks, so this task is always waited for.
            let Some(events) = shared.events() else {
                table.remove_pending(&(dest.transport, dest.remote));
                return Err(TransportError::ShutDown);
            };
            events.spawn_connect(shared, *dest, queue, rx);
            return Ok(());
        }
    };
    match queue.try_send(message) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => {
            bump(&shared.counters.drops.send_queue_full);
            Err(TransportError::QueueFull {
                transport: dest.transport,
                remote: dest.remote,
            })
        }
        // A queue leaves the table before its receiver closes.
        Err(TrySendError::Closed(_)) => Err(TransportError::Send {
            transport: dest.transport,
            remote: dest.remote,
            source: io::ErrorKind::NotConnected.into(),
        }),
    }
}

/// Connects to `dest`, then runs the new flow; on failure reports every
/// message queued for it.
pub(crate) async fn connect_and_run<H: InboundHandler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    dest: Destination,
    queue: Queue,
    mut rx: mpsc::Receiver<Outbound>,
) {
    let key: RemoteKey = (dest.transport, dest.remote);
    let connected = tokio::select! {
        connected = connect(&dest, shared.limits.tcp_connect_timeout) => connected,
        () = shared.shutdown.cancelled() => Err(shutting_down()),
    };
    let (stream, local) = match connected.and_then(|stream| Ok((stream.local_addr()?, stream))) {
        Ok((local, stream)) => (stream, local),
        Err(error) => {
            shared.flows().remove_pending(&key);
            bump(&shared.counters.drops.connect_failures);
            tracing::debug!(remote = %dest.remote, %error, "outbound connection failed");
            let unsent = take_unsent(&shared, &mut rx, None);
            report_unsent(&*handler, unsent, error);
            return;
        }
    };
    let _ = stream.set_nodelay(true);
    let peer = Peer {
        transport: dest.transport,
        remote: dest.remote,
        local,
        flow: Some(next_flow_id()),
    };
    if dest.transport != Transport::Tls {
        let (reader, writer) = stream.into_split();
        run_connected(shared, handler, peer, queue, rx, reader, writer).await;
        return;
    }
    let settings = tls::peer_for(&shared.tls_peers, shared.tls_client.as_ref(), dest.remote);
    let handshake = async {
        let Some(settings) = settings else {
            // The settings were replaced while connecting.
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no TLS settings for this peer",
            ));
        };
        let timeout = shared.limits.tls_handshake_timeout;
        tls::connect(settings, stream, timeout, &shared.counters.drops).await
    };
    let done = tokio::select! {
        done = handshake => done,
        () = shared.shutdown.cancelled() => Err(shutting_down()),
    };
    match done {
        Ok(stream) => {
            let (reader, writer) = tokio::io::split(stream);
            run_connected(shared, handler, peer, queue, rx, reader, writer).await;
        }
        Err(error) => {
            shared.flows().remove_pending(&key);
            bump(&shared.counters.drops.connect_failures);
            tracing::debug!(remote = %dest.remote, %error, "outbound TLS handshake failed");
            let unsent = take_unsent(&shared, &mut rx, None);
            report_unsent(&*handler, unsent, error);
        }
    }
}

/// Moves the pending connection of `peer` into the table and serves it.
async fn run_connected<H, R, W>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    peer: Peer,
    queue: Queue,
    mut rx: mpsc::Receiver<Outbound>,
    reader: R,
    writer: W,
) where
    H: InboundHandler,
    R: AsyncRead + Unpin + Send,
    W: AsyncWrite + Unpin + Send,
{
    let key: RemoteKey = (peer.transport, peer.remote);
    let close = shared.shutdown.child_token();
    if shared.flows().promote(&key, peer, close.clone()).is_err() {
        let unsent = take_unsent(&shared, &mut rx, None);
        report_unsent(&*handler, unsent, shutting_down());
        return;
    }
    bump(&shared.counters.traffic.flows_connected);
    let new_flow = NewFlow {
        peer,
        queue,
        rx,
        close,
        admitted: None,
    };
    connection::run(shared, handler, new_flow, reader, writer).await;
}

fn shutting_down() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "transports shutting down")
}

/// Opens a connection to `dest.remote`, from the IP of `dest.local` when that
/// can reach it (a specific address of the same family, loopback only towards
/// loopback), so the connection leaves from the address the peer knows.
async fn connect(dest: &Destination, timeout: Duration) -> io::Result<TcpStream> {
    let socket = if dest.remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    let remote_ip = dest.remote.ip();
    let source = dest.local.map(|local| local.ip()).filter(|ip| {
        !ip.is_unspecified()
            && ip.is_ipv4() == remote_ip.is_ipv4()
            && ip.is_loopback() == remote_ip.is_loopback()
    });
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    match tokio::time::timeout(timeout, socket.connect(dest.remote)).await {
        Ok(connected) => connected,
        Err(_elapsed) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "connection attempt timed out",
        )),
    }
}
