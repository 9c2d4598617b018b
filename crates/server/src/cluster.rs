//! Cluster mode: several nodes over one PostgreSQL database (a node name and a
//! `postgres://` URL). Each node keeps its hot state in memory and learns what
//! the others changed from PostgreSQL's notifications (LISTEN/NOTIFY, see
//! `migrations/postgres/0005_cluster.sql`), never by polling tables:
//! - bindings written or deleted by another node: the AOR's rows are read
//!   (in batches) and handed to the switch as that node's bindings;
//! - users, groups, ACLs and trunks: the directory or the trunk set is read
//!   again and applied, as after a change through this node's API;
//! - a new text of a dialplan file: written to this node's file and applied;
//! - nodes starting and stopping: the set of live peers is read again.
//!
//! Liveness: every node refreshes its row in `nodes` each second; a node not
//! heard of for [`NODE_SILENCE_MS`] (the database's clock) is gone, and the
//! switch stops handing calls to it (see `sb_switch`'s cluster module). A node
//! that stops cleanly deletes its row, so the others know at once.
//!
//! With a PostgreSQL database and no node name (one node), the same listener
//! replaces the polling of the change counters.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sb_sip_message::{Aor, ByteStr, Transport};
use sb_store::{BindingRecord as StoredBinding, Change, ChangeListener, Store};
use sb_switch::{BindingId, BindingRecord};
use tokio::time::Instant;

use crate::http::ServerLive;
use crate::sip::Control;
use crate::{Config, convert, policy, sip};

/// A node silent for longer than this is gone (three missed heartbeats).
pub(crate) const NODE_SILENCE_MS: i64 = 3_000;
/// How often a node says it is alive and looks at the others.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Binding notifications arriving within this window are read with one query.
const BINDING_BATCH: Duration = Duration::from_millis(20);

/// The other live nodes.
pub(crate) type Peers = Vec<(ByteStr, SocketAddr)>;

/// This node in the cluster: its name and where the others reach it.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) address: String,
}

/// Where the other nodes reach this node: `[cluster] address` (resolved),
/// else the first bound UDP listener when it names an interface.
pub(crate) async fn own_address(
    config: &Config,
    bound: &[(Transport, SocketAddr)],
) -> anyhow::Result<SocketAddr> {
    let configured = config.cluster.address.trim();
    if !configured.is_empty() {
        let mut addrs = tokio::net::lookup_host(configured)
            .await
            .with_context(|| format!("cluster.address {configured:?} cannot be resolved"))?;
        return addrs
            .next()
            .with_context(|| format!("cluster.address {configured:?} names no address"));
    }
    let udp = bound
        .iter()
        .find(|(t, _)| *t == Transport::Udp)
        .map(|(_, a)| *a)
        .context("a cluster node needs a UDP SIP listener (the nodes hand calls over UDP)")?;
    anyhow::ensure!(
        !udp.ip().is_unspecified(),
        "the UDP listener {udp} names no interface: set cluster.address to the address the \
         other nodes reach this node at"
    );
    Ok(udp)
}

/// The other nodes heard of within [`NODE_SILENCE_MS`], by name.
pub(crate) async fn live_peers(store: &Store, me: &str) -> anyhow::Result<Peers> {
    let mut peers = Vec::new();
    for n in store.list_nodes().await.context("cannot read the nodes")? {
        if n.name == me || n.silent_ms > NODE_SILENCE_MS {
            continue;
        }
        match n.sip_address.parse::<SocketAddr>() {
            Ok(addr) => peers.push((ByteStr::from(n.name.as_str()), addr)),
            Err(_) => {
                tracing::warn!(
                    node = %n.name,
                    address = %n.sip_address,
                    "node with an unusable SIP address ignored"
                );
            }
        }
    }
    Ok(peers)
}

/// Stored rows grouped by AOR, as the switch's records (this node's own
/// rows without a node).
pub(crate) fn by_aor(rows: &[StoredBinding], me: Option<&str>) -> Vec<(Aor, Vec<BindingRecord>)> {
    let mut out: Vec<(Aor, Vec<BindingRecord>)> = Vec::new();
    for row in rows {
        let Some(record) = convert::from_store_binding(row, me) else {
            continue;
        };
        match out.last_mut() {
            Some((aor, records)) if *aor == record.aor => records.push(record),
            _ => out.push((record.aor.clone(), vec![record])),
        }
    }
    out
}

/// Follows the other nodes' changes until the switch task stops.
pub(crate) async fn run(
    live: Arc<ServerLive>,
    member: Option<Member>,
    mut listener: ChangeListener,
    mut peers: Peers,
) {
    let me = member.as_ref().map(|m| m.name.as_str());
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut aors: BTreeSet<String> = BTreeSet::new();
    let mut flush_at: Option<Instant> = None;
    loop {
        if live.control.is_closed() {
            return;
        }
        let flush = async {
            match flush_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = heartbeat.tick() => {
                if let Some(member) = &member {
                    beat(&live.store, member, &mut peers, &live.control).await;
                }
            }
            () = flush => {
                flush_at = None;
                let batch: Vec<String> = std::mem::take(&mut aors).into_iter().collect();
                send_bindings(&live, &batch, me).await;
            }
            change = listener.recv() => match change {
                Ok(Change::Binding {
                    deleted,
                    writer,
                    node: row_node,
                    updated_at_unix_ms,
                    aor,
                    binding_id,
                }) => {
                    let Some(me) = me else { continue };
                    if writer.strip_prefix("switchboard/") == Some(me) {
                        // This node's own write.
                    } else if row_node.as_deref() == Some(me) {
                        // This node's binding, deleted by another node (an
                        // administrator's removal, a `Contact: *`).
                        if deleted {
                            let id = BindingId(ByteStr::from(binding_id.as_str()));
                            let written = u64::try_from(updated_at_unix_ms).unwrap_or(0);
                            let aor = Aor(ByteStr::from(aor.as_str()));
                            let forget = Control::ForgetBinding(aor, id, written);
                            let _ = live.control.send(forget).await;
                        }
                    } else {
                        aors.insert(aor);
                        flush_at.get_or_insert_with(|| Instant::now() + BINDING_BATCH);
                    }
                }
                Ok(Change::Counter(name)) => policy::counter_changed(&live, &name).await,
                Ok(Change::Dialplan(name)) => {
                    if let Err(e) = live.dialplan.adopt_latest(&name).await {
                        tracing::error!(
                            file = %name,
                            error = %e,
                            "the cluster's dialplan text not taken"
                        );
                    }
                }
                Ok(Change::Node(_)) => {
                    if let Some(me) = me {
                        refresh_peers(&live.store, me, &mut peers, &live.control).await;
                    }
                }
                Ok(Change::Lost) => {
                    tracing::warn!("change notifications interrupted; reading everything again");
                    resync(&live, me, &mut peers).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen to the cluster's changes; retrying");
                    tokio::time::sleep(HEARTBEAT).await;
                }
            },
        }
    }
}

/// This node is alive (its row again if an operator deleted it); the live
/// peers are read again.
async fn beat(
    store: &Store,
    Member { name: me, address }: &Member,
    peers: &mut Peers,
    control: &tokio::sync::mpsc::Sender<Control>,
) {
    match store.node_heartbeat(me).await {
        Ok(true) => {}
        Ok(false) => {
            // An operator deleted the row: it comes back.
            tracing::warn!(node = %me, "this node's row was gone; recording it again");
            if let Err(e) = store.register_node(me, address).await {
                tracing::warn!(error = %e, "cannot record this node again");
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot refresh this node's heartbeat"),
    }
    refresh_peers(store, me, peers, control).await;
}

async fn refresh_peers(
    store: &Store,
    me: &str,
    peers: &mut Peers,
    control: &tokio::sync::mpsc::Sender<Control>,
) {
    match live_peers(store, me).await {
        Ok(now) if now != *peers => {
            for (name, addr) in &now {
                if !peers.iter().any(|(n, _)| n == name) {
                    tracing::info!(node = %name, address = %addr, "cluster node up");
                }
            }
            for (name, _) in peers.iter() {
                if !now.iter().any(|(n, _)| n == name) {
                    tracing::warn!(node = %name, "cluster node gone");
                }
            }
            peers.clone_from(&now);
            let _ = control.send(Control::ClusterPeers(now)).await;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the cluster's nodes"),
    }
}

/// Reads the bindings of `aors` and hands them to the switch.
async fn send_bindings(live: &ServerLive, aors: &[String], me: Option<&str>) {
    let now = i64::try_from(sip::unix_ms()).unwrap_or(i64::MAX);
    let rows = match live.store.bindings_of(aors, now).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, aors = aors.len(), "cannot read other nodes' registrations");
            return;
        }
    };
    let mut grouped = by_aor(&rows, me);
    // An AOR whose rows are all gone still gets its (empty) list.
    for aor in aors {
        if !grouped.iter().any(|(a, _)| a.as_str() == aor) {
            grouped.push((Aor(ByteStr::from(aor.as_str())), Vec::new()));
        }
    }
    let _ = live.control.send(Control::RemoteBindings(grouped)).await;
}

/// After missed notifications: everything another node may have changed.
async fn resync(live: &ServerLive, me: Option<&str>, peers: &mut Peers) {
    policy::counter_changed(live, "users").await;
    policy::counter_changed(live, "config").await;
    live.dialplan.adopt_cluster_texts().await;
    let Some(me) = me else {
        return;
    };
    refresh_peers(&live.store, me, peers, &live.control).await;
    let now = i64::try_from(sip::unix_ms()).unwrap_or(i64::MAX);
    match live.store.load_bindings(now).await {
        Ok(rows) => {
            let grouped = by_aor(&rows, Some(me));
            let _ = live.control.send(Control::RemoteBindings(grouped)).await;
        }
        Err(e) => tracing::warn!(error = %e, "cannot read the registrations again"),
    }
}
