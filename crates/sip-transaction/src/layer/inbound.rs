//! Inbound messages: stamping, matching, and creation of server transactions.

use std::time::Instant;

use sb_sip_message::{HeaderName, Method, Peer, Request, Response, Via};
use tracing::debug;

use super::{Key, Machine, Transaction, TransactionLayer};
use crate::destination::response_destination;
use crate::key;
use crate::server_invite::{AckDisposition, ServerInvite};
use crate::server_non_invite::ServerNonInvite;
use crate::stamp::stamp_top_via;
use crate::timer::TimerSlots;
use crate::types::TxEvent;

impl TransactionLayer {
    /// A request: stamp the top Via, then match it to a server transaction
    /// (RFC 3261 §17.2.3) or create one; unmatched ACKs go to the TU.
    pub(super) fn inbound_request(&mut self, now: Instant, mut request: Request, peer: Peer) {
        let via = match stamp_top_via(&mut request, peer.remote) {
            Ok(via) => via,
            Err(error) => {
                self.stats.dropped_requests += 1;
                debug!(%error, method = %request.method, remote = %peer.remote, "request without usable top Via dropped");
                return;
            }
        };
        if key::server_key(&mut self.key_buf, &request, &via, None).is_err() {
            self.stats.dropped_requests += 1;
            debug!(method = %request.method, remote = %peer.remote, "RFC 2543 request without From, To, Call-ID or CSeq dropped");
            return;
        }
        let found = self.server_keys.get(self.key_buf.as_slice()).copied();
        let is_ack = request.method == Method::Ack;
        match found {
            Some(id) if is_ack => {
                let disposition = self.dispatch(now, id, |machine, ctx| match machine {
                    Machine::ServerInvite(m) => m.on_ack(ctx),
                    _ => AckDisposition::ToTu,
                });
                if disposition != Some(AckDisposition::Absorbed) {
                    self.events.push_back(TxEvent::Ack { request, peer });
                }
            }
            Some(id) => {
                self.dispatch(now, id, |machine, ctx| match machine {
                    Machine::ServerInvite(m) => m.on_retransmission(ctx),
                    Machine::ServerNonInvite(m) => m.on_retransmission(ctx),
                    Machine::ClientInvite(_) | Machine::ClientNonInvite(_) => {}
                });
            }
            None if is_ack => self.events.push_back(TxEvent::Ack { request, peer }),
            None => self.create_server(request, &via, peer),
        }
    }

    /// A new server transaction for `request`, whose key is in `key_buf`.
    fn create_server(&mut self, request: Request, via: &Via, peer: Peer) {
        let id = self.allocate_id();
        let dest = response_destination(via, &peer);
        let machine = if request.method == Method::Invite {
            Machine::ServerInvite(ServerInvite::new(request.clone()))
        } else {
            Machine::ServerNonInvite(ServerNonInvite::new())
        };
        self.insert(
            id,
            Transaction {
                key: Key::from(self.key_buf.as_slice()),
                alias: None,
                rfc2543: key::rfc3261_branch(via).is_none(),
                dest,
                slots: TimerSlots::default(),
                machine,
            },
        );
        self.events.push_back(TxEvent::Request {
            tx: id,
            request,
            peer,
        });
    }

    /// A response: match it to a client transaction (RFC 3261 §17.1.3), or
    /// hand it to the TU as a stray.
    pub(super) fn inbound_response(&mut self, now: Instant, response: Response, peer: Peer) {
        let (via, cseq) = match (response.headers.top_via(), response.headers.cseq()) {
            (Ok(via), Ok(cseq)) => (via, cseq),
            (Err(error), _) | (_, Err(error)) => {
                self.stats.dropped_responses += 1;
                debug!(%error, status = %response.status, remote = %peer.remote, "response without usable Via or CSeq dropped");
                return;
            }
        };
        let found = via.params.value("branch").and_then(|branch| {
            key::client_key(&mut self.key_buf, &cseq.method, branch);
            self.client_keys.get(self.key_buf.as_slice()).copied()
        });
        let Some(id) = found else {
            self.events
                .push_back(TxEvent::StrayResponse { response, peer });
            return;
        };
        // A response carries exactly the Via fields of its request: one for a
        // request we originated (RFC 3261 §8.1.3.3, §18.1.2), more for one we
        // forwarded as a proxy.
        let expected = match self.txs.get(&id).map(|t| &t.machine) {
            Some(Machine::ClientInvite(m)) => m.via_count(),
            Some(Machine::ClientNonInvite(m)) => m.via_count(),
            _ => 0,
        };
        if response.headers.count(&HeaderName::Via) != expected {
            self.stats.dropped_responses += 1;
            debug!(tx = %id, status = %response.status, "response with a different number of Via fields than its request dropped");
            return;
        }
        self.dispatch(now, id, |machine, ctx| match machine {
            Machine::ClientInvite(m) => m.on_response(ctx, response),
            Machine::ClientNonInvite(m) => m.on_response(ctx, response),
            Machine::ServerInvite(_) | Machine::ServerNonInvite(_) => {}
        });
    }
}
