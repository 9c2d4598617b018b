//! The guard as the HTTP API shows it: bans in the API's shape, the API's
//! lift targets as the guard's, and the guard's counters for `/metrics`.

use std::time::Instant;

use sb_http_api::{Ban, BanKind, ExtraMetric};

use super::{BanReason, BanTarget, Guard, GuardStats, SourceKey};

/// Every ban in force, newest first.
pub(crate) fn bans(guard: &Guard, now: Instant, now_unix_ms: u64) -> Vec<Ban> {
    let ms = |t: u64| i64::try_from(t).unwrap_or(i64::MAX);
    guard
        .bans(now, now_unix_ms)
        .into_iter()
        .map(|b| {
            let (kind, key) = match b.target {
                BanTarget::Source(key) => (BanKind::Source, key.to_string()),
                BanTarget::User(name) => (BanKind::User, name),
            };
            Ban {
                kind,
                key,
                reason: match b.reason {
                    BanReason::Rate => sb_http_api::BanReason::Rate,
                    BanReason::Auth => sb_http_api::BanReason::Auth,
                },
                since_unix_ms: ms(b.since_unix_ms),
                expires_unix_ms: ms(b.expires_unix_ms),
                drops: b.drops,
            }
        })
        .collect()
}

/// What a lift request names, as the guard keys it.
pub(crate) fn target(target: sb_http_api::BanTarget) -> BanTarget {
    match target {
        sb_http_api::BanTarget::Source(ip) => BanTarget::Source(SourceKey::of(ip)),
        sb_http_api::BanTarget::User(name) => BanTarget::User(name),
    }
}

/// Source bans issued, by reason (the `bans_total` family).
pub(crate) fn bans_issued(g: &GuardStats) -> Vec<(&'static str, u64)> {
    vec![
        (BanReason::Rate.as_str(), g.rate_bans),
        (BanReason::Auth.as_str(), g.auth_bans),
    ]
}

/// The guard's single-valued metrics.
pub(crate) fn metrics(g: &GuardStats) -> [ExtraMetric; 6] {
    let metric = |name, kind, help, value| ExtraMetric {
        name,
        kind,
        help,
        value,
    };
    [
        metric(
            "sip_dropped_banned_total",
            "counter",
            "SIP messages dropped unanswered because their source is banned.",
            g.dropped,
        ),
        metric(
            "bans_active",
            "gauge",
            "Source bans in force.",
            g.active_source_bans,
        ),
        metric(
            "user_watches_total",
            "counter",
            "User names put under watch after failed authentications from many sources.",
            g.user_watches,
        ),
        metric(
            "user_watches_active",
            "gauge",
            "User names under watch.",
            g.active_user_watches,
        ),
        metric(
            "guard_sources",
            "gauge",
            "Source addresses the guard tracks.",
            g.sources,
        ),
        metric(
            "guard_evictions_total",
            "counter",
            "Tracked sources forgotten early because the guard's table was full.",
            g.evictions,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::guard::GuardSettings;

    #[test]
    fn bans_and_counters_reach_the_api_shapes() {
        let t0 = Instant::now();
        let settings = GuardSettings {
            user_auth_failures: 20,
            ..GuardSettings::default()
        };
        let g = Guard::new(t0, &settings, 1);
        for _ in 0..101 {
            g.admit(t0, "192.0.2.66".parse().unwrap());
        }
        for i in 1..=20 {
            g.auth_failed(t0, std::net::IpAddr::from([198, 51, 100, i]), "alice");
        }
        let later = t0 + Duration::from_secs(1);
        let list = bans(&g, later, 1_700_000_001_000);
        assert_eq!(list.len(), 3, "{list:?}");
        let source = list.iter().find(|b| b.key == "192.0.2.66").unwrap();
        assert_eq!(source.kind, BanKind::Source);
        assert_eq!(source.reason, sb_http_api::BanReason::Rate);
        assert_eq!(source.since_unix_ms, 1_700_000_000_000);
        assert_eq!(source.expires_unix_ms, 1_700_000_300_000);
        assert_eq!(source.drops, 1);
        let user = list.iter().find(|b| b.kind == BanKind::User).unwrap();
        assert_eq!(user.key, "alice");
        assert!(list.iter().any(|b| b.key == "198.51.100.20"));
        let stats = g.stats(later);
        assert_eq!(bans_issued(&stats), vec![("rate", 1), ("auth", 1)]);
        let extra = metrics(&stats);
        let value = |name: &str| extra.iter().find(|m| m.name == name).unwrap().value;
        assert_eq!(value("sip_dropped_banned_total"), 1);
        assert_eq!(value("bans_active"), 2);
        assert_eq!(value("user_watches_active"), 1);
        assert_eq!(value("guard_sources"), 21);
        assert!(g.lift(
            later,
            &target(sb_http_api::BanTarget::Source(
                "192.0.2.66".parse().unwrap()
            ))
        ));
        assert!(g.lift(later, &target(sb_http_api::BanTarget::User("Alice".into()))));
        assert_eq!(bans(&g, later, 1_700_000_001_000).len(), 1);
    }
}
