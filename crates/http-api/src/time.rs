//! Times on the wire: RFC 3339 UTC strings with milliseconds in JSON
//! (`2026-11-21T10:00:00.123Z`); query parameters accept RFC 3339 (any offset) or unix
//! seconds. Inside, times are unix milliseconds (`i64`), as in the store.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serializer;

const DAY_MS: i64 = 86_400_000;

/// The wall clock as unix milliseconds.
pub(crate) fn now_unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `unix_ms` as RFC 3339 UTC with milliseconds. Years outside 0000–9999 are clamped to
/// that range (RFC 3339 §5.6 has four-digit years).
pub(crate) fn format_rfc3339(unix_ms: i64) -> String {
    const MIN: i64 = -62_167_219_200_000; // 0000-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    let unix_ms = unix_ms.clamp(MIN, MAX);
    let (days, ms_of_day) = (unix_ms.div_euclid(DAY_MS), unix_ms.rem_euclid(DAY_MS));
    let (year, month, day) = civil_from_days(days);
    let (secs, ms) = (ms_of_day / 1000, ms_of_day % 1000);
    let mut text = String::with_capacity(24);
    write!(
        text,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
    .expect("writing to a String");
    text
}

/// Parses a query-parameter time: unix seconds (`1700000000`, optionally with a fraction
/// `1700000000.5`) or RFC 3339 (`2023-11-14T22:13:20Z`, `2023-11-14T23:13:20.5+01:00`,
/// `t`/`z` and a space instead of `T` accepted as RFC 3339 §5.6 allows). `None` when it
/// is neither or out of range.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        return parse_unix_seconds(text);
    }
    parse_rfc3339(text)
}

fn parse_unix_seconds(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, f),
        None => (text, ""),
    };
    let negative = whole.starts_with('-');
    let secs: i64 = whole.parse().ok()?;
    let ms = fraction_ms(fraction)?;
    let ms = if negative { -ms } else { ms };
    secs.checked_mul(1000)?.checked_add(ms)
}

/// Milliseconds of a decimal fraction's digits (`5` → 500, `123456` → 123).
fn fraction_ms(digits: &str) -> Option<i64> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms = 0;
    for (i, b) in digits.bytes().take(3).enumerate() {
        ms += i64::from(b - b'0') * [100, 10, 1][i];
    }
    Some(ms)
}

fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &text[19..];
    let mut ms = 0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let end = after_dot
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(after_dot.len());
        if end == 0 {
            return None;
        }
        ms = fraction_ms(&after_dot[..end])?;
        rest = &after_dot[end..];
    }
    let offset_minutes = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|d| d.is_ascii_digit()) {
                return None;
            }
            let v = |d: &u8| i64::from(d - b'0');
            let (h, m) = (v(h1) * 10 + v(h2), v(m1) * 10 + v(m2));
            if h > 23 || m > 59 {
                return None;
            }
            let minutes = h * 60 + m;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return None,
    };
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(year) => 29,
        2 => 28,
        _ => return None,
    };
    // A leap second (:60) is read as the last millisecond before the next minute.
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second.min(59);
    let ms = if second == 60 { 999 } else { ms };
    Some(secs * 1000 + ms - offset_minutes * 60_000)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (eras of 400 years
/// starting on March 1st, so the leap day ends a year).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    (year_of_era + era * 400 + i64::from(month <= 2), month, day)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Serializes unix ms as an RFC 3339 string (serde `serialize_with`).
pub(crate) fn ser_time<S: Serializer>(unix_ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_rfc3339(*unix_ms))
}

/// Serializes optional unix ms as an RFC 3339 string or `null`.
pub(crate) fn ser_opt_time<S: Serializer>(
    unix_ms: &Option<i64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match unix_ms {
        Some(ms) => ser_time(ms, serializer),
        None => serializer.serialize_none(),
    }
}

/// Serializes milliseconds as (fractional) seconds.
pub(crate) fn ser_secs<S: Serializer>(ms: &u64, serializer: S) -> Result<S::Ok, S::Error> {
    // Exact for any realistic duration (below 2^53 ms, about 285,000 years).
    #[allow(clippy::cast_precision_loss)]
    serializer.serialize_f64(*ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_rfc3339(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(format_rfc3339(i64::MIN), "0000-01-01T00:00:00.000Z");
    }

    #[test]
    fn parses_unix_seconds_and_rfc3339() {
        assert_eq!(parse_time("1700000000"), Some(1_700_000_000_000));
        assert_eq!(parse_time("1700000000.25"), Some(1_700_000_000_250));
        assert_eq!(parse_time("-1.5"), Some(-1_500));
        assert_eq!(parse_time("2023-11-14T22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(
            parse_time("2023-11-14T22:13:20.123456Z"),
            Some(1_700_000_000_123)
        );
        assert_eq!(
            parse_time("2023-11-14t23:13:20.1+01:00"),
            Some(1_700_000_000_100)
        );
        assert_eq!(
            parse_time("2023-11-14 17:13:20-05:00"),
            Some(1_700_000_000_000)
        );
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_time("2016-12-31T23:59:60Z"), Some(1_483_228_799_999));
    }

    #[test]
    fn rejects_malformed_times() {
        for bad in [
            "",
            "now",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-14T22:13:20Z",
            "2023-02-29T22:13:20Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+1:00",
            "2023-11-14T22:13:20+24:00",
            "2023-11-14T22:13:20Zjunk",
            "２023-11-14T22:13:20Z",
            "1.2.3",
            "99999999999999999999",
        ] {
            assert_eq!(parse_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_inverts_format_over_four_centuries() {
        let mut ms = -2_208_988_800_000; // 1900-01-01
        while ms < 10_413_792_000_000 {
            assert_eq!(parse_time(&format_rfc3339(ms)), Some(ms));
            ms += 7 * DAY_MS + 3_600_001;
        }
    }
}
