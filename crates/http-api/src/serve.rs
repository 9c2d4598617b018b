//! Serving the router over plain TCP or TLS (HTTP/1.1), with the client's address in
//! every request (`ConnectInfo<SocketAddr>`, which the access lists need), and graceful
//! shutdown: stop accepting, let requests in progress finish (at most
//! [`SHUTDOWN_GRACE`]), then return.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::error::TlsError;
use crate::sip_ws::ConnectionInfo;

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long requests in progress may run on after shutdown was asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, over TLS when `tls` is given.
///
/// # Errors
/// Never for a single connection's failure (logged at debug level); only when the
/// listener itself fails for good.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    // Connections hold a receiver: a change asks them to finish, and the
    // sender sees them all gone once every one has.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) if is_per_connection(&error) => continue,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let watcher = stop_rx.clone();
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let info = ConnectionInfo {
            local,
            secure: acceptor.is_some(),
        };
        match acceptor.clone() {
            None => {
                tokio::spawn(
                    async move { serve_connection(stream, peer, info, app, watcher).await },
                );
            }
            Some(acceptor) => {
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, peer, info, app, watcher).await,
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    drop(stop_rx);
    let _ = stop_tx.send(true);
    if tokio::time::timeout(SHUTDOWN_GRACE, stop_tx.closed())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the shutdown grace period");
    }
    Ok(())
}

/// Errors that concern one connection only (the listener keeps working).
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    info: ConnectionInfo,
    app: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(info);
        app.clone().oneshot(request.map(Body::new))
    });
    // Upgrades carry `/ws` (SIP over WebSocket); once upgraded, the
    // connection belongs to the SIP transports and this future ends.
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = stop.changed() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "HTTP connection ended with an error");
    }
}

/// A self-signed certificate for `hosts` (DNS names or IP addresses) and its private key,
/// both PEM: for a first start without a certificate. Browsers warn about it.
///
/// # Errors
/// [`TlsError::Generate`] when a host is not a valid name.
pub fn self_signed(hosts: &[String]) -> Result<(String, String), TlsError> {
    let certified = rcgen::generate_simple_self_signed(hosts.to_vec())
        .map_err(|source| TlsError::Generate { source })?;
    Ok((
        pem("CERTIFICATE", certified.cert.der()),
        pem("PRIVATE KEY", &certified.signing_key.serialize_der()),
    ))
}

/// PEM (RFC 7468 §2): base64 in lines of 64 characters between the labels.
fn pem(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut text = String::with_capacity(encoded.len() + encoded.len() / 64 + 64);
    text.push_str("-----BEGIN ");
    text.push_str(label);
    text.push_str("-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        text.push('\n');
    }
    text.push_str("-----END ");
    text.push_str(label);
    text.push_str("-----\n");
    text
}

/// A TLS server configuration (rustls with the ring provider, TLS 1.2 and 1.3, ALPN
/// `http/1.1`) from a PEM certificate chain and a PEM private key.
///
/// # Errors
/// [`TlsError::Pem`] when either text holds no usable item; [`TlsError::Config`] when
/// rustls refuses them (e.g. the key does not match the certificate).
pub fn tls_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: "certificate",
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: "certificate",
            reason: "no CERTIFICATE block".to_owned(),
        });
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TlsError::Pem {
        what: "private key",
        reason: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Config { source })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Config { source })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificates_load() {
        let (cert, key) = self_signed(&["switchboard.test".to_owned(), "127.0.0.1".to_owned()])
            .expect("generates");
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"));
        assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(cert.lines().all(|l| l.len() <= 64));
        let config = tls_config(&cert, &key).expect("loads");
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn bad_pem_is_refused() {
        let (cert, key) = self_signed(&["switchboard.test".to_owned()]).expect("generates");
        let (_, other_key) = self_signed(&["other.test".to_owned()]).expect("generates");
        assert!(matches!(
            tls_config("", &key),
            Err(TlsError::Pem {
                what: "certificate",
                ..
            })
        ));
        assert!(matches!(
            tls_config(&cert, ""),
            Err(TlsError::Pem {
                what: "private key",
                ..
            })
        ));
        assert!(matches!(
            tls_config(&cert, &other_key),
            Err(TlsError::Config { .. })
        ));
    }
}
