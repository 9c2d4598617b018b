//! Creating the listener sockets, with UDP and TCP sharing a port.
//!
//! A UDP and a TCP listener on the same IP that both ask for port 0 are bound
//! as a pair: UDP first, then TCP on the port UDP got; when that TCP port is
//! taken, both are released and the pair is tried again on a new port.

use std::io;
use std::net::SocketAddr;

use sb_sip_message::Transport;
use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{ListenerConfig, TransportConfig};
use crate::error::TransportError;

/// Attempts at binding a UDP/TCP pair on one port before giving up.
const PAIR_ATTEMPTS: usize = 16;

/// Backlog of TCP listeners (the kernel caps it at `somaxconn`).
const LISTEN_BACKLOG: i32 = 1024;

/// A bound, non-blocking listener socket.
#[derive(Debug)]
pub(crate) enum BoundSocket {
    /// A UDP socket.
    Udp(std::net::UdpSocket),
    /// A listening TCP socket (for TCP or TLS).
    Tcp(std::net::TcpListener),
}

/// Binds every listener of `config`, in order.
pub(crate) fn bind_all(config: &TransportConfig) -> Result<Vec<BoundSocket>, TransportError> {
    let pairs = same_port_pairs(&config.listeners);
    let mut bound: Vec<Option<BoundSocket>> = config.listeners.iter().map(|_| None).collect();
    for &(udp_index, tcp_index) in &pairs {
        let (udp, tcp) = bind_pair(config.listeners[udp_index].addr, config.udp_recv_buffer)?;
        bound[udp_index] = Some(BoundSocket::Udp(udp));
        bound[tcp_index] = Some(BoundSocket::Tcp(tcp));
    }
    config
        .listeners
        .iter()
        .zip(bound)
        .map(|(listener, socket)| match socket {
            Some(socket) => Ok(socket),
            None => bind_one(listener, config.udp_recv_buffer),
        })
        .collect()
}

/// `(udp index, tcp index)` of listeners to bind on one shared port: each TCP
/// listener asking for port 0 takes the first unpaired UDP listener with the
/// same IP that also asks for port 0.
fn same_port_pairs(listeners: &[ListenerConfig]) -> Vec<(usize, usize)> {
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (tcp_index, tcp) in listeners.iter().enumerate() {
        if tcp.transport != Transport::Tcp || tcp.addr.port() != 0 {
            continue;
        }
        let partner = listeners.iter().enumerate().position(|(i, udp)| {
            udp.transport == Transport::Udp
                && udp.addr == tcp.addr
                && !pairs.iter().any(|&(paired, _)| paired == i)
        });
        if let Some(udp_index) = partner {
            pairs.push((udp_index, tcp_index));
        }
    }
    pairs
}

fn bind_one(
    listener: &ListenerConfig,
    udp_recv_buffer: usize,
) -> Result<BoundSocket, TransportError> {
    let bind_error = |source| TransportError::Bind {
        transport: listener.transport,
        addr: listener.addr,
        source,
    };
    match listener.transport {
        Transport::Udp => udp_socket(listener.addr, udp_recv_buffer)
            .map(BoundSocket::Udp)
            .map_err(bind_error),
        _ => tcp_listener(listener.addr)
            .map(BoundSocket::Tcp)
            .map_err(bind_error),
    }
}

fn bind_pair(
    addr: SocketAddr,
    udp_recv_buffer: usize,
) -> Result<(std::net::UdpSocket, std::net::TcpListener), TransportError> {
    let mut last_error = None;
    for _ in 0..PAIR_ATTEMPTS {
        let udp = udp_socket(addr, udp_recv_buffer).map_err(|source| TransportError::Bind {
            transport: Transport::Udp,
            addr,
            source,
        })?;
        let port = udp
            .local_addr()
            .map_err(|source| TransportError::Bind {
                transport: Transport::Udp,
                addr,
                source,
            })?
            .port();
        match tcp_listener(SocketAddr::new(addr.ip(), port)) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => last_error = Some(error),
            Err(source) => {
                return Err(TransportError::Bind {
                    transport: Transport::Tcp,
                    addr,
                    source,
                });
            }
        }
    }
    Err(TransportError::Bind {
        transport: Transport::Tcp,
        addr,
        source: last_error.expect("the loop runs at least once and only continues on an error"),
    })
}

fn udp_socket(addr: SocketAddr, recv_buffer: usize) -> io::Result<std::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        // `[::]` and `0.0.0.0` listeners may coexist on one port.
        socket.set_only_v6(true)?;
    }
    match socket.set_recv_buffer_size(recv_buffer) {
        // The kernel caps the size silently (Linux: `net.core.rmem_max`).
        Ok(()) => tracing::debug!(
            %addr,
            requested = recv_buffer,
            granted = ?socket.recv_buffer_size(),
            "UDP receive buffer"
        ),
        Err(error) => {
            tracing::warn!(%addr, recv_buffer, %error, "cannot set SO_RCVBUF on UDP socket");
        }
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

fn tcp_listener(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Lets a restarted server bind while old connections sit in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn at(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
    }

    #[test]
    fn pairs_udp_and_tcp_asking_for_port_zero_on_the_same_ip() {
        let other = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)), 0);
        let listeners = [
            ListenerConfig::tcp(at(0)),
            ListenerConfig::udp(other),
            ListenerConfig::udp(at(0)),
            ListenerConfig::tcp(at(5060)),
            ListenerConfig::tcp(at(0)),
            ListenerConfig::udp(at(0)),
        ];
        assert_eq!(same_port_pairs(&listeners), vec![(2, 0), (5, 4)]);
    }

    #[test]
    fn paired_listeners_share_the_port() {
        let config = TransportConfig::with_listeners(vec![
            ListenerConfig::udp(at(0)),
            ListenerConfig::tcp(at(0)),
        ]);
        let bound = bind_all(&config).unwrap();
        let [BoundSocket::Udp(udp), BoundSocket::Tcp(tcp)] = &bound[..] else {
            panic!("expected UDP then TCP, got {bound:?}");
        };
        assert_eq!(
            udp.local_addr().unwrap().port(),
            tcp.local_addr().unwrap().port()
        );
    }

    #[test]
    fn websocket_listeners_are_tcp_sockets_of_their_own() {
        let config = TransportConfig::with_listeners(vec![
            ListenerConfig::udp(at(0)),
            ListenerConfig::ws(at(0)),
            ListenerConfig::wss(at(0)),
        ]);
        let bound = bind_all(&config).unwrap();
        let [
            BoundSocket::Udp(_),
            BoundSocket::Tcp(ws),
            BoundSocket::Tcp(wss),
        ] = &bound[..]
        else {
            panic!("expected UDP then two TCP listeners, got {bound:?}");
        };
        assert_ne!(
            ws.local_addr().unwrap().port(),
            wss.local_addr().unwrap().port()
        );
    }

    #[test]
    fn a_taken_port_is_a_bind_error() {
        let taken = std::net::UdpSocket::bind(at(0)).unwrap();
        let config =
            TransportConfig::with_listeners(vec![ListenerConfig::udp(taken.local_addr().unwrap())]);
        let error = bind_all(&config).unwrap_err();
        assert!(matches!(
            error,
            TransportError::Bind { source, .. } if source.kind() == io::ErrorKind::AddrInUse
        ));
    }
}
