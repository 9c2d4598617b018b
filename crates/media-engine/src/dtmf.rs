//! RFC 4733 telephone-events: the 4-octet event payload, detection of received digits (once per
//! event) and the packet schedule of digits the gateway generates.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::error::EngineError;

/// Interval between the packets of an event in progress (RFC 4733 §2.5.1.2 suggests 50 ms).
pub(crate) const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// Interval between the three end-of-event packets (RFC 4733 §2.5.1.4).
pub(crate) const END_INTERVAL: Duration = Duration::from_millis(20);
/// Silence between two generated digits.
pub(crate) const INTER_DIGIT: Duration = Duration::from_millis(50);
/// Volume of generated events: −10 dBm0 (RFC 4733 §2.3.4).
const VOLUME: u8 = 10;

/// The payload of one event packet (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventPayload {
    /// Event code (0–15 are the DTMF digits, §3.2).
    pub(crate) code: u8,
    /// The E bit: the event ended.
    pub(crate) end: bool,
    /// Volume in −dBm0.
    pub(crate) volume: u8,
    /// Duration so far, in units of the payload type's clock.
    pub(crate) duration: u16,
}

impl EventPayload {
    /// Reads the first 4 octets of `payload` (further octets would be redundant events of
    /// RFC 2198, ignored).
    pub(crate) fn parse(payload: &[u8]) -> Result<EventPayload, EngineError> {
        let [code, flags, d0, d1, ..] = *payload else {
            return Err(EngineError::MalformedEvent { len: payload.len() });
        };
        Ok(EventPayload {
            code,
            end: flags & 0x80 != 0,
            volume: flags & 0x3f,
            duration: u16::from_be_bytes([d0, d1]),
        })
    }

    /// The 4 payload octets.
    pub(crate) fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.code,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// The event code of a DTMF digit (RFC 4733 §3.2): `0-9 * # A-D`.
pub(crate) fn digit_code(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The digit of an event code, when it is a DTMF event.
pub(crate) fn code_digit(code: u8) -> Option<char> {
    match code {
        0..=9 => Some(char::from(b'0' + code)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + code - 12)),
        _ => None,
    }
}

/// Converts `units` of a `clock` Hz timestamp clock to a duration.
pub(crate) fn units_to_duration(units: u32, clock: u32) -> Duration {
    Duration::from_micros(u64::from(units) * 1_000_000 / u64::from(clock.max(1)))
}

/// Converts a duration to units of a `clock` Hz timestamp clock, saturating at 16 bits.
fn duration_to_units(d: Duration, clock: u32) -> u16 {
    let units = d.as_micros() * u128::from(clock) / 1_000_000;
    u16::try_from(units).unwrap_or(u16::MAX)
}

/// A digit detected in received events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Detected {
    /// The digit.
    pub(crate) digit: char,
    /// Its duration in timestamp units.
    pub(crate) units: u16,
}

/// Turns received event packets into one detection per event: events are told apart by their
/// RTP timestamp (RFC 4733 §2.5.2.1); the first end packet reports the event, retransmitted
/// end packets and late packets of earlier events are ignored.
#[derive(Debug, Clone, Default)]
pub(crate) struct DtmfDetector {
    current: Option<(u32, EventPayload, bool)>,
}

impl DtmfDetector {
    /// Feeds one event packet with RTP timestamp `ts`. Returns the events to report: an earlier
    /// event whose end packets were all lost, then this one if it ended.
    pub(crate) fn on_packet(
        &mut self,
        ts: u32,
        event: EventPayload,
    ) -> (Option<Detected>, Option<Detected>) {
        let mut earlier = None;
        match self.current {
            Some((cur_ts, _, _)) if cur_ts == ts => {}
            Some((cur_ts, _, _)) if ts.wrapping_sub(cur_ts) >= 0x8000_0000 => {
                return (None, None); // a late packet of an earlier event
            }
            Some((_, prev, reported)) => {
                if !reported {
                    earlier = code_digit(prev.code).map(|digit| Detected {
                        digit,
                        units: prev.duration,
                    });
                }
                self.current = Some((ts, event, false));
            }
            None => self.current = Some((ts, event, false)),
        }
        let (_, last, reported) = self.current.as_mut().expect("set above");
        if *reported {
            return (earlier, None);
        }
        *last = event;
        if !event.end {
            return (earlier, None);
        }
        *reported = true;
        let now = code_digit(event.code).map(|digit| Detected {
            digit,
            units: event.duration,
        });
        (earlier, now)
    }
}

/// One packet the sender wants on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EventPacket {
    /// First packet of the event: marker bit, and the event's timestamp is taken now.
    pub(crate) first: bool,
    /// The payload.
    pub(crate) payload: EventPayload,
}

#[derive(Debug, Clone, Copy)]
struct Sending {
    code: u8,
    start: Instant,
    total: Duration,
    total_units: u16,
    updates_sent: u32,
    ends_sent: u8,
}

impl Sending {
    fn next_at(&self) -> Instant {
        if self.ends_sent == 0 && (self.updates_sent == 0 || self.next_update_time() < self.total) {
            self.start + self.next_update_time()
        } else {
            self.start + self.total + END_INTERVAL * u32::from(self.ends_sent)
        }
    }

    fn next_update_time(&self) -> Duration {
        UPDATE_INTERVAL * self.updates_sent
    }
}

/// Generates RFC 4733 events for digits asked by signalling (SIP INFO): a first packet with the
/// marker bit, updates every 50 ms with the growing duration, then three end packets; digits
/// asked while one plays are queued.
#[derive(Debug, Clone, Default)]
pub(crate) struct DtmfSender {
    queue: VecDeque<(u8, Duration)>,
    current: Option<Sending>,
    not_before: Option<Instant>,
    clock: u32,
}

impl DtmfSender {
    /// Queues `digit` for `duration` on a `clock` Hz telephone-event stream, asked at `now`.
    pub(crate) fn push(
        &mut self,
        now: Instant,
        digit: char,
        duration: Duration,
        clock: u32,
    ) -> Result<(), EngineError> {
        let code = digit_code(digit).ok_or(EngineError::InvalidDigit { digit })?;
        if self.current.is_none() && self.queue.is_empty() {
            self.not_before = Some(self.not_before.map_or(now, |t| t.max(now)));
        }
        self.clock = clock;
        self.queue.push_back((code, duration.max(UPDATE_INTERVAL)));
        Ok(())
    }

    /// When the next packet is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        match &self.current {
            Some(s) => Some(s.next_at()),
            None if !self.queue.is_empty() => self.not_before,
            None => None,
        }
    }

    /// The next packet due at `now`, if any (call until `None`).
    pub(crate) fn poll(&mut self, now: Instant) -> Option<EventPacket> {
        if self.current.is_none() {
            if self.not_before.is_some_and(|t| now < t) {
                return None;
            }
            let (code, total) = self.queue.pop_front()?;
            self.current = Some(Sending {
                code,
                start: now,
                total,
                total_units: duration_to_units(total, self.clock),
                updates_sent: 0,
                ends_sent: 0,
            });
        }
        let s = self.current.as_mut().expect("set above");
        if now < s.next_at() {
            return None;
        }
        let first = s.updates_sent == 0 && s.ends_sent == 0;
        let packet = if s.ends_sent == 0 && (first || s.next_update_time() < s.total) {
            s.updates_sent += 1;
            let covered = (UPDATE_INTERVAL * s.updates_sent).min(s.total);
            EventPayload {
                code: s.code,
                end: false,
                volume: VOLUME,
                duration: duration_to_units(covered, self.clock),
            }
        } else {
            s.ends_sent += 1;
            EventPayload {
                code: s.code,
                end: true,
                volume: VOLUME,
                duration: s.total_units,
            }
        };
        if s.ends_sent == 3 {
            self.not_before = Some(s.start + s.total + END_INTERVAL * 2 + INTER_DIGIT);
            self.current = None;
        }
        Some(EventPacket {
            first,
            payload: packet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(code: u8, end: bool, duration: u16) -> EventPayload {
        EventPayload {
            code,
            end,
            volume: 10,
            duration,
        }
    }

    #[test]
    fn payload_round_trip_and_errors() {
        let e = ev(11, true, 1280);
        assert_eq!(e.to_bytes(), [11, 0x8a, 0x05, 0x00]);
        assert_eq!(EventPayload::parse(&e.to_bytes()).unwrap(), e);
        assert!(EventPayload::parse(&[1, 2, 3]).is_err());
    }

    #[test]
    fn digits_and_codes() {
        for (d, c) in [
            ('0', 0),
            ('9', 9),
            ('*', 10),
            ('#', 11),
            ('A', 12),
            ('d', 15),
        ] {
            assert_eq!(digit_code(d), Some(c));
            assert_eq!(code_digit(c), Some(d.to_ascii_uppercase()));
        }
        assert_eq!(digit_code('E'), None);
        assert_eq!(code_digit(16), None, "flash is not a digit");
    }

    #[test]
    fn detector_reports_each_event_once() {
        let mut d = DtmfDetector::default();
        assert_eq!(d.on_packet(1000, ev(5, false, 400)), (None, None));
        assert_eq!(d.on_packet(1000, ev(5, false, 800)), (None, None));
        let done = Some(Detected {
            digit: '5',
            units: 1280,
        });
        assert_eq!(d.on_packet(1000, ev(5, true, 1280)), (None, done));
        assert_eq!(d.on_packet(1000, ev(5, true, 1280)), (None, None));
        assert_eq!(d.on_packet(1000, ev(5, true, 1280)), (None, None));
        // A late update of the same event after its end changes nothing.
        assert_eq!(d.on_packet(1000, ev(5, false, 800)), (None, None));
        // Next event whose end packets are all lost: reported when the one after starts.
        assert_eq!(d.on_packet(3000, ev(1, false, 400)), (None, None));
        let (earlier, now) = d.on_packet(5000, ev(2, true, 800));
        assert_eq!(earlier.unwrap().digit, '1');
        assert_eq!(now.unwrap().digit, '2');
        // A straggler of event 3000 is ignored.
        assert_eq!(d.on_packet(3000, ev(1, true, 400)), (None, None));
    }

    #[test]
    fn sender_schedule() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut s = DtmfSender::default();
        s.push(t0, '7', Duration::from_millis(160), 8000).unwrap();
        s.push(t0, '#', Duration::from_millis(100), 8000).unwrap();
        assert!(s.push(t0, 'x', Duration::from_millis(100), 8000).is_err());
        let mut sent = Vec::new();
        while let Some(due) = s.next_due() {
            let now = due;
            while let Some(p) = s.poll(now) {
                sent.push((now.duration_since(t0).as_millis(), p));
            }
        }
        let summary: Vec<_> = sent
            .iter()
            .map(|(at, p)| {
                (
                    *at,
                    p.first,
                    p.payload.code,
                    p.payload.end,
                    p.payload.duration,
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (0, true, 7, false, 400),
                (50, false, 7, false, 800),
                (100, false, 7, false, 1200),
                (150, false, 7, false, 1280),
                (160, false, 7, true, 1280),
                (180, false, 7, true, 1280),
                (200, false, 7, true, 1280),
                (250, true, 11, false, 400),
                (300, false, 11, false, 800),
                (350, false, 11, true, 800),
                (370, false, 11, true, 800),
                (390, false, 11, true, 800),
            ]
        );
        assert_eq!(s.next_due(), None);
        // A digit asked later starts when asked.
        s.push(ms(1000), '1', Duration::from_millis(100), 8000)
            .unwrap();
        assert_eq!(s.next_due(), Some(ms(1000)));
    }

    #[test]
    fn long_events_saturate_the_duration_field() {
        let mut s = DtmfSender::default();
        let t0 = Instant::now();
        s.push(t0, '1', Duration::from_secs(3), 48000).unwrap();
        let first = s.poll(t0).unwrap();
        assert_eq!(first.payload.duration, 2400);
        let end = t0 + Duration::from_secs(3);
        let mut last = None;
        while let Some(now) = s.next_due() {
            while let Some(p) = s.poll(now) {
                last = Some(p);
            }
            assert!(now <= end + Duration::from_secs(1));
        }
        assert_eq!(last.unwrap().payload.duration, u16::MAX);
    }
}
