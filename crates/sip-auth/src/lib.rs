//! SIP Digest authentication for Switchboard (RFC 3261 §22 with RFC 2617
//! semantics, RFC 7616 for SHA-256, RFC 8760 for SHA-256 in SIP).
//!
//! Owns: the [`Algorithm`]s (MD5, SHA-256; `-sess` variants are rejected),
//! the [`Ha1`] secret that replaces stored passwords, building and parsing
//! challenges ([`Challenge`]), parsing credentials ([`Credentials`]), verifying
//! responses in constant time ([`verify`]), stateless HMAC nonces
//! ([`NonceIssuer`]), nonce-count replay protection in bounded memory
//! ([`NonceCounter`]) and the client side ([`respond`]) for registering to
//! trunks.
//!
//! Must not depend on: any other Switchboard crate (it works on header *values*
//! as `&str`), I/O, a database, a clock or a global RNG. Times are Unix
//! milliseconds passed in; the nonce secret and client cnonces are passed in.
//!
//! Secrets never show: [`Ha1`] and [`NonceIssuer`] redact themselves in `Debug`,
//! [`Credentials`] redacts `response`, and errors carry no values of secrets.
//!
//! # Server flow
//!
//! The registrar keeps one [`NonceIssuer`] and one [`NonceCounter`] with the same
//! lifetime, and stores an HA1 per user, realm and algorithm.
//!
//! 1. A request without credentials: issue a nonce and send one challenge per
//!    algorithm, preferred first ([`Challenge::offer`], RFC 8760 §2.4).
//! 2. A request with credentials: [`Credentials::parse`] (malformed → 400),
//!    compare [`Credentials::realm`] with the realm challenged.
//! 3. [`NonceIssuer::check`]: `Stale` → challenge again with `stale=true`;
//!    `Invalid` → challenge again.
//! 4. Fetch the HA1 for the username, realm and [`Credentials::algorithm`], then
//!    [`verify`] (failure → challenge again or 403, by policy).
//! 5. [`NonceCounter::check_and_record`] with [`Credentials::nonce_count`]; a
//!    [`Replay`] → challenge again with `stale=true`. This runs after `verify`
//!    so that forged requests cannot advance a client's count.
//!
//! Responses without `qop` (RFC 2069 phones) are accepted; they count as
//! `nc=1`, so each such nonce serves one request. The caller also compares
//! [`Credentials::uri`] with the Request-URI, which needs SIP URI comparison.
//!
//! ```
//! use std::num::NonZeroUsize;
//! use std::time::Duration;
//!
//! use sb_sip_auth::{
//!     Algorithm, Challenge, ClientSecret, Credentials, NonceCheck, NonceCounter,
//!     NonceIssuer, compute_ha1, respond, verify,
//! };
//!
//! let realm = "example.test";
//! let lifetime = Duration::from_secs(300);
//! let issuer = NonceIssuer::new(&[7; 32], lifetime);
//! let mut counter = NonceCounter::new(NonZeroUsize::new(100_000).unwrap(), lifetime);
//! // Stored at provisioning time; the password itself is never kept.
//! let stored = compute_ha1(Algorithm::Sha256, "alice", realm, "correct horse");
//!
//! // 1. Challenge (one WWW-Authenticate header per value).
//! let now = 1_700_000_000_000;
//! let nonce = issuer.issue(now, realm);
//! let headers: Vec<String> = Challenge::offer(realm, &nonce, false)
//!     .iter()
//!     .map(ToString::to_string)
//!     .collect();
//! assert!(headers[0].starts_with("Digest realm=\"example.test\", nonce=\""));
//!
//! // The phone answers the preferred challenge.
//! let challenge = Challenge::choose(headers.iter().map(String::as_str)).unwrap();
//! let authorization = respond(
//!     &challenge,
//!     "REGISTER",
//!     "sip:example.test",
//!     "alice",
//!     ClientSecret::Password("correct horse"),
//!     "0a4f113b",
//!     1,
//! )
//! .unwrap();
//!
//! // 2. Parse and check the realm.
//! let now = now + 150;
//! let creds = Credentials::parse(&authorization).unwrap();
//! assert_eq!(creds.realm(), realm);
//! // 3. Check the nonce.
//! let NonceCheck::Valid { id } = issuer.check(creds.nonce(), realm, now) else {
//!     panic!("challenge again");
//! };
//! // 4. Verify against the HA1 for the credentials' algorithm.
//! assert_eq!(creds.algorithm(), stored.algorithm());
//! verify(&creds, "REGISTER", &stored).unwrap();
//! // 5. Record the nonce count; the same request again is a replay.
//! counter.check_and_record(id, creds.nonce_count(), now).unwrap();
//! assert!(counter.check_and_record(id, creds.nonce_count(), now).is_err());
//! ```

mod algorithm;
mod challenge;
mod counter;
mod credentials;
mod digest;
mod error;
mod nonce;
mod params;

pub use algorithm::{Algorithm, Ha1, compute_ha1};
pub use challenge::{Challenge, Qop};
pub use counter::{NonceCounter, Replay};
pub use credentials::Credentials;
pub use digest::{ClientSecret, VerifyFailure, respond, verify};
pub use error::AuthError;
pub use nonce::{DEFAULT_MAX_SKEW, NONCE_LEN, NonceCheck, NonceId, NonceIssuer};
