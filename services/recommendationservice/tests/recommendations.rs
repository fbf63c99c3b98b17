//! Recommendations over real gRPC, against the real product catalog started
//! in-process on its own ephemeral port.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use boutique_proto::hipstershop::{
    Empty, ListRecommendationsRequest, product_catalog_service_client::ProductCatalogServiceClient,
    recommendation_service_client::RecommendationServiceClient,
};
use boutique_runtime::DEFAULT_CALL_TIMEOUT;
use boutique_testkit::{
    TestServer, assert_health, dead_addr, metric_value, reflection_services, spawn,
};
use recommendationservice::{Config, serve};
use tokio_util::sync::CancellationToken;
use tonic::{Code, transport::Channel};

async fn start_catalog(extra_latency: Duration) -> TestServer {
    spawn(move |l, s| {
        productcatalogservice::serve(productcatalogservice::Config { extra_latency }, l, s)
    })
    .await
}

async fn start(config: Config) -> TestServer {
    spawn(move |l, s| serve(config, l, s)).await
}

async fn catalog_ids(catalog: &TestServer) -> Vec<String> {
    ProductCatalogServiceClient::new(catalog.channel().await)
        .list_products(Empty {})
        .await
        .expect("ListProducts")
        .into_inner()
        .products
        .into_iter()
        .map(|p| p.id)
        .collect()
}

async fn recommend(
    c: &mut RecommendationServiceClient<Channel>,
    product_ids: &[String],
) -> Result<Vec<String>, tonic::Status> {
    c.list_recommendations(ListRecommendationsRequest {
        user_id: "u-1".into(),
        product_ids: product_ids.to_vec(),
    })
    .await
    .map(|r| r.into_inner().product_ids)
}

struct Shop {
    catalog: TestServer,
    server: TestServer,
    ids: Vec<String>,
    client: RecommendationServiceClient<Channel>,
}

impl Shop {
    async fn start() -> Self {
        let catalog = start_catalog(Duration::ZERO).await;
        let server = start(Config::new(catalog.host_port())).await;
        let ids = catalog_ids(&catalog).await;
        assert_eq!(ids.len(), 9, "the catalog has upstream's nine products");
        let client = RecommendationServiceClient::new(server.channel().await);
        Self {
            catalog,
            server,
            ids,
            client,
        }
    }

    async fn stop(self) {
        self.server.stop().await;
        self.catalog.stop().await;
    }
}

fn assert_distinct_catalog_ids(got: &[String], catalog: &[String], excluded: &[String]) {
    let distinct: HashSet<&String> = got.iter().collect();
    assert_eq!(distinct.len(), got.len(), "duplicates in {got:?}");
    for id in got {
        assert!(catalog.contains(id), "{id} is not a catalog id");
        assert!(!excluded.contains(id), "{id} was in the request");
    }
}

#[tokio::test]
async fn five_distinct_catalog_ids_never_the_requested_ones() {
    let mut shop = Shop::start().await;
    let input = vec![shop.ids[0].clone(), shop.ids[3].clone()];
    for _ in 0..20 {
        let got = recommend(&mut shop.client, &input).await.unwrap();
        assert_eq!(got.len(), 5, "{got:?}");
        assert_distinct_catalog_ids(&got, &shop.ids, &input);
    }
    let got = recommend(&mut shop.client, &[]).await.unwrap();
    assert_eq!(got.len(), 5);
    assert_distinct_catalog_ids(&got, &shop.ids, &[]);
    shop.stop().await;
}

#[tokio::test]
async fn fewer_candidates_than_five_returns_them_all() {
    let mut shop = Shop::start().await;
    let five = shop.ids[..5].to_vec();
    let got = recommend(&mut shop.client, &five).await.unwrap();
    assert_eq!(got.len(), 4, "{got:?}");
    let got: HashSet<String> = got.into_iter().collect();
    let rest: HashSet<String> = shop.ids[5..].iter().cloned().collect();
    assert_eq!(got, rest);

    let all = shop.ids.clone();
    assert!(recommend(&mut shop.client, &all).await.unwrap().is_empty());

    // Duplicates in the request change nothing.
    let mut dup = shop.ids[..8].to_vec();
    dup.extend_from_slice(&shop.ids[..8]);
    assert_eq!(
        recommend(&mut shop.client, &dup).await.unwrap(),
        [shop.ids[8].clone()]
    );
    shop.stop().await;
}

#[tokio::test]
async fn unknown_requested_ids_are_ignored() {
    let mut shop = Shop::start().await;
    let unknown = vec!["NOPE".to_owned(), String::new(), "olJcespc7z".to_owned()];
    let got = recommend(&mut shop.client, &unknown).await.unwrap();
    assert_eq!(got.len(), 5);
    assert_distinct_catalog_ids(&got, &shop.ids, &[]);

    let mut eight_and_unknown = shop.ids[1..].to_vec();
    eight_and_unknown.push("NOPE".into());
    assert_eq!(
        recommend(&mut shop.client, &eight_and_unknown)
            .await
            .unwrap(),
        [shop.ids[0].clone()]
    );
    shop.stop().await;
}

#[tokio::test]
async fn recommendations_are_random() {
    let mut shop = Shop::start().await;
    let mut sets = HashSet::new();
    let mut orders = HashSet::new();
    let mut seen = HashSet::new();
    for _ in 0..40 {
        let got = recommend(&mut shop.client, &[]).await.unwrap();
        orders.insert(got.clone());
        let mut sorted = got.clone();
        sorted.sort();
        sets.insert(sorted);
        seen.extend(got);
    }
    assert!(sets.len() > 1, "always the same five products");
    assert!(orders.len() > sets.len(), "never a different order");
    // 40 draws of 5 out of 9: every product shows up (the chance that one
    // never does is 9 * (4/9)^40, about 1e-13).
    assert_eq!(seen.len(), 9, "{seen:?}");
    shop.stop().await;
}

#[tokio::test]
async fn catalog_down_is_unavailable_quickly() {
    let addr = dead_addr().await;
    let server = start(Config::new(addr.clone())).await;
    let mut c = RecommendationServiceClient::new(server.channel().await);
    for _ in 0..3 {
        let t = Instant::now();
        let err = recommend(&mut c, &[]).await.unwrap_err();
        assert!(t.elapsed() < DEFAULT_CALL_TIMEOUT, "took {:?}", t.elapsed());
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(
            err.message()
                .starts_with(&format!("product catalog at {addr} failed: ")),
            "{}",
            err.message()
        );
    }
    // Still serving.
    assert_health(server.channel().await, "hipstershop.RecommendationService").await;
    server.stop().await;
}

#[tokio::test]
async fn slow_catalog_is_cut_at_the_deadline() {
    let catalog = start_catalog(Duration::from_secs(3)).await;
    let server = start(Config {
        catalog_addr: catalog.host_port(),
        catalog_timeout: Duration::from_millis(300),
    })
    .await;
    let mut c = RecommendationServiceClient::new(server.channel().await);
    let t = Instant::now();
    let err = recommend(&mut c, &[]).await.unwrap_err();
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(250), "took {took:?}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    // Either our deadline fires first, or the catalog's tonic server, which
    // enforces the propagated `grpc-timeout`, answers CANCELLED first.
    assert!(
        err.message().contains("DeadlineExceeded") || err.message().contains("Cancelled"),
        "{}",
        err.message()
    );
    server.stop().await;
    catalog.kill();
}

#[tokio::test]
async fn catalog_recovering_is_used_again() {
    // The lazily-connected channel reconnects once the catalog is back.
    let catalog = start_catalog(Duration::ZERO).await;
    let addr = catalog.addr;
    let server = start(Config::new(catalog.host_port())).await;
    let mut c = RecommendationServiceClient::new(server.channel().await);
    assert_eq!(recommend(&mut c, &[]).await.unwrap().len(), 5);
    catalog.stop().await;
    let err = recommend(&mut c, &[]).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let token = CancellationToken::new();
    let revived = tokio::spawn(productcatalogservice::serve(
        productcatalogservice::Config::default(),
        listener,
        token.clone().cancelled_owned(),
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match recommend(&mut c, &[]).await {
            Ok(got) => {
                assert_eq!(got.len(), 5);
                break;
            }
            Err(e) if Instant::now() < deadline => {
                assert_eq!(e.code(), Code::Unavailable);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the catalog came back but recommendations still fail: {e}"),
        }
    }
    server.stop().await;
    token.cancel();
    revived.await.unwrap().unwrap();
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let mut shop = Shop::start().await;
    assert_health(
        shop.server.channel().await,
        "hipstershop.RecommendationService",
    )
    .await;
    let mut services = reflection_services(shop.server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.RecommendationService"]
    );

    let server_ok = |text: &str| {
        metric_value(
            text,
            "grpc_server_handled_total",
            &[
                ("grpc_service", "hipstershop.RecommendationService"),
                ("grpc_method", "ListRecommendations"),
                ("grpc_code", "OK"),
            ],
        )
        .unwrap_or(0.0)
    };
    let client_ok = |text: &str| {
        metric_value(
            text,
            "grpc_client_handled_total",
            &[
                ("grpc_service", "hipstershop.ProductCatalogService"),
                ("grpc_method", "ListProducts"),
                ("grpc_code", "OK"),
            ],
        )
        .unwrap_or(0.0)
    };
    let before = boutique_runtime::metrics::render();
    for _ in 0..3 {
        recommend(&mut shop.client, &[]).await.unwrap();
    }
    let after = boutique_runtime::metrics::render();
    assert!(server_ok(&after) - server_ok(&before) >= 3.0);
    assert!(client_ok(&after) - client_ok(&before) >= 3.0);
    assert!(
        metric_value(
            &after,
            "grpc_client_handling_seconds_count",
            &[("grpc_method", "ListProducts")]
        )
        .unwrap()
            >= 3.0
    );
    shop.stop().await;
}
