//! One trace across two hops, exported over OTLP/gRPC.
//!
//! An in-process OTLP collector stub receives the spans of the
//! recommendationservice *binary* (its own process, `ENABLE_TRACING=1`) and of
//! the product catalog running in this test process with the runtime's
//! telemetry installed globally (hence this file is its own test binary and
//! holds a single test). The test calls `ListRecommendations` with a
//! hand-made W3C `traceparent` and checks that the three spans of the two hops
//! carry its trace id and are linked parent to child.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use boutique_proto::hipstershop::{
    ListRecommendationsRequest, recommendation_service_client::RecommendationServiceClient,
};
use boutique_runtime::{config::TracingConfig, telemetry};
use boutique_testkit::{ServiceProcess, connect, spawn};
use opentelemetry_proto::tonic::{
    collector::trace::v1::{
        ExportTraceServiceRequest, ExportTraceServiceResponse,
        trace_service_server::{TraceService, TraceServiceServer},
    },
    common::v1::any_value,
    trace::v1::span::SpanKind,
};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Request, Response, Status};

/// Stores every export it receives.
#[derive(Clone, Default)]
struct CollectorStub {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for CollectorStub {
    async fn export(
        &self,
        req: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        self.received
            .lock()
            .expect("stub lock")
            .push(req.into_inner());
        Ok(Response::new(ExportTraceServiceResponse {
            partial_success: None,
        }))
    }
}

/// One received span with the `service.name` of its resource.
#[derive(Debug, Clone)]
struct SeenSpan {
    service: String,
    name: String,
    kind: SpanKind,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: HashMap<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(v: Option<&opentelemetry_proto::tonic::common::v1::AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        other => format!("{other:?}"),
    }
}

impl CollectorStub {
    fn spans(&self) -> Vec<SeenSpan> {
        let received = self.received.lock().expect("stub lock");
        let mut out = Vec::new();
        for req in received.iter() {
            for rs in &req.resource_spans {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| r.attributes.iter().find(|kv| kv.key == "service.name"))
                    .map(|kv| text(kv.value.as_ref()))
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        out.push(SeenSpan {
                            service: service.clone(),
                            name: s.name.clone(),
                            kind: s.kind(),
                            trace_id: hex(&s.trace_id),
                            span_id: hex(&s.span_id),
                            parent_span_id: hex(&s.parent_span_id),
                            attributes: s
                                .attributes
                                .iter()
                                .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                                .collect(),
                        });
                    }
                }
            }
        }
        out
    }
}

/// The three spans of one recommendation, found by trace id.
struct Hops {
    rec_server: SeenSpan,
    rec_client: SeenSpan,
    catalog_server: SeenSpan,
}

fn find_hops(spans: &[SeenSpan], trace_id: &str) -> Option<Hops> {
    let find = |service: &str, name: &str, kind: SpanKind| {
        spans
            .iter()
            .find(|s| {
                s.trace_id == trace_id && s.service == service && s.name == name && s.kind == kind
            })
            .cloned()
    };
    Some(Hops {
        rec_server: find(
            "recommendationservice",
            "hipstershop.RecommendationService/ListRecommendations",
            SpanKind::Server,
        )?,
        rec_client: find(
            "recommendationservice",
            "hipstershop.ProductCatalogService/ListProducts",
            SpanKind::Client,
        )?,
        catalog_server: find(
            "productcatalogservice",
            "hipstershop.ProductCatalogService/ListProducts",
            SpanKind::Server,
        )?,
    })
}

/// Calls `ListRecommendations` on `addr` as part of trace `trace_id`, as a
/// child of span `parent_span_id`.
async fn recommend_in_trace(addr: std::net::SocketAddr, trace_id: &str, parent_span_id: &str) {
    let mut c = RecommendationServiceClient::new(connect(addr).await);
    let mut req = Request::new(ListRecommendationsRequest {
        user_id: "traced-user".into(),
        product_ids: vec!["OLJCESPC7Z".into()],
    });
    req.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-{parent_span_id}-01")
            .parse()
            .expect("a valid header value"),
    );
    let got = c
        .list_recommendations(req)
        .await
        .expect("recommendations")
        .into_inner()
        .product_ids;
    assert_eq!(got.len(), 5);
}

/// Runs the recommendation binary with `rust_log`, makes one call in trace
/// `trace_id`, stops the process (which flushes its spans) and waits for the
/// three spans of that trace. Returns them with the process's log lines.
async fn one_traced_call(
    collector: &CollectorStub,
    collector_addr: &str,
    catalog_addr: &str,
    flush_catalog: &(dyn Fn() + Sync),
    rust_log: &str,
    trace_id: &str,
    parent_span_id: &str,
) -> (Hops, Vec<serde_json::Value>) {
    let process = ServiceProcess::start(
        "recommendationservice",
        &[
            ("ENABLE_TRACING", "1"),
            ("COLLECTOR_SERVICE_ADDR", collector_addr),
            ("PRODUCT_CATALOG_SERVICE_ADDR", catalog_addr),
            ("RUST_LOG", rust_log),
        ],
    )
    .await;
    recommend_in_trace(process.addr, trace_id, parent_span_id).await;

    // SIGTERM flushes the process's spans; the runtime exits 0.
    process.terminate();
    let logs = process.logs.clone();
    assert_eq!(process.wait(Duration::from_secs(10)).await, Some(0));
    // Flushing the catalog's provider blocks: keep it off the async workers,
    // where its exporter runs.
    tokio::task::block_in_place(flush_catalog);

    for _ in 0..100 {
        if let Some(hops) = find_hops(&collector.spans(), trace_id) {
            let logs = logs.lock().expect("log lock").clone();
            return (hops, logs);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the three spans of trace {trace_id} (RUST_LOG={rust_log}) did not arrive within 10 s; received {:#?}",
        collector.spans()
    );
}

fn assert_linked(hops: &Hops, parent_span_id: &str) {
    // Every hop is the child of the one before it.
    assert_eq!(hops.rec_server.parent_span_id, parent_span_id);
    assert_eq!(hops.rec_client.parent_span_id, hops.rec_server.span_id);
    assert_eq!(hops.catalog_server.parent_span_id, hops.rec_client.span_id);
    let ids = [
        &hops.rec_server.span_id,
        &hops.rec_client.span_id,
        &hops.catalog_server.span_id,
    ];
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
    assert_eq!(
        hops.rec_server
            .attributes
            .get("rpc.grpc.status_code")
            .map(String::as_str),
        Some("0")
    );
    assert_eq!(
        hops.catalog_server
            .attributes
            .get("rpc.service")
            .map(String::as_str),
        Some("hipstershop.ProductCatalogService")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_recommendation_is_one_trace_across_both_hops() {
    // The collector stub.
    let collector = CollectorStub::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let collector_addr = listener.local_addr().unwrap().to_string();
    let stub = collector.clone();
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(stub))
            .serve_with_incoming(TcpListenerStream::new(listener))
            .await
    });

    // The catalog in this process, exporting to the stub.
    let guard = telemetry::init(
        "productcatalogservice",
        Some(&TracingConfig {
            collector_addr: collector_addr.clone(),
        }),
    )
    .expect("install telemetry once in this test binary");
    let catalog =
        spawn(|l, s| productcatalogservice::serve(productcatalogservice::Config::default(), l, s))
            .await;
    let catalog_addr = catalog.host_port();
    let flush = || guard.flush();

    // One call through the recommendation binary inside a trace of ours.
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent_span_id = "00f067aa0ba902b7";
    let (hops, logs) = one_traced_call(
        &collector,
        &collector_addr,
        &catalog_addr,
        &flush,
        "info",
        trace_id,
        parent_span_id,
    )
    .await;
    assert_linked(&hops, parent_span_id);
    // The request's log line carries the trace and the server span.
    let line = logs
        .iter()
        .find(|l| l["message"] == "recommendations listed")
        .expect("the request was logged");
    assert_eq!(line["trace_id"], trace_id);
    assert_eq!(line["span_id"], hops.rec_server.span_id.as_str());
    // Nothing of this call leaked into another trace.
    let spans = collector.spans();
    let stray: Vec<_> = spans
        .iter()
        .filter(|s| s.trace_id != trace_id && s.name.contains("ListProducts"))
        .collect();
    assert!(stray.is_empty(), "spans outside the trace: {stray:#?}");

    // A quieter log level must not cost the trace: RPC spans are exported
    // and propagated whatever RUST_LOG says.
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent_span_id = "b7ad6b7169203331";
    let (hops, _) = one_traced_call(
        &collector,
        &collector_addr,
        &catalog_addr,
        &flush,
        "warn,boutique_runtime::run=info",
        trace_id,
        parent_span_id,
    )
    .await;
    assert_linked(&hops, parent_span_id);

    catalog.stop().await;
    tokio::task::block_in_place(move || guard.shutdown());
}
