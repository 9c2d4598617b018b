//! HA1 digests as opaque values that never show up in logs.

use std::fmt;

use crate::StoreError;

/// MD5 HA1 (RFC 2617 §3.2.2.2, RFC 7616 §3.4.2): `MD5(username ":" realm ":" password)`
/// as 32 lower-case hex digits.
///
/// `Debug` prints `Ha1Md5(<redacted>)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ha1Md5(String);

/// SHA-256 HA1 (RFC 7616 §3.4.2) as 64 lower-case hex digits.
///
/// `Debug` prints `Ha1Sha256(<redacted>)`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Ha1Sha256(String);

macro_rules! ha1_type {
    ($ty:ident, $len:expr, $field:literal, $reason:literal) => {
        impl $ty {
            /// Number of hex digits of this digest.
            pub const HEX_LEN: usize = $len;

            /// Accepts the hex form of the digest (either case; stored lower-case).
            ///
            /// # Errors
            /// [`StoreError::InvalidInput`] when the text is not exactly
            #[doc = concat!(stringify!($len), " hex digits.")]
            pub fn from_hex(hex: &str) -> Result<Self, StoreError> {
                if hex.len() == $len && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    Ok(Self(hex.to_ascii_lowercase()))
                } else {
                    Err(StoreError::InvalidInput {
                        field: $field,
                        reason: $reason,
                    })
                }
            }

            /// Validates a value read back from the database.
            pub(crate) fn from_stored(hex: String) -> Result<Self, StoreError> {
                if hex.len() == $len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                    Ok(Self(hex))
                } else {
                    Err(StoreError::Corrupt {
                        what: $field,
                        reason: concat!("expected ", stringify!($len), " lower-case hex digits")
                            .to_owned(),
                    })
                }
            }

            /// The lower-case hex digits.
            pub fn as_hex(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($ty), "(<redacted>)"))
            }
        }
    };
}

ha1_type!(Ha1Md5, 32, "ha1_md5", "expected 32 hex digits");
ha1_type!(Ha1Sha256, 64, "ha1_sha256", "expected 64 hex digits");

#[cfg(test)]
mod tests {
    use super::*;

    const MD5: &str = "939E7578ED9E3C518A452ACEE763BCE9";
    const SHA: &str = "3b9a0c3ae2d4b1f0a3c5e7d9f1b3c5e7d9f1b3c5e7d9f1b3c5e7d9f1b3c5e7d9";

    #[test]
    fn accepts_hex_and_lowercases() {
        let md5 = Ha1Md5::from_hex(MD5).unwrap();
        assert_eq!(md5.as_hex(), MD5.to_ascii_lowercase());
        assert_eq!(Ha1Sha256::from_hex(SHA).unwrap().as_hex(), SHA);
    }

    #[test]
    fn rejects_wrong_length_or_non_hex() {
        assert!(matches!(
            Ha1Md5::from_hex(&MD5[1..]),
            Err(StoreError::InvalidInput {
                field: "ha1_md5",
                ..
            })
        ));
        assert!(Ha1Md5::from_hex(&format!("{}g", &MD5[1..])).is_err());
        assert!(Ha1Sha256::from_hex(MD5).is_err());
        assert!(Ha1Sha256::from_hex(&SHA.replacen('3', "z", 1)).is_err());
    }

    #[test]
    fn stored_values_must_be_lowercase_hex() {
        assert!(Ha1Md5::from_stored(MD5.to_owned()).is_err());
        assert!(Ha1Md5::from_stored(MD5.to_ascii_lowercase()).is_ok());
        assert!(matches!(
            Ha1Sha256::from_stored(String::new()),
            Err(StoreError::Corrupt {
                what: "ha1_sha256",
                ..
            })
        ));
    }

    #[test]
    fn debug_is_redacted() {
        let md5 = Ha1Md5::from_hex(MD5).unwrap();
        let sha = Ha1Sha256::from_hex(SHA).unwrap();
        let text = format!("{md5:?} {sha:?}");
        assert_eq!(text, "Ha1Md5(<redacted>) Ha1Sha256(<redacted>)");
    }
}
