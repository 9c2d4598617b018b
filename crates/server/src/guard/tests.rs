//! The guard through its public inputs, with time passed in.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::*;

const UNIX: u64 = 1_700_000_000_000;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn guard(settings: &GuardSettings) -> (Guard, Instant) {
    let t0 = Instant::now();
    (Guard::new(t0, settings, 42), t0)
}

fn secs(t0: Instant, s: u64) -> Instant {
    t0 + Duration::from_secs(s)
}

/// Bans after 5 failures from a source; watches a name after 20.
fn strict() -> GuardSettings {
    GuardSettings {
        auth_failures: 5,
        user_auth_failures: 20,
        ..GuardSettings::default()
    }
}

#[test]
fn the_default_rate_bans_the_message_after_a_full_burst() {
    let (g, t0) = guard(&GuardSettings::default());
    let flooder = ip("192.0.2.66");
    for i in 0..100 {
        assert_eq!(g.admit(t0, flooder), Admission::Pass, "message {i}");
    }
    assert_eq!(g.admit(t0, flooder), Admission::Ban);
    assert_eq!(g.admit(secs(t0, 1), flooder), Admission::Drop);
    assert_eq!(g.admit(secs(t0, 1), ip("192.0.2.7")), Admission::Pass);
    let stats = g.stats(secs(t0, 1));
    assert_eq!(stats.rate_bans, 1);
    assert_eq!(stats.dropped, 2);
    assert_eq!(stats.active_source_bans, 1);
    assert_eq!(stats.sources, 2);
    let bans = g.bans(secs(t0, 10), UNIX);
    assert_eq!(
        bans,
        vec![BanView {
            target: BanTarget::Source(SourceKey::of(flooder)),
            reason: BanReason::Rate,
            since_unix_ms: UNIX - 10_000,
            expires_unix_ms: UNIX + 290_000,
            drops: 2,
        }]
    );
    // Banned for 300 s, then a whole allowance again.
    assert_eq!(g.admit(secs(t0, 299), flooder), Admission::Drop);
    assert_eq!(g.admit(secs(t0, 300), flooder), Admission::Pass);
    assert_eq!(g.stats(secs(t0, 300)).active_source_bans, 0);
}

#[test]
fn fifty_messages_a_second_go_on_for_ever() {
    let (g, t0) = guard(&GuardSettings::default());
    let trunk = ip("198.51.100.5");
    for i in 0..50 * 120 {
        let now = t0 + Duration::from_millis(20 * i);
        assert_eq!(g.admit(now, trunk), Admission::Pass, "message {i}");
    }
}

#[test]
fn exempt_sources_are_never_limited_or_banned() {
    let settings = GuardSettings {
        exempt: vec![
            "192.0.2.0/28".parse().unwrap(),
            "2001:db8:5::/48".parse().unwrap(),
        ],
        ..GuardSettings::default()
    };
    let (g, t0) = guard(&settings);
    for source in ["192.0.2.1", "::ffff:192.0.2.2", "2001:db8:5:1::9"] {
        for _ in 0..1_000 {
            assert_eq!(g.admit(t0, ip(source)), Admission::Pass, "{source}");
        }
        for _ in 0..10 {
            g.auth_failed(t0, ip(source), "alice");
        }
        assert_eq!(g.admit(t0, ip(source)), Admission::Pass, "{source}");
    }
    // Just outside the prefix, the limit applies.
    let outside = ip("192.0.2.16");
    for _ in 0..100 {
        assert_eq!(g.admit(t0, outside), Admission::Pass);
    }
    assert_eq!(g.admit(t0, outside), Admission::Ban);
    assert_eq!(
        g.stats(t0).sources,
        1,
        "exempt sources are not even tracked"
    );
}

#[test]
fn the_host_itself_is_exempt_by_default() {
    let (g, t0) = guard(&GuardSettings::default());
    for source in ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"] {
        for _ in 0..1_000 {
            assert_eq!(g.admit(t0, ip(source)), Admission::Pass, "{source}");
        }
        for _ in 0..100 {
            g.auth_failed(t0, ip(source), "alice");
        }
        assert_eq!(g.admit(t0, ip(source)), Admission::Pass, "{source}");
    }
    // Configured exemptions replace the default.
    let settings = GuardSettings {
        exempt: Vec::new(),
        ..GuardSettings::default()
    };
    let (g, t0) = guard(&settings);
    for _ in 0..100 {
        g.admit(t0, ip("127.0.0.1"));
    }
    assert_eq!(g.admit(t0, ip("127.0.0.1")), Admission::Ban);
}

#[test]
fn a_disabled_guard_lets_everything_through() {
    let settings = GuardSettings {
        enabled: false,
        ..GuardSettings::default()
    };
    let (g, t0) = guard(&settings);
    let source = ip("192.0.2.66");
    for _ in 0..10_000 {
        assert_eq!(g.admit(t0, source), Admission::Pass);
    }
    for _ in 0..100 {
        g.auth_failed(t0, source, "alice");
    }
    assert_eq!(g.admit(t0, source), Admission::Pass);
    assert!(g.bans(t0, UNIX).is_empty());
    assert_eq!(g.stats(t0), GuardStats::default());
}

#[test]
fn by_default_one_retry_burst_of_a_misconfigured_phone_is_no_ban() {
    // baresip (libre) answers each new challenge with the same wrong
    // password, 15 times within milliseconds, then gives up.
    let (g, t0) = guard(&GuardSettings::default());
    let phone = ip("192.0.2.40");
    for _ in 0..15 {
        g.auth_failed(t0, phone, "alice");
    }
    assert_eq!(g.admit(t0, phone), Admission::Pass);
    // Its next burst within the minute is.
    for _ in 0..5 {
        g.auth_failed(secs(t0, 30), phone, "alice");
    }
    assert_eq!(g.admit(secs(t0, 30), phone), Admission::Drop);
}

#[test]
fn five_failures_within_a_minute_ban_the_source() {
    let (g, t0) = guard(&strict());
    let guesser = ip("203.0.113.9");
    for i in 0..4 {
        g.auth_failed(secs(t0, i * 10), guesser, "alice");
        assert_eq!(g.admit(secs(t0, i * 10), guesser), Admission::Pass);
    }
    g.auth_failed(secs(t0, 40), guesser, "alice");
    assert_eq!(g.admit(secs(t0, 40), guesser), Admission::Drop);
    let bans = g.bans(secs(t0, 40), UNIX);
    assert_eq!(bans.len(), 1);
    assert_eq!(bans[0].reason, BanReason::Auth);
    assert_eq!(bans[0].target, BanTarget::Source(SourceKey::of(guesser)));
    assert_eq!(bans[0].expires_unix_ms, UNIX + 300_000);
    assert_eq!(g.stats(secs(t0, 40)).auth_bans, 1);
    // The same pace spread over more than the window is no ban.
    let slow = ip("203.0.113.10");
    for i in 0..20 {
        g.auth_failed(secs(t0, i * 15), slow, "bob");
    }
    assert_eq!(g.admit(secs(t0, 300), slow), Admission::Pass);
}

#[test]
fn guessing_one_user_from_many_sources_bans_each_later_source_at_once() {
    let (g, t0) = guard(&strict());
    let source = |i: u8| IpAddr::from([198, 51, 100, i]);
    // Twenty sources, one guess each: the twentieth starts the watch (and
    // is banned with it); no earlier one is banned.
    for i in 1..=20 {
        g.auth_failed(secs(t0, 1), source(i), "Alice");
    }
    for i in 1..=19 {
        assert_eq!(g.admit(secs(t0, 2), source(i)), Admission::Pass, "{i}");
    }
    assert_eq!(g.admit(secs(t0, 2), source(20)), Admission::Drop);
    // From now on one failure for alice is enough.
    g.auth_failed(secs(t0, 3), source(21), "alice");
    assert_eq!(g.admit(secs(t0, 3), source(21)), Admission::Drop);
    // A failure for another user is counted normally.
    g.auth_failed(secs(t0, 3), source(22), "bob");
    assert_eq!(g.admit(secs(t0, 3), source(22)), Admission::Pass);
    // Alice's own phone never failed: it is not affected.
    assert_eq!(g.admit(secs(t0, 3), ip("192.0.2.50")), Admission::Pass);
    let bans = g.bans(secs(t0, 3), UNIX);
    let user = bans
        .iter()
        .find(|b| b.target == BanTarget::User("alice".into()))
        .expect("alice is watched");
    assert_eq!(user.reason, BanReason::Auth);
    assert_eq!(
        user.drops, 2,
        "the failure that started the watch and one more"
    );
    assert_eq!(user.expires_unix_ms, UNIX + 900_000 - 2_000);
    let stats = g.stats(secs(t0, 3));
    assert_eq!(stats.user_watches, 1);
    assert_eq!(stats.active_user_watches, 1);
    assert_eq!(stats.auth_bans, 2);
    // The watch ends after 15 minutes.
    g.auth_failed(secs(t0, 902), source(23), "alice");
    assert_eq!(g.admit(secs(t0, 902), source(23)), Admission::Pass);
}

#[test]
fn lifting_lets_a_source_and_a_user_name_start_afresh() {
    let (g, t0) = guard(&strict());
    let guesser = ip("203.0.113.9");
    for _ in 0..5 {
        g.auth_failed(t0, guesser, "alice");
    }
    let key = BanTarget::Source(SourceKey::of(guesser));
    assert!(g.lift(secs(t0, 1), &key));
    assert!(!g.lift(secs(t0, 1), &key), "lifted already");
    assert_eq!(g.admit(secs(t0, 1), guesser), Admission::Pass);
    // Its failures were forgotten: four more are no ban.
    for _ in 0..4 {
        g.auth_failed(secs(t0, 1), guesser, "bob");
    }
    assert_eq!(g.admit(secs(t0, 1), guesser), Admission::Pass);

    for i in 0..20 {
        g.auth_failed(t0, IpAddr::from([198, 51, 100, i]), "carol");
    }
    assert!(g.lift(secs(t0, 1), &BanTarget::User("CAROL".into())));
    assert!(!g.lift(secs(t0, 1), &BanTarget::User("carol".into())));
    g.auth_failed(secs(t0, 1), ip("198.51.100.200"), "carol");
    assert_eq!(g.admit(secs(t0, 1), ip("198.51.100.200")), Admission::Pass);
}

#[test]
fn an_ipv6_site_counts_as_one_source_per_64() {
    let (g, t0) = guard(&GuardSettings::default());
    for i in 0..100u16 {
        let source: IpAddr = format!("2001:db8:1:2::{:x}", i + 1).parse().unwrap();
        assert_eq!(g.admit(t0, source), Admission::Pass);
    }
    assert_eq!(g.admit(t0, ip("2001:db8:1:2:ffff::1")), Admission::Ban);
    assert_eq!(g.admit(t0, ip("2001:db8:1:3::1")), Admission::Pass);
    let bans = g.bans(t0, UNIX);
    let BanTarget::Source(key) = &bans[0].target else {
        panic!("a source ban: {bans:?}");
    };
    assert_eq!(key.to_string(), "2001:db8:1:2::/64");
    assert_eq!(SourceKey::of(ip("192.0.2.1")).to_string(), "192.0.2.1");
    assert_eq!(
        SourceKey::of(ip("::ffff:192.0.2.1")).to_string(),
        "192.0.2.1"
    );
    assert!(g.lift(
        t0,
        &BanTarget::Source(SourceKey::of(ip("2001:db8:1:2::77")))
    ));
}

#[test]
fn without_a_rate_limit_failures_still_ban() {
    let settings = GuardSettings {
        rate_limit: 0,
        ..strict()
    };
    let (g, t0) = guard(&settings);
    let source = ip("192.0.2.66");
    for _ in 0..10_000 {
        assert_eq!(g.admit(t0, source), Admission::Pass);
    }
    assert_eq!(g.stats(t0).sources, 0, "nothing to remember");
    for _ in 0..5 {
        g.auth_failed(t0, source, "alice");
    }
    assert_eq!(g.admit(t0, source), Admission::Drop);
}

#[test]
fn sweeping_forgets_what_has_passed() {
    let (g, t0) = guard(&strict());
    g.admit(t0, ip("192.0.2.1"));
    g.auth_failed(t0, ip("192.0.2.2"), "alice");
    for _ in 0..5 {
        g.auth_failed(t0, ip("192.0.2.3"), "bob");
    }
    assert_eq!(g.stats(t0).sources, 3);
    // The allowance is back after 20 ms, the failure window after 60 s, the
    // ban after 300 s.
    assert_eq!(g.sweep(secs(t0, 1)), 1);
    assert_eq!(g.sweep(secs(t0, 60)), 3, "a source and two user names");
    assert_eq!(g.sweep(secs(t0, 300)), 1);
    assert_eq!(g.stats(secs(t0, 300)).sources, 0);
}
