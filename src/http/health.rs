//! Liveness and readiness.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

/// How long readiness waits for the database before calling it unavailable.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Readiness: the database answers within a second. Load balancers and k8s readiness use it.
#[utoipa::path(
    get, path = "/health-check", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Status, example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer", body = Status, example = json!({"status": "unavailable"})),
    )
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Status>) {
    match tokio::time::timeout(READINESS_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, Json(Status { status: "ok" })),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Status {
                    status: "unavailable",
                }),
            )
        }
        Err(_) => {
            tracing::warn!("readiness: database did not answer within {READINESS_TIMEOUT:?}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Status {
                    status: "unavailable",
                }),
            )
        }
    }
}

/// Liveness: the process answers; no database call, so a database outage never gets healthy
/// replicas restarted.
#[utoipa::path(
    get, path = "/livez", tag = "health",
    responses((status = 200, description = "Alive", body = Status, example = json!({"status": "ok"})))
)]
pub async fn live() -> Json<Status> {
    Json(Status { status: "ok" })
}
