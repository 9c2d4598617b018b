//! name-addr / addr-spec values of From, To, Contact, Route, Record-Route
//! (RFC 3261 §20.10, §25.1).

use std::fmt;

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::ids::Tag;
use crate::params::Params;
use crate::uri::Uri;

/// `"Display Name" <uri>;params` or a bare `uri;params`. For a bare addr-spec,
/// parameters after the URI belong to the header, not the URI (RFC 3261 §20.10).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// The display name with quotes removed and escapes resolved.
    pub display_name: Option<ByteStr>,
    /// The URI.
    pub uri: Uri,
    /// Header parameters (`;tag=…`, `;expires=…`, `;+sip.instance="<…>"`).
    pub params: Params,
}

impl NameAddr {
    /// A name-addr with just a URI.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display_name: None,
            uri,
            params: Params::new(),
        }
    }

    /// Parses one name-addr or addr-spec with parameters, sharing `s`'s buffer.
    pub fn parse(s: &ByteStr) -> Result<NameAddr, ParseError> {
        crate::parse::name_addr::parse_name_addr(s)
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<Tag> {
        self.params.value("tag").map(|t| Tag(t.clone()))
    }
}

/// Always written in name-addr form (`<uri>`), display name quoted, with
/// `"`, `\` and control characters escaped as quoted-pairs.
impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            f.write_str("\"")?;
            for c in name.chars() {
                match c {
                    // A quoted-pair cannot carry CR or LF (RFC 3261 §25.1).
                    '\r' | '\n' => f.write_str(" ")?,
                    '"' | '\\' | '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f' => {
                        write!(f, "\\{c}")?;
                    }
                    _ => write!(f, "{c}")?,
                }
            }
            f.write_str("\" ")?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// One Contact header value (RFC 3261 §20.10): `*` or an address with
/// parameters such as `expires`, `q`, `+sip.instance` and `reg-id` (RFC 5626).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[allow(
    clippy::large_enum_variant,
    reason = "almost every Contact is an address; boxing would cost an allocation each"
)]
pub enum Contact {
    /// `Contact: *` (remove all bindings, RFC 3261 §10.2.2).
    Star,
    /// An address.
    Addr(NameAddr),
}

impl Contact {
    /// Parses one Contact value (the parser splits comma lists first).
    pub fn parse(s: &ByteStr) -> Result<Contact, ParseError> {
        if s.trim() == "*" {
            Ok(Contact::Star)
        } else {
            NameAddr::parse(s).map(Contact::Addr)
        }
    }

    /// The address, when not `*`.
    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Contact::Star => None,
            Contact::Addr(a) => Some(a),
        }
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Star => f.write_str("*"),
            Contact::Addr(a) => a.fmt(f),
        }
    }
}

impl NameAddr {
    /// The `expires` parameter of a Contact, when present and numeric.
    pub fn expires(&self) -> Option<u32> {
        self.params.value("expires").and_then(|v| v.parse().ok())
    }

    /// The `q` parameter of a Contact in thousandths (`q=0.5` → 500).
    pub fn q_millis(&self) -> Option<u16> {
        self.params
            .value("q")
            .and_then(|v| crate::parse::name_addr::parse_qvalue(v))
    }

    /// The `+sip.instance` parameter without its quotes and angle brackets
    /// (`urn:uuid:…`, RFC 5626 §4.1).
    pub fn sip_instance(&self) -> Option<String> {
        let raw = self.params.find("+sip.instance")?.unquoted()?;
        let raw = raw.trim();
        let inner = raw
            .strip_prefix('<')
            .and_then(|r| r.strip_suffix('>'))
            .unwrap_or(raw);
        Some(inner.to_owned())
    }

    /// The `reg-id` parameter (RFC 5626 §4.2).
    pub fn reg_id(&self) -> Option<u32> {
        self.params.value("reg-id").and_then(|v| v.parse().ok())
    }
}
