//! Generic `;name=value` parameters of URIs and header values (RFC 3261 §25.1).

use std::fmt;

use crate::bytestr::ByteStr;

/// One parameter. `value` is kept exactly as written (a quoted-string keeps its
/// quotes; use [`Param::unquoted`] for its content).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Name as written; compared case-insensitively.
    pub name: ByteStr,
    /// Value as written, `None` for a flag parameter such as `;lr` or `;rport`.
    pub value: Option<ByteStr>,
}

impl Param {
    /// The value with surrounding quotes removed and `\` escapes resolved.
    pub fn unquoted(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.value.as_deref().map(unquote)
    }
}

/// Removes the quotes of a quoted-string and resolves its quoted-pairs
/// (RFC 3261 §25.1); other text is returned unchanged.
pub fn unquote(s: &str) -> std::borrow::Cow<'_, str> {
    let Some(inner) = s
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|_| s.len() >= 2)
    else {
        return std::borrow::Cow::Borrowed(s);
    };
    if !inner.contains('\\') {
        return std::borrow::Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An ordered list of parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params(pub Vec<Param>);

impl Params {
    /// No parameters.
    pub const fn new() -> Self {
        Params(Vec::new())
    }

    /// The first parameter called `name` (case-insensitive).
    pub fn find(&self, name: &str) -> Option<&Param> {
        self.0.iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Whether a parameter called `name` is present (with or without value).
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The raw value of `name`: `None` when absent, `Some(None)` for a flag.
    pub fn get(&self, name: &str) -> Option<Option<&ByteStr>> {
        self.find(name).map(|p| p.value.as_ref())
    }

    /// The raw value of `name` when present with a value.
    pub fn value(&self, name: &str) -> Option<&ByteStr> {
        self.find(name).and_then(|p| p.value.as_ref())
    }

    /// Sets `name` to `value`, replacing an existing parameter of that name in
    /// place or appending a new one.
    pub fn set(&mut self, name: &str, value: Option<ByteStr>) {
        match self
            .0
            .iter_mut()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            Some(p) => p.value = value,
            None => self.0.push(Param {
                name: ByteStr::from(name),
                value,
            }),
        }
    }

    /// Removes every parameter called `name`.
    pub fn remove(&mut self, name: &str) {
        self.0.retain(|p| !p.name.eq_ignore_ascii_case(name));
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Param> {
        self.0.iter()
    }
}

/// Writes the parameters as `;name=value;flag`.
impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match &p.value {
                Some(v) => write!(f, ";{}={}", p.name, v)?,
                None => write!(f, ";{}", p.name)?,
            }
        }
        Ok(())
    }
}
