//! Per-request observability and hardening: an OpenTelemetry server span that
//! continues the caller's `traceparent` (backend calls become its children),
//! the HTTP metrics of `docs/CONVENTIONS.md` by matched route, one JSON log
//! line per request, and the security headers.

use std::{sync::OnceLock, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use boutique_runtime::{metrics, telemetry::record_trace_ids};
use http::{HeaderValue, header};
use opentelemetry::global;
use opentelemetry_http::HeaderExtractor;
use prometheus::{HistogramVec, IntCounterVec, IntGauge};
use tracing::{Instrument as _, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::{AppState, session::RequestCtx};

/// The frontend's HTTP series.
pub struct HttpMetrics {
    pub requests: IntCounterVec,
    pub duration: HistogramVec,
    pub in_flight: IntGauge,
}

/// The HTTP metrics, registered on first use.
pub fn http_metrics() -> &'static HttpMetrics {
    static M: OnceLock<HttpMetrics> = OnceLock::new();
    M.get_or_init(|| HttpMetrics {
        requests: metrics::register(metrics::counter(
            "http_server_requests_total",
            "HTTP requests answered, by method, matched route and status.",
            &["method", "route", "status"],
        )),
        duration: metrics::register(metrics::histogram(
            "http_server_request_duration_seconds",
            "Time to answer an HTTP request (until the response head), by method and matched route.",
            &["method", "route"],
        )),
        in_flight: metrics::register(
            IntGauge::new("http_server_in_flight_requests", "HTTP requests being answered now.")
                .unwrap_or_else(|e| unreachable_metric(e)),
        ),
    })
}

#[cold]
fn unreachable_metric(e: prometheus::Error) -> ! {
    // Only reachable through a typo in the constant definition above.
    panic!("invalid metric definition: {e}")
}

/// The route label for requests no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Creates every `(method, route, status)` series at zero.
pub fn preinit(routes: &[(&str, &str, &str)]) {
    let m = http_metrics();
    for (method, route, status) in routes {
        m.requests.with_label_values(&[method, route, status]);
        m.duration.with_label_values(&[method, route]);
    }
}

/// The method label: the standard methods by name, anything else `other`
/// (clients choose methods; labels must stay few).
pub fn method_label(m: &http::Method) -> &'static str {
    match *m {
        http::Method::GET => "GET",
        http::Method::HEAD => "HEAD",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        http::Method::CONNECT => "CONNECT",
        http::Method::TRACE => "TRACE",
        _ => "other",
    }
}

struct InFlight(&'static IntGauge);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Span, metrics and log line of one request.
pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| {
            let p = m.as_str();
            let p = p.strip_prefix(state.config.base_url.as_str()).unwrap_or(p);
            if p.is_empty() {
                "/".to_owned()
            } else {
                p.to_owned()
            }
        })
        .unwrap_or_else(|| UNMATCHED_ROUTE.to_owned());
    let (session, request_id) = req
        .extensions()
        .get::<RequestCtx>()
        .map(|c| (c.session_id.clone(), c.request_id.clone()))
        .unwrap_or_default();
    let parent = global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
    let span = tracing::info_span!(
        "http.server",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        http.request.method = %method,
        http.route = %route,
        url.path = %path,
        http.response.status_code = Empty,
        trace_id = Empty,
        span_id = Empty,
    );
    let _ = span.set_parent(parent);
    record_trace_ids(&span);

    let m = http_metrics();
    m.in_flight.inc();
    let in_flight = InFlight(&m.in_flight);
    let start = Instant::now();
    let resp = next.run(req).instrument(span.clone()).await;
    drop(in_flight);
    let elapsed = start.elapsed();
    let status = resp.status();
    let method_label = method_label(&method);
    m.requests
        .with_label_values(&[method_label, &route, status.as_str()])
        .inc();
    m.duration
        .with_label_values(&[method_label, &route])
        .observe(elapsed.as_secs_f64());
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "ERROR");
    }
    let quiet = route == "/_healthz" || route.starts_with("/static/");
    span.in_scope(|| {
        let took_ms = elapsed.as_millis() as u64;
        if quiet {
            tracing::debug!(http.req.method = %method, http.req.path = %path, http.resp.status = status.as_u16(), http.resp.took_ms = took_ms, session = %session, http.req.id = %request_id, "request complete");
        } else {
            tracing::info!(http.req.method = %method, http.req.path = %path, http.resp.status = status.as_u16(), http.resp.took_ms = took_ms, session = %session, http.req.id = %request_id, "request complete");
        }
    });
    resp
}

/// The Content-Security-Policy: everything from our origin, no inline
/// scripts or styles, no framing.
pub const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
script-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; \
form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_labels_stay_few() {
        assert_eq!(method_label(&http::Method::GET), "GET");
        assert_eq!(method_label(&http::Method::DELETE), "DELETE");
        let odd = http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
