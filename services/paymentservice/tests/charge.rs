//! The card rules of the contract (§5) over real gRPC on an ephemeral port.

use std::{collections::HashSet, time::Duration};

use boutique_proto::hipstershop::{
    ChargeRequest, CreditCardInfo, Money, payment_service_client::PaymentServiceClient,
};
use boutique_testkit::{
    ServiceProcess, TestServer, assert_health, connect, metric_value, reflection_services, spawn,
};
use paymentservice::{Clock, Config, serve};
use tonic::{Code, transport::Channel};

/// A fixed "now" for deterministic expiry checks: March 2026.
fn march_2026() -> (i32, u32) {
    (2026, 3)
}

/// A fixed "now" in January, to cross a year boundary.
fn january_2027() -> (i32, u32) {
    (2027, 1)
}

async fn start(clock: Clock) -> (TestServer, PaymentServiceClient<Channel>) {
    let server = spawn(move |l, s| serve(Config { clock }, l, s)).await;
    let client = PaymentServiceClient::new(server.channel().await);
    (server, client)
}

fn card(number: &str, year: i32, month: i32) -> CreditCardInfo {
    CreditCardInfo {
        credit_card_number: number.into(),
        credit_card_cvv: 672,
        credit_card_expiration_year: year,
        credit_card_expiration_month: month,
    }
}

fn usd(units: i64, nanos: i32) -> Money {
    Money {
        currency_code: "USD".into(),
        units,
        nanos,
    }
}

async fn charge(
    c: &mut PaymentServiceClient<Channel>,
    card: Option<CreditCardInfo>,
) -> Result<String, tonic::Status> {
    c.charge(ChargeRequest {
        amount: Some(usd(42, 500_000_000)),
        credit_card: card,
    })
    .await
    .map(|r| r.into_inner().transaction_id)
}

/// `prefix` completed with the digit that makes its Luhn checksum valid.
fn with_luhn_digit(prefix: &str) -> String {
    let sum: u32 = prefix
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = c.to_digit(10).expect("digits only");
            // The check digit will sit at index 0, so the prefix's last digit is doubled.
            if i % 2 == 0 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    format!("{prefix}{}", (10 - sum % 10) % 10)
}

/// A lowercase, hyphenated, version-4 (RFC 4122 variant) UUID.
fn assert_uuid_v4(id: &str) {
    assert_eq!(id.len(), 36, "{id}");
    for (i, c) in id.chars().enumerate() {
        if [8, 13, 18, 23].contains(&i) {
            assert_eq!(c, '-', "{id}");
        } else {
            assert!(matches!(c, '0'..='9' | 'a'..='f'), "{id}");
        }
    }
    assert_eq!(&id[14..15], "4", "version nibble of {id}");
    assert!(
        matches!(&id[19..20], "8" | "9" | "a" | "b"),
        "variant of {id}"
    );
}

async fn refused(c: &mut PaymentServiceClient<Channel>, card: Option<CreditCardInfo>) -> String {
    let err = charge(c, card).await.expect_err("the charge is refused");
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    err.message().to_owned()
}

#[test]
fn luhn_helper_matches_known_numbers() {
    assert_eq!(with_luhn_digit("443280156152045"), "4432801561520454");
    assert_eq!(with_luhn_digit("555555555555444"), "5555555555554444");
    assert_eq!(with_luhn_digit("7992739871"), "79927398713");
}

#[tokio::test]
async fn valid_visa_and_mastercard_are_charged_with_v4_ids() {
    let (server, mut c) = start(march_2026).await;
    let mut ids = HashSet::new();
    for number in [
        "4432801561520454",
        "5555555555554444",
        "5105105105105100",
        "4111111111111111",
    ] {
        let id = charge(&mut c, Some(card(number, 2030, 1)))
            .await
            .unwrap_or_else(|e| panic!("{number}: {e:?}"));
        assert_uuid_v4(&id);
        assert!(ids.insert(id), "transaction ids are unique");
    }
    server.stop().await;
}

#[tokio::test]
async fn spaces_and_dashes_are_ignored() {
    let (server, mut c) = start(march_2026).await;
    for number in [
        "4432 8015 6152 0454",
        "4432-8015-6152-0454",
        " 4432-8015 6152--0454 ",
        "5555-5555-5555-4444",
    ] {
        let id = charge(&mut c, Some(card(number, 2026, 12)))
            .await
            .unwrap_or_else(|e| panic!("{number:?}: {e:?}"));
        assert_uuid_v4(&id);
    }
    // Other separators are not stripped: the number is invalid.
    assert_eq!(
        refused(&mut c, Some(card("4432.8015.6152.0454", 2030, 1))).await,
        "Credit card info is invalid"
    );
    server.stop().await;
}

#[tokio::test]
async fn other_card_types_are_refused_with_upstreams_message() {
    let (server, mut c) = start(march_2026).await;
    let electron = with_luhn_digit("450812345678901");
    assert_eq!(electron.len(), 16);
    for (number, kind) in [
        (electron.as_str(), "visa_electron"),
        ("378282246310005", "amex"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("3530111333300000", "jcb"),
        ("30569309025904", "diners_club_carte_blanche"),
        ("36227206271667", "diners_club_international"),
        (&with_luhn_digit("50181234567890123"), "maestro"),
        (&with_luhn_digit("508500123456789"), "rupay"),
    ] {
        assert_eq!(
            refused(&mut c, Some(card(number, 2030, 1))).await,
            format!(
                "Sorry, we cannot process {kind} credit cards. Only VISA or MasterCard is accepted."
            ),
            "{number}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn invalid_numbers_are_refused() {
    let (server, mut c) = start(march_2026).await;
    for number in [
        "4432801561520455",  // bad Luhn
        "4432801561520445",  // swapped digits
        "2221000000000009",  // Mastercard 2-series: Luhn-valid, no type
        "4222222222222",     // Luhn-valid visa, 13 digits
        "44328015615204540", // 17 digits
        "37828224631000",    // amex, 14 digits
        "1234567812345670",  // Luhn-valid, unknown type
        "abcd",
        "-",
    ] {
        assert_eq!(
            refused(&mut c, Some(card(number, 2030, 1))).await,
            "Credit card info is invalid",
            "{number:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn expiry_allows_the_current_month() {
    let (server, mut c) = start(march_2026).await;
    let ok = charge(&mut c, Some(card("4432801561520454", 2026, 3))).await;
    assert_uuid_v4(&ok.expect("the current month is accepted"));
    assert_eq!(
        refused(&mut c, Some(card("4432801561520454", 2026, 2))).await,
        "Your credit card (ending 0454) expired on 2/2026"
    );
    assert_eq!(
        refused(&mut c, Some(card("5555-5555-5555-4444", 2025, 12))).await,
        "Your credit card (ending 4444) expired on 12/2025"
    );
    assert_eq!(
        refused(&mut c, Some(card("4432801561520454", 0, 0))).await,
        "Your credit card (ending 0454) expired on 0/0"
    );
    // Invalid and unaccepted are reported before expiry.
    assert_eq!(
        refused(&mut c, Some(card("378282246310005", 2020, 1))).await,
        "Sorry, we cannot process amex credit cards. Only VISA or MasterCard is accepted."
    );
    assert_eq!(
        refused(&mut c, Some(card("4432801561520455", 2020, 1))).await,
        "Credit card info is invalid"
    );
    server.stop().await;

    let (server, mut c) = start(january_2027).await;
    assert_eq!(
        refused(&mut c, Some(card("4432801561520454", 2026, 12))).await,
        "Your credit card (ending 0454) expired on 12/2026"
    );
    assert!(
        charge(&mut c, Some(card("4432801561520454", 2027, 1)))
            .await
            .is_ok()
    );
    server.stop().await;
}

#[tokio::test]
async fn the_default_clock_is_today() {
    let (server, mut c) = start(Config::default().clock).await;
    assert!(
        charge(&mut c, Some(card("4432801561520454", 2099, 12)))
            .await
            .is_ok()
    );
    assert_eq!(
        refused(&mut c, Some(card("4432801561520454", 2024, 12))).await,
        "Your credit card (ending 0454) expired on 12/2024"
    );
    server.stop().await;
}

#[tokio::test]
async fn missing_fields_are_invalid_argument() {
    let (server, mut c) = start(march_2026).await;
    let msg = refused(&mut c, None).await;
    assert!(msg.contains("credit_card"), "{msg}");
    let msg = refused(&mut c, Some(card("", 2030, 1))).await;
    assert!(msg.contains("credit_card_number"), "{msg}");
    // A missing amount is not validated (as upstream).
    let id = c
        .charge(ChargeRequest {
            amount: None,
            credit_card: Some(card("4432801561520454", 2030, 1)),
        })
        .await
        .expect("charged")
        .into_inner()
        .transaction_id;
    assert_uuid_v4(&id);
    server.stop().await;
}

#[tokio::test]
async fn health_reflection_and_metrics() {
    let (server, mut c) = start(march_2026).await;
    assert_health(server.channel().await, "hipstershop.PaymentService").await;
    let mut services = reflection_services(server.channel().await).await;
    services.sort();
    assert_eq!(
        services,
        ["grpc.health.v1.Health", "hipstershop.PaymentService"]
    );

    let series = |code| {
        [
            ("grpc_service", "hipstershop.PaymentService"),
            ("grpc_method", "Charge"),
            ("grpc_code", code),
        ]
    };
    let count = |text: &str, code| {
        metric_value(text, "grpc_server_handled_total", &series(code)).unwrap_or(0.0)
    };
    let before = boutique_runtime::metrics::render();
    charge(&mut c, Some(card("4432801561520454", 2030, 1)))
        .await
        .unwrap();
    charge(&mut c, Some(card("4432801561520454", 2030, 1)))
        .await
        .unwrap();
    refused(&mut c, Some(card("378282246310005", 2030, 1))).await;
    let after = boutique_runtime::metrics::render();
    // Tests in this binary run concurrently and share the registry: at least
    // the calls made here were counted.
    assert!(count(&after, "OK") - count(&before, "OK") >= 2.0);
    assert!(count(&after, "InvalidArgument") - count(&before, "InvalidArgument") >= 1.0);
    server.stop().await;
}

#[tokio::test]
async fn binary_charges_logs_only_the_last_four_digits_and_stops_cleanly() {
    let p = ServiceProcess::start("paymentservice", &[]).await;
    let mut c = PaymentServiceClient::new(connect(p.addr).await);
    let id = charge(&mut c, Some(card("4432-8015-6152-0454", 2099, 1)))
        .await
        .expect("charged");
    assert_uuid_v4(&id);
    refused(&mut c, Some(card("5555555555554444", 2001, 1))).await;

    // Wait for both log lines, then check no line carries a full number.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let seen = {
            let logs = p.logs.lock().unwrap();
            let processed = logs
                .iter()
                .find(|l| l["message"] == "transaction processed")
                .cloned();
            let refused = logs.iter().any(|l| l["message"] == "charge refused");
            processed.filter(|_| refused)
        };
        if let Some(line) = seen {
            assert_eq!(line["severity"], "info");
            assert_eq!(line["card_type"], "visa");
            assert_eq!(line["card_last4"], "0454");
            assert_eq!(line["amount"], "USD 42.5");
            assert_eq!(line["transaction_id"], id.as_str());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "charge log lines within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    {
        let logs = p.logs.lock().unwrap();
        for line in logs.iter() {
            let text = line.to_string();
            for full in [
                "4432801561520454",
                "4432-8015-6152-0454",
                "5555555555554444",
            ] {
                assert!(!text.contains(full), "full card number logged: {text}");
            }
        }
    }
    p.terminate();
    assert_eq!(p.wait(Duration::from_secs(5)).await, Some(0));
}
