//! Policy the switch is built with. Plain values: the server maps its TOML
//! configuration onto these.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use sb_dialplan::GroupName;
use sb_sip_auth::Algorithm;
use sb_sip_message::Transport;
use sb_sip_transaction::TimerConfig;

use crate::acl::IpPrefix;

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
    /// Call control policy (B2BUA).
    pub calls: CallPolicy,
    /// Trunks: carriers and gateways. Their INVITEs are accepted without
    /// authentication by source address (checked in order; the first match
    /// wins); the dialplan's `trunk` action sends calls out through them.
    /// The initial set: [`crate::Switch::set_trunks`] replaces it while
    /// running.
    pub trunks: Vec<TrunkConfig>,
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

/// Call control limits and timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPolicy {
    /// How long a ring step of the dialplan that names no timeout rings
    /// (for a sequential ring group: each member), and how long one attempt
    /// through a trunk may go unanswered, before the switch gives up on it:
    /// its legs are cancelled and the next step runs (or the caller gets 480
    /// Temporarily Unavailable). Default 60 s.
    pub no_answer_timeout: Duration,
    /// How long a media effect ([`crate::Effect::MediaOffer`],
    /// [`crate::Effect::MediaAnswer`], [`crate::Effect::MediaLocal`]) may
    /// take before the call is torn down (503 to an unanswered caller).
    /// Default 2 s.
    pub media_timeout: Duration,
    /// How long the switch waits for the result of
    /// [`crate::Effect::WriteCdr`] before it reports the record as not
    /// written ([`crate::SwitchEvent::CdrWriteFailed`]). Default 30 s.
    pub cdr_timeout: Duration,
    /// Most calls at once; further INVITEs get 503 with `Retry-After`.
    pub max_calls: usize,
    /// Most live calls one local user may have placed at once (a stolen
    /// password then reaches only so many numbers); their further INVITEs
    /// get 503 with `Retry-After`. Calls from trunks are not counted. Zero:
    /// no limit. Default 10.
    pub max_calls_per_user: usize,
    /// How long the hang-up of an answered call (the 200 to the BYE, the
    /// BYE to the other leg) waits for the call's record to be committed
    /// before it is confirmed regardless. Default 2 s.
    pub record_wait: Duration,
    /// Whether calls' media goes through the media gateway
    /// ([`crate::Effect::MediaOffer`]'s `anchor`) when the dialplan rule
    /// says nothing (`media = "anchor" | "pass-through"`), and always for
    /// calls routed without a dialplan. Default `true`.
    pub anchor_media: bool,
    /// Whether a media gateway runs at all (the server's `[media]
    /// enabled`). Without one (`false`) every call's media passes through,
    /// whatever the dialplan or [`CallPolicy::anchor_media`] say, SIP INFO
    /// digits are relayed, and the dialplan's `echo` and a final `tone`
    /// answer 503 "Media Not Available" (a `tone` before other steps is
    /// skipped). Default `true`.
    pub media_gateway: bool,
    /// Keep-alives towards UDP contacts behind NAT (RFC 5626 §4.4 in spirit):
    /// every interval, a CRLF CRLF datagram to the source address of each
    /// UDP binding that asked for it (`;ob` in its Contact URI) or, with
    /// [`CallPolicy::keepalive_all_udp`], of every UDP binding. `None`
    /// (default): no keep-alives.
    pub keepalive_interval: Option<Duration>,
    /// Send keep-alives to every UDP binding, not only to those with `;ob`.
    pub keepalive_all_udp: bool,
    /// The dialplan context calls from registered users start in when
    /// neither the user nor one of its groups names one in the directory
    /// ([`crate::Switch::set_directory`]); calls from a trunk start in
    /// [`TrunkConfig::context`]. Default `internal`.
    pub user_context: String,
    /// The dialplan groups of each user (by user name, lower case), for rules
    /// with `source = { group = … }`: added after the user's groups in the
    /// directory, and subject to the same group policies.
    pub user_groups: BTreeMap<String, Vec<GroupName>>,
}

impl Default for CallPolicy {
    fn default() -> Self {
        CallPolicy {
            no_answer_timeout: Duration::from_secs(60),
            media_timeout: Duration::from_secs(2),
            cdr_timeout: Duration::from_secs(30),
            max_calls: 10_000,
            max_calls_per_user: 10,
            record_wait: Duration::from_secs(2),
            anchor_media: true,
            media_gateway: true,
            keepalive_interval: None,
            keepalive_all_udp: false,
            user_context: "internal".to_owned(),
            user_groups: BTreeMap::new(),
        }
    }
}

/// A trunk: a carrier, PBX or gateway. Its INVITEs are trusted by source
/// address instead of digest authentication (marked
/// [`crate::CallSource::Trunk`] and routed in its `context`); the dialplan's
/// `trunk` action sends calls to its `gateway`, answering the gateway's
/// digest challenges with `username` and `password`; with `register`, the
/// switch registers to the gateway (RFC 3261 §10.2) from
/// [`crate::Switch::start`] on.
///
/// `Debug` never shows the password.
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    /// Name, for the dialplan, CDRs and logs.
    pub name: String,
    /// Source addresses allowed to send calls in (single addresses or prefixes).
    pub addresses: Vec<IpPrefix>,
    /// Dialplan context calls from this trunk are routed in.
    pub context: String,
    /// Where outbound calls and REGISTERs go (resolved by the server). An
    /// unspecified address (`0.0.0.0`, the default) makes an inbound-only
    /// trunk: calls routed to it fail over to the next trunk.
    pub gateway: SocketAddr,
    /// Transport towards the gateway: UDP (default) or TCP.
    pub transport: Transport,
    /// The local address (one of the server's listeners for `transport`)
    /// requests to the gateway leave from and that Via and Contact name; a
    /// wildcard listener (`0.0.0.0:5070`) is named by the first of
    /// [`SwitchConfig::local_ips`] of the gateway's family with its port.
    /// `None`: the transport picks a socket of the gateway's address family,
    /// and Via/Contact name that local IP with the transport's default port.
    pub local: Option<SocketAddr>,
    /// User name for the gateway's digest challenges and the registration's
    /// address of record.
    pub username: Option<String>,
    /// Password for the gateway's digest challenges; held only to compute
    /// responses, never logged.
    pub password: Option<String>,
    /// Register to the gateway (needs `username`).
    pub register: bool,
    /// Registration interval asked for, seconds. Default 3600.
    pub register_expires: u32,
    /// User part of From on outbound calls (default: the caller's number,
    /// after the dialplan's `set_caller_id`).
    pub from_user: Option<String>,
    /// Host of From on outbound calls and of the registration's address of
    /// record (default: the gateway's IP address).
    pub from_domain: Option<String>,
}

impl Default for TrunkConfig {
    fn default() -> Self {
        TrunkConfig {
            name: String::new(),
            addresses: Vec::new(),
            context: "from-trunk".to_owned(),
            gateway: SocketAddr::from(([0, 0, 0, 0], 5060)),
            transport: Transport::Udp,
            local: None,
            username: None,
            password: None,
            register: false,
            register_expires: 3_600,
            from_user: None,
            from_domain: None,
        }
    }
}

impl fmt::Debug for TrunkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrunkConfig")
            .field("name", &self.name)
            .field("addresses", &self.addresses)
            .field("context", &self.context)
            .field("gateway", &self.gateway)
            .field("transport", &self.transport)
            .field("local", &self.local)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("register", &self.register)
            .field("register_expires", &self.register_expires)
            .field("from_user", &self.from_user)
            .field("from_domain", &self.from_domain)
            .finish()
    }
}

impl TrunkConfig {
    /// Whether outbound requests can go anywhere (the gateway is a
    /// specified address with a port).
    pub fn has_gateway(&self) -> bool {
        !self.gateway.ip().is_unspecified() && self.gateway.port() != 0
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
            calls: CallPolicy::default(),
            trunks: Vec::new(),
            seed: 1,
        }
    }
}
