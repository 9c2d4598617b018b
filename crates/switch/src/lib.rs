//! Switchboard's transaction user: the registrar (RFC 3261 §10), digest
//! authentication policy, and the request dispatch every later feature (call
//! control, dialplans, CDRs) plugs into. Sans-IO.
//!
//! Owns: the [`Switch`] state machine with its transaction layer, the in-memory
//! location table (registrations are served from memory and written behind to
//! the store through effects), the credential cache, and the decision of which
//! response every request gets.
//!
//! Must not depend on: tokio, sqlx, sockets, clocks or global randomness. Time
//! comes in as `now: Instant` (and wall-clock Unix milliseconds where records
//! need it); randomness comes from a seed in [`SwitchConfig`].
//!
//! How to drive it (see `sb-server` for the real driver):
//! 1. feed inputs: [`Switch::handle_inbound`] for each parsed message,
//!    [`Switch::handle_malformed`] for bytes that did not parse,
//!    [`Switch::handle_timeout`] when [`Switch::poll_timeout`]'s instant has
//!    come, [`Switch::handle_effect_result`] when an effect finishes;
//! 2. after every input, drain [`Switch::poll_transmit`] (send each
//!    [`Transmit`]), [`Switch::poll_effect`] (run each [`Effect`]; only
//!    [`Effect::FetchCredentials`] expects a result) and [`Switch::poll_event`].
//!
//! The REGISTER flow: no credentials → 401 with one stateless nonce challenge
//! per configured algorithm; credentials → nonce checked (HMAC, expiry →
//! `stale=true`), user's HA1 from the cache or through a
//! [`Effect::FetchCredentials`] effect (the request waits, at most
//! [`AuthPolicy::effect_timeout`], then 503), digest verified, nonce-count
//! replay refused; the registrar applies the contacts; 200 lists every binding
//! with its remaining time; [`Effect::PersistBinding`] /
//! [`Effect::RemoveBinding`] go to the store; expiry runs on a timer.
//! Unknown users, disabled users and wrong passwords get the very same answer
//! (a fresh 401), so REGISTER cannot tell which users exist.

mod auth;
mod config;
mod core;
mod domains;
mod effects;
mod events;
mod register;
pub mod registrar;
mod respond;
pub mod timers;

pub use config::{AuthPolicy, RegistrarPolicy, SwitchConfig};
pub use core::{Switch, Wakeup};
pub use effects::{BindingId, BindingRecord, Effect, EffectResult, EffectToken, StoredCredentials};
pub use events::{RemovalReason, SwitchEvent, SwitchStats};
pub use sb_sip_transaction::Transmit;
