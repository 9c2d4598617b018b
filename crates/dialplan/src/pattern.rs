//! Matching the dialed number (`to`) and the caller (`from`): literal strings, Asterisk-style
//! patterns compiled to a small byte matcher, and anchored regular expressions.
//!
//! Asterisk patterns start with `_`:
//!
//! | element | matches |
//! |---|---|
//! | `X` | one digit `0`–`9` |
//! | `Z` | one digit `1`–`9` |
//! | `N` | one digit `2`–`9` |
//! | `[15-7a]` | one character from the class (ranges with `-`) |
//! | `.` | one or more characters (must end the pattern) |
//! | `!` | zero or more characters (must end the pattern) |
//! | `-` | nothing: a separator for readability (`_1-800-NXX-XXXX`) |
//! | anything else | itself |
//!
//! `X`, `Z` and `N` are case-insensitive as in Asterisk. A pattern matches the whole string.

use std::fmt;
use std::str::FromStr;

use regex::Regex;

use crate::DialplanError;

/// One position of a compiled Asterisk pattern: the set of ASCII bytes it accepts (a literal is
/// a set of one), so matching is one shift and mask per character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Element(u128);

impl Element {
    fn byte(b: u8) -> Element {
        Element(1u128 << b)
    }

    fn matches(self, byte: u8) -> bool {
        byte < 128 && (self.0 >> byte) & 1 == 1
    }
}

/// What may follow the fixed-length part of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Nothing: the string ends with the last element.
    End,
    /// `.`: one or more further characters.
    OneOrMore,
    /// `!`: zero or more further characters.
    ZeroOrMore,
}

/// A compiled Asterisk-style pattern (written with a leading `_`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    elements: Box<[Element]>,
    tail: Tail,
}

/// Why a pattern does not compile, and the byte offset in the pattern text (`_` included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PatternError {
    pub(crate) offset: usize,
    pub(crate) reason: &'static str,
}

const DIGITS: u128 = class_range(b'0', b'9');

const fn class_range(first: u8, last: u8) -> u128 {
    let mut set = 0u128;
    let mut b = first;
    while b <= last {
        set |= 1u128 << b;
        b += 1;
    }
    set
}

impl Pattern {
    /// Compiles `text`, which starts with `_`.
    pub(crate) fn parse(text: &str) -> Result<Pattern, PatternError> {
        let bytes = text.as_bytes();
        debug_assert_eq!(bytes.first(), Some(&b'_'));
        let mut elements = Vec::with_capacity(bytes.len());
        let mut tail = Tail::End;
        let mut i = 1;
        while i < bytes.len() {
            let b = bytes[i];
            if tail != Tail::End {
                return Err(PatternError {
                    offset: i,
                    reason: "`.` and `!` must end the pattern",
                });
            }
            if !b.is_ascii() || b.is_ascii_control() || b == b' ' {
                return Err(PatternError {
                    offset: i,
                    reason: "patterns use printable ASCII characters only",
                });
            }
            match b {
                b'X' | b'x' => elements.push(Element(DIGITS)),
                b'Z' | b'z' => elements.push(Element(class_range(b'1', b'9'))),
                b'N' | b'n' => elements.push(Element(class_range(b'2', b'9'))),
                b'.' => tail = Tail::OneOrMore,
                b'!' => tail = Tail::ZeroOrMore,
                b'-' => {}
                b'[' => {
                    let (set, next) = parse_class(bytes, i)?;
                    elements.push(Element(set));
                    i = next;
                    continue;
                }
                b']' => {
                    return Err(PatternError {
                        offset: i,
                        reason: "`]` without a matching `[`",
                    });
                }
                _ => elements.push(Element::byte(b)),
            }
            i += 1;
        }
        if elements.is_empty() && tail == Tail::End {
            return Err(PatternError {
                offset: 0,
                reason: "empty pattern",
            });
        }
        Ok(Pattern {
            elements: elements.into_boxed_slice(),
            tail,
        })
    }

    /// Whether the pattern matches the whole of `s`.
    pub(crate) fn matches(&self, s: &str) -> bool {
        let s = s.as_bytes();
        let n = self.elements.len();
        let length_ok = match self.tail {
            Tail::End => s.len() == n,
            Tail::OneOrMore => s.len() > n,
            Tail::ZeroOrMore => s.len() >= n,
        };
        length_ok
            && self
                .elements
                .iter()
                .zip(s)
                .all(|(element, &byte)| element.matches(byte))
    }
}

/// Parses the class starting at `bytes[open] == b'['`; returns the set and the index after `]`.
fn parse_class(bytes: &[u8], open: usize) -> Result<(u128, usize), PatternError> {
    let mut set = 0u128;
    let mut i = open + 1;
    loop {
        let Some(&b) = bytes.get(i) else {
            return Err(PatternError {
                offset: open,
                reason: "`[` without a closing `]`",
            });
        };
        if b == b']' {
            if set == 0 {
                return Err(PatternError {
                    offset: open,
                    reason: "empty character class",
                });
            }
            return Ok((set, i + 1));
        }
        if !b.is_ascii() || b.is_ascii_control() || b == b' ' || b == b'[' {
            return Err(PatternError {
                offset: i,
                reason: "character classes hold printable ASCII characters only",
            });
        }
        if bytes.get(i + 1) == Some(&b'-') && bytes.get(i + 2).is_some_and(|&e| e != b']') {
            let last = bytes[i + 2];
            if !last.is_ascii() || last.is_ascii_control() || last < b {
                return Err(PatternError {
                    offset: i,
                    reason: "bad range in character class (write the smaller end first)",
                });
            }
            set |= class_range(b, last);
            i += 3;
        } else {
            set |= 1u128 << b;
            i += 1;
        }
    }
}

/// A number pattern as the dialplan's `to` and `from` keys take it: `_` starts an
/// Asterisk-style pattern (`_00.`, `_9NXXXXXX`, `_[1-5]XX`), anything else is a literal that
/// must equal the whole string (`100`, `alice`). Other parts of the system (call permissions,
/// the HTTP API's validation) use the same type, so a number means the same thing everywhere.
///
/// ```
/// use sb_dialplan::NumberPattern;
///
/// let international: NumberPattern = "_00.".parse().unwrap();
/// assert!(international.matches("0049301234"));
/// assert!(!international.matches("00"));
/// assert!(NumberPattern::parse("911").unwrap().matches("911"));
/// assert!(NumberPattern::parse("_9.1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberPattern {
    /// The text as written.
    text: Box<str>,
    /// The compiled pattern; `None` for a literal.
    compiled: Option<Pattern>,
}

impl NumberPattern {
    /// Compiles `text`: a pattern when it starts with `_`, a literal otherwise. An empty text or
    /// a pattern that does not compile is [`DialplanError::BadPattern`], naming it.
    pub fn parse(text: &str) -> Result<NumberPattern, DialplanError> {
        NumberPattern::compile(text).map_err(|e| DialplanError::BadPattern {
            pattern: text.to_owned(),
            reason: e.reason.to_owned(),
        })
    }

    /// Like [`NumberPattern::parse`], with the offset of the problem for diagnostics.
    pub(crate) fn compile(text: &str) -> Result<NumberPattern, PatternError> {
        let compiled = if text.starts_with('_') {
            Some(Pattern::parse(text)?)
        } else if text.is_empty() {
            return Err(PatternError {
                offset: 0,
                reason: "empty pattern",
            });
        } else {
            None
        };
        Ok(NumberPattern {
            text: text.into(),
            compiled,
        })
    }

    /// Whether the pattern matches the whole of `s` (a literal: exact, case-sensitive equality).
    pub fn matches(&self, s: &str) -> bool {
        match &self.compiled {
            Some(p) => p.matches(s),
            None => *self.text == *s,
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is an Asterisk-style pattern (written with `_`) rather than a literal.
    pub fn is_pattern(&self) -> bool {
        self.compiled.is_some()
    }
}

impl FromStr for NumberPattern {
    type Err = DialplanError;

    fn from_str(text: &str) -> Result<NumberPattern, DialplanError> {
        NumberPattern::parse(text)
    }
}

impl fmt::Display for NumberPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A compiled condition on a string: the whole string must match.
#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// A literal or an Asterisk-style pattern.
    Number(NumberPattern),
    /// A regular expression, anchored at both ends when compiled.
    Regex(Regex),
}

impl Matcher {
    /// Whether `s` matches.
    pub(crate) fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Number(n) => n.matches(s),
            Matcher::Regex(r) => r.is_match(s),
        }
    }

    /// The regular expression, when this matcher is one.
    pub(crate) fn regex(&self) -> Option<&Regex> {
        match self {
            Matcher::Regex(r) => Some(r),
            Matcher::Number(_) => None,
        }
    }
}

/// Compiles a `to`/`from` value: `_…` is an Asterisk pattern, anything else a literal.
pub(crate) fn compile_pattern(text: &str) -> Result<Matcher, PatternError> {
    NumberPattern::compile(text).map(Matcher::Number)
}

/// Why a regular expression does not compile, with the byte offset in the expression when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegexError {
    pub(crate) offset: Option<usize>,
    pub(crate) reason: String,
}

/// Compiles a `to_regex`/`from_regex` value, anchored at both ends.
pub(crate) fn compile_regex(text: &str) -> Result<Regex, RegexError> {
    // Parse first for an error with a position; `regex` only reports a formatted message.
    if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(text) {
        return Err(RegexError {
            offset: Some(e.span().start.offset),
            reason: e.kind().to_string(),
        });
    }
    if let Err(e) = regex_syntax::Parser::new().parse(text) {
        let offset = match &e {
            regex_syntax::Error::Translate(t) => Some(t.span().start.offset),
            regex_syntax::Error::Parse(p) => Some(p.span().start.offset),
            _ => None,
        };
        let reason = match &e {
            regex_syntax::Error::Translate(t) => t.kind().to_string(),
            regex_syntax::Error::Parse(p) => p.kind().to_string(),
            other => other.to_string(),
        };
        return Err(RegexError { offset, reason });
    }
    Regex::new(&format!("^(?:{text})$")).map_err(|e| RegexError {
        offset: None,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisk_semantics() {
        // (pattern, input, expected)
        let cases: &[(&str, &str, bool)] = &[
            ("_1XXX", "1000", true),
            ("_1XXX", "1999", true),
            ("_1XXX", "2000", false),
            ("_1XXX", "100", false),
            ("_1XXX", "10000", false),
            ("_1XXX", "1a00", false),
            ("_1xxx", "1234", true),
            ("_Z", "0", false),
            ("_Z", "1", true),
            ("_Z", "9", true),
            ("_N", "1", false),
            ("_N", "2", true),
            ("_n", "9", true),
            ("_NXXNXXXXXX", "2125551234", true),
            ("_NXXNXXXXXX", "2121551234", false),
            ("_NXXNXXXXXX", "1125551234", false),
            ("_NXXNXXXXXX", "212555123", false),
            ("_9.", "9", false),
            ("_9.", "91", true),
            ("_9.", "9123456789", true),
            ("_9.", "8123", false),
            ("_9!", "9", true),
            ("_9!", "91", true),
            ("_9!", "", false),
            ("_!", "", true),
            ("_!", "anything", true),
            ("_.", "", false),
            ("_.", "x", true),
            ("_X.", "1", false),
            ("_X.", "12", true),
            ("_[1-5]XX", "100", true),
            ("_[1-5]XX", "599", true),
            ("_[1-5]XX", "600", false),
            ("_[1-5]XX", "000", false),
            ("_[137]", "3", true),
            ("_[137]", "2", false),
            ("_[13-5]", "4", true),
            ("_[13-5]", "2", false),
            ("_[a-c]X", "b1", true),
            ("_[*#]", "#", true),
            ("_[-1]", "-", true),
            ("_[1-]", "-", true),
            ("_1-800-NXX-XXXX", "18002125555", true),
            ("_1-800-NXX-XXXX", "1-800-212-5555", false),
            ("_*43", "*43", true),
            ("_+X.", "+4930", true),
            ("_+X.", "4930", false),
            ("_alice", "alice", true),
            ("_alice", "Alice", false),
            ("_9.", "9é", true),
            ("_X", "é", false),
            ("_[1-5]", "\u{80}", false),
        ];
        for &(pattern, input, expected) in cases {
            let p = Pattern::parse(pattern).expect(pattern);
            assert_eq!(p.matches(input), expected, "{pattern} on {input:?}");
        }
    }

    #[test]
    fn literal_strings_match_exactly() {
        let m = compile_pattern("alice").expect("literal");
        assert!(m.matches("alice"));
        assert!(!m.matches("alice2"));
        assert!(!m.matches("Alice"));
        let m = compile_pattern("1XXX").expect("literal");
        assert!(m.matches("1XXX"));
        assert!(!m.matches("1000"));
    }

    #[test]
    fn bad_patterns_report_the_offset() {
        let cases: &[(&str, usize, &str)] = &[
            ("_", 0, "empty pattern"),
            ("", 0, "empty pattern"),
            ("_9.1", 3, "`.` and `!` must end the pattern"),
            ("_9!!", 3, "`.` and `!` must end the pattern"),
            ("_1[23", 2, "`[` without a closing `]`"),
            ("_1[]", 2, "empty character class"),
            ("_12]", 3, "`]` without a matching `[`"),
            (
                "_[5-1]",
                2,
                "bad range in character class (write the smaller end first)",
            ),
            ("_1 2", 2, "patterns use printable ASCII characters only"),
            ("_1é", 2, "patterns use printable ASCII characters only"),
            (
                "_[1[]",
                3,
                "character classes hold printable ASCII characters only",
            ),
        ];
        for &(pattern, offset, reason) in cases {
            let err = compile_pattern(pattern).expect_err(pattern);
            assert_eq!(err, PatternError { offset, reason }, "{pattern}");
        }
    }

    #[test]
    fn number_patterns_are_public_literals_or_patterns() {
        let p = NumberPattern::parse("_9NXXXXXX").expect("valid");
        assert!(p.is_pattern());
        assert!(p.matches("92125555"));
        assert!(!p.matches("91125555"));
        assert_eq!(p.to_string(), "_9NXXXXXX");
        let lit: NumberPattern = "100".parse().expect("literal");
        assert!(!lit.is_pattern());
        assert!(lit.matches("100"));
        assert!(!lit.matches("1000"));
        assert_eq!(lit.as_str(), "100");
        assert_eq!(
            NumberPattern::parse("_9.1"),
            Err(DialplanError::BadPattern {
                pattern: "_9.1".to_owned(),
                reason: "`.` and `!` must end the pattern".to_owned(),
            })
        );
        let err = NumberPattern::parse("").expect_err("empty");
        assert_eq!(err.to_string(), "bad pattern ``: empty pattern");
    }

    #[test]
    fn regexes_are_anchored_and_capture() {
        let r = compile_regex(r"\+?(\d+)").expect("valid");
        assert!(r.is_match("+4930"));
        assert!(!r.is_match("x4930"));
        assert!(!r.is_match("4930x"));
        let caps = r.captures("+4930").expect("matches");
        assert_eq!(&caps[1], "4930");
        // An alternation stays inside the anchors.
        let r = compile_regex("a|b").expect("valid");
        assert!(r.is_match("a"));
        assert!(!r.is_match("ab"));
    }

    #[test]
    fn bad_regexes_report_the_offset() {
        let cases: &[(&str, usize)] = &[("ab(c", 2), ("a{2,1}", 1), (r"\p{Nope}", 0), ("x)", 1)];
        for &(text, offset) in cases {
            let err = compile_regex(text).expect_err(text);
            assert_eq!(err.offset, Some(offset), "{text}: {}", err.reason);
            assert!(!err.reason.is_empty());
        }
    }
}
