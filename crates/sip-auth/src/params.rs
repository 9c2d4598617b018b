//! The `Digest` scheme prefix and the `auth-param` list grammar shared by
//! challenges and credentials (RFC 3261 §25.1, RFC 7616 §3.3–3.4), plus the
//! quoted-string writer used when serializing them.

use std::borrow::Cow;
use std::fmt;

use crate::error::{AuthError, echo};

/// Most parameters accepted in one header value. Real clients send about ten;
/// the limit keeps duplicate detection cheap on hostile input.
pub(crate) const MAX_PARAMS: usize = 32;

/// Linear whitespace between elements. Header values arrive unfolded, but a
/// stray CR or LF between elements is tolerated like a space.
fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// RFC 3261 §25.1 `token` characters.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
        )
}

/// Characters of an unquoted value. Stricter senders use a `token`; some phones
/// send URIs or base64 unquoted, so any visible ASCII except the delimiters is
/// taken.
fn is_bare_value(b: u8) -> bool {
    b.is_ascii_graphic() && b != b',' && b != b'"'
}

/// Strips the scheme and returns the parameter list and its offset in `value`.
/// The scheme must be `Digest` (case-insensitive) followed by whitespace or the
/// end of the value.
pub(crate) fn strip_digest_scheme(value: &str) -> Result<(&str, usize), AuthError> {
    let bytes = value.as_bytes();
    let start = bytes
        .iter()
        .position(|&b| !is_lws(b))
        .unwrap_or(bytes.len());
    let end = bytes[start..]
        .iter()
        .position(|&b| !is_token(b))
        .map_or(bytes.len(), |n| start + n);
    if !value[start..end].eq_ignore_ascii_case("Digest") {
        return Err(AuthError::NotDigest);
    }
    if end < bytes.len() && !is_lws(bytes[end]) {
        return Err(AuthError::Syntax {
            at: end,
            reason: "expected whitespace after the scheme",
        });
    }
    Ok((&value[end..], end))
}

/// One `name=value` pair, borrowed from the header value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Param<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: Value<'a>,
}

/// A parameter value: a bare token or the inside of a quoted string.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Value<'a> {
    raw: &'a str,
    escaped: bool,
}

impl<'a> Value<'a> {
    /// The value with quoted-pairs resolved; borrowed unless it had escapes.
    pub(crate) fn unescape(self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(self.raw);
        }
        let mut out = String::with_capacity(self.raw.len());
        let mut chars = self.raw.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                // The tokenizer guarantees a backslash is followed by a character.
                out.extend(chars.next());
            } else {
                out.push(c);
            }
        }
        Cow::Owned(out)
    }

    /// The value as written, for tokens whose escapes make no sense (qop, nc).
    pub(crate) fn raw(self) -> &'a str {
        self.raw
    }
}

/// Iterator over the `auth-param` list. Stops after the first error. Empty list
/// elements (`a=1, , b=2`) are skipped as RFC 7230 §7 asks of recipients.
pub(crate) struct Params<'a> {
    text: &'a str,
    pos: usize,
    base: usize,
    count: usize,
    failed: bool,
}

impl<'a> Params<'a> {
    /// Iterates the list in `text`; `base` is its offset in the whole header
    /// value, used for error positions.
    pub(crate) fn new(text: &'a str, base: usize) -> Params<'a> {
        Params {
            text,
            pos: 0,
            base,
            count: 0,
            failed: false,
        }
    }

    fn syntax(&mut self, reason: &'static str) -> Option<Result<Param<'a>, AuthError>> {
        self.failed = true;
        Some(Err(AuthError::Syntax {
            at: self.base + self.pos,
            reason,
        }))
    }

    fn skip_lws(&mut self) {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && is_lws(bytes[self.pos]) {
            self.pos += 1;
        }
    }

    /// Parses a quoted string starting at the opening quote.
    fn quoted(&mut self) -> Result<Value<'a>, &'static str> {
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            match bytes.get(i) {
                None => return Err("unterminated quoted string"),
                Some(b'"') => break,
                Some(b'\\') => {
                    // RFC 3261 §25.1 quoted-pair: any ASCII except CR and LF.
                    match bytes.get(i + 1) {
                        Some(&b) if b.is_ascii() && b != b'\r' && b != b'\n' => {}
                        _ => return Err("invalid escape in quoted string"),
                    }
                    escaped = true;
                    i += 2;
                }
                Some(&b) if (b < 0x20 && b != b'\t') || b == 0x7f => {
                    return Err("control character in quoted string");
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(Value {
            raw: &self.text[start..i],
            escaped,
        })
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, AuthError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let bytes = self.text.as_bytes();
        loop {
            self.skip_lws();
            match bytes.get(self.pos) {
                None => return None,
                Some(b',') => self.pos += 1,
                Some(_) => break,
            }
        }
        if self.count == MAX_PARAMS {
            self.failed = true;
            return Some(Err(AuthError::TooManyParams { limit: MAX_PARAMS }));
        }
        let name_start = self.pos;
        while self.pos < bytes.len() && is_token(bytes[self.pos]) {
            self.pos += 1;
        }
        if self.pos == name_start {
            return self.syntax("expected a parameter name");
        }
        let name = &self.text[name_start..self.pos];
        self.skip_lws();
        if bytes.get(self.pos) != Some(&b'=') {
            return self.syntax("expected '=' after the parameter name");
        }
        self.pos += 1;
        self.skip_lws();
        let value = match bytes.get(self.pos) {
            Some(b'"') => match self.quoted() {
                Ok(v) => v,
                Err(reason) => return self.syntax(reason),
            },
            Some(&b) if is_bare_value(b) => {
                let start = self.pos;
                while self.pos < bytes.len() && is_bare_value(bytes[self.pos]) {
                    self.pos += 1;
                }
                Value {
                    raw: &self.text[start..self.pos],
                    escaped: false,
                }
            }
            _ => return self.syntax("expected a parameter value"),
        };
        self.skip_lws();
        match bytes.get(self.pos) {
            None => {}
            Some(b',') => self.pos += 1,
            Some(_) => return self.syntax("expected ',' between parameters"),
        }
        self.count += 1;
        Some(Ok(Param { name, value }))
    }
}

/// Names of parameters the parser does not interpret, kept to reject repeats.
pub(crate) struct UnknownNames<'a> {
    names: [&'a str; MAX_PARAMS],
    len: usize,
}

impl<'a> UnknownNames<'a> {
    pub(crate) fn new() -> UnknownNames<'a> {
        UnknownNames {
            names: [""; MAX_PARAMS],
            len: 0,
        }
    }

    /// Records `name`; fails if it was seen before (case-insensitively).
    pub(crate) fn insert(&mut self, name: &'a str) -> Result<(), AuthError> {
        let seen = &self.names[..self.len];
        if seen.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(AuthError::DuplicateParam { name: echo(name) });
        }
        // `Params` yields at most MAX_PARAMS items, so there is always room.
        if let Some(slot) = self.names.get_mut(self.len) {
            *slot = name;
            self.len += 1;
        }
        Ok(())
    }
}

/// Stores `value` in `slot`, rejecting a second occurrence of `name`.
pub(crate) fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), AuthError> {
    if slot.is_some() {
        return Err(AuthError::DuplicateParam { name: echo(name) });
    }
    *slot = Some(value);
    Ok(())
}

/// Writes `s` as a quoted string, escaping `"` and `\`. Control characters
/// cannot be represented (RFC 3261 §25.1) and are dropped so that a value from
/// configuration can never break the header line.
pub(crate) fn write_quoted(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    let mut rest = s;
    while let Some(i) = rest
        .bytes()
        .position(|b| b == b'"' || b == b'\\' || b < 0x20 || b == 0x7f)
    {
        out.write_str(&rest[..i])?;
        let b = rest.as_bytes()[i];
        if b == b'"' || b == b'\\' {
            out.write_char('\\')?;
            out.write_char(char::from(b))?;
        }
        rest = &rest[i + 1..];
    }
    out.write_str(rest)?;
    out.write_char('"')
}

/// Whether `s` can be written as a quoted string without losing characters.
pub(crate) fn is_quotable(s: &str) -> bool {
    !s.bytes().any(|b| b < 0x20 || b == 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(list: &str) -> Result<Vec<(String, String)>, AuthError> {
        Params::new(list, 0)
            .map(|p| p.map(|p| (p.name.to_owned(), p.value.unescape().into_owned())))
            .collect()
    }

    #[test]
    fn scheme_is_case_insensitive_and_needs_a_separator() {
        assert_eq!(strip_digest_scheme("Digest a=1"), Ok((" a=1", 6)));
        assert_eq!(strip_digest_scheme("  dIgEsT\ta=1"), Ok(("\ta=1", 8)));
        assert_eq!(strip_digest_scheme("Digest"), Ok(("", 6)));
        assert_eq!(
            strip_digest_scheme("Basic QWxhZGRpbg=="),
            Err(AuthError::NotDigest)
        );
        assert_eq!(
            strip_digest_scheme("Digestrealm=x"),
            Err(AuthError::NotDigest)
        );
        assert_eq!(strip_digest_scheme(""), Err(AuthError::NotDigest));
        assert!(matches!(
            strip_digest_scheme("Digest=x"),
            Err(AuthError::Syntax { at: 6, .. })
        ));
    }

    #[test]
    fn list_grammar_table() {
        let ok: &[(&str, &[(&str, &str)])] = &[
            ("a=1", &[("a", "1")]),
            (" a = 1 , b=\"x y\" ", &[("a", "1"), ("b", "x y")]),
            ("a=\"1,2\",b=3", &[("a", "1,2"), ("b", "3")]),
            (
                r#"a="say \"hi\"", b="c:\\d""#,
                &[("a", r#"say "hi""#), ("b", r"c:\d")],
            ),
            ("a=1,,b=2,", &[("a", "1"), ("b", "2")]),
            ("a=\"\"", &[("a", "")]),
            (
                "uri=sip:bob@example.test",
                &[("uri", "sip:bob@example.test")],
            ),
            ("a=\"é ü\"", &[("a", "é ü")]),
            ("", &[]),
            ("  ", &[]),
        ];
        for (input, want) in ok {
            let got = collect(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            let want: Vec<_> = want
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            assert_eq!(got, want, "{input:?}");
        }
        let bad = [
            ("a", 1),
            ("a=", 2),
            ("=1", 0),
            ("a=\"x", 2),
            ("a=\"x\"y", 5),
            ("a=1 b=2", 4),
            ("a=\"x\\", 2),
            ("a=\"x\ny\"", 2),
            ("a=\"x\0\"", 2),
            ("a=b\"c\"", 3),
            ("é=1", 0),
            ("a=é", 2),
        ];
        for (input, at) in bad {
            match collect(input) {
                Err(AuthError::Syntax { at: got, .. }) => assert_eq!(got, at, "{input:?}"),
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn unescape_borrows_when_possible() {
        let p = Params::new("a=\"plain\"", 0).next().unwrap().unwrap();
        assert!(matches!(p.value.unescape(), Cow::Borrowed("plain")));
        let p = Params::new(r#"a="q\"q""#, 0).next().unwrap().unwrap();
        assert!(matches!(p.value.unescape(), Cow::Owned(ref s) if s == "q\"q"));
        assert_eq!(p.value.raw(), r#"q\"q"#);
    }

    #[test]
    fn parameter_count_is_bounded() {
        let list = vec!["a=1"; MAX_PARAMS + 1].join(",");
        let results: Vec<_> = Params::new(&list, 0).collect();
        assert_eq!(results.len(), MAX_PARAMS + 1);
        assert_eq!(
            results.last().unwrap().as_ref().unwrap_err(),
            &AuthError::TooManyParams { limit: MAX_PARAMS }
        );
    }

    #[test]
    fn unknown_names_reject_repeats() {
        let mut names = UnknownNames::new();
        names.insert("domain").unwrap();
        names.insert("charset").unwrap();
        assert_eq!(
            names.insert("DOMAIN"),
            Err(AuthError::DuplicateParam {
                name: "DOMAIN".into()
            })
        );
    }

    #[test]
    fn quoted_writer_escapes_and_drops_controls() {
        let mut out = String::new();
        write_quoted(&mut out, "a\"b\\c\r\nd").unwrap();
        assert_eq!(out, r#""a\"b\\cd""#);
        assert!(is_quotable("sip:alice@example.test"));
        assert!(!is_quotable("a\r\nb"));
    }
}
