//! The HTTP adapter: `app(state)` builds the whole router in one place. Everything here
//! speaks HTTP (status codes, headers, FastAPI's shapes) and hands the work to the use cases
//! (`accounts`, the store) outside this module.

pub mod access;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod cursor;
pub mod docs;
pub mod error;
pub mod fastapi;
pub mod health;
pub mod idempotency;
pub mod items;
pub mod middleware;
pub mod origin;
pub mod paging;
pub mod rate_limit;
pub mod request_id;
pub mod user_body;
pub mod users;
pub mod web;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use tower::Layer;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::accounts::Accounts;
use crate::authz::{Authz, Caller};
use crate::store::Store;
use error::detail;
use fastapi::MAX_BODY_BYTES;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    /// `/health-check`: one ping at a time, shared by the checks that arrive meanwhile.
    pub readiness: crate::readiness::Readiness,
    pub accounts: Accounts,
    /// Open sign-up (`SIGNUP`); when off, only an admin's token may create users.
    pub signup: bool,
    pub authz: Authz,
    /// `REQUEST_TIMEOUT`: longer requests are answered `503`.
    pub request_timeout: std::time::Duration,
    /// `BODY_READ_TIMEOUT`: slower bodies are answered `408`.
    pub body_read_timeout: std::time::Duration,
    /// `CORS_ALLOW_ORIGINS`; empty turns CORS off.
    pub cors_allow_origins: Vec<String>,
    pub rate_limits: Arc<rate_limit::RateLimits>,
    /// How Idempotency-Key records are found and sealed.
    pub idempotency: crate::idempotency::Keys,
    /// How the client's IP is learned (`TRUST_PROXY_HEADERS`, `TRUSTED_PROXIES`).
    pub proxy_trust: crate::config::ProxyTrust,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Shared {
    /// The store that serves `caller`'s reads: a read replica, if there is one in use and the
    /// caller has not written lately, else the primary. For `GET` handlers only: the reads a
    /// change makes use `store`, the primary.
    pub fn reads(&self, caller: &Caller) -> Arc<dyn Store> {
        crate::store::reads(&self.store, caller.reads)
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The API. Trailing slashes are trimmed before routing (`/users/` is `/users`), which is
/// what FastAPI's redirect achieves for its clients.
///
/// Layers, outermost first: request id, security headers, limits on the request line and
/// headers, CORS, trailing slash; then, inside
/// the router (so that the route template is known): access log/metrics/trace, timeout,
/// body limit, and the panic safety net (innermost, so that a panic is logged inside the
/// request's span and counted as the 500 it becomes).
pub fn app(state: AppState) -> Router {
    app_with_routes(state, Router::new())
}

/// `app`, with `extra` routes under the same layers: for tests that need a handler the API
/// does not have (one that panics, say) to exercise the stack around it.
pub fn app_with_routes(state: AppState, extra: Router<AppState>) -> Router {
    let cors = middleware::cors(&state.cors_allow_origins);
    let (routes, openapi) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .routes(routes!(health::ready))
        .routes(routes!(health::replica))
        .routes(routes!(health::live))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::get_user, users::delete_user))
        .routes(routes!(users::rotate_token))
        .routes(routes!(users::me))
        .routes(routes!(items::create_item, items::list_user_items))
        .routes(routes!(
            items::get_item,
            items::update_item,
            items::delete_item
        ))
        .routes(routes!(items::list_items))
        .routes(routes!(items::list_my_items))
        .routes(routes!(access::list_tokens, access::create_token))
        .routes(routes!(access::revoke_token))
        .routes(routes!(access::export))
        .routes(routes!(access::erase_self))
        .routes(routes!(admin::list_users, admin::create_user))
        .routes(routes!(admin::activate))
        .routes(routes!(admin::deactivate))
        .routes(routes!(admin::set_role))
        .routes(routes!(admin::erase_user))
        .routes(routes!(admin::list_audit))
        .split_for_parts();
    let routes = routes
        .merge(docs::router(openapi))
        .route("/", get(web::page))
        .route("/assets/{file}", get(web::asset))
        .merge(extra)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::timeout,
        ))
        .layer(axum::middleware::from_fn(middleware::access))
        .with_state(state);
    let mut app =
        Router::new().fallback_service(MapRequestLayer::new(trim_trailing_slash).layer(routes));
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    app.layer(axum::middleware::from_fn(middleware::request_limits))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(axum::middleware::from_fn(request_id::middleware))
}

async fn not_found() -> Response {
    detail(StatusCode::NOT_FOUND, "Not Found")
}

async fn method_not_allowed() -> Response {
    detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
}

/// `/users/` -> `/users`. Swagger UI's own paths (`/docs/...`) keep their slash.
fn trim_trailing_slash(mut req: Request) -> Request {
    let path = req.uri().path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
        let path_and_query = match req.uri().query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        let mut parts = req.uri().clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(uri) = Uri::from_parts(parts) {
                *req.uri_mut() = uri;
            }
        }
    }
    req
}
