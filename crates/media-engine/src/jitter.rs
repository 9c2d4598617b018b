//! Adaptive jitter buffer for one transcoded direction: orders packets by sequence number,
//! drops duplicates and packets that come after their playout time, tells the decoder when a
//! packet is missing, and adapts its delay between a minimum and a maximum to the measured
//! interarrival jitter (RFC 3550 §6.4.1, Appendix A.8) and to packets that come too late.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtp::seq_newer;

/// Packets held at most (at 20 ms, well above the largest delay).
const MAX_PACKETS: usize = 64;
/// Empty playouts in a row after which the stream is considered paused (silence suppression,
/// hold, end of the call): playout stops until packets come again.
const IDLE_AFTER: u32 = 10;
/// A sequence or timestamp jump this large is a restarted stream, not loss.
const RESTART_SEQ: u16 = 3000;
/// Delay added for each packet that arrives after its playout time.
const LATE_STEP_MS: u32 = 20;

/// A packet held in the buffer.
#[derive(Debug)]
pub(crate) struct Slot {
    /// Sequence number.
    pub(crate) seq: u16,
    /// RTP timestamp.
    pub(crate) ts: u32,
    /// The payload (return it with [`JitterBuffer::recycle`]).
    pub(crate) payload: Vec<u8>,
}

/// What a push did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Buffered for playout.
    Buffered,
    /// Its playout time has passed: dropped.
    Late,
    /// Already buffered: dropped.
    Duplicate,
}

/// What the playout side gets for one step.
#[derive(Debug)]
pub(crate) enum Pop {
    /// The next packet, in order.
    Packet(Slot),
    /// The next packet is missing: conceal `units` (timestamp units) of audio. When the packet
    /// right after the gap is buffered, `fec` says so: its payload is at
    /// [`JitterBuffer::front_payload`] (Opus in-band FEC, RFC 7587 §3.1).
    Missing {
        /// Timestamp units to conceal.
        units: u32,
        /// The packet after the gap is buffered.
        fec: bool,
    },
    /// Nothing to play yet, or the stream paused.
    Nothing,
}

#[derive(Debug, Clone, Copy)]
struct Cursor {
    next_seq: u16,
    next_ts: u32,
}

/// The jitter buffer of one direction.
#[derive(Debug)]
pub(crate) struct JitterBuffer {
    slots: VecDeque<Slot>,
    free: Vec<Vec<u8>>,
    cursor: Option<Cursor>,
    first_arrival: Option<Instant>,
    clock_rate: u32,
    min_ms: u32,
    max_ms: u32,
    extra_ms: u32,
    empty_streak: u32,
    pops: u32,
    base: Option<Instant>,
    transit: Option<i64>,
    jitter: f64,
    /// Packets dropped because their playout time had passed.
    pub(crate) late: u64,
    /// Duplicates dropped.
    pub(crate) duplicates: u64,
    /// Packets dropped to bring the delay back down, or for lack of room.
    pub(crate) discarded: u64,
}

impl JitterBuffer {
    /// An empty buffer for a stream with `clock_rate` timestamps, delay between `min_ms` and
    /// `max_ms`.
    pub(crate) fn new(clock_rate: u32, min_ms: u16, max_ms: u16) -> JitterBuffer {
        let min_ms = u32::from(min_ms);
        JitterBuffer {
            slots: VecDeque::with_capacity(16),
            free: Vec::new(),
            cursor: None,
            first_arrival: None,
            clock_rate: clock_rate.max(1),
            min_ms,
            max_ms: u32::from(max_ms).max(min_ms),
            extra_ms: 0,
            empty_streak: 0,
            pops: 0,
            base: None,
            transit: None,
            jitter: 0.0,
            late: 0,
            duplicates: 0,
            discarded: 0,
        }
    }

    /// Interarrival jitter in milliseconds (RFC 3550 §A.8).
    pub(crate) fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / f64::from(self.clock_rate)
    }

    /// The delay the buffer currently aims at, in milliseconds.
    pub(crate) fn target_ms(&self) -> u32 {
        let measured = ((self.jitter_ms() * 3.0).ceil() as u32).div_ceil(10) * 10;
        (measured.max(self.min_ms) + self.extra_ms).min(self.max_ms)
    }

    /// Whether playout is running or packets wait for it.
    pub(crate) fn is_active(&self) -> bool {
        self.cursor.is_some() || !self.slots.is_empty()
    }

    fn units_to_ms(&self, units: u32) -> u32 {
        (u64::from(units) * 1000 / u64::from(self.clock_rate)) as u32
    }

    /// Drops every packet and starts over (new source, new clock).
    pub(crate) fn reset(&mut self, clock_rate: u32) {
        while let Some(slot) = self.slots.pop_front() {
            self.free.push(slot.payload);
        }
        self.cursor = None;
        self.first_arrival = None;
        self.empty_streak = 0;
        self.transit = None;
        self.clock_rate = clock_rate.max(1);
    }

    fn update_jitter(&mut self, now: Instant, ts: u32) {
        let base = *self.base.get_or_insert(now);
        let arrival =
            now.duration_since(base).as_micros() * u128::from(self.clock_rate) / 1_000_000;
        let transit = arrival as i64 - i64::from(ts);
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs() as f64;
            // Ignore restarts (huge differences are not jitter).
            if d < f64::from(self.clock_rate) {
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.transit = Some(transit);
    }

    /// Offers a received packet.
    pub(crate) fn push(&mut self, now: Instant, seq: u16, ts: u32, payload: &[u8]) -> Pushed {
        if let Some(c) = self.cursor {
            let ahead = seq.wrapping_sub(c.next_seq);
            let behind = c.next_seq.wrapping_sub(seq);
            if ahead > RESTART_SEQ && behind > RESTART_SEQ {
                self.reset(self.clock_rate);
            } else if seq != c.next_seq && !seq_newer(seq, c.next_seq) {
                // Its turn passed: the delay was too short for this network.
                self.late += 1;
                self.extra_ms = (self.extra_ms + LATE_STEP_MS).min(self.max_ms);
                return Pushed::Late;
            }
        }
        self.update_jitter(now, ts);
        if self.slots.iter().any(|s| s.seq == seq) {
            self.duplicates += 1;
            return Pushed::Duplicate;
        }
        if self.slots.len() >= MAX_PACKETS {
            let oldest = self.slots.pop_front().expect("the buffer is full");
            self.free.push(oldest.payload);
            self.discarded += 1;
            if let Some(c) = self.cursor.as_mut()
                && let Some(front) = self.slots.front()
            {
                c.next_seq = front.seq;
                c.next_ts = front.ts;
            }
        }
        let mut buf = self.free.pop().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(payload);
        let at = self
            .slots
            .iter()
            .rposition(|s| seq_newer(seq, s.seq))
            .map_or(0, |i| i + 1);
        self.slots.insert(
            at,
            Slot {
                seq,
                ts,
                payload: buf,
            },
        );
        self.first_arrival.get_or_insert(now);
        Pushed::Buffered
    }

    /// Returns a popped packet's payload buffer for reuse.
    pub(crate) fn recycle(&mut self, payload: Vec<u8>) {
        if self.free.len() < MAX_PACKETS {
            self.free.push(payload);
        }
    }

    /// The payload of the first buffered packet (see [`Pop::Missing`]).
    pub(crate) fn front_payload(&self) -> Option<&[u8]> {
        self.slots.front().map(|s| &s.payload[..])
    }

    /// The next step of playout at `now`; `frame_units` is the most to conceal in one step.
    pub(crate) fn pop(&mut self, now: Instant, frame_units: u32) -> Pop {
        let Some(mut cursor) = self.cursor else {
            let Some(front) = self.slots.front() else {
                return Pop::Nothing;
            };
            let waited = now.duration_since(self.first_arrival.unwrap_or(now));
            let span = self.slots.back().map_or(0, |b| b.ts.wrapping_sub(front.ts));
            let target = Duration::from_millis(u64::from(self.target_ms()));
            if waited < target && self.units_to_ms(span) < self.target_ms() {
                return Pop::Nothing;
            }
            self.cursor = Some(Cursor {
                next_seq: front.seq,
                next_ts: front.ts,
            });
            self.empty_streak = 0;
            return self.pop(now, frame_units);
        };
        // Too much buffered (the jitter went down, or a burst came): skip ahead.
        if let Some(back) = self.slots.back() {
            let span = self.units_to_ms(back.ts.wrapping_sub(cursor.next_ts));
            if self.slots.len() > 1 && span > self.target_ms() + 3 * 20 && span < 60_000 {
                let skipped = self.slots.pop_front().expect("not empty");
                self.free.push(skipped.payload);
                self.discarded += 1;
                let front = self.slots.front().expect("more than one");
                cursor.next_seq = front.seq;
                cursor.next_ts = front.ts;
            }
        }
        let Some(front) = self.slots.front() else {
            self.empty_streak += 1;
            if self.empty_streak >= IDLE_AFTER {
                self.cursor = None;
                self.first_arrival = None;
                return Pop::Nothing;
            }
            // Conceal and move on: the packet, if it comes, will be late.
            cursor.next_ts = cursor.next_ts.wrapping_add(frame_units);
            cursor.next_seq = cursor.next_seq.wrapping_add(1);
            self.cursor = Some(cursor);
            return Pop::Missing {
                units: frame_units,
                fec: false,
            };
        };
        self.empty_streak = 0;
        let gap = front.ts.wrapping_sub(cursor.next_ts);
        if front.seq == cursor.next_seq || gap == 0 || gap >= 0x8000_0000 {
            let slot = self.slots.pop_front().expect("front exists");
            // Delay added for late packets wears off slowly while packets play (1 ms per second).
            self.pops = self.pops.wrapping_add(1);
            if self.pops.is_multiple_of(50) {
                self.extra_ms = self.extra_ms.saturating_sub(1);
            }
            cursor.next_seq = slot.seq.wrapping_add(1);
            cursor.next_ts = slot.ts;
            self.cursor = Some(cursor);
            return Pop::Packet(slot);
        }
        // A gap before the front packet.
        let units = gap.min(frame_units);
        let fec = front.seq == cursor.next_seq.wrapping_add(1) && gap <= frame_units;
        cursor.next_ts = cursor.next_ts.wrapping_add(units);
        if cursor.next_ts == front.ts {
            cursor.next_seq = front.seq;
        }
        self.cursor = Some(cursor);
        Pop::Missing { units, fec }
    }

    /// Records that the packet just popped played `units` of audio.
    pub(crate) fn played(&mut self, units: u32) {
        if let Some(c) = self.cursor.as_mut() {
            c.next_ts = c.next_ts.wrapping_add(units);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: u32 = 160;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    /// Plays until `n` outcomes: 'P<seq>' for a packet, 'M' for concealment, '-' for nothing.
    fn play(jb: &mut JitterBuffer, t0: Instant, from_ms: u64, n: usize) -> Vec<String> {
        (0..n)
            .map(|i| match jb.pop(at(t0, from_ms + 20 * i as u64), FRAME) {
                Pop::Packet(s) => {
                    jb.played(FRAME);
                    let out = format!("P{}", s.seq);
                    jb.recycle(s.payload);
                    out
                }
                Pop::Missing { .. } => "M".to_string(),
                Pop::Nothing => "-".to_string(),
            })
            .collect()
    }

    #[test]
    fn reorders_within_the_delay() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, 40, 200);
        for (i, seq) in [1u16, 3, 2, 4].into_iter().enumerate() {
            let r = jb.push(
                at(t0, 20 * i as u64),
                seq,
                u32::from(seq) * FRAME,
                &[seq as u8],
            );
            assert_eq!(r, Pushed::Buffered);
        }
        assert_eq!(play(&mut jb, t0, 80, 4), ["P1", "P2", "P3", "P4"]);
    }

    #[test]
    fn loss_is_concealed_with_fec_hint_and_late_packets_dropped() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, 20, 200);
        for seq in [10u16, 11, 13, 14] {
            jb.push(at(t0, 0), seq, u32::from(seq) * FRAME, &[0; 160]);
        }
        assert!(matches!(jb.pop(at(t0, 20), FRAME), Pop::Packet(ref s) if s.seq == 10));
        jb.played(FRAME);
        assert!(matches!(jb.pop(at(t0, 40), FRAME), Pop::Packet(ref s) if s.seq == 11));
        jb.played(FRAME);
        assert!(matches!(
            jb.pop(at(t0, 60), FRAME),
            Pop::Missing {
                units: FRAME,
                fec: true
            }
        ));
        assert_eq!(jb.front_payload().map(<[u8]>::len), Some(160));
        // Packet 12 arrives after its turn: late.
        assert_eq!(jb.push(at(t0, 70), 12, 12 * FRAME, &[0; 160]), Pushed::Late);
        assert_eq!(
            jb.push(at(t0, 70), 13, 13 * FRAME, &[0; 160]),
            Pushed::Duplicate
        );
        assert_eq!(play(&mut jb, t0, 80, 2), ["P13", "P14"]);
        assert_eq!((jb.late, jb.duplicates), (1, 1));
    }

    #[test]
    fn underrun_conceals_late_packets_raise_the_delay_then_playout_pauses() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, 20, 200);
        jb.push(t0, 1, FRAME, &[0; 160]);
        let before = jb.target_ms();
        assert_eq!(play(&mut jb, t0, 20, 2), ["P1", "M"]);
        assert_eq!(jb.push(at(t0, 45), 2, 2 * FRAME, &[0; 160]), Pushed::Late);
        assert_eq!(jb.target_ms(), before + LATE_STEP_MS);
        let out = play(&mut jb, t0, 60, 10);
        // One empty playout already happened above.
        let idle = IDLE_AFTER as usize - 2;
        assert!(out[..idle].iter().all(|o| o == "M"), "{out:?}");
        assert!(out[idle..].iter().all(|o| o == "-"), "{out:?}");
        assert!(!jb.is_active());
    }

    #[test]
    fn jitter_raises_the_delay_up_to_the_maximum() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, 20, 100);
        // Packets every 20 ms of media arriving alternately 0 and 60 ms late.
        for i in 0..200u16 {
            let late = if i % 2 == 0 { 0 } else { 60 };
            jb.push(
                at(t0, u64::from(i) * 20 + late),
                i,
                u32::from(i) * FRAME,
                &[],
            );
            if let Pop::Packet(s) = jb.pop(at(t0, u64::from(i) * 20 + late), FRAME) {
                jb.played(FRAME);
                jb.recycle(s.payload);
            }
        }
        assert!(jb.jitter_ms() > 20.0, "{}", jb.jitter_ms());
        assert_eq!(jb.target_ms(), 100);
    }

    #[test]
    fn a_restarted_stream_resets_playout() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new(8000, 20, 200);
        jb.push(t0, 100, 100 * FRAME, &[]);
        assert_eq!(play(&mut jb, t0, 20, 1), ["P100"]);
        // Far away sequence numbers: a new stream, not 20000 lost packets.
        assert_eq!(jb.push(at(t0, 40), 20_000, 7, &[]), Pushed::Buffered);
        assert_eq!(play(&mut jb, t0, 80, 1), ["P20000"]);
    }
}
