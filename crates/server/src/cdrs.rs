//! Writes call-detail records durably, with group commit: every record waiting
//! when the writer is free goes into one transaction, so under load many calls
//! share one commit (one fsync), and at low load each record is committed on
//! its own at once. A record counts as written only after its commit; the
//! switch is told per record.

use sb_store::{CdrDestination, CdrSource, NewCdr, Store, StoreError};
use sb_switch::{CallDestination, CallSource, CdrRecord, EffectResult, EffectToken};
use tokio::sync::mpsc;

/// Most records in one transaction.
const MAX_BATCH: usize = 256;

/// A record and the token its result goes back with.
pub(crate) type CdrJob = (EffectToken, Box<CdrRecord>);

/// The store's form of a record.
pub(crate) fn to_new_cdr(r: &CdrRecord, node: Option<&str>) -> NewCdr {
    let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    NewCdr {
        call_id: r.call_id.to_string(),
        caller: r.caller.to_string(),
        caller_domain: r.caller_domain.to_string(),
        callee: r.callee.to_string(),
        dialed: r.dialed.to_string(),
        source: match &r.source {
            CallSource::User(n) => CdrSource::User(n.to_string()),
            CallSource::Trunk(n) => CdrSource::Trunk(n.to_string()),
            // The switch writes no record of a call another node handed
            // over (that node writes the call's record); should one come,
            // the handing node stands where a trunk would.
            CallSource::Node(n) => CdrSource::Trunk(n.to_string()),
        },
        destination: match &r.destination {
            CallDestination::User(n) => CdrDestination::User(n.to_string()),
            CallDestination::Trunk(n) => CdrDestination::Trunk(n.to_string()),
            CallDestination::Media(n) => CdrDestination::Media(n.to_string()),
            CallDestination::None => CdrDestination::None,
        },
        start_unix_ms: ms(r.start_unix_ms),
        answer_unix_ms: r.answer_unix_ms.map(ms),
        end_unix_ms: ms(r.end_unix_ms),
        disposition: match r.disposition {
            sb_switch::Disposition::Answered => sb_store::Disposition::Answered,
            sb_switch::Disposition::NoAnswer => sb_store::Disposition::NoAnswer,
            sb_switch::Disposition::Busy => sb_store::Disposition::Busy,
            sb_switch::Disposition::Failed => sb_store::Disposition::Failed,
            sb_switch::Disposition::Cancelled => sb_store::Disposition::Cancelled,
        },
        sip_status: r.sip_status.as_u16(),
        hangup_by: match r.hangup_by {
            sb_switch::HangupBy::Caller => sb_store::HangupBy::Caller,
            sb_switch::HangupBy::Callee => sb_store::HangupBy::Callee,
            sb_switch::HangupBy::System => sb_store::HangupBy::System,
        },
        node: node.map(str::to_owned),
        end_reason: r.end_reason.map(|e| e.as_str().to_owned()),
        media: r.media.as_ref().map(sb_switch::MediaSummary::to_json),
    }
}

/// Commits records as they come until the channel closes (after the switch
/// has stopped and sent its last records), then returns. Each record names
/// `node`, this node, when it has a name.
pub(crate) async fn cdr_writer(
    store: Store,
    mut jobs: mpsc::UnboundedReceiver<CdrJob>,
    results: mpsc::Sender<(EffectToken, EffectResult)>,
    node: Option<String>,
) {
    let mut batch: Vec<CdrJob> = Vec::with_capacity(MAX_BATCH);
    while jobs.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let rows: Vec<NewCdr> = batch
            .iter()
            .map(|(_, r)| to_new_cdr(r, node.as_deref()))
            .collect();
        let outcomes = write(&store, &rows).await;
        for ((token, _), outcome) in batch.drain(..).zip(outcomes) {
            let result = match outcome {
                Ok(()) => EffectResult::Written,
                Err(e) => EffectResult::Failed {
                    reason: e.to_string(),
                },
            };
            // The switch may be gone at shutdown; the record is written anyway.
            let _ = results.try_send((token, result));
        }
    }
}

/// One transaction for the batch; a batch refused as a whole (one bad record)
/// is retried record by record so that the good ones are kept. One outcome
/// per row, in order.
async fn write(store: &Store, rows: &[NewCdr]) -> Vec<Result<(), StoreError>> {
    match store.insert_cdrs(rows).await {
        Ok(_) => rows.iter().map(|_| Ok(())).collect(),
        Err(e) => {
            if rows.len() > 1 {
                tracing::warn!(error = %e, records = rows.len(), "call record batch refused; writing one by one");
            }
            let mut outcomes = Vec::with_capacity(rows.len());
            for row in rows {
                let outcome = store.insert_cdr(row).await.map(|_| ());
                if let Err(e) = &outcome {
                    tracing::error!(call_id = %row.call_id, error = %e, "call record not written");
                }
                outcomes.push(outcome);
            }
            outcomes
        }
    }
}
