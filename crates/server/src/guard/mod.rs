//! The admission guard: per-source rate limits and temporary bans, checked
//! for every SIP message as it arrives — before parsing and before the queue
//! the switch reads — so that a flood from one address is dropped where it
//! costs least and never fills the queue every other source shares.
//!
//! What it decides:
//! - **Rate**: a source (an IPv4 address, or the /64 of an IPv6 address,
//!   which one site can pick its addresses from) may send `rate_limit`
//!   messages at once and `rate_limit` per `rate_window` steadily; the next
//!   message bans it for `ban_time`.
//! - **Password guessing**: `auth_failures` failed authentications from one
//!   source within `auth_window` ban it for `ban_time`.
//! - **Guessing one user from many sources**: `user_auth_failures` failures
//!   for one user name within `auth_window`, from any sources, put the name
//!   under watch for `user_watch_time`: every further failure for it bans its
//!   source at once. Successful attempts are never refused, so an attacker
//!   cannot lock the user's own devices out (see `users`).
//! - A banned source's messages are dropped without an answer (answering
//!   would amplify a flood) and counted. Sources in `exempt` are never
//!   limited or banned.
//!
//! Memory is bounded (`max_sources` sources, [`MAX_USERS`] user names) and a
//! known source costs no allocation (see `table`). Every input takes `now`;
//! the guard reads no clock. It is shared by the receive tasks, the SIP
//! driver task (failures) and the HTTP API (listing and lifting); each holds
//! one lock at a time, for a lookup (or, listing, for one shard's scan).

pub(crate) mod api;
mod table;
mod users;

use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sb_switch::IpPrefix;

use table::{Admit, Limits, SourceTable};
use users::{UserFailure, UserLimits, UserTable};

/// Time within the guard: microseconds since the guard was made.
type Micros = u64;

/// The sources exempt by default: the host itself.
pub const LOOPBACK: [&str; 2] = ["127.0.0.0/8", "::1/128"];

/// Most user names whose failures are tracked at once.
pub const MAX_USERS: usize = 10_000;

/// Mixed into the seed of the user table, so its hashes differ from the
/// source table's.
const USER_SEED_MIX: u64 = 0x2545_f491_4f6c_dd1d;

/// A source as the guard counts it: an IPv4 address, or the /64 network of
/// an IPv6 address. IPv4-mapped IPv6 addresses count as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceKey(IpAddr);

impl SourceKey {
    /// The key `ip` counts under.
    pub fn of(ip: IpAddr) -> SourceKey {
        match ip.to_canonical() {
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !u128::from(u64::MAX);
                SourceKey(IpAddr::V6(network.into()))
            }
            v4 => SourceKey(v4),
        }
    }

    /// The address (IPv4) or the network address of the /64 (IPv6).
    pub fn addr(&self) -> IpAddr {
        self.0
    }
}

impl fmt::Display for SourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Why a ban was issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BanReason {
    /// The source sent more than its rate allows.
    Rate,
    /// Failed authentications (from the source, or for a watched user name).
    Auth,
}

impl BanReason {
    /// `rate` or `auth`.
    pub fn as_str(self) -> &'static str {
        match self {
            BanReason::Rate => "rate",
            BanReason::Auth => "auth",
        }
    }
}

/// What a ban is on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BanTarget {
    /// A source: its messages are dropped.
    Source(SourceKey),
    /// A user name under watch (lower case): failed attempts for it ban
    /// their source at once.
    User(String),
}

/// One ban in force, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanView {
    /// What is banned.
    pub target: BanTarget,
    /// Why.
    pub reason: BanReason,
    /// When it began (unix milliseconds).
    pub since_unix_ms: u64,
    /// When it ends (unix milliseconds).
    pub expires_unix_ms: u64,
    /// Messages dropped (a source), or failed attempts that banned their
    /// source (a user name).
    pub drops: u64,
}

/// What to do with one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Let it through.
    Pass,
    /// Its source is banned: drop it without an answer.
    Drop,
    /// Its source went over its rate with it and is banned from now on:
    /// drop it.
    Ban,
}

/// The guard's settings (from `[security]`).
#[derive(Debug, Clone, PartialEq)]
pub struct GuardSettings {
    /// Check anything at all.
    pub enabled: bool,
    /// Messages a source may send at once and per `rate_window` (0: no
    /// rate limit).
    pub rate_limit: u32,
    /// The window of `rate_limit`.
    pub rate_window: Duration,
    /// How long a source ban lasts.
    pub ban_time: Duration,
    /// Failed authentications from one source that ban it (0: never). The
    /// default, 20, lets one retry burst of a phone with a wrong password
    /// through (the switch challenges a failed attempt again, and baresip
    /// answers with the same password 15 times within milliseconds).
    pub auth_failures: u32,
    /// The window failures are counted in.
    pub auth_window: Duration,
    /// Failed authentications for one user name, from any sources, that put
    /// the name under watch (0: never).
    pub user_auth_failures: u32,
    /// How long a watch lasts.
    pub user_watch_time: Duration,
    /// Sources never limited or banned. Default: loopback (`127.0.0.0/8`,
    /// `::1`): the host's own processes — a proxy or SBC in front, load
    /// generators, monitoring — would otherwise share one source.
    pub exempt: Vec<IpPrefix>,
    /// Most sources tracked at once.
    pub max_sources: usize,
}

impl Default for GuardSettings {
    fn default() -> Self {
        GuardSettings {
            enabled: true,
            rate_limit: 100,
            rate_window: Duration::from_secs(2),
            ban_time: Duration::from_secs(300),
            auth_failures: 20,
            auth_window: Duration::from_secs(60),
            user_auth_failures: 50,
            user_watch_time: Duration::from_secs(900),
            exempt: LOOPBACK
                .iter()
                .map(|p| p.parse().expect("a valid prefix"))
                .collect(),
            max_sources: 100_000,
        }
    }
}

/// Counters and gauges for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GuardStats {
    /// Messages dropped because their source was banned (counter).
    pub dropped: u64,
    /// Source bans issued for going over the rate (counter).
    pub rate_bans: u64,
    /// Source bans issued for failed authentications (counter).
    pub auth_bans: u64,
    /// Watches started on user names (counter).
    pub user_watches: u64,
    /// Tracked sources forgotten early because the table was full (counter).
    pub evictions: u64,
    /// Sources tracked now (gauge).
    pub sources: u64,
    /// Source bans in force (gauge).
    pub active_source_bans: u64,
    /// User names under watch (gauge).
    pub active_user_watches: u64,
}

#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
    rate_bans: AtomicU64,
    auth_bans: AtomicU64,
    user_watches: AtomicU64,
    evictions: AtomicU64,
}

/// The guard: shared by every receive task, the SIP driver and the API.
#[derive(Debug)]
pub struct Guard {
    enabled: bool,
    rate: bool,
    exempt: Vec<IpPrefix>,
    limits: Limits,
    user_limits: UserLimits,
    epoch: Instant,
    sources: SourceTable,
    users: Mutex<UserTable>,
    counters: Counters,
}

fn micros(d: Duration) -> Micros {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Guard {
    /// A guard with nothing counted yet. `seed` keys its hashes (a source
    /// cannot pick addresses that collide).
    pub fn new(now: Instant, settings: &GuardSettings, seed: u64) -> Guard {
        let window = micros(settings.rate_window).max(1);
        let auth_window = micros(settings.auth_window).max(1);
        Guard {
            enabled: settings.enabled,
            rate: settings.rate_limit > 0,
            exempt: settings.exempt.clone(),
            limits: Limits {
                interval: (window / u64::from(settings.rate_limit.max(1))).max(1),
                window,
                ban_time: micros(settings.ban_time),
                failures: settings.auth_failures,
                failure_window: auth_window,
            },
            user_limits: UserLimits {
                failures: settings.user_auth_failures,
                window: auth_window,
                watch_time: micros(settings.user_watch_time),
            },
            epoch: now,
            sources: SourceTable::new(settings.max_sources, seed),
            users: Mutex::new(UserTable::new(MAX_USERS, seed ^ USER_SEED_MIX)),
            counters: Counters::default(),
        }
    }

    fn at(&self, now: Instant) -> Micros {
        micros(now.saturating_duration_since(self.epoch))
    }

    fn exempt(&self, ip: IpAddr) -> bool {
        self.exempt.iter().any(|p| p.contains(ip))
    }

    /// Whether a message from `source` may go on. Called for every message
    /// before it is parsed.
    pub fn admit(&self, now: Instant, source: IpAddr) -> Admission {
        if !self.enabled || self.exempt(source) {
            return Admission::Pass;
        }
        let key = SourceKey::of(source);
        let limits = self.rate.then_some(&self.limits);
        let (admit, evicted) = self.sources.admit(key, self.at(now), limits);
        if evicted {
            self.counters.evictions.fetch_add(1, Ordering::Relaxed);
        }
        match admit {
            Admit::Pass => Admission::Pass,
            Admit::Dropped => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                Admission::Drop
            }
            Admit::Banned => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                self.counters.rate_bans.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    source = %key,
                    reason = BanReason::Rate.as_str(),
                    ban_time = ?Duration::from_micros(self.limits.ban_time),
                    "source banned: over its message rate"
                );
                Admission::Ban
            }
        }
    }

    /// A failed authentication from `source` claiming `username`: counted
    /// for both; bans the source when either says so.
    pub fn auth_failed(&self, now: Instant, source: IpAddr, username: &str) {
        if !self.enabled {
            return;
        }
        let at = self.at(now);
        let counted = self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .failure(username, at, &self.user_limits);
        if counted == UserFailure::WatchStarted {
            self.counters.user_watches.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                username,
                watch = ?Duration::from_micros(self.user_limits.watch_time),
                "user name under watch: failed attempts for it ban their source at once"
            );
        }
        if self.exempt(source) {
            return;
        }
        let key = SourceKey::of(source);
        let (banned, evicted) =
            self.sources
                .failure(key, at, &self.limits, counted != UserFailure::Counted);
        if evicted {
            self.counters.evictions.fetch_add(1, Ordering::Relaxed);
        }
        if banned {
            self.counters.auth_bans.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                source = %key,
                username,
                reason = BanReason::Auth.as_str(),
                ban_time = ?Duration::from_micros(self.limits.ban_time),
                "source banned: failed authentications"
            );
        }
    }

    /// Every ban in force, newest first. `now_unix_ms` is the wall-clock
    /// time of `now`.
    pub fn bans(&self, now: Instant, now_unix_ms: u64) -> Vec<BanView> {
        let at = self.at(now);
        let unix = |t: Micros| {
            if t >= at {
                now_unix_ms.saturating_add((t - at) / 1_000)
            } else {
                now_unix_ms.saturating_sub((at - t) / 1_000)
            }
        };
        let mut out: Vec<BanView> = self
            .sources
            .bans(at)
            .into_iter()
            .map(|(key, ban)| BanView {
                target: BanTarget::Source(key),
                reason: ban.reason,
                since_unix_ms: unix(ban.since),
                expires_unix_ms: unix(ban.until),
                drops: ban.drops,
            })
            .collect();
        let watches = self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .watches(at);
        out.extend(watches.into_iter().map(|(name, watch)| BanView {
            target: BanTarget::User(name),
            reason: BanReason::Auth,
            since_unix_ms: unix(watch.since),
            expires_unix_ms: unix(watch.until),
            drops: watch.refused,
        }));
        out.sort_by_key(|b| std::cmp::Reverse(b.since_unix_ms));
        out
    }

    /// Lifts a ban (a source starts afresh: whole allowance, no failures; a
    /// user name's failures are forgotten). `false` when there was none.
    pub fn lift(&self, now: Instant, target: &BanTarget) -> bool {
        let at = self.at(now);
        match target {
            BanTarget::Source(key) => self.sources.lift(*key, at),
            BanTarget::User(name) => self
                .users
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .lift(name, at),
        }
    }

    /// Forgets sources and names that carry nothing any more (allowance
    /// whole, failures and bans over); returns how many. Run now and then
    /// so idle entries do not wait for a full table to go.
    pub fn sweep(&self, now: Instant) -> usize {
        let at = self.at(now);
        let window = self.limits.failure_window;
        self.sources.sweep(at, window)
            + self
                .users
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .sweep(at, window)
    }

    /// Counters, and gauges as of `now`.
    pub fn stats(&self, now: Instant) -> GuardStats {
        let at = self.at(now);
        let (sources, bans) = self.sources.counts(at);
        let (_, watches) = self
            .users
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .counts(at);
        let c = &self.counters;
        GuardStats {
            dropped: c.dropped.load(Ordering::Relaxed),
            rate_bans: c.rate_bans.load(Ordering::Relaxed),
            auth_bans: c.auth_bans.load(Ordering::Relaxed),
            user_watches: c.user_watches.load(Ordering::Relaxed),
            evictions: c.evictions.load(Ordering::Relaxed),
            sources: sources as u64,
            active_source_bans: bans as u64,
            active_user_watches: watches as u64,
        }
    }
}

#[cfg(test)]
mod tests;
