//! Call records: filtered pages with an opaque cursor, a CSV export of every matching
//! record streamed page by page through the store's cursor (the store's CSV writer, with
//! its formula guard), and a per-day summary. A SIP user sees only the records where it is
//! the caller or the callee.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use sb_store::{
    Cdr, CdrCsvWriter, CdrCursor, CdrDestination, CdrId, CdrOrder, CdrQuery, Disposition, Store,
};
use serde::Serialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::live::Live;
use crate::respond::ok;
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::time::{parse_time, ser_opt_time, ser_secs, ser_time};

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/cdrs", Access::Signed, list::<L>)
        .add(
            Method::GET,
            "/api/cdrs/summary",
            Access::Signed,
            summary::<L>,
        )
}

/// The filters shared by the list and the summary, taken from the query.
fn filters(query: &mut QueryParams) -> Result<CdrQuery, ApiError> {
    let time = |q: &mut QueryParams, name: &str| {
        q.parsed(name, parse_time, "an RFC 3339 time or unix seconds")
    };
    let disposition = query.parsed(
        "disposition",
        parse_disposition,
        "ANSWERED, NO ANSWER, BUSY, FAILED or CANCELLED",
    )?;
    let min_billable_ms = query
        .int("min_duration", 0..=i64::MAX / 1000)?
        .map(|secs| secs * 1000);
    Ok(CdrQuery {
        from_unix_ms: time(query, "from")?,
        to_unix_ms: time(query, "to")?,
        caller: query.text("caller"),
        callee: query.text("callee"),
        party: query.text("party"),
        disposition,
        trunk: query.text("trunk"),
        min_billable_ms,
        ..CdrQuery::default()
    })
}

/// A disposition in any case, with a space or `_` in `NO ANSWER`.
fn parse_disposition(text: &str) -> Option<Disposition> {
    let text = text.trim().to_ascii_uppercase().replace('_', " ");
    text.parse().ok()
}

/// Restricts a SIP user's query to its own records. `false` when the query asked for
/// another party, so nothing can match.
fn restrict(caller: &Caller, query: &mut CdrQuery) -> bool {
    let Some((username, _)) = caller.sip_user() else {
        return true;
    };
    match &query.party {
        Some(party) if party != username => false,
        _ => {
            query.party = Some(username.to_owned());
            true
        }
    }
}

/// The cursor on the wire: base64url of `d|a` (the order), the start time and the id.
fn encode_cursor(order: CdrOrder, cursor: CdrCursor) -> String {
    let direction = match order {
        CdrOrder::NewestFirst => 'd',
        CdrOrder::OldestFirst => 'a',
    };
    let text = format!("{direction}{}:{}", cursor.start_unix_ms, cursor.id.get());
    URL_SAFE_NO_PAD.encode(text)
}

fn decode_cursor(order: CdrOrder, text: &str) -> Result<CdrCursor, ApiError> {
    let invalid = || ApiError::invalid_field("cursor", "cursor: not a cursor of this listing");
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    let expected = match order {
        CdrOrder::NewestFirst => 'd',
        CdrOrder::OldestFirst => 'a',
    };
    let rest = text.strip_prefix(expected).ok_or_else(invalid)?;
    let (start, id) = rest.split_once(':').ok_or_else(invalid)?;
    Ok(CdrCursor {
        start_unix_ms: start.parse().map_err(|_| invalid())?,
        id: CdrId::new(id.parse().map_err(|_| invalid())?),
    })
}

#[derive(Serialize)]
struct Party<'a> {
    kind: &'a str,
    name: Option<&'a str>,
}

#[derive(Serialize)]
struct CdrView<'a> {
    id: i64,
    call_id: &'a str,
    caller: &'a str,
    caller_domain: &'a str,
    callee: &'a str,
    dialed: &'a str,
    source: Party<'a>,
    destination: Party<'a>,
    #[serde(serialize_with = "ser_time")]
    start_at: i64,
    #[serde(serialize_with = "ser_opt_time")]
    answer_at: Option<i64>,
    #[serde(serialize_with = "ser_time")]
    end_at: i64,
    #[serde(serialize_with = "ser_secs")]
    duration: u64,
    #[serde(serialize_with = "ser_secs")]
    billable: u64,
    disposition: &'static str,
    sip_status: u16,
    hangup_by: &'static str,
    node: Option<&'a str>,
    end_reason: Option<&'a str>,
    media: Option<crate::MediaStats>,
}

impl<'a> From<&'a Cdr> for CdrView<'a> {
    fn from(c: &'a Cdr) -> Self {
        CdrView {
            id: c.id.get(),
            call_id: &c.call_id,
            caller: &c.caller,
            caller_domain: &c.caller_domain,
            callee: &c.callee,
            dialed: &c.dialed,
            source: Party {
                kind: c.source.kind(),
                name: Some(c.source.name()),
            },
            destination: Party {
                kind: c.destination.kind(),
                name: match &c.destination {
                    CdrDestination::None => None,
                    d => d.name(),
                },
            },
            start_at: c.start_unix_ms,
            answer_at: c.answer_unix_ms,
            end_at: c.end_unix_ms,
            duration: u64::try_from(c.duration_ms).unwrap_or(0),
            billable: u64::try_from(c.billable_ms).unwrap_or(0),
            disposition: c.disposition.as_str(),
            sip_status: c.sip_status,
            hangup_by: c.hangup_by.as_str(),
            node: c.node.as_deref(),
            end_reason: c.end_reason.as_deref(),
            // Written by the server as this very shape; a record that does not
            // parse (written by something else) shows no media rather than failing.
            media: c
                .media
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
        }
    }
}

#[derive(Serialize)]
struct Page<'a> {
    items: Vec<CdrView<'a>>,
    next_cursor: Option<String>,
}

fn wants_csv(headers: &HeaderMap, format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(ApiError::invalid_field(
            "format",
            "format: expected csv or json",
        )),
        None => Ok(headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/csv"))
            })),
    }
}

async fn list<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    headers: HeaderMap,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let mut query = filters(&mut params)?;
    query.order = match params.text("sort").as_deref() {
        None | Some("desc") => CdrOrder::NewestFirst,
        Some("asc") => CdrOrder::OldestFirst,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "sort",
                "sort: expected asc or desc",
            ));
        }
    };
    query.limit = params.int("limit", 1..=CdrQuery::MAX_LIMIT)?.unwrap_or(100);
    if let Some(cursor) = params.text("cursor") {
        query.after = Some(decode_cursor(query.order, &cursor)?);
    }
    let csv = wants_csv(&headers, params.text("format").as_deref())?;
    params.finish()?;
    let matchable = restrict(&caller, &mut query);
    if csv {
        return Ok(csv_response(state.store.clone(), query, matchable));
    }
    let records = if matchable {
        state.store.query_cdrs(&query).await?
    } else {
        Vec::new()
    };
    let full = u32::try_from(records.len()).is_ok_and(|n| n == query.limit);
    let next_cursor = records
        .last()
        .filter(|_| full)
        .map(|last| encode_cursor(query.order, last.cursor()));
    Ok(ok(&Page {
        items: records.iter().map(CdrView::from).collect(),
        next_cursor,
    }))
}

/// The bytes the CSV writer produced since the last [`Chunk::take`].
#[derive(Clone, Default)]
struct Chunk(Arc<Mutex<Vec<u8>>>);

impl Chunk {
    fn take(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.0.lock().expect("never poisoned")))
    }
}

impl Write for Chunk {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .expect("never poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where the export stands between two pages.
struct Export {
    store: Store,
    query: CdrQuery,
    writer: CdrCsvWriter<Chunk>,
    chunk: Chunk,
    done: bool,
}

/// Every record of `query`, as CSV, fetched [`CdrQuery::MAX_LIMIT`] at a time while the
/// body is sent (memory stays at one page whatever the range).
fn csv_response(store: Store, mut query: CdrQuery, matchable: bool) -> Response {
    query.limit = CdrQuery::MAX_LIMIT;
    let chunk = Chunk::default();
    let writer = CdrCsvWriter::new(chunk.clone()).expect("writing to memory does not fail");
    let export = Export {
        store,
        query,
        writer,
        chunk,
        done: !matchable,
    };
    let header_row = export.chunk.take();
    let pages = futures_util::stream::try_unfold(export, |mut export| async move {
        if export.done {
            return Ok::<_, io::Error>(None);
        }
        let page = export
            .store
            .query_cdrs(&export.query)
            .await
            .map_err(|error| {
                tracing::error!(%error, "call record export failed");
                io::Error::other(error)
            })?;
        for cdr in &page {
            export.writer.write_cdr(cdr)?;
        }
        export.done = u32::try_from(page.len()).map_or(true, |n| n < export.query.limit);
        export.query.after = page.last().map(Cdr::cursor);
        let bytes = export.chunk.take();
        Ok(Some((bytes, export)))
    });
    let first = futures_util::stream::once(async move { Ok::<_, io::Error>(header_row) });
    let body = Body::from_stream(futures_util::StreamExt::chain(first, pages));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"cdrs.csv\""),
    );
    response
}

#[derive(Serialize)]
struct Day<'a> {
    day: &'a str,
    calls: u64,
    answered: u64,
    asr: f64,
    acd: f64,
}

#[derive(Serialize)]
struct Summary<'a> {
    days: Vec<Day<'a>>,
}

async fn summary<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    mut params: QueryParams,
) -> Result<Response, ApiError> {
    let mut query = filters(&mut params)?;
    let offset = params.int("tz_offset", -1439..=1439i32)?.unwrap_or(0);
    params.finish()?;
    let days = if restrict(&caller, &mut query) {
        state.store.cdr_daily_summary(&query, offset).await?
    } else {
        Vec::new()
    };
    // Counts and milliseconds per day stay far below 2^53, so the divisions are exact
    // enough for ratios and averages.
    #[allow(clippy::cast_precision_loss)]
    let views = days
        .iter()
        .map(|d| Day {
            day: &d.day,
            calls: d.calls,
            answered: d.answered,
            asr: if d.calls == 0 {
                0.0
            } else {
                d.answered as f64 / d.calls as f64
            },
            acd: if d.answered == 0 {
                0.0
            } else {
                d.billable_ms as f64 / d.answered as f64 / 1000.0
            },
        })
        .collect();
    Ok(ok(&Summary { days: views }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = CdrCursor {
            start_unix_ms: 1_700_000_000_000,
            id: CdrId::new(42),
        };
        let text = encode_cursor(CdrOrder::NewestFirst, cursor);
        assert_eq!(decode_cursor(CdrOrder::NewestFirst, &text).unwrap(), cursor);
        let e = decode_cursor(CdrOrder::OldestFirst, &text).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("cursor"));
        for bad in [
            "",
            "!!",
            "ZDE6Mg=",
            &URL_SAFE_NO_PAD.encode("d1"),
            &URL_SAFE_NO_PAD.encode("dx:1"),
        ] {
            assert!(decode_cursor(CdrOrder::NewestFirst, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dispositions_in_any_spelling() {
        assert_eq!(parse_disposition("answered"), Some(Disposition::Answered));
        assert_eq!(parse_disposition("no_answer"), Some(Disposition::NoAnswer));
        assert_eq!(parse_disposition("NO ANSWER"), Some(Disposition::NoAnswer));
        assert_eq!(parse_disposition("maybe"), None);
    }
}
