//! Shutdown.

use std::sync::Arc;

use bytes::Bytes;
use sb_sip_message::{Destination, Transport};
use sb_sip_transport::TransportError;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UdpSocket};

use crate::common::{EVENT_WAIT, Harness, expect_eof, loopback, request, tcp_dest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_everything_and_releases_the_ports() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let addr = harness.addr(Transport::Udp);

    // One inbound and one outbound connection.
    let mut phone = TcpStream::connect(addr).await.unwrap();
    phone.write_all(&request("shutdown-in", "")).await.unwrap();
    let (_, inbound) = harness.message().await;
    let trunk = TcpListener::bind(loopback(0)).await.unwrap();
    harness
        .transports
        .send(
            &tcp_dest(trunk.local_addr().unwrap(), None),
            Bytes::from(request("shutdown-out", "")),
        )
        .unwrap();
    let (mut trunk_side, _) = tokio::time::timeout(EVENT_WAIT, trunk.accept())
        .await
        .unwrap()
        .unwrap();
    let sent = request("shutdown-out", "");
    assert_eq!(
        crate::common::read_exact(&mut trunk_side, sent.len()).await,
        sent
    );
    // Its answer arrives on the outbound flow.
    trunk_side
        .write_all(&crate::common::response("shutdown-out"))
        .await
        .unwrap();
    let (_, outbound) = harness.message().await;

    harness.transports.shutdown().await;

    // Every flow was reported closed before shutdown returned.
    let mut closed = vec![harness.closed().await.0, harness.closed().await.0];
    closed.sort();
    let mut opened = vec![inbound.flow.unwrap(), outbound.flow.unwrap()];
    opened.sort();
    assert_eq!(closed, opened);
    assert_eq!(harness.transports.stats().flows_open, 0);
    harness.assert_quiet();
    expect_eof(&mut phone).await;
    expect_eof(&mut trunk_side).await;

    // No task holds the handler any more.
    assert_eq!(Arc::strong_count(&harness.handler), 1);

    // Sending is refused.
    let udp_dest = Destination {
        transport: Transport::Udp,
        remote: loopback(9),
        flow: None,
        local: None,
    };
    assert!(matches!(
        harness.transports.send(&udp_dest, Bytes::from_static(b"x")),
        Err(TransportError::ShutDown)
    ));
    assert!(matches!(
        harness
            .transports
            .send(&Destination::back_to(&inbound), Bytes::from_static(b"x")),
        Err(TransportError::ShutDown)
    ));

    // Both ports can be bound again, by plain sockets and by new transports.
    let udp = UdpSocket::bind(addr).await.unwrap();
    let tcp = TcpListener::bind(addr).await.unwrap();
    drop((udp, tcp));
    let again = Harness::start(sb_sip_transport::TransportConfig::with_listeners(vec![
        sb_sip_transport::ListenerConfig::udp(addr),
        sb_sip_transport::ListenerConfig::tcp(addr),
    ]))
    .await;
    assert_eq!(again.addr(Transport::Tcp), addr);
    again.transports.shutdown().await;
}

#[tokio::test]
async fn shutdown_twice_and_from_a_clone() {
    let harness = Harness::udp_and_tcp(|_| {}).await;
    let clone = harness.transports.clone();
    clone.shutdown().await;
    harness.transports.shutdown().await;
    assert_eq!(Arc::strong_count(&harness.handler), 1);
}
