//! `todo-api serve`: bind, serve, and shut down gracefully.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::credentials::TokenHasher;
use crate::http::{AppState, Shared, app};
use crate::store::{self, Store};

/// How long `serve` keeps retrying migrations while the database comes up.
const MIGRATE_PATIENCE: Duration = Duration::from_secs(30);

pub fn state(config: &Config, store: Arc<dyn Store>) -> AppState {
    AppState::new(Shared {
        store,
        tokens: TokenHasher::new(
            config.token_pepper.clone(),
            config.token_pepper_previous.clone(),
        ),
        signup: config.signup,
        authz: config.authz,
        request_timeout: config.request_timeout,
        cors_allow_origins: config.cors_allow_origins.clone(),
    })
}

/// Applies migrations, retrying while the database is unreachable (a container may start
/// before its database does).
pub async fn migrate_with_patience(store: &dyn Store, patience: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match store.migrate().await {
            Ok(()) => return Ok(()),
            Err(store::StoreError::Unavailable(err)) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %err, "database not reachable yet, retrying migrations");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err).context("applying database migrations"),
        }
    }
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = store::connect(&config.database).context("DATABASE_URL")?;
    if config.auto_migrate {
        migrate_with_patience(store.as_ref(), MIGRATE_PATIENCE).await?;
    }
    let listener = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("binding {}:{}", config.host, config.port))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, backend = store.backend().name(), "listening");

    if let Some(port) = config.metrics_port {
        crate::telemetry::metrics::spawn(&config.host, port, store.clone()).await?;
    }

    let router = app(state(&config, store.clone()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    let mut server = tokio::spawn(server.into_future());

    tokio::select! {
        result = &mut server => {
            result.context("server task")?.context("serving")?;
        }
        signal = shutdown_signal() => {
            tracing::info!(signal, timeout = ?config.shutdown_timeout, "shutting down: draining in-flight requests");
            let _ = stop.send(());
            match tokio::time::timeout(config.shutdown_timeout, &mut server).await {
                Ok(result) => result.context("server task")?.context("serving")?,
                Err(_) => {
                    tracing::warn!("requests still running after SHUTDOWN_TIMEOUT: closing them");
                    server.abort();
                }
            }
        }
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
                "SIGTERM"
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<&'static str>();
    tokio::select! {
        name = ctrl_c => name,
        name = terminate => name,
    }
}
