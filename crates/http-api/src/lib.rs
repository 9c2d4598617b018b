//! Switchboard's HTTP layer: the REST API under `/api`, admin and SIP-user
//! authentication with bearer tokens, JSON errors, the OpenAPI description, `/metrics`,
//! `/healthz` (liveness), `/readyz` (readiness: whether a load balancer should send this
//! node traffic), the embedded web console, the browser phone (`/phone`), and `/ws`, the
//! WebSocket endpoint of SIP over WebSocket (RFC 7118), whose upgraded connections go to
//! [`Live::sip_websocket`].
//!
//! Owns: request parsing and validation, the JSON shapes, authentication (argon2id admin
//! passwords, SIP-user login against the stored HA1, tokens of which only the SHA-256 is
//! stored), authorization (roles, `admin_acl`, `metrics_acl`), login rate limiting,
//! security headers, serving over TCP or TLS.
//!
//! Must not depend on: call-control internals. Persisted resources come from
//! [`sb_store`]; live state (registrations, calls, trunk states, the bans of the server's
//! admission guard), dialplan files and metrics come through the [`Live`] trait, which the
//! server implements. `sb-switch` is used for a value type only (address prefixes).
//!
//! How to drive it:
//! ```no_run
//! # use std::sync::Arc;
//! # async fn run<L: sb_http_api::Live>(store: sb_store::Store, live: Arc<L>) -> std::io::Result<()> {
//! use sb_http_api::{ApiConfig, router, serve};
//!
//! let app = router(store, live, ApiConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, None, app, std::future::pending()).await
//! # }
//! ```
//!
//! # Conventions
//!
//! - Bodies are JSON (`Content-Type: application/json`, else 415) and unknown members are
//!   refused (400 `unknown_field` naming the member); query parameters are refused the
//!   same way when unknown. Every failure answers
//!   `{"error":{"code","message","field"?,"details"?}}` ([`ApiError`]).
//! - Nothing is changed by a failed request: bodies are validated completely before the
//!   store is touched; when the server cannot apply a trunk or ACL change
//!   ([`Live::trunks_changed`]), the previous rows are restored.
//! - Times are RFC 3339 UTC strings with milliseconds; query parameters also accept unix
//!   seconds. Durations in JSON are seconds (numbers with a fraction).
//! - Every route is registered through one wrapper that records it and puts the access
//!   check in front of it; [`route_table`] lists them, and a test compares that list with the
//!   OpenAPI document ([`openapi_document`]) both ways.
//!
//! # Roles
//!
//! `admin` accounts may do everything (from `admin_acl` only, when configured); a SIP
//! user may read `/api/me`, its own call records (`/api/cdrs*`: caller or callee is the
//! user name) and registrations, and log out; anything else is 403. A user name given
//! without a domain at login is an admin account when one of that name exists, else the
//! SIP user at the default domain (so a SIP user whose name is also an admin's signs in
//! as `name@domain`).
//!
//! # Choices left open by the contract
//!
//! - Cursors are opaque base64url texts holding the sort direction, the start time and
//!   the id of the last record; a cursor of the other direction is refused (400 `cursor`).
//!   `next_cursor` is set when a page is full (the next page may be empty).
//! - A trunk or ACL change the server refuses answers 400 `invalid_field` with the
//!   server's message (no field).
//! - Two codes beyond the contract's list: `method_not_allowed` (405) and
//!   `payload_too_large` (413, bodies over axum's 2 MB default).
//! - `POST /api/dialplans/test` takes the path segment `test`, so a dialplan named
//!   `test` can be saved but not read back through `/api/dialplans/test`.

mod api;
mod auth;
mod console;
mod credentials;
mod embedded;
mod error;
mod extract;
mod headers;
mod live;
mod metrics;
mod openapi;
mod phone;
mod ratelimit;
mod respond;
mod routes;
mod serve;
mod sip_ws;
mod state;
mod system;
mod time;
mod validate;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::Router;
use sb_store::Store;

pub use credentials::{
    MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, check_user_password, hash_password, user_secrets,
    validate_domain, validate_username, verify_password,
};
pub use error::{ApiError, ErrorCode, TlsError};
pub use live::{
    Ban, BanKind, BanReason, BanTarget, Diagnostic, DialplanFile, DialplanRejected, DialplanSaved,
    ExtraMetric, Health, HealthCheck, LabelledMetric, Live, LiveCall, LiveLeg, MediaLegStats,
    MediaStats, MetricsSnapshot, Registration, RouteTest, RouteTestResult, TrunkRegistration,
    TrunkSettings, TrunkSource, TrunkState,
};
pub use metrics::render_metrics;
pub use openapi::document as openapi_document;
pub use routes::{Access, RouteInfo};
pub use serve::{SHUTDOWN_GRACE, self_signed, serve, tls_config};
pub use sip_ws::{SIP_WS_PATH, UpgradedConnection};
pub use state::ApiConfig;

/// The whole HTTP application: `/api`, `/healthz`, `/readyz`, `/metrics`, the console, the
/// phone.
pub fn router<L: Live>(store: Store, live: Arc<L>, config: ApiConfig) -> Router {
    routes::build(store, live, config).0
}

/// Every route of [`router`] with its access level, as registered.
pub fn route_table<L: Live>(store: Store, live: Arc<L>, config: ApiConfig) -> Vec<RouteInfo> {
    routes::build(store, live, config).1
}
