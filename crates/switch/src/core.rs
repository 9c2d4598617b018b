//! The [`Switch`]: Switchboard's transaction user. It owns the transaction
//! layer, the location table and the authenticator; it is driven by the inputs
//! below and drained through the `poll_*` outputs after every input (DESIGN §3).

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::Bytes;
use foldhash::fast::FixedState;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use sb_sip_message::{
    ByteStr, Destination, FlowId, HeaderName, Headers, Message, Method, ParseError, Peer, Request,
    Response, StatusCode, Tag, Via,
};
use sb_sip_transaction::{TimerKind, TransactionLayer, Transmit, TxEvent, TxId};

use crate::auth::Authenticator;
use crate::config::SwitchConfig;
use crate::domains::Domains;
use crate::effects::{BindingRecord, Effect, EffectResult, EffectToken};
use crate::events::{RemovalReason, SwitchEvent, SwitchStats};
use crate::registrar::location::{Binding, LocationTable};
use crate::respond::reason_phrase;
use crate::timers::{TimerHandle, TimerQueue};

/// Methods the server implements, for `Allow` (RFC 3261 §20.5).
pub(crate) const ALLOW: &str = "REGISTER, OPTIONS, ACK, CANCEL";
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
}

/// A request parked until an effect's result arrives.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) tx: TxId,
    pub(crate) request: Request,
    pub(crate) peer: Peer,
}

#[derive(Debug)]
struct PendingFetch {
    key: (ByteStr, ByteStr),
    waiting: Vec<Waiting>,
    deadline: TimerHandle,
}

/// The transaction user: registrar and (later) call control. Sans-IO.
pub struct Switch {
    pub(crate) config: SwitchConfig,
    pub(crate) tx: TransactionLayer,
    pub(crate) location: LocationTable,
    pub(crate) auth: Authenticator,
    pub(crate) domains: Domains,
    rng: SmallRng,
    effects: VecDeque<(EffectToken, Effect)>,
    pub(crate) events: VecDeque<SwitchEvent>,
    next_token: u64,
    pending: HashMap<EffectToken, PendingFetch, FixedState>,
    inflight: HashMap<(ByteStr, ByteStr), EffectToken, FixedState>,
    deadlines: TimerQueue<EffectToken>,
    date_cache: (u64, ByteStr),
    pub(crate) stats: SwitchStats,
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("location", &self.location)
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Switch {
    /// A switch with empty state.
    pub fn new(config: SwitchConfig) -> Switch {
        let seed = config.seed;
        Switch {
            tx: TransactionLayer::new(config.timers, seed),
            location: LocationTable::new(seed),
            auth: Authenticator::new(&config.auth, seed),
            domains: Domains::new(config.domains.clone(), config.local_ips.clone()),
            rng: SmallRng::seed_from_u64(seed ^ 0x5357_4954_4348),
            effects: VecDeque::new(),
            events: VecDeque::new(),
            next_token: 1,
            pending: HashMap::with_hasher(FixedState::with_seed(seed)),
            inflight: HashMap::with_hasher(FixedState::with_seed(seed)),
            deadlines: TimerQueue::new(),
            date_cache: (0, ByteStr::new()),
            stats: SwitchStats::default(),
            config,
        }
    }

    // ----- inputs -----

    /// A parsed message from the network.
    pub fn handle_inbound(&mut self, now: Instant, unix_ms: u64, message: Message, peer: Peer) {
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

    /// A connection closed. Bindings made over it stay until they expire:
    /// requests to them reconnect to the registered source (RFC 3261 §18.2.2).
    pub fn handle_flow_closed(&mut self, _now: Instant, _flow: FlowId) {}

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
        let Some(pending) = self.pending.remove(&token) else {
            return; // Timed out already (and answered 503).
        };
        self.inflight.remove(&pending.key);
        self.deadlines.cancel(pending.deadline);
        match result {
            EffectResult::Credentials(found) => {
                self.auth
                    .store_credentials(&pending.key.0, &pending.key.1, found, now);
                for w in pending.waiting {
                    self.on_request(now, unix_ms, w.tx, w.request, w.peer);
                }
            }
            EffectResult::Failed { reason } => {
                self.events.push_back(SwitchEvent::EffectFailed { reason });
                for w in pending.waiting {
                    self.service_unavailable(now, w.tx, &w.request);
                }
            }
        }
    }

    /// Time passed: fire due timers.
    pub fn handle_timeout(&mut self, now: Instant, unix_ms: u64) {
        self.tx.handle_timeout(now);
        self.drain_transactions(now, unix_ms);
        for (aor, binding) in self.location.expire(now) {
            self.binding_removed(&aor, &binding, RemovalReason::Expired);
        }
        while let Some(token) = self.deadlines.pop_due(now) {
            if let Some(pending) = self.pending.remove(&token) {
                self.inflight.remove(&pending.key);
                self.events.push_back(SwitchEvent::EffectFailed {
                    reason: format!("no answer to {token} in time"),
                });
                for w in pending.waiting {
                    self.service_unavailable(now, w.tx, &w.request);
                }
            }
        }
        self.sync_gauges();
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

    /// The location table (read-only; for the live API).
    pub fn location(&self) -> &LocationTable {
        &self.location
    }

    // ----- internals -----

    fn drain_transactions(&mut self, now: Instant, unix_ms: u64) {
        while let Some(event) = self.tx.poll_event() {
            match event {
                TxEvent::Request { tx, request, peer } => {
                    self.stats.requests += 1;
                    self.on_request(now, unix_ms, tx, request, peer);
                }
                TxEvent::Ack { .. }
                | TxEvent::Response { .. }
                | TxEvent::StrayResponse { .. }
                | TxEvent::Timeout { .. }
                | TxEvent::TransportError { .. }
                | TxEvent::Terminated { .. } => {}
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

    /// Dispatches a new request (also re-entered when a parked request's
    /// credentials arrive).
    pub(crate) fn on_request(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: Request,
        peer: Peer,
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
            Method::Cancel => {
                // No INVITE server transaction lives long enough to be
                // cancelled yet (RFC 3261 §9.2: 481 when none matches).
                let status = match self.tx.matching_invite(&request) {
                    Some(_) => StatusCode::OK,
                    None => StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST,
                };
                self.reply(now, tx, &request, status, None, |_| {});
            }
            Method::Bye
            | Method::Prack
            | Method::Info
            | Method::Notify
            | Method::Update
            | Method::Options => {
                // In-dialog requests for dialogs this server does not hold.
                self.reply(
                    now,
                    tx,
                    &request,
                    StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST,
                    None,
                    |_| {},
                );
            }
            Method::Invite
            | Method::Subscribe
            | Method::Message
            | Method::Publish
            | Method::Refer
                if in_dialog =>
            {
                self.reply(
                    now,
                    tx,
                    &request,
                    StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST,
                    None,
                    |_| {},
                );
            }
            Method::Invite
            | Method::Subscribe
            | Method::Message
            | Method::Publish
            | Method::Refer => {
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
            Method::Ack => {}
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

    /// Parks `waiting` until the credentials of `key` arrive, starting one
    /// lookup per user (concurrent requests for the same user share it).
    pub(crate) fn fetch_credentials(
        &mut self,
        now: Instant,
        key: (ByteStr, ByteStr),
        waiting: Waiting,
    ) {
        if let Some(token) = self.inflight.get(&key)
            && let Some(p) = self.pending.get_mut(token)
        {
            p.waiting.push(waiting);
            return;
        }
        let token = EffectToken(self.next_token);
        self.next_token += 1;
        let deadline = self
            .deadlines
            .insert(now + self.config.auth.effect_timeout, token);
        self.effects.push_back((
            token,
            Effect::FetchCredentials {
                username: key.0.clone(),
                domain: key.1.clone(),
            },
        ));
        self.stats.credential_fetches += 1;
        self.inflight.insert(key.clone(), token);
        self.pending.insert(
            token,
            PendingFetch {
                key,
                waiting: vec![waiting],
                deadline,
            },
        );
    }

    fn service_unavailable(&mut self, now: Instant, tx: TxId, request: &Request) {
        self.reply(
            now,
            tx,
            request,
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            |h| {
                h.push(HeaderName::RetryAfter, "5");
            },
        );
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

    /// Sends a response in server transaction `tx`: To-tag (except on 100),
    /// `Server` header, custom headers from `extra`.
    pub(crate) fn reply(
        &mut self,
        now: Instant,
        tx: TxId,
        request: &Request,
        status: StatusCode,
        reason: Option<&str>,
        extra: impl FnOnce(&mut Headers),
    ) {
        let response = self.build_response(request, status, reason, extra);
        if let Err(e) = self.tx.send_response(now, tx, response) {
            tracing::debug!(%tx, error = %e, "response not sent");
        }
    }

    pub(crate) fn build_response(
        &mut self,
        request: &Request,
        status: StatusCode,
        reason: Option<&str>,
        extra: impl FnOnce(&mut Headers),
    ) -> Response {
        let mut response = Response::from_request(request, status);
        if let Some(reason) = reason {
            response.reason = ByteStr::from(reason_phrase(reason));
        }
        if status != StatusCode::TRYING {
            let tag = self.new_tag();
            response.set_to_tag(&tag);
        }
        extra(&mut response.headers);
        if let Some(server) = &self.config.server_header {
            response.headers.push(HeaderName::Server, server.as_str());
        }
        self.stats.responses_by_class[usize::from(status.class()).min(6)] += 1;
        response
    }

    /// 400 for a message that failed to parse, built from what could be
    /// salvaged. Returns whether an answer was sent.
    fn answer_malformed(&mut self, payload: &Bytes, peer: &Peer, error: &ParseError) -> bool {
        let Some(headers) = sb_sip_message::parse::salvage_headers(payload) else {
            return false;
        };
        let Some(top) = headers.get(&HeaderName::Via) else {
            return false;
        };
        let Ok(mut via) = Via::parse(top) else {
            return false;
        };
        via.stamp_source(peer.remote.ip(), peer.remote.port());
        let dest = sb_sip_transaction::response_destination(&via, peer);
        let mut response = Response::new(StatusCode::BAD_REQUEST);
        response.reason = ByteStr::from(reason_phrase(&format!("Bad Request ({error})")));
        let mut first_via = true;
        for h in headers.iter() {
            match h.name {
                HeaderName::Via if first_via => {
                    first_via = false;
                    response.headers.push(HeaderName::Via, via.to_string());
                }
                HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq => response.headers.push(h.name.clone(), h.value.clone()),
                _ => {}
            }
        }
        let tag = self.new_tag();
        response.set_to_tag(&tag);
        if let Some(server) = &self.config.server_header {
            response.headers.push(HeaderName::Server, server.as_str());
        }
        self.stats.responses_by_class[4] += 1;
        self.tx.send_stateless(Message::Response(response), dest);
        true
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
