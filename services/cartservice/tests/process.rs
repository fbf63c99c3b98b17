//! The real binary: starts with Redis down (NOT_SERVING, `healthcheck`
//! fails), turns healthy when Redis comes up, rejects a bad `REDIS_ADDR`.

use std::time::{Duration, Instant};

use boutique_testkit::{
    ServiceProcess, metric_value, redis::RedisServer, run_healthcheck, workspace_bin,
};

#[tokio::test]
async fn starts_with_redis_down_and_becomes_healthy_when_it_answers() {
    let mut redis = RedisServer::start().await;
    redis.kill();
    let p = ServiceProcess::start("cartservice", &[("REDIS_ADDR", &redis.addr())]).await;
    assert_eq!(run_healthcheck("cartservice", p.addr.port()).await, Some(1));
    let text = p.scrape().await;
    assert_eq!(
        metric_value(&text, "cartservice_store_up", &[("store", "redis")]),
        Some(0.0)
    );

    redis.restart().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while run_healthcheck("cartservice", p.addr.port()).await != Some(0) {
        assert!(Instant::now() < deadline, "never became healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = p.scrape().await;
    assert_eq!(
        metric_value(&text, "cartservice_store_up", &[("store", "redis")]),
        Some(1.0)
    );
    let logs = p.logs.clone();
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
    let logs = logs.lock().unwrap();
    assert!(
        logs.iter()
            .any(|l| l["message"] == "cart storage unreachable")
    );
    assert!(
        logs.iter()
            .any(|l| l["message"] == "cart storage reachable")
    );
}

#[tokio::test]
async fn memory_store_is_healthy_at_once() {
    let p = ServiceProcess::start("cartservice", &[]).await;
    assert_eq!(run_healthcheck("cartservice", p.addr.port()).await, Some(0));
    let text = p.scrape().await;
    assert_eq!(
        metric_value(&text, "cartservice_store_up", &[("store", "memory")]),
        Some(1.0)
    );
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
}

#[tokio::test]
async fn invalid_redis_addr_is_one_clear_line_and_exit_2() {
    let out = tokio::process::Command::new(workspace_bin("cartservice"))
        .env("REDIS_ADDR", "redis://redis-cart:6379")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "cartservice: invalid configuration: REDIS_ADDR must not contain a scheme \
         (got \"redis://redis-cart:6379\", expected host:port)"
    );
}
