//! The route table. Every route is added through [`Routes::add`], which records its method,
//! path and access level and puts the access check in front of the handler, so the
//! recorded list is exactly what the router serves (the OpenAPI test compares the two) and
//! the role check lives in one place ([`crate::auth::authorize`]).

use std::sync::Arc;

use axum::Router;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware;
use axum::routing::{MethodFilter, on};

use crate::error::{ApiError, ErrorCode};
use crate::live::Live;
use crate::state::{ApiConfig, AppState, Shared};
use crate::{api, auth, console, headers, phone, system};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (login, health, metrics with their own ACL, the console, the phone).
    Public,
    /// Any signed-in account: an admin, or a SIP user (whose handlers then show only
    /// the user's own data).
    Signed,
    /// Admin accounts only (SIP users get 403).
    Admin,
}

/// One route as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// Its method.
    pub method: Method,
    /// Its path template (`/api/users/{user}`).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

/// A router under construction that records what it routes.
pub(crate) struct Routes<L: Live> {
    router: Router<Shared<L>>,
    recorded: Vec<RouteInfo>,
    state: Shared<L>,
}

impl<L: Live> Routes<L> {
    /// Adds `handler` for `method path`, behind the access check for `access`.
    pub(crate) fn add<H, T>(
        mut self,
        method: Method,
        path: &'static str,
        access: Access,
        handler: H,
    ) -> Self
    where
        H: Handler<T, Shared<L>>,
        T: 'static,
    {
        let filter =
            MethodFilter::try_from(method.clone()).expect("routes use the standard methods only");
        let mut route = on(filter, handler);
        if access != Access::Public {
            route = route.route_layer(middleware::from_fn_with_state(
                (self.state.clone(), access),
                auth::authorize::<L>,
            ));
        }
        self.router = self.router.route(path, route);
        self.recorded.push(RouteInfo {
            method,
            path,
            access,
        });
        self
    }
}

/// Builds the whole application and the list of its routes.
pub(crate) fn build<L: Live>(
    store: sb_store::Store,
    live: Arc<L>,
    config: ApiConfig,
) -> (Router, Vec<RouteInfo>) {
    let state: Shared<L> = Arc::new(AppState::new(store, live, config));
    let routes = Routes {
        router: Router::new(),
        recorded: Vec::new(),
        state: state.clone(),
    };
    let routes = system::routes(routes);
    let routes = console::routes(routes);
    let routes = phone::routes(routes);
    let routes = api::routes(routes);
    let Routes {
        router, recorded, ..
    } = routes;
    // The SIP WebSocket endpoint is no REST operation (it switches protocols
    // and carries SIP), so it is served outside the recorded API routes.
    let router = router
        .route(
            crate::sip_ws::SIP_WS_PATH,
            axum::routing::get(crate::sip_ws::upgrade::<L>),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            headers::panic_response,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            headers::finish_response::<L>,
        ))
        .with_state(state);
    (router, recorded)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this resource does not support the method",
    )
}
