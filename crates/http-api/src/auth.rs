//! Bearer tokens and the one access check every non-public route goes through.
//!
//! A token is `sbs_` (session) or `sbt_` (API token) followed by 32 random bytes in
//! unpadded base64url; only its SHA-256 is stored. On every request the token is looked up
//! (expired tokens are not found), its account is re-read (a disabled admin or SIP user
//! loses access at once), an admin's source address is checked against `admin_acl`, and
//! the route's [`Access`] is enforced. The handler then reads the [`Caller`].

use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sb_store::{Store, TokenKind, TokenSubject};
use sb_switch::IpPrefix;
use sha2::{Digest as _, Sha256};

use crate::error::ApiError;
use crate::extract::ClientAddr;
use crate::live::Live;
use crate::routes::Access;
use crate::state::Shared;
use crate::time::now_unix_ms;

/// Prefix of session tokens.
const SESSION_PREFIX: &str = "sbs_";
/// Prefix of API tokens.
const API_PREFIX: &str = "sbt_";
/// Random bytes per token.
const TOKEN_BYTES: usize = 32;
/// Length of a token's text: prefix and 43 base64url characters.
const TOKEN_LEN: usize = 4 + 43;

/// A freshly made token: the text for the client (shown once) and the hash to store.
pub(crate) struct NewSecret {
    pub(crate) text: String,
    pub(crate) hash: [u8; 32],
}

/// Makes a token of `kind` from the thread's cryptographic random generator.
pub(crate) fn new_token(kind: TokenKind) -> NewSecret {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    let prefix = match kind {
        TokenKind::Session => SESSION_PREFIX,
        TokenKind::Api => API_PREFIX,
    };
    let mut text = String::with_capacity(TOKEN_LEN);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(bytes, &mut text);
    let hash = token_hash(&text);
    NewSecret { text, hash }
}

/// What the store keeps of a token.
pub(crate) fn token_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// The token of `Authorization: Bearer <token>`, if it has the shape of one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    let well_formed = token.len() == TOKEN_LEN
        && (token.starts_with(SESSION_PREFIX) || token.starts_with(API_PREFIX))
        && token[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(token)
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principal {
    /// An admin account.
    Admin {
        /// Its name.
        name: String,
    },
    /// A SIP user.
    User {
        /// User part.
        username: String,
        /// Domain, lower-case.
        domain: String,
    },
}

/// The authenticated caller of a request, put there by [`authorize`].
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) principal: Principal,
    /// The token's hash (logout revokes it).
    pub(crate) token_hash: [u8; 32],
}

impl Caller {
    /// The admin's name, or `user@domain`: the author of dialplan changes and log lines.
    pub(crate) fn label(&self) -> String {
        match &self.principal {
            Principal::Admin { name } => name.clone(),
            Principal::User { username, domain } => format!("{username}@{domain}"),
        }
    }

    /// The SIP user, when the caller is one.
    pub(crate) fn sip_user(&self) -> Option<(&str, &str)> {
        match &self.principal {
            Principal::Admin { .. } => None,
            Principal::User { username, domain } => Some((username, domain)),
        }
    }

    /// The admin name, when the caller is an admin.
    pub(crate) fn admin(&self) -> Option<&str> {
        match &self.principal {
            Principal::Admin { name } => Some(name),
            Principal::User { .. } => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Caller>().cloned().ok_or_else(|| {
            tracing::error!(
                path = parts.uri.path(),
                "route without an access check reads the caller"
            );
            ApiError::new(crate::error::ErrorCode::Internal, "internal error")
        })
    }
}

/// The access check in front of every non-public route.
pub(crate) async fn authorize<L: Live>(
    State((state, access)): State<(Shared<L>, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = ClientAddr::of(request.extensions());
    match authenticate(&state, access, request.headers(), client).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(error) => error.into_response(),
    }
}

async fn authenticate<L: Live>(
    state: &Shared<L>,
    access: Access,
    headers: &HeaderMap,
    client: ClientAddr,
) -> Result<Caller, ApiError> {
    let token =
        bearer(headers).ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?;
    let hash = token_hash(token);
    let found = state
        .store
        .find_token(&hash, now_unix_ms())
        .await?
        .ok_or_else(|| ApiError::unauthorized("the token is invalid or has expired"))?;
    let principal = match found.subject {
        TokenSubject::Admin { name } => {
            let enabled = state
                .store
                .get_admin(&name)
                .await?
                .is_some_and(|a| a.enabled);
            if !enabled {
                return Err(ApiError::unauthorized("the account is disabled"));
            }
            check_admin_source(state, client).await?;
            Principal::Admin { name }
        }
        TokenSubject::User { username, domain } => {
            let enabled = state
                .store
                .credentials(&username, &domain)
                .await?
                .is_some_and(|c| c.enabled);
            if !enabled {
                return Err(ApiError::unauthorized("the account is disabled"));
            }
            Principal::User { username, domain }
        }
    };
    if access == Access::Admin && matches!(principal, Principal::User { .. }) {
        return Err(ApiError::forbidden("this operation needs an admin account"));
    }
    Ok(Caller {
        principal,
        token_hash: hash,
    })
}

/// With `admin_acl` configured: 403 unless the client address is in that ACL.
pub(crate) async fn check_admin_source<L: Live>(
    state: &Shared<L>,
    client: ClientAddr,
) -> Result<(), ApiError> {
    match &state.config.admin_acl {
        None => Ok(()),
        Some(acl) if acl_allows(&state.store, acl, client.0).await? => Ok(()),
        Some(_) => Err(ApiError::forbidden(
            "admin access is not allowed from this address",
        )),
    }
}

/// Whether `client` is within the stored ACL `name`; `false` when the ACL does not exist
/// or the address is unknown.
pub(crate) async fn acl_allows(
    store: &Store,
    name: &str,
    client: Option<IpAddr>,
) -> Result<bool, ApiError> {
    let Some(ip) = client else {
        return Ok(false);
    };
    let Some(acl) = store.get_acl(name).await? else {
        tracing::warn!(acl = name, "the configured access list does not exist");
        return Ok(false);
    };
    Ok(acl
        .cidrs
        .iter()
        .filter_map(|c| c.parse::<IpPrefix>().ok())
        .any(|prefix| prefix.contains(ip)))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn tokens_have_the_documented_shape() {
        let session = new_token(TokenKind::Session);
        let api = new_token(TokenKind::Api);
        assert!(session.text.starts_with("sbs_") && api.text.starts_with("sbt_"));
        assert_eq!(session.text.len(), TOKEN_LEN);
        assert_ne!(session.text[4..], api.text[4..]);
        assert_eq!(session.hash, token_hash(&session.text));
        let mut headers = HeaderMap::new();
        let value = format!("bearer  {}", api.text);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&value).unwrap(),
        );
        assert_eq!(bearer(&headers), Some(api.text.as_str()));
    }

    #[test]
    fn malformed_authorization_headers_are_ignored() {
        let good = new_token(TokenKind::Session).text;
        for value in [
            format!("Basic {good}"),
            good.clone(),
            format!("Bearer {}", &good[..good.len() - 1]),
            format!("Bearer xyz_{}", &good[4..]),
            format!("Bearer {}!", &good[..good.len() - 1]),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&value).unwrap(),
            );
            assert_eq!(bearer(&headers), None, "{value}");
        }
    }
}
