//! Fuzz target for the SIP message grammar.
//!
//! For any input: parsing never panics; a message that parses serializes to
//! bytes that parse to the same message and serialize to the same bytes;
//! typed header values that parse print in a form that parses to the same
//! value, the same through `Display` and `WriteSip`; every URI is equivalent
//! to itself; a request that validates returns the values the typed accessors
//! parse; the stream framer yields the same messages (and the same error)
//! however the input is cut into reads.
//!
//! Run from the repository root (stable toolchain, no sanitizer):
//! `cargo fuzz run --sanitizer none --fuzz-dir crates/fuzz sip_message -- -max_total_time=600`.
//! Seeds are in `corpus/sip_message/seed-*`; every input that ever failed is
//! replayed by `crates/sip-message/tests/fuzz_regressions.rs`.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use sb_sip_message::{
    CSeq, Contact, Frame, HeaderName, Headers, Message, NameAddr, ParseError, Request,
    StreamFramer, Uri, Via, WriteSip, salvage_headers, validate_request, validate_response,
};

fn without_length(headers: &Headers) -> Headers {
    let mut h = headers.clone();
    h.remove_all(&HeaderName::ContentLength);
    h
}

fn check_round_trip(first: &Message) {
    let bytes = first.to_bytes();
    assert_eq!(
        bytes.len(),
        first.encoded_len(),
        "serialized size differs from the announced one"
    );
    let second = Message::parse(bytes.clone())
        .unwrap_or_else(|e| panic!("serialized message does not parse ({e}): {bytes:?}"));
    match (first, &second) {
        (Message::Request(a), Message::Request(b)) => {
            assert_eq!(a.method, b.method);
            assert_eq!(a.uri, b.uri);
        }
        (Message::Response(a), Message::Response(b)) => {
            assert_eq!(a.status, b.status);
            assert_eq!(a.reason, b.reason);
        }
        _ => panic!("message kind changed"),
    }
    assert_eq!(
        without_length(first.headers()),
        without_length(second.headers())
    );
    assert_eq!(first.body(), second.body());
    assert_eq!(
        second.to_bytes(),
        bytes,
        "serializing again gives other bytes"
    );
}

fn check_uri(uri: &Uri) {
    assert!(uri.equivalent(uri), "URI not equivalent to itself: {uri}");
    let printed = uri.to_string();
    assert_eq!(uri.to_byte_str(), printed.as_str());
    let again = Uri::parse(&printed.as_str().into())
        .unwrap_or_else(|e| panic!("printed URI {printed:?} does not parse: {e}"));
    assert_eq!(&again, uri);
}

fn check_name_addr(addr: &NameAddr) {
    check_uri(&addr.uri);
    let printed = addr.to_string();
    assert_eq!(addr.to_byte_str(), printed.as_str());
    let again = NameAddr::parse(&printed.as_str().into())
        .unwrap_or_else(|e| panic!("printed name-addr {printed:?} does not parse: {e}"));
    assert_eq!(&again, addr);
}

/// Typed access over every header the core reads.
fn check_typed(headers: &Headers) {
    for via in headers.vias().flatten() {
        let printed = via.to_string();
        assert_eq!(via.to_byte_str(), printed.as_str());
        let again = Via::parse(&printed.as_str().into())
            .unwrap_or_else(|e| panic!("printed Via {printed:?} does not parse: {e}"));
        assert_eq!(again, via);
        let _ = (via.branch(), via.received(), via.rport(), via.transport());
    }
    for addr in [headers.from_addr(), headers.to_addr()]
        .into_iter()
        .flatten()
    {
        check_name_addr(&addr);
        let _ = addr.tag();
    }
    for contact in headers.contacts().flatten() {
        if let Contact::Addr(addr) = &contact {
            check_name_addr(addr);
            let _ = (
                addr.expires(),
                addr.q_millis(),
                addr.sip_instance(),
                addr.reg_id(),
            );
            if let Some(sip) = addr.uri.as_sip() {
                let _ = (sip.aor(), sip.user_unescaped(), sip.transport_param());
            }
        }
    }
    if let Ok(cseq) = headers.cseq() {
        let printed = cseq.to_string();
        assert_eq!(CSeq::parse(&printed.as_str().into()).as_ref(), Ok(&cseq));
    }
    let _ = (headers.call_id(), headers.expires(), headers.max_forwards());
}

/// What validation returns is what the typed accessors parse.
fn check_validated(request: &Request) {
    let Ok(core) = validate_request(request) else {
        return;
    };
    let h = &request.headers;
    assert_eq!(Ok(&core.top_via), h.top_via().as_ref());
    assert_eq!(Ok(&core.from), h.from_addr().as_ref());
    assert_eq!(Ok(&core.to), h.to_addr().as_ref());
    assert_eq!(Ok(&core.call_id), h.call_id().as_ref());
    assert_eq!(Ok(&core.cseq), h.cseq().as_ref());
    assert_eq!(core.cseq.method, request.method);
    assert_eq!(Ok(core.max_forwards), h.max_forwards());
    let contacts: Vec<Contact> = h.contacts().map(|c| c.expect("validated")).collect();
    assert_eq!(core.contacts, contacts);
}

/// Messages framed from `data` pushed in reads of the given sizes, and the
/// error that stopped the framer, if any.
fn frame(data: &[u8], sizes: impl Iterator<Item = usize>) -> (Vec<Bytes>, Option<ParseError>) {
    let mut framer = StreamFramer::new(16 * 1024);
    let mut messages = Vec::new();
    let mut rest = data;
    let mut sizes = sizes;
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        framer.push(&rest[..n]);
        rest = &rest[n..];
        loop {
            match framer.next_frame() {
                Ok(Some(Frame::Message(m))) => {
                    // Framed bytes always reach the parser without panicking.
                    let _ = Message::parse(m.clone());
                    messages.push(m);
                }
                Ok(Some(Frame::Ping | Frame::Pong)) => {}
                Ok(None) => break,
                // The size seen when giving up depends on the read sizes.
                Err(ParseError::TooLarge { limit, .. }) => {
                    return (messages, Some(ParseError::TooLarge { size: 0, limit }));
                }
                Err(e) => return (messages, Some(e)),
            }
        }
    }
    (messages, None)
}

fuzz_target!(|data: &[u8]| {
    let buf = Bytes::copy_from_slice(data);
    match Message::parse(buf.clone()) {
        Ok(message) => {
            check_round_trip(&message);
            check_typed(message.headers());
            match &message {
                Message::Request(r) => {
                    check_uri(&r.uri);
                    check_validated(r);
                }
                Message::Response(r) => {
                    let _ = validate_response(r);
                }
            }
        }
        Err(_) => {
            if let Some(headers) = salvage_headers(&buf) {
                check_typed(&headers);
            }
        }
    }

    // Framing does not depend on how the stream is cut into reads.
    let whole = frame(data, std::iter::empty());
    let cuts = data
        .iter()
        .map(|b| usize::from(*b % 61) + 1)
        .collect::<Vec<_>>();
    let chunked = frame(data, cuts.into_iter());
    assert_eq!(whole, chunked, "framing depends on read boundaries");
    let bytewise = frame(data, std::iter::repeat(1));
    assert_eq!(whole, bytewise, "framing depends on read boundaries");
});
