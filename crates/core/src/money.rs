//! Integer yen. There are no fractional yen anywhere in atobarai: every
//! amount is a whole number of yen held in an `i64`, and every operation is
//! checked so that an overflow is an error value, never a wrap or a panic.
//!
//! Rounding rule (the only one in this crate): [`Yen::mul_ratio_floor`]
//! computes `amount × numerator / denominator` exactly in 128-bit integers and
//! rounds toward negative infinity (floor). Callers that need another rule say
//! so at the call site.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A signed amount of Japanese yen. Negative values are meaningful for
/// balances (a credit balance is a negative receivable); amounts a customer or
/// merchant sends us are validated as positive at the boundary.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Yen(i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflows the yen range")]
    Overflow,
    #[error("amount must be positive")]
    NotPositive,
    #[error("division by zero")]
    DivisionByZero,
}

impl Yen {
    pub const ZERO: Yen = Yen(0);
    /// The largest amount any single order, payment or limit may carry:
    /// ¥1,000,000,000,000 (one trillion). Far above any real order, far below
    /// `i64::MAX`, so sums of many such amounts stay representable.
    pub const AMOUNT_MAX: Yen = Yen(1_000_000_000_000);

    pub const fn new(yen: i64) -> Yen {
        Yen(yen)
    }

    /// A strictly positive amount no larger than [`Yen::AMOUNT_MAX`].
    pub fn positive(yen: i64) -> Result<Yen, MoneyError> {
        if yen <= 0 {
            Err(MoneyError::NotPositive)
        } else if yen > Self::AMOUNT_MAX.0 {
            Err(MoneyError::Overflow)
        } else {
            Ok(Yen(yen))
        }
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Yen) -> Result<Yen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Yen) -> Result<Yen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Yen, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_neg(self) -> Result<Yen, MoneyError> {
        self.0.checked_neg().map(Yen).ok_or(MoneyError::Overflow)
    }

    /// `self × numerator / denominator`, exact in 128 bits, rounded down
    /// (toward negative infinity).
    pub fn mul_ratio_floor(self, numerator: i64, denominator: i64) -> Result<Yen, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::DivisionByZero);
        }
        let (mut product, mut denominator) = (
            i128::from(self.0) * i128::from(numerator),
            i128::from(denominator),
        );
        if denominator < 0 {
            product = -product;
            denominator = -denominator;
        }
        // With a positive denominator, Euclidean division is floor division.
        let quotient = product.div_euclid(denominator);
        i64::try_from(quotient)
            .map(Yen)
            .map_err(|_| MoneyError::Overflow)
    }

    pub fn min(self, other: Yen) -> Yen {
        Yen(self.0.min(other.0))
    }

    pub fn max(self, other: Yen) -> Yen {
        Yen(self.0.max(other.0))
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Sum an iterator of amounts, failing on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Yen>>(items: I) -> Result<Yen, MoneyError> {
        items.into_iter().try_fold(Yen::ZERO, Yen::checked_add)
    }
}

impl fmt::Display for Yen {
    /// `¥1,234` / `-¥1,234`: the form people read on an invoice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if self.0 < 0 {
            write!(f, "-¥{grouped}")
        } else {
            write!(f, "¥{grouped}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn display_groups_thousands() {
        assert_eq!(Yen::new(0).to_string(), "¥0");
        assert_eq!(Yen::new(999).to_string(), "¥999");
        assert_eq!(Yen::new(1000).to_string(), "¥1,000");
        assert_eq!(Yen::new(-55000).to_string(), "-¥55,000");
        assert_eq!(Yen::new(1_234_567).to_string(), "¥1,234,567");
    }

    #[test]
    fn positive_rejects_zero_negative_and_huge() {
        assert_eq!(Yen::positive(0), Err(MoneyError::NotPositive));
        assert_eq!(Yen::positive(-1), Err(MoneyError::NotPositive));
        assert_eq!(
            Yen::positive(Yen::AMOUNT_MAX.get() + 1),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Yen::positive(5000), Ok(Yen::new(5000)));
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(
            Yen::new(i64::MAX).checked_add(Yen::new(1)),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Yen::new(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Yen::new(i64::MIN).checked_neg(), Err(MoneyError::Overflow));
    }

    #[test]
    fn ratio_rounds_down() {
        // 14.6% a year for 1 day on ¥30,000: 30000*146/365000 = 12.0
        assert_eq!(
            Yen::new(30000).mul_ratio_floor(146, 365_000),
            Ok(Yen::new(12))
        );
        // 1 point per ¥200 of ¥399 = 1.995 -> 1
        assert_eq!(Yen::new(399).mul_ratio_floor(1, 200), Ok(Yen::new(1)));
        assert_eq!(Yen::new(-1).mul_ratio_floor(1, 2), Ok(Yen::new(-1)));
        assert_eq!(Yen::new(1).mul_ratio_floor(1, -2), Ok(Yen::new(-1)));
        assert_eq!(
            Yen::new(1).mul_ratio_floor(1, 0),
            Err(MoneyError::DivisionByZero)
        );
    }

    proptest! {
        #[test]
        fn ratio_matches_float_free_reference(a in -1_000_000_000i64..1_000_000_000, n in 0i64..1000, d in 1i64..100_000) {
            let got = Yen::new(a).mul_ratio_floor(n, d).unwrap().get();
            let exact = i128::from(a) * i128::from(n);
            // floor: got*d <= exact < (got+1)*d
            prop_assert!(i128::from(got) * i128::from(d) <= exact);
            prop_assert!(exact < (i128::from(got) + 1) * i128::from(d));
        }

        #[test]
        fn add_sub_roundtrip(a in any::<i64>(), b in any::<i64>()) {
            if let Ok(s) = Yen::new(a).checked_add(Yen::new(b)) {
                prop_assert_eq!(s.checked_sub(Yen::new(b)), Ok(Yen::new(a)));
            }
        }
    }
}
