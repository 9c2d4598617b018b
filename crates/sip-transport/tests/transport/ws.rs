//! WebSocket (RFC 7118): one message per frame both ways over the same
//! connection, frames with more or less than one message, the subprotocol,
//! closing, and connections upgraded by another server.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sb_sip_message::{Destination, Transport};
use sb_sip_transport::{ListenerConfig, MAX_BAD_FRAMES, TransportConfig, TransportStats};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::common::{EVENT_WAIT, Harness, loopback, request, response};

type Client = WebSocketStream<TcpStream>;

/// Transports with a WS listener on 127.0.0.1.
async fn ws_harness() -> Harness {
    Harness::start(TransportConfig::with_listeners(vec![ListenerConfig::ws(
        loopback(0),
    )]))
    .await
}

/// A client of `harness`'s WS listener offering `protocol`.
async fn connect(harness: &Harness, protocol: Option<&str>) -> Result<Client, WsError> {
    let url = format!("ws://{}/", harness.addr(Transport::Ws));
    let mut request = url.into_client_request().unwrap();
    if let Some(protocol) = protocol {
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            HeaderValue::from_str(protocol).unwrap(),
        );
    }
    let tcp = TcpStream::connect(harness.addr(Transport::Ws))
        .await
        .unwrap();
    let connect = tokio_tungstenite::client_async(request, tcp);
    let (client, response) = tokio::time::timeout(EVENT_WAIT, connect)
        .await
        .expect("handshake within the wait")?;
    assert_eq!(
        response.headers().get("Sec-WebSocket-Protocol").unwrap(),
        "sip"
    );
    Ok(client)
}

/// The next data frame's payload.
async fn next_data<S>(client: &mut WebSocketStream<S>) -> Message
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let frame = tokio::time::timeout(EVENT_WAIT, client.next())
            .await
            .expect("a frame within the wait")
            .expect("connection open")
            .expect("a frame");
        if matches!(frame, Message::Text(_) | Message::Binary(_)) {
            return frame;
        }
    }
}

async fn wait_for_stats(harness: &Harness, check: impl Fn(&TransportStats) -> bool) {
    let deadline = Instant::now() + EVENT_WAIT;
    while !check(&harness.transports.stats()) {
        assert!(
            Instant::now() < deadline,
            "stats never matched: {:?}",
            harness.transports.stats()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_request_in_one_frame_is_answered_in_one_frame_over_its_flow() {
    let mut harness = ws_harness().await;
    let mut client = connect(&harness, Some("sip")).await.expect("handshake");
    let sent = request("ws1", "");
    client
        .send(Message::text(String::from_utf8(sent.clone()).unwrap()))
        .await
        .unwrap();
    let (payload, peer) = harness.message().await;
    assert_eq!(payload, sent);
    assert_eq!(peer.transport, Transport::Ws);
    assert!(peer.flow.is_some());
    assert_eq!(harness.transports.flow_peer(peer.flow.unwrap()), Some(peer));

    let answer = response("ws1");
    harness
        .transports
        .send(&Destination::back_to(&peer), Bytes::from(answer.clone()))
        .unwrap();
    assert_eq!(
        next_data(&mut client).await,
        Message::text(String::from_utf8(answer).unwrap())
    );
    // A destination naming the flow reaches it too; a binary body goes as a
    // binary frame.
    let binary = [&response("ws2")[..], &[0xff, 0xfe][..]].concat();
    harness
        .transports
        .send(&Destination::back_to(&peer), Bytes::from(binary.clone()))
        .unwrap();
    assert_eq!(next_data(&mut client).await, Message::binary(binary));
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.stream_messages_in, 1);
    assert_eq!(stats.traffic.stream_messages_out, 2);
    assert_eq!(stats.flows_open, 1);
}

#[tokio::test]
async fn frames_without_exactly_one_message_are_counted_and_dropped() {
    let mut harness = ws_harness().await;
    let mut client = connect(&harness, Some("sip")).await.expect("handshake");
    let two = [request("a", ""), request("b", "")].concat();
    client.send(Message::binary(two)).await.unwrap();
    let partial = request("c", "hello");
    client
        .send(Message::binary(partial[..partial.len() - 2].to_vec()))
        .await
        .unwrap();
    client
        .send(Message::binary(request("d", "")))
        .await
        .unwrap();
    let (payload, _) = harness.message().await;
    assert_eq!(payload, request("d", ""));
    // A double-CRLF keep-alive is answered with a CRLF frame.
    client.send(Message::text("\r\n\r\n")).await.unwrap();
    assert_eq!(next_data(&mut client).await, Message::text("\r\n"));
    let stats = harness.transports.stats();
    assert_eq!(stats.drops.ws_bad_frames, 2);
    assert_eq!(stats.traffic.stream_pings_in, 1);
    assert_eq!(stats.flows_open, 1, "the connection survives");
    harness.assert_quiet();

    // A peer that keeps misbehaving is closed.
    for _ in 2..MAX_BAD_FRAMES {
        client.send(Message::binary(two_copies())).await.unwrap();
    }
    let (_, peer) = harness.closed().await;
    assert_eq!(peer.transport, Transport::Ws);
    wait_for_stats(&harness, |s| {
        s.drops.ws_connections_closed == 1 && s.flows_open == 0
    })
    .await;
}

fn two_copies() -> Vec<u8> {
    [request("e", ""), request("e", "")].concat()
}

#[tokio::test]
async fn a_handshake_without_the_sip_subprotocol_is_refused() {
    let harness = ws_harness().await;
    for protocol in [None, Some("chat")] {
        match connect(&harness, protocol).await {
            Err(WsError::Http(response)) => assert_eq!(response.status(), 400),
            Err(other) => panic!("{protocol:?}: unexpected {other}"),
            Ok(_) => panic!("{protocol:?}: handshake accepted"),
        }
    }
    wait_for_stats(&harness, |s| s.drops.ws_handshakes_refused == 2).await;
    assert_eq!(harness.transports.stats().flows_open, 0);
}

#[tokio::test]
async fn a_close_frame_removes_the_flow_and_is_reported() {
    let mut harness = ws_harness().await;
    let mut client = connect(&harness, Some("sip")).await.expect("handshake");
    client
        .send(Message::text(String::from_utf8(request("x", "")).unwrap()))
        .await
        .unwrap();
    let (_, peer) = harness.message().await;
    let flow = peer.flow.unwrap();
    client.close(None).await.unwrap();
    let (closed, _) = harness.closed().await;
    assert_eq!(closed, flow);
    assert_eq!(harness.transports.flow_peer(flow), None);
    assert!(
        harness
            .transports
            .send(&Destination::back_to(&peer), Bytes::from(response("x")))
            .is_err(),
        "a WebSocket peer is reachable only over its flow"
    );
    // Closing locally sends a close frame to the peer.
    let mut client = connect(&harness, Some("sip")).await.expect("handshake");
    client
        .send(Message::text(String::from_utf8(request("y", "")).unwrap()))
        .await
        .unwrap();
    let (_, peer) = harness.message().await;
    harness.transports.close_flow(peer.flow.unwrap());
    let end = tokio::time::timeout(EVENT_WAIT, client.next())
        .await
        .expect("close within the wait");
    assert!(matches!(end, Some(Ok(Message::Close(_))) | None), "{end:?}");
    harness.closed().await;
}

#[tokio::test]
async fn an_upgraded_connection_becomes_a_wss_flow() {
    let mut harness = Harness::start(TransportConfig::with_listeners(vec![ListenerConfig::udp(
        loopback(0),
    )]))
    .await;
    let (server_io, client_io) = tokio::io::duplex(64 * 1024);
    let remote = "192.0.2.40:50000".parse().unwrap();
    let local = "192.0.2.1:443".parse().unwrap();
    harness
        .transports
        .serve_websocket(server_io, Transport::Wss, remote, local)
        .unwrap();
    assert!(
        harness
            .transports
            .serve_websocket(tokio::io::duplex(16).0, Transport::Tcp, remote, local)
            .is_err()
    );
    let mut client = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    client
        .send(Message::text(String::from_utf8(request("u", "")).unwrap()))
        .await
        .unwrap();
    let (_, peer) = harness.message().await;
    assert_eq!(
        (peer.transport, peer.remote, peer.local),
        (Transport::Wss, remote, local)
    );
    harness
        .transports
        .send(&Destination::back_to(&peer), Bytes::from(response("u")))
        .unwrap();
    assert!(matches!(next_data(&mut client).await, Message::Text(_)));
    drop(client);
    harness.closed().await;
}

#[tokio::test]
async fn the_message_clock_starts_after_the_handshake_and_catches_a_slow_frame() {
    use tokio::io::AsyncWriteExt;
    let limit = Duration::from_millis(300);
    let mut config = TransportConfig::with_listeners(vec![ListenerConfig::ws(loopback(0))]);
    config.stream_message_timeout = limit;
    let mut harness = Harness::start(config).await;
    let mut client = connect(&harness, Some("sip")).await.expect("handshake");
    // Quiet after the handshake for longer than the limit: still open.
    tokio::time::sleep(limit * 2).await;
    let sent = request("ws-clock-1", "");
    client
        .send(Message::text(String::from_utf8(sent).unwrap()))
        .await
        .unwrap();
    let (_, peer) = harness.message().await;

    // The header and mask of a 5-byte text frame, and no payload.
    let raw = client.get_mut();
    raw.write_all(&[0x81, 0x85, 1, 2, 3, 4]).await.unwrap();
    let (flow, _) = harness.closed().await;
    assert_eq!(Some(flow), peer.flow);
    assert_eq!(harness.transports.stats().drops.slow_messages, 1);
    harness.transports.shutdown().await;
}
