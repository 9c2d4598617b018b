//! The [`Live`] trait: everything the API needs from the running server that is not in
//! the store (live registrations and calls, trunk states, dialplan files, metrics, bans), and
//! the value types it exchanges. The server implements it; tests use a fake.
//!
//! Times are unix milliseconds (`*_unix_ms` fields) and durations milliseconds
//! (`*_ms`); they are serialized the way the API shows them (RFC 3339 strings, seconds).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};

use serde::Serialize;

use crate::error::ApiError;
use crate::sip_ws::UpgradedConnection;
use crate::time::{ser_opt_time, ser_secs, ser_time};

/// Live state and dialplan files, provided by the server.
///
/// Every method is called from request handlers on the tokio runtime; none may block.
pub trait Live: Send + Sync + 'static {
    /// A connection upgraded to WebSocket on `/ws` with subprotocol `sip`
    /// (RFC 7118): serve it as SIP. `secure` when it arrived over TLS (WSS);
    /// `remote` and `local` are its addresses.
    fn sip_websocket(
        &self,
        connection: UpgradedConnection,
        remote: SocketAddr,
        local: SocketAddr,
        secure: bool,
    );
    /// Every current registration binding.
    fn registrations(&self) -> impl Future<Output = Vec<Registration>> + Send;
    /// Removes one binding (`aor` as in [`Registration::aor`]); `false` when there was none.
    fn remove_binding(&self, aor: &str, binding_id: &str) -> impl Future<Output = bool> + Send;
    /// Every call in progress.
    fn calls(&self) -> impl Future<Output = Vec<LiveCall>> + Send;
    /// Hangs a call up (`call_id` = [`LiveCall::id`]); `false` when there is no such call.
    fn hang_up(&self, call_id: &str) -> impl Future<Output = bool> + Send;
    /// Every trunk's registration state: the API's trunks and the configuration file's.
    fn trunk_states(&self) -> impl Future<Output = Vec<TrunkState>> + Send;
    /// Users or groups changed (push the directory, forget cached credentials) — effective
    /// at once.
    fn users_changed(&self) -> impl Future<Output = ()> + Send;
    /// ACLs or trunks changed: re-read and apply. `Err` = the new set cannot be applied
    /// (e.g. a gateway host that does not resolve): the message is for the client; the
    /// API then rolls its store change back.
    fn trunks_changed(&self) -> impl Future<Output = Result<(), String>> + Send;
    /// Every dialplan file.
    fn dialplans(&self) -> impl Future<Output = Result<Vec<DialplanFile>, ApiError>> + Send;
    /// One dialplan file (`not_found` when there is none).
    fn dialplan(&self, name: &str) -> impl Future<Output = Result<DialplanFile, ApiError>> + Send;
    /// Validates the whole plan with `name` replaced by `content`; unless `dry_run`, writes
    /// the file atomically, records a version (`author`) and makes it the running plan.
    fn save_dialplan(
        &self,
        name: &str,
        content: &str,
        author: &str,
        dry_run: bool,
    ) -> impl Future<Output = Result<DialplanSaved, DialplanRejected>> + Send;
    /// Deletes a dialplan file, unless what remains does not compile.
    fn delete_dialplan(
        &self,
        name: &str,
        author: &str,
    ) -> impl Future<Output = Result<(), DialplanRejected>> + Send;
    /// Routes a call through the running plan without placing it.
    fn test_route(
        &self,
        query: RouteTest,
    ) -> impl Future<Output = Result<RouteTestResult, ApiError>> + Send;
    /// Current counters and gauges for `/metrics`.
    fn metrics(&self) -> impl Future<Output = MetricsSnapshot> + Send;
    /// Whether the server is alive (`/healthz`, liveness).
    fn health(&self) -> impl Future<Output = Health> + Send;
    /// Whether this node should receive traffic (`/readyz`): its database and its SIP
    /// task answer and it is not draining (shutting down). A load balancer or an
    /// orchestrator stops sending new traffic while it is not ready.
    fn readiness(&self) -> impl Future<Output = Health> + Send;
    /// The domain of user names given without one.
    fn default_domain(&self) -> String;
    /// The bans in force: sources whose SIP messages are dropped, and user names under
    /// watch.
    fn bans(&self) -> impl Future<Output = Vec<Ban>> + Send;
    /// Lifts a ban; `false` when there was none.
    fn lift_ban(&self, target: BanTarget) -> impl Future<Output = bool> + Send;
}

/// What a ban is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BanKind {
    /// A source address: its SIP messages are dropped without an answer.
    Source,
    /// A user name under watch: each failed authentication for it bans its source at once.
    User,
}

/// Why a ban was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BanReason {
    /// The source sent more messages than its rate allows.
    Rate,
    /// Failed authentications.
    Auth,
}

/// One ban in force (JSON: `{"kind","key","reason","since","expires","drops"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ban {
    /// What it is on.
    pub kind: BanKind,
    /// The source address (an IPv6 source as its /64, e.g. `2001:db8:1:2::/64`) or the
    /// user name (lower case).
    pub key: String,
    /// Why.
    pub reason: BanReason,
    /// When it began.
    #[serde(rename = "since", serialize_with = "ser_time")]
    pub since_unix_ms: i64,
    /// When it ends by itself.
    #[serde(rename = "expires", serialize_with = "ser_time")]
    pub expires_unix_ms: i64,
    /// Messages dropped from the source; for a user name, the failed attempts that banned
    /// their source.
    pub drops: u64,
}

/// A ban to lift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanTarget {
    /// The source this address counts as (an IPv6 address: its /64).
    Source(IpAddr),
    /// A user name (compared ignoring case).
    User(String),
}

/// One registration binding (JSON: `{"aor","user","domain","binding_id","contact",
/// "transport","source","user_agent","expires_in","expires_at","node"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registration {
    /// Address of record, e.g. `sip:alice@example.com`.
    pub aor: String,
    /// The user part of the AOR.
    pub user: String,
    /// The domain of the AOR.
    pub domain: String,
    /// Identity of the binding within the AOR (what `remove_binding` takes).
    pub binding_id: String,
    /// The registered Contact URI.
    pub contact: String,
    /// Transport the REGISTER came over (`udp`, `tcp`, `tls`, `ws`, `wss`).
    pub transport: String,
    /// Source address and port of the REGISTER, e.g. `192.0.2.10:5060`.
    pub source: String,
    /// The User-Agent header, if any.
    pub user_agent: Option<String>,
    /// Seconds until the binding expires.
    pub expires_in: u32,
    /// When it expires.
    #[serde(rename = "expires_at", serialize_with = "ser_time")]
    pub expires_at_unix_ms: i64,
    /// The cluster node the phone registered through (it holds the phone's flow); `None` on
    /// an unnamed node.
    pub node: Option<String>,
}

/// A call in progress (JSON: `{"id","caller","callee","state","started_at","answered_at",
/// "duration","legs","media"}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiveCall {
    /// Call-ID of the caller's leg (what `hang_up` takes).
    pub id: String,
    /// Who called.
    pub caller: String,
    /// Who is called.
    pub callee: String,
    /// Call state, e.g. `ringing`, `answered`.
    pub state: String,
    /// When the call arrived.
    #[serde(rename = "started_at", serialize_with = "ser_time")]
    pub started_at_unix_ms: i64,
    /// When it was answered, if it was.
    #[serde(rename = "answered_at", serialize_with = "ser_opt_time")]
    pub answered_at_unix_ms: Option<i64>,
    /// Time since it arrived (JSON: seconds).
    #[serde(rename = "duration", serialize_with = "ser_secs")]
    pub duration_ms: u64,
    /// Its legs.
    pub legs: Vec<LiveLeg>,
    /// What its media does, once negotiated.
    pub media: Option<MediaStats>,
}

/// A call's media as the gateway sees it (live calls and call records).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaStats {
    /// `relay` (same codec, forwarded), `transcode`, `echo`, `tone`, `pass-through` (devices
    /// exchange RTP directly) or `negotiating`.
    pub path: String,
    /// The caller's leg, then the answering device's.
    pub legs: Vec<MediaLegStats>,
}

/// One leg's media figures.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaLegStats {
    /// `caller` or `callee`.
    pub leg: String,
    /// The codec sent on the leg.
    pub codec: Option<String>,
    /// RTP packets received from the device.
    pub packets_received: u64,
    /// RTP packets sent to the device.
    pub packets_sent: u64,
    /// RTP payload and header bytes received.
    pub bytes_received: u64,
    /// Bytes sent.
    pub bytes_sent: u64,
    /// Packets the device sent that never arrived (sequence gaps).
    pub packets_lost: u64,
    /// Interarrival jitter (RFC 3550 §6.4.1) in milliseconds.
    pub jitter_ms: f64,
    /// Audio frames decoded (0 on a relayed leg).
    pub frames_decoded: u64,
    /// Audio frames encoded.
    #[serde(default)]
    pub frames_encoded: u64,
    /// Whether the leg is SRTP.
    #[serde(default)]
    pub srtp: bool,
}

/// One leg of a call (JSON: `{"role","peer","transport","state","codec"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LiveLeg {
    /// `caller` or `callee`.
    pub role: String,
    /// The far end's address.
    pub peer: String,
    /// Signalling transport.
    pub transport: String,
    /// Leg state.
    pub state: String,
    /// Negotiated audio codec, once known.
    pub codec: Option<String>,
}

/// Where a trunk is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrunkSource {
    /// Created through the API (stored in the database).
    Api,
    /// From the configuration file (read-only through the API).
    Config,
}

/// A trunk's outbound registration state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrunkRegistration {
    /// Registered with the gateway.
    Registered,
    /// A REGISTER is in progress.
    Registering,
    /// The last attempt failed (see the detail).
    Failed,
    /// Meant to register, currently not registered.
    Unregistered,
    /// The trunk does not register.
    NotRegistering,
}

/// A trunk's settings as the API shows them (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrunkSettings {
    /// `host:port` of the gateway, for outbound calls and registration.
    pub gateway: Option<String>,
    /// `udp` or `tcp`.
    pub transport: String,
    /// Source prefixes whose INVITEs come from this trunk.
    pub addresses: Vec<String>,
    /// Name of an ACL of further source prefixes.
    pub acl: Option<String>,
    /// Dialplan context of inbound calls.
    pub context: String,
    /// Digest user name toward the gateway.
    pub username: Option<String>,
    /// Whether a password is stored.
    pub password_set: bool,
    /// Whether the trunk registers with the gateway.
    pub register: bool,
    /// Requested registration lifetime, seconds.
    pub register_expires: u32,
    /// User part of outbound From.
    pub from_user: Option<String>,
    /// Host part of outbound From.
    pub from_domain: Option<String>,
    /// Whether the trunk is in use.
    pub enabled: bool,
}

/// What the server knows about one trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkState {
    /// Trunk name.
    pub name: String,
    /// Where it is defined.
    pub source: TrunkSource,
    /// Registration state.
    pub registration: TrunkRegistration,
    /// Why it failed, or other detail.
    pub detail: Option<String>,
    /// Seconds until the registration expires, when registered.
    pub expires_in: Option<u32>,
    /// The settings of a configuration-file trunk (`None` for API trunks, whose settings
    /// the API reads from the store).
    pub config: Option<TrunkSettings>,
}

/// A dialplan file (JSON: `{"name","content","version","updated_at"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DialplanFile {
    /// File name without directory (e.g. `default.toml`'s name as the server names it).
    pub name: String,
    /// The text.
    pub content: String,
    /// Latest recorded version (0 when the file has no recorded history).
    pub version: i64,
    /// Last change.
    #[serde(rename = "updated_at", serialize_with = "ser_time")]
    pub updated_at_unix_ms: i64,
}

/// The result of a dialplan save (JSON: `{"name","version","applied"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DialplanSaved {
    /// The file's name.
    pub name: String,
    /// The version recorded (the current one on a dry run).
    pub version: i64,
    /// Whether it was written and is now running (`false` on a dry run).
    pub applied: bool,
}

/// A dialplan change that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DialplanRejected {
    /// What the compiler reported.
    pub diagnostics: Vec<Diagnostic>,
}

/// One compiler diagnostic (JSON: `{"file","line","column","message"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file it is in.
    pub file: String,
    /// 1-based line (0 when not about a line).
    pub line: u32,
    /// 1-based column (0 when not about a column).
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// A route test: how would a call from `from` to `to` be routed now?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTest {
    /// Calling user or number.
    pub from: String,
    /// Dialed number.
    pub to: String,
    /// `user:NAME` or `trunk:NAME` (the CLI's syntax); `None` = from a local user.
    pub source: Option<String>,
    /// Evaluate as of this instant (time rules); `None` = now.
    pub at_unix_ms: Option<i64>,
    /// Start in this context instead of the source's.
    pub context: Option<String>,
}

/// How a route test came out (JSON: `{"outcome","explanation"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteTestResult {
    /// One line: the decision (e.g. `ring user bob`, `reject 404`).
    pub outcome: String,
    /// The evaluation trace, as the CLI prints it.
    pub explanation: String,
}

/// Counters and gauges of the running server, rendered by `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetricsSnapshot {
    /// Registration bindings (gauge).
    pub registrations: u64,
    /// AORs with at least one binding (gauge).
    pub registered_aors: u64,
    /// Calls in progress (gauge).
    pub active_calls: u64,
    /// Calls ended answered (counter).
    pub calls_answered: u64,
    /// Calls ended failed, busy or unanswered (counter).
    pub calls_failed: u64,
    /// Calls cancelled by the caller (counter).
    pub calls_cancelled: u64,
    /// Calls started in the last complete second (gauge).
    pub calls_per_second: u64,
    /// SIP requests received (counter).
    pub sip_requests: u64,
    /// SIP responses sent, by status code (counter per code).
    pub sip_responses: Vec<(u16, u64)>,
    /// Failed digest authentications (counter).
    pub auth_failures: u64,
    /// SIP transactions in progress (gauge).
    pub transactions: u64,
    /// Unparseable SIP messages received (counter).
    pub malformed: u64,
    /// Per trunk: registered or not (gauge, 1/0).
    pub trunk_registered: Vec<(String, bool)>,
    /// Call records that could not be written (counter).
    pub cdr_write_failures: u64,
    /// Source bans issued, by reason (`rate`, `auth`) (counter per reason).
    pub bans_issued: Vec<(&'static str, u64)>,
    /// Further single-valued metrics (the media gateway's).
    pub extra: Vec<ExtraMetric>,
    /// More metric families with one label.
    pub labelled: Vec<LabelledMetric>,
}

/// One more single-valued metric for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraMetric {
    /// Name without the `switchboard_` prefix.
    pub name: &'static str,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The value.
    pub value: u64,
}

/// One more metric family with one label for `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelledMetric {
    /// Name without the `switchboard_` prefix.
    pub name: &'static str,
    /// `gauge` or `counter`.
    pub kind: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// The label's name.
    pub label: &'static str,
    /// Each label value with its sample.
    pub samples: Vec<(&'static str, u64)>,
}

/// The server's health for `/healthz`, or its readiness for `/readyz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// Whether every check passed (200) or not (503).
    pub ok: bool,
    /// The individual checks.
    pub checks: Vec<HealthCheck>,
}

/// One health check (JSON: `{"name","ok","detail"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheck {
    /// What was checked, e.g. `database`, `sip`.
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why not, or other detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}
