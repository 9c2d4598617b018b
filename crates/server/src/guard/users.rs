//! Failed authentications per claimed user name, from any sources: the
//! defence against guessing one user's password from many addresses.
//!
//! A user name that collects `failures` within `window` is *watched* for
//! `watch_time`: while watched, every failed attempt for it bans the source
//! that made it at once (instead of after that source's own count). Attempts
//! that succeed are never refused, so the user's own devices keep working
//! however long an attacker keeps trying — a watch cannot lock anyone out.
//!
//! Names are compared ignoring ASCII case (as the registrar does). Names
//! longer than any account may have are not tracked (they cannot be guessed
//! into). The table holds at most `capacity` names; a full table forgets
//! names whose window has passed, then the unwatched name counted longest
//! ago, and only when every name is watched, the watch that ends first.

use std::collections::HashMap;

use foldhash::fast::FixedState;

use super::Micros;

/// Longest user name tracked (the longest an account may have).
pub(super) const MAX_NAME: usize = 64;

/// A watch on one user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Watch {
    pub(super) since: Micros,
    pub(super) until: Micros,
    /// Failed attempts made while watched (each banned its source).
    pub(super) refused: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    since: Micros,
    failures: u32,
    watch: Option<Watch>,
}

/// When a name is watched, and for how long.
#[derive(Debug, Clone, Copy)]
pub(super) struct UserLimits {
    pub(super) failures: u32,
    pub(super) window: Micros,
    pub(super) watch_time: Micros,
}

/// What one failure did to its user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UserFailure {
    /// Counted; the name is not watched.
    Counted,
    /// The name is watched (the failure's source is to be banned).
    Watched,
    /// This failure started a watch (its source is to be banned too).
    WatchStarted,
}

/// The per-name table (behind the guard's lock).
#[derive(Debug)]
pub(super) struct UserTable {
    entries: HashMap<Box<str>, Entry, FixedState>,
    capacity: usize,
    /// The lower-cased name being looked up, reused.
    key: String,
}

impl UserTable {
    pub(super) fn new(capacity: usize, seed: u64) -> UserTable {
        UserTable {
            entries: HashMap::with_hasher(FixedState::with_seed(seed)),
            capacity: capacity.max(1),
            key: String::with_capacity(MAX_NAME),
        }
    }

    /// Counts a failed authentication for `name`.
    pub(super) fn failure(&mut self, name: &str, now: Micros, limits: &UserLimits) -> UserFailure {
        if name.is_empty() || name.len() > MAX_NAME || limits.failures == 0 {
            return UserFailure::Counted;
        }
        self.key.clear();
        self.key.push_str(name);
        self.key.make_ascii_lowercase();
        if !self.entries.contains_key(self.key.as_str()) {
            if self.entries.len() >= self.capacity {
                self.make_room(now, limits.window);
            }
            self.entries.insert(
                self.key.as_str().into(),
                Entry {
                    since: now,
                    failures: 0,
                    watch: None,
                },
            );
        }
        let entry = self
            .entries
            .get_mut(self.key.as_str())
            .expect("inserted above when missing");
        if let Some(watch) = entry.watch.as_mut() {
            if watch.until > now {
                watch.refused += 1;
                return UserFailure::Watched;
            }
            entry.watch = None;
            entry.failures = 0;
            entry.since = now;
        }
        if entry.since + limits.window <= now {
            entry.since = now;
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        if entry.failures < limits.failures {
            return UserFailure::Counted;
        }
        entry.watch = Some(Watch {
            since: now,
            until: now + limits.watch_time,
            refused: 1,
        });
        UserFailure::WatchStarted
    }

    fn make_room(&mut self, now: Micros, window: Micros) {
        self.entries.retain(|_, e| !idle(e, now, window));
        if self.entries.len() < self.capacity {
            return;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| e.watch.is_none())
            .min_by_key(|(_, e)| e.since)
            .or_else(|| {
                self.entries
                    .iter()
                    .min_by_key(|(_, e)| e.watch.map_or(0, |w| w.until))
            })
            .map(|(k, _)| k.clone());
        if let Some(k) = victim {
            self.entries.remove(&k);
        }
    }

    /// Ends the watch on `name`, forgetting its failures; `false` when it
    /// was not watched.
    pub(super) fn lift(&mut self, name: &str, now: Micros) -> bool {
        self.key.clear();
        self.key.push_str(name);
        self.key.make_ascii_lowercase();
        let watched = self
            .entries
            .get(self.key.as_str())
            .and_then(|e| e.watch)
            .is_some_and(|w| w.until > now);
        if watched {
            self.entries.remove(self.key.as_str());
        }
        watched
    }

    /// Every watch in force, by (lower-case) name.
    pub(super) fn watches(&self, now: Micros) -> Vec<(String, Watch)> {
        self.entries
            .iter()
            .filter_map(|(k, e)| {
                e.watch
                    .filter(|w| w.until > now)
                    .map(|w| (k.to_string(), w))
            })
            .collect()
    }

    /// Names held, and how many are watched.
    pub(super) fn counts(&self, now: Micros) -> (usize, usize) {
        let watched = self
            .entries
            .values()
            .filter(|e| e.watch.is_some_and(|w| w.until > now))
            .count();
        (self.entries.len(), watched)
    }

    /// Forgets names whose window and watch have passed; returns how many.
    pub(super) fn sweep(&mut self, now: Micros, window: Micros) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| !idle(e, now, window));
        before - self.entries.len()
    }
}

fn idle(e: &Entry, now: Micros, window: Micros) -> bool {
    e.watch.is_none_or(|w| w.until <= now) && e.since + window <= now
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Micros = 1_000_000;

    /// Three failures per minute start a ten-minute watch.
    fn limits() -> UserLimits {
        UserLimits {
            failures: 3,
            window: 60 * S,
            watch_time: 600 * S,
        }
    }

    #[test]
    fn failures_within_the_window_start_a_watch() {
        let mut t = UserTable::new(100, 3);
        let l = limits();
        assert_eq!(t.failure("alice", 0, &l), UserFailure::Counted);
        assert_eq!(t.failure("Alice", 10 * S, &l), UserFailure::Counted);
        assert_eq!(t.failure("ALICE", 20 * S, &l), UserFailure::WatchStarted);
        assert_eq!(t.failure("alice", 30 * S, &l), UserFailure::Watched);
        assert_eq!(t.failure("bob", 30 * S, &l), UserFailure::Counted);
        let watches = t.watches(30 * S);
        assert_eq!(
            watches,
            vec![(
                "alice".to_owned(),
                Watch {
                    since: 20 * S,
                    until: 620 * S,
                    refused: 2
                }
            )]
        );
        assert_eq!(t.counts(30 * S), (2, 1));
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_start_a_watch() {
        let mut t = UserTable::new(100, 3);
        let l = limits();
        for i in 0..10 {
            assert_eq!(
                t.failure("alice", i * 31 * S, &l),
                UserFailure::Counted,
                "{i}"
            );
        }
        assert!(t.watches(310 * S).is_empty());
    }

    #[test]
    fn a_watch_ends_and_counting_starts_again() {
        let mut t = UserTable::new(100, 3);
        let l = limits();
        for _ in 0..3 {
            t.failure("alice", 0, &l);
        }
        assert_eq!(t.failure("alice", 600 * S, &l), UserFailure::Counted);
        assert!(t.watches(600 * S).is_empty());
        assert_eq!(t.sweep(660 * S, l.window), 1);
        assert_eq!(t.counts(660 * S), (0, 0));
    }

    #[test]
    fn lifting_ends_a_watch_and_forgets_the_failures() {
        let mut t = UserTable::new(100, 3);
        let l = limits();
        t.failure("alice", 0, &l);
        assert!(!t.lift("alice", 0), "not watched");
        t.failure("alice", 0, &l);
        t.failure("alice", 0, &l);
        assert!(t.lift("ALICE", S));
        assert!(!t.lift("alice", S));
        assert_eq!(t.failure("alice", S, &l), UserFailure::Counted);
    }

    #[test]
    fn names_too_long_for_an_account_and_a_zero_limit_are_not_tracked() {
        let mut t = UserTable::new(100, 3);
        let l = limits();
        let long = "a".repeat(MAX_NAME + 1);
        for _ in 0..5 {
            assert_eq!(t.failure(&long, 0, &l), UserFailure::Counted);
            assert_eq!(t.failure("", 0, &l), UserFailure::Counted);
        }
        let off = UserLimits { failures: 0, ..l };
        for _ in 0..5 {
            assert_eq!(t.failure("alice", 0, &off), UserFailure::Counted);
        }
        assert_eq!(t.counts(0), (0, 0));
    }

    #[test]
    fn a_full_table_keeps_watches_over_new_names() {
        let mut t = UserTable::new(2, 3);
        let l = limits();
        for _ in 0..3 {
            t.failure("alice", 0, &l);
        }
        t.failure("bob", S, &l);
        // Names from a dictionary push each other out, never the watch.
        for i in 0..20 {
            t.failure(&format!("guess{i}"), 2 * S, &l);
        }
        assert_eq!(t.counts(2 * S), (2, 1));
        assert_eq!(t.failure("alice", 3 * S, &l), UserFailure::Watched);
    }
}
