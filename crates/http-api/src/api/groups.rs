//! Call groups: a context and call permissions shared by their members. Every write is
//! pushed to the server with the user directory ([`Live::users_changed`]).

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use sb_store::{CallGroup, ListUsers};
use serde::{Deserialize, Serialize};

use crate::api::non_empty;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, Segments};
use crate::live::Live;
use crate::respond::{created, no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/groups", Access::Admin, list::<L>)
        .add(Method::POST, "/api/groups", Access::Admin, create::<L>)
        .add(Method::GET, "/api/groups/{name}", Access::Admin, get::<L>)
        .add(
            Method::PUT,
            "/api/groups/{name}",
            Access::Admin,
            replace::<L>,
        )
        .add(
            Method::DELETE,
            "/api/groups/{name}",
            Access::Admin,
            delete::<L>,
        )
}

#[derive(Serialize)]
struct GroupView<'a> {
    name: &'a str,
    description: Option<&'a str>,
    context: Option<&'a str>,
    allow: &'a [String],
    deny: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    members: Option<u64>,
}

fn view(group: &CallGroup, members: Option<u64>) -> GroupView<'_> {
    GroupView {
        name: &group.name,
        description: group.description.as_deref(),
        context: group.context.as_deref(),
        allow: &group.call_allow,
        deny: &group.call_deny,
        members,
    }
}

async fn members<L: Live>(state: &Shared<L>, name: &str) -> Result<u64, ApiError> {
    let filter = ListUsers {
        group: Some(name.to_owned()),
        ..ListUsers::default()
    };
    Ok(state.store.count_users(&filter).await?)
}

async fn list<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let groups = state.store.list_groups().await?;
    let mut counts = Vec::with_capacity(groups.len());
    for group in &groups {
        counts.push(members(&state, &group.name).await?);
    }
    let views: Vec<GroupView<'_>> = groups
        .iter()
        .zip(counts)
        .map(|(g, n)| view(g, Some(n)))
        .collect();
    Ok(ok(&views))
}

async fn get<L: Live>(
    State(state): State<Shared<L>>,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    let group = state
        .store
        .get_group(&name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("group {name} not found")))?;
    let n = members(&state, &name).await?;
    Ok(ok(&view(&group, Some(n))))
}

/// A group as written by POST (with `name`) and PUT (`name` optional, must match the path).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupRequest {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    allow: Vec<String>,
    #[serde(default)]
    deny: Vec<String>,
}

impl GroupRequest {
    fn into_group(self, name: String) -> Result<CallGroup, ApiError> {
        validate::name("name", &name)?;
        let description = non_empty(self.description);
        if let Some(description) = &description {
            validate::text("description", description)?;
        }
        let context = non_empty(self.context);
        if let Some(context) = &context {
            validate::name("context", context)?;
        }
        validate::patterns("allow", &self.allow)?;
        validate::patterns("deny", &self.deny)?;
        Ok(CallGroup {
            name,
            description,
            context,
            call_allow: self.allow,
            call_deny: self.deny,
            updated_at_unix_ms: 0,
        })
    }
}

async fn create<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    JsonBody(mut request): JsonBody<GroupRequest>,
) -> Result<Response, ApiError> {
    let name = request
        .name
        .take()
        .ok_or_else(|| ApiError::missing_field("name"))?;
    let group = request.into_group(name)?;
    let group = state.store.create_group(&group).await?;
    state.live.users_changed().await;
    tracing::info!(by = caller.label(), group = group.name, "group created");
    Ok(created(&view(&group, None)))
}

async fn replace<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
    JsonBody(mut request): JsonBody<GroupRequest>,
) -> Result<Response, ApiError> {
    if request.name.take().is_some_and(|n| n != name) {
        return Err(ApiError::invalid_field(
            "name",
            "name: a group cannot be renamed",
        ));
    }
    let group = request.into_group(name)?;
    let group = state.store.update_group(&group).await?;
    state.live.users_changed().await;
    tracing::info!(by = caller.label(), group = group.name, "group changed");
    Ok(ok(&view(&group, None)))
}

async fn delete<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    state.store.delete_group(&name).await?;
    state.live.users_changed().await;
    tracing::info!(by = caller.label(), group = name, "group deleted");
    Ok(no_content())
}
