//! The crate's error type.

use crate::algorithm::Algorithm;

/// Longest piece of input echoed back in an error (parameter names, algorithm and
/// qop tokens). Values of secret-bearing parameters are never echoed.
const ECHO_LIMIT: usize = 32;

/// Why a header value could not be parsed or a request could not be answered.
///
/// Errors carry parameter names and short protocol tokens only: never a password,
/// an HA1, a nonce secret or a `response` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The authentication scheme is not `Digest` (RFC 3261 §22.4).
    #[error("authentication scheme is not Digest")]
    NotDigest,
    /// The parameter list does not follow the `auth-param` grammar (RFC 3261 §25.1).
    #[error("malformed parameter list at byte {at}: {reason}")]
    Syntax {
        /// Byte offset in the header value where the problem was found.
        at: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// The value has more parameters than any legitimate client sends.
    #[error("more than {limit} parameters")]
    TooManyParams {
        /// The limit.
        limit: usize,
    },
    /// A parameter appears twice (RFC 7616 §3.4: each directive at most once).
    #[error("parameter {name} appears more than once")]
    DuplicateParam {
        /// The parameter name as sent (truncated).
        name: String,
    },
    /// A required parameter is absent.
    #[error("missing {name} parameter")]
    MissingParam {
        /// The parameter name.
        name: &'static str,
    },
    /// `qop` is present but a parameter it requires is not (RFC 2617 §3.2.2).
    #[error("qop is present but {name} is missing")]
    MissingQopParam {
        /// The missing parameter (`cnonce` or `nc`).
        name: &'static str,
    },
    /// A parameter only allowed together with `qop` appears without it
    /// (RFC 2617 §3.2.2: cnonce and nc MUST NOT be sent without qop).
    #[error("{name} is present without qop")]
    ParamWithoutQop {
        /// The parameter (`cnonce` or `nc`).
        name: &'static str,
    },
    /// A parameter has a value outside its grammar.
    #[error("invalid {name} parameter: {reason}")]
    InvalidParam {
        /// The parameter name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The algorithm is not one this crate implements (RFC 8760 §2.1 lists the
    /// registered ones; MD5 and SHA-256 are supported).
    #[error("unsupported digest algorithm {algorithm:?}")]
    UnsupportedAlgorithm {
        /// The algorithm token as sent (truncated).
        algorithm: String,
    },
    /// A `-sess` algorithm variant (RFC 7616 §3.4.2) was requested; session
    /// variants are rejected explicitly rather than computed wrongly.
    #[error("session variant {base}-sess is not supported")]
    SessionAlgorithm {
        /// The base algorithm of the session variant.
        base: Algorithm,
    },
    /// The quality of protection is not `auth` (`auth-int` is never offered).
    #[error("unsupported qop {qop:?}")]
    UnsupportedQop {
        /// The qop value as sent (truncated).
        qop: String,
    },
    /// A stored HA1 is not a hex digest of the algorithm's length.
    #[error("invalid stored HA1 for {algorithm}: {reason}")]
    InvalidHa1 {
        /// The algorithm the HA1 was declared for.
        algorithm: Algorithm,
        /// What is wrong (never the value itself).
        reason: &'static str,
    },
    /// An HA1 was supplied for a different algorithm than the challenge asks for.
    #[error("HA1 is for {ha1} but the challenge asks for {challenge}")]
    AlgorithmMismatch {
        /// Algorithm of the supplied HA1.
        ha1: Algorithm,
        /// Algorithm of the challenge.
        challenge: Algorithm,
    },
}

/// Copies at most [`ECHO_LIMIT`] characters of network input into an error.
pub(crate) fn echo(s: &str) -> String {
    match s.char_indices().nth(ECHO_LIMIT) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_truncates_on_char_boundary() {
        assert_eq!(echo("MD5"), "MD5");
        let long = "é".repeat(40);
        let echoed = echo(&long);
        assert_eq!(echoed.chars().count(), ECHO_LIMIT + 1);
        assert!(echoed.ends_with('…'));
    }
}
