//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub)]

pub mod big;

use bytes::Bytes;
use sb_sip_message::{Message, Request, Response};

/// Joins header lines with CRLF, replaces `{len}` with the body length, ends
/// the header section and appends the body.
pub fn build(lines: &[&str], body: &[u8]) -> Bytes {
    let mut text = String::new();
    for line in lines {
        text.push_str(&line.replace("{len}", &body.len().to_string()));
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    let mut out = text.into_bytes();
    out.extend_from_slice(body);
    Bytes::from(out)
}

/// An SDP body of the usual shape (CRLF lines).
pub fn sdp(origin: &str, port: u16) -> Vec<u8> {
    format!(
        "v=0\r\no=- 20518 0 IN IP4 {origin}\r\ns=-\r\nc=IN IP4 {origin}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
    )
    .into_bytes()
}

pub fn request(buf: Bytes) -> Request {
    match Message::parse(buf) {
        Ok(Message::Request(r)) => r,
        other => panic!("expected a request, got {other:?}"),
    }
}

pub fn response(buf: Bytes) -> Response {
    match Message::parse(buf) {
        Ok(Message::Response(r)) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}
