//! Per-SSRC SRTP state: rollover counter estimation (RFC 3711 §3.3.1, Appendix A) and the
//! replay list (§3.3.2) as a sliding bitmap.

use crate::error::EngineError;

/// Packets behind the highest index that can still be accepted once (RFC 3711 §3.3.2 asks
/// for at least 64).
const WINDOW: u64 = 128;

/// A sliding replay window over packet indices.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ReplayWindow {
    /// Highest index accepted, when any.
    highest: Option<u64>,
    /// Bit `i` set: index `highest - i` was accepted.
    seen: u128,
}

impl ReplayWindow {
    /// Err when `index` was accepted before or is older than the window.
    pub(super) fn check(&self, index: u64) -> Result<(), EngineError> {
        let Some(highest) = self.highest else {
            return Ok(());
        };
        if index > highest {
            return Ok(());
        }
        let age = highest - index;
        if age >= WINDOW || self.seen & (1u128 << age) != 0 {
            return Err(EngineError::SrtpReplay { index });
        }
        Ok(())
    }

    /// Records `index` as received (after it authenticated).
    pub(super) fn accept(&mut self, index: u64) {
        match self.highest {
            None => {
                self.highest = Some(index);
                self.seen = 1;
            }
            Some(highest) if index > highest => {
                let shift = index - highest;
                self.seen = if shift >= WINDOW {
                    0
                } else {
                    self.seen << shift
                };
                self.seen |= 1;
                self.highest = Some(index);
            }
            Some(highest) => {
                let age = highest - index;
                if age < WINDOW {
                    self.seen |= 1u128 << age;
                }
            }
        }
    }
}

/// One SRTP stream (an SSRC in one direction): rollover counter, highest sequence number and
/// replay window.
#[derive(Debug, Clone, Copy)]
pub(super) struct StreamState {
    /// The stream's SSRC.
    pub(super) ssrc: u32,
    /// Rollover counter (ROC).
    roc: u32,
    /// Highest sequence number seen (s_l), once any packet was seen.
    s_l: Option<u16>,
    /// Replay window.
    pub(super) window: ReplayWindow,
    /// Recency, to replace the least recently used stream when the table is full.
    pub(super) last_used: u64,
}

impl StreamState {
    /// A stream not seen before.
    pub(super) fn new(ssrc: u32) -> StreamState {
        StreamState {
            ssrc,
            roc: 0,
            s_l: None,
            window: ReplayWindow::default(),
            last_used: 0,
        }
    }

    /// The packet index of sequence number `seq` (RFC 3711 §3.3.1, Appendix A).
    pub(super) fn estimate(&self, seq: u16) -> u64 {
        let Some(s_l) = self.s_l else {
            return u64::from(seq);
        };
        let v = if s_l < 0x8000 {
            if i32::from(seq) - i32::from(s_l) > 0x8000 {
                self.roc.wrapping_sub(1)
            } else {
                self.roc
            }
        } else if i32::from(s_l) - 0x8000 > i32::from(seq) {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        };
        (u64::from(v) << 16) | u64::from(seq)
    }

    /// Records that the packet with `index` authenticated: advances ROC and s_l when it is
    /// the newest.
    pub(super) fn update(&mut self, index: u64) {
        let roc = u32::try_from(index >> 16).unwrap_or(u32::MAX);
        let seq = (index & 0xffff) as u16;
        match self.s_l {
            None => {
                self.roc = roc;
                self.s_l = Some(seq);
            }
            Some(s_l) => {
                let current = (u64::from(self.roc) << 16) | u64::from(s_l);
                if index > current {
                    self.roc = roc;
                    self.s_l = Some(seq);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_rejects_duplicates_and_old_packets() {
        let mut w = ReplayWindow::default();
        for i in [10, 12, 11] {
            w.check(i).unwrap();
            w.accept(i);
        }
        assert!(w.check(11).is_err());
        assert!(w.check(12).is_err());
        w.check(9).unwrap();
        w.accept(1000);
        assert!(w.check(1000 - WINDOW).is_err(), "behind the window");
        w.check(1000 - WINDOW + 1).unwrap();
        w.check(1001).unwrap();
    }

    #[test]
    fn roc_follows_wraps_both_ways() {
        let mut s = StreamState::new(1);
        assert_eq!(s.estimate(65534), 65534);
        s.update(65534);
        let i = s.estimate(2);
        assert_eq!(i, (1 << 16) | 2, "wrapped forward");
        s.update(i);
        assert_eq!(s.estimate(65535), 65535, "late packet from before the wrap");
        assert_eq!(s.estimate(3), (1 << 16) | 3);
        s.update(65535);
        assert_eq!(
            s.estimate(4),
            (1 << 16) | 4,
            "an older packet does not move ROC back"
        );
    }
}
