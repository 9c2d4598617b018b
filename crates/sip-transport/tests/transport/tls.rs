//! TLS: inbound flows, failed and slow handshakes, outbound connections.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sb_sip_message::{Destination, Transport};
use sb_sip_transport::{
    ListenerConfig, TlsPeer, TransportConfig, client_config, roots_from_pem,
    unverified_client_config,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::common::{EVENT_WAIT, Harness, expect_eof, loopback, request, response};

/// A self-signed certificate for `switchboard.test` and 127.0.0.1 (PEM) and
/// the server settings that present it.
fn server_identity() -> (String, Arc<rustls::ServerConfig>) {
    let certified = rcgen::generate_simple_self_signed(vec![
        "switchboard.test".to_owned(),
        "127.0.0.1".to_owned(),
    ])
    .expect("certificate generated");
    let cert_pem = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(certified.cert.der())
    );
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("certificate PEM");
    let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der()).expect("PKCS #8 key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("certificate and key match");
    (cert_pem, Arc::new(config))
}

/// Transports with a UDP and a TLS listener on 127.0.0.1; returns the
/// certificate too.
async fn tls_harness(adjust: impl FnOnce(&mut TransportConfig)) -> (Harness, String) {
    let (cert, server) = server_identity();
    let mut config = TransportConfig::with_listeners(vec![
        ListenerConfig::udp(loopback(0)),
        ListenerConfig::tls(loopback(0)),
    ]);
    config.tls_server = Some(server);
    adjust(&mut config);
    (Harness::start(config).await, cert)
}

/// A TLS client connected to `harness`'s TLS listener, trusting `cert`.
async fn tls_client(harness: &Harness, cert: &str) -> TlsStream<TcpStream> {
    let roots = roots_from_pem(cert.as_bytes(), "test").expect("roots");
    let connector = TlsConnector::from(client_config(roots));
    let tcp = TcpStream::connect(harness.addr(Transport::Tls))
        .await
        .unwrap();
    tcp.set_nodelay(true).unwrap();
    let name = ServerName::try_from("switchboard.test").unwrap();
    tokio::time::timeout(EVENT_WAIT, connector.connect(name, tcp))
        .await
        .expect("handshake within the wait")
        .expect("handshake")
}

/// Sends `message` to `dest` and reads it whole from `phone`.
async fn send_to_phone(
    harness: &Harness,
    phone: &mut TlsStream<TcpStream>,
    dest: &Destination,
    message: &[u8],
) {
    harness
        .transports
        .send(dest, Bytes::copy_from_slice(message))
        .unwrap();
    let mut got = vec![0; message.len()];
    tokio::time::timeout(EVENT_WAIT, phone.read_exact(&mut got))
        .await
        .expect("message within the wait")
        .expect("read");
    assert_eq!(got, message);
}

/// Waits until `check` holds for the harness's stats.
async fn wait_for_stats(
    harness: &Harness,
    check: impl Fn(&sb_sip_transport::TransportStats) -> bool,
) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_split_over_two_records_is_framed_once_and_answered_on_the_flow() {
    let (mut harness, cert) = tls_harness(|_| {}).await;
    let mut phone = tls_client(&harness, &cert).await;
    let register = request("tls-1", "v=0\r\n");
    let (first, second) = register.split_at(register.len() / 2);
    // Each write and flush is one TLS record.
    phone.write_all(first).await.unwrap();
    phone.flush().await.unwrap();
    phone.write_all(second).await.unwrap();
    phone.flush().await.unwrap();

    let (payload, peer) = harness.message().await;
    assert_eq!(payload, register);
    assert_eq!(peer.transport, Transport::Tls);
    assert_eq!(peer.remote, phone.get_ref().0.local_addr().unwrap());
    assert_eq!(peer.local, harness.addr(Transport::Tls));
    let flow = peer.flow.expect("a TLS message carries its flow");
    assert_eq!(harness.transports.flow_peer(flow), Some(peer));

    let answer = response("tls-1");
    send_to_phone(&harness, &mut phone, &Destination::back_to(&peer), &answer).await;

    // A request to the phone's address (a binding that came over this flow)
    // reuses the flow too.
    let towards_phone = Destination {
        transport: Transport::Tls,
        remote: peer.remote,
        flow: None,
        local: None,
    };
    let options = request("tls-2", "");
    send_to_phone(&harness, &mut phone, &towards_phone, &options).await;

    // Counted once written, which may be after the phone read it.
    wait_for_stats(&harness, |s| s.traffic.stream_messages_out == 2).await;
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.stream_messages_in, 1);
    assert_eq!(stats.traffic.flows_accepted, 1);
    assert_eq!(stats.traffic.flows_connected, 0);
    assert_eq!(stats.flows_open, 1);
    assert_eq!(stats.drops.tls_handshake_failures, 0);

    // Closing the flow sends close_notify: a clean end of stream.
    harness.transports.close_flow(flow);
    let mut rest = Vec::new();
    let read = tokio::time::timeout(EVENT_WAIT, phone.read_to_end(&mut rest))
        .await
        .expect("close within the wait");
    assert_eq!(read.expect("close_notify, not a truncation"), 0);
    let (closed, _) = harness.closed().await;
    assert_eq!(closed, flow);
    harness.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_closing_without_close_notify_is_a_plain_close() {
    let (mut harness, cert) = tls_harness(|_| {}).await;
    let mut phone = tls_client(&harness, &cert).await;
    phone.write_all(&request("abrupt", "")).await.unwrap();
    phone.flush().await.unwrap();
    let (_, peer) = harness.message().await;
    // Reading the answer consumes everything the server sent (session
    // tickets included), so the close below is a FIN, not a reset.
    let answer = response("abrupt");
    send_to_phone(&harness, &mut phone, &Destination::back_to(&peer), &answer).await;
    // Closes the TCP connection under the TLS session.
    drop(phone);
    let (closed, _) = harness.closed().await;
    assert_eq!(Some(closed), peer.flow);
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.flows_closed, 1);
    assert_eq!(stats.drops.stream_read_errors, 0);
    harness.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_tcp_on_the_tls_port_is_a_counted_handshake_failure() {
    let (mut harness, cert) = tls_harness(|_| {}).await;
    let mut plain = TcpStream::connect(harness.addr(Transport::Tls))
        .await
        .unwrap();
    plain.write_all(&request("plain", "")).await.unwrap();
    // At most a TLS alert record (content type 21), then the close.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(EVENT_WAIT, plain.read_to_end(&mut answer))
        .await
        .expect("close within the wait");
    assert!(
        answer.is_empty() || answer[0] == 21,
        "expected nothing or a TLS alert, got {answer:?}"
    );
    wait_for_stats(&harness, |s| s.drops.tls_handshake_failures == 1).await;
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.flows_accepted, 0);
    assert_eq!(stats.traffic.stream_messages_in, 0);
    assert_eq!(stats.flows_open, 0);
    harness.assert_quiet();

    // The listener keeps working.
    let mut phone = tls_client(&harness, &cert).await;
    let register = request("after-plain", "");
    phone.write_all(&register).await.unwrap();
    phone.flush().await.unwrap();
    let (payload, peer) = harness.message().await;
    assert_eq!(payload, register);
    assert_eq!(peer.transport, Transport::Tls);
    harness.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_dropped_after_the_handshake_timeout() {
    let (harness, _cert) = tls_harness(|c| {
        c.tls_handshake_timeout = Duration::from_millis(200);
    })
    .await;
    let mut silent = TcpStream::connect(harness.addr(Transport::Tls))
        .await
        .unwrap();
    expect_eof(&mut silent).await;
    wait_for_stats(&harness, |s| s.drops.tls_handshake_timeouts == 1).await;
    assert_eq!(harness.transports.stats().drops.tls_handshake_failures, 0);
    harness.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_listener_needs_a_certificate() {
    let config = TransportConfig::with_listeners(vec![ListenerConfig::tls(loopback(0))]);
    assert!(matches!(
        Harness::try_start(config).await,
        Err(sb_sip_transport::TransportError::NoTlsCertificate { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbound_tls_connects_verifies_and_reuses_the_flow() {
    let (mut trunk, cert) = tls_harness(|_| {}).await;
    let trunk_addr = trunk.addr(Transport::Tls);
    let roots = roots_from_pem(cert.as_bytes(), "trunk").expect("roots");
    let mut harness = Harness::udp_and_tcp(|c| c.tls_client = Some(client_config(roots))).await;
    let dest = Destination {
        transport: Transport::Tls,
        remote: trunk_addr,
        flow: None,
        local: None,
    };
    let invite = request("tls-out-1", "");
    harness
        .transports
        .send(&dest, Bytes::from(invite.clone()))
        .unwrap();
    let (payload, at_trunk) = trunk.message().await;
    assert_eq!(payload, invite);
    assert_eq!(at_trunk.transport, Transport::Tls);

    let answer = response("tls-out-1");
    trunk
        .transports
        .send(
            &Destination::back_to(&at_trunk),
            Bytes::from(answer.clone()),
        )
        .unwrap();
    let (payload, peer) = harness.message().await;
    assert_eq!(payload, answer);
    assert_eq!(peer.transport, Transport::Tls);
    assert_eq!(peer.remote, trunk_addr);
    assert_eq!(peer.local, at_trunk.remote);
    assert!(peer.flow.is_some());

    // The next request reuses the connection.
    let second = request("tls-out-2", "");
    harness
        .transports
        .send(&dest, Bytes::from(second.clone()))
        .unwrap();
    let (payload, again) = trunk.message().await;
    assert_eq!(payload, second);
    assert_eq!(again, at_trunk);
    let stats = harness.transports.stats();
    assert_eq!(stats.traffic.flows_connected, 1);
    assert_eq!(stats.drops.connect_failures, 0);
    harness.transports.shutdown().await;
    trunk.transports.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_unless_the_peer_is_unverified() {
    let (mut trunk, _cert) = tls_harness(|_| {}).await;
    let trunk_addr = trunk.addr(Transport::Tls);
    // Trusts another certificate than the trunk's.
    let (other, _) = server_identity();
    let roots = roots_from_pem(other.as_bytes(), "other").expect("roots");
    let mut harness = Harness::udp_and_tcp(|c| c.tls_client = Some(client_config(roots))).await;
    let dest = Destination {
        transport: Transport::Tls,
        remote: trunk_addr,
        flow: None,
        local: None,
    };
    harness
        .transports
        .send(&dest, Bytes::from(request("refused", "")))
        .unwrap();
    let (failed, _kind) = harness.send_failed().await;
    assert_eq!(failed, dest);
    let stats = harness.transports.stats();
    assert_eq!(stats.drops.tls_handshake_failures, 1);
    assert_eq!(stats.drops.connect_failures, 1);
    assert_eq!(stats.flows_open, 0);

    // The same peer configured without verification (a self-signed trunk).
    harness.transports.set_tls_peers([(
        trunk_addr,
        TlsPeer {
            server_name: ServerName::try_from("trunk.example.com").unwrap(),
            config: unverified_client_config(),
        },
    )]);
    let invite = request("unverified", "");
    harness
        .transports
        .send(&dest, Bytes::from(invite.clone()))
        .unwrap();
    let (payload, peer) = trunk.message().await;
    assert_eq!(payload, invite);
    assert_eq!(peer.transport, Transport::Tls);
    harness.transports.shutdown().await;
    trunk.transports.shutdown().await;
}

#[tokio::test]
async fn tls_destinations_without_client_settings_are_unsupported() {
    let harness = Harness::udp_and_tcp(|_| {}).await;
    let dest = Destination {
        transport: Transport::Tls,
        remote: loopback(5061),
        flow: None,
        local: None,
    };
    assert!(matches!(
        harness.transports.send(&dest, Bytes::from_static(b"x")),
        Err(sb_sip_transport::TransportError::Unsupported {
            transport: Transport::Tls
        })
    ));
    harness.transports.shutdown().await;
}

#[tokio::test]
async fn the_message_clock_starts_after_the_handshake_and_catches_a_slow_record() {
    let limit = Duration::from_millis(300);
    let (mut harness, cert) = tls_harness(|config| config.stream_message_timeout = limit).await;
    let mut phone = tls_client(&harness, &cert).await;
    // Quiet after the handshake for longer than the limit: still open, since
    // the handshake is no message.
    tokio::time::sleep(limit * 2).await;
    phone.write_all(&request("tls-clock-1", "")).await.unwrap();
    phone.flush().await.unwrap();
    let (_, peer) = harness.message().await;

    // Half a message, then silence: closed as a slow sender.
    let text = request("tls-clock-2", "");
    phone.write_all(&text[..40]).await.unwrap();
    phone.flush().await.unwrap();
    let (flow, _) = harness.closed().await;
    assert_eq!(Some(flow), peer.flow);
    assert_eq!(harness.transports.stats().drops.slow_messages, 1);
    harness.transports.shutdown().await;
}
