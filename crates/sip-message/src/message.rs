//! Requests, responses and their serialization (RFC 3261 §7).

use bytes::{BufMut, Bytes, BytesMut};

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::headers::Headers;
use crate::ids::{CallId, Tag};
use crate::method::Method;
use crate::name_addr::{Contact, NameAddr};
use crate::status::StatusCode;
use crate::uri::Uri;
use crate::via::{CSeq, Via};
use crate::write::{WriteSip, written_len};

/// Room left in a response built from a request for the fields a server adds
/// (To-tag aside): challenges, Contact, Expires, Date, Server, Timestamp.
const RESPONSE_EXTRA_HEADERS: usize = 6;

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method.
    pub method: Method,
    /// Request-URI.
    pub uri: Uri,
    /// Header fields in order.
    pub headers: Headers,
    /// Body (may be empty).
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase.
    pub reason: ByteStr,
    /// Header fields in order.
    pub headers: Headers,
    /// Body (may be empty).
    pub body: Bytes,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a request keeps its URI inline; boxing would cost an allocation per message"
)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Message {
    /// Parses one complete message from a datagram or a framed stream chunk
    /// (RFC 3261 §7; leading CRLFs are skipped, §7.5). Header values are shared
    /// with `buf`, not copied.
    pub fn parse(buf: Bytes) -> Result<Message, ParseError> {
        crate::parse::message::parse_message(buf)
    }

    /// The header fields.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// Mutable header fields.
    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(r) => &mut r.headers,
            Message::Response(r) => &mut r.headers,
        }
    }

    /// The body.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// Serializes into `out`. Content-Length is written with the body's real
    /// length, at the place of the existing field or last.
    pub fn encode(&self, out: &mut BytesMut) {
        match self {
            Message::Request(r) => r.encode(out),
            Message::Response(r) => r.encode(out),
        }
    }

    /// Serializes into a new buffer of exactly the message's size.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }

    /// The number of bytes [`Message::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Request(r) => r.encoded_len(),
            Message::Response(r) => r.encoded_len(),
        }
    }
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// Serializes into `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.encode_reserved(out);
    }

    /// Serializes into a new buffer of exactly the message's size.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode_reserved(&mut out);
        out.freeze()
    }

    /// The number of bytes [`Request::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let start_line = self.method.as_str().len() + 1 + written_len(&self.uri) + 10;
        start_line + headers_and_body_len(&self.headers, &self.body)
    }

    fn encode_reserved(&self, out: &mut BytesMut) {
        out.put_slice(self.method.as_str().as_bytes());
        out.put_u8(b' ');
        self.uri.write_to(out);
        out.put_slice(b" SIP/2.0\r\n");
        encode_headers_and_body(&self.headers, &self.body, out);
    }
}

impl Response {
    /// A response with the canonical reason phrase and no headers.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            reason: ByteStr::from_static(status.reason()),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// A response to `request` per RFC 3261 §8.2.6.2: Via fields (all, in order),
    /// From, To, Call-ID and CSeq copied; the caller adds a To-tag when needed.
    pub fn from_request(request: &Request, status: StatusCode) -> Response {
        let copied = |name: &HeaderName| {
            matches!(
                name,
                HeaderName::Via
                    | HeaderName::From
                    | HeaderName::To
                    | HeaderName::CallId
                    | HeaderName::CSeq
            )
        };
        let count = request.headers.iter().filter(|h| copied(&h.name)).count();
        let mut response = Response::new(status);
        response.headers = Headers::with_capacity(count + RESPONSE_EXTRA_HEADERS);
        let h = &mut response.headers;
        for header in request.headers.iter().filter(|h| copied(&h.name)) {
            h.push(header.name.clone(), header.value.clone());
        }
        if status == StatusCode::TRYING
            && let Some(ts) = request.headers.get(&HeaderName::Timestamp)
        {
            // RFC 3261 §8.2.6.1: a 100 echoes Timestamp.
            h.push(HeaderName::Timestamp, ts.clone());
        }
        response
    }

    /// Adds `;tag=…` to the To field when it has none.
    pub fn set_to_tag(&mut self, tag: &Tag) {
        if let Some(to) = self.headers.get_mut(&HeaderName::To)
            && !has_tag_param(to)
        {
            let tag = tag.as_str();
            let mut text = String::with_capacity(to.len() + 5 + tag.len());
            text.push_str(to);
            text.push_str(";tag=");
            text.push_str(tag);
            *to = ByteStr::from(text);
        }
    }

    /// Serializes into `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.encode_reserved(out);
    }

    /// Serializes into a new buffer of exactly the message's size.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode_reserved(&mut out);
        out.freeze()
    }

    /// The number of bytes [`Response::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let start_line = 8 + written_len(&self.status) + 1 + self.reason.len() + 2;
        start_line + headers_and_body_len(&self.headers, &self.body)
    }

    fn encode_reserved(&self, out: &mut BytesMut) {
        out.put_slice(b"SIP/2.0 ");
        self.status.write_to(out);
        out.put_u8(b' ');
        out.put_slice(self.reason.as_bytes());
        out.put_slice(b"\r\n");
        encode_headers_and_body(&self.headers, &self.body, out);
    }
}

/// Whether a From/To value carries a `tag` parameter outside its `<…>` URI and
/// quoted display name.
fn has_tag_param(value: &str) -> bool {
    let after_uri = match value.bytes().rposition(|b| b == b'>') {
        Some(i) => &value[i + 1..],
        None => value,
    };
    after_uri.split(';').skip(1).any(|p| {
        p.trim()
            .split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("tag"))
    })
}

/// Length of `Content-Length: n\r\n` for a body of `body_len` bytes.
fn content_length_line_len(body_len: usize) -> usize {
    let mut digits = 1;
    let mut n = body_len;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    "Content-Length: ".len() + digits + 2
}

/// The bytes [`encode_headers_and_body`] writes.
fn headers_and_body_len(headers: &Headers, body: &Bytes) -> usize {
    let mut len = 0;
    let mut wrote_length = false;
    for h in headers {
        if matches!(h.name, HeaderName::ContentLength) {
            if !wrote_length {
                wrote_length = true;
                len += content_length_line_len(body.len());
            }
        } else {
            let name_and_colon = match h.name.wire_prefix() {
                Some(prefix) => prefix.len(),
                None => h.name.as_str().len() + 2,
            };
            len += name_and_colon + h.value.len() + 2;
        }
    }
    if !wrote_length {
        len += content_length_line_len(body.len());
    }
    len + 2 + body.len()
}

fn encode_headers_and_body(headers: &Headers, body: &Bytes, out: &mut BytesMut) {
    let mut wrote_length = false;
    let mut itoa = [0u8; 20];
    for h in headers {
        if matches!(h.name, HeaderName::ContentLength) {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            out.put_slice(b"Content-Length: ");
            out.put_slice(format_usize(body.len(), &mut itoa));
            out.put_slice(b"\r\n");
            continue;
        }
        match h.name.wire_prefix() {
            Some(prefix) => out.put_slice(prefix.as_bytes()),
            None => {
                out.put_slice(h.name.as_str().as_bytes());
                out.put_slice(b": ");
            }
        }
        out.put_slice(h.value.as_bytes());
        out.put_slice(b"\r\n");
    }
    if !wrote_length {
        out.put_slice(b"Content-Length: ");
        out.put_slice(format_usize(body.len(), &mut itoa));
        out.put_slice(b"\r\n");
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
}

fn format_usize(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[i..]
}

/// Typed access to the headers every transaction and dialog needs. Each call
/// parses the field's text; values share the message buffer.
impl Headers {
    /// The first Via (RFC 3261 §8.1.1.7).
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let v = self
            .get(&HeaderName::Via)
            .ok_or_else(|| ParseError::MissingHeader("Via"))?;
        Via::parse(v)
    }

    /// Every Via, top first.
    pub fn vias(&self) -> impl Iterator<Item = Result<Via, ParseError>> + '_ {
        self.get_all(&HeaderName::Via).map(Via::parse)
    }

    /// Call-ID.
    pub fn call_id(&self) -> Result<CallId, ParseError> {
        let v = self
            .get(&HeaderName::CallId)
            .ok_or_else(|| ParseError::MissingHeader("Call-ID"))?;
        parse_call_id(v)
    }

    /// CSeq.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        let v = self
            .get(&HeaderName::CSeq)
            .ok_or_else(|| ParseError::MissingHeader("CSeq"))?;
        CSeq::parse(v)
    }

    /// From.
    pub fn from_addr(&self) -> Result<NameAddr, ParseError> {
        let v = self
            .get(&HeaderName::From)
            .ok_or_else(|| ParseError::MissingHeader("From"))?;
        NameAddr::parse(v)
    }

    /// To.
    pub fn to_addr(&self) -> Result<NameAddr, ParseError> {
        let v = self
            .get(&HeaderName::To)
            .ok_or_else(|| ParseError::MissingHeader("To"))?;
        NameAddr::parse(v)
    }

    /// Every Contact value in order.
    pub fn contacts(&self) -> impl Iterator<Item = Result<Contact, ParseError>> + '_ {
        self.get_all(&HeaderName::Contact).map(Contact::parse)
    }

    /// A numeric header such as Expires, Max-Forwards, Min-Expires or
    /// Content-Length: `Ok(None)` when absent.
    pub fn numeric(&self, name: &HeaderName) -> Result<Option<u32>, ParseError> {
        self.get(name).map(|v| parse_numeric(name, v)).transpose()
    }

    /// Expires (RFC 3261 §20.19).
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.numeric(&HeaderName::Expires)
    }

    /// Max-Forwards (RFC 3261 §20.22).
    pub fn max_forwards(&self) -> Result<Option<u32>, ParseError> {
        self.numeric(&HeaderName::MaxForwards)
    }
}

/// A Call-ID value: not empty, no whitespace (RFC 3261 §20.8).
pub(crate) fn parse_call_id(v: &ByteStr) -> Result<CallId, ParseError> {
    if v.is_empty() || v.bytes().any(|b| b <= b' ' && b.is_ascii_whitespace()) {
        return Err(ParseError::header(
            "Call-ID",
            "empty or contains whitespace",
        ));
    }
    Ok(CallId(v.clone()))
}

/// The value of a numeric header `name`: digits, optionally surrounded by
/// SP/HTAB, fitting in 32 bits.
pub(crate) fn parse_numeric(name: &HeaderName, v: &str) -> Result<u32, ParseError> {
    let digits = v.trim_matches([' ', '\t']);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::header(name.as_str(), "not a number"));
    }
    digits.bytes().try_fold(0u32, |n, d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u32::from(d - b'0')))
            .ok_or_else(|| ParseError::header(name.as_str(), "number out of range"))
    })
}
