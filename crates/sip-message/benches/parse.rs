//! Parse and serialize costs on the hot path: a REGISTER with Authorization,
//! typed access to the headers every transaction reads, request validation,
//! an INVITE with SDP, and building and writing the 401 and 200 a registrar
//! answers with.
//!
//! Every measured operation is its own `#[inline(never)]` function so that an
//! instruction-count profile attributes it exactly:
//! `valgrind --tool=callgrind <bench binary> --bench --profile-time 3`, then
//! `callgrind_annotate --inclusive=yes --tree=caller` gives each function's
//! inclusive cost and call count (the `< … (Nx)` lines above a function).

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sb_sip_message::{
    HeaderName, Headers, Message, NameAddr, Request, Response, StatusCode, Tag, Via, WriteSip,
    validate_request,
};

const REGISTER: &[u8] = b"REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK7f2e0c8a1b3d;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:alice@example.com>;tag=a3f9c1e07b2d4e68\r\n\
To: <sip:alice@example.com>\r\n\
Call-ID: 0e7c4b2a9f1d3e5c@192.0.2.20\r\n\
CSeq: 2 REGISTER\r\n\
Contact: <sip:alice@192.0.2.20:5060;transport=udp>;expires=3600\r\n\
Authorization: Digest username=\"alice\", realm=\"example.com\", nonce=\"6a1f0c2e9b7d4a53c1\", \
uri=\"sip:example.com\", response=\"9f1d0b6a2e3c4d5f6a7b8c9d0e1f2a3b\", algorithm=MD5, \
cnonce=\"x7k2m9\", qop=auth, nc=00000001\r\n\
Expires: 3600\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, MESSAGE, NOTIFY\r\n\
User-Agent: baresip v1.0.0 (x86_64/linux)\r\n\
Content-Length: 0\r\n\r\n";

const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK.Ue1Rw8kLz;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice\" <sip:alice@example.com>;tag=Lq7Dz2mJ\r\n\
To: <sip:bob@example.com>\r\n\
Call-ID: kP3x9v-Fq2@192.0.2.20\r\n\
CSeq: 20 INVITE\r\n\
Contact: <sip:alice@192.0.2.20:5060>\r\n\
Supported: replaces, timer, 100rel\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, MESSAGE, INFO, UPDATE\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 226\r\n\r\n\
v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.20\r\ns=-\r\n\
c=IN IP4 192.0.2.20\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\na=sendrecv\r\n";

const CHALLENGE: &str = "Digest realm=\"example.com\", \
nonce=\"0000019a2b3c4d5e6f70812345678901abcdef\", algorithm=MD5, qop=\"auth\"";

#[inline(never)]
fn op_parse(bytes: Bytes) -> Message {
    Message::parse(bytes).expect("valid")
}

#[inline(never)]
fn op_parse_register(bytes: Bytes) {
    black_box(Message::parse(bytes).expect("valid"));
}

#[inline(never)]
fn op_parse_invite(bytes: Bytes) {
    black_box(Message::parse(bytes).expect("valid"));
}

#[inline(never)]
fn op_top_via(h: &Headers) {
    black_box(h.top_via().expect("via"));
}

#[inline(never)]
fn op_from(h: &Headers) {
    black_box(h.from_addr().expect("from"));
}

#[inline(never)]
fn op_to(h: &Headers) {
    black_box(h.to_addr().expect("to"));
}

#[inline(never)]
fn op_call_id(h: &Headers) {
    black_box(h.call_id().expect("call-id"));
}

#[inline(never)]
fn op_cseq(h: &Headers) {
    black_box(h.cseq().expect("cseq"));
}

#[inline(never)]
fn op_contact(h: &Headers) {
    black_box(h.contacts().next().expect("contact").expect("valid"));
}

#[inline(never)]
fn op_validate(r: &Request) -> bool {
    validate_request(r).is_ok()
}

/// The 401 a registrar sends: the request's Via/From/To/Call-ID/CSeq, a
/// To-tag, a challenge, serialized.
#[inline(never)]
fn op_respond_401(r: &Request, tag: &Tag) {
    let mut response = Response::from_request(r, StatusCode::UNAUTHORIZED);
    response.set_to_tag(tag);
    response
        .headers
        .push(HeaderName::WwwAuthenticate, CHALLENGE);
    black_box(response.to_bytes());
}

/// The 200 a registrar sends: as the 401 plus the binding and Expires.
#[inline(never)]
fn op_respond_200(r: &Request, tag: &Tag) {
    let mut response = Response::from_request(r, StatusCode::OK);
    response.set_to_tag(tag);
    response.headers.push(
        HeaderName::Contact,
        "<sip:alice@192.0.2.20:5060;transport=udp>;expires=3600",
    );
    response.headers.push(HeaderName::Expires, "3600");
    black_box(response.to_bytes());
}

#[inline(never)]
fn op_encode(r: &Response) {
    black_box(r.to_bytes());
}

#[inline(never)]
fn op_display_via(v: &Via) {
    black_box(v.to_string());
}

#[inline(never)]
fn op_via_to_byte_str(v: &Via) {
    black_box(v.to_byte_str());
}

#[inline(never)]
fn op_name_addr_to_byte_str(a: &NameAddr) {
    black_box(a.to_byte_str());
}

#[inline(never)]
fn op_display_name_addr(a: &NameAddr) {
    black_box(a.to_string());
}

fn register_request() -> Request {
    match Message::parse(Bytes::from_static(REGISTER)).expect("valid") {
        Message::Request(r) => r,
        Message::Response(_) => unreachable!("a request"),
    }
}

fn parse(c: &mut Criterion) {
    let register = Bytes::from_static(REGISTER);
    c.bench_function("parse REGISTER with Authorization", |b| {
        b.iter(|| op_parse_register(black_box(register.clone())));
    });
    let m = op_parse(register.clone());
    let h = m.headers();
    c.bench_function("typed Via", |b| b.iter(|| op_top_via(black_box(h))));
    c.bench_function("typed From", |b| b.iter(|| op_from(black_box(h))));
    c.bench_function("typed To", |b| b.iter(|| op_to(black_box(h))));
    c.bench_function("typed Call-ID", |b| b.iter(|| op_call_id(black_box(h))));
    c.bench_function("typed CSeq", |b| b.iter(|| op_cseq(black_box(h))));
    c.bench_function("typed Contact", |b| b.iter(|| op_contact(black_box(h))));
    c.bench_function(
        "parse REGISTER + typed Via/From/To/Call-ID/CSeq/Contact",
        |b| {
            b.iter(|| {
                let m = Message::parse(black_box(register.clone())).expect("valid");
                let h = m.headers();
                (
                    h.top_via().expect("via"),
                    h.from_addr().expect("from"),
                    h.to_addr().expect("to"),
                    h.call_id().expect("call-id"),
                    h.cseq().expect("cseq"),
                    h.contacts().next().expect("contact").expect("valid"),
                )
            });
        },
    );
    let req = register_request();
    c.bench_function("validate REGISTER", |b| {
        b.iter(|| op_validate(black_box(&req)));
    });
    let invite = Bytes::from_static(INVITE);
    assert_eq!(op_parse(invite.clone()).body().len(), 226);
    c.bench_function("parse INVITE with SDP", |b| {
        b.iter(|| op_parse_invite(black_box(invite.clone())));
    });
}

fn serialize(c: &mut Criterion) {
    let req = register_request();
    let tag = Tag::from("a7c2e91f04b3d658");
    c.bench_function("build and serialize 401 to REGISTER", |b| {
        b.iter(|| op_respond_401(black_box(&req), &tag));
    });
    c.bench_function("build and serialize 200 to REGISTER", |b| {
        b.iter(|| op_respond_200(black_box(&req), &tag));
    });
    let mut ok = Response::from_request(&req, StatusCode::OK);
    ok.set_to_tag(&Tag::from("srv7a1"));
    ok.headers.push(
        HeaderName::Contact,
        "<sip:alice@192.0.2.20:5060;transport=udp>;expires=3600",
    );
    ok.headers.push(HeaderName::Expires, "3600");
    c.bench_function("serialize 200 OK to REGISTER", |b| {
        b.iter(|| op_encode(black_box(&ok)));
    });
    let via = req.headers.top_via().expect("via");
    c.bench_function("display Via", |b| {
        b.iter(|| op_display_via(black_box(&via)));
    });
    c.bench_function("Via to_byte_str", |b| {
        b.iter(|| op_via_to_byte_str(black_box(&via)));
    });
    let from = req.headers.from_addr().expect("from");
    c.bench_function("display From", |b| {
        b.iter(|| op_display_name_addr(black_box(&from)));
    });
    c.bench_function("From to_byte_str", |b| {
        b.iter(|| op_name_addr_to_byte_str(black_box(&from)));
    });
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
