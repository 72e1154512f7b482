//! `X-API-TOKEN` authentication and the authorization policy.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::credentials::{PresentedToken, Verified};

pub const TOKEN_HEADER: &str = "x-api-token";

/// Who may do what (`AUTHZ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authz {
    /// The original app: a team's shared board. Any active user reads everything, assigns
    /// tasks to anyone, changes any item and deletes any user.
    #[default]
    Team,
    /// A user reads and changes only its own items, reads only itself, and deletes only
    /// itself; listings across users are for admins.
    Strict,
}

/// The authenticated user making the request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub id: i64,
    pub is_admin: bool,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let caller = authenticate(state, &parts.headers)
            .await?
            .ok_or(ApiError::NotAuthenticated)?;
        tracing::Span::current().record("user_id", caller.id);
        Ok(caller)
    }
}

/// The caller named by the `X-API-TOKEN` header; `Ok(None)` without one, or for a token that
/// is malformed, unknown, rotated away, or whose user is inactive.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    let Some(token) = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(presented) = PresentedToken::parse(token) else {
        return Ok(None);
    };
    let Some(owner) = state.store.token_owner(presented.selector).await? else {
        return Ok(None);
    };
    match state.tokens.verify(&presented, &owner.token_hash) {
        Verified::No => return Ok(None),
        Verified::Yes => {}
        Verified::YesRehash(new_hash) => {
            // A pepper was added or rotated: store the hash made with the current key. A
            // failure only means the upgrade happens on a later request.
            if let Err(err) = state
                .store
                .upgrade_token_hash(presented.selector, &owner.token_hash, &new_hash)
                .await
            {
                tracing::warn!(error = %err, "could not re-hash a token with the current pepper");
            }
        }
    }
    Ok(Some(Caller {
        id: owner.user_id,
        is_admin: owner.is_admin,
    }))
}

impl Caller {
    /// Reading or changing what belongs to user `user_id`.
    pub fn require_access_to(&self, authz: Authz, user_id: i64) -> Result<(), ApiError> {
        match authz {
            Authz::Team => Ok(()),
            Authz::Strict if self.is_admin || self.id == user_id => Ok(()),
            Authz::Strict => Err(ApiError::Forbidden("Not allowed")),
        }
    }

    /// Listings across all users.
    pub fn require_board_access(&self, authz: Authz) -> Result<(), ApiError> {
        match authz {
            Authz::Team => Ok(()),
            Authz::Strict if self.is_admin => Ok(()),
            Authz::Strict => Err(ApiError::Forbidden("Not allowed")),
        }
    }
}
