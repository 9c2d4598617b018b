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
use crate::write::{TextSink, WriteSip, display, push_ipv4, push_ipv6, push_u32, written_len};

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

/// A host name as written, an IPv4 address in dotted-decimal form, an IPv6
/// reference in brackets.
impl WriteSip for Host {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        match self {
            Host::Domain(d) => out.push_str(d),
            Host::Ipv4(a) => push_ipv4(out, *a),
            Host::Ipv6(a) => {
                out.push_char('[');
                push_ipv6(out, *a);
                out.push_char(']');
            }
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
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
            params: Params::default(),
            headers: Params::default(),
        }
    }

    /// A URI with an empty host, no user and no parameters: the value a
    /// parser fills in place.
    pub(crate) fn empty(scheme: Scheme) -> SipUri {
        SipUri {
            scheme,
            user: None,
            password: None,
            host: Host::Domain(ByteStr::new()),
            port: None,
            params: Params::default(),
            headers: Params::default(),
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
        let user = self.user_unescaped();
        let user_len = user.as_ref().map_or(0, |u| u.len() + 1);
        let mut text = String::with_capacity(4 + user_len + written_len(&self.host));
        text.push_str("sip:");
        if let Some(user) = &user {
            text.push_str(user);
            text.push('@');
        }
        let host_start = text.len();
        self.host.write_to(&mut text);
        text[host_start..].make_ascii_lowercase();
        Aor(ByteStr::from(text))
    }

    /// URI equivalence per RFC 3261 §19.1.4.
    pub fn equivalent(&self, other: &SipUri) -> bool {
        crate::parse::uri::sip_uri_equivalent(self, other)
    }
}

/// `sip:user:password@host:port;params?headers`, parts as written.
impl WriteSip for SipUri {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        out.push_str(match self.scheme {
            Scheme::Sip => "sip:",
            Scheme::Sips => "sips:",
        });
        if let Some(user) = &self.user {
            out.push_str(user);
            if let Some(password) = &self.password {
                out.push_char(':');
                out.push_str(password);
            }
            out.push_char('@');
        }
        self.host.write_to(out);
        if let Some(port) = self.port {
            out.push_char(':');
            push_u32(out, u32::from(port));
        }
        self.params.write_to(out);
        for (i, h) in self.headers.iter().enumerate() {
            out.push_char(if i == 0 { '?' } else { '&' });
            out.push_str(&h.name);
            out.push_char('=');
            if let Some(v) = &h.value {
                out.push_str(v);
            }
        }
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
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

/// `tel:number;params`.
impl WriteSip for TelUri {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        out.push_str("tel:");
        out.push_str(&self.number);
        self.params.write_to(out);
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
    }
}

/// A Request-URI or name-addr URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(
    clippy::large_enum_variant,
    reason = "almost every URI is a SIP URI, parsed in place; boxing would cost an allocation each"
)]
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

impl WriteSip for Uri {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        match self {
            Uri::Sip(u) => u.write_to(out),
            Uri::Tel(u) => u.write_to(out),
            Uri::Other(u) => out.push_str(u),
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
    }
}
