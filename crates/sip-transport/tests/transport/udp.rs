//! UDP receive and send.

use bytes::Bytes;
use sb_sip_message::{Destination, Transport};
use sb_sip_transport::{ListenerConfig, TransportConfig, TransportError};
use tokio::net::UdpSocket;

use crate::common::{EVENT_WAIT, Harness, loopback, request, response};

async fn client() -> UdpSocket {
    UdpSocket::bind(loopback(0)).await.unwrap()
}

async fn recv(socket: &UdpSocket) -> (Vec<u8>, std::net::SocketAddr) {
    let mut buf = vec![0; 70_000];
    let (len, from) = tokio::time::timeout(EVENT_WAIT, socket.recv_from(&mut buf))
        .await
        .expect("a datagram within the wait")
        .unwrap();
    buf.truncate(len);
    (buf, from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datagram_in_and_answer_out() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let server = harness.addr(Transport::Udp);
    let phone = client().await;
    let options = request("udp-1", "");
    phone.send_to(&options, server).await.unwrap();

    let (payload, peer) = harness.message().await;
    assert_eq!(payload, options);
    assert_eq!(peer.transport, Transport::Udp);
    assert_eq!(peer.remote, phone.local_addr().unwrap());
    assert_eq!(peer.local, server);
    assert_eq!(peer.flow, None);

    let answer = response("udp-1");
    harness
        .transports
        .send(&Destination::back_to(&peer), Bytes::from(answer.clone()))
        .unwrap();
    let (got, from) = recv(&phone).await;
    assert_eq!(got, answer);
    assert_eq!(from, server);

    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.udp_datagrams_in, 1);
    assert_eq!(stats.traffic.udp_bytes_in, options.len() as u64);
    assert_eq!(stats.traffic.udp_datagrams_out, 1);
    assert_eq!(stats.traffic.udp_bytes_out, answer.len() as u64);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn keepalives_and_oversize_datagrams_are_dropped_and_counted() {
    let limit = 400;
    let mut harness = Harness::udp_and_tcp(|config| config.max_udp_message = limit).await;
    let server = harness.addr(Transport::Udp);
    let phone = client().await;

    phone.send_to(b"\r\n\r\n", server).await.unwrap();
    phone.send_to(b"\r\n", server).await.unwrap();
    let mut too_big = request("udp-big", &"x".repeat(limit));
    too_big.truncate(limit + 1);
    phone.send_to(&too_big, server).await.unwrap();
    let exact = request("udp-exact", "");
    let exact = [exact.clone(), vec![b'y'; limit - exact.len()]].concat();
    assert_eq!(exact.len(), limit);
    phone.send_to(&exact, server).await.unwrap();

    // Datagrams from one socket arrive in order on loopback: the first one
    // delivered is the one of exactly the limit.
    let (payload, _) = harness.message().await;
    assert_eq!(payload, exact);
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.udp_keepalives_in, 2);
    assert_eq!(stats.drops.udp_oversize, 1);
    assert_eq!(stats.traffic.udp_datagrams_in, 1);
    harness.transports.shutdown().await;
    harness.assert_quiet();
}

#[tokio::test]
async fn sends_from_the_socket_bound_to_dest_local() {
    let config = TransportConfig::with_listeners(vec![
        ListenerConfig::udp(loopback(0)),
        ListenerConfig::udp(loopback(0)),
    ]);
    let harness = Harness::start(config).await;
    let addrs = harness.transports.local_addrs();
    assert_eq!(addrs.len(), 2);
    let (first, second) = (addrs[0].1, addrs[1].1);
    assert_ne!(first, second);
    let phone = client().await;

    let mut dest = Destination {
        transport: Transport::Udp,
        remote: phone.local_addr().unwrap(),
        flow: None,
        local: Some(second),
    };
    harness
        .transports
        .send(&dest, Bytes::from_static(b"from second"))
        .unwrap();
    let (got, from) = recv(&phone).await;
    assert_eq!((got.as_slice(), from), (&b"from second"[..], second));

    dest.local = Some(first);
    harness
        .transports
        .send(&dest, Bytes::from_static(b"from first"))
        .unwrap();
    let (got, from) = recv(&phone).await;
    assert_eq!((got.as_slice(), from), (&b"from first"[..], first));

    dest.local = Some(loopback(9));
    let error = harness
        .transports
        .send(&dest, Bytes::from_static(b"nowhere"))
        .unwrap_err();
    assert!(
        matches!(error, TransportError::NoSocket { .. }),
        "{error:?}"
    );
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn same_port_for_udp_and_tcp() {
    let harness = Harness::udp_and_tcp(|_| {}).await;
    let udp = harness.addr(Transport::Udp);
    let tcp = harness.addr(Transport::Tcp);
    assert_ne!(udp.port(), 0);
    assert_eq!(udp, tcp);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn a_wss_listener_without_a_certificate_is_refused() {
    let config = TransportConfig::with_listeners(vec![ListenerConfig::wss(loopback(0))]);
    let result = Harness::try_start(config).await;
    assert!(matches!(
        result,
        Err(TransportError::NoTlsCertificate { addr }) if addr == loopback(0)
    ));
}

#[tokio::test]
async fn a_panicking_handler_does_not_silence_the_socket() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let server = harness.addr(Transport::Udp);
    let phone = client().await;
    phone
        .send_to(&crate::common::panicking_request(), server)
        .await
        .unwrap();
    let options = request("after-panic", "");
    phone.send_to(&options, server).await.unwrap();
    let (payload, _) = harness.message().await;
    assert_eq!(payload, options);
    harness.transports.shutdown().await;
}
