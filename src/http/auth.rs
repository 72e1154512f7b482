//! `X-API-TOKEN`: the `Caller` extractor. Who the token names is decided by the accounts
//! use case; what the caller may do, by `authz`.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::authz::Caller;

pub const TOKEN_HEADER: &str = "x-api-token";

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = optional_caller(state, &parts.headers)
            .await?
            .ok_or(ApiError::NotAuthenticated)?;
        tracing::Span::current().record("user_id", caller.id);
        // Right after authentication, before any 404 or 422: a read-only token only reads.
        if !parts.method.is_safe() {
            caller.require_write()?;
        }
        Ok(caller)
    }
}

/// The caller named by the `X-API-TOKEN` header, if it names one (sign-up accepts an
/// admin's token but needs none).
pub async fn optional_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let Some(token) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    Ok(state.accounts.authenticate(token).await?)
}
