//! Call records: filters, cursor paging both ways, CSV export across store pages, the
//! daily summary, and a SIP user's view.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, header};
use sb_store::{CdrDestination, CdrSource, Disposition, HangupBy, NewCdr};
use serde_json::Value;

use super::Harness;
use super::schema::assert_documented;

/// 2023-11-14T00:00:00Z.
const DAY0: i64 = 1_699_920_000_000;
const HOUR: i64 = 3_600_000;

fn cdr(
    i: i64,
    caller: &str,
    callee: &str,
    answered: bool,
    trunk: Option<&str>,
    start: i64,
) -> NewCdr {
    NewCdr {
        call_id: format!("call-{i}@192.0.2.4"),
        caller: caller.to_owned(),
        caller_domain: "example.com".to_owned(),
        callee: callee.to_owned(),
        dialed: callee.to_owned(),
        source: CdrSource::User(caller.to_owned()),
        destination: match trunk {
            Some(t) => CdrDestination::Trunk(t.to_owned()),
            None => CdrDestination::User(callee.to_owned()),
        },
        start_unix_ms: start,
        answer_unix_ms: answered.then_some(start + 2_000),
        end_unix_ms: start + 62_000,
        disposition: if answered {
            Disposition::Answered
        } else {
            Disposition::NoAnswer
        },
        sip_status: if answered { 200 } else { 480 },
        hangup_by: HangupBy::Caller,
        node: None,
        end_reason: None,
        // Answered calls carry media figures in the shape the server writes.
        media: answered.then(|| {
            r#"{"path":"relay","legs":[{"leg":"caller","codec":"PCMU","packets_received":3000,"packets_sent":2999,"bytes_received":516000,"bytes_sent":515828,"packets_lost":1,"jitter_ms":0.75,"frames_decoded":0},{"leg":"callee","codec":"PCMU","packets_received":2999,"packets_sent":3000,"bytes_received":515828,"bytes_sent":516000,"packets_lost":0,"jitter_ms":0.5,"frames_decoded":0}]}"#.to_owned()
        }),
    }
}

/// Ten records over two days plus one with a formula-like caller.
async fn seed(h: &Harness) {
    let mut records = Vec::new();
    for i in 0..10 {
        let (caller, callee) = if i % 2 == 0 {
            ("alice", "bob")
        } else {
            ("bob", "carol")
        };
        let trunk = (i % 3 == 0).then_some("carrier");
        records.push(cdr(
            i,
            caller,
            callee,
            i % 4 != 3,
            trunk,
            DAY0 + i * 5 * HOUR,
        ));
    }
    records.push(cdr(
        10,
        "+15551230000",
        "alice",
        false,
        None,
        DAY0 + 60 * HOUR,
    ));
    h.store.insert_cdrs(&records).await.unwrap();
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn filters_select_records() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    seed(&h).await;
    let count = async |query: &str| {
        let reply = h.get(&format!("/api/cdrs?{query}"), &admin).await;
        assert_eq!(reply.status, 200, "{query}: {}", reply.text());
        assert_documented(&Method::GET, "/api/cdrs", &reply);
        reply.json()["items"].as_array().unwrap().len()
    };
    assert_eq!(count("").await, 11);
    assert_eq!(count("caller=alice").await, 5);
    assert_eq!(count("callee=alice").await, 1);
    assert_eq!(count("party=alice").await, 6);
    assert_eq!(count("trunk=carrier").await, 4);
    assert_eq!(count("disposition=no_answer").await, 3);
    assert_eq!(count("disposition=ANSWERED&min_duration=60").await, 8);
    assert_eq!(count("min_duration=61").await, 0);
    assert_eq!(count("from=2023-11-15T00:00:00Z").await, 6);
    assert_eq!(
        count(&format!(
            "from={}&to=2023-11-15T00:00:00%2B01:00",
            DAY0 / 1000
        ))
        .await,
        5
    );

    for (query, field) in [
        ("from=yesterday", "from"),
        ("disposition=LOST", "disposition"),
        ("sort=up", "sort"),
        ("limit=1001", "limit"),
        ("min_duration=-1", "min_duration"),
        ("format=xml", "format"),
    ] {
        let reply = h.get(&format!("/api/cdrs?{query}"), &admin).await;
        reply.assert_error(400, "invalid_field", Some(field));
        assert_documented(&Method::GET, "/api/cdrs", &reply);
    }
    h.get("/api/cdrs?calller=alice", &admin).await.assert_error(
        400,
        "unknown_field",
        Some("calller"),
    );
}

#[tokio::test]
async fn the_cursor_pages_through_everything_in_both_orders() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    seed(&h).await;
    for sort in ["desc", "asc"] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/cdrs?sort={sort}&limit=3");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = h.get(&path, &admin).await.json();
            seen.extend(ids(&page));
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 11, "{sort}: {seen:?}");
        assert_eq!(
            seen.iter().collect::<BTreeSet<_>>().len(),
            11,
            "{sort}: repeats"
        );
        let mut sorted = seen.clone();
        sorted.sort_unstable();
        if sort == "desc" {
            sorted.reverse();
        }
        assert_eq!(
            seen, sorted,
            "{sort}: records start an hour apart in id order"
        );
    }
    let first = h.get("/api/cdrs?limit=2", &admin).await.json();
    let cursor = first["next_cursor"].as_str().unwrap();
    h.get(&format!("/api/cdrs?sort=asc&cursor={cursor}"), &admin)
        .await
        .assert_error(400, "invalid_field", Some("cursor"));
    h.get("/api/cdrs?cursor=not-a-cursor", &admin)
        .await
        .assert_error(400, "invalid_field", Some("cursor"));
}

#[tokio::test]
async fn csv_export_streams_every_match_across_store_pages() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    let records: Vec<NewCdr> = (0..2_345)
        .map(|i| {
            cdr(
                i,
                if i % 5 == 0 { "alice" } else { "bob" },
                "carol",
                true,
                None,
                DAY0 + i * 1_000,
            )
        })
        .collect();
    h.store.insert_cdrs(&records).await.unwrap();
    h.store
        .insert_cdrs(&[cdr(9_999, "=HYPERLINK(1)", "carol", false, None, DAY0)])
        .await
        .unwrap();

    let reply = h.get("/api/cdrs?format=csv&caller=bob", &admin).await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.headers[header::CONTENT_TYPE],
        "text/csv; charset=utf-8"
    );
    assert!(
        reply.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(reply.headers[header::CACHE_CONTROL], "no-store");
    let text = reply.text();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("id,call_id,caller,"));
    assert_eq!(lines.len(), 1 + 2_345 - 469, "header and every bob record");
    let unique: BTreeSet<&str> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        unique.len(),
        lines.len() - 1,
        "no record twice across pages"
    );

    // Accept: text/csv works too, and the formula guard of the store's writer applies.
    let request = Request::get("/api/cdrs?caller=%3DHYPERLINK(1)&sort=asc")
        .header(header::AUTHORIZATION, format!("Bearer {admin}"))
        .header(header::ACCEPT, "text/html, text/csv;q=0.9")
        .body(Body::empty())
        .unwrap();
    let text = h.send(request).await.text();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains(",'=HYPERLINK(1),"), "{text}");
    // Nothing matches: the header alone.
    let empty = h
        .get("/api/cdrs?format=csv&caller=nobody", &admin)
        .await
        .text();
    assert_eq!(empty.lines().count(), 1);
}

#[tokio::test]
async fn the_daily_summary_computes_ratios_and_averages() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    seed(&h).await;
    let reply = h.get("/api/cdrs/summary?caller=alice", &admin).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_documented(&Method::GET, "/api/cdrs/summary", &reply);
    let days = reply.json()["days"].clone();
    // alice calls at hours 0, 10, 20 (day 1) and 30, 40 (day 2); i = 0,2,4,6,8, unanswered
    // when i % 4 == 3: never for even i.
    assert_eq!(days[0]["day"], "2023-11-14");
    assert_eq!(days[0]["calls"], 3);
    assert_eq!(days[0]["asr"], 1.0);
    assert_eq!(days[0]["acd"], 60.0);
    assert_eq!(days[1]["calls"], 2);
    // At UTC-12, hours 0 and 10 fall on the 13th.
    let shifted = h
        .get("/api/cdrs/summary?caller=alice&tz_offset=-720", &admin)
        .await
        .json();
    assert_eq!(shifted["days"][0]["day"], "2023-11-13");
    assert_eq!(shifted["days"][0]["calls"], 2);
    let mixed = h.get("/api/cdrs/summary?caller=bob", &admin).await.json();
    let day = &mixed["days"][0];
    assert_eq!(
        (day["calls"].as_u64(), day["answered"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(day["asr"], 0.5);
    h.get("/api/cdrs/summary?tz_offset=2000", &admin)
        .await
        .assert_error(400, "invalid_field", Some("tz_offset"));
    h.get("/api/cdrs/summary?limit=5", &admin)
        .await
        .assert_error(400, "unknown_field", Some("limit"));
}

#[tokio::test]
async fn a_sip_user_sees_only_its_own_calls() {
    let h = Harness::new().await;
    let admin = h.admin_token().await;
    seed(&h).await;
    let carol = h.user_session(&admin, "carol").await;
    let page = h.get("/api/cdrs", &carol).await;
    assert_documented(&Method::GET, "/api/cdrs", &page);
    let page = page.json();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(
        items
            .iter()
            .all(|c| c["caller"] == "carol" || c["callee"] == "carol")
    );
    assert_eq!(
        h.get("/api/cdrs?party=bob", &carol).await.json()["items"],
        Value::Array(vec![])
    );
    assert_eq!(
        h.get("/api/cdrs?caller=bob", &carol).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let csv = h.get("/api/cdrs?format=csv", &carol).await.text();
    assert_eq!(csv.lines().count(), 6);
    let summary = h.get("/api/cdrs/summary", &carol).await.json();
    let calls: u64 = summary["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["calls"].as_u64().unwrap())
        .sum();
    assert_eq!(calls, 5);
    assert_eq!(
        h.get("/api/cdrs/summary?party=alice", &carol).await.json()["days"],
        Value::Array(vec![])
    );
}
