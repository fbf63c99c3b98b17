//! The `healthcheck` argument of every binary: a shell-less probe for
//! container HEALTHCHECKs (`/app/<service> healthcheck`).

use std::time::Duration;

use boutique_proto::health::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What "healthy" means for a binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// `grpc.health.v1.Health/Check("")` answers SERVING.
    Grpc,
    /// `GET <BASE_URL>/_healthz` answers 200.
    HttpHealthz,
}

const TIMEOUT: Duration = Duration::from_secs(3);

/// Checks `127.0.0.1:port`. `Ok(())` means healthy.
pub async fn check(probe: Probe, port: u16, base_url: &str) -> Result<(), String> {
    let fut = async {
        match probe {
            Probe::Grpc => grpc(port).await,
            Probe::HttpHealthz => http(port, &format!("{base_url}/_healthz")).await,
        }
    };
    tokio::time::timeout(TIMEOUT, fut)
        .await
        .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))?
}

async fn grpc(port: u16) -> Result<(), String> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map_err(|e| e.to_string())?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
    let resp = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(|s| format!("health check failed: {}", s.message()))?;
    match resp.into_inner().status() {
        ServingStatus::Serving => Ok(()),
        other => Err(format!("status {}", other.as_str_name())),
    }
}

async fn http(port: u16, path: &str) -> Result<(), String> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot connect to 127.0.0.1:{port}: {e}"))?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nCookie: shop_session-id=x-liveness-probe\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 32];
    let n = s.read(&mut head).await.map_err(|e| e.to_string())?;
    let line = String::from_utf8_lossy(&head[..n]);
    if line.starts_with("HTTP/1.1 200") || line.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!(
            "unexpected answer {:?}",
            line.lines().next().unwrap_or("")
        ))
    }
}
