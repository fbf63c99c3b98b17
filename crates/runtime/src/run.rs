//! The `main` of every service binary: configuration, runtime sizing, logs
//! and traces, listeners, metrics endpoint, signals and a bounded graceful
//! shutdown. Services only provide `load` (typed config) and `serve`.

use std::{fmt::Display, future::Future, net::SocketAddr, path::Path, process::ExitCode};

use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::{
    cgroup,
    config::{ConfigError, Env, RuntimeConfig},
    healthcheck::{self, Probe},
    metrics, telemetry,
};

/// Static facts about one service binary.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo {
    /// Upstream's service name (`currencyservice`).
    pub name: &'static str,
    /// Canonical listen port (`PORT` default).
    pub default_port: u16,
    /// How `<binary> healthcheck` probes it.
    pub probe: Probe,
    /// Crate version, for `boutique_build_info`.
    pub version: &'static str,
}

/// The shutdown signal handed to `serve`.
pub type Shutdown = WaitForCancellationFutureOwned;

/// Resolves on SIGTERM or SIGINT.
pub async fn termination_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; only SIGINT stops the service");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Binds `addr` and logs the real address under `message`.
pub async fn bind(addr: SocketAddr, message: &'static str) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(addr = %local, "{message}");
    Ok(listener)
}

/// Binds `addr`, logs "metrics listening" with the real address, and serves
/// `/metrics` there until `token` is cancelled.
pub async fn spawn_metrics(addr: SocketAddr, token: &CancellationToken) -> std::io::Result<()> {
    let listener = bind(addr, "metrics listening").await?;
    let shutdown = token.clone().cancelled_owned();
    tokio::spawn(async move {
        if let Err(e) = metrics::serve(listener, shutdown).await {
            tracing::error!(error = %e, "metrics endpoint failed");
        }
    });
    Ok(())
}

/// Runs a service binary to completion and returns its exit code:
/// 0 after a clean (signalled) shutdown, 1 on a runtime failure,
/// 2 on invalid configuration.
pub fn run<C, F, Fut, E>(
    info: ServiceInfo,
    load: impl FnOnce(&Env) -> Result<C, ConfigError>,
    serve: F,
) -> ExitCode
where
    F: FnOnce(C, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let env = Env::process();
    let rc = match RuntimeConfig::from_env(&env, info.name, info.default_port) {
        Ok(rc) => rc,
        Err(e) => return config_failure(info.name, &e),
    };
    if std::env::args().nth(1).as_deref() == Some("healthcheck") {
        return run_healthcheck(info, &env, rc.listen.port());
    }
    let config = match load(&env) {
        Ok(c) => c,
        Err(e) => return config_failure(info.name, &e),
    };
    let workers = cgroup::worker_threads(
        Path::new("/"),
        env.raw("TOKIO_WORKER_THREADS").as_deref(),
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .max_blocking_threads(8)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("{}: cannot start the async runtime: {e}", info.name);
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(async move {
        let guard = match telemetry::init(&rc.service_name, rc.tracing.as_ref()) {
            Ok(g) => g,
            Err(e) => {
                eprintln!("{}: {e}", info.name);
                return ExitCode::from(1);
            }
        };
        tracing::info!(
            service = info.name,
            version = info.version,
            worker_threads = workers,
            tracing = rc.tracing.is_some(),
            "starting"
        );
        metrics::build_info(info.name, info.version);
        let code = serve_until_signalled(&rc, config, serve).await;
        let _ = tokio::task::spawn_blocking(move || guard.shutdown()).await;
        code
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn serve_until_signalled<C, F, Fut, E>(rc: &RuntimeConfig, config: C, serve: F) -> ExitCode
where
    F: FnOnce(C, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: Display,
{
    let listener = match bind(rc.listen, "listening").await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(addr = %rc.listen, error = %e, "cannot bind the service port");
            return ExitCode::from(1);
        }
    };
    let token = CancellationToken::new();
    {
        let t = token.clone();
        tokio::spawn(async move {
            termination_signal().await;
            tracing::info!("termination signal received");
            t.cancel();
        });
    }
    let grace = rc.shutdown_grace;
    let mut serve_fut = std::pin::pin!(serve(config, listener, token.clone().cancelled_owned()));
    // Poll the service once before announcing the metrics endpoint: services
    // register their series synchronously at the start of `serve`, so a
    // scrape after "metrics listening" sees every name.
    let mut early = None;
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(r) = serve_fut.as_mut().poll(cx) {
            early = Some(r);
        }
        std::task::Poll::Ready(())
    })
    .await;
    if let Err(e) = spawn_metrics(rc.metrics_listen, &token).await {
        tracing::error!(addr = %rc.metrics_listen, error = %e, "cannot bind the metrics port");
        return ExitCode::from(1);
    }
    let result = tokio::select! {
        r = async { match early.take() { Some(r) => r, None => serve_fut.await } } => r.map_err(|e| e.to_string()),
        () = async { token.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "in-flight requests did not finish within the grace period; exiting");
            Ok(())
        }
    };
    token.cancel();
    match result {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(error = %e, "service failed");
            ExitCode::from(1)
        }
    }
}

fn config_failure(name: &str, e: &ConfigError) -> ExitCode {
    eprintln!("{name}: {e}");
    ExitCode::from(2)
}

fn run_healthcheck(info: ServiceInfo, env: &Env, port: u16) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("healthcheck: {e}");
            return ExitCode::from(1);
        }
    };
    let base_url = env.get("BASE_URL").unwrap_or_default();
    match rt.block_on(healthcheck::check(
        info.probe,
        port,
        base_url.trim_end_matches('/'),
    )) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: unhealthy: {e}", info.name);
            ExitCode::from(1)
        }
    }
}
