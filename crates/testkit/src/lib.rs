//! Helpers for tests: run any service's `serve` on an ephemeral loopback
//! port inside the test process, connect to it, and stop it gracefully.

pub mod redis;

use std::{
    future::Future,
    net::SocketAddr,
    path::PathBuf,
    time::{Duration, Instant},
};

use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// A service running in the test process.
#[derive(Debug)]
pub struct TestServer {
    /// The bound loopback address.
    pub addr: SocketAddr,
    token: CancellationToken,
    handle: JoinHandle<Result<(), String>>,
}

impl TestServer {
    /// `127.0.0.1:<port>`, the form `*_SERVICE_ADDR` variables take.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected gRPC channel to the server.
    pub async fn channel(&self) -> tonic::transport::Channel {
        connect(self.addr).await
    }

    /// Signals shutdown and waits for `serve` to return; panics if it failed.
    pub async fn stop(self) {
        self.token.cancel();
        match tokio::time::timeout(Duration::from_secs(10), self.handle).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("server failed: {e}"),
            Ok(Err(e)) => panic!("server task panicked: {e}"),
            Err(_) => panic!("server did not stop within 10 s"),
        }
    }

    /// Stops the server abruptly (as if its process died).
    pub fn kill(self) {
        self.handle.abort();
    }
}

/// Binds an ephemeral loopback port and runs `serve(listener, shutdown)` on it.
pub async fn spawn<F, Fut, E>(serve: F) -> TestServer
where
    F: FnOnce(TcpListener, WaitForCancellationFutureOwned) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: std::fmt::Display,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind an ephemeral loopback port");
    let addr = listener.local_addr().expect("local address");
    let token = CancellationToken::new();
    let fut = serve(listener, token.clone().cancelled_owned());
    let handle = tokio::spawn(async move { fut.await.map_err(|e| e.to_string()) });
    TestServer {
        addr,
        token,
        handle,
    }
}

/// Connects a gRPC channel to `addr`, retrying for up to 5 s.
pub async fn connect(addr: SocketAddr) -> tonic::transport::Channel {
    let endpoint =
        tonic::transport::Endpoint::from_shared(format!("http://{addr}")).expect("valid endpoint");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match endpoint.connect().await {
            Ok(ch) => return ch,
            Err(e) if Instant::now() > deadline => panic!("cannot connect to {addr}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A loopback address nothing listens on (for "peer is down" tests).
pub async fn dead_addr() -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a.to_string()
}

/// Path of a binary of this workspace built next to the running test
/// (`target/<profile>/<name>`).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    dir.join(name)
}

/// Asserts the standard health behaviour: `Check("")` and `Check(service)` are
/// SERVING, an unknown name is NOT_FOUND, and `Watch("")` streams SERVING.
pub async fn assert_health(channel: tonic::transport::Channel, service: &str) {
    use boutique_proto::health::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let mut h = HealthClient::new(channel);
    for name in ["", service] {
        let r = h
            .check(HealthCheckRequest {
                service: name.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("Check({name:?}) failed: {s}"));
        assert_eq!(
            r.into_inner().status(),
            ServingStatus::Serving,
            "Check({name:?})"
        );
    }
    let err = h
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .expect_err("unknown service must fail");
    assert_eq!(err.code(), tonic::Code::NotFound);
    let mut stream = h
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("Watch")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("Watch answers")
        .expect("Watch stream")
        .expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);
}

/// The service names gRPC server reflection lists.
pub async fn reflection_services(channel: tonic::transport::Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let mut client = ServerReflectionClient::new(channel);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(tokio_stream::iter([req]))
        .await
        .expect("reflection call")
        .into_inner();
    let resp = stream
        .message()
        .await
        .expect("reflection stream")
        .expect("a response");
    match resp.message_response {
        Some(MessageResponse::ListServicesResponse(l)) => {
            l.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

/// A service binary started as its own process, on ephemeral loopback ports.
#[derive(Debug)]
pub struct ServiceProcess {
    child: tokio::process::Child,
    reader: tokio::task::JoinHandle<()>,
    /// Main listener.
    pub addr: SocketAddr,
    /// Metrics listener.
    pub metrics_addr: SocketAddr,
    /// Log lines seen so far (JSON objects).
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
}

impl ServiceProcess {
    /// Starts `target/<profile>/<bin>` with `PORT=0 METRICS_PORT=0
    /// LISTEN_ADDR=127.0.0.1` plus `env`, and waits for both "listening" lines.
    pub async fn start(bin: &str, env: &[(&str, &str)]) -> Self {
        use tokio::io::AsyncBufReadExt as _;
        let path = workspace_bin(bin);
        let mut cmd = tokio::process::Command::new(&path);
        cmd.env("PORT", "0")
            .env("METRICS_PORT", "0")
            .env("LISTEN_ADDR", "127.0.0.1")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink = logs.clone();
        let reader = tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let v: serde_json::Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"));
                let _ = tx.send(v.clone());
                sink.lock().expect("log lock").push(v);
            }
        });
        let (mut addr, mut metrics_addr) = (None, None);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while addr.is_none() || metrics_addr.is_none() {
            let v = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("{bin} did not log its listening addresses within 10 s"))
                .unwrap_or_else(|| panic!("{bin} exited before listening"));
            let parsed = v["addr"]
                .as_str()
                .and_then(|a| a.parse::<SocketAddr>().ok());
            match v["message"].as_str() {
                Some("listening") => addr = parsed,
                Some("metrics listening") => metrics_addr = parsed,
                _ => {}
            }
        }
        Self {
            child,
            reader,
            addr: addr.expect("addr"),
            metrics_addr: metrics_addr.expect("metrics addr"),
            logs,
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running child") as i32;
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGTERM,
        )
        .expect("SIGTERM");
    }

    /// Waits up to `within` for the process to exit and returns its code,
    /// after every line it wrote to stdout has been collected in `logs`.
    pub async fn wait(mut self, within: Duration) -> Option<i32> {
        let status = tokio::time::timeout(within, self.child.wait())
            .await
            .expect("process exits in time")
            .expect("wait");
        let _ = tokio::time::timeout(Duration::from_secs(5), self.reader).await;
        status.code()
    }

    /// `GET /metrics` from the process.
    pub async fn scrape(&self) -> String {
        http_get(self.metrics_addr, "/metrics").await
    }
}

/// A minimal HTTP/1.1 GET returning the body (for /metrics).
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    body.to_owned()
}

/// Value of the sample `name{labels…}` in a Prometheus text exposition, where
/// every `(key, value)` of `labels` must match.
pub fn metric_value(exposition: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            if n != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            if all { value.parse().ok() } else { None }
        })
}

/// Runs `<bin> healthcheck` against `127.0.0.1:port` and returns its exit code.
pub async fn run_healthcheck(bin: &str, port: u16) -> Option<i32> {
    tokio::process::Command::new(workspace_bin(bin))
        .arg("healthcheck")
        .env("PORT", port.to_string())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .unwrap_or_else(|e| panic!("cannot run {bin} healthcheck: {e}"))
        .code()
}

/// Waits up to 5 s until `logs` holds a line matching `pred`, and returns it.
pub async fn wait_for_log(
    logs: &std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let found = logs
            .lock()
            .expect("log lock")
            .iter()
            .find(|l| pred(l))
            .cloned();
        if let Some(l) = found {
            return l;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "no such log line among {:#?}",
                logs.lock().expect("log lock")
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
