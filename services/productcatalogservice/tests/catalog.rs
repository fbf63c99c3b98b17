//! The catalog over real gRPC on an ephemeral loopback port.

use std::time::{Duration, Instant};

use boutique_proto::hipstershop::{
    Empty, GetProductRequest, Money, SearchProductsRequest,
    product_catalog_service_client::ProductCatalogServiceClient,
};
use boutique_testkit::{TestServer, assert_health, metric_value, reflection_services, spawn};
use productcatalogservice::{Config, serve};
use tonic::{Code, transport::Channel};

async fn start(config: Config) -> TestServer {
    spawn(move |l, s| serve(config, l, s)).await
}

async fn client(server: &TestServer) -> ProductCatalogServiceClient<Channel> {
    ProductCatalogServiceClient::new(server.channel().await)
}

fn usd(units: i64, nanos: i32) -> Option<Money> {
    Some(Money {
        currency_code: "USD".into(),
        units,
        nanos,
    })
}

#[tokio::test]
async fn lists_the_nine_products_in_file_order() {
    let server = start(Config::default()).await;
    let products = client(&server)
        .await
        .list_products(Empty {})
        .await
        .unwrap()
        .into_inner()
        .products;
    let ids: Vec<_> = products.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "OLJCESPC7Z",
            "66VCHSJNUP",
            "1YMWWN1N4O",
            "L9ECAV7KIM",
            "2ZYFJ3GM2N",
            "0PUK6V6EV0",
            "LS4PSXUNUM",
            "9SIQT8TOJO",
            "6E92ZMYYFZ"
        ]
    );
    let names: Vec<_> = products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Sunglasses",
            "Tank Top",
            "Watch",
            "Loafers",
            "Hairdryer",
            "Candle Holder",
            "Salt & Pepper Shakers",
            "Bamboo Glass Jar",
            "Mug"
        ]
    );
    let prices: Vec<_> = products.iter().map(|p| p.price_usd.clone()).collect();
    assert_eq!(
        prices,
        [
            usd(19, 990_000_000),
            usd(18, 990_000_000),
            usd(109, 990_000_000),
            usd(89, 990_000_000),
            usd(24, 990_000_000),
            usd(18, 990_000_000),
            usd(18, 490_000_000),
            usd(5, 490_000_000),
            usd(8, 990_000_000),
        ]
    );
    assert_eq!(products[1].categories, ["clothing", "tops"]);
    assert_eq!(products[4].categories, ["hair", "beauty"]);
    assert_eq!(products[5].categories, ["decor", "home"]);
    assert_eq!(
        products[6].picture,
        "/static/img/products/salt-and-pepper-shakers.jpg"
    );
    assert!(products.iter().all(|p| !p.description.is_empty()));
    server.stop().await;
}

#[tokio::test]
async fn gets_products_by_exact_id() {
    let server = start(Config::default()).await;
    let mut c = client(&server).await;
    let p = c
        .get_product(GetProductRequest {
            id: "1YMWWN1N4O".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p.name, "Watch");
    assert_eq!(p.price_usd, usd(109, 990_000_000));
    assert_eq!(p.categories, ["accessories"]);

    for id in ["NOPE", "1ymwwn1n4o", ""] {
        let err = c
            .get_product(GetProductRequest { id: id.into() })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "id {id:?}");
        assert_eq!(err.message(), format!("no product with ID {id}"));
    }
    server.stop().await;
}

#[tokio::test]
async fn searches_names_and_descriptions_ignoring_case() {
    let server = start(Config::default()).await;
    let mut c = client(&server).await;
    let mut search = async |q: &str| -> Vec<String> {
        c.search_products(SearchProductsRequest { query: q.into() })
            .await
            .unwrap()
            .into_inner()
            .results
            .into_iter()
            .map(|p| p.id)
            .collect()
    };
    assert_eq!(search("kitchen").await, ["LS4PSXUNUM", "9SIQT8TOJO"]);
    assert_eq!(search("WATCH").await, ["1YMWWN1N4O"]);
    assert_eq!(search("mug").await, ["6E92ZMYYFZ"]);
    assert_eq!(search("").await.len(), 9);
    assert!(search("no such thing").await.is_empty());
    // Categories are not searched: "footwear" is only a category.
    assert!(search("footwear").await.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn extra_latency_delays_catalog_rpcs() {
    let server = start(Config {
        extra_latency: Duration::from_millis(300),
    })
    .await;
    let mut c = client(&server).await;
    let t = Instant::now();
    c.list_products(Empty {}).await.unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "took {:?}",
        t.elapsed()
    );
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let server = start(Config::default()).await;
    assert_health(server.channel().await, "hipstershop.ProductCatalogService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.ProductCatalogService"]
    );

    let mut c = client(&server).await;
    let before = boutique_runtime::metrics::render();
    let labels = [
        ("grpc_service", "hipstershop.ProductCatalogService"),
        ("grpc_method", "GetProduct"),
    ];
    let ok_before = metric_value(
        &before,
        "grpc_server_handled_total",
        &[labels[0], labels[1], ("grpc_code", "OK")],
    )
    .unwrap_or(0.0);
    c.get_product(GetProductRequest {
        id: "OLJCESPC7Z".into(),
    })
    .await
    .unwrap();
    c.get_product(GetProductRequest {
        id: "OLJCESPC7Z".into(),
    })
    .await
    .unwrap();
    c.get_product(GetProductRequest {
        id: "missing".into(),
    })
    .await
    .unwrap_err();
    let after = boutique_runtime::metrics::render();
    let ok = metric_value(
        &after,
        "grpc_server_handled_total",
        &[labels[0], labels[1], ("grpc_code", "OK")],
    )
    .unwrap();
    assert!(ok - ok_before >= 2.0, "OK count grew by {}", ok - ok_before);
    assert!(
        metric_value(
            &after,
            "grpc_server_handled_total",
            &[labels[0], labels[1], ("grpc_code", "NotFound")]
        )
        .unwrap()
            >= 1.0
    );
    assert!(metric_value(&after, "grpc_server_handling_seconds_count", &labels).unwrap() >= 3.0);
    // Pre-initialised series of a method never called.
    assert!(
        metric_value(
            &after,
            "grpc_server_handled_total",
            &[("grpc_method", "SearchProducts"), ("grpc_code", "OK")]
        )
        .is_some()
    );
    server.stop().await;
}
