//! Nonce-count replay protection (RFC 2617 §3.2.2 "nc", RFC 7616 §3.4 and §5.5).
//!
//! The table maps each nonce used so far to the highest `nc` accepted with it,
//! in bounded memory. Entries leave the table in issue order, either because
//! their nonce expired or because the table is full. A nonce whose entry left
//! can no longer be told apart from a replay of it, so the table remembers the
//! newest nonce it ever dropped (the *watermark*) and refuses every nonce issued
//! at or before it that it no longer knows: such a nonce is answered like a
//! stale one, the client is challenged again and retries with a fresh nonce.
//! Nonces issued after the watermark and absent from the table were never used
//! here, so their first use is accepted.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use crate::nonce::NonceId;

/// Why [`NonceCounter::check_and_record`] refused a request. Every case is
/// answered with a new challenge with `stale=true`: a legitimate client then
/// retries with a fresh nonce, a replayed request goes nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// `nc` is not greater than the highest count already accepted with this
    /// nonce: a replay, or requests that arrived out of order.
    NotIncreasing {
        /// The count received.
        nc: u32,
        /// The highest count accepted so far (0 if none).
        last: u32,
    },
    /// The nonce's entry was dropped (table full or expired) or the nonce is
    /// older than the newest dropped entry, so a replay cannot be ruled out.
    Forgotten,
    /// The nonce is older than the lifetime.
    Expired,
}

/// Highest accepted nonce count per nonce, bounded in memory.
#[derive(Debug)]
pub struct NonceCounter {
    /// Keyed by nonce identity, which orders entries by issue time.
    entries: BTreeMap<NonceId, u32>,
    capacity: usize,
    lifetime_ms: u64,
    /// Newest nonce whose entry was dropped.
    watermark: Option<NonceId>,
}

impl NonceCounter {
    /// A table holding at most `capacity` nonces, each for `lifetime` after its
    /// issue time: use the [`crate::NonceIssuer`]'s lifetime.
    pub fn new(capacity: NonZeroUsize, lifetime: Duration) -> NonceCounter {
        NonceCounter {
            entries: BTreeMap::new(),
            capacity: capacity.get(),
            lifetime_ms: u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX),
            watermark: None,
        }
    }

    /// Number of nonces tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no nonce is tracked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn expired(&self, id: NonceId, now_unix_ms: u64) -> bool {
        now_unix_ms.saturating_sub(id.issued_ms()) > self.lifetime_ms
    }

    fn drop_oldest(&mut self) {
        if let Some((id, _)) = self.entries.pop_first() {
            self.watermark = self.watermark.max(Some(id));
        }
    }

    /// Drops the entries of expired nonces. [`NonceCounter::check_and_record`]
    /// does this on every call; calling it from a timer keeps memory low when
    /// traffic stops.
    pub fn purge_expired(&mut self, now_unix_ms: u64) {
        while let Some((&oldest, _)) = self.entries.first_key_value() {
            if !self.expired(oldest, now_unix_ms) {
                break;
            }
            self.drop_oldest();
        }
    }

    /// Accepts `nc` for `nonce` if it is greater than every count accepted with
    /// that nonce before, and records it.
    ///
    /// Call it after [`crate::verify`] succeeded, so that forged requests cannot
    /// advance a legitimate client's count. The first use of a nonce may carry
    /// any count from 1 up: counts the table never saw cannot be replays.
    pub fn check_and_record(
        &mut self,
        nonce: NonceId,
        nc: u32,
        now_unix_ms: u64,
    ) -> Result<(), Replay> {
        self.purge_expired(now_unix_ms);
        if self.expired(nonce, now_unix_ms) {
            return Err(Replay::Expired);
        }
        if let Some(last) = self.entries.get_mut(&nonce) {
            if nc <= *last {
                return Err(Replay::NotIncreasing { nc, last: *last });
            }
            *last = nc;
            return Ok(());
        }
        if self.watermark.is_some_and(|w| nonce <= w) {
            return Err(Replay::Forgotten);
        }
        if nc == 0 {
            return Err(Replay::NotIncreasing { nc, last: 0 });
        }
        self.entries.insert(nonce, nc);
        while self.entries.len() > self.capacity {
            self.drop_oldest();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nonce::{NonceCheck, NonceIssuer};

    const T0: u64 = 1_700_000_000_000;
    const LIFETIME: Duration = Duration::from_secs(300);

    fn ids(n: usize, at: u64) -> Vec<NonceId> {
        let issuer = NonceIssuer::new(&[3; 32], LIFETIME);
        (0..n)
            .map(|_| match issuer.check(&issuer.issue(at, "r"), "r", at) {
                NonceCheck::Valid { id } => id,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    fn counter(capacity: usize) -> NonceCounter {
        NonceCounter::new(NonZeroUsize::new(capacity).unwrap(), LIFETIME)
    }

    #[test]
    fn counts_must_strictly_increase() {
        let v = ids(2, T0);
        let id = v[0];
        let mut c = counter(8);
        assert_eq!(c.check_and_record(id, 1, T0), Ok(()));
        assert_eq!(
            c.check_and_record(id, 1, T0),
            Err(Replay::NotIncreasing { nc: 1, last: 1 })
        );
        assert_eq!(c.check_and_record(id, 2, T0), Ok(()));
        assert_eq!(c.check_and_record(id, 5, T0), Ok(()));
        // Out of order: 4 after 5.
        assert_eq!(
            c.check_and_record(id, 4, T0),
            Err(Replay::NotIncreasing { nc: 4, last: 5 })
        );
        assert_eq!(
            c.check_and_record(v[1], 0, T0),
            Err(Replay::NotIncreasing { nc: 0, last: 0 })
        );
    }

    #[test]
    fn nonces_are_counted_independently() {
        let v = ids(2, T0);
        let mut c = counter(8);
        assert_eq!(c.check_and_record(v[0], 1, T0), Ok(()));
        assert_eq!(c.check_and_record(v[1], 1, T0), Ok(()));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn evicted_nonces_are_refused_not_forgotten() {
        let v = ids(3, T0);
        let mut c = counter(2);
        for &id in &v {
            assert_eq!(c.check_and_record(id, 1, T0), Ok(()));
        }
        assert_eq!(c.len(), 2);
        // v[0] was evicted: replaying its nc=1 must not succeed, nor may a
        // higher count, since the table no longer knows what was used.
        assert_eq!(c.check_and_record(v[0], 1, T0), Err(Replay::Forgotten));
        assert_eq!(c.check_and_record(v[0], 2, T0), Err(Replay::Forgotten));
        // The others are still tracked normally.
        assert_eq!(
            c.check_and_record(v[1], 1, T0),
            Err(Replay::NotIncreasing { nc: 1, last: 1 })
        );
        assert_eq!(c.check_and_record(v[2], 2, T0), Ok(()));
    }

    #[test]
    fn unused_older_nonce_is_refused_after_an_eviction() {
        // A nonce issued before an evicted one might have been used and
        // evicted too: it is refused (the client gets a fresh nonce).
        let older = ids(1, T0)[0];
        let newer = ids(2, T0 + 10);
        let mut c = counter(1);
        assert_eq!(c.check_and_record(newer[0], 1, T0 + 10), Ok(()));
        assert_eq!(c.check_and_record(newer[1], 1, T0 + 10), Ok(()));
        assert_eq!(
            c.check_and_record(older, 1, T0 + 10),
            Err(Replay::Forgotten)
        );
        // A nonce issued after the eviction is still accepted.
        let later = ids(1, T0 + 20)[0];
        assert_eq!(c.check_and_record(later, 1, T0 + 20), Ok(()));
    }

    #[test]
    fn entries_expire_with_the_nonce_lifetime() {
        let v = ids(1, T0);
        let mut c = counter(8);
        assert_eq!(c.check_and_record(v[0], 1, T0), Ok(()));
        let late = T0 + 300_001;
        c.purge_expired(late);
        assert!(c.is_empty());
        assert_eq!(c.check_and_record(v[0], 2, late), Err(Replay::Expired));
        let fresh = ids(1, late)[0];
        assert_eq!(c.check_and_record(fresh, 1, late), Ok(()));
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn memory_stays_bounded_under_many_nonces() {
        let v = ids(1000, T0);
        let mut c = counter(64);
        for (i, &id) in v.iter().enumerate() {
            assert_eq!(c.check_and_record(id, 1, T0 + i as u64), Ok(()));
            assert!(c.len() <= 64);
        }
        // Every nonce ever accepted is refused on replay, tracked or not.
        for &id in &v {
            assert!(c.check_and_record(id, 1, T0 + 1000).is_err());
        }
    }
}
