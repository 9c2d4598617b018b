//! Effects the switch waits for: what is parked on each, its deadline, and
//! what happens when its result (or its deadline) comes.

use std::time::{Duration, Instant};

use sb_sip_message::{ByteStr, Peer, Request};
use sb_sip_transaction::TxId;

use crate::call::CallRef;
use crate::call::cdr::CdrRecord;
use crate::core::Switch;
use crate::effects::{Effect, EffectResult, EffectToken};
use crate::events::SwitchEvent;
use crate::timers::TimerHandle;

/// A request parked until an effect's result arrives.
#[derive(Debug)]
pub(crate) struct Waiting {
    pub(crate) tx: TxId,
    pub(crate) request: Request,
    pub(crate) peer: Peer,
}

/// What waits for a credential lookup.
#[derive(Debug)]
pub(crate) enum Waiter {
    /// A request, dispatched again when the credentials are cached.
    Request(Box<Waiting>),
    /// A call routed to a user whose existence is being checked.
    Callee(CallRef),
}

/// What an effect's result continues.
#[derive(Debug)]
pub(crate) enum PendingKind {
    /// A credential lookup shared by every request for the same user.
    Fetch {
        key: (ByteStr, ByteStr),
        waiting: Vec<Waiter>,
    },
    /// A media offer or answer of a call.
    Media {
        call: CallRef,
        step: crate::call::MediaStep,
    },
    /// A CDR being written (kept to report it if the write fails).
    Cdr { record: Box<CdrRecord> },
}

#[derive(Debug)]
pub(crate) struct Pending {
    deadline: TimerHandle,
    kind: PendingKind,
}

impl Switch {
    /// Emits `effect` and remembers what its result continues; after
    /// `timeout` the effect counts as failed.
    pub(crate) fn start_effect(
        &mut self,
        now: Instant,
        effect: Effect,
        timeout: Duration,
        kind: PendingKind,
    ) -> EffectToken {
        let token = self.token();
        let deadline = self.deadlines.insert(now + timeout, token);
        self.effects.push_back((token, effect));
        self.pending.insert(token, Pending { deadline, kind });
        token
    }

    /// Parks `waiter` until the credentials of `key` arrive, starting one
    /// lookup per user (concurrent requests for the same user share it).
    pub(crate) fn fetch_credentials(
        &mut self,
        now: Instant,
        key: (ByteStr, ByteStr),
        waiter: Waiter,
    ) {
        if let Some(token) = self.inflight.get(&key)
            && let Some(Pending {
                kind: PendingKind::Fetch { waiting, .. },
                ..
            }) = self.pending.get_mut(token)
        {
            waiting.push(waiter);
            return;
        }
        let effect = Effect::FetchCredentials {
            username: key.0.clone(),
            domain: key.1.clone(),
        };
        self.stats.credential_fetches += 1;
        let timeout = self.config.auth.effect_timeout;
        let token = self.start_effect(
            now,
            effect,
            timeout,
            PendingKind::Fetch {
                key: key.clone(),
                waiting: vec![waiter],
            },
        );
        self.inflight.insert(key, token);
    }

    /// An effect's result (`Err`: it failed or timed out, with the reason).
    pub(crate) fn effect_done(
        &mut self,
        now: Instant,
        unix_ms: u64,
        token: EffectToken,
        result: Result<EffectResult, String>,
    ) {
        let Some(pending) = self.pending.remove(&token) else {
            return; // Timed out already.
        };
        self.deadlines.cancel(pending.deadline);
        match pending.kind {
            PendingKind::Fetch { key, waiting } => {
                self.inflight.remove(&key);
                match result {
                    Ok(EffectResult::Credentials(found)) => {
                        self.auth.store_credentials(&key.0, &key.1, found, now);
                        for w in waiting {
                            match w {
                                Waiter::Request(w) => {
                                    let Waiting { tx, request, peer } = *w;
                                    self.on_request(now, unix_ms, tx, request, peer, true);
                                }
                                Waiter::Callee(call) => self.callee_known(now, unix_ms, call),
                            }
                        }
                    }
                    other => {
                        let reason = failure_reason(other, "credentials");
                        self.events.push_back(SwitchEvent::EffectFailed { reason });
                        for w in waiting {
                            match w {
                                Waiter::Request(w) => {
                                    self.service_unavailable(now, w.tx, &w.request);
                                }
                                Waiter::Callee(call) => {
                                    self.call_failed_internally(now, unix_ms, call);
                                }
                            }
                        }
                    }
                }
            }
            PendingKind::Media { call, step } => match result {
                Ok(EffectResult::Media(sdp)) => self.media_done(now, unix_ms, call, step, sdp),
                Ok(EffectResult::MediaNotAcceptable { reason }) => {
                    tracing::debug!(%call, %reason, "SDP not acceptable");
                    self.media_rejected(now, unix_ms, call, step);
                }
                other => {
                    let reason = failure_reason(other, "media");
                    self.events.push_back(SwitchEvent::EffectFailed { reason });
                    self.media_failed(now, unix_ms, call, step);
                }
            },
            PendingKind::Cdr { record } => {
                match result {
                    Ok(EffectResult::Written) => {}
                    other => {
                        let reason = failure_reason(other, "CDR write");
                        self.stats.cdr_write_failures += 1;
                        self.events
                            .push_back(SwitchEvent::CdrWriteFailed { record, reason });
                    }
                }
                self.record_settled(now, token);
            }
        }
    }

    /// Fails every effect whose deadline has come.
    pub(crate) fn expire_effects(&mut self, now: Instant, unix_ms: u64) {
        while let Some(token) = self.deadlines.pop_due(now) {
            self.effect_done(
                now,
                unix_ms,
                token,
                Err(format!("no answer to {token} in time")),
            );
        }
    }
}

fn failure_reason(result: Result<EffectResult, String>, what: &str) -> String {
    match result {
        Err(reason) | Ok(EffectResult::Failed { reason }) => reason,
        Ok(other) => format!("unexpected result to a {what} effect: {other:?}"),
    }
}
