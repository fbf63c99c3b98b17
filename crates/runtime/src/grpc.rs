//! gRPC plumbing shared by every service: the server (health, reflection,
//! observability layer) and lazily-connected client channels with deadlines,
//! metrics and W3C trace-context injection.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use opentelemetry::global;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use tokio::net::TcpListener;
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};
use tonic::{
    Code, Status,
    body::Body,
    server::NamedService,
    service::RoutesBuilder,
    transport::{Channel, Endpoint, Server},
};
use tonic_health::{ServingStatus, server::HealthReporter};
use tower::{Layer, Service};
use tracing::{Instrument as _, field::Empty};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::metrics;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Go's names for gRPC codes, as go-grpc-prometheus labels them.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

/// Splits `/pkg.Service/Method` into its two parts.
fn split_path(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

/// Metric handles of one RPC method, resolved once: the hot path does no
/// label hashing or allocation.
struct MethodMetrics {
    service: Box<str>,
    method: Box<str>,
    ok: prometheus::IntCounter,
    seconds: prometheus::Histogram,
    in_flight: Option<prometheus::IntGauge>,
}

impl MethodMetrics {
    fn counter(&self, code: Code) -> prometheus::IntCounter {
        if code == Code::Ok {
            return self.ok.clone();
        }
        let m = metrics::grpc();
        let vec = if self.in_flight.is_some() {
            &m.server_handled
        } else {
            &m.client_handled
        };
        vec.with_label_values(&[&*self.service, &*self.method, code_name(code)])
    }
}

type MethodCache = std::sync::RwLock<std::collections::HashMap<Box<str>, Arc<MethodMetrics>>>;

/// True for methods this project serves or calls (the descriptor set plus
/// reflection), so a client cannot create label values at will.
fn known_method(service: &str, method: &str) -> bool {
    crate::descriptor::methods(service)
        .iter()
        .any(|m| m == method)
        || (matches!(
            service,
            "grpc.reflection.v1.ServerReflection" | "grpc.reflection.v1alpha.ServerReflection"
        ) && method == "ServerReflectionInfo")
}

/// The cached handles of `path` (unknown paths share one `unknown` entry).
fn method_metrics(server: bool, path: &str) -> Arc<MethodMetrics> {
    static SERVER: std::sync::OnceLock<MethodCache> = std::sync::OnceLock::new();
    static CLIENT: std::sync::OnceLock<MethodCache> = std::sync::OnceLock::new();
    let cache = if server { &SERVER } else { &CLIENT }.get_or_init(Default::default);
    let (service, method) = match split_path(path) {
        Some((s, m)) if known_method(s, m) => (s, m),
        _ => ("unknown", "unknown"),
    };
    let key = if service == "unknown" { "" } else { path };
    if let Some(m) = cache.read().unwrap_or_else(|p| p.into_inner()).get(key) {
        return m.clone();
    }
    let g = metrics::grpc();
    let labels = [service, method];
    let entry = Arc::new(if server {
        MethodMetrics {
            service: service.into(),
            method: method.into(),
            ok: g.server_handled.with_label_values(&[service, method, "OK"]),
            seconds: g.server_seconds.with_label_values(&labels),
            in_flight: Some(g.server_in_flight.with_label_values(&labels)),
        }
    } else {
        MethodMetrics {
            service: service.into(),
            method: method.into(),
            ok: g.client_handled.with_label_values(&[service, method, "OK"]),
            seconds: g.client_seconds.with_label_values(&labels),
            in_flight: None,
        }
    });
    cache
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key.into())
        .or_insert(entry)
        .clone()
}

/// The status of a unary response as far as the headers tell: tonic sends
/// errors "trailers-only" (status in the headers); no status there means the
/// handler produced a message, i.e. OK.
fn header_code(headers: &http::HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok())
        .map_or(Code::Ok, Code::from)
}

/// Tower layer around every gRPC server: continues the caller's W3C trace,
/// opens a server span, counts and times each RPC by method and status code.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerObservabilityLayer;

impl<S> Layer<S> for ServerObservabilityLayer {
    type Service = ServerObservability<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ServerObservability { inner }
    }
}

/// See [`ServerObservabilityLayer`].
#[derive(Debug, Clone)]
pub struct ServerObservability<S> {
    inner: S,
}

struct InFlight(prometheus::IntGauge);
impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl<S, B, RB> Service<http::Request<B>> for ServerObservability<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    RB: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let mm = method_metrics(true, req.uri().path());
        let parent =
            global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(req.headers())));
        let span = tracing::info_span!(
            "grpc.server",
            otel.name = %format_args!("{}/{}", mm.service, mm.method),
            otel.kind = "server",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = %mm.service,
            rpc.method = %mm.method,
            rpc.grpc.status_code = Empty,
        );
        let _ = span.set_parent(parent);

        let in_flight = mm.in_flight.clone().map(|g| {
            g.inc();
            InFlight(g)
        });
        let start = Instant::now();
        let fut = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        Box::pin(
            async move {
                let res = fut.await;
                let code = match &res {
                    Ok(resp) => header_code(resp.headers()),
                    Err(_) => Code::Unknown,
                };
                let elapsed = start.elapsed();
                mm.counter(code).inc();
                mm.seconds.observe(elapsed.as_secs_f64());
                drop(in_flight);
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code as i32);
                if matches!(
                    code,
                    Code::Unknown
                        | Code::DeadlineExceeded
                        | Code::Unimplemented
                        | Code::Internal
                        | Code::Unavailable
                        | Code::DataLoss
                ) {
                    span.record("otel.status_code", "ERROR");
                    tracing::warn!(
                        grpc.code = code_name(code),
                        took_ms = elapsed.as_millis() as u64,
                        "rpc failed"
                    );
                } else {
                    tracing::debug!(
                        grpc.code = code_name(code),
                        took_ms = elapsed.as_millis() as u64,
                        "rpc finished"
                    );
                }
                res
            }
            .instrument(span),
        )
    }
}

/// Builds the gRPC server of one service: health (`grpc.health.v1`), server
/// reflection, and the observability layer around everything.
pub struct GrpcServer {
    service_name: &'static str,
    routes: RoutesBuilder,
    health: HealthReporter,
    manual_health: bool,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("service", &self.service_name)
            .finish_non_exhaustive()
    }
}

/// Error starting or running the gRPC server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

impl GrpcServer {
    /// A server for the fully-qualified gRPC service `service_name`.
    pub fn new(service_name: &'static str) -> Self {
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        metrics::preinit_server(service_name);
        Self {
            service_name,
            routes,
            health,
            manual_health: false,
        }
    }

    /// The health reporter, for services whose readiness depends on a store.
    pub fn health_reporter(&self) -> HealthReporter {
        self.health.clone()
    }

    /// The service reports its own health through [`Self::health_reporter`]
    /// (by default both `""` and the service name are SERVING once serving).
    pub fn manual_health(mut self) -> Self {
        self.manual_health = true;
        self
    }

    /// Adds a generated tonic service.
    pub fn add_service<S>(mut self, svc: S) -> Self
    where
        S: Service<http::Request<Body>, Error = Infallible, Response = http::Response<Body>>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.routes.add_service(svc);
        self
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight
    /// RPCs and returns.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(boutique_proto::FILE_DESCRIPTOR_SET)
                .with_service_name(self.service_name)
                .with_service_name("grpc.health.v1.Health")
        };
        self.routes.add_service(reflection().build_v1()?);
        self.routes.add_service(reflection().build_v1alpha()?);
        if !self.manual_health {
            self.health
                .set_service_status("", ServingStatus::Serving)
                .await;
            self.health
                .set_service_status(self.service_name, ServingStatus::Serving)
                .await;
        }
        let health = self.health.clone();
        let name = self.service_name;
        let shutdown = async move {
            shutdown.await;
            tracing::info!("shutting down: draining in-flight requests");
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
            health
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        };
        Server::builder()
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .layer(ServerObservabilityLayer)
            .add_routes(self.routes.routes())
            // `Server::tcp_nodelay` only covers listeners tonic binds itself:
            // without this, Nagle's algorithm held larger responses back for a
            // delayed ACK (~40 ms per call).
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener).map(|conn| {
                    conn.inspect(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    })
                }),
                shutdown,
            )
            .await?;
        Ok(())
    }
}

/// A lazily-connected, reusable channel to one peer, with a per-call deadline,
/// client metrics and W3C trace-context injection. Clone it freely: clones
/// share one HTTP/2 connection.
#[derive(Clone, Debug)]
pub struct PeerChannel {
    inner: Channel,
    timeout: Duration,
    peer: Arc<str>,
}

/// Default deadline of a call to a peer.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(5);

impl PeerChannel {
    /// A channel to `addr` (`host:port`); no connection is made until the first call.
    pub fn lazy(addr: &str, timeout: Duration) -> Result<Self, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(false);
        Ok(Self {
            inner: endpoint.connect_lazy(),
            timeout,
            peer: Arc::from(addr),
        })
    }

    /// The peer's address.
    pub fn addr(&self) -> &str {
        &self.peer
    }
}

fn grpc_timeout_header(d: Duration) -> http::HeaderValue {
    // gRPC allows at most 8 digits; milliseconds cover ~27 hours.
    let ms = d.as_millis().clamp(1, 99_999_999);
    http::HeaderValue::from_str(&format!("{ms}m"))
        .unwrap_or_else(|_| http::HeaderValue::from_static("5000m"))
}

impl Service<http::Request<Body>> for PeerChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<Body>) -> Self::Future {
        let mm = method_metrics(false, req.uri().path());
        let span = tracing::info_span!(
            "grpc.client",
            otel.name = %format_args!("{}/{}", mm.service, mm.method),
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = %mm.service,
            rpc.method = %mm.method,
            rpc.grpc.status_code = Empty,
            server.address = %self.peer,
        );
        let cx = span.context();
        global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(req.headers_mut()))
        });
        // The caller's remaining deadline, if it set one, else ours.
        let timeout = self.timeout;
        req.headers_mut()
            .entry("grpc-timeout")
            .or_insert_with(|| grpc_timeout_header(timeout));
        let peer = self.peer.clone();
        let start = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(
            async move {
                let res = match tokio::time::timeout(timeout, fut).await {
                    Ok(res) => res,
                    Err(_) => Ok(Status::deadline_exceeded(format!(
                        "no answer from {peer} within {} ms ({}/{})",
                        timeout.as_millis(),
                        mm.service,
                        mm.method
                    ))
                    .into_http()),
                };
                let code = match &res {
                    Ok(resp) => header_code(resp.headers()),
                    Err(_) => Code::Unavailable,
                };
                mm.counter(code).inc();
                mm.seconds.observe(start.elapsed().as_secs_f64());
                let span = tracing::Span::current();
                span.record("rpc.grpc.status_code", code as i32);
                if code != Code::Ok {
                    span.record("otel.status_code", "ERROR");
                }
                res
            }
            .instrument(span),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_codes() {
        assert_eq!(
            split_path("/hipstershop.CartService/AddItem"),
            Some(("hipstershop.CartService", "AddItem"))
        );
        assert_eq!(split_path("/"), None);
        assert_eq!(split_path("/a/b/c"), None);
        let known = method_metrics(true, "/hipstershop.CartService/AddItem");
        assert_eq!(
            (&*known.service, &*known.method),
            ("hipstershop.CartService", "AddItem")
        );
        // Made-up paths never become label values.
        for path in ["/x.Y/Z", "/hipstershop.CartService/Nope", "garbage"] {
            let m = method_metrics(true, path);
            assert_eq!((&*m.service, &*m.method), ("unknown", "unknown"), "{path}");
        }
        let r = method_metrics(
            true,
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        );
        assert_eq!(&*r.method, "ServerReflectionInfo");
        assert_eq!(code_name(Code::Cancelled), "Canceled");
        let mut h = http::HeaderMap::new();
        assert_eq!(header_code(&h), Code::Ok);
        h.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(header_code(&h), Code::NotFound);
        assert_eq!(grpc_timeout_header(Duration::from_millis(1500)), "1500m");
    }
}
