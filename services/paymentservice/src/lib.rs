//! `hipstershop.PaymentService`: validates a credit card and pretends to
//! charge it, answering with a random v4 transaction id. Nothing is stored;
//! the amount and the CVV are not validated.
//!
//! Checks run in upstream's order: the number is normalised (spaces and `-`
//! removed), its type is detected and it must be valid (known type, valid
//! length, Luhn), only VISA and Mastercard are accepted, and the card must
//! not have expired (it is good through its expiration month, compared with
//! the current UTC month). Differences from upstream, all deliberate (see the
//! README's compatibility notes): a refused card is `INVALID_ARGUMENT` with
//! upstream's message (upstream sent the non-standard status 400); a missing
//! card or an empty number is `INVALID_ARGUMENT` (upstream: `UNKNOWN`); the
//! current month is taken in UTC (upstream: the server's local time zone).

pub mod card;

use std::future::Future;

use boutique_proto::{
    hipstershop::{
        ChargeRequest, ChargeResponse, CreditCardInfo, Money,
        payment_service_server::{PaymentService, PaymentServiceServer},
    },
    service_names,
};
use boutique_runtime::{ConfigError, Env, GrpcServer, Probe, ServeError, ServiceInfo};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

use crate::card::CardType;

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "paymentservice",
    default_port: 50051,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// The current `(year, month)`, month in 1..=12.
pub type Clock = fn() -> (i32, u32);

/// The current UTC `(year, month)`.
pub fn utc_year_month() -> (i32, u32) {
    let now = time::OffsetDateTime::now_utc();
    (now.year(), u32::from(u8::from(now.month())))
}

/// Service configuration.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Where expiry checks read the current month (UTC unless a test says otherwise).
    pub clock: Clock,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            clock: utc_year_month,
        }
    }
}

impl Config {
    /// Nothing to read beyond the runtime's variables.
    pub fn from_env(_env: &Env) -> Result<Self, ConfigError> {
        Ok(Self::default())
    }
}

/// Why a charge was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeError {
    /// The request has no `credit_card`.
    MissingCard,
    /// The card number is the empty string.
    EmptyNumber,
    /// Unknown type, wrong length for the type, or bad Luhn checksum.
    Invalid,
    /// A valid card of a type the shop does not take.
    Unaccepted(CardType),
    /// The card expired before the current month.
    Expired {
        /// Last four characters of the number (as upstream computes them).
        last4: String,
        month: i32,
        year: i32,
    },
}

impl ChargeError {
    /// The message the client sees (upstream's texts for refused cards).
    pub fn message(&self) -> String {
        match self {
            Self::MissingCard => "the credit card (field `credit_card`) is missing".to_owned(),
            Self::EmptyNumber => {
                "the credit card number (field `credit_card.credit_card_number`) is empty"
                    .to_owned()
            }
            Self::Invalid => "Credit card info is invalid".to_owned(),
            Self::Unaccepted(t) => format!(
                "Sorry, we cannot process {t} credit cards. Only VISA or MasterCard is accepted."
            ),
            Self::Expired { last4, month, year } => {
                format!("Your credit card (ending {last4}) expired on {month}/{year}")
            }
        }
    }
}

impl From<ChargeError> for Status {
    fn from(e: ChargeError) -> Self {
        Status::invalid_argument(e.message())
    }
}

/// The last `n` characters of `s` (all of it when shorter).
fn last_chars(s: &str, n: usize) -> String {
    let len = s.chars().count();
    s.chars().skip(len.saturating_sub(n)).collect()
}

/// Upstream's "ending" digits: the last four characters of the number with
/// only its first `-` removed.
fn expiry_last4(number: &str) -> String {
    last_chars(&number.replacen('-', "", 1), 4)
}

/// Runs every check on `card` with the current month `today` and returns the
/// accepted card's type.
pub fn validate(card: Option<&CreditCardInfo>, today: (i32, u32)) -> Result<CardType, ChargeError> {
    let card = card.ok_or(ChargeError::MissingCard)?;
    if card.credit_card_number.is_empty() {
        return Err(ChargeError::EmptyNumber);
    }
    let number = card::normalise(&card.credit_card_number);
    let checked = card::check(&number);
    let card_type = match checked.card_type {
        Some(t) if checked.valid => t,
        _ => return Err(ChargeError::Invalid),
    };
    if !card_type.accepted() {
        return Err(ChargeError::Unaccepted(card_type));
    }
    let (year, month) = (
        card.credit_card_expiration_year,
        card.credit_card_expiration_month,
    );
    let (cy, cm) = today;
    // Good through the expiration month; month is not range-checked (as upstream).
    if i64::from(cy) * 12 + i64::from(cm) > i64::from(year) * 12 + i64::from(month) {
        return Err(ChargeError::Expired {
            last4: expiry_last4(&card.credit_card_number),
            month,
            year,
        });
    }
    Ok(card_type)
}

/// `amount` for the log: `USD 8.99`.
fn describe_amount(amount: Option<&Money>) -> String {
    match amount {
        None => "none".to_owned(),
        Some(m) => match boutique_money::to_decimal(m) {
            Ok(d) => format!("{} {}", m.currency_code, d.normalize()),
            Err(_) => format!(
                "{} (invalid: units {}, nanos {})",
                m.currency_code, m.units, m.nanos
            ),
        },
    }
}

/// The service implementation.
#[derive(Debug, Clone, Copy)]
pub struct Payments {
    clock: Clock,
}

impl Payments {
    /// A payment service reading the current month from `clock`.
    pub fn new(clock: Clock) -> Self {
        Self { clock }
    }
}

#[tonic::async_trait]
impl PaymentService for Payments {
    async fn charge(
        &self,
        req: Request<ChargeRequest>,
    ) -> Result<Response<ChargeResponse>, Status> {
        let req = req.into_inner();
        let amount = describe_amount(req.amount.as_ref());
        // Only ever the last four digits of the number reach the logs.
        let last4 = req
            .credit_card
            .as_ref()
            .map(|c| last_chars(&card::normalise(&c.credit_card_number), 4))
            .unwrap_or_default();
        match validate(req.credit_card.as_ref(), (self.clock)()) {
            Ok(card_type) => {
                let transaction_id = uuid::Uuid::new_v4().hyphenated().to_string();
                tracing::info!(
                    card_type = card_type.name(),
                    card_last4 = %last4,
                    amount = %amount,
                    transaction_id = %transaction_id,
                    "transaction processed"
                );
                Ok(Response::new(ChargeResponse { transaction_id }))
            }
            Err(e) => {
                tracing::info!(
                    card_last4 = %last4,
                    amount = %amount,
                    reason = %e.message(),
                    "charge refused"
                );
                Err(e.into())
            }
        }
    }
}

/// Serves the payment service on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    GrpcServer::new(service_names::PAYMENT)
        .add_service(PaymentServiceServer::new(Payments::new(config.clock)))
        .serve(listener, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(number: &str, year: i32, month: i32) -> CreditCardInfo {
        CreditCardInfo {
            credit_card_number: number.into(),
            credit_card_cvv: 123,
            credit_card_expiration_year: year,
            credit_card_expiration_month: month,
        }
    }

    #[test]
    fn expiry_is_inclusive_of_the_expiration_month() {
        let today = (2026, 3);
        let visa = "4432801561520454";
        assert_eq!(
            validate(Some(&card(visa, 2026, 3)), today),
            Ok(CardType::Visa)
        );
        assert_eq!(
            validate(Some(&card(visa, 2027, 1)), today),
            Ok(CardType::Visa)
        );
        // Month is not range-checked: 2025/15 is 2026/03.
        assert_eq!(
            validate(Some(&card(visa, 2025, 15)), today),
            Ok(CardType::Visa)
        );
        for (y, m) in [
            (2026, 2),
            (2025, 12),
            (0, 0),
            (2026, 0),
            (i32::MIN, i32::MIN),
        ] {
            assert!(
                matches!(
                    validate(Some(&card(visa, y, m)), today),
                    Err(ChargeError::Expired { .. })
                ),
                "{y}/{m}"
            );
        }
        // Extreme values do not overflow.
        assert!(validate(Some(&card(visa, i32::MAX, i32::MAX)), today).is_ok());
    }

    #[test]
    fn expiry_message_keeps_upstreams_last4() {
        let e = validate(Some(&card("4432-8015-6152-0454", 2020, 1)), (2026, 3));
        assert_eq!(
            e.map_err(|e| e.message()),
            Err("Your credit card (ending 0454) expired on 1/2020".to_owned())
        );
        // Only the first '-' is removed, so a trailing dash group shows.
        assert_eq!(expiry_last4("4432801561520-454"), "0454");
        assert_eq!(expiry_last4("443280156152-04-54"), "4-54");
        assert_eq!(expiry_last4("4432 8015 6152 0454"), "0454");
        assert_eq!(expiry_last4("4432801561520 454"), " 454");
        assert_eq!(last_chars("12", 4), "12");
    }

    #[test]
    fn check_order_missing_empty_invalid_unaccepted_expired() {
        let today = (2026, 3);
        assert_eq!(validate(None, today), Err(ChargeError::MissingCard));
        assert_eq!(
            validate(Some(&card("", 2030, 1)), today),
            Err(ChargeError::EmptyNumber)
        );
        // Only separators: normalises to nothing, an unknown type.
        assert_eq!(
            validate(Some(&card(" - ", 2030, 1)), today),
            Err(ChargeError::Invalid)
        );
        // Invalid beats expired and unaccepted.
        assert_eq!(
            validate(Some(&card("378282246310006", 2000, 1)), today),
            Err(ChargeError::Invalid)
        );
        // Unaccepted beats expired.
        assert_eq!(
            validate(Some(&card("378282246310005", 2000, 1)), today),
            Err(ChargeError::Unaccepted(CardType::Amex))
        );
    }

    #[test]
    fn amounts_in_logs() {
        let m = Money {
            currency_code: "USD".into(),
            units: 8,
            nanos: 990_000_000,
        };
        assert_eq!(describe_amount(Some(&m)), "USD 8.99");
        assert_eq!(describe_amount(None), "none");
        let bad = Money {
            nanos: -1,
            ..m.clone()
        };
        assert_eq!(
            describe_amount(Some(&bad)),
            "USD (invalid: units 8, nanos -1)"
        );
    }

    #[test]
    fn utc_clock_is_plausible() {
        let (y, m) = utc_year_month();
        assert!(y >= 2025, "{y}");
        assert!((1..=12).contains(&m), "{m}");
    }
}
