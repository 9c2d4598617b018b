//! Fuzz target for the stream framer (RFC 3261 §18.3 Content-Length framing, RFC 5626 §3.5.1
//! CRLF keep-alives) that TCP, TLS and WebSocket connections feed.
//!
//! Input: one length octet `n`, then `n` octets that choose the read sizes and the message
//! limit, then the stream itself. For any input:
//! - framing never panics, and the messages (and the error that ends the stream, if any) are
//!   the same whether the stream arrives whole, in the chosen reads, or one octet at a time;
//! - the framed messages are the stream's own bytes, in order, separated only by the CR and LF
//!   octets the framer skips, each at most the limit long;
//! - a framed message that parses is serialized into bytes that frame as exactly one message,
//!   those same bytes, with nothing left over.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz sip_framer -- -max_total_time=600`.
//! Seeds are in `corpus/sip_framer/seed-*`.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sb_sip_message::{Frame, Message, ParseError, StreamFramer};

/// What a stream framed into: messages and the error that stopped the framer.
type Framed = (Vec<Bytes>, Option<ParseError>);

/// Frames `data` pushed in reads of the given sizes (the last read takes the rest).
fn frame(data: &[u8], limit: usize, sizes: &mut dyn Iterator<Item = usize>) -> Framed {
    let mut framer = StreamFramer::new(limit);
    let mut messages = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        framer.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(m))) => messages.push(m),
                // Whether a double CRLF shows up as one ping or two pongs depends on the
                // reads (documented on `Frame::Pong`); both skip the same octets.
                Ok(Some(Frame::Ping | Frame::Pong)) => {}
                Ok(None) => break,
                // The size seen when giving up depends on how much had arrived.
                Err(ParseError::TooLarge { limit, .. }) => {
                    return (messages, Some(ParseError::TooLarge { size: 0, limit }));
                }
                Err(e) => return (messages, Some(e)),
            }
        }
    }
    (messages, None)
}

/// The messages are consecutive pieces of `data`, with only CR and LF between them.
fn check_positions(data: &[u8], messages: &[Bytes], limit: usize) {
    let mut at = 0;
    for m in messages {
        assert!(
            m.len() <= limit,
            "a {} octet message passed a {limit} limit",
            m.len()
        );
        let skipped = data[at..]
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        let start = at + skipped;
        assert_eq!(
            data.get(start..start + m.len()),
            Some(&m[..]),
            "message at {start} is not the stream's bytes"
        );
        at = start + m.len();
    }
}

/// Whatever the writer produces frames back as one message, byte for byte.
fn check_reframe(message: &Message, limit: usize) {
    let bytes = message.to_bytes();
    let mut framer = StreamFramer::new(limit.max(bytes.len()));
    framer.push(&bytes);
    match framer.next_frame() {
        Ok(Some(Frame::Message(m))) => assert_eq!(m, bytes, "reframed message differs"),
        other => panic!("serialized message does not frame ({other:?}): {bytes:?}"),
    }
    assert_eq!(
        framer.buffered(),
        0,
        "serialized message leaves octets behind"
    );
}

fuzz_target!(|input: &[u8]| {
    let Some((&n, rest)) = input.split_first() else {
        return;
    };
    let (control, data) = rest.split_at(usize::from(n).min(rest.len()));
    // The first control octet picks a small limit (to reach the size checks) or a usual one.
    let limit = match control.first() {
        Some(&b) if b < 128 => 16 + usize::from(b) * 8,
        _ => 16 * 1024,
    };
    let sizes = control.get(1..).unwrap_or_default();

    let whole = frame(data, limit, &mut std::iter::empty());
    let chunked = frame(
        data,
        limit,
        &mut sizes.iter().map(|&s| usize::from(s)).cycle(),
    );
    assert_eq!(whole, chunked, "framing depends on read boundaries");
    let bytewise = frame(data, limit, &mut std::iter::repeat(1));
    assert_eq!(whole, bytewise, "framing depends on read boundaries");

    check_positions(data, &whole.0, limit);
    for m in &whole.0 {
        if let Ok(message) = Message::parse(m.clone()) {
            check_reframe(&message, limit);
        }
    }
});
