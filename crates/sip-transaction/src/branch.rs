//! Branch generation (RFC 3261 §8.1.1.7) from a seeded generator.

use sb_sip_message::{BRANCH_MAGIC_COOKIE, Branch, ByteStr};

/// SplitMix64: a small, fast, seedable generator. Branches need uniqueness, not
/// secrecy: 64 random bits plus a per-layer counter make collisions within a
/// process impossible for 2^32 branches and negligible across processes seeded
/// differently.
#[derive(Debug, Clone)]
pub(crate) struct BranchGenerator {
    state: u64,
    counter: u32,
}

impl BranchGenerator {
    pub(crate) fn new(seed: u64) -> Self {
        BranchGenerator {
            state: seed,
            counter: 0,
        }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// `z9hG4bK` followed by 16 hex digits of randomness and 8 of the counter.
    pub(crate) fn next_branch(&mut self) -> Branch {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let random = self.next_u64();
        self.counter = self.counter.wrapping_add(1);
        let mut buf = [0u8; 7 + 16 + 8];
        buf[..7].copy_from_slice(BRANCH_MAGIC_COOKIE.as_bytes());
        for (i, b) in buf[7..23].iter_mut().enumerate() {
            *b = HEX[((random >> (60 - 4 * i)) & 0xf) as usize];
        }
        for (i, b) in buf[23..].iter_mut().enumerate() {
            *b = HEX[((self.counter >> (28 - 4 * i)) & 0xf) as usize];
        }
        let text = std::str::from_utf8(&buf).expect("cookie and hex digits are ASCII");
        Branch(ByteStr::from(text))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn branches_are_unique_deterministic_and_cookied() {
        let mut a = BranchGenerator::new(7);
        let mut b = BranchGenerator::new(7);
        let mut seen = HashSet::new();
        for _ in 0..10_000 {
            let x = a.next_branch();
            assert_eq!(x, b.next_branch());
            assert!(x.is_rfc3261());
            assert_eq!(x.as_str().len(), 31);
            assert!(seen.insert(x));
        }
        let mut c = BranchGenerator::new(8);
        assert_ne!(c.next_branch(), BranchGenerator::new(7).next_branch());
    }
}
