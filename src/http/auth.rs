//! `X-API-TOKEN`: the `Caller` extractor. Who the token names is decided by the accounts
//! use case; what the caller may do, by `authz`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};

use super::AppState;
use super::error::ApiError;
use crate::authz::Caller;
use crate::domain::Item;

pub const TOKEN_HEADER: &str = "x-api-token";

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        admitted(optional_caller(state, &parts.headers).await?, &parts.method)
    }
}

/// The caller named by the `X-API-TOKEN` header, if it names one (sign-up accepts an
/// admin's token but needs none).
pub async fn optional_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let Some(token) = token(headers) else {
        return Ok(None);
    };
    Ok(state.accounts.authenticate(token).await?)
}

/// The caller, as the `Caller` extractor gives it, and the item `item_id` of `owner_id`
/// (`None` inside: no such item), read in one round trip where the store can: the route
/// still authorizes before it answers with the item.
pub async fn caller_with_item(
    state: &AppState,
    headers: &HeaderMap,
    method: &Method,
    owner_id: i64,
    item_id: i64,
) -> Result<(Caller, Option<Item>), ApiError> {
    let Some(token) = token(headers) else {
        return Err(ApiError::NotAuthenticated);
    };
    let found = state
        .accounts
        .authenticate_with_item(token, owner_id, item_id)
        .await?;
    let (caller, item) = found.ok_or(ApiError::NotAuthenticated)?;
    Ok((admitted(Some(caller), method)?, item))
}

/// What every authenticated request goes through: `401` without a caller; the caller's id
/// on the request's span; and, right after authentication, before any 404 or 422, a
/// read-only token refused for anything but reads.
pub fn admitted(caller: Option<Caller>, method: &Method) -> Result<Caller, ApiError> {
    let caller = caller.ok_or(ApiError::NotAuthenticated)?;
    tracing::Span::current().record("user_id", caller.id);
    if !method.is_safe() {
        caller.require_write()?;
    }
    Ok(caller)
}

fn token(headers: &HeaderMap) -> Option<&str> {
    headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok())
}
