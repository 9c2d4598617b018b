//! Failed-login limits: per source address and per user name, at most `limit` failures
//! in a fixed window of one minute; then every attempt (even with the right password) is
//! refused until the window ends. Time is passed in, so the rules are tested exactly.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a window lasts.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// Keys tracked at most; beyond that, expired windows are dropped, then the oldest.
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Source(IpAddr),
    User(String),
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The failed-login counters.
#[derive(Debug)]
pub(crate) struct LoginLimiter {
    limit: u32,
    windows: Mutex<HashMap<Key, Window>>,
}

impl LoginLimiter {
    /// At most `limit` failures per key and window (0 is taken as 1).
    pub(crate) fn new(limit: u32) -> Self {
        LoginLimiter {
            limit: limit.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(retry_after)` when the source or the user name used up its failures.
    pub(crate) fn check(
        &self,
        now: Instant,
        source: Option<IpAddr>,
        username: &str,
    ) -> Result<(), Duration> {
        let windows = self
            .windows
            .lock()
            .expect("the limiter lock is never poisoned");
        let wait = keys(source, username)
            .filter_map(|key| windows.get(&key))
            .filter(|w| w.failures >= self.limit)
            .filter_map(|w| (w.started + WINDOW).checked_duration_since(now))
            .filter(|d| !d.is_zero())
            .max();
        match wait {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// Counts a failed attempt against the source and the user name.
    pub(crate) fn record_failure(&self, now: Instant, source: Option<IpAddr>, username: &str) {
        let mut windows = self
            .windows
            .lock()
            .expect("the limiter lock is never poisoned");
        if windows.len() + 2 > MAX_KEYS {
            windows.retain(|_, w| now.saturating_duration_since(w.started) < WINDOW);
            while windows.len() + 2 > MAX_KEYS {
                let oldest = windows
                    .iter()
                    .min_by_key(|(_, w)| w.started)
                    .map(|(k, _)| k.clone())
                    .expect("the map is not empty");
                windows.remove(&oldest);
            }
        }
        for key in keys(source, username) {
            let window = windows.entry(key).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.saturating_duration_since(window.started) >= WINDOW {
                *window = Window {
                    started: now,
                    failures: 0,
                };
            }
            window.failures = window.failures.saturating_add(1);
        }
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.windows.lock().unwrap().len()
    }
}

/// The keys of an attempt; user names compare without ASCII case, so case variants share
/// one budget.
fn keys(source: Option<IpAddr>, username: &str) -> impl Iterator<Item = Key> {
    source
        .map(Key::Source)
        .into_iter()
        .chain([Key::User(username.to_ascii_lowercase())])
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));

    #[test]
    fn blocks_a_source_after_the_limit_until_the_window_ends() {
        let limiter = LoginLimiter::new(3);
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(limiter.check(t0, A, &format!("user{i}")).is_ok());
            limiter.record_failure(t0, A, &format!("user{i}"));
        }
        let at = t0 + Duration::from_secs(20);
        assert_eq!(limiter.check(at, A, "other"), Err(Duration::from_secs(40)));
        assert!(limiter.check(at, B, "other").is_ok(), "another source");
        assert!(
            limiter.check(t0 + WINDOW, A, "other").is_ok(),
            "window over"
        );
        // A failure after the window starts a new one.
        limiter.record_failure(t0 + WINDOW, A, "user9");
        assert!(limiter.check(t0 + WINDOW, A, "x").is_ok());
    }

    #[test]
    fn blocks_a_user_name_from_any_source() {
        let limiter = LoginLimiter::new(2);
        let t0 = Instant::now();
        limiter.record_failure(t0, A, "Admin");
        limiter.record_failure(t0, B, "admin");
        assert!(
            limiter
                .check(t0, Some("192.0.2.3".parse().unwrap()), "ADMIN")
                .is_err()
        );
        assert!(limiter.check(t0, None, "alice").is_ok());
    }

    #[test]
    fn key_count_is_bounded() {
        let limiter = LoginLimiter::new(1);
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS + 10) {
            limiter.record_failure(t0 + Duration::from_millis(i as u64), None, &format!("u{i}"));
        }
        assert!(limiter.tracked() <= MAX_KEYS);
        // The newest key is still tracked.
        let last = format!("u{}", MAX_KEYS + 9);
        let now = t0 + Duration::from_millis(MAX_KEYS as u64 + 9);
        assert!(limiter.check(now, None, &last).is_err());
    }
}
