//! The crate's error type.

use std::io;
use std::net::SocketAddr;

use sb_sip_message::Transport;

/// Why starting the transports or sending a message failed synchronously.
/// Failures found later (a refused connection, a broken write) are reported
/// through [`crate::InboundHandler::on_send_failed`] instead.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// A listener socket could not be created or bound.
    #[error("cannot listen on {transport} {addr}: {source}")]
    Bind {
        /// Transport of the listener.
        transport: Transport,
        /// Address it was asked to bind.
        addr: SocketAddr,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// The transport is not available for this operation: opening a
    /// connection with it (WS and WSS peers are reachable only over their
    /// flow), or serving an upgraded connection as anything but WS or WSS.
    #[error("{transport} is not supported here")]
    Unsupported {
        /// The transport asked for.
        transport: Transport,
    },
    /// No socket of that transport can send to the destination: `local` names
    /// no listener, or no listener has the destination's address family.
    #[error("no {transport} socket to send from (local {local:?}) to {remote}")]
    NoSocket {
        /// Transport asked for.
        transport: Transport,
        /// Local address asked for, if any.
        local: Option<SocketAddr>,
        /// The destination.
        remote: SocketAddr,
    },
    /// The outbound queue of the connection (or of the pending UDP sends) is
    /// full: the peer is not keeping up.
    #[error("send queue full towards {transport} {remote}")]
    QueueFull {
        /// Transport of the destination.
        transport: Transport,
        /// The destination.
        remote: SocketAddr,
    },
    /// The connection limit is reached; no new connection is opened.
    #[error("connection limit of {limit} reached")]
    ConnectionLimit {
        /// The configured limit.
        limit: usize,
    },
    /// The system refused to send a datagram.
    #[error("cannot send to {transport} {remote}: {source}")]
    Send {
        /// Transport of the destination.
        transport: Transport,
        /// The destination.
        remote: SocketAddr,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// A TLS listener was configured without
    /// [`crate::TransportConfig::tls_server`].
    #[error("TLS listener {addr} has no certificate configured")]
    NoTlsCertificate {
        /// Address of the listener.
        addr: SocketAddr,
    },
    /// Trusted certificates for outbound TLS could not be read.
    #[error("cannot load trusted certificates from {path}: {reason}")]
    TlsRoots {
        /// The file read.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// [`crate::Transports::shutdown`] was called.
    #[error("the transports are shut down")]
    ShutDown,
}
