//! The ACK an INVITE client transaction sends for a non-2xx final response
//! (RFC 3261 §17.1.1.3).

use sb_sip_message::{ByteStr, HeaderName, Method, Request, Response};

/// Builds the ACK for `response` to `invite` (whose CSeq number is `cseq`): same
/// Request-URI, Call-ID and From as the INVITE, CSeq with the INVITE's number and
/// method ACK, only the INVITE's top Via, To from the response, and the INVITE's
/// Route fields. Max-Forwards is the INVITE's (70 when it had none, RFC 3261
/// §8.1.1.6). No body.
pub(crate) fn ack_for_non_2xx(invite: &Request, cseq: u32, response: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let h = &mut ack.headers;
    let from_invite = |name: &HeaderName| invite.headers.get(name).cloned();
    if let Some(via) = from_invite(&HeaderName::Via) {
        h.push(HeaderName::Via, via);
    }
    for route in invite.headers.get_all(&HeaderName::Route) {
        h.push(HeaderName::Route, route.clone());
    }
    h.push(
        HeaderName::MaxForwards,
        from_invite(&HeaderName::MaxForwards).unwrap_or(ByteStr::from_static("70")),
    );
    if let Some(from) = from_invite(&HeaderName::From) {
        h.push(HeaderName::From, from);
    }
    if let Some(to) = response
        .headers
        .get(&HeaderName::To)
        .cloned()
        .or_else(|| from_invite(&HeaderName::To))
    {
        h.push(HeaderName::To, to);
    }
    if let Some(call_id) = from_invite(&HeaderName::CallId) {
        h.push(HeaderName::CallId, call_id);
    }
    h.push(HeaderName::CSeq, format!("{cseq} ACK"));
    ack
}

#[cfg(test)]
mod tests {
    use sb_sip_message::{Host, Scheme, SipUri, StatusCode, Uri};

    use super::*;

    #[test]
    fn ack_content() {
        let mut invite = Request::new(
            Method::Invite,
            Uri::Sip(SipUri::new(
                Scheme::Sip,
                Some("bob"),
                Host::Domain(ByteStr::from("biloxi.example.com")),
                None,
            )),
        );
        let h = &mut invite.headers;
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8",
        );
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKupstream",
        );
        h.push(HeaderName::Route, "<sip:p1.example.com;lr>");
        h.push(HeaderName::Route, "<sip:p2.example.com;lr>");
        h.push(HeaderName::MaxForwards, "69");
        h.push(HeaderName::To, "Bob <sip:bob@biloxi.example.com>");
        h.push(
            HeaderName::From,
            "Alice <sip:alice@atlanta.example.com>;tag=1928301774",
        );
        h.push(HeaderName::CallId, "a84b4c76e66710");
        h.push(HeaderName::CSeq, "314159 INVITE");
        h.push(HeaderName::Contact, "<sip:alice@192.0.2.1>");
        h.push(HeaderName::ContentType, "application/sdp");
        invite.body = bytes::Bytes::from_static(b"v=0\r\n");

        let mut response = Response::from_request(&invite, StatusCode::BUSY_HERE);
        response.headers.set(
            HeaderName::To,
            "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf",
        );

        let ack = ack_for_non_2xx(&invite, 314159, &response);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, invite.uri);
        assert!(ack.body.is_empty());
        let fields: Vec<(String, String)> = ack
            .headers
            .iter()
            .map(|h| (h.name.as_str().to_owned(), h.value.as_str().to_owned()))
            .collect();
        let expect = [
            ("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKnashds8"),
            ("Route", "<sip:p1.example.com;lr>"),
            ("Route", "<sip:p2.example.com;lr>"),
            ("Max-Forwards", "69"),
            (
                "From",
                "Alice <sip:alice@atlanta.example.com>;tag=1928301774",
            ),
            ("To", "Bob <sip:bob@biloxi.example.com>;tag=a6c85cf"),
            ("Call-ID", "a84b4c76e66710"),
            ("CSeq", "314159 ACK"),
        ];
        let expect: Vec<(String, String)> = expect
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        assert_eq!(fields, expect);
        let wire = ack.to_bytes();
        assert!(wire.starts_with(b"ACK sip:bob@biloxi.example.com SIP/2.0\r\n"));
        assert!(wire.ends_with(b"Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn ack_without_max_forwards_uses_70() {
        let mut invite = Request::new(
            Method::Invite,
            Uri::Sip(SipUri::new(
                Scheme::Sip,
                None,
                Host::Domain(ByteStr::from("example.com")),
                None,
            )),
        );
        invite
            .headers
            .push(HeaderName::Via, "SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1");
        let response = Response::new(StatusCode::NOT_FOUND);
        let ack = ack_for_non_2xx(&invite, 7, &response);
        assert_eq!(
            ack.headers
                .get(&HeaderName::MaxForwards)
                .map(|v| v.as_str()),
            Some("70")
        );
        assert_eq!(
            ack.headers.get(&HeaderName::CSeq).map(|v| v.as_str()),
            Some("7 ACK")
        );
    }
}
