//! The frontend's configuration (contract §11.1, `docs/CONVENTIONS.md`).

use std::time::Duration;

use boutique_runtime::{ConfigError, DEFAULT_CALL_TIMEOUT, Env};

/// The fixed session id of `ENABLE_SINGLE_SHARED_SESSION=true` (upstream's value).
pub const SHARED_SESSION_ID: &str = "12345678-1234-1234-1234-123456789123";

/// Where the shop says it runs (`ENV_PLATFORM`, §11.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Local,
    Gcp,
    Azure,
    Aws,
    OnPrem,
    Alibaba,
}

impl Platform {
    /// Upstream's rule: exactly one of the known words, anything else is `local`.
    /// (Upstream also forces `gcp` when `metadata.google.internal` resolves; we
    /// do not probe DNS: set `ENV_PLATFORM=gcp` on GKE.)
    pub fn parse(v: Option<&str>) -> Self {
        match v.unwrap_or("") {
            "gcp" => Self::Gcp,
            "azure" => Self::Azure,
            "aws" => Self::Aws,
            "onprem" => Self::OnPrem,
            "alibaba" => Self::Alibaba,
            _ => Self::Local,
        }
    }

    /// The banner text.
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Gcp => "Google Cloud",
            Self::Azure => "Azure",
            Self::Aws => "AWS",
            Self::OnPrem => "On-Premises",
            Self::Alibaba => "Alibaba Cloud",
        }
    }

    /// The banner's CSS class (upstream's class names).
    pub fn css(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Gcp => "gcp-platform",
            Self::Azure => "azure-platform",
            Self::Aws => "aws-platform",
            Self::OnPrem => "onprem-platform",
            Self::Alibaba => "alibaba-platform",
        }
    }
}

/// Addresses of the gRPC services the frontend calls.
#[derive(Debug, Clone)]
pub struct Peers {
    pub product_catalog: String,
    pub currency: String,
    pub cart: String,
    pub recommendation: String,
    pub shipping: String,
    pub checkout: String,
    pub ad: String,
}

/// Service configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `*_SERVICE_ADDR` peers (all required).
    pub peers: Peers,
    /// `SHOPPING_ASSISTANT_SERVICE_ADDR` (`host:port`, HTTP/1.1), optional.
    pub assistant_addr: Option<String>,
    /// `ENABLE_ASSISTANT=true` and an assistant address: shows the assistant
    /// link and serves `/assistant` and `/bot`.
    pub assistant_enabled: bool,
    /// `BASE_URL`: path prefix of every route and link, `""` or `/prefix`.
    pub base_url: String,
    /// `ENV_PLATFORM`.
    pub platform: Platform,
    /// `CYMBAL_BRANDING=true`.
    pub cymbal_branding: bool,
    /// `ENABLE_SINGLE_SHARED_SESSION=true`: every new visitor gets [`SHARED_SESSION_ID`].
    pub single_shared_session: bool,
    /// `FRONTEND_MESSAGE`, trimmed; shown as a bar on every page.
    pub frontend_message: Option<String>,
    /// `PACKAGING_SERVICE_URL` (`http://host[:port][/path]`), optional.
    pub packaging_url: Option<String>,
    /// Pod name for the footer (`HOSTNAME`).
    pub hostname: Option<String>,
    /// Deadline of an ordinary backend call.
    pub call_timeout: Duration,
    /// Deadline of `GetAds` (upstream: 100 ms).
    pub ad_timeout: Duration,
    /// Deadline of `PlaceOrder` (it fans out to six services).
    pub checkout_timeout: Duration,
}

impl Config {
    /// A configuration with the given peers and upstream's defaults for the rest.
    pub fn new(peers: Peers) -> Self {
        Self {
            peers,
            assistant_addr: None,
            assistant_enabled: false,
            base_url: String::new(),
            platform: Platform::Local,
            cymbal_branding: false,
            single_shared_session: false,
            frontend_message: None,
            packaging_url: None,
            hostname: None,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            ad_timeout: Duration::from_millis(100),
            checkout_timeout: Duration::from_secs(15),
        }
    }

    /// Reads the variables of §11.1.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let peers = Peers {
            product_catalog: env.peer_addr("PRODUCT_CATALOG_SERVICE_ADDR")?,
            currency: env.peer_addr("CURRENCY_SERVICE_ADDR")?,
            cart: env.peer_addr("CART_SERVICE_ADDR")?,
            recommendation: env.peer_addr("RECOMMENDATION_SERVICE_ADDR")?,
            shipping: env.peer_addr("SHIPPING_SERVICE_ADDR")?,
            checkout: env.peer_addr("CHECKOUT_SERVICE_ADDR")?,
            ad: env.peer_addr("AD_SERVICE_ADDR")?,
        };
        let assistant_addr = env.optional_peer_addr("SHOPPING_ASSISTANT_SERVICE_ADDR")?;
        let enable_assistant = is_true(env.get("ENABLE_ASSISTANT"));
        if enable_assistant && assistant_addr.is_none() {
            return Err(ConfigError::new(
                "SHOPPING_ASSISTANT_SERVICE_ADDR",
                "is required when ENABLE_ASSISTANT=true",
            ));
        }
        let packaging_url = env.get("PACKAGING_SERVICE_URL");
        if let Some(u) = &packaging_url
            && !u.starts_with("http://")
        {
            return Err(ConfigError::new(
                "PACKAGING_SERVICE_URL",
                format!("must be an http:// URL (got {u:?})"),
            ));
        }
        Ok(Self {
            assistant_enabled: enable_assistant,
            assistant_addr,
            base_url: normalize_base_url(env.get("BASE_URL").as_deref())
                .map_err(|why| ConfigError::new("BASE_URL", why))?,
            platform: Platform::parse(env.get("ENV_PLATFORM").as_deref()),
            cymbal_branding: is_true(env.get("CYMBAL_BRANDING")),
            // Upstream compares with exactly "true".
            single_shared_session: env.raw("ENABLE_SINGLE_SHARED_SESSION").as_deref()
                == Some("true"),
            frontend_message: env.get("FRONTEND_MESSAGE"),
            packaging_url: packaging_url.map(|u| u.trim_end_matches('/').to_owned()),
            hostname: env.get("HOSTNAME"),
            ..Self::new(peers)
        })
    }
}

fn is_true(v: Option<String>) -> bool {
    v.is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// `""`, `/` → `""`; `shop/` → `/shop`; rejects characters that do not belong
/// in a path prefix.
pub fn normalize_base_url(v: Option<&str>) -> Result<String, String> {
    let v = v.unwrap_or("").trim().trim_end_matches('/');
    if v.is_empty() {
        return Ok(String::new());
    }
    if let Some(c) = v
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/-._~".contains(*c)))
    {
        return Err(format!(
            "must be a plain path prefix (got {v:?}, {c:?} is not allowed)"
        ));
    }
    if v.contains("//") || v.split('/').any(|s| s == "." || s == "..") {
        return Err(format!("must be a clean path prefix (got {v:?})"));
    }
    Ok(if v.starts_with('/') {
        v.to_owned()
    } else {
        format!("/{v}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers_env(extra: &[(&str, &str)]) -> Env {
        let mut pairs = vec![
            ("PRODUCT_CATALOG_SERVICE_ADDR", "productcatalogservice:3550"),
            ("CURRENCY_SERVICE_ADDR", "currencyservice:7000"),
            ("CART_SERVICE_ADDR", "cartservice:7070"),
            ("RECOMMENDATION_SERVICE_ADDR", "recommendationservice:8080"),
            ("SHIPPING_SERVICE_ADDR", "shippingservice:50051"),
            ("CHECKOUT_SERVICE_ADDR", "checkoutservice:5050"),
            ("AD_SERVICE_ADDR", "adservice:9555"),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn base_urls() {
        assert_eq!(normalize_base_url(None).unwrap(), "");
        assert_eq!(normalize_base_url(Some("/")).unwrap(), "");
        assert_eq!(normalize_base_url(Some("/shop/")).unwrap(), "/shop");
        assert_eq!(normalize_base_url(Some("shop")).unwrap(), "/shop");
        assert_eq!(
            normalize_base_url(Some("/online-boutique")).unwrap(),
            "/online-boutique"
        );
        assert!(normalize_base_url(Some("/a b")).is_err());
        assert!(normalize_base_url(Some("/a/../b")).is_err());
        assert!(normalize_base_url(Some("\"/><script>")).is_err());
    }

    #[test]
    fn platforms() {
        assert_eq!(Platform::parse(Some("aws")).css(), "aws-platform");
        assert_eq!(Platform::parse(Some("onprem")).name(), "On-Premises");
        assert_eq!(Platform::parse(Some("AWS")), Platform::Local);
        assert_eq!(Platform::parse(None).name(), "local");
        assert_eq!(Platform::parse(Some("alibaba")).name(), "Alibaba Cloud");
    }

    #[test]
    fn reads_the_environment() {
        let c = Config::from_env(&peers_env(&[
            ("BASE_URL", "/shop/"),
            ("CYMBAL_BRANDING", "TRUE"),
            ("ENABLE_SINGLE_SHARED_SESSION", "True"),
            ("FRONTEND_MESSAGE", "  hello  "),
            (
                "SHOPPING_ASSISTANT_SERVICE_ADDR",
                "shoppingassistantservice:80",
            ),
        ]))
        .unwrap();
        assert_eq!(c.base_url, "/shop");
        assert!(c.cymbal_branding);
        assert!(!c.single_shared_session, "only exactly `true` counts");
        assert_eq!(c.frontend_message.as_deref(), Some("hello"));
        assert!(!c.assistant_enabled, "the address alone does not enable it");
        assert_eq!(c.ad_timeout, Duration::from_millis(100));

        let e = Config::from_env(&Env::from_pairs([("X", "y")])).unwrap_err();
        assert_eq!(e.var, "PRODUCT_CATALOG_SERVICE_ADDR");
        let e = Config::from_env(&peers_env(&[("ENABLE_ASSISTANT", "true")])).unwrap_err();
        assert_eq!(e.var, "SHOPPING_ASSISTANT_SERVICE_ADDR");
        let c = Config::from_env(&peers_env(&[
            ("ENABLE_ASSISTANT", "true"),
            ("SHOPPING_ASSISTANT_SERVICE_ADDR", "a:80"),
            ("ENABLE_SINGLE_SHARED_SESSION", "true"),
        ]))
        .unwrap();
        assert!(c.assistant_enabled && c.single_shared_session);
        let e =
            Config::from_env(&peers_env(&[("PACKAGING_SERVICE_URL", "https://x")])).unwrap_err();
        assert_eq!(e.var, "PACKAGING_SERVICE_URL");
    }
}
