//! The transaction layer: matching, the four machines, timers and outputs.

mod inbound;
mod machine;

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use foldhash::fast::FixedState;
use sb_sip_message::{
    Branch, Destination, HeaderName, Message, Method, Peer, Request, Response, Transport,
};

use self::machine::Machine;
use crate::branch::BranchGenerator;
use crate::client_invite::ClientInvite;
use crate::client_non_invite::ClientNonInvite;
use crate::ctx::Ctx;
use crate::error::TxError;
use crate::key;
use crate::stats::TxStats;
use crate::timer::{TimerConfig, TimerKind, TimerQueue, TimerSlots};
use crate::types::{Transmit, TxEvent, TxId, TxKind, TxState};

type FastMap<K, V> = HashMap<K, V, FixedState>;

/// A matching key, shared by the key map and its transaction.
type Key = Arc<[u8]>;

/// Transactions are indexed by where they send, for [`TransactionLayer::transport_error`].
type DestKey = (Transport, SocketAddr);

/// One live transaction.
#[derive(Debug)]
pub(crate) struct Transaction {
    /// Its matching key (in the server or client key map).
    key: Key,
    /// RFC 2543 INVITE server transactions: the key of the ACK for the non-2xx.
    alias: Option<Key>,
    /// Matched by the RFC 2543 fallback.
    rfc2543: bool,
    /// Where its requests (client) or responses (server) go.
    dest: Destination,
    slots: TimerSlots,
    machine: Machine,
}

/// The RFC 3261 §17 transaction layer for every transaction of one process,
/// sans-IO. See the crate documentation for how to drive it.
#[derive(Debug)]
pub struct TransactionLayer {
    config: TimerConfig,
    branches: BranchGenerator,
    next_id: u64,
    txs: FastMap<TxId, Transaction>,
    server_keys: FastMap<Key, TxId>,
    client_keys: FastMap<Key, TxId>,
    by_dest: FastMap<DestKey, HashSet<TxId, FixedState>>,
    hash_seed: u64,
    timers: TimerQueue,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TxEvent>,
    stats: TxStats,
    /// Reused for building keys, so that a lookup allocates nothing.
    key_buf: Vec<u8>,
}

impl TransactionLayer {
    /// A layer with the given timer values. `seed` drives branch generation and
    /// the hash maps' seed: the same seed and inputs give the same outputs.
    pub fn new(config: TimerConfig, seed: u64) -> Self {
        let hash_seed = BranchGenerator::new(!seed).next_u64();
        let state = FixedState::with_seed(hash_seed);
        TransactionLayer {
            config,
            branches: BranchGenerator::new(seed),
            next_id: 0,
            txs: HashMap::with_hasher(state.clone()),
            server_keys: HashMap::with_hasher(state.clone()),
            client_keys: HashMap::with_hasher(state.clone()),
            by_dest: HashMap::with_hasher(state),
            hash_seed,
            timers: TimerQueue::default(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: TxStats::default(),
            key_buf: Vec::with_capacity(128),
        }
    }

    /// The timer values in use.
    pub fn config(&self) -> &TimerConfig {
        &self.config
    }

    /// A message from the network. Requests get their top Via stamped with
    /// `received`/`rport` (RFC 3261 §18.2.1, RFC 3581 §4) first, then are matched
    /// to a server transaction (RFC 3261 §17.2.3) or create one; responses are
    /// matched to a client transaction (RFC 3261 §17.1.3).
    pub fn handle_inbound(&mut self, now: Instant, message: Message, peer: Peer) {
        match message {
            Message::Request(request) => self.inbound_request(now, request, peer),
            Message::Response(response) => self.inbound_response(now, response, peer),
        }
        self.prune_timers();
    }

    /// Starts a client transaction for `request` and sends it to `dest`. The TU
    /// has put its own Via on top, with a branch from [`Self::new_branch`].
    /// Responses are matched by that branch and the method.
    pub fn send_request(
        &mut self,
        now: Instant,
        request: Request,
        dest: Destination,
    ) -> Result<TxId, TxError> {
        if request.method == Method::Ack {
            return Err(TxError::AckRequest);
        }
        let via = request
            .headers
            .top_via()
            .map_err(|source| TxError::InvalidVia { source })?;
        let branch = key::rfc3261_branch(&via).ok_or(TxError::MissingBranch)?;
        key::client_key(&mut self.key_buf, &request.method, branch);
        if let Some(&tx) = self.client_keys.get(self.key_buf.as_slice()) {
            return Err(TxError::DuplicateBranch {
                branch: Branch(branch.clone()),
                method: request.method.clone(),
                tx,
            });
        }
        let invite = request.method == Method::Invite;
        let cseq = if invite {
            request
                .headers
                .cseq()
                .map_err(|source| TxError::InvalidCSeq { source })?
                .seq
        } else {
            0
        };
        let via_count = request.headers.count(&HeaderName::Via);
        let key = Key::from(self.key_buf.as_slice());
        let payload = request.to_bytes();
        let id = self.allocate_id();
        let mut slots = TimerSlots::default();
        let mut ctx = Ctx {
            now,
            id,
            dest,
            config: &self.config,
            slots: &mut slots,
            timers: &mut self.timers,
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let machine = if invite {
            Machine::ClientInvite(ClientInvite::start(
                &mut ctx, request, payload, cseq, via_count,
            ))
        } else {
            Machine::ClientNonInvite(ClientNonInvite::start(
                &mut ctx, request, payload, via_count,
            ))
        };
        self.insert(
            id,
            Transaction {
                key,
                alias: None,
                rfc2543: false,
                dest,
                slots,
                machine,
            },
        );
        Ok(id)
    }

    /// Sends `response` on server transaction `tx` (to the destination computed
    /// from the request, RFC 3261 §18.2.2). The TU sends 100 Trying itself, and
    /// retransmits its 2xx to an INVITE itself (RFC 3261 §13.3.1.4) through this
    /// call while the transaction is Accepted.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the TU hands the response over; it has no use for it afterwards"
    )]
    pub fn send_response(
        &mut self,
        now: Instant,
        tx: TxId,
        response: Response,
    ) -> Result<(), TxError> {
        let t = self
            .txs
            .get(&tx)
            .ok_or(TxError::UnknownTransaction { tx })?;
        let kind = t.machine.kind();
        if !kind.is_server() {
            return Err(TxError::NotServerTransaction { tx, kind });
        }
        // RFC 3261 §17.2.3: an RFC 2543 ACK for a non-2xx carries the To tag of
        // the response, so the transaction is also found under that key.
        let status = response.status;
        let mut alias = None;
        if t.rfc2543
            && kind == TxKind::ServerInvite
            && t.machine.state() == TxState::Proceeding
            && status.is_final()
            && !status.is_success()
            && let Some(invite) = t.machine.request()
        {
            let to_tag = response.headers.to_addr().ok().and_then(|to| to.tag());
            if key::rfc2543_ack_alias(
                &mut self.key_buf,
                invite,
                to_tag.as_ref().map(|t| t.as_str()),
            )
            .is_ok()
            {
                alias = Some(Key::from(self.key_buf.as_slice()));
            }
        }
        let result = self
            .dispatch(now, tx, |machine, ctx| match machine {
                Machine::ServerInvite(m) => m.send_response(ctx, &response),
                Machine::ServerNonInvite(m) => m.send_response(ctx, &response),
                Machine::ClientInvite(_) | Machine::ClientNonInvite(_) => {
                    Err(TxError::NotServerTransaction { tx, kind })
                }
            })
            .unwrap_or(Err(TxError::UnknownTransaction { tx }));
        if result.is_ok()
            && let Some(alias) = alias
            && let Some(t) = self.txs.get_mut(&tx)
            && let Entry::Vacant(slot) = self.server_keys.entry(alias.clone())
        {
            slot.insert(tx);
            t.alias = Some(alias);
        }
        self.prune_timers();
        result
    }

    /// Sends a message outside any transaction: the ACK for a 2xx (RFC 3261
    /// §13.2.2.4), a stateless response, a statelessly forwarded message.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "the TU hands the message over; it has no use for it afterwards"
    )]
    pub fn send_stateless(&mut self, message: Message, dest: Destination) {
        self.transmits.push_back(Transmit {
            dest,
            payload: message.to_bytes(),
        });
    }

    /// Sends a keep-alive (`CRLF CRLF`, RFC 5626 §3.5.1) to `dest`, outside
    /// any transaction.
    pub fn send_keepalive(&mut self, dest: Destination) {
        self.transmits.push_back(Transmit {
            dest,
            payload: Bytes::from_static(b"\r\n\r\n"),
        });
    }

    /// The transport failed to deliver to `dest` (RFC 3261 §17.1.4, §17.2.4).
    /// Transactions sending to the same transport and remote address (as handed
    /// out in [`Transmit::dest`]) learn of it, in the order they were created:
    /// client transactions, and server transactions on reliable transports
    /// (UDP server transactions are not told: see `reports_transport_errors`).
    /// Those that send in their current state report
    /// [`TxEvent::TransportError`]: INVITE clients in Calling or Completed,
    /// non-INVITE clients in Trying or Proceeding and non-INVITE servers in
    /// Proceeding or Completed then terminate (RFC 3261 Figures 5, 6, 8);
    /// INVITE servers in Proceeding, Completed or Accepted keep their state
    /// (RFC 6026 Figure 7). The others are not affected.
    pub fn transport_error(&mut self, now: Instant, dest: &Destination) {
        let Some(set) = self.by_dest.get(&(dest.transport, dest.remote)) else {
            return;
        };
        let mut ids: Vec<TxId> = set.iter().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.dispatch(now, id, |machine, ctx| machine.on_transport_error(ctx));
        }
        self.prune_timers();
    }

    /// Fires every timer due at `now`, in deadline order (timers due at the same
    /// instant in the order they were started). Retransmission intervals are
    /// counted from `now`, so a late call does not cause a burst.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(entry) = self.timers.pop_due(now) {
            let fires = self
                .txs
                .get_mut(&entry.tx)
                .is_some_and(|t| t.slots.take(entry.kind, entry.at));
            if fires {
                self.dispatch(now, entry.tx, |machine, ctx| {
                    machine.on_timer(ctx, entry.kind);
                });
            }
        }
        self.prune_timers();
    }

    /// The next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the TU.
    pub fn poll_event(&mut self) -> Option<TxEvent> {
        self.events.pop_front()
    }

    /// The earliest running timer: call [`Self::handle_timeout`] then.
    pub fn poll_timeout(&self) -> Option<(Instant, TimerKind)> {
        self.timers.peek().map(|e| (e.at, e.kind))
    }

    /// A fresh branch: `z9hG4bK` and random characters (RFC 3261 §8.1.1.7).
    pub fn new_branch(&mut self) -> Branch {
        self.branches.next_branch()
    }

    /// The INVITE server transaction a CANCEL (as delivered by this layer, top
    /// Via stamped) refers to (RFC 3261 §9.2): matched like its INVITE, with
    /// the RFC 2543 fallback for branches without the magic cookie.
    pub fn matching_invite(&self, cancel: &Request) -> Option<TxId> {
        let via = cancel.headers.top_via().ok()?;
        let mut buf = Vec::with_capacity(96);
        key::server_key(&mut buf, cancel, &via, Some(&Method::Invite)).ok()?;
        let id = *self.server_keys.get(buf.as_slice())?;
        matches!(self.txs.get(&id)?.machine, Machine::ServerInvite(_)).then_some(id)
    }

    /// The TU gives up on a live transaction: it is removed at once, its timers
    /// stop, later messages for it are strays, and [`TxEvent::Terminated`] is
    /// reported. For an INVITE client transaction still in Proceeding
    /// 64·T1 after the TU sent a CANCEL without a final response arriving
    /// (RFC 3261 §9.1), which no timer of the transaction itself would end.
    /// Returns whether `tx` was live.
    pub fn abandon(&mut self, tx: TxId) -> bool {
        let Some(t) = self.txs.get(&tx) else {
            return false;
        };
        let (kind, state) = (t.machine.kind(), t.machine.state());
        self.stats
            .transition(kind, Some(state), TxState::Terminated);
        self.remove(tx);
        self.prune_timers();
        true
    }

    /// The request of a live transaction. Client transactions keep it for their
    /// whole life; INVITE server transactions until the TU has sent a final
    /// response (then they keep only the serialized response). Non-INVITE server
    /// transactions keep no copy at all (the TU got the request in
    /// [`TxEvent::Request`]): `None` for them.
    pub fn request_of(&self, tx: TxId) -> Option<&Request> {
        self.txs.get(&tx)?.machine.request()
    }

    /// The current state of a live transaction.
    pub fn state_of(&self, tx: TxId) -> Option<TxState> {
        Some(self.txs.get(&tx)?.machine.state())
    }

    /// Which machine a live transaction runs.
    pub fn kind_of(&self, tx: TxId) -> Option<TxKind> {
        Some(self.txs.get(&tx)?.machine.kind())
    }

    /// Where a live transaction sends (client: its requests; server: its responses).
    pub fn destination_of(&self, tx: TxId) -> Option<Destination> {
        Some(self.txs.get(&tx)?.dest)
    }

    /// Live transactions per machine and state, and drop counters.
    pub fn stats(&self) -> TxStats {
        TxStats {
            queued_timers: self.timers.len(),
            ..self.stats
        }
    }

    fn allocate_id(&mut self) -> TxId {
        self.next_id += 1;
        TxId::from_u64(self.next_id)
    }

    fn insert(&mut self, id: TxId, tx: Transaction) {
        let keys = if tx.machine.kind().is_server() {
            &mut self.server_keys
        } else {
            &mut self.client_keys
        };
        keys.insert(tx.key.clone(), id);
        if Self::reports_transport_errors(&tx) {
            let state = FixedState::with_seed(self.hash_seed);
            self.by_dest
                .entry((tx.dest.transport, tx.dest.remote))
                .or_insert_with(|| HashSet::with_hasher(state))
                .insert(id);
        }
        self.stats
            .transition(tx.machine.kind(), None, tx.machine.state());
        self.txs.insert(id, tx);
    }

    /// Whether a transaction is indexed by destination for
    /// [`Self::transport_error`]: every client transaction, and server
    /// transactions on reliable transports. A response sent over UDP has no
    /// delivery feedback to speak of (the socket is unconnected), and indexing
    /// every UDP server transaction would put hundreds of thousands of entries
    /// (Timer J keeps them 32 s) under one source address.
    fn reports_transport_errors(tx: &Transaction) -> bool {
        !tx.machine.kind().is_server() || tx.dest.transport.is_reliable()
    }

    /// Runs `f` on transaction `id`'s machine, then accounts for its new state
    /// and removes it when it reached Terminated. `None` when `id` is not live.
    fn dispatch<R>(
        &mut self,
        now: Instant,
        id: TxId,
        f: impl FnOnce(&mut Machine, &mut Ctx<'_>) -> R,
    ) -> Option<R> {
        let tx = self.txs.get_mut(&id)?;
        let before = tx.machine.state();
        let mut ctx = Ctx {
            now,
            id,
            dest: tx.dest,
            config: &self.config,
            slots: &mut tx.slots,
            timers: &mut self.timers,
            transmits: &mut self.transmits,
            events: &mut self.events,
        };
        let out = f(&mut tx.machine, &mut ctx);
        let after = tx.machine.state();
        self.stats
            .transition(tx.machine.kind(), Some(before), after);
        if after == TxState::Terminated {
            self.remove(id);
        }
        Some(out)
    }

    /// Forgets a terminated transaction and tells the TU.
    fn remove(&mut self, id: TxId) {
        let Some(tx) = self.txs.remove(&id) else {
            return;
        };
        let keys = if tx.machine.kind().is_server() {
            &mut self.server_keys
        } else {
            &mut self.client_keys
        };
        for key in std::iter::once(&tx.key).chain(tx.alias.as_ref()) {
            if let Some((key, owner)) = keys.remove_entry(&**key)
                && owner != id
            {
                keys.insert(key, owner);
            }
        }
        let dest_key = (tx.dest.transport, tx.dest.remote);
        if let Some(set) = self.by_dest.get_mut(&dest_key) {
            set.remove(&id);
            if set.is_empty() {
                self.by_dest.remove(&dest_key);
            }
        }
        self.events.push_back(TxEvent::Terminated { tx: id });
    }

    /// Drops cancelled timers from the top of the queue, so that
    /// [`Self::poll_timeout`] reports a running one.
    fn prune_timers(&mut self) {
        while let Some(e) = self.timers.peek() {
            let running = self
                .txs
                .get(&e.tx)
                .is_some_and(|t| t.slots.is_armed(e.kind, e.at));
            if running {
                break;
            }
            self.timers.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use sb_sip_message::{FlowId, StatusCode};

    use super::*;

    fn parse(text: &str) -> Message {
        Message::parse(Bytes::from(text.replace('\n', "\r\n"))).expect("test message parses")
    }

    fn request(method: &str, via: &str) -> Request {
        let Message::Request(r) = parse(&format!(
            "{method} sip:bob@example.com SIP/2.0\nVia: {via}\nMax-Forwards: 70\n\
             To: <sip:bob@example.com>\nFrom: <sip:alice@example.com>;tag=1\n\
             Call-ID: c1@example.com\nCSeq: 1 {method}\nContent-Length: 0\n\n"
        )) else {
            unreachable!("a request line was written")
        };
        r
    }

    fn drain(layer: &mut TransactionLayer) -> Vec<TxEvent> {
        while layer.poll_transmit().is_some() {}
        std::iter::from_fn(|| layer.poll_event()).collect()
    }

    fn last_request(events: &[TxEvent]) -> (TxId, Request) {
        events
            .iter()
            .rev()
            .find_map(|e| match e {
                TxEvent::Request { tx, request, .. } => Some((*tx, request.clone())),
                _ => None,
            })
            .expect("a server transaction was created")
    }

    /// Every index is empty once every transaction of every kind, including an
    /// RFC 2543 one with an ACK alias, has terminated.
    #[test]
    fn all_state_is_released_after_terminated() {
        let t0 = Instant::now();
        let mut layer = TransactionLayer::new(TimerConfig::default(), 3);
        let udp = Peer {
            transport: Transport::Udp,
            remote: "192.0.2.10:5060".parse().expect("address"),
            local: "192.0.2.1:5060".parse().expect("address"),
            flow: None,
        };
        let tcp = Peer {
            transport: Transport::Tcp,
            flow: Some(FlowId(1)),
            ..udp
        };
        let dest = Destination::back_to(&udp);

        // Server: RFC 3261 INVITE rejected and ACKed, RFC 2543 INVITE rejected
        // (alias registered), non-INVITE over UDP and TCP.
        for (method, via, peer, status) in [
            ("INVITE", "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1", udp, 486),
            ("INVITE", "SIP/2.0/UDP 192.0.2.10", udp, 603),
            (
                "REGISTER",
                "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK2",
                udp,
                200,
            ),
            (
                "OPTIONS",
                "SIP/2.0/TCP 192.0.2.10;branch=z9hG4bK3",
                tcp,
                200,
            ),
        ] {
            layer.handle_inbound(t0, Message::Request(request(method, via)), peer);
            let (tx, req) = last_request(&drain(&mut layer));
            let status = StatusCode::new(status).expect("valid");
            layer
                .send_response(t0, tx, Response::from_request(&req, status))
                .expect("answer");
        }
        assert!(layer.txs.values().any(|t| t.alias.is_some()));
        layer.handle_inbound(
            t0,
            Message::Request(request("ACK", "SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1")),
            udp,
        );
        // Client: INVITE answered 200 (Accepted), OPTIONS unanswered.
        let branch = layer.new_branch();
        let mut invite = request("INVITE", &format!("SIP/2.0/UDP 192.0.2.1;branch={branch}"));
        invite.headers.set(HeaderName::CSeq, "1 INVITE");
        layer.send_request(t0, invite.clone(), dest).expect("sent");
        let branch = layer.new_branch();
        let options = request("OPTIONS", &format!("SIP/2.0/UDP 192.0.2.1;branch={branch}"));
        layer.send_request(t0, options, dest).expect("sent");
        let ok = Response::from_request(&invite, StatusCode::OK);
        layer.handle_inbound(t0 + Duration::from_millis(10), Message::Response(ok), udp);
        drain(&mut layer);
        assert!(!layer.txs.is_empty() && !layer.by_dest.is_empty());

        while let Some((at, _)) = layer.poll_timeout() {
            layer.handle_timeout(at);
            drain(&mut layer);
        }
        assert!(layer.txs.is_empty());
        assert!(layer.server_keys.is_empty());
        assert!(layer.client_keys.is_empty());
        assert!(layer.by_dest.is_empty());
        assert_eq!(layer.timers.len(), 0);
        assert_eq!(layer.stats(), TxStats::default());
    }
}
