//! Listener addresses and limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sb_sip_message::Transport;

/// Default for [`TransportConfig::max_udp_message`]: the largest UDP payload.
pub const DEFAULT_MAX_UDP_MESSAGE: usize = 65_535;
/// Default for [`TransportConfig::max_stream_message`]: 64 KiB.
pub const DEFAULT_MAX_STREAM_MESSAGE: usize = 65_536;
/// Default for [`TransportConfig::tcp_idle_timeout`]: one hour.
pub const DEFAULT_TCP_IDLE_TIMEOUT: Duration = Duration::from_secs(3_600);
/// Default for [`TransportConfig::tcp_connect_timeout`]: five seconds.
pub const DEFAULT_TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default for [`TransportConfig::udp_recv_buffer`]: 4 MiB.
pub const DEFAULT_UDP_RECV_BUFFER: usize = 4 * 1024 * 1024;
/// Default for [`TransportConfig::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default for [`TransportConfig::max_connections_per_source`].
pub const DEFAULT_MAX_CONNECTIONS_PER_SOURCE: usize = 100;
/// Default for [`TransportConfig::stream_message_timeout`]: twenty seconds.
pub const DEFAULT_STREAM_MESSAGE_TIMEOUT: Duration = Duration::from_secs(20);
/// Default for [`TransportConfig::tls_handshake_timeout`]: ten seconds.
pub const DEFAULT_TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One socket to listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerConfig {
    /// [`Transport::Udp`], [`Transport::Tcp`], [`Transport::Tls`],
    /// [`Transport::Ws`] or [`Transport::Wss`] (TLS and WSS need
    /// [`TransportConfig::tls_server`]).
    pub transport: Transport,
    /// Address to bind. Port 0 asks the system for a free port; a UDP and a TCP
    /// listener on the same IP that both ask for port 0 get the same port.
    pub addr: SocketAddr,
}

impl ListenerConfig {
    /// A UDP listener on `addr`.
    pub fn udp(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            transport: Transport::Udp,
            addr,
        }
    }

    /// A TCP listener on `addr`.
    pub fn tcp(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            transport: Transport::Tcp,
            addr,
        }
    }

    /// A TLS listener on `addr` (`sips:`, port 5061 by convention), serving
    /// the certificate of [`TransportConfig::tls_server`].
    pub fn tls(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            transport: Transport::Tls,
            addr,
        }
    }
}

impl ListenerConfig {
    /// A WebSocket listener on `addr` (RFC 7118, `ws://`; SIP in frames).
    pub fn ws(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            transport: Transport::Ws,
            addr,
        }
    }

    /// A secure WebSocket listener on `addr` (`wss://`), serving the
    /// certificate of [`TransportConfig::tls_server`].
    pub fn wss(addr: SocketAddr) -> ListenerConfig {
        ListenerConfig {
            transport: Transport::Wss,
            addr,
        }
    }
}

/// Everything [`crate::Transports::start`] needs.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Sockets to listen on.
    pub listeners: Vec<ListenerConfig>,
    /// Largest datagram accepted; larger ones are dropped and counted.
    pub max_udp_message: usize,
    /// Largest message accepted on a stream; a larger one closes the connection.
    pub max_stream_message: usize,
    /// A connection with no traffic in either direction for this long is
    /// closed; zero disables the timeout.
    pub tcp_idle_timeout: Duration,
    /// Outbound connection attempts give up after this long.
    pub tcp_connect_timeout: Duration,
    /// `SO_RCVBUF` requested for UDP sockets (the kernel may cap it).
    pub udp_recv_buffer: usize,
    /// Open connections (inbound, outbound and connecting) beyond which new
    /// ones are refused. TLS handshakes in progress count too.
    pub max_connections: usize,
    /// Inbound connections (TCP, TLS, WS, WSS, handshakes included) one source
    /// IP address may hold at once; more are closed at once and counted. Zero:
    /// no limit. Phones behind one NAT share an address: raise it for them.
    pub max_connections_per_source: usize,
    /// Once the first byte of a message has arrived on an inbound connection
    /// (for TLS, of the record carrying it), the whole message must follow
    /// within this long or the connection is closed and counted (a slow
    /// sender). The time between messages is bounded by `tcp_idle_timeout`
    /// only. Zero disables the limit.
    pub stream_message_timeout: Duration,
    /// Certificate and settings of the TLS listeners; required when a
    /// listener is [`Transport::Tls`].
    pub tls_server: Option<Arc<rustls::ServerConfig>>,
    /// Settings of outbound TLS connections to peers without an entry of
    /// their own ([`crate::Transports::set_tls_peers`]); the peer's IP address
    /// is the name verified. `None`: TLS destinations are reachable only over
    /// an existing flow or through a peer entry.
    pub tls_client: Option<Arc<rustls::ClientConfig>>,
    /// A TLS handshake (inbound or outbound) not finished within this long is
    /// abandoned and counted.
    pub tls_handshake_timeout: Duration,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            listeners: Vec::new(),
            max_udp_message: DEFAULT_MAX_UDP_MESSAGE,
            max_stream_message: DEFAULT_MAX_STREAM_MESSAGE,
            tcp_idle_timeout: DEFAULT_TCP_IDLE_TIMEOUT,
            tcp_connect_timeout: DEFAULT_TCP_CONNECT_TIMEOUT,
            udp_recv_buffer: DEFAULT_UDP_RECV_BUFFER,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_connections_per_source: DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
            stream_message_timeout: DEFAULT_STREAM_MESSAGE_TIMEOUT,
            tls_server: None,
            tls_client: None,
            tls_handshake_timeout: DEFAULT_TLS_HANDSHAKE_TIMEOUT,
        }
    }
}

impl TransportConfig {
    /// The defaults with `listeners`.
    pub fn with_listeners(listeners: Vec<ListenerConfig>) -> TransportConfig {
        TransportConfig {
            listeners,
            ..TransportConfig::default()
        }
    }
}
