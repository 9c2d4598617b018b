//! Health (liveness), readiness, metrics and the API description.

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::auth::acl_allows;
use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::live::{Health, HealthCheck, Live};
use crate::metrics::{CONTENT_TYPE, render_metrics};
use crate::openapi;
use crate::respond::json_response;
use crate::routes::{Access, Routes};
use crate::state::Shared;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/healthz", Access::Public, healthz::<L>)
        .add(Method::GET, "/readyz", Access::Public, readyz::<L>)
        .add(Method::GET, "/metrics", Access::Public, metrics::<L>)
        .add(
            Method::GET,
            "/api/openapi.json",
            Access::Signed,
            openapi_document,
        )
}

#[derive(Serialize)]
struct HealthView<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<&'a str>,
    checks: &'a [HealthCheck],
}

async fn healthz<L: Live>(State(state): State<Shared<L>>) -> Response {
    let health = state.live.health().await;
    health_response(&state, &health, ["ok", "unavailable"])
}

/// Readiness (`/readyz`): 200 while this node should receive traffic, 503 while its
/// database or SIP task does not answer or it is draining. `/healthz` stays liveness.
async fn readyz<L: Live>(State(state): State<Shared<L>>) -> Response {
    let readiness = state.live.readiness().await;
    health_response(&state, &readiness, ["ready", "not_ready"])
}

/// 200 with the first status word when every check passed, else 503 with the
/// second; the node's name and the checks.
fn health_response<L: Live>(
    state: &Shared<L>,
    health: &Health,
    words: [&'static str; 2],
) -> Response {
    let (status, text) = if health.ok {
        (StatusCode::OK, words[0])
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, words[1])
    };
    json_response(
        status,
        &HealthView {
            status: text,
            node: state.config.node.as_deref(),
            checks: &health.checks,
        },
    )
}

async fn metrics<L: Live>(
    State(state): State<Shared<L>>,
    client: ClientAddr,
) -> Result<Response, ApiError> {
    if let Some(acl) = &state.config.metrics_acl
        && !acl_allows(&state.store, acl, client.0).await?
    {
        return Err(ApiError::forbidden(
            "metrics are not available to this address",
        ));
    }
    let snapshot = state.live.metrics().await;
    let text = render_metrics(
        &snapshot,
        &state.http.snapshot(),
        state.config.node.as_deref(),
    );
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(response)
}

async fn openapi_document() -> Response {
    let mut response = openapi::document_bytes().clone().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, crate::respond::APPLICATION_JSON);
    response
}
