//! Trunks: the API's own (stored) and the configuration file's (listed with
//! `"source":"config"`, read-only: 409 on a change). The password is write-only: accepted
//! on POST and PUT (absent on PUT keeps the stored one, `null` clears it), shown only as
//! `password_set`. Every write is applied through [`Live::trunks_changed`] and rolled back
//! when the server refuses it.

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use sb_store::StoredTrunk;
use serde::{Deserialize, Serialize};

use crate::api::{apply_config, non_empty, nullable};
use crate::auth::Caller;
use crate::credentials::validate_domain;
use crate::error::ApiError;
use crate::extract::{JsonBody, Segments};
use crate::live::{Live, TrunkRegistration, TrunkSettings, TrunkSource, TrunkState};
use crate::respond::{created, no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/trunks", Access::Admin, list::<L>)
        .add(Method::POST, "/api/trunks", Access::Admin, create::<L>)
        .add(Method::GET, "/api/trunks/{name}", Access::Admin, get::<L>)
        .add(
            Method::PUT,
            "/api/trunks/{name}",
            Access::Admin,
            replace::<L>,
        )
        .add(
            Method::DELETE,
            "/api/trunks/{name}",
            Access::Admin,
            delete::<L>,
        )
}

/// Default context of inbound trunk calls (as in the configuration file).
const DEFAULT_CONTEXT: &str = "from-trunk";
/// Default registration interval, seconds.
const DEFAULT_REGISTER_EXPIRES: u32 = 3600;

#[derive(Serialize)]
struct StateView<'a> {
    registration: TrunkRegistration,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_in: Option<u32>,
}

#[derive(Serialize)]
struct TrunkView<'a> {
    name: &'a str,
    #[serde(flatten)]
    settings: TrunkSettings,
    source: TrunkSource,
    state: StateView<'a>,
}

fn settings_of(t: &StoredTrunk) -> TrunkSettings {
    TrunkSettings {
        gateway: t.gateway.clone(),
        transport: t.transport.clone(),
        addresses: t.addresses.clone(),
        acl: t.acl.clone(),
        context: t.context.clone(),
        username: t.username.clone(),
        password_set: t.password.is_some(),
        register: t.register,
        register_expires: t.register_expires,
        from_user: t.from_user.clone(),
        from_domain: t.from_domain.clone(),
        enabled: t.enabled,
    }
}

fn state_view<'a>(name: &str, settings: &TrunkSettings, states: &'a [TrunkState]) -> StateView<'a> {
    match states.iter().find(|s| s.name == name) {
        Some(s) => StateView {
            registration: s.registration,
            detail: s.detail.as_deref(),
            expires_in: s.expires_in,
        },
        None => StateView {
            registration: if settings.register && settings.enabled {
                TrunkRegistration::Unregistered
            } else {
                TrunkRegistration::NotRegistering
            },
            detail: None,
            expires_in: None,
        },
    }
}

fn stored_view<'a>(t: &'a StoredTrunk, states: &'a [TrunkState]) -> TrunkView<'a> {
    let settings = settings_of(t);
    TrunkView {
        name: &t.name,
        state: state_view(&t.name, &settings, states),
        settings,
        source: TrunkSource::Api,
    }
}

/// Configuration-file trunks with their settings.
fn config_trunks(states: &[TrunkState]) -> impl Iterator<Item = (&TrunkState, &TrunkSettings)> {
    states.iter().filter_map(|s| match (&s.source, &s.config) {
        (TrunkSource::Config, Some(config)) => Some((s, config)),
        _ => None,
    })
}

fn config_view<'a>(s: &'a TrunkState, settings: &TrunkSettings) -> TrunkView<'a> {
    TrunkView {
        name: &s.name,
        settings: settings.clone(),
        source: TrunkSource::Config,
        state: StateView {
            registration: s.registration,
            detail: s.detail.as_deref(),
            expires_in: s.expires_in,
        },
    }
}

async fn list<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let stored = state.store.list_trunks().await?;
    let states = state.live.trunk_states().await;
    let mut views: Vec<TrunkView<'_>> = config_trunks(&states)
        .filter(|(s, _)| !stored.iter().any(|t| t.name == s.name))
        .map(|(s, c)| config_view(s, c))
        .collect();
    views.extend(stored.iter().map(|t| stored_view(t, &states)));
    views.sort_by(|a, b| a.name.cmp(b.name));
    Ok(ok(&views))
}

async fn get<L: Live>(
    State(state): State<Shared<L>>,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    let states = state.live.trunk_states().await;
    if let Some(trunk) = state.store.get_trunk(&name).await? {
        return Ok(ok(&stored_view(&trunk, &states)));
    }
    match config_trunks(&states).find(|(s, _)| s.name == name) {
        Some((s, c)) => Ok(ok(&config_view(s, c))),
        None => Err(ApiError::not_found(format!("trunk {name} not found"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrunkRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    gateway: Option<String>,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    addresses: Vec<String>,
    #[serde(default)]
    acl: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    password: Option<Option<String>>,
    #[serde(default)]
    register: bool,
    #[serde(default)]
    register_expires: Option<u32>,
    #[serde(default)]
    from_user: Option<String>,
    #[serde(default)]
    from_domain: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

/// A SIP user part or digest user name toward a carrier: printable ASCII without spaces,
/// `@` or `:`, 1–128 characters.
fn sip_user(field: &str, value: &str) -> Result<(), ApiError> {
    let ok = (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'@' | b':' | b'<' | b'>' | b'"'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_field(
            field,
            format!("{field}: `{value}` is not a valid SIP user name"),
        ))
    }
}

impl TrunkRequest {
    /// The trunk to store; `stored_password` is kept when the request has no `password`.
    fn into_trunk(
        self,
        name: String,
        stored_password: Option<String>,
    ) -> Result<StoredTrunk, ApiError> {
        validate::name("name", &name)?;
        let gateway = non_empty(self.gateway);
        if let Some(gateway) = &gateway {
            validate::gateway("gateway", gateway)?;
        }
        let transport = non_empty(self.transport).unwrap_or_else(|| "udp".to_owned());
        if transport != "udp" && transport != "tcp" {
            return Err(ApiError::invalid_field(
                "transport",
                "transport: expected udp or tcp",
            ));
        }
        validate::cidrs("addresses", &self.addresses)?;
        let acl = non_empty(self.acl);
        if let Some(acl) = &acl {
            validate::name("acl", acl)?;
        }
        let context = non_empty(self.context).unwrap_or_else(|| DEFAULT_CONTEXT.to_owned());
        validate::name("context", &context)?;
        let username = non_empty(self.username);
        if let Some(username) = &username {
            sip_user("username", username)?;
        }
        let password = match self.password {
            None => stored_password,
            Some(password) => non_empty(password),
        };
        if let Some(password) = &password
            && (password.len() > 256 || password.chars().any(char::is_control))
        {
            return Err(ApiError::invalid_field(
                "password",
                "password: at most 256 bytes, no control characters",
            ));
        }
        let register_expires = self.register_expires.unwrap_or(DEFAULT_REGISTER_EXPIRES);
        if !(60..=86_400).contains(&register_expires) {
            return Err(ApiError::invalid_field(
                "register_expires",
                "register_expires: from 60 to 86400 seconds",
            ));
        }
        if self.register {
            if gateway.is_none() {
                return Err(ApiError::invalid_field(
                    "gateway",
                    "gateway: registering needs a gateway",
                ));
            }
            if username.is_none() {
                return Err(ApiError::invalid_field(
                    "username",
                    "username: registering needs a user name",
                ));
            }
        }
        let from_user = non_empty(self.from_user);
        if let Some(from_user) = &from_user {
            sip_user("from_user", from_user)?;
        }
        let from_domain = match non_empty(self.from_domain) {
            Some(d) => Some(validate_domain(&d).map_err(|e| ApiError {
                field: Some("from_domain".to_owned()),
                ..e
            })?),
            None => None,
        };
        Ok(StoredTrunk {
            name,
            gateway,
            transport,
            addresses: self.addresses,
            acl,
            context,
            username,
            password,
            register: self.register,
            register_expires,
            from_user,
            from_domain,
            enabled: self.enabled.unwrap_or(true),
            updated_at_unix_ms: 0,
        })
    }
}

/// 409 when `name` is a configuration-file trunk.
async fn refuse_config_trunk<L: Live>(state: &Shared<L>, name: &str) -> Result<(), ApiError> {
    let states = state.live.trunk_states().await;
    if config_trunks(&states).any(|(s, _)| s.name == name) {
        return Err(ApiError::conflict(format!(
            "trunk {name} is defined in the configuration file and cannot be changed here"
        )));
    }
    Ok(())
}

/// 400 naming `acl` when the ACL does not exist (checked before writing, so the store's
/// foreign key is the second line of defence only).
async fn check_acl<L: Live>(state: &Shared<L>, trunk: &StoredTrunk) -> Result<(), ApiError> {
    match &trunk.acl {
        Some(acl) if state.store.get_acl(acl).await?.is_none() => Err(ApiError::invalid_field(
            "acl",
            format!("acl: there is no ACL named {acl}"),
        )),
        _ => Ok(()),
    }
}

async fn create<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    JsonBody(mut request): JsonBody<TrunkRequest>,
) -> Result<Response, ApiError> {
    let name = request
        .name
        .take()
        .ok_or_else(|| ApiError::missing_field("name"))?;
    let trunk = request.into_trunk(name, None)?;
    let _guard = state.config_lock.lock().await;
    refuse_config_trunk(&state, &trunk.name).await?;
    check_acl(&state, &trunk).await?;
    let trunk = state.store.create_trunk(&trunk).await?;
    apply_config(&state, || state.store.delete_trunk(&trunk.name)).await?;
    tracing::info!(by = caller.label(), trunk = trunk.name, "trunk created");
    let states = state.live.trunk_states().await;
    Ok(created(&stored_view(&trunk, &states)))
}

async fn replace<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
    JsonBody(mut request): JsonBody<TrunkRequest>,
) -> Result<Response, ApiError> {
    if request.name.take().is_some_and(|n| n != name) {
        return Err(ApiError::invalid_field(
            "name",
            "name: a trunk cannot be renamed",
        ));
    }
    let _guard = state.config_lock.lock().await;
    let Some(previous) = state.store.get_trunk(&name).await? else {
        refuse_config_trunk(&state, &name).await?;
        return Err(ApiError::not_found(format!("trunk {name} not found")));
    };
    let trunk = request.into_trunk(name, previous.password.clone())?;
    check_acl(&state, &trunk).await?;
    let trunk = state.store.update_trunk(&trunk).await?;
    apply_config(&state, || async {
        state.store.update_trunk(&previous).await.map(drop)
    })
    .await?;
    tracing::info!(by = caller.label(), trunk = trunk.name, "trunk changed");
    let states = state.live.trunk_states().await;
    Ok(ok(&stored_view(&trunk, &states)))
}

async fn delete<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    let _guard = state.config_lock.lock().await;
    let Some(previous) = state.store.get_trunk(&name).await? else {
        refuse_config_trunk(&state, &name).await?;
        return Err(ApiError::not_found(format!("trunk {name} not found")));
    };
    state.store.delete_trunk(&name).await?;
    apply_config(&state, || async {
        state.store.create_trunk(&previous).await.map(drop)
    })
    .await?;
    tracing::info!(by = caller.label(), trunk = name, "trunk deleted");
    Ok(no_content())
}
