//! Call-detail record queries: every filter alone and combined, keyset pages.

use std::collections::HashSet;

use sb_store::{Cdr, CdrId, CdrQuery, Disposition, Store};

use crate::cdrs::{insert_samples, sample, starting_at};
use crate::{Harness, NOW};

/// The reference semantics of a query's filters.
fn matches(q: &CdrQuery, c: &Cdr) -> bool {
    q.from_unix_ms.is_none_or(|from| c.start_unix_ms >= from)
        && q.to_unix_ms.is_none_or(|to| c.start_unix_ms < to)
        && q.caller.as_ref().is_none_or(|v| *v == c.caller)
        && q.callee.as_ref().is_none_or(|v| *v == c.callee)
        && q.disposition.is_none_or(|d| d == c.disposition)
        && q.source_name
            .as_deref()
            .is_none_or(|v| v == c.source.name())
        && q.destination_name
            .as_deref()
            .is_none_or(|v| Some(v) == c.destination.name())
}

/// Every page of `query` from its cursor on (with `page` records each).
async fn all_pages(store: &Store, query: &CdrQuery, page: u32) -> Vec<Vec<Cdr>> {
    let mut pages = Vec::new();
    let mut query = CdrQuery {
        limit: page,
        ..query.clone()
    };
    loop {
        let got = store.query_cdrs(&query).await.expect("page");
        assert!(got.len() <= page as usize);
        let Some(last) = got.last() else { break };
        query.after = Some(last.cursor());
        let full = got.len() == page as usize;
        pages.push(got);
        if !full {
            break;
        }
    }
    pages
}

pub(crate) async fn cdr_filters_each_and_combined(h: &Harness) {
    let store = h.open().await;
    let all = insert_samples(&store, 60).await;
    let text = |s: &str| Some(s.to_owned());
    let queries = [
        CdrQuery::default(),
        CdrQuery {
            from_unix_ms: Some(NOW + 5_000),
            ..CdrQuery::default()
        },
        CdrQuery {
            to_unix_ms: Some(NOW + 5_000),
            ..CdrQuery::default()
        },
        CdrQuery {
            from_unix_ms: Some(NOW + 3_000),
            to_unix_ms: Some(NOW + 9_000),
            ..CdrQuery::default()
        },
        CdrQuery {
            caller: text("carol"),
            ..CdrQuery::default()
        },
        CdrQuery {
            caller: text("+15550001111"),
            ..CdrQuery::default()
        },
        CdrQuery {
            callee: text("dave"),
            ..CdrQuery::default()
        },
        CdrQuery {
            disposition: Some(Disposition::NoAnswer),
            ..CdrQuery::default()
        },
        CdrQuery {
            source_name: text("carrier-a"),
            ..CdrQuery::default()
        },
        CdrQuery {
            source_name: text("alice"),
            ..CdrQuery::default()
        },
        CdrQuery {
            destination_name: text("carrier-b"),
            ..CdrQuery::default()
        },
        CdrQuery {
            destination_name: text("bob"),
            ..CdrQuery::default()
        },
        CdrQuery {
            caller: text("alice"),
            disposition: Some(Disposition::Answered),
            ..CdrQuery::default()
        },
        CdrQuery {
            from_unix_ms: Some(NOW + 2_000),
            to_unix_ms: Some(NOW + 15_000),
            callee: text("bob"),
            source_name: text("carrier-a"),
            ..CdrQuery::default()
        },
        CdrQuery {
            from_unix_ms: Some(NOW),
            to_unix_ms: Some(NOW + 20_000),
            caller: text("bob"),
            callee: text("alice"),
            disposition: Some(Disposition::Busy),
            source_name: text("carrier-a"),
            destination_name: text("carrier-b"),
            ..CdrQuery::default()
        },
        // Matches nothing: names are exact and case-sensitive, ranges can be empty.
        CdrQuery {
            caller: text("Alice"),
            ..CdrQuery::default()
        },
        CdrQuery {
            caller: text("ali%"),
            ..CdrQuery::default()
        },
        CdrQuery {
            caller: text("' OR 1=1 --"),
            ..CdrQuery::default()
        },
        CdrQuery {
            from_unix_ms: Some(NOW + 5_000),
            to_unix_ms: Some(NOW + 5_000),
            ..CdrQuery::default()
        },
    ];
    let mut nonempty = 0;
    for query in &queries {
        let expected: Vec<Cdr> = all.iter().filter(|c| matches(query, c)).cloned().collect();
        let got = store.query_cdrs(query).await.expect("query");
        assert_eq!(got, expected, "{query:?}");
        let count = store.count_cdrs(query).await.expect("count");
        assert_eq!(count, expected.len() as u64, "{query:?}");
        // The count ignores the page.
        let paged = CdrQuery {
            limit: 1,
            after: all.get(3).map(Cdr::cursor),
            ..query.clone()
        };
        assert_eq!(store.count_cdrs(&paged).await.expect("count"), count);
        nonempty += usize::from(!expected.is_empty());
    }
    assert_eq!(
        nonempty,
        queries.len() - 4,
        "every positive filter selects something"
    );
    store.close().await;
}

pub(crate) async fn cdr_pages_without_duplicates_or_gaps(h: &Harness) {
    let store = h.open().await;
    let all = insert_samples(&store, 1_005).await;
    // Newest first: by start time, then id (three records share each start).
    assert!(
        all.windows(2)
            .all(|w| (w[0].start_unix_ms, w[0].id) > (w[1].start_unix_ms, w[1].id))
    );
    let unpaged = store
        .query_cdrs(&CdrQuery {
            limit: 5_000,
            ..CdrQuery::default()
        })
        .await
        .expect("query");
    assert_eq!(
        unpaged.len(),
        CdrQuery::MAX_LIMIT as usize,
        "limit is capped"
    );
    assert_eq!(unpaged[..], all[..1_000]);
    assert_eq!(
        store
            .query_cdrs(&CdrQuery {
                limit: 0,
                ..CdrQuery::default()
            })
            .await
            .expect("query"),
        []
    );

    for (query, page) in [
        (CdrQuery::default(), 7),
        (CdrQuery::default(), 1_000),
        (
            CdrQuery {
                caller: Some("bob".to_owned()),
                ..CdrQuery::default()
            },
            10,
        ),
        (
            CdrQuery {
                disposition: Some(Disposition::Busy),
                ..CdrQuery::default()
            },
            3,
        ),
        (
            CdrQuery {
                from_unix_ms: Some(NOW + 100_000),
                to_unix_ms: Some(NOW + 200_000),
                source_name: Some("carrier-a".to_owned()),
                ..CdrQuery::default()
            },
            4,
        ),
    ] {
        let expected: Vec<Cdr> = all.iter().filter(|c| matches(&query, c)).cloned().collect();
        let pages = all_pages(&store, &query, page).await;
        assert!(pages.iter().all(|p| !p.is_empty()));
        let flat: Vec<Cdr> = pages.concat();
        let unique: HashSet<CdrId> = flat.iter().map(|c| c.id).collect();
        assert_eq!(unique.len(), flat.len(), "no duplicates: {query:?}");
        assert_eq!(
            flat, expected,
            "every record once, in order: {query:?} / {page}"
        );
    }

    // A cursor in the middle of a group of equal start times continues with the rest of
    // that group (smaller ids), then older starts.
    let middle = &all[1];
    assert_eq!(middle.start_unix_ms, all[0].start_unix_ms);
    let after_middle = CdrQuery {
        after: Some(middle.cursor()),
        limit: 3,
        ..CdrQuery::default()
    };
    assert_eq!(
        store.query_cdrs(&after_middle).await.expect("page"),
        all[2..5]
    );

    // A record inserted during the walk whose position is after the cursor shows up in a
    // later page; one before the cursor does not (and nothing repeats).
    let mut query = CdrQuery {
        limit: 100,
        ..CdrQuery::default()
    };
    let first = store.query_cdrs(&query).await.expect("page");
    query.after = Some(first.last().expect("full page").cursor());
    let late_old = starting_at(sample(5), NOW - 1);
    let late_new = starting_at(sample(10), NOW + 10_000_000);
    let late_old_id = store.insert_cdr(&late_old).await.expect("insert");
    store.insert_cdr(&late_new).await.expect("insert");
    let rest = all_pages(&store, &query, 100).await.concat();
    assert_eq!(rest.len(), all.len() - 100 + 1);
    assert_eq!(rest.last().map(|c| c.id), Some(late_old_id));
    store.close().await;
}
