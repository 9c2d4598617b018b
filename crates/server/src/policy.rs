//! What the switch must know beyond the configuration file, read from the
//! store and handed to the switch task: the user directory (extensions,
//! groups, call permissions) and the trunk set (the file's trunks plus the
//! database's, with their ACLs).
//!
//! Both are re-read whole when something changes (an API write, or another
//! process's write noticed through the store's change counters) — rare
//! events, never on the SIP path.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use sb_sip_message::Transport;
use sb_store::{Store, StoredTrunk};
use sb_switch::{DirectoryUser, GroupPolicy, IpPrefix, UserDirectory};
use tokio::sync::{mpsc, oneshot};

use crate::config::{Config, TransportName, TrunkConfig};
use crate::dialplan_edit::{DialplanFiles, EditError, Requirements};
use crate::sip::{ApiRequest, Control};

/// Reads users and groups and hands them, with the served domains, to the
/// switch. `Err` says what the switch refused (a bad pattern).
pub(crate) async fn push_directory(
    store: &Store,
    control: &mpsc::Sender<Control>,
) -> anyhow::Result<()> {
    let directory = load_directory(store).await?;
    let domains = store
        .list_domains()
        .await
        .context("cannot read user domains")?;
    let (done, result) = oneshot::channel();
    control
        .send(Control::Api(ApiRequest::Directory {
            directory,
            domains,
            done,
        }))
        .await
        .context("the switch has stopped")?;
    result
        .await
        .context("the switch has stopped")?
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// The user directory as the store has it (enabled users only).
pub(crate) async fn load_directory(store: &Store) -> anyhow::Result<UserDirectory> {
    let users = store
        .user_directory()
        .await
        .context("cannot read the users")?;
    let groups = store
        .list_groups()
        .await
        .context("cannot read the groups")?;
    Ok(UserDirectory {
        users: users
            .into_iter()
            .filter(|u| u.enabled)
            .map(|u| DirectoryUser {
                username: u.username,
                domain: u.domain,
                extension: u.extension,
                context: u.context,
                groups: u.groups,
                allow: u.call_allow,
                deny: u.call_deny,
            })
            .collect(),
        groups: groups
            .into_iter()
            .map(|g| GroupPolicy {
                name: g.name,
                context: g.context,
                allow: g.call_allow,
                deny: g.call_deny,
            })
            .collect(),
    })
}

/// The trunk definitions in force: the configuration file's, then the
/// database's enabled ones (a database trunk named like a file trunk is
/// skipped with a warning).
pub(crate) async fn trunk_definitions(
    config: &Config,
    store: &Store,
) -> anyhow::Result<Vec<TrunkConfig>> {
    let mut defs = config.trunks.clone();
    for t in store
        .list_trunks()
        .await
        .context("cannot read the trunks")?
    {
        if defs.iter().any(|d| d.name == t.name) {
            tracing::warn!(trunk = %t.name, "a trunk of the configuration file has this name; the database's is ignored");
            continue;
        }
        if t.enabled {
            defs.push(from_stored(&t)?);
        }
    }
    Ok(defs)
}

/// A database trunk as a file trunk.
fn from_stored(t: &StoredTrunk) -> anyhow::Result<TrunkConfig> {
    let transport = match t.transport.as_str() {
        "tcp" => Transport::Tcp,
        "tls" => Transport::Tls,
        _ => Transport::Udp,
    };
    let inbound = t
        .addresses
        .iter()
        .map(|a| {
            a.parse::<IpPrefix>()
                .map_err(|e| anyhow::anyhow!("trunk `{}`: `{a}`: {e}", t.name))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(TrunkConfig {
        name: t.name.clone(),
        gateway: t.gateway.clone().unwrap_or_default(),
        transport: TransportName(transport),
        // Trunks managed through the API have no setting of their own.
        tls_verify: true,
        inbound,
        acl: t.acl.clone(),
        context: t.context.clone(),
        username: t.username.clone(),
        password: t.password.clone(),
        register: t.register,
        register_expires: t.register_expires,
        from_user: t.from_user.clone(),
        from_domain: t.from_domain.clone(),
    })
}

/// The address blocks of every ACL, by name. An entry that does not parse
/// (written by an older version) is skipped with a warning.
pub(crate) async fn acl_blocks(store: &Store) -> anyhow::Result<HashMap<String, Vec<IpPrefix>>> {
    let mut out = HashMap::new();
    for acl in store.list_acls().await.context("cannot read the ACLs")? {
        let mut blocks = Vec::with_capacity(acl.cidrs.len());
        for c in &acl.cidrs {
            match c.parse::<IpPrefix>() {
                Ok(p) => blocks.push(p),
                Err(e) => {
                    tracing::warn!(acl = %acl.name, cidr = %c, error = %e, "skipping an unreadable ACL entry");
                }
            }
        }
        out.insert(acl.name, blocks);
    }
    Ok(out)
}

/// What the dialplan must provide for these trunks and the users' start
/// context.
pub(crate) fn requirements(config: &Config, defs: &[TrunkConfig]) -> Requirements {
    let mut contexts = vec![(
        "dialplan.user_context".to_owned(),
        config.dialplan.user_context.clone(),
    )];
    contexts.extend(
        defs.iter()
            .map(|t| (format!("trunk `{}`", t.name), t.context.clone())),
    );
    Requirements {
        trunks: defs.iter().map(|t| t.name.clone()).collect(),
        contexts,
    }
}

/// Re-reads the trunks and ACLs and applies them: the dialplan must still
/// compile with the new trunk names and define their contexts, gateways
/// must resolve; then the switch gets the new set. `Err` (nothing applied)
/// says why not.
pub(crate) async fn apply_trunks(
    config: &Config,
    store: &Store,
    bound: &[(Transport, SocketAddr)],
    dialplan: &Arc<DialplanFiles>,
    control: &mpsc::Sender<Control>,
) -> anyhow::Result<()> {
    let defs = trunk_definitions(config, store).await?;
    let acls = acl_blocks(store).await?;
    let trunks = crate::convert::trunks(&defs, &acls, bound).await?;
    let tls_client = if defs
        .iter()
        .any(|d| d.transport.0 == Transport::Tls && d.tls_verify)
    {
        crate::sip_tls::client_config(config)?
    } else {
        None
    };
    let tls_peers = crate::sip_tls::trunk_peers(&defs, &trunks, tls_client.as_ref())?;
    match dialplan.set_requirements(requirements(config, &defs)).await {
        Ok(()) => {}
        Err(e @ EditError::Invalid(_)) => anyhow::bail!("the dialplan does not allow it: {e}"),
        Err(e) => anyhow::bail!("{e}"),
    }
    let (done, applied) = oneshot::channel();
    control
        .send(Control::Api(ApiRequest::SetTrunks(trunks, tls_peers, done)))
        .await
        .context("the switch has stopped")?;
    applied.await.context("the switch has stopped")
}

/// A change counter moved (`users`: users; `config`: groups, ACLs, trunks):
/// what it counts is read again and applied, as after an API write.
pub(crate) async fn counter_changed(live: &crate::http::ServerLive, name: &str) {
    let store = &live.store;
    match name {
        "users" => match push_directory(store, &live.control).await {
            Ok(()) => tracing::debug!("user changes noticed"),
            Err(e) => tracing::warn!(error = %e, "cannot apply user changes"),
        },
        "config" => {
            // Groups are part of the directory.
            if let Err(e) = push_directory(store, &live.control).await {
                tracing::warn!(error = %e, "cannot apply group changes");
            }
            if let Err(e) = apply_trunks(
                &live.config,
                store,
                &live.bound,
                &live.dialplan,
                &live.control,
            )
            .await
            {
                tracing::warn!(error = %e, "cannot apply trunk changes");
            }
        }
        _ => {}
    }
}
