//! `hipstershop.RecommendationService`: up to five products of the catalog
//! the shopper is not already looking at.
//!
//! `ListRecommendations({user_id, product_ids})` asks the product catalog
//! (`PRODUCT_CATALOG_SERVICE_ADDR`) for all products, removes the request's
//! ids (unknown ones are simply ignored, `user_id` is not used) and returns
//! `min(5, n)` of the remaining `n` distinct ids, chosen uniformly at random
//! without replacement, in random order — as upstream does.
//!
//! **Catalog failures** (unreachable, timed out after the call deadline, or
//! any error status) are answered with `UNAVAILABLE` and a message naming the
//! product catalog and carrying its code and message. Upstream answers
//! `UNKNOWN`; `UNAVAILABLE` tells callers that a dependency is down and the
//! call may be retried, and passing the catalog's own code through would let
//! e.g. a catalog `INVALID_ARGUMENT` look like the caller's fault.

use std::{collections::HashSet, future::Future, time::Duration};

use boutique_proto::{
    hipstershop::{
        Empty, ListRecommendationsRequest, ListRecommendationsResponse,
        product_catalog_service_client::ProductCatalogServiceClient,
        recommendation_service_server::{RecommendationService, RecommendationServiceServer},
    },
    service_names,
};
use boutique_runtime::{
    ConfigError, DEFAULT_CALL_TIMEOUT, Env, GrpcServer, PeerChannel, Probe, ServeError, ServiceInfo,
};
use rand::{Rng, seq::SliceRandom as _};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "recommendationservice",
    default_port: 8080,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// How many products a recommendation holds at most.
pub const MAX_RECOMMENDATIONS: usize = 5;

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PRODUCT_CATALOG_SERVICE_ADDR` (`host:port`).
    pub catalog_addr: String,
    /// Deadline of each catalog call.
    pub catalog_timeout: Duration,
}

impl Config {
    /// A configuration calling the catalog at `catalog_addr` with the default deadline.
    pub fn new(catalog_addr: impl Into<String>) -> Self {
        Self {
            catalog_addr: catalog_addr.into(),
            catalog_timeout: DEFAULT_CALL_TIMEOUT,
        }
    }

    /// Reads the required `PRODUCT_CATALOG_SERVICE_ADDR`.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::new(env.peer_addr("PRODUCT_CATALOG_SERVICE_ADDR")?))
    }
}

/// Why a recommendation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RecommendationError {
    /// The catalog call failed.
    #[error("product catalog at {addr} failed: {code:?}: {message}")]
    Catalog {
        addr: String,
        code: tonic::Code,
        message: String,
    },
}

impl From<RecommendationError> for Status {
    fn from(e: RecommendationError) -> Self {
        match e {
            RecommendationError::Catalog { .. } => Status::unavailable(e.to_string()),
        }
    }
}

/// The catalog's ids minus `exclude`, without duplicates, in catalog order.
pub fn candidates(
    catalog_ids: impl IntoIterator<Item = String>,
    exclude: &[String],
) -> Vec<String> {
    let exclude: HashSet<&str> = exclude.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    catalog_ids
        .into_iter()
        .filter(|id| !exclude.contains(id.as_str()) && seen.insert(id.clone()))
        .collect()
}

/// `min(max, n)` of the `n` candidates, uniformly without replacement, in random order.
pub fn pick<R: Rng + ?Sized>(mut candidates: Vec<String>, max: usize, rng: &mut R) -> Vec<String> {
    let n = max.min(candidates.len());
    // The shuffled part is the first slice returned (rand keeps it at the end
    // of the vector, not at the front).
    let (chosen, _) = candidates.partial_shuffle(rng, n);
    chosen.to_vec()
}

/// The service implementation.
#[derive(Debug, Clone)]
pub struct Recommender {
    catalog: PeerChannel,
}

impl Recommender {
    /// A recommender asking the catalog behind `catalog`.
    pub fn new(catalog: PeerChannel) -> Self {
        Self { catalog }
    }

    async fn recommend(&self, exclude: &[String]) -> Result<Vec<String>, RecommendationError> {
        let products = ProductCatalogServiceClient::new(self.catalog.clone())
            .list_products(Empty {})
            .await
            .map_err(|s| RecommendationError::Catalog {
                addr: self.catalog.addr().to_owned(),
                code: s.code(),
                message: s.message().to_owned(),
            })?
            .into_inner()
            .products;
        let candidates = candidates(products.into_iter().map(|p| p.id), exclude);
        Ok(pick(candidates, MAX_RECOMMENDATIONS, &mut rand::rng()))
    }
}

#[tonic::async_trait]
impl RecommendationService for Recommender {
    async fn list_recommendations(
        &self,
        req: Request<ListRecommendationsRequest>,
    ) -> Result<Response<ListRecommendationsResponse>, Status> {
        let req = req.into_inner();
        let product_ids = self.recommend(&req.product_ids).await?;
        tracing::info!(
            requested = ?req.product_ids,
            recommended = ?product_ids,
            "recommendations listed"
        );
        Ok(Response::new(ListRecommendationsResponse { product_ids }))
    }
}

/// Error of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `PRODUCT_CATALOG_SERVICE_ADDR` does not make a valid endpoint.
    #[error("invalid product catalog address {addr:?}: {source}")]
    CatalogAddr {
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Serves recommendations on `listener` until `shutdown` resolves. The catalog
/// channel is created once here and connects on first use.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let catalog =
        PeerChannel::lazy(&config.catalog_addr, config.catalog_timeout).map_err(|source| {
            Error::CatalogAddr {
                addr: config.catalog_addr.clone(),
                source,
            }
        })?;
    tracing::info!(catalog = %config.catalog_addr, "product catalog configured");
    GrpcServer::new(service_names::RECOMMENDATION)
        .add_service(RecommendationServiceServer::new(Recommender::new(catalog)))
        .serve(listener, shutdown)
        .await
        .map_err(Error::Serve)
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng as _, rngs::StdRng};

    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn candidates_drop_requested_unknown_and_duplicate_ids() {
        let catalog = ids(&["A", "B", "C", "B", "D"]);
        assert_eq!(
            candidates(catalog.clone(), &ids(&["C", "nope", "C"])),
            ids(&["A", "B", "D"])
        );
        assert_eq!(candidates(catalog.clone(), &[]), ids(&["A", "B", "C", "D"]));
        assert!(candidates(catalog, &ids(&["A", "B", "C", "D"])).is_empty());
    }

    #[test]
    fn pick_returns_at_most_max_distinct_candidates() {
        let mut rng = StdRng::seed_from_u64(7);
        let all = ids(&["A", "B", "C", "D", "E", "F", "G"]);
        for _ in 0..50 {
            let got = pick(all.clone(), 5, &mut rng);
            assert_eq!(got.len(), 5);
            let distinct: HashSet<_> = got.iter().collect();
            assert_eq!(distinct.len(), 5);
            assert!(got.iter().all(|g| all.contains(g)));
        }
        assert_eq!(pick(ids(&["A", "B"]), 5, &mut rng).len(), 2);
        assert!(pick(Vec::new(), 5, &mut rng).is_empty());
    }

    #[test]
    fn pick_is_uniform_over_candidates_and_positions() {
        // 7 candidates, 5 drawn: each id is chosen with probability 5/7 and,
        // when chosen, lands in each of the 5 positions equally often.
        let mut rng = StdRng::seed_from_u64(42);
        let all = ids(&["A", "B", "C", "D", "E", "F", "G"]);
        let rounds = 14_000;
        let mut chosen = std::collections::HashMap::<String, u32>::new();
        let mut first = std::collections::HashMap::<String, u32>::new();
        for _ in 0..rounds {
            let got = pick(all.clone(), 5, &mut rng);
            *first.entry(got[0].clone()).or_default() += 1;
            for g in got {
                *chosen.entry(g).or_default() += 1;
            }
        }
        for id in &all {
            let c = f64::from(chosen[id]) / f64::from(rounds);
            assert!((c - 5.0 / 7.0).abs() < 0.03, "{id} chosen {c}");
            let f = f64::from(first[id]) / f64::from(rounds);
            assert!((f - 1.0 / 7.0).abs() < 0.02, "{id} first {f}");
        }
    }

    #[test]
    fn catalog_failure_is_unavailable_naming_the_catalog() {
        let s = Status::from(RecommendationError::Catalog {
            addr: "productcatalogservice:3550".into(),
            code: tonic::Code::DeadlineExceeded,
            message: "too slow".into(),
        });
        assert_eq!(s.code(), tonic::Code::Unavailable);
        assert_eq!(
            s.message(),
            "product catalog at productcatalogservice:3550 failed: DeadlineExceeded: too slow"
        );
    }

    #[test]
    fn config_requires_the_catalog_address() {
        let e = Config::from_env(&Env::from_pairs([("X", "y")])).unwrap_err();
        assert_eq!(e.var, "PRODUCT_CATALOG_SERVICE_ADDR");
        let c = Config::from_env(&Env::from_pairs([(
            "PRODUCT_CATALOG_SERVICE_ADDR",
            "productcatalogservice:3550",
        )]))
        .unwrap();
        assert_eq!(c.catalog_addr, "productcatalogservice:3550");
        assert_eq!(c.catalog_timeout, DEFAULT_CALL_TIMEOUT);
    }
}
