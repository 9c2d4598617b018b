//! Requests inside a call's dialogs (RFC 3261 §12.2.2, §14, §15): matched by
//! Call-ID and the switch's tag — anything else gets 481 and goes nowhere —
//! checked for the peer's From tag and an increasing CSeq, then BYE ends the
//! call on both legs, and re-INVITE, UPDATE, INFO, OPTIONS and MESSAGE are
//! sent on the other leg as new requests of that dialog, their responses
//! relayed back (SDP through the media engine). Only one re-INVITE at a time
//! (491 otherwise, RFC 3261 §14.2). On anchored calls, INFO digits are
//! answered here and sent on as RFC 4733 events ([`super::dtmf`]); on calls
//! the switch answered itself, requests are answered by [`super::local`].

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{HeaderName, Method, Request, RequestCore, Response, StatusCode};
use sb_sip_transaction::TxId;

use super::cdr::{Disposition, HangupBy};
use super::confirm::Confirm;
use super::media::MediaStep;
use super::{Call, CallRef, LegId, Relay, TxRole, is_sdp, relayed_method};
use crate::core::{ALLOW, Switch};

/// Headers describing a body or an INFO package, copied onto the relayed
/// request or response.
fn copied_header(name: &HeaderName) -> bool {
    match name {
        HeaderName::ContentType
        | HeaderName::ContentDisposition
        | HeaderName::ContentEncoding
        | HeaderName::ContentLanguage
        | HeaderName::Event
        | HeaderName::Accept => true,
        HeaderName::Other(n) => {
            n.eq_ignore_ascii_case("Info-Package") || n.eq_ignore_ascii_case("Recv-Info")
        }
        _ => false,
    }
}

impl Switch {
    /// A request with a To tag (RFC 3261 §12.2.2).
    pub(crate) fn on_in_dialog(
        &mut self,
        now: Instant,
        unix_ms: u64,
        tx: TxId,
        request: Request,
        core: &RequestCore,
    ) {
        let found = core
            .to
            .tag()
            .and_then(|tag| self.calls.find_dialog(core.call_id.as_str(), tag.as_str()));
        let Some((id, leg)) = found else {
            self.no_such_dialog(now, tx, &request);
            return;
        };
        let Some(mut call) = self.calls.map.remove(&id) else {
            self.no_such_dialog(now, tx, &request);
            return;
        };
        let Some(dialog) = call.dialog_mut(leg) else {
            self.calls.map.insert(id, call);
            self.no_such_dialog(now, tx, &request);
            return;
        };
        if !dialog.is_from_peer(core.from.tag().as_ref()) {
            self.calls.map.insert(id, call);
            self.no_such_dialog(now, tx, &request);
            return;
        }
        let seq = core.cseq.seq;
        if dialog.remote_cseq.is_some_and(|last| seq <= last) {
            self.calls.map.insert(id, call);
            self.reply(
                now,
                tx,
                &request,
                StatusCode::SERVER_INTERNAL_ERROR,
                Some("CSeq Out Of Order"),
                |_| {},
            );
            return;
        }
        dialog.remote_cseq = Some(seq);
        match &request.method {
            Method::Bye => self.on_bye(now, unix_ms, call, leg, tx, &request),
            method if relayed_method(method) && call.local.is_some_and(|l| l.answered) => {
                self.local_request(now, &mut call, tx, &request);
                self.calls.map.insert(id, call);
            }
            method if relayed_method(method) => {
                self.relay_request(now, call, leg, tx, request, core);
            }
            Method::Prack => {
                // The switch never sends reliable provisional responses.
                self.calls.map.insert(id, call);
                self.no_such_dialog(now, tx, &request);
            }
            _ => {
                self.calls.map.insert(id, call);
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
        }
    }

    fn no_such_dialog(&mut self, now: Instant, tx: TxId, request: &Request) {
        self.reply(
            now,
            tx,
            request,
            StatusCode::CALL_OR_TRANSACTION_DOES_NOT_EXIST,
            None,
            |_| {},
        );
    }

    /// BYE (RFC 3261 §15.1.2): the call is over, BYE on the other leg. The
    /// caller's BYE before the answer cancels the call. An answered call's
    /// hang-up (the 200 to the BYE, the BYE to the other leg) is confirmed
    /// once its record is committed (see [`super::confirm`]).
    fn on_bye(
        &mut self,
        now: Instant,
        unix_ms: u64,
        mut call: Box<Call>,
        leg: LegId,
        tx: TxId,
        bye: &Request,
    ) {
        let answered = call.a_invite.is_none();
        let other = if leg.is_a() {
            call.winner
        } else if call.winner == Some(leg) {
            Some(LegId::A)
        } else {
            // A device that did not win has nothing to end.
            self.reply(now, tx, bye, StatusCode::OK, None, |_| {});
            self.calls.map.insert(call.id, call);
            return;
        };
        if !answered {
            self.reply(now, tx, bye, StatusCode::OK, None, |_| {});
            if leg.is_a() {
                self.caller_gave_up(now, unix_ms, call);
            } else {
                // Hung up before the caller got the answer: 480 to the caller.
                let unanswered = StatusCode::TEMPORARILY_UNAVAILABLE;
                self.end_after_callee(now, unix_ms, call, unanswered, HangupBy::Callee);
            }
            return;
        }
        let onward = other.and_then(|other| self.prepare_bye(&mut call, other));
        let hangup_by = if leg.is_a() {
            HangupBy::Caller
        } else {
            HangupBy::Callee
        };
        let record = self.finish(
            now,
            unix_ms,
            call,
            Disposition::Answered,
            StatusCode::OK,
            hangup_by,
        );
        let confirm = Confirm {
            tx,
            bye: bye.clone(),
            onward,
        };
        self.confirm_when_recorded(now, record, confirm);
    }

    fn relay_request(
        &mut self,
        now: Instant,
        mut call: Box<Call>,
        leg: LegId,
        tx: TxId,
        request: Request,
        core: &RequestCore,
    ) {
        let id = call.id;
        let Some(peer) = call.peer_of(leg) else {
            self.calls.map.insert(id, call);
            self.no_such_dialog(now, tx, &request);
            return;
        };
        if call.anchor
            && request.method == Method::Info
            && self.info_digit(now, &call, peer, tx, &request)
        {
            self.calls.map.insert(id, call);
            return;
        }
        let invite = request.method == Method::Invite;
        if invite
            && (call.winner.is_none()
                || call.ack_wait.is_some()
                || call
                    .relays
                    .iter()
                    .any(|r| r.request.method == Method::Invite))
        {
            self.calls.map.insert(id, call);
            self.reply(now, tx, &request, StatusCode::REQUEST_PENDING, None, |_| {});
            return;
        }
        let offer_answer = matches!(request.method, Method::Invite | Method::Update);
        if offer_answer
            && let Some(contact) = core.contacts.first()
            && let Some(dialog) = call.dialog_mut(leg)
        {
            dialog.refresh_target(contact);
        }
        let relay = call.next_relay;
        call.next_relay += 1;
        if invite {
            self.reply(now, tx, &request, StatusCode::TRYING, None, |_| {});
            self.calls
                .by_tx
                .insert(tx, (id, TxRole::RelayServer(relay)));
        }
        let offer = offer_answer && is_sdp(&request.headers, &request.body);
        let body = request.body.clone();
        call.relays.push(Relay {
            id: relay,
            from: leg,
            to: peer,
            server_tx: tx,
            request,
            client_tx: None,
            offer_in_request: offer,
            sent_cseq: 0,
        });
        if offer {
            let to_transport = call
                .dialog_mut(peer)
                .map_or(sb_sip_message::Transport::Udp, |d| d.dest.transport);
            let step = MediaStep::RelayRequest { relay };
            self.media_offer(now, &mut call, leg, peer, to_transport, body, step);
        } else {
            self.send_relay(now, &mut call, relay, body);
        }
        self.calls.map.insert(id, call);
    }

    /// Sends relayed request `relay` on its target leg with `body`.
    pub(crate) fn send_relay(&mut self, now: Instant, call: &mut Call, relay: u32, body: Bytes) {
        let Some(i) = call.relays.iter().position(|r| r.id == relay) else {
            return;
        };
        let r = &call.relays[i];
        let method = r.request.method.clone();
        let to = r.to;
        let max_forwards = r
            .request
            .headers
            .max_forwards()
            .ok()
            .flatten()
            .unwrap_or(70)
            .saturating_sub(1)
            .min(70);
        let copied: Vec<(HeaderName, sb_sip_message::ByteStr)> = r
            .request
            .headers
            .iter()
            .filter(|h| copied_header(&h.name))
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect();
        let branch = self.tx.new_branch();
        let id = call.id;
        let Some(dialog) = call.dialog_mut(to) else {
            return;
        };
        let mut request = dialog.request(method, &branch, max_forwards, None);
        let sent_cseq = dialog.local_cseq;
        let dest = dialog.dest;
        for (name, value) in copied {
            request.headers.push(name, value);
        }
        request.body = body;
        match self.tx.send_request(now, request, dest) {
            Ok(client_tx) => {
                let r = &mut call.relays[i];
                r.client_tx = Some(client_tx);
                r.sent_cseq = sent_cseq;
                self.calls
                    .by_tx
                    .insert(client_tx, (id, TxRole::Relay(relay)));
            }
            Err(e) => {
                tracing::debug!(call = %id, error = %e, "relayed request not sent");
                let r = call.relays.remove(i);
                self.reply(
                    now,
                    r.server_tx,
                    &r.request,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    None,
                    |_| {},
                );
            }
        }
    }

    /// A response to a relayed request, relayed back.
    pub(crate) fn relay_response(
        &mut self,
        now: Instant,
        _unix_ms: u64,
        id: CallRef,
        relay: u32,
        tx: TxId,
        response: Response,
    ) {
        let Some(mut call) = self.calls.map.remove(&id) else {
            // The call is over (BYE went out): only a 2xx to a re-INVITE
            // needs its ACK.
            if response.status.is_success() {
                self.ack_2xx(now, id, tx, &response, false);
            }
            return;
        };
        let Some(i) = call.relays.iter().position(|r| r.id == relay) else {
            self.calls.map.insert(id, call);
            return;
        };
        let status = response.status;
        let method = call.relays[i].request.method.clone();
        if status.is_provisional() {
            if status != StatusCode::TRYING && method == Method::Invite {
                let r = &call.relays[i];
                let mut provisional = Response::from_request(&r.request, status);
                provisional.reason = response.reason.clone();
                let server_tx = r.server_tx;
                self.finish_response(&mut provisional);
                self.send_response(now, server_tx, provisional);
            }
            self.calls.map.insert(id, call);
            return;
        }
        let r = call.relays.remove(i);
        let offer_answer = status.is_success() && matches!(method, Method::Invite | Method::Update);
        if offer_answer
            && let Some(Ok(contact)) = response.headers.contacts().next()
            && let Some(dialog) = call.dialog_mut(r.to)
        {
            dialog.refresh_target(&contact);
        }
        let sdp = is_sdp(&response.headers, &response.body);
        if offer_answer && sdp && (r.offer_in_request || method == Method::Invite) {
            let (from, to) = (r.to, r.from);
            let body = response.body.clone();
            let offer_in_2xx = !r.offer_in_request;
            let step = MediaStep::RelayResponse {
                relay: Box::new(r),
                response: Box::new(response),
                offer_in_2xx,
            };
            if offer_in_2xx {
                let to_transport = call
                    .dialog_mut(to)
                    .map_or(sb_sip_message::Transport::Udp, |d| d.dest.transport);
                self.media_offer(now, &mut call, from, to, to_transport, body, step);
            } else {
                self.media_answer(now, &mut call, from, to, body, step);
            }
        } else {
            let body = (!response.body.is_empty()).then(|| response.body.clone());
            self.send_relay_response(now, &mut call, &r, &response, body, false);
        }
        self.calls.map.insert(id, call);
    }

    /// Sends the final response of relayed request `relay` to where it came
    /// from; a 2xx to a re-INVITE then waits for its ACK.
    pub(crate) fn send_relay_response(
        &mut self,
        now: Instant,
        call: &mut Call,
        relay: &Relay,
        response: &Response,
        body: Option<Bytes>,
        offer_in_2xx: bool,
    ) {
        let status = response.status;
        let method = &relay.request.method;
        let mut r = Response::from_request(&relay.request, status);
        r.reason = response.reason.clone();
        if status.is_success()
            && matches!(method, Method::Invite | Method::Update)
            && let Some(dialog) = call.dialog_mut(relay.from)
        {
            r.headers.push(HeaderName::Contact, dialog.contact.clone());
        }
        if let Some(body) = body {
            for h in response.headers.iter().filter(|h| copied_header(&h.name)) {
                r.headers.push(h.name.clone(), h.value.clone());
            }
            r.body = body;
        }
        self.finish_response(&mut r);
        if *method == Method::Invite && status.is_success() {
            let cseq = relay.request.headers.cseq().map_or(0, |c| c.seq);
            let keep = r.clone();
            self.send_response(now, relay.server_tx, r);
            self.await_ack(
                now,
                call,
                relay.from,
                relay.server_tx,
                cseq,
                keep,
                Some(relay.to),
                relay.sent_cseq,
                offer_in_2xx,
            );
        } else {
            self.send_response(now, relay.server_tx, r);
        }
    }

    /// A relayed request timed out or could not be delivered: 408 back.
    pub(crate) fn relay_failed(&mut self, now: Instant, id: CallRef, relay: u32) {
        let Some(mut call) = self.calls.map.remove(&id) else {
            return;
        };
        if let Some(i) = call.relays.iter().position(|r| r.id == relay) {
            let r = call.relays.remove(i);
            self.reply(
                now,
                r.server_tx,
                &r.request,
                StatusCode::REQUEST_TIMEOUT,
                None,
                |_| {},
            );
        }
        self.calls.map.insert(id, call);
    }

    /// CANCEL of a relayed re-INVITE: cancel its copy on the other leg; the
    /// 487 comes back through the relay.
    pub(crate) fn cancel_relay(&mut self, now: Instant, id: CallRef, relay: u32) {
        let client_tx = self
            .calls
            .map
            .get(&id)
            .and_then(|c| c.relays.iter().find(|r| r.id == relay))
            .and_then(|r| r.client_tx);
        if let Some(tx) = client_tx
            && self.tx.state_of(tx) == Some(sb_sip_transaction::TxState::Proceeding)
        {
            self.send_cancel(now, id, tx);
        }
    }
}
