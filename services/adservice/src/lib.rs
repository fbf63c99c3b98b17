//! `hipstershop.AdService`: text ads for the product categories a page is
//! about, or two random ads when none of them has any.
//!
//! `GetAds` concatenates, in request order, the ads of every context key
//! (exact, case-sensitive category names; a repeated key repeats its ads,
//! an unknown key adds nothing). When that yields nothing — no keys, or only
//! keys without ads — it answers exactly two ads drawn uniformly at random,
//! with replacement, from all seven. It never answers an empty list and
//! never fails.

use std::future::Future;

use boutique_proto::{
    hipstershop::{
        Ad, AdRequest, AdResponse,
        ad_service_server::{AdService, AdServiceServer},
    },
    service_names,
};
use boutique_runtime::{GrpcServer, Probe, ServeError, ServiceInfo};
use rand::Rng;
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "adservice",
    default_port: 9555,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// The service has no settings of its own.
pub use boutique_runtime::NoConfig as Config;

/// One ad of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdEntry {
    /// The context key (product category) it is shown for.
    pub category: &'static str,
    /// Site-relative link to the product (the frontend prefixes `BASE_URL`).
    pub redirect_url: &'static str,
    pub text: &'static str,
}

impl AdEntry {
    fn to_ad(self) -> Ad {
        Ad {
            redirect_url: self.redirect_url.to_owned(),
            text: self.text.to_owned(),
        }
    }
}

/// Every ad, in the order of the random pool; a category's ads keep this order.
pub const ADS: [AdEntry; 7] = [
    AdEntry {
        category: "clothing",
        redirect_url: "/product/66VCHSJNUP",
        text: "Tank top for sale. 20% off.",
    },
    AdEntry {
        category: "accessories",
        redirect_url: "/product/1YMWWN1N4O",
        text: "Watch for sale. Buy one, get second kit for free",
    },
    AdEntry {
        category: "footwear",
        redirect_url: "/product/L9ECAV7KIM",
        text: "Loafers for sale. Buy one, get second one for free",
    },
    AdEntry {
        category: "hair",
        redirect_url: "/product/2ZYFJ3GM2N",
        text: "Hairdryer for sale. 50% off.",
    },
    AdEntry {
        category: "decor",
        redirect_url: "/product/0PUK6V6EV0",
        text: "Candle holder for sale. 30% off.",
    },
    AdEntry {
        category: "kitchen",
        redirect_url: "/product/9SIQT8TOJO",
        text: "Bamboo glass jar for sale. 10% off.",
    },
    AdEntry {
        category: "kitchen",
        redirect_url: "/product/6E92ZMYYFZ",
        text: "Mug for sale. Buy two, get third one for free",
    },
];

/// How many ads the random fallback answers.
pub const RANDOM_ADS: usize = 2;

/// The ads of `category`, in table order (none for an unknown category).
pub fn ads_for_category(category: &str) -> impl Iterator<Item = AdEntry> + '_ {
    ADS.iter().copied().filter(move |a| a.category == category)
}

/// The answer to `GetAds(keys)`, drawing fallback ads from `rng`.
pub fn select_ads(keys: &[String], rng: &mut impl Rng) -> Vec<Ad> {
    let ads: Vec<Ad> = keys
        .iter()
        .flat_map(|k| ads_for_category(k))
        .map(AdEntry::to_ad)
        .collect();
    if !ads.is_empty() {
        return ads;
    }
    (0..RANDOM_ADS)
        .map(|_| ADS[rng.random_range(0..ADS.len())].to_ad())
        .collect()
}

/// The service implementation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ads;

#[tonic::async_trait]
impl AdService for Ads {
    async fn get_ads(&self, req: Request<AdRequest>) -> Result<Response<AdResponse>, Status> {
        let keys = req.into_inner().context_keys;
        let ads = select_ads(&keys, &mut rand::rng());
        tracing::info!(context_keys = ?keys, ads = ads.len(), "ads served");
        Ok(Response::new(AdResponse { ads }))
    }
}

/// Serves the ad service on `listener` until `shutdown` resolves.
pub async fn serve(
    _config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    GrpcServer::new(service_names::AD)
        .add_service(AdServiceServer::new(Ads))
        .serve(listener, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng as _, rngs::StdRng};

    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| (*s).to_owned()).collect()
    }

    fn urls(ads: &[Ad]) -> Vec<&str> {
        ads.iter().map(|a| a.redirect_url.as_str()).collect()
    }

    #[test]
    fn categories_map_to_their_ads_in_order() {
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(
            urls(&select_ads(&keys(&["kitchen"]), &mut rng)),
            ["/product/9SIQT8TOJO", "/product/6E92ZMYYFZ"]
        );
        assert_eq!(
            urls(&select_ads(&keys(&["nope", "hair", "nope"]), &mut rng)),
            ["/product/2ZYFJ3GM2N"]
        );
        assert_eq!(ads_for_category("Kitchen").count(), 0);
        let categories: Vec<_> = ADS.iter().map(|a| a.category).collect();
        assert_eq!(
            categories,
            [
                "clothing",
                "accessories",
                "footwear",
                "hair",
                "decor",
                "kitchen",
                "kitchen"
            ]
        );
    }

    #[test]
    fn fallback_draws_two_with_replacement_from_all_seven() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut seen = std::collections::HashSet::new();
        let mut duplicates = 0;
        for _ in 0..1000 {
            let ads = select_ads(&[], &mut rng);
            assert_eq!(ads.len(), RANDOM_ADS);
            if ads[0] == ads[1] {
                duplicates += 1;
            }
            for ad in ads {
                assert!(
                    ADS.iter().any(|e| e.to_ad() == ad),
                    "{ad:?} is not in the pool"
                );
                seen.insert(ad.redirect_url);
            }
        }
        assert_eq!(seen.len(), 7);
        // With replacement, about one call in seven repeats an ad.
        assert!((80..=220).contains(&duplicates), "{duplicates}");
    }
}
