//! `ByteStr`: an immutable, cheaply clonable UTF-8 string backed by [`Bytes`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

/// A UTF-8 string that shares the buffer of the message it was parsed from.
///
/// Cloning is a reference-count increment; slicing a parsed message into typed
/// values therefore never copies text. UTF-8 is checked once, when the string
/// is made from bytes; [`ByteStr::as_str`] and slicing never check it again.
#[derive(Clone, Default, PartialOrd, Ord)]
pub struct ByteStr(ByteString);

impl ByteStr {
    /// An empty string.
    pub const fn new() -> Self {
        ByteStr(ByteString::new())
    }

    /// A string from a `'static` literal, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        ByteStr(ByteString::from_static(s))
    }

    /// Wraps bytes that are valid UTF-8, or returns them back.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        if std::str::from_utf8(&bytes).is_err() {
            return Err(bytes);
        }
        Ok(ByteStr(
            ByteString::try_from(bytes).expect("the bytes were checked as UTF-8 just above"),
        ))
    }

    /// Wraps bytes that are valid UTF-8, checking them once; `None` otherwise.
    pub(crate) fn validate(bytes: Bytes) -> Option<Self> {
        ByteString::try_from(bytes).ok().map(ByteStr)
    }

    /// The string as `&str`.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The underlying bytes.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// Consumes the string, returning the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// A sub-string sharing this buffer. `sub` must be a slice of `self.as_str()`
    /// (for example the result of `trim()` or `split()` on it).
    ///
    /// # Panics
    /// When `sub` does not point into this string: that is a programming error.
    #[inline]
    pub fn slice_ref(&self, sub: &str) -> ByteStr {
        if sub.is_empty() {
            return ByteStr::new();
        }
        ByteStr(self.0.slice_ref(sub))
    }

    /// Case-insensitive ASCII comparison.
    pub fn eq_ignore_ascii_case(&self, other: &str) -> bool {
        self.as_str().eq_ignore_ascii_case(other)
    }
}

impl Deref for ByteStr {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ByteStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for ByteStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl Hash for ByteStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<String> for ByteStr {
    fn from(s: String) -> Self {
        ByteStr(ByteString::from(s))
    }
}

impl From<&str> for ByteStr {
    fn from(s: &str) -> Self {
        ByteStr(ByteString::from(s))
    }
}

impl PartialEq for ByteStr {
    fn eq(&self, other: &ByteStr) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ByteStr {}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ByteStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}
