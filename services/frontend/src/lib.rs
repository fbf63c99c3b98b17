//! The shop's web frontend (contract §11): server-rendered pages (askama) on
//! axum over the hipstershop gRPC services.
//!
//! * Routes: [`router`] (every route of §11.3 under `BASE_URL`, plus
//!   `GET /order/{id}`, the confirmation page a checkout redirects to).
//! * Middleware, outermost first: security headers, compression, session
//!   cookies, span + metrics + request log, error pages.
//! * Backends: [`backend::Backends`], one lazily connected channel per peer.

pub mod assets;
pub mod backend;
pub mod config;
pub mod error;
pub mod forms;
pub mod observe;
pub mod orders;
pub mod outbound;
pub mod pages;
pub mod session;
pub mod views;

use std::{future::Future, sync::Arc};

use axum::{
    Router,
    middleware::{from_fn, from_fn_with_state},
    routing::{any, get, post},
    serve::ListenerExt as _,
};
use boutique_runtime::{Probe, ServiceInfo};
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;

pub use config::{Config, Peers, Platform};
pub use error::AppError;

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "frontend",
    default_port: 8080,
    probe: Probe::HttpHealthz,
    version: env!("CARGO_PKG_VERSION"),
};

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    pub config: Arc<Config>,
    pub backends: backend::Backends,
    pub orders: Arc<orders::Orders>,
    pub http: outbound::HttpClient,
}

impl AppState {
    /// Creates the clients (no connection is made yet).
    pub fn new(config: Config) -> Result<Self, Error> {
        let backends = backend::Backends::new(&config).map_err(Error::Channel)?;
        Ok(Self {
            config: Arc::new(config),
            backends,
            orders: Arc::default(),
            http: outbound::HttpClient::default(),
        })
    }

    /// The `Path` attribute of our cookies.
    pub fn cookie_path(&self) -> &str {
        if self.config.base_url.is_empty() {
            "/"
        } else {
            &self.config.base_url
        }
    }
}

/// Routes and their usual success status, for pre-initialised metrics.
const ROUTES: &[(&str, &str, &str)] = &[
    ("GET", "/", "200"),
    ("GET", "/product/{id}", "200"),
    ("GET", "/cart", "200"),
    ("POST", "/cart", "302"),
    ("POST", "/cart/empty", "302"),
    ("POST", "/setCurrency", "302"),
    ("GET", "/logout", "302"),
    ("POST", "/cart/checkout", "303"),
    ("GET", "/order/{id}", "200"),
    ("GET", "/assistant", "200"),
    ("GET", "/product-meta/{ids}", "200"),
    ("POST", "/bot", "200"),
    ("GET", "/static/{*path}", "200"),
    ("GET", "/robots.txt", "200"),
    ("GET", "/_healthz", "200"),
];

/// The whole application: every route under `BASE_URL` with its middleware.
pub fn router(state: AppState) -> Router {
    let base = state.config.base_url.clone();
    let at = |p: &str| format!("{base}{p}");
    Router::new()
        .route(&at("/"), get(pages::home))
        .route(&at("/product/{id}"), get(pages::product))
        .route(&at("/cart"), get(pages::view_cart).post(pages::add_to_cart))
        .route(&at("/cart/empty"), post(pages::empty_cart))
        .route(&at("/setCurrency"), post(pages::set_currency))
        .route(&at("/logout"), get(pages::logout))
        .route(&at("/cart/checkout"), post(pages::checkout))
        .route(&at("/order/{id}"), get(pages::order))
        .route(&at("/assistant"), get(pages::assistant))
        .route(&at("/product-meta/{ids}"), get(pages::product_meta))
        .route(&at("/bot"), post(pages::bot))
        .route(&at("/static/{*path}"), any(assets::serve))
        .route(&at("/robots.txt"), any(pages::robots))
        .route(&at("/_healthz"), any(pages::healthz))
        .fallback(pages::not_found)
        .layer(from_fn_with_state(state.clone(), pages::render_errors))
        .layer(from_fn_with_state(state.clone(), observe::observe))
        .layer(from_fn_with_state(state.clone(), session::session))
        .layer(CompressionLayer::new())
        .layer(from_fn(observe::security_headers))
        .with_state(state)
}

/// Error of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A peer address cannot make a channel (a configuration defect).
    #[error("cannot create a backend channel: {0}")]
    Channel(#[source] tonic::transport::Error),
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves the shop on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    observe::preinit(ROUTES);
    tracing::info!(
        base_url = %config.base_url,
        platform = config.platform.name(),
        assistant = config.assistant_enabled,
        "frontend configured"
    );
    let app = router(AppState::new(config)?);
    // Without TCP_NODELAY, Nagle's algorithm holds small writes back for a
    // delayed ACK.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
