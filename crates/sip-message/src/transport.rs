//! Where a message came from or goes to: transport kind, flow and addresses.
//!
//! Plain data shared by the transaction layer, the switch and the socket drivers,
//! so that none of the sans-IO cores needs to depend on the I/O crates.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// A SIP transport as named in a Via header (RFC 3261 §20.42, RFC 7118 §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// `UDP`
    Udp,
    /// `TCP`
    Tcp,
    /// `TLS`
    Tls,
    /// `WS` (RFC 7118)
    Ws,
    /// `WSS` (RFC 7118)
    Wss,
}

impl Transport {
    /// The Via/`transport=` token in upper case: `UDP`, `TCP`, `TLS`, `WS`, `WSS`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
        }
    }

    /// Reliable transports disable retransmission timers (RFC 3261 §17).
    pub const fn is_reliable(self) -> bool {
        !matches!(self, Transport::Udp)
    }

    /// Stream transports carry messages framed by Content-Length (RFC 3261 §18.3).
    pub const fn is_stream(self) -> bool {
        matches!(self, Transport::Tcp | Transport::Tls)
    }

    /// WebSocket transports (RFC 7118): the peer is normally a browser.
    pub const fn is_websocket(self) -> bool {
        matches!(self, Transport::Ws | Transport::Wss)
    }

    /// Transports secured by TLS (`sips:` capable).
    pub const fn is_secure(self) -> bool {
        matches!(self, Transport::Tls | Transport::Wss)
    }

    /// The default port of the transport (RFC 3261 §19.1.2, RFC 7118).
    pub const fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 5060,
            Transport::Tls => 5061,
            Transport::Ws => 80,
            Transport::Wss => 443,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error for an unknown transport token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown transport {0:?}")]
pub struct UnknownTransport(pub String);

impl FromStr for Transport {
    type Err = UnknownTransport;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = if s.eq_ignore_ascii_case("udp") {
            Transport::Udp
        } else if s.eq_ignore_ascii_case("tcp") {
            Transport::Tcp
        } else if s.eq_ignore_ascii_case("tls") {
            Transport::Tls
        } else if s.eq_ignore_ascii_case("ws") {
            Transport::Ws
        } else if s.eq_ignore_ascii_case("wss") {
            Transport::Wss
        } else {
            return Err(UnknownTransport(s.to_owned()));
        };
        Ok(t)
    }
}

/// Identity of one connection-oriented flow (a TCP, TLS or WebSocket connection),
/// assigned by the transport. Never reused within a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowId(pub u64);

impl fmt::Display for FlowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flow-{}", self.0)
    }
}

/// The far end of a message as seen by the transport: how it arrived (or must
/// leave), from which address, over which connection, through which local socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// Transport the message used.
    pub transport: Transport,
    /// Remote address (source of an inbound message, destination of an outbound one).
    pub remote: SocketAddr,
    /// Local address of the listener/socket.
    pub local: SocketAddr,
    /// The connection, for stream and WebSocket transports.
    pub flow: Option<FlowId>,
}

/// Where an outbound message must go. The transport sends over `flow` when that
/// connection is still open, otherwise (stream transports) to an open connection
/// towards `remote`, otherwise it connects to `remote`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Destination {
    /// Transport to use.
    pub transport: Transport,
    /// Remote address.
    pub remote: SocketAddr,
    /// Preferred connection (connection reuse, RFC 3261 §18.2.2, RFC 5626).
    pub flow: Option<FlowId>,
    /// Local socket to send from, when it matters (the one a request came in on).
    pub local: Option<SocketAddr>,
}

impl Destination {
    /// The destination that answers back to where `peer` sent from, on the same
    /// socket or connection.
    pub fn back_to(peer: &Peer) -> Self {
        Destination {
            transport: peer.transport,
            remote: peer.remote,
            flow: peer.flow,
            local: Some(peer.local),
        }
    }
}
