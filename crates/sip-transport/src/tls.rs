//! TLS (RFC 3261 §26.2.1, RFC 5630 for `sips:`): the handshakes that turn an
//! accepted or connected TCP stream into a flow, and the client settings of
//! outbound connections (trusted roots, or no verification for a peer known
//! to use a self-signed certificate).
//!
//! A handshake is bounded by `tls_handshake_timeout`; failures and timeouts
//! are counted in [`crate::DropStats`] and never reach the handler.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use foldhash::fast::RandomState;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use crate::error::TransportError;
use crate::stats::{DropCounters, bump};

/// Certificate bundles of the common Linux distributions and BSDs, tried in
/// order by [`system_roots`].
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
];

/// How outbound TLS connections to one peer are made.
#[derive(Debug, Clone)]
pub struct TlsPeer {
    /// The name sent (SNI) and verified in the peer's certificate: its host
    /// name, or its IP address.
    pub server_name: ServerName<'static>,
    /// rustls settings: [`client_config`] or [`unverified_client_config`].
    pub config: Arc<ClientConfig>,
}

/// The outbound TLS peers by address, replaced as a whole.
pub(crate) type TlsPeers = RwLock<HashMap<SocketAddr, TlsPeer, RandomState>>;

/// Client settings (rustls, ring provider, TLS 1.2 and 1.3) that verify the
/// peer's certificate against `roots`.
pub fn client_config(roots: RootCertStore) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// Client settings that accept any certificate (the handshake's signatures
/// are still checked): for a peer with a self-signed certificate, where the
/// operator chose not to verify. The connection is encrypted but the peer is
/// not authenticated.
pub fn unverified_client_config() -> Arc<ClientConfig> {
    let provider = provider();
    let verifier = Arc::new(NoVerification {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Arc::new(config)
}

/// Trusted certificates from PEM text; `origin` names it in errors.
///
/// # Errors
/// [`TransportError::TlsRoots`] when the text holds no usable certificate.
pub fn roots_from_pem(pem: &[u8], origin: &str) -> Result<RootCertStore, TransportError> {
    let error = |reason: String| TransportError::TlsRoots {
        path: origin.to_owned(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| error(e.to_string()))?;
        // A bundle may hold certificates rustls cannot use; the others count.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(error("no usable CERTIFICATE block".to_owned()));
    }
    Ok(roots)
}

/// The system's trusted certificates: the first bundle found among the usual
/// paths of Linux distributions and BSDs.
///
/// # Errors
/// [`TransportError::TlsRoots`] when no bundle is found or the one found
/// holds no usable certificate.
pub fn system_roots() -> Result<RootCertStore, TransportError> {
    for path in SYSTEM_BUNDLES {
        match std::fs::read(path) {
            Ok(pem) => return roots_from_pem(&pem, path),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(TransportError::TlsRoots {
                    path: (*path).to_owned(),
                    reason: error.to_string(),
                });
            }
        }
    }
    Err(TransportError::TlsRoots {
        path: SYSTEM_BUNDLES.join(", "),
        reason: "no certificate bundle found".to_owned(),
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Runs the server side of a handshake on an accepted connection.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    acceptor: &TlsAcceptor,
    stream: S,
    timeout: Duration,
    drops: &DropCounters,
) -> io::Result<server::TlsStream<S>> {
    bounded(acceptor.accept(stream), timeout, drops).await
}

/// Runs the client side of a handshake on a connected stream, towards `peer`.
pub(crate) async fn connect(
    peer: TlsPeer,
    stream: TcpStream,
    timeout: Duration,
    drops: &DropCounters,
) -> io::Result<client::TlsStream<TcpStream>> {
    let connector = TlsConnector::from(peer.config);
    bounded(connector.connect(peer.server_name, stream), timeout, drops).await
}

async fn bounded<S>(
    handshake: impl Future<Output = io::Result<S>>,
    timeout: Duration,
    drops: &DropCounters,
) -> io::Result<S> {
    match tokio::time::timeout(timeout, handshake).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => {
            bump(&drops.tls_handshake_failures);
            Err(error)
        }
        Err(_elapsed) => {
            bump(&drops.tls_handshake_timeouts);
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            ))
        }
    }
}

/// The settings of an outbound connection to `remote`: its own entry, else
/// `default` verifying the peer's IP address.
pub(crate) fn peer_for(
    peers: &TlsPeers,
    default: Option<&Arc<ClientConfig>>,
    remote: SocketAddr,
) -> Option<TlsPeer> {
    let peers = peers.read().unwrap_or_else(PoisonError::into_inner);
    if let Some(peer) = peers.get(&remote) {
        return Some(peer.clone());
    }
    default.map(|config| TlsPeer {
        server_name: ServerName::IpAddress(remote.ip().into()),
        config: config.clone(),
    })
}

/// Accepts every certificate; still checks the handshake signatures so the
/// peer holds the key of the certificate it sent.
#[derive(Debug)]
struct NoVerification {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_without_certificates_is_refused() {
        assert!(matches!(
            roots_from_pem(b"not a certificate", "inline"),
            Err(TransportError::TlsRoots { path, .. }) if path == "inline"
        ));
    }

    #[test]
    fn peers_fall_back_to_the_default_with_the_ip_address() {
        let peers = TlsPeers::default();
        let remote: SocketAddr = "192.0.2.7:5061".parse().unwrap();
        assert!(peer_for(&peers, None, remote).is_none());
        let default = unverified_client_config();
        let peer = peer_for(&peers, Some(&default), remote).expect("default applies");
        assert_eq!(peer.server_name, ServerName::IpAddress(remote.ip().into()));
        let named = TlsPeer {
            server_name: ServerName::try_from("trunk.example.com").unwrap(),
            config: default,
        };
        peers.write().unwrap().insert(remote, named);
        let peer = peer_for(&peers, None, remote).expect("own entry");
        assert_eq!(
            peer.server_name,
            ServerName::try_from("trunk.example.com").unwrap()
        );
    }
}
