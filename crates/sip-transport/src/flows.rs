//! The connection table: every open flow (a connection of any connection-oriented
//! transport: TCP and TLS now, WebSocket alike), the index by remote address used
//! for connection reuse (RFC 3261 §18.2.2, §18.1.1), and the outbound connections
//! still being established.
//!
//! The table only maps identities to writer queues and close signals; the
//! connection tasks own the sockets. It lives behind one mutex held for
//! lookups and single inserts/removals, never across an await.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use foldhash::fast::RandomState;
use sb_sip_message::{Destination, FlowId, Peer, Transport};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Messages a connection's writer can hold before [`crate::Transports::send`]
/// reports [`crate::TransportError::QueueFull`].
pub(crate) const FLOW_QUEUE: usize = 256;

/// Flow ids are unique within the process, across every `Transports`.
static NEXT_FLOW: AtomicU64 = AtomicU64::new(1);

/// A fresh flow id.
pub(crate) fn next_flow_id() -> FlowId {
    FlowId(NEXT_FLOW.fetch_add(1, Ordering::Relaxed))
}

/// One message waiting for a connection's writer.
#[derive(Debug)]
pub(crate) struct Outbound {
    /// The bytes to write.
    pub(crate) payload: Bytes,
    /// Where the caller sent it, for `on_send_failed`; `None` for keep-alive
    /// pongs, whose loss is reported to nobody.
    pub(crate) dest: Option<Destination>,
}

/// The sending side of a writer queue.
pub(crate) type Queue = mpsc::Sender<Outbound>;

/// Connections are found by transport and remote address.
pub(crate) type RemoteKey = (Transport, SocketAddr);

/// Why the table refuses a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The transports are shutting down.
    Closed,
    /// `max_connections` is reached.
    Limit,
}

/// Where [`FlowTable::route`] found a queue for a destination.
#[derive(Debug)]
pub(crate) enum Route<'a> {
    /// An open connection.
    Flow(&'a Queue),
    /// A connection being established to the destination.
    Pending(&'a Queue),
    /// Nothing: a connection must be opened.
    None,
}

#[derive(Debug)]
struct FlowEntry {
    peer: Peer,
    queue: Queue,
    close: CancellationToken,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct FlowTable {
    flows: HashMap<FlowId, FlowEntry, RandomState>,
    by_remote: HashMap<RemoteKey, Vec<FlowId>, RandomState>,
    pending: HashMap<RemoteKey, Queue, RandomState>,
    max: usize,
    closed: bool,
}

impl FlowTable {
    /// An empty table admitting at most `max` connections.
    pub(crate) fn new(max: usize) -> FlowTable {
        FlowTable {
            flows: HashMap::default(),
            by_remote: HashMap::default(),
            pending: HashMap::default(),
            max,
            closed: false,
        }
    }

    /// Open and connecting connections.
    pub(crate) fn open_count(&self) -> usize {
        self.flows.len() + self.pending.len()
    }

    /// Refuses every later connection (shutdown).
    pub(crate) fn close(&mut self) {
        self.closed = true;
    }

    /// Whether one more connection may be opened.
    pub(crate) fn admit(&self) -> Result<(), Refusal> {
        if self.closed {
            Err(Refusal::Closed)
        } else if self.open_count() >= self.max {
            Err(Refusal::Limit)
        } else {
            Ok(())
        }
    }

    /// Registers an established connection; `peer.flow` is its id.
    pub(crate) fn insert(
        &mut self,
        peer: Peer,
        queue: Queue,
        close: CancellationToken,
    ) -> Result<(), Refusal> {
        self.admit()?;
        self.insert_unchecked(peer, queue, close);
        Ok(())
    }

    fn insert_unchecked(&mut self, peer: Peer, queue: Queue, close: CancellationToken) {
        let flow = peer.flow.expect("a connection's peer carries its flow id");
        self.by_remote
            .entry((peer.transport, peer.remote))
            .or_default()
            .push(flow);
        self.flows.insert(flow, FlowEntry { peer, queue, close });
    }

    /// Registers a connection attempt towards `key`, whose writer queue
    /// collects messages until it is established.
    pub(crate) fn insert_pending(&mut self, key: RemoteKey, queue: Queue) -> Result<(), Refusal> {
        self.admit()?;
        self.pending.insert(key, queue);
        Ok(())
    }

    /// The attempt towards `key` failed: forgets it.
    pub(crate) fn remove_pending(&mut self, key: &RemoteKey) {
        self.pending.remove(key);
    }

    /// The attempt towards `key` succeeded: it becomes the flow `peer.flow`,
    /// keeping its queue (already counted against the limit). Refused only when
    /// shutting down.
    pub(crate) fn promote(
        &mut self,
        key: &RemoteKey,
        peer: Peer,
        close: CancellationToken,
    ) -> Result<(), Refusal> {
        let queue = self
            .pending
            .remove(key)
            .expect("only the connecting task removes its pending entry");
        if self.closed {
            return Err(Refusal::Closed);
        }
        self.insert_unchecked(peer, queue, close);
        Ok(())
    }

    /// Forgets `flow`; its peer if it was still registered.
    pub(crate) fn remove(&mut self, flow: FlowId) -> Option<Peer> {
        let entry = self.flows.remove(&flow)?;
        let key = (entry.peer.transport, entry.peer.remote);
        if let Some(ids) = self.by_remote.get_mut(&key) {
            ids.retain(|id| *id != flow);
            if ids.is_empty() {
                self.by_remote.remove(&key);
            }
        }
        Some(entry.peer)
    }

    /// Forgets `flow` and tells its task to close the connection.
    pub(crate) fn close_flow(&mut self, flow: FlowId) {
        if let Some(entry) = self.flows.get(&flow) {
            entry.close.cancel();
            self.remove(flow);
        }
    }

    /// The peer of an open flow.
    pub(crate) fn peer(&self, flow: FlowId) -> Option<Peer> {
        self.flows.get(&flow).map(|entry| entry.peer)
    }

    /// The queue for `dest`: its flow if still open, else the newest open
    /// connection of the same transport to the same remote address, else a
    /// connection being established there.
    pub(crate) fn route(&self, dest: &Destination) -> Route<'_> {
        if let Some(entry) = dest.flow.and_then(|flow| self.flows.get(&flow)) {
            return Route::Flow(&entry.queue);
        }
        let key = (dest.transport, dest.remote);
        if let Some(entry) = self
            .by_remote
            .get(&key)
            .and_then(|ids| ids.last())
            .and_then(|flow| self.flows.get(flow))
        {
            return Route::Flow(&entry.queue);
        }
        match self.pending.get(&key) {
            Some(queue) => Route::Pending(queue),
            None => Route::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), port)
    }

    fn peer(flow: FlowId, remote: SocketAddr) -> Peer {
        Peer {
            transport: Transport::Tcp,
            remote,
            local: addr(5060),
            flow: Some(flow),
        }
    }

    fn dest(remote: SocketAddr, flow: Option<FlowId>) -> Destination {
        Destination {
            transport: Transport::Tcp,
            remote,
            flow,
            local: None,
        }
    }

    fn queue() -> (Queue, mpsc::Receiver<Outbound>) {
        mpsc::channel(1)
    }

    fn routed_to(route: &Route<'_>, queue: &Queue) -> bool {
        match route {
            Route::Flow(q) | Route::Pending(q) => q.same_channel(queue),
            Route::None => false,
        }
    }

    #[test]
    fn flow_ids_are_never_reused() {
        let a = next_flow_id();
        let b = next_flow_id();
        assert!(b.0 > a.0);
    }

    #[test]
    fn routes_by_flow_then_remote_then_pending() {
        let mut table = FlowTable::new(10);
        let (f1, f2) = (next_flow_id(), next_flow_id());
        let (q1, _r1) = queue();
        let (q2, _r2) = queue();
        table
            .insert(peer(f1, addr(40_000)), q1.clone(), CancellationToken::new())
            .unwrap();
        table
            .insert(peer(f2, addr(40_001)), q2.clone(), CancellationToken::new())
            .unwrap();

        // The flow wins over the remote address.
        assert!(routed_to(&table.route(&dest(addr(40_001), Some(f1))), &q1));
        // A vanished flow falls back to a connection to the same remote.
        let gone = next_flow_id();
        assert!(routed_to(
            &table.route(&dest(addr(40_001), Some(gone))),
            &q2
        ));
        // Same remote over another transport is not reused.
        let mut tls = dest(addr(40_001), None);
        tls.transport = Transport::Tls;
        assert!(matches!(table.route(&tls), Route::None));

        let (qp, _rp) = queue();
        table
            .insert_pending((Transport::Tcp, addr(5070)), qp.clone())
            .unwrap();
        let route = table.route(&dest(addr(5070), None));
        assert!(matches!(route, Route::Pending(_)) && routed_to(&route, &qp));
    }

    #[test]
    fn newest_connection_to_a_remote_is_preferred_and_removal_falls_back() {
        let mut table = FlowTable::new(10);
        let (f1, f2) = (next_flow_id(), next_flow_id());
        let (q1, _r1) = queue();
        let (q2, _r2) = queue();
        table
            .insert(peer(f1, addr(40_000)), q1.clone(), CancellationToken::new())
            .unwrap();
        table
            .insert(peer(f2, addr(40_000)), q2.clone(), CancellationToken::new())
            .unwrap();
        assert!(routed_to(&table.route(&dest(addr(40_000), None)), &q2));
        assert_eq!(table.remove(f2), Some(peer(f2, addr(40_000))));
        assert!(routed_to(&table.route(&dest(addr(40_000), None)), &q1));
        assert_eq!(table.remove(f2), None);
        table.remove(f1);
        assert!(matches!(
            table.route(&dest(addr(40_000), None)),
            Route::None
        ));
        assert!(table.by_remote.is_empty());
    }

    #[test]
    fn limit_counts_pending_and_promotion_keeps_the_slot() {
        let mut table = FlowTable::new(2);
        let key = (Transport::Tcp, addr(5070));
        let (qp, _rp) = queue();
        table.insert_pending(key, qp.clone()).unwrap();
        let f1 = next_flow_id();
        let (q1, _r1) = queue();
        table
            .insert(peer(f1, addr(40_000)), q1, CancellationToken::new())
            .unwrap();
        let (q2, _r2) = queue();
        assert_eq!(
            table.insert(
                peer(next_flow_id(), addr(40_001)),
                q2,
                CancellationToken::new()
            ),
            Err(Refusal::Limit)
        );
        let f2 = next_flow_id();
        table
            .promote(&key, peer(f2, addr(5070)), CancellationToken::new())
            .unwrap();
        assert_eq!(table.open_count(), 2);
        assert!(routed_to(&table.route(&dest(addr(5070), Some(f2))), &qp));
    }

    #[test]
    fn close_flow_cancels_and_forgets() {
        let mut table = FlowTable::new(2);
        let f1 = next_flow_id();
        let (q1, _r1) = queue();
        let close = CancellationToken::new();
        table
            .insert(peer(f1, addr(40_000)), q1, close.clone())
            .unwrap();
        table.close_flow(f1);
        assert!(close.is_cancelled());
        assert_eq!(table.peer(f1), None);
        assert_eq!(table.open_count(), 0);
    }

    #[test]
    fn closed_table_refuses_everything() {
        let mut table = FlowTable::new(2);
        let key = (Transport::Tcp, addr(5070));
        let (qp, _rp) = queue();
        table.insert_pending(key, qp).unwrap();
        table.close();
        let (q1, _r1) = queue();
        assert_eq!(
            table.insert(peer(next_flow_id(), addr(1)), q1, CancellationToken::new()),
            Err(Refusal::Closed)
        );
        assert_eq!(
            table.promote(
                &key,
                peer(next_flow_id(), addr(5070)),
                CancellationToken::new()
            ),
            Err(Refusal::Closed)
        );
        assert_eq!(table.open_count(), 0);
    }
}
