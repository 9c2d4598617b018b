//! Call-detail records as CSV (RFC 4180), for download and spreadsheets.
//!
//! Format:
//! - one header row ([`CDR_CSV_COLUMNS`]), then one row per record, in the order given;
//!   every row, the header included, ends with CRLF (RFC 4180 §2.1);
//! - a field is enclosed in double quotes when it contains a comma, a double quote, CR or
//!   LF, and a double quote inside it is doubled (RFC 4180 §2.5–2.7); other fields are
//!   written as they are (UTF-8);
//! - CSV formula injection: a spreadsheet runs a cell that starts with `=`, `+`, `-` or
//!   `@` (and some also after a leading tab or CR) as a formula, and caller names and
//!   numbers come from the network. Every text field starting with one of those six
//!   characters is written with a `'` in front (so `+15551234567` reads
//!   `'+15551234567`), which spreadsheets show as text. The prefix is part of the value
//!   for any other CSV reader: strip one leading `'` before such a character to get the
//!   original back. Numbers and times are produced here and are never prefixed;
//! - times are UTC in RFC 3339 with milliseconds (`2023-11-14T22:13:20.000Z`), an empty
//!   field when there is none (a call never answered); durations are in milliseconds and
//!   in whole seconds rounded down;
//! - absent values (`destination_name` of an unrouted call, `node`, `end_reason`,
//!   `media`) are empty fields;
//! - `media` is the media gateway's JSON summary as stored, one field (quoted, its
//!   double quotes doubled).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::Cdr;

/// The header row's column names, in order.
pub const CDR_CSV_COLUMNS: [&str; 23] = [
    "id",
    "call_id",
    "caller",
    "caller_domain",
    "callee",
    "dialed",
    "source_kind",
    "source_name",
    "destination_kind",
    "destination_name",
    "start_utc",
    "answer_utc",
    "end_utc",
    "duration_ms",
    "billable_ms",
    "duration_s",
    "billable_s",
    "disposition",
    "sip_status",
    "hangup_by",
    "node",
    "end_reason",
    "media",
];

/// Writes records as CSV, one row at a time (for exports that page through a large
/// range); see the module docs for the format. Each row is built in a reused buffer and
/// handed to the output with one `write_all`: wrap a file or socket in a
/// [`std::io::BufWriter`].
#[derive(Debug)]
pub struct CdrCsvWriter<W> {
    out: W,
    row: String,
}

impl<W: Write> CdrCsvWriter<W> {
    /// Writes the header row.
    ///
    /// # Errors
    /// The output's error.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut row = String::with_capacity(256);
        for (i, column) in CDR_CSV_COLUMNS.iter().enumerate() {
            if i > 0 {
                row.push(',');
            }
            row.push_str(column);
        }
        row.push_str("\r\n");
        out.write_all(row.as_bytes())?;
        Ok(CdrCsvWriter { out, row })
    }

    /// Writes one record as one row.
    ///
    /// # Errors
    /// The output's error.
    pub fn write_cdr(&mut self, cdr: &Cdr) -> io::Result<()> {
        let row = &mut self.row;
        row.clear();
        write!(row, "{},", cdr.id.get()).expect("writing to a String");
        for text in [
            cdr.call_id.as_str(),
            &cdr.caller,
            &cdr.caller_domain,
            &cdr.callee,
            &cdr.dialed,
            cdr.source.kind(),
            cdr.source.name(),
            cdr.destination.kind(),
            cdr.destination.name().unwrap_or(""),
        ] {
            push_text(row, text);
            row.push(',');
        }
        push_time(row, cdr.start_unix_ms);
        row.push(',');
        if let Some(answer) = cdr.answer_unix_ms {
            push_time(row, answer);
        }
        row.push(',');
        push_time(row, cdr.end_unix_ms);
        write!(
            row,
            ",{},{},{},{},{},{},{},",
            cdr.duration_ms,
            cdr.billable_ms,
            cdr.duration_secs(),
            cdr.billable_secs(),
            cdr.disposition,
            cdr.sip_status,
            cdr.hangup_by,
        )
        .expect("writing to a String");
        push_text(row, cdr.node.as_deref().unwrap_or(""));
        row.push(',');
        push_text(row, cdr.end_reason.as_deref().unwrap_or(""));
        row.push(',');
        push_text(row, cdr.media.as_deref().unwrap_or(""));
        row.push_str("\r\n");
        self.out.write_all(row.as_bytes())
    }

    /// The output, after flushing it.
    ///
    /// # Errors
    /// The output's error on flush.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes `cdrs` as CSV with a header row (see the module docs for the format) and
/// flushes `out`.
///
/// # Errors
/// The output's error.
pub fn write_cdrs_csv<W: Write>(cdrs: &[Cdr], out: W) -> io::Result<()> {
    let mut writer = CdrCsvWriter::new(out)?;
    for cdr in cdrs {
        writer.write_cdr(cdr)?;
    }
    writer.finish().map(drop)
}

/// First characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One text field: guarded against formulas, quoted when needed (RFC 4180 §2.6–2.7).
fn push_text(row: &mut String, value: &str) {
    let guard = value.starts_with(FORMULA_STARTS);
    let quote = value.contains([',', '"', '\r', '\n']);
    if quote {
        row.push('"');
    }
    if guard {
        row.push('\'');
    }
    if quote {
        let mut parts = value.split('"');
        row.push_str(parts.next().unwrap_or(""));
        for part in parts {
            row.push_str("\"\"");
            row.push_str(part);
        }
        row.push('"');
    } else {
        row.push_str(value);
    }
}

/// `unix_ms` as RFC 3339 UTC with milliseconds, e.g. `2023-11-14T22:13:20.000Z`. Any
/// `i64` is accepted (years outside 0000–9999 get more digits or a sign).
fn push_time(row: &mut String, unix_ms: i64) {
    const DAY_MS: i64 = 86_400_000;
    let (days, ms_of_day) = (unix_ms.div_euclid(DAY_MS), unix_ms.rem_euclid(DAY_MS));
    let (year, month, day) = civil_from_days(days);
    let (secs, ms) = (ms_of_day / 1000, ms_of_day % 1000);
    write!(
        row,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
    .expect("writing to a String");
}

/// The proleptic Gregorian date of a day count since 1970-01-01: eras of 400 years
/// (146,097 days) starting on March 1st, so the leap day ends a year.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days since 0000-03-01
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
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CdrDestination, CdrId, CdrSource, Disposition, HangupBy};

    fn time(unix_ms: i64) -> String {
        let mut text = String::new();
        push_time(&mut text, unix_ms);
        text
    }

    fn text(value: &str) -> String {
        let mut row = String::new();
        push_text(&mut row, value);
        row
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(time(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(time(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(time(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(time(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert_eq!(time(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
        assert_eq!(time(-62_167_219_200_000), "0000-01-01T00:00:00.000Z");
        // Extreme values are formatted, never a panic.
        assert!(time(i64::MAX).ends_with(".807Z"));
        assert!(time(i64::MIN).starts_with('-'));
    }

    /// Every day of four centuries (leap rules for 4, 100 and 400 years) against a
    /// calendar stepped one day at a time.
    #[test]
    fn day_conversion_matches_a_stepped_calendar() {
        let (mut year, mut month, mut day) = (1900, 1, 1);
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in = |y, m| match m {
            2 if leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        for days in -25_567..(-25_567 + 146_097) {
            assert_eq!(civil_from_days(days), (year, month, day), "day {days}");
            day += 1;
            if day > days_in(year, month) {
                day = 1;
                month += 1;
                if month > 12 {
                    month = 1;
                    year += 1;
                }
            }
        }
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(text("alice"), "alice");
        assert_eq!(text(""), "");
        assert_eq!(text("a b 'c'"), "a b 'c'");
        assert_eq!(text("a,b"), "\"a,b\"");
        assert_eq!(text("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text("\""), "\"\"\"\"");
        assert_eq!(text("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(text("cr\rlf"), "\"cr\rlf\"");
        assert_eq!(text("Zoë ☎"), "Zoë ☎");
    }

    #[test]
    fn formula_starts_are_prefixed() {
        assert_eq!(text("=1+1"), "'=1+1");
        assert_eq!(text("+15551234567"), "'+15551234567");
        assert_eq!(text("-2"), "'-2");
        assert_eq!(text("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text("\tx"), "'\tx");
        assert_eq!(text("\r=x"), "\"'\r=x\"");
        assert_eq!(
            text("=HYPERLINK(\"http://example.com\",\"x\")"),
            "\"'=HYPERLINK(\"\"http://example.com\"\",\"\"x\"\")\""
        );
        // Only at the start.
        assert_eq!(text("a=b"), "a=b");
        assert_eq!(text("1-2"), "1-2");
        assert_eq!(text("'=x"), "'=x");
    }

    #[test]
    fn header_and_row_bytes() {
        let cdr = Cdr {
            id: CdrId::new(42),
            call_id: "a84b4c76e66710@192.0.2.4".to_owned(),
            caller: "+15551230000".to_owned(),
            caller_domain: "example.com".to_owned(),
            callee: "bob".to_owned(),
            dialed: "200".to_owned(),
            source: CdrSource::Trunk("carrier, east".to_owned()),
            destination: CdrDestination::None,
            start_unix_ms: 1_700_000_000_000,
            answer_unix_ms: None,
            end_unix_ms: 1_700_000_004_500,
            duration_ms: 4_500,
            billable_ms: 0,
            disposition: Disposition::NoAnswer,
            sip_status: 480,
            hangup_by: HangupBy::System,
            node: None,
            end_reason: None,
            media: None,
        };
        let echo = Cdr {
            id: CdrId::new(43),
            destination: CdrDestination::Media("echo".to_owned()),
            answer_unix_ms: Some(1_700_000_000_000),
            billable_ms: 4_500,
            disposition: Disposition::Answered,
            sip_status: 200,
            end_reason: Some("media_timeout".to_owned()),
            media: Some("{\"path\":\"echo\",\"legs\":[]}".to_owned()),
            ..cdr.clone()
        };
        let mut out = Vec::new();
        write_cdrs_csv(&[cdr, echo], &mut out).expect("in memory");
        let expected = "id,call_id,caller,caller_domain,callee,dialed,source_kind,source_name,\
                        destination_kind,destination_name,start_utc,answer_utc,end_utc,\
                        duration_ms,billable_ms,duration_s,billable_s,disposition,sip_status,\
                        hangup_by,node,end_reason,media\r\n\
                        42,a84b4c76e66710@192.0.2.4,'+15551230000,example.com,bob,200,trunk,\
                        \"carrier, east\",none,,2023-11-14T22:13:20.000Z,,\
                        2023-11-14T22:13:24.500Z,4500,0,4,0,NO ANSWER,480,system,,,\r\n\
                        43,a84b4c76e66710@192.0.2.4,'+15551230000,example.com,bob,200,trunk,\
                        \"carrier, east\",media,echo,2023-11-14T22:13:20.000Z,\
                        2023-11-14T22:13:20.000Z,2023-11-14T22:13:24.500Z,4500,4500,4,4,\
                        ANSWERED,200,system,,media_timeout,\
                        \"{\"\"path\"\":\"\"echo\"\",\"\"legs\"\":[]}\"\r\n";
        assert_eq!(String::from_utf8(out).expect("UTF-8"), expected);

        let mut empty = Vec::new();
        write_cdrs_csv(&[], &mut empty).expect("in memory");
        assert_eq!(
            empty,
            expected.split_inclusive("\r\n").next().unwrap().as_bytes()
        );
    }
}
