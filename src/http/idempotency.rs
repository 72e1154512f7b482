//! The `Idempotency-Key` header of `POST /users`, `POST /users/{user_id}/items` and
//! `POST /users/{user_id}/token` (the mechanism: `crate::idempotency`).
//!
//! A retry with the same key and the same request gets the first answer again (status,
//! body, ETag), marked `Idempotent-Replayed: true`. The same key with another request is
//! `422`; while the first request with a key is still running, another with that key is
//! `409` with `Retry-After` (the client retries, and then gets the first answer).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use crate::domain::now_utc_seconds;
use crate::idempotency::{Answer, Claim, KEEP, Record, STALE_PENDING, Scope};

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";

/// The header's value, if any (validated by `Validator::idempotency_key`).
pub fn key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(HEADER)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Where a request with a key stands.
pub enum Begun {
    /// Go ahead (with the record to complete, when there is a key).
    Fresh(Option<Record>),
    /// An earlier request with this key answered this.
    Replay(Answer),
}

/// Claims `key` for this request, or finds the earlier answer.
pub async fn begin(
    state: &AppState,
    key: Option<&str>,
    scope: Scope,
    fingerprint: String,
) -> Result<Begun, ApiError> {
    let Some(key) = key else {
        return Ok(Begun::Fresh(None));
    };
    let record = state.idempotency.record(key, &scope, fingerprint);
    let now = now_utc_seconds();
    let claim = state
        .store
        .claim_idempotency(
            &record.key_hash,
            &record.fingerprint,
            now,
            now - STALE_PENDING,
            now - KEEP,
        )
        .await?;
    match claim {
        Claim::Claimed => Ok(Begun::Fresh(Some(record))),
        Claim::Completed { fingerprint, .. } | Claim::InProgress { fingerprint }
            if fingerprint != record.fingerprint =>
        {
            Err(ApiError::IdempotencyKeyReused(key.to_owned()))
        }
        Claim::Completed { response, .. } => record
            .open(&response)
            .map(Begun::Replay)
            .ok_or_else(|| ApiError::IdempotencyKeyReused(key.to_owned())),
        Claim::InProgress { .. } => Err(ApiError::IdempotencyInProgress),
    }
}

/// A failed request gives its claim up, so that a retry runs it again.
pub async fn release_on_error<T>(
    state: &AppState,
    record: Option<&Record>,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    if let (Err(_), Some(record)) = (&result, record)
        && let Err(err) = state.store.release_idempotency(&record.key_hash).await
    {
        tracing::warn!(error = %err, "could not release an Idempotency-Key claim");
    }
    result
}

/// The earlier answer, as it was sent (its token-rotation form is rebuilt by the caller).
pub fn replay(answer: &Answer) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = (status, axum::Json(answer.body.clone())).into_response();
    mark_replayed(&mut response);
    if let Some(etag) = answer
        .etag
        .as_deref()
        .and_then(|e| HeaderValue::from_str(e).ok())
    {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

pub fn mark_replayed(response: &mut Response) {
    response
        .headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
}
