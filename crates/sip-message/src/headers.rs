//! Header names and the ordered header list of a message (RFC 3261 §7.3, §20).

use std::fmt;
use std::hash::{Hash, Hasher};

use crate::bytestr::ByteStr;

macro_rules! header_names {
    ($($variant:ident => $full:expr, $lower:expr, $compact:expr;)*) => {
        /// A header field name. Known names are matched case-insensitively and
        /// in their compact forms (RFC 3261 §7.3.3); others keep their spelling
        /// and compare case-insensitively (RFC 3261 §7.3.1).
        #[derive(Debug, Clone)]
        pub enum HeaderName {
            $(
                #[doc = concat!("`", $full, "`")]
                $variant,
            )*
            /// An extension header, as spelled in the message.
            Other(ByteStr),
        }

        impl HeaderName {
            /// The canonical (long) name.
            pub fn as_str(&self) -> &str {
                match self {
                    $(HeaderName::$variant => $full,)*
                    HeaderName::Other(s) => s.as_str(),
                }
            }

            /// The compact form, when the name has one.
            pub const fn compact(&self) -> Option<char> {
                match self {
                    $(HeaderName::$variant => $compact,)*
                    HeaderName::Other(_) => None,
                }
            }

            /// Looks up a known name (long or compact form, any case) through
            /// an open-addressing table built at compile time.
            pub(crate) fn lookup(name: &str) -> Option<HeaderName> {
                let bytes = name.as_bytes();
                let index = match bytes.len() {
                    0 => return None,
                    1 => *COMPACT_TABLE.get(usize::from(bytes[0]))?,
                    _ => {
                        let mut slot = name_hash(bytes);
                        loop {
                            let i = NAME_TABLE[slot];
                            if i == EMPTY {
                                return None;
                            }
                            let known = KNOWN_LOWER[usize::from(i)].as_bytes();
                            if same_name(bytes, known) {
                                break i;
                            }
                            slot = (slot + 1) % NAME_SLOTS;
                        }
                    }
                };
                (index != EMPTY).then(|| KNOWN[usize::from(index)].clone())
            }
        }

        /// Known names in lower case, in declaration order.
        const KNOWN_LOWER: &[&str] = &[$($lower),*];
        /// Known names, same order.
        const KNOWN: &[HeaderName] = &[$(HeaderName::$variant),*];
        /// Compact forms, same order.
        const KNOWN_COMPACT: &[Option<char>] = &[$($compact),*];
    };
}

header_names! {
    Accept => "Accept", "accept", None;
    AcceptContact => "Accept-Contact", "accept-contact", Some('a');
    AcceptEncoding => "Accept-Encoding", "accept-encoding", None;
    AcceptLanguage => "Accept-Language", "accept-language", None;
    AlertInfo => "Alert-Info", "alert-info", None;
    Allow => "Allow", "allow", None;
    AllowEvents => "Allow-Events", "allow-events", Some('u');
    AuthenticationInfo => "Authentication-Info", "authentication-info", None;
    Authorization => "Authorization", "authorization", None;
    CallId => "Call-ID", "call-id", Some('i');
    CallInfo => "Call-Info", "call-info", None;
    Contact => "Contact", "contact", Some('m');
    ContentDisposition => "Content-Disposition", "content-disposition", None;
    ContentEncoding => "Content-Encoding", "content-encoding", Some('e');
    ContentLanguage => "Content-Language", "content-language", None;
    ContentLength => "Content-Length", "content-length", Some('l');
    ContentType => "Content-Type", "content-type", Some('c');
    CSeq => "CSeq", "cseq", None;
    Date => "Date", "date", None;
    ErrorInfo => "Error-Info", "error-info", None;
    Event => "Event", "event", Some('o');
    Expires => "Expires", "expires", None;
    From => "From", "from", Some('f');
    InReplyTo => "In-Reply-To", "in-reply-to", None;
    MaxForwards => "Max-Forwards", "max-forwards", None;
    MimeVersion => "MIME-Version", "mime-version", None;
    MinExpires => "Min-Expires", "min-expires", None;
    MinSe => "Min-SE", "min-se", None;
    Organization => "Organization", "organization", None;
    Path => "Path", "path", None;
    Priority => "Priority", "priority", None;
    ProxyAuthenticate => "Proxy-Authenticate", "proxy-authenticate", None;
    ProxyAuthorization => "Proxy-Authorization", "proxy-authorization", None;
    ProxyRequire => "Proxy-Require", "proxy-require", None;
    Reason => "Reason", "reason", None;
    RecordRoute => "Record-Route", "record-route", None;
    ReferTo => "Refer-To", "refer-to", Some('r');
    ReferredBy => "Referred-By", "referred-by", Some('b');
    RejectContact => "Reject-Contact", "reject-contact", Some('j');
    ReplyTo => "Reply-To", "reply-to", None;
    RequestDisposition => "Request-Disposition", "request-disposition", Some('d');
    Require => "Require", "require", None;
    RetryAfter => "Retry-After", "retry-after", None;
    Route => "Route", "route", None;
    Server => "Server", "server", None;
    SessionExpires => "Session-Expires", "session-expires", Some('x');
    Subject => "Subject", "subject", Some('s');
    SubscriptionState => "Subscription-State", "subscription-state", None;
    Supported => "Supported", "supported", Some('k');
    Timestamp => "Timestamp", "timestamp", None;
    To => "To", "to", Some('t');
    Unsupported => "Unsupported", "unsupported", None;
    UserAgent => "User-Agent", "user-agent", None;
    Via => "Via", "via", Some('v');
    Warning => "Warning", "warning", None;
    WwwAuthenticate => "WWW-Authenticate", "www-authenticate", None;
}

/// Size of the name table; a quarter full, so probe sequences stay short.
const NAME_SLOTS: usize = 256;
/// An unused slot.
const EMPTY: u8 = u8::MAX;

/// Hash of a name of two or more bytes, the same for any ASCII case.
const fn name_hash(name: &[u8]) -> usize {
    let n = name.len();
    let first = (name[0] | 0x20) as usize;
    let middle = (name[n / 2] | 0x20) as usize;
    let last = (name[n - 1] | 0x20) as usize;
    (n * 31 + first * 7 + middle * 3 + last) % NAME_SLOTS
}

/// Whether `name` equals `lower`, a known name (ASCII letters and `-` only),
/// ignoring ASCII case. Setting bit 0x20 lower-cases letters and leaves `-`
/// alone; the only other byte it maps onto a letter or `-` is CR (onto `-`),
/// which is excluded. Branch-free so that it vectorises.
fn same_name(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len()
        && name.iter().zip(lower).fold(0u8, |diff, (&b, &k)| {
            diff | ((b | 0x20) ^ k) | u8::from(b == b'\r')
        }) == 0
}

/// Slot → index into [`KNOWN`] for long names.
const NAME_TABLE: [u8; NAME_SLOTS] = {
    let mut table = [EMPTY; NAME_SLOTS];
    let mut i = 0;
    while i < KNOWN_LOWER.len() {
        let mut slot = name_hash(KNOWN_LOWER[i].as_bytes());
        while table[slot] != EMPTY {
            slot = (slot + 1) % NAME_SLOTS;
        }
        table[slot] = i as u8;
        i += 1;
    }
    table
};

/// ASCII byte → index into [`KNOWN`] for compact forms, both cases.
const COMPACT_TABLE: [u8; 128] = {
    let mut table = [EMPTY; 128];
    let mut i = 0;
    while i < KNOWN_COMPACT.len() {
        if let Some(c) = KNOWN_COMPACT[i] {
            table[c as usize] = i as u8;
            table[c.to_ascii_uppercase() as usize] = i as u8;
        }
        i += 1;
    }
    table
};

impl HeaderName {
    /// Maps a header name as it appears in a message to a `HeaderName`.
    pub fn from_name(name: &ByteStr) -> HeaderName {
        HeaderName::lookup(name).unwrap_or_else(|| HeaderName::Other(name.clone()))
    }

    /// Like [`HeaderName::from_name`] for a `&str`, copying unknown names.
    pub fn parse(name: &str) -> HeaderName {
        HeaderName::lookup(name).unwrap_or_else(|| HeaderName::Other(ByteStr::from(name)))
    }

    /// Headers whose comma-separated values are split into one entry per value
    /// when a message is parsed (RFC 3261 §7.3.1), so that the first Via or Route
    /// can be inspected and removed on its own.
    pub fn is_split_on_parse(&self) -> bool {
        matches!(
            self,
            HeaderName::Via
                | HeaderName::Route
                | HeaderName::RecordRoute
                | HeaderName::Contact
                | HeaderName::Path
        )
    }

    /// Case-insensitive equality with a name string (long or compact form).
    pub fn matches(&self, name: &str) -> bool {
        match HeaderName::lookup(name) {
            Some(known) => &known == self,
            None => matches!(self, HeaderName::Other(s) if s.eq_ignore_ascii_case(name)),
        }
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (HeaderName::Other(a), HeaderName::Other(b)) => a.eq_ignore_ascii_case(b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        if let HeaderName::Other(name) = self {
            for b in name.bytes() {
                state.write_u8(b.to_ascii_lowercase());
            }
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One header field: its name and its value with folding removed and surrounding
/// whitespace trimmed. For the names of [`HeaderName::is_split_on_parse`] each
/// entry holds exactly one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The name.
    pub name: HeaderName,
    /// The value, as text.
    pub value: ByteStr,
}

/// The ordered header fields of a message. Order is kept, and the relative order
/// of fields with the same name is significant (RFC 3261 §7.3.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<Header>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Headers::default()
    }

    /// An empty list with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Headers {
            entries: Vec::with_capacity(n),
        }
    }

    /// A list that takes over `entries`.
    pub(crate) fn from_vec(entries: Vec<Header>) -> Self {
        Headers { entries }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No fields at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All fields in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.entries.iter()
    }

    /// The value of the first field called `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&ByteStr> {
        self.entries
            .iter()
            .find(|h| &h.name == name)
            .map(|h| &h.value)
    }

    /// The values of every field called `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a ByteStr> + 'a {
        self.entries
            .iter()
            .filter(move |h| &h.name == name)
            .map(|h| &h.value)
    }

    /// Whether a field called `name` is present.
    pub fn contains(&self, name: &HeaderName) -> bool {
        self.entries.iter().any(|h| &h.name == name)
    }

    /// Number of fields called `name`.
    pub fn count(&self, name: &HeaderName) -> usize {
        self.entries.iter().filter(|h| &h.name == name).count()
    }

    /// Appends a field.
    pub fn push(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        self.entries.push(Header {
            name,
            value: value.into(),
        });
    }

    /// Inserts a field before the first field of the same name, or at the end when
    /// there is none (how a proxy adds its Via, RFC 3261 §16.6 step 8).
    pub fn push_front_of_kind(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        let at = self
            .entries
            .iter()
            .position(|h| h.name == name)
            .unwrap_or(self.entries.len());
        self.entries.insert(
            at,
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Inserts a field at position `index` of the whole list.
    pub fn insert(&mut self, index: usize, name: HeaderName, value: impl Into<ByteStr>) {
        self.entries.insert(
            index.min(self.entries.len()),
            Header {
                name,
                value: value.into(),
            },
        );
    }

    /// Replaces every field called `name` by one field with `value`, at the place
    /// of the first one (or at the end).
    pub fn set(&mut self, name: HeaderName, value: impl Into<ByteStr>) {
        let value = value.into();
        match self.entries.iter().position(|h| h.name == name) {
            Some(first) => {
                self.entries[first].value = value;
                let mut i = first + 1;
                while i < self.entries.len() {
                    if self.entries[i].name == name {
                        self.entries.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
            None => self.entries.push(Header { name, value }),
        }
    }

    /// Removes and returns the first field called `name`.
    pub fn remove_first(&mut self, name: &HeaderName) -> Option<ByteStr> {
        let at = self.entries.iter().position(|h| &h.name == name)?;
        Some(self.entries.remove(at).value)
    }

    /// Removes every field called `name`; returns how many were removed.
    pub fn remove_all(&mut self, name: &HeaderName) -> usize {
        let before = self.entries.len();
        self.entries.retain(|h| &h.name != name);
        before - self.entries.len()
    }

    /// Mutable access to the value of the first field called `name`.
    pub fn get_mut(&mut self, name: &HeaderName) -> Option<&mut ByteStr> {
        self.entries
            .iter_mut()
            .find(|h| &h.name == name)
            .map(|h| &mut h.value)
    }

    /// Keeps only the fields for which `keep` returns true.
    pub fn retain(&mut self, keep: impl FnMut(&Header) -> bool) {
        self.entries.retain(keep);
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Self {
        Headers {
            entries: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_is_found_in_any_case_and_compact_form() {
        for (i, lower) in KNOWN_LOWER.iter().enumerate() {
            let known = &KNOWN[i];
            assert_eq!(HeaderName::lookup(lower).as_ref(), Some(known));
            assert_eq!(
                HeaderName::lookup(&lower.to_ascii_uppercase()).as_ref(),
                Some(known)
            );
            assert_eq!(HeaderName::lookup(known.as_str()).as_ref(), Some(known));
            if let Some(c) = known.compact() {
                assert_eq!(HeaderName::lookup(&c.to_string()).as_ref(), Some(known));
                let upper = c.to_ascii_uppercase().to_string();
                assert_eq!(HeaderName::lookup(&upper).as_ref(), Some(known));
            }
        }
        for unknown in [
            "",
            "z",
            "q",
            "Vía",
            "Viaa",
            "Cal-ID",
            "X-Custom",
            "contact-",
            "é",
            "Call\rID",
            "Call\x0dID",
            "CallMID",
            "Call\x0cID",
        ] {
            assert_eq!(HeaderName::lookup(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn extension_names_compare_case_insensitively() {
        let a = HeaderName::parse("X-Custom");
        let b = HeaderName::parse("x-CUSTOM");
        assert_eq!(a, b);
        let hash = |n: &HeaderName| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            n.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&a), hash(&b));
        assert_ne!(a, HeaderName::parse("X-Other"));
        assert_eq!(a.as_str(), "X-Custom");
        assert!(HeaderName::Via.matches("V") && HeaderName::Via.matches("via"));
    }
}
