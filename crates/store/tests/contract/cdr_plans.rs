//! Every call-record filter is served by an index range, in both databases.

use sb_store::testing::{CdrStatement, explain_cdr_query};
use sb_store::{CdrCursor, CdrId, CdrOrder, CdrQuery, Disposition};

use crate::Harness;

/// One query per filter (plus the usual combinations), each with a cursor.
fn filtered_queries() -> Vec<(&'static str, CdrQuery)> {
    let text = |s: &str| Some(s.to_owned());
    let cursor = Some(CdrCursor {
        start_unix_ms: 1_700_000_000_000,
        id: CdrId::new(500),
    });
    let base = CdrQuery {
        after: cursor,
        ..CdrQuery::default()
    };
    vec![
        (
            "cdrs_start",
            CdrQuery {
                from_unix_ms: Some(1),
                to_unix_ms: Some(2),
                ..base.clone()
            },
        ),
        (
            "cdrs_caller",
            CdrQuery {
                caller: text("alice"),
                ..base.clone()
            },
        ),
        (
            "cdrs_callee",
            CdrQuery {
                callee: text("bob"),
                ..base.clone()
            },
        ),
        (
            "cdrs_disposition",
            CdrQuery {
                disposition: Some(Disposition::Answered),
                min_billable_ms: Some(60_000),
                ..base.clone()
            },
        ),
        (
            "cdrs_source_name",
            CdrQuery {
                source_name: text("carrier-a"),
                ..base.clone()
            },
        ),
        (
            "cdrs_destination_name",
            CdrQuery {
                destination_name: text("carrier-a"),
                ..base.clone()
            },
        ),
        (
            "cdrs_caller+cdrs_callee",
            CdrQuery {
                party: text("alice"),
                ..base.clone()
            },
        ),
        (
            "cdrs_source_name+cdrs_destination_name",
            CdrQuery {
                trunk: text("carrier-a"),
                from_unix_ms: Some(1),
                to_unix_ms: Some(2),
                ..base
            },
        ),
    ]
}

pub(crate) async fn cdr_filters_use_index_ranges(h: &Harness) {
    let store = h.open().await;
    let sqlite = h.url.starts_with("sqlite");
    for (indexes, query) in filtered_queries() {
        for order in [CdrOrder::NewestFirst, CdrOrder::OldestFirst] {
            let query = CdrQuery {
                order,
                ..query.clone()
            };
            for statement in [
                CdrStatement::Page,
                CdrStatement::Count,
                CdrStatement::DailySummary,
            ] {
                let plan = explain_cdr_query(&store, &query, statement, true)
                    .await
                    .expect("plan");
                let context = format!("{statement:?} {query:?}:\n{plan}");
                for index in indexes.split('+') {
                    assert!(plan.contains(index), "uses {index}: {context}");
                }
                if sqlite {
                    assert!(
                        plan.lines().all(|l| !l.starts_with("SCAN cdrs")),
                        "no scan of the table or a whole index: {context}"
                    );
                } else {
                    assert!(!plan.contains("Seq Scan"), "no table scan: {context}");
                }
                // A single range in index order needs no sort; branches are sorted only
                // as far as their own pages.
                if statement == CdrStatement::Page && !indexes.contains('+') {
                    let sorted = if sqlite {
                        plan.contains("TEMP B-TREE")
                    } else {
                        plan.contains("Sort")
                    };
                    assert!(!sorted, "no sort step: {context}");
                }
            }
        }
    }
    store.close().await;
}
