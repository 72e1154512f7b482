//! One JSON object per log line, with the fields of the enclosing spans (request id, route,
//! user id, trace id...) flattened in, so CloudWatch Logs Insights and Cloud Logging can
//! filter on them. `severity` is what Cloud Logging reads as the level; with
//! `GOOGLE_CLOUD_PROJECT` set, `logging.googleapis.com/trace` groups a request's lines under
//! its trace.

use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// A span's fields as JSON values, kept in the span's extensions by `SpanFieldStore`, in the
/// order they were declared; a field recorded again replaces its value. Names are the
/// callsite's `&'static str`, so that recording allocates only for the values.
struct SpanFields(Vec<(&'static str, Value)>);

/// Records span fields (also those filled in later, like `user_id`) for the formatter.
pub struct SpanFieldStore;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for SpanFieldStore {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Vec::with_capacity(attrs.fields().len());
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

struct JsonVisitor<'a>(&'a mut Vec<(&'static str, Value)>);

/// Sets `key` to `value` in `entries`: in its place if it is there, else at the end.
fn upsert<'k, V>(entries: &mut Vec<(&'k str, V)>, key: &'k str, value: V) {
    match entries.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => entries.push((key, value)),
    }
}

impl JsonVisitor<'_> {
    fn set(&mut self, field: &Field, value: Value) {
        upsert(self.0, field.name(), value);
    }
}

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.set(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.set(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.set(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.set(field, Value::Bool(value));
    }
}

/// Span fields are kept by `SpanFieldStore` as JSON; the fmt layer's own copy of them as text
/// (which `JsonLines` never reads) would be work for nothing, so it keeps an empty one. (An
/// error here would not do: the fmt layer reports it on the log's own output.)
pub struct NoFields;

impl<'writer> FormatFields<'writer> for NoFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        _writer: Writer<'writer>,
        _fields: R,
    ) -> fmt::Result {
        Ok(())
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

/// A value of a log line: borrowed where it can be.
enum Entry<'a> {
    Str(&'a str),
    Json(&'a Value),
}

/// The line's fields in order; a later field of the same name replaces the earlier value in
/// its place (an event's field over its span's, an inner span's over an outer one's).
struct Line<'a>(Vec<(&'a str, Entry<'a>)>);

impl<'a> Line<'a> {
    fn set(&mut self, key: &'a str, value: Entry<'a>) {
        upsert(&mut self.0, key, value);
    }
    fn get(&self, key: &str) -> Option<&Entry<'a>> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl serde::Serialize for Line<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            match value {
                Entry::Str(text) => map.serialize_entry(key, text)?,
                Entry::Json(json) => map.serialize_entry(key, json)?,
            }
        }
        map.end()
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
        let now = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        let spans: Vec<_> = ctx
            .event_scope()
            .map(|scope| scope.from_root().collect())
            .unwrap_or_default();
        let extensions: Vec<_> = spans.iter().map(|span| span.extensions()).collect();
        let mut event_fields = Vec::new();
        event.record(&mut JsonVisitor(&mut event_fields));

        let mut line = Line(Vec::with_capacity(24));
        line.set("timestamp", Entry::Str(&now));
        line.set("level", Entry::Str(meta.level().as_str()));
        line.set("severity", Entry::Str(severity(meta.level())));
        line.set("target", Entry::Str(meta.target()));
        for fields in extensions.iter().filter_map(|e| e.get::<SpanFields>()) {
            // `otel.*` fields are instructions to the OpenTelemetry layer, not data.
            for (key, value) in fields.0.iter().filter(|(k, _)| !k.starts_with("otel.")) {
                line.set(key, Entry::Json(value));
            }
        }
        for (key, value) in &event_fields {
            line.set(key, Entry::Json(value));
        }
        let trace;
        if let Some(project) = &self.gcp_project {
            if let Some(Entry::Json(Value::String(id))) = line.get("trace_id") {
                trace = format!("projects/{project}/traces/{id}");
                line.set("logging.googleapis.com/trace", Entry::Str(&trace));
            }
            if let Some(Entry::Json(span_id)) = line.get("span_id") {
                let span_id = *span_id;
                line.set("logging.googleapis.com/spanId", Entry::Json(span_id));
            }
        }
        let json = serde_json::to_string(&line).map_err(|_| fmt::Error)?;
        writer.write_str(&json)?;
        writer.write_char('\n')
    }
}
