//! Wall-clock time without a clock: [`UnixTime`] is passed in by the caller, and time windows
//! are evaluated in a fixed UTC offset (no time-zone database, no daylight-saving rules).

use std::fmt;
use std::str::FromStr;

use crate::DialplanError;

/// A point in time: whole seconds since 1970-01-01T00:00:00Z. The evaluator never reads a clock;
/// the caller passes this in [`CallFacts::at`](crate::CallFacts::at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// From seconds since the Unix epoch.
    pub const fn from_secs(secs: i64) -> UnixTime {
        UnixTime(secs)
    }

    /// From milliseconds since the Unix epoch (truncated to the second).
    pub const fn from_millis(millis: u64) -> UnixTime {
        UnixTime((millis / 1000) as i64)
    }

    /// Seconds since the Unix epoch.
    pub const fn secs(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UnixTime {
    /// RFC 3339 in UTC, e.g. `2025-01-06T09:30:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = self.0.div_euclid(86_400);
        let sod = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(day);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            sod / 3600,
            sod / 60 % 60,
            sod % 60
        )
    }
}

impl FromStr for UnixTime {
    type Err = DialplanError;

    /// Accepts RFC 3339 (`2025-01-06T09:30:00Z`, `2025-01-06T10:30+01:00`; seconds optional, a
    /// space may replace `T`) or an integer number of seconds since the epoch.
    fn from_str(s: &str) -> Result<UnixTime, DialplanError> {
        parse_timestamp(s.trim()).map_err(|reason| DialplanError::BadTimestamp {
            text: s.to_owned(),
            reason,
        })
    }
}

fn parse_timestamp(s: &str) -> Result<UnixTime, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(UnixTime(secs));
    }
    let (date, rest) = s
        .split_at_checked(10)
        .ok_or("expected YYYY-MM-DDTHH:MM[:SS](Z|±HH:MM)")?;
    let day = parse_date(date)?;
    let rest = rest
        .strip_prefix(['T', 't', ' '])
        .ok_or("expected `T` after the date")?;
    let zone_at = rest
        .find(['Z', 'z', '+', '-'])
        .ok_or("missing time zone (`Z` or ±HH:MM)")?;
    let (clock, zone) = rest.split_at(zone_at);
    let mut parts = clock.split(':');
    let h = parse_num(parts.next(), 0, 23, "hour")?;
    let m = parse_num(parts.next(), 0, 59, "minute")?;
    let sec = match parts.next() {
        Some(p) => parse_num(Some(p), 0, 60, "second")?,
        None => 0,
    };
    if parts.next().is_some() {
        return Err("too many `:` in the time".to_owned());
    }
    let offset = parse_offset(zone)?;
    Ok(UnixTime(
        day * 86_400 + i64::from(h * 3600 + m * 60 + sec) - i64::from(offset),
    ))
}

fn parse_num(part: Option<&str>, min: u32, max: u32, what: &str) -> Result<u32, String> {
    let part = part.ok_or_else(|| format!("missing {what}"))?;
    if part.is_empty() || part.len() > 4 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad {what} `{part}`"));
    }
    let n: u32 = part.parse().map_err(|_| format!("bad {what} `{part}`"))?;
    if !(min..=max).contains(&n) {
        return Err(format!("{what} {n} is out of range {min}–{max}"));
    }
    Ok(n)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

/// Parses `YYYY-MM-DD` to a day number.
fn parse_date(s: &str) -> Result<i64, String> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(format!("`{s}` is not a date (YYYY-MM-DD)"));
    }
    let y = parse_num(s.get(0..4), 0, 9999, "year")?;
    let m = parse_num(s.get(5..7), 1, 12, "month")?;
    let d = parse_num(s.get(8..10), 1, 31, "day")?;
    let y = i64::from(y);
    let month_days = match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > month_days {
        return Err(format!("`{s}`: that month has {month_days} days"));
    }
    Ok(days_from_civil(y, m, d))
}

/// Parses `UTC`, `Z` or `±HH:MM` to seconds east of UTC.
fn parse_offset(s: &str) -> Result<i32, String> {
    if s.eq_ignore_ascii_case("utc") || s.eq_ignore_ascii_case("z") {
        return Ok(0);
    }
    let sign = match s.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => {
            return Err(format!(
                "`{s}` is not a fixed UTC offset (write `UTC`, `+01:00` or `-05:00`; named time zones are not supported)"
            ));
        }
    };
    let (h, m) = s[1..]
        .split_once(':')
        .ok_or_else(|| format!("`{s}`: write the offset as ±HH:MM"))?;
    if h.len() != 2 || m.len() != 2 {
        return Err(format!("`{s}`: write the offset as ±HH:MM"));
    }
    let h = parse_num(Some(h), 0, 23, "offset hour")?;
    let m = parse_num(Some(m), 0, 59, "offset minute")?;
    Ok(sign * (h * 3600 + m * 60) as i32)
}

const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn parse_day(s: &str) -> Result<u32, String> {
    let lower = s.trim().to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|full| lower == *full || (lower.len() == 3 && full.starts_with(&lower)))
        .map(|i| i as u32)
        .ok_or_else(|| {
            format!(
                "`{}` is not a day (mon, tue, wed, thu, fri, sat, sun)",
                s.trim()
            )
        })
}

/// Parses `mon-fri`, `sat,sun`, `mon-wed,fri`, `fri-mon` (ranges may wrap past Sunday) to a set
/// of weekdays, bit 0 = Monday.
pub(crate) fn parse_days(s: &str) -> Result<u8, String> {
    let mut set = 0u8;
    for item in s.split(',') {
        if item.trim().is_empty() {
            return Err("empty day in the list".to_owned());
        }
        match item.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (parse_day(first)?, parse_day(last)?);
                let mut d = first;
                loop {
                    set |= 1 << d;
                    if d == last {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => set |= 1 << parse_day(item)?,
        }
    }
    Ok(set)
}

fn parse_clock(s: &str, allow_24: bool) -> Result<u32, String> {
    let s = s.trim();
    let (h, m) = s
        .split_once(':')
        .filter(|(h, m)| h.len() == 2 && m.len() == 2)
        .ok_or_else(|| format!("`{s}` is not a time of day (HH:MM)"))?;
    let h = parse_num(Some(h), 0, 24, "hour")?;
    let m = parse_num(Some(m), 0, 59, "minute")?;
    if h == 24 && (m != 0 || !allow_24) {
        return Err(format!("`{s}`: 24:00 may only end a range"));
    }
    Ok(h * 3600 + m * 60)
}

/// Parses `09:00-17:00` (end exclusive; `22:00-06:00` crosses midnight) to seconds of the day.
pub(crate) fn parse_hours(s: &str) -> Result<(u32, u32), String> {
    let (start, end) = s
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not a range of hours (HH:MM-HH:MM)"))?;
    let (start, end) = (parse_clock(start, false)?, parse_clock(end, true)?);
    if start == end {
        return Err(
            "the range is empty (start equals end); use 00:00-24:00 for the whole day".to_owned(),
        );
    }
    Ok((start, end))
}

/// Parses `2025-12-24` or `2025-12-24..2025-12-26` (inclusive) to day numbers.
pub(crate) fn parse_dates(s: &str) -> Result<(i64, i64), String> {
    let (first, last) = match s.split_once("..") {
        Some((a, b)) => (parse_date(a.trim())?, parse_date(b.trim())?),
        None => {
            let d = parse_date(s.trim())?;
            (d, d)
        }
    };
    if last < first {
        return Err("the range ends before it starts".to_owned());
    }
    Ok((first, last))
}

/// Parses a `tz` value: `UTC`, `Z` or a fixed offset `±HH:MM`.
pub(crate) fn parse_tz(s: &str) -> Result<i32, String> {
    parse_offset(s.trim())
}

/// One compiled time window; every part present must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimeWindow {
    /// Weekdays, bit 0 = Monday.
    pub(crate) days: Option<u8>,
    /// Seconds of the day, start inclusive, end exclusive; start > end crosses midnight.
    pub(crate) hours: Option<(u32, u32)>,
    /// Inclusive day numbers.
    pub(crate) dates: Option<(i64, i64)>,
    /// Seconds east of UTC.
    pub(crate) offset: i32,
}

impl TimeWindow {
    /// Whether `at` falls in the window. A range of hours that crosses midnight belongs to the
    /// day it starts on: `days = "fri"`, `hours = "22:00-06:00"` covers Saturday 03:00 and not
    /// Friday 03:00; `days` and `dates` are checked against that starting day.
    pub(crate) fn matches(&self, at: UnixTime) -> bool {
        let local = at.0.saturating_add(i64::from(self.offset));
        let mut day = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400) as u32;
        if let Some((start, end)) = self.hours {
            if start < end {
                if !(start..end).contains(&sod) {
                    return false;
                }
            } else if sod < end {
                day -= 1;
            } else if sod < start {
                return false;
            }
        }
        if let Some(days) = self.days {
            // 1970-01-01 was a Thursday (index 3 from Monday).
            let weekday = (day + 3).rem_euclid(7);
            if days & (1 << weekday) == 0 {
                return false;
            }
        }
        self.dates
            .is_none_or(|(first, last)| (first..=last).contains(&day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> UnixTime {
        s.parse().expect(s)
    }

    #[test]
    fn timestamps_parse_and_display() {
        assert_eq!(at("1970-01-01T00:00:00Z").secs(), 0);
        assert_eq!(at("2025-01-06T09:30:00Z").secs(), 1_736_155_800);
        assert_eq!(at("2025-01-06T10:30+01:00"), at("2025-01-06T09:30:00Z"));
        assert_eq!(at("2025-01-06 04:30:00-05:00"), at("2025-01-06T09:30:00Z"));
        assert_eq!(at("1736155800"), at("2025-01-06T09:30:00Z"));
        assert_eq!(
            at("2024-02-29T12:00:00Z").to_string(),
            "2024-02-29T12:00:00Z"
        );
        assert_eq!(UnixTime::from_secs(-1).to_string(), "1969-12-31T23:59:59Z");
        assert_eq!(
            UnixTime::from_millis(1_736_155_800_999).secs(),
            1_736_155_800
        );
        for bad in [
            "2025-01-06",
            "2025-13-01T00:00Z",
            "2025-02-29T00:00Z",
            "2025-01-06T09:30",
            "x",
        ] {
            assert!(bad.parse::<UnixTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for day in [-800_000, -1, 0, 1, 59, 365, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(day);
            assert_eq!(days_from_civil(y, m, d), day);
        }
    }

    #[test]
    fn day_lists() {
        let cases: &[(&str, u8)] = &[
            ("mon", 0b000_0001),
            ("mon-fri", 0b001_1111),
            ("sat,sun", 0b110_0000),
            ("Mon-Wed, fri", 0b001_0111),
            ("fri-mon", 0b111_0001),
            ("sunday", 0b100_0000),
            ("tue-tue", 0b000_0010),
        ];
        for &(s, set) in cases {
            assert_eq!(parse_days(s), Ok(set), "{s}");
        }
        for bad in ["", "mo", "mon,", "mon-xyz", "mon--fri"] {
            assert!(parse_days(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hours_dates_and_offsets() {
        assert_eq!(parse_hours("09:00-17:00"), Ok((9 * 3600, 17 * 3600)));
        assert_eq!(parse_hours("22:00-06:30"), Ok((22 * 3600, 6 * 3600 + 1800)));
        assert_eq!(parse_hours("00:00-24:00"), Ok((0, 86_400)));
        for bad in [
            "9-17",
            "09:00",
            "09:00-09:00",
            "24:00-01:00",
            "10:60-11:00",
            "25:00-26:00",
        ] {
            assert!(parse_hours(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_dates("1970-01-02"), Ok((1, 1)));
        assert_eq!(parse_dates("1970-01-01..1970-01-03"), Ok((0, 2)));
        assert!(parse_dates("1970-01-03..1970-01-01").is_err());
        assert!(parse_dates("2023-02-29").is_err());
        assert_eq!(parse_tz("UTC"), Ok(0));
        assert_eq!(parse_tz("+01:00"), Ok(3600));
        assert_eq!(parse_tz("-05:30"), Ok(-19_800));
        for bad in ["Europe/Paris", "+1", "+01:60", "0100"] {
            assert!(parse_tz(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows() {
        let office = TimeWindow {
            days: Some(parse_days("mon-fri").expect("valid")),
            hours: Some(parse_hours("09:00-17:00").expect("valid")),
            dates: None,
            offset: 3600,
        };
        let night = TimeWindow {
            days: Some(parse_days("fri").expect("valid")),
            hours: Some(parse_hours("22:00-06:00").expect("valid")),
            dates: None,
            offset: 0,
        };
        let holidays = TimeWindow {
            days: None,
            hours: None,
            dates: Some(parse_dates("2024-12-24..2024-12-26").expect("valid")),
            offset: -3600,
        };
        // (window, time, expected); 2025-01-06 is a Monday, 2025-01-10 a Friday.
        let cases: &[(&TimeWindow, &str, bool)] = &[
            (&office, "2025-01-06T08:00:00Z", true), // 09:00 local
            (&office, "2025-01-06T07:59:59Z", false),
            (&office, "2025-01-06T15:59:59Z", true),
            (&office, "2025-01-06T16:00:00Z", false), // 17:00 local, end exclusive
            (&office, "2025-01-11T10:00:00Z", false), // Saturday
            (&office, "2025-01-05T23:30:00Z", false), // Monday 00:30 local
            (&night, "2025-01-10T22:00:00Z", true),
            (&night, "2025-01-10T23:59:59Z", true),
            (&night, "2025-01-11T03:00:00Z", true), // Saturday morning, Friday's night
            (&night, "2025-01-11T05:59:59Z", true),
            (&night, "2025-01-11T06:00:00Z", false),
            (&night, "2025-01-10T03:00:00Z", false), // Friday morning: Thursday's night
            (&night, "2025-01-10T21:59:59Z", false),
            (&night, "2025-01-11T22:30:00Z", false), // Saturday evening
            (&holidays, "2024-12-24T01:00:00Z", true), // 00:00 local
            (&holidays, "2024-12-24T00:59:59Z", false),
            (&holidays, "2024-12-27T00:59:59Z", true),
            (&holidays, "2024-12-27T01:00:00Z", false),
        ];
        for (i, &(window, time, expected)) in cases.iter().enumerate() {
            assert_eq!(window.matches(at(time)), expected, "case {i}: {time}");
        }
    }
}
