//! Lexical building blocks shared by the parsers (RFC 3261 §25.1): character
//! classes, a byte cursor, quoted strings, top-level comma splitting and
//! `;name=value` header parameters.

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::params::{Param, Params, param_name};

/// `token` characters: alphanum and `-.!%*_+`'~` (RFC 3261 §25.1).
#[inline]
pub(crate) const fn is_token_byte(b: u8) -> bool {
    TOKEN[b as usize]
}

const TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    table
};

/// Bytes of an unquoted parameter value: visible characters other than
/// `;`, `,` and `"` (RFC 3261 §25.1 `gen-value` as token or host).
#[inline]
pub(crate) const fn is_param_value_byte(b: u8) -> bool {
    PARAM_VALUE[b as usize]
}

const PARAM_VALUE: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0x21;
    while i < 256 {
        table[i] = !matches!(i as u8, b';' | b',' | b'"');
        i += 1;
    }
    table
};

/// A non-empty run of token characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_byte)
}

/// SP or HTAB.
#[inline]
pub(crate) const fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trims SP and HTAB on both sides.
pub(crate) fn trim_wsp(s: &str) -> &str {
    trim_end_wsp(trim_start_wsp(s))
}

/// Trims SP and HTAB at the end.
pub(crate) fn trim_end_wsp(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut end = bytes.len();
    while end > 0 && is_wsp(bytes[end - 1]) {
        end -= 1;
    }
    &s[..end]
}

/// Trims SP and HTAB at the start.
pub(crate) fn trim_start_wsp(s: &str) -> &str {
    let bytes = s.as_bytes();
    let mut start = 0;
    while start < bytes.len() && is_wsp(bytes[start]) {
        start += 1;
    }
    &s[start..]
}

/// Given `s[start] == b'"'`, the index just after the closing quote of the
/// quoted-string, honouring `\` quoted-pairs; `None` when it is unterminated
/// or holds a CR or LF, which a quoted-string cannot carry once folding is
/// undone, not even as a quoted-pair (RFC 3261 §25.1).
pub(crate) fn quoted_end(s: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < s.len() {
        match s[i] {
            b'\r' | b'\n' => return None,
            b'\\' if matches!(s.get(i + 1), Some(b'\r' | b'\n')) => return None,
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A forward-only reader over a `&str`. Every predicate used with it either
/// accepts all non-ASCII bytes or rejects them all, so the slices it returns
/// always fall on character boundaries.
#[derive(Debug)]
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Skips SP/HTAB; returns how many were skipped.
    #[inline]
    pub(crate) fn skip_wsp(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(is_wsp) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Consumes `b` when it is next.
    #[inline]
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes the longest run of bytes accepted by `accept`.
    #[inline]
    pub(crate) fn take_while(&mut self, accept: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        let rest = &self.text.as_bytes()[start..];
        let len = rest.iter().position(|&b| !accept(b)).unwrap_or(rest.len());
        self.pos = start + len;
        &self.text[start..self.pos]
    }

    /// Consumes a quoted-string (quotes included); `None` when unterminated.
    pub(crate) fn quoted(&mut self) -> Option<&'a str> {
        let end = quoted_end(self.text.as_bytes(), self.pos)?;
        let s = &self.text[self.pos..end];
        self.pos = end;
        Some(s)
    }

    /// Consumes the next `n` bytes (`n` must end on a character boundary).
    pub(crate) fn take_n(&mut self, n: usize) -> &'a str {
        let end = (self.pos + n).min(self.text.len());
        let s = &self.text[self.pos..end];
        self.pos = end;
        s
    }

    /// Byte offset of the next unread byte.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Everything not consumed yet.
    #[inline]
    pub(crate) fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }
}

/// Splits a header value on commas that are outside quoted strings and
/// outside `<…>` (RFC 3261 §7.3.1), trimming each element. Empty elements are
/// kept so that a later typed parse reports them.
pub(crate) fn split_commas(s: &str) -> SplitCommas<'_> {
    SplitCommas {
        text: s,
        pos: 0,
        done: false,
    }
}

/// Iterator returned by [`split_commas`].
#[derive(Debug)]
pub(crate) struct SplitCommas<'a> {
    text: &'a str,
    pos: usize,
    done: bool,
}

impl<'a> Iterator for SplitCommas<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let bytes = self.text.as_bytes();
        let start = self.pos;
        let mut i = start;
        let mut in_angle = false;
        while i < bytes.len() {
            match bytes[i] {
                b'"' if !in_angle => match quoted_end(bytes, i) {
                    Some(end) => {
                        i = end;
                        continue;
                    }
                    // An unterminated quote swallows the rest of the value.
                    None => i = bytes.len(),
                },
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                b',' if !in_angle => {
                    self.pos = i + 1;
                    return Some(trim_wsp(&self.text[start..i]));
                }
                _ => {}
            }
            i += 1;
        }
        self.done = true;
        Some(trim_wsp(&self.text[start..]))
    }
}

/// Parses header parameters `*( SEMI generic-param )` with optional whitespace
/// around `;` and `=` (RFC 3261 §25.1, `generic-param`). `rest` must be a slice
/// of `src`; names and values share `src`'s buffer. Values keep their quotes.
/// `what` names the header or element in errors. The parameters are appended
/// to `params`.
pub(crate) fn parse_header_params(
    src: &ByteStr,
    rest: &str,
    what: &'static str,
    params: &mut Params,
) -> Result<(), ParseError> {
    let mut c = Cursor::new(rest);
    loop {
        c.skip_wsp();
        if c.at_end() {
            return Ok(());
        }
        if !c.eat(b';') {
            return Err(ParseError::header(what, "expected ';' before a parameter"));
        }
        c.skip_wsp();
        let name = c.take_while(is_token_byte);
        if name.is_empty() {
            return Err(ParseError::header(what, "empty parameter"));
        }
        c.skip_wsp();
        let value = if c.eat(b'=') {
            c.skip_wsp();
            let v = if c.peek() == Some(b'"') {
                c.quoted().ok_or_else(|| {
                    ParseError::header(what, "unterminated quoted parameter value")
                })?
            } else {
                c.take_while(is_param_value_byte)
            };
            if v.is_empty() {
                return Err(ParseError::header(what, "empty parameter value"));
            }
            Some(src.slice_ref(v))
        } else {
            None
        };
        params.push(Param {
            name: param_name(src, name),
            value,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_respects_quotes_and_angles() {
        let v: Vec<_> =
            split_commas(r#""a, b" <sip:x@example.com;p=1,2>;q=1 , <sip:y@example.com>"#).collect();
        assert_eq!(
            v,
            [
                r#""a, b" <sip:x@example.com;p=1,2>;q=1"#,
                "<sip:y@example.com>"
            ]
        );
        let v: Vec<_> = split_commas("a,,b,").collect();
        assert_eq!(v, ["a", "", "b", ""]);
        let v: Vec<_> = split_commas(r#"<sip:a>;x="<u>,\"v" , b"#).collect();
        assert_eq!(v, [r#"<sip:a>;x="<u>,\"v""#, "b"]);
        let v: Vec<_> = split_commas(r#""unterminated, x"#).collect();
        assert_eq!(v, [r#""unterminated, x"#]);
    }

    #[test]
    fn header_params_with_whitespace_and_quotes() {
        let src = ByteStr::from(r#" ;  tag    = 1918181833n ; lr ;x="a;b\"c""#);
        let mut p = Params::new();
        parse_header_params(&src, src.as_str(), "To", &mut p).unwrap();
        assert_eq!(p.value("tag").unwrap(), "1918181833n");
        assert_eq!(p.get("lr"), Some(None));
        assert_eq!(p.value("x").unwrap(), r#""a;b\"c""#);
        assert_eq!(p.find("x").unwrap().unquoted().unwrap(), r#"a;b"c"#);
    }

    #[test]
    fn header_params_errors() {
        for bad in [";;", ";a=", "; =b", ";a=b c", r#";a="open"#, "x", ";a=b,"] {
            let src = ByteStr::from(bad);
            assert!(
                parse_header_params(&src, src.as_str(), "X", &mut Params::new()).is_err(),
                "{bad:?} accepted"
            );
        }
    }
}
