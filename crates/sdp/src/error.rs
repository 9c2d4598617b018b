//! Errors of SDP parsing and of typed attribute access.

/// Why a session description, or one attribute value, could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    /// A line of the description is malformed. `line` counts from 1.
    #[error("SDP line {line}: {reason}")]
    Line {
        /// The line number, counting from 1.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A line the description must have is absent (RFC 8866 §5: `v=`, `o=`).
    #[error("SDP has no {kind}= line")]
    Missing {
        /// The type letter of the missing line.
        kind: char,
    },
    /// The value of a typed attribute does not follow its grammar.
    #[error("malformed a={name} value: {reason}")]
    Attribute {
        /// The attribute name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
}
