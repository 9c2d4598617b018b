//! The JSON error every failed request answers with, and the crate's setup errors.
//!
//! Wire shape: `{"error":{"code":"...","message":"...","field":"..."}}`, `field` only when
//! one field is at fault, `details` only for dialplan diagnostics. A 401 carries
//! `WWW-Authenticate: Bearer`, a 429 `Retry-After`.

use std::fmt;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sb_store::StoreError;
use serde::Serialize;

use crate::live::Diagnostic;
use crate::respond::json_response;

/// Machine-readable error codes (the `code` member of the error body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 400: the body is not JSON (the message gives line and column).
    MalformedJson,
    /// 400: a body member or query parameter that the operation does not know.
    UnknownField,
    /// 400: a required member is absent.
    MissingField,
    /// 400: a member or parameter has the wrong type or an unacceptable value.
    InvalidField,
    /// 415: a body without `Content-Type: application/json`.
    UnsupportedMediaType,
    /// 401: no, an unknown or an expired bearer token; or failed credentials at login.
    Unauthorized,
    /// 403: authenticated, but not allowed (role, source address).
    Forbidden,
    /// 404: no such resource (or route).
    NotFound,
    /// 405: the route exists without this method.
    MethodNotAllowed,
    /// 409: the change conflicts with existing state (duplicate, in use, read-only).
    Conflict,
    /// 413: the body is larger than the server accepts.
    PayloadTooLarge,
    /// 422: the dialplan does not compile; `details` lists the diagnostics.
    InvalidDialplan,
    /// 429: too many failed logins; retry after `Retry-After` seconds.
    RateLimited,
    /// 503: a dependency (the database, the call-control core) cannot answer.
    Unavailable,
    /// 500: a bug or an unexpected failure (details are logged, never sent).
    Internal,
}

impl ErrorCode {
    /// Every code, in declaration order.
    pub const ALL: [ErrorCode; 15] = [
        ErrorCode::MalformedJson,
        ErrorCode::UnknownField,
        ErrorCode::MissingField,
        ErrorCode::InvalidField,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidDialplan,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The text sent as `code`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedJson => "malformed_json",
            ErrorCode::UnknownField => "unknown_field",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::InvalidDialplan => "invalid_dialplan",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status that goes with the code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::MalformedJson
            | ErrorCode::UnknownField
            | ErrorCode::MissingField
            | ErrorCode::InvalidField => StatusCode::BAD_REQUEST,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::Conflict => StatusCode::CONFLICT,
            ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::InvalidDialplan => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A failed request: what the client is told. Also what a [`Live`](crate::Live)
/// implementation returns when it cannot answer.
///
/// Messages are for people and never contain secrets (passwords, tokens, HA1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// The machine-readable code; decides the status.
    pub code: ErrorCode,
    /// What went wrong, for people.
    pub message: String,
    /// The body member or parameter at fault (`cidrs[1]`, `cursor`), if one is.
    pub field: Option<String>,
    /// Dialplan diagnostics (with [`ErrorCode::InvalidDialplan`]).
    pub details: Vec<Diagnostic>,
    /// Seconds before a retry makes sense (with [`ErrorCode::RateLimited`]).
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            field: None,
            details: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// Names the field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 `invalid_field` naming `field`.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::InvalidField, message).with_field(field)
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::NotFound, message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Conflict, message)
    }

    /// 400 `missing_field` naming `field`.
    pub fn missing_field(field: &str) -> Self {
        ApiError::new(ErrorCode::MissingField, format!("missing field `{field}`")).with_field(field)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Forbidden, message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Unauthorized, message)
    }

    /// 503 `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Unavailable, message)
    }

    /// 500 `internal`: logs `context` and the cause; the client only learns that it failed.
    pub fn internal(context: &str, cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, "{context}");
        ApiError::new(ErrorCode::Internal, "internal error")
    }

    /// 422 `invalid_dialplan` with the compiler's diagnostics.
    pub fn invalid_dialplan(details: Vec<Diagnostic>) -> Self {
        let message = match details.len() {
            1 => "the dialplan has 1 error".to_owned(),
            n => format!("the dialplan has {n} errors"),
        };
        ApiError {
            details,
            ..ApiError::new(ErrorCode::InvalidDialplan, message)
        }
    }

    /// 429 `rate_limited` with `Retry-After`.
    pub fn rate_limited(retry_after_secs: u64) -> Self {
        ApiError {
            retry_after_secs: Some(retry_after_secs.max(1)),
            ..ApiError::new(
                ErrorCode::RateLimited,
                "too many failed attempts; try again later",
            )
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound { what, key } => {
                ApiError::not_found(format!("{what} {key} not found"))
            }
            e @ StoreError::Conflict { what, .. } => {
                let error = ApiError::conflict(e.to_string());
                // A taken extension is about one field of the request.
                if what == "extension" {
                    error.with_field("extension")
                } else {
                    error
                }
            }
            e @ StoreError::VersionConflict { .. } => ApiError::conflict(e.to_string()),
            StoreError::InvalidInput { field, reason } => {
                ApiError::invalid_field(field, format!("{field}: {reason}"))
            }
            StoreError::ConstraintViolation { message, .. } => {
                ApiError::conflict(format!("rejected by the database: {message}"))
            }
            e @ StoreError::Database { .. } => {
                tracing::error!(error = %e, source = ?std::error::Error::source(&e), "database");
                ApiError::unavailable("the database is not available")
            }
            e => ApiError::internal("store", &e),
        }
    }
}

/// The `error` member of the body.
#[derive(Serialize)]
struct Body<'a> {
    code: ErrorCode,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    details: &'a [Diagnostic],
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
                details: &self.details,
            },
        };
        let mut response = json_response(self.status(), &envelope);
        let headers = response.headers_mut();
        if self.code == ErrorCode::Unauthorized {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(secs) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Why a TLS configuration or certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a certificate: {source}")]
    Generate {
        /// The generator's error.
        #[source]
        source: rcgen::Error,
    },
    /// A PEM text holds no usable item of the kind needed.
    #[error("invalid {what} PEM: {reason}")]
    Pem {
        /// `certificate` or `private key`.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// rustls refused the certificate or key.
    #[error("TLS configuration refused: {source}")]
    Config {
        /// rustls's error.
        #[source]
        source: rustls::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_distinct_texts_and_error_statuses() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code}");
            assert!(code.status().is_client_error() || code.status().is_server_error());
        }
    }

    #[test]
    fn store_errors_map_to_codes() {
        let e = ApiError::from(StoreError::Conflict {
            what: "user",
            key: "alice@example.com".to_owned(),
            used_by: None,
        });
        assert_eq!(e.code, ErrorCode::Conflict);
        assert!(e.message.contains("alice@example.com"));
        let e = ApiError::from(StoreError::InvalidInput {
            field: "acl",
            reason: "no such ACL",
        });
        assert_eq!(
            (e.code, e.field.as_deref()),
            (ErrorCode::InvalidField, Some("acl"))
        );
        let e = ApiError::from(StoreError::Corrupt {
            what: "x",
            reason: "secret detail".to_owned(),
        });
        assert_eq!(e.code, ErrorCode::Internal);
        assert!(!e.message.contains("secret"));
    }
}
