//! What every response gets on its way out: the security headers (the browser phone's
//! page gets its own Content-Security-Policy), `Cache-Control: no-store` for API and
//! monitoring answers, and a count by status for `/metrics`.

use std::any::Any;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::live::Live;
use crate::state::Shared;

/// The console's policy: its own scripts, styles and images only, no inline code, no
/// framing, no plugins.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; \
     frame-ancestors 'none'; form-action 'self'; object-src 'none'";

/// The browser phone's policy: the console's, plus WebSocket connections to any host
/// (`connect-src`). The page registers over a WebSocket URL the user may edit: this
/// server's `/ws` by default, but often a SIP WebSocket listener on another port
/// (`ws:`/`wss:` in `[sip] listen`) or another host, which `'self'` does not cover (and
/// which some browsers do not match against `'self'` at all). Scripts stay limited to this
/// server's files, so only the page's own code can open such a connection; plain HTTP
/// requests (`fetch`) stay limited to this origin.
pub(crate) const PHONE_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; \
     connect-src 'self' ws: wss:; base-uri 'none'; frame-ancestors 'none'; \
     form-action 'self'; object-src 'none'";

const SECURITY_HEADERS: [(HeaderName, HeaderValue); 4] = [
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    ),
];

/// Middleware around the whole router.
pub(crate) async fn finish_response<L: Live>(
    State(state): State<Shared<L>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let no_store = path == "/api"
        || path.starts_with("/api/")
        || path == "/metrics"
        || path == "/healthz"
        || path == "/readyz";
    let phone_page = path == crate::phone::PAGE_PATH;
    let mut response = next.run(request).await;
    state.http.count(response.status().as_u16());
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, value);
    }
    if phone_page {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(PHONE_CONTENT_SECURITY_POLICY),
        );
    }
    if no_store {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The answer when a handler panicked (a bug): a plain 500 in the error shape.
#[allow(
    clippy::needless_pass_by_value,
    reason = "the signature CatchPanicLayer calls"
)]
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let text = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = text, "request handler panicked");
    ApiError::new(crate::error::ErrorCode::Internal, "internal error").into_response()
}
