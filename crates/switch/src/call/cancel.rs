//! Ending B legs nobody wants: CANCEL once a leg has rung (RFC 3261 §9.1),
//! given up 64·T1 later when no final response comes; ACK and BYE for a 2xx
//! that lost the race or arrived after the call ended; transactions that
//! time out; 2xx retransmissions after their transaction is gone.

use std::time::Instant;

use sb_sip_message::{ByteStr, HeaderName, Message, Method, Request, Response, StatusCode};
use sb_sip_transaction::TxId;

use super::dialog::{LocalAddr, number};
use super::fork::note_failure;
use super::{Call, CallRef, Cancel, ForkState, LegId, TxRole};
use crate::core::Switch;

impl Switch {
    /// Cancels every B leg but `except` (RFC 3261 §9.1): those that rang get
    /// a CANCEL now, the others when they ring. `as_failure` counts them as
    /// failed with that status (a sequential member that rang too long).
    pub(crate) fn cancel_forks(
        &mut self,
        now: Instant,
        call: &mut Call,
        except: Option<LegId>,
        as_failure: Option<StatusCode>,
    ) {
        let id = call.id;
        let mut cancelled = false;
        for fork in call.forks.iter_mut().filter(|f| Some(f.leg) != except) {
            match fork.state {
                ForkState::Offering => fork.state = ForkState::Done,
                ForkState::Calling => {
                    fork.cancel = Cancel::Wanted;
                    fork.state = ForkState::Done;
                }
                ForkState::Proceeding => {
                    fork.state = ForkState::Done;
                    if let Some(tx) = fork.tx
                        && fork.cancel == Cancel::No
                    {
                        fork.cancel = Cancel::Sent;
                        self.send_cancel(now, id, tx);
                    }
                }
                ForkState::Answered | ForkState::Done => continue,
            }
            cancelled = true;
        }
        if cancelled && let Some(status) = as_failure {
            note_failure(call, status, None, true);
        }
    }

    /// Sends a CANCEL for INVITE client transaction `invite_tx` (RFC 3261
    /// §9.1) and gives that transaction 64·T1 to end.
    pub(crate) fn send_cancel(&mut self, now: Instant, id: CallRef, invite_tx: TxId) {
        let (Some(invite), Some(dest)) = (
            self.tx.request_of(invite_tx),
            self.tx.destination_of(invite_tx),
        ) else {
            return;
        };
        let cancel = cancel_for(invite);
        match self.tx.send_request(now, cancel, dest) {
            Ok(tx) => {
                self.calls.by_tx.insert(tx, (id, TxRole::Fire));
            }
            Err(e) => tracing::debug!(call = %id, error = %e, "CANCEL not sent"),
        }
        let guard = now + self.config.timers.t1.saturating_mul(64);
        self.calls.guards.insert(guard, invite_tx);
    }

    /// A response to the INVITE of a B leg whose call is over.
    pub(crate) fn orphan_response(
        &mut self,
        now: Instant,
        tx: TxId,
        id: CallRef,
        response: &Response,
        cancel_sent: bool,
    ) {
        if response.status.is_provisional() && !cancel_sent {
            self.calls
                .by_tx
                .insert(tx, (id, TxRole::Orphan { cancel_sent: true }));
            self.send_cancel(now, id, tx);
        } else if response.status.is_success() {
            self.ack_2xx(now, id, tx, response, true);
        }
    }

    /// Acknowledges a 2xx to INVITE client transaction `tx` whose call does
    /// not want it (or is over) and, with `then_bye`, ends that dialog at
    /// once with BYE.
    pub(crate) fn ack_2xx(
        &mut self,
        now: Instant,
        id: CallRef,
        tx: TxId,
        response: &Response,
        then_bye: bool,
    ) {
        let (Some(invite), Some(dest)) = (self.tx.request_of(tx), self.tx.destination_of(tx))
        else {
            return;
        };
        let Ok(cseq) = invite.headers.cseq() else {
            return;
        };
        if invite.method != Method::Invite {
            return;
        }
        let local = LocalAddr::for_destination(&dest, &self.config.local_ips);
        let ack_branch = self.tx.new_branch();
        let bye_branch = self.tx.new_branch();
        let Some(invite) = self.tx.request_of(tx) else {
            return;
        };
        let ack = request_from_2xx(
            invite,
            response,
            Method::Ack,
            cseq.seq,
            &local.via(&ack_branch),
        );
        let bye = request_from_2xx(
            invite,
            response,
            Method::Bye,
            cseq.seq + 1,
            &local.via(&bye_branch),
        );
        self.tx.send_stateless(Message::Request(ack), dest);
        if !then_bye {
            return;
        }
        if let Ok(bye_tx) = self.tx.send_request(now, bye, dest) {
            self.calls.by_tx.insert(bye_tx, (id, TxRole::Fire));
        }
    }

    /// A transaction of a call timed out or could not be delivered.
    pub(crate) fn on_tx_failure(&mut self, now: Instant, unix_ms: u64, tx: TxId) {
        let Some(&(id, role)) = self.calls.by_tx.get(&tx) else {
            return;
        };
        match role {
            TxRole::Fork(leg) => {
                let Some(mut call) = self.calls.map.remove(&id) else {
                    return;
                };
                match call.fork_mut(leg) {
                    Some(fork)
                        if fork.tx == Some(tx)
                            && fork.state != ForkState::Done
                            && fork.state != ForkState::Answered =>
                    {
                        fork.state = ForkState::Done;
                        let status = StatusCode::REQUEST_TIMEOUT;
                        Self::trunk_leg_failed(&mut call, leg, status);
                        note_failure(&mut call, status, None, false);
                        self.check_forks(now, unix_ms, call);
                    }
                    _ => {
                        self.calls.map.insert(id, call);
                    }
                }
            }
            TxRole::Relay(relay) => self.relay_failed(now, id, relay),
            TxRole::AInvite | TxRole::Orphan { .. } | TxRole::Fire | TxRole::RelayServer(_) => {}
        }
    }

    /// A 2xx to an INVITE whose transaction is gone (a retransmission after
    /// Timer M): the ACK is repeated when the dialog is live and was
    /// acknowledged.
    pub(crate) fn on_stray_response(&mut self, response: &Response) {
        if !response.status.is_success() {
            return;
        }
        let (Ok(call_id), Ok(from)) = (response.headers.call_id(), response.headers.from_addr())
        else {
            return;
        };
        let Some(tag) = from.tag() else {
            return;
        };
        let Some((id, leg)) = self.calls.find_dialog(call_id.as_str(), tag.as_str()) else {
            return;
        };
        if let Some(call) = self.calls.map.get(&id)
            && let Some(fork) = call.fork(leg)
            && let Some(ack) = &fork.dialog.last_ack
        {
            self.tx
                .send_stateless(Message::Request(ack.clone()), fork.dialog.dest);
        }
    }

    /// Fires CANCEL guards: INVITE client transactions that never ended
    /// after their CANCEL are given up.
    pub(crate) fn expire_guards(&mut self, now: Instant, unix_ms: u64) {
        while let Some(tx) = self.calls.guards.pop_due(now) {
            if self.tx.kind_of(tx).is_some() {
                self.on_tx_failure(now, unix_ms, tx);
                self.tx.abandon(tx);
            }
        }
    }
}

/// The CANCEL for `invite` (RFC 3261 §9.1): same Request-URI, Call-ID, To,
/// From, CSeq number, top Via and Route.
pub(crate) fn cancel_for(invite: &Request) -> Request {
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    let h = &mut cancel.headers;
    if let Some(via) = invite.headers.get(&HeaderName::Via) {
        h.push(HeaderName::Via, via.clone());
    }
    h.push(HeaderName::MaxForwards, "70");
    for route in invite.headers.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, route.clone());
    }
    for name in [HeaderName::From, HeaderName::To, HeaderName::CallId] {
        if let Some(v) = invite.headers.get(&name) {
            h.push(name, v.clone());
        }
    }
    let seq = invite.headers.cseq().map_or(1, |c| c.seq);
    let mut cseq = String::with_capacity(18);
    cseq.push_str(&number(seq));
    cseq.push_str(" CANCEL");
    h.push(HeaderName::CSeq, cseq);
    cancel
}

/// A request in the dialog a 2xx to `invite` established, built from the
/// two messages alone: remote target from the 2xx's Contact, route set from
/// its Record-Route (reversed) or else the INVITE's Route.
pub(crate) fn request_from_2xx(
    invite: &Request,
    ok: &Response,
    method: Method,
    seq: u32,
    via: &ByteStr,
) -> Request {
    let target = ok
        .headers
        .contacts()
        .find_map(|c| c.ok().and_then(|c| c.addr().map(|a| a.uri.clone())))
        .unwrap_or_else(|| invite.uri.clone());
    let mut request = Request::new(method, target);
    let h = &mut request.headers;
    h.push(HeaderName::Via, via.clone());
    h.push(HeaderName::MaxForwards, "70");
    let rr: Vec<&ByteStr> = ok.headers.get_all(&HeaderName::RecordRoute).collect();
    if rr.is_empty() {
        for route in invite.headers.get_all(&HeaderName::Route) {
            h.push(HeaderName::Route, route.clone());
        }
    } else {
        for route in rr.into_iter().rev() {
            h.push(HeaderName::Route, route.clone());
        }
    }
    if let Some(from) = invite.headers.get(&HeaderName::From) {
        h.push(HeaderName::From, from.clone());
    }
    if let Some(to) = ok.headers.get(&HeaderName::To) {
        h.push(HeaderName::To, to.clone());
    }
    if let Some(call_id) = invite.headers.get(&HeaderName::CallId) {
        h.push(HeaderName::CallId, call_id.clone());
    }
    let mut cseq = String::with_capacity(16);
    cseq.push_str(&number(seq));
    cseq.push(' ');
    cseq.push_str(request.method.as_str());
    request.headers.push(HeaderName::CSeq, cseq);
    request
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn parse_request(text: &str) -> Request {
        match Message::parse(Bytes::from(text.replace('\n', "\r\n"))).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!("a request was written"),
        }
    }

    #[test]
    fn cancel_and_in_dialog_requests_from_the_invite() {
        let invite = parse_request(
            "INVITE sip:bob@192.0.2.60:5060 SIP/2.0\n\
             Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKinv;rport\n\
             Max-Forwards: 69\n\
             Route: <sip:edge.example.test;lr>\n\
             From: <sip:alice@example.test>;tag=a1\n\
             To: <sip:bob@example.test>\n\
             Call-ID: b-leg-1\n\
             CSeq: 1 INVITE\n\
             Content-Length: 0\n\n",
        );
        let cancel = cancel_for(&invite);
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.uri, invite.uri);
        assert_eq!(
            cancel.headers.get(&HeaderName::Via),
            invite.headers.get(&HeaderName::Via)
        );
        assert_eq!(cancel.headers.get(&HeaderName::CSeq).unwrap(), "1 CANCEL");
        assert_eq!(
            cancel.headers.get(&HeaderName::Route).unwrap(),
            "<sip:edge.example.test;lr>"
        );

        let mut ok = Response::from_request(&invite, StatusCode::OK);
        ok.set_to_tag(&sb_sip_message::Tag::from("b1"));
        ok.headers
            .push(HeaderName::Contact, "<sip:bob@192.0.2.60:5070>");
        let via = ByteStr::from("SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbye;rport");
        let bye = request_from_2xx(&invite, &ok, Method::Bye, 2, &via);
        assert_eq!(bye.uri.to_string(), "sip:bob@192.0.2.60:5070");
        assert_eq!(
            bye.headers.get(&HeaderName::To).unwrap(),
            "<sip:bob@example.test>;tag=b1"
        );
        assert_eq!(bye.headers.get(&HeaderName::CSeq).unwrap(), "2 BYE");
        assert_eq!(
            bye.headers.get(&HeaderName::Route).unwrap(),
            "<sip:edge.example.test;lr>"
        );
    }
}
