//! What wraps every request: the access log, metrics and trace context (`access`), the
//! request timeout, the security headers, and CORS.

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;
use tracing::field::Empty;

use super::AppState;
use super::error::ApiError;
use super::fastapi::BodyReadTimeout;
use super::request_id::RequestId;
use crate::telemetry::names::{IN_FLIGHT, REQUEST_DURATION, REQUESTS};
use crate::telemetry::otel;

/// Counts a request as in flight for as long as it is (also when the client goes away and
/// the handler is dropped).
struct InFlight;

impl InFlight {
    fn start() -> Self {
        metrics::gauge!(IN_FLIGHT).increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!(IN_FLIGHT).decrement(1.0);
    }
}

/// A trace id from the headers a load balancer or caller sets, for log correlation when no
/// OpenTelemetry exporter is configured: W3C `traceparent`, then Google's
/// `X-Cloud-Trace-Context`.
fn header_trace_id(headers: &HeaderMap) -> Option<String> {
    let valid = |id: &str| {
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && id.bytes().any(|b| b != b'0')
    };
    if let Some(parent) = headers.get("traceparent").and_then(|v| v.to_str().ok()) {
        let id = parent.split('-').nth(1).unwrap_or_default();
        if valid(id) {
            return Some(id.to_ascii_lowercase());
        }
    }
    let cloud = headers
        .get("x-cloud-trace-context")
        .and_then(|v| v.to_str().ok())?;
    let id = cloud.split('/').next().unwrap_or_default();
    valid(id).then(|| id.to_ascii_lowercase())
}

/// The `method` label and log field: the standard methods by name, anything else as
/// `OTHER`, so that no client can invent label values (metrics) or span names (traces).
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "OTHER",
    }
}

/// One span per request (its fields are on every log line of the request), one access-log
/// line, the request metrics, and the trace context. Never logs headers, bodies or the query
/// string: tokens and passwords stay out of the logs.
pub async fn access(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %method,
        route = %route,
        user_id = Empty,
        trace_id = Empty,
        span_id = Empty,
        amzn_trace_id = Empty,
        otel.name = format!("{method} {route}"),
    );
    match otel::continue_trace(&span, request.headers()) {
        Some((trace_id, span_id)) => {
            span.record("trace_id", trace_id);
            span.record("span_id", span_id);
        }
        None => {
            if let Some(trace_id) = header_trace_id(request.headers()) {
                span.record("trace_id", trace_id);
            }
        }
    }
    if let Some(amzn) = request
        .headers()
        .get("x-amzn-trace-id")
        .and_then(|v| v.to_str().ok())
    {
        span.record("amzn_trace_id", amzn.chars().take(256).collect::<String>());
    }

    let in_flight = InFlight::start();
    let mut response = next.run(request).instrument(span.clone()).await;
    drop(in_flight);

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", status.to_string()),
    ];
    metrics::counter!(REQUESTS, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
    // Whole microseconds, so that the log shows 92.114 rather than 92.11418400000001.
    let latency_ms = elapsed.as_micros() as f64 / 1000.0;
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!(status, latency_ms, "request");
        } else {
            tracing::info!(status, latency_ms, "request");
        }
    });
    otel::inject(&span, response.headers_mut());
    response
}

/// The longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) and header fields accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
pub const MAX_HEADER_FIELDS: usize = 100;

/// Requests beyond our limits on the request line and the headers get `414` / `431` in
/// FastAPI's shape, with the request id and the security headers. (The HTTP parser refuses
/// heads it cannot hold at all, beyond about 400 KiB or 200 fields, or malformed ones, with
/// a bare status line of its own: see docs/security.md.)
pub async fn request_limits(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let target = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if target > MAX_URI_BYTES {
        return super::error::detail(axum::http::StatusCode::URI_TOO_LONG, "URI Too Long");
    }
    let headers = request.headers();
    let header_bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADER_FIELDS || header_bytes > MAX_HEADER_BYTES {
        return super::error::detail(
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "Request Header Fields Too Large",
        );
    }
    next.run(request).await
}

/// A handler that panicked: `500 {"detail":"Internal Server Error"}`, and the panic's
/// message in the log with the request's id (the release profile keeps `panic = "unwind"`,
/// which this depends on).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned());
    tracing::error!(panic = %message, "a handler panicked");
    super::error::detail(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
    )
}

/// `REQUEST_TIMEOUT`: a request that takes longer gets `503 {"detail": ...}`; dropping the
/// handler rolls back its transaction. A body that arrives too slowly is the client's fault
/// and gets `408` first (`BODY_READ_TIMEOUT`, shorter, applied where the body is read).
pub async fn timeout(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    request
        .extensions_mut()
        .insert(BodyReadTimeout(state.body_read_timeout));
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?state.request_timeout, "request timed out");
            ApiError::Timeout.into_response()
        }
    }
}

/// Headers every response carries. API responses are never cached and may not run or load
/// anything; the web page sets a cache policy and a content security policy of its own
/// (kept), and Swagger UI needs its scripts, so it gets neither.
pub async fn security_headers(request: Request, next: Next) -> Response {
    let docs = request.uri().path().starts_with("/docs");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !docs {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
        headers
            .entry(header::CONTENT_SECURITY_POLICY)
            .or_insert(HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            ));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    response
}

/// CORS, off unless `CORS_ALLOW_ORIGINS` lists origins (or `*`).
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    let token = HeaderName::from_static("x-api-token");
    let request_id = HeaderName::from_static("x-request-id");
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                header::IF_MATCH,
                token,
                request_id.clone(),
            ])
            .expose_headers([header::ETAG, header::LINK, request_id])
            .max_age(Duration::from_secs(600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn trace_ids_come_from_traceparent_then_cloud_trace_context() {
        let w3c = headers(&[(
            "traceparent",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        )]);
        assert_eq!(
            header_trace_id(&w3c).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        let google = headers(&[(
            "x-cloud-trace-context",
            "105445aa7843bc8bf206b12000100000/1;o=1",
        )]);
        assert_eq!(
            header_trace_id(&google).as_deref(),
            Some("105445aa7843bc8bf206b12000100000")
        );
        let invalid = headers(&[(
            "traceparent",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        )]);
        assert_eq!(header_trace_id(&invalid), None);
        assert_eq!(
            header_trace_id(&headers(&[("traceparent", "garbage")])),
            None
        );
    }
}
