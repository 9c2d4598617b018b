//! Statistics: the public per-leg and per-session figures, and the receiver statistics of
//! RFC 3550 Appendix A.1/A.3/A.8 kept per leg for reports and records.

use std::net::SocketAddr;
use std::time::Instant;

use crate::plan::{LegId, MediaPath};
use crate::rtcp::ReportBlock;

/// How a session moves audio, as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionPath {
    /// Packets forwarded between two legs without decoding.
    Relay,
    /// Audio decoded, resampled and encoded between two legs.
    Transcode,
    /// A leg's media looped back to it.
    Echo,
    /// A tone played to a leg.
    Tone,
}

impl SessionPath {
    /// `relay`, `transcode`, `echo` or `tone` (records and metrics).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionPath::Relay => "relay",
            SessionPath::Transcode => "transcode",
            SessionPath::Echo => "echo",
            SessionPath::Tone => "tone",
        }
    }
}

impl From<MediaPath> for SessionPath {
    fn from(path: MediaPath) -> SessionPath {
        match path {
            MediaPath::Relay => SessionPath::Relay,
            MediaPath::Transcode => SessionPath::Transcode,
        }
    }
}

/// What the device reports about the stream the gateway sends it (its RTCP receiver report).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoteReport {
    /// Fraction of packets lost since its previous report, 0.0–1.0.
    pub fraction_lost: f64,
    /// Cumulative packets lost (negative with duplicates, RFC 3550 §6.4.1).
    pub packets_lost: i64,
    /// Interarrival jitter it measured, in milliseconds.
    pub jitter_ms: f64,
    /// Round-trip time from its LSR/DLSR fields, when it had received our SR.
    pub rtt_ms: Option<f64>,
}

/// Figures of one leg.
#[derive(Debug, Clone, PartialEq)]
pub struct LegStats {
    /// The leg.
    pub leg: LegId,
    /// Encoding name of the format sent on the leg.
    pub codec: Option<String>,
    /// RTP packets received and used (after latching and SRTP checks).
    pub packets_received: u64,
    /// Payload octets received.
    pub bytes_received: u64,
    /// RTP packets sent.
    pub packets_sent: u64,
    /// Payload octets sent.
    pub bytes_sent: u64,
    /// Packets the device sent that never arrived (RFC 3550 §A.3), over all its streams.
    pub packets_lost: u64,
    /// Interarrival jitter of what the device sends, in milliseconds (RFC 3550 §A.8).
    pub jitter_ms: f64,
    /// Frames decoded from the device's packets (transcoding).
    pub frames_decoded: u64,
    /// Frames encoded for the device (transcoding, tone).
    pub frames_encoded: u64,
    /// Frames of the device's audio concealed for loss or lateness (transcoding).
    pub frames_concealed: u64,
    /// Where the leg sends RTP now (after latching).
    pub remote: Option<SocketAddr>,
    /// SRTP protects the leg.
    pub srtp: bool,
    /// DTMF digits received from the device.
    pub dtmf_events: u64,
    /// SRTP/SRTCP packets that failed authentication or replay checks.
    pub srtp_auth_failures: u64,
    /// Packets dropped: malformed, unknown payload type, not from the latched source, late,
    /// duplicated, or with nowhere to go.
    pub packets_dropped: u64,
    /// The device's view from its last RTCP report about our stream.
    pub remote_report: Option<RemoteReport>,
}

/// Figures of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionStats {
    /// How audio moves, when the session has a destination for it.
    pub path: Option<SessionPath>,
    /// Each leg, in the order they were added.
    pub legs: Vec<LegStats>,
}

/// Largest forward sequence jump still counted as loss (RFC 3550 §A.1 MAX_DROPOUT).
const MAX_DROPOUT: u16 = 3000;

/// Receiver statistics for the stream a device sends (RFC 3550 §A.1, §A.3, §A.8).
#[derive(Debug, Clone, Default)]
pub(crate) struct ReceiveStats {
    ssrc: Option<u32>,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    lost_earlier_streams: i64,
    transit: Option<i64>,
    jitter: f64,
    clock: u32,
    base: Option<Instant>,
}

impl ReceiveStats {
    fn extended_max(&self) -> u64 {
        u64::from(self.cycles) + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
    }

    fn lost_this_stream(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// Cumulative loss over every stream the device sent.
    pub(crate) fn cumulative_lost(&self) -> i64 {
        self.lost_earlier_streams
            + if self.ssrc.is_some() {
                self.lost_this_stream()
            } else {
                0
            }
    }

    /// Interarrival jitter in milliseconds.
    pub(crate) fn jitter_ms(&self) -> f64 {
        if self.clock == 0 {
            0.0
        } else {
            self.jitter * 1000.0 / f64::from(self.clock)
        }
    }

    fn restart(&mut self, ssrc: u32, seq: u16) {
        if self.ssrc.is_some() {
            self.lost_earlier_streams += self.lost_this_stream();
        }
        self.ssrc = Some(ssrc);
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.cycles = 0;
        self.received = 0;
        self.expected_prior = 0;
        self.received_prior = 0;
        self.transit = None;
    }

    /// Records an RTP packet that arrived at `now` with a `clock` Hz timestamp. `timing`:
    /// the timestamp tracks the media clock (audio; not telephone-events, whose timestamp is
    /// the event's start) and feeds the jitter estimate.
    pub(crate) fn on_packet(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        ts: u32,
        clock: u32,
        timing: bool,
    ) {
        if self.ssrc != Some(ssrc) {
            self.restart(ssrc, seq);
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta < MAX_DROPOUT {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            } else if delta <= u16::MAX - 100 {
                // A jump too large for loss: the sender restarted its numbering.
                self.restart(ssrc, seq);
            }
            // Otherwise a duplicate or reordered packet.
        }
        self.received += 1;
        if !timing {
            return;
        }
        if clock != self.clock {
            self.clock = clock;
            self.transit = None;
            self.jitter = 0.0;
        }
        let base = *self.base.get_or_insert(now);
        let arrival = (now.duration_since(base).as_micros() * u128::from(clock) / 1_000_000) as i64;
        let transit = arrival - i64::from(ts);
        if let Some(prev) = self.transit {
            let d = (transit - prev).unsigned_abs() as f64;
            if d < f64::from(clock) * 10.0 {
                self.jitter += (d - self.jitter) / 16.0;
            }
        }
        self.transit = Some(transit);
    }

    /// A report block about the stream (RFC 3550 §6.4.1, §A.3): fraction lost since the
    /// previous block, with `lsr`/`dlsr` from the last SR the device sent.
    pub(crate) fn report_block(&mut self, lsr: u32, dlsr: u32) -> Option<ReportBlock> {
        let ssrc = self.ssrc?;
        let expected = self.expected();
        let expected_interval = expected - self.expected_prior;
        let received_interval = self.received - self.received_prior;
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        Some(ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.lost_this_stream().clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_seq: (self.extended_max() & 0xffff_ffff) as u32,
            jitter: self.jitter as u32,
            lsr,
            dlsr,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn loss_wrap_and_fraction() {
        let t0 = Instant::now();
        let mut r = ReceiveStats::default();
        // 65530..=65535, 0..=9 with 65533 and 4 missing: 16 expected, 14 received.
        for (i, seq) in (65530u16..=65535).chain(0..10).enumerate() {
            if seq == 65533 || seq == 4 {
                continue;
            }
            let at = t0 + Duration::from_millis(20 * i as u64);
            r.on_packet(at, 5, seq, 160 * i as u32, 8000, true);
        }
        assert_eq!(r.cumulative_lost(), 2);
        let block = r.report_block(0, 0).unwrap();
        assert_eq!(block.highest_seq, 0x0001_0009);
        assert_eq!(block.cumulative_lost, 2);
        assert_eq!(block.fraction_lost, 32, "2/16 in 1/256");
        assert_eq!(block.jitter, 0, "perfectly paced");
        // Nothing new since: the next block reports no fresh loss.
        assert_eq!(r.report_block(0, 0).unwrap().fraction_lost, 0);
    }

    #[test]
    fn jitter_in_milliseconds() {
        let t0 = Instant::now();
        let mut r = ReceiveStats::default();
        for i in 0..400u32 {
            let wobble = if i % 2 == 0 { 0 } else { 10 };
            let at = t0 + Duration::from_millis(u64::from(20 * i + wobble));
            r.on_packet(at, 5, i as u16, 160 * i, 8000, true);
        }
        assert!((r.jitter_ms() - 10.0).abs() < 0.5, "{}", r.jitter_ms());
    }

    #[test]
    fn a_new_stream_keeps_earlier_loss() {
        let t0 = Instant::now();
        let mut r = ReceiveStats::default();
        for seq in [1u16, 2, 5] {
            r.on_packet(t0, 5, seq, 0, 8000, true);
        }
        r.on_packet(t0, 6, 100, 0, 8000, true);
        r.on_packet(t0, 6, 102, 0, 8000, true);
        assert_eq!(r.cumulative_lost(), 3);
        assert_eq!(r.ssrc, Some(6));
    }
}
