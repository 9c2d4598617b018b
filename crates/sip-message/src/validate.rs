//! The checks an element makes on a parsed message before processing it
//! (RFC 3261 §8.2, §16.3, §18.1.2; RFC 4475 §3.1.2).
//!
//! Parsing keeps header values as text; these functions parse the fields the
//! core relies on and report the first problem as a [`ParseError`] whose
//! message can serve as a 400 reason phrase ([`ParseError::status_code`] gives
//! the status to answer with).

use crate::error::ParseError;
use crate::headers::{HeaderName, Headers};
use crate::message::{Request, Response};
use crate::name_addr::Contact;
use crate::uri::Uri;

/// Headers that may appear at most once (RFC 3261 §7.3.1, §20).
const SINGLE_VALUED: [(HeaderName, &str); 7] = [
    (HeaderName::To, "To"),
    (HeaderName::From, "From"),
    (HeaderName::CallId, "Call-ID"),
    (HeaderName::CSeq, "CSeq"),
    (HeaderName::MaxForwards, "Max-Forwards"),
    (HeaderName::ContentLength, "Content-Length"),
    (HeaderName::Expires, "Expires"),
];

/// Sequence numbers must stay below 2^31 (RFC 3261 §8.1.1.5).
const CSEQ_LIMIT: u32 = 1 << 31;

/// Renames an element-level error to the header it came from, so that the
/// message names the field ("malformed To header: …").
fn in_header(err: ParseError, name: &str) -> ParseError {
    match err {
        ParseError::Header { reason, .. }
        | ParseError::Uri { reason }
        | ParseError::StartLine { reason } => ParseError::header(name, reason),
        other => other,
    }
}

/// Checks a request before a server processes it: the Request-URI scheme is
/// `sip`, `sips` or `tel` ([`ParseError::UnsupportedScheme`] → 416) and
/// carries no URI headers; To, From, Call-ID, CSeq and at least one Via are
/// present and every one of them parses; single-valued headers appear once;
/// the CSeq method equals the request method and its number is below 2^31;
/// Max-Forwards and Content-Length are numeric; Contact values parse.
///
/// The Date header is not checked: RFC 4475 §3.1.2.12 asks elements that do
/// not use it (Switchboard does not) to tolerate a malformed one.
pub fn validate_request(req: &Request) -> Result<(), ParseError> {
    match &req.uri {
        Uri::Sip(uri) => {
            // RFC 3261 §19.1.1 table: headers are not allowed in a
            // Request-URI (RFC 4475 §3.1.2.11).
            if !uri.headers.is_empty() {
                return Err(ParseError::StartLine {
                    reason: "Request-URI must not contain URI headers",
                });
            }
        }
        Uri::Tel(_) => {}
        Uri::Other(text) => {
            let scheme = text.split(':').next().unwrap_or_default();
            return Err(ParseError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            });
        }
    }
    let h = &req.headers;
    check_common(h)?;
    let cseq = h.cseq()?;
    if cseq.method != req.method {
        return Err(ParseError::CSeqMethod {
            request: req.method.clone(),
            cseq: cseq.method,
        });
    }
    h.max_forwards()?;
    for contact in h.get_all(&HeaderName::Contact) {
        Contact::parse(contact).map_err(|e| in_header(e, "Contact"))?;
    }
    Ok(())
}

/// Checks a response before it is matched to a transaction: the same header
/// rules as for requests except those about the Request-URI and Max-Forwards.
/// A response that fails is dropped (RFC 4475 §3.1.2.5).
pub fn validate_response(resp: &Response) -> Result<(), ParseError> {
    check_common(&resp.headers)
}

fn check_common(h: &Headers) -> Result<(), ParseError> {
    for (name, text) in &SINGLE_VALUED {
        if h.count(name) > 1 {
            return Err(ParseError::DuplicateHeader(text));
        }
    }
    h.to_addr().map_err(|e| in_header(e, "To"))?;
    h.from_addr().map_err(|e| in_header(e, "From"))?;
    h.call_id()?;
    let cseq = h.cseq()?;
    if cseq.seq >= CSEQ_LIMIT {
        return Err(ParseError::header(
            "CSeq",
            "sequence number must be below 2^31",
        ));
    }
    if !h.contains(&HeaderName::Via) {
        return Err(ParseError::MissingHeader("Via"));
    }
    for via in h.vias() {
        via?;
    }
    h.numeric(&HeaderName::ContentLength)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::message::Message;
    use crate::method::Method;

    fn request(extra: &str, cseq: &str, uri: &str) -> Request {
        let text = format!(
            "OPTIONS {uri} SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
             To: <sip:bob@example.com>\r\n\
             From: <sip:alice@example.com>;tag=1\r\n\
             Call-ID: v1@192.0.2.1\r\n\
             CSeq: {cseq}\r\n\
             Max-Forwards: 70\r\n{extra}\r\n"
        );
        match Message::parse(Bytes::from(text)).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!("built a request"),
        }
    }

    #[test]
    fn accepts_a_plain_request() {
        validate_request(&request("", "1 OPTIONS", "sip:bob@example.com")).unwrap();
        validate_request(&request("Contact: *\r\n", "1 OPTIONS", "tel:+12025550123")).unwrap();
    }

    #[test]
    fn rejections_and_their_status() {
        let cases: Vec<(Request, ParseError)> = vec![
            (
                request("", "1 OPTIONS", "urn:service:sos"),
                ParseError::UnsupportedScheme {
                    scheme: "urn".into(),
                },
            ),
            (
                request("", "1 INVITE", "sip:bob@example.com"),
                ParseError::CSeqMethod {
                    request: Method::Options,
                    cseq: Method::Invite,
                },
            ),
            (
                request("", "2147483648 OPTIONS", "sip:bob@example.com"),
                ParseError::header("CSeq", "sequence number must be below 2^31"),
            ),
            (
                request(
                    "To: <sip:carol@example.com>\r\n",
                    "1 OPTIONS",
                    "sip:bob@example.com",
                ),
                ParseError::DuplicateHeader("To"),
            ),
            (
                request("Max-Forwards: 70\r\n", "1 OPTIONS", "sip:bob@example.com"),
                ParseError::DuplicateHeader("Max-Forwards"),
            ),
            (
                request(
                    "Contact: <sip:a@example.com>;;\r\n",
                    "1 OPTIONS",
                    "sip:bob@example.com",
                ),
                ParseError::header("Contact", "empty parameter"),
            ),
            (
                request(
                    "",
                    "1 OPTIONS",
                    "sip:bob@example.com?Route=%3Csip:example.com%3E",
                ),
                ParseError::StartLine {
                    reason: "Request-URI must not contain URI headers",
                },
            ),
        ];
        for (req, expected) in cases {
            assert_eq!(validate_request(&req), Err(expected));
        }
        let err = validate_request(&request("", "1 OPTIONS", "urn:service:sos")).unwrap_err();
        assert_eq!(err.status_code().as_u16(), 416);
        assert_eq!(err.to_string(), "unsupported URI scheme urn");
    }

    #[test]
    fn missing_headers() {
        let mut req = request("", "1 OPTIONS", "sip:bob@example.com");
        req.headers.remove_all(&HeaderName::Via);
        assert_eq!(
            validate_request(&req),
            Err(ParseError::MissingHeader("Via"))
        );
        let mut req = request("", "1 OPTIONS", "sip:bob@example.com");
        req.headers.remove_all(&HeaderName::CallId);
        assert_eq!(
            validate_request(&req),
            Err(ParseError::MissingHeader("Call-ID"))
        );
        let mut req = request("", "1 OPTIONS", "sip:bob@example.com");
        req.headers.set(HeaderName::Via, "SIP/2.0/UDP 192.0.2.1;;");
        assert_eq!(
            validate_request(&req),
            Err(ParseError::header("Via", "empty parameter"))
        );
    }
}
