//! `todo-api serve`: wait for the database, migrate, bind, serve, and shut down gracefully.

mod connection;
pub mod listener;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::accounts::Accounts;
use crate::config::Config;
use crate::credentials::{PasswordHasher, TokenHasher};
use crate::http::{AppState, Shared, app};
use crate::store::{self, Store};

/// The account use cases over `store`, configured from `config` (also used by the CLI).
pub fn accounts(config: &Config, store: Arc<dyn Store>) -> Accounts {
    let tokens = TokenHasher::new(
        config.token_pepper.clone(),
        config.token_pepper_previous.clone(),
    );
    Accounts::new(
        store,
        tokens,
        PasswordHasher::start(config.password_hashing),
    )
    .with_read_after_write(config.read_after_write)
}

pub fn state(config: &Config, store: Arc<dyn Store>) -> AppState {
    AppState::new(Shared {
        accounts: accounts(config, store.clone()),
        readiness: crate::readiness::Readiness::new(store.clone()),
        store,
        signup: config.signup,
        authz: config.authz,
        request_timeout: config.request_timeout,
        body_read_timeout: config.body_read_timeout,
        cors_allow_origins: config.cors_allow_origins.clone(),
        rate_limits: crate::http::rate_limit::RateLimits::new(config.rate_limits),
        idempotency: crate::idempotency::Keys::new(config.token_pepper.clone()),
        proxy_trust: config.proxy_trust,
    })
}

/// Waits (up to `patience`) for the database to accept a connection: a container may start
/// before its database does, or before its host name resolves. Errors that waiting cannot
/// mend (a wrong password, a missing directory) are reported at once.
pub async fn wait_for_database(store: &dyn Store, patience: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match store.check_connection().await {
            Ok(()) => return Ok(()),
            Err(err) if err.may_heal() && tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %err, "database not reachable yet, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(err) => return Err(err.into()),
        }
    }
}

pub async fn serve(config: Config) -> anyhow::Result<()> {
    let store = store::connect(&config.database).context("DATABASE_URL")?;
    wait_for_database(store.as_ref(), config.database_wait).await?;
    // The replica is not waited for: until it answers, reads go to the primary.
    let store = match &config.read_replica {
        Some(replica) => store::replicated(store, replica).context("DATABASE_READ_URL")?,
        None => store,
    };
    if config.auto_migrate {
        for migration in store
            .migrate()
            .await
            .context("applying database migrations")?
        {
            tracing::info!(version = migration.version, description = %migration.description, "migration applied");
        }
    }
    let mut http = config.http;
    if let Some(fit) = connections_that_fit(config.database.max_connections)
        && fit < http.max_connections
    {
        tracing::warn!(
            configured = http.max_connections,
            used = fit,
            "HTTP_MAX_CONNECTIONS is above what the open-file limit allows: lowered"
        );
        http.max_connections = fit;
    }
    let tcp = TcpListener::bind((config.host.as_str(), config.port))
        .await
        .with_context(|| format!("binding {}:{}", config.host, config.port))?;
    let address = tcp.local_addr()?;
    tracing::info!(
        %address,
        backend = store.backend().name(),
        read_replica = config.read_replica.is_some(),
        "listening"
    );

    if let Some(port) = config.metrics_port {
        let pool = store.clone();
        let record_pool = Arc::new(move || crate::telemetry::record_pool(pool.pool_stats()));
        let backend = store.backend().name();
        crate::telemetry::metrics::spawn(&config.host, port, backend, record_pool).await?;
    }

    spawn_idempotency_purge(store.clone());
    let router = app(state(&config, store.clone()));
    let stop = async {
        let signal = shutdown_signal().await;
        tracing::info!(signal, timeout = ?config.shutdown_timeout, "shutting down: draining in-flight requests");
    };
    listener::serve(tcp, router, http, stop, config.shutdown_timeout).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Drops Idempotency-Key records past their 24 hours, every ten minutes.
fn spawn_idempotency_purge(store: Arc<dyn Store>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            let before = crate::domain::now_utc_seconds() - crate::idempotency::KEEP;
            match store.purge_idempotency(before).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "expired Idempotency-Key records purged"),
                Err(err) => tracing::warn!(error = %err, "purging Idempotency-Key records failed"),
            }
        }
    });
}

/// File descriptors kept free for everything but client connections: the listeners, the
/// database pool, log and trace exporters, SQLite's WAL files.
const RESERVED_FDS: u64 = 64;

/// How many client connections the process's open-file limit leaves room for (Linux; `None`
/// where the limit cannot be read). A cap above it would make `accept` fail instead of
/// making room, and health probes would time out.
fn connections_that_fit(database_connections: u32) -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let soft: u64 = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    let reserved = RESERVED_FDS + u64::from(database_connections) * 3;
    usize::try_from(soft.saturating_sub(reserved).max(1)).ok()
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
