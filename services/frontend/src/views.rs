//! Page models and their askama templates (`templates/`).

use askama::Template;
use boutique_proto::hipstershop::{Money, Product};

use crate::{assets, config::Config, session::RequestCtx};

/// Currencies the picker offers (upstream's whitelist), shown in the
/// currency service's order.
pub const WHITELIST: [&str; 6] = ["USD", "EUR", "CAD", "JPY", "GBP", "TRY"];

/// The page chrome every template shares (§11.4).
#[derive(Debug, Clone)]
pub struct Chrome {
    pub base: String,
    pub brand: &'static str,
    pub cymbal: bool,
    pub logo: String,
    pub favicon: String,
    pub css: String,
    pub js: String,
    pub cart_icon: String,
    pub wand_icon: String,
    pub currency: String,
    pub currency_symbol: &'static str,
    pub currencies: Vec<String>,
    pub show_currency: bool,
    /// `Some` on pages that know the cart (home, product, cart).
    pub cart_size: Option<i64>,
    pub platform_name: &'static str,
    pub platform_css: &'static str,
    pub message: Option<String>,
    pub session_id: String,
    pub request_id: String,
    pub assistant: bool,
    pub year: i32,
    pub hostname: Option<String>,
}

impl Chrome {
    /// The chrome of a page for `ctx`; pages then set currency and cart data.
    pub fn new(config: &Config, ctx: Option<&RequestCtx>) -> Self {
        let base = config.base_url.clone();
        let cymbal = config.cymbal_branding;
        let url = |p: &str| assets::versioned_url(&base, p);
        Self {
            brand: if cymbal {
                "Cymbal Shops"
            } else {
                "Online Boutique"
            },
            cymbal,
            logo: url(if cymbal {
                "icons/logo-cymbal.svg"
            } else {
                "icons/logo.svg"
            }),
            favicon: url(if cymbal {
                "icons/favicon-cymbal.svg"
            } else {
                "icons/favicon.svg"
            }),
            css: url("styles/shop.css"),
            js: url("js/shop.js"),
            cart_icon: url("icons/cart.svg"),
            wand_icon: url("icons/wand.svg"),
            currency: ctx.map_or_else(|| "USD".to_owned(), |c| c.currency.clone()),
            currency_symbol: "$",
            currencies: Vec::new(),
            show_currency: false,
            cart_size: None,
            platform_name: config.platform.name(),
            platform_css: config.platform.css(),
            message: config.frontend_message.clone(),
            session_id: ctx.map(|c| c.session_id.to_string()).unwrap_or_default(),
            request_id: ctx.map(|c| c.request_id.to_string()).unwrap_or_default(),
            assistant: config.assistant_enabled,
            year: time::OffsetDateTime::now_utc().year(),
            hostname: config.hostname.clone(),
            base,
        }
    }

    /// Sets the shown currency and the picker's list: the whitelisted codes
    /// the currency service supports, in its order, plus the current code
    /// when the visitor chose another supported one.
    pub fn with_currency(mut self, currency: &str, supported: &[String], show: bool) -> Self {
        let mut list: Vec<String> = supported
            .iter()
            .filter(|c| WHITELIST.contains(&c.as_str()))
            .cloned()
            .collect();
        if !list.iter().any(|c| c == currency) {
            list.push(currency.to_owned());
        }
        self.currencies = list;
        self.currency = currency.to_owned();
        self.currency_symbol = boutique_money::symbol(currency);
        self.show_currency = show;
        self
    }
}

/// The currency a page shows: the visitor's choice when the currency service
/// supports it, else USD.
pub fn effective_currency(requested: &str, supported: &[String]) -> String {
    if supported.iter().any(|c| c == requested) {
        requested.to_owned()
    } else {
        "USD".to_owned()
    }
}

/// A product as the pages show it.
#[derive(Debug, Clone)]
pub struct ProductCard {
    pub id: String,
    pub name: String,
    pub description: String,
    pub picture: String,
    pub url: String,
    pub price: String,
    pub categories: Vec<String>,
}

impl ProductCard {
    pub fn new(base: &str, p: &Product, price: Option<&Money>) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            picture: picture_url(base, &p.picture),
            url: format!("{base}/product/{}", p.id),
            price: price.map(boutique_money::display).unwrap_or_default(),
            categories: p.categories.clone(),
        }
    }
}

/// `BASE_URL + picture` for site-relative pictures, absolute URLs unchanged.
pub fn picture_url(base: &str, picture: &str) -> String {
    if picture.starts_with("http://") || picture.starts_with("https://") {
        picture.to_owned()
    } else if picture.starts_with('/') {
        format!("{base}{picture}")
    } else {
        format!("{base}/{picture}")
    }
}

#[derive(Template)]
#[template(path = "home.html")]
pub struct HomePage {
    pub chrome: Chrome,
    pub products: Vec<ProductCard>,
    pub hero: String,
}

/// The ad shown on a product page.
#[derive(Debug, Clone)]
pub struct AdView {
    pub url: String,
    pub text: String,
}

/// The packaging block (`PACKAGING_SERVICE_URL`).
#[derive(Debug, Clone)]
pub struct PackagingView {
    pub weight: String,
    pub width: String,
    pub height: String,
    pub depth: String,
}

#[derive(Template)]
#[template(path = "product.html")]
pub struct ProductPage {
    pub chrome: Chrome,
    pub product: ProductCard,
    pub quantities: Vec<u32>,
    pub ad: Option<AdView>,
    pub packaging: Option<PackagingView>,
    pub recommendations: Vec<ProductCard>,
}

/// One line of the cart.
#[derive(Debug, Clone)]
pub struct CartLine {
    pub product: ProductCard,
    pub quantity: i32,
    pub line_price: String,
}

/// An `<option>` of a select.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The checkout form's defaults (upstream's values).
#[derive(Debug, Clone)]
pub struct CheckoutForm {
    pub token: String,
    pub email: &'static str,
    pub street_address: &'static str,
    pub zip_code: &'static str,
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub credit_card_number: &'static str,
    pub credit_card_cvv: &'static str,
    pub months: Vec<SelectOption>,
    pub years: Vec<SelectOption>,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl CheckoutForm {
    /// Defaults with month labels January–December (upstream labels 12
    /// "January" by mistake) and years `year .. year+4`, `year+1` selected.
    pub fn new(token: String, year: i32) -> Self {
        Self {
            token,
            email: "someone@example.com",
            street_address: "1600 Amphitheatre Parkway",
            zip_code: "94043",
            city: "Mountain View",
            state: "CA",
            country: "United States",
            credit_card_number: "4432801561520454",
            credit_card_cvv: "672",
            months: MONTHS
                .iter()
                .enumerate()
                .map(|(i, m)| SelectOption {
                    value: (i + 1).to_string(),
                    label: (*m).to_owned(),
                    selected: i == 0,
                })
                .collect(),
            years: (year..year + 5)
                .map(|y| SelectOption {
                    value: y.to_string(),
                    label: y.to_string(),
                    selected: y == year + 1,
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "cart.html")]
pub struct CartPage {
    pub chrome: Chrome,
    pub lines: Vec<CartLine>,
    pub cart_size: i64,
    pub shipping: String,
    pub total: String,
    pub form: CheckoutForm,
    pub recommendations: Vec<ProductCard>,
    pub empty_art: String,
}

/// One line of a placed order.
#[derive(Debug, Clone)]
pub struct OrderLine {
    pub product_id: String,
    pub name: String,
    pub picture: String,
    pub url: String,
    pub quantity: i32,
    pub unit_price: String,
    pub line_price: String,
}

#[derive(Template)]
#[template(path = "order.html")]
pub struct OrderPage {
    pub chrome: Chrome,
    pub order_id: String,
    pub tracking_id: String,
    pub lines: Vec<OrderLine>,
    pub shipping: String,
    pub total: String,
    pub address: String,
    pub recommendations: Vec<ProductCard>,
    pub check_icon: String,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub status_line: String,
    pub headline: &'static str,
    pub message: String,
    pub alert_icon: String,
}

#[derive(Template)]
#[template(path = "assistant.html")]
pub struct AssistantPage {
    pub chrome: Chrome,
    pub script: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picture_urls() {
        assert_eq!(
            picture_url("/shop", "/static/img/products/mug.jpg"),
            "/shop/static/img/products/mug.jpg"
        );
        assert_eq!(picture_url("", "img/x.jpg"), "/img/x.jpg");
        assert_eq!(picture_url("/b", "https://cdn/x.jpg"), "https://cdn/x.jpg");
    }

    #[test]
    fn checkout_defaults() {
        let f = CheckoutForm::new("t".into(), 2026);
        assert_eq!(f.months.len(), 12);
        assert_eq!(f.months[11].label, "December");
        assert_eq!(f.months[11].value, "12");
        let years: Vec<_> = f.years.iter().map(|y| y.value.as_str()).collect();
        assert_eq!(years, ["2026", "2027", "2028", "2029", "2030"]);
        assert!(f.years[1].selected && !f.years[0].selected);
    }

    #[test]
    fn currencies() {
        let supported: Vec<String> = ["EUR", "USD", "JPY", "CHF", "GBP", "TRY", "CAD"]
            .map(String::from)
            .to_vec();
        assert_eq!(effective_currency("CHF", &supported), "CHF");
        assert_eq!(effective_currency("XAU", &supported), "USD");
        let cfg = Config::new(crate::config::Peers {
            product_catalog: String::new(),
            currency: String::new(),
            cart: String::new(),
            recommendation: String::new(),
            shipping: String::new(),
            checkout: String::new(),
            ad: String::new(),
        });
        let c = Chrome::new(&cfg, None).with_currency("EUR", &supported, true);
        assert_eq!(c.currencies, ["EUR", "USD", "JPY", "GBP", "TRY", "CAD"]);
        assert_eq!(c.currency_symbol, "€");
        let c = Chrome::new(&cfg, None).with_currency("CHF", &supported, true);
        assert_eq!(c.currencies.last().map(String::as_str), Some("CHF"));
    }
}
