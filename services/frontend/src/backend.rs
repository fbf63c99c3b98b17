//! The gRPC clients of the frontend: one lazily connected [`PeerChannel`] per
//! peer, created once at start, each call with a deadline, W3C trace context
//! and client metrics (all from the runtime's channel).

use boutique_proto::{
    hipstershop::{
        Ad, AdRequest, AddItemRequest, Address, CartItem, CreditCardInfo,
        CurrencyConversionRequest, Empty, EmptyCartRequest, GetCartRequest, GetProductRequest,
        GetQuoteRequest, ListRecommendationsRequest, Money, OrderResult, PlaceOrderRequest,
        Product, ad_service_client::AdServiceClient, cart_service_client::CartServiceClient,
        checkout_service_client::CheckoutServiceClient,
        currency_service_client::CurrencyServiceClient,
        product_catalog_service_client::ProductCatalogServiceClient,
        recommendation_service_client::RecommendationServiceClient,
        shipping_service_client::ShippingServiceClient,
    },
    service_names,
};
use boutique_runtime::{PeerChannel, metrics};
use futures_util::future::try_join_all;
use tonic::Status;

use crate::config::Config;

/// How many recommendations a page shows (upstream fetches all returned, shows 4).
pub const MAX_RECOMMENDATIONS: usize = 4;

/// The frontend's clients. Cloning is cheap (channels are shared).
#[derive(Clone, Debug)]
pub struct Backends {
    catalog: ProductCatalogServiceClient<PeerChannel>,
    currency: CurrencyServiceClient<PeerChannel>,
    cart: CartServiceClient<PeerChannel>,
    recommendation: RecommendationServiceClient<PeerChannel>,
    shipping: ShippingServiceClient<PeerChannel>,
    checkout: CheckoutServiceClient<PeerChannel>,
    ad: AdServiceClient<PeerChannel>,
}

impl Backends {
    /// Creates every channel (no connection is made until the first call).
    pub fn new(config: &Config) -> Result<Self, tonic::transport::Error> {
        let p = &config.peers;
        let t = config.call_timeout;
        for s in [
            service_names::PRODUCT_CATALOG,
            service_names::CURRENCY,
            service_names::CART,
            service_names::RECOMMENDATION,
            service_names::SHIPPING,
            service_names::CHECKOUT,
            service_names::AD,
        ] {
            metrics::preinit_client(s);
        }
        Ok(Self {
            catalog: ProductCatalogServiceClient::new(PeerChannel::lazy(&p.product_catalog, t)?),
            currency: CurrencyServiceClient::new(PeerChannel::lazy(&p.currency, t)?),
            cart: CartServiceClient::new(PeerChannel::lazy(&p.cart, t)?),
            recommendation: RecommendationServiceClient::new(PeerChannel::lazy(
                &p.recommendation,
                t,
            )?),
            shipping: ShippingServiceClient::new(PeerChannel::lazy(&p.shipping, t)?),
            checkout: CheckoutServiceClient::new(PeerChannel::lazy(
                &p.checkout,
                config.checkout_timeout,
            )?),
            ad: AdServiceClient::new(PeerChannel::lazy(&p.ad, config.ad_timeout)?),
        })
    }

    /// `GetSupportedCurrencies`.
    pub async fn currencies(&self) -> Result<Vec<String>, Status> {
        let r = self
            .currency
            .clone()
            .get_supported_currencies(Empty {})
            .await?;
        Ok(r.into_inner().currency_codes)
    }

    /// `ListProducts`.
    pub async fn products(&self) -> Result<Vec<Product>, Status> {
        let r = self.catalog.clone().list_products(Empty {}).await?;
        Ok(r.into_inner().products)
    }

    /// `GetProduct`.
    pub async fn product(&self, id: &str) -> Result<Product, Status> {
        let r = self
            .catalog
            .clone()
            .get_product(GetProductRequest { id: id.to_owned() })
            .await?;
        Ok(r.into_inner())
    }

    /// `GetCart` → the items.
    pub async fn cart(&self, user_id: &str) -> Result<Vec<CartItem>, Status> {
        let r = self
            .cart
            .clone()
            .get_cart(GetCartRequest {
                user_id: user_id.to_owned(),
            })
            .await?;
        Ok(r.into_inner().items)
    }

    /// `AddItem`.
    pub async fn add_item(
        &self,
        user_id: &str,
        product_id: &str,
        quantity: u32,
    ) -> Result<(), Status> {
        let quantity = i32::try_from(quantity)
            .map_err(|_| Status::invalid_argument("quantity out of range"))?;
        self.cart
            .clone()
            .add_item(AddItemRequest {
                user_id: user_id.to_owned(),
                item: Some(CartItem {
                    product_id: product_id.to_owned(),
                    quantity,
                }),
            })
            .await?;
        Ok(())
    }

    /// `EmptyCart`.
    pub async fn empty_cart(&self, user_id: &str) -> Result<(), Status> {
        self.cart
            .clone()
            .empty_cart(EmptyCartRequest {
                user_id: user_id.to_owned(),
            })
            .await?;
        Ok(())
    }

    /// `Convert(from → to)`. A missing amount is treated as zero dollars.
    pub async fn convert(&self, from: Option<&Money>, to: &str) -> Result<Money, Status> {
        let from = from.cloned().unwrap_or_else(|| boutique_money::zero("USD"));
        let r = self
            .currency
            .clone()
            .convert(CurrencyConversionRequest {
                from: Some(from),
                to_code: to.to_owned(),
            })
            .await?;
        Ok(r.into_inner())
    }

    /// `GetQuote(address = absent, items)` → the USD cost.
    pub async fn quote(&self, items: &[CartItem]) -> Result<Money, Status> {
        let r = self
            .shipping
            .clone()
            .get_quote(GetQuoteRequest {
                address: None,
                items: items.to_vec(),
            })
            .await?;
        Ok(r.into_inner()
            .cost_usd
            .unwrap_or_else(|| boutique_money::zero("USD")))
    }

    /// `ListRecommendations` then `GetProduct` for every returned id; any
    /// failure gives no recommendations (logged, never an error page).
    pub async fn recommendations(&self, user_id: &str, product_ids: &[String]) -> Vec<Product> {
        let ids = match self
            .recommendation
            .clone()
            .list_recommendations(ListRecommendationsRequest {
                user_id: user_id.to_owned(),
                product_ids: product_ids.to_vec(),
            })
            .await
        {
            Ok(r) => r.into_inner().product_ids,
            Err(s) => {
                tracing::warn!(error = %s.message(), code = ?s.code(), "failed to get product recommendations");
                return Vec::new();
            }
        };
        match try_join_all(ids.iter().map(|id| self.product(id))).await {
            Ok(mut products) => {
                products.truncate(MAX_RECOMMENDATIONS);
                products
            }
            Err(s) => {
                tracing::warn!(error = %s.message(), code = ?s.code(), "failed to retrieve recommended products");
                Vec::new()
            }
        }
    }

    /// `GetAds(context_keys)` with the ad deadline; `None` when the ad service
    /// fails or sends nothing. One ad is picked at random.
    pub async fn ad(&self, context_keys: Vec<String>) -> Option<Ad> {
        match self.ad.clone().get_ads(AdRequest { context_keys }).await {
            Ok(r) => {
                let mut ads = r.into_inner().ads;
                if ads.is_empty() {
                    return None;
                }
                let i = rand::random_range(0..ads.len());
                Some(ads.swap_remove(i))
            }
            Err(s) => {
                tracing::warn!(error = %s.message(), code = ?s.code(), "failed to retrieve ads");
                None
            }
        }
    }

    /// `PlaceOrder`.
    pub async fn place_order(&self, req: OrderRequest) -> Result<OrderResult, Status> {
        let r = self
            .checkout
            .clone()
            .place_order(PlaceOrderRequest {
                user_id: req.user_id,
                user_currency: req.currency,
                address: Some(req.address),
                email: req.email,
                credit_card: Some(req.credit_card),
            })
            .await?;
        r.into_inner()
            .order
            .ok_or_else(|| Status::internal("checkout answered without an order"))
    }
}

/// What `PlaceOrder` needs.
#[derive(Debug, Clone)]
pub struct OrderRequest {
    pub user_id: String,
    pub currency: String,
    pub address: Address,
    pub email: String,
    pub credit_card: CreditCardInfo,
}
