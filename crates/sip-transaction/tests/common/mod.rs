//! Shared test scaffolding: peers, message builders and a virtual-time driver.

#![allow(dead_code, unreachable_pub)]

use std::time::{Duration, Instant};

use bytes::Bytes;
use sb_sip_message::{
    Destination, FlowId, Message, Peer, Request, Response, StatusCode, Tag, Transport,
};
use sb_sip_transaction::{TimerConfig, TransactionLayer, Transmit, TxEvent, TxId};

pub const SEED: u64 = 0x5eed;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn fast() -> TimerConfig {
    TimerConfig {
        t1: ms(100),
        ..TimerConfig::default()
    }
}

/// The phone at 192.0.2.10 as seen by the switch at 192.0.2.1.
pub fn peer(transport: Transport) -> Peer {
    Peer {
        transport,
        remote: "192.0.2.10:40000".parse().expect("address"),
        local: "192.0.2.1:5060".parse().expect("address"),
        flow: transport.is_reliable().then_some(FlowId(7)),
    }
}

/// Where the switch sends its own requests.
pub fn dest(transport: Transport) -> Destination {
    Destination {
        transport,
        remote: "198.51.100.20:5060".parse().expect("address"),
        flow: None,
        local: None,
    }
}

pub fn parse(text: &str) -> Message {
    Message::parse(Bytes::from(text.replace('\n', "\r\n"))).expect("test message parses")
}

pub fn parse_request(text: &str) -> Request {
    match parse(text) {
        Message::Request(r) => r,
        Message::Response(_) => panic!("expected a request"),
    }
}

/// A request from the phone. `via` is the whole top Via value; `to_tag` and
/// `cseq` vary per test.
pub fn request_with(method: &str, via: &str, cseq: u32, to_tag: Option<&str>) -> Request {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    parse_request(&format!(
        "{method} sip:bob@example.com SIP/2.0\n\
         Via: {via}\n\
         Max-Forwards: 70\n\
         To: Bob <sip:bob@example.com>{to_tag}\n\
         From: Alice <sip:alice@example.com>;tag=1928301774\n\
         Call-ID: a84b4c76e66710@192.0.2.10\n\
         CSeq: {cseq} {method}\n\
         Contact: <sip:alice@192.0.2.10:5060>\n\
         Content-Length: 0\n\n"
    ))
}

/// A request from the phone with an RFC 3261 branch.
pub fn request(method: &str, transport: Transport, branch: &str) -> Request {
    request_with(
        method,
        &format!(
            "SIP/2.0/{} 192.0.2.10:5060;branch={branch}",
            transport.as_str()
        ),
        1,
        None,
    )
}

/// A request the switch originates: its own Via with `branch`.
pub fn outgoing(method: &str, transport: Transport, branch: &str) -> Request {
    parse_request(&format!(
        "{method} sip:bob@198.51.100.20 SIP/2.0\n\
         Via: SIP/2.0/{} 192.0.2.1:5060;branch={branch}\n\
         Max-Forwards: 70\n\
         Route: <sip:edge.example.com;lr>\n\
         To: Bob <sip:bob@example.com>\n\
         From: Switch <sip:switch@example.com>;tag=55aa\n\
         Call-ID: 3848276298220188511@192.0.2.1\n\
         CSeq: 17 {method}\n\
         Contact: <sip:switch@192.0.2.1:5060>\n\
         Content-Length: 0\n\n",
        transport.as_str()
    ))
}

/// The response a peer sends to `request`, with a To tag for non-100 responses.
pub fn reply(request: &Request, status: u16) -> Response {
    let status = StatusCode::new(status).expect("valid status");
    let mut response = Response::from_request(request, status);
    if status != StatusCode::TRYING {
        response.set_to_tag(&Tag::from("a6c85cf"));
    }
    response
}

pub fn inbound(request: Request) -> Message {
    Message::Request(request)
}

/// Wraps a request or response as a [`Message`].
pub trait IntoMessage {
    fn into_message(self) -> Message;
}

impl IntoMessage for Response {
    fn into_message(self) -> Message {
        Message::Response(self)
    }
}

impl IntoMessage for Request {
    fn into_message(self) -> Message {
        Message::Request(self)
    }
}

/// The first line of a transmitted message.
pub fn first_line(t: &Transmit) -> String {
    let text = String::from_utf8_lossy(&t.payload);
    text.lines().next().unwrap_or_default().to_owned()
}

/// One output, stamped with the virtual time since the start of the scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant, reason = "test log, compared by value")]
pub enum Out {
    Sent(Duration, String),
    Event(Duration, TxEvent),
}

/// A layer driven in virtual time from `t0`.
pub struct Sim {
    pub layer: TransactionLayer,
    pub t0: Instant,
    pub now: Instant,
    pub log: Vec<Out>,
    pub transmits: Vec<(Duration, Transmit)>,
}

impl Sim {
    pub fn new(config: TimerConfig) -> Sim {
        let t0 = Instant::now();
        Sim {
            layer: TransactionLayer::new(config, SEED),
            t0,
            now: t0,
            log: Vec::new(),
            transmits: Vec::new(),
        }
    }

    pub fn at(&self, offset: Duration) -> Instant {
        self.t0 + offset
    }

    fn drain(&mut self) {
        let since = self.now - self.t0;
        while let Some(t) = self.layer.poll_transmit() {
            self.log.push(Out::Sent(since, first_line(&t)));
            self.transmits.push((since, t));
        }
        while let Some(e) = self.layer.poll_event() {
            self.log.push(Out::Event(since, e));
        }
    }

    /// Fires every timer due up to `offset` at its own deadline, then moves the clock there.
    pub fn run_until(&mut self, offset: Duration) {
        let end = self.t0 + offset;
        while let Some((at, _)) = self.layer.poll_timeout() {
            if at > end {
                break;
            }
            assert!(at >= self.now, "timers never go back in time");
            self.now = at;
            self.layer.handle_timeout(at);
            self.drain();
        }
        self.now = end;
    }

    /// Runs until no timer is left.
    pub fn run_to_end(&mut self) {
        self.run_until(Duration::from_secs(3600));
        assert_eq!(
            self.layer.poll_timeout(),
            None,
            "no timer left after an hour"
        );
    }

    pub fn inbound(&mut self, offset: Duration, message: Message, peer: Peer) {
        self.run_until(offset);
        self.layer.handle_inbound(self.now, message, peer);
        self.drain();
    }

    pub fn send_request(&mut self, offset: Duration, request: Request, dest: Destination) -> TxId {
        self.run_until(offset);
        let tx = self
            .layer
            .send_request(self.now, request, dest)
            .expect("request accepted");
        self.drain();
        tx
    }

    pub fn respond(&mut self, offset: Duration, tx: TxId, response: Response) {
        self.run_until(offset);
        self.layer
            .send_response(self.now, tx, response)
            .expect("response accepted");
        self.drain();
    }

    pub fn transport_error(&mut self, offset: Duration, dest: Destination) {
        self.run_until(offset);
        self.layer.transport_error(self.now, &dest);
        self.drain();
    }

    /// Times at which something was sent.
    pub fn send_times(&self) -> Vec<Duration> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Out::Sent(t, _) => Some(*t),
                Out::Event(..) => None,
            })
            .collect()
    }

    /// Events with their times.
    pub fn events(&self) -> Vec<(Duration, TxEvent)> {
        self.log
            .iter()
            .filter_map(|o| match o {
                Out::Event(t, e) => Some((*t, e.clone())),
                Out::Sent(..) => None,
            })
            .collect()
    }

    /// Takes the log so far.
    pub fn take_log(&mut self) -> Vec<Out> {
        self.transmits.clear();
        std::mem::take(&mut self.log)
    }

    /// The server transaction created by the last `Request` event.
    pub fn last_server_tx(&self) -> (TxId, Request) {
        self.log
            .iter()
            .rev()
            .find_map(|o| match o {
                Out::Event(_, TxEvent::Request { tx, request, .. }) => Some((*tx, request.clone())),
                _ => None,
            })
            .expect("a request created a server transaction")
    }
}
