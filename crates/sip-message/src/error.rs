//! Parse errors.

use crate::method::Method;
use crate::status::StatusCode;

/// Why a message, header or URI could not be parsed. Every variant says what was
/// wrong precisely enough to be put in a 400 reason phrase or a log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The input ends before the message does (stream framing: wait for more).
    #[error("incomplete message")]
    Incomplete,
    /// The request line or status line is malformed.
    #[error("malformed start line: {reason}")]
    StartLine {
        /// What is wrong.
        reason: &'static str,
    },
    /// The SIP version is not `SIP/2.0`.
    #[error("unsupported SIP version")]
    Version,
    /// A header line is malformed.
    #[error("malformed {name} header: {reason}")]
    Header {
        /// Header name as it appeared (or the canonical name).
        name: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A header the operation needs is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A URI is malformed.
    #[error("malformed URI: {reason}")]
    Uri {
        /// What is wrong.
        reason: &'static str,
    },
    /// The header section is not valid UTF-8.
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// Content-Length disagrees with the bytes available.
    #[error("Content-Length {declared} but {available} body bytes")]
    ContentLength {
        /// The declared length.
        declared: usize,
        /// Body bytes actually present.
        available: usize,
    },
    /// A header that may appear only once appears more than once
    /// (RFC 3261 §7.3.1).
    #[error("{0} header appears more than once")]
    DuplicateHeader(&'static str),
    /// The CSeq method differs from the request method (RFC 3261 §8.1.1.5).
    #[error("CSeq method {cseq} does not match request method {request}")]
    CSeqMethod {
        /// The method of the request line.
        request: Method,
        /// The method in CSeq.
        cseq: Method,
    },
    /// The Request-URI scheme is not one this element serves; answered with
    /// 416 (RFC 3261 §8.2.2.1).
    #[error("unsupported URI scheme {scheme}")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// More header fields (or Via values) than the parser accepts
    /// ([`crate::MAX_HEADER_FIELDS`], [`crate::MAX_VIAS`]).
    #[error("more than {limit} {what} values")]
    TooManyHeaders {
        /// What was counted: `header` or `Via`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The message exceeds a configured limit.
    #[error("message too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// Size seen so far.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

impl ParseError {
    /// The status code a server answers a request that failed with this error:
    /// 505 for the version (RFC 3261 §8.2.2), 416 for the Request-URI scheme
    /// (§8.2.2.1), 513 for size or too many header fields (§18.1.1, §21.5.14),
    /// 400 otherwise (§8.2.2).
    pub fn status_code(&self) -> StatusCode {
        match self {
            ParseError::Version => StatusCode::VERSION_NOT_SUPPORTED,
            ParseError::UnsupportedScheme { .. } => StatusCode::UNSUPPORTED_URI_SCHEME,
            ParseError::TooLarge { .. } | ParseError::TooManyHeaders { .. } => {
                StatusCode::MESSAGE_TOO_LARGE
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// A header error for `name` with `reason`.
    pub fn header(name: impl Into<String>, reason: &'static str) -> Self {
        ParseError::Header {
            name: name.into(),
            reason,
        }
    }
}
