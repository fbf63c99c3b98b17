//! Ads by category and the random fallback (contract §10, Appendix C) over
//! real gRPC on an ephemeral port.

use std::{collections::HashSet, time::Duration};

use adservice::{Config, serve};
use boutique_proto::hipstershop::{Ad, AdRequest, ad_service_client::AdServiceClient};
use boutique_testkit::{
    ServiceProcess, TestServer, assert_health, connect, metric_value, reflection_services, spawn,
};
use tonic::transport::Channel;

async fn start() -> (TestServer, AdServiceClient<Channel>) {
    let server = spawn(|l, s| serve(Config, l, s)).await;
    let client = AdServiceClient::new(server.channel().await);
    (server, client)
}

async fn get_ads(c: &mut AdServiceClient<Channel>, keys: &[&str]) -> Vec<Ad> {
    c.get_ads(AdRequest {
        context_keys: keys.iter().map(|k| (*k).to_owned()).collect(),
    })
    .await
    .expect("GetAds never fails")
    .into_inner()
    .ads
}

fn ad(redirect_url: &str, text: &str) -> Ad {
    Ad {
        redirect_url: redirect_url.into(),
        text: text.into(),
    }
}

fn tank_top() -> Ad {
    ad("/product/66VCHSJNUP", "Tank top for sale. 20% off.")
}
fn watch() -> Ad {
    ad(
        "/product/1YMWWN1N4O",
        "Watch for sale. Buy one, get second kit for free",
    )
}
fn loafers() -> Ad {
    ad(
        "/product/L9ECAV7KIM",
        "Loafers for sale. Buy one, get second one for free",
    )
}
fn hairdryer() -> Ad {
    ad("/product/2ZYFJ3GM2N", "Hairdryer for sale. 50% off.")
}
fn candle_holder() -> Ad {
    ad("/product/0PUK6V6EV0", "Candle holder for sale. 30% off.")
}
fn bamboo_jar() -> Ad {
    ad("/product/9SIQT8TOJO", "Bamboo glass jar for sale. 10% off.")
}
fn mug() -> Ad {
    ad(
        "/product/6E92ZMYYFZ",
        "Mug for sale. Buy two, get third one for free",
    )
}

fn pool() -> Vec<Ad> {
    vec![
        tank_top(),
        watch(),
        loafers(),
        hairdryer(),
        candle_holder(),
        bamboo_jar(),
        mug(),
    ]
}

#[tokio::test]
async fn each_category_has_its_ads_in_order() {
    let (server, mut c) = start().await;
    assert_eq!(get_ads(&mut c, &["clothing"]).await, [tank_top()]);
    assert_eq!(get_ads(&mut c, &["accessories"]).await, [watch()]);
    assert_eq!(get_ads(&mut c, &["footwear"]).await, [loafers()]);
    assert_eq!(get_ads(&mut c, &["hair"]).await, [hairdryer()]);
    assert_eq!(get_ads(&mut c, &["decor"]).await, [candle_holder()]);
    assert_eq!(get_ads(&mut c, &["kitchen"]).await, [bamboo_jar(), mug()]);
    server.stop().await;
}

#[tokio::test]
async fn keys_concatenate_in_request_order_and_repeat() {
    let (server, mut c) = start().await;
    assert_eq!(
        get_ads(&mut c, &["hair", "kitchen"]).await,
        [hairdryer(), bamboo_jar(), mug()]
    );
    assert_eq!(
        get_ads(&mut c, &["kitchen", "hair"]).await,
        [bamboo_jar(), mug(), hairdryer()]
    );
    assert_eq!(
        get_ads(&mut c, &["decor", "decor"]).await,
        [candle_holder(), candle_holder()]
    );
    assert_eq!(
        get_ads(&mut c, &["kitchen", "clothing", "kitchen"]).await,
        [bamboo_jar(), mug(), tank_top(), bamboo_jar(), mug()]
    );
    // Keys without ads add nothing once another key has some.
    assert_eq!(
        get_ads(&mut c, &["tops", "clothing", "nope"]).await,
        [tank_top()]
    );
    server.stop().await;
}

#[tokio::test]
async fn no_ads_for_the_keys_means_two_random_ads_from_the_pool() {
    let (server, mut c) = start().await;
    let pool = pool();
    let mut seen = HashSet::new();
    let mut repeated = 0;
    let cases: [&[&str]; 8] = [
        &[],
        &["tops"],
        &["beauty"],
        &["home"],
        &["unknown"],
        &["Kitchen"], // case-sensitive
        &["tops", "home"],
        &[""],
    ];
    for round in 0..50 {
        for keys in cases {
            let ads = get_ads(&mut c, keys).await;
            assert_eq!(ads.len(), 2, "round {round}, keys {keys:?}: {ads:?}");
            for ad in &ads {
                assert!(pool.contains(ad), "{ad:?} is not in the pool");
                seen.insert(ad.redirect_url.clone());
            }
            if ads[0] == ads[1] {
                repeated += 1;
            }
        }
    }
    // 400 calls: every ad shows up, and drawing with replacement repeats an
    // ad in about one call out of seven.
    assert_eq!(seen.len(), 7, "{seen:?}");
    assert!(
        repeated > 0,
        "no call repeated an ad: not drawn with replacement"
    );
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let (server, mut c) = start().await;
    assert_health(server.channel().await, "hipstershop.AdService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(services, ["grpc.health.v1.Health", "hipstershop.AdService"]);
    let count = |text: &str| {
        metric_value(
            text,
            "grpc_server_handled_total",
            &[
                ("grpc_service", "hipstershop.AdService"),
                ("grpc_method", "GetAds"),
                ("grpc_code", "OK"),
            ],
        )
        .unwrap_or(0.0)
    };
    let before = boutique_runtime::metrics::render();
    get_ads(&mut c, &["kitchen"]).await;
    get_ads(&mut c, &[]).await;
    let after = boutique_runtime::metrics::render();
    // Tests in this binary share the registry: at least our calls counted.
    assert!(count(&after) - count(&before) >= 2.0);
    server.stop().await;
}

#[tokio::test]
async fn binary_answers_and_stops_cleanly() {
    let p = ServiceProcess::start("adservice", &[]).await;
    let mut c = AdServiceClient::new(connect(p.addr).await);
    assert_eq!(get_ads(&mut c, &["footwear"]).await, [loafers()]);
    let text = p.scrape().await;
    assert_eq!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[("grpc_method", "GetAds"), ("grpc_code", "OK")]
        ),
        Some(1.0)
    );
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
}
