//! State shared by the [`crate::Transports`] handle and every task it runs.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;

use rustls::ClientConfig;
use sb_sip_message::{Destination, Transport};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::flows::{FlowTable, Outbound, Queue};
use crate::guard::SourceCounts;
use crate::handler::InboundHandler;
use crate::stats::Counters;
use crate::tls::TlsPeers;
use crate::udp::UdpEndpoint;
use crate::ws::Io;

/// The limits the tasks apply, copied from [`crate::TransportConfig`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_udp_message: usize,
    pub(crate) max_stream_message: usize,
    pub(crate) tcp_idle_timeout: Duration,
    pub(crate) tcp_connect_timeout: Duration,
    pub(crate) max_connections: usize,
    pub(crate) max_connections_per_source: usize,
    pub(crate) stream_message_timeout: Duration,
    pub(crate) tls_handshake_timeout: Duration,
}

/// The handler's callbacks that code without its type needs: the send path
/// reports late UDP failures and starts connection tasks, which are generic
/// over the handler.
pub(crate) trait Events: Send + Sync {
    /// Forwards to [`InboundHandler::on_send_failed`].
    fn send_failed(&self, dest: Destination, error: io::Error);

    /// Spawns the task that connects to `dest` and then runs the connection,
    /// writing what `rx` holds.
    fn spawn_connect(
        &self,
        shared: &Arc<Shared>,
        dest: Destination,
        queue: Queue,
        rx: mpsc::Receiver<Outbound>,
    );

    /// Spawns the task that serves a connection upgraded to WebSocket
    /// elsewhere.
    fn spawn_websocket(
        &self,
        shared: &Arc<Shared>,
        io: Box<dyn Io>,
        transport: Transport,
        remote: SocketAddr,
        local: SocketAddr,
    );
}

/// [`Events`] for a concrete handler.
pub(crate) struct HandlerEvents<H> {
    pub(crate) handler: Arc<H>,
}

impl<H: InboundHandler> Events for HandlerEvents<H> {
    fn send_failed(&self, dest: Destination, error: io::Error) {
        self.handler.on_send_failed(dest, error);
    }

    fn spawn_connect(
        &self,
        shared: &Arc<Shared>,
        dest: Destination,
        queue: Queue,
        rx: mpsc::Receiver<Outbound>,
    ) {
        let task =
            crate::tcp::connect_and_run(shared.clone(), self.handler.clone(), dest, queue, rx);
        shared.tasks.spawn_on(task, &shared.runtime);
    }

    fn spawn_websocket(
        &self,
        shared: &Arc<Shared>,
        io: Box<dyn Io>,
        transport: Transport,
        remote: SocketAddr,
        local: SocketAddr,
    ) {
        crate::ws::spawn_upgraded(shared, self.handler.clone(), io, transport, remote, local);
    }
}

/// See the module documentation.
pub(crate) struct Shared {
    pub(crate) limits: Limits,
    /// Actual listener addresses, in configuration order.
    pub(crate) local_addrs: Vec<(Transport, SocketAddr)>,
    /// UDP sockets for sending; emptied at shutdown so the ports are released
    /// even while handles to the transports remain.
    pub(crate) udp: RwLock<Vec<UdpEndpoint>>,
    pub(crate) flows: Mutex<FlowTable>,
    pub(crate) counters: Counters,
    /// Cancelled by shutdown; every connection's close token is a child.
    pub(crate) shutdown: CancellationToken,
    pub(crate) tasks: TaskTracker,
    pub(crate) runtime: Handle,
    /// Taken at shutdown, which breaks the cycle when the handler holds a
    /// `Transports`.
    pub(crate) events: Mutex<Option<Arc<dyn Events>>>,
    /// UDP sends waiting in fallback tasks because the socket would block.
    pub(crate) udp_backlog: AtomicUsize,
    /// Outbound TLS settings for peers without an entry in `tls_peers`.
    pub(crate) tls_client: Option<Arc<ClientConfig>>,
    /// Outbound TLS settings by peer address.
    pub(crate) tls_peers: TlsPeers,
    /// Inbound TLS handshakes in progress (not yet in the table, but
    /// counted against `max_connections`).
    pub(crate) handshakes: AtomicUsize,
    /// Open inbound connections per source address.
    pub(crate) sources: SourceCounts,
}

impl Shared {
    /// The connection table, locked.
    pub(crate) fn flows(&self) -> MutexGuard<'_, FlowTable> {
        // The table is consistent after every method, so a panic elsewhere
        // while it was locked leaves nothing half-done.
        self.flows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The handler's events, unless shut down.
    pub(crate) fn events(&self) -> Option<Arc<dyn Events>> {
        self.events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
