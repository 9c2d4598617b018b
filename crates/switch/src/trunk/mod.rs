//! SIP trunks towards carriers and gateways: the outbound registrations
//! ([`registration`]), their timers and events, the live snapshot, and the
//! addresses requests to a gateway carry. Calls through trunks are legs of
//! the B2BUA (`call::trunk`).

pub(crate) mod registration;

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use sb_sip_message::{ByteStr, CallId, Destination, Host, Response, Transport, WriteSip};
use sb_sip_transaction::TxId;

use crate::call::dialog::LocalAddr;
use crate::config::TrunkConfig;
use crate::core::Switch;
use crate::events::SwitchEvent;
use registration::{Outcome, Phase, Registration};

/// A trunk as the live API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkSnapshot {
    /// Its name.
    pub name: String,
    /// Where outbound requests go.
    pub gateway: SocketAddr,
    /// Transport towards the gateway.
    pub transport: Transport,
    /// Whether the switch registers to the gateway.
    pub register: bool,
    /// Whether the gateway holds the switch's registration now.
    pub registered: bool,
    /// The interval (seconds) the gateway granted last, while registered.
    pub expires: Option<u32>,
    /// Why the last registration attempt failed, until one succeeds.
    pub last_failure: Option<String>,
}

/// Where requests to `trunk`'s gateway go.
pub(crate) fn destination(trunk: &TrunkConfig) -> Destination {
    Destination {
        transport: trunk.transport,
        remote: trunk.gateway,
        flow: None,
        local: trunk.local,
    }
}

fn push_ip(out: &mut String, ip: IpAddr) {
    let host = match ip {
        IpAddr::V4(a) => Host::Ipv4(a),
        IpAddr::V6(a) => Host::Ipv6(a),
    };
    host.write_to(out);
}

/// The gateway as URI host, with its port unless it is the transport's
/// default: `203.0.113.1`, `[2001:db8::1]:5080`.
pub(crate) fn push_gateway(out: &mut String, trunk: &TrunkConfig) {
    push_ip(out, trunk.gateway.ip());
    if trunk.gateway.port() != trunk.transport.default_port() {
        out.push(':');
        sb_sip_message::push_u32(out, u32::from(trunk.gateway.port()));
    }
}

/// The host of From on calls through `trunk` and of its registration's
/// address of record: `from_domain`, else the gateway's address.
pub(crate) fn push_from_domain(out: &mut String, trunk: &TrunkConfig) {
    match trunk.from_domain.as_deref().filter(|d| valid_host(d)) {
        Some(domain) => out.push_str(domain),
        None => push_ip(out, trunk.gateway.ip()),
    }
}

/// The registrar's URI (RFC 3261 §10.2: the domain, no user part):
/// `sip:` and `from_domain`, else the gateway's address and port.
pub(crate) fn registrar_uri(trunk: &TrunkConfig) -> String {
    let mut out = String::with_capacity(48);
    out.push_str("sip:");
    match trunk.from_domain.as_deref().filter(|d| valid_host(d)) {
        Some(domain) => out.push_str(domain),
        None => push_gateway(&mut out, trunk),
    }
    out
}

/// Whether `host` parses as a URI host (a configured domain that does not
/// is replaced by the gateway's address rather than breaking requests).
fn valid_host(host: &str) -> bool {
    !host.is_empty() && Host::parse(&ByteStr::from(host)).is_ok()
}

/// Appends a URI user part, %-escaping what RFC 3261 §25.1 does not allow
/// there unescaped (unreserved characters and `&=+$,;?/` are kept).
pub(crate) fn push_escaped_user(out: &mut String, user: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in user.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_'
                    | b'.'
                    | b'!'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b','
                    | b';'
                    | b'?'
                    | b'/'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

impl Switch {
    /// The registrations of the trunks that ask for one (the rest are
    /// skipped with a warning when they cannot register).
    pub(crate) fn build_registrations(&mut self) {
        for i in 0..self.config.trunks.len() {
            let trunk = &self.config.trunks[i];
            if !trunk.register {
                continue;
            }
            if trunk.username.is_none() || !trunk.has_gateway() {
                tracing::warn!(trunk = %trunk.name, "cannot register: needs a username and a gateway");
                continue;
            }
            let local = LocalAddr::for_destination(&destination(trunk), &self.config.local_ips);
            let mut call_id = String::with_capacity(32);
            call_id.push_str(self.new_tag().as_str());
            call_id.push_str(self.new_tag().as_str());
            let from_tag = self.new_tag();
            let trunk = &self.config.trunks[i];
            let reg = Registration::new(i, trunk, local, CallId::from(call_id), from_tag);
            self.registrations.push(reg);
        }
    }

    /// Starts the trunks' registrations: a REGISTER to every gateway the
    /// configuration asks to register to. Call once, after
    /// [`Switch::new`] (and restoring bindings); later calls do nothing.
    /// The first [`Switch::handle_timeout`] starts them too when this was
    /// never called.
    pub fn start(&mut self, now: Instant, _unix_ms: u64) {
        if self.started || self.shutting_down {
            return;
        }
        self.started = true;
        for i in 0..self.registrations.len() {
            self.registrations[i].begin();
            self.send_register(now, i, false);
        }
    }

    /// The trunks with their registration state.
    pub fn trunks(&self) -> Vec<TrunkSnapshot> {
        self.config
            .trunks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let reg = self.registrations.iter().find(|r| r.trunk == i);
                TrunkSnapshot {
                    name: t.name.clone(),
                    gateway: t.gateway,
                    transport: t.transport,
                    register: reg.is_some(),
                    registered: reg.is_some_and(|r| r.registered),
                    expires: reg.and_then(|r| r.granted),
                    last_failure: reg.and_then(|r| r.last_failure.clone()),
                }
            })
            .collect()
    }

    fn send_register(&mut self, now: Instant, i: usize, unregister: bool) {
        let branch = self.tx.new_branch();
        let cnonce = self.new_tag();
        let reg = &mut self.registrations[i];
        let trunk = &self.config.trunks[reg.trunk];
        let ua = self.config.server_header.as_deref();
        let request = reg.request(trunk, &branch, cnonce.as_str(), ua, unregister);
        match self.tx.send_request(now, request, destination(trunk)) {
            Ok(tx) => {
                reg.phase = Phase::Sending { unregister };
                reg.tx = Some(tx);
                self.reg_by_tx.insert(tx, i);
            }
            Err(e) => {
                reg.phase = Phase::Sending { unregister };
                let outcome = reg.on_failure(&e.to_string());
                self.registration_outcome(now, i, outcome);
            }
        }
    }

    /// Whether `tx` is a REGISTER of a trunk.
    pub(crate) fn is_trunk_register(&self, tx: TxId) -> bool {
        self.reg_by_tx.contains_key(&tx)
    }

    /// The gateway's answer to a trunk's REGISTER.
    pub(crate) fn on_register_response(&mut self, now: Instant, tx: TxId, response: &Response) {
        let Some(&i) = self.reg_by_tx.get(&tx) else {
            return;
        };
        if response.status.is_final() {
            self.reg_by_tx.remove(&tx);
            self.registrations[i].tx = None;
        }
        let reg = &mut self.registrations[i];
        let outcome = reg.on_response(&self.config.trunks[reg.trunk], response);
        self.registration_outcome(now, i, outcome);
    }

    /// A trunk's REGISTER timed out or could not be delivered.
    pub(crate) fn on_register_failure(&mut self, now: Instant, tx: TxId, reason: &str) {
        let Some(i) = self.reg_by_tx.remove(&tx) else {
            return;
        };
        let reg = &mut self.registrations[i];
        reg.tx = None;
        let outcome = reg.on_failure(reason);
        self.registration_outcome(now, i, outcome);
    }

    fn registration_outcome(&mut self, now: Instant, i: usize, outcome: Outcome) {
        let reg = &mut self.registrations[i];
        let trunk = ByteStr::from(self.config.trunks[reg.trunk].name.as_str());
        match outcome {
            Outcome::Wait => {}
            Outcome::Resend => {
                let unregister = matches!(reg.phase, Phase::Sending { unregister: true });
                self.send_register(now, i, unregister);
            }
            Outcome::Registered { expires, refresh } => {
                self.events
                    .push_back(SwitchEvent::TrunkRegistered { trunk, expires });
                if self.shutting_down {
                    reg.begin();
                    self.send_register(now, i, true);
                } else {
                    reg.phase = Phase::Registered;
                    reg.timer = Some(self.reg_timers.insert(now + refresh, i));
                }
            }
            Outcome::Unregistered => {
                reg.phase = Phase::Stopped;
                self.events
                    .push_back(SwitchEvent::TrunkUnregistered { trunk });
            }
            Outcome::Failed {
                status,
                reason,
                retry,
            } => {
                tracing::debug!(%trunk, ?status, %reason, "trunk registration failed");
                self.events.push_back(SwitchEvent::TrunkRegistrationFailed {
                    trunk,
                    status,
                    reason,
                });
                match retry {
                    Some(retry) if !self.shutting_down => {
                        reg.phase = Phase::Backoff;
                        reg.timer = Some(self.reg_timers.insert(now + retry, i));
                    }
                    _ => reg.phase = Phase::Stopped,
                }
            }
        }
    }

    /// Refreshes and retries that are due.
    pub(crate) fn registration_timers(&mut self, now: Instant) {
        if !self.started && !self.shutting_down {
            self.start(now, 0);
        }
        while let Some(i) = self.reg_timers.pop_due(now) {
            let reg = &mut self.registrations[i];
            reg.timer = None;
            if self.shutting_down || !matches!(reg.phase, Phase::Registered | Phase::Backoff) {
                continue;
            }
            reg.begin();
            self.send_register(now, i, false);
        }
    }

    /// Shutdown: every registration the gateway holds is removed (REGISTER
    /// with Expires 0); one in flight is removed once it succeeds.
    pub(crate) fn unregister_trunks(&mut self, now: Instant) {
        for i in 0..self.registrations.len() {
            let reg = &mut self.registrations[i];
            if let Some(t) = reg.timer.take() {
                self.reg_timers.cancel(t);
            }
            match reg.phase {
                Phase::Registered => {
                    reg.begin();
                    self.send_register(now, i, true);
                }
                Phase::Sending { .. } => {}
                Phase::Idle | Phase::Backoff | Phase::Stopped => reg.phase = Phase::Stopped,
            }
        }
    }

    /// Whether a trunk's REGISTER is in flight.
    pub(crate) fn registering(&self) -> bool {
        self.registrations.iter().any(|r| r.tx.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_a_gateway() {
        let mut trunk = TrunkConfig {
            gateway: "[2001:db8::1]:5080".parse().unwrap(),
            ..TrunkConfig::default()
        };
        let mut out = String::new();
        push_gateway(&mut out, &trunk);
        assert_eq!(out, "[2001:db8::1]:5080");
        assert_eq!(registrar_uri(&trunk), "sip:[2001:db8::1]:5080");
        trunk.gateway = "203.0.113.1:5060".parse().unwrap();
        assert_eq!(registrar_uri(&trunk), "sip:203.0.113.1");
        trunk.from_domain = Some("sip.carrier.example".into());
        assert_eq!(registrar_uri(&trunk), "sip:sip.carrier.example");
        trunk.from_domain = Some("bad host".into());
        let mut out = String::new();
        push_from_domain(&mut out, &trunk);
        assert_eq!(out, "203.0.113.1");
        let mut out = String::new();
        push_escaped_user(&mut out, "+49 30#1*2");
        assert_eq!(out, "+49%2030%231*2");
    }
}
