//! Parse errors.

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
    /// A header error for `name` with `reason`.
    pub fn header(name: impl Into<String>, reason: &'static str) -> Self {
        ParseError::Header {
            name: name.into(),
            reason,
        }
    }
}
