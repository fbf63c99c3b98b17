//! `hipstershop.CheckoutService`: turns a user's cart into a paid, shipped
//! order (contract §8, with the project's decisions §14).
//!
//! # The order of the calls, and why
//!
//! `PlaceOrder` has exactly one step that cannot be undone — charging the
//! card (`PaymentService` has no refund) — so that step is the commit point
//! and comes **last among the steps that can fail the order**:
//!
//! 1. validate the request (`INVALID_ARGUMENT`: empty user id or currency,
//!    missing address or credit card);
//! 2. `CartService.GetCart` (an empty cart is `FAILED_PRECONDITION`
//!    `cart is empty`);
//! 3. per item `ProductCatalogService.GetProduct` + `CurrencyService.Convert`
//!    of the unit price (items are priced concurrently, errors reported in
//!    cart order);
//! 4. `ShippingService.GetQuote` + `Convert` of the quote;
//! 5. the total in exact decimal money (invalid, negative or overflowing
//!    amounts are `INTERNAL`, never a panic);
//! 6. `ShippingService.ShipOrder` → tracking id;
//! 7. `PaymentService.Charge` of the total → **commit**;
//! 8. `CartService.EmptyCart` (a failure is logged; the order stands);
//! 9. `EmailService.SendOrderConfirmation` (a failure is logged; the order
//!    stands).
//!
//! Upstream charges before shipping, so a failing `ShipOrder` reports a
//! failed order for which the money was already taken. Here the shipment is
//! requested first: `ShipOrder` only issues a tracking id, so when the charge
//! then fails the order fails, nothing was charged, and the unused tracking
//! id harms nobody (it is logged as never to be fulfilled). Nothing after the
//! charge can fail the order, hence: **a customer is never charged for an
//! order reported as failed**, and the cart is emptied only after success.
//!
//! The pipeline runs in its own task, so a caller that disconnects or times
//! out cannot interrupt it between the charge and emptying the cart.
//!
//! The one ambiguity left is a `Charge` call whose answer is lost (deadline
//! exceeded, connection dropped after the request was sent): the payment
//! service may have charged although the order is reported as failed. No
//! call order can close that window without an idempotent or refundable
//! payment API; it is logged loudly with the order id.
//!
//! Every downstream call has a deadline (`DOWNSTREAM_TIMEOUT_MS`, default
//! 3000) and carries the W3C trace context; each peer has one lazily
//! connected channel created at start-up.

use std::{future::Future, time::Duration};

use boutique_money::{self as money, MoneyError};
use boutique_proto::{
    hipstershop::{
        Address, CartItem, ChargeRequest, CreditCardInfo, CurrencyConversionRequest,
        EmptyCartRequest, GetCartRequest, GetProductRequest, GetQuoteRequest, Money, OrderItem,
        OrderResult, PlaceOrderRequest, PlaceOrderResponse, SendOrderConfirmationRequest,
        ShipOrderRequest,
        cart_service_client::CartServiceClient,
        checkout_service_server::{CheckoutService, CheckoutServiceServer},
        currency_service_client::CurrencyServiceClient,
        email_service_client::EmailServiceClient,
        payment_service_client::PaymentServiceClient,
        product_catalog_service_client::ProductCatalogServiceClient,
        shipping_service_client::ShippingServiceClient,
    },
    service_names,
};
use boutique_runtime::{
    ConfigError, Env, GrpcServer, PeerChannel, Probe, ServeError, ServiceInfo, grpc::code_name,
};
use rust_decimal::{Decimal, prelude::ToPrimitive as _};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;
use uuid::Uuid;

pub mod metrics;

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "checkoutservice",
    default_port: 5050,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// Default deadline of every downstream call (`DOWNSTREAM_TIMEOUT_MS`).
pub const DEFAULT_DOWNSTREAM_TIMEOUT: Duration = Duration::from_millis(3000);

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// `PRODUCT_CATALOG_SERVICE_ADDR`
    pub product_catalog_addr: String,
    /// `CURRENCY_SERVICE_ADDR`
    pub currency_addr: String,
    /// `CART_SERVICE_ADDR`
    pub cart_addr: String,
    /// `SHIPPING_SERVICE_ADDR`
    pub shipping_addr: String,
    /// `PAYMENT_SERVICE_ADDR`
    pub payment_addr: String,
    /// `EMAIL_SERVICE_ADDR`
    pub email_addr: String,
    /// `DOWNSTREAM_TIMEOUT_MS`: deadline of each downstream call.
    pub downstream_timeout: Duration,
}

impl Config {
    /// Reads the six peer addresses (all required, `host:port`) and
    /// `DOWNSTREAM_TIMEOUT_MS` (positive integer, default 3000).
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let ms: u64 = env.parse_or(
            "DOWNSTREAM_TIMEOUT_MS",
            DEFAULT_DOWNSTREAM_TIMEOUT.as_millis() as u64,
        )?;
        if ms == 0 {
            return Err(ConfigError::new(
                "DOWNSTREAM_TIMEOUT_MS",
                "must be a positive number of milliseconds",
            ));
        }
        Ok(Self {
            product_catalog_addr: env.peer_addr("PRODUCT_CATALOG_SERVICE_ADDR")?,
            currency_addr: env.peer_addr("CURRENCY_SERVICE_ADDR")?,
            cart_addr: env.peer_addr("CART_SERVICE_ADDR")?,
            shipping_addr: env.peer_addr("SHIPPING_SERVICE_ADDR")?,
            payment_addr: env.peer_addr("PAYMENT_SERVICE_ADDR")?,
            email_addr: env.peer_addr("EMAIL_SERVICE_ADDR")?,
            downstream_timeout: Duration::from_millis(ms),
        })
    }
}

/// Go's rendering of a gRPC error (`rpc error: code = NotFound desc = …`),
/// which upstream nests into its messages.
fn rpc_error(s: &Status) -> String {
    format!(
        "rpc error: code = {} desc = {}",
        code_name(s.code()),
        s.message()
    )
}

/// Why `PlaceOrder` failed; the only place that chooses status codes and
/// texts (upstream's, §8) and the `checkout_orders_failed_total` reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckoutError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("cart is empty")]
    EmptyCart,
    #[error("cart failure: failed to get user cart during checkout: {0}")]
    Cart(String),
    #[error("failed to prepare order: invalid quantity {quantity} of product {product_id:?}")]
    Quantity { product_id: String, quantity: i32 },
    #[error("failed to prepare order: failed to get product #{0:?}")]
    Product(String),
    #[error("failed to prepare order: failed to convert price of {product_id:?} to {currency}")]
    ConvertPrice {
        product_id: String,
        currency: String,
    },
    #[error("shipping quote failure: failed to get shipping quote: {0}")]
    Quote(String),
    #[error("failed to convert shipping cost to currency: failed to convert currency: {0}")]
    ConvertShipping(String),
    #[error("failed to compute the order total: {0}")]
    Money(String),
    #[error("shipping error: shipment failed: {0}")]
    Shipment(String),
    #[error("failed to charge card: could not charge the card: {0}")]
    Payment(String),
    #[error("order pipeline aborted: {0}")]
    Aborted(String),
}

impl CheckoutError {
    /// The `reason` label of `checkout_orders_failed_total` (none for
    /// malformed requests, which are not orders).
    pub fn reason(&self) -> Option<&'static str> {
        Some(match self {
            Self::InvalidArgument(_) | Self::Aborted(_) => return None,
            Self::EmptyCart => "empty_cart",
            Self::Cart(_) | Self::Quantity { .. } => "cart",
            Self::Product(_) => "catalog",
            Self::ConvertPrice { .. } | Self::ConvertShipping(_) => "currency",
            Self::Quote(_) => "shipping_quote",
            Self::Money(_) => "invalid_money",
            Self::Shipment(_) => "shipment",
            Self::Payment(_) => "payment",
        })
    }
}

impl From<MoneyError> for CheckoutError {
    fn from(e: MoneyError) -> Self {
        Self::Money(e.to_string())
    }
}

impl From<CheckoutError> for Status {
    fn from(e: CheckoutError) -> Self {
        let message = e.to_string();
        match e {
            CheckoutError::InvalidArgument(_) => Status::invalid_argument(message),
            CheckoutError::EmptyCart => Status::failed_precondition(message),
            CheckoutError::Shipment(_) => Status::unavailable(message),
            _ => Status::internal(message),
        }
    }
}

/// One channel per peer, created once.
#[derive(Debug, Clone)]
pub struct Peers {
    catalog: PeerChannel,
    currency: PeerChannel,
    cart: PeerChannel,
    shipping: PeerChannel,
    payment: PeerChannel,
    email: PeerChannel,
}

/// Error of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A peer address does not make a valid endpoint.
    #[error("invalid address {addr:?} of {peer}: {source}")]
    PeerAddr {
        peer: &'static str,
        addr: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl Peers {
    /// Lazily connected channels to every peer of `config`.
    pub fn new(config: &Config) -> Result<Self, Error> {
        let t = config.downstream_timeout;
        let lazy = |peer: &'static str, addr: &str| {
            boutique_runtime::metrics::preinit_client(peer);
            PeerChannel::lazy(addr, t).map_err(|source| Error::PeerAddr {
                peer,
                addr: addr.to_owned(),
                source,
            })
        };
        Ok(Self {
            catalog: lazy(service_names::PRODUCT_CATALOG, &config.product_catalog_addr)?,
            currency: lazy(service_names::CURRENCY, &config.currency_addr)?,
            cart: lazy(service_names::CART, &config.cart_addr)?,
            shipping: lazy(service_names::SHIPPING, &config.shipping_addr)?,
            payment: lazy(service_names::PAYMENT, &config.payment_addr)?,
            email: lazy(service_names::EMAIL, &config.email_addr)?,
        })
    }
}

/// The service implementation.
#[derive(Debug, Clone)]
pub struct Checkout {
    peers: Peers,
    /// Random node id of this process' v1 UUIDs (multicast bit set, as RFC
    /// 9562 asks of random node ids).
    node_id: [u8; 6],
}

/// What the user pays for the items, in their currency and in USD.
struct Priced {
    items: Vec<OrderItem>,
    usd: Vec<Money>,
}

impl Checkout {
    /// A checkout over `peers`.
    pub fn new(peers: Peers) -> Self {
        let mut node_id: [u8; 6] = rand::random();
        node_id[0] |= 0x01;
        Self { peers, node_id }
    }

    /// A new time-based (version 1) order id.
    pub fn new_order_id(&self) -> Uuid {
        Uuid::now_v1(&self.node_id)
    }

    async fn convert(&self, from: Money, to_code: &str) -> Result<Money, Status> {
        CurrencyServiceClient::new(self.peers.currency.clone())
            .convert(CurrencyConversionRequest {
                from: Some(from),
                to_code: to_code.to_owned(),
            })
            .await
            .map(Response::into_inner)
    }

    async fn price_item(
        &self,
        item: &CartItem,
        currency: &str,
    ) -> Result<(OrderItem, Money), CheckoutError> {
        let quantity = u32::try_from(item.quantity)
            .ok()
            .filter(|q| *q > 0)
            .ok_or_else(|| CheckoutError::Quantity {
                product_id: item.product_id.clone(),
                quantity: item.quantity,
            })?;
        let product = ProductCatalogServiceClient::new(self.peers.catalog.clone())
            .get_product(GetProductRequest {
                id: item.product_id.clone(),
            })
            .await
            .map_err(|s| {
                tracing::warn!(product_id = %item.product_id, error = %rpc_error(&s), "cannot get product");
                CheckoutError::Product(item.product_id.clone())
            })?
            .into_inner();
        let price_usd = product.price_usd.unwrap_or_default();
        let cost = self
            .convert(price_usd.clone(), currency)
            .await
            .map_err(|s| {
                tracing::warn!(product_id = %item.product_id, currency, error = %rpc_error(&s), "cannot convert price");
                CheckoutError::ConvertPrice {
                    product_id: item.product_id.clone(),
                    currency: currency.to_owned(),
                }
            })?;
        let usd = money::multiply(&price_usd, quantity)?;
        Ok((
            OrderItem {
                item: Some(item.clone()),
                cost: Some(cost),
            },
            usd,
        ))
    }

    async fn price_items(
        &self,
        items: &[CartItem],
        currency: &str,
    ) -> Result<Priced, CheckoutError> {
        let results =
            futures_util::future::join_all(items.iter().map(|i| self.price_item(i, currency)))
                .await;
        let mut priced = Priced {
            items: Vec::with_capacity(items.len()),
            usd: Vec::with_capacity(items.len()),
        };
        for r in results {
            let (item, usd) = r?;
            priced.items.push(item);
            priced.usd.push(usd);
        }
        Ok(priced)
    }

    /// The whole order; see the crate documentation for the order of steps.
    async fn place_order(&self, req: PlaceOrderRequest) -> Result<OrderResult, CheckoutError> {
        let (address, card) = validate(&req)?;
        let currency = req.user_currency.as_str();
        let order_id = self.new_order_id().to_string();

        let cart_items = CartServiceClient::new(self.peers.cart.clone())
            .get_cart(GetCartRequest {
                user_id: req.user_id.clone(),
            })
            .await
            .map_err(|s| CheckoutError::Cart(rpc_error(&s)))?
            .into_inner()
            .items;
        if cart_items.is_empty() {
            return Err(CheckoutError::EmptyCart);
        }

        let priced = self.price_items(&cart_items, currency).await?;

        let quote_usd = ShippingServiceClient::new(self.peers.shipping.clone())
            .get_quote(GetQuoteRequest {
                address: Some(address.clone()),
                items: cart_items.clone(),
            })
            .await
            .map_err(|s| CheckoutError::Quote(rpc_error(&s)))?
            .into_inner()
            .cost_usd
            .unwrap_or_else(|| money::zero("USD"));
        let shipping = self
            .convert(quote_usd.clone(), currency)
            .await
            .map_err(|s| CheckoutError::ConvertShipping(rpc_error(&s)))?;

        let total = order_total(currency, &shipping, &priced.items)?;
        let value_usd = usd_value(&quote_usd, &priced.usd);

        // Side effects from here on. Shipping first: it only issues a
        // tracking id, so a failure of the charge below leaves nothing to undo.
        let tracking_id = ShippingServiceClient::new(self.peers.shipping.clone())
            .ship_order(ShipOrderRequest {
                address: Some(address.clone()),
                items: cart_items.clone(),
            })
            .await
            .map_err(|s| CheckoutError::Shipment(rpc_error(&s)))?
            .into_inner()
            .tracking_id;

        // The commit point: nothing after a successful charge fails the order.
        let charged = PaymentServiceClient::new(self.peers.payment.clone())
            .charge(ChargeRequest {
                amount: Some(total.clone()),
                credit_card: Some(card.clone()),
            })
            .await;
        let transaction_id = match charged {
            Ok(r) => r.into_inner().transaction_id,
            Err(s) => {
                if matches!(
                    s.code(),
                    tonic::Code::DeadlineExceeded | tonic::Code::Unknown | tonic::Code::Cancelled
                ) {
                    tracing::error!(
                        order_id, user_id = %req.user_id, error = %rpc_error(&s),
                        "charge outcome unknown: the card may have been charged for a failed order"
                    );
                }
                tracing::warn!(
                    order_id,
                    tracking_id,
                    "order not charged; its shipment will not be fulfilled"
                );
                return Err(CheckoutError::Payment(rpc_error(&s)));
            }
        };
        tracing::info!(
            order_id, transaction_id, tracking_id,
            total = %money::display(&total), currency,
            "payment went through"
        );

        if let Err(s) = CartServiceClient::new(self.peers.cart.clone())
            .empty_cart(EmptyCartRequest {
                user_id: req.user_id.clone(),
            })
            .await
        {
            tracing::warn!(order_id, user_id = %req.user_id, error = %rpc_error(&s), "failed to empty the cart of a placed order");
        }

        let order = OrderResult {
            order_id,
            shipping_tracking_id: tracking_id,
            shipping_cost: Some(shipping),
            shipping_address: Some(address.clone()),
            items: priced.items,
        };

        if let Err(s) = EmailServiceClient::new(self.peers.email.clone())
            .send_order_confirmation(SendOrderConfirmationRequest {
                email: req.email.clone(),
                order: Some(order.clone()),
            })
            .await
        {
            tracing::warn!(order_id = %order.order_id, email = %req.email, error = %rpc_error(&s), "failed to send the order confirmation");
        } else {
            tracing::info!(order_id = %order.order_id, email = %req.email, "order confirmation sent");
        }

        metrics::placed(currency, value_usd);
        Ok(order)
    }
}

fn validate(req: &PlaceOrderRequest) -> Result<(&Address, &CreditCardInfo), CheckoutError> {
    let bad = |m: &str| Err(CheckoutError::InvalidArgument(m.to_owned()));
    if req.user_id.is_empty() {
        return bad("user_id must not be empty");
    }
    if req.user_currency.is_empty() {
        return bad("user_currency must not be empty");
    }
    let Some(address) = req.address.as_ref() else {
        return bad("address is required");
    };
    let Some(card) = req.credit_card.as_ref() else {
        return bad("credit_card is required");
    };
    Ok((address, card))
}

/// `shipping + Σ cost × quantity` in `currency`, exact; every amount must be
/// a valid, non-negative amount of `currency`.
pub fn order_total(
    currency: &str,
    shipping: &Money,
    items: &[OrderItem],
) -> Result<Money, CheckoutError> {
    let non_negative = |m: &Money| -> Result<(), CheckoutError> {
        if money::to_decimal(m)? < Decimal::ZERO {
            return Err(CheckoutError::Money(format!(
                "negative amount {} {}",
                money::to_decimal(m)?,
                m.currency_code
            )));
        }
        Ok(())
    };
    non_negative(shipping)?;
    let mut total = money::sum(&money::zero(currency), shipping)?;
    for i in items {
        let cost = i.cost.clone().unwrap_or_default();
        non_negative(&cost)?;
        let quantity = i
            .item
            .as_ref()
            .and_then(|c| u32::try_from(c.quantity).ok())
            .unwrap_or(0);
        total = money::sum(&total, &money::multiply(&cost, quantity)?)?;
    }
    Ok(total)
}

/// The order's value in USD from the catalog's USD prices and the USD quote
/// (no extra conversion call); `None` (logged) if those are not valid USD.
fn usd_value(quote_usd: &Money, items_usd: &[Money]) -> Option<f64> {
    match money::total(
        money::zero("USD"),
        std::iter::once(quote_usd).chain(items_usd),
    ) {
        Ok(m) => money::to_decimal(&m).ok().and_then(|d| d.to_f64()),
        Err(e) => {
            tracing::warn!(error = %e, "order value in USD unknown (prices not in USD?)");
            None
        }
    }
}

#[tonic::async_trait]
impl CheckoutService for Checkout {
    async fn place_order(
        &self,
        req: Request<PlaceOrderRequest>,
    ) -> Result<Response<PlaceOrderResponse>, Status> {
        let req = req.into_inner();
        let this = self.clone();
        // Its own task, so that a caller going away cannot stop the pipeline
        // between the charge and emptying the cart; same span, same trace.
        let task = tokio::spawn(
            async move { this.place_order(req).await }.instrument(tracing::Span::current()),
        );
        let result = task
            .await
            .unwrap_or_else(|e| Err(CheckoutError::Aborted(e.to_string())));
        match result {
            Ok(order) => Ok(Response::new(PlaceOrderResponse { order: Some(order) })),
            Err(e) => {
                if let Some(reason) = e.reason() {
                    metrics::failed(reason);
                }
                tracing::warn!(error = %e, "order failed");
                Err(e.into())
            }
        }
    }
}

/// Serves checkout on `listener` until `shutdown` resolves. The peer
/// channels are created once here and connect on first use.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let peers = Peers::new(&config)?;
    metrics::init();
    tracing::info!(
        downstream_timeout_ms = config.downstream_timeout.as_millis() as u64,
        catalog = %config.product_catalog_addr,
        currency = %config.currency_addr,
        cart = %config.cart_addr,
        shipping = %config.shipping_addr,
        payment = %config.payment_addr,
        email = %config.email_addr,
        "peers configured"
    );
    GrpcServer::new(service_names::CHECKOUT)
        .add_service(CheckoutServiceServer::new(Checkout::new(peers)))
        .serve(listener, shutdown)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(code: &str, units: i64, nanos: i32) -> Money {
        Money {
            currency_code: code.into(),
            units,
            nanos,
        }
    }

    fn oi(id: &str, q: i32, cost: Money) -> OrderItem {
        OrderItem {
            item: Some(CartItem {
                product_id: id.into(),
                quantity: q,
            }),
            cost: Some(cost),
        }
    }

    #[test]
    fn totals_are_exact() {
        let items = [
            oi("A", 2, m("USD", 19, 990_000_000)),
            oi("B", 3, m("USD", 5, 490_000_000)),
        ];
        assert_eq!(
            order_total("USD", &m("USD", 8, 990_000_000), &items),
            Ok(m("USD", 65, 440_000_000))
        );
    }

    #[test]
    fn bad_money_is_an_error_not_a_panic() {
        let ship = m("USD", 0, 0);
        let mismatched = [oi("A", 1, m("EUR", 1, 0))];
        assert_eq!(
            order_total("USD", &ship, &mismatched),
            Err(CheckoutError::Money("mismatching currency codes".into()))
        );
        let invalid = [oi("A", 1, m("USD", 1, -1))];
        assert!(matches!(
            order_total("USD", &ship, &invalid),
            Err(CheckoutError::Money(_))
        ));
        let huge = [oi("A", i32::MAX, m("USD", i64::MAX / 2, 0))];
        assert_eq!(
            order_total("USD", &ship, &huge),
            Err(CheckoutError::Money("money amount out of range".into()))
        );
        let negative = [oi("A", 1, m("USD", -1, 0))];
        assert!(matches!(
            order_total("USD", &ship, &negative),
            Err(CheckoutError::Money(_))
        ));
    }

    #[test]
    fn errors_map_to_upstreams_codes_and_texts() {
        let s = Status::from(CheckoutError::Product("X".into()));
        assert_eq!(s.code(), tonic::Code::Internal);
        assert_eq!(
            s.message(),
            "failed to prepare order: failed to get product #\"X\""
        );
        let s = Status::from(CheckoutError::Shipment("boom".into()));
        assert_eq!(s.code(), tonic::Code::Unavailable);
        assert_eq!(s.message(), "shipping error: shipment failed: boom");
        let s = Status::from(CheckoutError::EmptyCart);
        assert_eq!(s.code(), tonic::Code::FailedPrecondition);
        assert_eq!(s.message(), "cart is empty");
        assert_eq!(
            rpc_error(&Status::not_found("no product with ID X")),
            "rpc error: code = NotFound desc = no product with ID X"
        );
    }

    #[tokio::test]
    async fn order_ids_are_version_1() {
        let peers = Peers::new(&Config {
            product_catalog_addr: "a:1".into(),
            currency_addr: "a:1".into(),
            cart_addr: "a:1".into(),
            shipping_addr: "a:1".into(),
            payment_addr: "a:1".into(),
            email_addr: "a:1".into(),
            downstream_timeout: DEFAULT_DOWNSTREAM_TIMEOUT,
        });
        let c = Checkout::new(peers.unwrap());
        let a = c.new_order_id();
        let b = c.new_order_id();
        assert_eq!(a.get_version_num(), 1);
        assert_ne!(a, b);
        assert_eq!(a.as_bytes()[10..], b.as_bytes()[10..], "same node id");
    }

    #[test]
    fn config_reads_every_peer_and_the_timeout() {
        let all = [
            ("PRODUCT_CATALOG_SERVICE_ADDR", "productcatalogservice:3550"),
            ("CURRENCY_SERVICE_ADDR", "currencyservice:7000"),
            ("CART_SERVICE_ADDR", "cartservice:7070"),
            ("SHIPPING_SERVICE_ADDR", "shippingservice:50051"),
            ("PAYMENT_SERVICE_ADDR", "paymentservice:50051"),
            ("EMAIL_SERVICE_ADDR", "emailservice:5000"),
        ];
        let c = Config::from_env(&Env::from_pairs(all)).unwrap();
        assert_eq!(c.downstream_timeout, Duration::from_millis(3000));
        assert_eq!(c.email_addr, "emailservice:5000");
        let mut with = all.to_vec();
        with.push(("DOWNSTREAM_TIMEOUT_MS", "250"));
        let c = Config::from_env(&Env::from_pairs(with.clone())).unwrap();
        assert_eq!(c.downstream_timeout, Duration::from_millis(250));
        with.pop();
        with.push(("DOWNSTREAM_TIMEOUT_MS", "0"));
        assert_eq!(
            Config::from_env(&Env::from_pairs(with)).unwrap_err().var,
            "DOWNSTREAM_TIMEOUT_MS"
        );
        for (missing, _) in all {
            let env = Env::from_pairs(all.iter().filter(|(k, _)| *k != missing).copied());
            assert_eq!(Config::from_env(&env).unwrap_err().var, missing);
        }
    }
}
