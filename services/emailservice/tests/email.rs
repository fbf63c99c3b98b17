//! The email service over real gRPC on an ephemeral loopback port.

use boutique_proto::hipstershop::{
    Address, CartItem, Money, OrderItem, OrderResult, SendOrderConfirmationRequest,
    email_service_client::EmailServiceClient,
};
use boutique_testkit::{TestServer, assert_health, metric_value, reflection_services, spawn};
use emailservice::{Config, serve};
use tonic::{Code, transport::Channel};

async fn start() -> TestServer {
    spawn(|l, s| serve(Config::default(), l, s)).await
}

async fn client(server: &TestServer) -> EmailServiceClient<Channel> {
    EmailServiceClient::new(server.channel().await)
}

fn usd(units: i64, nanos: i32) -> Option<Money> {
    Some(Money {
        currency_code: "USD".into(),
        units,
        nanos,
    })
}

fn order() -> OrderResult {
    OrderResult {
        order_id: "c0ffee00-1111-11ef-8000-000000000001".into(),
        shipping_tracking_id: "QW-98765-43210987".into(),
        shipping_cost: usd(8, 990_000_000),
        shipping_address: Some(Address {
            street_address: "1 Main Street".into(),
            city: "Springfield".into(),
            state: "IL".into(),
            country: "USA".into(),
            zip_code: 62701,
        }),
        items: vec![OrderItem {
            item: Some(CartItem {
                product_id: "1YMWWN1N4O".into(),
                quantity: 3,
            }),
            cost: usd(109, 990_000_000),
        }],
    }
}

fn request(email: &str, order: Option<OrderResult>) -> SendOrderConfirmationRequest {
    SendOrderConfirmationRequest {
        email: email.into(),
        order,
    }
}

#[tokio::test]
async fn a_complete_order_is_confirmed() {
    let server = start().await;
    let mut c = client(&server).await;
    c.send_order_confirmation(request("someone@example.com", Some(order())))
        .await
        .expect("OK");
    // An order without items is still a valid confirmation.
    let mut empty = order();
    empty.items.clear();
    c.send_order_confirmation(request("someone@example.com", Some(empty)))
        .await
        .expect("OK without items");
    server.stop().await;
}

#[tokio::test]
async fn bad_requests_are_invalid_argument_with_a_clear_message() {
    let server = start().await;
    let mut c = client(&server).await;
    let mut no_address = order();
    no_address.shipping_address = None;
    let mut bad_cost = order();
    bad_cost.items[0].cost = usd(1, -5);
    let mut no_item = order();
    no_item.items[0].item = None;
    for (req, message) in [
        (request("", Some(order())), "email is required"),
        (request("  ", Some(order())), "email is required"),
        (request("someone@example.com", None), "order is required"),
        (
            request("someone@example.com", Some(no_address)),
            "order.shipping_address is required",
        ),
        (
            request("someone@example.com", Some(no_item)),
            "order.items[0].item is required",
        ),
        (
            request("someone@example.com", Some(bad_cost)),
            "order.items[0].cost is not a valid amount (nanos must be within ±999999999 and have the sign of units)",
        ),
    ] {
        let err = c.send_order_confirmation(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{message}");
        assert_eq!(err.message(), message);
    }
    // The server is still fine afterwards.
    c.send_order_confirmation(request("someone@example.com", Some(order())))
        .await
        .expect("OK after bad requests");
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let server = start().await;
    assert_health(server.channel().await, "hipstershop.EmailService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.EmailService"]
    );

    let labels = [
        ("grpc_service", "hipstershop.EmailService"),
        ("grpc_method", "SendOrderConfirmation"),
    ];
    let count = |text: &str, code: &str| {
        metric_value(
            text,
            "grpc_server_handled_total",
            &[labels[0], labels[1], ("grpc_code", code)],
        )
        .unwrap_or(0.0)
    };
    let before = boutique_runtime::metrics::render();
    let mut c = client(&server).await;
    c.send_order_confirmation(request("a@example.com", Some(order())))
        .await
        .unwrap();
    c.send_order_confirmation(request("", Some(order())))
        .await
        .unwrap_err();
    let after = boutique_runtime::metrics::render();
    assert!(count(&after, "OK") - count(&before, "OK") >= 1.0);
    assert!(count(&after, "InvalidArgument") - count(&before, "InvalidArgument") >= 1.0);
    assert!(metric_value(&after, "grpc_server_handling_seconds_count", &labels).unwrap() >= 2.0);
    server.stop().await;
}
