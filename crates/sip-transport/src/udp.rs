//! UDP: the receive loop of each socket and the send path.
//!
//! Receiving reuses one buffer per socket and copies each datagram into a
//! `Bytes` of exactly its size, so a message holds no more memory than it
//! needs however long the caller keeps it. Sending tries the socket right away
//! and only falls back to a task when the socket buffer is full.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use bytes::Bytes;
use sb_sip_message::{Destination, Peer, Transport};
use tokio::net::UdpSocket;

use crate::catch::catch_panic;
use crate::error::TransportError;
use crate::handler::InboundHandler;
use crate::shared::Shared;
use crate::stats::{add, bump};

/// Datagrams that may wait in fallback tasks (socket buffer full) before
/// sends are refused with [`TransportError::QueueFull`].
pub(crate) const UDP_BACKLOG: usize = 1024;

/// The largest UDP payload; a receive buffer one byte larger than the limit
/// tells an oversize datagram from one of exactly the limit.
const MAX_DATAGRAM: usize = 65_535;

/// A bound UDP socket.
#[derive(Debug, Clone)]
pub(crate) struct UdpEndpoint {
    /// Its bound address.
    pub(crate) local: SocketAddr,
    pub(crate) socket: Arc<UdpSocket>,
}

/// Runs the receive loop of `endpoint` forever (the caller stops it at
/// shutdown). A panic in the handler is logged and the loop starts again, so
/// one bad datagram cannot silence the socket.
pub(crate) async fn receive<H: InboundHandler>(
    shared: Arc<Shared>,
    handler: Arc<H>,
    endpoint: UdpEndpoint,
) {
    loop {
        let receiving = recv_loop(&shared, &*handler, &endpoint);
        if catch_panic(receiving).await.is_err() {
            tracing::error!(local = %endpoint.local, "panic while receiving on UDP; restarting");
        }
    }
}

/// Receives datagrams on `socket` forever.
async fn recv_loop<H: InboundHandler>(shared: &Shared, handler: &H, endpoint: &UdpEndpoint) {
    let max = shared.limits.max_udp_message.min(MAX_DATAGRAM);
    let mut buf = vec![0u8; max + 1];
    let counters = &shared.counters;
    loop {
        let (len, remote) = match endpoint.socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors and similar belong to one datagram; the socket
                // stays usable.
                bump(&counters.drops.udp_recv_errors);
                tracing::debug!(local = %endpoint.local, %error, "UDP receive error");
                tokio::task::yield_now().await;
                continue;
            }
        };
        let datagram = &buf[..len];
        if len > max {
            bump(&counters.drops.udp_oversize);
            tracing::debug!(local = %endpoint.local, %remote, "oversize datagram dropped");
            continue;
        }
        if is_keepalive(datagram) {
            bump(&counters.traffic.udp_keepalives_in);
            continue;
        }
        bump(&counters.traffic.udp_datagrams_in);
        add(&counters.traffic.udp_bytes_in, len as u64);
        let peer = Peer {
            transport: Transport::Udp,
            remote,
            local: endpoint.local,
            flow: None,
        };
        handler
            .on_message(Bytes::copy_from_slice(datagram), peer)
            .await;
    }
}

/// A datagram of only whitespace: a CRLF keep-alive (RFC 5626 §4.4.1 uses STUN
/// on UDP, but CRLF keep-alives are common in practice).
fn is_keepalive(datagram: &[u8]) -> bool {
    datagram
        .iter()
        .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
}

/// Sends one datagram from the socket bound to `dest.local`, or the first one
/// of the destination's address family.
pub(crate) fn send(
    shared: &Arc<Shared>,
    dest: &Destination,
    payload: Bytes,
) -> Result<(), TransportError> {
    let endpoints = shared.udp.read().unwrap_or_else(PoisonError::into_inner);
    let endpoint = endpoints
        .iter()
        .find(|endpoint| match dest.local {
            Some(local) => serves(endpoint.local, local),
            None => endpoint.local.is_ipv4() == dest.remote.is_ipv4(),
        })
        .ok_or(TransportError::NoSocket {
            transport: Transport::Udp,
            local: dest.local,
            remote: dest.remote,
        })?;
    let counters = &shared.counters;
    match endpoint.socket.try_send_to(&payload, dest.remote) {
        Ok(_) => {
            bump(&counters.traffic.udp_datagrams_out);
            add(&counters.traffic.udp_bytes_out, payload.len() as u64);
            Ok(())
        }
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
            // Shutdown cancels before it empties the socket list under the
            // write lock, so a task spawned here is tracked before shutdown
            // waits for the tasks.
            if shared.shutdown.is_cancelled() {
                return Err(TransportError::ShutDown);
            }
            if shared.udp_backlog.fetch_add(1, Ordering::Relaxed) >= UDP_BACKLOG {
                shared.udp_backlog.fetch_sub(1, Ordering::Relaxed);
                bump(&counters.drops.send_queue_full);
                return Err(TransportError::QueueFull {
                    transport: Transport::Udp,
                    remote: dest.remote,
                });
            }
            let task = send_later(shared.clone(), endpoint.socket.clone(), *dest, payload);
            shared.tasks.spawn_on(task, &shared.runtime);
            Ok(())
        }
        Err(source) => {
            bump(&counters.drops.udp_send_errors);
            Err(TransportError::Send {
                transport: Transport::Udp,
                remote: dest.remote,
                source,
            })
        }
    }
}

/// Whether a socket bound to `bound` sends from `local`: the same address, or
/// a wildcard address of the same family and port.
fn serves(bound: SocketAddr, local: SocketAddr) -> bool {
    bound == local
        || (bound.ip().is_unspecified()
            && bound.port() == local.port()
            && bound.is_ipv4() == local.is_ipv4())
}

/// Waits until the socket can take the datagram; a failure goes to
/// `on_send_failed`.
async fn send_later(
    shared: Arc<Shared>,
    socket: Arc<UdpSocket>,
    dest: Destination,
    payload: Bytes,
) {
    let result = tokio::select! {
        result = socket.send_to(&payload, dest.remote) => result,
        () = shared.shutdown.cancelled() => {
            Err(io::Error::new(io::ErrorKind::Interrupted, "transports shutting down"))
        }
    };
    shared.udp_backlog.fetch_sub(1, Ordering::Relaxed);
    let counters = &shared.counters;
    match result {
        Ok(_) => {
            bump(&counters.traffic.udp_datagrams_out);
            add(&counters.traffic.udp_bytes_out, payload.len() as u64);
        }
        Err(error) => {
            bump(&counters.drops.udp_send_errors);
            if let Some(events) = shared.events() {
                events.send_failed(dest, error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_sockets_serve_their_port_on_every_address() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(serves(at("192.0.2.1:5060"), at("192.0.2.1:5060")));
        assert!(!serves(at("192.0.2.1:5060"), at("192.0.2.2:5060")));
        assert!(serves(at("0.0.0.0:5060"), at("192.0.2.2:5060")));
        assert!(!serves(at("0.0.0.0:5060"), at("192.0.2.2:5070")));
        assert!(!serves(at("0.0.0.0:5060"), at("[2001:db8::1]:5060")));
        assert!(serves(at("[::]:5060"), at("[2001:db8::1]:5060")));
    }

    #[test]
    fn whitespace_only_datagrams_are_keepalives() {
        assert!(is_keepalive(b"\r\n\r\n"));
        assert!(is_keepalive(b"\r\n"));
        assert!(is_keepalive(b" \t\n"));
        assert!(is_keepalive(b""));
        assert!(!is_keepalive(b"\r\nOPTIONS"));
        assert!(!is_keepalive(b"\0"));
    }
}
