//! SIP trunks towards carriers and gateways: the outbound registrations
//! ([`registration`]), their timers and events, the live snapshot, the
//! addresses requests to a gateway carry, and replacing the set of trunks
//! at run time ([`reconfigure`]). Calls through trunks are legs of
//! the B2BUA (`call::trunk`).

mod reconfigure;
pub(crate) mod registration;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use sb_dialplan::ContextName;
use sb_sip_message::{ByteStr, CallId, Destination, Host, Response, Transport, WriteSip};
use sb_sip_transaction::TxId;

use crate::acl::trunk_admits;
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

/// A configured trunk as the switch holds it.
#[derive(Debug)]
pub(crate) struct Trunk {
    /// Never reused, so registration transactions and timers still find
    /// their trunk (or find none) after the set of trunks changed.
    pub(crate) id: u64,
    /// Shared with the call legs that go through the trunk, which keep the
    /// settings they started with when the trunk changes or goes.
    pub(crate) config: Arc<TrunkConfig>,
    /// Dialplan context calls from this trunk start in.
    pub(crate) context: ContextName,
    /// Its registration to the gateway, when it registers.
    pub(crate) registration: Option<Registration>,
    /// No longer configured: kept only until the gateway has removed its
    /// registration; invisible otherwise.
    pub(crate) retired: bool,
}

impl Trunk {
    /// Whether this trunk's addresses contain `ip`.
    pub(crate) fn admits(&self, ip: IpAddr) -> bool {
        !self.retired && trunk_admits(&self.config, ip)
    }
}

impl Switch {
    /// A trunk for `config`, with its registration when it asks for one (a
    /// trunk that cannot register is kept with a warning).
    pub(crate) fn new_trunk(&mut self, config: TrunkConfig) -> Trunk {
        let id = self.next_trunk_id;
        self.next_trunk_id += 1;
        let registration = if !config.register {
            None
        } else if config.username.is_none() || !config.has_gateway() {
            tracing::warn!(trunk = %config.name, "cannot register: needs a username and a gateway");
            None
        } else {
            let local = LocalAddr::for_destination(&destination(&config), &self.config.local_ips);
            let mut call_id = String::with_capacity(32);
            call_id.push_str(self.new_tag().as_str());
            call_id.push_str(self.new_tag().as_str());
            let from_tag = self.new_tag();
            Some(Registration::new(
                &config,
                local,
                CallId::from(call_id),
                from_tag,
            ))
        };
        Trunk {
            id,
            context: ContextName::from(config.context.as_str()),
            config: Arc::new(config),
            registration,
            retired: false,
        }
    }

    /// The position of trunk `id` in `self.trunks`.
    pub(crate) fn trunk_position(&self, id: u64) -> Option<usize> {
        self.trunks.iter().position(|t| t.id == id)
    }

    /// The position of the first configured trunk whose addresses contain
    /// `ip` (valid until the trunks change).
    pub(crate) fn trunk_of(&self, ip: IpAddr) -> Option<usize> {
        self.trunks.iter().position(|t| t.admits(ip))
    }

    /// The configured trunk named `name` that can take outbound calls.
    pub(crate) fn outbound_trunk(&self, name: &str) -> Option<&Arc<TrunkConfig>> {
        self.trunks
            .iter()
            .find(|t| !t.retired && t.config.name == name && t.config.has_gateway())
            .map(|t| &t.config)
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
        let ids: Vec<u64> = self
            .trunks
            .iter()
            .filter(|t| t.registration.is_some())
            .map(|t| t.id)
            .collect();
        for id in ids {
            self.begin_registration(now, id);
        }
    }

    /// The trunks with their registration state, in configured order.
    pub fn trunks(&self) -> Vec<TrunkSnapshot> {
        self.trunks
            .iter()
            .filter(|t| !t.retired)
            .map(|t| {
                let reg = t.registration.as_ref();
                TrunkSnapshot {
                    name: t.config.name.clone(),
                    gateway: t.config.gateway,
                    transport: t.config.transport,
                    register: reg.is_some(),
                    registered: reg.is_some_and(|r| r.registered),
                    expires: reg.and_then(|r| r.granted),
                    last_failure: reg.and_then(|r| r.last_failure.clone()),
                }
            })
            .collect()
    }

    /// Sends the first REGISTER of a new request chain of trunk `id`.
    pub(crate) fn begin_registration(&mut self, now: Instant, id: u64) {
        let Some(pos) = self.trunk_position(id) else {
            return;
        };
        if let Some(reg) = self.trunks[pos].registration.as_mut() {
            reg.begin();
            self.send_register(now, id, false);
        }
    }

    pub(crate) fn send_register(&mut self, now: Instant, id: u64, unregister: bool) {
        let Some(pos) = self.trunk_position(id) else {
            return;
        };
        let branch = self.tx.new_branch();
        let cnonce = self.new_tag();
        let trunk = &mut self.trunks[pos];
        let Some(reg) = trunk.registration.as_mut() else {
            return;
        };
        let ua = self.config.server_header.as_deref();
        let request = reg.request(&trunk.config, &branch, cnonce.as_str(), ua, unregister);
        reg.phase = Phase::Sending { unregister };
        match self
            .tx
            .send_request(now, request, destination(&trunk.config))
        {
            Ok(tx) => {
                reg.tx = Some(tx);
                self.reg_by_tx.insert(tx, id);
            }
            Err(e) => {
                let outcome = reg.on_failure(&e.to_string());
                self.registration_outcome(now, id, outcome);
            }
        }
    }

    /// Whether `tx` is a REGISTER of a trunk.
    pub(crate) fn is_trunk_register(&self, tx: TxId) -> bool {
        self.reg_by_tx.contains_key(&tx)
    }

    /// The registration of trunk `id` and the trunk's settings.
    fn registration_mut(&mut self, id: u64) -> Option<(&mut Registration, &TrunkConfig)> {
        let trunk = self.trunks.iter_mut().find(|t| t.id == id)?;
        Some((trunk.registration.as_mut()?, &trunk.config))
    }

    /// A trunk's REGISTER transaction ended.
    pub(crate) fn register_terminated(&mut self, tx: TxId) {
        if let Some(id) = self.reg_by_tx.remove(&tx)
            && let Some((reg, _)) = self.registration_mut(id)
            && reg.tx == Some(tx)
        {
            reg.tx = None;
        }
    }

    /// The gateway's answer to a trunk's REGISTER.
    pub(crate) fn on_register_response(&mut self, now: Instant, tx: TxId, response: &Response) {
        let Some(&id) = self.reg_by_tx.get(&tx) else {
            return;
        };
        if response.status.is_final() {
            self.reg_by_tx.remove(&tx);
        }
        let Some((reg, trunk)) = self.registration_mut(id) else {
            return;
        };
        if response.status.is_final() {
            reg.tx = None;
        }
        let outcome = reg.on_response(trunk, response);
        self.registration_outcome(now, id, outcome);
    }

    /// A trunk's REGISTER timed out or could not be delivered.
    pub(crate) fn on_register_failure(&mut self, now: Instant, tx: TxId, reason: &str) {
        let Some(id) = self.reg_by_tx.remove(&tx) else {
            return;
        };
        let Some((reg, _)) = self.registration_mut(id) else {
            return;
        };
        reg.tx = None;
        let outcome = reg.on_failure(reason);
        self.registration_outcome(now, id, outcome);
    }

    fn registration_outcome(&mut self, now: Instant, id: u64, outcome: Outcome) {
        let Some(pos) = self.trunk_position(id) else {
            return;
        };
        let trunk = &mut self.trunks[pos];
        let retired = trunk.retired;
        let name = ByteStr::from(trunk.config.name.as_str());
        let Some(reg) = trunk.registration.as_mut() else {
            return;
        };
        match outcome {
            Outcome::Wait => {}
            Outcome::Resend => {
                let unregister = matches!(reg.phase, Phase::Sending { unregister: true });
                self.send_register(now, id, unregister);
            }
            Outcome::Registered { expires, refresh } => {
                self.events.push_back(SwitchEvent::TrunkRegistered {
                    trunk: name,
                    expires,
                });
                if self.shutting_down || retired {
                    reg.begin();
                    self.send_register(now, id, true);
                } else {
                    reg.phase = Phase::Registered;
                    reg.timer = Some(self.reg_timers.insert(now + refresh, id));
                }
            }
            Outcome::Unregistered => {
                reg.phase = Phase::Stopped;
                self.events
                    .push_back(SwitchEvent::TrunkUnregistered { trunk: name });
                if retired {
                    self.trunks.remove(pos);
                }
            }
            Outcome::Failed {
                status,
                reason,
                retry,
            } => {
                tracing::debug!(trunk = %name, ?status, %reason, "trunk registration failed");
                self.events.push_back(SwitchEvent::TrunkRegistrationFailed {
                    trunk: name,
                    status,
                    reason,
                });
                match retry {
                    Some(retry) if !self.shutting_down && !retired => {
                        reg.phase = Phase::Backoff;
                        reg.timer = Some(self.reg_timers.insert(now + retry, id));
                    }
                    _ => {
                        reg.phase = Phase::Stopped;
                        if retired {
                            self.trunks.remove(pos);
                        }
                    }
                }
            }
        }
    }

    /// Refreshes and retries that are due.
    pub(crate) fn registration_timers(&mut self, now: Instant) {
        if !self.started && !self.shutting_down {
            self.start(now, 0);
        }
        while let Some(id) = self.reg_timers.pop_due(now) {
            let shutting_down = self.shutting_down;
            let Some((reg, _)) = self.registration_mut(id) else {
                continue;
            };
            reg.timer = None;
            if shutting_down || !matches!(reg.phase, Phase::Registered | Phase::Backoff) {
                continue;
            }
            self.begin_registration(now, id);
        }
    }

    /// Shutdown: every registration the gateway holds is removed (REGISTER
    /// with Expires 0); one in flight is removed once it succeeds.
    pub(crate) fn unregister_trunks(&mut self, now: Instant) {
        let ids: Vec<u64> = self.trunks.iter().map(|t| t.id).collect();
        for id in ids {
            let Some((reg, _)) = self.registration_mut(id) else {
                continue;
            };
            let timer = reg.timer.take();
            let registered = match reg.phase {
                Phase::Registered => {
                    reg.begin();
                    true
                }
                Phase::Sending { .. } => false,
                Phase::Idle | Phase::Backoff | Phase::Stopped => {
                    reg.phase = Phase::Stopped;
                    false
                }
            };
            if let Some(t) = timer {
                self.reg_timers.cancel(t);
            }
            if registered {
                self.send_register(now, id, true);
            }
        }
    }

    /// Whether a trunk's REGISTER is in flight.
    pub(crate) fn registering(&self) -> bool {
        self.trunks
            .iter()
            .any(|t| t.registration.as_ref().is_some_and(|r| r.tx.is_some()))
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
