//! Stateless server nonces (RFC 7616 §3.3 "nonce" and §5.4, RFC 3261 §22.1).
//!
//! A nonce is 48 lowercase hex digits encoding 24 bytes:
//!
//! | bytes | content |
//! |---|---|
//! | 0–5 | issue time, Unix milliseconds, big-endian (48 bits: good until year 10889) |
//! | 6–7 | issuer sequence number, so nonces issued in the same millisecond differ |
//! | 8–23 | HMAC-SHA256(secret, bytes 0–7 ‖ realm), truncated to 128 bits |
//!
//! Checking one needs only the secret and the clock: no table of issued nonces.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Length of a nonce in characters.
pub const NONCE_LEN: usize = 2 * RAW_LEN;

const ID_LEN: usize = 8;
const MAC_LEN: usize = 16;
const RAW_LEN: usize = ID_LEN + MAC_LEN;
const MAX_ISSUE_MS: u64 = (1 << 48) - 1;

/// Default tolerance for nonces stamped in the future (clock steps, or several
/// servers sharing a secret with slightly different clocks).
pub const DEFAULT_MAX_SKEW: Duration = Duration::from_secs(5);

/// Identity of a nonce this server issued: issue time and sequence number.
/// Ordered by issue time; keys the [`crate::NonceCounter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NonceId(u64);

impl NonceId {
    /// When the nonce was issued, in Unix milliseconds.
    pub fn issued_ms(self) -> u64 {
        self.0 >> 16
    }

    fn from_parts(issued_ms: u64, seq: u16) -> NonceId {
        NonceId(issued_ms.min(MAX_ISSUE_MS) << 16 | u64::from(seq))
    }
}

/// Outcome of [`NonceIssuer::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by this secret for this realm, within its lifetime.
    Valid {
        /// The nonce's identity, for [`crate::NonceCounter::check_and_record`].
        id: NonceId,
    },
    /// Genuine but too old (or stamped too far in the future): challenge again
    /// with `stale=true` (RFC 3261 §22.1, RFC 7616 §3.3).
    Stale {
        /// The nonce's identity.
        id: NonceId,
    },
    /// Not a nonce this secret issued for this realm: challenge again, not stale.
    Invalid,
}

/// Issues and checks stateless HMAC nonces. Holds the keyed HMAC state, never
/// printed: `Debug` shows only the lifetimes.
pub struct NonceIssuer {
    keyed: Hmac<Sha256>,
    lifetime_ms: u64,
    max_skew_ms: u64,
    seq: AtomicU32,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl NonceIssuer {
    /// An issuer keyed with `secret` (from configuration, or random at start-up:
    /// the caller supplies it) whose nonces live for `lifetime`. Servers that
    /// share a secret accept each other's nonces.
    pub fn new(secret: &[u8; 32], lifetime: Duration) -> NonceIssuer {
        NonceIssuer {
            keyed: Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length"),
            lifetime_ms: millis(lifetime),
            max_skew_ms: millis(DEFAULT_MAX_SKEW),
            seq: AtomicU32::new(0),
        }
    }

    /// Sets how far in the future an issue time may be before the nonce is
    /// treated as stale (default [`DEFAULT_MAX_SKEW`]).
    pub fn with_max_skew(mut self, max_skew: Duration) -> NonceIssuer {
        self.max_skew_ms = millis(max_skew);
        self
    }

    /// How long a nonce stays valid.
    pub fn lifetime(&self) -> Duration {
        Duration::from_millis(self.lifetime_ms)
    }

    fn tag(&self, id: &[u8; ID_LEN], realm: &str) -> [u8; MAC_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(id);
        mac.update(realm.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; MAC_LEN];
        tag.copy_from_slice(&full[..MAC_LEN]);
        tag
    }

    /// A fresh nonce for `realm`, stamped `now_unix_ms` (clamped to 48 bits).
    /// The only allocation is the returned string.
    pub fn issue(&self, now_unix_ms: u64, realm: &str) -> String {
        // Truncation to 16 bits is intended: uniqueness is per millisecond.
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) as u16;
        let id = NonceId::from_parts(now_unix_ms, seq).0.to_be_bytes();
        let mut raw = [0u8; RAW_LEN];
        raw[..ID_LEN].copy_from_slice(&id);
        raw[ID_LEN..].copy_from_slice(&self.tag(&id, realm));
        let mut text = [0u8; NONCE_LEN];
        hex::encode_to_slice(raw, &mut text).expect("the buffer is twice the raw length");
        String::from(std::str::from_utf8(&text).expect("hex digits are ASCII"))
    }

    /// Checks a nonce received in credentials for `realm` at `now_unix_ms`.
    ///
    /// The MAC is verified first (in constant time), so a forged or garbled
    /// nonce is always `Invalid`, never `Stale`. No allocation.
    pub fn check(&self, nonce: &str, realm: &str, now_unix_ms: u64) -> NonceCheck {
        let text = nonce.as_bytes();
        // Only the canonical lowercase form is accepted: one nonce, one spelling.
        if text.len() != NONCE_LEN || !text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return NonceCheck::Invalid;
        }
        let mut raw = [0u8; RAW_LEN];
        if hex::decode_to_slice(text, &mut raw).is_err() {
            return NonceCheck::Invalid;
        }
        let mut id_bytes = [0u8; ID_LEN];
        id_bytes.copy_from_slice(&raw[..ID_LEN]);
        let expected = self.tag(&id_bytes, realm);
        if !bool::from(expected.ct_eq(&raw[ID_LEN..])) {
            return NonceCheck::Invalid;
        }
        let id = NonceId(u64::from_be_bytes(id_bytes));
        let issued = id.issued_ms();
        let too_old = now_unix_ms.saturating_sub(issued) > self.lifetime_ms;
        let too_new = issued > now_unix_ms.saturating_add(self.max_skew_ms);
        if too_old || too_new {
            NonceCheck::Stale { id }
        } else {
            NonceCheck::Valid { id }
        }
    }
}

impl fmt::Debug for NonceIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceIssuer")
            .field("secret", &"<redacted>")
            .field("lifetime_ms", &self.lifetime_ms)
            .field("max_skew_ms", &self.max_skew_ms)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: [u8; 32] = [0x5a; 32];
    const T0: u64 = 1_700_000_000_000;
    const REALM: &str = "example.test";

    fn issuer() -> NonceIssuer {
        NonceIssuer::new(&SECRET, Duration::from_secs(300))
    }

    #[test]
    fn fresh_nonce_is_valid_until_its_lifetime_ends() {
        let issuer = issuer();
        let nonce = issuer.issue(T0, REALM);
        assert_eq!(nonce.len(), NONCE_LEN);
        let NonceCheck::Valid { id } = issuer.check(&nonce, REALM, T0) else {
            panic!("fresh nonce rejected");
        };
        assert_eq!(id.issued_ms(), T0);
        assert_eq!(
            issuer.check(&nonce, REALM, T0 + 300_000),
            NonceCheck::Valid { id }
        );
        assert_eq!(
            issuer.check(&nonce, REALM, T0 + 300_001),
            NonceCheck::Stale { id }
        );
    }

    #[test]
    fn future_nonce_within_skew_is_valid_beyond_is_stale() {
        let issuer = issuer().with_max_skew(Duration::from_secs(2));
        let nonce = issuer.issue(T0, REALM);
        assert!(matches!(
            issuer.check(&nonce, REALM, T0 - 2_000),
            NonceCheck::Valid { .. }
        ));
        assert!(matches!(
            issuer.check(&nonce, REALM, T0 - 2_001),
            NonceCheck::Stale { .. }
        ));
    }

    #[test]
    fn same_millisecond_nonces_differ() {
        let issuer = issuer();
        let a = issuer.issue(T0, REALM);
        let b = issuer.issue(T0, REALM);
        assert_ne!(a, b);
        let (NonceCheck::Valid { id: ia }, NonceCheck::Valid { id: ib }) =
            (issuer.check(&a, REALM, T0), issuer.check(&b, REALM, T0))
        else {
            panic!("nonces rejected");
        };
        assert!(ia < ib);
    }

    #[test]
    fn forged_or_foreign_nonces_are_invalid() {
        let issuer = issuer();
        let nonce = issuer.issue(T0, REALM);
        // Another realm, another secret.
        assert_eq!(issuer.check(&nonce, "other.test", T0), NonceCheck::Invalid);
        let other = NonceIssuer::new(&[1; 32], Duration::from_secs(300));
        assert_eq!(other.check(&nonce, REALM, T0), NonceCheck::Invalid);
        // Every single-digit change, including the timestamp, is caught.
        for i in 0..NONCE_LEN {
            let mut bytes = nonce.clone().into_bytes();
            bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
            let tampered = String::from_utf8(bytes).unwrap();
            assert_eq!(
                issuer.check(&tampered, REALM, T0),
                NonceCheck::Invalid,
                "{i}"
            );
        }
        // Garbled shapes, uppercase spelling, a stale-looking forgery.
        for bad in [
            "",
            "xyz",
            &nonce[..NONCE_LEN - 1],
            &format!("{nonce}0"),
            &nonce.to_uppercase(),
            &format!("{}{}", &nonce[..16], "0".repeat(32)),
        ] {
            assert_eq!(issuer.check(bad, REALM, T0), NonceCheck::Invalid, "{bad}");
        }
        assert_eq!(
            issuer.check(&"é".repeat(24), REALM, T0),
            NonceCheck::Invalid
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let debug = format!("{:?}", issuer());
        assert!(debug.contains("<redacted>"));
        assert!(!debug.contains("90, 90")); // 0x5a as decimal bytes
        assert!(!debug.to_lowercase().contains("5a5a"));
    }

    #[test]
    fn issue_time_is_clamped_to_48_bits() {
        let id = NonceId::from_parts(u64::MAX, 7);
        assert_eq!(id.issued_ms(), MAX_ISSUE_MS);
    }
}
