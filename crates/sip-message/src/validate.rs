//! The checks an element makes on a parsed message before processing it
//! (RFC 3261 §8.2, §16.3, §18.1.2; RFC 4475 §3.1.2).
//!
//! Parsing keeps header values as text; these functions parse the fields the
//! core relies on and report the first problem as a [`ParseError`] whose
//! message can serve as a 400 reason phrase ([`ParseError::status_code`] gives
//! the status to answer with).

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::headers::Headers;
use crate::ids::CallId;
use crate::message::{Request, Response, parse_call_id, parse_numeric};
use crate::method::Method;
use crate::name_addr::{Contact, NameAddr};
use crate::parse::name_addr::parse_name_addr_into;
use crate::parse::via::parse_via_into;
use crate::uri::Uri;
use crate::via::{CSeq, Via};

/// Headers that may appear at most once (RFC 3261 §7.3.1, §20), in the order
/// duplicates are reported.
const SINGLE_VALUED: [&str; 7] = [
    "To",
    "From",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Expires",
];

/// Sequence numbers must stay below 2^31 (RFC 3261 §8.1.1.5).
const CSEQ_LIMIT: u32 = 1 << 31;

/// The typed core of a validated request (RFC 3261 §8.1.1): the values
/// [`validate_request`] parsed while checking them, so that nothing needs to
/// parse them again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCore {
    /// The topmost Via (RFC 3261 §8.1.1.7).
    pub top_via: Via,
    /// From (RFC 3261 §8.1.1.3).
    pub from: NameAddr,
    /// To (RFC 3261 §8.1.1.2).
    pub to: NameAddr,
    /// Call-ID (RFC 3261 §8.1.1.4).
    pub call_id: CallId,
    /// CSeq; its method equals the request method (RFC 3261 §8.1.1.5).
    pub cseq: CSeq,
    /// Max-Forwards, when present (RFC 3261 §8.1.1.6).
    pub max_forwards: Option<u32>,
    /// Every Contact value in order (RFC 3261 §8.1.1.8); empty when there is
    /// no Contact header.
    pub contacts: Vec<Contact>,
}

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

/// What one pass over the header list finds: the first value and the number
/// of fields of each header validation looks at.
#[derive(Default)]
struct Scan<'a> {
    /// First value of each [`SINGLE_VALUED`] header, same order.
    first: [Option<&'a ByteStr>; 7],
    /// Fields of each [`SINGLE_VALUED`] header (saturating).
    count: [u8; 7],
    /// The first Via.
    top_via: Option<&'a ByteStr>,
    /// Number of Contact fields.
    contacts: usize,
}

impl<'a> Scan<'a> {
    fn of(h: &'a Headers) -> Scan<'a> {
        let mut scan = Scan::default();
        for header in h {
            let slot = match header.name {
                HeaderName::To => 0,
                HeaderName::From => 1,
                HeaderName::CallId => 2,
                HeaderName::CSeq => 3,
                HeaderName::MaxForwards => 4,
                HeaderName::ContentLength => 5,
                HeaderName::Expires => 6,
                HeaderName::Via => {
                    scan.top_via.get_or_insert(&header.value);
                    continue;
                }
                HeaderName::Contact => {
                    scan.contacts += 1;
                    continue;
                }
                _ => continue,
            };
            scan.first[slot].get_or_insert(&header.value);
            scan.count[slot] = scan.count[slot].saturating_add(1);
        }
        scan
    }

    fn value(&self, slot: usize) -> Result<&'a ByteStr, ParseError> {
        self.first[slot].ok_or(ParseError::MissingHeader(SINGLE_VALUED[slot]))
    }

    fn numeric(&self, slot: usize, name: &HeaderName) -> Result<Option<u32>, ParseError> {
        self.first[slot].map(|v| parse_numeric(name, v)).transpose()
    }
}

/// Checks a request before a server processes it: the Request-URI scheme is
/// `sip`, `sips` or `tel` ([`ParseError::UnsupportedScheme`] → 416) and
/// carries no URI headers; To, From, Call-ID, CSeq and at least one Via are
/// present and every one of them parses; single-valued headers appear once;
/// the CSeq method equals the request method and its number is below 2^31;
/// Max-Forwards and Content-Length are numeric; Contact values parse.
/// Returns the values parsed on the way.
///
/// The Date header is not checked: RFC 4475 §3.1.2.12 asks elements that do
/// not use it (Switchboard does not) to tolerate a malformed one.
pub fn validate_request(req: &Request) -> Result<RequestCore, ParseError> {
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
    let scan = Scan::of(h);
    // Built in place: parsed values are large, moving them costs.
    let mut core = RequestCore {
        top_via: Via::empty(),
        from: NameAddr::empty(),
        to: NameAddr::empty(),
        call_id: CallId(ByteStr::new()),
        cseq: CSeq {
            seq: 0,
            method: Method::Ack,
        },
        max_forwards: None,
        contacts: Vec::new(),
    };
    let (call_id, cseq) = check_common(h, &scan, &mut core.top_via, &mut core.from, &mut core.to)?;
    if cseq.method != req.method {
        return Err(ParseError::CSeqMethod {
            request: req.method.clone(),
            cseq: cseq.method,
        });
    }
    core.call_id = call_id;
    core.cseq = cseq;
    core.max_forwards = scan.numeric(4, &HeaderName::MaxForwards)?;
    if scan.contacts > 0 {
        core.contacts.reserve_exact(scan.contacts);
        for value in h.get_all(&HeaderName::Contact) {
            core.contacts.push(Contact::Addr(NameAddr::empty()));
            let contact = core.contacts.last_mut().expect("pushed just above");
            Contact::parse_into(value, contact).map_err(|e| in_header(e, "Contact"))?;
        }
    }
    Ok(core)
}

/// Checks a response before it is matched to a transaction: the same header
/// rules as for requests except those about the Request-URI and Max-Forwards.
/// A response that fails is dropped (RFC 4475 §3.1.2.5).
pub fn validate_response(resp: &Response) -> Result<(), ParseError> {
    let h = &resp.headers;
    let (mut top_via, mut from, mut to) = (Via::empty(), NameAddr::empty(), NameAddr::empty());
    check_common(h, &Scan::of(h), &mut top_via, &mut from, &mut to).map(|_| ())
}

/// The checks requests and responses share. To, From and the top Via are
/// parsed into the given fresh values; Call-ID and CSeq are returned.
fn check_common(
    h: &Headers,
    scan: &Scan<'_>,
    top_via: &mut Via,
    from: &mut NameAddr,
    to: &mut NameAddr,
) -> Result<(CallId, CSeq), ParseError> {
    if let Some(slot) = scan.count.iter().position(|&n| n > 1) {
        return Err(ParseError::DuplicateHeader(SINGLE_VALUED[slot]));
    }
    parse_name_addr_into(scan.value(0)?, to).map_err(|e| in_header(e, "To"))?;
    parse_name_addr_into(scan.value(1)?, from).map_err(|e| in_header(e, "From"))?;
    let call_id = parse_call_id(scan.value(2)?)?;
    let cseq = CSeq::parse(scan.value(3)?)?;
    if cseq.seq >= CSEQ_LIMIT {
        return Err(ParseError::header(
            "CSeq",
            "sequence number must be below 2^31",
        ));
    }
    parse_via_into(
        scan.top_via.ok_or(ParseError::MissingHeader("Via"))?,
        top_via,
    )?;
    for via in h.get_all(&HeaderName::Via).skip(1) {
        Via::parse(via)?;
    }
    scan.numeric(5, &HeaderName::ContentLength)?;
    Ok((call_id, cseq))
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
        let core =
            validate_request(&request("Contact: *\r\n", "1 OPTIONS", "tel:+12025550123")).unwrap();
        assert_eq!(core.contacts, [Contact::Star]);
    }

    #[test]
    fn returns_what_it_parsed() {
        let req = request(
            "Contact: <sip:alice@192.0.2.1>;expires=60, <sip:alice@192.0.2.2>\r\n\
             Via: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bK2\r\n",
            "7 OPTIONS",
            "sip:bob@example.com",
        );
        let core = validate_request(&req).unwrap();
        assert_eq!(core.top_via.branch().unwrap().as_str(), "z9hG4bK1");
        assert_eq!(core.from.tag().unwrap().as_str(), "1");
        assert_eq!(core.to.uri.to_string(), "sip:bob@example.com");
        assert!(core.to.tag().is_none());
        assert_eq!(core.call_id.as_str(), "v1@192.0.2.1");
        assert_eq!((core.cseq.seq, &core.cseq.method), (7, &Method::Options));
        assert_eq!(core.max_forwards, Some(70));
        let contacts: Vec<String> = core.contacts.iter().map(ToString::to_string).collect();
        assert_eq!(
            contacts,
            ["<sip:alice@192.0.2.1>;expires=60", "<sip:alice@192.0.2.2>"]
        );
        let mut no_max_forwards = req;
        no_max_forwards.headers.remove_all(&HeaderName::MaxForwards);
        assert_eq!(
            validate_request(&no_max_forwards).unwrap().max_forwards,
            None
        );
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
            assert_eq!(validate_request(&req).err(), Some(expected));
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
            validate_request(&req).err(),
            Some(ParseError::MissingHeader("Via"))
        );
        let mut req = request("", "1 OPTIONS", "sip:bob@example.com");
        req.headers.remove_all(&HeaderName::CallId);
        assert_eq!(
            validate_request(&req).err(),
            Some(ParseError::MissingHeader("Call-ID"))
        );
        let mut req = request("", "1 OPTIONS", "sip:bob@example.com");
        req.headers.set(HeaderName::Via, "SIP/2.0/UDP 192.0.2.1;;");
        assert_eq!(
            validate_request(&req).err(),
            Some(ParseError::header("Via", "empty parameter"))
        );
    }
}
