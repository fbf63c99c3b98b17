//! The real binary: one confirmation, its log line, `/metrics`, and a clean
//! exit on SIGTERM.

use std::time::Duration;

use boutique_proto::hipstershop::{
    Address, CartItem, Money, OrderItem, OrderResult, SendOrderConfirmationRequest,
    email_service_client::EmailServiceClient,
};
use boutique_testkit::{ServiceProcess, connect, metric_value, wait_for_log};

#[tokio::test]
async fn renders_logs_one_line_and_exits_zero_on_sigterm() {
    let p = ServiceProcess::start("emailservice", &[]).await;
    let mut c = EmailServiceClient::new(connect(p.addr).await);
    let order = OrderResult {
        order_id: "order-<1>".into(),
        shipping_tracking_id: "ZX-11111-22222222".into(),
        shipping_cost: Some(Money {
            currency_code: "CAD".into(),
            units: 8,
            nanos: 990_000_000,
        }),
        shipping_address: Some(Address {
            street_address: "2 Side Road".into(),
            city: "Toronto".into(),
            state: "ON".into(),
            country: "Canada".into(),
            zip_code: 0,
        }),
        items: vec![OrderItem {
            item: Some(CartItem {
                product_id: "L9ECAV7KIM".into(),
                quantity: 1,
            }),
            cost: Some(Money {
                currency_code: "CAD".into(),
                units: 122,
                nanos: 0,
            }),
        }],
    };
    c.send_order_confirmation(SendOrderConfirmationRequest {
        email: "buyer@example.com".into(),
        order: Some(order),
    })
    .await
    .expect("confirmation OK");

    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[
                ("grpc_method", "SendOrderConfirmation"),
                ("grpc_code", "OK")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_value(&text, "boutique_build_info", &[("service", "emailservice")]),
        Some(1.0)
    );

    p.terminate();
    let logs = p.logs.clone();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    wait_for_log(&logs, |l| l["message"] == "stopped").await;
    let logs = logs.lock().unwrap();
    let rendered: Vec<_> = logs
        .iter()
        .filter(|l| l["message"] == "order confirmation email rendered")
        .collect();
    assert_eq!(rendered.len(), 1, "{logs:#?}");
    let line = rendered[0];
    assert_eq!(line["severity"], "info");
    assert_eq!(line["email"], "buyer@example.com");
    assert_eq!(line["order_id"], "order-<1>");
    assert!(line["size_bytes"].as_u64().unwrap() > 500, "{line}");
    assert_eq!(line["trace_id"].as_str().map(str::len), Some(32), "{line}");
    // The HTML itself is only logged at debug level.
    assert!(
        logs.iter().all(|l| !l.to_string().contains("<html")),
        "{logs:#?}"
    );
}
