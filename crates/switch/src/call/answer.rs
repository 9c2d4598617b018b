//! Responses to the caller, and the 2xx/ACK exchange on either leg: the 2xx
//! the switch sends is retransmitted until its ACK arrives (RFC 3261
//! §13.3.1.4; over UDP, T1 doubling up to T2), and that ACK is relayed as a
//! new ACK (a request without transaction, §13.2.2.4) for the other leg's
//! 2xx. No ACK within 64·T1 ends the call. Call timers are dispatched here.

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{ByteStr, HeaderName, Message, Method, Request, Response, StatusCode};
use sb_sip_transaction::TxId;

use super::media::MediaStep;
use super::{AckWait, Call, CallTimer, ForkState, LegId, is_sdp};
use crate::core::{ALLOW, Switch};

impl Switch {
    /// Sends a response to the caller's INVITE: the switch's one tag on the
    /// caller's side, Contact and the INVITE's Record-Route on a provisional
    /// or 2xx response, the relayed contacts of a 3xx, SDP when given. A
    /// final response ends the INVITE's use; a 2xx is returned for
    /// retransmission.
    pub(crate) fn respond_a(
        &mut self,
        now: Instant,
        call: &mut Call,
        status: StatusCode,
        reason: Option<&ByteStr>,
        sdp: Option<Bytes>,
        contacts: &[ByteStr],
    ) -> Option<Response> {
        let invite = call.a_invite.as_ref()?;
        let mut r = Response::from_request(invite, status);
        if let Some(reason) = reason {
            r.reason = reason.clone();
        }
        if status != StatusCode::TRYING {
            r.set_to_tag(&call.a.local_tag);
        }
        let h = &mut r.headers;
        if (status.is_provisional() && status != StatusCode::TRYING) || status.is_success() {
            for rr in &call.a_record_route {
                h.push(HeaderName::RecordRoute, rr.clone());
            }
            h.push(HeaderName::Contact, call.a.contact.clone());
        }
        if status.is_success() {
            h.push(HeaderName::Allow, ALLOW);
        }
        for c in contacts {
            h.push(HeaderName::Contact, c.clone());
        }
        if let Some(sdp) = sdp {
            h.push(HeaderName::ContentType, "application/sdp");
            r.body = sdp;
        }
        self.finish_response(&mut r);
        let keep = status.is_success().then(|| r.clone());
        self.send_response(now, call.a_tx, r);
        if status.is_final() {
            call.a_invite = None;
        } else if status != StatusCode::TRYING {
            call.a_early = true;
        }
        keep
    }

    /// B leg `leg` answered: 200 to the caller (with `sdp`, the media
    /// engine's answer or offer), then wait for the caller's ACK.
    pub(crate) fn answer_caller(
        &mut self,
        now: Instant,
        call: &mut Call,
        leg: LegId,
        sdp: Option<Bytes>,
        offer_in_2xx: bool,
    ) {
        let Some(cseq) = call
            .a_invite
            .as_ref()
            .and_then(|r| r.headers.cseq().ok())
            .map(|c| c.seq)
        else {
            return;
        };
        let Some(other_cseq) = call.fork(leg).map(|f| f.invite_cseq) else {
            return;
        };
        let Some(ok) = self.respond_a(now, call, StatusCode::OK, None, sdp, &[]) else {
            return;
        };
        let a_tx = call.a_tx;
        self.await_ack(
            now,
            call,
            LegId::A,
            a_tx,
            cseq,
            ok,
            Some(leg),
            other_cseq,
            offer_in_2xx,
        );
    }

    /// Starts retransmitting `response` (a 2xx sent on `server_tx` of leg
    /// `toward`) until the ACK with CSeq `cseq` arrives, which is then
    /// relayed to leg `other` (if any) for its 2xx with CSeq `other_cseq`.
    #[expect(
        clippy::too_many_arguments,
        reason = "every part of the exchange is needed later"
    )]
    pub(crate) fn await_ack(
        &mut self,
        now: Instant,
        call: &mut Call,
        toward: LegId,
        server_tx: TxId,
        cseq: u32,
        response: Response,
        other: Option<LegId>,
        other_cseq: u32,
        answer_in_ack: bool,
    ) {
        let t1 = self.config.timers.t1;
        let reliable = call
            .dialog_mut(toward)
            .is_some_and(|d| d.dest.transport.is_reliable());
        let retransmit =
            (!reliable).then(|| self.call_timer(now + t1, call.id, CallTimer::Retransmit2xx));
        let give_up = self.call_timer(now + t1.saturating_mul(64), call.id, CallTimer::AckTimeout);
        if let Some(old) = call.ack_wait.take() {
            self.stop_ack_wait(&old);
        }
        call.ack_wait = Some(AckWait {
            toward,
            server_tx,
            cseq,
            response,
            other,
            other_cseq,
            answer_in_ack,
            interval: t1,
            retransmit,
            give_up,
        });
    }

    fn stop_ack_wait(&mut self, wait: &AckWait) {
        if let Some(t) = wait.retransmit {
            self.calls.timers.cancel(t);
        }
        self.calls.timers.cancel(wait.give_up);
    }

    /// An ACK for a 2xx (the transaction layer does not absorb those): when
    /// it acknowledges the 2xx the switch is retransmitting, it is relayed
    /// to the other leg.
    pub(crate) fn on_ack(&mut self, now: Instant, unix_ms: u64, ack: &Request) {
        let h = &ack.headers;
        let (Ok(call_id), Ok(to), Ok(from), Ok(cseq)) =
            (h.call_id(), h.to_addr(), h.from_addr(), h.cseq())
        else {
            return;
        };
        let Some(tag) = to.tag() else {
            return;
        };
        let Some((id, leg)) = self.calls.find_dialog(call_id.as_str(), tag.as_str()) else {
            return;
        };
        let Some(mut call) = self.calls.map.remove(&id) else {
            return;
        };
        let from_peer = call
            .dialog_mut(leg)
            .is_some_and(|d| d.is_from_peer(from.tag().as_ref()));
        let expected = call
            .ack_wait
            .as_ref()
            .is_some_and(|w| w.toward == leg && w.cseq == cseq.seq);
        if from_peer
            && expected
            && let Some(wait) = call.ack_wait.take()
        {
            self.stop_ack_wait(&wait);
            match (
                wait.other,
                is_sdp(&ack.headers, &ack.body) && wait.answer_in_ack,
            ) {
                (None, _) => {
                    // The switch answered the call itself.
                    self.local_acknowledged(now, unix_ms, call);
                    return;
                }
                (Some(other), true) => {
                    let step = MediaStep::Ack {
                        to: other,
                        cseq: wait.other_cseq,
                    };
                    self.media_answer(now, &mut call, leg, other, ack.body.clone(), step);
                }
                (Some(other), false) => self.send_ack(&mut call, other, wait.other_cseq, None),
            }
        }
        self.calls.map.insert(id, call);
    }

    /// Sends the ACK for the 2xx with CSeq `cseq` on leg `leg`, and keeps it
    /// for that 2xx's retransmissions.
    pub(crate) fn send_ack(&mut self, call: &mut Call, leg: LegId, cseq: u32, sdp: Option<Bytes>) {
        let branch = self.tx.new_branch();
        let Some(dialog) = call.dialog_mut(leg) else {
            return;
        };
        let mut ack = dialog.request(Method::Ack, &branch, 70, Some(cseq));
        if let Some(sdp) = sdp {
            ack.headers.push(HeaderName::ContentType, "application/sdp");
            ack.body = sdp;
        }
        self.tx
            .send_stateless(Message::Request(ack.clone()), dialog.dest);
        dialog.last_ack = Some(ack);
    }

    /// Fires due call timers and CANCEL guards.
    pub(crate) fn call_timers(&mut self, now: Instant, unix_ms: u64) {
        self.expire_guards(now, unix_ms);
        while let Some((id, timer)) = self.calls.timers.pop_due(now) {
            let Some(mut call) = self.calls.map.remove(&id) else {
                continue;
            };
            match timer {
                CallTimer::NoAnswer => {
                    call.step_timer = None;
                    if call.winner.is_none() && call.a_invite.is_some() {
                        // A trunk attempt nobody picked up fails over only
                        // when the far end never even rang.
                        let rang = call
                            .forks
                            .iter()
                            .any(|f| f.state != ForkState::Done && f.rang);
                        let status = match &mut call.trunk_step {
                            Some(step) if !rang => {
                                step.failover = true;
                                StatusCode::REQUEST_TIMEOUT
                            }
                            Some(step) => {
                                step.failover = false;
                                StatusCode::TEMPORARILY_UNAVAILABLE
                            }
                            None => StatusCode::TEMPORARILY_UNAVAILABLE,
                        };
                        call.groups.clear();
                        self.cancel_forks(now, &mut call, None, Some(status));
                        self.check_forks(now, unix_ms, call);
                    } else {
                        self.calls.map.insert(id, call);
                    }
                }
                CallTimer::NextGroup => {
                    call.group_timer = None;
                    if call.winner.is_none() && call.a_invite.is_some() {
                        let unanswered = Some(StatusCode::TEMPORARILY_UNAVAILABLE);
                        self.cancel_forks(now, &mut call, None, unanswered);
                        self.check_forks(now, unix_ms, call);
                    } else {
                        self.calls.map.insert(id, call);
                    }
                }
                CallTimer::Retransmit2xx => {
                    let t2 = self.config.timers.t2;
                    if let Some(wait) = &mut call.ack_wait {
                        if let Err(e) =
                            self.tx
                                .send_response(now, wait.server_tx, wait.response.clone())
                        {
                            tracing::debug!(call = %id, error = %e, "2xx not retransmitted");
                        }
                        wait.interval = wait.interval.saturating_mul(2).min(t2);
                        wait.retransmit = Some(
                            self.calls
                                .timers
                                .insert(now + wait.interval, (id, CallTimer::Retransmit2xx)),
                        );
                    }
                    self.calls.map.insert(id, call);
                }
                CallTimer::ToneEnd => {
                    call.step_timer = None;
                    self.tone_ended(now, unix_ms, call);
                }
                CallTimer::AckTimeout => {
                    // RFC 3261 §13.3.1.4: no ACK in 64·T1, the session ends.
                    if let Some(wait) = call.ack_wait.take() {
                        self.stop_ack_wait(&wait);
                    }
                    self.abort_call(now, unix_ms, call, StatusCode::SERVER_INTERNAL_ERROR);
                }
            }
        }
    }
}
