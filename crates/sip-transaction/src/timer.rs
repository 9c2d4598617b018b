//! Timer values (RFC 3261 §17, Table 4 of Appendix A; RFC 6026 §8) and the timer
//! queue: a binary heap with lazy cancellation.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::types::TxId;

/// The base timer values every transaction timer derives from (RFC 3261 §17.1.1.1,
/// §17.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1, the round-trip time estimate. Default 500 ms.
    pub t1: Duration,
    /// T2, the longest retransmission interval for non-INVITE requests and INVITE
    /// responses. Default 4 s.
    pub t2: Duration,
    /// T4, the longest time a message stays in the network. Default 5 s.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// The transaction timers. Timer C (RFC 3261 §16.6 step 11) belongs to the proxy
/// core, not to a transaction, and is not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// INVITE request retransmission, starts at T1 and doubles, unreliable
    /// transports only (RFC 3261 §17.1.1.2).
    A,
    /// INVITE client transaction timeout in Calling, 64·T1 (RFC 3261 §17.1.1.2).
    B,
    /// Wait for response retransmissions in the INVITE client's Completed state:
    /// max(32 s, 64·T1) unreliable, 0 reliable (RFC 3261 §17.1.1.2).
    D,
    /// Non-INVITE request retransmission: T1 doubling up to T2 in Trying, T2 in
    /// Proceeding, unreliable transports only (RFC 3261 §17.1.2.2).
    E,
    /// Non-INVITE client transaction timeout, 64·T1 (RFC 3261 §17.1.2.2).
    F,
    /// INVITE final response retransmission, T1 doubling up to T2, unreliable
    /// transports only (RFC 3261 §17.2.1).
    G,
    /// Wait for the ACK to a non-2xx final response, 64·T1 (RFC 3261 §17.2.1).
    H,
    /// Wait for ACK retransmissions in Confirmed: T4 unreliable, 0 reliable
    /// (RFC 3261 §17.2.1).
    I,
    /// Wait for non-INVITE request retransmissions in Completed: 64·T1
    /// unreliable, 0 reliable (RFC 3261 §17.2.2).
    J,
    /// Wait for non-INVITE response retransmissions in Completed: T4 unreliable,
    /// 0 reliable (RFC 3261 §17.1.2.2).
    K,
    /// Wait for INVITE request retransmissions in the server's Accepted state,
    /// 64·T1 (RFC 6026 §8.7).
    L,
    /// Wait for 2xx retransmissions in the client's Accepted state, 64·T1
    /// (RFC 6026 §8.4).
    M,
}

impl TimerKind {
    /// Retransmission timers (A, E, G); the others end a state.
    pub const fn is_retransmission(self) -> bool {
        matches!(self, TimerKind::A | TimerKind::E | TimerKind::G)
    }
}

impl TimerConfig {
    /// 64·T1: Timers B, F, H, L and M, and J on unreliable transports.
    pub fn sixty_four_t1(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// The duration a timer is started with. For the retransmission timers
    /// (A, E, G) that is the first interval, T1; their later intervals are
    /// computed by the machines. Retransmission timers on reliable transports
    /// are never started; this returns `Duration::ZERO` for them.
    pub fn duration(&self, kind: TimerKind, reliable: bool) -> Duration {
        match kind {
            TimerKind::A | TimerKind::E | TimerKind::G if reliable => Duration::ZERO,
            TimerKind::A | TimerKind::E | TimerKind::G => self.t1,
            TimerKind::B | TimerKind::F | TimerKind::H | TimerKind::L | TimerKind::M => {
                self.sixty_four_t1()
            }
            TimerKind::D if reliable => Duration::ZERO,
            TimerKind::D => self.sixty_four_t1().max(Duration::from_secs(32)),
            TimerKind::I | TimerKind::J | TimerKind::K if reliable => Duration::ZERO,
            TimerKind::I | TimerKind::K => self.t4,
            TimerKind::J => self.sixty_four_t1(),
        }
    }
}

/// One scheduled timer. Ordered by deadline, then by scheduling order, so timers
/// due at the same instant fire in the order they were started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Entry {
    pub(crate) at: Instant,
    seq: u64,
    pub(crate) tx: TxId,
    pub(crate) kind: TimerKind,
}

/// All scheduled timers of all transactions. Cancelling a timer only clears the
/// transaction's [`TimerSlots`]; the heap entry stays until it surfaces and is
/// then discarded (lazy cancellation).
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl TimerQueue {
    pub(crate) fn push(&mut self, at: Instant, tx: TxId, kind: TimerKind) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            at,
            seq: self.seq,
            tx,
            kind,
        }));
    }

    pub(crate) fn peek(&self) -> Option<&Entry> {
        self.heap.peek().map(|Reverse(e)| e)
    }

    pub(crate) fn pop(&mut self) -> Option<Entry> {
        self.heap.pop().map(|Reverse(e)| e)
    }

    /// The earliest entry when it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Entry> {
        if self.peek()?.at <= now {
            self.pop()
        } else {
            None
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

/// The timers a transaction has running: at most one retransmission timer
/// (A, E or G) and one timer that ends a state (B, D, F, H, I, J, K, L or M).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimerSlots {
    retransmit: Option<(Instant, TimerKind)>,
    lifetime: Option<(Instant, TimerKind)>,
}

impl TimerSlots {
    fn slot(&mut self, kind: TimerKind) -> &mut Option<(Instant, TimerKind)> {
        if kind.is_retransmission() {
            &mut self.retransmit
        } else {
            &mut self.lifetime
        }
    }

    /// Records that `kind` runs until `at`, replacing whatever ran in its slot.
    pub(crate) fn set(&mut self, kind: TimerKind, at: Instant) {
        *self.slot(kind) = Some((at, kind));
    }

    /// Whether the heap entry (`kind`, `at`) is still the running timer.
    pub(crate) fn is_armed(&self, kind: TimerKind, at: Instant) -> bool {
        let slot = if kind.is_retransmission() {
            self.retransmit
        } else {
            self.lifetime
        };
        slot == Some((at, kind))
    }

    /// Disarms the heap entry (`kind`, `at`) when it is the running timer;
    /// returns whether it was (and so must fire).
    pub(crate) fn take(&mut self, kind: TimerKind, at: Instant) -> bool {
        let slot = self.slot(kind);
        if *slot == Some((at, kind)) {
            *slot = None;
            true
        } else {
            false
        }
    }

    /// Stops the timer running in `kind`'s slot.
    pub(crate) fn clear_kind(&mut self, kind: TimerKind) {
        *self.slot(kind) = None;
    }

    /// Stops every timer.
    pub(crate) fn clear(&mut self) {
        *self = TimerSlots::default();
    }

    /// The running timers, for tests and diagnostics.
    #[cfg(test)]
    pub(crate) fn running(&self) -> [Option<(Instant, TimerKind)>; 2] {
        [self.retransmit, self.lifetime]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn default_values_are_rfc_3261() {
        let c = TimerConfig::default();
        assert_eq!((c.t1, c.t2, c.t4), (ms(500), ms(4000), ms(5000)));
    }

    #[test]
    fn durations_table() {
        use TimerKind::*;
        let c = TimerConfig::default();
        let fast = TimerConfig {
            t1: ms(100),
            ..TimerConfig::default()
        };
        // (kind, unreliable default, reliable default, unreliable T1=100ms, reliable T1=100ms)
        let table = [
            (A, ms(500), ms(0), ms(100), ms(0)),
            (B, ms(32_000), ms(32_000), ms(6_400), ms(6_400)),
            (D, ms(32_000), ms(0), ms(32_000), ms(0)),
            (E, ms(500), ms(0), ms(100), ms(0)),
            (F, ms(32_000), ms(32_000), ms(6_400), ms(6_400)),
            (G, ms(500), ms(0), ms(100), ms(0)),
            (H, ms(32_000), ms(32_000), ms(6_400), ms(6_400)),
            (I, ms(5_000), ms(0), ms(5_000), ms(0)),
            (J, ms(32_000), ms(0), ms(6_400), ms(0)),
            (K, ms(5_000), ms(0), ms(5_000), ms(0)),
            (L, ms(32_000), ms(32_000), ms(6_400), ms(6_400)),
            (M, ms(32_000), ms(32_000), ms(6_400), ms(6_400)),
        ];
        for (kind, udp, tcp, fast_udp, fast_tcp) in table {
            assert_eq!(c.duration(kind, false), udp, "{kind:?} unreliable");
            assert_eq!(c.duration(kind, true), tcp, "{kind:?} reliable");
            assert_eq!(fast.duration(kind, false), fast_udp, "{kind:?} T1=100ms");
            assert_eq!(
                fast.duration(kind, true),
                fast_tcp,
                "{kind:?} T1=100ms reliable"
            );
        }
        // A slow network: D follows 64·T1 once that exceeds 32 s.
        let slow = TimerConfig {
            t1: ms(1000),
            ..TimerConfig::default()
        };
        assert_eq!(slow.duration(D, false), ms(64_000));
    }

    #[test]
    fn queue_orders_by_deadline_then_start_order() {
        let t0 = Instant::now();
        let mut q = TimerQueue::default();
        q.push(t0 + ms(20), TxId::from_u64(1), TimerKind::B);
        q.push(t0 + ms(10), TxId::from_u64(2), TimerKind::A);
        q.push(t0 + ms(10), TxId::from_u64(3), TimerKind::A);
        assert!(q.pop_due(t0 + ms(9)).is_none());
        let order: Vec<u64> = std::iter::from_fn(|| q.pop_due(t0 + ms(20)))
            .map(|e| e.tx.as_u64())
            .collect();
        assert_eq!(order, [2, 3, 1]);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn slots_disarm_only_the_running_timer() {
        let t0 = Instant::now();
        let mut s = TimerSlots::default();
        s.set(TimerKind::A, t0 + ms(500));
        s.set(TimerKind::B, t0 + ms(32_000));
        // Re-arming A replaces the old entry, which then no longer fires.
        s.set(TimerKind::A, t0 + ms(1500));
        assert!(!s.take(TimerKind::A, t0 + ms(500)));
        assert!(s.is_armed(TimerKind::A, t0 + ms(1500)));
        assert!(s.take(TimerKind::A, t0 + ms(1500)));
        assert!(!s.take(TimerKind::A, t0 + ms(1500)));
        s.clear();
        assert!(!s.is_armed(TimerKind::B, t0 + ms(32_000)));
        assert_eq!(s.running(), [None, None]);
    }
}
