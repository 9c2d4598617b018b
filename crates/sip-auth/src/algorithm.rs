//! Digest algorithms (RFC 7616 §3.4, RFC 8760 §2), the HA1 secret and the hash
//! primitive shared by the server and client sides.

use std::fmt;
use std::str::FromStr;

use md5::Md5;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{AuthError, echo};

/// Longest digest produced by a supported algorithm (SHA-256), in bytes.
pub(crate) const MAX_DIGEST_LEN: usize = 32;

/// Longest hex digest, in characters.
pub(crate) const MAX_HEX_LEN: usize = 2 * MAX_DIGEST_LEN;

/// A digest algorithm (RFC 7616 §3.4, RFC 8760 §2.1).
///
/// Only the non-session variants exist: `MD5-sess` and `SHA-256-sess` are
/// rejected at parse time with [`AuthError::SessionAlgorithm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the RFC 3261 default when no `algorithm` parameter is present.
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// Algorithms in server preference order: strongest first. The server sends
    /// one challenge per algorithm in this order (RFC 8760 §2.4).
    pub const PREFERENCE: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

    /// The token as written in the `algorithm` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// Parses an `algorithm` token, case-insensitively.
    ///
    /// `-sess` variants give [`AuthError::SessionAlgorithm`]; anything else
    /// unknown gives [`AuthError::UnsupportedAlgorithm`].
    pub fn parse(token: &str) -> Result<Algorithm, AuthError> {
        if let Some(alg) = Self::base(token) {
            return Ok(alg);
        }
        let session_base = token
            .len()
            .checked_sub(5)
            .filter(|&cut| token.is_char_boundary(cut))
            .filter(|&cut| token[cut..].eq_ignore_ascii_case("-sess"))
            .and_then(|cut| Self::base(&token[..cut]));
        match session_base {
            Some(base) => Err(AuthError::SessionAlgorithm { base }),
            None => Err(AuthError::UnsupportedAlgorithm {
                algorithm: echo(token),
            }),
        }
    }

    fn base(token: &str) -> Option<Algorithm> {
        if token.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if token.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// Digest length in bytes (16 for MD5, 32 for SHA-256).
    pub fn digest_len(self) -> usize {
        match self {
            Algorithm::Md5 => 16,
            Algorithm::Sha256 => 32,
        }
    }

    /// Digest length in hex characters, the length of `response` and of an HA1.
    pub fn hex_len(self) -> usize {
        2 * self.digest_len()
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = AuthError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::parse(s)
    }
}

/// Incremental hash over one of the supported algorithms; no allocation.
pub(crate) enum Hasher {
    Md5(Md5),
    Sha256(Sha256),
}

impl Hasher {
    pub(crate) fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Md5 => Hasher::Md5(Md5::new()),
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    /// Feeds `parts` separated by `:`, the shape of every digest input.
    pub(crate) fn update_joined(&mut self, parts: &[&[u8]]) {
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                self.update(b":");
            }
            self.update(part);
        }
    }

    pub(crate) fn finalize(self) -> DigestBytes {
        let mut out = DigestBytes {
            bytes: [0; MAX_DIGEST_LEN],
            len: 0,
        };
        match self {
            Hasher::Md5(h) => {
                let d = h.finalize();
                out.bytes[..d.len()].copy_from_slice(&d);
                out.len = d.len();
            }
            Hasher::Sha256(h) => {
                let d = h.finalize();
                out.bytes[..d.len()].copy_from_slice(&d);
                out.len = d.len();
            }
        }
        out
    }
}

/// A finished digest on the stack.
pub(crate) struct DigestBytes {
    bytes: [u8; MAX_DIGEST_LEN],
    len: usize,
}

impl DigestBytes {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Lowercase hex (the `LHEX` of RFC 2617 §3.2.2).
    pub(crate) fn to_hex(&self) -> HexDigest {
        let mut hex = HexDigest {
            buf: [0; MAX_HEX_LEN],
            len: 2 * self.len,
        };
        hex::encode_to_slice(self.as_bytes(), &mut hex.buf[..hex.len])
            .expect("the hex buffer is exactly twice the digest length");
        hex
    }
}

/// A lowercase hex digest on the stack.
#[derive(Clone)]
pub(crate) struct HexDigest {
    buf: [u8; MAX_HEX_LEN],
    len: usize,
}

impl HexDigest {
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("hex digits are ASCII")
    }
}

/// `H(username ":" realm ":" password)` for one algorithm: what a registrar stores
/// instead of a password (RFC 2617 §3.2.2.2, RFC 7616 §3.4.2).
///
/// Its `Debug` output redacts the digest, and it has no `Display`: the hex value is
/// only reachable through [`Ha1::expose_hex`], for storing it.
#[derive(Clone)]
pub struct Ha1 {
    algorithm: Algorithm,
    hex: HexDigest,
}

impl Ha1 {
    /// Builds an HA1 from its stored hex form. Uppercase digits are accepted and
    /// normalised to lowercase, the form the response computation uses.
    pub fn from_hex(algorithm: Algorithm, hex: &str) -> Result<Ha1, AuthError> {
        let invalid = |reason| AuthError::InvalidHa1 { algorithm, reason };
        if hex.len() != algorithm.hex_len() {
            return Err(invalid("wrong length for the algorithm"));
        }
        let mut buf = [0u8; MAX_HEX_LEN];
        for (out, &b) in buf.iter_mut().zip(hex.as_bytes()) {
            if !b.is_ascii_hexdigit() {
                return Err(invalid("not a hex digit"));
            }
            *out = b.to_ascii_lowercase();
        }
        Ok(Ha1 {
            algorithm,
            hex: HexDigest {
                buf,
                len: hex.len(),
            },
        })
    }

    /// The algorithm this HA1 was computed with.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex digest, for persisting it. Treat it like a password: an
    /// HA1 is enough to answer any challenge of its realm.
    pub fn expose_hex(&self) -> &str {
        self.hex.as_str()
    }

    pub(crate) fn hex_bytes(&self) -> &[u8] {
        self.hex.as_bytes()
    }
}

/// Compared in constant time.
impl PartialEq for Ha1 {
    fn eq(&self, other: &Ha1) -> bool {
        self.algorithm == other.algorithm && bool::from(self.hex_bytes().ct_eq(other.hex_bytes()))
    }
}

impl Eq for Ha1 {}

impl fmt::Debug for Ha1 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ha1")
            .field("algorithm", &self.algorithm)
            .field("digest", &"<redacted>")
            .finish()
    }
}

/// Computes `HA1 = H(username ":" realm ":" password)` (RFC 2617 §3.2.2.2,
/// RFC 7616 §3.4.2). `username` and `realm` are the unquoted values.
pub fn compute_ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> Ha1 {
    let mut h = Hasher::new(algorithm);
    h.update_joined(&[username.as_bytes(), realm.as_bytes(), password.as_bytes()]);
    Ha1 {
        algorithm,
        hex: h.finalize().to_hex(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_tokens_parse_case_insensitively() {
        for (token, want) in [
            ("MD5", Algorithm::Md5),
            ("md5", Algorithm::Md5),
            ("SHA-256", Algorithm::Sha256),
            ("sha-256", Algorithm::Sha256),
            ("Sha-256", Algorithm::Sha256),
        ] {
            assert_eq!(Algorithm::parse(token), Ok(want), "{token}");
            assert_eq!(token.parse::<Algorithm>(), Ok(want), "{token}");
        }
        assert_eq!(Algorithm::Md5.as_str(), "MD5");
        assert_eq!(Algorithm::Sha256.to_string(), "SHA-256");
    }

    #[test]
    fn session_and_unknown_algorithms_are_rejected() {
        assert_eq!(
            Algorithm::parse("MD5-sess"),
            Err(AuthError::SessionAlgorithm {
                base: Algorithm::Md5
            })
        );
        assert_eq!(
            Algorithm::parse("sha-256-SESS"),
            Err(AuthError::SessionAlgorithm {
                base: Algorithm::Sha256
            })
        );
        for token in [
            "",
            "SHA-512-256",
            "SHA256",
            "-sess",
            "x-sess",
            "MD5 ",
            "é-sess",
        ] {
            assert!(
                matches!(
                    Algorithm::parse(token),
                    Err(AuthError::UnsupportedAlgorithm { .. })
                ),
                "{token:?}"
            );
        }
    }

    #[test]
    fn ha1_known_answer_rfc_2617() {
        // RFC 2617 §3.5: Mufasa / testrealm@host.com / "Circle Of Life".
        let ha1 = compute_ha1(
            Algorithm::Md5,
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
        );
        assert_eq!(ha1.expose_hex(), "939e7578ed9e3c518a452acee763bce9");
    }

    #[test]
    fn ha1_from_hex_validates_and_normalises() {
        let ha1 = Ha1::from_hex(Algorithm::Md5, "939E7578ED9E3C518A452ACEE763BCE9").unwrap();
        assert_eq!(ha1.expose_hex(), "939e7578ed9e3c518a452acee763bce9");
        assert_eq!(
            ha1,
            compute_ha1(
                Algorithm::Md5,
                "Mufasa",
                "testrealm@host.com",
                "Circle Of Life"
            )
        );
        let md5_hex = ha1.expose_hex().to_owned();
        assert!(matches!(
            Ha1::from_hex(Algorithm::Sha256, &md5_hex),
            Err(AuthError::InvalidHa1 {
                algorithm: Algorithm::Sha256,
                ..
            })
        ));
        let bad = format!("{}g", &md5_hex[..31]);
        assert!(matches!(
            Ha1::from_hex(Algorithm::Md5, &bad),
            Err(AuthError::InvalidHa1 { .. })
        ));
        assert!(Ha1::from_hex(Algorithm::Md5, "").is_err());
        // Multi-byte characters of the right byte length are not hex either.
        assert!(Ha1::from_hex(Algorithm::Md5, &"é".repeat(16)).is_err());
    }

    #[test]
    fn ha1_equality_needs_same_algorithm() {
        let md5 = compute_ha1(Algorithm::Md5, "alice", "example.test", "pw");
        let sha = compute_ha1(Algorithm::Sha256, "alice", "example.test", "pw");
        assert_ne!(md5, sha);
        assert_eq!(sha.expose_hex().len(), 64);
    }

    #[test]
    fn ha1_debug_redacts_the_digest() {
        let ha1 = compute_ha1(Algorithm::Sha256, "alice", "example.test", "pw");
        let debug = format!("{ha1:?}");
        assert!(debug.contains("Sha256"));
        assert!(debug.contains("<redacted>"));
        assert!(!debug.contains(&ha1.expose_hex()[..8]));
    }
}
