//! Runs the switch's effects: credential lookups as short tasks whose results go
//! back to the switch, and binding changes through the write-behind batcher,
//! which coalesces them per binding and commits one transaction per interval.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use sb_sip_auth::{Algorithm, Ha1};
use sb_sip_message::Aor;
use sb_store::{BindingChange as StoredChange, Store};
use sb_switch::{BindingId, BindingRecord, Effect, EffectResult, EffectToken, StoredCredentials};
use tokio::sync::mpsc;

use crate::cdrs::CdrJob;
use crate::media::MediaGateway;

/// How long a call record waits for its call's final media figures.
const FINAL_STATS_WAIT: Duration = Duration::from_millis(500);
use crate::convert::to_store_binding;

/// A binding change on its way to the write-behind batcher, still in the
/// switch's cheap-to-clone form: conversion to database rows happens in the
/// batcher's task, not on the SIP path.
#[derive(Debug)]
pub(crate) enum Change {
    /// Insert or replace.
    Upsert(Box<BindingRecord>),
    /// Delete.
    Remove { aor: Aor, binding_id: BindingId },
}

impl Change {
    fn key(&self) -> (Aor, BindingId) {
        match self {
            Change::Upsert(r) => (r.aor.clone(), r.binding_id.clone()),
            Change::Remove { aor, binding_id } => (aor.clone(), binding_id.clone()),
        }
    }

    fn to_stored(&self, node: Option<&str>) -> StoredChange {
        match self {
            Change::Upsert(r) => StoredChange::Upsert(to_store_binding(r, node)),
            Change::Remove { aor, binding_id } => StoredChange::Remove {
                aor: aor.to_string(),
                binding_id: binding_id.to_string(),
            },
        }
    }
}

/// Hands a result back to the switch without waiting: at once when the
/// queue has room, else from a short task.
pub(crate) fn answer(
    results: &mpsc::Sender<(EffectToken, EffectResult)>,
    token: EffectToken,
    result: EffectResult,
) {
    if let Err(mpsc::error::TrySendError::Full(item)) = results.try_send((token, result)) {
        let results = results.clone();
        tokio::spawn(async move {
            let _ = results.send(item).await;
        });
    }
}

/// Dispatches effects without blocking the switch task.
#[derive(Debug)]
pub(crate) struct EffectExecutor {
    store: Store,
    results: mpsc::Sender<(EffectToken, EffectResult)>,
    write_behind: mpsc::UnboundedSender<Change>,
    cdrs: mpsc::UnboundedSender<CdrJob>,
    /// Call records handed to the writer whose result has not come back.
    records: HashSet<EffectToken>,
    /// The media gateway (its workers own the calls' media).
    media: MediaGateway,
}

impl EffectExecutor {
    pub(crate) fn new(
        store: Store,
        results: mpsc::Sender<(EffectToken, EffectResult)>,
        write_behind: mpsc::UnboundedSender<Change>,
        cdrs: mpsc::UnboundedSender<CdrJob>,
        media: MediaGateway,
    ) -> Self {
        EffectExecutor {
            store,
            results,
            write_behind,
            cdrs,
            records: HashSet::new(),
            media,
        }
    }

    /// Handles on the live calls' media (for the HTTP API).
    pub(crate) fn media_handles(
        &self,
    ) -> std::collections::HashMap<sb_switch::CallRef, crate::media::MediaHandle> {
        self.media.handles()
    }

    /// A result for `token` reached the switch.
    pub(crate) fn settled(&mut self, token: EffectToken) {
        self.records.remove(&token);
    }

    /// Call records not yet committed (or failed).
    pub(crate) fn records_in_flight(&self) -> usize {
        self.records.len()
    }

    /// Hands a result back to the switch without waiting: at once when the
    /// queue has room, else from a short task.
    fn answer(&self, token: EffectToken, result: EffectResult) {
        answer(&self.results, token, result);
    }

    pub(crate) fn run(&mut self, token: EffectToken, effect: Effect) {
        match effect {
            Effect::FetchCredentials { username, domain } => {
                let store = self.store.clone();
                let results = self.results.clone();
                tokio::spawn(async move {
                    let result = match store.credentials(&username, &domain).await {
                        Ok(found) => EffectResult::Credentials(found.map(|c| StoredCredentials {
                            ha1_md5: Ha1::from_hex(Algorithm::Md5, c.ha1_md5.as_hex()).ok(),
                            ha1_sha256:
                                Ha1::from_hex(Algorithm::Sha256, c.ha1_sha256.as_hex()).ok(),
                            enabled: c.enabled,
                        })),
                        Err(e) => EffectResult::Failed {
                            reason: e.to_string(),
                        },
                    };
                    let _ = results.send((token, result)).await;
                });
            }
            Effect::PersistBinding(record) => {
                let _ = self.write_behind.send(Change::Upsert(record));
            }
            Effect::RemoveBinding { aor, binding_id } => {
                let _ = self.write_behind.send(Change::Remove { aor, binding_id });
            }
            Effect::MediaOffer {
                call,
                from,
                to,
                to_transport,
                sdp,
                anchor,
            } => self.media.offer(
                token,
                call,
                (from, to),
                to_transport.is_websocket(),
                sdp,
                anchor,
            ),
            Effect::MediaAnswer {
                call,
                from,
                to,
                sdp,
                anchor,
            } => self.media.answer(token, call, (from, to), sdp, anchor),
            Effect::MediaLocal {
                call,
                leg,
                action,
                sdp,
            } => self.media.local(token, call, leg, action, sdp),
            Effect::MediaDtmf {
                call,
                to,
                digit,
                duration_ms,
            } => self.media.dtmf(call, to, digit, duration_ms),
            Effect::MediaRelease { call } => self.media.release(call),
            Effect::WriteCdr(record) => {
                self.records.insert(token);
                if let Some(stats) = self.media.take_final(record.call) {
                    // The call's worker reports its final figures as the media stops;
                    // the record waits for them (briefly: a task that died
                    // leaves the record without media figures).
                    let cdrs = self.cdrs.clone();
                    tokio::spawn(async move {
                        let mut record = record;
                        if let Ok(Ok(stats)) = tokio::time::timeout(FINAL_STATS_WAIT, stats).await {
                            record.media = Some(stats.into_summary());
                        }
                        let _ = cdrs.send((token, record));
                    });
                    return;
                }
                if let Err(mpsc::error::SendError((token, _))) = self.cdrs.send((token, record)) {
                    self.answer(
                        token,
                        EffectResult::Failed {
                            reason: "the call record writer has stopped".to_owned(),
                        },
                    );
                }
            }
        }
    }
}

/// Collects binding changes, keeps the last one per binding, and commits them
/// every `interval` in one transaction. Returns (after a final flush) when the
/// channel closes. A failed commit is retried at the next tick with any newer
/// changes merged in. Rows name `node` as the owner of their flows.
pub(crate) async fn write_behind(
    store: Store,
    mut changes: mpsc::UnboundedReceiver<Change>,
    interval: Duration,
    node: Option<String>,
) {
    let node = node.as_deref();
    let mut pending: HashMap<(Aor, BindingId), Change> = HashMap::new();
    let mut order: Vec<(Aor, BindingId)> = Vec::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Some(c) => add(&mut pending, &mut order, c),
                None => break,
            },
            _ = tick.tick() => flush(&store, node, &mut pending, &mut order).await,
        }
    }
    while let Ok(c) = changes.try_recv() {
        add(&mut pending, &mut order, c);
    }
    flush(&store, node, &mut pending, &mut order).await;
    if !pending.is_empty() {
        tracing::error!(
            lost = pending.len(),
            "binding changes could not be written at shutdown"
        );
    }
}

fn add(
    pending: &mut HashMap<(Aor, BindingId), Change>,
    order: &mut Vec<(Aor, BindingId)>,
    change: Change,
) {
    let key = change.key();
    if pending.insert(key.clone(), change).is_none() {
        order.push(key);
    }
}

async fn flush(
    store: &Store,
    node: Option<&str>,
    pending: &mut HashMap<(Aor, BindingId), Change>,
    order: &mut Vec<(Aor, BindingId)>,
) {
    if pending.is_empty() {
        return;
    }
    let batch: Vec<StoredChange> = order
        .iter()
        .filter_map(|k| pending.get(k).map(|c| c.to_stored(node)))
        .collect();
    match store.apply_binding_changes(&batch).await {
        Ok(()) => {
            tracing::debug!(changes = batch.len(), "bindings written");
            pending.clear();
            order.clear();
        }
        Err(e) => {
            tracing::warn!(error = %e, changes = batch.len(), "writing bindings failed; will retry");
        }
    }
}
