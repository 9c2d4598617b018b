//! A cancellable timer queue: deadlines ordered in a B-tree, each insertion
//! returning a handle that cancels it in O(log n). Used for binding expiry and
//! effect deadlines, where entries are refreshed far more often than they fire.

use std::collections::BTreeMap;
use std::time::Instant;

/// Cancels one queued timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerHandle(Instant, u64);

/// Deadlines with payloads, earliest first; ties fire in insertion order.
#[derive(Debug)]
pub struct TimerQueue<K> {
    entries: BTreeMap<(Instant, u64), K>,
    next_seq: u64,
}

impl<K> Default for TimerQueue<K> {
    fn default() -> Self {
        TimerQueue {
            entries: BTreeMap::new(),
            next_seq: 0,
        }
    }
}

impl<K> TimerQueue<K> {
    /// An empty queue.
    pub fn new() -> Self {
        TimerQueue::default()
    }

    /// Queues `key` at `at`.
    pub fn insert(&mut self, at: Instant, key: K) -> TimerHandle {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.entries.insert((at, seq), key);
        TimerHandle(at, seq)
    }

    /// Cancels a timer; returns its payload when it was still queued.
    pub fn cancel(&mut self, handle: TimerHandle) -> Option<K> {
        self.entries.remove(&(handle.0, handle.1))
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries.keys().next().map(|(at, _)| *at)
    }

    /// Removes and returns the earliest payload whose deadline is at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let (&(at, _), _) = self.entries.first_key_value()?;
        if at > now {
            return None;
        }
        self.entries.pop_first().map(|(_, k)| k)
    }

    /// Number of queued timers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Nothing queued.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn fires_in_deadline_then_insertion_order_and_cancels() {
        let t0 = Instant::now();
        let mut q = TimerQueue::new();
        let a = q.insert(t0 + Duration::from_secs(2), "a");
        q.insert(t0 + Duration::from_secs(1), "b");
        q.insert(t0 + Duration::from_secs(1), "c");
        q.insert(t0 + Duration::from_secs(3), "d");
        assert_eq!(q.cancel(a), Some("a"));
        assert_eq!(q.cancel(a), None);
        assert_eq!(q.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(q.pop_due(t0), None);
        assert_eq!(q.pop_due(t0 + Duration::from_secs(2)), Some("b"));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(2)), Some("c"));
        assert_eq!(q.pop_due(t0 + Duration::from_secs(2)), None);
        assert_eq!(q.len(), 1);
    }
}
