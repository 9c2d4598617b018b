//! `[security]`: per-source rate limits, bans for floods and password
//! guessing, and the sources exempt from both (see [`crate::guard`]).

use std::time::Duration;

use sb_switch::IpPrefix;
use serde::{Deserialize, Deserializer};

use super::duration;
use crate::guard::GuardSettings;

/// Longest ban, watch or window accepted.
const LONGEST: Duration = Duration::from_secs(30 * 86_400);

/// `[security]`
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Check sources at all.
    pub enabled: bool,
    /// SIP messages (requests and responses) one source may send at once,
    /// and per `rate_window` steadily; the next one bans the source. 0: no
    /// rate limit. IPv6 sources count per /64.
    pub rate_limit: u32,
    /// The window of `rate_limit`.
    #[serde(with = "duration")]
    pub rate_window: Duration,
    /// How long a banned source's messages are dropped (without an answer).
    #[serde(with = "duration")]
    pub ban_time: Duration,
    /// Failed authentications from one source within `auth_window` that ban
    /// it. 0: never. Leave room for a phone with a wrong password: each
    /// failed attempt is challenged again, and some phones retry at once
    /// (baresip 15 times).
    pub auth_failures: u32,
    /// The window failed authentications are counted in.
    #[serde(with = "duration")]
    pub auth_window: Duration,
    /// Failed authentications for one user name within `auth_window`, from
    /// any sources, that put the name under watch: each further failure for
    /// it bans its source at once. 0: never.
    pub user_auth_failures: u32,
    /// How long a user name stays under watch.
    #[serde(with = "duration")]
    pub user_watch_time: Duration,
    /// Sources never rate-limited or banned (trunks, offices, a proxy in
    /// front), as prefixes (`"192.0.2.0/24"`) or addresses. Default: the
    /// host itself (`127.0.0.0/8`, `::1`); a list given replaces it.
    #[serde(deserialize_with = "prefixes")]
    pub exempt: Vec<IpPrefix>,
    /// Most sources tracked at once (memory: about 100 bytes each); a full
    /// table forgets idle and least busy sources first, bans last.
    pub max_sources: usize,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let g = GuardSettings::default();
        SecurityConfig {
            enabled: g.enabled,
            rate_limit: g.rate_limit,
            rate_window: g.rate_window,
            ban_time: g.ban_time,
            auth_failures: g.auth_failures,
            auth_window: g.auth_window,
            user_auth_failures: g.user_auth_failures,
            user_watch_time: g.user_watch_time,
            exempt: g.exempt,
            max_sources: g.max_sources,
        }
    }
}

impl SecurityConfig {
    /// Checks values; `Err((key, message))`.
    pub(crate) fn check(&self) -> Result<(), (&'static str, String)> {
        let within = |key: &'static str, value: Duration, min: Duration, text: &str| {
            if value < min || value > LONGEST {
                Err((key, format!("must be between {text} and 30d")))
            } else {
                Ok(())
            }
        };
        within(
            "security.rate_window",
            self.rate_window,
            Duration::from_millis(100),
            "100ms",
        )?;
        within(
            "security.ban_time",
            self.ban_time,
            Duration::from_secs(1),
            "1s",
        )?;
        within(
            "security.auth_window",
            self.auth_window,
            Duration::from_secs(1),
            "1s",
        )?;
        within(
            "security.user_watch_time",
            self.user_watch_time,
            Duration::from_secs(1),
            "1s",
        )?;
        if self.rate_limit > 1_000_000 {
            return Err((
                "security.rate_limit",
                "must be at most 1000000 (0 turns the rate limit off)".into(),
            ));
        }
        if u128::from(self.rate_limit) > self.rate_window.as_micros() {
            return Err((
                "security.rate_limit",
                "more than one message per microsecond of rate_window".into(),
            ));
        }
        if self.auth_failures > 10_000 || self.user_auth_failures > 1_000_000 {
            return Err((
                "security.auth_failures",
                "auth_failures must be at most 10000 and user_auth_failures at most 1000000 \
                 (0 turns either off)"
                    .into(),
            ));
        }
        if !(1_000..=10_000_000).contains(&self.max_sources) {
            return Err((
                "security.max_sources",
                "must be between 1000 and 10000000".into(),
            ));
        }
        Ok(())
    }

    /// The guard's settings.
    pub fn guard_settings(&self) -> GuardSettings {
        GuardSettings {
            enabled: self.enabled,
            rate_limit: self.rate_limit,
            rate_window: self.rate_window,
            ban_time: self.ban_time,
            auth_failures: self.auth_failures,
            auth_window: self.auth_window,
            user_auth_failures: self.user_auth_failures,
            user_watch_time: self.user_watch_time,
            exempt: self.exempt.clone(),
            max_sources: self.max_sources,
        }
    }
}

/// Address prefixes written as strings, each checked where it is written.
fn prefixes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpPrefix>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|text| {
            text.parse().map_err(|e: sb_switch::InvalidPrefix| {
                serde::de::Error::custom(format!(
                    "`{text}`: {}; write an address or a prefix, e.g. \"192.0.2.0/24\"",
                    e.reason
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    #[test]
    fn defaults_protect_and_parse_back() {
        let c = Config::parse("", "t.toml").unwrap();
        assert!(c.security.enabled);
        assert_eq!(c.security.guard_settings(), GuardSettings::default());
        let c = Config::parse(
            r#"
            [security]
            rate_limit = 50
            rate_window = "1s"
            ban_time = "1h"
            auth_failures = 3
            auth_window = "5m"
            user_auth_failures = 0
            user_watch_time = "30m"
            exempt = ["192.0.2.0/24", "198.51.100.7", "2001:db8::/32"]
            max_sources = 5000
            "#,
            "t.toml",
        )
        .unwrap();
        let s = c.security.guard_settings();
        assert_eq!(s.rate_limit, 50);
        assert_eq!(s.rate_window, Duration::from_secs(1));
        assert_eq!(s.ban_time, Duration::from_secs(3_600));
        assert_eq!(s.auth_failures, 3);
        assert_eq!(s.auth_window, Duration::from_secs(300));
        assert_eq!(s.user_auth_failures, 0);
        assert_eq!(s.user_watch_time, Duration::from_secs(1_800));
        assert_eq!(s.exempt.len(), 3);
        assert!(s.exempt[1].contains("198.51.100.7".parse().unwrap()));
        assert!(!s.exempt[1].contains("198.51.100.8".parse().unwrap()));
        assert_eq!(s.max_sources, 5_000);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, needle) in [
            ("rate_window = \"10ms\"", "security.rate_window"),
            ("ban_time = \"0s\"", "security.ban_time"),
            ("ban_time = \"60d\"", "security.ban_time"),
            ("auth_window = \"500ms\"", "security.auth_window"),
            ("user_watch_time = \"0s\"", "security.user_watch_time"),
            ("rate_limit = 2000000", "security.rate_limit"),
            (
                "rate_limit = 200000\nrate_window = \"100ms\"",
                "security.rate_limit",
            ),
            ("auth_failures = 20000", "security.auth_failures"),
            ("max_sources = 10", "security.max_sources"),
            ("exempt = [\"192.0.2.0/33\"]", "192.0.2.0/33"),
            ("exempt = [\"office\"]", "not an IP address"),
            ("rate_windw = \"1s\"", "rate_windw"),
        ] {
            let e = Config::parse(&format!("[security]\n{text}\n"), "c.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{text:?} -> {e}");
        }
    }
}
