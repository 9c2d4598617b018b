//! The `/api` resources, one module each, and what they share.

mod acls;
mod admins;
mod bans;
mod cdrs;
mod dialplans;
mod groups;
mod live_state;
mod session;
mod trunks;
mod users;

use std::future::Future;

use sb_store::StoreError;

use crate::auth::Caller;
use crate::credentials::{validate_domain, validate_username};
use crate::error::{ApiError, ErrorCode};
use crate::live::Live;
use crate::routes::Routes;
use crate::state::Shared;

/// Every `/api` route.
pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    let r = session::routes(r);
    let r = admins::routes(r);
    let r = users::routes(r);
    let r = groups::routes(r);
    let r = acls::routes(r);
    let r = trunks::routes(r);
    let r = dialplans::routes(r);
    let r = cdrs::routes(r);
    let r = bans::routes(r);
    live_state::routes(r)
}

/// The admin behind an admin-only route (the access check guarantees one).
pub(crate) fn admin_name(caller: &Caller) -> Result<&str, ApiError> {
    caller
        .admin()
        .ok_or_else(|| ApiError::forbidden("this operation needs an admin account"))
}

/// A numeric path segment.
pub(crate) fn parse_id(field: &str, text: &str) -> Result<i64, ApiError> {
    text.parse()
        .map_err(|_| ApiError::invalid_field(field, format!("{field}: expected an integer")))
}

/// `name` (at `default_domain`) or `name@domain`, validated; the domain lower-case.
pub(crate) fn user_key(text: &str, default_domain: &str) -> Result<(String, String), ApiError> {
    let (name, domain) = match text.rsplit_once('@') {
        Some((name, domain)) => (name, domain),
        None => (text, default_domain),
    };
    validate_username(name)?;
    Ok((name.to_owned(), validate_domain(domain)?))
}

/// A JSON member that distinguishes absent (`None`), `null` (`Some(None)`) and a value.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// An optional text member: absent, `null` and `""` all mean "none".
pub(crate) fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Tells the server that ACLs or trunks changed. When it cannot apply the new set, runs
/// `undo` (which restores the rows the change replaced) and answers 400 `invalid_field`
/// with the server's reason, so a failed request leaves nothing changed.
pub(crate) async fn apply_config<L, F, Fut>(state: &Shared<L>, undo: F) -> Result<(), ApiError>
where
    L: Live,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), StoreError>>,
{
    let Err(reason) = state.live.trunks_changed().await else {
        return Ok(());
    };
    if let Err(error) = undo().await {
        tracing::error!(%error, "cannot roll back a configuration change the server refused");
        return Err(ApiError::from(error));
    }
    tracing::warn!(
        reason,
        "configuration change refused by the server and rolled back"
    );
    Err(ApiError::new(
        ErrorCode::InvalidField,
        format!("the change cannot be applied: {reason}"),
    ))
}
