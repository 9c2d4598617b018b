//! `/ws`: SIP over WebSocket on the HTTP port (RFC 7118). The route answers
//! the WebSocket opening handshake (RFC 6455 §4.2.2), which must offer the
//! `sip` subprotocol (RFC 7118 §4.1), and hands the upgraded connection to
//! the server ([`Live::sip_websocket`]), whose SIP transports serve it. Over
//! HTTPS the connection is a WSS one.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use sha1::{Digest, Sha1};

use crate::error::{ApiError, ErrorCode};
use crate::live::Live;
use crate::state::Shared;

/// The path of the SIP WebSocket endpoint.
pub const SIP_WS_PATH: &str = "/ws";

/// A connection upgraded to WebSocket, the handshake done.
pub type UpgradedConnection = TokioIo<Upgraded>;

/// The GUID of RFC 6455 §1.3, appended to the client's key.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Where an HTTP connection arrived, put in every request's extensions by
/// [`crate::serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionInfo {
    /// The server's address of the connection.
    pub(crate) local: SocketAddr,
    /// Whether it is TLS.
    pub(crate) secure: bool,
}

/// Answers the opening handshake and hands the connection over once hyper
/// has switched protocols.
pub(crate) async fn upgrade<L: Live>(
    State(state): State<Shared<L>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    mut request: Request,
) -> Response {
    let accept = match check_handshake(request.headers()) {
        Ok(accept) => accept,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(info) = request.extensions().get::<ConnectionInfo>().copied() else {
        return ApiError::new(ErrorCode::Internal, "connection addresses unknown").into_response();
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                state
                    .live
                    .sip_websocket(TokioIo::new(upgraded), remote, info.local, info.secure);
            }
            Err(error) => tracing::debug!(%remote, %error, "WebSocket upgrade failed"),
        }
    });
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    headers.insert(
        header::SEC_WEBSOCKET_PROTOCOL,
        HeaderValue::from_static("sip"),
    );
    response
}

/// Why an opening handshake is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// 400, with what is wrong.
    BadRequest(&'static str),
    /// 426: only version 13 is spoken.
    Version,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::BadRequest(message) => {
                ApiError::new(ErrorCode::InvalidField, message).into_response()
            }
            Refusal::Version => {
                let mut response = ApiError::new(
                    ErrorCode::InvalidField,
                    "Sec-WebSocket-Version 13 is required",
                )
                .into_response();
                *response.status_mut() = StatusCode::UPGRADE_REQUIRED;
                response.headers_mut().insert(
                    header::SEC_WEBSOCKET_VERSION,
                    HeaderValue::from_static("13"),
                );
                response
            }
        }
    }
}

/// The `Sec-WebSocket-Accept` value for a valid handshake with the `sip`
/// subprotocol; otherwise why it is refused.
fn check_handshake(headers: &HeaderMap) -> Result<HeaderValue, Refusal> {
    let refuse = |message: &'static str| Err(Refusal::BadRequest(message));
    let has_token = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|value| {
            value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    if !has_token(header::UPGRADE, "websocket") || !has_token(header::CONNECTION, "upgrade") {
        return refuse("not a WebSocket upgrade");
    }
    if headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return Err(Refusal::Version);
    }
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY) else {
        return refuse("Sec-WebSocket-Key is missing");
    };
    // RFC 6455 §4.1: the key is 16 random bytes, base64-encoded.
    if STANDARD.decode(key.as_bytes()).map(|k| k.len()) != Ok(16) {
        return refuse("Sec-WebSocket-Key is not 16 bytes in base64");
    }
    if !has_token(header::SEC_WEBSOCKET_PROTOCOL, "sip") {
        return refuse("the sip subprotocol is required (RFC 7118)");
    }
    Ok(accept_key(key.as_bytes()))
}

/// RFC 6455 §4.2.2: base64(SHA-1(key + GUID)).
fn accept_key(key: &[u8]) -> HeaderValue {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WS_GUID);
    let value = STANDARD.encode(sha1.finalize());
    HeaderValue::try_from(value).expect("base64 is a valid header value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handshake(protocol: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, Upgrade"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            HeaderValue::from_static("dGhlIHNhbXBsZSBub25jZQ=="),
        );
        if let Some(protocol) = protocol {
            headers.insert(
                header::SEC_WEBSOCKET_PROTOCOL,
                HeaderValue::try_from(protocol).unwrap(),
            );
        }
        headers
    }

    #[test]
    fn the_accept_key_is_the_one_of_rfc_6455() {
        // RFC 6455 §1.3's example.
        let accept = check_handshake(&handshake(Some("chat, sip"))).expect("valid");
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn handshakes_without_sip_or_upgrade_are_refused() {
        let no_sip = Refusal::BadRequest("the sip subprotocol is required (RFC 7118)");
        assert_eq!(check_handshake(&handshake(None)), Err(no_sip));
        assert_eq!(check_handshake(&handshake(Some("chat"))), Err(no_sip));
        assert_eq!(no_sip.into_response().status(), StatusCode::BAD_REQUEST);
        let mut old = handshake(Some("sip"));
        old.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(check_handshake(&old), Err(Refusal::Version));
        let response = Refusal::Version.into_response();
        assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
        assert_eq!(response.headers()[header::SEC_WEBSOCKET_VERSION], "13");
        let mut plain = handshake(Some("sip"));
        plain.remove(header::UPGRADE);
        assert_eq!(
            check_handshake(&plain),
            Err(Refusal::BadRequest("not a WebSocket upgrade"))
        );
    }
}
