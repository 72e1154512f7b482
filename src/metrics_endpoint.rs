//! Prometheus metrics on a listener of their own (`METRICS_PORT`), never behind the load
//! balancer.

use std::sync::OnceLock;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the global recorder (once per process) and returns its handle.
pub fn recorder() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Binds the metrics listener and serves `GET /metrics` in the background.
pub async fn spawn(host: &str, port: u16) -> anyhow::Result<()> {
    let handle = recorder()?;
    let listener = TcpListener::bind((host, port))
        .await
        .with_context(|| format!("binding metrics {host}:{port}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "metrics listening");
    let router = Router::new().route("/metrics", get(move || std::future::ready(handle.render())));
    tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, router).await {
            tracing::error!(error = %err, "metrics listener failed");
        }
    });
    Ok(())
}
