//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Readiness: the database (the primary) answers within a second. Load balancers and k8s
/// readiness use it. A read replica's state does not count: reads fall back to the primary.
#[utoipa::path(
    get, path = "/health-check", tag = "health",
    responses(
        (status = 200, description = "Ready", body = Status, example = json!({"status": "ok"})),
        (status = 503, description = "The database does not answer", body = Status, example = json!({"status": "unavailable"})),
    )
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Status>) {
    match state.readiness.check().await {
        Ok(()) => (StatusCode::OK, Json(Status { status: "ok" })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Status {
                    status: "unavailable",
                }),
            )
        }
    }
}

/// The read replica's state, for operators: never a reason to take the instance out of
/// service (reads fall back to the primary), so `/health-check` does not look at it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReplicaHealth {
    /// `ok`: reads go to the replica; `none`: no `DATABASE_READ_URL`; `starting`, `lagging`
    /// (past `REPLICA_MAX_LAG_BYTES`), `unavailable`, `not_a_standby`: reads go to the primary.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// How far its replay was behind the primary's WAL when last measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 0)]
    pub lag_bytes: Option<u64>,
}

/// The read replica: whether reads go to it, and its lag. `503` while they go to the primary
/// instead; a load balancer must not use this.
#[utoipa::path(
    get, path = "/health-check/replica", tag = "health",
    responses(
        (status = 200, description = "Reads go to the replica, or there is none", body = ReplicaHealth, example = json!({"status": "ok", "lag_bytes": 0})),
        (status = 503, description = "Reads go to the primary: the replica is lagging, unavailable, not a standby, or not measured yet", body = ReplicaHealth, example = json!({"status": "lagging", "lag_bytes": 33554432})),
    )
)]
pub async fn replica(State(state): State<AppState>) -> (StatusCode, Json<ReplicaHealth>) {
    use crate::store::ReplicaState;
    let Some(replica) = state.store.replica_status() else {
        let none = ReplicaHealth {
            status: "none",
            lag_bytes: None,
        };
        return (StatusCode::OK, Json(none));
    };
    let (code, status) = match replica.state {
        ReplicaState::InUse => (StatusCode::OK, "ok"),
        ReplicaState::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
        ReplicaState::Lagging => (StatusCode::SERVICE_UNAVAILABLE, "lagging"),
        ReplicaState::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ReplicaState::NotAStandby => (StatusCode::SERVICE_UNAVAILABLE, "not_a_standby"),
    };
    let body = ReplicaHealth {
        status,
        lag_bytes: replica.lag_bytes,
    };
    (code, Json(body))
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
