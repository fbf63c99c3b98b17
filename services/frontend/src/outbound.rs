//! Plain HTTP/1.1 calls: the shopping assistant (`POST /bot` is proxied to
//! it) and the optional packaging service. One pooled hyper-util client,
//! created at start; the caller's trace context is injected.

use std::time::Duration;

use axum::body::Bytes;
use http::{HeaderValue, Request, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use opentelemetry::global;
use opentelemetry_http::HeaderInjector;
use serde::Deserialize;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Largest reply body accepted from a peer.
const MAX_REPLY: usize = 1 << 20;

/// The outbound HTTP client.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpClient {
    fn default() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        }
    }
}

impl HttpClient {
    async fn call(
        &self,
        mut req: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<(u16, Bytes), String> {
        let cx = tracing::Span::current().context();
        global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(req.headers_mut()))
        });
        let uri = req.uri().clone();
        let fut = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| format!("request to {uri} failed: {e}"))?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_REPLY)
                .collect()
                .await
                .map_err(|e| format!("reading the reply of {uri} failed: {e}"))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, fut)
            .await
            .map_err(|_| format!("no answer from {uri} within {} ms", timeout.as_millis()))?
    }

    /// Forwards `body` to the assistant (`POST http://<addr>/`) and returns its
    /// reply's `content`.
    pub async fn ask_assistant(
        &self,
        addr: &str,
        body: Bytes,
        timeout: Duration,
    ) -> Result<String, String> {
        let json = HeaderValue::from_static("application/json");
        let req = Request::post(format!("http://{addr}/"))
            .header(header::CONTENT_TYPE, json.clone())
            .header(header::ACCEPT, json)
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let (status, reply) = self.call(req, timeout).await?;
        if !(200..300).contains(&status) {
            return Err(format!("the assistant answered HTTP {status}"));
        }
        #[derive(Deserialize)]
        struct Reply {
            content: String,
        }
        serde_json::from_slice::<Reply>(&reply)
            .map(|r| r.content)
            .map_err(|e| format!("the assistant's reply is not the expected JSON: {e}"))
    }

    /// `GET <url>/<product_id>` of the packaging service; `None` on any failure.
    pub async fn packaging(
        &self,
        url: &str,
        product_id: &str,
        timeout: Duration,
    ) -> Option<Packaging> {
        let req = Request::get(format!("{url}/{product_id}"))
            .header(header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .ok()?;
        match self.call(req, timeout).await {
            Ok((200, body)) => serde_json::from_slice(&body)
                .map_err(|e| tracing::warn!(error = %e, "packaging service sent unexpected JSON"))
                .ok(),
            Ok((status, _)) => {
                tracing::warn!(status, "packaging service failed");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "packaging service failed");
                None
            }
        }
    }
}

/// The packaging service's answer.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq)]
pub struct Packaging {
    #[serde(default)]
    pub weight: f64,
    #[serde(default)]
    pub width: f64,
    #[serde(default)]
    pub height: f64,
    #[serde(default)]
    pub depth: f64,
}
