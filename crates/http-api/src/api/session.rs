//! Signing in and out, who am I, and admins' API tokens.
//!
//! `POST /api/login` takes `NAME` (the admin account NAME if there is one, else the SIP
//! user NAME at the default domain) or `user@domain` (a SIP user, checked against its MD5
//! HA1 for realm = domain). Every failure answers the same 401, and counts against the
//! source address and the user name ([`crate::ratelimit`]).

use std::time::Instant;

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use sb_store::{AuthToken, NewToken, TokenKind, TokenSubject};
use serde::{Deserialize, Serialize};

use crate::api::{admin_name, parse_id};
use crate::auth::{Caller, Principal, check_admin_source, new_token};
use crate::credentials::{check_user_password, validate_domain, verify_password};
use crate::error::ApiError;
use crate::extract::{ClientAddr, JsonBody, Segments};
use crate::live::Live;
use crate::respond::{created, no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;
use crate::time::{now_unix_ms, ser_opt_time, ser_time};
use crate::validate;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::POST, "/api/login", Access::Public, login::<L>)
        .add(Method::POST, "/api/logout", Access::Signed, logout::<L>)
        .add(Method::GET, "/api/me", Access::Signed, me)
        .add(Method::GET, "/api/tokens", Access::Admin, list_tokens::<L>)
        .add(
            Method::POST,
            "/api/tokens",
            Access::Admin,
            create_token::<L>,
        )
        .add(
            Method::DELETE,
            "/api/tokens/{id}",
            Access::Admin,
            delete_token::<L>,
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct LoginResponse<'a> {
    token: &'a str,
    role: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    #[serde(serialize_with = "ser_time")]
    expires_at: i64,
}

async fn login<L: Live>(
    State(state): State<Shared<L>>,
    client: ClientAddr,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ApiError> {
    let username = request.username.trim();
    if let Err(retry) = state.limiter.check(Instant::now(), client.0, username) {
        tracing::warn!(username, client = ?client.0, "login refused: too many failures");
        return Err(ApiError::rate_limited(retry.as_secs().max(1)));
    }
    let Some(principal) = check_credentials(&state, username, &request.password).await? else {
        state
            .limiter
            .record_failure(Instant::now(), client.0, username);
        tracing::warn!(username, client = ?client.0, "login failed");
        return Err(ApiError::unauthorized("invalid credentials"));
    };
    if let Principal::Admin { .. } = principal {
        check_admin_source(&state, client).await?;
    }
    let now = now_unix_ms();
    let ttl_ms = i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let expires_at = now.saturating_add(ttl_ms);
    let secret = new_token(TokenKind::Session);
    let subject = match &principal {
        Principal::Admin { name } => TokenSubject::Admin { name: name.clone() },
        Principal::User { username, domain } => TokenSubject::User {
            username: username.clone(),
            domain: domain.clone(),
        },
    };
    state
        .store
        .create_token(&NewToken {
            token_hash: secret.hash,
            subject,
            kind: TokenKind::Session,
            name: None,
            expires_at_unix_ms: Some(expires_at),
        })
        .await?;
    // Sessions end by expiry; dropping the expired ones here keeps the table small.
    if let Err(error) = state.store.purge_expired_tokens(now).await {
        tracing::warn!(%error, "cannot purge expired tokens");
    }
    let (role, name, domain) = match &principal {
        Principal::Admin { name } => ("admin", name.as_str(), None),
        Principal::User { username, domain } => ("user", username.as_str(), Some(domain.as_str())),
    };
    tracing::info!(role, name, domain, client = ?client.0, "login");
    Ok(ok(&LoginResponse {
        token: &secret.text,
        role,
        name,
        domain,
        expires_at,
    }))
}

/// The account behind `username` and `password`, or `None` whatever was wrong.
async fn check_credentials<L: Live>(
    state: &Shared<L>,
    username: &str,
    password: &str,
) -> Result<Option<Principal>, ApiError> {
    let (user, domain) = match username.rsplit_once('@') {
        Some((user, domain)) => (user, domain.to_owned()),
        None => {
            if let Some(admin) = state.store.get_admin(username).await? {
                let password = password.to_owned();
                let hash = admin.password_hash.clone();
                let matches =
                    tokio::task::spawn_blocking(move || verify_password(&password, &hash))
                        .await
                        .map_err(|e| ApiError::internal("password check", &e))?;
                return Ok(
                    (matches && admin.enabled).then_some(Principal::Admin { name: admin.name })
                );
            }
            (username, state.live.default_domain())
        }
    };
    let Ok(domain) = validate_domain(&domain) else {
        return Ok(None);
    };
    let Some(stored) = state.store.get_user(user, &domain).await? else {
        return Ok(None);
    };
    let matches = check_user_password(user, &domain, password, &stored.ha1_md5);
    Ok((matches && stored.enabled).then_some(Principal::User {
        username: stored.username,
        domain: stored.domain,
    }))
}

async fn logout<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    state.store.delete_token_by_hash(&caller.token_hash).await?;
    tracing::info!(who = caller.label(), "logout");
    Ok(no_content())
}

#[derive(Serialize)]
struct Me<'a> {
    role: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
}

async fn me(caller: Caller) -> Response {
    match &caller.principal {
        Principal::Admin { name } => ok(&Me {
            role: "admin",
            name,
            domain: None,
        }),
        Principal::User { username, domain } => ok(&Me {
            role: "user",
            name: username,
            domain: Some(domain),
        }),
    }
}

#[derive(Serialize)]
struct TokenView<'a> {
    id: i64,
    name: Option<&'a str>,
    #[serde(serialize_with = "ser_time")]
    created_at: i64,
    #[serde(serialize_with = "ser_opt_time")]
    expires_at: Option<i64>,
    #[serde(serialize_with = "ser_opt_time")]
    last_used_at: Option<i64>,
}

impl<'a> From<&'a AuthToken> for TokenView<'a> {
    fn from(t: &'a AuthToken) -> Self {
        TokenView {
            id: t.id,
            name: t.name.as_deref(),
            created_at: t.created_at_unix_ms,
            expires_at: t.expires_at_unix_ms,
            last_used_at: t.last_used_at_unix_ms,
        }
    }
}

/// The caller's API tokens.
async fn own_api_tokens<L: Live>(
    state: &Shared<L>,
    caller: &Caller,
) -> Result<Vec<AuthToken>, ApiError> {
    let subject = TokenSubject::Admin {
        name: admin_name(caller)?.to_owned(),
    };
    let mut tokens = state.store.list_tokens(&subject).await?;
    tokens.retain(|t| t.kind == TokenKind::Api);
    Ok(tokens)
}

async fn list_tokens<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tokens = own_api_tokens(&state, &caller).await?;
    let views: Vec<TokenView<'_>> = tokens.iter().map(TokenView::from).collect();
    Ok(ok(&views))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenRequest {
    name: String,
    #[serde(default)]
    expires_in_days: Option<u32>,
}

#[derive(Serialize)]
struct CreatedToken<'a> {
    id: i64,
    name: Option<&'a str>,
    token: &'a str,
    #[serde(serialize_with = "ser_time")]
    created_at: i64,
    #[serde(serialize_with = "ser_opt_time")]
    expires_at: Option<i64>,
}

async fn create_token<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    JsonBody(request): JsonBody<NewTokenRequest>,
) -> Result<Response, ApiError> {
    validate::text("name", &request.name)?;
    if request.name.trim().is_empty() {
        return Err(ApiError::invalid_field("name", "name: must not be empty"));
    }
    let expires_at = match request.expires_in_days {
        None => None,
        Some(days @ 1..=3650) => Some(now_unix_ms() + i64::from(days) * 86_400_000),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "expires_in_days",
                "expires_in_days: from 1 to 3650",
            ));
        }
    };
    let admin = admin_name(&caller)?.to_owned();
    let secret = new_token(TokenKind::Api);
    let token = state
        .store
        .create_token(&NewToken {
            token_hash: secret.hash,
            subject: TokenSubject::Admin {
                name: admin.clone(),
            },
            kind: TokenKind::Api,
            name: Some(request.name),
            expires_at_unix_ms: expires_at,
        })
        .await?;
    tracing::info!(admin, token = token.id, "API token created");
    Ok(created(&CreatedToken {
        id: token.id,
        name: token.name.as_deref(),
        token: &secret.text,
        created_at: token.created_at_unix_ms,
        expires_at: token.expires_at_unix_ms,
    }))
}

async fn delete_token<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments(id): Segments<String>,
) -> Result<Response, ApiError> {
    let id = parse_id("id", &id)?;
    let tokens = own_api_tokens(&state, &caller).await?;
    if !tokens.iter().any(|t| t.id == id) {
        return Err(ApiError::not_found(format!("token {id} not found")));
    }
    state.store.delete_token(id).await?;
    tracing::info!(admin = caller.admin(), token = id, "API token revoked");
    Ok(no_content())
}
