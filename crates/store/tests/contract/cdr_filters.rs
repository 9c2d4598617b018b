//! Call-detail record filters added for the HTTP API: party, trunk, minimum billable
//! time, both orders with cursor paging, and the per-day summary.

use std::collections::{BTreeMap, HashSet};

use sb_store::{
    Cdr, CdrDaySummary, CdrDestination, CdrId, CdrOrder, CdrQuery, CdrSource, Disposition,
    HangupBy, NewCdr, Store,
};

use crate::Harness;
use crate::cdrs::{newest_first, stored};

/// 2023-11-14T00:00:00Z.
const DAY0: i64 = 1_699_920_000_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// Records spread over about twelve days, two starting at each instant (ties broken by
/// id), with every disposition, trunk calls in, out and both (hairpin), calls to self,
/// and a user named like a trunk (which the trunk filter must not match).
fn varied(i: usize) -> NewCdr {
    const CALLERS: [&str; 5] = ["alice", "bob", "carol", "+15550001111", "dave"];
    const CALLEES: [&str; 4] = ["bob", "alice", "dave", "+15559990000"];
    let n = i64::try_from(i).expect("small");
    let caller = CALLERS[i % 5];
    let callee = CALLEES[i % 4];
    let start = DAY0 + n / 2 * 17 * MINUTE + n % 3;
    let disposition = Disposition::ALL[i % 5];
    let answer = (disposition == Disposition::Answered).then_some(start + 1_000);
    let talk = (n * 7_919) % 300 * 1_000;
    NewCdr {
        call_id: format!("v{i}@192.0.2.20"),
        caller: caller.to_owned(),
        caller_domain: "example.com".to_owned(),
        callee: callee.to_owned(),
        dialed: callee.to_owned(),
        source: match i % 4 {
            0 => CdrSource::User(caller.to_owned()),
            1 => CdrSource::Trunk("carrier-a".to_owned()),
            2 => CdrSource::Trunk("carrier-b".to_owned()),
            _ => CdrSource::User("carrier-a".to_owned()),
        },
        destination: match i % 3 {
            0 => CdrDestination::User(callee.to_owned()),
            1 => CdrDestination::Trunk("carrier-a".to_owned()),
            _ if i.is_multiple_of(7) => CdrDestination::Trunk("carrier-b".to_owned()),
            _ => CdrDestination::None,
        },
        start_unix_ms: start,
        answer_unix_ms: answer,
        end_unix_ms: start + 1_000 + talk,
        disposition,
        sip_status: [200, 480, 486, 503, 487][i % 5],
        hangup_by: HangupBy::ALL[i % 3],
        node: None,
        end_reason: None,
        media: None,
    }
}

async fn insert_varied(store: &Store, n: usize) -> Vec<Cdr> {
    let new: Vec<NewCdr> = (0..n).map(varied).collect();
    let mut all = Vec::with_capacity(n);
    for chunk in new.chunks(500) {
        let ids = store.insert_cdrs(chunk).await.expect("batch insert");
        all.extend(ids.iter().zip(chunk).map(|(id, c)| stored(*id, c)));
    }
    newest_first(&mut all);
    all
}

/// The reference semantics of a query's filters.
fn matches(q: &CdrQuery, c: &Cdr) -> bool {
    let is_trunk = |t: &str| {
        matches!(&c.source, CdrSource::Trunk(s) if s == t)
            || matches!(&c.destination, CdrDestination::Trunk(d) if d == t)
    };
    q.from_unix_ms.is_none_or(|from| c.start_unix_ms >= from)
        && q.to_unix_ms.is_none_or(|to| c.start_unix_ms < to)
        && q.caller.as_ref().is_none_or(|v| *v == c.caller)
        && q.callee.as_ref().is_none_or(|v| *v == c.callee)
        && q.party
            .as_ref()
            .is_none_or(|v| *v == c.caller || *v == c.callee)
        && q.disposition.is_none_or(|d| d == c.disposition)
        && q.source_name
            .as_deref()
            .is_none_or(|v| v == c.source.name())
        && q.destination_name
            .as_deref()
            .is_none_or(|v| Some(v) == c.destination.name())
        && q.trunk.as_deref().is_none_or(is_trunk)
        && q.min_billable_ms.is_none_or(|m| c.billable_ms >= m)
}

fn expected(all: &[Cdr], q: &CdrQuery) -> Vec<Cdr> {
    let mut out: Vec<Cdr> = all.iter().filter(|c| matches(q, c)).cloned().collect();
    if q.order == CdrOrder::OldestFirst {
        out.reverse();
    }
    out
}

/// Every page of `query` (with `page` records each), checking each page's size.
async fn all_pages(store: &Store, query: &CdrQuery, page: u32) -> Vec<Cdr> {
    let mut out = Vec::new();
    let mut query = CdrQuery {
        limit: page,
        after: None,
        ..query.clone()
    };
    loop {
        let got = store.query_cdrs(&query).await.expect("page");
        assert!(got.len() <= page as usize);
        let full = got.len() == page as usize;
        let Some(last) = got.last() else { break };
        query.after = Some(last.cursor());
        out.extend(got);
        if !full {
            break;
        }
    }
    out
}

fn queries() -> Vec<CdrQuery> {
    let text = |s: &str| Some(s.to_owned());
    let base = CdrQuery::default();
    vec![
        CdrQuery {
            party: text("bob"),
            ..base.clone()
        },
        CdrQuery {
            party: text("+15559990000"),
            ..base.clone()
        },
        CdrQuery {
            trunk: text("carrier-a"),
            ..base.clone()
        },
        CdrQuery {
            trunk: text("carrier-b"),
            from_unix_ms: Some(DAY0 + 2 * DAY),
            to_unix_ms: Some(DAY0 + 9 * DAY),
            ..base.clone()
        },
        CdrQuery {
            min_billable_ms: Some(120_000),
            ..base.clone()
        },
        CdrQuery {
            disposition: Some(Disposition::Answered),
            min_billable_ms: Some(60_000),
            ..base.clone()
        },
        CdrQuery {
            party: text("alice"),
            trunk: text("carrier-a"),
            ..base.clone()
        },
        CdrQuery {
            party: text("dave"),
            callee: text("dave"),
            disposition: Some(Disposition::Answered),
            ..base.clone()
        },
        CdrQuery {
            trunk: text("carrier-a"),
            source_name: text("carrier-a"),
            min_billable_ms: Some(1),
            ..base.clone()
        },
        CdrQuery {
            from_unix_ms: Some(DAY0 + DAY),
            ..base.clone()
        },
        base,
    ]
}

pub(crate) async fn cdr_party_trunk_and_billable_filters(h: &Harness) {
    let store = h.open().await;
    let all = insert_varied(&store, 600).await;
    for query in queries() {
        for order in [CdrOrder::NewestFirst, CdrOrder::OldestFirst] {
            let query = CdrQuery {
                order,
                limit: 1_000,
                ..query.clone()
            };
            let want = expected(&all, &query);
            assert!(!want.is_empty(), "every query selects something: {query:?}");
            let got = store.query_cdrs(&query).await.expect("query");
            assert_eq!(got, want, "{query:?}");
            let count = store.count_cdrs(&query).await.expect("count");
            assert_eq!(count, want.len() as u64, "{query:?}");
        }
    }
    // The edge cases the generator covers are really there.
    let hairpin = all.iter().any(|c| {
        matches!(&c.source, CdrSource::Trunk(t) if t == "carrier-a")
            && matches!(&c.destination, CdrDestination::Trunk(t) if t == "carrier-a")
    });
    let to_self = all.iter().any(|c| c.caller == "bob" && c.callee == "bob");
    let user_named_like_trunk = all
        .iter()
        .any(|c| matches!(&c.source, CdrSource::User(u) if u == "carrier-a"));
    assert!(hairpin && to_self && user_named_like_trunk);
    // Names are exact: no pattern matching, no case folding.
    for party in ["Bob", "b%", "' OR 1=1 --"] {
        let query = CdrQuery {
            party: Some(party.to_owned()),
            trunk: Some(party.to_owned()),
            ..CdrQuery::default()
        };
        assert_eq!(store.query_cdrs(&query).await.expect("query"), []);
        assert_eq!(store.count_cdrs(&query).await.expect("count"), 0);
    }
    store.close().await;
}

pub(crate) async fn cdr_pages_in_both_orders_without_duplicates_or_gaps(h: &Harness) {
    let store = h.open().await;
    let all = insert_varied(&store, 700).await;
    for query in queries() {
        for order in [CdrOrder::NewestFirst, CdrOrder::OldestFirst] {
            let query = CdrQuery {
                order,
                ..query.clone()
            };
            let want = expected(&all, &query);
            for page in [1, 7, 100] {
                if page == 1 && want.len() > 150 {
                    continue;
                }
                let got = all_pages(&store, &query, page).await;
                let unique: HashSet<CdrId> = got.iter().map(|c| c.id).collect();
                assert_eq!(unique.len(), got.len(), "no duplicates: {query:?} / {page}");
                assert_eq!(got, want, "every record once, in order: {query:?} / {page}");
            }
        }
    }
    // A cursor taken in one order continues in the other from the same position.
    let newest = CdrQuery {
        party: Some("alice".to_owned()),
        limit: 1_000,
        ..CdrQuery::default()
    };
    let list = store.query_cdrs(&newest).await.expect("page");
    let middle = &list[list.len() / 2];
    let older = store
        .query_cdrs(&CdrQuery {
            after: Some(middle.cursor()),
            ..newest.clone()
        })
        .await
        .expect("page");
    assert_eq!(older, list[list.len() / 2 + 1..]);
    let mut newer = store
        .query_cdrs(&CdrQuery {
            after: Some(middle.cursor()),
            order: CdrOrder::OldestFirst,
            ..newest.clone()
        })
        .await
        .expect("page");
    newer.reverse();
    assert_eq!(newer, list[..list.len() / 2]);
    store.close().await;
}

/// `YYYY-MM-DD` of a day number, by walking the calendar (independent of the store's
/// arithmetic).
fn date_of(mut days: i64) -> String {
    let mut year = 1970;
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    loop {
        let len = if leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let mut month = 1;
    for len in [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!("{year:04}-{month:02}-{:02}", days + 1)
}

fn reference_summary(all: &[Cdr], q: &CdrQuery, offset_minutes: i32) -> Vec<CdrDaySummary> {
    let mut days: BTreeMap<i64, CdrDaySummary> = BTreeMap::new();
    for c in all.iter().filter(|c| matches(q, c)) {
        let day = (c.start_unix_ms + i64::from(offset_minutes) * MINUTE).div_euclid(DAY);
        let entry = days.entry(day).or_insert_with(|| CdrDaySummary {
            day: date_of(day),
            calls: 0,
            answered: 0,
            billable_ms: 0,
        });
        entry.calls += 1;
        entry.answered += u64::from(c.disposition == Disposition::Answered);
        entry.billable_ms += u64::try_from(c.billable_ms).expect("not negative");
    }
    days.into_values().collect()
}

pub(crate) async fn cdr_daily_summary_in_an_offset(h: &Harness) {
    let store = h.open().await;
    // Around midnight UTC between 2023-11-14 and 2023-11-15.
    let midnight = DAY0 + DAY;
    let at = |start: i64, answered: bool| {
        let mut cdr = varied(0);
        cdr.start_unix_ms = start;
        cdr.end_unix_ms = start + 90_000;
        cdr.answer_unix_ms = answered.then_some(start + 30_000);
        cdr.disposition = if answered {
            Disposition::Answered
        } else {
            Disposition::NoAnswer
        };
        cdr.sip_status = if answered { 200 } else { 480 };
        cdr
    };
    let around_midnight = [
        at(midnight - 30 * MINUTE, true),
        at(midnight + 30 * MINUTE, true),
        at(midnight + 90 * MINUTE, false),
    ];
    let ids = store.insert_cdrs(&around_midnight).await.expect("insert");
    let around_midnight: Vec<Cdr> = ids
        .iter()
        .zip(&around_midnight)
        .map(|(id, c)| stored(*id, c))
        .collect();
    let summary = |offset| {
        let store = &store;
        async move {
            store
                .cdr_daily_summary(&CdrQuery::default(), offset)
                .await
                .expect("summary")
        }
    };
    let day = |day: &str, calls, answered, billable_ms| CdrDaySummary {
        day: day.to_owned(),
        calls,
        answered,
        billable_ms,
    };
    assert_eq!(
        summary(0).await,
        [
            day("2023-11-14", 1, 1, 60_000),
            day("2023-11-15", 2, 1, 60_000)
        ]
    );
    // UTC+01:00: 23:30Z is already 00:30 of the next day.
    assert_eq!(summary(60).await, [day("2023-11-15", 3, 2, 120_000)]);
    // UTC-01:00: 00:30Z is still 23:30 of the day before; 01:30Z is 00:30.
    assert_eq!(
        summary(-60).await,
        [day("2023-11-14", 2, 2, 120_000), day("2023-11-15", 1, 0, 0)]
    );
    // UTC-05:30, and far east.
    assert_eq!(summary(-330).await, [day("2023-11-14", 3, 2, 120_000)]);
    assert_eq!(summary(14 * 60).await, [day("2023-11-15", 3, 2, 120_000)]);
    store.close().await;

    // Against the reference over many records, filtered; order, cursor and limit ignored.
    let store = h.open().await;
    let mut all = insert_varied(&store, 800).await;
    all.extend(around_midnight);
    let mut some_days = 0;
    for query in queries() {
        let paged = CdrQuery {
            order: CdrOrder::OldestFirst,
            after: all.get(10).map(Cdr::cursor),
            limit: 1,
            ..query.clone()
        };
        for offset in [-330, 0, 60, 14 * 60] {
            let want = reference_summary(&all, &query, offset);
            let got = store
                .cdr_daily_summary(&paged, offset)
                .await
                .expect("summary");
            assert_eq!(got, want, "{query:?} at {offset}");
            some_days += want.len();
        }
    }
    assert!(some_days > 100);
    let nothing = CdrQuery {
        party: Some("nobody".to_owned()),
        ..CdrQuery::default()
    };
    assert_eq!(
        store.cdr_daily_summary(&nothing, 0).await.expect("summary"),
        []
    );
    store.close().await;
}
