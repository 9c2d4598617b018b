//! What every handler shares: the store, the live server, the configuration and the
//! API's own counters.

use std::sync::Arc;
use std::time::Duration;

use sb_store::Store;

use crate::metrics::HttpCounters;
use crate::ratelimit::LoginLimiter;

/// Settings of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Name of a stored ACL: admin sessions and tokens are honoured only from its source
    /// addresses (403 otherwise, also when the ACL does not exist). `None`: from anywhere.
    pub admin_acl: Option<String>,
    /// Lifetime of a login session.
    pub session_ttl: Duration,
    /// Failed logins allowed per source address (and per user name) and minute.
    pub login_attempts: u32,
    /// Name of a stored ACL restricting who may read `/metrics`. `None`: anyone.
    pub metrics_acl: Option<String>,
    /// Node name, shown by `/healthz` and as the `node` label of every metric.
    pub node: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            admin_acl: None,
            session_ttl: Duration::from_secs(12 * 3600),
            login_attempts: 10,
            metrics_acl: None,
            node: None,
        }
    }
}

/// The state behind every route.
#[derive(Debug)]
pub(crate) struct AppState<L> {
    pub(crate) store: Store,
    pub(crate) live: Arc<L>,
    pub(crate) config: ApiConfig,
    pub(crate) limiter: LoginLimiter,
    pub(crate) http: HttpCounters,
    /// Serializes changes to admin accounts, so "not the last enabled admin" holds.
    pub(crate) admins_lock: tokio::sync::Mutex<()>,
    /// Serializes changes to ACLs and trunks, so a rollback after a failed apply restores
    /// exactly what the change replaced.
    pub(crate) config_lock: tokio::sync::Mutex<()>,
}

/// The state as axum holds it.
pub(crate) type Shared<L> = Arc<AppState<L>>;

impl<L> AppState<L> {
    pub(crate) fn new(store: Store, live: Arc<L>, config: ApiConfig) -> Self {
        AppState {
            limiter: LoginLimiter::new(config.login_attempts),
            store,
            live,
            config,
            http: HttpCounters::default(),
            admins_lock: tokio::sync::Mutex::new(()),
            config_lock: tokio::sync::Mutex::new(()),
        }
    }
}
