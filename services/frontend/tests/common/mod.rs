//! The whole shop's backends, started in the test process on ephemeral
//! loopback ports over real gRPC, and a small cookie-keeping HTTP client
//! that drives the frontend router in-process.

#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use axum::{Router, body::Body};
use boutique_testkit::{TestServer, spawn};
use frontend::{AppState, Config, Peers};
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// The nine backends.
pub struct Backends {
    pub catalog: TestServer,
    pub currency: TestServer,
    pub cart: TestServer,
    pub recommendation: TestServer,
    pub shipping: TestServer,
    pub payment: TestServer,
    pub email: TestServer,
    pub ad: TestServer,
    pub checkout: TestServer,
}

impl Backends {
    /// Starts every backend.
    pub async fn start() -> Self {
        let catalog = spawn(|l, s| {
            productcatalogservice::serve(productcatalogservice::Config::default(), l, s)
        })
        .await;
        let currency = spawn(|l, s| currencyservice::serve(currencyservice::Config, l, s)).await;
        let cart = spawn(|l, s| cartservice::serve(cartservice::Config::default(), l, s)).await;
        let catalog_addr = catalog.host_port();
        let recommendation = spawn(move |l, s| {
            recommendationservice::serve(recommendationservice::Config::new(catalog_addr), l, s)
        })
        .await;
        let shipping = spawn(|l, s| shippingservice::serve(shippingservice::Config, l, s)).await;
        let payment =
            spawn(|l, s| paymentservice::serve(paymentservice::Config::default(), l, s)).await;
        let email = spawn(|l, s| emailservice::serve(emailservice::Config {}, l, s)).await;
        let ad = spawn(|l, s| adservice::serve(adservice::Config, l, s)).await;
        let checkout_config = checkoutservice::Config {
            product_catalog_addr: catalog.host_port(),
            currency_addr: currency.host_port(),
            cart_addr: cart.host_port(),
            shipping_addr: shipping.host_port(),
            payment_addr: payment.host_port(),
            email_addr: email.host_port(),
            downstream_timeout: Duration::from_secs(5),
        };
        let checkout = spawn(move |l, s| checkoutservice::serve(checkout_config, l, s)).await;
        Self {
            catalog,
            currency,
            cart,
            recommendation,
            shipping,
            payment,
            email,
            ad,
            checkout,
        }
    }

    /// The frontend's peer addresses.
    pub fn peers(&self) -> Peers {
        Peers {
            product_catalog: self.catalog.host_port(),
            currency: self.currency.host_port(),
            cart: self.cart.host_port(),
            recommendation: self.recommendation.host_port(),
            shipping: self.shipping.host_port(),
            checkout: self.checkout.host_port(),
            ad: self.ad.host_port(),
        }
    }

    /// A frontend configuration over these backends. The ad deadline is
    /// widened from upstream's 100 ms (the default, checked in the unit
    /// tests) so that a busy test machine still shows the ads the tests
    /// look for.
    pub fn config(&self) -> Config {
        let mut c = Config::new(self.peers());
        c.ad_timeout = Duration::from_secs(5);
        c
    }
}

/// The frontend router for `config`.
pub fn app(config: Config) -> Router {
    frontend::router(AppState::new(config).unwrap())
}

/// An answer, body read.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn location(&self) -> &str {
        self.header("location")
    }

    /// Panics with the body when the status differs.
    pub fn expect(self, status: StatusCode) -> Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }

    /// The text of the element with `id` (a flat, tag-free text).
    pub fn by_id(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let at = self.body.find(&marker)?;
        let rest = &self.body[at..];
        let start = rest.find('>')? + 1;
        let end = rest[start..].find('<')?;
        Some(html_unescape(rest[start..start + end].trim()))
    }

    /// Number of occurrences of `needle` in the body.
    pub fn count(&self, needle: &str) -> usize {
        self.body.matches(needle).count()
    }
}

/// Undoes askama's HTML escaping.
pub fn html_unescape(s: &str) -> String {
    s.replace("&#38;", "&")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
}

/// Sends one request through the router.
pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A browser-like client: keeps cookies across requests.
pub struct Client {
    pub app: Router,
    pub cookies: Vec<(String, String)>,
}

impl Client {
    pub fn new(app: Router) -> Self {
        Self {
            app,
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn remember(&mut self, a: &Answer) {
        for c in a.set_cookies() {
            let first = c.split(';').next().unwrap();
            let (k, v) = first.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !c.contains("Max-Age=0") {
                self.cookies.push((k.to_owned(), v.to_owned()));
            }
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub async fn request(&mut self, mut req: Request<Body>) -> Answer {
        if let Some(c) = self.cookie_header() {
            req.headers_mut().insert(header::COOKIE, c.parse().unwrap());
        }
        let a = send(&self.app, req).await;
        self.remember(&a);
        a
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.request(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Answer {
        self.request(form_request(path, form)).await
    }
}

/// `POST path` with an urlencoded body.
pub fn form_request(path: &str, form: &[(&str, &str)]) -> Request<Body> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// The value of the hidden input `name` in a page.
pub fn hidden_value(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no input {name}"));
    let rest = &body[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// The checkout form's defaults (what a shopper submits unchanged).
pub fn default_order_form(token: &str, year: i32) -> Vec<(&'static str, String)> {
    vec![
        ("email", "someone@example.com".into()),
        ("street_address", "1600 Amphitheatre Parkway".into()),
        ("zip_code", "94043".into()),
        ("city", "Mountain View".into()),
        ("state", "CA".into()),
        ("country", "United States".into()),
        ("credit_card_number", "4432801561520454".into()),
        ("credit_card_expiration_month", "1".into()),
        ("credit_card_expiration_year", (year + 1).to_string()),
        ("credit_card_cvv", "672".into()),
        ("order_token", token.into()),
    ]
}

/// `form` as `&str` pairs.
pub fn pairs<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
