//! Admin accounts: list, create, change password or enabled flag, delete. The last
//! enabled admin can be neither disabled nor deleted (409), so the API never locks
//! everyone out; changes are serialized so two requests cannot both remove "the other
//! one".

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use sb_store::Admin;
use serde::{Deserialize, Serialize};

use crate::api::admin_name;
use crate::auth::Caller;
use crate::credentials::{hash_password, validate_password};
use crate::error::ApiError;
use crate::extract::{JsonBody, Segments};
use crate::live::Live;
use crate::respond::{created, no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::time::ser_time;
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/admins", Access::Admin, list::<L>)
        .add(Method::POST, "/api/admins", Access::Admin, create::<L>)
        .add(
            Method::PATCH,
            "/api/admins/{name}",
            Access::Admin,
            update::<L>,
        )
        .add(
            Method::DELETE,
            "/api/admins/{name}",
            Access::Admin,
            delete::<L>,
        )
}

#[derive(Serialize)]
struct AdminView<'a> {
    name: &'a str,
    enabled: bool,
    #[serde(serialize_with = "ser_time")]
    created_at: i64,
}

impl<'a> From<&'a Admin> for AdminView<'a> {
    fn from(a: &'a Admin) -> Self {
        AdminView {
            name: &a.name,
            enabled: a.enabled,
            created_at: a.created_at_unix_ms,
        }
    }
}

async fn list<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let admins = state.store.list_admins().await?;
    let views: Vec<AdminView<'_>> = admins.iter().map(AdminView::from).collect();
    Ok(ok(&views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAdmin {
    name: String,
    password: String,
}

/// Hashes off the async threads (argon2 takes tens of milliseconds).
async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::internal("password hashing", &e))
}

async fn create<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    JsonBody(request): JsonBody<NewAdmin>,
) -> Result<Response, ApiError> {
    validate::name("name", &request.name)?;
    validate_password(&request.password)?;
    let hash = hash(request.password).await?;
    let _guard = state.admins_lock.lock().await;
    let admin = state.store.create_admin(&request.name, &hash).await?;
    tracing::info!(
        by = admin_name(&caller)?,
        admin = admin.name,
        "admin created"
    );
    Ok(created(&AdminView::from(&admin)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminChanges {
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
}

async fn update<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
    JsonBody(changes): JsonBody<AdminChanges>,
) -> Result<Response, ApiError> {
    if let Some(password) = &changes.password {
        validate_password(password)?;
    }
    let hash = match changes.password {
        Some(password) => Some(hash(password).await?),
        None => None,
    };
    let _guard = state.admins_lock.lock().await;
    let admins = state.store.list_admins().await?;
    let Some(current) = admins.iter().find(|a| a.name == name) else {
        return Err(ApiError::not_found(format!("admin {name} not found")));
    };
    if changes.enabled == Some(false) && current.enabled && enabled_count(&admins) == 1 {
        return Err(ApiError::conflict(
            "the last enabled admin cannot be disabled",
        ));
    }
    if let Some(hash) = &hash {
        state.store.set_admin_password(&name, hash).await?;
    }
    if let Some(enabled) = changes.enabled {
        state.store.set_admin_enabled(&name, enabled).await?;
    }
    let admin = state
        .store
        .get_admin(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("admin {name} not found")))?;
    tracing::info!(
        by = admin_name(&caller)?,
        admin = name,
        password = hash.is_some(),
        enabled = changes.enabled,
        "admin changed"
    );
    Ok(ok(&AdminView::from(&admin)))
}

async fn delete<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    let _guard = state.admins_lock.lock().await;
    let admins = state.store.list_admins().await?;
    let Some(current) = admins.iter().find(|a| a.name == name) else {
        return Err(ApiError::not_found(format!("admin {name} not found")));
    };
    if current.enabled && enabled_count(&admins) == 1 {
        return Err(ApiError::conflict(
            "the last enabled admin cannot be deleted",
        ));
    }
    state.store.delete_admin(&name).await?;
    tracing::info!(by = admin_name(&caller)?, admin = name, "admin deleted");
    Ok(no_content())
}

fn enabled_count(admins: &[Admin]) -> usize {
    admins.iter().filter(|a| a.enabled).count()
}
