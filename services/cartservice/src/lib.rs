//! `hipstershop.CartService`: one shopping cart per user id.
//!
//! * Store: in process memory by default; Redis when `REDIS_ADDR`
//!   (`host:port`, upstream's variable) is set, in upstream's exact layout
//!   so both implementations can share one Redis (see [`redis_store`]).
//! * Rules (contract §4 with the project's decisions §14 #5, #6, #23):
//!   AddItem adds quantities up per product; an empty user id, a missing
//!   item, an empty product id or a quantity ≤ 0 is `INVALID_ARGUMENT`;
//!   GetCart of an unknown user is an empty cart; GetCart answers with the
//!   requested `user_id`; EmptyCart stores an empty cart.
//! * Errors: Redis unreachable → `UNAVAILABLE` `cart storage unavailable: …`
//!   (fast, and the health check says NOT_SERVING meanwhile); Redis refusing
//!   a command (e.g. WRONGTYPE) or an undecodable cart → upstream's
//!   `FAILED_PRECONDITION` `Can't access cart storage. …`.

pub mod memory;
pub mod redis_store;
pub mod store;

use std::{future::Future, time::Duration};

use boutique_proto::{
    hipstershop::{
        AddItemRequest, Cart, CartItem, Empty, EmptyCartRequest, GetCartRequest,
        cart_service_server::{CartService, CartServiceServer},
    },
    service_names,
};
use boutique_runtime::{
    ConfigError, Env, GrpcServer, Probe, ServeError, ServiceInfo, ServingStatus,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

pub use memory::MemoryStore;
pub use redis_store::RedisStore;
pub use store::CartStore;

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "cartservice",
    default_port: 7070,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// Default period of the Redis reachability probe.
pub const DEFAULT_STORE_PROBE_INTERVAL: Duration = Duration::from_secs(1);

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `REDIS_ADDR` (`host:port`): use Redis instead of process memory.
    pub redis_addr: Option<String>,
    /// How often Redis' reachability is checked (health, fail-fast).
    pub store_probe_interval: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            redis_addr: None,
            store_probe_interval: DEFAULT_STORE_PROBE_INTERVAL,
        }
    }
}

impl Config {
    /// Reads `REDIS_ADDR` (unset or empty = in-memory store).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            redis_addr: env.optional_peer_addr("REDIS_ADDR")?,
            ..Self::default()
        })
    }
}

/// Why a cart RPC failed; [`Status`] is derived from it in one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartError {
    /// The request is malformed.
    #[error("{0}")]
    InvalidArgument(String),
    /// The store cannot be reached now.
    #[error("cart storage unavailable: {0}")]
    Unavailable(String),
    /// The store refused the operation or holds unreadable data
    /// (upstream's message prefix).
    #[error("Can't access cart storage. {0}")]
    Storage(String),
    /// AddItem lost every compare-and-set round to concurrent writers.
    #[error("the cart of user {0:?} is being changed concurrently; try again")]
    Contended(String),
}

impl From<CartError> for Status {
    fn from(e: CartError) -> Self {
        let message = e.to_string();
        match e {
            CartError::InvalidArgument(_) => Status::invalid_argument(message),
            CartError::Unavailable(_) => Status::unavailable(message),
            CartError::Storage(_) => Status::failed_precondition(message),
            CartError::Contended(_) => Status::aborted(message),
        }
    }
}

/// `cartservice_store_up{store}`.
pub mod metrics {
    use std::sync::OnceLock;

    use prometheus::{IntGaugeVec, Opts};

    fn gauge() -> &'static IntGaugeVec {
        static G: OnceLock<IntGaugeVec> = OnceLock::new();
        G.get_or_init(|| {
            let g = IntGaugeVec::new(
                Opts::new(
                    "cartservice_store_up",
                    "1 when the cart store answers, 0 when it cannot be reached.",
                ),
                &["store"],
            )
            .unwrap_or_else(|e| unreachable!("constant metric definition: {e}"));
            boutique_runtime::metrics::register(g)
        })
    }

    /// Sets `cartservice_store_up{store}`.
    pub fn store_up(store: &str, up: bool) {
        gauge().with_label_values(&[store]).set(i64::from(up));
    }
}

fn require_user(user_id: &str) -> Result<(), CartError> {
    if user_id.is_empty() {
        return Err(CartError::InvalidArgument(
            "user_id must not be empty".into(),
        ));
    }
    Ok(())
}

fn validate_item(item: Option<CartItem>) -> Result<CartItem, CartError> {
    let item = item.ok_or_else(|| CartError::InvalidArgument("item is required".into()))?;
    if item.product_id.is_empty() {
        return Err(CartError::InvalidArgument(
            "item.product_id must not be empty".into(),
        ));
    }
    if item.quantity <= 0 {
        return Err(CartError::InvalidArgument(format!(
            "item.quantity must be positive, got {}",
            item.quantity
        )));
    }
    Ok(item)
}

/// The gRPC service over a store.
#[derive(Debug)]
pub struct Carts<S> {
    store: S,
}

impl<S: CartStore> Carts<S> {
    /// The service over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl<S: CartStore> CartService for Carts<S> {
    async fn add_item(&self, req: Request<AddItemRequest>) -> Result<Response<Empty>, Status> {
        let req = req.into_inner();
        require_user(&req.user_id)?;
        let item = validate_item(req.item)?;
        self.store.add_item(&req.user_id, item).await?;
        Ok(Response::new(Empty {}))
    }

    async fn get_cart(&self, req: Request<GetCartRequest>) -> Result<Response<Cart>, Status> {
        let user_id = req.into_inner().user_id;
        require_user(&user_id)?;
        let items = self.store.get_items(&user_id).await?;
        Ok(Response::new(Cart { user_id, items }))
    }

    async fn empty_cart(&self, req: Request<EmptyCartRequest>) -> Result<Response<Empty>, Status> {
        let user_id = req.into_inner().user_id;
        require_user(&user_id)?;
        self.store.empty_cart(&user_id).await?;
        Ok(Response::new(Empty {}))
    }
}

/// Error of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `REDIS_ADDR` cannot be used.
    #[error(transparent)]
    Redis(#[from] redis_store::SetupError),
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Serves carts on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let server = GrpcServer::new(service_names::CART).manual_health();
    let health = server.health_reporter();
    let stop = CancellationToken::new();
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop.cancel();
        });
    }
    match config.redis_addr {
        None => {
            tracing::info!(store = "memory", "cart store ready");
            metrics::store_up("memory", true);
            for name in ["", service_names::CART] {
                health
                    .set_service_status(name, ServingStatus::Serving)
                    .await;
            }
            server
                .add_service(CartServiceServer::new(Carts::new(MemoryStore::new())))
                .serve(listener, stop.cancelled_owned())
                .await?;
        }
        Some(addr) => {
            let store = RedisStore::new(&addr)?;
            tracing::info!(store = "redis", redis = %addr, "cart store configured");
            store
                .spawn_probe(
                    health,
                    service_names::CART,
                    config.store_probe_interval,
                    stop.clone(),
                )
                .await;
            server
                .add_service(CartServiceServer::new(Carts::new(store)))
                .serve(listener, stop.cancelled_owned())
                .await?;
        }
    }
    Ok(())
}
