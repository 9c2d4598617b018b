//! A full non-INVITE server transaction per iteration: inbound REGISTER → 200 OK
//! → Timer J expiry, over UDP, with an otherwise empty layer and with 100 000
//! other transactions live in Completed.

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use sb_sip_message::{Message, Peer, Response, StatusCode, Transport};
use sb_sip_transaction::{TimerConfig, TransactionLayer, TxEvent};

const REGISTER: &[u8] = b"REGISTER sip:example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Alice <sip:alice@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 1826 REGISTER\r\n\
Contact: <sip:alice@192.0.2.10:5060>;expires=3600\r\n\
User-Agent: bench\r\n\
Content-Length: 0\r\n\r\n";

fn peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        remote: "192.0.2.10:40000".parse().expect("address"),
        local: "192.0.2.1:5060".parse().expect("address"),
        flow: None,
    }
}

/// One transaction from request to Timer J; returns the time after it.
fn cycle(layer: &mut TransactionLayer, message: &Message, now: Instant) -> Instant {
    layer.handle_inbound(now, message.clone(), peer());
    let Some(TxEvent::Request { tx, request, .. }) = layer.poll_event() else {
        panic!("the REGISTER creates a transaction");
    };
    let mut ok = Response::from_request(&request, StatusCode::OK);
    ok.set_to_tag(&"a6c85cf".into());
    layer
        .send_response(now, tx, ok)
        .expect("Trying accepts a final response");
    black_box(layer.poll_transmit());
    let (at, _) = layer.poll_timeout().expect("Timer J runs");
    layer.handle_timeout(at);
    while let Some(event) = layer.poll_event() {
        black_box(event);
    }
    at + Duration::from_millis(1)
}

fn bench(c: &mut Criterion) {
    let message = Message::parse(Bytes::from_static(REGISTER)).expect("valid REGISTER");
    let start = Instant::now();

    c.bench_function("non_invite_server_full_cycle", |b| {
        let mut layer = TransactionLayer::new(TimerConfig::default(), 1);
        let mut now = start;
        b.iter(|| now = cycle(&mut layer, &message, now));
    });

    c.bench_function("non_invite_server_full_cycle_100k_live", |b| {
        let mut layer = TransactionLayer::new(TimerConfig::default(), 2);
        // 100 000 transactions in Completed whose Timer J is far in the future.
        let Message::Request(template) = message.clone() else {
            unreachable!("REGISTER is a request")
        };
        // Created 10 000 s later than the measured ones, so that their Timer J
        // runs out long after every measured transaction's.
        let background = start + Duration::from_secs(10_000);
        for i in 0..100_000u32 {
            let mut request = template.clone();
            let branch = format!("SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKbg{i}");
            request.headers.set(sb_sip_message::HeaderName::Via, branch);
            layer.handle_inbound(background, Message::Request(request), peer());
            let Some(TxEvent::Request { tx, request, .. }) = layer.poll_event() else {
                panic!("each background REGISTER creates a transaction");
            };
            let ok = Response::from_request(&request, StatusCode::OK);
            layer
                .send_response(background, tx, ok)
                .expect("final response");
            layer.poll_transmit();
        }
        assert_eq!(layer.stats().server_non_invite.completed, 100_000);
        let mut now = start;
        b.iter(|| {
            layer.handle_inbound(now, message.clone(), peer());
            let Some(TxEvent::Request { tx, request, .. }) = layer.poll_event() else {
                panic!("the REGISTER creates a transaction");
            };
            let ok = Response::from_request(&request, StatusCode::OK);
            layer.send_response(now, tx, ok).expect("final response");
            black_box(layer.poll_transmit());
            let (at, _) = layer.poll_timeout().expect("Timer J runs");
            layer.handle_timeout(at);
            while let Some(event) = layer.poll_event() {
                black_box(event);
            }
            now += Duration::from_nanos(1);
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
