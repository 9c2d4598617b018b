//! Hang-ups confirmed only once the call's record is committed. When a party
//! ends an answered call with BYE, the 200 to that BYE and the BYE to the
//! other leg wait until the record's [`crate::Effect::WriteCdr`] has settled
//! (written, failed) or [`crate::CallPolicy::record_wait`] has passed. So a
//! crash between the hang-up and the commit loses no record of a call that
//! either party saw end: a party whose hang-up was not confirmed retries it
//! against the restarted server (and gets 481).

use std::collections::HashMap;
use std::time::Instant;

use foldhash::fast::FixedState;
use sb_sip_message::{Destination, Request, StatusCode};
use sb_sip_transaction::TxId;

use super::{CallRef, LegId, TxRole};
use crate::core::Switch;
use crate::effects::EffectToken;
use crate::timers::{TimerHandle, TimerQueue};

/// A BYE built for one leg, sent later.
#[derive(Debug)]
pub(crate) struct Onward {
    pub(crate) call: CallRef,
    pub(crate) leg: LegId,
    pub(crate) request: Request,
    pub(crate) dest: Destination,
}

/// What a hang-up still owes the two parties.
#[derive(Debug)]
pub(crate) struct Confirm {
    /// The BYE that ended the call, answered 200 on release.
    pub(crate) tx: TxId,
    pub(crate) bye: Request,
    /// The BYE to the other leg, if it has a dialog.
    pub(crate) onward: Option<Onward>,
}

/// Hang-ups waiting for their records, by the record's effect.
#[derive(Debug)]
pub(crate) struct Confirmations {
    held: HashMap<EffectToken, (Confirm, TimerHandle), FixedState>,
    timers: TimerQueue<EffectToken>,
}

impl Confirmations {
    pub(crate) fn new(seed: u64) -> Confirmations {
        Confirmations {
            held: HashMap::with_hasher(FixedState::with_seed(seed)),
            timers: TimerQueue::new(),
        }
    }

    /// When the longest-held hang-up is released regardless.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }
}

impl Switch {
    /// Holds `confirm` until the record of effect `token` settles.
    pub(crate) fn confirm_when_recorded(
        &mut self,
        now: Instant,
        token: EffectToken,
        confirm: Confirm,
    ) {
        if !self.pending.contains_key(&token) {
            // No record to wait for (a call handed over by another node).
            self.release(now, confirm);
            return;
        }
        let at = now + self.config.calls.record_wait;
        let handle = self.confirmations.timers.insert(at, token);
        self.confirmations.held.insert(token, (confirm, handle));
    }

    /// The record of effect `token` settled: what its hang-up owes goes out.
    pub(crate) fn record_settled(&mut self, now: Instant, token: EffectToken) {
        if let Some((confirm, handle)) = self.confirmations.held.remove(&token) {
            self.confirmations.timers.cancel(handle);
            self.release(now, confirm);
        }
    }

    /// Releases the hang-ups held for `record_wait` without their records.
    pub(crate) fn release_overdue_confirmations(&mut self, now: Instant) {
        while let Some(token) = self.confirmations.timers.pop_due(now) {
            if let Some((confirm, _)) = self.confirmations.held.remove(&token) {
                tracing::debug!(%token, "call record not settled in time; hang-up confirmed anyway");
                self.release(now, confirm);
            }
        }
    }

    fn release(&mut self, now: Instant, confirm: Confirm) {
        let Confirm { tx, bye, onward } = confirm;
        self.reply(now, tx, &bye, StatusCode::OK, None, |_| {});
        if let Some(onward) = onward {
            self.fire_bye(now, onward);
        }
    }

    /// Sends a BYE built by [`Switch::prepare_bye`].
    pub(crate) fn fire_bye(&mut self, now: Instant, onward: Onward) {
        let Onward {
            call,
            leg,
            request,
            dest,
        } = onward;
        match self.tx.send_request(now, request, dest) {
            Ok(tx) => {
                self.calls.by_tx.insert(tx, (call, TxRole::Fire));
            }
            Err(e) => tracing::debug!(%call, %leg, error = %e, "BYE not sent"),
        }
    }
}
