//! SIP users. A user created or changed here can authenticate over SIP at once: both HA1
//! values are written for realm = domain (as the command line does) and the server is
//! told ([`Live::users_changed`]) after every write. Everything is validated before the
//! store is touched; the store's own checks (duplicate user, extension taken) answer 409.

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use sb_store::{ListUsers, NewUser, User, UserChanges};
use serde::{Deserialize, Serialize};

use crate::api::{non_empty, nullable, user_key};
use crate::auth::Caller;
use crate::credentials::{user_secrets, validate_domain, validate_password, validate_username};
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryParams, Segments};
use crate::live::Live;
use crate::respond::{created, no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::time::ser_time;
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/users", Access::Admin, list::<L>)
        .add(Method::POST, "/api/users", Access::Admin, create::<L>)
        .add(Method::GET, "/api/users/{user}", Access::Admin, get::<L>)
        .add(
            Method::PATCH,
            "/api/users/{user}",
            Access::Admin,
            update::<L>,
        )
        .add(
            Method::DELETE,
            "/api/users/{user}",
            Access::Admin,
            delete::<L>,
        )
}

/// A user as the API shows it (never the HA1 values).
#[derive(Serialize)]
pub(crate) struct UserView<'a> {
    username: &'a str,
    domain: &'a str,
    display_name: Option<&'a str>,
    extension: Option<&'a str>,
    enabled: bool,
    groups: &'a [String],
    context: Option<&'a str>,
    allow: &'a [String],
    deny: &'a [String],
    #[serde(serialize_with = "ser_time")]
    created_at: i64,
    #[serde(serialize_with = "ser_time")]
    updated_at: i64,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(u: &'a User) -> Self {
        UserView {
            username: &u.username,
            domain: &u.domain,
            display_name: u.display_name.as_deref(),
            extension: u.extension.as_deref(),
            enabled: u.enabled,
            groups: &u.groups,
            context: u.context.as_deref(),
            allow: &u.call_allow,
            deny: &u.call_deny,
            created_at: u.created_at_unix_ms,
            updated_at: u.updated_at_unix_ms,
        }
    }
}

#[derive(Serialize)]
struct UserPage<'a> {
    items: Vec<UserView<'a>>,
    total: u64,
}

async fn list<L: Live>(
    State(state): State<Shared<L>>,
    mut query: QueryParams,
) -> Result<Response, ApiError> {
    let filter = ListUsers {
        search: query.text("search"),
        domain: query.text("domain"),
        group: query.text("group"),
        limit: query.int("limit", 1..=1000u32)?.unwrap_or(100),
        offset: query.int("offset", 0..=u32::MAX)?.unwrap_or(0),
    };
    query.finish()?;
    let users = state.store.list_users(&filter).await?;
    let total = state.store.count_users(&filter).await?;
    Ok(ok(&UserPage {
        items: users.iter().map(UserView::from).collect(),
        total,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUserRequest {
    username: String,
    #[serde(default)]
    domain: Option<String>,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    extension: Option<String>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

/// The checks shared by create and update, on the members that are present.
fn check_policy(
    display_name: Option<&str>,
    extension: Option<&str>,
    groups: Option<&[String]>,
    context: Option<&str>,
    allow: Option<&[String]>,
    deny: Option<&[String]>,
) -> Result<(), ApiError> {
    if let Some(display_name) = display_name {
        validate::text("display_name", display_name)?;
    }
    if let Some(extension) = extension {
        validate::extension("extension", extension)?;
    }
    if let Some(groups) = groups {
        validate::names("groups", groups)?;
    }
    if let Some(context) = context {
        validate::name("context", context)?;
    }
    if let Some(allow) = allow {
        validate::patterns("allow", allow)?;
    }
    if let Some(deny) = deny {
        validate::patterns("deny", deny)?;
    }
    Ok(())
}

async fn create<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    JsonBody(request): JsonBody<NewUserRequest>,
) -> Result<Response, ApiError> {
    validate_username(&request.username)?;
    let domain = match non_empty(request.domain) {
        Some(domain) => validate_domain(&domain)?,
        None => validate_domain(&state.live.default_domain())?,
    };
    validate_password(&request.password)?;
    let display_name = non_empty(request.display_name);
    let extension = non_empty(request.extension);
    let context = non_empty(request.context);
    check_policy(
        display_name.as_deref(),
        extension.as_deref(),
        Some(&request.groups),
        context.as_deref(),
        Some(&request.allow),
        Some(&request.deny),
    )?;
    let (ha1_md5, ha1_sha256) = user_secrets(&request.username, &domain, &request.password);
    let user = state
        .store
        .create_user(&NewUser {
            username: request.username,
            domain,
            display_name,
            ha1_md5,
            ha1_sha256,
            enabled: request.enabled.unwrap_or(true),
            extension,
            context,
            groups: request.groups,
            call_allow: request.allow,
            call_deny: request.deny,
        })
        .await?;
    state.live.users_changed().await;
    tracing::info!(
        by = caller.label(),
        user = user.username,
        domain = user.domain,
        "user created"
    );
    Ok(created(&UserView::from(&user)))
}

async fn get<L: Live>(
    State(state): State<Shared<L>>,
    Segments(key): Segments<String>,
) -> Result<Response, ApiError> {
    let (name, domain) = user_key(&key, &state.live.default_domain())?;
    let user = state
        .store
        .get_user(&name, &domain)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("user {name}@{domain} not found")))?;
    Ok(ok(&UserView::from(&user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChangesRequest {
    #[serde(default)]
    password: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    extension: Option<Option<String>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    context: Option<Option<String>>,
    #[serde(default)]
    allow: Option<Vec<String>>,
    #[serde(default)]
    deny: Option<Vec<String>>,
}

async fn update<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(key): Segments<String>,
    JsonBody(request): JsonBody<UserChangesRequest>,
) -> Result<Response, ApiError> {
    let (name, domain) = user_key(&key, &state.live.default_domain())?;
    if let Some(password) = &request.password {
        validate_password(password)?;
    }
    // `null` and "" clear an optional text.
    let clear = |v: Option<Option<String>>| v.map(non_empty);
    let display_name = clear(request.display_name);
    let extension = clear(request.extension);
    let context = clear(request.context);
    check_policy(
        display_name.as_ref().and_then(Option::as_deref),
        extension.as_ref().and_then(Option::as_deref),
        request.groups.as_deref(),
        context.as_ref().and_then(Option::as_deref),
        request.allow.as_deref(),
        request.deny.as_deref(),
    )?;
    let changes = UserChanges {
        display_name,
        extension,
        enabled: request.enabled,
        context,
        groups: request.groups,
        call_allow: request.allow,
        call_deny: request.deny,
        secrets: request
            .password
            .as_deref()
            .map(|password| user_secrets(&name, &domain, password)),
    };
    let user = state.store.update_user(&name, &domain, &changes).await?;
    state.live.users_changed().await;
    tracing::info!(
        by = caller.label(),
        user = name,
        domain,
        password = changes.secrets.is_some(),
        "user changed"
    );
    Ok(ok(&UserView::from(&user)))
}

async fn delete<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(key): Segments<String>,
) -> Result<Response, ApiError> {
    let (name, domain) = user_key(&key, &state.live.default_domain())?;
    state.store.delete_user(&name, &domain).await?;
    state.live.users_changed().await;
    tracing::info!(by = caller.label(), user = name, domain, "user deleted");
    Ok(no_content())
}
