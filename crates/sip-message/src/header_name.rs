//! Header field names: known names, compact forms and their lookup
//! (RFC 3261 §7.3, §20).

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
            #[inline]
            pub fn as_str(&self) -> &str {
                match self {
                    $(HeaderName::$variant => $full,)*
                    HeaderName::Other(s) => s.as_str(),
                }
            }

            /// `Name: ` as written before a value, for a known name.
            #[inline]
            pub(crate) const fn wire_prefix(&self) -> Option<&'static str> {
                match self {
                    $(HeaderName::$variant => Some(concat!($full, ": ")),)*
                    HeaderName::Other(_) => None,
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
                            if same_name(bytes, usize::from(i)) {
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

/// Whether `name` equals known name number `index` ignoring ASCII case.
/// Names of up to sixteen bytes compare as two words each; longer ones byte
/// by byte.
#[inline]
fn same_name(name: &[u8], index: usize) -> bool {
    let known = &KNOWN_WORDS[index];
    if name.len() != known.len {
        return false;
    }
    if name.len() > 16 {
        return same_long_name(name, KNOWN_LOWER[index].as_bytes());
    }
    let (first, last) = load_words(name);
    (first | known.case[0]) == known.lower[0] && (last | known.case[1]) == known.lower[1]
}

/// [`name_words`] with word loads, for run time.
#[inline]
fn load_words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let word = |at: usize, width: usize| -> u64 {
        let mut bytes = [0u8; 8];
        bytes[..width].copy_from_slice(&b[at..at + width]);
        u64::from_le_bytes(bytes)
    };
    if n >= 8 {
        (word(0, 8), word(n - 8, 8))
    } else if n >= 4 {
        (word(0, 4), word(n - 4, 4))
    } else {
        (word(0, 2), word(n - 2, 2))
    }
}

/// Byte-by-byte comparison with `lower`, a known name (ASCII letters and
/// `-` only). Setting bit 0x20 lower-cases letters and leaves `-` alone; the
/// only other byte it maps onto a letter or `-` is CR (onto `-`), which is
/// excluded.
fn same_long_name(name: &[u8], lower: &[u8]) -> bool {
    name.iter().zip(lower).fold(0u8, |diff, (&b, &k)| {
        diff | ((b | 0x20) ^ k) | u8::from(b == b'\r')
    }) == 0
}

/// The first and the last (up to) eight bytes of a name of two to sixteen
/// bytes as little-endian words; they overlap for lengths between the
/// sizes, which compares those bytes twice and is harmless.
#[inline]
const fn name_words(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let (width, tail) = if n >= 8 {
        (8, n - 8)
    } else if n >= 4 {
        (4, n - 4)
    } else {
        (2, n - 2)
    };
    let mut first = 0u64;
    let mut last = 0u64;
    let mut i = 0;
    while i < width {
        first |= (b[i] as u64) << (8 * i);
        last |= (b[tail + i] as u64) << (8 * i);
        i += 1;
    }
    (first, last)
}

/// A known name prepared for [`same_name`]: its words in lower case, and
/// the case bit (0x20) of every letter position. Or-ing the case bits into a
/// candidate lower-cases its letters and nothing else, so a `-` must be a `-`
/// (a CR, 0x0d, would otherwise pass for one).
#[derive(Clone, Copy)]
struct KnownWords {
    len: usize,
    lower: [u64; 2],
    case: [u64; 2],
}

const KNOWN_WORDS: [KnownWords; KNOWN_LOWER.len()] = {
    let mut table = [KnownWords {
        len: 0,
        lower: [0; 2],
        case: [0; 2],
    }; KNOWN_LOWER.len()];
    let mut i = 0;
    while i < KNOWN_LOWER.len() {
        let name = KNOWN_LOWER[i].as_bytes();
        table[i].len = name.len();
        if name.len() >= 2 && name.len() <= 16 {
            let (first, last) = name_words(name);
            // Case bits: 0x20 in each byte that is a letter.
            let mut letters = [0u8; 16];
            let mut k = 0;
            while k < name.len() {
                letters[k] = if name[k] == b'-' { 0 } else { 0x20 };
                k += 1;
            }
            let (case_first, case_last) = name_words(letters.split_at(name.len()).0);
            table[i].lower = [first, last];
            table[i].case = [case_first, case_last];
        }
        i += 1;
    }
    table
};

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
    #[inline]
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

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 3000,
            rng_seed: proptest::test_runner::RngSeed::Fixed(7331),
            ..proptest::test_runner::Config::default()
        })]
        /// The table lookup agrees with comparing against every known name,
        /// for known names with their case flipped and one byte replaced.
        #[test]
        fn lookup_agrees_with_a_plain_search(
            index in 0..KNOWN_LOWER.len(),
            flips in proptest::prelude::any::<u32>(),
            replace in proptest::option::of((0usize..32, proptest::prelude::any::<u8>())),
        ) {
            let mut name: Vec<u8> = KNOWN_LOWER[index]
                .bytes()
                .enumerate()
                .map(|(i, b)| if flips >> (i % 32) & 1 == 1 { b.to_ascii_uppercase() } else { b })
                .collect();
            if let Some((at, b)) = replace && at < name.len() {
                name[at] = b;
            }
            let Ok(name) = String::from_utf8(name) else { return Ok(()) };
            let expected = KNOWN_LOWER
                .iter()
                .position(|k| k.eq_ignore_ascii_case(&name) && name.len() > 1)
                .map(|i| KNOWN[i].clone());
            proptest::prop_assert_eq!(HeaderName::lookup(&name), expected);
        }
    }

    #[test]
    fn word_loads_match_the_table_form() {
        let text = b"abcdefghijklmnop";
        for n in 2..=16 {
            assert_eq!(load_words(&text[..n]), name_words(&text[..n]), "{n}");
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
