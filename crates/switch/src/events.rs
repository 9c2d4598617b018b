//! Events: what happened, for logs, metrics and the live API. The switch never
//! needs an answer to an event.

use sb_sip_message::{Aor, ByteStr, Peer};

/// Why a binding went away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// The device unregistered (expires 0 or `Contact: *`).
    Unregistered,
    /// Its registration expired.
    Expired,
}

/// Something the switch did or saw.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchEvent {
    /// A binding was added or refreshed.
    Registered {
        /// Address of record.
        aor: Aor,
        /// The Contact value (URI and parameters).
        contact: ByteStr,
        /// Granted duration, seconds.
        expires: u32,
    },
    /// A binding was removed.
    Unregistered {
        /// Address of record.
        aor: Aor,
        /// The Contact value (URI and parameters).
        contact: ByteStr,
        /// Why.
        reason: RemovalReason,
    },
    /// Credentials were presented and were wrong (wrong password, unknown
    /// user, replayed nonce count). `username` is what the request claimed.
    AuthFailed {
        /// Where the request came from.
        peer: Peer,
        /// The claimed user name.
        username: ByteStr,
    },
    /// A message could not be parsed or failed validation.
    Malformed {
        /// Where it came from.
        peer: Peer,
        /// Why.
        reason: String,
        /// Whether a 400 was sent (otherwise it was dropped).
        answered: bool,
    },
    /// An effect failed (the database did not answer).
    EffectFailed {
        /// What went wrong.
        reason: String,
    },
}

/// Counters since start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchStats {
    /// Requests received (after transaction matching: retransmissions excluded).
    pub requests: u64,
    /// Responses sent, by class (index 1 = 1xx … 6 = 6xx).
    pub responses_by_class: [u64; 7],
    /// Malformed messages answered with 400.
    pub malformed_answered: u64,
    /// Malformed messages dropped (no usable Via).
    pub malformed_dropped: u64,
    /// Successful registrations (REGISTER answered 200 with a change).
    pub registrations: u64,
    /// Authentication failures.
    pub auth_failures: u64,
    /// Challenges sent (401/407).
    pub challenges: u64,
    /// Credential lookups started.
    pub credential_fetches: u64,
    /// Bindings currently held.
    pub bindings: u64,
    /// Addresses of record with at least one binding.
    pub aors: u64,
}
