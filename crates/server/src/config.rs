//! The configuration file (TOML). Every key has a default, so `switchboard serve`
//! runs with no file at all; unknown keys are rejected so a typo is an error, not
//! a silently ignored setting. Durations are written like `"500ms"`, `"5m"`.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

mod calls;
mod cluster;
mod http;
mod media;
mod security;
mod sip;
pub use calls::{CallsConfig, DialplanConfig, TransportName, TrunkConfig};
pub use cluster::ClusterConfig;
pub use http::HttpConfig;
pub use media::{MediaConfig, OpusSettings};
pub use security::SecurityConfig;
pub use sip::{Listen, SipConfig};

/// Why a configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown or mistyped keys.
    #[error("{path}: {message}")]
    Syntax {
        /// The path (or `<inline>`).
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value is out of range or inconsistent with another.
    #[error("{path}: `{key}`: {message}")]
    Invalid {
        /// The path (or `<inline>`).
        path: String,
        /// The dotted key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// SIP listeners, domains and protocol timers.
    pub sip: SipConfig,
    /// Registrar policy.
    pub registrar: RegistrarConfig,
    /// Digest authentication.
    pub auth: AuthConfig,
    /// Storage.
    pub database: DatabaseConfig,
    /// Logging.
    pub log: LogConfig,
    /// Where the dialplan files are and where calls start in them.
    pub dialplan: DialplanConfig,
    /// Call handling.
    pub calls: CallsConfig,
    /// SIP trunks (`[[trunk]]` tables).
    #[serde(rename = "trunk")]
    pub trunks: Vec<TrunkConfig>,
    /// User groups for dialplan conditions: group name → user names.
    pub groups: std::collections::BTreeMap<String, Vec<String>>,
    /// The HTTP API and web console.
    pub http: HttpConfig,
    /// The media gateway.
    pub media: MediaConfig,
    /// Rate limits and bans per source.
    pub security: SecurityConfig,
    /// This node's name among others sharing the database.
    pub cluster: ClusterConfig,
}

/// `[registrar]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarConfig {
    /// Shortest registration accepted, in seconds; shorter ones get
    /// `423 Interval Too Brief` with `Min-Expires` (RFC 3261 §10.3 step 7).
    pub min_expires: u32,
    /// Longest registration granted, in seconds; longer requests are shortened.
    pub max_expires: u32,
    /// Registration duration when the request names none, in seconds.
    pub default_expires: u32,
    /// Most bindings (contacts) one address of record may hold.
    pub max_contacts: usize,
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Digest algorithms offered, preferred first (RFC 8760 §2.4): `"MD5"`,
    /// `"SHA-256"`. Each challenge carries one header per algorithm. The
    /// default is MD5 alone: some deployed phones (baresip 1.0 and others on
    /// the same SIP library) give up when any challenge names SHA-256.
    pub algorithms: Vec<String>,
    /// How long a nonce stays valid; older ones are answered `stale=true`.
    #[serde(with = "duration")]
    pub nonce_lifetime: Duration,
    /// Hex-encoded 32-byte secret for nonces. Empty: a random secret per start
    /// (nonces issued before a restart are then stale). Set it when several nodes
    /// share clients.
    pub nonce_secret: String,
    /// How long credentials fetched from the database are reused. Changes made
    /// through `switchboard user` are noticed within a second regardless.
    #[serde(with = "duration")]
    pub credential_cache: Duration,
}

/// `[database]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` (created when missing) or `postgres://…`.
    pub url: String,
    /// Registrations are served from memory and written to the database in
    /// batches at this interval (at most this much is lost on a crash).
    #[serde(with = "duration")]
    pub write_behind: Duration,
    /// SQLite `synchronous` mode: `"full"` (a commit survives power loss) or
    /// `"normal"` (survives a process crash; faster).
    pub sqlite_synchronous: String,
}

/// `[log]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `"info"` or `"info,sb_switch=debug"`.
    /// `RUST_LOG` overrides it.
    pub level: String,
    /// `"text"` or `"json"`.
    pub format: String,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            min_expires: 60,
            max_expires: 3_600,
            default_expires: 3_600,
            max_contacts: 10,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            algorithms: vec!["MD5".to_owned()],
            nonce_lifetime: Duration::from_secs(300),
            nonce_secret: String::new(),
            credential_cache: Duration::from_secs(60),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://switchboard.db".to_owned(),
            write_behind: Duration::from_millis(200),
            sqlite_synchronous: "full".to_owned(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: "text".to_owned(),
        }
    }
}

impl Config {
    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate(origin)?;
        Ok(config)
    }

    /// Checks values and their consistency.
    pub fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::Invalid {
            path: origin.to_owned(),
            key,
            message,
        };
        if self.sip.listen.is_empty() {
            return Err(invalid(
                "sip.listen",
                "at least one listener is needed".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for l in &self.sip.listen {
            if !seen.insert((l.transport, l.addr)) {
                return Err(invalid(
                    "sip.listen",
                    format!("{}:{} is listed twice", l.transport, l.addr),
                ));
            }
        }
        if self.sip.domains.is_empty() {
            return Err(invalid(
                "sip.domains",
                "at least one domain is needed".into(),
            ));
        }
        for d in &self.sip.domains {
            if !is_domain_name(d) {
                return Err(invalid("sip.domains", format!("`{d}` is not a host name")));
            }
        }
        if self.sip.t1.is_zero() || self.sip.t2 < self.sip.t1 || self.sip.t4.is_zero() {
            return Err(invalid(
                "sip.t1",
                "timers must be positive and t2 at least t1".into(),
            ));
        }
        if !(1_500..=65_535).contains(&self.sip.max_udp_message) {
            return Err(invalid(
                "sip.max_udp_message",
                "must be between 1500 and 65535".into(),
            ));
        }
        if !(1_500..=16 * 1024 * 1024).contains(&self.sip.max_stream_message) {
            return Err(invalid(
                "sip.max_stream_message",
                "must be between 1500 and 16777216".into(),
            ));
        }
        if self.sip.max_connections == 0 {
            return Err(invalid("sip.max_connections", "must be positive".into()));
        }
        if self.calls.max_calls == 0 {
            return Err(invalid("calls.max_calls", "must be positive".into()));
        }
        let r = &self.registrar;
        if r.min_expires == 0 || r.min_expires > r.max_expires {
            return Err(invalid(
                "registrar.min_expires",
                "must be positive and not above max_expires".into(),
            ));
        }
        if r.default_expires < r.min_expires || r.default_expires > r.max_expires {
            return Err(invalid(
                "registrar.default_expires",
                "must lie between min_expires and max_expires".into(),
            ));
        }
        if r.max_contacts == 0 {
            return Err(invalid("registrar.max_contacts", "must be positive".into()));
        }
        if self.auth.algorithms.is_empty() {
            return Err(invalid(
                "auth.algorithms",
                "at least one algorithm is needed".into(),
            ));
        }
        for a in &self.auth.algorithms {
            if a.parse::<sb_sip_auth::Algorithm>().is_err() {
                return Err(invalid(
                    "auth.algorithms",
                    format!("`{a}` is not supported (MD5, SHA-256)"),
                ));
            }
        }
        if self.auth.nonce_lifetime < Duration::from_secs(10) {
            return Err(invalid(
                "auth.nonce_lifetime",
                "must be at least 10s".into(),
            ));
        }
        if !self.auth.nonce_secret.is_empty() && self.nonce_secret().is_none() {
            return Err(invalid(
                "auth.nonce_secret",
                "must be 64 hexadecimal digits (32 bytes)".into(),
            ));
        }
        if !(self.database.url.starts_with("sqlite:")
            || self.database.url.starts_with("postgres://")
            || self.database.url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                "must start with sqlite:// or postgres://".into(),
            ));
        }
        if self.database.write_behind.is_zero()
            || self.database.write_behind > Duration::from_secs(1)
        {
            return Err(invalid(
                "database.write_behind",
                "must be positive and at most 1s".into(),
            ));
        }
        if !matches!(self.database.sqlite_synchronous.as_str(), "full" | "normal") {
            return Err(invalid(
                "database.sqlite_synchronous",
                "must be \"full\" or \"normal\"".into(),
            ));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(invalid("log.format", "must be \"text\" or \"json\"".into()));
        }
        if self.dialplan.user_context.is_empty() {
            return Err(invalid("dialplan.user_context", "must not be empty".into()));
        }
        let keepalive = self.calls.nat_keepalive_interval;
        if !keepalive.is_zero() && keepalive < Duration::from_secs(5) {
            return Err(invalid(
                "calls.nat_keepalive_interval",
                "must be 0s (off) or at least 5s".into(),
            ));
        }
        if self.calls.no_answer_timeout < Duration::from_secs(1) {
            return Err(invalid(
                "calls.no_answer_timeout",
                "must be at least 1s".into(),
            ));
        }
        for (group, members) in &self.groups {
            if group.is_empty() || members.iter().any(String::is_empty) {
                return Err(invalid(
                    "groups",
                    format!("group `{group}`: names must not be empty"),
                ));
            }
        }
        self.sip
            .check_tls()
            .map_err(|(key, message)| invalid(key, message))?;
        self.http
            .check()
            .map_err(|(key, message)| invalid(key, message))?;
        self.media
            .check()
            .map_err(|(key, message)| invalid(key, message))?;
        self.security
            .check()
            .map_err(|(key, message)| invalid(key, message))?;
        self.cluster
            .check()
            .map_err(|(key, message)| invalid(key, message))?;
        let mut names = std::collections::HashSet::new();
        for t in &self.trunks {
            t.check().map_err(|(key, message)| invalid(key, message))?;
            if !names.insert(t.name.as_str()) {
                return Err(invalid(
                    "trunk.name",
                    format!("trunk `{}` is defined twice", t.name),
                ));
            }
        }
        Ok(())
    }

    /// The groups of each user (lower-case user name → group names), from
    /// `[groups]`.
    pub fn user_groups(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (group, members) in &self.groups {
            for user in members {
                out.entry(user.to_ascii_lowercase())
                    .or_default()
                    .push(group.clone());
            }
        }
        out
    }

    /// The configured nonce secret, decoded; `None` when unset or malformed.
    pub fn nonce_secret(&self) -> Option<[u8; 32]> {
        let s = self.auth.nonce_secret.trim();
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
            let hex = std::str::from_utf8(chunk).ok()?;
            out[i] = u8::from_str_radix(hex, 16).ok()?;
        }
        Some(out)
    }
}

fn is_domain_name(d: &str) -> bool {
    !d.is_empty()
        && d.len() <= 253
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// Serde adapter for durations written as `"500ms"`, `"4s"`, `"5m"`.
mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration ({e}); write e.g. \"500ms\" or \"5m\""
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::parse("", "t.toml").unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.sip.listen.len(), 2);
        assert_eq!(c.database.url, "sqlite://switchboard.db");
    }

    #[test]
    fn full_file_parses() {
        let c = Config::parse(
            r#"
            [sip]
            listen = ["udp:127.0.0.1:5070", "tcp:[::1]:5070"]
            domains = ["example.test", "b.example.test"]
            t1 = "100ms"
            t2 = "4s"
            [registrar]
            min_expires = 30
            [auth]
            algorithms = ["SHA-256", "MD5"]
            nonce_secret = "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"
            [database]
            url = "postgres://sb@127.0.0.1/sb"
            write_behind = "50ms"
            [log]
            level = "debug"
            "#,
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.sip.listen[1].addr, "[::1]:5070".parse().unwrap());
        assert_eq!(c.sip.t1, Duration::from_millis(100));
        assert_eq!(c.registrar.min_expires, 30);
        assert_eq!(c.nonce_secret().unwrap()[1], 1);
        assert_eq!(c.database.write_behind, Duration::from_millis(50));
    }

    #[test]
    fn unknown_key_is_an_error_with_its_location() {
        let e = Config::parse("[sip]\nlisten = []\nlisen = 1\n", "bad.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("bad.toml"), "{msg}");
        assert!(msg.contains("lisen"), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");
    }

    #[test]
    fn bad_values_are_rejected_with_the_key() {
        let cases = [
            ("[sip]\nlisten = [\"sctp:0.0.0.0:5060\"]", "sctp"),
            ("[sip]\nlisten = [\"udp:localhost\"]", "address:port"),
            ("[sip]\nlisten = []", "sip.listen"),
            ("[sip]\nt1 = \"fast\"", "duration"),
            ("[sip]\ndomains = [\"bad domain\"]", "sip.domains"),
            ("[registrar]\nmin_expires = 7200", "registrar.min_expires"),
            ("[auth]\nalgorithms = [\"SHA-512\"]", "auth.algorithms"),
            ("[auth]\nnonce_secret = \"abc\"", "auth.nonce_secret"),
            ("[database]\nurl = \"mysql://x\"", "database.url"),
            ("[database]\nwrite_behind = \"5s\"", "database.write_behind"),
            ("[log]\nformat = \"xml\"", "log.format"),
        ];
        for (text, needle) in cases {
            let e = Config::parse(text, "c.toml").unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?} -> {e}");
        }
    }
}
