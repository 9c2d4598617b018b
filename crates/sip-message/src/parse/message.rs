//! Start line, header section and body (RFC 3261 §7, §18.3).

use std::borrow::Cow;

use bytes::{Buf, Bytes};

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::headers::Headers;
use crate::message::{Message, Request, Response};
use crate::method::Method;
use crate::status::StatusCode;
use crate::uri::{Scheme, SipUri, Uri};

use super::header_section::{find_head_end, leading_crlf_len, parse_header_lines};
use super::lex::{is_token, is_token_byte};
use super::lines::{index_head, line_feeds};
use super::uri::parse_uri_into;

fn start_err(reason: &'static str) -> ParseError {
    ParseError::StartLine { reason }
}

pub(crate) fn parse_message(buf: Bytes) -> Result<Message, ParseError> {
    let start = leading_crlf_len(&buf);
    if start == buf.len() {
        return Err(ParseError::Incomplete);
    }
    let index = index_head(&buf, start).ok_or(ParseError::Incomplete)?;
    let (head_end, body_start) = (index.head_end, index.body_start);
    // UTF-8 is checked here once for the whole header section; every value is
    // a slice of `head_src`.
    let head_src = ByteStr::validate(buf.slice(start..head_end)).ok_or(ParseError::NotUtf8)?;
    let head = head_src.as_str();
    let line_end = index.lfs[0] - start;
    let first = &head[..line_end];
    let first = first.strip_suffix('\r').unwrap_or(first);
    // Every CR must end a line (RFC 3261 §7, §25.1). When the CRs are exactly
    // the line ends, nothing needs checking line by line.
    let crlf_lines = index.lfs.iter().filter(|&&lf| buf[lf - 1] == b'\r').count();
    let crs_checked = crlf_lines == index.crs;
    if !crs_checked && memchr::memchr(b'\r', first.as_bytes()).is_some() {
        return Err(start_err("carriage return inside the start line"));
    }
    // Built in place: a request holds a large URI, and moving it costs.
    let mut message = if is_status_line(first) {
        Message::Response(Response::new(StatusCode::OK))
    } else {
        Message::Request(Request::new(
            Method::Ack,
            Uri::Sip(SipUri::empty(Scheme::Sip)),
        ))
    };
    match &mut message {
        Message::Request(request) => parse_request_line(&head_src, first, request)?,
        Message::Response(response) => {
            (response.status, response.reason) = parse_status_line(&head_src, first)?;
        }
    }
    let (headers, content_length) = parse_header_lines(
        &head_src,
        &head[line_end + 1..],
        &index.lfs[1..],
        start + line_end + 1,
        false,
        crs_checked,
    )?;

    // RFC 3261 §18.3: on a datagram, bytes past Content-Length are ignored and
    // fewer bytes than declared is an error; without the header the body is the
    // rest of the datagram.
    let available = buf.len() - body_start;
    let mut body = buf;
    body.advance(body_start);
    if let Some(declared) = content_length {
        if declared > available {
            return Err(ParseError::ContentLength {
                declared,
                available,
            });
        }
        body.truncate(declared);
    }

    match &mut message {
        Message::Request(r) => (r.headers, r.body) = (headers, body),
        Message::Response(r) => (r.headers, r.body) = (headers, body),
    }
    Ok(message)
}

/// Whether the start line is a status line (a response).
fn is_status_line(line: &str) -> bool {
    line.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// `Method SP Request-URI SP SIP-Version` with exactly one SP between the
/// elements and none at the end (RFC 3261 §7.1; RFC 4475 §3.1.2.8–10).
fn parse_request_line(buf: &ByteStr, line: &str, out: &mut Request) -> Result<(), ParseError> {
    if line.ends_with([' ', '\t']) {
        return Err(start_err("trailing whitespace in request line"));
    }
    let (method, rest) = line
        .split_once(' ')
        .ok_or_else(|| start_err("missing Request-URI"))?;
    if !is_token(method) {
        return Err(start_err("method is not a token"));
    }
    let (uri, version) = rest
        .rsplit_once(' ')
        .ok_or_else(|| start_err("missing SIP version"))?;
    check_version(version)?;
    if uri.is_empty() || uri.contains([' ', '\t']) {
        return Err(start_err("whitespace in Request-URI"));
    }
    parse_uri_into(buf, uri, &mut out.uri)?;
    out.method = Method::known(method).unwrap_or_else(|| Method::Extension(buf.slice_ref(method)));
    Ok(())
}

/// `SIP-Version SP Status-Code SP Reason-Phrase` (RFC 3261 §7.2). The reason
/// phrase is any text and may be empty (RFC 4475 §3.1.1.12, §3.1.1.13).
fn parse_status_line(buf: &ByteStr, line: &str) -> Result<(StatusCode, ByteStr), ParseError> {
    let (version, rest) = line.split_once(' ').unwrap_or((line, ""));
    check_version(version)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    let status = (code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse::<u16>().ok())
        .flatten()
        .and_then(StatusCode::new)
        .ok_or_else(|| start_err("status code must be three digits from 100 to 699"))?;
    Ok((status, buf.slice_ref(reason)))
}

/// `SIP/2.0`, case-insensitive; another `SIP/x` version is
/// [`ParseError::Version`] (answered with 505).
fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        Ok(())
    } else if version
        .as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        Err(ParseError::Version)
    } else {
        Err(start_err("missing SIP version"))
    }
}

/// For a message that failed to parse: the header fields that could be read, when
/// the input looks like a request (so a 400 can be built from its Via, From, To,
/// Call-ID and CSeq). `None` when nothing usable was found: a response, no
/// request line, or no Via that parses.
pub fn salvage_headers(buf: &Bytes) -> Option<Headers> {
    let start = leading_crlf_len(buf);
    let rest = &buf[start..];
    let line_end = memchr::memchr(b'\n', rest)?;
    let first = &rest[..line_end];
    let method_end = memchr::memchr(b' ', first)?;
    if method_end == 0
        || !first[..method_end].iter().all(|b| is_token_byte(*b))
        || first
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
    {
        return None;
    }
    let head_start = start + line_end + 1;
    let head_end = find_head_end(buf, start).map_or(buf.len(), |(end, _)| end);
    let head = buf.slice(head_start..head_end.max(head_start));
    // Lines with bad UTF-8 keep their place with U+FFFD instead of failing.
    let replaced = match String::from_utf8_lossy(&head) {
        Cow::Borrowed(_) => None,
        Cow::Owned(text) => Some(text),
    };
    let head = match replaced {
        Some(text) => ByteStr::from(text),
        None => ByteStr::validate(head)?,
    };
    let lfs = line_feeds(head.as_bytes());
    let (headers, _) = parse_header_lines(&head, head.as_str(), &lfs, 0, true, false).ok()?;
    headers.top_via().ok()?;
    Some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_name::HeaderName;

    fn parse(s: &[u8]) -> Result<Message, ParseError> {
        Message::parse(Bytes::copy_from_slice(s))
    }

    const OPTIONS: &[u8] = b"OPTIONS sip:example.com SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\r\n\
        Max-Forwards: 70\r\nTo: <sip:example.com>\r\n\
        From: <sip:alice@example.com>;tag=1928301774\r\n\
        Call-ID: a84b4c76e66710\r\nCSeq: 63104 OPTIONS\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn request_shares_buffer() {
        let buf = Bytes::from_static(OPTIONS);
        let Message::Request(req) = Message::parse(buf.clone()).unwrap() else {
            panic!("not a request")
        };
        assert_eq!(req.method, Method::Options);
        assert_eq!(req.headers.len(), 7);
        let call_id = req.headers.get(&HeaderName::CallId).unwrap();
        let range = buf.as_ptr_range();
        assert!(
            range.contains(&call_id.as_bytes().as_ptr()),
            "value was copied"
        );
        assert!(req.body.is_empty());
    }

    #[test]
    fn leading_crlf_and_lf_only() {
        let mut lf = b"\r\n\r\n".to_vec();
        lf.extend(OPTIONS.iter().filter(|b| **b != b'\r'));
        let Message::Request(req) = parse(&lf).unwrap() else {
            panic!()
        };
        assert_eq!(req.headers.cseq().unwrap().seq, 63104);
    }

    #[test]
    fn responses() {
        let Message::Response(r) =
            parse(b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n\r\n").unwrap()
        else {
            panic!()
        };
        assert_eq!(r.status, StatusCode::RINGING);
        assert_eq!(r.reason, "Ringing");
        let Message::Response(r) = parse(b"sip/2.0 100 \r\n\r\n").unwrap() else {
            panic!()
        };
        assert_eq!(r.reason, "");
        let Message::Response(r) = parse(b"SIP/2.0 699\r\n\r\n").unwrap() else {
            panic!()
        };
        assert_eq!(r.status.as_u16(), 699);
    }

    #[test]
    fn body_and_content_length() {
        let m = parse(b"MESSAGE sip:a@example.com SIP/2.0\r\nl: 5\r\n\r\nhello, extra").unwrap();
        assert_eq!(m.body(), &Bytes::from_static(b"hello"));
        let m = parse(b"MESSAGE sip:a@example.com SIP/2.0\r\n\r\nno length").unwrap();
        assert_eq!(m.body(), &Bytes::from_static(b"no length"));
        assert_eq!(
            parse(b"MESSAGE sip:a@example.com SIP/2.0\r\nl: 50\r\n\r\nshort"),
            Err(ParseError::ContentLength {
                declared: 50,
                available: 5
            })
        );
        let m = parse(b"MESSAGE sip:a@example.com SIP/2.0\r\nl: 3\r\n\r\n\xff\x00\xfe").unwrap();
        assert_eq!(&m.body()[..], b"\xff\x00\xfe");
    }

    #[test]
    fn start_line_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Incomplete),
            (b"\r\n\r\n", ParseError::Incomplete),
            (
                b"OPTIONS sip:a@example.com SIP/2.0\r\nTo: x\r\n",
                ParseError::Incomplete,
            ),
            (
                b"OPTIONS sip:a@example.com SIP/7.0\r\n\r\n",
                ParseError::Version,
            ),
            (b"SIP/1.0 200 OK\r\n\r\n", ParseError::Version),
            (
                b"OPTIONS sip:a@example.com SIP/2.0 \r\n\r\n",
                start_err("trailing whitespace in request line"),
            ),
            (
                b"INVITE  sip:a@example.com  SIP/2.0\r\n\r\n",
                start_err("whitespace in Request-URI"),
            ),
            (
                b"INVITE sip:a@example.com; lr SIP/2.0\r\n\r\n",
                start_err("whitespace in Request-URI"),
            ),
            (
                b"INVITE sip:a@example.com\r\n\r\n",
                start_err("missing SIP version"),
            ),
            (b"INVITE\r\n\r\n", start_err("missing Request-URI")),
            (
                b"INV:TE sip:a@example.com SIP/2.0\r\n\r\n",
                start_err("method is not a token"),
            ),
            (
                b"SIP/2.0 4294967301 better not break the receiver\r\n\r\n",
                start_err("status code must be three digits from 100 to 699"),
            ),
            (
                b"SIP/2.0 099 Low\r\n\r\n",
                start_err("status code must be three digits from 100 to 699"),
            ),
            (
                b"OPTIONS sip:a@example.com SIP/2.0\r\nTo: \xff\r\n\r\n",
                ParseError::NotUtf8,
            ),
            (
                b"SIP/2.0 200 O\rK\r\n\r\n",
                start_err("carriage return inside the start line"),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                &parse(input).unwrap_err(),
                expected,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
        assert!(matches!(
            parse(b"INVITE <sip:a@example.com> SIP/2.0\r\n\r\n"),
            Err(ParseError::Uri { .. })
        ));
    }

    #[test]
    fn salvage() {
        let broken = b"INVITE sip:a@example.com SIP/2.0\r\n\
            Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\n\
            To: <sip:a@example.com>\r\nBad Line\r\nX-Bin: \xff\xfe\r\n\
            Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: -3\r\n\r\n";
        let buf = Bytes::copy_from_slice(broken);
        assert!(Message::parse(buf.clone()).is_err());
        let h = salvage_headers(&buf).unwrap();
        assert_eq!(h.top_via().unwrap().branch().unwrap().as_str(), "z9hG4bKx");
        assert_eq!(h.call_id().unwrap().as_str(), "c1");
        assert_eq!(h.cseq().unwrap().seq, 1);
        assert!(h.get(&HeaderName::parse("X-Bin")).is_some());

        for none in [
            &b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1\r\n\r\n"[..],
            b"INVITE sip:a@example.com SIP/2.0\r\nTo: <sip:a@example.com>\r\n\r\n",
            b"INVITE sip:a@example.com SIP/2.0\r\nVia: garbage\r\n\r\n",
            b"\x00\x01garbage",
            b"",
        ] {
            assert!(salvage_headers(&Bytes::copy_from_slice(none)).is_none());
        }
    }
}
