//! Via header values (RFC 3261 §20.42, §18.2.1; RFC 3581).

use std::fmt;
use std::net::IpAddr;

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::ids::Branch;
use crate::params::Params;
use crate::transport::Transport;
use crate::uri::Host;
use crate::write::{TextSink, WriteSip, build_byte_str, display, push_ipv4, push_ipv6, push_u32};

/// One Via value: `SIP/2.0/UDP host:port;branch=z9hG4bK…;rport;received=…`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Protocol name and version, normally `SIP/2.0` (kept as written).
    pub protocol: ByteStr,
    /// The transport token as written (`UDP`, `TCP`, `TLS`, `WS`, `WSS`, `SCTP`, …).
    pub transport_token: ByteStr,
    /// sent-by host.
    pub host: Host,
    /// sent-by port.
    pub port: Option<u16>,
    /// Parameters.
    pub params: Params,
}

impl Via {
    /// A `SIP/2.0/<transport>` Via with a branch and nothing else.
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &Branch) -> Via {
        let mut params = Params::default();
        params.set("branch", Some(branch.0.clone()));
        Via {
            protocol: ByteStr::from_static("SIP/2.0"),
            transport_token: ByteStr::from_static(transport.as_str()),
            host,
            port,
            params,
        }
    }

    /// A Via with empty parts: the value a parser fills in place.
    pub(crate) fn empty() -> Via {
        Via {
            protocol: ByteStr::new(),
            transport_token: ByteStr::new(),
            host: Host::Domain(ByteStr::new()),
            port: None,
            params: Params::default(),
        }
    }

    /// Parses one Via value, sharing `s`'s buffer.
    pub fn parse(s: &ByteStr) -> Result<Via, ParseError> {
        crate::parse::via::parse_via(s)
    }

    /// The transport, when it is one Switchboard speaks.
    pub fn transport(&self) -> Option<Transport> {
        self.transport_token.parse().ok()
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<Branch> {
        self.params.value("branch").map(|b| Branch(b.clone()))
    }

    /// The `received` parameter as an address.
    pub fn received(&self) -> Option<IpAddr> {
        self.params.value("received").and_then(|r| {
            let r = r.trim_start_matches('[').trim_end_matches(']');
            r.parse().ok()
        })
    }

    /// The `rport` parameter: `None` when absent, `Some(None)` when present
    /// without a value (a request asking for it), `Some(Some(p))` when filled in.
    pub fn rport(&self) -> Option<Option<u16>> {
        self.params
            .get("rport")
            .map(|v| v.and_then(|p| p.parse().ok()))
    }

    /// Stamps the receiving side's view of the sender (RFC 3261 §18.2.1 and
    /// RFC 3581 §4): `received` when the sent-by host differs from the source
    /// address, and `rport` filled with the source port when the client asked
    /// for it (then `received` is always added).
    pub fn stamp_source(&mut self, source_ip: IpAddr, source_port: u16) {
        let wants_rport = self.params.contains("rport");
        let host_matches = self.host.ip() == Some(source_ip);
        if wants_rport || !host_matches {
            // Without brackets for IPv6 (RFC 3261 §25.1 `received`).
            let received = build_byte_str(|out| match source_ip {
                IpAddr::V4(a) => push_ipv4(out, a),
                IpAddr::V6(a) => push_ipv6(out, a),
            });
            self.params.set("received", Some(received));
        }
        if wants_rport {
            let port = build_byte_str(|out| push_u32(out, u32::from(source_port)));
            self.params.set("rport", Some(port));
        }
    }
}

/// `SIP/2.0/UDP host:port;params`.
impl WriteSip for Via {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        out.push_str(&self.protocol);
        out.push_char('/');
        out.push_str(&self.transport_token);
        out.push_char(' ');
        self.host.write_to(out);
        if let Some(port) = self.port {
            out.push_char(':');
            push_u32(out, u32::from(port));
        }
        self.params.write_to(out);
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
    }
}

/// A CSeq value (RFC 3261 §20.16).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number (below 2^31).
    pub seq: u32,
    /// Method.
    pub method: crate::method::Method,
}

impl CSeq {
    /// Parses `123 INVITE`.
    pub fn parse(s: &ByteStr) -> Result<CSeq, ParseError> {
        crate::parse::via::parse_cseq(s)
    }
}

/// `123 INVITE`.
impl WriteSip for CSeq {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        push_u32(out, self.seq);
        out.push_char(' ');
        out.push_str(self.method.as_str());
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
    }
}
