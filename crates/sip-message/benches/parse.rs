//! Parse and serialize costs on the hot path: a REGISTER with Authorization,
//! an INVITE with SDP, and writing a 200 OK.

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sb_sip_message::{HeaderName, Message, Response, StatusCode, Tag};

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

fn parse(c: &mut Criterion) {
    let register = Bytes::from_static(REGISTER);
    c.bench_function("parse REGISTER with Authorization", |b| {
        b.iter(|| Message::parse(black_box(register.clone())).expect("valid"));
    });
    c.bench_function(
        "parse REGISTER + typed Via/From/To/Call-ID/CSeq/Contact",
        |b| {
            b.iter(|| {
                let m = Message::parse(black_box(register.clone())).expect("valid");
                let h = m.headers();
                let via = h.top_via().expect("via");
                let from = h.from_addr().expect("from");
                let to = h.to_addr().expect("to");
                let call_id = h.call_id().expect("call-id");
                let cseq = h.cseq().expect("cseq");
                let contact = h.contacts().next().expect("contact").expect("valid");
                (via, from, to, call_id, cseq, contact)
            });
        },
    );
    let invite = Bytes::from_static(INVITE);
    assert_eq!(
        Message::parse(invite.clone()).expect("valid").body().len(),
        226
    );
    c.bench_function("parse INVITE with SDP", |b| {
        b.iter(|| Message::parse(black_box(invite.clone())).expect("valid"));
    });
}

fn serialize(c: &mut Criterion) {
    let Message::Request(req) = Message::parse(Bytes::from_static(REGISTER)).expect("valid") else {
        unreachable!("a request")
    };
    let mut ok = Response::from_request(&req, StatusCode::OK);
    ok.set_to_tag(&Tag::from("srv7a1"));
    ok.headers.push(
        HeaderName::Contact,
        "<sip:alice@192.0.2.20:5060;transport=udp>;expires=3600",
    );
    ok.headers.push(HeaderName::Expires, "3600");
    c.bench_function("serialize 200 OK to REGISTER", |b| {
        b.iter(|| black_box(&ok).to_bytes());
    });
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
