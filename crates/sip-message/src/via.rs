//! Via header values (RFC 3261 §20.42, §18.2.1; RFC 3581).

use std::fmt;
use std::net::IpAddr;

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::ids::Branch;
use crate::params::Params;
use crate::transport::Transport;
use crate::uri::Host;

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
        let mut params = Params::new();
        params.set("branch", Some(branch.0.clone()));
        Via {
            protocol: ByteStr::from_static("SIP/2.0"),
            transport_token: ByteStr::from_static(transport.as_str()),
            host,
            port,
            params,
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
            let text = match source_ip {
                IpAddr::V4(a) => a.to_string(),
                IpAddr::V6(a) => a.to_string(),
            };
            self.params.set("received", Some(ByteStr::from(text)));
        }
        if wants_rport {
            self.params
                .set("rport", Some(ByteStr::from(source_port.to_string())));
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} {}",
            self.protocol, self.transport_token, self.host
        )?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
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

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}
