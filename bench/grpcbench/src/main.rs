//! `grpcbench --target 127.0.0.1:3550 --rpc ProductCatalogService/GetProduct
//!  --concurrency 16 --duration 10 [--warmup 2]`
//!
//! Keeps `concurrency` calls in flight on ONE HTTP/2 connection (like
//! `h2load -c1 -m <concurrency>`) for `duration` seconds and prints one JSON
//! line: requests, OK count, errors by gRPC code, req/s, p50/p90/p99/max in µs.
//! Every response's gRPC status is checked, not just HTTP 200.

use std::{
    collections::BTreeMap,
    process::ExitCode,
    time::{Duration, Instant},
};

use boutique_proto::hipstershop::{
    AdRequest, AddItemRequest, Address, CartItem, ChargeRequest, CreditCardInfo,
    CurrencyConversionRequest, Empty, GetCartRequest, GetProductRequest, GetQuoteRequest,
    ListRecommendationsRequest, Money, OrderItem, OrderResult, SearchProductsRequest,
    SendOrderConfirmationRequest, ShipOrderRequest, ad_service_client::AdServiceClient,
    cart_service_client::CartServiceClient, currency_service_client::CurrencyServiceClient,
    email_service_client::EmailServiceClient, payment_service_client::PaymentServiceClient,
    product_catalog_service_client::ProductCatalogServiceClient,
    recommendation_service_client::RecommendationServiceClient,
    shipping_service_client::ShippingServiceClient,
};
use tonic::transport::Channel;

/// Every RPC this tool can drive. (PlaceOrder needs a filled cart per call; the
/// checkout path is measured through the frontend instead.)
pub const RPCS: [&str; 14] = [
    "ProductCatalogService/ListProducts",
    "ProductCatalogService/GetProduct",
    "ProductCatalogService/SearchProducts",
    "CurrencyService/GetSupportedCurrencies",
    "CurrencyService/Convert",
    "PaymentService/Charge",
    "ShippingService/GetQuote",
    "ShippingService/ShipOrder",
    "EmailService/SendOrderConfirmation",
    "RecommendationService/ListRecommendations",
    "AdService/GetAds",
    "CartService/AddItem",
    "CartService/GetCart",
    "CartService/EmptyCart",
];

fn usd(units: i64, nanos: i32) -> Option<Money> {
    Some(Money {
        currency_code: "USD".into(),
        units,
        nanos,
    })
}

fn address() -> Option<Address> {
    Some(Address {
        street_address: "1600 Amphitheatre Parkway".into(),
        city: "Mountain View".into(),
        state: "CA".into(),
        country: "United States".into(),
        zip_code: 94043,
    })
}

fn items() -> Vec<CartItem> {
    vec![CartItem {
        product_id: "OLJCESPC7Z".into(),
        quantity: 2,
    }]
}

/// One call of `rpc`; `Err(code)` on a non-OK status.
async fn call(ch: &Channel, rpc: &str, worker: usize) -> Result<(), tonic::Code> {
    let r: Result<(), tonic::Status> = match rpc {
        "ProductCatalogService/ListProducts" => ProductCatalogServiceClient::new(ch.clone())
            .list_products(Empty {})
            .await
            .map(drop),
        "ProductCatalogService/GetProduct" => ProductCatalogServiceClient::new(ch.clone())
            .get_product(GetProductRequest {
                id: "OLJCESPC7Z".into(),
            })
            .await
            .map(drop),
        "ProductCatalogService/SearchProducts" => ProductCatalogServiceClient::new(ch.clone())
            .search_products(SearchProductsRequest {
                query: "kitchen".into(),
            })
            .await
            .map(drop),
        "CurrencyService/GetSupportedCurrencies" => CurrencyServiceClient::new(ch.clone())
            .get_supported_currencies(Empty {})
            .await
            .map(drop),
        "CurrencyService/Convert" => CurrencyServiceClient::new(ch.clone())
            .convert(CurrencyConversionRequest {
                from: usd(19, 990_000_000),
                to_code: "EUR".into(),
            })
            .await
            .map(drop),
        "PaymentService/Charge" => PaymentServiceClient::new(ch.clone())
            .charge(ChargeRequest {
                amount: usd(48, 970_000_000),
                credit_card: Some(CreditCardInfo {
                    credit_card_number: "4432801561520454".into(),
                    credit_card_cvv: 672,
                    credit_card_expiration_year: 2039,
                    credit_card_expiration_month: 1,
                }),
            })
            .await
            .map(drop),
        "ShippingService/GetQuote" => ShippingServiceClient::new(ch.clone())
            .get_quote(GetQuoteRequest {
                address: address(),
                items: items(),
            })
            .await
            .map(drop),
        "ShippingService/ShipOrder" => ShippingServiceClient::new(ch.clone())
            .ship_order(ShipOrderRequest {
                address: address(),
                items: items(),
            })
            .await
            .map(drop),
        "EmailService/SendOrderConfirmation" => EmailServiceClient::new(ch.clone())
            .send_order_confirmation(SendOrderConfirmationRequest {
                email: "someone@example.com".into(),
                order: Some(OrderResult {
                    order_id: "2f1e6c1c-8a2b-11ef-9a4e-0242ac120002".into(),
                    shipping_tracking_id: "AB-44123-221234567".into(),
                    shipping_cost: usd(8, 990_000_000),
                    shipping_address: address(),
                    items: vec![OrderItem {
                        item: items().pop(),
                        cost: usd(19, 990_000_000),
                    }],
                }),
            })
            .await
            .map(drop),
        "RecommendationService/ListRecommendations" => RecommendationServiceClient::new(ch.clone())
            .list_recommendations(ListRecommendationsRequest {
                user_id: "bench".into(),
                product_ids: vec!["OLJCESPC7Z".into()],
            })
            .await
            .map(drop),
        "AdService/GetAds" => AdServiceClient::new(ch.clone())
            .get_ads(AdRequest {
                context_keys: vec!["kitchen".into()],
            })
            .await
            .map(drop),
        "CartService/AddItem" => CartServiceClient::new(ch.clone())
            .add_item(AddItemRequest {
                user_id: format!("bench-{worker}"),
                item: items().pop(),
            })
            .await
            .map(drop),
        "CartService/GetCart" => CartServiceClient::new(ch.clone())
            .get_cart(GetCartRequest {
                user_id: format!("bench-{worker}"),
            })
            .await
            .map(drop),
        "CartService/EmptyCart" => CartServiceClient::new(ch.clone())
            .empty_cart(boutique_proto::hipstershop::EmptyCartRequest {
                user_id: format!("bench-{worker}"),
            })
            .await
            .map(drop),
        _ => Err(tonic::Status::unimplemented(format!(
            "grpcbench cannot drive {rpc}"
        ))),
    };
    r.map_err(|s| s.code())
}

#[derive(Default)]
struct WorkerResult {
    latencies_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

fn arg<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(target), Some(rpc)) = (arg(&args, "--target"), arg(&args, "--rpc")) else {
        eprintln!(
            "usage: grpcbench --target HOST:PORT --rpc SERVICE/METHOD [--concurrency 16] [--duration 10] [--warmup 2]"
        );
        eprintln!("RPCs: {}", RPCS.join(", "));
        return ExitCode::from(2);
    };
    let parse = |name: &str, default: u64| {
        arg(&args, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let concurrency = parse("--concurrency", 16).max(1) as usize;
    let duration = Duration::from_secs(parse("--duration", 10).max(1));
    let warmup = Duration::from_secs(parse("--warmup", 2));
    let (target, rpc) = (target.to_owned(), rpc.to_owned());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("grpcbench: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(async move {
        let ch = match tonic::transport::Endpoint::from_shared(format!("http://{target}")) {
            Ok(e) => match e.tcp_nodelay(true).connect().await {
                Ok(ch) => ch,
                Err(e) => {
                    eprintln!("grpcbench: cannot connect to {target}: {e}");
                    return ExitCode::from(1);
                }
            },
            Err(e) => {
                eprintln!("grpcbench: {e}");
                return ExitCode::from(1);
            }
        };
        if let Err(code) = call(&ch, &rpc, 0).await {
            eprintln!("grpcbench: probe call of {rpc} failed with {code:?}");
            return ExitCode::from(1);
        }
        let start = Instant::now();
        let measure_from = start + warmup;
        let end = measure_from + duration;
        let workers: Vec<_> = (0..concurrency)
            .map(|w| {
                let (ch, rpc) = (ch.clone(), rpc.clone());
                tokio::spawn(async move {
                    let mut res = WorkerResult::default();
                    loop {
                        let t = Instant::now();
                        if t >= end {
                            return res;
                        }
                        let r = call(&ch, &rpc, w).await;
                        if t >= measure_from {
                            res.latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                            if let Err(code) = r {
                                *res.errors.entry(format!("{code:?}")).or_default() += 1;
                            }
                        }
                    }
                })
            })
            .collect();
        let mut all = Vec::new();
        let mut errors: BTreeMap<String, u64> = BTreeMap::new();
        for w in workers {
            if let Ok(r) = w.await {
                all.extend(r.latencies_us);
                for (k, v) in r.errors {
                    *errors.entry(k).or_default() += v;
                }
            }
        }
        all.sort_unstable();
        let n = all.len();
        let pct = |q: f64| -> u32 {
            if n == 0 {
                0
            } else {
                all[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
            }
        };
        let failed: u64 = errors.values().sum();
        let errs = errors.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect::<Vec<_>>().join(",");
        println!(
            "{{\"rpc\":\"{rpc}\",\"concurrency\":{concurrency},\"seconds\":{},\"requests\":{n},\"ok\":{},\"errors\":{{{errs}}},\"rps\":{:.0},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{}}}",
            duration.as_secs(),
            n as u64 - failed,
            n as f64 / duration.as_secs_f64(),
            pct(0.50),
            pct(0.90),
            pct(0.99),
            all.last().copied().unwrap_or(0)
        );
        if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS }
    })
}
