//! Replacing the set of trunks at run time ([`Switch::set_trunks`]). Trunks
//! are matched by name:
//! - unchanged: kept as they are (registration untouched);
//! - changed, still registering as the same account at the same registrar
//!   (gateway, transport, local address, user name and domain equal): the
//!   registration restarts at once with the new settings, under the same
//!   Call-ID (RFC 3261 §10.2.4), so the gateway replaces the binding rather
//!   than seeing two registrations race;
//! - changed otherwise: the old trunk is removed as below and the new one
//!   starts as a new trunk;
//! - removed: a registration the gateway holds (or may be about to grant)
//!   is removed with Expires 0 — the trunk stays, invisible, until that
//!   request ends — and anything else is dropped at once;
//! - new: registers as [`Switch::start`] would.
//!
//! Calls in progress keep going: their trunk legs hold the settings they
//! started with, and nothing of a call refers to a trunk by position.

use std::sync::Arc;
use std::time::Instant;

use sb_dialplan::ContextName;

use super::Trunk;
use super::registration::Phase;
use crate::config::TrunkConfig;
use crate::core::Switch;

/// Whether two settings register the same account at the same registrar
/// from the same address (so one registration can carry on).
fn same_registrar(old: &TrunkConfig, new: &TrunkConfig) -> bool {
    old.gateway == new.gateway
        && old.transport == new.transport
        && old.local == new.local
        && old.username == new.username
        && old.from_domain == new.from_domain
}

/// Whether `config` asks for a registration it can have.
fn registers(config: &TrunkConfig) -> bool {
    config.register && config.username.is_some() && config.has_gateway()
}

impl Switch {
    /// Replaces the trunks: [`Switch::trunks`] and the recognition of
    /// calls from trunks by source address use the new set at once; changed
    /// trunks restart their registration, removed ones are unregistered (if
    /// registered) and dropped, new ones start registering (once
    /// [`Switch::start`] ran). Calls in progress are not affected.
    pub fn set_trunks(&mut self, now: Instant, unix_ms: u64, trunks: Vec<TrunkConfig>) {
        let mut old = std::mem::take(&mut self.trunks);
        let mut next: Vec<Trunk> = Vec::with_capacity(trunks.len() + old.len());
        let mut begin: Vec<u64> = Vec::new();
        let mut leaving: Vec<Trunk> = Vec::new();
        for config in trunks {
            let found = old
                .iter()
                .position(|t| !t.retired && t.config.name == config.name);
            let Some(pos) = found else {
                let trunk = self.new_trunk(config);
                if trunk.registration.is_some() {
                    begin.push(trunk.id);
                }
                next.push(trunk);
                continue;
            };
            let mut trunk = old.remove(pos);
            if *trunk.config == config {
                next.push(trunk);
                continue;
            }
            let carry_on = registers(&config) && same_registrar(&trunk.config, &config);
            match trunk.registration.as_mut() {
                Some(reg) if carry_on => {
                    if let Some(t) = reg.timer.take() {
                        self.reg_timers.cancel(t);
                    }
                    if let Some(tx) = reg.tx.take() {
                        self.reg_by_tx.remove(&tx);
                        self.tx.abandon(tx);
                    }
                    reg.reconfigure(&config);
                    reg.phase = Phase::Idle;
                    trunk.context = ContextName::from(config.context.as_str());
                    trunk.config = Arc::new(config);
                    begin.push(trunk.id);
                    next.push(trunk);
                }
                _ => {
                    leaving.push(trunk);
                    let fresh = self.new_trunk(config);
                    if fresh.registration.is_some() {
                        begin.push(fresh.id);
                    }
                    next.push(fresh);
                }
            }
        }
        leaving.append(&mut old);
        let mut unregister: Vec<u64> = Vec::new();
        for mut trunk in leaving {
            if trunk.retired || self.retire(&mut trunk, &mut unregister) {
                next.push(trunk);
            }
        }
        self.trunks = next;
        if self.started && !self.shutting_down {
            for id in begin {
                self.begin_registration(now, id);
            }
        }
        for id in unregister {
            self.send_register(now, id, true);
        }
        self.drain_transactions(now, unix_ms);
    }

    /// Takes `trunk` out of service. Returns whether it must stay (retired)
    /// until its unregistration (listed in `unregister`) ends.
    fn retire(&mut self, trunk: &mut Trunk, unregister: &mut Vec<u64>) -> bool {
        let Some(reg) = trunk.registration.as_mut() else {
            return false;
        };
        if let Some(t) = reg.timer.take() {
            self.reg_timers.cancel(t);
        }
        match reg.phase {
            Phase::Registered | Phase::Sending { unregister: false } => {
                // A REGISTER in flight may still be granted: it is replaced
                // by the removal (same Call-ID, higher CSeq).
                if let Some(tx) = reg.tx.take() {
                    self.reg_by_tx.remove(&tx);
                    self.tx.abandon(tx);
                }
                reg.begin();
                unregister.push(trunk.id);
                trunk.retired = true;
                true
            }
            Phase::Sending { unregister: true } => {
                trunk.retired = true;
                true
            }
            Phase::Idle | Phase::Backoff | Phase::Stopped => false,
        }
    }
}
