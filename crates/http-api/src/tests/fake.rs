//! An in-memory [`Live`]: fixed live state that tests can change, dialplan files in a
//! map (versions recorded in the store, as the server does), a "compiler" that rejects
//! any line containing `error`, and counters of the change notifications.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use sb_store::Store;

use crate::error::ApiError;
use crate::live::{
    Ban, BanTarget, Diagnostic, DialplanFile, DialplanRejected, DialplanSaved, Health, HealthCheck,
    Live, LiveCall, LiveLeg, MetricsSnapshot, Registration, RouteTest, RouteTestResult,
    TrunkRegistration, TrunkSettings, TrunkSource, TrunkState,
};

use super::DOMAIN;

#[derive(Debug)]
pub(crate) struct FakeLive {
    store: Store,
    pub(crate) registrations: Mutex<Vec<Registration>>,
    pub(crate) calls: Mutex<Vec<LiveCall>>,
    pub(crate) trunks: Mutex<Vec<TrunkState>>,
    pub(crate) dialplans: Mutex<BTreeMap<String, DialplanFile>>,
    /// What `trunks_changed` answers.
    pub(crate) refuse_trunks: Mutex<Option<String>>,
    pub(crate) users_changed: AtomicUsize,
    pub(crate) trunks_changed: AtomicUsize,
    pub(crate) metrics: Mutex<MetricsSnapshot>,
    pub(crate) healthy: Mutex<bool>,
    /// Whether the node is shutting down (`/readyz` answers 503).
    pub(crate) draining: Mutex<bool>,
    pub(crate) route_tests: Mutex<Vec<RouteTest>>,
    /// Connections handed over by `/ws`: remote address and whether TLS.
    pub(crate) websockets: Mutex<Vec<(std::net::SocketAddr, bool)>>,
    /// The bans in force.
    pub(crate) bans: Mutex<Vec<Ban>>,
}

pub(crate) fn registration(user: &str, domain: &str, id: &str) -> Registration {
    Registration {
        aor: format!("sip:{user}@{domain}"),
        user: user.to_owned(),
        domain: domain.to_owned(),
        binding_id: id.to_owned(),
        contact: format!("sip:{user}@192.0.2.20:5060"),
        transport: "udp".to_owned(),
        source: "192.0.2.20:5060".to_owned(),
        user_agent: Some("Example Phone 1.0".to_owned()),
        expires_in: 300,
        expires_at_unix_ms: 1_700_000_300_000,
        node: Some("sb-1".to_owned()),
    }
}

fn config_trunk() -> TrunkState {
    TrunkState {
        name: "carrier-file".to_owned(),
        source: TrunkSource::Config,
        registration: TrunkRegistration::Registered,
        detail: None,
        expires_in: Some(1800),
        config: Some(TrunkSettings {
            gateway: Some("sip.example.net:5060".to_owned()),
            transport: "udp".to_owned(),
            addresses: vec!["198.51.100.0/24".to_owned()],
            acl: None,
            context: "from-trunk".to_owned(),
            username: Some("acct".to_owned()),
            password_set: true,
            register: true,
            register_expires: 3600,
            from_user: None,
            from_domain: None,
            enabled: true,
        }),
    }
}

impl FakeLive {
    pub(crate) fn new(store: Store) -> Self {
        let call = LiveCall {
            id: "a84b4c76e66710@192.0.2.4".to_owned(),
            caller: "alice".to_owned(),
            callee: "bob".to_owned(),
            state: "answered".to_owned(),
            started_at_unix_ms: 1_700_000_000_000,
            answered_at_unix_ms: Some(1_700_000_003_000),
            duration_ms: 65_500,
            legs: vec![LiveLeg {
                role: "caller".to_owned(),
                peer: "192.0.2.4:5060".to_owned(),
                transport: "udp".to_owned(),
                state: "confirmed".to_owned(),
                codec: Some("PCMU".to_owned()),
            }],
            media: Some(crate::MediaStats {
                path: "relay".to_owned(),
                legs: vec![crate::MediaLegStats {
                    leg: "caller".to_owned(),
                    codec: Some("PCMU".to_owned()),
                    packets_received: 3_275,
                    packets_sent: 3_270,
                    bytes_received: 563_300,
                    bytes_sent: 562_440,
                    packets_lost: 2,
                    jitter_ms: 1.5,
                    frames_decoded: 0,
                    frames_encoded: 0,
                    srtp: false,
                }],
            }),
        };
        let default = DialplanFile {
            name: "default".to_owned(),
            content: "[[context]]\nname = \"internal\"\n".to_owned(),
            version: 0,
            updated_at_unix_ms: 1_700_000_000_000,
        };
        FakeLive {
            store,
            registrations: Mutex::new(vec![
                registration("alice", DOMAIN, "b1"),
                registration("bob", DOMAIN, "b2"),
            ]),
            calls: Mutex::new(vec![call]),
            trunks: Mutex::new(vec![config_trunk()]),
            dialplans: Mutex::new(BTreeMap::from([("default".to_owned(), default)])),
            refuse_trunks: Mutex::new(None),
            users_changed: AtomicUsize::new(0),
            trunks_changed: AtomicUsize::new(0),
            metrics: Mutex::new(MetricsSnapshot::default()),
            healthy: Mutex::new(true),
            draining: Mutex::new(false),
            route_tests: Mutex::new(Vec::new()),
            websockets: Mutex::new(Vec::new()),
            bans: Mutex::new(Vec::new()),
        }
    }

    /// The fake compiler: every line containing `error` is a diagnostic.
    fn compile(name: &str, content: &str) -> Result<(), DialplanRejected> {
        let diagnostics: Vec<Diagnostic> = content
            .lines()
            .enumerate()
            .filter_map(|(i, line)| {
                line.find("error").map(|at| Diagnostic {
                    file: format!("{name}.toml"),
                    line: u32::try_from(i + 1).expect("small"),
                    column: u32::try_from(at + 1).expect("small"),
                    message: "unknown key `error`".to_owned(),
                })
            })
            .collect();
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(DialplanRejected { diagnostics })
        }
    }
}

impl Live for FakeLive {
    fn sip_websocket(
        &self,
        _connection: crate::sip_ws::UpgradedConnection,
        remote: std::net::SocketAddr,
        _local: std::net::SocketAddr,
        secure: bool,
    ) {
        self.websockets.lock().unwrap().push((remote, secure));
    }

    async fn registrations(&self) -> Vec<Registration> {
        self.registrations.lock().unwrap().clone()
    }

    async fn remove_binding(&self, aor: &str, binding_id: &str) -> bool {
        let mut list = self.registrations.lock().unwrap();
        let before = list.len();
        list.retain(|r| !(r.aor == aor && r.binding_id == binding_id));
        list.len() < before
    }

    async fn calls(&self) -> Vec<LiveCall> {
        self.calls.lock().unwrap().clone()
    }

    async fn hang_up(&self, call_id: &str) -> bool {
        let mut calls = self.calls.lock().unwrap();
        let before = calls.len();
        calls.retain(|c| c.id != call_id);
        calls.len() < before
    }

    async fn trunk_states(&self) -> Vec<TrunkState> {
        self.trunks.lock().unwrap().clone()
    }

    async fn users_changed(&self) {
        self.users_changed.fetch_add(1, Ordering::SeqCst);
    }

    async fn trunks_changed(&self) -> Result<(), String> {
        self.trunks_changed.fetch_add(1, Ordering::SeqCst);
        match self.refuse_trunks.lock().unwrap().clone() {
            Some(reason) => Err(reason),
            None => Ok(()),
        }
    }

    async fn dialplans(&self) -> Result<Vec<DialplanFile>, ApiError> {
        Ok(self.dialplans.lock().unwrap().values().cloned().collect())
    }

    async fn dialplan(&self, name: &str) -> Result<DialplanFile, ApiError> {
        self.dialplans
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no dialplan {name}")))
    }

    async fn save_dialplan(
        &self,
        name: &str,
        content: &str,
        author: &str,
        dry_run: bool,
    ) -> Result<DialplanSaved, DialplanRejected> {
        FakeLive::compile(name, content)?;
        let current = self
            .dialplans
            .lock()
            .unwrap()
            .get(name)
            .map_or(0, |f| f.version);
        if dry_run {
            return Ok(DialplanSaved {
                name: name.to_owned(),
                version: current,
                applied: false,
            });
        }
        let version = self
            .store
            .add_dialplan_version(name, content, author)
            .await
            .expect("records the version");
        self.dialplans.lock().unwrap().insert(
            name.to_owned(),
            DialplanFile {
                name: name.to_owned(),
                content: content.to_owned(),
                version: version.version,
                updated_at_unix_ms: version.created_at_unix_ms,
            },
        );
        Ok(DialplanSaved {
            name: name.to_owned(),
            version: version.version,
            applied: true,
        })
    }

    async fn delete_dialplan(&self, name: &str, _author: &str) -> Result<(), DialplanRejected> {
        let mut plans = self.dialplans.lock().unwrap();
        // What remains must be valid: here, "default" is referenced by the others.
        if name == "default" && plans.len() > 1 {
            return Err(DialplanRejected {
                diagnostics: vec![Diagnostic {
                    file: "office.toml".to_owned(),
                    line: 1,
                    column: 1,
                    message: "context `internal` is not defined".to_owned(),
                }],
            });
        }
        plans.remove(name);
        Ok(())
    }

    async fn test_route(&self, query: RouteTest) -> Result<RouteTestResult, ApiError> {
        let outcome = format!("ring user {}", query.to);
        self.route_tests.lock().unwrap().push(query);
        Ok(RouteTestResult {
            outcome,
            explanation: "context internal\n  rule local: matched\n".to_owned(),
        })
    }

    async fn metrics(&self) -> MetricsSnapshot {
        self.metrics.lock().unwrap().clone()
    }

    async fn health(&self) -> Health {
        let ok = *self.healthy.lock().unwrap();
        Health {
            ok,
            checks: vec![HealthCheck {
                name: "database".to_owned(),
                ok,
                detail: (!ok).then(|| "timed out".to_owned()),
            }],
        }
    }

    async fn readiness(&self) -> Health {
        let mut health = self.health().await;
        let draining = *self.draining.lock().unwrap();
        health.checks.push(HealthCheck {
            name: "draining".to_owned(),
            ok: !draining,
            detail: draining.then(|| "shutting down".to_owned()),
        });
        health.ok &= !draining;
        health
    }

    fn default_domain(&self) -> String {
        DOMAIN.to_owned()
    }

    async fn bans(&self) -> Vec<Ban> {
        self.bans.lock().unwrap().clone()
    }

    async fn lift_ban(&self, target: BanTarget) -> bool {
        let mut bans = self.bans.lock().unwrap();
        let before = bans.len();
        bans.retain(|b| match &target {
            // An IPv6 source is listed as its /64 (the fake takes the network address).
            BanTarget::Source(ip) => b.key != ip.to_string() && b.key != format!("{ip}/64"),
            BanTarget::User(name) => !b.key.eq_ignore_ascii_case(name),
        });
        bans.len() < before
    }
}
