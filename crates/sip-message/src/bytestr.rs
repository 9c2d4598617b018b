//! `ByteStr`: an immutable, cheaply clonable UTF-8 string backed by [`Bytes`].

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

/// A UTF-8 string that shares the buffer of the message it was parsed from.
///
/// Cloning is a reference-count increment; slicing a parsed message into typed
/// values therefore never copies text.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteStr(Bytes);

impl ByteStr {
    /// An empty string.
    pub const fn new() -> Self {
        ByteStr(Bytes::new())
    }

    /// A string from a `'static` literal, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        ByteStr(Bytes::from_static(s.as_bytes()))
    }

    /// Wraps bytes that are valid UTF-8, or returns them back.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, Bytes> {
        if std::str::from_utf8(&bytes).is_ok() {
            Ok(ByteStr(bytes))
        } else {
            Err(bytes)
        }
    }

    /// A string sharing `buf`, for `sub` pointing into `buf` (a `&str` is UTF-8
    /// by type, so nothing is validated again).
    ///
    /// # Panics
    /// When `sub` does not point into `buf`: that is a programming error.
    pub(crate) fn from_str_in(buf: &Bytes, sub: &str) -> ByteStr {
        if sub.is_empty() {
            return ByteStr::new();
        }
        ByteStr(buf.slice_ref(sub.as_bytes()))
    }

    /// The string as `&str`.
    pub fn as_str(&self) -> &str {
        // The constructor checked UTF-8 and the bytes are immutable.
        std::str::from_utf8(&self.0).expect("ByteStr holds UTF-8 by construction")
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Consumes the string, returning the underlying bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing this buffer. `sub` must be a slice of `self.as_str()`
    /// (for example the result of `trim()` or `split()` on it).
    ///
    /// # Panics
    /// When `sub` does not point into this string: that is a programming error.
    pub fn slice_ref(&self, sub: &str) -> ByteStr {
        if sub.is_empty() {
            return ByteStr::new();
        }
        ByteStr(self.0.slice_ref(sub.as_bytes()))
    }

    /// Case-insensitive ASCII comparison.
    pub fn eq_ignore_ascii_case(&self, other: &str) -> bool {
        self.0.eq_ignore_ascii_case(other.as_bytes())
    }
}

impl Deref for ByteStr {
    type Target = str;
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
        ByteStr(Bytes::from(s))
    }
}

impl From<&str> for ByteStr {
    fn from(s: &str) -> Self {
        ByteStr(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl PartialEq<str> for ByteStr {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for ByteStr {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
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
