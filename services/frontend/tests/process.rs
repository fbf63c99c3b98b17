//! The real `frontend` binary: JSON request logs with the caller's trace id,
//! trace context continued into backend calls, pre-initialised HTTP
//! metrics, the `healthcheck` argument, configuration errors and a clean
//! exit on SIGTERM.

#![allow(clippy::unwrap_used)]

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use boutique_proto::hipstershop::{
    Empty, GetProductRequest, ListProductsResponse, Product, SearchProductsRequest,
    SearchProductsResponse,
    product_catalog_service_server::{ProductCatalogService, ProductCatalogServiceServer},
};
use boutique_testkit::{
    ServiceProcess, metric_value, run_healthcheck, spawn, wait_for_log, workspace_bin,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tonic::{Request, Response, Status};

/// A catalog that remembers the `traceparent` of every call.
#[derive(Clone, Default)]
struct TracingCatalog {
    seen: Arc<Mutex<Vec<String>>>,
}

impl TracingCatalog {
    fn record<T>(&self, req: &Request<T>) {
        let tp = req
            .metadata()
            .get("traceparent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        self.seen.lock().unwrap().push(tp);
    }

    fn products() -> Vec<Product> {
        productcatalogservice::parse_catalog(productcatalogservice::EMBEDDED_CATALOG).unwrap()
    }
}

#[tonic::async_trait]
impl ProductCatalogService for TracingCatalog {
    async fn list_products(
        &self,
        req: Request<Empty>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        self.record(&req);
        Ok(Response::new(ListProductsResponse {
            products: Self::products(),
        }))
    }

    async fn get_product(
        &self,
        req: Request<GetProductRequest>,
    ) -> Result<Response<Product>, Status> {
        self.record(&req);
        let id = req.into_inner().id;
        Self::products()
            .into_iter()
            .find(|p| p.id == id)
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no product with ID {id}")))
    }

    async fn search_products(
        &self,
        req: Request<SearchProductsRequest>,
    ) -> Result<Response<SearchProductsResponse>, Status> {
        self.record(&req);
        Ok(Response::new(SearchProductsResponse::default()))
    }
}

/// One HTTP/1.1 request over a fresh connection; returns (status, head, body).
async fn http(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";

#[tokio::test]
async fn logs_metrics_traces_healthcheck_and_sigterm() {
    let catalog = TracingCatalog::default();
    let seen = catalog.seen.clone();
    let catalog_server = spawn(move |l, s| async move {
        tonic::transport::Server::builder()
            .add_service(ProductCatalogServiceServer::new(catalog))
            .serve_with_incoming_shutdown(tokio_stream_listener(l), s)
            .await
    })
    .await;
    let dead = boutique_testkit::dead_addr().await;
    let catalog_addr = catalog_server.host_port();
    let env = [
        ("PRODUCT_CATALOG_SERVICE_ADDR", catalog_addr.as_str()),
        ("CURRENCY_SERVICE_ADDR", dead.as_str()),
        ("CART_SERVICE_ADDR", dead.as_str()),
        ("RECOMMENDATION_SERVICE_ADDR", dead.as_str()),
        ("SHIPPING_SERVICE_ADDR", dead.as_str()),
        ("CHECKOUT_SERVICE_ADDR", dead.as_str()),
        ("AD_SERVICE_ADDR", dead.as_str()),
        ("ENV_PLATFORM", "aws"),
    ];
    let p = ServiceProcess::start("frontend", &env).await;

    // Every route's series exists before the first request.
    let metrics = p.scrape().await;
    for (method, route, status) in [
        ("GET", "/", "200"),
        ("GET", "/product/{id}", "200"),
        ("POST", "/cart/checkout", "303"),
        ("GET", "/_healthz", "200"),
    ] {
        assert_eq!(
            metric_value(
                &metrics,
                "http_server_requests_total",
                &[("method", method), ("route", route), ("status", status)]
            ),
            Some(0.0),
            "{method} {route}"
        );
    }
    assert_eq!(
        metric_value(&metrics, "http_server_in_flight_requests", &[]),
        Some(0.0)
    );
    assert!(metrics.contains("boutique_build_info{service=\"frontend\""));

    // A request that arrives with a trace context.
    let (status, head, body) = http(
        p.addr,
        &format!(
            "GET /product-meta/OLJCESPC7Z HTTP/1.1\r\nHost: shop\r\n\
             Cookie: shop_session-id=session-under-test\r\n\
             traceparent: 00-{TRACE_ID}-{PARENT_SPAN}-01\r\nConnection: close\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(status, 200, "{head}");
    assert!(body.starts_with("{\"id\":\"OLJCESPC7Z\""), "{body}");
    // The backend call is a child in the same trace.
    let tp = seen.lock().unwrap().last().cloned().unwrap();
    let parts: Vec<&str> = tp.split('-').collect();
    assert_eq!(parts.len(), 4, "{tp:?}");
    assert_eq!(parts[1], TRACE_ID);
    assert_ne!(
        parts[2], PARENT_SPAN,
        "the frontend's own span is the parent"
    );

    // A failing page: backends that are down give a 503 page, logged.
    let (status, _, body) = http(
        p.addr,
        "GET / HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 503);
    assert!(body.contains("Uh, oh!") && body.contains("Running on <strong>AWS</strong>"));

    // The JSON request log line, with the caller's trace id.
    let line = wait_for_log(&p.logs, |l| {
        l["message"] == "request complete" && l["http.req.path"] == "/product-meta/OLJCESPC7Z"
    })
    .await;
    assert_eq!(line["severity"], "info");
    assert_eq!(line["http.req.method"], "GET");
    assert_eq!(line["http.resp.status"], 200);
    assert!(line["http.resp.took_ms"].is_u64());
    assert_eq!(line["session"], "session-under-test");
    assert_eq!(line["trace_id"], TRACE_ID);
    assert_eq!(line["http.req.id"].as_str().unwrap().len(), 36);
    wait_for_log(&p.logs, |l| {
        l["message"] == "request error"
            && l["severity"] == "error"
            && l["error"]
                .as_str()
                .unwrap_or("")
                .starts_with("could not retrieve")
    })
    .await;
    let metrics = p.scrape().await;
    assert_eq!(
        metric_value(
            &metrics,
            "http_server_requests_total",
            &[
                ("method", "GET"),
                ("route", "/product-meta/{ids}"),
                ("status", "200")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &metrics,
            "http_server_requests_total",
            &[("method", "GET"), ("route", "/"), ("status", "503")]
        ),
        Some(1.0)
    );

    // `frontend healthcheck` probes GET /_healthz.
    let port = p.addr.port();
    assert_eq!(run_healthcheck("frontend", port).await, Some(0));

    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(10)).await, Some(0));
    assert_eq!(run_healthcheck("frontend", port).await, Some(1));
}

fn tokio_stream_listener(
    l: tokio::net::TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    futures_util::stream::unfold(l, |l| async move {
        let r = l.accept().await.map(|(s, _)| s);
        Some((r, l))
    })
}

#[tokio::test]
async fn missing_or_bad_configuration_exits_2_naming_the_variable() {
    for (env, var) in [
        (vec![], "PRODUCT_CATALOG_SERVICE_ADDR"),
        (
            vec![
                ("PRODUCT_CATALOG_SERVICE_ADDR", "a:1"),
                ("CURRENCY_SERVICE_ADDR", "a:1"),
                ("CART_SERVICE_ADDR", "a:1"),
                ("RECOMMENDATION_SERVICE_ADDR", "a:1"),
                ("SHIPPING_SERVICE_ADDR", "a:1"),
                ("CHECKOUT_SERVICE_ADDR", "a:1"),
                ("AD_SERVICE_ADDR", "nohostport"),
            ],
            "AD_SERVICE_ADDR",
        ),
    ] {
        let out = tokio::process::Command::new(workspace_bin("frontend"))
            .env_clear()
            .envs(env)
            .env("PORT", "0")
            .env("METRICS_PORT", "0")
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(var), "{err}");
    }
}
