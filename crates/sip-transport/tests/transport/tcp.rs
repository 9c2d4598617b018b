//! Inbound TCP connections: framing, keep-alives, limits, closing.

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Transport};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::{Harness, expect_eof, read_exact, request, response, tcp_dest};

async fn connect(harness: &Harness) -> TcpStream {
    let stream = TcpStream::connect(harness.addr(Transport::Tcp))
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_in_one_write() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    let first = request("tcp-1", "v=0\r\n");
    let second = request("tcp-2", "");
    phone
        .write_all(&[first.clone(), second.clone()].concat())
        .await
        .unwrap();

    let (payload, peer) = harness.message().await;
    assert_eq!(payload, first);
    assert_eq!(peer.transport, Transport::Tcp);
    assert_eq!(peer.remote, phone.local_addr().unwrap());
    assert_eq!(peer.local, harness.addr(Transport::Tcp));
    let flow = peer.flow.expect("a TCP message carries its flow");
    assert_eq!(harness.transports.flow_peer(flow), Some(peer));

    let (payload, again) = harness.message().await;
    assert_eq!(payload, second);
    assert_eq!(again, peer);

    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.stream_messages_in, 2);
    assert_eq!(stats.traffic.flows_accepted, 1);
    assert_eq!(stats.flows_open, 1);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn one_message_written_byte_by_byte() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    let message = request("tcp-bytes", "hello");
    for byte in &message {
        phone.write_all(std::slice::from_ref(byte)).await.unwrap();
    }
    let (payload, _) = harness.message().await;
    assert_eq!(payload, message);
    assert_eq!(
        harness.transports.stats().traffic.stream_bytes_in,
        message.len() as u64
    );
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn ping_is_answered_with_pong_and_pongs_are_ignored() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone.write_all(b"\r\n\r\n").await.unwrap();
    assert_eq!(read_exact(&mut phone, 2).await, b"\r\n");

    // A pong from the phone, then a message: only the message is delivered.
    let message = request("tcp-after-pong", "");
    phone.write_all(b"\r\n").await.unwrap();
    phone.write_all(&message).await.unwrap();
    let (payload, _) = harness.message().await;
    assert_eq!(payload, message);

    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.stream_pings_in, 1);
    assert_eq!(stats.traffic.stream_pongs_in, 1);
    assert_eq!(stats.traffic.stream_messages_out, 0);
    assert_eq!(stats.traffic.stream_bytes_out, 2);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn oversize_message_closes_the_connection() {
    let mut harness = Harness::udp_and_tcp(|config| config.max_stream_message = 600).await;
    let mut phone = connect(&harness).await;
    // The header section announces a body that would exceed the limit.
    let message = request("tcp-big", &"x".repeat(1_000));
    phone.write_all(&message).await.unwrap();

    let (_, peer) = harness.closed().await;
    assert_eq!(peer.remote, phone.local_addr().unwrap());
    expect_eof(&mut phone).await;
    let stats = harness.transports.stats();
    assert_eq!(stats.drops.stream_oversize, 1);
    assert_eq!(stats.traffic.stream_messages_in, 0);
    assert_eq!(stats.flows_open, 0);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn endless_header_section_closes_the_connection() {
    let mut harness = Harness::udp_and_tcp(|config| config.max_stream_message = 600).await;
    let mut phone = connect(&harness).await;
    phone
        .write_all(b"OPTIONS sip:bob@example.com SIP/2.0\r\n")
        .await
        .unwrap();
    for _ in 0..100 {
        // The peer may close before every line is written.
        if phone
            .write_all(b"X-Filler: aaaaaaaaaaaaaaaa\r\n")
            .await
            .is_err()
        {
            break;
        }
    }
    harness.closed().await;
    expect_eof(&mut phone).await;
    assert_eq!(harness.transports.stats().drops.stream_oversize, 1);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn framing_error_closes_the_connection() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone
        .write_all(
            b"OPTIONS sip:bob@example.com SIP/2.0\r\n\
              Call-ID: no-length\r\n\r\n",
        )
        .await
        .unwrap();
    let (flow, _) = harness.closed().await;
    expect_eof(&mut phone).await;
    assert_eq!(harness.transports.flow_peer(flow), None);
    assert_eq!(harness.transports.stats().drops.stream_framing_errors, 1);
    harness.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_over_a_flow_by_id_and_by_remote_address() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone.write_all(&request("tcp-reuse", "")).await.unwrap();
    let (_, peer) = harness.message().await;
    let flow = peer.flow.unwrap();

    // By flow id, as when reaching a contact registered over this connection.
    let by_flow = response("by-flow");
    let dest = Destination::back_to(&peer);
    harness
        .transports
        .send(&dest, Bytes::from(by_flow.clone()))
        .unwrap();
    assert_eq!(read_exact(&mut phone, by_flow.len()).await, by_flow);

    // The flow id is unknown, but a connection to the address exists.
    let by_remote = response("by-remote");
    let gone = FlowId(u64::MAX);
    harness
        .transports
        .send(
            &tcp_dest(peer.remote, Some(gone)),
            Bytes::from(by_remote.clone()),
        )
        .unwrap();
    assert_eq!(read_exact(&mut phone, by_remote.len()).await, by_remote);

    // A message read on the connection after the writes were counted (one
    // task runs both directions) makes the counts visible here.
    phone.write_all(&request("tcp-sync", "")).await.unwrap();
    harness.message().await;
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.stream_messages_out, 2);
    assert_eq!(stats.traffic.flows_connected, 0);
    assert_eq!(stats.flows_open, 1);
    assert_eq!(harness.transports.flow_peer(flow), Some(peer));
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn peer_closing_reports_the_flow_once() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone.write_all(&request("tcp-close", "")).await.unwrap();
    let (_, peer) = harness.message().await;
    drop(phone);

    let (flow, closed) = harness.closed().await;
    assert_eq!(Some(flow), peer.flow);
    assert_eq!(closed, peer);
    assert_eq!(harness.transports.flow_peer(flow), None);
    assert_eq!(harness.transports.stats().traffic.flows_closed, 1);
    harness.transports.shutdown().await;
    harness.assert_quiet();
}

#[tokio::test]
async fn close_flow_closes_the_connection() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone
        .write_all(&request("tcp-close-flow", ""))
        .await
        .unwrap();
    let (_, peer) = harness.message().await;
    let flow = peer.flow.unwrap();

    harness.transports.close_flow(flow);
    assert_eq!(harness.transports.flow_peer(flow), None);
    assert_eq!(harness.closed().await, (flow, peer));
    expect_eof(&mut phone).await;
    harness.transports.shutdown().await;
    harness.assert_quiet();
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let idle = std::time::Duration::from_millis(300);
    let mut harness = Harness::udp_and_tcp(|config| config.tcp_idle_timeout = idle).await;
    let mut phone = connect(&harness).await;
    phone.write_all(&request("tcp-idle", "")).await.unwrap();
    let (_, peer) = harness.message().await;
    let last_traffic = Instant::now();

    let (flow, _) = harness.closed().await;
    assert!(last_traffic.elapsed() >= idle - std::time::Duration::from_millis(50));
    assert_eq!(Some(flow), peer.flow);
    expect_eof(&mut phone).await;
    assert_eq!(harness.transports.stats().drops.idle_timeouts, 1);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_limit_are_refused() {
    let mut harness = Harness::udp_and_tcp(|config| config.max_connections = 1).await;
    let mut first = connect(&harness).await;
    first.write_all(&request("tcp-limit-1", "")).await.unwrap();
    let (_, peer) = harness.message().await;

    let mut second = connect(&harness).await;
    expect_eof(&mut second).await;
    let stats = harness.transports.stats();
    assert_eq!(stats.drops.connections_refused, 1);
    assert_eq!(stats.flows_open, 1);
    assert_eq!(stats.traffic.flows_accepted, 1);

    // Outbound connections count too.
    let elsewhere = tcp_dest(crate::common::loopback(9), None);
    let error = harness
        .transports
        .send(&elsewhere, Bytes::from_static(b"x"))
        .unwrap_err();
    assert!(
        matches!(
            error,
            sb_sip_transport::TransportError::ConnectionLimit { limit: 1 }
        ),
        "{error:?}"
    );

    // The first connection still works.
    let answer = response("tcp-limit-1");
    harness
        .transports
        .send(&Destination::back_to(&peer), Bytes::from(answer.clone()))
        .unwrap();
    assert_eq!(read_exact(&mut first, answer.len()).await, answer);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn full_queue_refuses_and_close_reports_unwritten_messages() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone.write_all(&request("tcp-slow", "")).await.unwrap();
    let (_, peer) = harness.message().await;
    let flow = peer.flow.unwrap();
    let dest = Destination::back_to(&peer);

    // The phone never reads. Without an await in between, the writer cannot
    // drain the queue, so it fills at its capacity.
    let big = Bytes::from(vec![b'x'; 256 * 1024]);
    let mut accepted = 0;
    let error = loop {
        match harness.transports.send(&dest, big.clone()) {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
        assert!(accepted < 10_000, "the queue never filled");
    };
    assert!(
        matches!(error, sb_sip_transport::TransportError::QueueFull { .. }),
        "{error:?}"
    );
    assert_eq!(harness.transports.stats().drops.send_queue_full, 1);

    // More than the socket buffers can take is queued: closing the flow
    // reports the rest, after the close itself.
    harness.transports.close_flow(flow);
    assert_eq!(harness.closed().await, (flow, peer));
    let discarded = harness.transports.stats().drops.send_queue_discarded;
    assert!(
        discarded >= 1 && discarded <= accepted,
        "{discarded} of {accepted}"
    );
    for _ in 0..discarded {
        let (failed, kind) = harness.send_failed().await;
        assert_eq!(failed, dest);
        assert_eq!(kind, std::io::ErrorKind::NotConnected);
    }
    harness.transports.shutdown().await;
    harness.assert_quiet();
    drop(phone);
}

#[tokio::test]
async fn a_panicking_handler_closes_only_its_connection() {
    let mut harness = Harness::udp_and_tcp(|_| {}).await;
    let mut phone = connect(&harness).await;
    phone.write_all(&request("before-panic", "")).await.unwrap();
    let (_, peer) = harness.message().await;
    phone
        .write_all(&crate::common::panicking_request())
        .await
        .unwrap();
    assert_eq!(harness.closed().await, (peer.flow.unwrap(), peer));
    expect_eof(&mut phone).await;
    assert_eq!(harness.transports.flow_peer(peer.flow.unwrap()), None);
    assert_eq!(harness.transports.stats().flows_open, 0);

    let mut other = connect(&harness).await;
    let options = request("after-panic", "");
    other.write_all(&options).await.unwrap();
    assert_eq!(harness.message().await.0, options);
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn connections_beyond_the_per_source_limit_are_refused() {
    let mut harness = Harness::udp_and_tcp(|config| config.max_connections_per_source = 2).await;
    let mut first = connect(&harness).await;
    first.write_all(&request("src-1", "")).await.unwrap();
    let (_, first_peer) = harness.message().await;
    let mut second = connect(&harness).await;
    second.write_all(&request("src-2", "")).await.unwrap();
    harness.message().await;

    let mut third = connect(&harness).await;
    expect_eof(&mut third).await;
    let stats = harness.transports.stats();
    assert_eq!(stats.drops.source_connections_refused, 1);
    assert_eq!(stats.flows_open, 2);

    // Another source address has its own count.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = socket.connect(harness.addr(Transport::Tcp)).await.unwrap();
    other.write_all(&request("src-other", "")).await.unwrap();
    let (_, other_peer) = harness.message().await;
    assert_eq!(other_peer.remote.ip().to_string(), "127.0.0.2");

    // A closed connection gives its place back.
    drop(first);
    assert_eq!(harness.closed().await.1, first_peer);
    let mut fourth = connect(&harness).await;
    fourth.write_all(&request("src-4", "")).await.unwrap();
    harness.message().await;
    assert_eq!(
        harness.transports.stats().drops.source_connections_refused,
        1
    );
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn a_message_not_completed_in_time_closes_the_connection() {
    let limit = std::time::Duration::from_millis(300);
    let mut harness = Harness::udp_and_tcp(|config| config.stream_message_timeout = limit).await;
    let mut phone = connect(&harness).await;
    phone.write_all(&request("slow-1", "")).await.unwrap();
    let (_, peer) = harness.message().await;

    // Part of a message, and nothing more: a slow sender.
    let text = request("slow-2", "");
    phone.write_all(&text[..40]).await.unwrap();
    let begun = Instant::now();
    let (flow, _) = harness.closed().await;
    assert!(begun.elapsed() >= limit - std::time::Duration::from_millis(50));
    assert_eq!(Some(flow), peer.flow);
    expect_eof(&mut phone).await;
    let drops = harness.transports.stats().drops;
    assert_eq!((drops.slow_messages, drops.idle_timeouts), (1, 0));
    harness.transports.shutdown().await;
}
