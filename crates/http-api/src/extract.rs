//! Request extractors that answer in the crate's error shape: a JSON body, query
//! parameters, path segments, and the client's address. axum's own extractors answer
//! with plain text, so none of them is used directly.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::error::{ApiError, ErrorCode};

/// A JSON request body, deserialized into `T` (whose fields deny unknown members).
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected a body with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| match rejection {
                BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                    ApiError::new(ErrorCode::PayloadTooLarge, "the body is too large")
                }
                _ => ApiError::new(ErrorCode::MalformedJson, "cannot read the body"),
            })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// `application/json` (any parameters, any case), or an `application/*+json` type.
fn is_json(value: Option<&header::HeaderValue>) -> bool {
    let Some(text) = value.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = text.split(';').next().unwrap_or("").trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5
                && subtype.as_bytes()[subtype.len() - 5..].eq_ignore_ascii_case(b"+json"))
}

/// Deserializes a JSON object (every body of the API is one; serde would also take an
/// array for a struct, by position), naming the member at fault on error.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if let Some(b'[' | b'"' | b'-' | b'0'..=b'9' | b't' | b'f' | b'n') = first {
        return Err(ApiError::new(
            ErrorCode::InvalidField,
            "invalid body: expected a JSON object",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        json_error(e.inner(), &path)
    })?;
    deserializer.end().map_err(|e| json_error(&e, "."))?;
    Ok(value)
}

fn json_error(error: &serde_json::Error, path: &str) -> ApiError {
    let text = error.to_string();
    // serde_json appends " at line L column C"; the position is reported separately.
    let message = text
        .rfind(" at line ")
        .map_or(text.as_str(), |at| &text[..at]);
    match error.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::new(
            ErrorCode::MalformedJson,
            format!(
                "malformed JSON at line {}, column {}: {message}",
                error.line(),
                error.column()
            ),
        ),
        Category::Data => {
            let parent = if path == "." { "" } else { path };
            if let Some(name) = quoted_name(message, "unknown field `") {
                // The path already ends in the unknown member's name.
                let field = if parent.ends_with(name) {
                    parent.to_owned()
                } else {
                    join(parent, name)
                };
                ApiError::new(ErrorCode::UnknownField, format!("unknown field `{field}`"))
                    .with_field(field)
            } else if let Some(name) = quoted_name(message, "missing field `") {
                let field = join(parent, name);
                ApiError::new(ErrorCode::MissingField, format!("missing field `{field}`"))
                    .with_field(field)
            } else if parent.is_empty() {
                ApiError::new(ErrorCode::InvalidField, format!("invalid body: {message}"))
            } else {
                ApiError::invalid_field(parent, format!("{parent}: {message}"))
            }
        }
    }
}

/// The name between `prefix` and the next backquote.
fn quoted_name<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

/// Query parameters: taken one by one by name; what is left at [`QueryParams::finish`] is
/// an unknown parameter. An empty value counts as absent (forms send empty filters).
#[derive(Debug, Default)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl QueryParams {
    /// Parses `application/x-www-form-urlencoded` text.
    ///
    /// # Errors
    /// 400 `invalid_field` when a parameter is given twice.
    pub(crate) fn parse(query: &str) -> Result<Self, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if pairs.iter().any(|(n, _)| *n == name) {
                return Err(ApiError::invalid_field(
                    name.as_ref(),
                    format!("parameter `{name}` is given more than once"),
                ));
            }
            pairs.push((name.into_owned(), value.into_owned()));
        }
        Ok(QueryParams { pairs })
    }

    /// The value of `name`, if given and not empty.
    pub(crate) fn text(&mut self, name: &str) -> Option<String> {
        let at = self.pairs.iter().position(|(n, _)| n == name)?;
        let (_, value) = self.pairs.swap_remove(at);
        (!value.is_empty()).then_some(value)
    }

    /// The value of `name` parsed with `parse`, which says what it expected on failure.
    pub(crate) fn parsed<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.text(name) {
            None => Ok(None),
            Some(value) => parse(&value).map(Some).ok_or_else(|| {
                ApiError::invalid_field(name, format!("{name}: expected {expected}"))
            }),
        }
    }

    /// An integer within `range`.
    pub(crate) fn int<T>(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<T>,
    ) -> Result<Option<T>, ApiError>
    where
        T: FromStr + PartialOrd + std::fmt::Display + Copy,
    {
        let expected = format!("an integer from {} to {}", range.start(), range.end());
        self.parsed(
            name,
            |v| v.parse().ok().filter(|n| range.contains(n)),
            &expected,
        )
    }

    /// `true` or `false`.
    pub(crate) fn boolean(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        self.parsed(
            name,
            |v| match v {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            "true or false",
        )
    }

    /// Fails on the first parameter not taken.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.pairs.into_iter().next() {
            None => Ok(()),
            Some((name, _)) => Err(ApiError::new(
                ErrorCode::UnknownField,
                format!("unknown parameter `{name}`"),
            )
            .with_field(name)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        QueryParams::parse(parts.uri.query().unwrap_or(""))
    }
}

/// Path segments (percent-decoded), as axum's `Path` with the crate's error shape.
#[derive(Debug)]
pub(crate) struct Segments<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Segments<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Segments(value)),
            Err(rejection) => Err(ApiError::new(
                ErrorCode::InvalidField,
                format!("invalid path: {}", rejection.body_text()),
            )),
        }
    }
}

/// The client's address as the listener saw it (no proxy headers are trusted); `None`
/// when the server did not record it (which the access lists treat as "not allowed").
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) Option<IpAddr>);

impl ClientAddr {
    /// From the request's `ConnectInfo`.
    pub(crate) fn of(extensions: &axum::http::Extensions) -> Self {
        ClientAddr(
            extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip()),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        port: u16,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        #[serde(default)]
        cidrs: Vec<String>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    fn err(json: &str) -> ApiError {
        parse_json::<Outer>(json.as_bytes()).expect_err(json)
    }

    #[test]
    fn classifies_json_errors_with_the_field_path() {
        let e = err(r#"{"name": "a", "nmae": 1}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::UnknownField, Some("nmae"))
        );
        let e = err(r#"{"name": "a", "inner": {"port": 1, "host": "x"}}"#);
        assert_eq!(e.field.as_deref(), Some("inner.host"), "{e:?}");
        let e = err(r#"{"cidrs": []}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::MissingField, Some("name"))
        );
        let e = err(r#"{"name": "a", "inner": {}}"#);
        assert_eq!(e.field.as_deref(), Some("inner.port"));
        let e = err(r#"{"name": "a", "cidrs": ["x", 7]}"#);
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::InvalidField, Some("cidrs[1]"))
        );
        let e = err(r#"{"name": "a", "inner": {"port": 70000}}"#);
        assert_eq!(e.field.as_deref(), Some("inner.port"));
        for body in [r#"["a"]"#, " 7", "null", r#""text""#] {
            let e = err(body);
            assert_eq!((e.code, e.field), (ErrorCode::InvalidField, None), "{body}");
        }
    }

    #[test]
    fn syntax_errors_report_line_and_column() {
        let e = err("{\n  \"name\": \"a\",\n}");
        assert_eq!(e.code, ErrorCode::MalformedJson);
        assert!(e.message.contains("line 3, column 1"), "{}", e.message);
        assert_eq!(err("").code, ErrorCode::MalformedJson);
        assert_eq!(err(r#"{"name":"a"} x"#).code, ErrorCode::MalformedJson);
    }

    #[test]
    fn content_types() {
        let v = |s: &'static str| Some(header::HeaderValue::from_static(s));
        assert!(is_json(v("application/json").as_ref()));
        assert!(is_json(v("Application/JSON; charset=utf-8").as_ref()));
        assert!(is_json(v("application/merge-patch+json").as_ref()));
        assert!(!is_json(v("text/plain").as_ref()));
        assert!(!is_json(v("application/jsonx").as_ref()));
        assert!(!is_json(v("application/+json").as_ref()));
        assert!(!is_json(None));
    }

    #[test]
    fn query_parameters() {
        let mut q = QueryParams::parse("limit=20&caller=&from=1700000000&x=1").unwrap();
        assert_eq!(q.int("limit", 1..=1000u32).unwrap(), Some(20));
        assert_eq!(q.text("caller"), None);
        assert_eq!(q.text("from").as_deref(), Some("1700000000"));
        let e = q.finish().unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::UnknownField, Some("x"))
        );
        let mut q = QueryParams::parse("limit=0").unwrap();
        let e = q.int("limit", 1..=1000u32).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        let e = QueryParams::parse("a=1&a=2").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("a"));
        let mut q = QueryParams::parse("user=alice%40example.com&dry_run=true").unwrap();
        assert_eq!(q.text("user").as_deref(), Some("alice@example.com"));
        assert_eq!(q.boolean("dry_run").unwrap(), Some(true));
        q.finish().unwrap();
    }
}
