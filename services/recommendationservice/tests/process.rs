//! The real binary against an in-process catalog: one call, `/metrics`,
//! configuration errors and a clean exit on SIGTERM.

use std::time::Duration;

use boutique_proto::hipstershop::{
    ListRecommendationsRequest, recommendation_service_client::RecommendationServiceClient,
};
use boutique_testkit::{
    ServiceProcess, connect, dead_addr, metric_value, spawn, wait_for_log, workspace_bin,
};
use tonic::Code;

#[tokio::test]
async fn recommends_reports_metrics_and_exits_zero_on_sigterm() {
    let catalog =
        spawn(|l, s| productcatalogservice::serve(productcatalogservice::Config::default(), l, s))
            .await;
    let p = ServiceProcess::start(
        "recommendationservice",
        &[("PRODUCT_CATALOG_SERVICE_ADDR", &catalog.host_port())],
    )
    .await;
    let mut c = RecommendationServiceClient::new(connect(p.addr).await);
    let got = c
        .list_recommendations(ListRecommendationsRequest {
            user_id: "u".into(),
            product_ids: vec!["OLJCESPC7Z".into()],
        })
        .await
        .expect("recommendations")
        .into_inner()
        .product_ids;
    assert_eq!(got.len(), 5);
    assert!(!got.contains(&"OLJCESPC7Z".to_owned()));

    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[("grpc_method", "ListRecommendations"), ("grpc_code", "OK")]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &text,
            "grpc_client_handled_total",
            &[
                ("grpc_service", "hipstershop.ProductCatalogService"),
                ("grpc_method", "ListProducts"),
                ("grpc_code", "OK")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(
            &text,
            "boutique_build_info",
            &[("service", "recommendationservice")]
        ),
        Some(1.0)
    );

    p.terminate();
    let logs = p.logs.clone();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    wait_for_log(&logs, |l| l["message"] == "stopped").await;
    let logs = logs.lock().unwrap().clone();
    let line = logs
        .iter()
        .find(|l| l["message"] == "recommendations listed")
        .expect("a log line per call");
    assert_eq!(line["severity"], "info");
    assert_eq!(line["requested"], "[\"OLJCESPC7Z\"]");
    catalog.stop().await;
}

#[tokio::test]
async fn catalog_down_is_unavailable_and_the_process_survives() {
    let dead = dead_addr().await;
    // Only warnings (plus the runtime's start-up lines the harness reads).
    let p = ServiceProcess::start(
        "recommendationservice",
        &[
            ("PRODUCT_CATALOG_SERVICE_ADDR", &dead),
            ("RUST_LOG", "warn,boutique_runtime::run=info"),
        ],
    )
    .await;
    let mut c = RecommendationServiceClient::new(connect(p.addr).await);
    for _ in 0..2 {
        let err = c
            .list_recommendations(ListRecommendationsRequest::default())
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(err.message().contains(&dead), "{}", err.message());
    }
    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[
                ("grpc_method", "ListRecommendations"),
                ("grpc_code", "Unavailable")
            ]
        ),
        Some(2.0)
    );
    p.terminate();
    let logs = p.logs.clone();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    wait_for_log(&logs, |l| l["message"] == "stopped").await;
    let logs = logs.lock().unwrap().clone();
    let failed: Vec<_> = logs
        .iter()
        .filter(|l| l["message"] == "rpc failed")
        .collect();
    // The server layer's warning, once per failed call.
    assert_eq!(failed.len(), 2, "{logs:#?}");
    for line in failed {
        assert_eq!(line["severity"], "warning");
        // Request spans exist even when RUST_LOG hides info lines.
        assert_eq!(line["trace_id"].as_str().map(str::len), Some(32), "{line}");
    }
    assert!(
        !logs
            .iter()
            .any(|l| l["message"] == "recommendations listed"),
        "info lines are filtered"
    );
}

#[tokio::test]
async fn catalog_address_is_required_and_checked() {
    for (value, expected) in [
        (
            None,
            "recommendationservice: invalid configuration: PRODUCT_CATALOG_SERVICE_ADDR is required but not set",
        ),
        (
            Some("http://productcatalogservice:3550"),
            "recommendationservice: invalid configuration: PRODUCT_CATALOG_SERVICE_ADDR must not contain a scheme (got \"http://productcatalogservice:3550\", expected host:port)",
        ),
    ] {
        let mut cmd = tokio::process::Command::new(workspace_bin("recommendationservice"));
        cmd.env_remove("PRODUCT_CATALOG_SERVICE_ADDR");
        if let Some(v) = value {
            cmd.env("PRODUCT_CATALOG_SERVICE_ADDR", v);
        }
        let out = cmd.output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{value:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), expected);
    }
}
