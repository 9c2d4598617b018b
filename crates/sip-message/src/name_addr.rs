//! name-addr / addr-spec values of From, To, Contact, Route, Record-Route
//! (RFC 3261 §20.10, §25.1).

use std::fmt;

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::ids::Tag;
use crate::params::Params;
use crate::uri::{Scheme, SipUri, Uri};
use crate::write::{TextSink, WriteSip, display};

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
            params: Params::default(),
        }
    }

    /// An empty SIP URI with nothing else: the value a parser fills in place.
    pub(crate) fn empty() -> NameAddr {
        NameAddr {
            display_name: None,
            uri: Uri::Sip(SipUri::empty(Scheme::Sip)),
            params: Params::default(),
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
impl WriteSip for NameAddr {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        if let Some(name) = &self.display_name {
            out.push_char('"');
            push_quoted_content(out, name);
            out.push_str("\" ");
        }
        out.push_char('<');
        self.uri.write_to(out);
        out.push_char('>');
        self.params.write_to(out);
    }
}

/// Writes `text` as the inside of a quoted-string: runs of plain text as they
/// are, `"`, `\` and control characters as quoted-pairs, CR and LF (which a
/// quoted-pair cannot carry, RFC 3261 §25.1) as spaces.
fn push_quoted_content<S: TextSink + ?Sized>(out: &mut S, text: &str) {
    let mut run_start = 0;
    for (i, b) in text.bytes().enumerate() {
        let quoted_pair = match b {
            b'\r' | b'\n' => false,
            b'"' | b'\\' | 0..=0x08 | 0x0b..=0x1f | 0x7f => true,
            _ => continue,
        };
        out.push_str(&text[run_start..i]);
        if quoted_pair {
            out.push_char('\\');
            out.push_char(char::from(b));
        } else {
            out.push_char(' ');
        }
        run_start = i + 1;
    }
    out.push_str(&text[run_start..]);
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
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
        let mut contact = Contact::Addr(NameAddr::empty());
        Contact::parse_into(s, &mut contact)?;
        Ok(contact)
    }

    /// [`Contact::parse`] into `out`, a fresh `Contact::Addr(NameAddr::empty())`
    /// (filled in place: a name-addr is large).
    pub(crate) fn parse_into(s: &ByteStr, out: &mut Contact) -> Result<(), ParseError> {
        if s.trim() == "*" {
            *out = Contact::Star;
            return Ok(());
        }
        if !matches!(out, Contact::Addr(_)) {
            *out = Contact::Addr(NameAddr::empty());
        }
        let Contact::Addr(addr) = out else {
            unreachable!("made an address just above")
        };
        crate::parse::name_addr::parse_name_addr_into(s, addr)
    }

    /// The address, when not `*`.
    pub fn addr(&self) -> Option<&NameAddr> {
        match self {
            Contact::Star => None,
            Contact::Addr(a) => Some(a),
        }
    }
}

impl WriteSip for Contact {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        match self {
            Contact::Star => out.push_char('*'),
            Contact::Addr(a) => a.write_to(out),
        }
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
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
