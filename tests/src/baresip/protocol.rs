//! What baresip says: ctrl_tcp messages (netstring-framed JSON responses
//! and events) and the lines it prints (readiness, end-of-call RTP counters,
//! `audio_debug` and `reginfo` output).

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use serde_json::Value;

/// A baresip event kind (the `type` of a ctrl_tcp event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// An incoming call is alerting.
    CallIncoming,
    /// The callee is ringing (180).
    CallRinging,
    /// Early media (183).
    CallProgress,
    /// The call is answered.
    CallEstablished,
    /// The call ended; the event's `param` holds the reason (e.g. `486 Busy Here`).
    CallClosed,
    /// A registration succeeded.
    RegisterOk,
    /// A registration failed.
    RegisterFail,
    /// A DTMF digit began (RFC 4733 event or SIP INFO); the event's `param`
    /// is the digit.
    DtmfStart,
    /// The DTMF digit ended.
    DtmfEnd,
    /// Any other event type, as baresip names it.
    Other(String),
}

impl EventKind {
    fn parse(s: &str) -> EventKind {
        match s {
            "CALL_INCOMING" => EventKind::CallIncoming,
            "CALL_RINGING" => EventKind::CallRinging,
            "CALL_PROGRESS" => EventKind::CallProgress,
            "CALL_ESTABLISHED" => EventKind::CallEstablished,
            "CALL_CLOSED" => EventKind::CallClosed,
            "REGISTER_OK" => EventKind::RegisterOk,
            "REGISTER_FAIL" => EventKind::RegisterFail,
            "CALL_DTMF_START" => EventKind::DtmfStart,
            "CALL_DTMF_END" => EventKind::DtmfEnd,
            other => EventKind::Other(other.to_owned()),
        }
    }
}

/// One ctrl_tcp event.
#[derive(Debug, Clone)]
pub struct Event {
    /// The event type.
    pub kind: EventKind,
    /// The call's id (baresip uses the SIP Call-ID), for call events.
    pub call_id: Option<String>,
    /// The event parameter (for `CALL_CLOSED`: the reason or final status).
    pub param: String,
    /// The remote party's URI.
    pub peer_uri: Option<String>,
    /// When the event was read.
    pub at: Instant,
}

/// RTP packets counted by a phone for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpCounters {
    /// Packets sent.
    pub sent: u64,
    /// Packets received.
    pub received: u64,
}

#[derive(Debug)]
pub(super) enum CtrlMessage {
    Event(Event),
    Response {
        token: String,
        ok: bool,
        data: String,
    },
}

/// Copies a baresip output stream into `log`; on stdout it also reports
/// readiness (`true` at "baresip is ready.", `false` at end of output) and
/// end-of-call RTP summaries.
pub(super) fn spawn_output_reader(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    ready: Option<mpsc::Sender<bool>>,
    summaries: Option<mpsc::Sender<RtpCounters>>,
) {
    std::thread::spawn(move || {
        let mut summary = SummaryBlock::default();
        let mut reader = BufReader::new(stream);
        let mut raw = Vec::new();
        loop {
            raw.clear();
            match reader.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\r', '\n']);
            {
                let mut log = log.lock().expect("log lock");
                log.push_str(line);
                log.push('\n');
            }
            if line.contains("baresip is ready.")
                && let Some(tx) = &ready
            {
                let _ = tx.send(true);
            }
            if let (Some(counters), Some(tx)) = (summary.feed(line), &summaries) {
                let _ = tx.send(counters);
            }
        }
        if let Some(tx) = &ready {
            let _ = tx.send(false);
        }
    });
}

/// Finds the end-of-call RTP block baresip prints with `rtp_stats yes`:
///
/// ```text
/// audio           Transmit:     Receive:
/// packets:            226          226
/// ```
#[derive(Debug, Default)]
struct SummaryBlock {
    after_header: bool,
}

impl SummaryBlock {
    /// Feeds one output line; returns the counters at the `packets:` line.
    fn feed(&mut self, line: &str) -> Option<RtpCounters> {
        let line = line.trim_start_matches(['\r', ' ']);
        if line.starts_with("audio") && line.contains("Transmit:") && line.contains("Receive:") {
            self.after_header = true;
            return None;
        }
        if !std::mem::take(&mut self.after_header) {
            return None;
        }
        let mut n = line
            .strip_prefix("packets:")?
            .split_whitespace()
            .map(str::parse::<u64>);
        match (n.next(), n.next()) {
            (Some(Ok(sent)), Some(Ok(received))) => Some(RtpCounters { sent, received }),
            _ => None,
        }
    }
}

/// Reads netstring-framed JSON (`LEN:{...},`) from the control socket.
pub(super) fn read_control(mut stream: TcpStream, tx: &mpsc::Sender<CtrlMessage>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        while let Some((body, used)) = netstring(&buf) {
            if let Some(msg) = parse_message(body)
                && tx.send(msg).is_err()
            {
                return;
            }
            buf.drain(..used);
        }
    }
}

/// One complete netstring at the start of `buf`: its body and total length.
fn netstring(buf: &[u8]) -> Option<(&[u8], usize)> {
    let colon = buf.iter().position(|&b| b == b':')?;
    let len: usize = std::str::from_utf8(&buf[..colon]).ok()?.parse().ok()?;
    let end = colon + 1 + len;
    (buf.len() > end).then(|| (&buf[colon + 1..end], end + 1))
}

fn parse_message(body: &[u8]) -> Option<CtrlMessage> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    if v.get("event").and_then(Value::as_bool) == Some(true) {
        return Some(CtrlMessage::Event(Event {
            kind: EventKind::parse(&text("type")?),
            call_id: text("id"),
            param: text("param").unwrap_or_default(),
            peer_uri: text("peeruri"),
            at: Instant::now(),
        }));
    }
    Some(CtrlMessage::Response {
        token: text("token")?,
        ok: v.get("ok").and_then(Value::as_bool).unwrap_or(false),
        data: text("data").unwrap_or_default(),
    })
}

/// RTP sent (`TX: packets=N`) and received (`rcvd=N` summed over the remote
/// members) from the `audio_debug` output.
pub(super) fn parse_audio_debug(text: &str) -> Option<RtpCounters> {
    let number_after = |s: &str, key: &str| -> Option<u64> {
        let rest = &s[s.find(key)? + key.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    let sent = number_after(text, "TX: packets=")?;
    let received = text.lines().filter_map(|l| number_after(l, " rcvd=")).sum();
    Some(RtpCounters { sent, received })
}

/// A SIP message baresip printed (`baresip -s`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedSip {
    /// `UDP`, `TCP`, …
    pub transport: String,
    /// Where it came from.
    pub source: SocketAddr,
    /// Where it went.
    pub destination: SocketAddr,
    /// The request or status line.
    pub start_line: String,
    /// The body (SDP, say), lines joined with CRLF; empty without one.
    pub body: String,
}

/// The SIP messages in baresip's output. Each is printed as
///
/// ```text
/// ESC[36;1m#
/// UDP 127.0.0.1:5060 -> 127.0.0.1:5062
/// INVITE sip:b@127.0.0.1 SIP/2.0
/// …headers, an empty line, the body…
/// ESC[;m
/// ```
pub(super) fn traced_sip(log: &str) -> Vec<TracedSip> {
    let mut out = Vec::new();
    let mut lines = log.lines();
    while let Some(line) = lines.next() {
        if strip_ansi(line).trim() != "#" {
            continue;
        }
        let Some(route) = lines.next() else { break };
        let mut words = route.split_whitespace();
        let (Some(transport), Some(source), Some("->"), Some(destination)) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            continue;
        };
        let (Ok(source), Ok(destination)) = (source.parse(), destination.parse()) else {
            continue;
        };
        let mut message: Vec<&str> = Vec::new();
        for l in lines.by_ref() {
            if l.starts_with("\u{1b}[;m") {
                break;
            }
            message.push(l.trim_end_matches('\r'));
        }
        let Some((&start_line, rest)) = message.split_first() else {
            continue;
        };
        let body = rest
            .iter()
            .position(|l| l.is_empty())
            .map(|blank| rest[blank + 1..].join("\r\n"))
            .unwrap_or_default();
        out.push(TracedSip {
            transport: transport.to_owned(),
            source,
            destination,
            start_line: start_line.to_owned(),
            body: body.trim_end().to_owned(),
        });
    }
    out
}

pub(super) fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netstrings_are_framed_and_incomplete_ones_wait() {
        let buf = b"11:{\"a\":\"b:c\"},5:{\"x\"";
        let (body, used) = netstring(buf).unwrap();
        assert_eq!(body, b"{\"a\":\"b:c\"}");
        assert!(netstring(&buf[used..]).is_none());
    }

    #[test]
    fn audio_debug_counters_are_read() {
        let text = "RTP debug:\n Encode: seq=10843 ssrc=0x7bc34911\n----- RTCP Session: -----\n  \
                    member 0xd79cb9f2: lost=0 Jitter=1.8ms RTT=0.0ms\n                 \
                    IP=127.0.0.1:47366 psent=250 rcvd=371\n  TX: packets=376, octets=60160\n";
        assert_eq!(
            parse_audio_debug(text),
            Some(RtpCounters {
                sent: 376,
                received: 371
            })
        );
        assert_eq!(parse_audio_debug("\n--- Audio stream ---\n"), None);
    }

    #[test]
    fn the_end_of_call_block_gives_the_counters() {
        let mut block = SummaryBlock::default();
        let out = "sip:a@127.0.0.1: Call with sip:b@127.0.0.1:31160 terminated (duration: 4 secs)\n\n\
                   audio           Transmit:     Receive:\n\
                   packets:            226          224\n\
                   avg. bitrate:      64.1         64.1  (kbit/s)\n\
                   packets: 1 2\n";
        let found: Vec<RtpCounters> = out.lines().filter_map(|l| block.feed(l)).collect();
        assert_eq!(
            found,
            [RtpCounters {
                sent: 226,
                received: 224
            }]
        );
    }

    #[test]
    fn traced_sip_messages_are_found_with_their_bodies() {
        let log = "call: connecting to 'sip:b@127.0.0.1:5062'..\n\
                   \u{1b}[36;1m#\n\
                   UDP 127.0.0.1:5060 -> 127.0.0.1:5062\n\
                   INVITE sip:b@127.0.0.1:5062 SIP/2.0\r\n\
                   Content-Type: application/sdp\r\n\
                   \r\n\
                   v=0\r\n\
                   m=audio 10002 RTP/AVP 0\r\n\
                   \u{1b}[;m\n\
                   call: SIP Progress: 180 Ringing\n\
                   \u{1b}[36;1m#\n\
                   UDP 127.0.0.1:5062 -> 127.0.0.1:5060\n\
                   SIP/2.0 180 Ringing\r\n\
                   Content-Length: 0\r\n\
                   \r\n\
                   \u{1b}[;m\n";
        let m = traced_sip(log);
        assert_eq!(m.len(), 2, "{m:?}");
        assert_eq!(m[0].transport, "UDP");
        assert_eq!(m[0].source, "127.0.0.1:5060".parse().unwrap());
        assert_eq!(m[0].destination, "127.0.0.1:5062".parse().unwrap());
        assert_eq!(m[0].start_line, "INVITE sip:b@127.0.0.1:5062 SIP/2.0");
        assert_eq!(m[0].body, "v=0\r\nm=audio 10002 RTP/AVP 0");
        assert_eq!(m[1].start_line, "SIP/2.0 180 Ringing");
        assert_eq!(m[1].body, "");
        assert!(traced_sip("#\nnot a route line\n").is_empty());
    }

    #[test]
    fn dtmf_events_carry_their_digit() {
        let body =
            br##"{"event":true,"type":"CALL_DTMF_START","class":"call","id":"c1","param":"#"}"##;
        let Some(CtrlMessage::Event(e)) = parse_message(body) else {
            panic!("an event");
        };
        assert_eq!((e.kind, e.param.as_str()), (EventKind::DtmfStart, "#"));
        let end = br#"{"event":true,"type":"CALL_DTMF_END","class":"call","id":"c1"}"#;
        let Some(CtrlMessage::Event(e)) = parse_message(end) else {
            panic!("an event");
        };
        assert_eq!((e.kind, e.param.as_str()), (EventKind::DtmfEnd, ""));
    }

    #[test]
    fn reginfo_colours_are_stripped() {
        let s = "> sip:a@example.test \u{1b}[32mOK \u{1b}[;m Switchboard/0.1.0";
        assert_eq!(strip_ansi(s), "> sip:a@example.test OK  Switchboard/0.1.0");
    }
}
