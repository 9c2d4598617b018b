//! Cluster mode: bindings whose flows live on other nodes, and the calls
//! those nodes hand over for them.
//!
//! Each node keeps every binding of the cluster in its location table. A
//! binding registered here has no `node`; one registered on another node
//! names it ([`Binding::node`]) and is fed in by the server from the shared
//! store ([`Switch::apply_remote_bindings`]). The switch never writes, expires
//! into the store or keeps alive another node's binding: that node does.
//!
//! A call to such a binding is handed to its node while the node lives
//! ([`Switch::set_cluster_peers`]): the B leg's INVITE goes to the node's SIP
//! address with the binding's contact as Request-URI and the AOR in `To`.
//! The node admits it by its exact source address (never by digest, never
//! as a trunk), rings only its own binding with that contact (never a trunk,
//! never another node: no relay, no loop), passes the SDP through (the
//! first node anchors the media) and writes no call record (the first node
//! writes the call's one record). When the node is gone, its UDP bindings
//! are sent to directly (where the network lets the device hear from this
//! node) and its stream bindings are dropped: their connections died with
//! it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use sb_sip_message::{Aor, ByteStr, Transport};

use crate::core::Switch;
use crate::effects::{BindingId, BindingRecord};
use crate::events::{RemovalReason, SwitchEvent};
use crate::registrar::location::Binding;

/// The other live nodes of the cluster, by name and by SIP address.
#[derive(Debug, Default)]
pub(crate) struct ClusterPeers {
    by_name: HashMap<ByteStr, SocketAddr>,
    by_addr: HashMap<SocketAddr, ByteStr>,
}

impl ClusterPeers {
    /// The SIP address of live node `name`.
    pub(crate) fn address_of(&self, name: &str) -> Option<SocketAddr> {
        self.by_name.get(name).copied()
    }

    /// The live node whose SIP address is exactly `addr`.
    pub(crate) fn node_at(&self, addr: SocketAddr) -> Option<&ByteStr> {
        self.by_addr.get(&addr)
    }
}

impl Switch {
    /// Replaces the set of other live nodes (name, SIP address). Bindings of
    /// nodes that left the set over TCP, TLS or WebSocket are forgotten
    /// (their connections are gone); their UDP bindings stay, reached
    /// directly from now on. Returns how many bindings were forgotten.
    pub fn set_cluster_peers(&mut self, peers: Vec<(ByteStr, SocketAddr)>) -> usize {
        let mut next = ClusterPeers::default();
        for (name, addr) in peers {
            next.by_addr.insert(addr, name.clone());
            next.by_name.insert(name, addr);
        }
        self.peers = next;
        let gone: Vec<_> = self
            .location
            .iter()
            .filter(|(_, b)| {
                b.node
                    .as_deref()
                    .is_some_and(|n| self.peers.address_of(n).is_none())
                    && b.peer.transport != Transport::Udp
            })
            .map(|(aor, b)| (aor.clone(), b.id.clone()))
            .collect();
        for (aor, id) in &gone {
            self.location.remove(aor, id);
        }
        self.sync_gauges();
        gone.len()
    }

    /// Another node (or an administrator's tool) deleted this node's binding
    /// `id` of `aor` from the shared store (an administrator's removal, a
    /// `Contact: *`): it goes here too, unless this node wrote it again
    /// after `deleted_row_unix_ms` (the deleted row's last write). Nothing
    /// goes back to the store. Returns whether the binding went.
    pub fn forget_binding(&mut self, aor: &Aor, id: &BindingId, deleted_row_unix_ms: u64) -> bool {
        let ours = self
            .location
            .get(aor, id)
            .is_some_and(|b| b.node.is_none() && b.updated_unix_ms <= deleted_row_unix_ms);
        if !ours {
            return false;
        }
        if let Some(binding) = self.location.remove(aor, id) {
            self.events.push_back(SwitchEvent::Unregistered {
                aor: aor.clone(),
                contact: binding.contact,
                reason: RemovalReason::Removed,
            });
        }
        self.sync_gauges();
        true
    }

    /// Brings the other nodes' bindings of `aor` in line with `records`:
    /// every unexpired binding of the AOR in the shared store, each naming
    /// its node (`None`: this node's own, which this node knows better and
    /// which is left alone). Another node's binding that is no longer
    /// listed is forgotten; one with the id of a binding of this node
    /// replaces it when written later (the device moved to that node).
    /// Nothing goes back to the store. Returns how many bindings of other
    /// nodes the AOR has now.
    pub fn apply_remote_bindings(
        &mut self,
        now: Instant,
        unix_ms: u64,
        aor: &Aor,
        records: &[BindingRecord],
    ) -> usize {
        let stale: Vec<_> = self
            .location
            .bindings(aor)
            .filter(|b| {
                b.node.is_some()
                    && !records
                        .iter()
                        .any(|r| r.node.is_some() && r.binding_id == b.id)
            })
            .map(|b| b.id.clone())
            .collect();
        for id in &stale {
            self.location.remove(aor, id);
        }
        let mut remote = 0;
        for r in records {
            if r.node.is_none() || r.expires_unix_ms <= unix_ms {
                continue;
            }
            let newer_here = self
                .location
                .get(aor, &r.binding_id)
                .is_some_and(|b| b.node.is_none() && b.updated_unix_ms > r.updated_unix_ms);
            if newer_here {
                continue;
            }
            if let Some(binding) = Binding::from_record(r, now, unix_ms) {
                self.location.upsert(aor, binding);
                remote += 1;
            }
        }
        self.sync_gauges();
        remote
    }
}
