//! Live state from the server: registrations (a SIP user sees only its own AOR's) and
//! calls in progress, with removal of a binding and hang-up.

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;

use crate::api::user_key;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{QueryParams, Segments};
use crate::live::Live;
use crate::respond::{no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(
        Method::GET,
        "/api/registrations",
        Access::Signed,
        registrations::<L>,
    )
    .add(
        Method::DELETE,
        "/api/registrations/{aor}/{binding_id}",
        Access::Admin,
        remove_binding::<L>,
    )
    .add(Method::GET, "/api/calls", Access::Admin, calls::<L>)
    .add(
        Method::DELETE,
        "/api/calls/{id}",
        Access::Admin,
        hang_up::<L>,
    )
}

async fn registrations<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    mut query: QueryParams,
) -> Result<Response, ApiError> {
    let wanted = query.text("user");
    query.finish()?;
    let wanted = match wanted {
        Some(text) => {
            Some(
                user_key(&text, &state.live.default_domain()).map_err(|e| ApiError {
                    field: Some("user".to_owned()),
                    ..e
                })?,
            )
        }
        None => None,
    };
    let own = caller
        .sip_user()
        .map(|(user, domain)| (user.to_owned(), domain.to_owned()));
    let mut list = state.live.registrations().await;
    list.retain(|r| {
        let matches = |(user, domain): &(String, String)| {
            r.user == *user && r.domain.eq_ignore_ascii_case(domain)
        };
        own.as_ref().is_none_or(matches) && wanted.as_ref().is_none_or(matches)
    });
    Ok(ok(&list))
}

async fn remove_binding<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments((aor, binding_id)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    if state.live.remove_binding(&aor, &binding_id).await {
        tracing::info!(by = caller.label(), aor, binding_id, "binding removed");
        Ok(no_content())
    } else {
        Err(ApiError::not_found(format!(
            "no binding {binding_id} of {aor}"
        )))
    }
}

async fn calls<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let calls = state.live.calls().await;
    Ok(ok(&calls))
}

async fn hang_up<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    if state.live.hang_up(&id).await {
        tracing::info!(by = caller.label(), call_id = id, "call hung up");
        Ok(no_content())
    } else {
        Err(ApiError::not_found(format!("no call {id}")))
    }
}
