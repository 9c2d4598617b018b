//! The ordered header list of a message (RFC 3261 §7.3).

use crate::bytestr::ByteStr;
use crate::header_name::HeaderName;

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
