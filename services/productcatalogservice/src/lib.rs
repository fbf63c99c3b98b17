//! `hipstershop.ProductCatalogService`: lists, looks up and searches the
//! shop's products. The catalog is compiled into the binary (same JSON shape
//! as upstream's `products.json`: protobuf-JSON, camelCase).

use std::{future::Future, sync::Arc, time::Duration};

use boutique_proto::{
    hipstershop::{
        Empty, GetProductRequest, ListProductsResponse, Money, Product, SearchProductsRequest,
        SearchProductsResponse,
        product_catalog_service_server::{ProductCatalogService, ProductCatalogServiceServer},
    },
    service_names,
};
use boutique_runtime::{ConfigError, Env, GrpcServer, Probe, ServeError, ServiceInfo};
use serde::Deserialize;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "productcatalogservice",
    default_port: 3550,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// The catalog shipped with the service.
pub const EMBEDDED_CATALOG: &str = include_str!("products.json");

/// Service configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// `EXTRA_LATENCY`: added to every catalog RPC (a fault-injection knob).
    pub extra_latency: Duration,
}

impl Config {
    /// Reads `EXTRA_LATENCY` (Go duration syntax; unset or empty = none).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            extra_latency: env.go_duration("EXTRA_LATENCY")?,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonCatalog {
    products: Vec<JsonProduct>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonProduct {
    id: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    picture: String,
    price_usd: JsonMoney,
    #[serde(default)]
    categories: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct JsonMoney {
    currency_code: String,
    #[serde(default)]
    units: i64,
    #[serde(default)]
    nanos: i32,
}

/// Parses a catalog in upstream's `products.json` shape.
pub fn parse_catalog(json: &str) -> Result<Vec<Product>, serde_json::Error> {
    let c: JsonCatalog = serde_json::from_str(json)?;
    Ok(c.products
        .into_iter()
        .map(|p| Product {
            id: p.id,
            name: p.name,
            description: p.description,
            picture: p.picture,
            price_usd: Some(Money {
                currency_code: p.price_usd.currency_code,
                units: p.price_usd.units,
                nanos: p.price_usd.nanos,
            }),
            categories: p.categories,
        })
        .collect())
}

/// The service implementation.
#[derive(Debug, Clone)]
pub struct Catalog {
    products: Arc<[Product]>,
    extra_latency: Duration,
}

impl Catalog {
    /// A catalog over `products`, in the given order.
    pub fn new(products: Vec<Product>, extra_latency: Duration) -> Self {
        Self {
            products: products.into(),
            extra_latency,
        }
    }

    async fn delay(&self) {
        if !self.extra_latency.is_zero() {
            tokio::time::sleep(self.extra_latency).await;
        }
    }

    /// Products whose name or description contains `query`, ignoring case.
    pub fn search(&self, query: &str) -> Vec<Product> {
        let q = query.to_lowercase();
        self.products
            .iter()
            .filter(|p| {
                p.name.to_lowercase().contains(&q) || p.description.to_lowercase().contains(&q)
            })
            .cloned()
            .collect()
    }
}

#[tonic::async_trait]
impl ProductCatalogService for Catalog {
    async fn list_products(
        &self,
        _req: Request<Empty>,
    ) -> Result<Response<ListProductsResponse>, Status> {
        self.delay().await;
        Ok(Response::new(ListProductsResponse {
            products: self.products.to_vec(),
        }))
    }

    async fn get_product(
        &self,
        req: Request<GetProductRequest>,
    ) -> Result<Response<Product>, Status> {
        self.delay().await;
        let id = req.into_inner().id;
        self.products
            .iter()
            .find(|p| p.id == id)
            .cloned()
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("no product with ID {id}")))
    }

    async fn search_products(
        &self,
        req: Request<SearchProductsRequest>,
    ) -> Result<Response<SearchProductsResponse>, Status> {
        self.delay().await;
        Ok(Response::new(SearchProductsResponse {
            results: self.search(&req.into_inner().query),
        }))
    }
}

/// Error of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The embedded catalog does not parse (a build defect).
    #[error("cannot load the product catalog: {0}")]
    Catalog(serde_json::Error),
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Serves the catalog on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let products = parse_catalog(EMBEDDED_CATALOG).map_err(Error::Catalog)?;
    tracing::info!(
        products = products.len(),
        extra_latency_ms = config.extra_latency.as_millis() as u64,
        "catalog loaded"
    );
    GrpcServer::new(service_names::PRODUCT_CATALOG)
        .add_service(ProductCatalogServiceServer::new(Catalog::new(
            products,
            config.extra_latency,
        )))
        .serve(listener, shutdown)
        .await
        .map_err(Error::Serve)
}
