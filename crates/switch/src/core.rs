//! The [`Switch`]: Switchboard's transaction user. It owns the transaction
//! layer, the location table and the authenticator; it is driven by the inputs
//! below and drained through the `poll_*` outputs after every input (DESIGN §3).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use foldhash::fast::FixedState;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use sb_dialplan::{ContextName, Dialplan};
use sb_sip_message::{
    ByteStr, Destination, FlowId, HeaderName, Headers, Message, Method, ParseError, Peer, Request,
    StatusCode, Tag, Transport,
};
use sb_sip_transaction::{TimerKind, TransactionLayer, Transmit, TxEvent, TxId};

use crate::auth::Authenticator;
use crate::call::confirm::Confirmations;
use crate::call::{CallSnapshot, Calls};
use crate::config::SwitchConfig;
use crate::directory::{Directory, DirectoryError, UserDirectory};
use crate::domains::Domains;
use crate::effects::{BindingRecord, Effect, EffectResult, EffectToken};
use crate::events::{RemovalReason, SwitchEvent, SwitchStats};
use crate::pending::Pending;
use crate::registrar::location::{Binding, LocationTable};
use crate::timers::TimerQueue;
use crate::trunk::Trunk;

/// Methods the server implements, for `Allow` (RFC 3261 §20.5).
pub(crate) const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REGISTER";
/// Option tags the server supports (RFC 3261 §20.37).
pub(crate) const SUPPORTED: &[&str] = &["path"];

/// Why the switch wants to be woken up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// A transaction timer.
    Transaction(TimerKind),
    /// A registration expires.
    BindingExpiry,
    /// An effect's result is overdue.
    EffectDeadline,
    /// A call timer: ring timeout, 2xx retransmission, missing ACK, a
    /// cancelled leg that never answered.
    Call,
    /// Keep-alives towards UDP bindings are due.
    Keepalive,
    /// A trunk's registration is to be refreshed or retried.
    TrunkRegistration,
}

/// The transaction user: registrar and call control. Sans-IO.
pub struct Switch {
    pub(crate) config: SwitchConfig,
    pub(crate) tx: TransactionLayer,
    pub(crate) location: LocationTable,
    pub(crate) auth: Authenticator,
    pub(crate) domains: Domains,
    pub(crate) calls: Calls,
    /// Hang-ups waiting for their call records.
    pub(crate) confirmations: Confirmations,
    pub(crate) dialplan: Option<Arc<Dialplan>>,
    /// The context calls from users start in when the directory names none.
    pub(crate) user_context: ContextName,
    pub(crate) directory: Directory,
    /// The trunks, in configured order (retired ones at the end).
    pub(crate) trunks: Vec<Trunk>,
    pub(crate) next_trunk_id: u64,
    /// REGISTER transactions of trunks → the trunk's id.
    pub(crate) reg_by_tx: HashMap<TxId, u64, FixedState>,
    pub(crate) reg_timers: TimerQueue<u64>,
    pub(crate) started: bool,
    pub(crate) shutting_down: bool,
    pub(crate) keepalive_at: Option<Instant>,
    rng: SmallRng,
    pub(crate) effects: VecDeque<(EffectToken, Effect)>,
    pub(crate) events: VecDeque<SwitchEvent>,
    next_token: u64,
    pub(crate) pending: HashMap<EffectToken, Pending, FixedState>,
    pub(crate) inflight: HashMap<(ByteStr, ByteStr), EffectToken, FixedState>,
    pub(crate) deadlines: TimerQueue<EffectToken>,
    /// The other live nodes of a cluster.
    pub(crate) peers: crate::cluster::ClusterPeers,
    date_cache: (u64, ByteStr),
    pub(crate) stats: SwitchStats,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("location", &self.location)
            .field("calls", &self.calls.len())
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Switch {
    /// A switch with empty state. Trunks that register do so from
    /// [`Switch::start`] on. The configuration's trunks are the initial set
    /// ([`Switch::set_trunks`] replaces it).
    pub fn new(mut config: SwitchConfig) -> Switch {
        let seed = config.seed;
        let trunks = std::mem::take(&mut config.trunks);
        let mut switch = Switch {
            tx: TransactionLayer::new(config.timers, seed),
            location: LocationTable::new(seed),
            auth: Authenticator::new(&config.auth, seed),
            domains: Domains::new(config.domains.clone(), config.local_ips.clone()),
            calls: Calls::new(seed),
            confirmations: Confirmations::new(seed),
            dialplan: None,
            user_context: ContextName::from(config.calls.user_context.as_str()),
            directory: Directory::compile(
                UserDirectory::default(),
                &config.calls.user_groups,
                seed,
            )
            .expect("an empty directory has no pattern to fail"),
            trunks: Vec::with_capacity(trunks.len()),
            next_trunk_id: 1,
            reg_by_tx: HashMap::with_hasher(FixedState::with_seed(seed)),
            reg_timers: TimerQueue::new(),
            started: false,
            shutting_down: false,
            keepalive_at: None,
            rng: SmallRng::seed_from_u64(seed ^ 0x5357_4954_4348),
            effects: VecDeque::new(),
            events: VecDeque::new(),
            next_token: 1,
            pending: HashMap::with_hasher(FixedState::with_seed(seed)),
            inflight: HashMap::with_hasher(FixedState::with_seed(seed)),
            peers: crate::cluster::ClusterPeers::default(),
            deadlines: TimerQueue::new(),
            date_cache: (0, ByteStr::new()),
            stats: SwitchStats::default(),
            config,
        };
        for trunk in trunks {
            let trunk = switch.new_trunk(trunk);
            switch.trunks.push(trunk);
        }
        switch
    }

    // ----- inputs -----

    /// A parsed message from the network.
    pub fn handle_inbound(&mut self, now: Instant, unix_ms: u64, message: Message, peer: Peer) {
        self.arm_keepalives(now);
        self.tx.handle_inbound(now, message, peer);
        self.drain_transactions(now, unix_ms);
    }

    /// Bytes that did not parse: answered 400 when a Via can be read
    /// (RFC 3261 §8.2; the answer goes where §18.2.2 says), otherwise dropped.
    /// Both are counted.
    pub fn handle_malformed(
        &mut self,
        _now: Instant,
        payload: &Bytes,
        peer: Peer,
        error: &ParseError,
    ) {
        let answered = self.answer_malformed(payload, &peer, error);
        if answered {
            self.stats.malformed_answered += 1;
        } else {
            self.stats.malformed_dropped += 1;
        }
        self.events.push_back(SwitchEvent::Malformed {
            peer,
            reason: error.to_string(),
            answered,
        });
    }

    /// A connection closed. Bindings made over a TCP or TLS connection stay
    /// until they expire: requests to them reconnect to the registered source
    /// (RFC 3261 §18.2.2). Bindings made over a WebSocket connection are
    /// removed ([`RemovalReason::FlowClosed`]): a browser cannot accept a
    /// connection, so without its flow the binding is unreachable
    /// (RFC 7118 §5).
    pub fn handle_flow_closed(&mut self, _now: Instant, flow: FlowId) {
        let gone: Vec<(sb_sip_message::Aor, crate::effects::BindingId)> = self
            .location
            .iter()
            .filter(|(_, b)| {
                b.peer.flow == Some(flow)
                    && matches!(b.peer.transport, Transport::Ws | Transport::Wss)
            })
            .map(|(aor, b)| (aor.clone(), b.id.clone()))
            .collect();
        for (aor, id) in gone {
            if let Some(binding) = self.location.remove(&aor, &id) {
                self.binding_removed(&aor, &binding, RemovalReason::FlowClosed);
            }
        }
        self.sync_gauges();
    }

    /// The transport could not deliver to `dest`.
    pub fn handle_transport_error(&mut self, now: Instant, dest: &Destination) {
        self.tx.transport_error(now, dest);
        self.drain_transactions(now, 0);
    }

    /// The result of an effect that expects one.
    pub fn handle_effect_result(
        &mut self,
        now: Instant,
        unix_ms: u64,
        token: EffectToken,
        result: EffectResult,
    ) {
        self.effect_done(now, unix_ms, token, Ok(result));
        self.sync_gauges();
    }

    /// Time passed: fire due timers. Also starts the trunks' registrations
    /// when [`Switch::start`] was never called.
    pub fn handle_timeout(&mut self, now: Instant, unix_ms: u64) {
        self.tx.handle_timeout(now);
        self.drain_transactions(now, unix_ms);
        for (aor, binding) in self.location.expire(now) {
            // Another node's binding: that node expires it in the store.
            if binding.node.is_none() {
                self.binding_removed(&aor, &binding, RemovalReason::Expired);
            }
        }
        self.expire_effects(now, unix_ms);
        self.release_overdue_confirmations(now);
        self.call_timers(now, unix_ms);
        self.keepalives(now);
        self.registration_timers(now);
        self.sync_gauges();
    }

    /// Ends every live call — BYE on both legs of answered calls, CANCEL to
    /// ringing devices and 503 to their callers — with CDRs whose
    /// `hangup_by` is `system`, answers new INVITEs with 503 from now on,
    /// and removes the trunks' registrations (REGISTER with Expires 0).
    /// Keep driving the switch until [`Switch::shutdown_complete`] (or a
    /// grace period) so that those requests get their answers.
    pub fn shutdown(&mut self, now: Instant, unix_ms: u64) {
        self.shutting_down = true;
        self.end_all_calls(now, unix_ms);
        self.unregister_trunks(now);
        self.sync_gauges();
    }

    /// Whether [`Switch::shutdown`] was called and nothing it started is
    /// still waiting for an answer (no call left, no trunk REGISTER in
    /// flight).
    pub fn shutdown_complete(&self) -> bool {
        self.shutting_down && self.calls.len() == 0 && !self.registering()
    }

    /// The live calls, oldest first.
    pub fn calls(&self) -> impl Iterator<Item = CallSnapshot> + '_ {
        self.calls.map.values().map(|c| c.snapshot())
    }

    /// Restores persisted bindings at start-up; returns how many were live.
    pub fn restore_bindings(
        &mut self,
        now: Instant,
        unix_ms: u64,
        records: Vec<BindingRecord>,
    ) -> usize {
        let mut restored = 0;
        for r in records {
            if r.expires_unix_ms <= unix_ms {
                continue;
            }
            let Some(binding) = Binding::from_record(&r, now, unix_ms) else {
                continue;
            };
            self.location.upsert(&r.aor, binding);
            restored += 1;
        }
        self.sync_gauges();
        restored
    }

    /// The domains of users in the database (served in addition to the
    /// configured ones).
    pub fn set_user_domains(&mut self, domains: Vec<String>) {
        self.domains.set_user_domains(domains);
    }

    /// Forget cached credentials (users changed).
    pub fn invalidate_credentials(&mut self) {
        self.auth.invalidate();
    }

    /// Replaces the user directory (extensions, call groups, start contexts,
    /// call permissions) for calls from now on. Every `allow`/`deny` entry
    /// must be a dialplan number pattern (`_00.`, `_9NXXXXXX`, `100`); on
    /// the first that is not (or a user, extension or group listed twice)
    /// the error names it and nothing changes.
    pub fn set_directory(&mut self, directory: UserDirectory) -> Result<(), DirectoryError> {
        self.directory =
            Directory::compile(directory, &self.config.calls.user_groups, self.config.seed)?;
        Ok(())
    }

    // ----- outputs -----

    /// The next datagram or stream message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.tx.poll_transmit()
    }

    /// The next effect to run.
    pub fn poll_effect(&mut self) -> Option<(EffectToken, Effect)> {
        self.effects.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SwitchEvent> {
        self.events.pop_front()
    }

    /// When to call [`Switch::handle_timeout`] next, and why.
    pub fn poll_timeout(&self) -> Option<(Instant, Wakeup)> {
        let mut best = self
            .tx
            .poll_timeout()
            .map(|(at, kind)| (at, Wakeup::Transaction(kind)));
        for (at, why) in [
            (self.location.next_expiry(), Wakeup::BindingExpiry),
            (self.deadlines.next_deadline(), Wakeup::EffectDeadline),
            (self.confirmations.next_deadline(), Wakeup::EffectDeadline),
            (self.calls.next_deadline(), Wakeup::Call),
            (self.keepalive_at, Wakeup::Keepalive),
            (self.reg_timers.next_deadline(), Wakeup::TrunkRegistration),
        ] {
            if let Some(at) = at
                && best.is_none_or(|(b, _)| at < b)
            {
                best = Some((at, why));
            }
        }
        best
    }

    /// Counters.
    pub fn stats(&self) -> &SwitchStats {
        &self.stats
    }

    /// The transaction layer's counters (live transactions per machine and
    /// state, dropped messages).
    pub fn transaction_stats(&self) -> sb_sip_transaction::TxStats {
        self.tx.stats()
    }

    /// The location table (read-only; for the live API).
    pub fn location(&self) -> &LocationTable {
        &self.location
    }

    // ----- internals -----

    pub(crate) fn drain_transactions(&mut self, now: Instant, unix_ms: u64) {
        while let Some(event) = self.tx.poll_event() {
            match event {
                TxEvent::Request { tx, request, peer } => {
                    self.stats.requests += 1;
                    self.on_request(now, unix_ms, tx, request, peer, false);
                }
                TxEvent::Ack { request, .. } => self.on_ack(now, unix_ms, &request),
                TxEvent::Response { tx, response } if self.is_trunk_register(tx) => {
                    self.on_register_response(now, tx, &response);
                }
                TxEvent::Response { tx, response } => {
                    self.on_response(now, unix_ms, tx, response);
                }
                TxEvent::StrayResponse { response, .. } => self.on_stray_response(&response),
                TxEvent::Timeout { tx } if self.is_trunk_register(tx) => {
                    self.on_register_failure(now, tx, "no response");
                }
                TxEvent::TransportError { tx } if self.is_trunk_register(tx) => {
                    self.on_register_failure(now, tx, "transport error");
                }
                TxEvent::Timeout { tx } | TxEvent::TransportError { tx } => {
                    self.on_tx_failure(now, unix_ms, tx);
                }
                TxEvent::Terminated { tx } => {
                    self.calls.by_tx.remove(&tx);
                    self.register_terminated(tx);
                }
            }
        }
    }

    /// Answers a request that failed validation with the status its error
    /// maps to, and counts it.
    fn malformed_request(
        &mut self,
        now: Instant,
        tx: TxId,
        request: &Request,
        peer: Peer,
        error: &sb_sip_message::ParseError,
    ) {
        let reason = error.to_string();
        self.reply(now, tx, request, error.status_code(), Some(&reason), |_| {});
        self.events.push_back(SwitchEvent::Malformed {
            peer,
            reason,
            answered: true,
        });
        self.stats.malformed_answered += 1;
    }

    /// Dispatches a new request (also re-entered, `resumed`, when a parked
    /// request's credentials arrive).
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: Request,
        peer: Peer,
        resumed: bool,
    ) {
        let core = match sb_sip_message::validate_request(&request) {
            Ok(core) => core,
            Err(e) => {
                self.malformed_request(now, tx, &request, peer, &e);
                return;
            }
        };
        if request.method != Method::Cancel
            && let Some(unsupported) = unsupported_extensions(&request.headers)
        {
            self.reply(now, tx, &request, StatusCode::BAD_EXTENSION, None, |h| {
                h.push(HeaderName::Unsupported, unsupported);
            });
            return;
        }
        let in_dialog = core.to.tag().is_some();
        match &request.method {
            Method::Register => self.on_register(now, unix_ms, tx, request, &core, peer),
            Method::Options if !in_dialog => self.on_options(now, tx, &request, &peer),
            Method::Invite if !in_dialog => {
                self.on_invite(now, unix_ms, tx, request, &core, peer, resumed);
            }
            Method::Cancel => self.on_cancel(now, unix_ms, tx, &request),
            Method::Ack => {}
            Method::Bye
            | Method::Prack
            | Method::Info
            | Method::Notify
            | Method::Update
            | Method::Options
            | Method::Invite => self.on_in_dialog(now, unix_ms, tx, request, &core),
            Method::Subscribe | Method::Message | Method::Publish | Method::Refer if in_dialog => {
                self.on_in_dialog(now, unix_ms, tx, request, &core);
            }
            Method::Subscribe | Method::Message | Method::Publish | Method::Refer => {
                // Recognised but not supported here (RFC 3261 §8.2.1).
                self.reply(
                    now,
                    tx,
                    &request,
                    StatusCode::METHOD_NOT_ALLOWED,
                    None,
                    |h| {
                        h.push(HeaderName::Allow, ALLOW);
                    },
                );
            }
            Method::Extension(_) => {
                // Not recognised (RFC 3261 §21.5.2).
                self.reply(now, tx, &request, StatusCode::NOT_IMPLEMENTED, None, |h| {
                    h.push(HeaderName::Allow, ALLOW);
                });
            }
        }
    }

    /// OPTIONS for this server (or any of its users: the same answer for
    /// every user, existing or not) → 200 with capabilities (RFC 3261 §11.2).
    fn on_options(&mut self, now: Instant, tx: TxId, request: &Request, peer: &Peer) {
        let ours = match request.uri.as_sip() {
            Some(uri) => self.domains.resolve(&uri.host, peer).is_some(),
            None => false,
        };
        if !ours {
            self.reply(
                now,
                tx,
                request,
                StatusCode::FORBIDDEN,
                Some("Relaying Denied"),
                |_| {},
            );
            return;
        }
        self.reply(now, tx, request, StatusCode::OK, None, |h| {
            h.push(HeaderName::Allow, ALLOW);
            h.push(HeaderName::Accept, "application/sdp");
            h.push(HeaderName::AcceptEncoding, "identity");
            h.push(HeaderName::AcceptLanguage, "en");
            h.push(HeaderName::Supported, SUPPORTED.join(", "));
        });
    }

    pub(crate) fn binding_removed(
        &mut self,
        aor: &sb_sip_message::Aor,
        binding: &Binding,
        reason: RemovalReason,
    ) {
        self.push_effect(Effect::RemoveBinding {
            aor: aor.clone(),
            binding_id: binding.id.clone(),
        });
        self.events.push_back(SwitchEvent::Unregistered {
            aor: aor.clone(),
            contact: binding.contact.clone(),
            reason,
        });
    }

    pub(crate) fn token(&mut self) -> EffectToken {
        let t = EffectToken(self.next_token);
        self.next_token += 1;
        t
    }

    pub(crate) fn sync_gauges(&mut self) {
        self.stats.bindings = self.location.len() as u64;
        self.stats.aors = self.location.aor_count() as u64;
        self.stats.calls_active = self.calls.len() as u64;
    }

    /// A fresh To-tag: 16 hex digits.
    pub(crate) fn new_tag(&mut self) -> Tag {
        let mut tag = String::with_capacity(16);
        crate::respond::push_hex_u64(&mut tag, self.rng.random::<u64>());
        Tag::from(tag)
    }

    /// The `Date` header value for `unix_ms`, formatted once per second.
    pub(crate) fn date(&mut self, unix_ms: u64) -> ByteStr {
        let second = unix_ms / 1_000;
        if self.date_cache.0 != second || self.date_cache.1.is_empty() {
            self.date_cache = (second, ByteStr::from(crate::respond::http_date(unix_ms)));
        }
        self.date_cache.1.clone()
    }

    pub(crate) fn push_effect(&mut self, effect: Effect) {
        let token = self.token();
        self.effects.push_back((token, effect));
    }
}

/// The option tags of `Require` this server does not support, comma-joined
/// (RFC 3261 §8.2.2.3); `None` when all are supported.
fn unsupported_extensions(headers: &Headers) -> Option<String> {
    let mut out: Vec<&str> = Vec::new();
    for value in headers.get_all(&HeaderName::Require) {
        for tag in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)) && !out.contains(&tag) {
                out.push(tag);
            }
        }
    }
    (!out.is_empty()).then(|| out.join(", "))
}
