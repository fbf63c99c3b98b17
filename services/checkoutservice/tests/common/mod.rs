//! A whole shop in the test process: the real catalog, currency, payment,
//! shipping, email and (in-memory) cart services and the checkout, each on
//! its own ephemeral loopback port and talking real gRPC.
//!
//! Payment is the real `paymentservice::Payments` behind a thin decorator
//! that records every Charge request and its outcome, so a test can prove
//! what was (not) charged and the exact amount.

#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use boutique_proto::{
    hipstershop::{
        AddItemRequest, Address, CartItem, ChargeRequest, ChargeResponse, CreditCardInfo,
        GetCartRequest, GetQuoteRequest, GetQuoteResponse, Money, PlaceOrderRequest,
        ShipOrderRequest, ShipOrderResponse,
        cart_service_client::CartServiceClient,
        checkout_service_client::CheckoutServiceClient,
        payment_service_server::{PaymentService, PaymentServiceServer},
        shipping_service_server::{ShippingService, ShippingServiceServer},
    },
    service_names,
};
use boutique_runtime::GrpcServer;
use boutique_testkit::{TestServer, dead_addr, spawn};
use checkoutservice::Config;
use tonic::{Request, Response, Status, transport::Channel};

/// One Charge seen by the payment service: the amount asked and whether the
/// real payment logic accepted it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChargeRecord {
    pub amount: Option<Money>,
    pub accepted: bool,
}

#[derive(Clone)]
struct RecordingPayments {
    inner: Arc<paymentservice::Payments>,
    log: Arc<Mutex<Vec<ChargeRecord>>>,
}

#[tonic::async_trait]
impl PaymentService for RecordingPayments {
    async fn charge(
        &self,
        req: Request<ChargeRequest>,
    ) -> Result<Response<ChargeResponse>, Status> {
        let amount = req.get_ref().amount.clone();
        let result = self.inner.charge(req).await;
        self.log.lock().expect("charge log").push(ChargeRecord {
            amount,
            accepted: result.is_ok(),
        });
        result
    }
}

/// The real shipping service, except that ShipOrder fails (quotes work).
struct ShipOrderFails(shippingservice::Shipping);

#[tonic::async_trait]
impl ShippingService for ShipOrderFails {
    async fn get_quote(
        &self,
        req: Request<GetQuoteRequest>,
    ) -> Result<Response<GetQuoteResponse>, Status> {
        self.0.get_quote(req).await
    }
    async fn ship_order(
        &self,
        _req: Request<ShipOrderRequest>,
    ) -> Result<Response<ShipOrderResponse>, Status> {
        Err(Status::unavailable("the truck broke down"))
    }
}

/// Which peers are unreachable (or misbehave) in a shop.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    pub shipping_down: bool,
    pub ship_order_fails: bool,
    pub email_down: bool,
    pub currency_down: bool,
    pub catalog_black_hole: bool,
    pub downstream_timeout: Option<Duration>,
}

pub struct Shop {
    pub checkout: CheckoutServiceClient<Channel>,
    pub cart: CartServiceClient<Channel>,
    charges: Arc<Mutex<Vec<ChargeRecord>>>,
    servers: Vec<TestServer>,
    _black_hole: Option<tokio::net::TcpListener>,
}

impl Shop {
    pub async fn start(faults: Faults) -> Self {
        let mut servers = Vec::new();
        let catalog = spawn(|l, s| {
            productcatalogservice::serve(productcatalogservice::Config::default(), l, s)
        })
        .await;
        let currency = spawn(|l, s| currencyservice::serve(currencyservice::Config, l, s)).await;
        let email = spawn(|l, s| emailservice::serve(emailservice::Config {}, l, s)).await;
        let cart = spawn(|l, s| cartservice::serve(cartservice::Config::default(), l, s)).await;
        let ship_order_fails = faults.ship_order_fails;
        let shipping = spawn(move |l, s| async move {
            let server = GrpcServer::new(service_names::SHIPPING);
            let server = if ship_order_fails {
                server.add_service(ShippingServiceServer::new(ShipOrderFails(
                    shippingservice::Shipping,
                )))
            } else {
                server.add_service(ShippingServiceServer::new(shippingservice::Shipping))
            };
            server.serve(l, s).await
        })
        .await;
        let charges = Arc::new(Mutex::new(Vec::new()));
        let recording = RecordingPayments {
            inner: Arc::new(paymentservice::Payments::new(
                paymentservice::utc_year_month,
            )),
            log: charges.clone(),
        };
        let payment = spawn(move |l, s| {
            GrpcServer::new(service_names::PAYMENT)
                .add_service(PaymentServiceServer::new(recording))
                .serve(l, s)
        })
        .await;

        // A peer that accepts TCP connections and never answers.
        let black_hole = if faults.catalog_black_hole {
            Some(
                tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind a black hole"),
            )
        } else {
            None
        };
        let catalog_addr = match &black_hole {
            Some(l) => l.local_addr().expect("local address").to_string(),
            None => catalog.host_port(),
        };
        let config = Config {
            product_catalog_addr: catalog_addr,
            currency_addr: if faults.currency_down {
                dead_addr().await
            } else {
                currency.host_port()
            },
            cart_addr: cart.host_port(),
            shipping_addr: if faults.shipping_down {
                dead_addr().await
            } else {
                shipping.host_port()
            },
            payment_addr: payment.host_port(),
            email_addr: if faults.email_down {
                dead_addr().await
            } else {
                email.host_port()
            },
            downstream_timeout: faults
                .downstream_timeout
                .unwrap_or(checkoutservice::DEFAULT_DOWNSTREAM_TIMEOUT),
        };
        let checkout = spawn(move |l, s| checkoutservice::serve(config, l, s)).await;
        let checkout_client = CheckoutServiceClient::new(checkout.channel().await);
        let cart_client = CartServiceClient::new(cart.channel().await);
        servers.extend([catalog, currency, email, cart, shipping, payment, checkout]);
        Self {
            checkout: checkout_client,
            cart: cart_client,
            charges,
            servers,
            _black_hole: black_hole,
        }
    }

    pub fn checkout_server(&self) -> &TestServer {
        self.servers.last().expect("the checkout runs")
    }

    /// Every Charge request the payment service received so far.
    pub fn charges(&self) -> Vec<ChargeRecord> {
        self.charges.lock().expect("charge log").clone()
    }

    pub async fn add(&mut self, user: &str, product_id: &str, quantity: i32) {
        self.cart
            .add_item(AddItemRequest {
                user_id: user.into(),
                item: Some(CartItem {
                    product_id: product_id.into(),
                    quantity,
                }),
            })
            .await
            .unwrap_or_else(|s| panic!("AddItem: {s}"));
    }

    pub async fn cart_items(&mut self, user: &str) -> Vec<CartItem> {
        self.cart
            .get_cart(GetCartRequest {
                user_id: user.into(),
            })
            .await
            .unwrap_or_else(|s| panic!("GetCart: {s}"))
            .into_inner()
            .items
    }

    pub async fn stop(self) {
        for s in self.servers {
            s.stop().await;
        }
    }
}

pub fn item(id: &str, quantity: i32) -> CartItem {
    CartItem {
        product_id: id.into(),
        quantity,
    }
}

pub fn money(code: &str, units: i64, nanos: i32) -> Money {
    Money {
        currency_code: code.into(),
        units,
        nanos,
    }
}

pub fn address() -> Address {
    Address {
        street_address: "1600 Amphitheatre Parkway".into(),
        city: "Mountain View".into(),
        state: "CA".into(),
        country: "United States".into(),
        zip_code: 94043,
    }
}

/// A valid VISA (Luhn-correct, 16 digits) that expires far in the future.
pub fn good_card() -> CreditCardInfo {
    CreditCardInfo {
        credit_card_number: "4432-8015-6152-0454".into(),
        credit_card_cvv: 672,
        credit_card_expiration_year: 2099,
        credit_card_expiration_month: 1,
    }
}

pub fn order_request(user: &str, currency: &str) -> PlaceOrderRequest {
    PlaceOrderRequest {
        user_id: user.into(),
        user_currency: currency.into(),
        address: Some(address()),
        email: "someone@example.com".into(),
        credit_card: Some(good_card()),
    }
}
