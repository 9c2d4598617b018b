//! `[dialplan]`, `[calls]` and `[[trunk]]`: where calls are routed and the SIP
//! trunks they may use.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use sb_sip_message::Transport;
use sb_switch::IpPrefix;
use serde::{Deserialize, Deserializer};

use super::duration;

/// `[dialplan]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DialplanConfig {
    /// Directory of the dialplan files (every `*.toml` in it is compiled
    /// together). Relative paths are taken from the working directory.
    pub dir: PathBuf,
    /// Context calls from registered users start in.
    pub user_context: String,
}

impl Default for DialplanConfig {
    fn default() -> Self {
        DialplanConfig {
            dir: PathBuf::from("dialplans"),
            user_context: "internal".to_owned(),
        }
    }
}

/// `[calls]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CallsConfig {
    /// A call nobody answers within this time is given up (the caller gets
    /// 480) unless the dialplan sets a shorter ring timeout.
    #[serde(with = "duration")]
    pub no_answer_timeout: Duration,
    /// NAT keep-alives: every interval, a CRLF CRLF datagram to the source
    /// address of each UDP registration whose Contact carries `;ob` (or of
    /// every UDP registration with `nat_keepalive_all_udp`), so the NAT
    /// binding stays open for incoming calls. `"0s"`: none.
    #[serde(with = "duration")]
    pub nat_keepalive_interval: Duration,
    /// Send NAT keep-alives to every UDP registration, not only to those
    /// asking with `;ob`.
    pub nat_keepalive_all_udp: bool,
    /// Most calls at once; more get 503 with Retry-After.
    pub max_calls: usize,
    /// Most calls one user may have placed at once (0: no limit); more get
    /// 503 with Retry-After. Trunk calls are not counted.
    pub max_calls_per_user: usize,
}

impl Default for CallsConfig {
    fn default() -> Self {
        CallsConfig {
            no_answer_timeout: Duration::from_secs(60),
            nat_keepalive_interval: Duration::from_secs(30),
            nat_keepalive_all_udp: false,
            max_calls: 10_000,
            max_calls_per_user: 10,
        }
    }
}

/// One `[[trunk]]`: a SIP carrier or gateway.
#[derive(Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    /// Name used by the dialplan's `trunk` action and in call records.
    pub name: String,
    /// Where outbound calls and the outbound REGISTER go, `host:port` (port
    /// 5060 when left out, 5061 over TLS).
    pub gateway: String,
    /// `udp` (default), `tcp` or `tls`.
    #[serde(default = "udp")]
    pub transport: TransportName,
    /// Over TLS: verify the gateway's certificate (its host name, or its
    /// address, against `[sip] tls_ca_file` or the system's certificates).
    /// `false` accepts any certificate (a self-signed one): encrypted, but
    /// the gateway is not authenticated.
    #[serde(default = "yes")]
    pub tls_verify: bool,
    /// Source addresses (`192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`) whose
    /// INVITEs are accepted without authentication as calls from this trunk.
    /// Empty: the gateway's address when it is an IP address.
    #[serde(default, deserialize_with = "prefixes")]
    pub inbound: Vec<IpPrefix>,
    /// Name of an ACL (managed through the HTTP API) whose address blocks
    /// are accepted as this trunk's sources too.
    #[serde(default)]
    pub acl: Option<String>,
    /// Dialplan context of calls arriving from this trunk.
    #[serde(default = "from_trunk")]
    pub context: String,
    /// User name for digest authentication towards the carrier (outbound
    /// REGISTER and INVITE challenges).
    #[serde(default)]
    pub username: Option<String>,
    /// Password for that user. Kept in memory only to answer the carrier's
    /// challenges; never logged.
    #[serde(default)]
    pub password: Option<String>,
    /// Register to the carrier (needs `username` and `password`).
    #[serde(default)]
    pub register: bool,
    /// Requested registration interval.
    #[serde(default = "register_expires")]
    pub register_expires: u32,
    /// User part of the From header of outbound calls (default: the caller's
    /// number).
    #[serde(default)]
    pub from_user: Option<String>,
    /// Host of the From header of outbound calls (default: the gateway host).
    #[serde(default)]
    pub from_domain: Option<String>,
}

impl fmt::Debug for TrunkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrunkConfig")
            .field("name", &self.name)
            .field("gateway", &self.gateway)
            .field("transport", &self.transport)
            .field("tls_verify", &self.tls_verify)
            .field("inbound", &self.inbound)
            .field("acl", &self.acl)
            .field("context", &self.context)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("register", &self.register)
            .field("register_expires", &self.register_expires)
            .field("from_user", &self.from_user)
            .field("from_domain", &self.from_domain)
            .finish()
    }
}

fn udp() -> TransportName {
    TransportName(Transport::Udp)
}
fn yes() -> bool {
    true
}
fn from_trunk() -> String {
    "from-trunk".to_owned()
}
fn register_expires() -> u32 {
    3_600
}

/// A transport named in the configuration (`udp`, `tcp` or `tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportName(pub Transport);

impl<'de> Deserialize<'de> for TransportName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.parse::<Transport>() {
            Ok(t @ (Transport::Udp | Transport::Tcp | Transport::Tls)) => Ok(TransportName(t)),
            _ => Err(serde::de::Error::custom(format!(
                "unknown transport `{s}` (expected udp, tcp or tls)"
            ))),
        }
    }
}

/// Reads a list of address blocks (`192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`).
fn prefixes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpPrefix>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            s.parse::<IpPrefix>()
                .map_err(|e| serde::de::Error::custom(format!("`{s}`: {e}")))
        })
        .collect()
}

impl TrunkConfig {
    /// The gateway as host and port (the transport's default port when
    /// left out: 5060, or 5061 over TLS).
    pub fn gateway_host_port(&self) -> Result<(String, u16), String> {
        let g = self.gateway.trim();
        let default_port = self.transport.0.default_port();
        if let Some(rest) = g.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("`{g}`: unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| format!("`{g}`: bad port"))?,
                None if after.is_empty() => default_port,
                None => return Err(format!("`{g}`: expected host:port")),
            };
            return Ok((host.to_owned(), port));
        }
        match g.rsplit_once(':') {
            Some((host, port)) if !host.contains(':') => Ok((
                host.to_owned(),
                port.parse().map_err(|_| format!("`{g}`: bad port"))?,
            )),
            _ => Ok((g.to_owned(), default_port)),
        }
    }

    /// The source blocks of inbound calls: as configured, or the gateway's
    /// address when it is an IP address.
    pub fn inbound_blocks(&self) -> Vec<IpPrefix> {
        if !self.inbound.is_empty() {
            return self.inbound.clone();
        }
        self.gateway_host_port()
            .ok()
            .and_then(|(host, _)| host.parse::<IpAddr>().ok())
            .map(IpPrefix::host)
            .into_iter()
            .collect()
    }

    /// Checks one trunk; `Err` says what is wrong.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        let name_ok = !self.name.is_empty()
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !name_ok {
            return Err((
                "trunk.name",
                format!("`{}`: use letters, digits, `-`, `_` and `.`", self.name),
            ));
        }
        let (host, port) = self
            .gateway_host_port()
            .map_err(|m| ("trunk.gateway", format!("trunk `{}`: {m}", self.name)))?;
        if host.is_empty() || port == 0 {
            return Err((
                "trunk.gateway",
                format!("trunk `{}`: expected host:port", self.name),
            ));
        }
        if self.register && (self.username.is_none() || self.password.is_none()) {
            return Err((
                "trunk.register",
                format!(
                    "trunk `{}`: registering needs username and password",
                    self.name
                ),
            ));
        }
        if self.register && self.register_expires < 60 {
            return Err((
                "trunk.register_expires",
                format!("trunk `{}`: must be at least 60", self.name),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_parse_with_and_without_ports() {
        let mut t: TrunkConfig = toml::from_str(
            r#"name = "carrier"
gateway = "192.0.2.1""#,
        )
        .unwrap();
        assert_eq!(t.gateway_host_port().unwrap(), ("192.0.2.1".into(), 5060));
        assert_eq!(
            t.inbound_blocks(),
            vec![IpPrefix::host("192.0.2.1".parse().unwrap())]
        );
        t.gateway = "[2001:db8::1]:5070".into();
        assert_eq!(t.gateway_host_port().unwrap(), ("2001:db8::1".into(), 5070));
        t.gateway = "sip.example.test:5080".into();
        assert_eq!(
            t.gateway_host_port().unwrap(),
            ("sip.example.test".into(), 5080)
        );
        assert!(t.inbound_blocks().is_empty());
        t.register = true;
        assert!(t.check().is_err());
    }

    #[test]
    fn tls_trunks_default_to_port_5061_and_verification() {
        let t: TrunkConfig = toml::from_str(
            r#"name = "carrier"
gateway = "sip.example.com"
transport = "tls""#,
        )
        .unwrap();
        assert_eq!(t.transport, TransportName(Transport::Tls));
        assert!(t.tls_verify);
        assert_eq!(
            t.gateway_host_port().unwrap(),
            ("sip.example.com".into(), 5061)
        );
        let t: TrunkConfig = toml::from_str(
            r#"name = "lab"
gateway = "[2001:db8::5]"
transport = "tls"
tls_verify = false"#,
        )
        .unwrap();
        assert!(!t.tls_verify);
        assert_eq!(t.gateway_host_port().unwrap(), ("2001:db8::5".into(), 5061));
        let e = toml::from_str::<TrunkConfig>("name = \"x\"\ngateway = \"g\"\ntransport = \"ws\"")
            .unwrap_err();
        assert!(e.to_string().contains("udp, tcp or tls"), "{e}");
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let t: TrunkConfig = toml::from_str(
            r#"name = "carrier"
gateway = "192.0.2.1"
username = "acct"
password = "hunter2""#,
        )
        .unwrap();
        assert!(!format!("{t:?}").contains("hunter2"));
    }
}
