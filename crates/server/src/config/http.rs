//! `[http]`: the HTTP API, the web console, `/metrics` and `/healthz`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::duration;

/// `[http]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve HTTP at all.
    pub enabled: bool,
    /// Address and port of the HTTP(S) listener.
    pub listen: SocketAddr,
    /// PEM certificate chain for HTTPS (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for HTTPS (with `tls_cert`).
    pub tls_key: Option<PathBuf>,
    /// Serve HTTPS with a self-signed certificate generated at start-up (for
    /// tests and first steps; browsers warn about it).
    pub tls_self_signed: bool,
    /// Name of an ACL (see `/api/acls`): admin sessions and tokens are
    /// honoured only from addresses in it. Empty: from anywhere.
    pub admin_acl: String,
    /// Name of an ACL allowed to read `/metrics`. Empty: anyone who can
    /// reach the listener.
    pub metrics_acl: String,
    /// How long a login session lasts.
    #[serde(with = "duration")]
    pub session_ttl: Duration,
    /// Failed logins allowed per source address (and per user name) per
    /// minute before further attempts get 429.
    pub login_attempts: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            admin_acl: String::new(),
            metrics_acl: String::new(),
            session_ttl: Duration::from_secs(12 * 3_600),
            login_attempts: 10,
        }
    }
}

impl HttpConfig {
    /// Checks values; `Err((key, message))`.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(("http.tls_cert", "tls_cert and tls_key go together".into()));
        }
        if self.tls_self_signed && self.tls_cert.is_some() {
            return Err((
                "http.tls_self_signed",
                "either a certificate (tls_cert/tls_key) or tls_self_signed, not both".into(),
            ));
        }
        if self.session_ttl < Duration::from_secs(60) {
            return Err(("http.session_ttl", "must be at least 1m".into()));
        }
        if self.login_attempts == 0 {
            return Err(("http.login_attempts", "must be positive".into()));
        }
        Ok(())
    }

    /// Whether the listener speaks HTTPS.
    pub fn tls(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }
}
