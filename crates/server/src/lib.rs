//! Switchboard's composition root: reads the configuration, opens the store,
//! starts the transports and the tasks that drive the sans-IO cores, runs
//! their effects, and shuts everything down in order.
//!
//! Owns: configuration ([`Config`]), the SIP driver task (one task owns the
//! `Switch`; DESIGN §3), the effect executor (credential lookups, write-behind
//! of registrations, media pass-through, the group-commit writer of call
//! records), the dialplan files (loading, hot reload on change and SIGHUP,
//! `switchboard dialplan test`), periodic jobs (noticing user changes made by
//! other processes, purging expired rows), user administration for the CLI.
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

mod cdrs;
pub mod config;
mod convert;
pub mod dialplans;
mod effects;
mod inbound;
mod local_ips;
mod sip;
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

        let (inbound_tx, inbound_rx) = mpsc::channel(INBOUND_QUEUE);
        let transports = Transports::start(
            transport_config(&config),
            Arc::new(Inbound { queue: inbound_tx }),
        )
        .await
        .context("cannot open the SIP listeners")?;
        // Messages wait in the queue until the switch task runs; the switch
        // needs the bound addresses (trunk requests leave from a listener).
        let local_ips = local_ips::for_listeners(&config.sip.listen);
        let trunks = convert::trunks(&config, &transports.local_addrs()).await?;
        let mut switch = Switch::new(convert::switch_config(
            &config,
            local_ips,
            trunks,
            nonce_secret,
            rng.random(),
        ));

        switch.set_dialplan(dialplan.plan.clone());

        let domains = store
            .list_domains()
            .await
            .context("cannot read user domains")?;
        switch.set_user_domains(domains);
        let now_unix = sip::unix_ms();
        let records: Vec<_> = store
            .load_bindings(i64::try_from(now_unix).unwrap_or(i64::MAX))
            .await
            .context("cannot load registrations")?
            .into_iter()
            .filter_map(|b| convert::from_store_binding(&b))
            .collect();
        let restored = switch.restore_bindings(Instant::now(), now_unix, records);
        tracing::info!(restored, "registrations restored");

        // Outbound trunk registrations begin.
        switch.start(Instant::now(), sip::unix_ms());

        let (results_tx, results_rx) = mpsc::channel(1_024);
        let (wb_tx, wb_rx) = mpsc::unbounded_channel();
        let (control_tx, control_rx) = mpsc::channel(16);
        let write_behind = tokio::spawn(effects::write_behind(
            store.clone(),
            wb_rx,
            config.database.write_behind,
        ));
        let (cdr_tx, cdr_rx) = mpsc::unbounded_channel();
        let cdr_writer = tokio::spawn(cdrs::cdr_writer(store.clone(), cdr_rx, results_tx.clone()));
        let switch_task = tokio::spawn(
            SwitchTask {
                switch,
                inbound: inbound_rx,
                results: results_rx,
                control: control_rx,
                transports: transports.clone(),
                effects: EffectExecutor::new(store.clone(), results_tx, wb_tx, cdr_tx),
                ending: None,
            }
            .run(),
        );
        let jobs = vec![
            tokio::spawn(watch_users(store.clone(), control_tx.clone())),
            tokio::spawn(purge_expired(store.clone())),
            tokio::spawn(dialplans::watch(
                config.dialplan.dir.clone(),
                dialplans::trunk_names(&config),
                dialplan.fingerprint,
                control_tx.clone(),
            )),
        ];
        for (t, a) in transports.local_addrs() {
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
        })
    }

    /// The bound SIP listeners (actual ports when 0 was configured).
    pub fn sip_addresses(&self) -> Vec<(Transport, SocketAddr)> {
        self.transports.local_addrs()
    }

    /// Ends every live call (with its call record committed), stops accepting
    /// traffic, lets the switch finish what it holds, writes pending
    /// registrations and closes the store.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        for job in &self.jobs {
            job.abort();
        }
        let (ended_tx, ended_rx) = oneshot::channel();
        let end = sip::EndCalls {
            deadline: tokio::time::Instant::now() + CALL_RECORD_GRACE,
            done: ended_tx,
        };
        if self.control.send(Control::EndCalls(end)).await.is_ok() {
            let _ = ended_rx.await;
        }
        self.transports.shutdown().await;
        let (done_tx, done_rx) = oneshot::channel();
        if self.control.send(Control::Stop(done_tx)).await.is_ok() {
            // The switch (and with it the effect executor's senders) drops here,
            // closing the write-behind channel.
            if let Ok(switch) = done_rx.await {
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
        self.switch_task.await.context("switch task failed")?;
        self.write_behind
            .await
            .context("write-behind task failed")?;
        self.cdr_writer.await.context("call record writer failed")?;
        self.store.close().await;
        Ok(())
    }
}

fn transport_config(config: &Config) -> TransportConfig {
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
        ..TransportConfig::default()
    }
}

/// Notices users changed by another process (the CLI, another node) within a
/// second: one cheap query of the change counter, never on the SIP path.
async fn watch_users(store: Store, control: mpsc::Sender<Control>) {
    let mut last = store.users_generation().await.ok();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let current = match store.users_generation().await {
            Ok(g) => Some(g),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the users change counter");
                continue;
            }
        };
        if current == last {
            continue;
        }
        last = current;
        match store.list_domains().await {
            Ok(domains) => {
                if control
                    .send(Control::UsersChanged { domains })
                    .await
                    .is_err()
                {
                    return;
                }
                tracing::debug!("user changes noticed");
            }
            Err(e) => tracing::warn!(error = %e, "cannot read user domains"),
        }
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
