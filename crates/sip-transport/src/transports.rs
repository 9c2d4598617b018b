//! The [`Transports`] handle: start, send, inspect, shut down.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Peer, Transport};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UdpSocket};
use tokio::runtime::Handle;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bind::{BoundSocket, bind_all};
use crate::config::TransportConfig;
use crate::error::TransportError;
use crate::flows::FlowTable;
use crate::guard::SourceCounts;
use crate::handler::InboundHandler;
use crate::shared::{Events, HandlerEvents, Limits, Shared};
use crate::stats::{Counters, TransportStats};
use crate::tcp::Accept;
use crate::tls::TlsPeer;
use crate::udp::UdpEndpoint;
use crate::{tcp, udp};

/// The running transports: a cheap, cloneable handle. Every clone refers to the
/// same sockets and connections; [`Transports::shutdown`] on any of them stops
/// everything. Dropping every handle does not: the listeners keep running
/// until shutdown.
#[derive(Clone)]
pub struct Transports {
    shared: Arc<Shared>,
}

impl fmt::Debug for Transports {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transports")
            .field("local_addrs", &self.shared.local_addrs)
            .field("shut_down", &self.shared.shutdown.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl Transports {
    /// Binds every listener of `config` and starts receiving; inbound traffic
    /// and connection events go to `handler`. Must run inside a tokio runtime,
    /// whose handle later runs every task the transports spawn.
    pub async fn start<H: InboundHandler>(
        config: TransportConfig,
        handler: Arc<H>,
    ) -> Result<Transports, TransportError> {
        let bound = bind_all(&config)?;
        let mut udp_endpoints = Vec::new();
        let mut tcp_listeners = Vec::new();
        let mut local_addrs = Vec::with_capacity(bound.len());
        for (socket, listener) in bound.into_iter().zip(&config.listeners) {
            let bind_error = |source| TransportError::Bind {
                transport: listener.transport,
                addr: listener.addr,
                source,
            };
            match socket {
                BoundSocket::Udp(socket) => {
                    let local = socket.local_addr().map_err(bind_error)?;
                    let socket = UdpSocket::from_std(socket).map_err(bind_error)?;
                    local_addrs.push((Transport::Udp, local));
                    udp_endpoints.push(UdpEndpoint {
                        local,
                        socket: Arc::new(socket),
                    });
                }
                BoundSocket::Tcp(socket) => {
                    let local = socket.local_addr().map_err(bind_error)?;
                    let socket = TcpListener::from_std(socket).map_err(bind_error)?;
                    local_addrs.push((listener.transport, local));
                    let acceptor = || {
                        config.tls_server.clone().map(TlsAcceptor::from).ok_or(
                            TransportError::NoTlsCertificate {
                                addr: listener.addr,
                            },
                        )
                    };
                    let acceptor = match listener.transport {
                        Transport::Tls => Accept::Tls(acceptor()?),
                        Transport::Wss => Accept::Wss(acceptor()?),
                        Transport::Ws => Accept::Ws,
                        _ => Accept::Tcp,
                    };
                    tcp_listeners.push((socket, acceptor));
                }
            }
        }
        let events: Arc<dyn Events> = Arc::new(HandlerEvents {
            handler: handler.clone(),
        });
        let shared = Arc::new(Shared {
            limits: Limits {
                max_udp_message: config.max_udp_message,
                max_stream_message: config.max_stream_message,
                tcp_idle_timeout: config.tcp_idle_timeout,
                tcp_connect_timeout: config.tcp_connect_timeout,
                max_connections: config.max_connections,
                max_connections_per_source: config.max_connections_per_source,
                stream_message_timeout: config.stream_message_timeout,
                tls_handshake_timeout: config.tls_handshake_timeout,
            },
            local_addrs,
            udp: RwLock::new(udp_endpoints.clone()),
            flows: Mutex::new(FlowTable::new(config.max_connections)),
            counters: Counters::default(),
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            runtime: Handle::current(),
            events: Mutex::new(Some(events)),
            udp_backlog: AtomicUsize::new(0),
            tls_client: config.tls_client,
            tls_peers: Default::default(),
            handshakes: AtomicUsize::new(0),
            sources: SourceCounts::default(),
        });
        for endpoint in udp_endpoints {
            let receive = udp::receive(shared.clone(), handler.clone(), endpoint);
            let shutdown = shared.shutdown.clone();
            shared.tasks.spawn_on(
                async move {
                    tokio::select! {
                        () = receive => {}
                        () = shutdown.cancelled() => {}
                    }
                },
                &shared.runtime,
            );
        }
        for (listener, acceptor) in tcp_listeners {
            let task = tcp::accept_loop(shared.clone(), handler.clone(), listener, acceptor);
            shared.tasks.spawn_on(task, &shared.runtime);
        }
        tracing::info!(listeners = ?shared.local_addrs, "SIP transports started");
        Ok(Transports { shared })
    }

    /// Sends one message without waiting. UDP sends right away (falling back
    /// to a task if the socket would block); a connection-oriented destination
    /// goes to the queue of `dest.flow`, else of an open connection to
    /// `dest.remote`, else of a new connection (TCP, or TLS with client
    /// settings for the peer: [`Transports::set_tls_peers`] or
    /// [`crate::TransportConfig::tls_client`]). `Ok` means accepted:
    /// a later failure is reported through
    /// [`InboundHandler::on_send_failed`].
    pub fn send(&self, dest: &Destination, payload: Bytes) -> Result<(), TransportError> {
        if self.shared.shutdown.is_cancelled() {
            return Err(TransportError::ShutDown);
        }
        match dest.transport {
            Transport::Udp => udp::send(&self.shared, dest, payload),
            _ => tcp::send(&self.shared, dest, payload),
        }
    }

    /// Serves a connection whose WebSocket opening handshake, with
    /// subprotocol `sip` (RFC 7118 §4.1), another server completed (the HTTP
    /// server's `/ws`): it becomes a flow of `transport` ([`Transport::Ws`],
    /// or [`Transport::Wss`] when the connection is TLS) like one accepted
    /// by a WS listener. `remote` and `local` are the connection's addresses.
    ///
    /// # Errors
    /// [`TransportError::Unsupported`] when `transport` is not WS or WSS;
    /// [`TransportError::ShutDown`] after shutdown. A connection beyond
    /// `max_connections` is dropped and counted like any refused one.
    pub fn serve_websocket<S>(
        &self,
        io: S,
        transport: Transport,
        remote: SocketAddr,
        local: SocketAddr,
    ) -> Result<(), TransportError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        if !matches!(transport, Transport::Ws | Transport::Wss) {
            return Err(TransportError::Unsupported { transport });
        }
        let events = self.shared.events().ok_or(TransportError::ShutDown)?;
        events.spawn_websocket(&self.shared, Box::new(io), transport, remote, local);
        Ok(())
    }

    /// Replaces the settings of outbound TLS connections to particular peers
    /// (trunks: the host name to verify, or no verification). Connections
    /// already open are kept.
    pub fn set_tls_peers(&self, peers: impl IntoIterator<Item = (SocketAddr, TlsPeer)>) {
        let peers = peers.into_iter().collect();
        *self
            .shared
            .tls_peers
            .write()
            .unwrap_or_else(PoisonError::into_inner) = peers;
    }

    /// The actual bound addresses of the listeners, in configuration order.
    pub fn local_addrs(&self) -> Vec<(Transport, SocketAddr)> {
        self.shared.local_addrs.clone()
    }

    /// Whether `flow` is open, and what it is.
    pub fn flow_peer(&self, flow: FlowId) -> Option<Peer> {
        self.shared.flows().peer(flow)
    }

    /// Closes `flow` (no-op when it is not open). It leaves the table at once;
    /// [`InboundHandler::on_flow_closed`] follows when its task has closed the
    /// socket, and messages still queued are reported as failed.
    pub fn close_flow(&self, flow: FlowId) {
        self.shared.flows().close_flow(flow);
    }

    /// Stops the listeners, closes every connection (each reported through
    /// [`InboundHandler::on_flow_closed`]) and returns once every task has
    /// ended and every socket is released. Later sends fail with
    /// [`TransportError::ShutDown`].
    pub async fn shutdown(&self) {
        let shared = &self.shared;
        shared.shutdown.cancel();
        // After this, no send can start a task (they do so under this lock).
        shared.flows().close();
        // Waits for UDP sends holding the read lock, which may spawn a
        // fallback task, then releases the sockets once their tasks end.
        shared
            .udp
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        shared.tasks.close();
        shared.tasks.wait().await;
        // Breaks the reference cycle when the handler holds a `Transports`.
        shared
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        tracing::info!("SIP transports shut down");
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> TransportStats {
        let counters = &self.shared.counters;
        TransportStats {
            traffic: counters.traffic.snapshot(),
            flows_open: self.shared.flows().open_count() as u64,
            drops: counters.drops.snapshot(),
        }
    }
}
