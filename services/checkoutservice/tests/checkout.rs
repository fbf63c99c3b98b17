//! PlaceOrder against the real leaf services (see `common`), all on
//! ephemeral loopback ports.

mod common;

use std::time::{Duration, Instant};

use boutique_proto::hipstershop::{OrderItem, PlaceOrderRequest};
use boutique_testkit::{assert_health, metric_value, reflection_services};
use common::{ChargeRecord, Faults, Shop, address, good_card, item, money, order_request};
use tonic::Code;

fn order_item(id: &str, quantity: i32, cost: boutique_proto::hipstershop::Money) -> OrderItem {
    OrderItem {
        item: Some(item(id, quantity)),
        cost: Some(cost),
    }
}

/// `XY-<len(salt)><3 digits>-<len(salt)/2><7 digits>`, letters A..=Y.
fn assert_tracking_id(id: &str) {
    // Salt "1600 Amphitheatre Parkway, Mountain View, CA" is 44 bytes.
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(parts.len(), 3, "{id}");
    assert!(
        parts[0].len() == 2 && parts[0].bytes().all(|b| (b'A'..=b'Y').contains(&b)),
        "{id}"
    );
    assert!(parts[1].len() == 5 && parts[1].starts_with("44"), "{id}");
    assert!(parts[2].len() == 9 && parts[2].starts_with("22"), "{id}");
    assert!(
        parts[1..]
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_digit())),
        "{id}"
    );
}

fn assert_v1_order_id(id: &str) {
    let uuid = uuid::Uuid::parse_str(id).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(uuid.get_version_num(), 1, "{id}");
    assert_eq!(id, uuid.hyphenated().to_string(), "lowercase hyphenated");
}

async fn full_order(
    currency: &str,
    costs: [boutique_proto::hipstershop::Money; 3],
    total: boutique_proto::hipstershop::Money,
) {
    let mut shop = Shop::start(Faults::default()).await;
    let user = format!("buyer-{currency}");
    shop.add(&user, "OLJCESPC7Z", 2).await;
    shop.add(&user, "9SIQT8TOJO", 3).await;
    let order = shop
        .checkout
        .place_order(order_request(&user, currency))
        .await
        .unwrap_or_else(|s| panic!("PlaceOrder: {s}"))
        .into_inner()
        .order
        .expect("an order");
    let [sunglasses, jar, shipping] = costs;
    assert_eq!(
        order.items,
        [
            order_item("OLJCESPC7Z", 2, sunglasses),
            order_item("9SIQT8TOJO", 3, jar),
        ]
    );
    assert_eq!(order.shipping_cost, Some(shipping));
    assert_eq!(order.shipping_address, Some(address()));
    assert_v1_order_id(&order.order_id);
    assert_tracking_id(&order.shipping_tracking_id);
    // Exactly one charge, of exactly the total.
    assert_eq!(
        shop.charges(),
        [ChargeRecord {
            amount: Some(total),
            accepted: true
        }]
    );
    assert!(shop.cart_items(&user).await.is_empty(), "cart emptied");
    shop.stop().await;
}

#[tokio::test]
async fn full_order_in_usd() {
    // 2 × 19.99 + 3 × 5.49 + 8.99 = 65.44
    full_order(
        "USD",
        [
            money("USD", 19, 990_000_000),
            money("USD", 5, 490_000_000),
            money("USD", 8, 990_000_000),
        ],
        money("USD", 65, 440_000_000),
    )
    .await;
}

#[tokio::test]
async fn full_order_in_jpy_with_exact_total() {
    // Contract §3 vectors: 19.99 USD → 2235.060592707 JPY, 5.49 → 613.831048235,
    // shipping 8.99 → 1005.162317560. Total by hand:
    //   2 × 2235.060592707 = 4470.121185414
    //   3 ×  613.831048235 = 1841.493144705
    //   + 1005.162317560   = 7316.776647679
    full_order(
        "JPY",
        [
            money("JPY", 2235, 60_592_707),
            money("JPY", 613, 831_048_235),
            money("JPY", 1005, 162_317_560),
        ],
        money("JPY", 7316, 776_647_679),
    )
    .await;
}

#[tokio::test]
async fn order_ids_differ_and_metrics_count_placed_orders() {
    let mut shop = Shop::start(Faults::default()).await;
    let before = boutique_runtime::metrics::render();
    let placed = |text: &str| {
        metric_value(text, "checkout_orders_placed_total", &[("currency", "EUR")]).unwrap_or(0.0)
    };
    let value_count =
        |text: &str| metric_value(text, "checkout_order_value_usd_count", &[]).unwrap_or(0.0);
    let mut ids = Vec::new();
    for _ in 0..2 {
        shop.add("repeat", "6E92ZMYYFZ", 1).await;
        let order = shop
            .checkout
            .place_order(order_request("repeat", "EUR"))
            .await
            .unwrap()
            .into_inner()
            .order
            .unwrap();
        ids.push(order.order_id);
    }
    assert_ne!(ids[0], ids[1]);
    let after = boutique_runtime::metrics::render();
    assert!(placed(&after) - placed(&before) >= 2.0);
    assert!(value_count(&after) - value_count(&before) >= 2.0);
    shop.stop().await;
}

#[tokio::test]
async fn invalid_card_fails_uncharged_and_keeps_the_cart() {
    let mut shop = Shop::start(Faults::default()).await;
    shop.add("badcard", "1YMWWN1N4O", 1).await;
    let mut req = order_request("badcard", "USD");
    if let Some(card) = req.credit_card.as_mut() {
        card.credit_card_number = "4432-8015-6152-0455".into(); // Luhn fails
    }
    let err = shop.checkout.place_order(req).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "failed to charge card: could not charge the card: \
         rpc error: code = InvalidArgument desc = Credit card info is invalid"
    );
    // The payment service refused the one charge asked: nothing was charged.
    let charges = shop.charges();
    assert_eq!(charges.len(), 1);
    assert!(!charges[0].accepted);
    assert_eq!(
        shop.cart_items("badcard").await,
        [item("1YMWWN1N4O", 1)],
        "cart intact"
    );
    shop.stop().await;
}

#[tokio::test]
async fn shipping_down_fails_before_any_charge() {
    let mut shop = Shop::start(Faults {
        shipping_down: true,
        ..Faults::default()
    })
    .await;
    shop.add("noship", "L9ECAV7KIM", 1).await;
    let err = shop
        .checkout
        .place_order(order_request("noship", "USD"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(
        err.message().starts_with(
            "shipping quote failure: failed to get shipping quote: rpc error: code = Unavailable"
        ),
        "{}",
        err.message()
    );
    assert!(shop.charges().is_empty(), "charge never attempted");
    assert_eq!(shop.cart_items("noship").await, [item("L9ECAV7KIM", 1)]);
    shop.stop().await;
}

#[tokio::test]
async fn failed_shipment_after_a_good_quote_is_never_charged() {
    // The case upstream gets wrong (it charges, then ships).
    let mut shop = Shop::start(Faults {
        ship_order_fails: true,
        ..Faults::default()
    })
    .await;
    shop.add("truck", "0PUK6V6EV0", 2).await;
    let err = shop
        .checkout
        .place_order(order_request("truck", "USD"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(
        err.message(),
        "shipping error: shipment failed: rpc error: code = Unavailable desc = the truck broke down"
    );
    assert!(shop.charges().is_empty(), "charge never attempted");
    assert_eq!(shop.cart_items("truck").await, [item("0PUK6V6EV0", 2)]);
    shop.stop().await;
}

#[tokio::test]
async fn email_down_still_places_the_order() {
    let mut shop = Shop::start(Faults {
        email_down: true,
        ..Faults::default()
    })
    .await;
    shop.add("nomail", "2ZYFJ3GM2N", 1).await;
    let order = shop
        .checkout
        .place_order(order_request("nomail", "USD"))
        .await
        .unwrap_or_else(|s| panic!("PlaceOrder: {s}"))
        .into_inner()
        .order
        .unwrap();
    assert_tracking_id(&order.shipping_tracking_id);
    // 24.99 + 8.99
    assert_eq!(
        shop.charges(),
        [ChargeRecord {
            amount: Some(money("USD", 33, 980_000_000)),
            accepted: true
        }]
    );
    assert!(shop.cart_items("nomail").await.is_empty());
    shop.stop().await;
}

#[tokio::test]
async fn currency_down_fails_cleanly() {
    let mut shop = Shop::start(Faults {
        currency_down: true,
        ..Faults::default()
    })
    .await;
    shop.add("nofx", "OLJCESPC7Z", 1).await;
    shop.add("nofx", "66VCHSJNUP", 1).await;
    let err = shop
        .checkout
        .place_order(order_request("nofx", "EUR"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    // The first item in cart order is reported, though items are priced concurrently.
    assert_eq!(
        err.message(),
        "failed to prepare order: failed to convert price of \"OLJCESPC7Z\" to EUR"
    );
    assert!(shop.charges().is_empty());
    assert_eq!(
        shop.cart_items("nofx").await,
        [item("OLJCESPC7Z", 1), item("66VCHSJNUP", 1)]
    );
    shop.stop().await;
}

#[tokio::test]
async fn unsupported_currency_is_never_charged_zero() {
    let mut shop = Shop::start(Faults::default()).await;
    shop.add("xau", "OLJCESPC7Z", 1).await;
    let err = shop
        .checkout
        .place_order(order_request("xau", "XAU"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "failed to prepare order: failed to convert price of \"OLJCESPC7Z\" to XAU"
    );
    assert!(shop.charges().is_empty());
    shop.stop().await;
}

#[tokio::test]
async fn empty_cart_is_failed_precondition() {
    let mut shop = Shop::start(Faults::default()).await;
    let err = shop
        .checkout
        .place_order(order_request("nobody", "USD"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert_eq!(err.message(), "cart is empty");
    assert!(shop.charges().is_empty());
    shop.stop().await;
}

#[tokio::test]
async fn unknown_product_is_internal_with_upstreams_text() {
    let mut shop = Shop::start(Faults::default()).await;
    shop.add("ghost", "OLJCESPC7Z", 1).await;
    shop.add("ghost", "NO-SUCH-ID", 1).await;
    let err = shop
        .checkout
        .place_order(order_request("ghost", "USD"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "failed to prepare order: failed to get product #\"NO-SUCH-ID\""
    );
    assert!(shop.charges().is_empty());
    assert_eq!(shop.cart_items("ghost").await.len(), 2);
    shop.stop().await;
}

#[tokio::test]
async fn malformed_requests_are_invalid_argument() {
    let mut shop = Shop::start(Faults::default()).await;
    shop.add("val", "OLJCESPC7Z", 1).await;
    type Breaker = fn(&mut PlaceOrderRequest);
    let cases: [(Breaker, &str); 4] = [
        (|r| r.user_id.clear(), "user_id must not be empty"),
        (
            |r| r.user_currency.clear(),
            "user_currency must not be empty",
        ),
        (|r| r.address = None, "address is required"),
        (|r| r.credit_card = None, "credit_card is required"),
    ];
    for (break_it, message) in cases {
        let mut req = order_request("val", "USD");
        break_it(&mut req);
        let err = shop.checkout.place_order(req).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{message}");
        assert_eq!(err.message(), message);
    }
    assert!(shop.charges().is_empty());
    assert_eq!(shop.cart_items("val").await, [item("OLJCESPC7Z", 1)]);
    // A well-formed request on the same cart goes through.
    let mut ok = order_request("val", "USD");
    ok.credit_card = Some(good_card());
    shop.checkout.place_order(ok).await.unwrap();
    shop.stop().await;
}

#[tokio::test]
async fn a_silent_peer_is_cut_off_at_the_downstream_deadline() {
    let mut shop = Shop::start(Faults {
        catalog_black_hole: true,
        downstream_timeout: Some(Duration::from_millis(300)),
        ..Faults::default()
    })
    .await;
    shop.add("slow", "OLJCESPC7Z", 1).await;
    let t = Instant::now();
    let err = shop
        .checkout
        .place_order(order_request("slow", "USD"))
        .await
        .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        err.message(),
        "failed to prepare order: failed to get product #\"OLJCESPC7Z\""
    );
    assert!(shop.charges().is_empty());
    shop.stop().await;
}

#[tokio::test]
async fn health_reflection_and_preinitialised_metrics() {
    let shop = Shop::start(Faults::default()).await;
    let server = shop.checkout_server();
    assert_health(server.channel().await, "hipstershop.CheckoutService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.CheckoutService"]
    );
    let text = boutique_runtime::metrics::render();
    for reason in [
        "cart",
        "catalog",
        "currency",
        "shipping_quote",
        "payment",
        "shipment",
        "empty_cart",
        "invalid_money",
    ] {
        assert!(
            metric_value(&text, "checkout_orders_failed_total", &[("reason", reason)]).is_some(),
            "{reason}"
        );
    }
    assert!(
        metric_value(
            &text,
            "checkout_orders_placed_total",
            &[("currency", "USD")]
        )
        .is_some()
    );
    assert!(metric_value(&text, "checkout_order_value_usd_count", &[]).is_some());
    assert!(
        metric_value(
            &text,
            "grpc_client_handled_total",
            &[
                ("grpc_service", "hipstershop.PaymentService"),
                ("grpc_method", "Charge")
            ]
        )
        .is_some()
    );
    shop.stop().await;
}
