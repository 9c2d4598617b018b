//! Tests of the whole router: an in-memory SQLite store, a fake [`Live`], requests sent
//! through `tower::ServiceExt::oneshot` (and over real sockets for TLS).

mod access;
mod bans;
mod cdrs;
mod dialplans;
mod fake;
mod phone;
mod resources;
mod schema;
mod system;
mod tls;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use argon2::password_hash::PasswordHasher;
use argon2::{Algorithm, Argon2, Params, Version};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use bytes::Bytes;
use sb_store::{Store, StoreOptions};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::{ApiConfig, RouteInfo, routes};
pub(crate) use fake::FakeLive;

/// The source address of test requests unless a test picks another.
pub(crate) const CLIENT: &str = "192.0.2.10:40000";
/// The fake server's default domain.
pub(crate) const DOMAIN: &str = "example.com";
/// The admin every harness has.
pub(crate) const ADMIN: &str = "root";
pub(crate) const ADMIN_PASSWORD: &str = "correct horse battery";

/// An argon2id hash with the cheapest parameters, so tests do not spend a second per
/// admin; verification reads the parameters from the string, as in production.
pub(crate) fn cheap_hash(password: &str) -> String {
    let params = Params::new(8, 1, 1, None).expect("valid parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .expect("hashes")
        .to_string()
}

/// A response, read completely.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("UTF-8 body")
    }

    /// Asserts an error answer: status, code and field.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: &str, field: Option<&str>) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        assert_eq!(body["error"]["field"].as_str(), field, "{body}");
        assert!(body["error"]["message"].is_string(), "{body}");
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            Some(&b"application/json"[..])
        );
    }
}

/// One router with its store and fake server.
pub(crate) struct Harness {
    pub(crate) app: Router,
    pub(crate) store: Store,
    pub(crate) live: Arc<FakeLive>,
    pub(crate) routes: Vec<RouteInfo>,
}

impl Harness {
    pub(crate) async fn new() -> Harness {
        Harness::with_config(ApiConfig::default()).await
    }

    pub(crate) async fn with_config(config: ApiConfig) -> Harness {
        let store = Store::connect("sqlite::memory:", StoreOptions::default())
            .await
            .expect("in-memory store");
        store.migrate().await.expect("migrates");
        store
            .create_admin(ADMIN, &cheap_hash(ADMIN_PASSWORD))
            .await
            .expect("admin");
        let live = Arc::new(FakeLive::new(store.clone()));
        let (app, routes) = routes::build(store.clone(), live.clone(), config);
        Harness {
            app,
            store,
            live,
            routes,
        }
    }

    /// Sends `request` from [`CLIENT`] unless it names a source.
    pub(crate) async fn send(&self, mut request: Request<Body>) -> Reply {
        if request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_none()
        {
            let addr: SocketAddr = CLIENT.parse().expect("address");
            request.extensions_mut().insert(ConnectInfo(addr));
        }
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A request with an optional bearer token and JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut builder = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                builder = builder.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(builder.body(body).expect("request")).await
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// A raw body with a given content type.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> Reply {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        self.send(builder.body(Body::from(body.to_owned())).expect("request"))
            .await
    }

    /// Logs in and returns the token.
    pub(crate) async fn login(&self, username: &str, password: &str) -> String {
        let reply = self
            .call(
                Method::POST,
                "/api/login",
                None,
                Some(json!({ "username": username, "password": password })),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        reply.json()["token"].as_str().expect("token").to_owned()
    }

    pub(crate) async fn admin_token(&self) -> String {
        self.login(ADMIN, ADMIN_PASSWORD).await
    }

    /// Creates a SIP user through the API (checking the answer) and returns the body.
    pub(crate) async fn create_user(&self, admin: &str, body: Value) -> Value {
        let reply = self
            .call(Method::POST, "/api/users", Some(admin), Some(body))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()
    }

    /// A SIP user `name` at [`DOMAIN`] with password `secret-pw` and its session.
    pub(crate) async fn user_session(&self, admin: &str, name: &str) -> String {
        self.create_user(admin, json!({ "username": name, "password": "secret-pw" }))
            .await;
        self.login(name, "secret-pw").await
    }
}
