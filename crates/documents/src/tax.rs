//! Consumption tax by rate, as a qualified invoice (適格請求書) states it.
//!
//! # The rules, in integer yen
//!
//! Every price in atobarai is **tax included** (総額表示: what a customer
//! pays). A document therefore states, per rate, the tax-included total of
//! what it bills at that rate and the consumption tax contained in it.
//!
//! 1. **One rounding per document and rate.** The tax of a rate is computed
//!    once, from the document's tax-included total at that rate:
//!    `tax = floor(total × rate / (100 + rate))`, rounded down (切り捨て).
//!    Lines are never rounded one by one (the qualified-invoice rules allow
//!    one rounding per invoice and rate, and no more).
//! 2. **A reduction of an order is split across its rates in proportion.**
//!    What is taken off an order after its lines were priced (the part not
//!    captured, a refund, a credit note) is apportioned to the order's rates
//!    in proportion to the order's tax-included amount at each rate, by the
//!    largest-remainder rule: every rate first gets
//!    `floor(reduction × its amount / order amount)`, then the yen left
//!    over (fewer than the number of rates) go one each to the rates with
//!    the largest fractional remainders (ties: the higher rate, then the
//!    earlier line). The parts always add up to the reduction exactly and
//!    no part exceeds what the order holds at that rate ([`apportion`]).
//! 3. **Charges outside the tax** (delay damages, 遅延損害金: compensation,
//!    not consideration for a supply) are listed apart as non-taxable and
//!    never enter a rate's total.
//!
//! Which rate a line carries: the rate the merchant stated for it, else its
//! category's default ([`reduced_by_default`]: `food` is reduced,
//! everything else standard). The merchant states 10 % for alcohol and eating out, which
//! the `food` category also covers, and 8 % for a newspaper subscription.

use atobarai_core::{Category, MoneyError, Yen};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A consumption-tax rate in whole percent (10 standard, 8 reduced).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxRate(u8);

impl TaxRate {
    /// The standard rate (標準税率), 10 %.
    pub const STANDARD: TaxRate = TaxRate(10);
    /// The reduced rate (軽減税率), 8 %: food and drink except alcohol and
    /// eating out; newspapers by subscription.
    pub const REDUCED: TaxRate = TaxRate(8);

    /// A rate of `percent` (1–99).
    pub fn new(percent: u8) -> Option<TaxRate> {
        (1..=99).contains(&percent).then_some(TaxRate(percent))
    }

    /// The rate in percent.
    pub fn percent(self) -> u8 {
        self.0
    }

    /// The consumption tax contained in a tax-included `total` at this
    /// rate: `floor(total × rate / (100 + rate))` (rule 1).
    pub fn tax_included_in(self, total: Yen) -> Result<Yen, MoneyError> {
        let rate = i64::from(self.0);
        let base = rate.checked_add(100).ok_or(MoneyError::Overflow)?;
        total.mul_ratio_floor(rate, base)
    }
}

impl fmt::Display for TaxRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}

/// Does a line of `category` carry the reduced rate when the merchant
/// states none? (`food` does; everything else carries the standard rate.)
pub fn reduced_by_default(category: Category) -> bool {
    matches!(category, Category::Food)
}

/// The tax-included total and the tax of one rate on a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateTotal {
    /// The rate.
    pub rate: TaxRate,
    /// What the document bills at this rate, tax included.
    pub total: Yen,
    /// The consumption tax contained in `total` (one rounding, rule 1).
    pub tax: Yen,
}

/// Totals by rate of `amounts` (`(rate, tax-included yen)`, a negative
/// amount for what is taken off), highest rate first. A rate whose amounts
/// net to zero is still listed when it occurs (an accountant sees that the
/// rate was billed and credited in full).
pub fn totals_by_rate(
    amounts: impl IntoIterator<Item = (TaxRate, Yen)>,
) -> Result<Vec<RateTotal>, MoneyError> {
    let mut by_rate: Vec<(TaxRate, Yen)> = Vec::new();
    for (rate, yen) in amounts {
        match by_rate.iter_mut().find(|(r, _)| *r == rate) {
            Some((_, sum)) => *sum = sum.checked_add(yen)?,
            None => by_rate.push((rate, yen)),
        }
    }
    by_rate.sort_by_key(|r| std::cmp::Reverse(r.0));
    by_rate
        .into_iter()
        .map(|(rate, total)| {
            Ok(RateTotal {
                rate,
                total,
                tax: rate.tax_included_in(total)?,
            })
        })
        .collect()
}

/// Split `reduction` across an order's amounts by rate (`parts`, the
/// order's tax-included amount at each rate) in proportion, by the
/// largest-remainder rule (rule 2). The result lists the rates of `parts`
/// in the same order.
///
/// Errors when `reduction` is negative or larger than the order (a
/// reduction never takes off more than was bought).
pub fn apportion(
    reduction: Yen,
    parts: &[(TaxRate, Yen)],
) -> Result<Vec<(TaxRate, Yen)>, ApportionError> {
    let whole = Yen::checked_sum(parts.iter().map(|p| p.1))?;
    if reduction.is_negative() || reduction > whole || parts.iter().any(|p| p.1.is_negative()) {
        return Err(ApportionError::OutOfRange { reduction, whole });
    }
    if reduction == Yen::ZERO {
        return Ok(parts.iter().map(|p| (p.0, Yen::ZERO)).collect());
    }
    // Exact shares in 128-bit integers: share_i = amount_i × reduction / whole
    // = quotient_i + remainder_i / whole.
    let r = i128::from(reduction.get());
    let w = i128::from(whole.get());
    let mut out = Vec::with_capacity(parts.len());
    let mut fractions = Vec::with_capacity(parts.len());
    let mut given: i128 = 0;
    for (i, &(rate, amount)) in parts.iter().enumerate() {
        let exact = i128::from(amount.get())
            .checked_mul(r)
            .ok_or(MoneyError::Overflow)?;
        let (q, rem) = (exact.div_euclid(w), exact.rem_euclid(w));
        given = given.checked_add(q).ok_or(MoneyError::Overflow)?;
        out.push((rate, i64::try_from(q).map_err(|_| MoneyError::Overflow)?));
        fractions.push((rem, rate, i));
    }
    // Largest remainder first; ties to the higher rate, then the earlier line.
    fractions.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    let left = r.checked_sub(given).ok_or(MoneyError::Overflow)?;
    let left = usize::try_from(left).map_err(|_| MoneyError::Overflow)?;
    for &(rem, _, i) in fractions.iter().take(left) {
        debug_assert!(rem > 0, "a leftover yen goes to a part with a fraction");
        if let Some(slot) = out.get_mut(i) {
            slot.1 = slot.1.checked_add(1).ok_or(MoneyError::Overflow)?;
        }
    }
    let out: Vec<(TaxRate, Yen)> = out.into_iter().map(|(t, v)| (t, Yen::new(v))).collect();
    debug_assert_eq!(
        Yen::checked_sum(out.iter().map(|p| p.1)).ok(),
        Some(reduction),
        "the parts add up to the reduction"
    );
    Ok(out)
}

/// Why a reduction could not be apportioned.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApportionError {
    /// The reduction is negative or exceeds what the order holds.
    #[error("a reduction of {reduction} cannot be taken off an order of {whole}")]
    OutOfRange {
        /// What was to be taken off.
        reduction: Yen,
        /// What the order holds.
        whole: Yen,
    },
    /// An amount left the yen range.
    #[error(transparent)]
    Money(#[from] MoneyError),
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn y(v: i64) -> Yen {
        Yen::new(v)
    }

    #[test]
    fn tax_contained_in_a_tax_included_total_is_rounded_down_once() {
        // ¥1,100 at 10 %: exactly ¥100. ¥1,080 at 8 %: exactly ¥80.
        assert_eq!(TaxRate::STANDARD.tax_included_in(y(1_100)), Ok(y(100)));
        assert_eq!(TaxRate::REDUCED.tax_included_in(y(1_080)), Ok(y(80)));
        // ¥999 at 10 %: 90.81… → ¥90. ¥999 at 8 %: 74.0 → ¥74.
        assert_eq!(TaxRate::STANDARD.tax_included_in(y(999)), Ok(y(90)));
        assert_eq!(TaxRate::REDUCED.tax_included_in(y(999)), Ok(y(74)));
        // The statement fee: ¥209 at 10 % contains 19.0 → ¥19.
        assert_eq!(TaxRate::STANDARD.tax_included_in(y(209)), Ok(y(19)));
        // A fully credited rate: no tax.
        assert_eq!(TaxRate::REDUCED.tax_included_in(y(0)), Ok(y(0)));
    }

    /// The worked example of a mixed basket: three lines at 8 %, two at
    /// 10 %, and the statement fee. Rounding per line would give ¥1 more
    /// tax at 8 % (7 + 7 + 22 = 36 against 37 once) — the document rounds
    /// once per rate.
    #[test]
    fn worked_example_mixed_basket_rounds_once_per_rate() {
        let lines = [
            (TaxRate::REDUCED, y(98)),     // 7.25…
            (TaxRate::REDUCED, y(98)),     // 7.25…
            (TaxRate::REDUCED, y(298)),    // 22.07…
            (TaxRate::STANDARD, y(1_980)), // 180
            (TaxRate::STANDARD, y(550)),   // 50
            (TaxRate::STANDARD, y(209)),   // the fee, 19
        ];
        let totals = totals_by_rate(lines).unwrap();
        assert_eq!(
            totals,
            vec![
                RateTotal {
                    rate: TaxRate::STANDARD,
                    total: y(2_739),
                    tax: y(249)
                },
                RateTotal {
                    rate: TaxRate::REDUCED,
                    total: y(494),
                    tax: y(36)
                },
            ]
        );
        // 494 × 8 / 108 = 36.59… → 36; 2,739 × 10 / 110 = 249.0 → 249.
    }

    #[test]
    fn a_credit_note_lowers_its_rate_before_the_one_rounding() {
        let totals = totals_by_rate([
            (TaxRate::REDUCED, y(3_240)),
            (TaxRate::REDUCED, y(-1_080)),
            (TaxRate::STANDARD, y(5_500)),
        ])
        .unwrap();
        assert_eq!(
            totals[1],
            RateTotal {
                rate: TaxRate::REDUCED,
                total: y(2_160),
                tax: y(160)
            }
        );
        assert_eq!(totals[0].tax, y(500));
    }

    #[test]
    fn worked_example_apportion_a_partial_refund() {
        // An order of ¥3,000 at 8 % and ¥7,000 at 10 %; ¥1,001 refunded.
        // Exact shares 300.3 and 700.7: floors 300 + 700, the yen left
        // goes to the larger fraction (10 %): 300 and 701.
        let parts = [(TaxRate::REDUCED, y(3_000)), (TaxRate::STANDARD, y(7_000))];
        assert_eq!(
            apportion(y(1_001), &parts).unwrap(),
            vec![(TaxRate::REDUCED, y(300)), (TaxRate::STANDARD, y(701))]
        );
        // The whole order back: each rate its own amount.
        assert_eq!(apportion(y(10_000), &parts).unwrap(), parts.to_vec());
        // Nothing back.
        assert_eq!(
            apportion(y(0), &parts).unwrap(),
            vec![(TaxRate::REDUCED, y(0)), (TaxRate::STANDARD, y(0))]
        );
        // More than the order: refused.
        assert!(apportion(y(10_001), &parts).is_err());
        assert!(apportion(y(-1), &parts).is_err());
    }

    #[test]
    fn food_is_reduced_by_default_and_everything_else_standard() {
        assert!(reduced_by_default(Category::Food));
        assert!(!reduced_by_default(Category::GiftCard));
        assert!(!reduced_by_default(Category::DailyGoods));
        assert_eq!(TaxRate::new(0), None);
        assert_eq!(TaxRate::new(100), None);
        assert_eq!(TaxRate::new(8), Some(TaxRate::REDUCED));
    }

    proptest! {
        /// Apportioned parts add up to the reduction and none exceeds what
        /// the order holds at its rate.
        #[test]
        fn apportioned_parts_add_up_and_stay_within_each_rate(
            a in 0i64..2_000_000, b in 0i64..2_000_000, c in 0i64..2_000_000, pick in 0u32..=1000,
        ) {
            let parts = [
                (TaxRate::REDUCED, y(a)),
                (TaxRate::STANDARD, y(b)),
                (TaxRate::REDUCED, y(c)),
            ];
            let whole = a + b + c;
            let reduction = y(whole * i64::from(pick) / 1000);
            let out = apportion(reduction, &parts).unwrap();
            let sum: i64 = out.iter().map(|p| p.1.get()).sum();
            prop_assert_eq!(sum, reduction.get());
            for (got, had) in out.iter().zip(parts.iter()) {
                prop_assert_eq!(got.0, had.0);
                prop_assert!(got.1 >= Yen::ZERO);
                prop_assert!(got.1 <= had.1, "{:?} > {:?}", got, had);
            }
        }

        /// The tax of a rate never exceeds the exact fraction, and is less
        /// than it by under one yen.
        #[test]
        fn tax_is_the_floor_of_the_exact_fraction(total in 0i64..10_000_000_000, rate in prop::sample::select(vec![8u8, 10])) {
            let r = TaxRate::new(rate).unwrap();
            let tax = r.tax_included_in(y(total)).unwrap().get();
            let exact_num = i128::from(total) * i128::from(rate);
            let den = i128::from(rate) + 100;
            prop_assert!(i128::from(tax) * den <= exact_num);
            prop_assert!((i128::from(tax) + 1) * den > exact_num);
        }
    }
}
