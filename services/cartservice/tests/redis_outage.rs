//! Redis going away and coming back, with a real `redis-server`. In its own
//! test binary (= process) because it asserts the process-global
//! `cartservice_store_up{store="redis"}` gauge.

mod common;

use std::time::{Duration, Instant};

use boutique_proto::{
    health::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    },
    hipstershop::{
        AddItemRequest, CartItem, GetCartRequest, cart_service_client::CartServiceClient,
    },
};
use boutique_testkit::{metric_value, redis::RedisServer, spawn};
use cartservice::{Config, serve};
use common::item;
use tonic::{Code, Status, transport::Channel};

async fn get(c: &mut CartServiceClient<Channel>, user: &str) -> Result<Vec<CartItem>, Status> {
    c.get_cart(GetCartRequest {
        user_id: user.into(),
    })
    .await
    .map(|r| r.into_inner().items)
}

async fn health(h: &mut HealthClient<Channel>) -> (ServingStatus, ServingStatus) {
    let mut one = async |name: &str| {
        h.check(HealthCheckRequest {
            service: name.into(),
        })
        .await
        .unwrap_or_else(|s| panic!("Check({name:?}): {s}"))
        .into_inner()
        .status()
    };
    (one("").await, one("hipstershop.CartService").await)
}

async fn wait_health(h: &mut HealthClient<Channel>, want: ServingStatus) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = health(h).await;
        if got == (want, want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "health is {got:?}, want {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn store_up() -> Option<f64> {
    metric_value(
        &boutique_runtime::metrics::render(),
        "cartservice_store_up",
        &[("store", "redis")],
    )
}

/// Polls until GetCart succeeds (Redis back) and returns the items.
async fn wait_recovered(c: &mut CartServiceClient<Channel>, user: &str) -> Vec<CartItem> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match get(c, user).await {
            Ok(items) => return items,
            Err(s) => {
                assert_eq!(s.code(), Code::Unavailable, "{s:?}");
                assert!(Instant::now() < deadline, "not recovered: {s:?}");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn starts_without_redis_fails_fast_and_recovers_without_losing_carts() {
    // Redis is down when the service starts (upstream crash-loops here).
    let mut redis = RedisServer::start_persistent().await;
    redis.kill();
    let config = Config {
        redis_addr: Some(redis.addr()),
        store_probe_interval: Duration::from_millis(200),
    };
    let server = spawn(move |l, s| serve(config, l, s)).await;
    let channel = server.channel().await;
    let mut c = CartServiceClient::new(channel.clone());
    let mut h = HealthClient::new(channel);

    assert_eq!(
        health(&mut h).await,
        (ServingStatus::NotServing, ServingStatus::NotServing)
    );
    let t = Instant::now();
    let err = get(&mut c, "zoe").await.unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "took {:?}",
        t.elapsed()
    );
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        err.message().starts_with("cart storage unavailable: "),
        "{}",
        err.message()
    );
    let err = c
        .add_item(AddItemRequest {
            user_id: "zoe".into(),
            item: Some(item("OLJCESPC7Z", 1)),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(store_up(), Some(0.0));

    // Redis comes up: the same service starts serving, no restart.
    redis.restart().await;
    wait_health(&mut h, ServingStatus::Serving).await;
    assert_eq!(store_up(), Some(1.0));
    assert!(wait_recovered(&mut c, "zoe").await.is_empty());
    c.add_item(AddItemRequest {
        user_id: "zoe".into(),
        item: Some(item("OLJCESPC7Z", 2)),
    })
    .await
    .unwrap();

    // Redis dies mid-flight: RPCs fail fast with UNAVAILABLE, health flips.
    redis.kill();
    let t = Instant::now();
    loop {
        match get(&mut c, "zoe").await {
            Err(s) if s.code() == Code::Unavailable => {
                assert!(s.message().starts_with("cart storage unavailable: "));
                break;
            }
            other => {
                assert!(
                    t.elapsed() < Duration::from_secs(5),
                    "still answering {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    // Every further call is quick while Redis is down.
    for _ in 0..5 {
        let t = Instant::now();
        let s = get(&mut c, "zoe").await.unwrap_err();
        assert_eq!(s.code(), Code::Unavailable);
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "took {:?}",
            t.elapsed()
        );
    }
    wait_health(&mut h, ServingStatus::NotServing).await;
    assert_eq!(store_up(), Some(0.0));

    // Redis is back (same port, same append-only file): everything works
    // again and the earlier cart is still there.
    redis.restart().await;
    wait_health(&mut h, ServingStatus::Serving).await;
    assert_eq!(wait_recovered(&mut c, "zoe").await, [item("OLJCESPC7Z", 2)]);
    c.add_item(AddItemRequest {
        user_id: "zoe".into(),
        item: Some(item("OLJCESPC7Z", 1)),
    })
    .await
    .unwrap();
    assert_eq!(get(&mut c, "zoe").await.unwrap(), [item("OLJCESPC7Z", 3)]);
    assert_eq!(store_up(), Some(1.0));
    server.stop().await;
}
