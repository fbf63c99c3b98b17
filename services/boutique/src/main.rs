//! `boutique`: the whole shop in one process for local runs.
//!
//! Starts all ten services, each on its own port over real gRPC/HTTP, wired
//! to each other exactly as in a cluster; the frontend is on
//! <http://localhost:8080>. Ctrl-C (or SIGTERM) stops everything cleanly.
//!
//! Ports: upstream's canonical ones, except where two services share one
//! (payment and shipping both use 50051; email, recommendation and the
//! frontend all use 8080 in their containers): shipping takes 50052,
//! email 5000 (its Kubernetes Service port) and recommendation 8081.
//!
//! Variables: `LISTEN_ADDR` (default `127.0.0.1`), `METRICS_PORT` (default
//! 9464, all services share one registry), `BOUTIQUE_EPHEMERAL_PORTS=1` (every
//! service on a random free port; the addresses are logged), `REDIS_ADDR`
//! (cart in Redis instead of memory), and every service's own variables
//! (`BASE_URL`, `EXTRA_LATENCY`, …), which are passed through.

use std::{
    collections::HashMap, future::Future, net::SocketAddr, pin::Pin, process::ExitCode,
    time::Duration,
};

use boutique_runtime::{ConfigError, Env, config::TracingConfig, run, telemetry};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

type ServeFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Port of each service in the local runner.
const PORTS: [(&str, u16); 10] = [
    ("productcatalogservice", 3550),
    ("currencyservice", 7000),
    ("paymentservice", 50051),
    ("shippingservice", 50052),
    ("emailservice", 5000),
    ("adservice", 9555),
    ("cartservice", 7070),
    ("recommendationservice", 8081),
    ("checkoutservice", 5050),
    ("frontend", 8080),
];

/// Peer address variables and the service each points at.
const PEERS: [(&str, &str); 9] = [
    ("PRODUCT_CATALOG_SERVICE_ADDR", "productcatalogservice"),
    ("CURRENCY_SERVICE_ADDR", "currencyservice"),
    ("PAYMENT_SERVICE_ADDR", "paymentservice"),
    ("SHIPPING_SERVICE_ADDR", "shippingservice"),
    ("EMAIL_SERVICE_ADDR", "emailservice"),
    ("AD_SERVICE_ADDR", "adservice"),
    ("CART_SERVICE_ADDR", "cartservice"),
    ("RECOMMENDATION_SERVICE_ADDR", "recommendationservice"),
    ("CHECKOUT_SERVICE_ADDR", "checkoutservice"),
];

fn main() -> ExitCode {
    let env = Env::process();
    let host: std::net::IpAddr =
        match env.parse_or("LISTEN_ADDR", std::net::IpAddr::from([127, 0, 0, 1])) {
            Ok(h) => h,
            Err(e) => return fail_config(&e),
        };
    let ephemeral = match env.flag("BOUTIQUE_EPHEMERAL_PORTS", false) {
        Ok(f) => f,
        Err(e) => return fail_config(&e),
    };
    let metrics_port: u16 = match env.parse_or(
        "METRICS_PORT",
        boutique_runtime::config::DEFAULT_METRICS_PORT,
    ) {
        Ok(p) => p,
        Err(e) => return fail_config(&e),
    };
    let tracing_cfg = if env.raw("ENABLE_TRACING").as_deref() == Some("1") {
        match env.peer_addr("COLLECTOR_SERVICE_ADDR") {
            Ok(collector_addr) => Some(TracingConfig { collector_addr }),
            Err(e) => return fail_config(&e),
        }
    } else {
        None
    };
    let workers = boutique_runtime::cgroup::worker_threads(
        std::path::Path::new("/"),
        env.raw("TOKIO_WORKER_THREADS").as_deref(),
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("boutique: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = rt.block_on(async move {
        let guard = match telemetry::init("boutique", tracing_cfg.as_ref()) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("boutique: {e}");
                return ExitCode::from(1);
            }
        };
        let code = run_shop(host, ephemeral, metrics_port).await;
        let _ = tokio::task::spawn_blocking(move || guard.shutdown()).await;
        code
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    code
}

fn fail_config(e: &ConfigError) -> ExitCode {
    eprintln!("boutique: {e}");
    ExitCode::from(2)
}

async fn run_shop(host: std::net::IpAddr, ephemeral: bool, metrics_port: u16) -> ExitCode {
    // Bind everything first, so every service knows its peers' real addresses.
    let mut listeners: HashMap<&'static str, TcpListener> = HashMap::new();
    let mut addrs: HashMap<&'static str, SocketAddr> = HashMap::new();
    for (name, port) in PORTS {
        let addr = SocketAddr::new(host, if ephemeral { 0 } else { port });
        match TcpListener::bind(addr).await {
            Ok(l) => {
                let local = l.local_addr().unwrap_or(addr);
                tracing::info!(service = name, addr = %local, "listening");
                addrs.insert(name, local);
                listeners.insert(name, l);
            }
            Err(e) => {
                tracing::error!(service = name, addr = %addr, error = %e, "cannot bind the service port (is another copy running? BOUTIQUE_EPHEMERAL_PORTS=1 picks free ports)");
                return ExitCode::from(1);
            }
        }
    }
    let metrics_addr = SocketAddr::new(host, if ephemeral { 0 } else { metrics_port });
    let token = CancellationToken::new();
    if let Err(e) = run::spawn_metrics(metrics_addr, &token).await {
        tracing::error!(addr = %metrics_addr, error = %e, "cannot bind the metrics port");
        return ExitCode::from(1);
    }
    let mut pairs: Vec<(String, String)> = std::env::vars().collect();
    for (var, service) in PEERS {
        if let Some(a) = addrs.get(service) {
            pairs.push((var.to_owned(), a.to_string()));
        }
    }
    let env = Env::from_pairs(pairs);
    let servers = match start_all(&env, &mut listeners, &token) {
        Ok(s) => s,
        Err(e) => return fail_config(&e),
    };
    if let Some(front) = addrs.get("frontend") {
        tracing::info!(url = %format!("http://{front}/"), "the shop is open");
    }
    {
        let t = token.clone();
        tokio::spawn(async move {
            run::termination_signal().await;
            tracing::info!("termination signal received; stopping every service");
            t.cancel();
        });
    }
    let mut failed = false;
    let mut handles = Vec::new();
    for (name, fut) in servers {
        handles.push((name, tokio::spawn(fut)));
    }
    for (name, h) in handles {
        match h.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::error!(service = name, error = %e, "service failed");
                failed = true;
                token.cancel();
            }
            Err(e) => {
                tracing::error!(service = name, error = %e, "service task crashed");
                failed = true;
                token.cancel();
            }
        }
    }
    tracing::info!("stopped");
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn take(
    listeners: &mut HashMap<&'static str, TcpListener>,
    name: &str,
) -> Result<TcpListener, ConfigError> {
    listeners
        .remove(name)
        .ok_or_else(|| ConfigError::new("LISTEN_ADDR", format!("no listener for {name}")))
}

macro_rules! service {
    ($out:ident, $env:ident, $listeners:ident, $token:ident, $krate:ident) => {{
        let config = $krate::Config::from_env($env)?;
        let listener = take($listeners, stringify!($krate))?;
        let shutdown = $token.clone().cancelled_owned();
        let fut: ServeFuture = Box::pin(async move {
            $krate::serve(config, listener, shutdown)
                .await
                .map_err(|e| e.to_string())
        });
        $out.push((stringify!($krate), fut));
    }};
}

fn start_all(
    env: &Env,
    listeners: &mut HashMap<&'static str, TcpListener>,
    token: &CancellationToken,
) -> Result<Vec<(&'static str, ServeFuture)>, ConfigError> {
    let mut out = Vec::new();
    service!(out, env, listeners, token, productcatalogservice);
    service!(out, env, listeners, token, currencyservice);
    service!(out, env, listeners, token, paymentservice);
    service!(out, env, listeners, token, shippingservice);
    service!(out, env, listeners, token, emailservice);
    service!(out, env, listeners, token, adservice);
    service!(out, env, listeners, token, cartservice);
    service!(out, env, listeners, token, recommendationservice);
    service!(out, env, listeners, token, checkoutservice);
    service!(out, env, listeners, token, frontend);
    Ok(out)
}
