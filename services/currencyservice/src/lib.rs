//! `hipstershop.CurrencyService`: the supported currencies and conversion
//! between them.
//!
//! Conversion keeps upstream's business procedure — convert to EUR, round the
//! nanos there, then convert to the target and floor — but computes it in
//! exact decimal arithmetic instead of IEEE doubles, so it reproduces
//! upstream's published results for every non-negative amount. Differences
//! from upstream, all deliberate (see the README's compatibility notes):
//! an unknown currency is `INVALID_ARGUMENT` naming the code (upstream
//! answered OK with a zero amount, which made checkout charge nothing);
//! a missing or invalid amount is `INVALID_ARGUMENT`; negative amounts convert
//! symmetrically to positive ones.

mod rates;

use std::{collections::HashMap, future::Future, sync::Arc};

use boutique_proto::{
    hipstershop::{
        CurrencyConversionRequest, Empty, GetSupportedCurrenciesResponse, Money,
        currency_service_server::{CurrencyService, CurrencyServiceServer},
    },
    service_names,
};
use boutique_runtime::{GrpcServer, Probe, ServeError, ServiceInfo};
use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive as _};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};

/// Facts about this binary.
pub const INFO: ServiceInfo = ServiceInfo {
    name: "currencyservice",
    default_port: 7000,
    probe: Probe::Grpc,
    version: env!("CARGO_PKG_VERSION"),
};

/// The service has no settings of its own.
pub use boutique_runtime::NoConfig as Config;

/// Why a conversion was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// The code is not in the rate table.
    Unsupported(String),
    /// The request has no `from` amount.
    MissingAmount,
    /// The amount breaks the Money validity rules.
    InvalidAmount,
    /// The result does not fit the Money type.
    OutOfRange,
}

impl From<ConvertError> for Status {
    fn from(e: ConvertError) -> Self {
        match e {
            ConvertError::Unsupported(code) => {
                Status::invalid_argument(format!("unsupported currency code {code:?}"))
            }
            ConvertError::MissingAmount => {
                Status::invalid_argument("the amount to convert (field `from`) is missing")
            }
            ConvertError::InvalidAmount => {
                Status::invalid_argument(boutique_money::MoneyError::Invalid.to_string())
            }
            ConvertError::OutOfRange => {
                Status::out_of_range("the converted amount is out of range")
            }
        }
    }
}

const NANOS: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// The rate table and conversion arithmetic.
#[derive(Debug, Clone)]
pub struct Converter {
    codes: Arc<[String]>,
    rates: Arc<HashMap<&'static str, Decimal>>,
}

impl Default for Converter {
    fn default() -> Self {
        Self::new()
    }
}

impl Converter {
    /// The built-in table.
    pub fn new() -> Self {
        let mut rates = HashMap::new();
        for (code, rate) in rates::RATES {
            // The table is a constant of this crate; its unit test parses every entry.
            let r = Decimal::from_str_exact(rate).unwrap_or(Decimal::ONE);
            rates.insert(code, r);
        }
        Self {
            codes: rates::RATES.iter().map(|(c, _)| (*c).to_owned()).collect(),
            rates: Arc::new(rates),
        }
    }

    /// Supported codes in table order (EUR, USD, JPY, …).
    pub fn codes(&self) -> &[String] {
        &self.codes
    }

    fn rate(&self, code: &str) -> Result<Decimal, ConvertError> {
        self.rates
            .get(code)
            .copied()
            .ok_or_else(|| ConvertError::Unsupported(code.to_owned()))
    }

    /// Converts `from` into `to_code`.
    pub fn convert(&self, from: &Money, to_code: &str) -> Result<Money, ConvertError> {
        let rf = self.rate(&from.currency_code)?;
        let rt = self.rate(to_code)?;
        if !boutique_money::is_valid(from) {
            return Err(ConvertError::InvalidAmount);
        }
        let negative = from.units < 0 || from.nanos < 0;
        let units = Decimal::from(from.units.unsigned_abs());
        let nanos = Decimal::from(from.nanos.unsigned_abs());

        // To EUR; the nanos are rounded (half up) at this step.
        let (u, n) = carry(div(units, rf)?, div(nanos, rf)?)?;
        let n = n.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        // To the target currency; both parts floored.
        let (u, n) = carry(mul(u, rt)?, mul(n, rt)?)?;
        let units = u.floor().to_i64().ok_or(ConvertError::OutOfRange)?;
        let nanos = n.floor().to_i32().ok_or(ConvertError::OutOfRange)?;
        let (units, nanos) = if negative {
            (-units, -nanos)
        } else {
            (units, nanos)
        };
        Ok(Money {
            currency_code: to_code.to_owned(),
            units,
            nanos,
        })
    }
}

fn div(a: Decimal, b: Decimal) -> Result<Decimal, ConvertError> {
    a.checked_div(b).ok_or(ConvertError::OutOfRange)
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, ConvertError> {
    a.checked_mul(b).ok_or(ConvertError::OutOfRange)
}

/// Moves the fractional units into the nanos and whole units out of them:
/// `n += frac(u)·1e9; u = ⌊u⌋ + ⌊n/1e9⌋; n = n mod 1e9` (non-negative inputs).
fn carry(u: Decimal, n: Decimal) -> Result<(Decimal, Decimal), ConvertError> {
    let n = n
        .checked_add(mul(u.fract(), NANOS)?)
        .ok_or(ConvertError::OutOfRange)?;
    let whole = div(n, NANOS)?.floor();
    let u = u
        .floor()
        .checked_add(whole)
        .ok_or(ConvertError::OutOfRange)?;
    let n = n
        .checked_sub(mul(whole, NANOS)?)
        .ok_or(ConvertError::OutOfRange)?;
    Ok((u, n))
}

#[tonic::async_trait]
impl CurrencyService for Converter {
    async fn get_supported_currencies(
        &self,
        _req: Request<Empty>,
    ) -> Result<Response<GetSupportedCurrenciesResponse>, Status> {
        Ok(Response::new(GetSupportedCurrenciesResponse {
            currency_codes: self.codes.to_vec(),
        }))
    }

    async fn convert(
        &self,
        req: Request<CurrencyConversionRequest>,
    ) -> Result<Response<Money>, Status> {
        let req = req.into_inner();
        let from = req.from.ok_or(ConvertError::MissingAmount)?;
        Ok(Response::new(Converter::convert(
            self,
            &from,
            &req.to_code,
        )?))
    }
}

/// Serves the currency service on `listener` until `shutdown` resolves.
pub async fn serve(
    _config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    GrpcServer::new(service_names::CURRENCY)
        .add_service(CurrencyServiceServer::new(Converter::new()))
        .serve(listener, shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rate_parses() {
        for (code, rate) in rates::RATES {
            assert!(Decimal::from_str_exact(rate).is_ok(), "{code} {rate}");
        }
        assert_eq!(Converter::new().rates.len(), 33);
    }
}
