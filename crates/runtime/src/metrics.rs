//! Prometheus metrics: per-RPC server and client series, process RSS/CPU
//! (from the `prometheus` process collector) and the `/metrics` endpoint.

use std::sync::OnceLock;

use prometheus::{
    Encoder as _, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tokio::net::TcpListener;

/// Latency buckets in seconds, from 0.25 ms to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide registry every metric of this project is registered in.
pub fn registry() -> &'static Registry {
    prometheus::default_registry()
}

/// Registers a collector, ignoring "already registered" (several services
/// share one registry in the all-in-one runner and in tests).
pub fn register<C: prometheus::core::Collector + Clone + 'static>(c: C) -> C {
    let _ = registry().register(Box::new(c.clone()));
    c
}

/// gRPC series shared by the server and client layers.
pub struct GrpcMetrics {
    pub server_handled: IntCounterVec,
    pub server_seconds: HistogramVec,
    pub server_in_flight: IntGaugeVec,
    pub client_handled: IntCounterVec,
    pub client_seconds: HistogramVec,
}

/// The gRPC metrics, registered on first use.
pub fn grpc() -> &'static GrpcMetrics {
    static M: OnceLock<GrpcMetrics> = OnceLock::new();
    M.get_or_init(|| {
        let labels = &["grpc_service", "grpc_method"];
        let coded = &["grpc_service", "grpc_method", "grpc_code"];
        GrpcMetrics {
            server_handled: register(counter(
                "grpc_server_handled_total",
                "RPCs completed on the server, by status code.",
                coded,
            )),
            server_seconds: register(histogram(
                "grpc_server_handling_seconds",
                "Server-side RPC latency until the response headers.",
                labels,
            )),
            server_in_flight: register(
                IntGaugeVec::new(
                    Opts::new("grpc_server_in_flight_requests", "RPCs being handled now."),
                    labels,
                )
                .unwrap_or_else(|e| unreachable_metric(e)),
            ),
            client_handled: register(counter(
                "grpc_client_handled_total",
                "RPCs this process made, by status code.",
                coded,
            )),
            client_seconds: register(histogram(
                "grpc_client_handling_seconds",
                "Client-side RPC latency until the response headers.",
                labels,
            )),
        }
    })
}

/// A counter vector; the names and labels are compile-time constants, so
/// construction cannot fail at run time.
pub fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).unwrap_or_else(|e| unreachable_metric(e))
}

/// A histogram vector with [`LATENCY_BUCKETS`] unless `buckets` is given.
pub fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    histogram_with(name, help, labels, LATENCY_BUCKETS.to_vec())
}

/// A histogram vector with explicit buckets.
pub fn histogram_with(name: &str, help: &str, labels: &[&str], buckets: Vec<f64>) -> HistogramVec {
    HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .unwrap_or_else(|e| unreachable_metric(e))
}

#[cold]
fn unreachable_metric(e: prometheus::Error) -> ! {
    // Only reachable through a typo in a constant metric definition, which the
    // runtime's own tests exercise.
    panic!("invalid metric definition: {e}")
}

/// Sets `boutique_build_info{service,version} 1`.
pub fn build_info(service: &str, version: &str) {
    static G: OnceLock<IntGaugeVec> = OnceLock::new();
    let g = G.get_or_init(|| {
        register(
            IntGaugeVec::new(
                Opts::new(
                    "boutique_build_info",
                    "Always 1; labels name the service and its version.",
                ),
                &["service", "version"],
            )
            .unwrap_or_else(|e| unreachable_metric(e)),
        )
    });
    g.with_label_values(&[service, version]).set(1);
}

/// Creates the series of every method of `service` (full gRPC name) at zero,
/// so dashboards and alerts see them before the first call.
pub fn preinit_server(service: &str) {
    let m = grpc();
    for method in crate::descriptor::methods(service) {
        m.server_handled
            .with_label_values(&[service, &method, "OK"]);
        m.server_seconds.with_label_values(&[service, &method]);
        m.server_in_flight.with_label_values(&[service, &method]);
    }
}

/// Creates the client series for every method of `service` at zero.
pub fn preinit_client(service: &str) {
    let m = grpc();
    for method in crate::descriptor::methods(service) {
        m.client_handled
            .with_label_values(&[service, &method, "OK"]);
        m.client_seconds.with_label_values(&[service, &method]);
    }
}

/// Text exposition of the registry.
pub fn render() -> String {
    let mut buf = Vec::new();
    let _ = TextEncoder::new().encode(&registry().gather(), &mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::{Router, http::header, routing::get};
    let app = Router::new().route(
        "/metrics",
        get(|| async {
            (
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render(),
            )
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
