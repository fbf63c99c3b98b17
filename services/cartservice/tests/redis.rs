//! The cart on a real `redis-server` (started by the testkit on a free
//! loopback port), checked against upstream's data layout with raw Redis
//! commands. The outage/recovery test lives in `redis_outage.rs` (its own
//! process, so the process-global `cartservice_store_up` gauge is not
//! shared with these tests' healthy services).

mod common;

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use boutique_proto::{
    health::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    },
    hipstershop::{
        AddItemRequest, Cart, EmptyCartRequest, GetCartRequest,
        cart_service_client::CartServiceClient,
    },
};
use boutique_testkit::{TestServer, redis::RedisServer, reflection_services, spawn};
use cartservice::{Config, serve};
use common::{add, item, items};
use prost::Message as _;
use redis::aio::MultiplexedConnection;
use tonic::{Code, transport::Channel};

async fn start(redis: &RedisServer) -> (TestServer, CartServiceClient<Channel>) {
    let config = Config {
        redis_addr: Some(redis.addr()),
        store_probe_interval: Duration::from_millis(200),
    };
    let server = spawn(move |l, s| serve(config, l, s)).await;
    let client = CartServiceClient::new(server.channel().await);
    (server, client)
}

async fn raw(redis: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("a valid Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("connect to the test Redis")
}

async fn hgetall(conn: &mut MultiplexedConnection, key: &str) -> HashMap<String, Vec<u8>> {
    redis::cmd("HGETALL")
        .arg(key)
        .query_async(conn)
        .await
        .expect("HGETALL")
}

/// Upstream's hash for a cart: exactly these three fields.
fn upstream_hash(data: Vec<u8>) -> HashMap<String, Vec<u8>> {
    HashMap::from([
        ("absexp".to_owned(), b"-1".to_vec()),
        ("sldexp".to_owned(), b"-1".to_vec()),
        ("data".to_owned(), data),
    ])
}

#[tokio::test]
async fn round_trips_and_accumulates() {
    let redis = RedisServer::start().await;
    let (server, mut c) = start(&redis).await;
    assert!(items(&mut c, "alice").await.is_empty());
    add(&mut c, "alice", "OLJCESPC7Z", 1).await;
    add(&mut c, "alice", "66VCHSJNUP", 2).await;
    add(&mut c, "alice", "OLJCESPC7Z", 3).await;
    assert_eq!(
        items(&mut c, "alice").await,
        [item("OLJCESPC7Z", 4), item("66VCHSJNUP", 2)]
    );
    assert!(items(&mut c, "bob").await.is_empty());

    c.empty_cart(EmptyCartRequest {
        user_id: "alice".into(),
    })
    .await
    .unwrap();
    assert!(items(&mut c, "alice").await.is_empty());
    add(&mut c, "alice", "L9ECAV7KIM", 5).await;
    assert_eq!(items(&mut c, "alice").await, [item("L9ECAV7KIM", 5)]);

    // A second service on the same Redis sees the same carts (no local state).
    let (other, mut c2) = start(&redis).await;
    assert_eq!(items(&mut c2, "alice").await, [item("L9ECAV7KIM", 5)]);
    other.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn writes_exactly_upstreams_hash() {
    let redis = RedisServer::start().await;
    let mut conn = raw(&redis).await;
    let (server, mut c) = start(&redis).await;

    add(&mut c, "user-1", "1YMWWN1N4O", 2).await;
    add(&mut c, "user-1", "9SIQT8TOJO", 1).await;
    let expected = Cart {
        user_id: "user-1".into(),
        items: vec![item("1YMWWN1N4O", 2), item("9SIQT8TOJO", 1)],
    };
    assert_eq!(
        hgetall(&mut conn, "user-1").await,
        upstream_hash(expected.encode_to_vec())
    );
    let ty: String = redis::cmd("TYPE")
        .arg("user-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(ty, "hash");
    let ttl: i64 = redis::cmd("TTL")
        .arg("user-1")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(ttl, -1, "no expiry");
    // The key is the raw user id: nothing else was written.
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, ["user-1"]);

    // EmptyCart stores the empty serialisation (zero bytes), not a deletion.
    c.empty_cart(EmptyCartRequest {
        user_id: "user-1".into(),
    })
    .await
    .unwrap();
    assert_eq!(
        hgetall(&mut conn, "user-1").await,
        upstream_hash(Vec::new())
    );

    // Like upstream, the cart re-created from the empty value keeps a blank
    // stored user id (GetCart still answers with the requested one).
    add(&mut c, "user-1", "0PUK6V6EV0", 3).await;
    let expected = Cart {
        user_id: String::new(),
        items: vec![item("0PUK6V6EV0", 3)],
    };
    assert_eq!(
        hgetall(&mut conn, "user-1").await,
        upstream_hash(expected.encode_to_vec())
    );
    assert_eq!(items(&mut c, "user-1").await, [item("0PUK6V6EV0", 3)]);
    server.stop().await;
}

#[tokio::test]
async fn reads_carts_written_in_upstreams_layout() {
    let redis = RedisServer::start().await;
    let mut conn = raw(&redis).await;
    // Bytes built from the contract (§1: Cart{user_id=1, items=2}, CartItem
    // {product_id=1, quantity=2}), written the way upstream writes them.
    let cart = Cart {
        user_id: "upstream-user".into(),
        items: vec![item("LS4PSXUNUM", 3), item("2ZYFJ3GM2N", 1)],
    };
    let bytes = cart.encode_to_vec();
    // Hand-check of the encoding so a proto drift cannot go unnoticed.
    assert_eq!(&bytes[..15], b"\x0a\x0dupstream-user");
    assert_eq!(&bytes[15..31], b"\x12\x0e\x0a\x0aLS4PSXUNUM\x10\x03");
    let _: () = redis::cmd("HSET")
        .arg("upstream-user")
        .arg("absexp")
        .arg("-1")
        .arg("sldexp")
        .arg("-1")
        .arg("data")
        .arg(bytes)
        .query_async(&mut conn)
        .await
        .unwrap();
    // An emptied upstream cart: present, empty `data`.
    let _: () = redis::cmd("HSET")
        .arg("emptied-user")
        .arg("absexp")
        .arg("-1")
        .arg("sldexp")
        .arg("-1")
        .arg("data")
        .arg("")
        .query_async(&mut conn)
        .await
        .unwrap();

    let (server, mut c) = start(&redis).await;
    assert_eq!(
        items(&mut c, "upstream-user").await,
        [item("LS4PSXUNUM", 3), item("2ZYFJ3GM2N", 1)]
    );
    assert!(items(&mut c, "emptied-user").await.is_empty());

    // Adding to upstream's cart accumulates and keeps its layout.
    add(&mut c, "upstream-user", "LS4PSXUNUM", 2).await;
    let expected = Cart {
        user_id: "upstream-user".into(),
        items: vec![item("LS4PSXUNUM", 5), item("2ZYFJ3GM2N", 1)],
    };
    assert_eq!(
        hgetall(&mut conn, "upstream-user").await,
        upstream_hash(expected.encode_to_vec())
    );
    server.stop().await;
}

#[tokio::test]
async fn concurrent_adds_from_two_replicas_lose_nothing() {
    let redis = RedisServer::start().await;
    let (a, ca) = start(&redis).await;
    let (b, cb) = start(&redis).await;
    let tasks: Vec<_> = (0..40)
        .flat_map(|_| [ca.clone(), cb.clone()])
        .map(|mut c| tokio::spawn(async move { add(&mut c, "racer", "6E92ZMYYFZ", 1).await }))
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let mut c = ca.clone();
    assert_eq!(items(&mut c, "racer").await, [item("6E92ZMYYFZ", 80)]);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn invalid_requests_are_invalid_argument_and_write_nothing() {
    let redis = RedisServer::start().await;
    let mut conn = raw(&redis).await;
    let (server, mut c) = start(&redis).await;
    for (user, it) in [
        ("u", Some(item("A", 0))),
        ("u", Some(item("A", -1))),
        ("u", None),
        ("u", Some(item("", 1))),
        ("", Some(item("A", 1))),
    ] {
        let err = c
            .add_item(AddItemRequest {
                user_id: user.into(),
                item: it.clone(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{user:?} {it:?}");
    }
    for user in ["", "u"] {
        let got = c.get_cart(GetCartRequest {
            user_id: user.into(),
        });
        match (user, got.await) {
            ("", Err(e)) => assert_eq!(e.code(), Code::InvalidArgument),
            ("u", Ok(cart)) => assert!(cart.into_inner().items.is_empty()),
            (u, r) => panic!("GetCart({u:?}) = {r:?}"),
        }
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    server.stop().await;
}

#[tokio::test]
async fn store_errors_are_failed_precondition_with_upstreams_prefix() {
    let redis = RedisServer::start().await;
    let mut conn = raw(&redis).await;
    let _: () = redis::cmd("SET")
        .arg("stringy")
        .arg("not a hash")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("garbled")
        .arg("data")
        .arg(b"\xff\xff\xff".as_slice())
        .query_async(&mut conn)
        .await
        .unwrap();
    let (server, mut c) = start(&redis).await;

    let e = c
        .get_cart(GetCartRequest {
            user_id: "stringy".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message().starts_with("Can't access cart storage. ") && e.message().contains("WRONGTYPE"),
        "{}",
        e.message()
    );
    let e = c
        .add_item(AddItemRequest {
            user_id: "stringy".into(),
            item: Some(item("A", 1)),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{}", e.message());
    assert!(e.message().starts_with("Can't access cart storage. "));

    let e = c
        .get_cart(GetCartRequest {
            user_id: "garbled".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        e.message()
            .starts_with("Can't access cart storage. the stored cart of user \"garbled\""),
        "{}",
        e.message()
    );
    // The bad keys are left untouched.
    let v: String = redis::cmd("GET")
        .arg("stringy")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "not a hash");
    server.stop().await;
}

#[tokio::test]
async fn serving_once_redis_answers_and_reflection() {
    let redis = RedisServer::start().await;
    let (server, _c) = start(&redis).await;
    let mut h = HealthClient::new(server.channel().await);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = h
            .check(HealthCheckRequest {
                service: "hipstershop.CartService".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status();
        if s == ServingStatus::Serving {
            break;
        }
        assert!(Instant::now() < deadline, "still {s:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let overall = h
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status();
    assert_eq!(overall, ServingStatus::Serving);
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.CartService"]
    );
    server.stop().await;
}
