//! The RTP stream the gateway sends on one leg: its own SSRC for the leg's whole life, and
//! sequence numbers and timestamps that continue smoothly whatever feeds it — relayed packets
//! of one device, then another (early media, then the answer; a re-INVITE), transcoded or
//! generated audio, DTMF events (RFC 3550 §5.1, §8.2: one SSRC, one timeline).

use std::time::{Duration, Instant};

use crate::plan::LegId;
use crate::rtp::seq_newer;

/// What produced a packet of the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Relayed from the device on `leg` that sends with `ssrc`.
    Relay {
        /// The leg the packet came from.
        leg: LegId,
        /// Its SSRC there.
        ssrc: u32,
    },
    /// Made by the gateway (transcoding, tone, DTMF).
    Local,
}

/// Sequence number, timestamp and marker bit for one outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Sequence number.
    pub(crate) seq: u16,
    /// Timestamp.
    pub(crate) ts: u32,
    /// Marker bit (start of a talkspurt or of a new source).
    pub(crate) marker: bool,
}

/// One leg's outgoing stream.
#[derive(Debug, Clone)]
pub(crate) struct OutStream {
    /// The leg's SSRC.
    pub(crate) ssrc: u32,
    next_seq: u16,
    last_ts: u32,
    last_at: Option<Instant>,
    source: Option<Source>,
    seq_delta: u16,
    ts_delta: u32,
    source_highest: u16,
    local_next_ts: u32,
    local_frame: Duration,
    /// RTP packets sent, for sender reports (wraps, RFC 3550 §6.4.1).
    pub(crate) packet_count: u32,
    /// Payload octets sent, for sender reports (wraps).
    pub(crate) octet_count: u32,
}

fn units(d: Duration, clock: u32) -> u32 {
    (d.as_micros() * u128::from(clock) / 1_000_000) as u32
}

impl OutStream {
    /// A stream starting at random `seq` and `ts` (RFC 3550 §5.1), with SSRC `ssrc`.
    pub(crate) fn new(ssrc: u32, seq: u16, ts: u32) -> OutStream {
        OutStream {
            ssrc,
            next_seq: seq,
            last_ts: ts,
            last_at: None,
            source: None,
            seq_delta: 0,
            ts_delta: 0,
            source_highest: 0,
            local_next_ts: ts,
            local_frame: Duration::ZERO,
            packet_count: 0,
            octet_count: 0,
        }
    }

    /// The stream's media position at `now` in `clock` units: the last timestamp sent plus
    /// the time since (the first timestamp before anything was sent).
    pub(crate) fn position(&self, now: Instant, clock: u32) -> u32 {
        match self.last_at {
            Some(at) => self
                .last_ts
                .wrapping_add(units(now.saturating_duration_since(at), clock)),
            None => self.last_ts,
        }
    }

    /// Where a new source starts: after the last packet, advanced by the time since (at
    /// least one unit, so timestamps never repeat across sources).
    fn resync_ts(&self, now: Instant, clock: u32) -> u32 {
        match self.last_at {
            Some(at) => self
                .last_ts
                .wrapping_add(units(now.saturating_duration_since(at), clock).max(1)),
            None => self.last_ts,
        }
    }

    fn sent(&mut self, now: Instant, seq: u16, ts: u32) {
        if seq == self.next_seq || seq_newer(seq, self.next_seq) {
            self.next_seq = seq.wrapping_add(1);
        }
        if self.last_at.is_none() || ts.wrapping_sub(self.last_ts) < 0x8000_0000 {
            self.last_ts = ts;
            self.last_at = Some(now);
        }
    }

    /// Maps a relayed packet (`seq`, `ts`, `marker` as received from `source`) onto the
    /// stream. A new source continues after the last packet sent, with the marker bit.
    pub(crate) fn relay(
        &mut self,
        now: Instant,
        source: Source,
        seq: u16,
        ts: u32,
        marker: bool,
        clock: u32,
    ) -> Stamp {
        let mut marker = marker;
        if self.source != Some(source) {
            self.seq_delta = self.next_seq.wrapping_sub(seq);
            self.ts_delta = self.resync_ts(now, clock).wrapping_sub(ts);
            self.source = Some(source);
            self.source_highest = seq;
            marker = true;
        } else if seq_newer(seq, self.source_highest) {
            self.source_highest = seq;
            let out = seq.wrapping_add(self.seq_delta);
            if out != self.next_seq && !seq_newer(out, self.next_seq) {
                // Packets of our own went out in between (DTMF): stay after them.
                self.seq_delta = self.next_seq.wrapping_sub(seq);
            }
        }
        let stamp = Stamp {
            seq: seq.wrapping_add(self.seq_delta),
            ts: ts.wrapping_add(self.ts_delta),
            marker,
        };
        self.sent(now, stamp.seq, stamp.ts);
        stamp
    }

    /// Stamps the next locally made audio frame of `frame_units` (`frame` long). Frames that
    /// follow each other get consecutive timestamps; after a pause or another source the
    /// stream resynchronises to the clock with the marker bit.
    pub(crate) fn local(
        &mut self,
        now: Instant,
        frame_units: u32,
        frame: Duration,
        clock: u32,
    ) -> Stamp {
        let paused = self.last_at.is_none_or(|at| {
            now.saturating_duration_since(at) > self.local_frame * 2 + Duration::from_millis(60)
        });
        let resync = self.source != Some(Source::Local) || paused;
        let ts = if resync {
            self.resync_ts(now, clock)
        } else {
            self.local_next_ts
        };
        self.source = Some(Source::Local);
        let stamp = Stamp {
            seq: self.next_seq,
            ts,
            marker: resync,
        };
        self.local_next_ts = ts.wrapping_add(frame_units);
        self.local_frame = frame;
        self.sent(now, stamp.seq, stamp.ts);
        stamp
    }

    /// Takes the next sequence number for a packet that does not move the media clock
    /// (telephone-events, whose timestamp is the event's start).
    pub(crate) fn take_seq(&mut self) -> u16 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        seq
    }

    /// Counts a sent packet for sender reports.
    pub(crate) fn count(&mut self, payload_len: usize) {
        self.packet_count = self.packet_count.wrapping_add(1);
        self.octet_count = self
            .octet_count
            .wrapping_add(u32::try_from(payload_len).unwrap_or(u32::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: LegId = LegId(1);
    const B: LegId = LegId(2);

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn relay_keeps_continuity_across_sources() {
        let t0 = Instant::now();
        let mut s = OutStream::new(99, 1000, 50_000);
        let a = Source::Relay { leg: A, ssrc: 7 };
        let first = s.relay(t0, a, 400, 9000, false, 8000);
        assert_eq!(
            first,
            Stamp {
                seq: 1000,
                ts: 50_000,
                marker: true
            }
        );
        let next = s.relay(ms(t0, 20), a, 401, 9160, false, 8000);
        assert_eq!(
            next,
            Stamp {
                seq: 1001,
                ts: 50_160,
                marker: false
            }
        );
        // Another device takes over 20 ms later with unrelated numbers.
        let b = Source::Relay { leg: B, ssrc: 8 };
        let switched = s.relay(ms(t0, 40), b, 60_000, 123, false, 8000);
        assert_eq!(
            switched,
            Stamp {
                seq: 1002,
                ts: 50_320,
                marker: true
            }
        );
        let after = s.relay(ms(t0, 60), b, 60_001, 283, false, 8000);
        assert_eq!(
            after,
            Stamp {
                seq: 1003,
                ts: 50_480,
                marker: false
            }
        );
        // A reordered packet keeps its place.
        let late = s.relay(ms(t0, 61), b, 59_999, 123u32.wrapping_sub(160), false, 8000);
        assert_eq!((late.seq, late.ts), (1001, 50_160));
        let next = s.relay(ms(t0, 80), b, 60_002, 443, false, 8000);
        assert_eq!(next.seq, 1004);
    }

    #[test]
    fn local_packets_in_between_shift_relayed_sequence_numbers() {
        let t0 = Instant::now();
        let mut s = OutStream::new(1, 10, 0);
        let a = Source::Relay { leg: A, ssrc: 7 };
        s.relay(t0, a, 500, 0, false, 8000);
        assert_eq!(s.take_seq(), 11);
        assert_eq!(s.take_seq(), 12);
        let next = s.relay(ms(t0, 20), a, 501, 160, false, 8000);
        assert_eq!((next.seq, next.marker), (13, false));
    }

    #[test]
    fn local_frames_are_consecutive_then_resync_after_a_pause() {
        let t0 = Instant::now();
        let f = Duration::from_millis(20);
        let mut s = OutStream::new(1, 0, 1000);
        assert_eq!(
            s.local(t0, 960, f, 48000),
            Stamp {
                seq: 0,
                ts: 1000,
                marker: true
            }
        );
        // A late tick does not stretch the timeline.
        assert_eq!(
            s.local(ms(t0, 25), 960, f, 48000),
            Stamp {
                seq: 1,
                ts: 1960,
                marker: false
            }
        );
        assert_eq!(s.local(ms(t0, 40), 960, f, 48000).ts, 2920);
        // One second of nothing: the timestamp follows the clock, marker set.
        let resumed = s.local(ms(t0, 1040), 960, f, 48000);
        assert_eq!(
            resumed,
            Stamp {
                seq: 3,
                ts: 2920 + 48_000,
                marker: true
            }
        );
        assert_eq!(s.position(ms(t0, 1050), 48000), 2920 + 48_000 + 480);
    }
}
