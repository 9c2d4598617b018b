//! The HTTP side of the server: starts `sb-http-api` on `[http] listen`
//! (HTTPS with a given or generated certificate) and answers its questions
//! ([`sb_http_api::Live`]) from the switch task, the dialplan directory and
//! the store.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use sb_http_api::{
    ApiConfig, ApiError, Ban, BanTarget, Diagnostic, DialplanFile, DialplanRejected, DialplanSaved,
    ExtraMetric, Health, HealthCheck, LabelledMetric, Live, LiveCall, LiveLeg, MetricsSnapshot,
    Registration, RouteTest, RouteTestResult, TrunkRegistration, TrunkSettings, TrunkSource,
    TrunkState,
};
use sb_sip_message::{Aor, ByteStr, Transport};
use sb_store::Store;
use sb_switch::{BindingId, CallState, LegId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::dialplan_edit::{DialplanFiles, EditError, Problem};
use crate::guard::{self, Guard};
use crate::sip::{ApiRequest, Control};

/// How long `/healthz` and `/readyz` wait for the database and for the SIP task.
const PROBE_LIMIT: Duration = Duration::from_secs(2);

/// The running HTTP listener.
#[derive(Debug)]
pub(crate) struct HttpServer {
    pub(crate) url: String,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    /// Set when the node begins to shut down: `/readyz` answers 503 from then on.
    draining: Arc<AtomicBool>,
}

impl HttpServer {
    /// Binds `[http] listen` and serves until [`HttpServer::stop`].
    pub(crate) async fn start(
        config: &Config,
        store: Store,
        live: Arc<ServerLive>,
    ) -> anyhow::Result<HttpServer> {
        let http = &config.http;
        let tls = if let (Some(cert), Some(key)) = (&http.tls_cert, &http.tls_key) {
            let cert = std::fs::read_to_string(cert)
                .with_context(|| format!("cannot read {}", cert.display()))?;
            let key = std::fs::read_to_string(key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            Some(sb_http_api::tls_config(&cert, &key).context("http.tls_cert/tls_key")?)
        } else if http.tls_self_signed {
            let mut hosts = vec!["localhost".to_owned(), http.listen.ip().to_string()];
            hosts.extend(config.sip.domains.iter().cloned());
            let (cert, key) =
                sb_http_api::self_signed(&hosts).context("cannot generate a certificate")?;
            Some(sb_http_api::tls_config(&cert, &key).context("generated certificate")?)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(http.listen)
            .await
            .with_context(|| format!("cannot listen for HTTP on {}", http.listen))?;
        let addr = listener.local_addr().context("HTTP listener address")?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}/");
        let api_config = ApiConfig {
            admin_acl: Some(http.admin_acl.clone()).filter(|a| !a.is_empty()),
            metrics_acl: Some(http.metrics_acl.clone()).filter(|a| !a.is_empty()),
            session_ttl: http.session_ttl,
            login_attempts: http.login_attempts,
            node: config.cluster.node_name().map(str::to_owned),
        };
        let draining = live.draining.clone();
        let app = sb_http_api::router(store, live, api_config);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = sb_http_api::serve(listener, tls, app, shutdown).await {
                tracing::error!(error = %e, "the HTTP listener failed");
            }
        });
        tracing::info!(%url, "HTTP API and web console listening");
        Ok(HttpServer {
            url,
            stop,
            task,
            draining,
        })
    }

    /// Marks the node as draining: `/readyz` answers 503 from now on, so load
    /// balancers stop sending new traffic before the listener closes.
    pub(crate) fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    /// Stops accepting, lets requests in progress finish (bounded), returns.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Counts calls per second between two `/metrics` reads.
#[derive(Debug)]
struct RateSample {
    at: Instant,
    calls: u64,
    rate: u64,
}

/// The server's answers to the HTTP API.
#[derive(Debug)]
pub(crate) struct ServerLive {
    pub(crate) config: Arc<Config>,
    pub(crate) store: Store,
    pub(crate) control: mpsc::Sender<Control>,
    pub(crate) dialplan: Arc<DialplanFiles>,
    pub(crate) bound: Vec<(Transport, SocketAddr)>,
    /// The media gateway's shared settings and counters.
    pub(crate) media: Arc<crate::media::MediaSettings>,
    /// The SIP transports, which serve connections upgraded on `/ws`.
    pub(crate) transports: sb_sip_transport::Transports,
    /// The admission guard, whose bans the API lists and lifts.
    pub(crate) guard: Arc<Guard>,
    /// Whether the node is shutting down (not ready for new traffic).
    pub(crate) draining: Arc<AtomicBool>,
    rate: Mutex<RateSample>,
}

impl ServerLive {
    pub(crate) fn new(
        config: Arc<Config>,
        store: Store,
        control: mpsc::Sender<Control>,
        dialplan: Arc<DialplanFiles>,
        media: Arc<crate::media::MediaSettings>,
        transports: sb_sip_transport::Transports,
        guard: Arc<Guard>,
    ) -> ServerLive {
        ServerLive {
            config,
            store,
            control,
            dialplan,
            bound: transports.local_addrs(),
            media,
            transports,
            guard,
            draining: Arc::new(AtomicBool::new(false)),
            rate: Mutex::new(RateSample {
                at: Instant::now(),
                calls: 0,
                rate: 0,
            }),
        }
    }

    /// Probes the database and the SIP task at once, each bounded by
    /// [`PROBE_LIMIT`]: a database that hangs fails its check instead of
    /// holding the probe.
    async fn probe(&self) -> Vec<HealthCheck> {
        let (database, switch) = tokio::join!(
            tokio::time::timeout(PROBE_LIMIT, self.store.users_generation()),
            tokio::time::timeout(PROBE_LIMIT, self.ask(ApiRequest::Stats)),
        );
        let database = match database {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some("timed out".to_owned()),
        };
        let switch = match switch {
            Ok(Some(_)) => None,
            Ok(None) => Some("the SIP task has stopped"),
            Err(_) => Some("the SIP task did not answer in time"),
        };
        vec![
            HealthCheck {
                name: "database".into(),
                ok: database.is_none(),
                detail: database,
            },
            HealthCheck {
                name: "sip".into(),
                ok: switch.is_none(),
                detail: switch.map(str::to_owned),
            },
        ]
    }

    /// Sends a request to the switch task and waits for its answer; `None`
    /// when the switch has stopped.
    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> ApiRequest) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.control.send(Control::Api(make(tx))).await.ok()?;
        rx.await.ok()
    }
}

fn lower(t: Transport) -> String {
    t.as_str().to_ascii_lowercase()
}

fn rejected(e: EditError) -> DialplanRejected {
    let problems = match e {
        EditError::Invalid(p) => p,
        EditError::BadName(m) | EditError::NotFound(m) | EditError::Io(m) => vec![Problem {
            file: String::new(),
            line: 0,
            column: 0,
            message: m,
        }],
    };
    DialplanRejected {
        diagnostics: problems
            .into_iter()
            .map(|p| Diagnostic {
                file: p.file,
                line: p.line,
                column: p.column,
                message: p.message,
            })
            .collect(),
    }
}

fn edit_error(e: EditError) -> ApiError {
    match e {
        EditError::NotFound(name) => ApiError::not_found(format!("no dialplan named `{name}`")),
        EditError::BadName(m) => ApiError::invalid_field("name", m),
        EditError::Invalid(p) => ApiError::invalid_field(
            "content",
            p.into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
                .join("; "),
        ),
        EditError::Io(m) => ApiError::new(sb_http_api::ErrorCode::Internal, m),
    }
}

impl Live for ServerLive {
    fn sip_websocket(
        &self,
        connection: sb_http_api::UpgradedConnection,
        remote: SocketAddr,
        local: SocketAddr,
        secure: bool,
    ) {
        let transport = if secure {
            Transport::Wss
        } else {
            Transport::Ws
        };
        if let Err(error) = self
            .transports
            .serve_websocket(connection, transport, remote, local)
        {
            tracing::debug!(%remote, %error, "WebSocket connection not served");
        }
    }

    async fn registrations(&self) -> Vec<Registration> {
        let views = self
            .ask(|tx| ApiRequest::Registrations(None, tx))
            .await
            .unwrap_or_default();
        views
            .into_iter()
            .map(|v| {
                let aor = Aor(ByteStr::from(v.aor.as_str()));
                Registration {
                    user: aor.user().to_owned(),
                    domain: aor.domain().to_owned(),
                    aor: v.aor,
                    binding_id: v.binding_id,
                    contact: v.contact,
                    transport: lower(v.transport),
                    source: v.source.to_string(),
                    user_agent: v.user_agent,
                    expires_in: v.expires_in,
                    expires_at_unix_ms: i64::try_from(v.expires_unix_ms).unwrap_or(i64::MAX),
                    node: v
                        .node
                        .or_else(|| self.config.cluster.node_name().map(str::to_owned)),
                }
            })
            .collect()
    }

    async fn remove_binding(&self, aor: &str, binding_id: &str) -> bool {
        // `sip:alice@example.com` or `alice@example.com`, in canonical form.
        let given = Aor(ByteStr::from(aor));
        let aor = Aor::new(given.user(), given.domain());
        let id = BindingId(ByteStr::from(binding_id));
        self.ask(|tx| ApiRequest::RemoveBinding(aor, id, tx))
            .await
            .unwrap_or(false)
    }

    async fn calls(&self) -> Vec<LiveCall> {
        let now = crate::sip::unix_ms();
        let (calls, media) = self.ask(ApiRequest::Calls).await.unwrap_or_default();
        let mut out = Vec::with_capacity(calls.len());
        for c in calls {
            let stats = match media.get(&c.call) {
                Some(handle) => handle.stats().await,
                None => None,
            };
            let codec = |role: &str| {
                stats
                    .as_ref()
                    .and_then(|s| s.legs.iter().find(|l| l.leg.as_str() == role))
                    .and_then(|l| l.codec.clone())
            };
            out.push(LiveCall {
                id: c.call_id.to_string(),
                caller: c.caller.to_string(),
                callee: c.callee.to_string(),
                state: match c.state {
                    CallState::Routing => "routing",
                    CallState::Ringing => "ringing",
                    CallState::Answered => "answered",
                }
                .to_owned(),
                started_at_unix_ms: i64::try_from(c.start_unix_ms).unwrap_or(i64::MAX),
                answered_at_unix_ms: c.answer_unix_ms.and_then(|a| i64::try_from(a).ok()),
                duration_ms: now.saturating_sub(c.start_unix_ms),
                legs: c
                    .legs
                    .iter()
                    .map(|l| {
                        let role = if l.leg == LegId::A {
                            "caller"
                        } else {
                            "callee"
                        };
                        LiveLeg {
                            role: role.to_owned(),
                            peer: l.peer.to_string(),
                            transport: l.transport.as_str().to_owned(),
                            state: l.state.as_str().to_owned(),
                            codec: codec(role),
                        }
                    })
                    .collect(),
                media: stats.as_ref().map(crate::media::CallMediaStats::to_api),
            });
        }
        out
    }

    async fn hang_up(&self, call_id: &str) -> bool {
        let id = call_id.to_owned();
        self.ask(|tx| ApiRequest::HangUp(id, tx))
            .await
            .unwrap_or(false)
    }

    async fn trunk_states(&self) -> Vec<TrunkState> {
        let snapshots = self.ask(ApiRequest::Trunks).await.unwrap_or_default();
        let mut out = Vec::with_capacity(snapshots.len());
        for s in snapshots {
            let file = self.config.trunks.iter().find(|t| t.name == s.name);
            let registration = if !s.register {
                TrunkRegistration::NotRegistering
            } else if s.registered {
                TrunkRegistration::Registered
            } else if s.last_failure.is_some() {
                TrunkRegistration::Failed
            } else {
                TrunkRegistration::Registering
            };
            out.push(TrunkState {
                source: if file.is_some() {
                    TrunkSource::Config
                } else {
                    TrunkSource::Api
                },
                registration,
                detail: s.last_failure.clone(),
                expires_in: s.expires,
                config: file.map(|t| TrunkSettings {
                    gateway: Some(t.gateway.clone()),
                    transport: lower(t.transport.0),
                    addresses: t.inbound.iter().map(ToString::to_string).collect(),
                    acl: t.acl.clone(),
                    context: t.context.clone(),
                    username: t.username.clone(),
                    password_set: t.password.is_some(),
                    register: t.register,
                    register_expires: t.register_expires,
                    from_user: t.from_user.clone(),
                    from_domain: t.from_domain.clone(),
                    enabled: true,
                }),
                name: s.name,
            });
        }
        out
    }

    async fn users_changed(&self) {
        if let Err(e) = crate::policy::push_directory(&self.store, &self.control).await {
            tracing::error!(error = %e, "cannot apply the user directory");
        }
    }

    async fn trunks_changed(&self) -> Result<(), String> {
        crate::policy::apply_trunks(
            &self.config,
            &self.store,
            &self.bound,
            &self.dialplan,
            &self.control,
        )
        .await
        .map_err(|e| format!("{e:#}"))
    }

    async fn dialplans(&self) -> Result<Vec<DialplanFile>, ApiError> {
        let files = self.dialplan.list().await.map_err(edit_error)?;
        Ok(files.into_iter().map(file_of).collect())
    }

    async fn dialplan(&self, name: &str) -> Result<DialplanFile, ApiError> {
        self.dialplan
            .get(name)
            .await
            .map(file_of)
            .map_err(edit_error)
    }

    async fn save_dialplan(
        &self,
        name: &str,
        content: &str,
        author: &str,
        dry_run: bool,
    ) -> Result<DialplanSaved, DialplanRejected> {
        let version = self
            .dialplan
            .save(name, content, author, dry_run)
            .await
            .map_err(rejected)?;
        let version = match version {
            Some(v) => v,
            None => self
                .dialplan
                .get(name)
                .await
                .ok()
                .and_then(|f| f.version)
                .unwrap_or(0),
        };
        Ok(DialplanSaved {
            name: name.to_owned(),
            version,
            applied: !dry_run,
        })
    }

    async fn delete_dialplan(&self, name: &str, author: &str) -> Result<(), DialplanRejected> {
        self.dialplan.delete(name, author).await.map_err(rejected)
    }

    async fn test_route(&self, q: RouteTest) -> Result<RouteTestResult, ApiError> {
        let question = crate::dialplans::RouteQuestion {
            from: q.from,
            to: q.to,
            source: q.source,
            at: q.at_unix_ms.map(|ms| (ms / 1_000).to_string()),
            context: q.context,
        };
        let explanation =
            crate::route_test::explain(&self.config, &self.store, &self.dialplan, &question)
                .await
                .map_err(|e| ApiError::invalid_field("to", format!("{e:#}")))?;
        let outcome = explanation
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned();
        Ok(RouteTestResult {
            outcome,
            explanation,
        })
    }

    async fn metrics(&self) -> MetricsSnapshot {
        let Some(stats) = self.ask(ApiRequest::Stats).await else {
            return MetricsSnapshot::default();
        };
        let trunks = self.ask(ApiRequest::Trunks).await.unwrap_or_default();
        let s = &stats.switch;
        let g = self.guard.stats(Instant::now());
        let transport = self.transports.stats();
        let calls_per_second = {
            let mut r = self.rate.lock().expect("the rate sample is never poisoned");
            let elapsed = r.at.elapsed();
            if elapsed.as_secs() >= 1 {
                let started = s.calls_attempted.saturating_sub(r.calls);
                r.rate = started * 1_000
                    / u64::try_from(elapsed.as_millis())
                        .unwrap_or(u64::MAX)
                        .max(1);
                r.at = Instant::now();
                r.calls = s.calls_attempted;
            }
            r.rate
        };
        MetricsSnapshot {
            registrations: s.bindings,
            registered_aors: s.aors,
            active_calls: s.calls_active,
            calls_answered: s.calls_answered,
            calls_failed: s.calls_failed,
            calls_cancelled: s.calls_cancelled,
            calls_per_second,
            sip_requests: s.requests,
            sip_responses: stats.responses,
            auth_failures: s.auth_failures,
            transactions: stats.transactions,
            malformed: s.malformed_answered + s.malformed_dropped,
            trunk_registered: trunks.into_iter().map(|t| (t.name, t.registered)).collect(),
            cdr_write_failures: s.cdr_write_failures,
            bans_issued: guard::api::bans_issued(&g),
            extra: self
                .media
                .metrics
                .snapshot()
                .into_iter()
                .map(|(name, help, value, gauge)| ExtraMetric {
                    name,
                    kind: if gauge { "gauge" } else { "counter" },
                    help,
                    value,
                })
                .chain(guard::api::metrics(&g))
                .chain([ExtraMetric {
                    name: "sip_transport_connections",
                    kind: "gauge",
                    help: "SIP connections (TCP, TLS, WS, WSS) open now.",
                    value: transport.flows_open,
                }])
                .collect(),
            labelled: vec![
                LabelledMetric {
                    name: "sip_transport_drops_total",
                    kind: "counter",
                    help: "SIP messages or connections the transports dropped or refused, \
                           by reason.",
                    label: "reason",
                    samples: transport.drops.fields(),
                },
                LabelledMetric {
                    name: "sip_transport_traffic_total",
                    kind: "counter",
                    help: "SIP transport traffic: datagrams, messages, bytes and \
                           connections, by kind.",
                    label: "kind",
                    samples: transport.traffic.fields(),
                },
            ],
        }
    }

    async fn health(&self) -> Health {
        let checks = self.probe().await;
        Health {
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    async fn readiness(&self) -> Health {
        let draining = self.draining.load(Ordering::Acquire);
        let mut checks = self.probe().await;
        checks.push(HealthCheck {
            name: "draining".into(),
            ok: !draining,
            detail: draining.then(|| "the node is shutting down".to_owned()),
        });
        Health {
            ok: checks.iter().all(|c| c.ok),
            checks,
        }
    }

    fn default_domain(&self) -> String {
        self.config
            .sip
            .domains
            .first()
            .cloned()
            .unwrap_or_else(|| "localhost".to_owned())
    }

    async fn bans(&self) -> Vec<Ban> {
        guard::api::bans(&self.guard, Instant::now(), crate::sip::unix_ms())
    }

    async fn lift_ban(&self, target: BanTarget) -> bool {
        self.guard.lift(Instant::now(), &guard::api::target(target))
    }
}

fn file_of(f: crate::dialplan_edit::FileInfo) -> DialplanFile {
    DialplanFile {
        name: f.name,
        content: f.content,
        version: f.version.unwrap_or(0),
        updated_at_unix_ms: f.updated_unix_ms.unwrap_or(0),
    }
}
