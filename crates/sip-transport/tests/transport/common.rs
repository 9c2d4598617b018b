//! A recording handler and helpers shared by the tests.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use sb_sip_message::{Destination, FlowId, Peer, Transport};
use sb_sip_transport::{
    InboundHandler, ListenerConfig, TransportConfig, TransportError, Transports,
};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;

/// How long a test waits for an event that must come. Only a guard against a
/// hung test: every wait ends as soon as the event arrives.
pub(crate) const EVENT_WAIT: Duration = Duration::from_secs(10);

/// What the handler saw.
#[derive(Debug)]
pub(crate) enum Event {
    Message {
        payload: Bytes,
        peer: Peer,
    },
    Closed {
        flow: FlowId,
        peer: Peer,
    },
    SendFailed {
        dest: Destination,
        kind: io::ErrorKind,
    },
}

/// Forwards every callback to a channel.
pub(crate) struct Recorder {
    events: mpsc::UnboundedSender<Event>,
}

/// Start of a request that makes [`Recorder`] panic, as a handler bug would.
pub(crate) const PANIC_METHOD: &[u8] = b"PANIC ";

impl InboundHandler for Recorder {
    async fn on_message(&self, payload: Bytes, peer: Peer) {
        assert!(
            !payload.starts_with(PANIC_METHOD),
            "handler bug triggered on purpose"
        );
        let _ = self.events.send(Event::Message { payload, peer });
    }

    fn on_flow_closed(&self, flow: FlowId, peer: Peer) {
        let _ = self.events.send(Event::Closed { flow, peer });
    }

    fn on_send_failed(&self, dest: Destination, error: io::Error) {
        let _ = self.events.send(Event::SendFailed {
            dest,
            kind: error.kind(),
        });
    }
}

/// Running transports and the events of their handler.
pub(crate) struct Harness {
    pub(crate) transports: Transports,
    pub(crate) events: mpsc::UnboundedReceiver<Event>,
    pub(crate) handler: Arc<Recorder>,
}

impl Harness {
    /// Starts transports with `config`.
    pub(crate) async fn start(config: TransportConfig) -> Harness {
        Harness::try_start(config).await.expect("transports start")
    }

    /// Starts transports with `config`, which may fail.
    pub(crate) async fn try_start(config: TransportConfig) -> Result<Harness, TransportError> {
        let (tx, events) = mpsc::unbounded_channel();
        let handler = Arc::new(Recorder { events: tx });
        let transports = Transports::start(config, handler.clone()).await?;
        Ok(Harness {
            transports,
            events,
            handler,
        })
    }

    /// Starts transports listening on UDP and TCP, same port, on 127.0.0.1.
    pub(crate) async fn udp_and_tcp(adjust: impl FnOnce(&mut TransportConfig)) -> Harness {
        let mut config = TransportConfig::with_listeners(vec![
            ListenerConfig::udp(loopback(0)),
            ListenerConfig::tcp(loopback(0)),
        ]);
        adjust(&mut config);
        Harness::start(config).await
    }

    /// The bound address of the first listener of `transport`.
    pub(crate) fn addr(&self, transport: Transport) -> SocketAddr {
        self.transports
            .local_addrs()
            .into_iter()
            .find(|(t, _)| *t == transport)
            .map(|(_, addr)| addr)
            .expect("a listener of that transport")
    }

    /// The next event.
    pub(crate) async fn next(&mut self) -> Event {
        tokio::time::timeout(EVENT_WAIT, self.events.recv())
            .await
            .expect("an event within the wait")
            .expect("the handler is alive")
    }

    /// The next event, which must be a message.
    pub(crate) async fn message(&mut self) -> (Bytes, Peer) {
        match self.next().await {
            Event::Message { payload, peer } => (payload, peer),
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next event, which must be a flow closing.
    pub(crate) async fn closed(&mut self) -> (FlowId, Peer) {
        match self.next().await {
            Event::Closed { flow, peer } => (flow, peer),
            other => panic!("expected a closed flow, got {other:?}"),
        }
    }

    /// The next event, which must be a send failure.
    pub(crate) async fn send_failed(&mut self) -> (Destination, io::ErrorKind) {
        match self.next().await {
            Event::SendFailed { dest, kind } => (dest, kind),
            other => panic!("expected a send failure, got {other:?}"),
        }
    }

    /// No event is pending right now.
    pub(crate) fn assert_quiet(&mut self) {
        if let Ok(event) = self.events.try_recv() {
            panic!("unexpected event {event:?}");
        }
    }
}

/// `127.0.0.1:port`.
pub(crate) fn loopback(port: u16) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)
}

/// An OPTIONS request with `body`, correctly framed.
pub(crate) fn request(call_id: &str, body: &str) -> Vec<u8> {
    format!(
        "OPTIONS sip:bob@example.com SIP/2.0\r\n\
         Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{call_id}\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:bob@example.com>\r\n\
         From: <sip:alice@example.com>;tag=1928301774\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A request that makes [`Recorder`] panic.
pub(crate) fn panicking_request() -> Vec<u8> {
    let options = request("panic", "");
    [PANIC_METHOD, &options[b"OPTIONS ".len()..]].concat()
}

/// A 200 response to [`request`].
pub(crate) fn response(call_id: &str) -> Vec<u8> {
    format!(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{call_id}\r\n\
         To: <sip:bob@example.com>;tag=a6c85cf\r\n\
         From: <sip:alice@example.com>;tag=1928301774\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// A destination over TCP.
pub(crate) fn tcp_dest(remote: SocketAddr, flow: Option<FlowId>) -> Destination {
    Destination {
        transport: Transport::Tcp,
        remote,
        flow,
        local: None,
    }
}

/// Reads exactly `len` bytes.
pub(crate) async fn read_exact(stream: &mut TcpStream, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    tokio::time::timeout(EVENT_WAIT, stream.read_exact(&mut buf))
        .await
        .expect("data within the wait")
        .expect("read");
    buf
}

/// Waits until the other side closes `stream` (end of stream or reset),
/// failing if data arrives first.
pub(crate) async fn expect_eof(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(EVENT_WAIT, stream.read(&mut buf))
        .await
        .expect("close within the wait");
    match read {
        Ok(0) => {}
        Ok(n) => panic!("expected the connection to close, got {:?}", &buf[..n]),
        Err(error) => assert_eq!(error.kind(), io::ErrorKind::ConnectionReset),
    }
}
