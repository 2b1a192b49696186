//! Integer yen. There are no fractional yen anywhere in atobarai: every
//! amount is a whole number of yen held in an `i64`, and every operation is
//! checked so that an overflow is an error value, never a wrap or a panic.
//!
//! Rounding rule (the only one in this crate): [`Yen::mul_ratio_floor`]
//! computes `amount × numerator / denominator` exactly in 128-bit integers and
//! rounds toward negative infinity (floor); [`Yen::checked_div_floor`] is the
//! same rule with a numerator of 1. Callers that need another rule say so at
//! the call site.

#![deny(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

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

/// Why a money operation produced no amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The exact result lies outside the `i64` yen range (or a bound such as
    /// [`Yen::AMOUNT_MAX`]); nothing wraps.
    #[error("amount overflows the yen range")]
    Overflow,
    /// An amount that must be strictly positive was zero or negative.
    #[error("amount must be positive")]
    NotPositive,
    /// A ratio or division with a zero divisor.
    #[error("division by zero")]
    DivisionByZero,
}

impl Yen {
    /// No yen.
    pub const ZERO: Yen = Yen(0);
    /// The largest amount any single order, payment or limit may carry:
    /// ¥1,000,000,000,000 (one trillion). Far above any real order, far below
    /// `i64::MAX`, so sums of many such amounts stay representable.
    pub const AMOUNT_MAX: Yen = Yen(1_000_000_000_000);

    /// Any `i64` of yen, unchecked (balances may be negative or large);
    /// use [`Yen::positive`] for an amount someone sends.
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

    /// The amount as a plain `i64` of yen.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// `self + other`, or [`MoneyError::Overflow`].
    pub fn checked_add(self, other: Yen) -> Result<Yen, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    /// `self − other`, or [`MoneyError::Overflow`].
    pub fn checked_sub(self, other: Yen) -> Result<Yen, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × factor`, or [`MoneyError::Overflow`].
    pub fn checked_mul(self, factor: i64) -> Result<Yen, MoneyError> {
        self.0
            .checked_mul(factor)
            .map(Yen)
            .ok_or(MoneyError::Overflow)
    }

    /// `−self`, or [`MoneyError::Overflow`] for `i64::MIN`.
    pub fn checked_neg(self) -> Result<Yen, MoneyError> {
        self.0.checked_neg().map(Yen).ok_or(MoneyError::Overflow)
    }

    /// `self × numerator / denominator`, exact in 128 bits, rounded down
    /// (toward negative infinity).
    pub fn mul_ratio_floor(self, numerator: i64, denominator: i64) -> Result<Yen, MoneyError> {
        if denominator == 0 {
            return Err(MoneyError::DivisionByZero);
        }
        // |i64| ≤ 2^63, so a product of two is ≤ 2^126 in magnitude: exact in
        // i128, and so is its negation.
        let product = i128::from(self.0)
            .checked_mul(i128::from(numerator))
            .expect("a product of two i64 fits in i128");
        floor_div_i128(product, i128::from(denominator))
    }

    /// `self / divisor`, rounded down (toward negative infinity): the same
    /// rounding rule as [`Yen::mul_ratio_floor`], which it equals with a
    /// numerator of 1. `¥-7 / 2 = ¥-4`; `¥7 / -2 = ¥-4`.
    ///
    /// Errors: [`MoneyError::DivisionByZero`] for a zero divisor;
    /// [`MoneyError::Overflow`] for `i64::MIN / -1`.
    pub fn checked_div_floor(self, divisor: i64) -> Result<Yen, MoneyError> {
        if divisor == 0 {
            return Err(MoneyError::DivisionByZero);
        }
        floor_div_i128(i128::from(self.0), i128::from(divisor))
    }

    /// The magnitude of `self`. Errors only for `i64::MIN`, whose magnitude
    /// is not an `i64`.
    pub fn checked_abs(self) -> Result<Yen, MoneyError> {
        self.0.checked_abs().map(Yen).ok_or(MoneyError::Overflow)
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Yen) -> Yen {
        Yen(self.0.min(other.0))
    }

    /// The larger of two amounts.
    pub fn max(self, other: Yen) -> Yen {
        Yen(self.0.max(other.0))
    }

    /// Strictly more than ¥0.
    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Strictly less than ¥0.
    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Sum an iterator of amounts, failing on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Yen>>(items: I) -> Result<Yen, MoneyError> {
        items.into_iter().try_fold(Yen::ZERO, Yen::checked_add)
    }
}

/// `numerator / denominator` rounded toward negative infinity, as a yen
/// amount. Shared by [`Yen::mul_ratio_floor`] and [`Yen::checked_div_floor`].
fn floor_div_i128(numerator: i128, denominator: i128) -> Result<Yen, MoneyError> {
    if denominator == 0 {
        return Err(MoneyError::DivisionByZero);
    }
    // Make the denominator positive; both values are at most 2^126 in
    // magnitude (products of i64s), so negating them cannot overflow.
    let (numerator, denominator) = if denominator < 0 {
        (
            numerator.checked_neg().expect("|numerator| ≤ 2^126"),
            denominator.checked_neg().expect("|denominator| ≤ 2^63"),
        )
    } else {
        (numerator, denominator)
    };
    // With a positive denominator, Euclidean division is floor division.
    let quotient = numerator
        .checked_div_euclid(denominator)
        .expect("positive denominator");
    i64::try_from(quotient)
        .map(Yen)
        .map_err(|_| MoneyError::Overflow)
}

/// Checked summing of amounts as an iterator adaptor:
/// `items.iter().map(|i| i.amount).checked_sum()?`. Same rule as
/// [`Yen::checked_sum`]: an overflow at any point is an error, never a wrap.
pub trait CheckedSum {
    /// The exact sum, or [`MoneyError::Overflow`].
    fn checked_sum(self) -> Result<Yen, MoneyError>;
}

impl<I: Iterator<Item = Yen>> CheckedSum for I {
    fn checked_sum(self) -> Result<Yen, MoneyError> {
        Yen::checked_sum(self)
    }
}

impl fmt::Display for Yen {
    /// `¥1,234` / `-¥1,234`: the form people read on an invoice.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        // Group from the right: a comma before every third digit counted
        // from the end (at most 20 digits, so no index arithmetic needed).
        let mut reversed: Vec<char> = Vec::with_capacity(27);
        for (i, c) in digits.chars().rev().enumerate() {
            if i > 0 && i.is_multiple_of(3) {
                reversed.push(',');
            }
            reversed.push(c);
        }
        let grouped: String = reversed.into_iter().rev().collect();
        if self.0 < 0 {
            write!(f, "-¥{grouped}")
        } else {
            write!(f, "¥{grouped}")
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)] // references computed in i128
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

    #[test]
    fn div_floor_abs_and_iterator_sum() {
        assert_eq!(Yen::new(7).checked_div_floor(2), Ok(Yen::new(3)));
        assert_eq!(Yen::new(-7).checked_div_floor(2), Ok(Yen::new(-4)));
        assert_eq!(Yen::new(7).checked_div_floor(-2), Ok(Yen::new(-4)));
        assert_eq!(Yen::new(-8).checked_div_floor(-2), Ok(Yen::new(4)));
        assert_eq!(
            Yen::new(1).checked_div_floor(0),
            Err(MoneyError::DivisionByZero)
        );
        assert_eq!(
            Yen::new(i64::MIN).checked_div_floor(-1),
            Err(MoneyError::Overflow)
        );
        assert_eq!(Yen::new(-5).checked_abs(), Ok(Yen::new(5)));
        assert_eq!(Yen::new(i64::MIN).checked_abs(), Err(MoneyError::Overflow));
        let parts = [Yen::new(1), Yen::new(2), Yen::new(-4)];
        assert_eq!(parts.iter().copied().checked_sum(), Ok(Yen::new(-1)));
        assert_eq!(
            [Yen::new(i64::MAX), Yen::new(1), Yen::new(-1)]
                .into_iter()
                .checked_sum(),
            Err(MoneyError::Overflow)
        );
        assert_eq!(std::iter::empty().checked_sum(), Ok(Yen::ZERO));
    }

    #[test]
    fn display_extremes() {
        assert_eq!(
            Yen::new(i64::MIN).to_string(),
            "-¥9,223,372,036,854,775,808"
        );
        assert_eq!(Yen::new(i64::MAX).to_string(), "¥9,223,372,036,854,775,807");
        assert_eq!(Yen::new(-100).to_string(), "-¥100");
        assert_eq!(Yen::new(100_000).to_string(), "¥100,000");
    }

    /// The reference for every checked operation: the exact result in i128,
    /// `Ok` when it fits in i64, `Overflow` otherwise.
    fn reference(exact: i128) -> Result<Yen, MoneyError> {
        i64::try_from(exact)
            .map(Yen::new)
            .map_err(|_| MoneyError::Overflow)
    }

    /// Floor division in i128 written independently of the code under test.
    fn floor_reference(n: i128, d: i128) -> i128 {
        let q = n / d;
        if (n % d != 0) && ((n < 0) != (d < 0)) {
            q - 1
        } else {
            q
        }
    }

    fn edgy_i64() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0),
            Just(1),
            Just(-1),
            -1_000i64..1_000,
            Just(Yen::AMOUNT_MAX.get()),
        ]
    }

    proptest! {
        #[test]
        fn checked_ops_agree_with_i128(a in edgy_i64(), b in edgy_i64()) {
            let (x, y) = (Yen::new(a), Yen::new(b));
            let (wa, wb) = (i128::from(a), i128::from(b));
            prop_assert_eq!(x.checked_add(y), reference(wa + wb));
            prop_assert_eq!(x.checked_sub(y), reference(wa - wb));
            prop_assert_eq!(x.checked_mul(b), reference(wa * wb));
            prop_assert_eq!(x.checked_neg(), reference(-wa));
            prop_assert_eq!(x.checked_abs(), reference(wa.abs()));
            prop_assert_eq!(Yen::checked_sum([x, y]), reference(wa + wb));
            if b == 0 {
                prop_assert_eq!(x.checked_div_floor(b), Err(MoneyError::DivisionByZero));
            } else {
                prop_assert_eq!(x.checked_div_floor(b), reference(floor_reference(wa, wb)));
            }
        }

        #[test]
        fn mul_ratio_floor_is_i128_floor_division(a in edgy_i64(), n in edgy_i64(), d in edgy_i64()) {
            let got = Yen::new(a).mul_ratio_floor(n, d);
            if d == 0 {
                prop_assert_eq!(got, Err(MoneyError::DivisionByZero));
            } else {
                let exact = i128::from(a) * i128::from(n);
                prop_assert_eq!(got, reference(floor_reference(exact, i128::from(d))));
            }
        }

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
