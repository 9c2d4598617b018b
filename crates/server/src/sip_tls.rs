//! SIP over TLS: the certificate of the TLS listeners (loaded from PEM files
//! or generated at start-up, through the same code as HTTPS), the trusted
//! roots of outbound connections, and the settings of each TLS trunk.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::ServerName;
use sb_sip_message::Transport;
use sb_sip_transport::TlsPeer;
use sha2::{Digest, Sha256};

use crate::config::{Config, TrunkConfig};

/// The server settings of the TLS listeners, when a listener is TLS:
/// `[sip] tls_cert`/`tls_key`, or a certificate generated for `localhost`,
/// the listeners' addresses and the SIP domains (`tls_self_signed`), whose
/// SHA-256 fingerprint is logged.
pub(crate) fn server_config(
    config: &Config,
    local_ips: &[IpAddr],
) -> anyhow::Result<Option<Arc<rustls::ServerConfig>>> {
    let sip = &config.sip;
    if !sip.has_tls_listener() {
        return Ok(None);
    }
    let (cert, key) = if let (Some(cert), Some(key)) = (&sip.tls_cert, &sip.tls_key) {
        let cert = std::fs::read_to_string(cert)
            .with_context(|| format!("cannot read {}", cert.display()))?;
        let key = std::fs::read_to_string(key)
            .with_context(|| format!("cannot read {}", key.display()))?;
        (cert, key)
    } else {
        let hosts = self_signed_hosts(config, local_ips);
        let generated =
            sb_http_api::self_signed(&hosts).context("cannot generate a SIP certificate")?;
        tracing::info!(
            hosts = ?hosts,
            fingerprint = %fingerprint(&generated.0)?,
            "SIP TLS: self-signed certificate generated"
        );
        generated
    };
    let shared = sb_http_api::tls_config(&cert, &key).context("sip.tls_cert/tls_key")?;
    // The same certificate loading as HTTPS; SIP negotiates no ALPN.
    let mut server = (*shared).clone();
    server.alpn_protocols.clear();
    Ok(Some(Arc::new(server)))
}

/// `localhost`, the specific addresses of the TLS listeners (every local
/// address for a wildcard listener) and the SIP domains.
fn self_signed_hosts(config: &Config, local_ips: &[IpAddr]) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned()];
    let mut add = |host: String| {
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    };
    for listen in config.sip.listen.iter().filter(|l| l.transport.is_secure()) {
        let ip = listen.addr.ip();
        if ip.is_unspecified() {
            for local in local_ips.iter().filter(|l| l.is_ipv4() == ip.is_ipv4()) {
                add(local.to_string());
            }
        } else {
            add(ip.to_string());
        }
    }
    for domain in &config.sip.domains {
        add(domain.clone());
    }
    hosts
}

/// `AB:CD:…`: the SHA-256 of the first certificate of a PEM chain (RFC 4572
/// §5 style), as phones that pin a certificate show it.
fn fingerprint(cert_pem: &str) -> anyhow::Result<String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

    let der = CertificateDer::from_pem_slice(cert_pem.as_bytes())
        .context("generated certificate is not PEM")?;
    let digest = Sha256::digest(der.as_ref());
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(&format!("{byte:02X}"));
    }
    Ok(out)
}

/// The default settings of outbound TLS: verify against `[sip] tls_ca_file`,
/// else the system's bundle. `None` when no trusted certificate can be
/// found (a warning when a trunk needs them): TLS trunks then need
/// `tls_verify = false`.
pub(crate) fn client_config(config: &Config) -> anyhow::Result<Option<Arc<rustls::ClientConfig>>> {
    let roots = match &config.sip.tls_ca_file {
        Some(path) => {
            let pem =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            sb_sip_transport::roots_from_pem(&pem, &path.display().to_string())
                .context("sip.tls_ca_file")?
        }
        None => match sb_sip_transport::system_roots() {
            Ok(roots) => roots,
            Err(error) => {
                let needed = config
                    .trunks
                    .iter()
                    .any(|t| t.transport.0 == Transport::Tls && t.tls_verify);
                if needed {
                    tracing::warn!(%error, "no trusted certificates for outbound TLS");
                } else {
                    tracing::debug!(%error, "no trusted certificates for outbound TLS");
                }
                return Ok(None);
            }
        },
    };
    Ok(Some(sb_sip_transport::client_config(roots)))
}

/// The outbound settings of every TLS trunk, by resolved gateway address:
/// the gateway's host name (or address) verified with `verified`, or no
/// verification with `tls_verify = false`.
pub(crate) fn trunk_peers(
    defs: &[TrunkConfig],
    trunks: &[sb_switch::TrunkConfig],
    verified: Option<&Arc<rustls::ClientConfig>>,
) -> anyhow::Result<Vec<(SocketAddr, TlsPeer)>> {
    let mut peers = Vec::new();
    let mut unverified = None;
    for def in defs.iter().filter(|d| d.transport.0 == Transport::Tls) {
        let Some(trunk) = trunks.iter().find(|t| t.name == def.name) else {
            continue;
        };
        if def.gateway.is_empty() {
            continue;
        }
        let (host, _) = def
            .gateway_host_port()
            .map_err(|m| anyhow::anyhow!("trunk `{}`: {m}", def.name))?;
        let server_name = match host.parse::<IpAddr>() {
            Ok(ip) => ServerName::IpAddress(ip.into()),
            Err(_) => ServerName::try_from(host.clone())
                .with_context(|| format!("trunk `{}`: `{host}` is not a host name", def.name))?,
        };
        let config = if def.tls_verify {
            verified
                .with_context(|| {
                    format!(
                        "trunk `{}`: no trusted certificates to verify it (set [sip] tls_ca_file, \
                         or tls_verify = false)",
                        def.name
                    )
                })?
                .clone()
        } else {
            unverified
                .get_or_insert_with(sb_sip_transport::unverified_client_config)
                .clone()
        };
        peers.push((
            trunk.gateway,
            TlsPeer {
                server_name,
                config,
            },
        ));
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificates_name_the_tls_listeners_and_domains() {
        let config = Config::parse(
            "[sip]\nlisten = [\"udp:192.0.2.5:5060\", \"tls:0.0.0.0:5061\"]\n\
             domains = [\"example.test\"]\ntls_self_signed = true\n",
            "t.toml",
        )
        .unwrap();
        let local: Vec<IpAddr> = vec![
            "192.0.2.10".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
        ];
        assert_eq!(
            self_signed_hosts(&config, &local),
            ["localhost", "192.0.2.10", "example.test"]
        );
        let server = server_config(&config, &local)
            .unwrap()
            .expect("a TLS listener");
        assert!(server.alpn_protocols.is_empty());
    }

    #[test]
    fn fingerprints_are_colon_separated_sha256() {
        let (cert, _) = sb_http_api::self_signed(&["switchboard.test".to_owned()]).unwrap();
        let f = fingerprint(&cert).unwrap();
        assert_eq!(f.len(), 32 * 3 - 1);
        assert!(
            f.split(':')
                .all(|b| b.len() == 2 && b.chars().all(|c| c.is_ascii_hexdigit()))
        );
    }

    #[test]
    fn trunk_peers_verify_by_host_name_unless_disabled() {
        let config = Config::parse(
            "[[trunk]]\nname = \"carrier\"\ngateway = \"sip.example.com\"\ntransport = \"tls\"\n\
             [[trunk]]\nname = \"lab\"\ngateway = \"192.0.2.9\"\ntransport = \"tls\"\n\
             tls_verify = false\n\
             [[trunk]]\nname = \"plain\"\ngateway = \"192.0.2.8\"\n",
            "t.toml",
        )
        .unwrap();
        let resolved = |name: &str, gateway: &str| sb_switch::TrunkConfig {
            name: name.to_owned(),
            gateway: gateway.parse().unwrap(),
            ..sb_switch::TrunkConfig::default()
        };
        let trunks = [
            resolved("carrier", "192.0.2.7:5061"),
            resolved("lab", "192.0.2.9:5061"),
            resolved("plain", "192.0.2.8:5060"),
        ];
        // Verification needs trusted certificates.
        assert!(trunk_peers(&config.trunks, &trunks, None).is_err());
        let roots = sb_sip_transport::unverified_client_config();
        let peers = trunk_peers(&config.trunks, &trunks, Some(&roots)).unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[0].0, "192.0.2.7:5061".parse().unwrap());
        assert_eq!(
            peers[0].1.server_name,
            ServerName::try_from("sip.example.com").unwrap()
        );
        assert!(Arc::ptr_eq(&peers[0].1.config, &roots));
        assert_eq!(
            peers[1].1.server_name,
            ServerName::IpAddress("192.0.2.9".parse::<IpAddr>().unwrap().into())
        );
        assert!(!Arc::ptr_eq(&peers[1].1.config, &roots));
    }
}
