//! `checkout_orders_placed_total{currency}`, `checkout_orders_failed_total{reason}`
//! and `checkout_order_value_usd`, all present from start-up.

use std::sync::OnceLock;

use boutique_runtime::metrics::{counter, histogram_with, register};
use prometheus::{HistogramVec, IntCounterVec};

/// Every `reason` label value of `checkout_orders_failed_total`.
pub const FAILURE_REASONS: [&str; 8] = [
    "cart",
    "catalog",
    "currency",
    "shipping_quote",
    "payment",
    "shipment",
    "empty_cart",
    "invalid_money",
];

/// Buckets of the order value in USD.
pub const VALUE_BUCKETS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];

struct Metrics {
    placed: IntCounterVec,
    failed: IntCounterVec,
    value_usd: HistogramVec,
}

fn get() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| Metrics {
        placed: register(counter(
            "checkout_orders_placed_total",
            "Orders placed (charged), by the user's currency.",
            &["currency"],
        )),
        failed: register(counter(
            "checkout_orders_failed_total",
            "Orders that failed, by the step that failed them.",
            &["reason"],
        )),
        value_usd: register(histogram_with(
            "checkout_order_value_usd",
            "Value of placed orders in USD (catalog prices plus shipping).",
            &[],
            VALUE_BUCKETS.to_vec(),
        )),
    })
}

/// Registers every series at zero (USD for the placed counter).
pub fn init() {
    let m = get();
    m.placed.with_label_values(&["USD"]);
    for reason in FAILURE_REASONS {
        m.failed.with_label_values(&[reason]);
    }
    m.value_usd.with_label_values(&[] as &[&str]);
}

/// Counts a placed order and observes its USD value when known.
pub fn placed(currency: &str, value_usd: Option<f64>) {
    let m = get();
    m.placed.with_label_values(&[currency]).inc();
    if let Some(v) = value_usd {
        m.value_usd.with_label_values(&[] as &[&str]).observe(v);
    }
}

/// Counts a failed order.
pub fn failed(reason: &str) {
    get().failed.with_label_values(&[reason]).inc();
}
