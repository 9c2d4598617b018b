//! Calls the switch answers itself with media of its own: the dialplan's
//! `echo` and `tone` steps, played by the media gateway on the caller's leg
//! ([`Effect::MediaLocal`]). There is no B leg.
//!
//! The machine, per step:
//! - the caller's SDP offer goes to the gateway; no offer in the INVITE:
//!   `echo` and a final `tone` fail the step with 488 Not Acceptable Here
//!   (the caller gets it unless an earlier step failed better), a `tone`
//!   before other steps is skipped (early media needs an offer);
//! - answering (`echo`, a `tone` that is the last step): 200 with the
//!   gateway's answer (the switch's To tag and Contact, the INVITE's
//!   Record-Route copied as for every 2xx, RFC 3261 §12.1.1), retransmitted
//!   until the ACK ([`super::answer`]); the call is answered (CDR
//!   destination `media`, `echo` or `tone`). An echo lasts until the
//!   caller's BYE. A tone's duration ends with the switch's BYE (`hangup_by`
//!   system; after the ACK, RFC 3261 §15);
//! - early media (a `tone` with steps after it): 183 Session Progress with
//!   the gateway's answer; when the duration is over the next step runs
//!   (its provisional responses reach the caller again);
//! - on the answered call, the caller's in-dialog requests other than BYE
//!   are answered here: INFO digits 200 (an echo sends them back as
//!   RFC 4733 events, [`Effect::MediaDtmf`]), other INFO 415, OPTIONS 200,
//!   a re-INVITE with an offer (hold, resume, an ICE restart) goes to the
//!   gateway again ([`Effect::MediaLocal`] with the same action) and gets a
//!   200 with its answer, retransmitted until the ACK (491 while another is
//!   in progress or a 200 awaits its ACK; 488 when the gateway cannot take
//!   it, the session then staying as it was, RFC 3261 §14.2); a re-INVITE
//!   without an offer and UPDATE 488, anything else 405;
//! - the gateway's failure or silence ends the call (503, BYE once
//!   answered) for an answering step, and skips an early tone;
//!   [`crate::EffectResult::MediaNotAcceptable`] fails the step with 488.

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{ByteStr, HeaderName, Method, Request, Response, StatusCode};
use sb_sip_transaction::TxId;

use super::cdr::{CallDestination, Disposition, HangupBy};
use super::dtmf::dtmf_info;
use super::fork::note_failure_as;
use super::media::MediaStep;
use super::{Call, CallRef, CallState, CallTimer, LegId, is_sdp};
use crate::core::{ALLOW, Switch};
use crate::effects::{Effect, LocalMedia};
use crate::events::SwitchEvent;

/// Media the switch plays on a call's leg A.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LocalPlay {
    pub(crate) action: LocalMedia,
    /// The switch answered with it (200), rather than early media (183).
    pub(crate) answered: bool,
    /// The tone is over while the 200 still waits for its ACK: BYE follows
    /// the ACK.
    pub(crate) over: bool,
    /// A re-INVITE of the caller waits for the gateway's answer.
    pub(crate) reoffering: bool,
}

impl Switch {
    /// Runs an `echo` or `tone` step: the gateway answers the caller's offer.
    pub(crate) fn start_local_media(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        action: LocalMedia,
    ) {
        let answering = matches!(action, LocalMedia::Echo) || call.plan.steps.is_empty();
        let offer = match (&call.offer, self.config.calls.media_gateway) {
            (Some(offer), true) => offer.clone(),
            _ if !answering => {
                // A tone before other steps: nothing to play it with.
                self.step_over(now, unix_ms, call);
                return;
            }
            (None, true) => {
                note_failure_as(
                    &mut call,
                    StatusCode::NOT_ACCEPTABLE_HERE,
                    None,
                    Disposition::Failed,
                );
                self.step_over(now, unix_ms, call);
                return;
            }
            (_, false) => {
                self.reject_call(
                    now,
                    unix_ms,
                    call,
                    StatusCode::SERVICE_UNAVAILABLE,
                    Some("Media Not Available"),
                );
                return;
            }
        };
        let id = call.id;
        call.anchor = true;
        call.media_used = true;
        call.local = Some(LocalPlay {
            action,
            answered: false,
            over: false,
            reoffering: false,
        });
        let effect = Effect::MediaLocal {
            call: id,
            leg: LegId::A,
            action,
            sdp: offer,
        };
        self.start_media_effect(now, id, effect, MediaStep::Local { answering });
        self.calls.map.insert(id, call);
    }

    /// The gateway's answer for the switch's own media: 200 (answering) or
    /// 183 (early media) to the caller.
    pub(crate) fn local_media_ready(
        &mut self,
        now: Instant,
        unix_ms: u64,
        call: &mut Call,
        answering: bool,
        sdp: Bytes,
    ) {
        let Some(play) = call.local else {
            return; // The step is over (the caller gave up meanwhile).
        };
        if call.a_invite.is_none() {
            return;
        }
        let id = call.id;
        if !answering {
            let progress = ByteStr::from_static("Session Progress");
            let status = StatusCode::SESSION_PROGRESS;
            self.respond_a(now, call, status, Some(&progress), Some(sdp), &[]);
            call.a_early_media = true;
            self.start_tone_timer(now, call, play.action);
            return;
        }
        let Some(cseq) = call
            .a_invite
            .as_ref()
            .and_then(|r| r.headers.cseq().ok())
            .map(|c| c.seq)
        else {
            return;
        };
        let Some(ok) = self.respond_a(now, call, StatusCode::OK, None, Some(sdp), &[]) else {
            return;
        };
        call.local = Some(LocalPlay {
            answered: true,
            ..play
        });
        call.state = CallState::Answered;
        call.plan.steps.clear();
        call.cdr.answer_unix_ms = Some(unix_ms);
        call.cdr.destination = CallDestination::Media(ByteStr::from_static(play.action.name()));
        self.stats.calls_answered += 1;
        self.events.push_back(SwitchEvent::CallAnswered {
            call: id,
            leg: LegId::A,
        });
        let a_tx = call.a_tx;
        self.await_ack(now, call, LegId::A, a_tx, cseq, ok, None, 0, false);
        self.start_tone_timer(now, call, play.action);
    }

    fn start_tone_timer(&mut self, now: Instant, call: &mut Call, action: LocalMedia) {
        if let LocalMedia::Tone { duration, .. } = action {
            if let Some(t) = call.step_timer.take() {
                self.calls.timers.cancel(t);
            }
            call.step_timer = Some(self.call_timer(now + duration, call.id, CallTimer::ToneEnd));
        }
    }

    /// The tone played for its duration: the switch hangs up an answered
    /// call (after the ACK), or the next step runs.
    pub(crate) fn tone_ended(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        match call.local {
            Some(play) if play.answered && call.ack_wait.is_some() => {
                call.local = Some(LocalPlay { over: true, ..play });
                self.calls.map.insert(call.id, call);
            }
            Some(play) if play.answered => self.local_hang_up(now, unix_ms, call),
            Some(_) => {
                call.local = None;
                call.a_early_media = false;
                self.step_over(now, unix_ms, call);
            }
            None => {
                self.calls.map.insert(call.id, call);
            }
        }
    }

    /// The caller acknowledged the switch's own 200.
    pub(crate) fn local_acknowledged(&mut self, now: Instant, unix_ms: u64, call: Box<Call>) {
        if call.local.is_some_and(|l| l.over) {
            self.local_hang_up(now, unix_ms, call);
        } else {
            self.calls.map.insert(call.id, call);
        }
    }

    fn local_hang_up(&mut self, now: Instant, unix_ms: u64, mut call: Box<Call>) {
        self.send_bye(now, &mut call, LegId::A);
        self.finish(
            now,
            unix_ms,
            call,
            Disposition::Answered,
            StatusCode::OK,
            HangupBy::System,
        );
    }

    /// The gateway failed (or did not answer in time) for the switch's own
    /// media (`answering`: to be answered with a 200, not early media).
    pub(crate) fn local_media_failed(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        answering: bool,
    ) {
        if !answering && call.a_invite.is_some() && call.local.is_some() {
            // An early tone: go on without it.
            call.local = None;
            self.step_over(now, unix_ms, call);
        } else {
            self.abort_call(now, unix_ms, call, StatusCode::SERVICE_UNAVAILABLE);
        }
    }

    /// The gateway cannot answer the caller's offer: the step fails with 488
    /// (an early tone is left out).
    pub(crate) fn local_media_rejected(
        &mut self,
        now: Instant,
        unix_ms: u64,
        id: CallRef,
        answering: bool,
    ) {
        let Some(mut call) = self.calls.map.remove(&id) else {
            return;
        };
        if call.a_invite.is_none() || call.local.is_none_or(|l| l.answered) {
            self.calls.map.insert(id, call);
            return;
        }
        if answering {
            note_failure_as(
                &mut call,
                StatusCode::NOT_ACCEPTABLE_HERE,
                None,
                Disposition::Failed,
            );
        }
        call.local = None;
        self.step_over(now, unix_ms, call);
    }

    /// A request of the caller in the dialog of a call the switch answered
    /// itself (BYE aside): answered here, nothing is relayed.
    pub(crate) fn local_request(
        &mut self,
        now: Instant,
        call: &mut Call,
        tx: TxId,
        request: &Request,
    ) {
        let echo = call
            .local
            .is_some_and(|l| matches!(l.action, LocalMedia::Echo));
        match request.method {
            Method::Info => match dtmf_info(&request.headers, &request.body) {
                Some(Ok((digit, duration_ms))) => {
                    self.reply(now, tx, request, StatusCode::OK, None, |_| {});
                    if echo {
                        self.push_effect(Effect::MediaDtmf {
                            call: call.id,
                            to: LegId::A,
                            digit,
                            duration_ms,
                        });
                    }
                }
                Some(Err(reason)) => {
                    self.reply(
                        now,
                        tx,
                        request,
                        StatusCode::BAD_REQUEST,
                        Some(reason),
                        |_| {},
                    );
                }
                None => {
                    let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
                    self.reply(now, tx, request, status, None, |h| {
                        h.push(
                            HeaderName::Accept,
                            "application/dtmf-relay, application/dtmf",
                        );
                    });
                }
            },
            Method::Options => {
                self.reply(now, tx, request, StatusCode::OK, None, |h| {
                    h.push(HeaderName::Allow, ALLOW);
                    h.push(HeaderName::Accept, "application/sdp");
                });
            }
            Method::Invite if is_sdp(&request.headers, &request.body) => {
                self.local_reoffer(now, call, tx, request);
            }
            Method::Invite | Method::Update => {
                let status = StatusCode::NOT_ACCEPTABLE_HERE;
                self.reply(now, tx, request, status, None, |_| {});
            }
            _ => {
                let status = StatusCode::METHOD_NOT_ALLOWED;
                self.reply(now, tx, request, status, None, |h| {
                    h.push(HeaderName::Allow, ALLOW);
                });
            }
        }
    }

    /// The caller's re-INVITE with an offer on a call the switch answered
    /// itself: the gateway answers it again, playing on.
    fn local_reoffer(&mut self, now: Instant, call: &mut Call, tx: TxId, request: &Request) {
        let Some(play) = call.local.as_mut() else {
            return;
        };
        if play.reoffering || play.over || call.ack_wait.is_some() {
            // RFC 3261 §14.2: one offer at a time.
            self.reply(now, tx, request, StatusCode::REQUEST_PENDING, None, |_| {});
            return;
        }
        play.reoffering = true;
        let action = play.action;
        self.reply(now, tx, request, StatusCode::TRYING, None, |_| {});
        let effect = Effect::MediaLocal {
            call: call.id,
            leg: LegId::A,
            action,
            sdp: request.body.clone(),
        };
        let step = MediaStep::LocalReoffer {
            tx,
            request: Box::new(request.clone()),
        };
        self.start_media_effect(now, call.id, effect, step);
    }

    /// The gateway's answer to the caller's re-INVITE: a 200 with it,
    /// retransmitted until the ACK; `None`: 488, the session staying as it
    /// was.
    pub(crate) fn local_reoffer_answered(
        &mut self,
        now: Instant,
        call: &mut Call,
        tx: TxId,
        request: &Request,
        sdp: Option<Bytes>,
    ) {
        if let Some(play) = &mut call.local {
            play.reoffering = false;
        }
        let Some(sdp) = sdp else {
            let status = StatusCode::NOT_ACCEPTABLE_HERE;
            self.reply(now, tx, request, status, None, |_| {});
            return;
        };
        let Ok(cseq) = request.headers.cseq().map(|c| c.seq) else {
            return;
        };
        let mut ok = Response::from_request(request, StatusCode::OK);
        ok.set_to_tag(&call.a.local_tag);
        ok.headers.push(HeaderName::Contact, call.a.contact.clone());
        ok.headers.push(HeaderName::Allow, ALLOW);
        ok.headers.push(HeaderName::ContentType, "application/sdp");
        ok.body = sdp;
        self.finish_response(&mut ok);
        self.send_response(now, tx, ok.clone());
        self.await_ack(now, call, LegId::A, tx, cseq, ok, None, 0, false);
    }
}
