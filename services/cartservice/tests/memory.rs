//! The cart with its default in-memory store, over real gRPC on an ephemeral
//! loopback port.

mod common;

use boutique_proto::hipstershop::{
    AddItemRequest, EmptyCartRequest, GetCartRequest, cart_service_client::CartServiceClient,
};
use boutique_testkit::{TestServer, assert_health, metric_value, reflection_services, spawn};
use cartservice::{Config, serve};
use common::{add, item, items};
use tonic::{Code, transport::Channel};

async fn start() -> (TestServer, CartServiceClient<Channel>) {
    let server = spawn(|l, s| serve(Config::default(), l, s)).await;
    let client = CartServiceClient::new(server.channel().await);
    (server, client)
}

#[tokio::test]
async fn unknown_user_has_an_empty_cart() {
    let (server, mut c) = start().await;
    assert!(items(&mut c, "nobody").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn add_accumulates_per_product_in_insertion_order() {
    let (server, mut c) = start().await;
    add(&mut c, "alice", "OLJCESPC7Z", 1).await;
    add(&mut c, "alice", "66VCHSJNUP", 2).await;
    add(&mut c, "alice", "OLJCESPC7Z", 3).await;
    assert_eq!(
        items(&mut c, "alice").await,
        [item("OLJCESPC7Z", 4), item("66VCHSJNUP", 2)]
    );
    // Carts are per user.
    assert!(items(&mut c, "bob").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn empty_cart_then_add_starts_over() {
    let (server, mut c) = start().await;
    add(&mut c, "carol", "L9ECAV7KIM", 2).await;
    c.empty_cart(EmptyCartRequest {
        user_id: "carol".into(),
    })
    .await
    .unwrap();
    assert!(items(&mut c, "carol").await.is_empty());
    add(&mut c, "carol", "L9ECAV7KIM", 1).await;
    assert_eq!(items(&mut c, "carol").await, [item("L9ECAV7KIM", 1)]);
    // Emptying an unknown cart is fine.
    c.empty_cart(EmptyCartRequest {
        user_id: "never-seen".into(),
    })
    .await
    .unwrap();
    server.stop().await;
}

#[tokio::test]
async fn concurrent_adds_lose_nothing() {
    let (server, c) = start().await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let mut c = c.clone();
            tokio::spawn(async move { add(&mut c, "dave", "6E92ZMYYFZ", 1).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = c;
    assert_eq!(items(&mut c, "dave").await, [item("6E92ZMYYFZ", 50)]);
    server.stop().await;
}

#[tokio::test]
async fn invalid_requests_are_invalid_argument_and_change_nothing() {
    let (server, mut c) = start().await;
    add(&mut c, "erin", "9SIQT8TOJO", 2).await;
    let cases = [
        (
            "erin",
            Some(item("9SIQT8TOJO", 0)),
            "item.quantity must be positive, got 0",
        ),
        (
            "erin",
            Some(item("9SIQT8TOJO", -3)),
            "item.quantity must be positive, got -3",
        ),
        (
            "erin",
            Some(item("", 1)),
            "item.product_id must not be empty",
        ),
        ("erin", None, "item is required"),
        ("", Some(item("9SIQT8TOJO", 1)), "user_id must not be empty"),
    ];
    for (user, it, message) in cases {
        let err = c
            .add_item(AddItemRequest {
                user_id: user.into(),
                item: it.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{user:?} {it:?}");
        assert_eq!(err.message(), message);
    }
    let err = c
        .add_item(AddItemRequest {
            user_id: "erin".into(),
            item: Some(item("9SIQT8TOJO", i32::MAX)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(items(&mut c, "erin").await, [item("9SIQT8TOJO", 2)]);

    let err = c
        .get_cart(GetCartRequest { user_id: "".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let err = c
        .empty_cart(EmptyCartRequest { user_id: "".into() })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let (server, mut c) = start().await;
    assert_health(server.channel().await, "hipstershop.CartService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.CartService"]
    );

    add(&mut c, "frank", "2ZYFJ3GM2N", 1).await;
    let text = boutique_runtime::metrics::render();
    assert_eq!(
        metric_value(&text, "cartservice_store_up", &[("store", "memory")]),
        Some(1.0)
    );
    assert!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[
                ("grpc_service", "hipstershop.CartService"),
                ("grpc_method", "AddItem"),
                ("grpc_code", "OK")
            ]
        )
        .unwrap()
            >= 1.0
    );
    // Pre-initialised series of every method.
    for method in ["AddItem", "GetCart", "EmptyCart"] {
        assert!(
            metric_value(
                &text,
                "grpc_server_handled_total",
                &[("grpc_method", method), ("grpc_code", "OK")]
            )
            .is_some(),
            "{method}"
        );
    }
    server.stop().await;
}
