//! The end of a call: final response or BYE to whoever still needs one,
//! CANCEL to ringing devices, the media session released, the CDR written
//! ([`Effect::WriteCdr`]) and [`SwitchEvent::CallEnded`]. Also the switch-side
//! endings: shutdown, failures the call cannot survive, an administrator's
//! hang-up and the media gateway's media timeout.

use std::time::Instant;

use sb_sip_message::{ByteStr, HeaderName, Method, StatusCode};

use super::cdr::{CallSource, Disposition, EndReason, HangupBy};
use super::confirm::Onward;
use super::{Call, CallRef, ForkState, LegId, TxRole};
use crate::core::Switch;
use crate::effects::{Effect, EffectToken};
use crate::events::SwitchEvent;
use crate::pending::PendingKind;

impl Switch {
    /// Ends a call that was not answered: `status` to the caller (when it
    /// has no final response yet), CANCEL to every device.
    #[expect(
        clippy::too_many_arguments,
        reason = "the final response and the CDR fields are all needed"
    )]
    pub(crate) fn fail_call(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        status: StatusCode,
        reason: Option<&ByteStr>,
        contacts: &[ByteStr],
        disposition: Disposition,
        hangup_by: HangupBy,
    ) {
        if call.a_invite.is_some() {
            self.respond_a(now, &mut call, status, reason, None, contacts);
        }
        self.cancel_forks(now, &mut call, None, None);
        self.finish(now, unix_ms, call, disposition, status, hangup_by);
    }

    /// Ends a call the switch cannot carry on (shutdown, media failure, no
    /// ACK): an unanswered caller gets `status` and its devices CANCEL; an
    /// answered call gets BYE on both legs (only the caller's when the
    /// switch answered it itself).
    pub(crate) fn abort_call(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        status: StatusCode,
    ) {
        if call.local.as_ref().is_some_and(|l| l.answered) {
            self.send_bye(now, &mut call, LegId::A);
            self.finish(
                now,
                unix_ms,
                call,
                Disposition::Answered,
                StatusCode::OK,
                HangupBy::System,
            );
            return;
        }
        let Some(winner) = call.winner else {
            self.fail_call(
                now,
                unix_ms,
                call,
                status,
                None,
                &[],
                Disposition::Failed,
                HangupBy::System,
            );
            return;
        };
        self.send_bye(now, &mut call, winner);
        self.end_after_callee(now, unix_ms, call, status, HangupBy::System);
    }

    /// The answering device's dialog is over. A caller who never got the
    /// answer gets `unanswered` (and the record loses its answer time);
    /// otherwise the caller gets BYE and the call is recorded as answered.
    pub(crate) fn end_after_callee(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        unanswered: StatusCode,
        hangup_by: HangupBy,
    ) {
        if call.a_invite.is_some() {
            // The device answered, the caller never heard of it.
            call.cdr.answer_unix_ms = None;
            self.fail_call(
                now,
                unix_ms,
                call,
                unanswered,
                None,
                &[],
                Disposition::Failed,
                hangup_by,
            );
            return;
        }
        self.send_bye(now, &mut call, LegId::A);
        self.finish(
            now,
            unix_ms,
            call,
            Disposition::Answered,
            StatusCode::OK,
            hangup_by,
        );
    }

    /// Sends BYE on leg `leg` (when that dialog exists). A 2xx of that leg
    /// still waiting for the ACK the other leg would have sent is
    /// acknowledged first (RFC 3261 §13.2.2.4: every 2xx gets its ACK).
    pub(crate) fn send_bye(&mut self, now: Instant, call: &mut Call, leg: LegId) {
        if let Some(onward) = self.prepare_bye(call, leg) {
            self.fire_bye(now, onward);
        }
    }

    /// [`Switch::send_bye`] without the sending: the ACK owed on `leg` goes
    /// out now, the BYE is returned for [`Switch::fire_bye`].
    pub(crate) fn prepare_bye(&mut self, call: &mut Call, leg: LegId) -> Option<Onward> {
        if call.ack_wait.as_ref().is_some_and(|w| w.other == Some(leg))
            && let Some(wait) = call.ack_wait.take()
        {
            if let Some(t) = wait.retransmit {
                self.calls.timers.cancel(t);
            }
            self.calls.timers.cancel(wait.give_up);
            self.send_ack(call, leg, wait.other_cseq, None);
        } else if let Some(fork) = call.fork(leg)
            && fork.state == ForkState::Answered
            && fork.dialog.last_ack.is_none()
        {
            let cseq = fork.invite_cseq;
            self.send_ack(call, leg, cseq, None);
        }
        let branch = self.tx.new_branch();
        let id = call.id;
        let dialog = call.dialog_mut(leg)?;
        dialog.remote_tag.as_ref()?;
        let mut bye = dialog.request(Method::Bye, &branch, 70, None);
        if let Some(ua) = &self.config.server_header {
            bye.headers.push(HeaderName::UserAgent, ua.as_str());
        }
        Some(Onward {
            call: id,
            leg,
            request: bye,
            dest: dialog.dest,
        })
    }

    /// Forgets a call whose legs have been dealt with, and reports it.
    /// Returns the effect writing its record (a handed-over call has none:
    /// the node that handed it over writes the call's record; its token
    /// then names no pending effect).
    pub(crate) fn finish(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        disposition: Disposition,
        status: StatusCode,
        hangup_by: HangupBy,
    ) -> EffectToken {
        if call.a_invite.is_some() {
            self.respond_a(now, &mut call, status, None, None, &[]);
        }
        for t in [call.step_timer.take(), call.group_timer.take()]
            .into_iter()
            .flatten()
        {
            self.calls.timers.cancel(t);
        }
        if let Some(wait) = call.ack_wait.take() {
            if let Some(t) = wait.retransmit {
                self.calls.timers.cancel(t);
            }
            self.calls.timers.cancel(wait.give_up);
        }
        self.calls.remove_dialog(&call.a);
        for fork in &call.forks {
            self.calls.remove_dialog(&fork.dialog);
            if let Some(tx) = fork.tx
                && self.calls.by_tx.contains_key(&tx)
            {
                let role = if fork.state == ForkState::Answered {
                    TxRole::Fire
                } else {
                    TxRole::Orphan {
                        cancel_sent: fork.cancel == super::Cancel::Sent,
                    }
                };
                self.calls.by_tx.insert(tx, (call.id, role));
            }
        }
        // RFC 3261 §15.1.2: requests pending in the dialog get 487.
        for relay in std::mem::take(&mut call.relays) {
            self.reply(
                now,
                relay.server_tx,
                &relay.request,
                StatusCode::REQUEST_TERMINATED,
                None,
                |_| {},
            );
        }
        if call.media_used {
            self.push_effect(Effect::MediaRelease { call: call.id });
        }
        let mut record = call.cdr;
        record.answered_leg = call.winner;
        record.end_unix_ms = unix_ms.max(record.start_unix_ms);
        if disposition != Disposition::Answered {
            record.answer_unix_ms = None;
        }
        record.disposition = disposition;
        record.sip_status = status;
        record.hangup_by = hangup_by;
        match disposition {
            Disposition::Answered => {}
            Disposition::Cancelled => self.stats.calls_cancelled += 1,
            Disposition::NoAnswer | Disposition::Busy | Disposition::Failed => {
                self.stats.calls_failed += 1;
            }
        }
        self.calls.source_ended(&record.source);
        self.events.push_back(SwitchEvent::CallEnded {
            call: call.id,
            call_id: record.call_id.clone(),
            disposition,
            status,
            hangup_by,
            billable_ms: record.billable_ms(),
        });
        if matches!(record.source, CallSource::Node(_)) {
            return self.token();
        }
        let record = Box::new(record);
        let timeout = self.config.calls.cdr_timeout;
        self.start_effect(
            now,
            Effect::WriteCdr(record.clone()),
            timeout,
            PendingKind::Cdr { record },
        )
    }

    /// A lookup the call needed failed: it cannot go on.
    pub(crate) fn call_failed_internally(&mut self, now: Instant, unix_ms: u64, id: CallRef) {
        if let Some(call) = self.calls.map.remove(&id) {
            self.abort_call(now, unix_ms, call, StatusCode::SERVICE_UNAVAILABLE);
        }
    }

    /// Ends the call whose caller's leg has Call-ID `call_id` on request
    /// (an administrator's hang-up), as the switch ends calls it cannot
    /// carry on: an answered call gets BYE on both legs; an unanswered one
    /// gets CANCEL towards every device that rang and, to the caller,
    /// 480 Temporarily Unavailable with the reason "Call Terminated" — the
    /// callee cannot be had now, without 503's invitation to retry
    /// elsewhere and without 487, which answers the caller's own CANCEL.
    /// The CDR's `hangup_by` is `system` (disposition `ANSWERED` or
    /// `FAILED`). Returns `false` when there is no such call.
    pub fn hang_up(&mut self, now: Instant, unix_ms: u64, call_id: &str) -> bool {
        let Some(id) = self.calls.by_caller_call_id(call_id) else {
            return false;
        };
        let Some(call) = self.calls.map.remove(&id) else {
            return false;
        };
        self.end_on_request(now, unix_ms, call);
        self.sync_gauges();
        true
    }

    /// The media gateway saw no RTP on the call for too long: the call
    /// ends as [`Switch::hang_up`] ends it (BYE on both legs of an answered
    /// call; CANCEL towards the devices and 480 "Call Terminated" to an
    /// unanswered caller), with `hangup_by` `system` and the CDR's
    /// [`crate::CdrRecord::end_reason`] [`EndReason::MediaTimeout`].
    /// Returns `false` when the call is no longer there.
    pub fn media_timeout(&mut self, now: Instant, unix_ms: u64, call: CallRef) -> bool {
        let Some(mut call) = self.calls.map.remove(&call) else {
            return false;
        };
        tracing::info!(call = %call.id, "no media: hanging up");
        call.cdr.end_reason = Some(EndReason::MediaTimeout);
        self.end_on_request(now, unix_ms, call);
        self.sync_gauges();
        true
    }

    /// Ends a call on the switch's decision (an administrator, the media
    /// gateway): BYE on the answered legs, or CANCEL and 480.
    fn end_on_request(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        let status = StatusCode::TEMPORARILY_UNAVAILABLE;
        if call.local.as_ref().is_some_and(|l| l.answered) {
            self.abort_call(now, unix_ms, call, status);
            return;
        }
        match call.winner {
            Some(winner) => {
                self.send_bye(now, &mut call, winner);
                self.end_after_callee(now, unix_ms, call, status, HangupBy::System);
            }
            None => {
                let reason = ByteStr::from_static("Call Terminated");
                self.fail_call(
                    now,
                    unix_ms,
                    call,
                    status,
                    Some(&reason),
                    &[],
                    Disposition::Failed,
                    HangupBy::System,
                );
            }
        }
    }

    /// Ends every live call (shutdown), oldest first.
    pub(crate) fn end_all_calls(&mut self, now: Instant, unix_ms: u64) {
        let ids: Vec<CallRef> = self.calls.map.keys().copied().collect();
        for id in ids {
            if let Some(call) = self.calls.map.remove(&id) {
                self.abort_call(now, unix_ms, call, StatusCode::SERVICE_UNAVAILABLE);
            }
        }
    }
}
