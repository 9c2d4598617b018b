//! Generic `;name=value` parameters of URIs and header values (RFC 3261 §25.1).

use std::fmt;

use smallvec::SmallVec;

use crate::bytestr::ByteStr;
use crate::write::{TextSink, WriteSip, display};

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

/// The name of a parsed parameter: a common name written exactly as here is
/// a static string (no reference to count, nothing to slice), any other is a
/// slice of `src`. Both read the same.
pub(crate) fn param_name(src: &ByteStr, name: &str) -> ByteStr {
    let known = match name {
        "tag" => "tag",
        "branch" => "branch",
        "rport" => "rport",
        "received" => "received",
        "expires" => "expires",
        "transport" => "transport",
        "lr" => "lr",
        "q" => "q",
        "user" => "user",
        "ob" => "ob",
        "reg-id" => "reg-id",
        "+sip.instance" => "+sip.instance",
        "maddr" => "maddr",
        _ => return src.slice_ref(name),
    };
    ByteStr::from_static(known)
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

/// Parameters kept without a heap allocation; a Via carries `branch`,
/// `rport` and `received`, a Contact `expires`, `reg-id` and `+sip.instance`.
const INLINE_PARAMS: usize = 4;

/// An ordered list of parameters. Up to four are stored inline; more spill to
/// the heap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Params(SmallVec<[Param; INLINE_PARAMS]>);

impl Params {
    /// No parameters. Usable in constants; at run time `Params::default()`
    /// is the same list and cheaper to make (nothing is zeroed).
    pub const fn new() -> Self {
        Params(SmallVec::new_const())
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

    /// Appends a parameter (even when one of that name exists already).
    pub fn push(&mut self, param: Param) {
        self.0.push(param);
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

    /// The parameters in order.
    pub fn as_slice(&self) -> &[Param] {
        &self.0
    }
}

impl FromIterator<Param> for Params {
    fn from_iter<I: IntoIterator<Item = Param>>(iter: I) -> Self {
        Params(iter.into_iter().collect())
    }
}

impl From<Vec<Param>> for Params {
    fn from(params: Vec<Param>) -> Self {
        Params(SmallVec::from_vec(params))
    }
}

impl<'a> IntoIterator for &'a Params {
    type Item = &'a Param;
    type IntoIter = std::slice::Iter<'a, Param>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Written as `;name=value;flag`.
impl WriteSip for Params {
    fn write_to<S: TextSink + ?Sized>(&self, out: &mut S) {
        for p in &self.0 {
            out.push_char(';');
            out.push_str(&p.name);
            if let Some(v) = &p.value {
                out.push_char('=');
                out.push_str(v);
            }
        }
    }
}

/// Writes the parameters as `;name=value;flag`.
impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        display(self, f)
    }
}
