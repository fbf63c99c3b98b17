//! Quotes and tracking ids (contract §6) over real gRPC on an ephemeral port.

use std::{collections::HashSet, time::Duration};

use boutique_proto::hipstershop::{
    Address, CartItem, GetQuoteRequest, Money, ShipOrderRequest,
    shipping_service_client::ShippingServiceClient,
};
use boutique_testkit::{
    ServiceProcess, TestServer, assert_health, connect, metric_value, reflection_services, spawn,
};
use shippingservice::{Config, serve};
use tonic::transport::Channel;

async fn start() -> (TestServer, ShippingServiceClient<Channel>) {
    let server = spawn(|l, s| serve(Config, l, s)).await;
    let client = ShippingServiceClient::new(server.channel().await);
    (server, client)
}

fn googleplex() -> Address {
    Address {
        street_address: "1600 Amphitheatre Parkway".into(),
        city: "Mountain View".into(),
        state: "CA".into(),
        country: "United States".into(),
        zip_code: 94043,
    }
}

fn items(quantities: &[i32]) -> Vec<CartItem> {
    quantities
        .iter()
        .map(|&quantity| CartItem {
            product_id: "66VCHSJNUP".into(),
            quantity,
        })
        .collect()
}

fn usd(units: i64, nanos: i32) -> Money {
    Money {
        currency_code: "USD".into(),
        units,
        nanos,
    }
}

async fn quote(
    c: &mut ShippingServiceClient<Channel>,
    address: Option<Address>,
    quantities: &[i32],
) -> Money {
    c.get_quote(GetQuoteRequest {
        address,
        items: items(quantities),
    })
    .await
    .expect("GetQuote")
    .into_inner()
    .cost_usd
    .expect("cost_usd is set")
}

async fn ship(c: &mut ShippingServiceClient<Channel>, address: Option<Address>) -> String {
    c.ship_order(ShipOrderRequest {
        address,
        items: items(&[1]),
    })
    .await
    .expect("ShipOrder")
    .into_inner()
    .tracking_id
}

/// Checks `^[A-Y]{2}-<len>\d{3}-<len/2>\d{7}$` by hand.
fn assert_tracking_shape(id: &str, salt_len: usize) {
    let (letters, rest) = id.split_at_checked(2).unwrap_or_else(|| panic!("{id}"));
    assert!(
        letters.chars().all(|c| ('A'..='Y').contains(&c)),
        "letters of {id}"
    );
    let parts: Vec<&str> = rest.split('-').collect();
    assert_eq!(parts.len(), 3, "{id}");
    assert_eq!(parts[0], "", "{id}");
    let (first, second) = (parts[1], parts[2]);
    let (len, d3) = first.split_at(first.len().saturating_sub(3));
    let (half, d7) = second.split_at(second.len().saturating_sub(7));
    assert_eq!(len, salt_len.to_string(), "{id}");
    assert_eq!(half, (salt_len / 2).to_string(), "{id}");
    assert!(
        d3.len() == 3 && d3.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert!(
        d7.len() == 7 && d7.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
}

#[test]
fn shape_check_rejects_wrong_ids() {
    assert_tracking_shape("XY-44123-221234567", 44);
    for bad in [
        "XZ-44123-221234567",
        "xy-44123-221234567",
        "XY-43123-221234567",
        "XY-44123-211234567",
        "XY-4412-221234567",
        "XY-44123-22123456a",
        "XY-44123-2212345678",
        "XY44123-221234567",
    ] {
        assert!(
            std::panic::catch_unwind(|| assert_tracking_shape(bad, 44)).is_err(),
            "{bad} passed"
        );
    }
}

#[tokio::test]
async fn quote_is_zero_for_no_items_and_flat_otherwise() {
    let (server, mut c) = start().await;
    assert_eq!(quote(&mut c, Some(googleplex()), &[]).await, usd(0, 0));
    assert_eq!(quote(&mut c, None, &[]).await, usd(0, 0));
    assert_eq!(quote(&mut c, None, &[0, 0]).await, usd(0, 0));
    // Quantities that cancel out count as zero (as upstream).
    assert_eq!(quote(&mut c, None, &[3, -3]).await, usd(0, 0));
    for quantities in [
        &[1][..],
        &[1, 1],
        &[5, 2, 9],
        &[100],
        &[-1],
        &[-4, 1],
        &[i32::MAX, i32::MAX],
        &[i32::MIN],
    ] {
        assert_eq!(
            quote(&mut c, Some(googleplex()), quantities).await,
            usd(8, 990_000_000),
            "{quantities:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn tracking_id_for_the_googleplex() {
    let (server, mut c) = start().await;
    let salt = "1600 Amphitheatre Parkway, Mountain View, CA";
    assert_eq!(salt.len(), 44);
    let id = ship(&mut c, Some(googleplex())).await;
    assert_eq!(id.len(), 18, "{id}");
    assert_eq!(&id[2..5], "-44", "{id}");
    assert_eq!(&id[8..11], "-22", "{id}");
    assert_tracking_shape(&id, 44);
    server.stop().await;
}

#[tokio::test]
async fn tracking_ids_never_contain_z_and_are_unique() {
    let (server, mut c) = start().await;
    let mut ids = HashSet::new();
    let mut letters = HashSet::new();
    for _ in 0..1000 {
        let id = ship(&mut c, Some(googleplex())).await;
        assert_tracking_shape(&id, 44);
        assert!(!id.contains('Z'), "{id}");
        letters.extend(id.chars().take(2));
        assert!(ids.insert(id.clone()), "duplicate {id}");
    }
    // 2000 uniform draws from 25 letters cover all of them.
    assert_eq!(letters.len(), 25, "{letters:?}");
    server.stop().await;
}

#[tokio::test]
async fn missing_or_odd_addresses_still_ship() {
    let (server, mut c) = start().await;
    // No address: salt ", " + ", " (4 bytes).
    let id = ship(&mut c, None).await;
    assert_eq!(id.len(), 16, "{id}");
    assert_tracking_shape(&id, 4);
    assert_tracking_shape(&ship(&mut c, Some(Address::default())).await, 4);
    // Lengths are UTF-8 bytes; country and zip do not count.
    let address = Address {
        street_address: "Straße 1".into(),
        city: "Köln".into(),
        state: "NRW".into(),
        country: "Deutschland".into(),
        zip_code: 50667,
    };
    assert_tracking_shape(&ship(&mut c, Some(address)).await, 21);
    // No items is fine too.
    let id = c
        .ship_order(ShipOrderRequest {
            address: Some(googleplex()),
            items: vec![],
        })
        .await
        .expect("ShipOrder without items")
        .into_inner()
        .tracking_id;
    assert_tracking_shape(&id, 44);
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let (server, mut c) = start().await;
    assert_health(server.channel().await, "hipstershop.ShippingService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.ShippingService"]
    );
    let count = |text: &str, method| {
        metric_value(
            text,
            "grpc_server_handled_total",
            &[
                ("grpc_service", "hipstershop.ShippingService"),
                ("grpc_method", method),
                ("grpc_code", "OK"),
            ],
        )
        .unwrap_or(0.0)
    };
    let before = boutique_runtime::metrics::render();
    quote(&mut c, None, &[1]).await;
    quote(&mut c, None, &[]).await;
    quote(&mut c, None, &[2]).await;
    ship(&mut c, None).await;
    let after = boutique_runtime::metrics::render();
    // Tests in this binary share the registry: at least our calls counted.
    assert!(count(&after, "GetQuote") - count(&before, "GetQuote") >= 3.0);
    assert!(count(&after, "ShipOrder") - count(&before, "ShipOrder") >= 1.0);
    server.stop().await;
}

#[tokio::test]
async fn binary_answers_and_stops_cleanly() {
    let p = ServiceProcess::start("shippingservice", &[]).await;
    let mut c = ShippingServiceClient::new(connect(p.addr).await);
    assert_tracking_shape(&ship(&mut c, Some(googleplex())).await, 44);
    assert_eq!(quote(&mut c, None, &[2]).await, usd(8, 990_000_000));
    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[("grpc_method", "ShipOrder"), ("grpc_code", "OK")]
        ),
        Some(1.0)
    );
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
}
