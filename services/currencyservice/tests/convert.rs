//! Conversion vectors of the contract (§3), over real gRPC.

use boutique_proto::hipstershop::{
    CurrencyConversionRequest, Empty, Money, currency_service_client::CurrencyServiceClient,
};
use boutique_testkit::{TestServer, assert_health, metric_value, reflection_services, spawn};
use currencyservice::{Config, serve};
use tonic::{Code, transport::Channel};

async fn start() -> (TestServer, CurrencyServiceClient<Channel>) {
    let server = spawn(|l, s| serve(Config, l, s)).await;
    let client = CurrencyServiceClient::new(server.channel().await);
    (server, client)
}

fn m(code: &str, units: i64, nanos: i32) -> Money {
    Money {
        currency_code: code.into(),
        units,
        nanos,
    }
}

async fn convert(
    c: &mut CurrencyServiceClient<Channel>,
    from: Money,
    to: &str,
) -> Result<Money, tonic::Status> {
    c.convert(CurrencyConversionRequest {
        from: Some(from),
        to_code: to.into(),
    })
    .await
    .map(|r| r.into_inner())
}

#[tokio::test]
async fn supported_currencies_in_table_order() {
    let (server, mut c) = start().await;
    let codes = c
        .get_supported_currencies(Empty {})
        .await
        .unwrap()
        .into_inner()
        .currency_codes;
    assert_eq!(
        codes.join(","),
        "EUR,USD,JPY,BGN,CZK,DKK,GBP,HUF,PLN,RON,SEK,CHF,ISK,NOK,HRK,RUB,TRY,AUD,BRL,CAD,CNY,HKD,IDR,ILS,INR,KRW,MXN,MYR,NZD,PHP,SGD,THB,ZAR"
    );
    server.stop().await;
}

/// (units, nanos)
type Amount = (i64, i32);

/// The contract's table: USD input → (EUR, CAD, JPY, GBP, TRY).
const VECTORS: [(Amount, [Amount; 5]); 9] = [
    (
        (19, 990_000_000),
        [
            (17, 682_441_398),
            (26, 749_997_346),
            (2235, 60_592_707),
            (15, 201_594_869),
            (108, 299_648_830),
        ],
    ),
    (
        (18, 990_000_000),
        [
            (16, 797_877_046),
            (25, 411_828_395),
            (2123, 251_658_614),
            (14, 441_134_896),
            (102, 881_957_543),
        ],
    ),
    (
        (109, 990_000_000),
        [
            (97, 293_233_083),
            (147, 185_203_007),
            (12297, 864_661_691),
            (83, 642_992_481),
            (595, 891_864_663),
        ],
    ),
    (
        (89, 990_000_000),
        [
            (79, 601_946_042),
            (120, 421_823_972),
            (10061, 685_979_708),
            (68, 433_793_012),
            (487, 538_038_923),
        ],
    ),
    (
        (24, 990_000_000),
        [
            (22, 105_263_158),
            (33, 440_842_105),
            (2794, 105_263_171),
            (19, 3_894_736),
            (135, 388_105_263),
        ],
    ),
    (
        (18, 490_000_000),
        [
            (16, 355_594_870),
            (24, 742_743_919),
            (2067, 347_191_568),
            (14, 60_904_909),
            (100, 173_111_900),
        ],
    ),
    (
        (5, 490_000_000),
        [
            (4, 856_258_293),
            (7, 346_547_545),
            (613, 831_048_235),
            (4, 174_925_254),
            (29, 743_125_167),
        ],
    ),
    (
        (8, 990_000_000),
        [
            (7, 952_233_525),
            (12, 30_138_876),
            (1005, 162_317_560),
            (6, 836_535_161),
            (48, 705_044_670),
        ],
    ),
    ((0, 0), [(0, 0), (0, 0), (0, 0), (0, 0), (0, 0)]),
];

#[tokio::test]
async fn reproduces_every_usd_vector_of_the_contract() {
    let (server, mut c) = start().await;
    for ((u, n), expected) in VECTORS {
        for (code, (eu, en)) in ["EUR", "CAD", "JPY", "GBP", "TRY"]
            .into_iter()
            .zip(expected)
        {
            let got = convert(&mut c, m("USD", u, n), code).await.unwrap();
            assert_eq!(got, m(code, eu, en), "USD {u}.{n:09} -> {code}");
        }
        let same = convert(&mut c, m("USD", u, n), "USD").await.unwrap();
        assert_eq!(
            same,
            m("USD", u, n),
            "USD -> USD is the identity for {u}.{n:09}"
        );
    }
    assert_eq!(
        convert(&mut c, m("CHF", 300, 0), "EUR").await.unwrap(),
        m("EUR", 264, 84_507_042)
    );
    server.stop().await;
}

#[tokio::test]
async fn negative_amounts_convert_symmetrically() {
    let (server, mut c) = start().await;
    for ((u, n), expected) in VECTORS {
        let got = convert(&mut c, m("USD", -u, -n), "EUR").await.unwrap();
        assert_eq!(got, m("EUR", -expected[0].0, -expected[0].1));
    }
    // Upstream's floor-based carry gave {-7, -865103936} here.
    let got = convert(&mut c, m("USD", -5, -500_000_000), "EUR")
        .await
        .unwrap();
    let pos = convert(&mut c, m("USD", 5, 500_000_000), "EUR")
        .await
        .unwrap();
    assert_eq!((got.units, got.nanos), (-pos.units, -pos.nanos));
    server.stop().await;
}

#[tokio::test]
async fn bad_input_is_invalid_argument() {
    let (server, mut c) = start().await;
    let e = convert(&mut c, m("USD", 1, 0), "XAU").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "unsupported currency code \"XAU\"");
    let e = convert(&mut c, m("ABC", 1, 0), "EUR").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "unsupported currency code \"ABC\"");
    let e = convert(&mut c, m("USD", 1, 0), "").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = convert(&mut c, m("USD", 1, -5), "EUR").await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(e.message(), "one of the specified money values is invalid");
    let e = c
        .convert(CurrencyConversionRequest {
            from: None,
            to_code: "EUR".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // The largest amount still converts without overflow or panic.
    let big = convert(&mut c, m("EUR", i64::MAX, 999_999_999), "IDR")
        .await
        .unwrap_err();
    assert_eq!(big.code(), Code::OutOfRange);
    let ok = convert(&mut c, m("IDR", i64::MAX, 999_999_999), "EUR")
        .await
        .unwrap();
    assert!(ok.units > 0);
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let (server, mut c) = start().await;
    assert_health(server.channel().await, "hipstershop.CurrencyService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.CurrencyService"]
    );
    convert(&mut c, m("USD", 1, 0), "XAU").await.unwrap_err();
    let text = boutique_runtime::metrics::render();
    assert!(
        metric_value(
            &text,
            "grpc_server_handled_total",
            &[("grpc_method", "Convert"), ("grpc_code", "InvalidArgument")]
        )
        .unwrap()
            >= 1.0
    );
    server.stop().await;
}
