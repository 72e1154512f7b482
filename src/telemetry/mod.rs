//! Logs, metrics and traces.
//!
//! - Logs: `tracing`, one JSON object per line on stdout (`json`), or readable text on a
//!   terminal (`text`); `RUST_LOG` filters (default `info`).
//! - Metrics: Prometheus text on a listener of its own (`metrics`).
//! - Traces: OpenTelemetry over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`otel`).

pub mod json;
pub mod metrics;
pub mod otel;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{Config, LogFormat};

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

/// Installs the global subscriber. Must run inside the Tokio runtime (the OTLP exporter
/// uses it). A second call (tests) keeps the first subscriber.
pub fn init(config: &Config) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .event_format(json::JsonLines {
                gcp_project: config.gcp_project.clone(),
            })
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer().boxed(),
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
