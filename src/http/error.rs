//! The one error type of the HTTP layer. It renders FastAPI's shapes so that existing clients
//! keep parsing them: `{"detail": "message"}`, and for `422` pydantic's list of errors.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

pub use super::fastapi::FieldError;
use crate::accounts::AccountError;
use crate::authz::{NotAllowed, ReadOnlyToken};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Not authenticated")]
    NotAuthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    BadRequest(&'static str),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("Precondition Failed")]
    PreconditionFailed,
    #[error("Request body too large")]
    PayloadTooLarge,
    /// The client took longer than `BODY_READ_TIMEOUT` to send its body.
    #[error("Request Timeout: the request body did not arrive in time")]
    SlowClient,
    #[error("request validation failed")]
    Validation(Vec<FieldError>),
    #[error("Service Unavailable")]
    Unavailable(#[source] StoreError),
    #[error("Request timed out")]
    Timeout,
    /// The Idempotency-Key came with another request before (`422`, pydantic-shaped, at
    /// the header).
    #[error("This Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused(String),
    /// A request with this Idempotency-Key is still running (`409` with `Retry-After`).
    #[error("A request with this Idempotency-Key is still in progress: retry shortly")]
    IdempotencyInProgress,
    /// A rate limit refused the request: `429` with `Retry-After`.
    #[error("Too many requests: try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    /// Password hashing is at capacity: `429` with `Retry-After`, a client error, so that an
    /// anonymous burst cannot fire the 5xx alarms.
    #[error("Too many requests: try again in a moment")]
    Busy,
    #[error("Internal Server Error")]
    Internal(#[source] anyhow::Error),
}

/// Seconds a client is asked to wait after a `429` for a busy password hasher.
const BUSY_RETRY_AFTER: &str = "1";

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::EmailTaken => ApiError::BadRequest("Email already registered"),
            AccountError::NotFound => ApiError::NotFound("User not found"),
            AccountError::WrongPassword => ApiError::Forbidden("Incorrect password"),
            AccountError::Busy(_) => ApiError::Busy,
            AccountError::Store(err) => err.into(),
            // The API validates input in FastAPI's terms before it reaches the use case.
            err @ (AccountError::InvalidEmail(_)
            | AccountError::PasswordTooShort
            | AccountError::NotAToken) => ApiError::Internal(err.into()),
        }
    }
}

impl From<ReadOnlyToken> for ApiError {
    fn from(_: ReadOnlyToken) -> Self {
        ApiError::Forbidden("This token is read-only")
    }
}

impl From<NotAllowed> for ApiError {
    fn from(_: NotAllowed) -> Self {
        ApiError::Forbidden("Not allowed")
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::IdempotencyLost => ApiError::IdempotencyInProgress,
            StoreError::Unavailable(_) => ApiError::Unavailable(err),
            other => ApiError::Internal(other.into()),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotAuthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::IdempotencyInProgress => StatusCode::CONFLICT,
            ApiError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::SlowClient => StatusCode::REQUEST_TIMEOUT,
            ApiError::Validation(_) | ApiError::IdempotencyKeyReused(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::Unavailable(_) | ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Busy | ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// `{"detail": "..."}`: FastAPI's `HTTPException` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HttpError {
    pub detail: String,
}

/// `{"detail": [...]}`: FastAPI's `RequestValidationError` body.
#[derive(Debug, Serialize, ToSchema)]
pub struct HttpValidationError {
    pub detail: Vec<FieldError>,
}

/// `401` in the OpenAPI document of every endpoint behind `X-API-TOKEN`.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 401,
    description = "Missing, unknown or revoked X-API-TOKEN (checked before anything else)"
)]
pub struct NotAuthenticatedResponse(pub HttpError);

/// `422` in the OpenAPI document of every endpoint that takes input.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 422,
    description = "Invalid path, query or body: every problem, in pydantic's shape"
)]
pub struct ValidationErrorResponse(pub HttpValidationError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            ApiError::Validation(detail) => {
                (status, Json(HttpValidationError { detail })).into_response()
            }
            ApiError::Internal(ref cause) => {
                // The cause stays in the log (with the request id of the current span); the
                // client learns nothing more than FastAPI would tell it.
                tracing::error!(error = format!("{cause:#}"), "internal error");
                detail(status, self.to_string())
            }
            ApiError::Unavailable(ref cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                detail(status, self.to_string())
            }
            ApiError::NotAuthenticated => {
                let mut response = detail(status, self.to_string());
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("APIKey"));
                response
            }
            ApiError::IdempotencyKeyReused(ref key) => {
                let detail = vec![FieldError {
                    kind: "idempotency_key_reused".into(),
                    loc: vec!["header".into(), super::idempotency::HEADER.into()],
                    msg: self.to_string(),
                    input: key.clone().into(),
                    ctx: None,
                }];
                (status, Json(HttpValidationError { detail })).into_response()
            }
            ApiError::IdempotencyInProgress => {
                let mut response = detail(status, self.to_string());
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
            ApiError::SlowClient => {
                // The rest of the body is not worth waiting for: close the connection.
                let mut response = detail(status, self.to_string());
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                response
            }
            ApiError::Busy => {
                let mut response = detail(status, self.to_string());
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_static(BUSY_RETRY_AFTER),
                );
                response
            }
            ApiError::RateLimited { retry_after_secs } => {
                let mut response = detail(status, self.to_string());
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
                response
            }
            other => detail(status, other.to_string()),
        }
    }
}

pub fn detail(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(HttpError {
            detail: message.into(),
        }),
    )
        .into_response()
}
