//! Where a server transaction sends its responses (RFC 3261 §18.2.2, RFC 3581 §4).

use std::net::SocketAddr;

use sb_sip_message::{Destination, Peer, Transport, Via};

/// The destination for the responses of a request that arrived from `peer` with
/// top Via `via` (stamped or not: only the sent-by port and the presence of
/// `rport` matter).
///
/// - Reliable transports (TCP, TLS, WS, WSS): the connection the request came
///   on (`flow`), and, for when it has closed, the source IP with the sent-by
///   port or the transport's default port, so a new connection can be opened
///   there (RFC 3261 §18.2.2, first rule).
/// - Unreliable (UDP) with `rport`: the source IP and source port (RFC 3581 §4).
/// - Unreliable without `rport`: the source IP (what `received` holds) and the
///   sent-by port, or 5060 (RFC 3261 §18.2.2, third rule).
///
/// Responses always leave through the local socket the request arrived on.
/// `maddr` (multicast responses, RFC 3261 §18.2.2 second rule) is not
/// supported: its parameter is ignored and the response goes to the source.
pub fn response_destination(via: &Via, peer: &Peer) -> Destination {
    let source_ip = peer.remote.ip();
    let remote = if peer.transport.is_reliable() {
        SocketAddr::new(source_ip, via.port.unwrap_or(peer.transport.default_port()))
    } else if via.rport().is_some() {
        peer.remote
    } else {
        SocketAddr::new(source_ip, via.port.unwrap_or(Transport::Udp.default_port()))
    };
    Destination {
        transport: peer.transport,
        remote,
        flow: peer.flow,
        local: Some(peer.local),
    }
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{ByteStr, FlowId, Host, Param, Params};

    use super::*;

    fn via(port: Option<u16>, params: &[(&str, Option<&str>)]) -> Via {
        Via {
            protocol: ByteStr::from_static("SIP/2.0"),
            transport_token: ByteStr::from_static("UDP"),
            host: Host::Domain(ByteStr::from_static("client.example.com")),
            port,
            params: Params::from(
                params
                    .iter()
                    .map(|(n, v)| Param {
                        name: ByteStr::from(*n),
                        value: v.map(ByteStr::from),
                    })
                    .collect::<Vec<_>>(),
            ),
        }
    }

    /// (transport, source, flow, Via sent-by port, Via params, expected remote)
    type Row<'a> = (
        Transport,
        &'a str,
        Option<u64>,
        Option<u16>,
        Vec<(&'a str, Option<&'a str>)>,
        &'a str,
    );

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn table() {
        let local = addr("192.0.2.1:5060");
        let local6 = addr("[2001:db8::1]:5060");
        let branch = ("branch", Some("z9hG4bK1"));
        let rows: [Row<'_>; 12] = [
            // UDP, no rport: source IP (received) with the sent-by port.
            (
                Transport::Udp,
                "192.0.2.10:40000",
                None,
                Some(5070),
                vec![branch],
                "192.0.2.10:5070",
            ),
            // UDP, no rport, no sent-by port: 5060.
            (
                Transport::Udp,
                "192.0.2.10:40000",
                None,
                None,
                vec![branch],
                "192.0.2.10:5060",
            ),
            // UDP, rport requested (unstamped): source IP and port.
            (
                Transport::Udp,
                "192.0.2.10:40000",
                None,
                Some(5070),
                vec![branch, ("rport", None)],
                "192.0.2.10:40000",
            ),
            // UDP, rport already stamped.
            (
                Transport::Udp,
                "192.0.2.10:40000",
                None,
                None,
                vec![
                    branch,
                    ("rport", Some("40000")),
                    ("received", Some("192.0.2.10")),
                ],
                "192.0.2.10:40000",
            ),
            // UDP over IPv6, no rport.
            (
                Transport::Udp,
                "[2001:db8::10]:41000",
                None,
                Some(5062),
                vec![branch],
                "[2001:db8::10]:5062",
            ),
            // UDP over IPv6 with rport.
            (
                Transport::Udp,
                "[2001:db8::10]:41000",
                None,
                None,
                vec![branch, ("rport", None)],
                "[2001:db8::10]:41000",
            ),
            // maddr is ignored.
            (
                Transport::Udp,
                "192.0.2.10:40000",
                None,
                None,
                vec![branch, ("maddr", Some("239.255.255.1"))],
                "192.0.2.10:5060",
            ),
            // TCP: the flow, and the source IP with the sent-by port for reconnecting.
            (
                Transport::Tcp,
                "192.0.2.10:50123",
                Some(7),
                Some(5080),
                vec![branch],
                "192.0.2.10:5080",
            ),
            // TCP, no sent-by port: 5060; rport does not change the reconnect address.
            (
                Transport::Tcp,
                "192.0.2.10:50123",
                Some(7),
                None,
                vec![branch, ("rport", None)],
                "192.0.2.10:5060",
            ),
            // TLS default port 5061.
            (
                Transport::Tls,
                "192.0.2.10:50124",
                Some(8),
                None,
                vec![branch],
                "192.0.2.10:5061",
            ),
            // WS default port 80, WSS 443.
            (
                Transport::Ws,
                "192.0.2.10:50125",
                Some(9),
                None,
                vec![branch],
                "192.0.2.10:80",
            ),
            (
                Transport::Wss,
                "[2001:db8::10]:50126",
                Some(10),
                None,
                vec![branch],
                "[2001:db8::10]:443",
            ),
        ];
        for (i, (transport, source, flow, port, params, expected)) in rows.into_iter().enumerate() {
            let source = addr(source);
            let local = if source.is_ipv6() { local6 } else { local };
            let peer = Peer {
                transport,
                remote: source,
                local,
                flow: flow.map(FlowId),
            };
            let dest = response_destination(&via(port, &params), &peer);
            assert_eq!(
                dest,
                Destination {
                    transport,
                    remote: addr(expected),
                    flow: flow.map(FlowId),
                    local: Some(local),
                },
                "row {i}"
            );
        }
    }
}
