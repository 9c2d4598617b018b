//! The header section: lines, folding, compact names, comma-separated values
//! and Content-Length (RFC 3261 §7.3, §7.5, §20.14).

use crate::bytestr::ByteStr;
use crate::error::ParseError;
use crate::header_name::HeaderName;
use crate::headers::{Header, Headers};

use super::lex::{is_token_byte, is_wsp, split_commas, trim_wsp};

/// Number of bytes of CR and LF before the start line (RFC 3261 §7.5 says to
/// ignore them on streams; they are harmless on datagrams too).
pub(crate) fn leading_crlf_len(buf: &[u8]) -> usize {
    buf.iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count()
}

/// Finds the empty line that ends the header section, scanning for LF from
/// `from`. Returns `(head_end, body_start)`: `head_end` is just after the line
/// feed of the last header line, `body_start` just after the empty line. Lines
/// may end in CRLF or a bare LF.
pub(crate) fn find_head_end(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let from = from.min(buf.len());
    for i in memchr::memchr_iter(b'\n', &buf[from..]) {
        let i = from + i;
        match buf.get(i + 1) {
            Some(b'\n') => return Some((i + 1, i + 2)),
            Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some((i + 1, i + 3)),
            _ => {}
        }
    }
    None
}

/// A Content-Length value: digits only, no sign (RFC 3261 §20.14).
pub(crate) fn parse_content_length(value: &[u8]) -> Result<usize, ParseError> {
    let err = |reason| ParseError::header("Content-Length", reason);
    let value = value.trim_ascii();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return Err(err("not a non-negative integer"));
    }
    let digits = &value[value.iter().take_while(|b| **b == b'0').count()..];
    if digits.len() > 12 {
        return Err(err("value too large"));
    }
    Ok(digits
        .iter()
        .fold(0usize, |n, d| n * 10 + usize::from(d - b'0')))
}

/// Records one Content-Length value; repeated values must agree.
pub(crate) fn note_content_length(
    seen: &mut Option<usize>,
    value: &[u8],
) -> Result<(), ParseError> {
    let n = parse_content_length(value)?;
    match *seen {
        Some(previous) if previous != n => {
            Err(ParseError::header("Content-Length", "conflicting values"))
        }
        _ => {
            *seen = Some(n);
            Ok(())
        }
    }
}

/// Checks that every CR of `text` is followed by LF: a CR elsewhere is
/// invalid in the start line and header section (RFC 3261 §7, §25.1).
/// Returns the line holding the first bare CR.
fn find_bare_cr(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let at = memchr::memchr_iter(b'\r', bytes).find(|&i| bytes.get(i + 1) != Some(&b'\n'))?;
    let start = memchr::memrchr(b'\n', &bytes[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i);
    Some(&text[start..end])
}

/// At most `max` bytes of `s`, cut on a character boundary (for error text).
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The lines of a header section, without their CRLF or LF, cut at line
/// feeds found beforehand (see [`super::lines`]).
struct Lines<'a> {
    text: &'a str,
    /// Offsets of the LFs of `text`, each plus `base`.
    lfs: &'a [usize],
    base: usize,
    next_lf: usize,
    pos: usize,
    /// Lines seen so far that ended in CRLF.
    crlf: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Option<&'a str> {
        let line = match self.lfs.get(self.next_lf) {
            Some(&lf) => {
                let lf = lf - self.base;
                self.next_lf += 1;
                let line = &self.text[self.pos..lf];
                self.pos = lf + 1;
                line
            }
            // A last line without LF (salvaged input).
            None if self.pos < self.text.len() => {
                let line = &self.text[self.pos..];
                self.pos = self.text.len();
                line
            }
            None => return None,
        };
        Some(match line.strip_suffix('\r') {
            Some(stripped) => {
                self.crlf += 1;
                stripped
            }
            None => line,
        })
    }

    /// Whether the next line starts with whitespace (folding, RFC 3261 §7.3.1).
    fn continues(&self) -> bool {
        self.text
            .as_bytes()
            .get(self.pos)
            .is_some_and(|b| is_wsp(*b))
    }
}

/// The most header field values a message may carry (after splitting comma
/// lists); more is refused as [`ParseError::TooManyHeaders`], in every mode.
pub const MAX_HEADER_FIELDS: usize = 256;

/// The most Via values a message may carry: a request that starts with
/// Max-Forwards 70 (RFC 3261 §8.1.1.6) passes at most 70 proxies, each adding
/// one Via to the client's.
pub const MAX_VIAS: usize = 71;

/// Parses the header lines of `head` (a slice of `src`; lines end in LF,
/// possibly preceded by CR). `lfs` holds the offset of every LF of `head`
/// plus `base`. Values share `src` unless folding had to join lines. In
/// lenient mode (salvaging a broken request) malformed lines are skipped
/// instead of failing, otherwise a CR that does not end a line is an error;
/// `crs_checked` says the caller already knows there is none. Returns the
/// headers and the Content-Length.
pub(crate) fn parse_header_lines(
    src: &ByteStr,
    head: &str,
    lfs: &[usize],
    base: usize,
    lenient: bool,
    crs_checked: bool,
) -> Result<(Headers, Option<usize>), ParseError> {
    // One allocation for the whole list: one entry per line, and the vector
    // still grows if splitting comma lists adds more entries.
    let mut headers = Vec::with_capacity(lfs.len() + 2);
    let mut content_length = None;
    let mut vias = 0;
    let mut lines = Lines {
        text: head,
        lfs,
        base,
        next_lf: 0,
        pos: 0,
        crlf: 0,
    };
    while let Some(line) = lines.next_line() {
        let bytes = line.as_bytes();
        let skip_bad = lenient && memchr::memchr(b'\r', bytes).is_some();
        if skip_bad || bytes.first().is_some_and(|b| is_wsp(*b)) {
            if lenient {
                continue;
            }
            return Err(ParseError::header(
                prefix(trim_wsp(line), 40),
                "continuation line without a header",
            ));
        }
        let name_len = bytes
            .iter()
            .position(|&b| !is_token_byte(b))
            .unwrap_or(bytes.len());
        let name_text = &line[..name_len];
        // `name *WSP ":" *WSP value *WSP`, found by index: this runs for every
        // line of every message.
        let mut colon = name_len;
        while colon < bytes.len() && is_wsp(bytes[colon]) {
            colon += 1;
        }
        if name_len == 0 || bytes.get(colon) != Some(&b':') {
            if lenient {
                continue;
            }
            let reason = if !line.contains(':') {
                "line has no ':'"
            } else {
                "invalid header name"
            };
            return Err(ParseError::header(prefix(line, 40), reason));
        }
        let mut value_start = colon + 1;
        while value_start < bytes.len() && is_wsp(bytes[value_start]) {
            value_start += 1;
        }
        let mut value_end = bytes.len();
        while value_end > value_start && is_wsp(bytes[value_end - 1]) {
            value_end -= 1;
        }
        let first = &line[value_start..value_end];

        // Folding: continuation lines join with a single space (RFC 3261 §7.3.1).
        let mut folded: Option<String> = None;
        while lines.continues() {
            let Some(next) = lines.next_line() else { break };
            if lenient && memchr::memchr(b'\r', next.as_bytes()).is_some() {
                continue;
            }
            let part = trim_wsp(next);
            if part.is_empty() {
                continue;
            }
            let joined = folded.get_or_insert_with(|| first.to_owned());
            if !joined.is_empty() {
                joined.push(' ');
            }
            joined.push_str(part);
        }

        let name = HeaderName::lookup(name_text)
            .unwrap_or_else(|| HeaderName::Other(src.slice_ref(name_text)));
        let value_text = folded.as_deref().unwrap_or(first);
        if name == HeaderName::ContentLength {
            let noted = note_content_length(&mut content_length, value_text.as_bytes());
            if !lenient {
                noted?;
            }
        }
        let is_via = name == HeaderName::Via;
        let before = headers.len();
        match folded {
            None => push_values(&mut headers, name, first, |s| src.slice_ref(s)),
            Some(text) => {
                let owned = ByteStr::from(text);
                push_values(&mut headers, name, owned.as_str(), |s| owned.slice_ref(s));
            }
        }
        if is_via {
            vias += headers.len() - before;
            if vias > MAX_VIAS {
                return Err(ParseError::TooManyHeaders {
                    what: "Via",
                    limit: MAX_VIAS,
                });
            }
        }
        if headers.len() > MAX_HEADER_FIELDS {
            return Err(ParseError::TooManyHeaders {
                what: "header",
                limit: MAX_HEADER_FIELDS,
            });
        }
    }
    // Every CR must have ended a line: count them all at once rather than
    // searching each line (RFC 3261 §7, §25.1).
    if !lenient && !crs_checked && memchr::memchr_iter(b'\r', head.as_bytes()).count() != lines.crlf
    {
        let line = find_bare_cr(head).expect("a CR outside a CRLF exists");
        return Err(ParseError::header(
            prefix(line, 40),
            "carriage return inside a line",
        ));
    }
    Ok((Headers::from_vec(headers), content_length))
}

/// Pushes one entry, or one per top-level comma element for the headers that
/// are split on parse.
fn push_values(
    headers: &mut Vec<Header>,
    name: HeaderName,
    value: &str,
    share: impl Fn(&str) -> ByteStr,
) {
    if name.is_split_on_parse() && memchr::memchr(b',', value.as_bytes()).is_some() {
        for element in split_commas(value) {
            headers.push(Header {
                name: name.clone(),
                value: share(element),
            });
        }
    } else {
        headers.push(Header {
            name,
            value: share(value),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::lines::line_feeds;

    fn lines(head: &str) -> Result<(Headers, Option<usize>), ParseError> {
        let src = ByteStr::from(head);
        let lfs = line_feeds(head.as_bytes());
        parse_header_lines(&src, src.as_str(), &lfs, 0, false, false)
    }

    #[test]
    fn head_end_variants() {
        assert_eq!(find_head_end(b"A\r\nB: c\r\n\r\nbody", 0), Some((9, 11)));
        assert_eq!(find_head_end(b"A\nB: c\n\nbody", 0), Some((7, 8)));
        assert_eq!(find_head_end(b"A\r\nB: c\n\r\n", 0), Some((8, 10)));
        assert_eq!(find_head_end(b"A\r\nB: c\r\n\r", 0), None);
        assert_eq!(find_head_end(b"A\r\nB: c\r\n", 0), None);
        assert_eq!(find_head_end(b"", 5), None);
    }

    #[test]
    fn folding_and_compact_names() {
        let (h, cl) = lines(
            "v: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\n\
             Subject: one\r\n  two \r\n\tthree\r\n\
             l : 12\r\n\
             X-Empty:\r\n",
        )
        .unwrap();
        assert_eq!(cl, Some(12));
        assert_eq!(
            h.get(&HeaderName::Via).unwrap(),
            "SIP/2.0/UDP a.example.com;branch=z9hG4bK1"
        );
        assert_eq!(h.get(&HeaderName::Subject).unwrap(), "one two three");
        assert_eq!(h.get(&HeaderName::parse("x-empty")).unwrap(), "");
    }

    #[test]
    fn split_headers() {
        let (h, _) = lines(
            "Route: <sip:a.example.com;lr>, <sip:b.example.com;lr>\r\n\
             Contact: \"Doe, John\" <sip:j@example.com>;q=0.5,<sip:k@example.com>\r\n\
             Contact: *\r\n\
             Accept: application/sdp, text/plain\r\n",
        )
        .unwrap();
        assert_eq!(h.count(&HeaderName::Route), 2);
        let contacts: Vec<_> = h.get_all(&HeaderName::Contact).collect();
        assert_eq!(
            contacts,
            [
                "\"Doe, John\" <sip:j@example.com>;q=0.5",
                "<sip:k@example.com>",
                "*"
            ]
        );
        assert_eq!(
            h.get(&HeaderName::Accept).unwrap(),
            "application/sdp, text/plain"
        );
    }

    #[test]
    fn content_length_rules() {
        assert_eq!(lines("l: 5\r\nContent-Length: 05\r\n").unwrap().1, Some(5));
        for bad in [
            "Content-Length: -999\r\n",
            "Content-Length: 1\r\nl: 2\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Content-Length:\r\n",
            "Content-Length: 1 2\r\n",
        ] {
            assert!(lines(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            " leading: space\r\n",
            "NoColon\r\n",
            "Bad Name: x\r\n",
            ": x\r\n",
            "To: \"a\rb\" <sip:a@example.com>\r\n",
            "X: a\r\r\n",
            "X: a\r\n b\rc\r\n",
        ] {
            assert!(lines(bad).is_err(), "{bad:?} accepted");
        }
        let src = ByteStr::from_static(" x\r\nNoColon\r\nTo: <sip:a@example.com>\r\n");
        let lfs = line_feeds(src.as_bytes());
        let (h, _) = parse_header_lines(&src, src.as_str(), &lfs, 0, true, false).unwrap();
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn header_and_via_counts_are_bounded() {
        let fields = |n: usize| (0..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>();
        assert_eq!(
            lines(&fields(MAX_HEADER_FIELDS)).unwrap().0.len(),
            MAX_HEADER_FIELDS
        );
        // Comma lists count per element, and lenient parsing is bounded too.
        let over = format!(
            "{}Route: <sip:a.example.com>, <sip:b.example.com>\r\n",
            fields(MAX_HEADER_FIELDS - 1)
        );
        assert_eq!(
            lines(&over),
            Err(ParseError::TooManyHeaders {
                what: "header",
                limit: MAX_HEADER_FIELDS
            })
        );
        let src = ByteStr::from(over);
        let lfs = line_feeds(src.as_bytes());
        assert!(parse_header_lines(&src, src.as_str(), &lfs, 0, true, false).is_err());

        let via = |i: usize| format!("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK{i}");
        let vias = |n: usize| (0..n).map(via).collect::<Vec<_>>().join(", ");
        let ok = format!("Via: {}\r\n", vias(MAX_VIAS));
        assert_eq!(lines(&ok).unwrap().0.len(), MAX_VIAS);
        let split = format!("Via: {}\r\nVia: {}\r\n", vias(40), vias(MAX_VIAS - 39));
        assert_eq!(
            lines(&split),
            Err(ParseError::TooManyHeaders {
                what: "Via",
                limit: MAX_VIAS
            })
        );
    }
}
