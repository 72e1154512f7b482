//! Logs, metrics and traces.
//!
//! - Logs: `tracing`, one JSON object per line on stdout (`json`), or readable text on a
//!   terminal (`text`); `RUST_LOG` filters (default `info`).
//! - Metrics: Prometheus text on a listener of its own (`metrics`).
//! - Traces: OpenTelemetry over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`otel`).

pub mod json;
pub mod metrics;
pub mod names;
pub mod otel;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

fn json_lines(config: &Config) -> json::JsonLines {
    json::JsonLines {
        gcp_project: config.gcp_project.clone(),
    }
}
use crate::store::PoolStats;

/// Records the database pool's figures (read when `/metrics` is scraped).
pub fn record_pool(stats: PoolStats) {
    ::metrics::gauge!(names::POOL_CONNECTIONS, "state" => "idle").set(f64::from(stats.idle));
    ::metrics::gauge!(names::POOL_CONNECTIONS, "state" => "in_use")
        .set(f64::from(stats.size.saturating_sub(stats.idle)));
    ::metrics::gauge!(names::POOL_CONNECTIONS, "state" => "max").set(f64::from(stats.max));
}

/// Keeps the trace exporter alive; `shutdown` flushes the spans still buffered.
#[must_use]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(Err(err)) = self.provider.map(|provider| provider.shutdown()) {
            eprintln!("todo-api: flushing traces failed: {err}");
        }
    }
}

/// Where log lines go: the server's to standard output (the container runtime collects
/// it), the command-line tools' to standard error (their standard output is their result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Stdout,
    Stderr,
}

/// The default filter: `info`, without the notices PostgreSQL sends about harmless things
/// (`relation "_sqlx_migrations" already exists, skipping`).
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

/// Installs the global subscriber. Must run inside the Tokio runtime (the OTLP exporter
/// uses it). A second call (tests) keeps the first subscriber.
pub fn init(config: &Config, target: LogTarget) -> Telemetry {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let layer = tracing_subscriber::fmt::layer();
    let logs = match (config.log_format, target) {
        (LogFormat::Json, LogTarget::Stdout) => layer
            .fmt_fields(json::NoFields)
            .event_format(json_lines(config))
            .boxed(),
        (LogFormat::Json, LogTarget::Stderr) => layer
            .fmt_fields(json::NoFields)
            .event_format(json_lines(config))
            .with_writer(std::io::stderr)
            .boxed(),
        (LogFormat::Text, LogTarget::Stdout) => layer.boxed(),
        (LogFormat::Text, LogTarget::Stderr) => layer.with_writer(std::io::stderr).boxed(),
    }
    .with_filter(filter);

    let provider = config.otlp_endpoint.as_deref().and_then(|endpoint| {
        match otel::provider(endpoint, &config.service_name) {
            Ok(provider) => Some(provider),
            Err(err) => {
                eprintln!(
                    "todo-api: traces disabled, the OTLP exporter for {endpoint} failed: {err}"
                );
                None
            }
        }
    });
    let traces = provider
        .as_ref()
        .map(|p| otel::layer(p, &config.service_name).with_filter(LevelFilter::INFO));

    let _ = tracing_subscriber::registry()
        .with(json::SpanFieldStore)
        .with(logs)
        .with(traces)
        .try_init();
    Telemetry { provider }
}
