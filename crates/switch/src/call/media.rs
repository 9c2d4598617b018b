//! The media seam: every SDP crossing the switch goes through the media
//! engine as an effect ([`Effect::MediaOffer`], [`Effect::MediaAnswer`],
//! and [`Effect::MediaLocal`] for the switch's own media), each marked with
//! the call's choice of anchoring, and the message carrying it waits for the
//! result. A result that comes too late for its message (the call moved on)
//! is dropped; a failure or a timeout ends the call (503 to an unanswered
//! caller, BYE otherwise). An SDP the engine cannot accept
//! ([`crate::EffectResult::MediaNotAcceptable`]) gets 488 where that leaves
//! a consistent call: the caller's offer fails its B leg, a re-INVITE or
//! UPDATE offer is refused and the call goes on (RFC 3261 §14.2), the
//! switch's own media fails its step.

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{ByteStr, Request, Response, StatusCode, Transport};
use sb_sip_transaction::TxId;

use super::{Call, CallRef, ForkState, LegId, Relay};
use crate::core::Switch;
use crate::effects::Effect;
use crate::pending::PendingKind;

/// What the SDP of a media effect's result goes into.
#[derive(Debug)]
pub(crate) enum MediaStep {
    /// The INVITE of B leg `leg` (the caller's offer, rewritten).
    ForkOffer { leg: LegId },
    /// A provisional response of `leg` to the caller (early media).
    Early {
        leg: LegId,
        status: StatusCode,
        reason: ByteStr,
    },
    /// The 200 to the caller for the 2xx of `leg`: its answer, or its offer
    /// when the caller's INVITE had none.
    Answer { leg: LegId, offer_in_2xx: bool },
    /// The ACK on leg `to`, carrying the answer the caller's ACK carried.
    Ack { to: LegId, cseq: u32 },
    /// The relayed request `relay`, carrying its offer.
    RelayRequest { relay: u32 },
    /// The final response to a relayed request, carrying the answer (or
    /// the offer of a 2xx to an INVITE without one).
    RelayResponse {
        relay: Box<Relay>,
        response: Box<Response>,
        offer_in_2xx: bool,
    },
    /// The switch's own media on leg A: its 200 (`answering`) or its 183.
    Local { answering: bool },
    /// The caller's re-INVITE (server transaction `tx`) on a call the switch
    /// answered itself (hold, resume, ICE restart): its 200.
    LocalReoffer { tx: TxId, request: Box<Request> },
}

impl Switch {
    /// Asks the media engine for `effect`, whose result goes to `step` of
    /// `call`; the switch waits at most [`crate::CallPolicy::media_timeout`].
    pub(crate) fn start_media_effect(
        &mut self,
        now: Instant,
        call: CallRef,
        effect: Effect,
        step: MediaStep,
    ) {
        let timeout = self.config.calls.media_timeout;
        self.start_effect(now, effect, timeout, PendingKind::Media { call, step });
    }

    /// Asks the media engine for the offer to send on `to`.
    #[expect(
        clippy::too_many_arguments,
        reason = "an offer names both legs and the target transport"
    )]
    pub(crate) fn media_offer(
        &mut self,
        now: Instant,
        call: &mut Call,
        from: LegId,
        to: LegId,
        to_transport: Transport,
        sdp: Bytes,
        step: MediaStep,
    ) {
        // A browser needs the gateway: its media is ICE and DTLS-SRTP, which a phone does
        // not speak. A call with a browser on either end is anchored whatever the route
        // says, decided before the call's first media effect (the choice holds for the
        // whole call).
        if !call.anchor
            && !call.media_used
            && self.config.calls.media_gateway
            && (to_transport.is_websocket() || call.a.dest.transport.is_websocket())
        {
            call.anchor = true;
        }
        call.media_used = true;
        let effect = Effect::MediaOffer {
            call: call.id,
            from,
            to,
            to_transport,
            sdp,
            anchor: call.anchor,
        };
        self.start_media_effect(now, call.id, effect, step);
    }

    /// Asks the media engine for the answer to send on `to`.
    pub(crate) fn media_answer(
        &mut self,
        now: Instant,
        call: &mut Call,
        from: LegId,
        to: LegId,
        sdp: Bytes,
        step: MediaStep,
    ) {
        call.media_used = true;
        let effect = Effect::MediaAnswer {
            call: call.id,
            from,
            to,
            sdp,
            anchor: call.anchor,
        };
        self.start_media_effect(now, call.id, effect, step);
    }

    /// The media engine's SDP for `step`.
    pub(crate) fn media_done(
        &mut self,
        now: Instant,
        unix_ms: u64,
        id: CallRef,
        step: MediaStep,
        sdp: Bytes,
    ) {
        let Some(mut call) = self.calls.map.remove(&id) else {
            return;
        };
        match step {
            MediaStep::ForkOffer { leg } => {
                self.send_fork_invite(now, &mut call, leg, Some(sdp));
                // The INVITE may have failed to go out.
                self.check_forks(now, unix_ms, call);
                return;
            }
            MediaStep::Early {
                leg,
                status,
                reason,
            } => {
                let ringing = call
                    .fork(leg)
                    .is_some_and(|f| f.state == ForkState::Proceeding);
                if ringing && call.winner.is_none() && call.a_invite.is_some() {
                    self.respond_a(now, &mut call, status, Some(&reason), Some(sdp), &[]);
                    call.a_early_media = true;
                }
            }
            MediaStep::Answer { leg, offer_in_2xx } => {
                if call.winner == Some(leg) && call.a_invite.is_some() {
                    self.answer_caller(now, &mut call, leg, Some(sdp), offer_in_2xx);
                }
            }
            MediaStep::Ack { to, cseq } => self.send_ack(&mut call, to, cseq, Some(sdp)),
            MediaStep::RelayRequest { relay } => self.send_relay(now, &mut call, relay, sdp),
            MediaStep::RelayResponse {
                relay,
                response,
                offer_in_2xx,
            } => {
                self.send_relay_response(
                    now,
                    &mut call,
                    &relay,
                    &response,
                    Some(sdp),
                    offer_in_2xx,
                );
            }
            MediaStep::Local { answering } => {
                self.local_media_ready(now, unix_ms, &mut call, answering, sdp);
            }
            MediaStep::LocalReoffer { tx, request } => {
                self.local_reoffer_answered(now, &mut call, tx, &request, Some(sdp));
            }
        }
        self.calls.map.insert(id, call);
    }

    /// The media engine cannot accept the SDP of `step`: 488 where the call
    /// stays consistent, otherwise as a failure.
    pub(crate) fn media_rejected(
        &mut self,
        now: Instant,
        unix_ms: u64,
        id: CallRef,
        step: MediaStep,
    ) {
        match step {
            MediaStep::ForkOffer { leg } => {
                let Some(mut call) = self.calls.map.remove(&id) else {
                    return;
                };
                if let Some(fork) = call.fork_mut(leg)
                    && fork.state == ForkState::Offering
                {
                    fork.state = ForkState::Done;
                    let status = StatusCode::NOT_ACCEPTABLE_HERE;
                    super::fork::note_failure(&mut call, status, None, true);
                }
                self.check_forks(now, unix_ms, call);
            }
            MediaStep::RelayRequest { relay } => {
                let Some(mut call) = self.calls.map.remove(&id) else {
                    return;
                };
                if let Some(i) = call.relays.iter().position(|r| r.id == relay) {
                    let r = call.relays.remove(i);
                    let status = StatusCode::NOT_ACCEPTABLE_HERE;
                    self.reply(now, r.server_tx, &r.request, status, None, |_| {});
                }
                self.calls.map.insert(id, call);
            }
            MediaStep::Local { answering } => {
                self.local_media_rejected(now, unix_ms, id, answering);
            }
            MediaStep::LocalReoffer { tx, request } => {
                // The session stays as it was (RFC 3261 §14.2).
                if let Some(mut call) = self.calls.map.remove(&id) {
                    self.local_reoffer_answered(now, &mut call, tx, &request, None);
                    self.calls.map.insert(id, call);
                }
            }
            step => self.media_failed(now, unix_ms, id, step),
        }
    }

    /// A media effect failed or timed out: the call cannot carry media.
    pub(crate) fn media_failed(
        &mut self,
        now: Instant,
        unix_ms: u64,
        id: CallRef,
        step: MediaStep,
    ) {
        let Some(mut call) = self.calls.map.remove(&id) else {
            return;
        };
        if let MediaStep::LocalReoffer { tx, request } = step {
            // The gateway could not re-answer: the re-INVITE fails and the
            // session stays as it was (RFC 3261 §14.2); the call goes on.
            let status = StatusCode::SERVER_INTERNAL_ERROR;
            self.reply(now, tx, &request, status, None, |_| {});
            if let Some(play) = &mut call.local {
                play.reoffering = false;
            }
            self.calls.map.insert(id, call);
            return;
        }
        let relay = match step {
            MediaStep::Local { answering } => {
                self.local_media_failed(now, unix_ms, call, answering);
                return;
            }
            MediaStep::RelayRequest { relay } => call
                .relays
                .iter()
                .position(|r| r.id == relay)
                .map(|i| call.relays.remove(i)),
            MediaStep::RelayResponse { relay, .. } => Some(*relay),
            _ => None,
        };
        if let Some(relay) = relay {
            self.reply(
                now,
                relay.server_tx,
                &relay.request,
                StatusCode::SERVER_INTERNAL_ERROR,
                None,
                |_| {},
            );
        }
        self.abort_call(now, unix_ms, call, StatusCode::SERVICE_UNAVAILABLE);
    }
}
