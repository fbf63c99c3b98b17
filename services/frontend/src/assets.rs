//! Static files, embedded in the binary (the image needs nothing but the
//! binary), served under `BASE_URL/static/` with an ETag, `If-None-Match`
//! revalidation and cache headers. Stylesheet and script links carry a
//! content hash (`?v=<hash>`); such versioned URLs are cached for a year.
//!
//! The product catalog's `picture` values are upstream's paths
//! (`/static/img/products/<name>.jpg`). Our illustrations are SVG, served at
//! exactly those paths with `Content-Type: image/svg+xml`, so upstream's
//! catalog and ours both work.

use std::{collections::HashMap, sync::OnceLock};

use axum::{
    body::Body,
    extract::Path,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

use crate::error::AppError;

const SVG: &str = "image/svg+xml";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($served:literal, $file:literal, $ctype:expr) => {
        (
            $served,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/static/", $file)) as &[u8],
            $ctype,
        )
    };
}

/// `(path under /static/, bytes, content type)`.
const FILES: &[(&str, &[u8], &str)] = &[
    asset!("styles/shop.css", "styles/shop.css", CSS),
    asset!("js/shop.js", "js/shop.js", JS),
    asset!("js/assistant.js", "js/assistant.js", JS),
    asset!("icons/logo.svg", "icons/logo.svg", SVG),
    asset!("icons/logo-cymbal.svg", "icons/logo-cymbal.svg", SVG),
    asset!("icons/favicon.svg", "icons/favicon.svg", SVG),
    asset!("icons/favicon-cymbal.svg", "icons/favicon-cymbal.svg", SVG),
    asset!("icons/cart.svg", "icons/cart.svg", SVG),
    asset!("icons/check.svg", "icons/check.svg", SVG),
    asset!("icons/alert.svg", "icons/alert.svg", SVG),
    asset!("icons/wand.svg", "icons/wand.svg", SVG),
    asset!("images/hero.svg", "images/hero.svg", SVG),
    asset!("images/empty-cart.svg", "images/empty-cart.svg", SVG),
    asset!(
        "img/products/sunglasses.jpg",
        "img/products/sunglasses.svg",
        SVG
    ),
    asset!(
        "img/products/tank-top.jpg",
        "img/products/tank-top.svg",
        SVG
    ),
    asset!("img/products/watch.jpg", "img/products/watch.svg", SVG),
    asset!("img/products/loafers.jpg", "img/products/loafers.svg", SVG),
    asset!(
        "img/products/hairdryer.jpg",
        "img/products/hairdryer.svg",
        SVG
    ),
    asset!(
        "img/products/candle-holder.jpg",
        "img/products/candle-holder.svg",
        SVG
    ),
    asset!(
        "img/products/salt-and-pepper-shakers.jpg",
        "img/products/salt-and-pepper-shakers.svg",
        SVG
    ),
    asset!(
        "img/products/bamboo-glass-jar.jpg",
        "img/products/bamboo-glass-jar.svg",
        SVG
    ),
    asset!("img/products/mug.jpg", "img/products/mug.svg", SVG),
];

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Hex FNV-1a 64 of the bytes.
    pub hash: String,
    etag: HeaderValue,
}

fn table() -> &'static HashMap<&'static str, Asset> {
    static T: OnceLock<HashMap<&'static str, Asset>> = OnceLock::new();
    T.get_or_init(|| {
        FILES
            .iter()
            .map(|(path, bytes, ctype)| {
                let hash = format!("{:016x}", fnv1a(bytes));
                let etag = HeaderValue::from_str(&format!("W/\"{hash}\""))
                    .unwrap_or_else(|_| HeaderValue::from_static("W/\"0\""));
                (
                    *path,
                    Asset {
                        bytes,
                        content_type: ctype,
                        hash,
                        etag,
                    },
                )
            })
            .collect()
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The embedded file at `path` (relative to `/static/`).
pub fn get(path: &str) -> Option<&'static Asset> {
    table().get(path)
}

/// Every served path (tests).
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _, _)| *p)
}

/// `BASE_URL/static/<path>?v=<hash>` for a file that exists, else the plain URL.
pub fn versioned_url(base: &str, path: &str) -> String {
    match get(path) {
        Some(a) => format!("{base}/static/{path}?v={}", &a.hash[..12]),
        None => format!("{base}/static/{path}"),
    }
}

/// Cache lifetime of an unversioned asset URL.
pub const MAX_AGE: &str = "public, max-age=86400";
/// Cache lifetime of a versioned asset URL.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `GET BASE_URL/static/{*path}`.
pub async fn serve(Path(path): Path<String>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(asset) = get(&path) else {
        return AppError::NotFound(format!("no such file: /static/{path}")).into_response();
    };
    let versioned = uri
        .query()
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "v")
                .map(|(_, v)| v.into_owned())
        })
        .is_some_and(|v| asset.hash.starts_with(&v) && v.len() >= 8);
    let cache = HeaderValue::from_static(if versioned { IMMUTABLE } else { MAX_AGE });
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| {
            let t = t.trim();
            t == "*"
                || t.trim_start_matches("W/")
                    == asset.etag.to_str().unwrap_or("").trim_start_matches("W/")
        });
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = Response::new(Body::from(asset.bytes));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        r
    };
    resp.headers_mut().insert(header::ETAG, asset.etag.clone());
    resp.headers_mut().insert(header::CACHE_CONTROL, cache);
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_embedded_and_hashed() {
        for p in paths() {
            let a = get(p).unwrap();
            assert!(!a.bytes.is_empty(), "{p}");
            assert_eq!(a.hash.len(), 16);
            if a.content_type == SVG {
                let text = std::str::from_utf8(a.bytes).unwrap();
                assert!(text.contains("<svg"), "{p} is SVG");
                assert!(!text.contains("<script"), "{p} has no script");
            }
        }
        assert_eq!(
            paths().filter(|p| p.starts_with("img/products/")).count(),
            9
        );
        assert!(
            versioned_url("/shop", "styles/shop.css")
                .starts_with("/shop/static/styles/shop.css?v=")
        );
        assert_eq!(versioned_url("", "nope.css"), "/static/nope.css");
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
    }
}
