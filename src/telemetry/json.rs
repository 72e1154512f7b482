//! One JSON object per log line, with the fields of the enclosing spans (request id, route,
//! user id, trace id...) flattened in, so CloudWatch Logs Insights and Cloud Logging can
//! filter on them. `severity` is what Cloud Logging reads as the level; with
//! `GOOGLE_CLOUD_PROJECT` set, `logging.googleapis.com/trace` groups a request's lines under
//! its trace.

use std::fmt;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A span's fields as JSON values, kept in the span's extensions by `SpanFieldStore`.
struct SpanFields(Map<String, Value>);

/// Records span fields (also those filled in later, like `user_id`) for the formatter.
pub struct SpanFieldStore;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanFieldStore {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(fields) = span.extensions_mut().get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(&mut fields.0));
        }
    }
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::Bool(value));
    }
}

pub struct JsonLines {
    pub gcp_project: Option<String>,
}

fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        _ => "DEBUG",
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        line.insert("timestamp".into(), Value::String(now));
        line.insert("level".into(), Value::String(meta.level().to_string()));
        line.insert(
            "severity".into(),
            Value::String(severity(meta.level()).into()),
        );
        line.insert("target".into(), Value::String(meta.target().into()));
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    // `otel.*` fields are instructions to the OpenTelemetry layer, not data.
                    line.extend(
                        fields
                            .0
                            .iter()
                            .filter(|(k, _)| !k.starts_with("otel."))
                            .map(|(k, v)| (k.clone(), v.clone())),
                    );
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        if let Some(project) = &self.gcp_project {
            if let Some(Value::String(trace)) = line.get("trace_id") {
                let trace = format!("projects/{project}/traces/{trace}");
                line.insert("logging.googleapis.com/trace".into(), Value::String(trace));
            }
            if let Some(span_id) = line.get("span_id").cloned() {
                line.insert("logging.googleapis.com/spanId".into(), span_id);
            }
        }
        writeln!(writer, "{}", Value::Object(line))
    }
}
