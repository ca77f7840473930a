//! Money: exact decimal amounts in won (or another currency's major unit) with at most
//! two fractional digits.
//!
//! Invariants:
//! - a [`Money`] never holds more than [`Money::SCALE`] fractional digits, so it maps
//!   one-to-one onto an `i64` count of hundredths ([`Money::to_minor`] /
//!   [`Money::from_minor`]); that integer is what both databases store, which makes the
//!   round trip exact on SQLite and PostgreSQL alike;
//! - its text form is the plain decimal (`"12000"`, `"12000.50"`, `"0.10"`), never a float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MoneyError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("at most 2 decimal places are allowed")]
    TooPrecise,
    #[error("must not be negative")]
    Negative,
    #[error("too large")]
    Overflow,
}

/// A non-negative amount with at most two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    /// Fractional digits kept.
    pub const SCALE: u32 = 2;
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// # Errors
    /// Negative values and values with more than two fractional digits are refused.
    pub fn new(value: Decimal) -> Result<Self, MoneyError> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        let normalized = value.normalize();
        if normalized.scale() > Self::SCALE {
            return Err(MoneyError::TooPrecise);
        }
        // Keep the caller's own scale (up to 2) so "0.10" stays "0.10".
        Ok(Self(value))
    }

    /// The amount in hundredths, the storage form.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] when the amount exceeds `i64::MAX` hundredths.
    pub fn to_minor(self) -> Result<i64, MoneyError> {
        let mut scaled = self.0;
        scaled.rescale(Self::SCALE);
        i64::try_from(scaled.mantissa()).map_err(|_| MoneyError::Overflow)
    }

    /// Rebuilds an amount from its storage form (hundredths).
    ///
    /// # Errors
    /// [`MoneyError::Negative`] for a negative count, which only a corrupted row holds.
    pub fn from_minor(minor: i64) -> Result<Self, MoneyError> {
        if minor < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(Self(Decimal::new(minor, Self::SCALE)))
    }

    #[must_use]
    pub fn as_decimal(self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Money {
    /// `12000.00` prints as `12000`, `0.10` as `0.10`, `12000.5` as `12000.50`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut value = self.0;
        if value.fract().is_zero() {
            value.rescale(0);
        } else {
            value.rescale(Self::SCALE);
        }
        write!(f, "{value}")
    }
}

impl FromStr for Money {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value = Decimal::from_str_exact(s.trim()).map_err(|_| MoneyError::NotANumber)?;
        Self::new(value)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_amounts_with_cents_survive_the_storage_form_exactly() -> Result<(), MoneyError> {
        let money: Money = "12345678901234.56".parse()?;
        let back = Money::from_minor(money.to_minor()?)?;
        assert_eq!(back, money);
        assert_eq!(back.to_string(), "12345678901234.56");
        Ok(())
    }

    #[test]
    fn ten_cents_keeps_its_trailing_zero() -> Result<(), MoneyError> {
        let money: Money = "0.10".parse()?;
        assert_eq!(Money::from_minor(money.to_minor()?)?.to_string(), "0.10");
        Ok(())
    }

    #[test]
    fn whole_won_print_without_a_fraction() -> Result<(), MoneyError> {
        assert_eq!(Money::from_minor(1_200_000)?.to_string(), "12000");
        Ok(())
    }

    #[test]
    fn three_decimal_places_are_refused() {
        assert_eq!("1.005".parse::<Money>(), Err(MoneyError::TooPrecise));
    }

    #[test]
    fn negative_amounts_are_refused() {
        assert_eq!("-1".parse::<Money>(), Err(MoneyError::Negative));
    }

    proptest::proptest! {
        #[test]
        fn every_storable_amount_round_trips_through_storage_and_text(minor in 0i64..=i64::MAX) {
            let money = Money::from_minor(minor).expect("non-negative");
            proptest::prop_assert_eq!(money.to_minor(), Ok(minor));
            let reparsed: Money = money.to_string().parse().expect("its own text parses");
            proptest::prop_assert_eq!(reparsed, money);
        }

        #[test]
        fn arbitrary_text_never_panics_and_accepted_text_is_storable(text in "\\PC{0,24}") {
            if let Ok(money) = text.parse::<Money>() {
                proptest::prop_assert!(money.to_minor().is_ok() || money.as_decimal() > Decimal::from(i64::MAX / 100));
            }
        }
    }

    #[test]
    fn floats_in_disguise_are_not_numbers() {
        assert_eq!("1e3".parse::<Money>(), Err(MoneyError::NotANumber));
    }
}
