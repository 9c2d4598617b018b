//! Stream framing (RFC 3261 §18.3) and CRLF keep-alives (RFC 5626 §3.5.1).

use bytes::Bytes;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use sb_sip_message::{Frame, Message, ParseError, StreamFramer};

fn message(call_id: &str, body: &str) -> Vec<u8> {
    format!(
        "MESSAGE sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{call_id}\r\n\
         To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\n\
         Call-ID: {call_id}\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Every frame available now.
fn drain(framer: &mut StreamFramer) -> Vec<Frame> {
    let mut frames = Vec::new();
    while let Some(frame) = framer.next_frame().expect("valid stream") {
        frames.push(frame);
    }
    frames
}

#[test]
fn two_messages_in_one_read() {
    let a = message("a1", "hello");
    let b = message("b2", "");
    let mut framer = StreamFramer::new(4096);
    framer.push(&[a.clone(), b.clone()].concat());
    assert_eq!(
        drain(&mut framer),
        [
            Frame::Message(Bytes::from(a)),
            Frame::Message(Bytes::from(b))
        ]
    );
    assert_eq!(framer.buffered(), 0);
}

#[test]
fn one_message_over_many_reads() {
    let a = message("c3", "a body with \r\n\r\n inside");
    let mut framer = StreamFramer::new(4096);
    for (i, byte) in a.iter().enumerate() {
        framer.push(&[*byte]);
        let frames = drain(&mut framer);
        if i + 1 < a.len() {
            assert!(frames.is_empty(), "frame after {} bytes", i + 1);
        } else {
            assert_eq!(frames, [Frame::Message(Bytes::from(a.clone()))]);
        }
    }
    let parsed = Message::parse(Bytes::from(a)).unwrap();
    assert_eq!(&parsed.body()[..], b"a body with \r\n\r\n inside");
}

#[test]
fn keepalives() {
    let a = message("d4", "x");
    let mut framer = StreamFramer::new(4096);
    // A ping before a message, a pong between two messages.
    framer.push(&[&b"\r\n\r\n"[..], &a, b"\r\n", &a].concat());
    assert_eq!(
        drain(&mut framer),
        [
            Frame::Ping,
            Frame::Message(Bytes::from(a.clone())),
            Frame::Pong,
            Frame::Message(Bytes::from(a))
        ]
    );
    // A lone pong is reported without waiting for more bytes.
    framer.push(b"\r\n");
    assert_eq!(drain(&mut framer), [Frame::Pong]);
    // Half a ping waits.
    framer.push(b"\r\n\r");
    assert_eq!(drain(&mut framer), []);
    framer.push(b"\n");
    assert_eq!(drain(&mut framer), [Frame::Ping]);
    // Two pings back to back.
    framer.push(b"\r\n\r\n\r\n\r\n");
    assert_eq!(drain(&mut framer), [Frame::Ping, Frame::Ping]);
}

#[test]
fn missing_content_length_is_an_error() {
    let mut framer = StreamFramer::new(4096);
    framer.push(b"OPTIONS sip:example.com SIP/2.0\r\nCall-ID: x\r\n\r\n");
    assert_eq!(
        framer.next_frame(),
        Err(ParseError::MissingHeader("Content-Length"))
    );
    let mut framer = StreamFramer::new(4096);
    framer.push(b"OPTIONS sip:example.com SIP/2.0\r\nl: 1\r\nContent-Length: 2\r\n\r\n");
    assert!(matches!(
        framer.next_frame(),
        Err(ParseError::Header { .. })
    ));
    let mut framer = StreamFramer::new(4096);
    framer.push(b"OPTIONS sip:example.com SIP/2.0\r\nl: -1\r\n\r\n");
    assert!(matches!(
        framer.next_frame(),
        Err(ParseError::Header { .. })
    ));
}

#[test]
fn size_limits() {
    // A header section that never ends.
    let mut framer = StreamFramer::new(100);
    framer.push(&[b'A'; 100]);
    assert_eq!(framer.next_frame(), Ok(None));
    framer.push(b"A");
    assert_eq!(
        framer.next_frame(),
        Err(ParseError::TooLarge {
            size: 101,
            limit: 100
        })
    );
    // A declared body that would exceed the limit is refused before it arrives.
    let mut framer = StreamFramer::new(200);
    framer.push(b"OPTIONS sip:example.com SIP/2.0\r\nContent-Length: 1000000\r\n\r\n");
    assert!(matches!(
        framer.next_frame(),
        Err(ParseError::TooLarge { limit: 200, .. })
    ));
    // Exactly at the limit is fine.
    let a = message("e5", "z");
    let mut framer = StreamFramer::new(a.len());
    framer.push(&a);
    assert_eq!(drain(&mut framer), [Frame::Message(Bytes::from(a))]);
}

#[test]
fn lf_only_and_folded_length() {
    let text = b"OPTIONS sip:example.com SIP/2.0\nContent-Length:\n  3\n\nabcREST";
    let mut framer = StreamFramer::new(4096);
    framer.push(text);
    let Some(Frame::Message(raw)) = framer.next_frame().unwrap() else {
        panic!("no frame")
    };
    assert!(raw.ends_with(b"\n\nabc"));
    assert_eq!(&Message::parse(raw).unwrap().body()[..], b"abc");
    assert_eq!(framer.buffered(), 4);
}

/// A stream of messages and pings, cut at arbitrary places.
fn stream_and_cuts() -> impl Strategy<Value = (Vec<Option<String>>, Vec<usize>)> {
    let item = prop_oneof![
        3 => "[a-z ]{0,40}".prop_map(Some),
        1 => Just(None),
    ];
    (
        prop::collection::vec(item, 1..8),
        prop::collection::vec(1usize..64, 0..40),
    )
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x5151_0001),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_chunking_yields_the_same_messages((items, cuts) in stream_and_cuts()) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        let mut pings = 0;
        for (i, item) in items.iter().enumerate() {
            match item {
                Some(body) => {
                    let m = message(&format!("id{i}"), body);
                    stream.extend_from_slice(&m);
                    expected.push(Bytes::from(m));
                }
                None => {
                    stream.extend_from_slice(b"\r\n\r\n");
                    pings += 1;
                }
            }
        }
        let mut framer = StreamFramer::new(8192);
        let mut frames = Vec::new();
        let mut rest = &stream[..];
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let n = cut.next().copied().unwrap_or(rest.len()).min(rest.len());
            framer.push(&rest[..n]);
            rest = &rest[n..];
            frames.extend(drain(&mut framer));
        }
        let messages: Vec<Bytes> = frames
            .iter()
            .filter_map(|f| match f {
                Frame::Message(m) => Some(m.clone()),
                _ => None,
            })
            .collect();
        prop_assert_eq!(&messages, &expected);
        // A ping cut after its first CRLF shows as two pongs; no keep-alive
        // byte is lost or taken for a message.
        let crlf_pairs: usize = frames
            .iter()
            .map(|f| match f {
                Frame::Ping => 2,
                Frame::Pong => 1,
                Frame::Message(_) => 0,
            })
            .sum();
        prop_assert_eq!(crlf_pairs, pings * 2);
        prop_assert_eq!(framer.buffered(), 0);
        for m in messages {
            prop_assert!(Message::parse(m).is_ok());
        }
    }
}
