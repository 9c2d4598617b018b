//! Serving over real sockets: TLS with a self-signed certificate and plain TCP, the
//! client address reaching the access lists, and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use sb_store::Acl;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;

use super::{FakeLive, cheap_hash};
use crate::{ApiConfig, router, self_signed, serve, tls_config};

/// One GET over `stream`: status and body.
async fn get<S>(stream: S, path: &str) -> (StatusCode, String)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(connection);
    let request = Request::get(path)
        .header("host", "localhost")
        .body(Body::empty())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let body = axum::body::to_bytes(Body::new(response.into_body()), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8(body.to_vec()).expect("UTF-8"))
}

/// A server whose `/metrics` is open to 127.0.0.1 only (so a 200 proves the client
/// address arrived), on an ephemeral port.
async fn start(
    tls: Option<Arc<rustls::ServerConfig>>,
) -> (
    SocketAddr,
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let store = sb_store::Store::connect("sqlite::memory:", sb_store::StoreOptions::default())
        .await
        .expect("store");
    store.migrate().await.expect("migrates");
    store
        .create_admin("root", &cheap_hash("root-password"))
        .await
        .expect("admin");
    store
        .create_acl(&Acl {
            name: "local".to_owned(),
            description: None,
            cidrs: vec!["127.0.0.1".to_owned()],
            updated_at_unix_ms: 0,
        })
        .await
        .expect("acl");
    let live = Arc::new(FakeLive::new(store.clone()));
    let config = ApiConfig {
        metrics_acl: Some("local".to_owned()),
        ..ApiConfig::default()
    };
    let app = router(store, live, config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, tls, app, async move {
        let _ = stopped.await;
    }));
    (addr, stop, server)
}

#[tokio::test]
async fn serves_over_tls_with_a_self_signed_certificate() {
    let (cert, key) = self_signed(&["localhost".to_owned()]).expect("certificate");
    let (addr, stop, server) = start(Some(tls_config(&cert, &key).expect("config"))).await;

    let mut roots = rustls::RootCertStore::empty();
    for der in CertificateDer::pem_slice_iter(cert.as_bytes()) {
        roots.add(der.expect("PEM")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(client));
    let connect = || async {
        let tcp = TcpStream::connect(addr).await.expect("connect");
        connector
            .connect(ServerName::try_from("localhost").expect("name"), tcp)
            .await
            .expect("TLS handshake")
    };
    let (status, body) = get(connect().await, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    let (status, body) = get(connect().await, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("switchboard_registrations 0"), "{body}");

    // A plain-text client gets no HTTP answer from the TLS port.
    let plain = TcpStream::connect(addr).await.expect("connect");
    let outcome = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(plain)).await;
    if let Ok((mut sender, connection)) = outcome {
        tokio::spawn(connection);
        assert!(
            sender
                .send_request(Request::get("/healthz").body(Body::empty()).unwrap())
                .await
                .is_err()
        );
    }

    stop.send(()).expect("server running");
    server.await.expect("task").expect("serve ends cleanly");
}

#[tokio::test]
async fn serves_plain_http_and_stops_on_shutdown() {
    let (addr, stop, server) = start(None).await;
    let (status, body) = get(TcpStream::connect(addr).await.expect("connect"), "/metrics").await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = get(TcpStream::connect(addr).await.expect("connect"), "/api/me").await;
    assert_eq!(status, 401);
    stop.send(()).expect("server running");
    server.await.expect("task").expect("serve ends cleanly");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "the listener is closed"
    );
}
