//! Arithmetic on the `hipstershop.Money` message, exact and panic-free.
//!
//! Amounts are handled as [`rust_decimal::Decimal`] (never `f64`); every
//! operation checks the validity rules of the proto (nanos within ±999 999 999
//! and with the same sign as units) and returns an error value instead of
//! panicking or wrapping on overflow.

use boutique_proto::hipstershop::Money;
use rust_decimal::{Decimal, RoundingStrategy, prelude::ToPrimitive as _};

const NANOS_PER_UNIT: i64 = 1_000_000_000;

/// Why a money operation failed. The texts of the first two are upstream's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("one of the specified money values is invalid")]
    Invalid,
    #[error("mismatching currency codes")]
    MismatchingCurrency,
    #[error("money amount out of range")]
    Overflow,
}

/// True when `m` satisfies the proto's validity rules.
pub fn is_valid(m: &Money) -> bool {
    let nanos_ok = (-999_999_999..=999_999_999).contains(&m.nanos);
    let sign_ok = !((m.units > 0 && m.nanos < 0) || (m.units < 0 && m.nanos > 0));
    nanos_ok && sign_ok
}

/// The exact amount of `m`.
pub fn to_decimal(m: &Money) -> Result<Decimal, MoneyError> {
    if !is_valid(m) {
        return Err(MoneyError::Invalid);
    }
    Ok(Decimal::from(m.units) + Decimal::new(i64::from(m.nanos), 9))
}

/// `amount` in `currency_code`, truncated (toward zero) to whole nanos.
pub fn from_decimal(currency_code: &str, amount: Decimal) -> Result<Money, MoneyError> {
    let amount = amount.round_dp_with_strategy(9, RoundingStrategy::ToZero);
    let units = amount.trunc();
    let nanos = ((amount - units) * Decimal::from(NANOS_PER_UNIT)).trunc();
    Ok(Money {
        currency_code: currency_code.to_owned(),
        units: units.to_i64().ok_or(MoneyError::Overflow)?,
        nanos: nanos.to_i32().ok_or(MoneyError::Overflow)?,
    })
}

/// Zero in `currency_code`.
pub fn zero(currency_code: &str) -> Money {
    Money {
        currency_code: currency_code.to_owned(),
        units: 0,
        nanos: 0,
    }
}

/// `l + r`. Both must be valid and in the same currency (two empty codes are
/// equal); the result carries `l`'s code. Unlike upstream, sums whose units
/// cancel out (0.20 + 0.30) are exact.
pub fn sum(l: &Money, r: &Money) -> Result<Money, MoneyError> {
    let (a, b) = (to_decimal(l)?, to_decimal(r)?);
    if l.currency_code != r.currency_code {
        return Err(MoneyError::MismatchingCurrency);
    }
    from_decimal(
        &l.currency_code,
        a.checked_add(b).ok_or(MoneyError::Overflow)?,
    )
}

/// `m × n`, exact. (Upstream's `MultiplySlow` returned `m` for `n = 0`; here
/// zero items cost zero.)
pub fn multiply(m: &Money, n: u32) -> Result<Money, MoneyError> {
    let a = to_decimal(m)?;
    from_decimal(
        &m.currency_code,
        a.checked_mul(Decimal::from(n))
            .ok_or(MoneyError::Overflow)?,
    )
}

/// Sums `items` onto `start`.
pub fn total<'a>(
    start: Money,
    items: impl IntoIterator<Item = &'a Money>,
) -> Result<Money, MoneyError> {
    items.into_iter().try_fold(start, |acc, m| sum(&acc, m))
}

/// The symbol the shop shows for a currency (`$` for codes it has none for).
pub fn symbol(currency_code: &str) -> &'static str {
    match currency_code {
        "EUR" => "€",
        "JPY" => "¥",
        "GBP" => "£",
        "TRY" => "₺",
        _ => "$",
    }
}

/// Upstream's display: `<symbol><units>.<cents>` with the cents truncated.
pub fn display(m: &Money) -> String {
    let cents = (m.nanos / 10_000_000).unsigned_abs();
    let sign = if m.units < 0 || m.nanos < 0 { "-" } else { "" };
    format!(
        "{sign}{}{}.{cents:02}",
        symbol(&m.currency_code),
        m.units.unsigned_abs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(code: &str, units: i64, nanos: i32) -> Money {
        Money {
            currency_code: code.into(),
            units,
            nanos,
        }
    }

    #[test]
    fn validity() {
        assert!(is_valid(&m("USD", 0, 0)));
        assert!(is_valid(&m("USD", 1, 999_999_999)));
        assert!(is_valid(&m("USD", -1, -5)));
        assert!(is_valid(&m("USD", 0, -5)));
        assert!(!is_valid(&m("USD", 1, -5)));
        assert!(!is_valid(&m("USD", -1, 5)));
        assert!(!is_valid(&m("USD", 0, 1_000_000_000)));
        assert!(!is_valid(&m("USD", 0, -1_000_000_000)));
    }

    #[test]
    fn sums() {
        assert_eq!(
            sum(&m("USD", 1, 500_000_000), &m("USD", 2, 600_000_000)),
            Ok(m("USD", 4, 100_000_000))
        );
        assert_eq!(
            sum(&m("USD", 0, 200_000_000), &m("USD", 0, 300_000_000)),
            Ok(m("USD", 0, 500_000_000))
        );
        assert_eq!(
            sum(&m("USD", 2, 0), &m("USD", -3, -500_000_000)),
            Ok(m("USD", -1, -500_000_000))
        );
        assert_eq!(sum(&m("", 1, 0), &m("", 1, 0)), Ok(m("", 2, 0)));
        assert_eq!(
            sum(&m("USD", 1, 0), &m("EUR", 1, 0)),
            Err(MoneyError::MismatchingCurrency)
        );
        assert_eq!(
            sum(&m("USD", 1, -1), &m("USD", 1, 0)),
            Err(MoneyError::Invalid)
        );
        assert_eq!(
            sum(&m("USD", i64::MAX, 0), &m("USD", 1, 0)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            MoneyError::Invalid.to_string(),
            "one of the specified money values is invalid"
        );
        assert_eq!(
            MoneyError::MismatchingCurrency.to_string(),
            "mismatching currency codes"
        );
    }

    #[test]
    fn multiplies() {
        assert_eq!(
            multiply(&m("USD", 8, 990_000_000), 3),
            Ok(m("USD", 26, 970_000_000))
        );
        assert_eq!(
            multiply(&m("USD", 8, 990_000_000), 1),
            Ok(m("USD", 8, 990_000_000))
        );
        assert_eq!(multiply(&m("USD", 8, 990_000_000), 0), Ok(m("USD", 0, 0)));
        assert_eq!(
            multiply(&m("USD", i64::MAX / 2, 0), 3),
            Err(MoneyError::Overflow)
        );
        assert_eq!(multiply(&m("USD", 1, -1), 2), Err(MoneyError::Invalid));
    }

    #[test]
    fn displays() {
        assert_eq!(display(&m("USD", 19, 990_000_000)), "$19.99");
        assert_eq!(display(&m("EUR", 17, 682_441_398)), "€17.68");
        assert_eq!(display(&m("JPY", 2235, 60_592_707)), "¥2235.06");
        assert_eq!(display(&m("GBP", 0, 5_000_000)), "£0.00");
        assert_eq!(display(&m("CHF", 3, 0)), "$3.00");
        assert_eq!(display(&m("TRY", 1, 100_000_000)), "₺1.10");
        assert_eq!(display(&m("CAD", 1, 0)), "$1.00");
    }

    #[test]
    fn decimal_round_trip() {
        let d = to_decimal(&m("USD", -7, -865_103_936)).unwrap();
        assert_eq!(d.to_string(), "-7.865103936");
        assert_eq!(from_decimal("USD", d), Ok(m("USD", -7, -865_103_936)));
        assert_eq!(
            from_decimal("USD", Decimal::new(12_345_678_912, 10)),
            Ok(m("USD", 1, 234_567_891))
        );
    }
}
