//! Call records and media (schema 0004): calls the switch answered itself (destination
//! kind `media`), the end reason and the media gateway's summary, and the upgrade of a
//! database that already holds records.

use std::borrow::Cow;
use std::str::FromStr as _;

use sb_store::{CdrDestination, CdrQuery, Disposition, HangupBy, NewCdr};
use sqlx::SqlStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::Harness;
use crate::cdrs::{MEDIA_JSON, answered, newest_first, sample, stored};

/// An echo test call: answered by the switch itself, media summary with unicode and
/// quotes kept byte for byte.
fn echo_call() -> NewCdr {
    NewCdr {
        call_id: "echo-1@192.0.2.4".to_owned(),
        callee: "*43".to_owned(),
        dialed: "*43".to_owned(),
        destination: CdrDestination::Media("echo".to_owned()),
        hangup_by: HangupBy::Caller,
        end_reason: None,
        media: Some(
            "{\"path\":\"echo\",\"legs\":[{\"leg\":\"caller\",\"codec\":\"G722 \\\"☎\\\"\"}]}"
                .to_owned(),
        ),
        ..answered()
    }
}

pub(crate) async fn cdr_media_fields_round_trip(h: &Harness) {
    let store = h.open().await;
    let tone = NewCdr {
        call_id: "tone-1@192.0.2.4".to_owned(),
        destination: CdrDestination::Media("tone".to_owned()),
        hangup_by: HangupBy::System,
        end_reason: None,
        media: None,
        ..answered()
    };
    let timed_out = NewCdr {
        call_id: "quiet-1@192.0.2.4".to_owned(),
        end_reason: Some("media_timeout".to_owned()),
        hangup_by: HangupBy::System,
        media: Some(MEDIA_JSON.to_owned()),
        ..answered()
    };
    let ids = store
        .insert_cdrs(&[echo_call(), tone.clone(), timed_out.clone()])
        .await
        .expect("batch");
    let mut expected = vec![
        stored(ids[0], &echo_call()),
        stored(ids[1], &tone),
        stored(ids[2], &timed_out),
    ];
    newest_first(&mut expected);
    let got = store.query_cdrs(&CdrQuery::default()).await.expect("query");
    assert_eq!(got, expected);
    assert_eq!(
        got.iter()
            .find(|c| c.id == ids[2])
            .unwrap()
            .media
            .as_deref(),
        Some(MEDIA_JSON)
    );
    // Media destinations are found by name like users and trunks, never as a trunk.
    let echo = CdrQuery {
        destination_name: Some("echo".to_owned()),
        ..CdrQuery::default()
    };
    assert_eq!(
        store.query_cdrs(&echo).await.expect("query"),
        [stored(ids[0], &echo_call())]
    );
    let trunk = CdrQuery {
        trunk: Some("tone".to_owned()),
        ..CdrQuery::default()
    };
    assert_eq!(store.count_cdrs(&trunk).await.expect("count"), 0);
    store.close().await;
}

/// Applies migrations 0001–0003 only, as a database written before 0004 has them.
async fn migrate_to_0003(h: &Harness) {
    macro_rules! old {
        ($version:literal, $description:literal, $file:literal) => {
            Migration::new(
                $version,
                Cow::Borrowed($description),
                MigrationType::Simple,
                SqlStr::from_static(if h.url.starts_with("sqlite") {
                    include_str!(concat!("../../../../migrations/sqlite/", $file))
                } else {
                    include_str!(concat!("../../../../migrations/postgres/", $file))
                }),
                false,
            )
        };
    }
    let migrator = Migrator::with_migrations(vec![
        old!(1, "initial", "0001_initial.sql"),
        old!(2, "cdrs and dialplans", "0002_cdrs_and_dialplans.sql"),
        old!(3, "app", "0003_app.sql"),
    ]);
    if h.url.starts_with("sqlite") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&h.url)
            .expect("SQLite URL")
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options)
            .await
            .expect("raw sqlite");
        migrator.run(&pool).await.expect("migrations 0001-0003");
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&h.url).await.expect("raw postgres");
        migrator.run(&pool).await.expect("migrations 0001-0003");
        pool.close().await;
    }
}

pub(crate) async fn cdr_upgrade_to_0004_keeps_records_and_ids(h: &Harness) {
    migrate_to_0003(h).await;
    let columns = "call_id, caller, caller_domain, callee, dialed, source_kind, source_name, \
                   destination_kind, destination_name, start_at, answer_at, end_at, \
                   disposition, sip_status, hangup_by";
    for (i, values) in [
        "'old-1', 'alice', 'example.com', 'bob', '201', 'user', 'alice', 'user', 'bob', \
         1000, 1500, 9000, 'ANSWERED', 200, 'caller'",
        "'old-2', 'bob', 'example.com', 'x', '9', 'user', 'bob', 'none', NULL, \
         2000, NULL, 2100, 'FAILED', 404, 'system'",
        "'old-3', 'carol', 'example.com', 'dave', '203', 'trunk', 'carrier-a', 'trunk', \
         'carrier-b', 3000, NULL, 3500, 'CANCELLED', 487, 'caller'",
    ]
    .iter()
    .enumerate()
    {
        h.execute(&format!("INSERT INTO cdrs ({columns}) VALUES ({values})"))
            .await
            .unwrap_or_else(|e| panic!("old row {i}: {e}"));
    }
    // The newest record is deleted by hand: its id must never come back.
    h.execute("DELETE FROM cdrs WHERE call_id = 'old-3'")
        .await
        .expect("delete");

    let store = h.open().await;
    let got = store.query_cdrs(&CdrQuery::default()).await.expect("query");
    assert_eq!(got.len(), 2);
    assert_eq!(
        got.iter()
            .map(|c| (c.id.get(), c.call_id.as_str()))
            .collect::<Vec<_>>(),
        [(2, "old-2"), (1, "old-1")]
    );
    assert!(
        got.iter()
            .all(|c| c.end_reason.is_none() && c.media.is_none())
    );
    assert_eq!(got[1].disposition, Disposition::Answered);
    assert_eq!(got[1].duration_ms, 8_000);
    assert_eq!(got[1].billable_ms, 7_500);
    assert_eq!(got[0].destination, CdrDestination::None);

    let id = store.insert_cdr(&echo_call()).await.expect("a media call");
    assert!(
        id.get() > 3,
        "the deleted record's id is not reused: {id:?}"
    );
    let next = store.insert_cdr(&sample(1)).await.expect("insert");
    assert!(next > id);
    let echo = store
        .query_cdrs(&CdrQuery {
            caller: Some("alice".to_owned()),
            from_unix_ms: Some(crate::NOW),
            ..CdrQuery::default()
        })
        .await
        .expect("query");
    assert_eq!(echo, [stored(id, &echo_call())]);
    // Every index is there again.
    let indexes = if h.url.starts_with("sqlite") {
        h.scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cdrs' \
             AND name IN ('cdrs_start', 'cdrs_caller', 'cdrs_callee', 'cdrs_disposition', \
             'cdrs_source_name', 'cdrs_destination_name')",
        )
        .await
    } else {
        h.scalar(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'cdrs' \
             AND indexname IN ('cdrs_start', 'cdrs_caller', 'cdrs_callee', 'cdrs_disposition', \
             'cdrs_source_name', 'cdrs_destination_name')",
        )
        .await
    };
    assert_eq!(indexes, 6);
    store.close().await;
}
