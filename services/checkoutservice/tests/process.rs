//! The real binary: required peers, `DOWNSTREAM_TIMEOUT_MS`, start-up with
//! every peer down (channels are lazy), metrics present from the start.

use std::time::Duration;

use boutique_testkit::{ServiceProcess, dead_addr, metric_value, run_healthcheck, workspace_bin};

const PEERS: [&str; 6] = [
    "PRODUCT_CATALOG_SERVICE_ADDR",
    "CURRENCY_SERVICE_ADDR",
    "CART_SERVICE_ADDR",
    "SHIPPING_SERVICE_ADDR",
    "PAYMENT_SERVICE_ADDR",
    "EMAIL_SERVICE_ADDR",
];

#[tokio::test]
async fn starts_with_every_peer_down_and_exposes_its_metrics() {
    let dead = dead_addr().await;
    let env: Vec<(&str, &str)> = PEERS.iter().map(|p| (*p, dead.as_str())).collect();
    let p = ServiceProcess::start("checkoutservice", &env).await;
    assert_eq!(
        run_healthcheck("checkoutservice", p.addr.port()).await,
        Some(0)
    );
    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "checkout_orders_failed_total",
            &[("reason", "payment")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metric_value(
            &text,
            "checkout_orders_placed_total",
            &[("currency", "USD")]
        ),
        Some(0.0)
    );
    assert_eq!(
        metric_value(&text, "checkout_order_value_usd_count", &[]),
        Some(0.0)
    );
    let logs = p.logs.clone();
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    let logs = logs.lock().unwrap();
    let configured = logs
        .iter()
        .find(|l| l["message"] == "peers configured")
        .expect("peers logged");
    assert_eq!(configured["downstream_timeout_ms"], 3000);
}

#[tokio::test]
async fn configuration_errors_are_one_clear_line_and_exit_2() {
    let all: Vec<(&str, &str)> = PEERS.iter().map(|p| (*p, "peer:1")).collect();
    // (variables, expected stderr); the timeout cases have every peer set.
    let cases: [(Vec<(&str, &str)>, &str); 3] = [
        (
            all[1..].to_vec(),
            "checkoutservice: invalid configuration: PRODUCT_CATALOG_SERVICE_ADDR is required but not set",
        ),
        (
            [all.as_slice(), &[("DOWNSTREAM_TIMEOUT_MS", "soon")]].concat(),
            "checkoutservice: invalid configuration: DOWNSTREAM_TIMEOUT_MS cannot parse \"soon\": invalid digit found in string",
        ),
        (
            [all.as_slice(), &[("DOWNSTREAM_TIMEOUT_MS", "0")]].concat(),
            "checkoutservice: invalid configuration: DOWNSTREAM_TIMEOUT_MS must be a positive number of milliseconds",
        ),
    ];
    for (vars, expected) in cases {
        let mut cmd = tokio::process::Command::new(workspace_bin("checkoutservice"));
        for p in PEERS.iter().chain(&["DOWNSTREAM_TIMEOUT_MS"]) {
            cmd.env_remove(p);
        }
        let out = cmd.envs(vars).output().await.unwrap();
        assert_eq!(out.status.code(), Some(2), "{expected}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), expected);
    }
}
