//! `[sip]`: listeners (UDP, TCP, TLS, WS, WSS), the TLS certificate, domains and
//! protocol timers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sb_sip_message::Transport;
use serde::{Deserialize, Deserializer};

use super::duration;

/// `[sip]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Listeners as `"transport:address:port"`, e.g. `"udp:0.0.0.0:5060"`,
    /// `"tcp:[::]:5060"`, `"tls:0.0.0.0:5061"`, `"ws:0.0.0.0:8088"`,
    /// `"wss:0.0.0.0:8089"` (SIP over WebSocket, RFC 7118). Port 0 picks a free
    /// port (UDP and TCP on the same IP then share it). A `tls` or `wss`
    /// listener needs `tls_cert`/`tls_key` or `tls_self_signed`.
    pub listen: Vec<Listen>,
    /// Domains this server is responsible for. Domains of users in the database
    /// are served too; the first entry is the default for requests addressed to
    /// the server's IP address.
    pub domains: Vec<String>,
    /// Value of the `Server` header; empty to send none.
    pub server_header: String,
    /// RFC 3261 timer T1 (round-trip estimate).
    #[serde(with = "duration")]
    pub t1: Duration,
    /// RFC 3261 timer T2 (maximum retransmit interval for non-INVITE requests
    /// and INVITE responses).
    #[serde(with = "duration")]
    pub t2: Duration,
    /// RFC 3261 timer T4 (maximum duration a message remains in the network).
    #[serde(with = "duration")]
    pub t4: Duration,
    /// Largest UDP datagram accepted, in bytes.
    pub max_udp_message: usize,
    /// Largest message accepted on a stream (TCP, TLS), in bytes.
    pub max_stream_message: usize,
    /// A TCP or TLS connection with no traffic for this long is closed.
    #[serde(with = "duration")]
    pub tcp_idle_timeout: Duration,
    /// Maximum simultaneous TCP, TLS and WebSocket connections.
    pub max_connections: usize,
    /// Inbound connections one source IP address may hold at once (0: no
    /// limit). Phones behind one NAT share an address: raise it for them.
    pub max_connections_per_source: usize,
    /// Once a message has begun to arrive on a connection, the rest must
    /// follow within this long, or the connection is closed (a slow sender
    /// holding it open). `0s` disables the limit.
    #[serde(with = "duration")]
    pub stream_message_timeout: Duration,
    /// PEM certificate chain of the TLS listeners (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the TLS listeners (with `tls_cert`).
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a self-signed certificate generated at start-up for
    /// `localhost`, the listeners' addresses and `domains` (its SHA-256
    /// fingerprint is logged, for phones that pin it).
    pub tls_self_signed: bool,
    /// PEM file of the certificates trusted for outbound TLS (trunks with
    /// `tls_verify = true`). Default: the system's certificate bundle.
    pub tls_ca_file: Option<PathBuf>,
    /// A TLS handshake not finished within this long is abandoned.
    #[serde(with = "duration")]
    pub tls_handshake_timeout: Duration,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: vec![
                "udp:0.0.0.0:5060".parse().expect("valid default"),
                "tcp:0.0.0.0:5060".parse().expect("valid default"),
            ],
            domains: vec!["localhost".to_owned()],
            server_header: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
            max_udp_message: 65_535,
            max_stream_message: 65_536,
            tcp_idle_timeout: Duration::from_secs(3_600),
            max_connections: 10_000,
            max_connections_per_source: sb_sip_transport::DEFAULT_MAX_CONNECTIONS_PER_SOURCE,
            stream_message_timeout: sb_sip_transport::DEFAULT_STREAM_MESSAGE_TIMEOUT,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_ca_file: None,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl SipConfig {
    /// Checks the TLS settings; `Err((key, message))`.
    pub(crate) fn check_tls(&self) -> Result<(), (&'static str, String)> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(("sip.tls_cert", "tls_cert and tls_key go together".into()));
        }
        if self.tls_self_signed && self.tls_cert.is_some() {
            return Err((
                "sip.tls_self_signed",
                "either a certificate (tls_cert/tls_key) or tls_self_signed, not both".into(),
            ));
        }
        let certificate = self.tls_self_signed || self.tls_cert.is_some();
        if let Some(l) = self.listen.iter().find(|l| l.transport.is_secure())
            && !certificate
        {
            return Err((
                "sip.listen",
                format!(
                    "{}:{} needs a certificate: tls_cert and tls_key, or tls_self_signed = true",
                    l.transport.as_str().to_ascii_lowercase(),
                    l.addr
                ),
            ));
        }
        if self.tls_handshake_timeout.is_zero() {
            return Err(("sip.tls_handshake_timeout", "must be positive".into()));
        }
        Ok(())
    }

    /// Whether a listener speaks TLS (`tls` or `wss`).
    pub fn has_tls_listener(&self) -> bool {
        self.listen.iter().any(|l| l.transport.is_secure())
    }
}

/// One listener: transport and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen {
    /// `udp`, `tcp`, `tls`, `ws` or `wss`.
    pub transport: Transport,
    /// Address and port.
    pub addr: SocketAddr,
}

impl FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (transport, addr) = s
            .split_once(':')
            .ok_or_else(|| format!("`{s}`: expected \"transport:address:port\""))?;
        let transport: Transport = transport.parse().map_err(|_| {
            format!("`{s}`: unknown transport `{transport}` (expected udp, tcp, tls, ws or wss)")
        })?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("`{s}`: `{addr}` is not an address:port (IPv6 as [::1]:5061)"))?;
        Ok(Listen { transport, addr })
    }
}

impl<'de> Deserialize<'de> for Listen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    #[test]
    fn tls_listeners_parse_with_a_certificate() {
        let c = Config::parse(
            r#"
            [sip]
            listen = ["udp:127.0.0.1:5060", "tls:127.0.0.1:5061"]
            tls_self_signed = true
            tls_handshake_timeout = "3s"
            "#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.sip.listen[1].transport, Transport::Tls);
        assert_eq!(c.sip.listen[1].addr, "127.0.0.1:5061".parse().unwrap());
        assert!(c.sip.has_tls_listener());
        assert_eq!(c.sip.tls_handshake_timeout, Duration::from_secs(3));
        assert!(!Config::default().sip.has_tls_listener());
    }

    #[test]
    fn websocket_listeners_parse() {
        let c = Config::parse(
            "[sip]\nlisten = [\"ws:127.0.0.1:8088\", \"wss:127.0.0.1:8089\"]\ntls_self_signed = true\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.sip.listen[0].transport, Transport::Ws);
        assert_eq!(c.sip.listen[1].transport, Transport::Wss);
        assert_eq!(c.sip.listen[1].addr, "127.0.0.1:8089".parse().unwrap());
        assert!(c.sip.has_tls_listener());
    }

    #[test]
    fn tls_settings_are_checked() {
        for (text, key) in [
            ("listen = [\"tls:127.0.0.1:5061\"]", "sip.listen"),
            ("tls_cert = \"c.pem\"", "sip.tls_cert"),
            (
                "tls_cert = \"c.pem\"\ntls_key = \"k.pem\"\ntls_self_signed = true",
                "sip.tls_self_signed",
            ),
            (
                "tls_handshake_timeout = \"0s\"",
                "sip.tls_handshake_timeout",
            ),
        ] {
            let e = Config::parse(&format!("[sip]\n{text}\n"), "t.toml").unwrap_err();
            assert!(e.to_string().contains(key), "{text}: {e}");
        }
        let e = Config::parse("[sip]\nlisten = [\"wss:127.0.0.1:8089\"]\n", "t.toml").unwrap_err();
        assert!(
            e.to_string()
                .contains("wss:127.0.0.1:8089 needs a certificate"),
            "{e}"
        );
        let e = Config::parse("[sip]\nlisten = [\"sctp:127.0.0.1:5060\"]\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("unknown transport"), "{e}");
    }
}
