//! The route handlers (§11.3) and the error-page middleware.

use std::time::Duration;

use askama::Template;
use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, Request, State},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use boutique_money::{display, multiply, sum, zero};
use boutique_proto::hipstershop::{Address, CreditCardInfo, Product};
use futures_util::{
    TryFutureExt as _,
    future::{join_all, try_join_all},
};
use http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use serde::Serialize;

use crate::{
    AppState,
    backend::OrderRequest,
    error::{AppError, ErrorFormat, ErrorInfo, JsonError},
    forms::{AddToCart, FormValues, PlaceOrder, SetCurrency, unsupported_currency},
    orders::{Orders, PlacedOrder},
    session::{self, COOKIE_MAX_AGE, CURRENCY_COOKIE, RequestCtx},
    views::{
        AdView, AssistantPage, CartLine, CartPage, CheckoutForm, Chrome, ErrorPage, HomePage,
        OrderLine, OrderPage, PackagingView, ProductCard, ProductPage, effective_currency,
    },
};

type PageResult = Result<Response, AppError>;

/// Pages carry the visitor's session, cart and currency: never cached by
/// shared caches, nor stored.
const PAGE_CACHE: &str = "private, no-store";

fn render(t: &impl Template) -> PageResult {
    Ok((
        [(header::CACHE_CONTROL, HeaderValue::from_static(PAGE_CACHE))],
        Html(t.render()?),
    )
        .into_response())
}

fn currencies_error(s: tonic::Status) -> AppError {
    AppError::backend("could not retrieve currencies", s)
}

fn cart_error(s: tonic::Status) -> AppError {
    AppError::backend("could not retrieve cart", s)
}

/// `GetProduct` failed: NotFound is a 404 page (decision #7), the rest 5xx.
fn product_error(id: &str, s: tonic::Status) -> AppError {
    if s.code() == tonic::Code::NotFound {
        AppError::NotFound(format!("no product with ID {id}"))
    } else {
        AppError::backend("could not retrieve product", s)
    }
}

fn cart_size(items: &[boutique_proto::hipstershop::CartItem]) -> i64 {
    items.iter().map(|i| i64::from(i.quantity)).sum()
}

/// `GET /`.
pub async fn home(State(st): State<AppState>, Extension(ctx): Extension<RequestCtx>) -> PageResult {
    let b = &st.backends;
    let main = async {
        tokio::try_join!(
            b.currencies().map_err(currencies_error),
            b.products()
                .map_err(|s| AppError::backend("could not retrieve products", s)),
            b.cart(&ctx.session_id).map_err(cart_error),
        )
    };
    // The home page asks for ads like upstream does, and like upstream does
    // not show them.
    let (main, _ad) = tokio::join!(main, b.ad(Vec::new()));
    let (currencies, products, cart) = main?;
    let currency = effective_currency(&ctx.currency, &currencies);
    let prices = try_join_all(products.iter().map(|p| {
        b.convert(p.price_usd.as_ref(), &currency).map_err(|s| {
            AppError::backend(
                format!("failed to do currency conversion for product {}", p.id),
                s,
            )
        })
    }))
    .await?;
    let mut chrome =
        Chrome::new(&st.config, Some(&ctx)).with_currency(&currency, &currencies, true);
    chrome.cart_size = Some(cart_size(&cart));
    let base = &st.config.base_url;
    render(&HomePage {
        hero: crate::assets::versioned_url(base, "images/hero.svg"),
        products: products
            .iter()
            .zip(&prices)
            .map(|(p, price)| ProductCard::new(base, p, Some(price)))
            .collect(),
        chrome,
    })
}

/// `GET /product/{id}`.
pub async fn product(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> PageResult {
    let b = &st.backends;
    let p = b.product(&id).await.map_err(|s| product_error(&id, s))?;
    let priced = async {
        let currencies = b.currencies().await.map_err(currencies_error)?;
        let currency = effective_currency(&ctx.currency, &currencies);
        let price = b
            .convert(p.price_usd.as_ref(), &currency)
            .await
            .map_err(|s| AppError::backend("failed to convert currency", s))?;
        Ok::<_, AppError>((currencies, currency, price))
    };
    let packaging = async {
        match &st.config.packaging_url {
            Some(url) => st.http.packaging(url, &p.id, st.config.call_timeout).await,
            None => None,
        }
    };
    let (priced, cart, recommendations, ad, packaging) = tokio::join!(
        priced,
        b.cart(&ctx.session_id),
        b.recommendations(&ctx.session_id, std::slice::from_ref(&p.id)),
        b.ad(p.categories.clone()),
        packaging,
    );
    let (currencies, currency, price) = priced?;
    let cart = cart.map_err(cart_error)?;
    let base = &st.config.base_url;
    let mut chrome =
        Chrome::new(&st.config, Some(&ctx)).with_currency(&currency, &currencies, true);
    chrome.cart_size = Some(cart_size(&cart));
    let dim = |v: f64, unit: &str| {
        if v == 0.0 {
            "n/a".to_owned()
        } else {
            format!("{v}{unit}")
        }
    };
    render(&ProductPage {
        product: ProductCard::new(base, &p, Some(&price)),
        quantities: vec![1, 2, 3, 4, 5, 10],
        ad: ad.map(|a| AdView {
            url: format!("{base}{}", a.redirect_url),
            text: a.text,
        }),
        packaging: packaging.map(|k| PackagingView {
            weight: dim(k.weight, "lb"),
            width: dim(k.width, "cm"),
            height: dim(k.height, "cm"),
            depth: dim(k.depth, "cm"),
        }),
        recommendations: cards(base, &recommendations),
        chrome,
    })
}

fn cards(base: &str, products: &[Product]) -> Vec<ProductCard> {
    products
        .iter()
        .map(|p| ProductCard::new(base, p, None))
        .collect()
}

/// `GET /cart`.
pub async fn view_cart(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
) -> PageResult {
    let b = &st.backends;
    let (currencies, items) = tokio::try_join!(
        b.currencies().map_err(currencies_error),
        b.cart(&ctx.session_id).map_err(cart_error),
    )?;
    let currency = effective_currency(&ctx.currency, &currencies);
    let ids: Vec<String> = items.iter().map(|i| i.product_id.clone()).collect();
    let shipping = async {
        let quote = b.quote(&items).await?;
        b.convert(Some(&quote), &currency).await
    }
    .map_err(|s| AppError::backend("failed to get shipping quote", s));
    let lines = try_join_all(items.iter().map(|item| {
        let currency = &currency;
        async move {
            let p = b.product(&item.product_id).await.map_err(|s| {
                AppError::backend(
                    format!("could not retrieve product #{}", item.product_id),
                    s,
                )
            })?;
            let price = b
                .convert(p.price_usd.as_ref(), currency)
                .await
                .map_err(|s| {
                    AppError::backend(
                        format!(
                            "could not convert currency for product #{}",
                            item.product_id
                        ),
                        s,
                    )
                })?;
            Ok::<_, AppError>((item, p, price))
        }
    }));
    let (recommendations, shipping, lines) =
        tokio::join!(b.recommendations(&ctx.session_id, &ids), shipping, lines);
    let (shipping, lines) = (shipping?, lines?);
    let base = &st.config.base_url;
    let mut total = zero(&currency);
    let mut views = Vec::with_capacity(lines.len());
    for (item, p, price) in &lines {
        let line = multiply(price, u32::try_from(item.quantity).unwrap_or(0))
            .map_err(|e| AppError::money("could not compute the cart total", e))?;
        total = sum(&total, &line)
            .map_err(|e| AppError::money("could not compute the cart total", e))?;
        views.push(CartLine {
            product: ProductCard::new(base, p, Some(price)),
            quantity: item.quantity,
            line_price: display(&line),
        });
    }
    total = sum(&total, &shipping)
        .map_err(|e| AppError::money("could not compute the cart total", e))?;
    let size = cart_size(&items);
    let mut chrome =
        Chrome::new(&st.config, Some(&ctx)).with_currency(&currency, &currencies, true);
    chrome.cart_size = Some(size);
    let year = chrome.year;
    render(&CartPage {
        lines: views,
        cart_size: size,
        shipping: display(&shipping),
        total: display(&total),
        form: CheckoutForm::new(Orders::new_token(), year),
        recommendations: cards(base, &recommendations),
        empty_art: crate::assets::versioned_url(base, "images/empty-cart.svg"),
        chrome,
    })
}

fn redirect(status: StatusCode, location: &str) -> Response {
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `POST /cart`.
pub async fn add_to_cart(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    uri: Uri,
    body: Bytes,
) -> PageResult {
    let form = AddToCart::validate(&FormValues::parse(uri.query(), &body))?;
    let b = &st.backends;
    let p = b
        .product(&form.product_id)
        .await
        .map_err(|s| product_error(&form.product_id, s))?;
    b.add_item(&ctx.session_id, &p.id, form.quantity)
        .await
        .map_err(|s| AppError::backend("failed to add to cart", s))?;
    Ok(redirect(
        StatusCode::FOUND,
        &format!("{}/cart", st.config.base_url),
    ))
}

/// `POST /cart/empty`.
pub async fn empty_cart(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
) -> PageResult {
    st.backends
        .empty_cart(&ctx.session_id)
        .await
        .map_err(|s| AppError::backend("failed to empty cart", s))?;
    Ok(redirect(
        StatusCode::FOUND,
        &format!("{}/", st.config.base_url),
    ))
}

/// Where `/setCurrency` sends the visitor back to: the `Referer` when it is
/// this site (a path, or an absolute URL whose host is the request's Host),
/// else the home page.
fn back_to(headers: &HeaderMap, base: &str) -> String {
    let home = format!("{base}/");
    let Some(referer) = headers.get(header::REFERER).and_then(|v| v.to_str().ok()) else {
        return home;
    };
    if referer.starts_with('/') && !referer.starts_with("//") {
        return referer.to_owned();
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let Ok(uri) = referer.parse::<Uri>() else {
        return home;
    };
    match (uri.authority(), host, uri.path_and_query()) {
        (Some(a), Some(h), Some(pq)) if a.as_str().eq_ignore_ascii_case(h) => pq.to_string(),
        _ => home,
    }
}

/// `POST /setCurrency`.
pub async fn set_currency(
    State(st): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> PageResult {
    let form = SetCurrency::validate(&FormValues::parse(uri.query(), &body))?;
    let supported = st.backends.currencies().await.map_err(currencies_error)?;
    if !supported.contains(&form.currency) {
        return Err(unsupported_currency());
    }
    let mut resp = redirect(StatusCode::FOUND, &back_to(&headers, &st.config.base_url));
    if let Some(v) = session::set_cookie(
        CURRENCY_COOKIE,
        &form.currency,
        st.cookie_path(),
        COOKIE_MAX_AGE,
    ) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// `GET /logout`: expires every cookie the browser sent.
pub async fn logout(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let mut resp = redirect(StatusCode::FOUND, &format!("{}/", st.config.base_url));
    for (name, value) in session::cookies(&headers) {
        if let Some(v) = session::expire_cookie(&name, &value, st.cookie_path()) {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    resp
}

/// `POST /cart/checkout`: validates, places the order once per form token,
/// and redirects (303) to the confirmation page.
pub async fn checkout(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    uri: Uri,
    body: Bytes,
) -> PageResult {
    let form = PlaceOrder::validate(&FormValues::parse(uri.query(), &body))?;
    let base = &st.config.base_url;
    let slot = (!form.token.is_empty()).then(|| st.orders.token_slot(&ctx.session_id, &form.token));
    let mut guard = match &slot {
        Some(s) => Some(s.lock().await),
        None => None,
    };
    if let Some(Some(order_id)) = guard.as_deref() {
        tracing::info!(order = %order_id, "repeated checkout form: showing the order placed with it");
        return Ok(redirect(
            StatusCode::SEE_OTHER,
            &format!("{base}/order/{order_id}"),
        ));
    }
    let order = st
        .backends
        .place_order(OrderRequest {
            user_id: ctx.session_id.to_string(),
            currency: ctx.currency.clone(),
            address: Address {
                street_address: form.street_address,
                city: form.city,
                state: form.state,
                country: form.country,
                zip_code: form.zip_code,
            },
            email: form.email,
            credit_card: CreditCardInfo {
                credit_card_number: form.cc_number,
                credit_card_cvv: form.cc_cvv,
                credit_card_expiration_year: form.cc_year,
                credit_card_expiration_month: form.cc_month,
            },
        })
        .await
        .map_err(AppError::order)?;
    let order_id = order.order_id.clone();
    tracing::info!(order = %order_id, tracking = %order.shipping_tracking_id, items = order.items.len(), "order placed");
    st.orders.remember(
        &ctx.session_id,
        PlacedOrder {
            order,
            currency: ctx.currency.clone(),
        },
    );
    if let Some(g) = guard.as_mut() {
        **g = Some(order_id.clone());
    }
    Ok(redirect(
        StatusCode::SEE_OTHER,
        &format!("{base}/order/{order_id}"),
    ))
}

/// `GET /order/{id}`: the confirmation of an order this session placed.
pub async fn order(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(id): Path<String>,
) -> PageResult {
    let placed = st
        .orders
        .get(&ctx.session_id, &id)
        .ok_or_else(|| AppError::NotFound(format!("no order {id} for this session (orders are kept for a while by the server that took them)")))?;
    let b = &st.backends;
    let o = &placed.order;
    let (recommendations, currencies, products) = tokio::join!(
        b.recommendations(&ctx.session_id, &[]),
        b.currencies(),
        join_all(o.items.iter().map(|i| async move {
            match &i.item {
                Some(item) => b.product(&item.product_id).await.ok(),
                None => None,
            }
        })),
    );
    let currencies = currencies.map_err(currencies_error)?;
    let base = &st.config.base_url;
    let money_err = |e| AppError::money("could not compute the order total", e);
    let shipping = o
        .shipping_cost
        .clone()
        .unwrap_or_else(|| zero(&placed.currency));
    let mut total = shipping.clone();
    let mut lines = Vec::with_capacity(o.items.len());
    for (oi, product) in o.items.iter().zip(products) {
        let (pid, qty) = oi
            .item
            .as_ref()
            .map_or((String::new(), 0), |i| (i.product_id.clone(), i.quantity));
        let cost = oi.cost.clone().unwrap_or_else(|| zero(&placed.currency));
        let line = multiply(&cost, u32::try_from(qty).unwrap_or(0)).map_err(money_err)?;
        total = sum(&total, &line).map_err(money_err)?;
        let card = product.as_ref().map(|p| ProductCard::new(base, p, None));
        lines.push(OrderLine {
            name: card
                .as_ref()
                .map_or_else(|| pid.clone(), |c| c.name.clone()),
            picture: card.as_ref().map(|c| c.picture.clone()).unwrap_or_default(),
            url: format!("{base}/product/{pid}"),
            product_id: pid,
            quantity: qty,
            unit_price: display(&cost),
            line_price: display(&line),
        });
    }
    let address = o
        .shipping_address
        .as_ref()
        .map(|a| {
            format!(
                "{}, {}, {} {}, {}",
                a.street_address, a.city, a.state, a.zip_code, a.country
            )
        })
        .unwrap_or_default();
    let chrome =
        Chrome::new(&st.config, Some(&ctx)).with_currency(&placed.currency, &currencies, false);
    render(&OrderPage {
        order_id: o.order_id.clone(),
        tracking_id: o.shipping_tracking_id.clone(),
        lines,
        shipping: display(&shipping),
        total: display(&total),
        address,
        recommendations: cards(base, &recommendations),
        check_icon: crate::assets::versioned_url(base, "icons/check.svg"),
        chrome,
    })
}

/// `GET /assistant` (only when the assistant is enabled).
pub async fn assistant(
    State(st): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
) -> PageResult {
    if !st.config.assistant_enabled {
        return Err(not_found_error());
    }
    let currencies = st.backends.currencies().await.map_err(currencies_error)?;
    let currency = effective_currency(&ctx.currency, &currencies);
    let chrome = Chrome::new(&st.config, Some(&ctx)).with_currency(&currency, &currencies, false);
    render(&AssistantPage {
        script: crate::assets::versioned_url(&st.config.base_url, "js/assistant.js"),
        chrome,
    })
}

/// How long the assistant may think.
const ASSISTANT_TIMEOUT: Duration = Duration::from_secs(60);

/// `POST /bot`: forwards the chat message to the assistant.
pub async fn bot(State(st): State<AppState>, body: Bytes) -> Result<Response, JsonError> {
    let addr = match (&st.config.assistant_addr, st.config.assistant_enabled) {
        (Some(a), true) => a,
        _ => return Err(JsonError(not_found_error())),
    };
    let content = st
        .http
        .ask_assistant(addr, body, ASSISTANT_TIMEOUT)
        .await
        .map_err(|e| JsonError(AppError::Assistant(e)))?;
    let mut text = serde_json::json!({ "message": content }).to_string();
    text.push('\n');
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response())
}

/// `/product-meta/{ids}`'s body: upstream's Go struct as `encoding/json`
/// writes it (snake_case keys, this order, empty fields omitted).
#[derive(Serialize)]
struct ProductMeta<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    picture: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_usd: Option<MoneyMeta<'a>>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    categories: &'a [String],
}

#[derive(Serialize)]
struct MoneyMeta<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    currency_code: &'a str,
    #[serde(skip_serializing_if = "is_zero_i64")]
    units: i64,
    #[serde(skip_serializing_if = "is_zero_i32")]
    nanos: i32,
}

fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 in strings.
fn go_json_escape(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The JSON of one product, as `/product-meta` answers.
pub fn product_meta_json(p: &Product) -> Result<String, serde_json::Error> {
    let meta = ProductMeta {
        id: &p.id,
        name: &p.name,
        description: &p.description,
        picture: &p.picture,
        price_usd: p.price_usd.as_ref().map(|m| MoneyMeta {
            currency_code: &m.currency_code,
            units: m.units,
            nanos: m.nanos,
        }),
        categories: &p.categories,
    };
    serde_json::to_string(&meta).map(|s| go_json_escape(&s))
}

/// `GET /product-meta/{ids}`.
pub async fn product_meta(
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, JsonError> {
    let p = st
        .backends
        .product(&id)
        .await
        .map_err(|s| JsonError(product_error(&id, s)))?;
    let body = product_meta_json(&p).map_err(|e| {
        JsonError(AppError::Assistant(format!(
            "cannot encode the product: {e}"
        )))
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `/robots.txt`.
pub async fn robots() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "User-agent: *\nDisallow: /",
    )
        .into_response()
}

/// `/_healthz`.
pub async fn healthz() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "ok",
    )
        .into_response()
}

fn not_found_error() -> AppError {
    AppError::NotFound("404 page not found".into())
}

/// Any path no route matches.
pub async fn not_found() -> AppError {
    not_found_error()
}

/// Renders every [`ErrorInfo`] response as our error page (or JSON), and
/// logs it: the one place where errors become bodies.
pub async fn render_errors(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let ctx = req.extensions().get::<RequestCtx>().cloned();
    let resp = next.run(req).await;
    let Some(info) = resp.extensions().get::<ErrorInfo>().cloned() else {
        return resp;
    };
    if info.status.is_server_error() {
        tracing::error!(error = %info.message, status = info.status.as_u16(), "request error");
    } else {
        tracing::info!(error = %info.message, status = info.status.as_u16(), "request refused");
    }
    let mut out = match info.format {
        ErrorFormat::Json => (
            info.status,
            Json(serde_json::json!({ "error": info.message })),
        )
            .into_response(),
        ErrorFormat::Html => {
            let base = &st.config.base_url;
            let page = ErrorPage {
                chrome: Chrome::new(&st.config, ctx.as_ref()),
                status_line: format!(
                    "{} {}",
                    info.status.as_u16(),
                    info.status.canonical_reason().unwrap_or("")
                ),
                headline: match info.status {
                    StatusCode::NOT_FOUND => "We could not find that.",
                    StatusCode::UNPROCESSABLE_ENTITY => "Some details need another look.",
                    _ => "Something has failed on our side.",
                },
                message: info.message.clone(),
                alert_icon: crate::assets::versioned_url(base, "icons/alert.svg"),
            };
            match page.render() {
                Ok(html) => (
                    info.status,
                    [(header::CACHE_CONTROL, HeaderValue::from_static(PAGE_CACHE))],
                    Html(html),
                )
                    .into_response(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot render the error page");
                    (info.status, info.message).into_response()
                }
            }
        }
    };
    // Keep headers the handler set (e.g. a session cookie added later is
    // outside; cache headers are not wanted on errors).
    for (k, v) in resp.headers() {
        if k != header::CONTENT_TYPE && k != header::CONTENT_LENGTH {
            out.headers_mut().append(k, v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use boutique_proto::hipstershop::Money;

    #[test]
    fn product_meta_shape() {
        let p = Product {
            id: "LS4PSXUNUM".into(),
            name: "Salt & Pepper Shakers".into(),
            description: "Add some flavor to your kitchen.".into(),
            picture: "/static/img/products/salt-and-pepper-shakers.jpg".into(),
            price_usd: Some(Money {
                currency_code: "USD".into(),
                units: 18,
                nanos: 490_000_000,
            }),
            categories: vec!["kitchen".into()],
        };
        assert_eq!(
            product_meta_json(&p).unwrap(),
            r#"{"id":"LS4PSXUNUM","name":"Salt \u0026 Pepper Shakers","description":"Add some flavor to your kitchen.","picture":"/static/img/products/salt-and-pepper-shakers.jpg","price_usd":{"currency_code":"USD","units":18,"nanos":490000000},"categories":["kitchen"]}"#
        );
        let bare = Product {
            id: "X".into(),
            price_usd: Some(Money {
                currency_code: "USD".into(),
                units: 0,
                nanos: 0,
            }),
            ..Default::default()
        };
        assert_eq!(
            product_meta_json(&bare).unwrap(),
            r#"{"id":"X","price_usd":{"currency_code":"USD"}}"#
        );
    }

    #[test]
    fn referer_targets() {
        let h = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(*k, HeaderValue::from_static(v));
            }
            m
        };
        assert_eq!(back_to(&h(&[]), ""), "/");
        assert_eq!(back_to(&h(&[]), "/shop"), "/shop/");
        assert_eq!(back_to(&h(&[("referer", "/cart")]), ""), "/cart");
        assert_eq!(
            back_to(
                &h(&[
                    ("referer", "http://localhost:8080/product/X?a=1"),
                    ("host", "localhost:8080")
                ]),
                ""
            ),
            "/product/X?a=1"
        );
        assert_eq!(
            back_to(
                &h(&[("referer", "http://evil.example/x"), ("host", "shop")]),
                ""
            ),
            "/"
        );
        assert_eq!(back_to(&h(&[("referer", "//evil.example/x")]), ""), "/");
    }
}
