//! Prometheus metrics on a listener of their own (`METRICS_PORT`), never behind the load
//! balancer. The names (in `names`) follow Prometheus conventions; route labels are templates
//! (`/users/{user_id}`), never raw paths, so their number stays bounded.

use std::sync::{Arc, OnceLock};

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use super::names::*;

/// How often recorded histogram samples are folded into their buckets. The exporter keeps
/// every sample until then (about 8 bytes a request), and without a scrape or an upkeep it
/// would keep them forever.
const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Latency buckets from 1 ms to 10 s (the alarms look at 1 s).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global recorder (once per process) and returns its handle.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)?
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Describes the metrics and records the build.
fn describe(backend: &'static str) {
    metrics::describe_counter!(
        REQUESTS,
        "HTTP requests by method, route template and status"
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "HTTP request latency by method, route template and status"
    );
    metrics::describe_gauge!(IN_FLIGHT, "HTTP requests being served");
    metrics::describe_histogram!(
        POOL_ACQUIRE,
        metrics::Unit::Seconds,
        "Time spent waiting for a database connection"
    );
    metrics::describe_gauge!(
        POOL_CONNECTIONS,
        "Database connections by state (idle, in_use) and the pool's maximum (max)"
    );
    metrics::describe_histogram!(
        GROUP_COMMIT_SIZE,
        "SQLite: item writes (creations, updates, deletions) per group commit (one transaction and one fsync each)"
    );
    metrics::describe_counter!(
        READS,
        "Reads with a read replica (DATABASE_READ_URL), by the database that served them: replica, primary, or primary_after_replica (the replica failed)"
    );
    metrics::describe_gauge!(
        REPLICA_LAG_BYTES,
        metrics::Unit::Bytes,
        "How far the read replica's replay is behind the primary's WAL, as last measured"
    );
    metrics::describe_gauge!(
        REPLICA_UP,
        "1 while the read replica answers as a standby, else 0"
    );
    metrics::describe_gauge!(
        REPLICA_IN_USE,
        "1 while reads go to the read replica (it answers and its lag is within REPLICA_MAX_LAG_BYTES), else 0"
    );
    metrics::describe_counter!(ITEMS_CREATED, "Items created");
    metrics::describe_counter!(USERS_CREATED, "Users created");
    metrics::describe_counter!(
        USERS_DELETED,
        "Users deleted (deactivated, items handed over)"
    );
    metrics::describe_counter!(
        PASSWORD_HASH_REFUSED,
        "Password hashes refused because the hashing queue was full (answered 429)"
    );
    metrics::describe_gauge!(
        BUILD_INFO,
        "Always 1; labels name the version and the database backend"
    );
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION"), "backend" => backend)
        .set(1.0);
}

/// Binds the metrics listener and serves `GET /metrics` in the background. `before_scrape`
/// records the figures that are read on demand (the pool's), so they are never stale.
pub async fn spawn(
    host: &str,
    port: u16,
    backend: &'static str,
    before_scrape: Arc<dyn Fn() + Send + Sync>,
) -> anyhow::Result<()> {
    let handle = recorder()?;
    describe(backend);
    let listener = TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding metrics {host}:{port}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "metrics listening");
    let upkeep = handle.clone();
    let render = move || {
        before_scrape();
        std::future::ready(handle.render())
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let router = Router::new().route("/metrics", get(render));
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "metrics listener failed");
        }
    });
    Ok(())
}
