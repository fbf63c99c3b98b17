//! `hipstershop.EmailService`: renders the order confirmation email and logs
//! that it did; no mail is ever sent (upstream always runs in "dummy mode").
//!
//! Unlike upstream, which only logs the request, the email is really rendered
//! from our own askama template (`templates/confirmation.html`), so a broken
//! order is noticed here. The address line uses the proto's real `Address`
//! fields (upstream's template referenced fields that do not exist).
//!
//! Bad input is `INVALID_ARGUMENT` with a message naming the field: a blank
//! `email`, a missing `order`, a missing nested message of the order
//! (`shipping_cost`, `shipping_address`, an item's `item` or `cost`) or an
//! amount that breaks the Money validity rules.

use std::future::Future;

use askama::Template;
use boutique_proto::{
    hipstershop::{
        Address, Empty, Money, OrderResult, SendOrderConfirmationRequest,
        email_service_server::{EmailService, EmailServiceServer},
    },
    service_names,
};
use boutique_runtime::{ConfigError, Env, GrpcServer, Probe, ServeError, ServiceInfo};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "emailservice",
    default_port: 8080,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// Service configuration (the service reads no variables of its own).
#[derive(Debug, Clone, Default)]
pub struct Config {}

impl Config {
    /// Nothing to read: `PORT` and the rest belong to the runtime.
    pub fn from_env(_env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {})
    }
}

/// Why a confirmation could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// `email` is empty or blank.
    #[error("email is required")]
    MissingEmail,
    /// A message field of the request is absent (`order`, `order.shipping_cost`, …).
    #[error("{0} is required")]
    MissingField(String),
    /// An amount breaks the Money validity rules.
    #[error(
        "{field} is not a valid amount (nanos must be within ±999999999 and have the sign of units)"
    )]
    InvalidMoney { field: String },
    /// The template failed (a defect, not bad input).
    #[error("cannot render the confirmation email: {0}")]
    Render(#[from] askama::Error),
}

impl From<EmailError> for Status {
    fn from(e: EmailError) -> Self {
        match e {
            EmailError::Render(_) => Status::internal(e.to_string()),
            EmailError::MissingEmail
            | EmailError::MissingField(_)
            | EmailError::InvalidMoney { .. } => Status::invalid_argument(e.to_string()),
        }
    }
}

/// `<units>.<NN> <currency_code>`, NN being the cents, truncated (as the shop
/// displays money everywhere).
pub fn format_money(m: &Money) -> String {
    let cents = (m.nanos / 10_000_000).unsigned_abs();
    let sign = if m.units < 0 || m.nanos < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{cents:02} {}",
        m.units.unsigned_abs(),
        m.currency_code
    )
}

/// One line: `street, city, state zip, country`, skipping empty parts
/// (a zip code of 0 is "not set").
pub fn address_line(a: &Address) -> String {
    let zip = if a.zip_code == 0 {
        String::new()
    } else {
        a.zip_code.to_string()
    };
    let state_zip = [a.state.trim(), zip.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    [
        a.street_address.trim(),
        a.city.trim(),
        state_zip.as_str(),
        a.country.trim(),
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect::<Vec<_>>()
    .join(", ")
}

/// One row of the items table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub product_id: String,
    pub quantity: i32,
    /// Unit price, formatted by [`format_money`].
    pub price: String,
}

/// The confirmation email (`templates/confirmation.html`). Every field is
/// HTML-escaped by askama.
#[derive(Debug, Clone, Template)]
#[template(path = "confirmation.html")]
pub struct ConfirmationEmail {
    pub order_id: String,
    pub tracking_id: String,
    pub shipping_cost: String,
    pub address: String,
    pub items: Vec<ItemRow>,
}

fn valid_money(m: Option<&Money>, field: impl Fn() -> String) -> Result<&Money, EmailError> {
    let m = m.ok_or_else(|| EmailError::MissingField(field()))?;
    if boutique_money::is_valid(m) {
        Ok(m)
    } else {
        Err(EmailError::InvalidMoney { field: field() })
    }
}

impl ConfirmationEmail {
    /// The email's content for `order`, or what is missing or invalid in it.
    pub fn from_order(order: &OrderResult) -> Result<Self, EmailError> {
        let shipping_cost = valid_money(order.shipping_cost.as_ref(), || {
            "order.shipping_cost".to_owned()
        })?;
        let address = order
            .shipping_address
            .as_ref()
            .ok_or_else(|| EmailError::MissingField("order.shipping_address".into()))?;
        let items = order
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let item = it
                    .item
                    .as_ref()
                    .ok_or_else(|| EmailError::MissingField(format!("order.items[{i}].item")))?;
                let cost = valid_money(it.cost.as_ref(), || format!("order.items[{i}].cost"))?;
                Ok(ItemRow {
                    product_id: item.product_id.clone(),
                    quantity: item.quantity,
                    price: format_money(cost),
                })
            })
            .collect::<Result<Vec<_>, EmailError>>()?;
        Ok(Self {
            order_id: order.order_id.clone(),
            tracking_id: order.shipping_tracking_id.clone(),
            shipping_cost: format_money(shipping_cost),
            address: address_line(address),
            items,
        })
    }
}

/// Renders the confirmation email of `order` to HTML.
pub fn render_confirmation(order: &OrderResult) -> Result<String, EmailError> {
    Ok(ConfirmationEmail::from_order(order)?.render()?)
}

/// Checks the request and renders its email: `(email, order_id, html)`.
fn confirm(req: SendOrderConfirmationRequest) -> Result<(String, String, String), EmailError> {
    let email = req.email.trim();
    if email.is_empty() {
        return Err(EmailError::MissingEmail);
    }
    let order = req
        .order
        .ok_or_else(|| EmailError::MissingField("order".into()))?;
    let html = render_confirmation(&order)?;
    Ok((email.to_owned(), order.order_id, html))
}

/// The service implementation.
#[derive(Debug, Clone, Default)]
pub struct Mailer;

#[tonic::async_trait]
impl EmailService for Mailer {
    async fn send_order_confirmation(
        &self,
        req: Request<SendOrderConfirmationRequest>,
    ) -> Result<Response<Empty>, Status> {
        let (email, order_id, html) = confirm(req.into_inner())?;
        tracing::info!(
            email = %email,
            order_id = %order_id,
            size_bytes = html.len() as u64,
            "order confirmation email rendered"
        );
        tracing::debug!(html = %html, "order confirmation email body");
        Ok(Response::new(Empty {}))
    }
}

/// Error of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server failed.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Serves the email service on `listener` until `shutdown` resolves.
pub async fn serve(
    _config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    GrpcServer::new(service_names::EMAIL)
        .add_service(EmailServiceServer::new(Mailer))
        .serve(listener, shutdown)
        .await
        .map_err(Error::Serve)
}

#[cfg(test)]
mod tests {
    use boutique_proto::hipstershop::{CartItem, OrderItem};

    use super::*;

    fn money(code: &str, units: i64, nanos: i32) -> Option<Money> {
        Some(Money {
            currency_code: code.into(),
            units,
            nanos,
        })
    }

    fn order() -> OrderResult {
        OrderResult {
            order_id: "4f9c2a1e-0000-11ef-9c1d-0242ac120002".into(),
            shipping_tracking_id: "AB-12345-67890123".into(),
            shipping_cost: money("EUR", 8, 990_000_000),
            shipping_address: Some(Address {
                street_address: "1600 Amphitheatre Parkway".into(),
                city: "Mountain View".into(),
                state: "CA".into(),
                country: "United States".into(),
                zip_code: 94043,
            }),
            items: vec![
                OrderItem {
                    item: Some(CartItem {
                        product_id: "OLJCESPC7Z".into(),
                        quantity: 2,
                    }),
                    cost: money("EUR", 17, 59_000_000),
                },
                OrderItem {
                    item: Some(CartItem {
                        product_id: "6E92ZMYYFZ".into(),
                        quantity: 1,
                    }),
                    cost: money("EUR", 7, 999_999_999),
                },
            ],
        }
    }

    #[test]
    fn money_is_units_dot_truncated_cents_and_code() {
        assert_eq!(
            format_money(&money("USD", 8, 990_000_000).unwrap()),
            "8.99 USD"
        );
        assert_eq!(
            format_money(&money("EUR", 17, 59_000_000).unwrap()),
            "17.05 EUR"
        );
        assert_eq!(format_money(&money("JPY", 1200, 0).unwrap()), "1200.00 JPY");
        assert_eq!(
            format_money(&money("USD", 0, 9_999_999).unwrap()),
            "0.00 USD"
        );
        assert_eq!(
            format_money(&money("USD", 7, 999_999_999).unwrap()),
            "7.99 USD"
        );
        assert_eq!(
            format_money(&money("USD", 0, -500_000_000).unwrap()),
            "-0.50 USD"
        );
        assert_eq!(
            format_money(&money("USD", -3, -10_000_000).unwrap()),
            "-3.01 USD"
        );
    }

    #[test]
    fn address_line_uses_the_real_fields_and_skips_empty_ones() {
        let a = order().shipping_address.unwrap();
        assert_eq!(
            address_line(&a),
            "1600 Amphitheatre Parkway, Mountain View, CA 94043, United States"
        );
        let partial = Address {
            city: "Paris".into(),
            country: "France".into(),
            ..Default::default()
        };
        assert_eq!(address_line(&partial), "Paris, France");
        let zip_only = Address {
            zip_code: 75001,
            ..Default::default()
        };
        assert_eq!(address_line(&zip_only), "75001");
    }

    #[test]
    fn renders_every_fact_of_the_order() {
        let html = render_confirmation(&order()).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("<title>Your Order Confirmation</title>"));
        assert!(html.contains("<h1>Your Order Confirmation</h1>"));
        assert!(html.contains("<td>#4f9c2a1e-0000-11ef-9c1d-0242ac120002</td>"));
        assert!(html.contains("<td>#AB-12345-67890123</td>"));
        assert!(html.contains("<td>8.99 EUR</td>"));
        assert!(html.contains(
            "<td>1600 Amphitheatre Parkway, Mountain View, CA 94043, United States</td>"
        ));
        assert!(html.contains("<th>Item No.</th><th>Quantity</th><th>Price</th>"));
        assert!(html.contains("<tr><td>#OLJCESPC7Z</td><td>2</td><td>17.05 EUR</td></tr>"));
        assert!(html.contains("<tr><td>#6E92ZMYYFZ</td><td>1</td><td>7.99 EUR</td></tr>"));
        let first = html.find("#OLJCESPC7Z").unwrap();
        let second = html.find("#6E92ZMYYFZ").unwrap();
        assert!(first < second, "items keep the order's order");
        assert!(!html.contains("{{") && !html.contains("{%"));
    }

    #[test]
    fn no_items_renders_an_empty_table() {
        let mut o = order();
        o.items.clear();
        let html = render_confirmation(&o).unwrap();
        assert!(html.contains("<tbody>\n      </tbody>"), "{html}");
        assert!(!html.contains("<td>#OLJCESPC7Z"));
    }

    #[test]
    fn every_field_is_html_escaped() {
        let mut o = order();
        o.order_id = "<script>alert(1)</script>".into();
        o.shipping_tracking_id = "\"quoted\" & 'single'".into();
        o.shipping_address = Some(Address {
            street_address: "<img src=x onerror=alert(2)>".into(),
            ..Default::default()
        });
        o.shipping_cost = money("<b>", 1, 0);
        o.items[0].item = Some(CartItem {
            product_id: "</td><script>x</script>".into(),
            quantity: 1,
        });
        let html = render_confirmation(&o).unwrap();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("\"quoted\""), "{html}");
        assert!(
            html.contains("#&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{html}"
        );
        assert!(
            html.contains("#&#34;quoted&#34; &#38; &#39;single&#39;"),
            "{html}"
        );
        assert!(html.contains("1.00 &#60;b&#62;"), "{html}");
        assert!(html.contains("<td>#&#60;/td&#62;&#60;script&#62;x&#60;/script&#62;</td>"));
    }

    #[test]
    fn missing_or_invalid_parts_name_the_field() {
        /// Breaks one part of a good order, and the message that follows.
        type Breakage = (fn(&mut OrderResult), &'static str);
        let cases: Vec<Breakage> = vec![
            (
                |o| o.shipping_cost = None,
                "order.shipping_cost is required",
            ),
            (
                |o| o.shipping_address = None,
                "order.shipping_address is required",
            ),
            (
                |o| o.items[1].item = None,
                "order.items[1].item is required",
            ),
            (
                |o| o.items[0].cost = None,
                "order.items[0].cost is required",
            ),
            (
                |o| o.shipping_cost = money("USD", 1, -1),
                "order.shipping_cost is not a valid amount (nanos must be within ±999999999 and have the sign of units)",
            ),
            (
                |o| o.items[1].cost = money("USD", 0, 1_000_000_000),
                "order.items[1].cost is not a valid amount (nanos must be within ±999999999 and have the sign of units)",
            ),
        ];
        for (break_it, message) in cases {
            let mut o = order();
            break_it(&mut o);
            let status = Status::from(render_confirmation(&o).unwrap_err());
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert_eq!(status.message(), message);
        }
    }

    #[test]
    fn request_needs_an_email_and_an_order() {
        for email in ["", "   "] {
            let err = confirm(SendOrderConfirmationRequest {
                email: email.into(),
                order: Some(order()),
            })
            .unwrap_err();
            assert_eq!(err.to_string(), "email is required");
        }
        let err = confirm(SendOrderConfirmationRequest {
            email: "a@b.c".into(),
            order: None,
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "order is required");
        let (email, order_id, html) = confirm(SendOrderConfirmationRequest {
            email: " someone@example.com ".into(),
            order: Some(order()),
        })
        .unwrap();
        assert_eq!(email, "someone@example.com");
        assert_eq!(order_id, "4f9c2a1e-0000-11ef-9c1d-0242ac120002");
        assert!(html.contains("Your Order Confirmation"));
    }
}
