//! Bans from the server's admission guard: sources whose SIP messages are dropped (over
//! their rate, or guessing passwords) and user names under watch. Admins list them and
//! lift one before it ends by itself.

use std::net::IpAddr;

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Segments;
use crate::live::{BanTarget, Live};
use crate::respond::{no_content, ok};
use crate::routes::{Access, Routes};
use crate::state::Shared;

/// Longest user name a ban can be on (the longest an account may have).
const MAX_USER_KEY: usize = 64;

pub(crate) fn routes<L: Live>(r: Routes<L>) -> Routes<L> {
    r.add(Method::GET, "/api/bans", Access::Admin, list::<L>)
        .add(
            Method::DELETE,
            "/api/bans/{kind}/{key}",
            Access::Admin,
            lift::<L>,
        )
}

async fn list<L: Live>(State(state): State<Shared<L>>) -> Result<Response, ApiError> {
    let bans = state.live.bans().await;
    Ok(ok(&bans))
}

/// The ban `kind`/`key` names: a source as an address (an IPv6 one, or its `/64` as
/// listed), or a user name.
fn target(kind: &str, key: &str) -> Result<BanTarget, ApiError> {
    match kind {
        "source" => {
            let address = match key.strip_suffix("/64") {
                Some(network) if network.contains(':') => network,
                _ => key,
            };
            address
                .parse::<IpAddr>()
                .map(BanTarget::Source)
                .map_err(|_| {
                    ApiError::invalid_field(
                        "key",
                        format!("`{key}` is not an IP address (or an IPv6 /64 as listed)"),
                    )
                })
        }
        "user" if !key.is_empty() && key.len() <= MAX_USER_KEY => {
            Ok(BanTarget::User(key.to_owned()))
        }
        "user" => Err(ApiError::invalid_field(
            "key",
            format!("a user name has 1 to {MAX_USER_KEY} characters"),
        )),
        _ => Err(ApiError::invalid_field(
            "kind",
            format!("`{kind}`: expected source or user"),
        )),
    }
}

async fn lift<L: Live>(
    State(state): State<Shared<L>>,
    caller: Caller,
    Segments((kind, key)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let target = target(&kind, &key)?;
    if state.live.lift_ban(target).await {
        tracing::info!(by = caller.label(), kind, key, "ban lifted");
        Ok(no_content())
    } else {
        Err(ApiError::not_found(format!("no ban on {kind} {key}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_by_kind() {
        assert_eq!(
            target("source", "192.0.2.7").unwrap(),
            BanTarget::Source("192.0.2.7".parse().unwrap())
        );
        assert_eq!(
            target("source", "2001:db8:1:2::/64").unwrap(),
            BanTarget::Source("2001:db8:1:2::".parse().unwrap())
        );
        assert_eq!(
            target("user", "Alice").unwrap(),
            BanTarget::User("Alice".to_owned())
        );
        for (kind, key, field) in [
            ("source", "192.0.2.0/24", "key"),
            ("source", "192.0.2.7/64", "key"),
            ("source", "example.com", "key"),
            ("user", "", "key"),
            ("user", &"a".repeat(65), "key"),
            ("trunk", "carrier", "kind"),
        ] {
            let e = target(kind, key).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{kind} {key}");
        }
    }
}
