//! Outbound TCP connections: connect, reuse, failures.

use std::io;

use bytes::Bytes;
use sb_sip_message::Transport;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::common::{EVENT_WAIT, Harness, loopback, read_exact, request, response, tcp_dest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_and_the_reply_arrives_on_the_new_flow() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let trunk = TcpListener::bind(loopback(0)).await.unwrap();
    let trunk_addr = trunk.local_addr().unwrap();

    let invite = request("out-1", "");
    harness
        .transports
        .send(&tcp_dest(trunk_addr, None), Bytes::from(invite.clone()))
        .unwrap();
    let (mut conn, from) = tokio::time::timeout(EVENT_WAIT, trunk.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_exact(&mut conn, invite.len()).await, invite);

    let answer = response("out-1");
    conn.write_all(&answer).await.unwrap();
    let (payload, peer) = harness.message().await;
    assert_eq!(payload, answer);
    assert_eq!(peer.transport, Transport::Tcp);
    assert_eq!(peer.remote, trunk_addr);
    assert_eq!(peer.local, from);
    let flow = peer.flow.expect("the new connection is a flow");
    assert_eq!(harness.transports.flow_peer(flow), Some(peer));

    // The next message to the same address reuses the connection.
    let second = request("out-2", "");
    harness
        .transports
        .send(&tcp_dest(trunk_addr, None), Bytes::from(second.clone()))
        .unwrap();
    assert_eq!(read_exact(&mut conn, second.len()).await, second);

    // A message read on the connection after the writes were counted (one
    // task runs both directions) makes the counts visible here.
    conn.write_all(&response("out-2")).await.unwrap();
    harness.message().await;
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.flows_connected, 1);
    assert_eq!(stats.traffic.stream_messages_out, 2);
    assert_eq!(stats.flows_open, 1);

    // The far end hangs up: the outbound flow closes like any other.
    drop(conn);
    assert_eq!(harness.closed().await, (flow, peer));
    harness.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_while_connecting_share_the_connection() {
    let harness = Harness::udp_and_tcp(|_| {}).await;
    let trunk = TcpListener::bind(loopback(0)).await.unwrap();
    let trunk_addr = trunk.local_addr().unwrap();

    let messages: Vec<Vec<u8>> = (0..5).map(|i| request(&format!("burst-{i}"), "")).collect();
    for message in &messages {
        harness
            .transports
            .send(&tcp_dest(trunk_addr, None), Bytes::from(message.clone()))
            .unwrap();
    }
    let (mut conn, _) = tokio::time::timeout(EVENT_WAIT, trunk.accept())
        .await
        .unwrap()
        .unwrap();
    let all = messages.concat();
    assert_eq!(read_exact(&mut conn, all.len()).await, all);
    assert_eq!(harness.transports.stats().traffic.flows_connected, 1);
    assert_eq!(harness.transports.stats().flows_open, 1);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn refused_connection_fails_every_queued_message() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    // A port nobody listens on any more.
    let closed_port = TcpListener::bind(loopback(0))
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dest = tcp_dest(closed_port, None);
    harness
        .transports
        .send(&dest, Bytes::from(request("refused-1", "")))
        .unwrap();
    harness
        .transports
        .send(&dest, Bytes::from(request("refused-2", "")))
        .unwrap();

    for _ in 0..2 {
        let (failed, kind) = harness.send_failed().await;
        assert_eq!(failed, dest);
        assert_eq!(kind, io::ErrorKind::ConnectionRefused);
    }
    let stats = harness.transports.stats();
    assert_eq!(stats.drops.connect_failures, 1);
    assert_eq!(stats.drops.send_queue_discarded, 2);
    assert_eq!(stats.flows_open, 0);
    harness.transports.shutdown().await;
    harness.assert_quiet();
}

#[tokio::test]
async fn websocket_destinations_without_a_flow_are_unsupported() {
    let harness = Harness::udp_and_tcp(|_| {}).await;
    let mut dest = tcp_dest(loopback(9), None);
    dest.transport = Transport::Ws;
    let error = harness
        .transports
        .send(&dest, Bytes::from_static(b"x"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            sb_sip_transport::TransportError::Unsupported {
                transport: Transport::Ws
            }
        ),
        "{error:?}"
    );
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn connect_timeout_fails_the_message() {
    let timeout = std::time::Duration::from_millis(300);
    let mut harness = Harness::udp_and_tcp(|config| config.tcp_connect_timeout = timeout).await;
    // A listener that never accepts, with a full accept queue: the kernel drops
    // further connection attempts, which then hang until they time out.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&loopback(0).into()).unwrap();
    socket.listen(0).unwrap();
    let full = socket.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let attempt = tokio::net::TcpStream::connect(full);
        if let Ok(Ok(stream)) = tokio::time::timeout(timeout, attempt).await {
            fillers.push(stream);
        }
    }
    assert!(
        !fillers.is_empty(),
        "the accept queue holds at least one connection"
    );

    let dest = tcp_dest(full, None);
    let started = std::time::Instant::now();
    harness
        .transports
        .send(&dest, Bytes::from(request("timeout", "")))
        .unwrap();
    let (failed, kind) = harness.send_failed().await;
    assert_eq!(failed, dest);
    assert_eq!(kind, io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= timeout);
    assert_eq!(harness.transports.stats().drops.connect_failures, 1);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn connects_from_the_ip_of_dest_local() {
    let listener_ip = std::net::Ipv4Addr::new(127, 0, 0, 2);
    let config = sb_sip_transport::TransportConfig::with_listeners(vec![
        sb_sip_transport::ListenerConfig::tcp((listener_ip, 0).into()),
    ]);
    let harness = Harness::start(config).await;
    let local = harness.addr(Transport::Tcp);
    let trunk = TcpListener::bind(loopback(0)).await.unwrap();
    let mut dest = tcp_dest(trunk.local_addr().unwrap(), None);
    dest.local = Some(local);
    harness
        .transports
        .send(&dest, Bytes::from(request("from-local", "")))
        .unwrap();
    let (_, from) = tokio::time::timeout(EVENT_WAIT, trunk.accept())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(from.ip(), std::net::IpAddr::V4(listener_ip));
    harness.transports.shutdown().await;
}
