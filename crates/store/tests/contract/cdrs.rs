//! Call-detail records: round trip, validation, filters, paging, CSV, durability.

use std::os::unix::process::ExitStatusExt as _;

use sb_store::{
    Cdr, CdrDestination, CdrId, CdrQuery, CdrSource, Disposition, HangupBy, NewCdr, Store,
    StoreError, StoreOptions, Synchronous, write_cdrs_csv,
};

use crate::{Harness, NOW};

/// A record with every optional field set: an answered call between two users (ended by
/// a media timeout, with the gateway's summary).
pub(crate) fn answered() -> NewCdr {
    NewCdr {
        call_id: "a84b4c76e66710@192.0.2.4".to_owned(),
        caller: "alice".to_owned(),
        caller_domain: "example.com".to_owned(),
        callee: "bob".to_owned(),
        dialed: "201".to_owned(),
        source: CdrSource::User("alice".to_owned()),
        destination: CdrDestination::User("bob".to_owned()),
        start_unix_ms: NOW,
        answer_unix_ms: Some(NOW + 4_250),
        end_unix_ms: NOW + 65_999,
        disposition: Disposition::Answered,
        sip_status: 200,
        hangup_by: HangupBy::Callee,
        node: Some("node-b.example.com".to_owned()),
        end_reason: Some("media_timeout".to_owned()),
        media: Some(MEDIA_JSON.to_owned()),
    }
}

/// A media summary as the server writes it (the store keeps it as given).
pub(crate) const MEDIA_JSON: &str = "{\"path\":\"relay\",\"legs\":[{\"leg\":\"caller\",\
    \"codec\":\"PCMU\",\"packets_received\":3300,\"packets_sent\":3298,\
    \"bytes_received\":528000,\"bytes_sent\":527680,\"packets_lost\":2,\
    \"jitter_ms\":1.25,\"frames_decoded\":0},{\"leg\":\"callee\",\"codec\":\"opus\",\
    \"packets_received\":3299,\"packets_sent\":3300,\"bytes_received\":230930,\
    \"bytes_sent\":231000,\"packets_lost\":0,\"jitter_ms\":0.5,\"frames_decoded\":3299}]}";

/// Varied records for filters and paging: three calls start in each second (ties broken
/// by id), every disposition, kind and party appears.
pub(crate) fn sample(i: usize) -> NewCdr {
    const CALLERS: [&str; 4] = ["alice", "bob", "carol", "+15550001111"];
    const CALLEES: [&str; 3] = ["bob", "alice", "dave"];
    let n = i64::try_from(i).expect("small");
    let disposition = Disposition::ALL[i % 5];
    let start = NOW + n / 3 * 1_000;
    let answer = (disposition == Disposition::Answered).then_some(start + 1_500);
    let caller = CALLERS[i % 4];
    NewCdr {
        call_id: format!("call-{i}@192.0.2.10"),
        caller: caller.to_owned(),
        caller_domain: "example.com".to_owned(),
        callee: CALLEES[i % 3].to_owned(),
        dialed: format!("20{}", i % 3),
        source: if i.is_multiple_of(2) {
            CdrSource::User(caller.to_owned())
        } else {
            CdrSource::Trunk("carrier-a".to_owned())
        },
        destination: match i % 3 {
            0 => CdrDestination::User(CALLEES[0].to_owned()),
            1 => CdrDestination::Trunk("carrier-b".to_owned()),
            _ => CdrDestination::None,
        },
        start_unix_ms: start,
        answer_unix_ms: answer,
        end_unix_ms: start + 1_500 + (n % 7) * 1_000,
        disposition,
        sip_status: [200, 480, 486, 503, 487][i % 5],
        hangup_by: HangupBy::ALL[i % 3],
        node: i.is_multiple_of(2).then(|| "node-a".to_owned()),
        end_reason: None,
        media: None,
    }
}

/// `cdr` moved in time so that it starts at `start` (answer and end move along).
pub(crate) fn starting_at(cdr: NewCdr, start: i64) -> NewCdr {
    let shift = start - cdr.start_unix_ms;
    NewCdr {
        start_unix_ms: start,
        answer_unix_ms: cdr.answer_unix_ms.map(|a| a + shift),
        end_unix_ms: cdr.end_unix_ms + shift,
        ..cdr
    }
}

/// What the store must return for `new` stored under `id`.
pub(crate) fn stored(id: CdrId, new: &NewCdr) -> Cdr {
    Cdr {
        id,
        call_id: new.call_id.clone(),
        caller: new.caller.clone(),
        caller_domain: new.caller_domain.clone(),
        callee: new.callee.clone(),
        dialed: new.dialed.clone(),
        source: new.source.clone(),
        destination: new.destination.clone(),
        start_unix_ms: new.start_unix_ms,
        answer_unix_ms: new.answer_unix_ms,
        end_unix_ms: new.end_unix_ms,
        duration_ms: new.end_unix_ms - new.start_unix_ms,
        billable_ms: new.answer_unix_ms.map_or(0, |a| new.end_unix_ms - a),
        disposition: new.disposition,
        sip_status: new.sip_status,
        hangup_by: new.hangup_by,
        node: new.node.clone(),
        end_reason: new.end_reason.clone(),
        media: new.media.clone(),
    }
}

/// Inserts `n` samples in one batch; returns them as stored, newest first.
pub(crate) async fn insert_samples(store: &Store, n: usize) -> Vec<Cdr> {
    let new: Vec<NewCdr> = (0..n).map(sample).collect();
    let ids = store.insert_cdrs(&new).await.expect("batch insert");
    assert_eq!(ids.len(), n);
    let mut all: Vec<Cdr> = ids.iter().zip(&new).map(|(id, c)| stored(*id, c)).collect();
    newest_first(&mut all);
    all
}

pub(crate) fn newest_first(cdrs: &mut [Cdr]) {
    cdrs.sort_by_key(|c| std::cmp::Reverse((c.start_unix_ms, c.id)));
}

pub(crate) async fn cdr_round_trip_every_field(h: &Harness) {
    let store = h.open().await;
    let first = answered();
    let unrouted = NewCdr {
        call_id: "x1@192.0.2.7".to_owned(),
        caller: "+15557654321".to_owned(),
        caller_domain: "192.0.2.7".to_owned(),
        callee: String::new(),
        dialed: "0049 30 123456 ☎".to_owned(),
        source: CdrSource::Trunk("carrier-a".to_owned()),
        destination: CdrDestination::None,
        start_unix_ms: NOW + 10,
        answer_unix_ms: None,
        end_unix_ms: NOW + 10,
        disposition: Disposition::Failed,
        sip_status: 404,
        hangup_by: HangupBy::System,
        node: None,
        end_reason: None,
        media: None,
    };
    let trunk_out = NewCdr {
        destination: CdrDestination::Trunk("carrier-b".to_owned()),
        disposition: Disposition::Cancelled,
        answer_unix_ms: None,
        sip_status: 487,
        hangup_by: HangupBy::Caller,
        start_unix_ms: NOW - 5,
        ..answered()
    };
    let id1 = store.insert_cdr(&first).await.expect("insert");
    let id2 = store.insert_cdr(&unrouted).await.expect("insert");
    let batch = store
        .insert_cdrs(&[trunk_out.clone(), sample(4), sample(7)])
        .await
        .expect("batch");
    assert!(
        id1 < id2 && id2 < batch[0],
        "ids increase: {id1:?} {id2:?} {batch:?}"
    );
    assert!(batch.windows(2).all(|w| w[0] < w[1]), "{batch:?}");
    assert_eq!(store.insert_cdrs(&[]).await.expect("empty batch"), []);

    let mut expected = vec![
        stored(id1, &first),
        stored(id2, &unrouted),
        stored(batch[0], &trunk_out),
        stored(batch[1], &sample(4)),
        stored(batch[2], &sample(7)),
    ];
    assert_eq!(expected[0].duration_ms, 65_999);
    assert_eq!(expected[0].billable_ms, 61_749);
    newest_first(&mut expected);
    let got = store.query_cdrs(&CdrQuery::default()).await.expect("query");
    assert_eq!(got, expected);
    let first_back = got.iter().find(|c| c.id == id1).expect("present");
    assert_eq!(
        (first_back.duration_secs(), first_back.billable_secs()),
        (65, 61)
    );
    assert_eq!(first_back.billable_started_secs(), 62);
    assert_eq!(
        store.count_cdrs(&CdrQuery::default()).await.expect("count"),
        5
    );
    store.close().await;
}

pub(crate) async fn cdr_invalid_records_are_refused(h: &Harness) {
    let store = h.open().await;
    let cases: [(&str, NewCdr); 10] = [
        (
            "call_id",
            NewCdr {
                call_id: String::new(),
                ..answered()
            },
        ),
        (
            "source",
            NewCdr {
                source: CdrSource::Trunk(String::new()),
                ..answered()
            },
        ),
        (
            "destination",
            NewCdr {
                destination: CdrDestination::User(String::new()),
                ..answered()
            },
        ),
        (
            "end_unix_ms",
            NewCdr {
                end_unix_ms: NOW - 1,
                answer_unix_ms: None,
                disposition: Disposition::Busy,
                ..answered()
            },
        ),
        (
            "answer_unix_ms",
            NewCdr {
                answer_unix_ms: Some(NOW - 1),
                ..answered()
            },
        ),
        (
            "answer_unix_ms",
            NewCdr {
                answer_unix_ms: None,
                ..answered()
            },
        ),
        (
            "answer_unix_ms",
            NewCdr {
                disposition: Disposition::NoAnswer,
                ..answered()
            },
        ),
        (
            "sip_status",
            NewCdr {
                sip_status: 99,
                ..answered()
            },
        ),
        (
            "destination",
            NewCdr {
                destination: CdrDestination::Media(String::new()),
                ..answered()
            },
        ),
        (
            "end_reason",
            NewCdr {
                end_reason: Some(String::new()),
                ..answered()
            },
        ),
    ];
    for (field, cdr) in &cases {
        let err = store.insert_cdr(cdr).await.expect_err(field);
        assert!(
            matches!(&err, StoreError::InvalidInput { field: f, .. } if f == field),
            "{field}: {err:?}"
        );
        // One bad record refuses the whole batch before anything is written.
        let err = store
            .insert_cdrs(&[answered(), cdr.clone()])
            .await
            .expect_err(field);
        assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
    }
    let err = store
        .insert_cdr(&NewCdr {
            sip_status: 700,
            ..answered()
        })
        .await
        .expect_err("700");
    assert!(matches!(
        err,
        StoreError::InvalidInput {
            field: "sip_status",
            ..
        }
    ));
    assert_eq!(
        store.count_cdrs(&CdrQuery::default()).await.expect("count"),
        0
    );

    // The same rules hold in the schema itself, for writers other than this crate.
    let columns = "call_id, caller, caller_domain, callee, dialed, source_kind, source_name, \
                   destination_kind, destination_name, start_at, answer_at, end_at, \
                   disposition, sip_status, hangup_by";
    let good = "'c', 'a', 'example.com', 'b', '1', 'user', 'a', 'user', 'b', 10, 12, 20, \
                'ANSWERED', 200, 'caller'";
    let insert = |values: &str| format!("INSERT INTO cdrs ({columns}) VALUES ({values})");
    h.execute(&insert(good)).await.expect("a valid raw row");
    for bad in [
        good.replace("'user', 'a'", "'phone', 'a'"),
        good.replace("'user', 'b'", "'none', 'b'"),
        good.replace("'user', 'b'", "'user', NULL"),
        good.replace("'c'", "''"),
        good.replace("10, 12, 20", "30, NULL, 20")
            .replace("'ANSWERED'", "'BUSY'"),
        good.replace("10, 12, 20", "10, NULL, 20"),
        good.replace("10, 12, 20", "10, 25, 20"),
        good.replace("'ANSWERED'", "'answered'"),
        good.replace("200", "700"),
        good.replace("'caller'", "'nobody'"),
        good.replace("'user', 'b'", "'media', NULL"),
    ] {
        assert!(h.execute(&insert(&bad)).await.is_err(), "accepted: {bad}");
    }
    h.execute(&insert(&good.replace("'user', 'b'", "'media', 'echo'")))
        .await
        .expect("a call the switch answered itself");
    let with = |end_reason: &str| {
        format!(
            "INSERT INTO cdrs ({columns}, end_reason, media) VALUES ({good}, {end_reason}, '{{}}')"
        )
    };
    h.execute(&with("'media_timeout'"))
        .await
        .expect("an end reason and a media summary");
    h.execute(&with("NULL")).await.expect("no end reason");
    assert!(h.execute(&with("''")).await.is_err(), "an empty end reason");
    assert_eq!(
        store.count_cdrs(&CdrQuery::default()).await.expect("count"),
        4
    );
    store.close().await;
}

pub(crate) async fn cdr_csv_export_exact_bytes(h: &Harness) {
    let store = h.open().await;
    let tricky = NewCdr {
        call_id: "q\"uote,comma@192.0.2.9".to_owned(),
        caller: "=HYPERLINK(\"http://example.com\")".to_owned(),
        caller_domain: "example.com".to_owned(),
        callee: "line\r\nbreak".to_owned(),
        dialed: "+4930123".to_owned(),
        source: CdrSource::User("-alice".to_owned()),
        destination: CdrDestination::Trunk("@trunk".to_owned()),
        start_unix_ms: 1_700_000_000_123,
        answer_unix_ms: Some(1_700_000_001_000),
        end_unix_ms: 1_700_000_061_999,
        disposition: Disposition::Answered,
        sip_status: 200,
        hangup_by: HangupBy::Caller,
        node: Some("Zoë ☎ node".to_owned()),
        end_reason: Some("media_timeout".to_owned()),
        media: Some("{\"path\":\"echo\",\"legs\":[]}".to_owned()),
    };
    let id = store.insert_cdr(&tricky).await.expect("insert");
    let unanswered = NewCdr {
        caller: "bob".to_owned(),
        callee: "alice".to_owned(),
        dialed: "100".to_owned(),
        destination: CdrDestination::None,
        start_unix_ms: 1_600_000_000_000,
        answer_unix_ms: None,
        end_unix_ms: 1_600_000_000_999,
        disposition: Disposition::NoAnswer,
        sip_status: 480,
        hangup_by: HangupBy::System,
        node: None,
        end_reason: None,
        media: None,
        ..tricky.clone()
    };
    let id2 = store.insert_cdr(&unanswered).await.expect("insert");
    let cdrs = store.query_cdrs(&CdrQuery::default()).await.expect("query");
    let mut out = Vec::new();
    write_cdrs_csv(&cdrs, &mut out).expect("in memory");
    let expected = format!(
        "id,call_id,caller,caller_domain,callee,dialed,source_kind,source_name,\
         destination_kind,destination_name,start_utc,answer_utc,end_utc,duration_ms,\
         billable_ms,duration_s,billable_s,disposition,sip_status,hangup_by,node,end_reason,\
         media\r\n\
         {id},\"q\"\"uote,comma@192.0.2.9\",\"'=HYPERLINK(\"\"http://example.com\"\")\",\
         example.com,\"line\r\nbreak\",'+4930123,user,'-alice,trunk,'@trunk,\
         2023-11-14T22:13:20.123Z,2023-11-14T22:13:21.000Z,2023-11-14T22:14:21.999Z,\
         61876,60999,61,60,ANSWERED,200,caller,Zoë ☎ node,media_timeout,\
         \"{{\"\"path\"\":\"\"echo\"\",\"\"legs\"\":[]}}\"\r\n\
         {id2},\"q\"\"uote,comma@192.0.2.9\",bob,example.com,alice,100,user,'-alice,none,,\
         2020-09-13T12:26:40.000Z,,2020-09-13T12:26:40.999Z,999,0,0,0,NO ANSWER,480,system,,,\r\n",
        id = id.get(),
        id2 = id2.get(),
    );
    assert_eq!(String::from_utf8(out).expect("UTF-8"), expected);
    store.close().await;
}

pub(crate) async fn cdr_survives_close_and_reopen(h: &Harness) {
    let store = h.open().await;
    let id = store.insert_cdr(&answered()).await.expect("insert");
    let ids = store
        .insert_cdrs(&[sample(1), sample(2)])
        .await
        .expect("batch");
    store.close().await;
    assert!(store.insert_cdr(&answered()).await.is_err(), "closed");

    let reopened = h.open().await;
    let got = reopened
        .query_cdrs(&CdrQuery::default())
        .await
        .expect("query");
    let mut expected = vec![
        stored(id, &answered()),
        stored(ids[0], &sample(1)),
        stored(ids[1], &sample(2)),
    ];
    newest_first(&mut expected);
    assert_eq!(got, expected);
    reopened.close().await;
}

/// Environment variable that turns the durability test into its own child process.
const CHILD_ENV: &str = "SB_STORE_TEST_CDR_KILL_CHILD";

/// A record returned by `insert_cdr` survives the writing process being killed (SIGKILL:
/// no destructors, no checkpoint, the WAL left as it is) with `synchronous` FULL and
/// NORMAL. The test runs itself as a child process that inserts, records the returned
/// id, and kills itself; the parent then opens the file and looks for the record.
pub(crate) async fn sqlite_cdr_survives_process_kill(test_name: &str) {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        let (level, url_and_file) = spec.split_once('|').expect("level|url|file");
        let (url, id_file) = url_and_file.split_once('|').expect("url|file");
        let sync = if level == "full" {
            Synchronous::Full
        } else {
            Synchronous::Normal
        };
        let options = StoreOptions {
            sqlite_synchronous: sync,
            ..StoreOptions::default()
        };
        let store = Store::connect(url, options).await.expect("child connects");
        let id = store.insert_cdr(&answered()).await.expect("child inserts");
        std::fs::write(id_file, id.get().to_string()).expect("child records the id");
        let pid = std::process::id().to_string();
        std::process::Command::new("kill")
            .args(["-KILL", &pid])
            .status()
            .expect("run kill");
        unreachable!("the child process was killed");
    }

    for level in ["full", "normal"] {
        let db = sb_store::testing::SqliteDatabase::new();
        let migrated = Store::connect(db.url(), StoreOptions::default())
            .await
            .expect("connect");
        migrated.migrate().await.expect("migrate");
        migrated.close().await;
        let id_file = db.dir().join("inserted-id");
        let output = std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(
                CHILD_ENV,
                format!("{level}|{}|{}", db.url(), id_file.display()),
            )
            .output()
            .expect("run the child");
        assert_eq!(
            output.status.signal(),
            Some(9),
            "{level}: the child must die by SIGKILL: {output:?}"
        );
        let wal = db.dir().join("switchboard.db-wal");
        assert!(
            std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
            "{level}: the commit is still in the WAL, never checkpointed"
        );
        let id: i64 = std::fs::read_to_string(&id_file)
            .expect("the child recorded the id")
            .parse()
            .expect("numeric id");
        let store = Store::connect(db.url(), StoreOptions::default())
            .await
            .expect("reopen");
        let got = store.query_cdrs(&CdrQuery::default()).await.expect("query");
        assert_eq!(got, [stored(CdrId::new(id), &answered())], "{level}");
        store.close().await;
    }
}
