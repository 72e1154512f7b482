//! Where a request comes from, for the audit trail: its request id and the client address
//! (from `X-Forwarded-For` only when `TRUST_PROXY_HEADERS=true`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::AppState;
use super::rate_limit::request_client_ip;
use super::request_id::RequestId;
use crate::audit::Context;

/// The audit context of a request, without its actor (the handler knows who that is).
#[derive(Debug, Clone)]
pub struct Origin(pub Context);

impl Origin {
    /// The context of a change made by `actor_id`.
    pub fn by(&self, actor_id: i64) -> Context {
        self.0.by(actor_id)
    }
}

impl FromRequestParts<AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Origin(Context {
            actor_id: None,
            request_id: parts.extensions.get::<RequestId>().map(|id| id.0.clone()),
            client_ip: request_client_ip(parts, state),
        }))
    }
}
