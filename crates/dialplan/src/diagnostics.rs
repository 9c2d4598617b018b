//! Compiler diagnostics: what went wrong ([`DialplanError`]) and where ([`Diagnostic`]).

use std::fmt;

/// Everything the compiler can report about a dialplan, with structured fields.
///
/// A [`Diagnostic`] places one of these at a file, line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialplanError {
    /// The file is not valid TOML.
    #[error("TOML syntax: {message}")]
    Syntax {
        /// The TOML parser's message.
        message: String,
    },
    /// A key the format does not define (typos are errors, never ignored).
    #[error("unknown key `{key}` in {place}; expected one of: {expected}")]
    UnknownKey {
        /// The key as written.
        key: String,
        /// Where it was found ("context", "rule", "time window" …).
        place: &'static str,
        /// The keys allowed there.
        expected: &'static str,
    },
    /// A required key is absent.
    #[error("missing key `{key}` in {place}")]
    MissingKey {
        /// The key that must be present.
        key: &'static str,
        /// The table that lacks it.
        place: &'static str,
    },
    /// A value of the wrong TOML type.
    #[error("`{key}` must be {expected}, found {found}")]
    WrongType {
        /// The key (or action) whose value is wrong.
        key: String,
        /// What is accepted.
        expected: &'static str,
        /// The TOML type that was found.
        found: &'static str,
    },
    /// A value of the right type but not acceptable.
    #[error("bad `{key}`: {reason}")]
    BadValue {
        /// The key (or action) whose value is wrong.
        key: String,
        /// Why.
        reason: String,
    },
    /// An Asterisk-style pattern that cannot be compiled.
    #[error("bad pattern `{pattern}`: {reason}")]
    BadPattern {
        /// The pattern as written.
        pattern: String,
        /// Why.
        reason: String,
    },
    /// A regular expression that cannot be compiled.
    #[error("bad regular expression: {reason}")]
    BadRegex {
        /// The regular-expression parser's message.
        reason: String,
    },
    /// A `${…}` substitution that cannot be resolved.
    #[error("bad variable: {reason}")]
    BadVariable {
        /// Why.
        reason: String,
    },
    /// A time window that cannot be understood.
    #[error("bad time window `{key}`: {reason}")]
    BadTime {
        /// `days`, `hours`, `dates` or `tz`.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// An action name the format does not define.
    #[error("unknown action `{name}`; expected one of: {expected}")]
    UnknownAction {
        /// The action as written.
        name: String,
        /// The actions that exist.
        expected: &'static str,
    },
    /// `reject` with a code that is not a SIP failure status.
    #[error("SIP status {code} cannot reject a call; use a code from 400 to 699")]
    BadStatusCode {
        /// The code as written.
        code: i64,
    },
    /// `set_header` on a header the switch manages itself.
    #[error("header `{name}` is managed by the switch and cannot be set by the dialplan")]
    ProtectedHeader {
        /// The header name as written.
        name: String,
    },
    /// `goto`/`include` naming a context that no file defines.
    #[error("unknown context `{name}`")]
    UnknownContext {
        /// The name as written.
        name: String,
    },
    /// Two contexts with the same name.
    #[error("duplicate context `{name}`; first defined at {first}")]
    DuplicateContext {
        /// The name.
        name: String,
        /// `file:line:column` of the first definition.
        first: String,
    },
    /// `include` chains that lead back to where they started.
    #[error("include cycle: {path}")]
    IncludeCycle {
        /// The contexts on the cycle, `a → b → a`.
        path: String,
    },
    /// A `goto` that re-enters its own context without changing the number: the same rule would
    /// match again forever.
    #[error(
        "`goto {context}` re-enters the rule's own context without changing the number; the same rule would match forever"
    )]
    GotoLoop {
        /// The context.
        context: String,
    },
    /// A `trunk` action naming a trunk the configuration does not define.
    #[error(
        "trunk `{name}` is not configured; guard the rule with `if_trunk_configured = \"{name}\"` if it is optional"
    )]
    UnknownTrunk {
        /// The trunk name.
        name: String,
    },
    /// An action placed after one that ends the rule (`reject`, `echo`, `goto`).
    #[error("`{action}` is never run: it follows `{after}`, which ends the rule")]
    Unreachable {
        /// The unreachable action.
        action: &'static str,
        /// The action that ends the rule.
        after: &'static str,
    },
    /// A caller-id or header change after a routing step in the same rule.
    #[error(
        "`{action}` after `{step}` would change a call that is already being routed; move it before the first routing action"
    )]
    ModifierAfterStep {
        /// The modifier.
        action: &'static str,
        /// The routing step before it.
        step: &'static str,
    },
    /// A rule whose actions never route the call.
    #[error(
        "the rule has no action that routes the call (ring_user, ring_group, trunk, reject, echo, tone or goto)"
    )]
    NoRoutingAction,
    /// A timestamp (e.g. for `dialplan test --at`) that cannot be read.
    #[error("bad time `{text}`: {reason}")]
    BadTimestamp {
        /// The text as given.
        text: String,
        /// Why.
        reason: String,
    },
    /// Warning: a rule guarded by `if_trunk_configured` is left out.
    #[error("rule disabled: trunk `{name}` is not configured")]
    RuleDisabled {
        /// The trunk that is not configured.
        name: String,
    },
    /// Warning: a cycle of `goto`s that never changes the number.
    #[error(
        "`goto` may loop ({path}) without changing the number; such a call is refused after {limit} jumps"
    )]
    PossibleGotoLoop {
        /// The contexts on the cycle, `a → b → a`.
        path: String,
        /// The evaluator's jump limit.
        limit: usize,
    },
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The plan is not usable; [`compile`](crate::compile) fails.
    Error,
    /// The plan compiles; something deserves attention ([`Dialplan::warnings`](crate::Dialplan::warnings)).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem, placed in a source file. Displays as `file:line:column: error: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The source file's name as given in [`SourceFile::name`](crate::SourceFile::name).
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub error: DialplanError,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.severity, self.error
        )
    }
}

/// Maps byte offsets of one source text to 1-based line and column.
#[derive(Debug)]
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(line_starts(text));
        LineIndex { starts }
    }

    /// Line and column (in characters) of `offset`; offsets past the end land on the last line.
    pub(crate) fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let prefix = text.get(start..offset).unwrap_or("");
        let column = prefix.chars().count() + 1;
        (
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(column).unwrap_or(u32::MAX),
        )
    }
}

fn line_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

/// The byte offset in the source of the character at `decoded` bytes into the value of the TOML
/// string literal `raw` (the literal as written, quotes included, starting at `start`).
///
/// Used to point diagnostics inside a pattern, regex or template at the exact column even when
/// the literal contains escapes. Never panics; unknown shapes fall back to the literal's start.
pub(crate) fn string_offset(raw: &str, start: usize, decoded: usize) -> usize {
    let bytes = raw.as_bytes();
    let (delim, basic) = if raw.starts_with("\"\"\"") {
        (3, true)
    } else if raw.starts_with("'''") {
        (3, false)
    } else if raw.starts_with('"') {
        (1, true)
    } else if raw.starts_with('\'') {
        (1, false)
    } else {
        return start;
    };
    let mut i = delim;
    if delim == 3 {
        // A newline right after the opening delimiter is not part of the value.
        if bytes.get(i) == Some(&b'\n') {
            i += 1;
        } else if bytes.get(i..i + 2) == Some(b"\r\n") {
            i += 2;
        }
    }
    if !basic {
        return start + (i + decoded).min(raw.len());
    }
    let mut value = 0;
    while i < bytes.len() {
        let line_continuation =
            bytes[i] == b'\\' && matches!(bytes.get(i + 1), Some(b' ' | b'\t' | b'\r' | b'\n'));
        if line_continuation {
            // The backslash and all following whitespace vanish from the value.
            i += 1;
            while i < bytes.len() && matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n') {
                i += 1;
            }
            continue;
        }
        if value >= decoded {
            break;
        }
        let (raw_len, value_len) = match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'u')) => (6, hex_char_len(raw.get(i + 2..i + 6))),
            (b'\\', Some(b'U')) => (10, hex_char_len(raw.get(i + 2..i + 10))),
            (b'\\', Some(b'x')) => (4, hex_char_len(raw.get(i + 2..i + 4))),
            (b'\\', _) => (2, 1),
            _ => (1, 1),
        };
        i += raw_len;
        value += value_len;
    }
    start + i.min(raw.len())
}

fn hex_char_len(hex: Option<&str>) -> usize {
    hex.and_then(|h| u32::from_str_radix(h, 16).ok())
        .and_then(char::from_u32)
        .map_or(1, char::len_utf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column() {
        let text = "ab\ncdé f\n\nx";
        let index = LineIndex::new(text);
        assert_eq!(index.line_col(text, 0), (1, 1));
        assert_eq!(index.line_col(text, 2), (1, 3));
        assert_eq!(index.line_col(text, 3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(index.line_col(text, 8), (2, 5));
        assert_eq!(index.line_col(text, 10), (3, 1));
        assert_eq!(index.line_col(text, 11), (4, 1));
        assert_eq!(index.line_col(text, 99), (4, 2));
    }

    #[test]
    fn offsets_inside_string_literals() {
        // (literal, decoded offset, expected raw offset)
        let cases: &[(&str, usize, usize)] = &[
            ("\"abc\"", 0, 1),
            ("\"abc\"", 2, 3),
            ("'a\\d'", 2, 3),
            ("\"a\\\\d\"", 2, 4),
            ("\"\\u00e9x\"", 2, 7),
            ("\"\\tx\"", 1, 3),
            ("'''\nab'''", 1, 5),
            ("\"\"\"a\\\n   b\"\"\"", 1, 9),
            ("bare", 3, 0),
        ];
        for &(raw, decoded, expected) in cases {
            assert_eq!(
                string_offset(raw, 0, decoded),
                expected,
                "{raw:?} at {decoded}"
            );
        }
        assert_eq!(string_offset("\"ab\"", 10, 1), 12);
    }
}
