//! Building and sending the switch's own responses: to-tags, the `Server`
//! header, counters, and the 400 for messages that did not parse.

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{
    ByteStr, HeaderName, Headers, Message, ParseError, Peer, Request, Response, StatusCode, Via,
};
use sb_sip_transaction::TxId;

use crate::core::Switch;
use crate::respond::reason_phrase;

impl Switch {
    /// Sends a response in server transaction `tx`: To-tag (except on 100),
    /// `Server` header, custom headers from `extra`.
    pub(crate) fn reply(
        &mut self,
        now: Instant,
        tx: TxId,
        request: &Request,
        status: StatusCode,
        reason: Option<&str>,
        extra: impl FnOnce(&mut Headers),
    ) {
        let response = self.build_response(request, status, reason, extra);
        self.send_response(now, tx, response);
    }

    /// Sends a response built elsewhere, counting it.
    pub(crate) fn send_response(&mut self, now: Instant, tx: TxId, response: Response) {
        if let Err(e) = self.tx.send_response(now, tx, response) {
            tracing::debug!(%tx, error = %e, "response not sent");
        }
    }

    pub(crate) fn build_response(
        &mut self,
        request: &Request,
        status: StatusCode,
        reason: Option<&str>,
        extra: impl FnOnce(&mut Headers),
    ) -> Response {
        let mut response = Response::from_request(request, status);
        if let Some(reason) = reason {
            response.reason = ByteStr::from(reason_phrase(reason));
        }
        if status != StatusCode::TRYING {
            let tag = self.new_tag();
            response.set_to_tag(&tag);
        }
        extra(&mut response.headers);
        self.finish_response(&mut response);
        response
    }

    /// Adds the `Server` header and counts the response.
    pub(crate) fn finish_response(&mut self, response: &mut Response) {
        if let Some(server) = &self.config.server_header {
            response.headers.push(HeaderName::Server, server.as_str());
        }
        self.stats.responses_by_class[usize::from(response.status.class()).min(6)] += 1;
        self.stats.responses_by_code.count(response.status);
    }

    pub(crate) fn service_unavailable(&mut self, now: Instant, tx: TxId, request: &Request) {
        self.reply(
            now,
            tx,
            request,
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            |h| {
                h.push(HeaderName::RetryAfter, "5");
            },
        );
    }

    /// 400 for a message that failed to parse, built from what could be
    /// salvaged. Returns whether an answer was sent.
    pub(crate) fn answer_malformed(
        &mut self,
        payload: &Bytes,
        peer: &Peer,
        error: &ParseError,
    ) -> bool {
        let Some(headers) = sb_sip_message::parse::salvage_headers(payload) else {
            return false;
        };
        let Some(top) = headers.get(&HeaderName::Via) else {
            return false;
        };
        let Ok(mut via) = Via::parse(top) else {
            return false;
        };
        via.stamp_source(peer.remote.ip(), peer.remote.port());
        let dest = sb_sip_transaction::response_destination(&via, peer);
        let mut response = Response::new(StatusCode::BAD_REQUEST);
        response.reason = ByteStr::from(reason_phrase(&format!("Bad Request ({error})")));
        let mut first_via = true;
        for h in headers.iter() {
            match h.name {
                HeaderName::Via if first_via => {
                    first_via = false;
                    response.headers.push(HeaderName::Via, via.to_string());
                }
                HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq => response.headers.push(h.name.clone(), h.value.clone()),
                _ => {}
            }
        }
        let tag = self.new_tag();
        response.set_to_tag(&tag);
        self.finish_response(&mut response);
        self.tx.send_stateless(Message::Response(response), dest);
        true
    }
}
