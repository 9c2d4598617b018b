//! Reading the spanned TOML tree: typed accessors that report wrong types and unknown keys as
//! diagnostics placed at the offending key or value.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostics::{LineIndex, string_offset};
use crate::{Diagnostic, DialplanError, Severity};

/// A spanned TOML value.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// Collects the diagnostics of one source file.
#[derive(Debug)]
pub(crate) struct Sink<'a> {
    file: &'a str,
    text: &'a str,
    lines: LineIndex,
    diagnostics: &'a mut Vec<Diagnostic>,
    errors: usize,
}

impl<'a> Sink<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str, diagnostics: &'a mut Vec<Diagnostic>) -> Self {
        Sink {
            file,
            text,
            lines: LineIndex::new(text),
            diagnostics,
            errors: 0,
        }
    }

    /// Number of errors reported through this sink.
    pub(crate) fn errors(&self) -> usize {
        self.errors
    }

    /// `(line, column)` of a byte offset.
    pub(crate) fn line_col(&self, offset: usize) -> (u32, u32) {
        self.lines.line_col(self.text, offset)
    }

    /// `file:line:column` of a byte offset.
    pub(crate) fn place(&self, offset: usize) -> String {
        let (line, column) = self.line_col(offset);
        format!("{}:{line}:{column}", self.file)
    }

    fn push(&mut self, offset: usize, severity: Severity, error: DialplanError) {
        let (line, column) = self.line_col(offset);
        if severity == Severity::Error {
            self.errors += 1;
        }
        self.diagnostics.push(Diagnostic {
            file: self.file.to_owned(),
            line,
            column,
            severity,
            error,
        });
    }

    /// Reports an error at a byte offset.
    pub(crate) fn error(&mut self, offset: usize, error: DialplanError) {
        self.push(offset, Severity::Error, error);
    }

    /// Reports a warning at a byte offset.
    pub(crate) fn warning(&mut self, offset: usize, error: DialplanError) {
        self.push(offset, Severity::Warning, error);
    }

    /// Reports an error at `decoded` bytes into the value of the string literal at `span`.
    pub(crate) fn error_in_string(
        &mut self,
        span: &Range<usize>,
        decoded: usize,
        error: DialplanError,
    ) {
        let raw = self.text.get(span.clone()).unwrap_or("");
        self.error(string_offset(raw, span.start, decoded), error);
    }

    /// Reports keys of `table` that are not in `allowed`.
    pub(crate) fn check_keys(
        &mut self,
        table: &DeTable<'_>,
        allowed: &[&str],
        place: &'static str,
        expected: &'static str,
    ) {
        for (key, _) in table.iter() {
            if !allowed.contains(&key.get_ref().as_ref()) {
                self.error(
                    key.span().start,
                    DialplanError::UnknownKey {
                        key: key.get_ref().to_string(),
                        place,
                        expected,
                    },
                );
            }
        }
    }

    fn wrong_type(&mut self, key: &str, value: &Value<'_>, expected: &'static str) {
        self.error(
            value.span().start,
            DialplanError::WrongType {
                key: key.to_owned(),
                expected,
                found: value.get_ref().type_str(),
            },
        );
    }

    /// The value as a string, or an error.
    pub(crate) fn string<'v>(&mut self, key: &str, value: &'v Value<'_>) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s),
            _ => {
                self.wrong_type(key, value, "a string");
                None
            }
        }
    }

    /// The value as a table, or an error.
    pub(crate) fn table<'v, 'i>(
        &mut self,
        key: &str,
        value: &'v Value<'i>,
    ) -> Option<&'v DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.wrong_type(key, value, "a table");
                None
            }
        }
    }

    /// The value as an array, or an error.
    pub(crate) fn array<'v, 'i>(
        &mut self,
        key: &str,
        value: &'v Value<'i>,
    ) -> Option<&'v [Value<'i>]> {
        match value.get_ref() {
            DeValue::Array(a) => Some(a),
            _ => {
                self.wrong_type(key, value, "an array");
                None
            }
        }
    }

    /// The value as an integer, or an error.
    pub(crate) fn integer(&mut self, key: &str, value: &Value<'_>) -> Option<i64> {
        match value.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    self.error(
                        value.span().start,
                        DialplanError::BadValue {
                            key: key.to_owned(),
                            reason: "integer out of range".to_owned(),
                        },
                    );
                    None
                }
            },
            _ => {
                self.wrong_type(key, value, "an integer");
                None
            }
        }
    }

    /// A string or an array of strings, each with its span; an empty array is an error.
    pub(crate) fn strings<'v>(
        &mut self,
        key: &str,
        value: &'v Value<'_>,
    ) -> Option<Vec<(&'v str, Range<usize>)>> {
        match value.get_ref() {
            DeValue::String(s) => Some(vec![(s.as_ref(), value.span())]),
            DeValue::Array(items) => {
                if items.is_empty() {
                    self.error(
                        value.span().start,
                        DialplanError::BadValue {
                            key: key.to_owned(),
                            reason: "the list is empty".to_owned(),
                        },
                    );
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                for item in items.iter() {
                    match item.get_ref() {
                        DeValue::String(s) => out.push((s.as_ref(), item.span())),
                        _ => self.wrong_type(key, item, "a string or an array of strings"),
                    }
                }
                (out.len() == items.len()).then_some(out)
            }
            _ => {
                self.wrong_type(key, value, "a string or an array of strings");
                None
            }
        }
    }

    /// A duration written like `"500ms"`, `"30s"`, `"2m"`; zero is an error.
    pub(crate) fn duration(&mut self, key: &str, value: &Value<'_>) -> Option<Duration> {
        let text = self.string(key, value)?;
        match humantime::parse_duration(text) {
            Ok(d) if !d.is_zero() => Some(d),
            Ok(_) => {
                self.error(
                    value.span().start,
                    DialplanError::BadValue {
                        key: key.to_owned(),
                        reason: "the duration must not be zero".to_owned(),
                    },
                );
                None
            }
            Err(e) => {
                self.error(
                    value.span().start,
                    DialplanError::BadValue {
                        key: key.to_owned(),
                        reason: format!(
                            "`{text}` is not a duration like \"30s\" or \"500ms\" ({e})"
                        ),
                    },
                );
                None
            }
        }
    }
}

/// Looks a key up in a table.
pub(crate) fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Value<'i>> {
    table.get(key)
}
