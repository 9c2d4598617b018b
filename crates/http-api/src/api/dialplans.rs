//! Dialplans: the files are the server's ([`Live`] reads, validates, writes and applies
//! them); their version history is read from the store. A change that does not compile
//! answers 422 `invalid_dialplan` with the diagnostics in `details`.

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::api::{non_empty, parse_id};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryParams, Segments};
use crate::live::{DialplanRejected, Live, RouteTest};
use crate::respond::{no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::time::{parse_time, ser_time};
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/dialplans", Access::Admin, list::<L>)
        .add(
            Method::POST,
            "/api/dialplans/test",
            Access::Admin,
            test_route::<L>,
        )
        .add(
            Method::GET,
            "/api/dialplans/{name}",
            Access::Admin,
            get::<L>,
        )
        .add(
            Method::PUT,
            "/api/dialplans/{name}",
            Access::Admin,
            save::<L>,
        )
        .add(
            Method::DELETE,
            "/api/dialplans/{name}",
            Access::Admin,
            delete::<L>,
        )
        .add(
            Method::GET,
            "/api/dialplans/{name}/versions",
            Access::Admin,
            versions::<L>,
        )
        .add(
            Method::GET,
            "/api/dialplans/{name}/versions/{version}",
            Access::Admin,
            version::<L>,
        )
        .add(
            Method::POST,
            "/api/dialplans/{name}/versions/{version}/restore",
            Access::Admin,
            restore::<L>,
        )
}

/// A dialplan name: a file name without directories (no leading dot, no `/`).
fn check_name(name: &str) -> Result<(), ApiError> {
    validate::name("name", name)?;
    if name.starts_with('.') {
        return Err(ApiError::invalid_field(
            "name",
            "name: must not start with a dot",
        ));
    }
    Ok(())
}

fn rejected(rejection: DialplanRejected) -> ApiError {
    ApiError::invalid_dialplan(rejection.diagnostics)
}

#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    version: i64,
    #[serde(serialize_with = "ser_time")]
    updated_at: i64,
    size: usize,
}

async fn list<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let files = state.live.dialplans().await?;
    let views: Vec<Listed<'_>> = files
        .iter()
        .map(|f| Listed {
            name: &f.name,
            version: f.version,
            updated_at: f.updated_at_unix_ms,
            size: f.content.len(),
        })
        .collect();
    Ok(ok(&views))
}

async fn get<L: Live>(
    State(state): State<Shared<L>>,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let file = state.live.dialplan(&name).await?;
    Ok(ok(&file))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaveRequest {
    content: String,
}

async fn save<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
    mut query: QueryParams,
    JsonBody(request): JsonBody<SaveRequest>,
) -> Result<Response, ApiError> {
    let dry_run = query.boolean("dry_run")?.unwrap_or(false);
    query.finish()?;
    check_name(&name)?;
    let author = caller.label();
    let saved = state
        .live
        .save_dialplan(&name, &request.content, &author, dry_run)
        .await
        .map_err(rejected)?;
    if saved.applied {
        tracing::info!(
            by = author,
            dialplan = name,
            version = saved.version,
            "dialplan saved"
        );
    }
    Ok(ok(&saved))
}

async fn delete<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    // 404 before asking for a deletion.
    state.live.dialplan(&name).await?;
    let author = caller.label();
    state
        .live
        .delete_dialplan(&name, &author)
        .await
        .map_err(rejected)?;
    tracing::info!(by = author, dialplan = name, "dialplan deleted");
    Ok(no_content())
}

#[derive(Serialize)]
struct VersionInfo<'a> {
    version: i64,
    author: &'a str,
    #[serde(serialize_with = "ser_time")]
    created_at: i64,
    size: i64,
}

async fn versions<L: Live>(
    State(state): State<Shared<L>>,
    Segments(name): Segments<String>,
) -> Result<Response, ApiError> {
    check_name(&name)?;
    let versions = state.store.list_dialplan_versions(&name).await?;
    let views: Vec<VersionInfo<'_>> = versions
        .iter()
        .map(|v| VersionInfo {
            version: v.version,
            author: &v.author,
            created_at: v.created_at_unix_ms,
            size: v.size,
        })
        .collect();
    Ok(ok(&views))
}

#[derive(Serialize)]
struct VersionView<'a> {
    name: &'a str,
    version: i64,
    content: &'a str,
    author: &'a str,
    #[serde(serialize_with = "ser_time")]
    created_at: i64,
}

async fn load_version<L: Live>(
    state: &Shared<L>,
    name: &str,
    version: &str,
) -> Result<sb_store::DialplanVersion, ApiError> {
    check_name(name)?;
    let number = parse_id("version", version)?;
    state
        .store
        .get_dialplan_version(name, number)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("dialplan {name} has no version {number}")))
}

async fn version<L: Live>(
    State(state): State<Shared<L>>,
    Segments((name, version)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let v = load_version(&state, &name, &version).await?;
    Ok(ok(&VersionView {
        name: &v.name,
        version: v.version,
        content: &v.content,
        author: &v.author,
        created_at: v.created_at_unix_ms,
    }))
}

async fn restore<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments((name, version)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let v = load_version(&state, &name, &version).await?;
    let author = caller.label();
    let saved = state
        .live
        .save_dialplan(&name, &v.content, &author, false)
        .await
        .map_err(rejected)?;
    tracing::info!(
        by = author,
        dialplan = name,
        restored = v.version,
        version = saved.version,
        "dialplan version restored"
    );
    Ok(ok(&saved))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteTestRequest {
    from: String,
    to: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    at: Option<String>,
    #[serde(default)]
    context: Option<String>,
}

async fn test_route<L: Live>(
    State(state): State<Shared<L>>,
    JsonBody(request): JsonBody<RouteTestRequest>,
) -> Result<Response, ApiError> {
    for (field, value) in [("from", &request.from), ("to", &request.to)] {
        validate::text(field, value)?;
        if value.is_empty() {
            return Err(ApiError::invalid_field(
                field,
                format!("{field}: must not be empty"),
            ));
        }
    }
    let source = non_empty(request.source);
    if let Some(source) = &source {
        let valid = source
            .split_once(':')
            .is_some_and(|(kind, name)| matches!(kind, "user" | "trunk") && !name.is_empty());
        if !valid {
            return Err(ApiError::invalid_field(
                "source",
                "source: expected user:NAME or trunk:NAME",
            ));
        }
    }
    let at_unix_ms = match non_empty(request.at) {
        Some(at) => Some(parse_time(&at).ok_or_else(|| {
            ApiError::invalid_field("at", "at: expected an RFC 3339 time or unix seconds")
        })?),
        None => None,
    };
    let context = non_empty(request.context);
    if let Some(context) = &context {
        validate::name("context", context)?;
    }
    let result = state
        .live
        .test_route(RouteTest {
            from: request.from,
            to: request.to,
            source,
            at_unix_ms,
            context,
        })
        .await?;
    Ok(ok(&result))
}
