//! Mapping between the switch's plain records and the store's rows, and from
//! the configuration file to the switch's policy.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use sb_sip_auth::Algorithm;
use sb_sip_message::{Aor, ByteStr, CallId, Transport};
use sb_sip_transaction::TimerConfig;
use sb_store::BindingRecord as StoredBinding;
use sb_switch::{
    AuthPolicy, BindingId, BindingRecord, CallPolicy, RegistrarPolicy, SwitchConfig, TrunkConfig,
};

use crate::Config;

/// The row of a binding; `this_node` names the node of this node's own
/// bindings.
pub(crate) fn to_store_binding(r: &BindingRecord, this_node: Option<&str>) -> StoredBinding {
    StoredBinding {
        aor: r.aor.to_string(),
        binding_id: r.binding_id.to_string(),
        contact: r.contact.to_string(),
        instance: r.instance.as_ref().map(ToString::to_string),
        reg_id: r.reg_id,
        q: r.q,
        call_id: r.call_id.to_string(),
        cseq: r.cseq,
        expires_at_unix_ms: unix_ms_i64(r.expires_unix_ms),
        transport: r.transport.as_str().to_owned(),
        source: r.source.to_string(),
        local: r.local.to_string(),
        user_agent: r.user_agent.as_ref().map(ToString::to_string),
        path: r.path.as_ref().map(ToString::to_string),
        node: r
            .node
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| this_node.map(str::to_owned)),
        updated_at_unix_ms: unix_ms_i64(r.updated_unix_ms),
    }
}

/// A stored row back into the switch's record; `None` (with a warning) for a
/// row this version cannot interpret.
/// A row written by `this_node` (or by a node without a name) is this node's
/// own binding; any other node's is reached through that node.
pub(crate) fn from_store_binding(
    s: &StoredBinding,
    this_node: Option<&str>,
) -> Option<BindingRecord> {
    let parsed = (|| -> anyhow::Result<BindingRecord> {
        Ok(BindingRecord {
            aor: Aor(ByteStr::from(s.aor.as_str())),
            binding_id: BindingId(ByteStr::from(s.binding_id.as_str())),
            contact: ByteStr::from(s.contact.as_str()),
            instance: s.instance.as_deref().map(ByteStr::from),
            reg_id: s.reg_id,
            q: s.q,
            call_id: CallId::from(s.call_id.as_str()),
            cseq: s.cseq,
            expires_unix_ms: u64::try_from(s.expires_at_unix_ms)?,
            transport: s
                .transport
                .parse::<Transport>()
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            source: s.source.parse().context("source")?,
            local: s.local.parse().context("local")?,
            user_agent: s.user_agent.as_deref().map(ByteStr::from),
            path: s.path.as_deref().map(ByteStr::from),
            updated_unix_ms: u64::try_from(s.updated_at_unix_ms)?,
            node: s
                .node
                .as_deref()
                .filter(|n| Some(*n) != this_node)
                .map(ByteStr::from),
        })
    })();
    match parsed {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::warn!(aor = %s.aor, binding = %s.binding_id, error = %e, "skipping unreadable stored binding");
            None
        }
    }
}

fn unix_ms_i64(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

/// The switch's configuration from the file's, the domains found in the
/// database, the server's addresses and fresh randomness.
pub(crate) fn switch_config(
    config: &Config,
    local_ips: Vec<IpAddr>,
    trunks: Vec<TrunkConfig>,
    nonce_secret: [u8; 32],
    seed: u64,
) -> SwitchConfig {
    let algorithms = config
        .auth
        .algorithms
        .iter()
        .map(|a| {
            a.parse::<Algorithm>()
                .expect("validated with the configuration")
        })
        .collect();
    SwitchConfig {
        domains: config
            .sip
            .domains
            .iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
        local_ips,
        server_header: Some(config.sip.server_header.clone()).filter(|s| !s.is_empty()),
        timers: TimerConfig {
            t1: config.sip.t1,
            t2: config.sip.t2,
            t4: config.sip.t4,
        },
        registrar: RegistrarPolicy {
            min_expires: config.registrar.min_expires,
            max_expires: config.registrar.max_expires,
            default_expires: config.registrar.default_expires,
            max_contacts: config.registrar.max_contacts,
        },
        auth: AuthPolicy {
            algorithms,
            nonce_lifetime: config.auth.nonce_lifetime,
            nonce_secret,
            credential_cache: config.auth.credential_cache,
            effect_timeout: Duration::from_secs(2),
        },
        calls: CallPolicy {
            no_answer_timeout: config.calls.no_answer_timeout,
            user_context: config.dialplan.user_context.clone(),
            keepalive_interval: Some(config.calls.nat_keepalive_interval).filter(|d| !d.is_zero()),
            keepalive_all_udp: config.calls.nat_keepalive_all_udp,
            max_calls: config.calls.max_calls,
            max_calls_per_user: config.calls.max_calls_per_user,
            user_groups: config
                .user_groups()
                .into_iter()
                .map(|(user, groups)| (user, groups.iter().map(|g| g.as_str().into()).collect()))
                .collect(),
            media_gateway: config.media.enabled,
            ..CallPolicy::default()
        },
        trunks,
        seed,
    }
}

/// The switch's trunks from their definitions (the configuration file's and
/// the database's): gateways resolved (host names looked up whenever the set
/// is applied), inbound address blocks completed with their ACL's, and the
/// local listener each trunk's requests leave from (a bound listener of its
/// transport and address family, one with a specific address first).
pub(crate) async fn trunks(
    defs: &[crate::config::TrunkConfig],
    acls: &std::collections::HashMap<String, Vec<sb_switch::IpPrefix>>,
    bound: &[(Transport, SocketAddr)],
) -> anyhow::Result<Vec<TrunkConfig>> {
    let mut out = Vec::with_capacity(defs.len());
    for t in defs {
        let gateway = if t.gateway.is_empty() {
            // Inbound only.
            SocketAddr::from(([0, 0, 0, 0], 0))
        } else {
            let (host, port) = t
                .gateway_host_port()
                .map_err(|m| anyhow::anyhow!("trunk `{}`: {m}", t.name))?;
            tokio::net::lookup_host((host.as_str(), port))
                .await
                .with_context(|| format!("trunk `{}`: cannot resolve gateway `{host}`", t.name))?
                .next()
                .with_context(|| format!("trunk `{}`: gateway `{host}` has no address", t.name))?
        };
        let mut addresses = t.inbound_blocks();
        if let Some(acl) = &t.acl {
            let blocks = acls
                .get(acl)
                .with_context(|| format!("trunk `{}`: no ACL named `{acl}`", t.name))?;
            addresses.extend(blocks.iter().copied());
        }
        let transport = t.transport.0;
        let candidates = || {
            bound
                .iter()
                .filter(|(tr, a)| *tr == transport && a.is_ipv4() == gateway.is_ipv4())
                .map(|(_, a)| *a)
        };
        let local = candidates()
            .find(|a| !a.ip().is_unspecified())
            .or_else(|| candidates().next());
        out.push(TrunkConfig {
            name: t.name.clone(),
            addresses,
            context: t.context.clone(),
            gateway,
            transport,
            local,
            username: t.username.clone(),
            password: t.password.clone(),
            register: t.register,
            register_expires: t.register_expires,
            from_user: t.from_user.clone(),
            from_domain: t.from_domain.clone(),
        });
    }
    Ok(out)
}
