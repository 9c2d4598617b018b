//! Digest authentication policy (RFC 3261 §22, RFC 8760): which challenge to
//! send, and whether credentials prove the claimed user. Credentials come from
//! a cache filled through [`crate::Effect::FetchCredentials`]. Unknown and
//! disabled users are verified against a dummy secret, so they cost and answer
//! exactly like a wrong password.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use foldhash::fast::FixedState;
use sb_sip_auth::{
    Algorithm, Challenge, Credentials, Ha1, NonceCheck, NonceCounter, NonceIssuer, compute_ha1,
    verify,
};
use sb_sip_message::{ByteStr, HeaderName, Request};

use crate::config::AuthPolicy;
use crate::effects::StoredCredentials;

/// Most nonces whose counts are remembered (RFC 7616 §3.4 nc replay checks).
const NONCE_COUNTER_CAPACITY: usize = 1_000_000;
/// Most users whose credentials are cached.
const CACHE_CAPACITY: usize = 200_000;

/// The decision on a request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The request proves `username` (as written in the credentials).
    Authenticated {
        /// The authenticated user name.
        username: ByteStr,
    },
    /// No usable credentials for this realm: send a challenge
    /// (`stale=true` when only the nonce was too old or its count was reused).
    Challenge {
        /// Whether to set `stale=true`.
        stale: bool,
    },
    /// The user's credentials are needed: fetch them and ask again.
    Fetch {
        /// The user name to look up.
        username: ByteStr,
    },
    /// Credentials were wrong (or the user is unknown or disabled).
    Rejected {
        /// The claimed user name.
        username: ByteStr,
    },
    /// The credentials header is malformed.
    BadRequest(String),
}

struct CacheEntry {
    credentials: Option<StoredCredentials>,
    fetched: Instant,
}

/// Challenges, verification, the nonce-count table and the credential cache.
pub(crate) struct Authenticator {
    algorithms: Vec<Algorithm>,
    issuer: NonceIssuer,
    counter: NonceCounter,
    /// Keyed by `username NUL realm`, looked up through `key_buf` without
    /// allocating.
    cache: HashMap<ByteStr, CacheEntry, FixedState>,
    key_buf: String,
    cache_ttl: Duration,
    dummy: [Ha1; 2],
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("algorithms", &self.algorithms)
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    pub(crate) fn new(policy: &AuthPolicy, seed: u64) -> Authenticator {
        // A per-instance dummy secret nobody can know: derived from the nonce
        // secret, which never leaves the process.
        let dummy_password = format!(
            "{:x}{seed:x}",
            u128::from_le_bytes(policy.nonce_secret[..16].try_into().expect("16 bytes"),)
        );
        Authenticator {
            algorithms: policy.algorithms.clone(),
            issuer: NonceIssuer::new(&policy.nonce_secret, policy.nonce_lifetime),
            counter: NonceCounter::new(
                NonZeroUsize::new(NONCE_COUNTER_CAPACITY).expect("non-zero"),
                policy.nonce_lifetime,
            ),
            cache: HashMap::with_hasher(FixedState::with_seed(seed)),
            key_buf: String::with_capacity(64),
            cache_ttl: policy.credential_cache,
            dummy: [
                compute_ha1(Algorithm::Md5, "-", "-", &dummy_password),
                compute_ha1(Algorithm::Sha256, "-", "-", &dummy_password),
            ],
        }
    }

    /// The challenge header values for `realm`: one per configured algorithm,
    /// preferred first, sharing one fresh nonce.
    pub(crate) fn challenges(&self, realm: &str, stale: bool, unix_ms: u64) -> Vec<String> {
        let nonce = self.issuer.issue(unix_ms, realm);
        self.algorithms
            .iter()
            .map(|&algorithm| {
                let mut c = Challenge::new(realm, nonce.as_str(), algorithm);
                c.stale = stale;
                let mut value = String::with_capacity(128);
                c.write_value(&mut value)
                    .expect("writing to a String cannot fail");
                value
            })
            .collect()
    }

    fn cache_key(buf: &mut String, username: &str, realm: &str) {
        buf.clear();
        buf.push_str(username);
        buf.push('\0');
        buf.push_str(realm);
    }

    /// Decides on the credentials `request` carries in `header` for `realm`.
    pub(crate) fn check(
        &mut self,
        request: &Request,
        header: &HeaderName,
        realm: &str,
        now: Instant,
        unix_ms: u64,
    ) -> Verdict {
        // Several credentials may be present (one per realm); use ours.
        let mut creds = None;
        for value in request.headers.get_all(header) {
            match Credentials::parse(value) {
                Ok(c) if c.realm().eq_ignore_ascii_case(realm) => {
                    creds = Some(c);
                    break;
                }
                Ok(_) => {}
                Err(e) => return Verdict::BadRequest(format!("malformed {header}: {e}")),
            }
        }
        let Some(creds) = creds else {
            return Verdict::Challenge { stale: false };
        };
        if !self.algorithms.contains(&creds.algorithm()) {
            return Verdict::Challenge { stale: false };
        }
        let nonce = match self.issuer.check(creds.nonce(), realm, unix_ms) {
            NonceCheck::Valid { id } => Ok(id),
            NonceCheck::Stale { id } => Err(id),
            // Not ours (forged, or from before a restart with a new secret).
            NonceCheck::Invalid => return Verdict::Challenge { stale: false },
        };
        Self::cache_key(&mut self.key_buf, creds.username(), realm);
        let stored = match self.cache.get(self.key_buf.as_str()) {
            Some(entry) if now.saturating_duration_since(entry.fetched) < self.cache_ttl => {
                entry.credentials.as_ref()
            }
            _ => {
                return Verdict::Fetch {
                    username: ByteStr::from(creds.username()),
                };
            }
        };
        let ha1 = stored
            .filter(|c| c.enabled)
            .and_then(|c| match creds.algorithm() {
                Algorithm::Md5 => c.ha1_md5.as_ref(),
                Algorithm::Sha256 => c.ha1_sha256.as_ref(),
            });
        let (ha1, known) = match ha1 {
            Some(h) => (h, true),
            None => (
                match creds.algorithm() {
                    Algorithm::Md5 => &self.dummy[0],
                    Algorithm::Sha256 => &self.dummy[1],
                },
                false,
            ),
        };
        let correct = verify(&creds, request.method.as_str(), ha1).is_ok() && known;
        if !correct {
            return Verdict::Rejected {
                username: ByteStr::from(creds.username()),
            };
        }
        let id = match nonce {
            Ok(id) => id,
            // Right password, old nonce: let the client retry silently.
            Err(_) => return Verdict::Challenge { stale: true },
        };
        if self
            .counter
            .check_and_record(id, creds.nonce_count(), unix_ms)
            .is_err()
        {
            return Verdict::Challenge { stale: true };
        }
        Verdict::Authenticated {
            username: ByteStr::from(creds.username()),
        }
    }

    /// Caches a lookup's result (`None`: no such user).
    pub(crate) fn store_credentials(
        &mut self,
        username: &str,
        domain: &str,
        credentials: Option<StoredCredentials>,
        now: Instant,
    ) {
        if self.cache.len() >= CACHE_CAPACITY {
            let ttl = self.cache_ttl;
            self.cache
                .retain(|_, e| now.saturating_duration_since(e.fetched) < ttl);
            if self.cache.len() >= CACHE_CAPACITY {
                self.cache.clear();
            }
        }
        Self::cache_key(&mut self.key_buf, username, domain);
        self.cache.insert(
            ByteStr::from(self.key_buf.as_str()),
            CacheEntry {
                credentials,
                fetched: now,
            },
        );
    }

    /// Whether `username` exists at `domain`, from the cache: `None` when the
    /// cache does not know (a lookup is needed). Disabled users exist.
    pub(crate) fn known_user(
        &mut self,
        username: &str,
        domain: &str,
        now: Instant,
    ) -> Option<bool> {
        Self::cache_key(&mut self.key_buf, username, domain);
        match self.cache.get(self.key_buf.as_str()) {
            Some(entry) if now.saturating_duration_since(entry.fetched) < self.cache_ttl => {
                Some(entry.credentials.is_some())
            }
            _ => None,
        }
    }

    /// Forgets every cached credential.
    pub(crate) fn invalidate(&mut self) {
        self.cache.clear();
    }
}
