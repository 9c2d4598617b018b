//! Symmetric RTP latching: a leg sends to the address negotiation gave until the first valid
//! packet arrives, then to where its packets come from (devices behind NAT advertise addresses
//! nobody can reach). A later change of source address (NAT rebinding) is followed once the
//! new source keeps sending while the old one is silent, so a stray packet cannot hijack the
//! stream.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Packets a new source must send, with the old one silent meanwhile, to be followed.
const RELATCH_PACKETS: u32 = 3;
/// Silence of the current source after which any new valid source is followed at once.
const RELATCH_SILENCE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Candidate {
    addr: SocketAddr,
    packets: u32,
    since: Instant,
}

/// Where one socket of a leg sends, learnt from what it receives.
#[derive(Debug, Clone, Default)]
pub(crate) struct Latch {
    planned: Option<SocketAddr>,
    target: Option<SocketAddr>,
    latched: bool,
    last_current: Option<Instant>,
    candidate: Option<Candidate>,
}

impl Latch {
    /// Takes the address from (re)negotiation. A changed address resets latching to it (the
    /// device moved, or the leg now talks to another device); the same address keeps what
    /// was learnt.
    pub(crate) fn set_planned(&mut self, planned: Option<SocketAddr>) {
        if planned != self.planned {
            self.planned = planned;
            self.target = planned;
            self.latched = false;
            self.candidate = None;
        }
    }

    /// Where to send now.
    pub(crate) fn target(&self) -> Option<SocketAddr> {
        self.target
    }

    /// A valid packet (right version, known payload type, authenticated) came from `from`.
    /// Returns whether it comes from the current source, after latching decisions; packets
    /// from a source not (yet) followed are not used.
    pub(crate) fn on_valid(&mut self, now: Instant, from: SocketAddr) -> bool {
        if !self.latched || self.target == Some(from) {
            self.follow(now, from);
            return true;
        }
        let silent_since = self.last_current.unwrap_or(now);
        if now.duration_since(silent_since) >= RELATCH_SILENCE {
            self.follow(now, from);
            return true;
        }
        let candidate = match self.candidate {
            Some(mut c) if c.addr == from => {
                c.packets += 1;
                c
            }
            _ => Candidate {
                addr: from,
                packets: 1,
                since: now,
            },
        };
        if candidate.packets >= RELATCH_PACKETS && silent_since < candidate.since {
            self.follow(now, from);
            return true;
        }
        self.candidate = Some(candidate);
        false
    }

    fn follow(&mut self, now: Instant, from: SocketAddr) {
        self.target = Some(from);
        self.latched = true;
        self.last_current = Some(now);
        self.candidate = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn first_packet_latches_from_anywhere() {
        let t0 = Instant::now();
        let mut l = Latch::default();
        l.set_planned(Some(addr("192.0.2.10:4000")));
        assert_eq!(l.target(), Some(addr("192.0.2.10:4000")));
        assert!(l.on_valid(t0, addr("192.0.2.20:5000")));
        assert_eq!(l.target(), Some(addr("192.0.2.20:5000")));
        // The same plan again keeps what was learnt.
        l.set_planned(Some(addr("192.0.2.10:4000")));
        assert_eq!(l.target(), Some(addr("192.0.2.20:5000")));
        // A new address from a re-INVITE starts over.
        l.set_planned(Some(addr("192.0.2.30:6000")));
        assert_eq!(l.target(), Some(addr("192.0.2.30:6000")));
    }

    #[test]
    fn stray_packets_do_not_hijack_a_live_stream() {
        let t0 = Instant::now();
        let mut l = Latch::default();
        assert!(l.on_valid(t0, addr("192.0.2.20:5000")));
        for i in 1..20u64 {
            assert!(!l.on_valid(ms(t0, 20 * i), addr("192.0.2.66:7000")));
            assert!(l.on_valid(ms(t0, 20 * i + 1), addr("192.0.2.20:5000")));
        }
        assert_eq!(l.target(), Some(addr("192.0.2.20:5000")));
    }

    #[test]
    fn nat_rebinding_is_followed_after_three_packets() {
        let t0 = Instant::now();
        let mut l = Latch::default();
        assert!(l.on_valid(t0, addr("192.0.2.20:5000")));
        assert!(!l.on_valid(ms(t0, 20), addr("192.0.2.20:5002")));
        assert!(!l.on_valid(ms(t0, 40), addr("192.0.2.20:5002")));
        assert!(l.on_valid(ms(t0, 60), addr("192.0.2.20:5002")));
        assert_eq!(l.target(), Some(addr("192.0.2.20:5002")));
    }

    #[test]
    fn a_silent_source_is_replaced_at_once() {
        let t0 = Instant::now();
        let mut l = Latch::default();
        assert!(l.on_valid(t0, addr("192.0.2.20:5000")));
        assert!(l.on_valid(ms(t0, 1000), addr("192.0.2.21:5000")));
        assert_eq!(l.target(), Some(addr("192.0.2.21:5000")));
    }
}
