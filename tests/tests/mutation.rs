//! A bounded mutation run against the running server: tens of thousands of
//! malformed SIP messages, made from valid ones by a seeded mutator, over UDP
//! and TCP, with a liveness check every few hundred messages (an OPTIONS from
//! another socket must be answered). Zero crashes, zero hangs, and the
//! malformed input shows in `/metrics`.

#![allow(
    clippy::print_stderr,
    reason = "the run's figures, shown with --nocapture"
)]

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use sb_e2e::Server;
use sb_e2e::http::Api;

/// Messages sent over UDP, and over TCP.
const UDP_MESSAGES: usize = 24_000;
const TCP_MESSAGES: usize = 8_000;
/// A liveness check after every this many messages.
const CHECK_EVERY: usize = 300;
/// How long the server may take to answer a liveness OPTIONS.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

const SEEDS: &[&str] = &[
    "REGISTER sip:example.test SIP/2.0\r\n\
     Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-reg1;rport\r\n\
     Max-Forwards: 70\r\n\
     From: \"Alice\" <sip:alice@example.test>;tag=a1\r\n\
     To: <sip:alice@example.test>\r\n\
     Call-ID: reg-1@127.0.0.1\r\n\
     CSeq: 1 REGISTER\r\n\
     Contact: <sip:alice@127.0.0.1:5099;transport=udp>;expires=3600;+sip.instance=\"<urn:uuid:00000000-0000-0000-0000-000000000001>\"\r\n\
     Authorization: Digest username=\"alice\", realm=\"example.test\", nonce=\"abc\", uri=\"sip:example.test\", response=\"0123456789abcdef0123456789abcdef\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"x\"\r\n\
     Expires: 3600\r\n\
     Content-Length: 0\r\n\r\n",
    "INVITE sip:1002@example.test SIP/2.0\r\n\
     Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-inv1;rport\r\n\
     Max-Forwards: 70\r\n\
     From: <sip:alice@example.test>;tag=a2\r\n\
     To: <sip:1002@example.test>\r\n\
     Call-ID: inv-1@127.0.0.1\r\n\
     CSeq: 1 INVITE\r\n\
     Contact: <sip:alice@127.0.0.1:5099>\r\n\
     Record-Route: <sip:127.0.0.1:5098;lr>, <sip:127.0.0.1:5097;lr>\r\n\
     Content-Type: application/sdp\r\n\
     Content-Length: 129\r\n\r\n\
     v=0\r\n\
     o=- 1 1 IN IP4 127.0.0.1\r\n\
     s=-\r\n\
     c=IN IP4 127.0.0.1\r\n\
     t=0 0\r\n\
     m=audio 40000 RTP/AVP 0 101\r\n\
     a=rtpmap:101 telephone-event/8000\r\n\
     a=sendrecv\r\n",
    "BYE sip:bob@127.0.0.1:5090 SIP/2.0\r\n\
     Via: SIP/2.0/TCP 127.0.0.1:5099;branch=z9hG4bK-bye1\r\n\
     Max-Forwards: 70\r\n\
     From: <sip:alice@example.test>;tag=a3\r\n\
     To: <sip:bob@example.test>;tag=b3\r\n\
     Call-ID: bye-1@127.0.0.1\r\n\
     CSeq: 2 BYE\r\n\
     Route: <sip:127.0.0.1;lr>\r\n\
     Content-Length: 0\r\n\r\n",
    "SIP/2.0 200 OK\r\n\
     Via: SIP/2.0/UDP 127.0.0.1:5099;branch=z9hG4bK-resp1;received=127.0.0.1;rport=5099\r\n\
     From: <sip:alice@example.test>;tag=a4\r\n\
     To: <sip:bob@example.test>;tag=b4\r\n\
     Call-ID: resp-1@127.0.0.1\r\n\
     CSeq: 1 INVITE\r\n\
     Contact: <sip:bob@127.0.0.1:5090>\r\n\
     Content-Length: 0\r\n\r\n",
    "SUBSCRIBE sip:alice@example.test SIP/2.0\r\n\
     Via: SIP/2.0/UDP [2001:db8::1]:5099;branch=z9hG4bK-sub1\r\n\
     Max-Forwards: 70\r\n\
     From: <sip:bob@example.test>;tag=s1\r\n\
     To: <sip:alice@example.test>\r\n\
     Call-ID: sub-1@127.0.0.1\r\n\
     CSeq: 1 SUBSCRIBE\r\n\
     Event: presence\r\n\
     Accept: application/pidf+xml\r\n\
     Expires: 600\r\n\
     Content-Length: 0\r\n\r\n",
];

/// xorshift64*: a fixed seed gives the same run every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Values that break parsers: extremes, separators, encodings.
const NASTY: &[&[u8]] = &[
    b"\0",
    b"\r",
    b"\n",
    b"\r\n\r\n",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b"\"",
    b"\\",
    b"%",
    b"%00",
    b"%zz",
    b"[",
    b"]",
    b"@",
    b" ",
    b"\t",
    b"\xff\xfe",
    b"\xc3\x28",
    b"99999999999999999999",
    b"-1",
    b"4294967296",
    b"0",
    b"Content-Length: 99999\r\n",
    b"Content-Length: -5\r\n",
    b"Via: SIP/2.0/UDP\r\n",
    b"Via: ,,,,,\r\n",
    b"CSeq: 1 BYE\r\n",
    b"Call-ID: \r\n",
    b"sips:",
    b"tel:+",
    b";branch=",
    b";tag=",
    b"SIP/3.0",
];

/// One malformed (or, by chance, still valid) message.
fn mutate(rng: &mut Rng) -> Vec<u8> {
    let mut m = SEEDS[rng.below(SEEDS.len())].as_bytes().to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(m.len() + 1);
        match rng.below(10) {
            0 => {
                // Flip bits.
                if at < m.len() {
                    m[at] ^= 1 << rng.below(8);
                }
            }
            1 => {
                // Delete a run.
                let end = (at + rng.below(40)).min(m.len());
                m.drain(at..end);
            }
            2 => {
                // Insert something nasty.
                let nasty = NASTY[rng.below(NASTY.len())];
                m.splice(at..at, nasty.iter().copied());
            }
            3 => {
                // Truncate.
                m.truncate(at);
            }
            4 => {
                // Repeat a run many times (long values, many headers).
                let end = (at + 1 + rng.below(60)).min(m.len());
                let run = m[at.min(end)..end].to_vec();
                let times = 1 + rng.below(400);
                for _ in 0..times {
                    m.splice(at..at, run.iter().copied());
                }
            }
            5 => {
                // Swap two lines.
                let text = m.clone();
                let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
                if lines.len() > 2 {
                    let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
                    lines.swap(i, j);
                }
                m = lines.join(&b'\n');
            }
            6 => {
                // A random byte.
                if at < m.len() {
                    m[at] = rng.next() as u8;
                }
            }
            7 => {
                // Line ends: bare LF, bare CR.
                let to = if rng.below(2) == 0 { b'\n' } else { b'\r' };
                if let Some(p) = m.iter().position(|&b| b == b'\r') {
                    m[p] = to;
                }
            }
            8 => {
                // A number made huge.
                if let Some(p) = m[at.min(m.len())..].iter().position(u8::is_ascii_digit) {
                    let p = at + p;
                    m.splice(p..p, b"18446744073709551616".iter().copied());
                }
            }
            _ => {
                // Case games with the header names.
                if at < m.len() {
                    m[at] = m[at].to_ascii_lowercase();
                }
            }
        }
    }
    m
}

/// An OPTIONS from `socket` to the server; `true` when something answers
/// within the wait.
fn alive(socket: &UdpSocket, server: SocketAddr, n: usize) -> bool {
    let local = socket.local_addr().expect("local address");
    let options = format!(
        "OPTIONS sip:example.test SIP/2.0\r\n\
         Via: SIP/2.0/UDP {local};branch=z9hG4bK-alive{n};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@example.test>;tag=p{n}\r\n\
         To: <sip:example.test>\r\n\
         Call-ID: alive-{n}@127.0.0.1\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    );
    socket
        .send_to(options.as_bytes(), server)
        .expect("send OPTIONS");
    let mut buf = [0u8; 4096];
    let branch = format!("z9hG4bK-alive{n}");
    loop {
        match socket.recv_from(&mut buf) {
            Ok((len, _)) => {
                let text = String::from_utf8_lossy(&buf[..len]);
                if text.starts_with("SIP/2.0 ") && text.contains(&branch) {
                    return true;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false;
            }
            Err(e) => panic!("liveness socket: {e}"),
        }
    }
}

/// The value of a `/metrics` line (`name` with its labels, if any).
fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
}

#[test]
fn tens_of_thousands_of_malformed_messages_over_udp_and_tcp_crash_and_hang_nothing() {
    // The mutator's address is far over any flood limit: exempt, so that
    // every message reaches the parser.
    let server = Server::start("", "[security]\nexempt = [\"127.0.0.1\"]\n");
    let target = server.sip;
    let probe = UdpSocket::bind("127.0.0.2:0").expect("probe socket");
    probe
        .set_read_timeout(Some(ANSWER_WAIT))
        .expect("read timeout");
    assert!(alive(&probe, target, 0), "answers before the run");

    let mut rng = Rng(0x5EED_0F51_71CB_0A17);
    let udp = UdpSocket::bind("127.0.0.1:0").expect("mutator socket");
    udp.set_nonblocking(true).expect("non-blocking");
    let mut sink = [0u8; 65_536];
    for n in 1..=UDP_MESSAGES {
        let message = mutate(&mut rng);
        // Too large for a datagram is fine: the send fails, nothing is sent.
        let _ = udp.send_to(&message, target);
        // Answers (400s) are not read by anyone else: drop them.
        while udp.recv_from(&mut sink).is_ok() {}
        if n % CHECK_EVERY == 0 {
            assert!(alive(&probe, target, n), "no answer after {n} UDP messages");
        }
    }

    // TCP: one connection until the server closes it (a stream it cannot
    // frame is closed), then a new one.
    let mut stream: Option<TcpStream> = None;
    let mut connections = 0;
    for n in 1..=TCP_MESSAGES {
        let message = mutate(&mut rng);
        let s = stream.get_or_insert_with(|| {
            connections += 1;
            let s = TcpStream::connect(target).expect("connect");
            s.set_nonblocking(true).expect("non-blocking");
            s
        });
        let mut written = 0;
        let mut closed = false;
        while written < message.len() {
            match s.write(&message[written..]) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(k) => written += k,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    // The server reads per message; drain its answers and retry.
                    match s.read(&mut sink) {
                        Ok(0) => {
                            closed = true;
                            break;
                        }
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            std::thread::yield_now();
                        }
                        Err(_) => {
                            closed = true;
                            break;
                        }
                    }
                }
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        loop {
            match s.read(&mut sink) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        if closed {
            stream = None;
        }
        if n % CHECK_EVERY == 0 {
            assert!(
                alive(&probe, target, UDP_MESSAGES + n),
                "no answer after {n} TCP messages"
            );
        }
    }
    drop(stream);
    assert!(connections > 1, "the server closed no unframeable stream");

    let api = Api::new(server.http.as_deref().expect("HTTP served"));
    let metrics = api.get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    let malformed = metric(&text, "switchboard_malformed_total");
    eprintln!(
        "{UDP_MESSAGES} UDP and {TCP_MESSAGES} TCP messages over {connections} connections: \
         {malformed} counted malformed"
    );
    assert!(malformed > 1_000, "{text}");
    // Every stream the server closed shows in the transport counters, by reason.
    let drops = |reason: &str| {
        metric(
            &text,
            &format!("switchboard_sip_transport_drops_total{{reason=\"{reason}\"}}"),
        )
    };
    let closed = drops("stream_framing_errors") + drops("stream_oversize");
    assert!(
        closed + 1 >= connections as u64,
        "{connections} connections:\n{text}"
    );
    let accepted = metric(
        &text,
        "switchboard_sip_transport_traffic_total{kind=\"flows_accepted\"}",
    );
    assert!(accepted >= connections as u64, "{text}");
    assert!(alive(&probe, target, usize::MAX), "answers after the run");
    let status = server.stop();
    assert!(status.success(), "clean exit after the run: {status:?}");
}
