//! OpenTelemetry: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, the binary exports a span per
//! request (continuing the caller's W3C trace) and per database call over OTLP/gRPC. The
//! receiving end here is a real OTLP trace service (the collector's gRPC API), not a fake
//! of our own code.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::common::process::Server;

struct Receiver(mpsc::UnboundedSender<ExportTraceServiceRequest>);

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let _ = self.0.send(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

#[derive(Debug)]
struct Span {
    name: String,
    trace_id: String,
    parent_span_id: String,
    service: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_and_database_calls_are_exported_over_otlp() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let (tx, mut rx) = mpsc::unbounded_channel();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(Receiver(tx)))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("todo.db").display());
    let mut server = Server::start(&[
        ("DATABASE_URL", &url),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
        ("OTEL_SERVICE_NAME", "todo-api-under-test"),
    ]);
    let http = reqwest::Client::new();
    let user: Value = server
        .call(
            "POST",
            "/users",
            None,
            Some(&json!({"email": "traced@example.com", "password": "password123"})),
        )
        .await
        .1;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let resp = http
        .get(server.url(&format!("/users/{}", user["id"])))
        .header("X-API-TOKEN", user["token"].as_str().unwrap())
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let traceparent = resp.headers()["traceparent"].to_str().unwrap().to_owned();
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "the trace continues in the response: {traceparent}"
    );

    // Shutting down flushes the batch.
    server.signal("TERM");
    assert!(server.wait(Duration::from_secs(10)).unwrap().success());
    let mut spans = Vec::new();
    while let Ok(Some(batch)) = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
        for resource in batch.resource_spans {
            let service = resource
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| kv.value.as_ref())
                .map(|v| format!("{:?}", v.value))
                .unwrap_or_default();
            for scope in resource.scope_spans {
                for span in scope.spans {
                    spans.push(Span {
                        name: span.name,
                        trace_id: hex::encode(span.trace_id),
                        parent_span_id: hex::encode(span.parent_span_id),
                        service: service.clone(),
                    });
                }
            }
        }
    }
    let request = spans
        .iter()
        .find(|s| s.name == "GET /users/{user_id}")
        .unwrap_or_else(|| panic!("no request span in {spans:#?}"));
    assert_eq!(request.trace_id, trace_id);
    assert_eq!(
        request.parent_span_id, caller_span,
        "a child of the caller's span"
    );
    assert!(
        request.service.contains("todo-api-under-test"),
        "{}",
        request.service
    );
    let db_calls = spans
        .iter()
        .filter(|s| s.name == "db" && s.trace_id == trace_id)
        .count();
    assert!(
        db_calls >= 2,
        "the token lookup and the user read: {spans:#?}"
    );
}
