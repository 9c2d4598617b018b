//! RTP port allocation: even ports for RTP with RTCP on the next odd port (RFC 3550 §11),
//! handed out round-robin so a port just released is not reused at once (late packets of the
//! previous call would land in the next one).

use std::ops::RangeInclusive;

use crate::error::EngineError;

/// Hands out RTP/RTCP port pairs from a range. The driver binds both sockets; when a bind
/// fails (another program holds the port) it asks again and releases the failed port later.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    first: u16,
    in_use: Vec<bool>,
    next: usize,
    free: usize,
}

impl PortAllocator {
    /// Pairs from `range`: every even port `p` with `p + 1` also in the range.
    pub fn new(range: RangeInclusive<u16>) -> Result<PortAllocator, EngineError> {
        let (lo, hi) = (*range.start(), *range.end());
        let first = lo.saturating_add(lo % 2);
        let pairs = if hi > first {
            usize::from((hi - first - 1) / 2 + 1)
        } else {
            0
        };
        if pairs == 0 || first == u16::MAX {
            return Err(EngineError::EmptyPortRange {
                first: lo,
                last: hi,
            });
        }
        Ok(PortAllocator {
            first,
            in_use: vec![false; pairs],
            next: 0,
            free: pairs,
        })
    }

    /// The next free even RTP port (its RTCP port is the next one), or `None` when every pair
    /// is in use.
    pub fn allocate(&mut self) -> Option<u16> {
        if self.free == 0 {
            return None;
        }
        let n = self.in_use.len();
        for step in 0..n {
            let i = (self.next + step) % n;
            if !self.in_use[i] {
                self.in_use[i] = true;
                self.free -= 1;
                self.next = (i + 1) % n;
                return Some(self.port(i));
            }
        }
        None
    }

    fn port(&self, i: usize) -> u16 {
        self.first + 2 * u16::try_from(i).expect("the index of a u16 port pair")
    }

    /// Gives an RTP port back. Ports not handed out by this allocator are ignored.
    pub fn release(&mut self, port: u16) {
        if port < self.first || !(port - self.first).is_multiple_of(2) {
            return;
        }
        let i = usize::from((port - self.first) / 2);
        if let Some(slot) = self.in_use.get_mut(i)
            && *slot
        {
            *slot = false;
            self.free += 1;
        }
    }

    /// Pairs free now.
    pub fn available(&self) -> usize {
        self.free
    }

    /// Pairs in the range.
    pub fn capacity(&self) -> usize {
        self.in_use.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ports_round_robin() {
        let mut p = PortAllocator::new(16384..=16391).unwrap();
        assert_eq!(p.capacity(), 4);
        assert_eq!(p.allocate(), Some(16384));
        assert_eq!(p.allocate(), Some(16386));
        p.release(16384);
        // Round-robin: the released port comes back only after the others.
        assert_eq!(p.allocate(), Some(16388));
        assert_eq!(p.allocate(), Some(16390));
        assert_eq!(p.allocate(), Some(16384));
        assert_eq!(p.allocate(), None);
        assert_eq!(p.available(), 0);
        p.release(16386);
        p.release(16386);
        p.release(16387);
        p.release(20000);
        assert_eq!(p.available(), 1);
        assert_eq!(p.allocate(), Some(16386));
    }

    #[test]
    fn odd_bounds_and_empty_ranges() {
        let mut p = PortAllocator::new(10001..=10004).unwrap();
        assert_eq!(p.capacity(), 1, "10002/10003 only: 10004 has no 10005");
        assert_eq!(p.allocate(), Some(10002));
        assert!(PortAllocator::new(10000..=10000).is_err());
        assert!(PortAllocator::new(10001..=10002).is_err());
        assert!(PortAllocator::new(65534..=65535).is_ok());
        let (hi, lo) = (20000, 10000);
        assert!(PortAllocator::new(hi..=lo).is_err(), "reversed");
    }
}
