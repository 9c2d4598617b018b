//! Small pieces of response building shared by every request handler.

use std::fmt::Write as _;

/// A reason phrase made safe for a status line: control characters become
/// spaces and the length is bounded, so text from errors (which may quote
/// input) can never break the message framing.
pub(crate) fn reason_phrase(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(120));
    for c in text.chars() {
        if out.len() >= 120 {
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

/// Appends `n` as 16 lower-case hex digits.
pub(crate) fn push_hex_u64(out: &mut String, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in (0..16).rev() {
        out.push(char::from(HEX[((n >> (shift * 4)) & 0xf) as usize]));
    }
}

/// An RFC 1123 date (`Sat, 21 Nov 2026 02:01:00 GMT`) for the `Date` header
/// (RFC 3261 §20.17); desk phones set their clocks from it.
pub(crate) fn http_date(unix_ms: u64) -> String {
    let secs = unix_ms / 1_000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut out = String::with_capacity(29);
    let _ = write!(
        out,
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3_600,
        (rem % 3_600) / 60,
        rem % 60
    );
    out
}

/// Days since 1970-01-01 to (year, month 1–12, day 1–31), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use sb_sip_message::push_u32;

    use super::*;

    #[test]
    fn dates_are_rfc_1123() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            http_date(1_795_226_460_000),
            "Sat, 21 Nov 2026 02:01:00 GMT"
        );
    }

    #[test]
    fn digits_and_hex() {
        let mut s = String::new();
        push_u32(&mut s, 0);
        s.push(' ');
        push_u32(&mut s, 4_294_967_295);
        s.push(' ');
        push_hex_u64(&mut s, 0xfe);
        assert_eq!(s, "0 4294967295 00000000000000fe");
    }

    #[test]
    fn reason_phrases_cannot_break_framing() {
        assert_eq!(reason_phrase("bad\r\nVia: x"), "bad  Via: x");
        assert_eq!(reason_phrase(&"x".repeat(500)).len(), 120);
    }
}
