//! Switchboard's composition root: reads the configuration, opens the store,
//! starts the transports and the tasks that drive the sans-IO cores, runs
//! their effects, and shuts everything down in order.
//!
//! Owns: configuration ([`Config`]), the SIP driver task (one task owns the
//! `Switch`; DESIGN §3), the effect executor (credential lookups, write-behind
//! of registrations, media pass-through, the group-commit writer of call
//! records), the dialplan files (loading, hot reload on change and SIGHUP,
//! `switchboard dialplan test`), periodic jobs (noticing user changes made by
//! other processes, purging expired rows), user administration for the CLI,
//! the admission [`guard`] (per-source rate limits and bans, checked for
//! every message before it is parsed), and cluster membership: a named node
//! on PostgreSQL joins the `nodes` table, beats every second and applies
//! the other nodes' changes from the database's notifications (the private
//! `cluster` module; docs/architecture.md §7a).
//!
//! Must not: parse command lines (that is the binary's job) or hold protocol
//! logic (that lives in the sans-IO crates).
//!
//! How to drive it:
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let config = sb_server::Config::default();
//! let server = sb_server::Server::start(config).await?;
//! println!("SIP on {:?}", server.sip_addresses());
//! server.shutdown().await?;
//! # Ok(())
//! # }
//! ```

pub mod admins;
mod cdrs;
mod cluster;
pub mod config;
mod convert;
mod dialplan_edit;
pub mod dialplans;
mod effects;
pub mod guard;
mod http;
mod inbound;
mod local_ips;
pub mod media;
mod policy;
mod route_test;
mod sip;
mod sip_tls;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::RngExt;
use sb_sip_message::Transport;
use sb_sip_transport::{ListenerConfig, TransportConfig, Transports};
use sb_store::{Store, StoreOptions, Synchronous};
use sb_switch::Switch;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use config::{Config, ConfigError};

use effects::EffectExecutor;
use inbound::Inbound;
use sip::{Control, SwitchTask};

/// How long a shutdown waits for the records of the calls it ends.
const CALL_RECORD_GRACE: Duration = Duration::from_secs(5);

/// How many parsed messages may wait for the switch task.
const INBOUND_QUEUE: usize = 8_192;

/// Opens the configured database and brings its schema up to date.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let options = StoreOptions {
        sqlite_synchronous: if config.database.sqlite_synchronous == "normal" {
            Synchronous::Normal
        } else {
            Synchronous::Full
        },
        application_name: match config.cluster.node_name() {
            Some(node) => format!("switchboard/{node}"),
            None => "switchboard".to_owned(),
        },
        ..StoreOptions::default()
    };
    let store = Store::connect(&config.database.url, options)
        .await
        .with_context(|| format!("cannot open database {}", config.database.url))?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// Creates or upgrades the schema of the configured database.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    open_store(config).await.map(drop)
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    transports: Transports,
    control: mpsc::Sender<Control>,
    switch_task: JoinHandle<()>,
    write_behind: JoinHandle<()>,
    cdr_writer: JoinHandle<()>,
    jobs: Vec<JoinHandle<()>>,
    store: Store,
    http: Option<http::HttpServer>,
    /// This node in a cluster.
    cluster_node: Option<cluster::Member>,
}

impl Server {
    /// Opens the store, restores unexpired registrations, binds the listeners
    /// and starts serving.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        config.validate("configuration")?;
        let dialplan = dialplans::load_configured(&config)
            .map_err(|e| anyhow::anyhow!("dialplan not usable:\n{e}"))?;
        dialplans::log_warnings(&dialplan.plan);
        tracing::info!(
            files = ?dialplan.files,
            rules = dialplan.plan.rule_count(),
            "dialplan loaded"
        );
        let store = open_store(&config).await?;

        let mut rng = rand::rng();
        let nonce_secret = config.nonce_secret().unwrap_or_else(|| {
            let mut s = [0u8; 32];
            rng.fill(&mut s);
            s
        });

        let local_ips = local_ips::for_listeners(&config.sip.listen);
        let tls_server = sip_tls::server_config(&config, &local_ips)?;
        let trunk_defs = policy::trunk_definitions(&config, &store).await?;
        let tls_client = sip_tls::client_config(&config)?;
        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
        let guard = Arc::new(guard::Guard::new(
            Instant::now(),
            &config.security.guard_settings(),
            rng.random(),
        ));
        let inbound = Arc::new(Inbound {
            queue: inbound_tx,
            guard: guard.clone(),
            transports: std::sync::OnceLock::new(),
        });
        let transports = Transports::start(
            transport_config(&config, tls_server, tls_client.clone()),
            inbound.clone(),
        )
        .await
        .context("cannot open the SIP listeners")?;
        // The handler closes banned sources' connections; the transports
        // drop it (and with it this handle) when they shut down.
        let _ = inbound.transports.set(transports.clone());
        drop(inbound);
        let bound = transports.local_addrs();
        // Messages wait in the queue until the switch task runs; the switch
        // needs the bound addresses (trunk requests leave from a listener).
        let acls = policy::acl_blocks(&store).await?;
        let trunks = convert::trunks(&trunk_defs, &acls, &bound).await?;
        transports.set_tls_peers(sip_tls::trunk_peers(
            &trunk_defs,
            &trunks,
            tls_client.as_ref(),
        )?);
        let (control_tx, control_rx) = mpsc::channel(64);
        // The database's trunks may be named by the dialplan too: compile
        // again with every trunk.
        let files = dialplan_edit::DialplanFiles::new(
            config.dialplan.dir.clone(),
            store.clone(),
            control_tx.clone(),
            policy::requirements(&config, &trunk_defs),
            dialplan.fingerprint,
        );
        let plan = files
            .current()
            .await
            .map_err(|e| anyhow::anyhow!("dialplan not usable with the database's trunks: {e}"))?;
        let mut switch = Switch::new(convert::switch_config(
            &config,
            local_ips,
            trunks,
            nonce_secret,
            rng.random(),
        ));

        switch.set_dialplan(plan);
        switch
            .set_directory(policy::load_directory(&store).await?)
            .map_err(|e| anyhow::anyhow!("a user's call permissions cannot be used: {e}"))?;

        let domains = store
            .list_domains()
            .await
            .context("cannot read user domains")?;
        switch.set_user_domains(domains);
        // Cluster mode: this node joins (its row in `nodes`) and listens to
        // the others' changes before it reads the shared state, so nothing
        // changed in between is missed.
        let node = config.cluster.node_name().map(str::to_owned);
        let listener = store
            .listen_changes()
            .await
            .context("cannot listen to the database's change notifications")?;
        let cluster_node = match (&node, &listener) {
            (Some(name), Some(_)) => {
                let address = cluster::own_address(&config, &bound).await?;
                store
                    .register_node(name, &address.to_string())
                    .await
                    .context("cannot record this node in the database")?;
                tracing::info!(node = %name, %address, "cluster node joined");
                Some(cluster::Member {
                    name: name.clone(),
                    address: address.to_string(),
                })
            }
            _ => None,
        };
        let now_unix = sip::unix_ms();
        let records: Vec<_> = store
            .load_bindings(i64::try_from(now_unix).unwrap_or(i64::MAX))
            .await
            .context("cannot load registrations")?
            .into_iter()
            .filter_map(|b| convert::from_store_binding(&b, node.as_deref()))
            .map(|mut r| {
                // Outside a cluster every stored binding is this node's (even
                // one written under another name).
                if cluster_node.is_none() {
                    r.node = None;
                }
                r
            })
            .collect();
        let restored = switch.restore_bindings(Instant::now(), now_unix, records);
        tracing::info!(restored, "registrations restored");
        let peers = match &cluster_node {
            Some(me) => cluster::live_peers(&store, &me.name).await?,
            None => Vec::new(),
        };
        switch.set_cluster_peers(peers.clone());

        // Outbound trunk registrations begin.
        switch.start(Instant::now(), sip::unix_ms());

        let (results_tx, results_rx) = mpsc::channel(1_024);
        let advertised = config
            .media
            .advertised
            .unwrap_or_else(|| local_ips::advertised_media(config.media.bind));
        let media = Arc::new(media::MediaSettings::new(
            &config.media,
            advertised,
            rng.random(),
        ));
        // Calls whose devices stopped sending RTP are ended by the switch.
        let (timeouts_tx, mut timeouts_rx) = mpsc::channel(64);
        let control = control_tx.clone();
        let timeout_forwarder = tokio::spawn(async move {
            while let Some(call) = timeouts_rx.recv().await {
                if control.send(Control::MediaTimeout(call)).await.is_err() {
                    break;
                }
            }
        });
        if config.media.enabled {
            tracing::info!(
                bind = %config.media.bind,
                %advertised,
                ports = %format!("{}-{}", config.media.port_min, config.media.port_max),
                "media gateway anchoring calls"
            );
        }
        let (wb_tx, wb_rx) = mpsc::unbounded_channel();
        let write_behind = tokio::spawn(effects::write_behind(
            store.clone(),
            wb_rx,
            config.database.write_behind,
            node.clone(),
        ));
        let (cdr_tx, cdr_rx) = mpsc::unbounded_channel();
        let cdr_writer = tokio::spawn(cdrs::cdr_writer(
            store.clone(),
            cdr_rx,
            results_tx.clone(),
            config.cluster.node_name().map(str::to_owned),
        ));
        let switch_task = tokio::spawn(
            SwitchTask {
                switch,
                inbound: inbound_rx,
                results: results_rx,
                control: control_rx,
                transports: transports.clone(),
                effects: EffectExecutor::new(
                    store.clone(),
                    results_tx.clone(),
                    wb_tx,
                    cdr_tx,
                    media::MediaGateway::new(media.clone(), results_tx, timeouts_tx),
                ),
                ending: None,
                guard: guard.clone(),
            }
            .run(),
        );
        if cluster_node.is_some() {
            files.adopt_cluster_texts().await;
        }
        files.record_disk_versions().await;
        let config = Arc::new(config);
        let live = Arc::new(http::ServerLive::new(
            config.clone(),
            store.clone(),
            control_tx.clone(),
            files.clone(),
            media,
            transports.clone(),
            guard.clone(),
        ));
        let changes = match listener {
            Some(listener) => tokio::spawn(cluster::run(
                live.clone(),
                cluster_node.clone(),
                listener,
                peers,
            )),
            None => tokio::spawn(watch_changes(live.clone())),
        };
        let jobs = vec![
            changes,
            tokio::spawn(purge_expired(store.clone())),
            tokio::spawn(dialplans::watch(files)),
            tokio::spawn(sweep_guard(guard)),
            timeout_forwarder,
        ];
        let http = if config.http.enabled {
            Some(http::HttpServer::start(&config, store.clone(), live).await?)
        } else {
            None
        };
        for (t, a) in &bound {
            tracing::info!(transport = %t, address = %a, "SIP listening");
        }
        Ok(Server {
            transports,
            control: control_tx,
            switch_task,
            write_behind,
            cdr_writer,
            jobs,
            store,
            http,
            cluster_node,
        })
    }

    /// The HTTP API's and web console's URL, when served.
    pub fn http_url(&self) -> Option<String> {
        self.http.as_ref().map(|h| h.url.clone())
    }

    /// The bound SIP listeners (actual ports when 0 was configured).
    pub fn sip_addresses(&self) -> Vec<(Transport, SocketAddr)> {
        self.transports.local_addrs()
    }

    /// Marks the node not ready (`/readyz` answers 503), ends every live call
    /// (with its call record committed), stops accepting traffic, lets the
    /// switch finish what it holds, writes pending registrations and closes
    /// the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        // Not ready from here on: `/readyz` answers 503 until the listener closes.
        if let Some(http) = &self.http {
            http.drain();
        }
        for job in &self.jobs {
            job.abort();
        }
        if let Some(http) = self.http {
            bounded("the HTTP listener", http.stop()).await;
        }
        let (ended_tx, ended_rx) = oneshot::channel();
        let end = sip::EndCalls {
            deadline: tokio::time::Instant::now() + CALL_RECORD_GRACE,
            done: ended_tx,
        };
        if self.control.send(Control::EndCalls(end)).await.is_ok() {
            bounded("ending the calls", ended_rx).await;
        }
        bounded("the SIP transports", self.transports.shutdown()).await;
        if let Some(cluster::Member { name: node, .. }) = &self.cluster_node {
            // The others stop handing calls over at once (instead of after
            // the node's silence).
            if let Some(Err(e)) = bounded("leaving the cluster", self.store.remove_node(node)).await
            {
                tracing::warn!(error = %e, "cannot remove this node's row");
            }
        }
        let (done_tx, done_rx) = oneshot::channel();
        if self.control.send(Control::Stop(done_tx)).await.is_ok() {
            // The switch (and with it the effect executor's senders) drops here,
            // closing the write-behind channel.
            if let Some(Ok(switch)) = bounded("the switch", done_rx).await {
                let s = switch.stats();
                tracing::info!(
                    requests = s.requests,
                    registrations = s.registrations,
                    challenges = s.challenges,
                    auth_failures = s.auth_failures,
                    malformed_answered = s.malformed_answered,
                    malformed_dropped = s.malformed_dropped,
                    calls_attempted = s.calls_attempted,
                    calls_answered = s.calls_answered,
                    calls_failed = s.calls_failed,
                    calls_cancelled = s.calls_cancelled,
                    cdr_write_failures = s.cdr_write_failures,
                    "SIP totals"
                );
            }
        }
        let t = self.transports.stats();
        tracing::info!(traffic = ?t.traffic, drops = ?t.drops, "transport totals");
        if let Some(r) = bounded("the switch task", self.switch_task).await {
            r.context("switch task failed")?;
        }
        if let Some(r) = bounded("the registration writer", self.write_behind).await {
            r.context("write-behind task failed")?;
        }
        if let Some(r) = bounded("the call record writer", self.cdr_writer).await {
            r.context("call record writer failed")?;
        }
        bounded("closing the database", self.store.close()).await;
        Ok(())
    }
}

/// How long one step of a shutdown may take beyond the calls' grace period
/// before the shutdown goes on without it.
const SHUTDOWN_STEP_LIMIT: Duration = Duration::from_secs(15);

/// Awaits one step of a shutdown; one that overruns
/// [`CALL_RECORD_GRACE`] + [`SHUTDOWN_STEP_LIMIT`] is logged by name and
/// left behind (`None`), so a stuck step never keeps the process alive.
async fn bounded<T>(step: &str, work: impl std::future::Future<Output = T>) -> Option<T> {
    let limit = CALL_RECORD_GRACE + SHUTDOWN_STEP_LIMIT;
    match tokio::time::timeout(limit, work).await {
        Ok(out) => Some(out),
        Err(_) => {
            tracing::error!(
                step,
                ?limit,
                "shutdown: step did not finish in time; going on without it"
            );
            None
        }
    }
}

/// The transports' settings from `[sip]`, with the TLS server settings (when
/// a listener is TLS) and the default outbound TLS settings.
fn transport_config(
    config: &Config,
    tls_server: Option<Arc<rustls::ServerConfig>>,
    tls_client: Option<Arc<rustls::ClientConfig>>,
) -> TransportConfig {
    TransportConfig {
        listeners: config
            .sip
            .listen
            .iter()
            .map(|l| ListenerConfig {
                transport: l.transport,
                addr: l.addr,
            })
            .collect(),
        max_udp_message: config.sip.max_udp_message,
        max_stream_message: config.sip.max_stream_message,
        tcp_idle_timeout: config.sip.tcp_idle_timeout,
        max_connections: config.sip.max_connections,
        max_connections_per_source: config.sip.max_connections_per_source,
        stream_message_timeout: config.sip.stream_message_timeout,
        tls_server,
        tls_client,
        tls_handshake_timeout: config.sip.tls_handshake_timeout,
        ..TransportConfig::default()
    }
}

/// Notices users, groups, ACLs and trunks changed by another process (the
/// CLI, another node) within a second: one cheap query of each change
/// counter, never on the SIP path. Changes made through this server's API
/// are applied by the API at once; seeing them here again is harmless.
async fn watch_changes(live: Arc<http::ServerLive>) {
    let store = &live.store;
    let mut users = store.users_generation().await.ok();
    let mut config = store.config_generation().await.ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        match store.users_generation().await {
            Ok(g) if Some(g) != users => {
                users = Some(g);
                policy::counter_changed(&live, "users").await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the users change counter"),
        }
        match store.config_generation().await {
            Ok(g) if Some(g) != config => {
                config = Some(g);
                policy::counter_changed(&live, "config").await;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the configuration change counter"),
        }
        if live.control.is_closed() {
            return;
        }
    }
}

/// Forgets, now and then, the sources and user names the guard no longer
/// needs (the table is bounded regardless; this keeps it small when quiet).
async fn sweep_guard(guard: Arc<guard::Guard>) {
    let mut tick = tokio::time::interval(Duration::from_secs(30));
    loop {
        tick.tick().await;
        let forgotten = guard.sweep(Instant::now());
        tracing::trace!(forgotten, "guard swept");
    }
}

/// Deletes expired registration rows now and then (the switch expires its own
/// in memory; this keeps the table from growing after crashes).
async fn purge_expired(store: Store) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        let now = i64::try_from(sip::unix_ms()).unwrap_or(i64::MAX);
        if let Err(e) = store.purge_expired_bindings(now).await {
            tracing::warn!(error = %e, "cannot purge expired registrations");
        }
    }
}
