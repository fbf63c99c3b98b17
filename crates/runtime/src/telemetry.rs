//! Logs and traces.
//!
//! * Logs: one JSON object per line on stdout with upstream's keys
//!   (`timestamp`, `severity`, `message`) plus the event's fields and, inside a
//!   request, the `trace_id`/`span_id` of that request.
//! * Traces: W3C `traceparent` propagation is always on (as upstream's Go
//!   services do); spans are exported over OTLP/gRPC only when
//!   `ENABLE_TRACING=1`.

use std::fmt;

use opentelemetry::{
    global,
    propagation::TextMapCompositePropagator,
    trace::{TraceContextExt as _, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::SdkTracerProvider,
};
use serde_json::{Map, Value};
use tracing::{Subscriber, field::Field};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::{
    EnvFilter, Layer,
    filter::{FilterExt as _, LevelFilter, filter_fn},
    layer::{Context, SubscriberExt as _},
    registry::LookupSpan,
    util::SubscriberInitExt as _,
};

use crate::config::TracingConfig;

/// Keeps the tracer provider alive; [`TelemetryGuard::shutdown`] flushes spans.
#[must_use = "dropping the guard does not flush; call shutdown() before exit"]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl fmt::Debug for TelemetryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TelemetryGuard")
    }
}

impl TelemetryGuard {
    /// Flushes pending spans and stops the exporter.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.force_flush() {
            tracing::warn!(error = %e, "flushing spans failed");
        }
        let _ = self.provider.shutdown();
    }

    /// Flushes pending spans without stopping.
    pub fn flush(&self) {
        let _ = self.provider.force_flush();
    }
}

/// Error setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot create the OTLP exporter for {addr}: {source}")]
    Exporter {
        addr: String,
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    #[error("a global log subscriber is already installed")]
    AlreadyInstalled,
}

/// Installs the global log subscriber and tracer provider. Must be called
/// inside a tokio runtime (the OTLP exporter runs on it).
pub fn init(
    service_name: &str,
    tracing_cfg: Option<&TracingConfig>,
) -> Result<TelemetryGuard, TelemetryError> {
    let provider = tracer_provider(service_name, tracing_cfg)?;
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
    global::set_tracer_provider(provider.clone());
    let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer(service_name.to_owned()));
    // `RUST_LOG` selects log lines only. The RPC spans (info level) exist
    // whatever it says: with a global filter, `RUST_LOG=warn` disabled them,
    // so nothing was exported and no `traceparent` went downstream (every
    // hop started its own trace). Keeping them for the log layer too leaves
    // the trace ids on the warnings logged inside a request.
    let log_filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info"))
        .or(filter_fn(|m| {
            m.is_span() && *m.level() <= tracing::Level::INFO
        }));
    tracing_subscriber::registry()
        .with(otel.with_filter(LevelFilter::INFO))
        .with(JsonLogLayer::stdout().with_filter(log_filter))
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}

/// A tracer provider: exporting over OTLP/gRPC when configured, otherwise
/// creating valid span contexts (for propagation and log correlation) only.
pub fn tracer_provider(
    service_name: &str,
    tracing_cfg: Option<&TracingConfig>,
) -> Result<SdkTracerProvider, TelemetryError> {
    let resource = Resource::builder()
        .with_service_name(service_name.to_owned())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(cfg) = tracing_cfg {
        use opentelemetry_otlp::WithExportConfig as _;
        let endpoint = format!("http://{}", cfg.collector_addr);
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .map_err(|source| TelemetryError::Exporter {
                addr: cfg.collector_addr.clone(),
                source,
            })?;
        builder = builder.with_batch_exporter(exporter);
    }
    Ok(builder.build())
}

/// Records the W3C ids of `span` as its `trace_id`/`span_id` fields, so that
/// every log line inside it carries them. Call after `set_parent`.
pub fn record_trace_ids(span: &tracing::Span) {
    let cx = span.context();
    let sc = cx.span().span_context().clone();
    if sc.is_valid() {
        span.record("trace_id", tracing::field::display(sc.trace_id()));
        span.record("span_id", tracing::field::display(sc.span_id()));
    }
}

/// Ids captured from a span's `trace_id`/`span_id` fields.
#[derive(Default, Clone)]
struct TraceIds {
    trace_id: Option<String>,
    span_id: Option<String>,
}

impl tracing::field::Visit for TraceIds {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.set(field, value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.set(field, format!("{value:?}"));
    }
}

impl TraceIds {
    fn set(&mut self, field: &Field, value: String) {
        match field.name() {
            "trace_id" => self.trace_id = Some(value),
            "span_id" => self.span_id = Some(value),
            _ => {}
        }
    }
}

/// Writes one JSON object per event to a writer (stdout in production).
///
/// Inside a span, the line carries the span's W3C `trace_id`/`span_id`: the
/// ones recorded as span fields, else those the OpenTelemetry layer assigned
/// (looked up only when a line is written, so requests that log nothing pay
/// nothing for it).
pub struct JsonLogLayer<W> {
    make_writer: W,
    dispatch: std::sync::OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl JsonLogLayer<fn() -> std::io::Stdout> {
    /// Logs to stdout.
    pub fn stdout() -> Self {
        Self::new(std::io::stdout)
    }
}

impl<W> JsonLogLayer<W> {
    /// Logs to whatever `make_writer` returns (tests use a buffer).
    pub fn new(make_writer: W) -> Self {
        Self {
            make_writer,
            dispatch: std::sync::OnceLock::new(),
        }
    }

    /// The ids the OpenTelemetry layer gave span `id`, if it is installed.
    fn otel_ids(&self, id: &tracing::span::Id) -> Option<(String, String)> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        let span = cx.span();
        let sc = span.span_context();
        sc.is_valid()
            .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
    }
}

impl<S, W, O> Layer<S> for JsonLogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: Fn() -> O + 'static,
    O: std::io::Write,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut ids = TraceIds::default();
        attrs.record(&mut ids);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(ids);
        }
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(ids) = ext.get_mut::<TraceIds>() {
                values.record(ids);
            }
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut obj = Map::new();
        let now = time::OffsetDateTime::now_utc();
        let ts = now
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        obj.insert("timestamp".into(), Value::String(ts));
        obj.insert(
            "severity".into(),
            Value::String(severity(meta.level()).into()),
        );
        let mut fields = JsonFields(Map::new());
        event.record(&mut fields);
        let message = fields
            .0
            .remove("message")
            .unwrap_or(Value::String(String::new()));
        obj.insert("message".into(), message);
        for (k, v) in fields.0 {
            obj.insert(k, v);
        }
        obj.insert("target".into(), Value::String(meta.target().into()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                // The extensions' read guard must be released before the
                // OpenTelemetry lookup, which locks them for writing.
                let recorded = {
                    let ext = span.extensions();
                    ext.get::<TraceIds>()
                        .and_then(|ids| Some((ids.trace_id.clone()?, ids.span_id.clone()?)))
                };
                if let Some((t, s)) = recorded.or_else(|| self.otel_ids(&span.id())) {
                    obj.insert("trace_id".into(), Value::String(t));
                    obj.insert("span_id".into(), Value::String(s));
                    break;
                }
            }
        }
        let mut line = Value::Object(obj).to_string();
        line.push('\n');
        let mut w = (self.make_writer)();
        let _ = w.write_all(line.as_bytes());
    }
}

/// Upstream's (logrus) severity words.
fn severity(level: &tracing::Level) -> &'static str {
    match *level {
        tracing::Level::ERROR => "error",
        tracing::Level::WARN => "warning",
        tracing::Level::INFO => "info",
        tracing::Level::DEBUG => "debug",
        tracing::Level::TRACE => "trace",
    }
}

struct JsonFields(Map<String, Value>);

impl tracing::field::Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.0
            .insert(field.name().into(), Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_with_upstream_keys_and_trace_ids() {
        let buf = Buf::default();
        let w = buf.clone();
        let provider = tracer_provider("t", None).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("t")))
            .with(JsonLogLayer::new(move || w.clone()));
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(user = "u1", count = 3, "outside");
            let span = tracing::info_span!(
                "req",
                trace_id = tracing::field::Empty,
                span_id = tracing::field::Empty
            );
            record_trace_ids(&span);
            span.in_scope(|| tracing::info!("inside"));
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["severity"], "warning");
        assert_eq!(lines[0]["message"], "outside");
        assert_eq!(lines[0]["user"], "u1");
        assert_eq!(lines[0]["count"], 3);
        assert!(lines[0].get("trace_id").is_none());
        assert!(
            time::OffsetDateTime::parse(
                lines[0]["timestamp"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339
            )
            .is_ok()
        );
        assert_eq!(lines[1]["severity"], "info");
        let trace_id = lines[1]["trace_id"].as_str().unwrap();
        assert_eq!(trace_id.len(), 32);
        assert_ne!(trace_id, "00000000000000000000000000000000");
        assert_eq!(lines[1]["span_id"].as_str().unwrap().len(), 16);
    }

    #[test]
    fn ids_come_from_the_otel_layer_without_recording_them() {
        let buf = Buf::default();
        let w = buf.clone();
        let provider = tracer_provider("t", None).unwrap();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("t")))
            .with(JsonLogLayer::new(move || w.clone()));
        let expected = tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("req");
            span.in_scope(|| tracing::warn!("inside"));
            let cx = span.context();
            let sc = cx.span().span_context().clone();
            (sc.trace_id().to_string(), sc.span_id().to_string())
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(line["trace_id"], expected.0.as_str());
        assert_eq!(line["span_id"], expected.1.as_str());
        assert_ne!(expected.0, "00000000000000000000000000000000");
    }
}
