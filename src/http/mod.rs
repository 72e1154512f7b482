//! The HTTP API: `app(state)` builds the whole router in one place.

pub mod auth;
pub mod docs;
mod email;
pub use email::check as email_check;
pub mod error;
pub mod health;
pub mod input;
pub mod items;
pub mod middleware;
mod pyjson;
pub mod request_id;
pub mod users;

use std::ops::Deref;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use tower::Layer;
use tower::util::MapRequestLayer;

use crate::credentials::TokenHasher;
use crate::domain::Page;
use crate::store::Store;
use auth::Authz;
use error::detail;
use input::{MAX_BODY_BYTES, QueryParams};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Arc<dyn Store>,
    pub tokens: TokenHasher,
    /// Open sign-up (`SIGNUP`); when off, only an admin's token may create users.
    pub signup: bool,
    pub authz: Authz,
    /// `REQUEST_TIMEOUT`: longer requests are answered `503`.
    pub request_timeout: std::time::Duration,
    /// `CORS_ALLOW_ORIGINS`; empty turns CORS off.
    pub cors_allow_origins: Vec<String>,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
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
/// Layers, outermost first: request id, security headers, CORS, trailing slash; then, inside
/// the router (so that the route template is known): access log/metrics/trace, timeout,
/// body limit.
pub fn app(state: AppState) -> Router {
    let cors = middleware::cors(&state.cors_allow_origins);
    let routes = Router::new()
        .route("/health-check", get(health::ready))
        .route("/livez", get(health::live))
        .route("/users", post(users::create_user).get(users::list_users))
        .route(
            "/users/{user_id}",
            get(users::get_user).delete(users::delete_user),
        )
        .route("/users/{user_id}/token", post(users::rotate_token))
        .route(
            "/users/{user_id}/items",
            post(items::create_item).get(items::list_user_items),
        )
        .route(
            "/users/{user_id}/items/{item_id}",
            get(items::get_item)
                .patch(items::update_item)
                .delete(items::delete_item),
        )
        .route("/items", get(items::list_items))
        .route("/me/items", get(items::list_my_items))
        .merge(docs::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
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
    app.layer(axum::middleware::from_fn(middleware::security_headers))
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

/// A JSON list plus `Link: <...>; rel="next"` when the page came back full (more may follow).
pub fn paginated<T: Serialize>(
    path: &str,
    query: &QueryParams,
    page: Page,
    rows: Vec<T>,
) -> Response {
    let full = page.limit > 0 && i64::try_from(rows.len()).is_ok_and(|n| n == page.limit);
    let mut response = axum::Json(rows).into_response();
    if full {
        let mut next = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in query
            .pairs()
            .iter()
            .filter(|(name, _)| name != "skip" && name != "limit")
        {
            next.append_pair(name, value);
        }
        next.append_pair("skip", &page.skip.saturating_add(page.limit).to_string());
        next.append_pair("limit", &page.limit.to_string());
        if let Ok(link) =
            HeaderValue::from_str(&format!("<{path}?{}>; rel=\"next\"", next.finish()))
        {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    response
}
