//! Sessions and cookies (§11.2, decision #18): `shop_session-id` and
//! `shop_currency`, `Max-Age` 48 h, `Path` = BASE_URL (or `/`), `HttpOnly`,
//! `SameSite=Lax`.

use std::sync::Arc;

use axum::{extract::Request, middleware::Next, response::Response};
use http::{HeaderMap, HeaderValue, header};

use crate::{AppState, config::SHARED_SESSION_ID};

/// Session cookie name (upstream's).
pub const SESSION_COOKIE: &str = "shop_session-id";
/// Currency cookie name (upstream's).
pub const CURRENCY_COOKIE: &str = "shop_currency";
/// Cookie lifetime: 48 hours.
pub const COOKIE_MAX_AGE: u32 = 172_800;
/// Currency used when the visitor chose none.
pub const DEFAULT_CURRENCY: &str = "USD";

/// Per-request facts every handler and page needs.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    /// The visitor's session id (the `user_id` of cart, recommendation and checkout calls).
    pub session_id: Arc<str>,
    /// Random per request, shown in the footer and logged.
    pub request_id: Arc<str>,
    /// The `shop_currency` cookie when it looks like a currency code, else USD.
    pub currency: String,
    /// True when this request started the session (a cookie is being set).
    pub new_session: bool,
}

/// All `name=value` pairs of the request's `Cookie` headers, in order.
pub fn cookies(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            Some((k.trim().to_owned(), v.to_owned()))
        })
        .collect()
}

fn cookie<'a>(all: &'a [(String, String)], name: &str) -> Option<&'a str> {
    all.iter()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.as_str())
}

/// True for three upper-case ASCII letters.
pub fn looks_like_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// A `Set-Cookie` value with our attributes.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: u32) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

/// A `Set-Cookie` value that deletes `name` (upstream's logout: same value,
/// `Expires` a year ago, `Max-Age=0`).
pub fn expire_cookie(name: &str, value: &str, path: &str) -> Option<HeaderValue> {
    let past = time::OffsetDateTime::now_utc() - time::Duration::days(365);
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let expires = past.format(&fmt).ok()?;
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Expires={expires}; Max-Age=0; HttpOnly; SameSite=Lax"
    ))
    .ok()
}

/// Finds or starts the visitor's session, reads the currency cookie, and
/// sets the session cookie on the response of a page that started one.
pub async fn session(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let all = cookies(req.headers());
    let (session_id, new_session) = match cookie(&all, SESSION_COOKIE) {
        Some(id) => (Arc::from(id), false),
        None if state.config.single_shared_session => (Arc::from(SHARED_SESSION_ID), true),
        None => (Arc::from(uuid::Uuid::new_v4().to_string()), true),
    };
    let currency = cookie(&all, CURRENCY_COOKIE)
        .filter(|c| looks_like_currency(c))
        .unwrap_or(DEFAULT_CURRENCY)
        .to_owned();
    let ctx = RequestCtx {
        session_id,
        request_id: Arc::from(uuid::Uuid::new_v4().to_string()),
        currency,
        new_session,
    };
    // Assets, probes and robots do not start sessions (keeps them cacheable).
    let path = req.uri().path();
    let base = &state.config.base_url;
    let sets_cookie = new_session
        && !path
            .strip_prefix(base.as_str())
            .is_some_and(|p| p.starts_with("/static/") || p == "/_healthz" || p == "/robots.txt");
    req.extensions_mut().insert(ctx.clone());
    let mut resp = next.run(req).await;
    if sets_cookie
        && let Some(v) = set_cookie(
            SESSION_COOKIE,
            &ctx.session_id,
            state.cookie_path(),
            COOKIE_MAX_AGE,
        )
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cookie_headers() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; shop_session-id=abc ; x"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("shop_currency=\"EUR\""),
        );
        let all = cookies(&h);
        assert_eq!(cookie(&all, "shop_session-id"), Some("abc"));
        assert_eq!(cookie(&all, "shop_currency"), Some("EUR"));
        assert_eq!(cookie(&all, "a"), Some("1"));
        assert_eq!(cookie(&all, "x"), None);
    }

    #[test]
    fn cookie_attributes() {
        let v = set_cookie("shop_currency", "EUR", "/", COOKIE_MAX_AGE).unwrap();
        assert_eq!(
            v,
            "shop_currency=EUR; Path=/; Max-Age=172800; HttpOnly; SameSite=Lax"
        );
        let v = expire_cookie("a", "1", "/shop").unwrap();
        let v = v.to_str().unwrap();
        assert!(v.starts_with("a=1; Path=/shop; Expires="), "{v}");
        assert!(
            v.ends_with(" GMT; Max-Age=0; HttpOnly; SameSite=Lax"),
            "{v}"
        );
        assert!(looks_like_currency("EUR"));
        assert!(!looks_like_currency("eur"));
        assert!(!looks_like_currency("EURO"));
    }
}
