//! The session description model (RFC 8866 §5): typed fields for the lines the gateway reads,
//! text for everything else, in the order it came.

use std::net::IpAddr;
use std::ops::{Deref, DerefMut};

/// A session description.
///
/// Lines the model does not interpret (`i=`, `u=`, `e=`, `p=`, `t=`, `r=`, `z=`, `k=` and any
/// unknown type letter) are kept as [`Line`]s; attributes are kept as name and value, all in
/// their order, so that a description the gateway only reads is written back as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    /// `o=`: the originator and session identifier.
    pub origin: Origin,
    /// `s=`: the session name (`-` when there is none to give).
    pub session_name: String,
    /// Session-level lines kept as text. The writer puts `i=`, `u=`, `e=` and `p=` before `c=`
    /// and the others (`t=`, `r=`, `z=`, `k=`, unknown letters) after `b=`; the parser keeps
    /// them in that grouping, each group in the order of appearance.
    pub lines: Vec<Line>,
    /// `c=` at session level: the default for media sections without their own.
    pub connection: Option<Connection>,
    /// `b=` lines at session level.
    pub bandwidths: Vec<Bandwidth>,
    /// Session-level attributes.
    pub attributes: Attributes,
    /// Media sections, in order.
    pub media: Vec<Media>,
}

impl Sdp {
    /// A description with the given origin and session name, `t=0 0` (RFC 8866 §5.9: an
    /// unbounded session) and nothing else.
    pub fn new(origin: Origin, session_name: impl Into<String>) -> Sdp {
        Sdp {
            origin,
            session_name: session_name.into(),
            lines: vec![Line::new('t', "0 0")],
            connection: None,
            bandwidths: Vec::new(),
            attributes: Attributes::default(),
            media: Vec::new(),
        }
    }

    /// The connection that applies to `media`: its own first `c=`, else the session's.
    pub fn connection_for<'a>(&'a self, media: &'a Media) -> Option<&'a Connection> {
        media.connections.first().or(self.connection.as_ref())
    }

    /// The media direction that applies to `media` (RFC 8866 §6.7): its own attribute, else
    /// the session's, else `sendrecv`.
    pub fn direction_for(&self, media: &Media) -> crate::MediaDirection {
        media
            .attributes
            .direction()
            .or_else(|| self.attributes.direction())
            .unwrap_or_default()
    }

    /// The first media section of type `audio`, with its index.
    pub fn first_audio(&self) -> Option<(usize, &Media)> {
        self.media.iter().enumerate().find(|(_, m)| m.is_audio())
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The user name (`-` when there is none).
    pub username: String,
    /// The session id: a numeric string, kept as written.
    pub session_id: String,
    /// The session version: a numeric string, kept as written (RFC 3264 §8 increments it).
    pub session_version: String,
    /// The network type (`IN`).
    pub net_type: String,
    /// The address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// The originator's address (a host name is allowed).
    pub address: String,
}

impl Origin {
    /// `o=- <session_id> <version> IN IP4|IP6 <address>`.
    pub fn new(session_id: u64, version: u64, address: IpAddr) -> Origin {
        Origin {
            username: "-".to_owned(),
            session_id: session_id.to_string(),
            session_version: version.to_string(),
            net_type: "IN".to_owned(),
            addr_type: addr_type(address).to_owned(),
            address: address.to_string(),
        }
    }

    /// The session version as a number, when it is one.
    pub fn version_number(&self) -> Option<u64> {
        self.session_version.parse().ok()
    }
}

/// `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The network type (`IN`).
    pub net_type: String,
    /// The address type (`IP4`, `IP6`).
    pub addr_type: String,
    /// The address as written: an IP address (multicast ones may carry `/ttl[/count]`) or a
    /// host name.
    pub address: String,
}

impl Connection {
    /// `c=IN IP4|IP6 <ip>`.
    pub fn new(ip: IpAddr) -> Connection {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: addr_type(ip).to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP address (without a multicast `/ttl` suffix); `None` for a host
    /// name or an address that does not parse.
    pub fn ip(&self) -> Option<IpAddr> {
        let text = self.address.split('/').next().unwrap_or_default();
        text.parse().ok()
    }
}

/// The SDP address type of an IP address.
pub fn addr_type(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bandwidth {
    /// The modifier (`AS`, `CT`, `TIAS`, …).
    pub kind: String,
    /// The value (kbit/s for `AS` and `CT`, bit/s for `TIAS`).
    pub value: u64,
}

/// A line the model keeps as text: its type letter and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The type letter (`t`, `i`, …).
    pub kind: char,
    /// Everything after `=`.
    pub value: String,
}

impl Line {
    /// A line `<kind>=<value>`.
    pub fn new(kind: char, value: impl Into<String>) -> Line {
        Line {
            kind,
            value: value.into(),
        }
    }

    /// Whether the writer puts this line before `c=` at session level.
    pub(crate) fn before_connection_in_session(&self) -> bool {
        matches!(self.kind, 'i' | 'u' | 'e' | 'p')
    }

    /// Whether the writer puts this line before `c=` in a media section.
    pub(crate) fn before_connection_in_media(&self) -> bool {
        self.kind == 'i'
    }
}

/// A media section: `m=<media> <port>[/<number of ports>] <proto> <fmt> …` (RFC 8866 §5.14)
/// and the lines after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The media type (`audio`, `video`, `application`, …).
    pub media: String,
    /// The transport port; 0 declines or disables the stream (RFC 3264 §6).
    pub port: u16,
    /// The number of ports, when written (`/2`).
    pub port_count: Option<u16>,
    /// The transport protocol (`RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, …).
    pub proto: String,
    /// The media formats: RTP payload type numbers for RTP protocols.
    pub formats: Vec<String>,
    /// Lines kept as text; `i=` is written before `c=`, the others after `b=`.
    pub lines: Vec<Line>,
    /// `c=` lines of this section (several only for multicast).
    pub connections: Vec<Connection>,
    /// `b=` lines of this section.
    pub bandwidths: Vec<Bandwidth>,
    /// Media-level attributes.
    pub attributes: Attributes,
}

impl Media {
    /// A media section with no lines after `m=`.
    pub fn new(media: impl Into<String>, port: u16, proto: impl Into<String>) -> Media {
        Media {
            media: media.into(),
            port,
            port_count: None,
            proto: proto.into(),
            formats: Vec::new(),
            lines: Vec::new(),
            connections: Vec::new(),
            bandwidths: Vec::new(),
            attributes: Attributes::default(),
        }
    }

    /// Whether this is an `audio` section.
    pub fn is_audio(&self) -> bool {
        self.media.eq_ignore_ascii_case("audio")
    }

    /// Whether the protocol is RTP with SRTP (`RTP/SAVP`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVP[F]`).
    pub fn is_srtp(&self) -> bool {
        self.proto
            .rsplit('/')
            .next()
            .is_some_and(|p| p.eq_ignore_ascii_case("SAVP") || p.eq_ignore_ascii_case("SAVPF"))
    }

    /// Whether the protocol is DTLS-SRTP (`UDP/TLS/RTP/SAVP[F]`, RFC 5764).
    pub fn is_dtls(&self) -> bool {
        self.proto.to_ascii_uppercase().contains("TLS/RTP")
    }

    /// Whether the protocol carries RTP (its formats are payload type numbers).
    pub fn is_rtp(&self) -> bool {
        self.proto.to_ascii_uppercase().contains("RTP/")
    }

    /// The formats that are RTP payload type numbers (0–127), in order.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
    }
}

/// An attribute: `a=<name>` or `a=<name>:<value>` (RFC 8866 §5.13).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name.
    pub name: String,
    /// The value after `:`, when there is one.
    pub value: Option<String>,
}

impl Attribute {
    /// `a=<name>:<value>`.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// A property attribute without a value: `a=<name>`.
    pub fn flag(name: impl Into<String>) -> Attribute {
        Attribute {
            name: name.into(),
            value: None,
        }
    }

    /// Whether the attribute has this name (ASCII case-insensitive).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The value, or `""` for a property attribute.
    pub fn value_str(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

/// The attributes of a session or media section, in order, with typed accessors
/// (see the `attr` module's impl blocks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributes(Vec<Attribute>);

impl Attributes {
    /// An empty list.
    pub fn new() -> Attributes {
        Attributes(Vec::new())
    }

    /// The first attribute called `name`.
    pub fn get(&self, name: &str) -> Option<&Attribute> {
        self.0.iter().find(|a| a.is(name))
    }

    /// Every attribute called `name`, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Attribute> + 'a {
        self.0.iter().filter(move |a| a.is(name))
    }

    /// The value of the first attribute called `name` (`""` for a property attribute).
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(Attribute::value_str)
    }

    /// Whether an attribute called `name` is present.
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Removes every attribute called `name`.
    pub fn remove_all(&mut self, name: &str) {
        self.0.retain(|a| !a.is(name));
    }
}

impl Deref for Attributes {
    type Target = Vec<Attribute>;

    fn deref(&self) -> &Vec<Attribute> {
        &self.0
    }
}

impl DerefMut for Attributes {
    fn deref_mut(&mut self) -> &mut Vec<Attribute> {
        &mut self.0
    }
}

impl From<Vec<Attribute>> for Attributes {
    fn from(list: Vec<Attribute>) -> Attributes {
        Attributes(list)
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = &'a Attribute;
    type IntoIter = std::slice::Iter<'a, Attribute>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
