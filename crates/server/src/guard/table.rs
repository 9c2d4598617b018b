//! The per-source table: one entry per source address (IPv6 per /64) with
//! its message allowance, its recent authentication failures and its ban.
//!
//! The table is split into shards, each behind its own lock, chosen by a
//! seeded hash of the address: concurrent receive tasks rarely meet on one
//! lock, and a lookup of a known source allocates nothing. Memory is bounded:
//! each shard holds at most its share of `max_sources`; a full shard first
//! forgets idle entries, then the least loaded unbanned one, and only when
//! every entry is a ban, the ban that ends first.
//!
//! The allowance is the generic cell rate algorithm (GCRA): an entry keeps
//! the time at which its allowance is whole again (`tat`); each message moves
//! it on by `window / limit`, and a message that would move it more than
//! `window` past now is over the limit. So `limit` messages may arrive at
//! once, and `limit` per `window` may follow steadily. An entry whose `tat`
//! has passed carries no information, which is what makes it idle.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::{Mutex, PoisonError};

use foldhash::fast::FixedState;

use super::{BanReason, Micros, SourceKey};

/// Mixed into the seed of the shard selector, so that the bits choosing a
/// shard are unrelated to the bits the shard's own map uses.
const SHARD_SEED_MIX: u64 = 0x9e37_79b9_7f4a_7c15;

/// Entries per shard below which more shards are not worth their locks.
const MIN_SHARD_ENTRIES: usize = 256;

/// Most shards.
const MAX_SHARDS: usize = 64;

/// A source's ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Ban {
    pub(super) reason: BanReason,
    pub(super) since: Micros,
    pub(super) until: Micros,
    /// Messages dropped because of it.
    pub(super) drops: u64,
}

/// What the table knows about one source.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// When the message allowance is whole again (GCRA).
    tat: Micros,
    /// Start of the current authentication-failure window.
    failures_since: Micros,
    /// Failures in that window.
    failures: u32,
    ban: Option<Ban>,
}

impl Entry {
    fn fresh(now: Micros) -> Entry {
        Entry {
            tat: now,
            failures_since: now,
            failures: 0,
            ban: None,
        }
    }

    /// The ban in force at `now`; an ended one is forgotten with the
    /// failures counted before it.
    fn active_ban(&mut self, now: Micros) -> Option<&mut Ban> {
        if self.ban.is_some_and(|b| b.until <= now) {
            self.ban = None;
            self.failures = 0;
        }
        self.ban.as_mut()
    }

    /// Whether forgetting the entry loses nothing at `now`.
    fn idle(&self, now: Micros, failure_window: Micros) -> bool {
        self.tat <= now
            && self.ban.is_none_or(|b| b.until <= now)
            && (self.failures == 0 || self.failures_since + failure_window <= now)
    }
}

/// How one message fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// Within the allowance.
    Pass,
    /// The source is banned: dropped.
    Dropped,
    /// Over the allowance: dropped, and the source is banned from now on.
    Banned,
}

/// The rate settings the table applies.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    /// Allowance used by one message (`window / limit`), at least 1 µs.
    pub(super) interval: Micros,
    /// How far ahead the allowance may be used (`window`).
    pub(super) window: Micros,
    /// How long a ban lasts.
    pub(super) ban_time: Micros,
    /// Failures that ban a source (0: never).
    pub(super) failures: u32,
    /// The window failures are counted in.
    pub(super) failure_window: Micros,
}

/// One shard: its entries and its capacity.
#[derive(Debug)]
struct Shard {
    entries: HashMap<SourceKey, Entry, FixedState>,
    capacity: usize,
}

impl Shard {
    /// The entry of `key`, created (making room first) when missing;
    /// `true` when an entry was evicted for it.
    fn entry(&mut self, key: SourceKey, now: Micros, limits: &Limits) -> (&mut Entry, bool) {
        let mut evicted = false;
        if !self.entries.contains_key(&key) && self.entries.len() >= self.capacity {
            evicted = self.make_room(now, limits);
        }
        (
            self.entries.entry(key).or_insert_with(|| Entry::fresh(now)),
            evicted,
        )
    }

    /// Frees one place at least: idle entries go first, then the unbanned
    /// entry whose allowance recovers soonest, then the ban that ends first.
    /// `true` when a live entry had to go.
    fn make_room(&mut self, now: Micros, limits: &Limits) -> bool {
        self.entries
            .retain(|_, e| !e.idle(now, limits.failure_window));
        if self.entries.len() < self.capacity {
            return false;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.ban.is_none())
            .min_by_key(|(_, e)| e.tat)
            .or_else(|| {
                self.entries
                    .iter()
                    .min_by_key(|(_, e)| e.ban.map_or(0, |b| b.until))
            })
            .map(|(k, _)| *k);
        if let Some(k) = victim {
            self.entries.remove(&k);
        }
        true
    }
}

/// The sharded table.
#[derive(Debug)]
pub(super) struct SourceTable {
    shards: Box<[Mutex<Shard>]>,
    selector: FixedState,
}

impl SourceTable {
    /// A table of at most `max_sources` entries (at least one per shard).
    pub(super) fn new(max_sources: usize, seed: u64) -> SourceTable {
        let wanted = (max_sources / MIN_SHARD_ENTRIES).clamp(1, MAX_SHARDS);
        // A power of two, so the shard is a mask of the hash.
        let count = if wanted.is_power_of_two() {
            wanted
        } else {
            wanted.next_power_of_two() / 2
        };
        let capacity = max_sources.div_ceil(count).max(1);
        let shards = (0..count)
            .map(|_| {
                Mutex::new(Shard {
                    entries: HashMap::with_hasher(FixedState::with_seed(seed)),
                    capacity,
                })
            })
            .collect();
        SourceTable {
            shards,
            selector: FixedState::with_seed(seed ^ SHARD_SEED_MIX),
        }
    }

    fn shard(&self, key: &SourceKey) -> std::sync::MutexGuard<'_, Shard> {
        let index = (self.selector.hash_one(key) as usize) & (self.shards.len() - 1);
        // A panic while a shard is held leaves plain numbers behind: still usable.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one message of `key` (when `limits` is `None`, only bans
    /// apply). The second value says whether an entry was evicted.
    pub(super) fn admit(
        &self,
        key: SourceKey,
        now: Micros,
        limits: Option<&Limits>,
    ) -> (Admit, bool) {
        let mut shard = self.shard(&key);
        let Some(limits) = limits else {
            // No allowance to keep: only a ban (from failed authentication)
            // makes an entry worth looking at.
            return match shard.entries.get_mut(&key).and_then(|e| e.active_ban(now)) {
                Some(ban) => {
                    ban.drops += 1;
                    (Admit::Dropped, false)
                }
                None => (Admit::Pass, false),
            };
        };
        let (entry, evicted) = shard.entry(key, now, limits);
        if let Some(ban) = entry.active_ban(now) {
            ban.drops += 1;
            return (Admit::Dropped, evicted);
        }
        let next = entry.tat.max(now) + limits.interval;
        if next - now <= limits.window {
            entry.tat = next;
            return (Admit::Pass, evicted);
        }
        entry.ban = Some(Ban {
            reason: BanReason::Rate,
            since: now,
            until: now + limits.ban_time,
            drops: 1,
        });
        (Admit::Banned, evicted)
    }

    /// Counts a failed authentication of `key`; bans it when the failures
    /// reach the limit or `ban_now` says so. Returns whether this failure
    /// banned it, and whether an entry was evicted.
    pub(super) fn failure(
        &self,
        key: SourceKey,
        now: Micros,
        limits: &Limits,
        ban_now: bool,
    ) -> (bool, bool) {
        let mut shard = self.shard(&key);
        let (entry, evicted) = shard.entry(key, now, limits);
        if entry.active_ban(now).is_some() {
            return (false, evicted);
        }
        if entry.failures_since + limits.failure_window <= now {
            entry.failures_since = now;
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        let over = limits.failures > 0 && entry.failures >= limits.failures;
        if !(over || ban_now) {
            return (false, evicted);
        }
        entry.ban = Some(Ban {
            reason: BanReason::Auth,
            since: now,
            until: now + limits.ban_time,
            drops: 0,
        });
        (true, evicted)
    }

    /// Forgets `key` when it is banned (its allowance and failures start
    /// afresh); `false` when it was not.
    pub(super) fn lift(&self, key: SourceKey, now: Micros) -> bool {
        let mut shard = self.shard(&key);
        let banned = shard
            .entries
            .get_mut(&key)
            .is_some_and(|e| e.active_ban(now).is_some());
        if banned {
            shard.entries.remove(&key);
        }
        banned
    }

    /// Every ban in force.
    pub(super) fn bans(&self, now: Micros) -> Vec<(SourceKey, Ban)> {
        let mut out = Vec::new();
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            out.extend(
                shard
                    .entries
                    .iter()
                    .filter_map(|(k, e)| e.ban.filter(|b| b.until > now).map(|b| (*k, b))),
            );
        }
        out
    }

    /// Entries held, and how many of them are bans in force.
    pub(super) fn counts(&self, now: Micros) -> (usize, usize) {
        let mut entries = 0;
        let mut bans = 0;
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            entries += shard.entries.len();
            bans += shard
                .entries
                .values()
                .filter(|e| e.ban.is_some_and(|b| b.until > now))
                .count();
        }
        (entries, bans)
    }

    /// Forgets every idle entry and ended ban; returns how many went.
    pub(super) fn sweep(&self, now: Micros, failure_window: Micros) -> usize {
        let mut removed = 0;
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            let before = shard.entries.len();
            shard.entries.retain(|_, e| !e.idle(now, failure_window));
            removed += before - shard.entries.len();
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    const MS: Micros = 1_000;
    const S: Micros = 1_000_000;

    /// 10 messages per second, 60 s bans, 3 failures per minute.
    fn limits() -> Limits {
        Limits {
            interval: 100 * MS,
            window: S,
            ban_time: 60 * S,
            failures: 3,
            failure_window: 60 * S,
        }
    }

    fn key(text: &str) -> SourceKey {
        SourceKey::of(text.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn a_burst_up_to_the_limit_passes_and_the_next_message_bans() {
        let table = SourceTable::new(1_000, 7);
        let l = limits();
        let a = key("192.0.2.1");
        for i in 0..10 {
            assert_eq!(table.admit(a, 0, Some(&l)).0, Admit::Pass, "message {i}");
        }
        assert_eq!(table.admit(a, 0, Some(&l)).0, Admit::Banned);
        assert_eq!(table.admit(a, 0, Some(&l)).0, Admit::Dropped);
        // Another source is not affected.
        assert_eq!(table.admit(key("192.0.2.2"), 0, Some(&l)).0, Admit::Pass);
        let bans = table.bans(S);
        assert_eq!(bans.len(), 1);
        assert_eq!(bans[0].0, a);
        assert_eq!(bans[0].1.reason, BanReason::Rate);
        assert_eq!(bans[0].1.until, 60 * S);
        assert_eq!(bans[0].1.drops, 2, "the banning message and the next");
    }

    #[test]
    fn a_steady_rate_at_the_limit_is_never_banned() {
        let table = SourceTable::new(1_000, 7);
        let l = limits();
        let a = key("192.0.2.1");
        // 10 per second for a minute, evenly spaced.
        for i in 0..600 {
            assert_eq!(table.admit(a, i * 100 * MS, Some(&l)).0, Admit::Pass, "{i}");
        }
        // Faster than that uses the burst up, then bans.
        let mut now = 60 * S;
        let mut passed = 0;
        loop {
            match table.admit(a, now, Some(&l)).0 {
                Admit::Pass => passed += 1,
                Admit::Banned => break,
                Admit::Dropped => panic!("dropped before being banned"),
            }
            now += 50 * MS;
        }
        // At twice the rate, the one-second burst lasts about two seconds.
        assert!((18..=21).contains(&passed), "{passed}");
    }

    #[test]
    fn a_ban_ends_after_its_time_with_a_whole_allowance() {
        let table = SourceTable::new(1_000, 7);
        let l = limits();
        let a = key("192.0.2.1");
        for _ in 0..11 {
            table.admit(a, 0, Some(&l));
        }
        assert_eq!(table.admit(a, 60 * S - 1, Some(&l)).0, Admit::Dropped);
        for i in 0..10 {
            assert_eq!(table.admit(a, 60 * S, Some(&l)).0, Admit::Pass, "{i}");
        }
        assert!(table.bans(60 * S).is_empty());
    }

    #[test]
    fn failures_ban_at_the_limit_within_the_window_only() {
        let table = SourceTable::new(1_000, 7);
        let l = limits();
        let a = key("192.0.2.1");
        assert_eq!(table.failure(a, 0, &l, false), (false, false));
        assert_eq!(table.failure(a, 30 * S, &l, false), (false, false));
        // The window restarted at 60 s: the first failure has gone.
        assert_eq!(table.failure(a, 61 * S, &l, false), (false, false));
        assert_eq!(table.failure(a, 62 * S, &l, false), (false, false));
        assert_eq!(table.failure(a, 63 * S, &l, false), (true, false));
        let bans = table.bans(63 * S);
        assert_eq!(bans[0].1.reason, BanReason::Auth);
        assert_eq!(bans[0].1.since, 63 * S);
        assert_eq!(table.admit(a, 64 * S, None).0, Admit::Dropped);
        // A banned source's failures change nothing.
        assert_eq!(table.failure(a, 65 * S, &l, false), (false, false));
        // `ban_now` bans at the first failure.
        assert_eq!(table.failure(key("192.0.2.9"), 0, &l, true), (true, false));
    }

    #[test]
    fn without_a_rate_limit_only_bans_count_and_nothing_is_stored() {
        let table = SourceTable::new(1_000, 7);
        let a = key("192.0.2.1");
        for _ in 0..1_000 {
            assert_eq!(table.admit(a, 0, None).0, Admit::Pass);
        }
        assert_eq!(table.counts(0), (0, 0));
        table.failure(a, 0, &limits(), true);
        assert_eq!(table.admit(a, 0, None).0, Admit::Dropped);
        assert_eq!(table.counts(0), (1, 1));
    }

    #[test]
    fn lifting_forgets_a_banned_source_only() {
        let table = SourceTable::new(1_000, 7);
        let l = limits();
        let a = key("192.0.2.1");
        table.admit(a, 0, Some(&l));
        assert!(!table.lift(a, 0), "not banned");
        for _ in 0..11 {
            table.admit(a, 0, Some(&l));
        }
        assert!(table.lift(a, S));
        assert!(!table.lift(a, S));
        for i in 0..10 {
            assert_eq!(table.admit(a, S, Some(&l)).0, Admit::Pass, "{i}");
        }
    }

    #[test]
    fn a_full_table_forgets_idle_entries_first() {
        let table = SourceTable::new(4, 7);
        let l = limits();
        for i in 1..=4 {
            table.admit(key(&format!("192.0.2.{i}")), 0, Some(&l));
        }
        assert_eq!(table.counts(0).0, 4);
        // At 1 s every entry's allowance is whole again: all idle.
        let (admit, evicted) = table.admit(key("192.0.2.5"), S, Some(&l));
        assert_eq!(admit, Admit::Pass);
        assert!(!evicted);
        assert_eq!(table.counts(S).0, 1);
    }

    #[test]
    fn a_full_table_keeps_bans_and_busy_sources_over_newcomers() {
        let table = SourceTable::new(3, 7);
        let l = limits();
        let flooder = key("192.0.2.1");
        let busy = key("192.0.2.2");
        let quiet = key("192.0.2.3");
        for _ in 0..11 {
            table.admit(flooder, 0, Some(&l));
        }
        for _ in 0..8 {
            table.admit(busy, 0, Some(&l));
        }
        table.admit(quiet, 0, Some(&l));
        // Spoofed newcomers push out the least loaded entry each time, never
        // the ban.
        for i in 10..50 {
            let (admit, evicted) = table.admit(key(&format!("198.51.100.{i}")), MS, Some(&l));
            assert_eq!(admit, Admit::Pass);
            assert!(evicted);
        }
        assert_eq!(table.counts(MS), (3, 1));
        assert_eq!(table.admit(flooder, MS, Some(&l)).0, Admit::Dropped);
        assert_eq!(table.bans(MS)[0].0, flooder);
    }

    #[test]
    fn a_table_full_of_bans_replaces_the_ban_that_ends_first() {
        let table = SourceTable::new(2, 7);
        let l = limits();
        let first = key("192.0.2.1");
        let second = key("192.0.2.2");
        table.failure(first, 0, &l, true);
        table.failure(second, S, &l, true);
        let (_, evicted) = table.admit(key("192.0.2.3"), 2 * S, Some(&l));
        assert!(evicted);
        let bans: Vec<SourceKey> = table.bans(2 * S).into_iter().map(|(k, _)| k).collect();
        assert_eq!(bans, vec![second]);
    }

    #[test]
    fn sweeping_forgets_idle_entries_and_ended_bans() {
        let table = SourceTable::new(1_000, 7);
        let l = limits();
        table.admit(key("192.0.2.1"), 0, Some(&l));
        table.failure(key("192.0.2.2"), 0, &l, false);
        table.failure(key("192.0.2.3"), 0, &l, true);
        assert_eq!(table.sweep(S, l.failure_window), 1, "the allowance is back");
        assert_eq!(table.sweep(60 * S, l.failure_window), 2);
        assert_eq!(table.counts(60 * S), (0, 0));
    }

    #[test]
    fn many_shards_hold_up_to_the_maximum() {
        let table = SourceTable::new(100_000, 7);
        assert_eq!(table.shards.len(), MAX_SHARDS);
        let l = limits();
        for i in 0..20_000u16 {
            let ip: IpAddr = format!("2001:db8:{i:x}::1").parse().unwrap();
            assert_eq!(table.admit(SourceKey::of(ip), 0, Some(&l)).0, Admit::Pass);
        }
        assert_eq!(table.counts(0).0, 20_000);
        let small = SourceTable::new(1_000, 7);
        assert_eq!(small.shards.len(), 2);
        let odd = SourceTable::new(3 * MIN_SHARD_ENTRIES, 7);
        assert_eq!(odd.shards.len(), 2);
    }
}
