//! Policy the switch is built with. Plain values: the server maps its TOML
//! configuration onto these.

use std::net::IpAddr;
use std::time::Duration;

use sb_sip_auth::Algorithm;
use sb_sip_transaction::TimerConfig;

/// Everything [`crate::Switch::new`] needs.
#[derive(Debug, Clone)]
pub struct SwitchConfig {
    /// Domains served (lower-case). The first is the default for requests
    /// addressed to one of the server's IP addresses.
    pub domains: Vec<String>,
    /// IP addresses the server is reachable at (requests addressed to them are
    /// for this server).
    pub local_ips: Vec<IpAddr>,
    /// Value of the `Server` header on responses; `None` for no header.
    pub server_header: Option<String>,
    /// RFC 3261 T1/T2/T4.
    pub timers: TimerConfig,
    /// Registrar policy.
    pub registrar: RegistrarPolicy,
    /// Authentication policy.
    pub auth: AuthPolicy,
    /// Seed of the switch's random numbers (tags, branches): fixed in tests so
    /// output is byte-exact, random in production.
    pub seed: u64,
}

/// Registrar limits (RFC 3261 §10.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarPolicy {
    /// Shortest registration accepted (seconds); shorter ones get 423.
    pub min_expires: u32,
    /// Longest registration granted (seconds); longer ones are shortened.
    pub max_expires: u32,
    /// Duration when the request names none (seconds).
    pub default_expires: u32,
    /// Most bindings per address of record.
    pub max_contacts: usize,
}

/// Digest authentication policy.
#[derive(Clone)]
pub struct AuthPolicy {
    /// Algorithms offered, preferred first (RFC 8760 §2.4).
    pub algorithms: Vec<Algorithm>,
    /// Nonce lifetime; older nonces are answered with `stale=true`.
    pub nonce_lifetime: Duration,
    /// Secret for stateless nonces.
    pub nonce_secret: [u8; 32],
    /// How long fetched credentials are reused.
    pub credential_cache: Duration,
    /// How long the switch waits for an effect's result (a credential lookup)
    /// before answering 503.
    pub effect_timeout: Duration,
}

impl std::fmt::Debug for AuthPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("algorithms", &self.algorithms)
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field("nonce_secret", &"<redacted>")
            .field("credential_cache", &self.credential_cache)
            .field("effect_timeout", &self.effect_timeout)
            .finish()
    }
}

impl Default for RegistrarPolicy {
    fn default() -> Self {
        RegistrarPolicy {
            min_expires: 60,
            max_expires: 3_600,
            default_expires: 3_600,
            max_contacts: 10,
        }
    }
}

impl SwitchConfig {
    /// A configuration for tests and examples: domain `example.test`, default
    /// timers, MD5 and SHA-256, a fixed secret and seed.
    pub fn for_tests() -> SwitchConfig {
        SwitchConfig {
            domains: vec!["example.test".to_owned()],
            local_ips: vec!["192.0.2.10".parse().expect("valid address")],
            server_header: Some("Switchboard-test".to_owned()),
            timers: TimerConfig::default(),
            registrar: RegistrarPolicy::default(),
            auth: AuthPolicy {
                algorithms: vec![Algorithm::Md5, Algorithm::Sha256],
                nonce_lifetime: Duration::from_secs(300),
                nonce_secret: [7; 32],
                credential_cache: Duration::from_secs(60),
                effect_timeout: Duration::from_secs(2),
            },
            seed: 1,
        }
    }
}
