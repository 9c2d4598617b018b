//! Digits sent as SIP INFO on anchored calls. The media gateway owns the
//! media, so a key press the other side should hear travels as RFC 4733
//! events in its RTP: the switch answers the INFO itself (200) and emits
//! [`Effect::MediaDtmf`] for the other leg instead of relaying the request.
//! Pass-through calls relay INFO as any other request.
//!
//! Bodies understood (neither has an RFC; both are what phones send):
//! - `application/dtmf-relay`: lines `Signal=5` and `Duration=160` (ms),
//!   keys case-insensitive, in any order; signal `10` is `*`, `11` is `#`
//!   (their RFC 4733 §3.2 event codes);
//! - `application/dtmf`: the digit alone.
//!
//! A missing duration counts as [`DEFAULT_DURATION_MS`]; durations are
//! bounded to [`MIN_DURATION_MS`]..=[`MAX_DURATION_MS`].

use std::time::Instant;

use bytes::Bytes;
use sb_sip_message::{HeaderName, Headers, Request, StatusCode};
use sb_sip_transaction::TxId;

use super::{Call, LegId};
use crate::core::Switch;
use crate::effects::Effect;

/// Duration of a digit whose INFO names none, ms.
pub(crate) const DEFAULT_DURATION_MS: u32 = 160;
/// Shortest digit sent, ms (DTMF receivers need tones of about 40 ms or more).
pub(crate) const MIN_DURATION_MS: u32 = 40;
/// Longest digit sent, ms.
pub(crate) const MAX_DURATION_MS: u32 = 10_000;

/// The digit and duration of an INFO carrying one; `None` when the body is
/// not a DTMF body (by Content-Type); `Err` with the reason for the 400 when
/// it is one but unreadable.
pub(crate) fn dtmf_info(
    headers: &Headers,
    body: &Bytes,
) -> Option<Result<(char, u32), &'static str>> {
    let content_type = headers.get(&HeaderName::ContentType)?;
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/dtmf-relay") {
        Some(parse_relay(body))
    } else if media_type.eq_ignore_ascii_case("application/dtmf") {
        let text = std::str::from_utf8(body).map_err(|_| "DTMF Body Not UTF-8");
        Some(
            text.and_then(|t| signal(t.trim()))
                .map(|d| (d, DEFAULT_DURATION_MS)),
        )
    } else {
        None
    }
}

fn parse_relay(body: &[u8]) -> Result<(char, u32), &'static str> {
    let text = std::str::from_utf8(body).map_err(|_| "DTMF Body Not UTF-8")?;
    let mut digit = None;
    let mut duration = DEFAULT_DURATION_MS;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key.eq_ignore_ascii_case("Signal") {
            digit = Some(signal(value)?);
        } else if key.eq_ignore_ascii_case("Duration") {
            let ms: u64 = value.parse().map_err(|_| "Bad DTMF Duration")?;
            duration =
                u32::try_from(ms.clamp(u64::from(MIN_DURATION_MS), u64::from(MAX_DURATION_MS)))
                    .expect("clamped to a u32 range");
        }
    }
    let digit = digit.ok_or("No DTMF Signal")?;
    Ok((digit, duration))
}

/// A digit as sent: `0`–`9`, `*`, `#`, `A`–`D` (either case), `10`, `11`.
fn signal(text: &str) -> Result<char, &'static str> {
    match text {
        "10" => return Ok('*'),
        "11" => return Ok('#'),
        _ => {}
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ ('0'..='9' | '*' | '#')), None) => Ok(c),
        (Some(c @ ('A'..='D' | 'a'..='d')), None) => Ok(c.to_ascii_uppercase()),
        _ => Err("Bad DTMF Signal"),
    }
}

impl Switch {
    /// An INFO on leg `leg` of an anchored call, going to leg `to`: a digit
    /// is answered here and sent on as RFC 4733 events (`true`); any other
    /// INFO is for the caller to relay (`false`).
    pub(crate) fn info_digit(
        &mut self,
        now: Instant,
        call: &Call,
        to: LegId,
        tx: TxId,
        request: &Request,
    ) -> bool {
        match dtmf_info(&request.headers, &request.body) {
            None => false,
            Some(Ok((digit, duration_ms))) => {
                self.reply(now, tx, request, StatusCode::OK, None, |_| {});
                self.push_effect(Effect::MediaDtmf {
                    call: call.id,
                    to,
                    digit,
                    duration_ms,
                });
                true
            }
            Some(Err(reason)) => {
                let status = StatusCode::BAD_REQUEST;
                self.reply(now, tx, request, status, Some(reason), |_| {});
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(content_type: Option<&str>) -> Headers {
        let mut h = Headers::default();
        if let Some(ct) = content_type {
            h.push(HeaderName::ContentType, ct.to_owned());
        }
        h
    }

    fn read(content_type: &str, body: &str) -> Option<Result<(char, u32), &'static str>> {
        dtmf_info(&headers(Some(content_type)), &Bytes::from(body.to_owned()))
    }

    #[test]
    fn dtmf_relay_bodies() {
        let r = |b| read("application/dtmf-relay", b);
        assert_eq!(r("Signal=5\r\nDuration=160\r\n"), Some(Ok(('5', 160))));
        assert_eq!(r("duration = 250\nsignal = #"), Some(Ok(('#', 250))));
        assert_eq!(r("Signal=10\r\n"), Some(Ok(('*', DEFAULT_DURATION_MS))));
        assert_eq!(
            r("Signal=11\r\nDuration=1\r\n"),
            Some(Ok(('#', MIN_DURATION_MS)))
        );
        assert_eq!(
            r("Signal=d\r\nDuration=99999999999\r\n"),
            Some(Ok(('D', MAX_DURATION_MS)))
        );
        assert_eq!(r("Signal=12"), Some(Err("Bad DTMF Signal")));
        assert_eq!(r("Signal=E"), Some(Err("Bad DTMF Signal")));
        assert_eq!(r("Signal="), Some(Err("Bad DTMF Signal")));
        assert_eq!(r("Duration=100"), Some(Err("No DTMF Signal")));
        assert_eq!(r("Signal=1\r\nDuration=-5"), Some(Err("Bad DTMF Duration")));
        assert_eq!(r(""), Some(Err("No DTMF Signal")));
        let bad_utf8 = dtmf_info(
            &headers(Some("application/dtmf-relay")),
            &Bytes::from_static(b"Signal=\xff"),
        );
        assert_eq!(bad_utf8, Some(Err("DTMF Body Not UTF-8")));
    }

    #[test]
    fn dtmf_bodies_and_other_types() {
        assert_eq!(
            read("application/dtmf", "7\r\n"),
            Some(Ok(('7', DEFAULT_DURATION_MS)))
        );
        assert_eq!(
            read("Application/DTMF-Relay; charset=utf-8", "Signal=*"),
            Some(Ok(('*', DEFAULT_DURATION_MS)))
        );
        assert_eq!(read("application/dtmf", "77"), Some(Err("Bad DTMF Signal")));
        assert_eq!(read("application/sdp", "Signal=5"), None);
        assert_eq!(read("text/plain", "5"), None);
        assert_eq!(dtmf_info(&headers(None), &Bytes::from_static(b"5")), None);
    }
}
