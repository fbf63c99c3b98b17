//! "Shipping down → no charge", proven from the payment service's own
//! metrics. Alone in its test binary (= process) because metrics are
//! process-global: no other test can charge in between the readings.

mod common;

use boutique_testkit::metric_value;
use common::{Faults, Shop, order_request};
use tonic::Code;

/// `grpc_server_handled_total` of PaymentService/Charge, all codes summed.
fn charges_handled() -> f64 {
    boutique_runtime::metrics::render()
        .lines()
        .filter(|l| {
            l.starts_with("grpc_server_handled_total{")
                && l.contains("grpc_service=\"hipstershop.PaymentService\"")
                && l.contains("grpc_method=\"Charge\"")
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn shipping_down_never_reaches_payment() {
    let mut down = Shop::start(Faults {
        shipping_down: true,
        ..Faults::default()
    })
    .await;
    let mut healthy = Shop::start(Faults::default()).await;
    down.add("u", "OLJCESPC7Z", 1).await;
    healthy.add("u", "OLJCESPC7Z", 1).await;

    let before = charges_handled();
    let err = down
        .checkout
        .place_order(order_request("u", "USD"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(charges_handled(), before, "Charge was called");
    let failed = metric_value(
        &boutique_runtime::metrics::render(),
        "checkout_orders_failed_total",
        &[("reason", "shipping_quote")],
    );
    assert_eq!(failed, Some(1.0));

    // Control: the same reading does move when an order is charged.
    healthy
        .checkout
        .place_order(order_request("u", "USD"))
        .await
        .unwrap();
    assert_eq!(charges_handled(), before + 1.0);
    down.stop().await;
    healthy.stop().await;
}
