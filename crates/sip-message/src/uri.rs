//! SIP, SIPS and tel URIs (RFC 3261 §19.1, §25.1; RFC 3966), with comparison
//! per RFC 3261 §19.1.4.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::ids::Aor;
use crate::params::Params;
use crate::transport::Transport;

/// `sip` or `sips`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:` (RFC 3261 §19.1)
    Sips,
}

/// The host part of a SIP URI or Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A host name, as written (compared case-insensitively).
    Domain(ByteStr),
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    /// An IPv6 reference; written in brackets.
    Ipv6(Ipv6Addr),
}

impl Host {
    /// Parses a host: a host name, an IPv4 address or a bracketed IPv6 reference.
    pub fn parse(s: &ByteStr) -> Result<Host, ParseError> {
        crate::parse::uri::parse_host(s)
    }

    /// The IP address, when the host is one.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::Ipv4(a) => Some(IpAddr::V4(*a)),
            Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        }
    }

    /// Host equality per RFC 3261 §19.1.4 (names case-insensitive, addresses
    /// by value).
    pub fn equivalent(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => a.ip().is_some() && a.ip() == b.ip(),
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(a) => Host::Ipv4(a),
            IpAddr::V6(a) => Host::Ipv6(a),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(d) => f.write_str(d),
            Host::Ipv4(a) => write!(f, "{a}"),
            Host::Ipv6(a) => write!(f, "[{a}]"),
        }
    }
}

/// A `sip:` or `sips:` URI. `user` and `password` are kept as written (still
/// %-escaped); [`SipUri::user_unescaped`] resolves the escapes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SipUri {
    /// `sip` or `sips`.
    pub scheme: Scheme,
    /// The user part, %-escaped as written.
    pub user: Option<ByteStr>,
    /// The password, %-escaped as written (deprecated, RFC 3261 §19.1.1).
    pub password: Option<ByteStr>,
    /// The host.
    pub host: Host,
    /// The port, when given.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Params,
    /// URI headers (`?Subject=x&Priority=urgent`), names and values as written.
    pub headers: Params,
}

impl SipUri {
    /// A URI with the given parts and no parameters.
    pub fn new(scheme: Scheme, user: Option<&str>, host: Host, port: Option<u16>) -> SipUri {
        SipUri {
            scheme,
            user: user.map(ByteStr::from),
            password: None,
            host,
            port,
            params: Params::new(),
            headers: Params::new(),
        }
    }

    /// Parses a SIP or SIPS URI, sharing `s`'s buffer.
    pub fn parse(s: &ByteStr) -> Result<SipUri, ParseError> {
        crate::parse::uri::parse_sip_uri(s)
    }

    /// The user part with %-escapes resolved.
    pub fn user_unescaped(&self) -> Option<Cow<'_, str>> {
        self.user.as_deref().map(crate::parse::uri::unescape)
    }

    /// The `transport=` parameter, when it names a known transport.
    pub fn transport_param(&self) -> Option<Transport> {
        self.params.value("transport").and_then(|t| t.parse().ok())
    }

    /// Whether the URI carries `;lr` (a loose router, RFC 3261 §16.12).
    pub fn is_loose_router(&self) -> bool {
        self.params.contains("lr")
    }

    /// The address of record this URI names: `sip:user@host`, user unescaped,
    /// host lower-case (RFC 3261 §10.3 step 5).
    pub fn aor(&self) -> Aor {
        let host = self.host.to_string().to_ascii_lowercase();
        match self.user_unescaped() {
            Some(user) => Aor::from(format!("sip:{user}@{host}")),
            None => Aor::from(format!("sip:{host}")),
        }
    }

    /// URI equivalence per RFC 3261 §19.1.4.
    pub fn equivalent(&self, other: &SipUri) -> bool {
        crate::parse::uri::sip_uri_equivalent(self, other)
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.scheme {
            Scheme::Sip => "sip:",
            Scheme::Sips => "sips:",
        })?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(password) = &self.password {
                write!(f, ":{password}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        for (i, h) in self.headers.iter().enumerate() {
            f.write_str(if i == 0 { "?" } else { "&" })?;
            f.write_str(&h.name)?;
            f.write_str("=")?;
            if let Some(v) = &h.value {
                f.write_str(v)?;
            }
        }
        Ok(())
    }
}

/// A `tel:` URI (RFC 3966).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TelUri {
    /// The number as written (`+1-201-555-0123` or a local number).
    pub number: ByteStr,
    /// Parameters (`;phone-context=example.com`).
    pub params: Params,
}

impl TelUri {
    /// Whether the number is global (`+` prefix).
    pub fn is_global(&self) -> bool {
        self.number.starts_with('+')
    }

    /// The digits with visual separators (`-`, `.`, `(`, `)`) removed.
    pub fn digits(&self) -> String {
        self.number
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tel:{}{}", self.number, self.params)
    }
}

/// A Request-URI or name-addr URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uri {
    /// `sip:` or `sips:`.
    Sip(SipUri),
    /// `tel:`.
    Tel(TelUri),
    /// Any other absolute URI, kept as written.
    Other(ByteStr),
}

impl Uri {
    /// Parses any URI, sharing `s`'s buffer.
    pub fn parse(s: &ByteStr) -> Result<Uri, ParseError> {
        crate::parse::uri::parse_uri(s)
    }

    /// The SIP URI, when it is one.
    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// Mutable access to the SIP URI, when it is one.
    pub fn as_sip_mut(&mut self) -> Option<&mut SipUri> {
        match self {
            Uri::Sip(u) => Some(u),
            _ => None,
        }
    }

    /// URI equivalence: RFC 3261 §19.1.4 for SIP URIs, RFC 3966 §4 for tel URIs,
    /// byte equality otherwise.
    pub fn equivalent(&self, other: &Uri) -> bool {
        match (self, other) {
            (Uri::Sip(a), Uri::Sip(b)) => a.equivalent(b),
            (Uri::Tel(a), Uri::Tel(b)) => crate::parse::uri::tel_uri_equivalent(a, b),
            (Uri::Other(a), Uri::Other(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(u) => u.fmt(f),
            Uri::Tel(u) => u.fmt(f),
            Uri::Other(u) => f.write_str(u),
        }
    }
}
