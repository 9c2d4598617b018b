//! Access lists: named sets of address prefixes, used by trunks (`acl`), by the admin
//! access check (`admin_acl`) and by `/metrics` (`metrics_acl`). Every write is applied
//! through [`Live::trunks_changed`] and rolled back when the server refuses it. An ACL in
//! use cannot be deleted (409 naming the user).

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use sb_store::Acl;
use serde::{Deserialize, Serialize};

use crate::api::{apply_config, non_empty};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, Segments};
use crate::live::Live;
use crate::respond::{created, no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/acls", Access::Admin, list::<L>)
        .add(Method::POST, "/api/acls", Access::Admin, create::<L>)
        .add(Method::GET, "/api/acls/{name}", Access::Admin, get::<L>)
        .add(Method::PUT, "/api/acls/{name}", Access::Admin, replace::<L>)
        .add(
            Method::DELETE,
            "/api/acls/{name}",
            Access::Admin,
            delete::<L>,
        )
}

#[derive(Serialize)]
struct AclView<'a> {
    name: &'a str,
    description: Option<&'a str>,
    cidrs: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    used_by: Option<Vec<String>>,
}

fn view(acl: &Acl, used_by: Option<Vec<String>>) -> AclView<'_> {
    AclView {
        name: &acl.name,
        description: acl.description.as_deref(),
        cidrs: &acl.cidrs,
        used_by,
    }
}

/// What refers to each ACL: `trunk:NAME` (stored and configuration-file trunks),
/// `admin` (`admin_acl`), `metrics` (`metrics_acl`).
struct Users {
    refs: Vec<(String, String)>,
}

impl Users {
    async fn load<L: Live>(state: &Shared<L>) -> Result<Self, ApiError> {
        let mut refs = Vec::new();
        for trunk in state.store.list_trunks().await? {
            if let Some(acl) = trunk.acl {
                refs.push((acl, format!("trunk:{}", trunk.name)));
            }
        }
        for trunk in state.live.trunk_states().await {
            if let Some(acl) = trunk.config.and_then(|c| c.acl) {
                refs.push((acl, format!("trunk:{}", trunk.name)));
            }
        }
        if let Some(acl) = &state.config.admin_acl {
            refs.push((acl.clone(), "admin".to_owned()));
        }
        if let Some(acl) = &state.config.metrics_acl {
            refs.push((acl.clone(), "metrics".to_owned()));
        }
        Ok(Users { refs })
    }

    fn of(&self, name: &str) -> Vec<String> {
        let mut users: Vec<String> = self
            .refs
            .iter()
            .filter(|(acl, _)| acl == name)
            .map(|(_, user)| user.clone())
            .collect();
        users.sort();
        users.dedup();
        users
    }
}

async fn list<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let acls = state.store.list_acls().await?;
    let users = Users::load(&state).await?;
    let views: Vec<AclView<'_>> = acls
        .iter()
        .map(|a| view(a, Some(users.of(&a.name))))
        .collect();
    Ok(ok(&views))
}

async fn get<L: Live>(
    State(state): State<Shared<L>>,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    let acl = state
        .store
        .get_acl(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("acl {name} not found")))?;
    let users = Users::load(&state).await?;
    Ok(ok(&view(&acl, Some(users.of(&name)))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AclRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    cidrs: Vec<String>,
}

impl AclRequest {
    fn into_acl(self, name: String) -> Result<Acl, ApiError> {
        validate::name("name", &name)?;
        let description = non_empty(self.description);
        if let Some(description) = &description {
            validate::text("description", description)?;
        }
        validate::cidrs("cidrs", &self.cidrs)?;
        Ok(Acl {
            name,
            description,
            cidrs: self.cidrs,
            updated_at_unix_ms: 0,
        })
    }
}

async fn create<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    JsonBody(mut request): JsonBody<AclRequest>,
) -> Result<Response, ApiError> {
    let name = request
        .name
        .take()
        .ok_or_else(|| ApiError::missing_field("name"))?;
    let acl = request.into_acl(name)?;
    let _guard = state.config_lock.lock().await;
    let acl = state.store.create_acl(&acl).await?;
    apply_config(&state, || state.store.delete_acl(&acl.name)).await?;
    tracing::info!(by = caller.label(), acl = acl.name, "ACL created");
    Ok(created(&view(&acl, None)))
}

async fn replace<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
    JsonBody(mut request): JsonBody<AclRequest>,
) -> Result<Response, ApiError> {
    if request.name.take().is_some_and(|n| n != name) {
        return Err(ApiError::invalid_field(
            "name",
            "name: an ACL cannot be renamed",
        ));
    }
    let acl = request.into_acl(name)?;
    let _guard = state.config_lock.lock().await;
    let previous = state
        .store
        .get_acl(&acl.name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("acl {} not found", acl.name)))?;
    let acl = state.store.update_acl(&acl).await?;
    apply_config(&state, || async {
        state.store.update_acl(&previous).await.map(drop)
    })
    .await?;
    tracing::info!(by = caller.label(), acl = acl.name, "ACL changed");
    Ok(ok(&view(&acl, None)))
}

async fn delete<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    let _guard = state.config_lock.lock().await;
    let previous = state
        .store
        .get_acl(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("acl {name} not found")))?;
    let users = Users::load(&state).await?.of(&name);
    if let Some(user) = users.first() {
        return Err(ApiError::conflict(format!("acl {name} is used by {user}")));
    }
    state.store.delete_acl(&name).await?;
    apply_config(&state, || async {
        state.store.create_acl(&previous).await.map(drop)
    })
    .await?;
    tracing::info!(by = caller.label(), acl = name, "ACL deleted");
    Ok(no_content())
}
