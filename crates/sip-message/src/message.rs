//! Requests, responses and their serialization (RFC 3261 §7).

use std::fmt::Write as _;

use bytes::{BufMut, Bytes, BytesMut};

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::headers::{HeaderName, Headers};
use crate::ids::{CallId, Tag};
use crate::method::Method;
use crate::name_addr::{Contact, NameAddr};
use crate::status::StatusCode;
use crate::uri::Uri;
use crate::via::{CSeq, Via};

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

    /// Serializes into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(512 + self.body().len());
        self.encode(&mut out);
        out.freeze()
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
        let mut line = String::with_capacity(64);
        let _ = write!(line, "{} {} SIP/2.0\r\n", self.method, self.uri);
        out.put_slice(line.as_bytes());
        encode_headers_and_body(&self.headers, &self.body, out);
    }

    /// Serializes into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(512 + self.body.len());
        self.encode(&mut out);
        out.freeze()
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
        let mut response = Response::new(status);
        let h = &mut response.headers;
        for header in request.headers.iter() {
            match header.name {
                HeaderName::Via
                | HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq => h.push(header.name.clone(), header.value.clone()),
                _ => {}
            }
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
            *to = ByteStr::from(format!("{to};tag={tag}"));
        }
    }

    /// Serializes into `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        let mut line = String::with_capacity(32);
        let _ = write!(line, "SIP/2.0 {} {}\r\n", self.status, self.reason);
        out.put_slice(line.as_bytes());
        encode_headers_and_body(&self.headers, &self.body, out);
    }

    /// Serializes into a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(512 + self.body.len());
        self.encode(&mut out);
        out.freeze()
    }
}

/// Whether a From/To value carries a `tag` parameter outside its `<…>` URI and
/// quoted display name.
fn has_tag_param(value: &str) -> bool {
    let after_uri = match value.rfind('>') {
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

fn encode_headers_and_body(headers: &Headers, body: &Bytes, out: &mut BytesMut) {
    let mut wrote_length = false;
    let mut itoa = [0u8; 20];
    for h in headers {
        if h.name == HeaderName::ContentLength {
            if wrote_length {
                continue;
            }
            wrote_length = true;
            out.put_slice(b"Content-Length: ");
            out.put_slice(format_usize(body.len(), &mut itoa));
            out.put_slice(b"\r\n");
            continue;
        }
        out.put_slice(h.name.as_str().as_bytes());
        out.put_slice(b": ");
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
        if v.is_empty() || v.contains(|c: char| c.is_ascii_whitespace()) {
            return Err(ParseError::header(
                "Call-ID",
                "empty or contains whitespace",
            ));
        }
        Ok(CallId(v.clone()))
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
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                let digits = v.trim_matches([' ', '\t']);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ParseError::header(name.as_str(), "not a number"));
                }
                digits
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| ParseError::header(name.as_str(), "number out of range"))
            }
        }
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
