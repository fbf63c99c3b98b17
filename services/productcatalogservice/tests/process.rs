//! The real binary: configuration errors, JSON logs, `/metrics`, the
//! `healthcheck` argument and graceful shutdown on SIGTERM.

use std::time::Duration;

use boutique_proto::hipstershop::{
    GetProductRequest, product_catalog_service_client::ProductCatalogServiceClient,
};
use boutique_testkit::{ServiceProcess, connect, metric_value, run_healthcheck, workspace_bin};

#[tokio::test]
async fn sigterm_lets_in_flight_calls_finish_then_exits_zero() {
    let p = ServiceProcess::start("productcatalogservice", &[("EXTRA_LATENCY", "1s")]).await;
    let channel = connect(p.addr).await;
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let mut c = ProductCatalogServiceClient::new(channel.clone());
            tokio::spawn(async move {
                c.get_product(GetProductRequest {
                    id: "OLJCESPC7Z".into(),
                })
                .await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let metrics_before = p.scrape().await;
    assert_eq!(
        metric_value(
            &metrics_before,
            "grpc_server_in_flight_requests",
            &[("grpc_method", "GetProduct")]
        ),
        Some(3.0)
    );
    p.terminate();
    for call in calls {
        let product = call
            .await
            .unwrap()
            .expect("in-flight call completes")
            .into_inner();
        assert_eq!(product.name, "Sunglasses");
    }
    let logs = p.logs.clone();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    let logs = logs.lock().unwrap();
    assert!(logs.iter().all(|l| l["timestamp"].is_string()
        && l["severity"].is_string()
        && l["message"].is_string()));
    assert!(
        logs.iter()
            .any(|l| l["message"] == "termination signal received")
    );
    assert!(logs.iter().any(|l| l["message"] == "stopped"));
}

#[tokio::test]
async fn healthcheck_argument_probes_the_running_service() {
    let p = ServiceProcess::start("productcatalogservice", &[]).await;
    let port = p.addr.port();
    assert_eq!(
        run_healthcheck("productcatalogservice", p.addr.port()).await,
        Some(0)
    );
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    assert_eq!(
        run_healthcheck("productcatalogservice", port).await,
        Some(1)
    );
}

#[tokio::test]
async fn invalid_configuration_is_one_clear_line_and_exit_2() {
    for (var, value, expected) in [
        (
            "EXTRA_LATENCY",
            "fast",
            "productcatalogservice: invalid configuration: EXTRA_LATENCY expected a number (got \"fast\")",
        ),
        (
            "PORT",
            "x",
            "productcatalogservice: invalid configuration: PORT cannot parse \"x\": invalid digit found in string",
        ),
    ] {
        let out = tokio::process::Command::new(workspace_bin("productcatalogservice"))
            .env(var, value)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{var}={value}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), expected);
    }
}

#[tokio::test]
async fn metrics_endpoint_shows_process_and_rpc_series() {
    let p = ServiceProcess::start("productcatalogservice", &[]).await;
    let mut c = ProductCatalogServiceClient::new(connect(p.addr).await);
    c.get_product(GetProductRequest {
        id: "9SIQT8TOJO".into(),
    })
    .await
    .unwrap();
    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[("grpc_method", "GetProduct"), ("grpc_code", "OK")]
        ),
        Some(1.0)
    );
    assert!(metric_value(&text, "process_resident_memory_bytes", &[]).unwrap() > 0.0);
    assert!(metric_value(&text, "process_cpu_seconds_total", &[]).is_some());
    assert_eq!(
        metric_value(
            &text,
            "boutique_build_info",
            &[("service", "productcatalogservice")]
        ),
        Some(1.0)
    );
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
}
