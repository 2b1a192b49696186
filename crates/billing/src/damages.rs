//! Delay damages (遅延損害金): principal × rate × days / 365.
//!
//! Rules, stated exactly:
//! - **Base**: overdue *principal* only (purchase amounts still unpaid after
//!   their due date). Payment fees, late fees and damages themselves bear no
//!   damages (no compounding).
//! - **Days**: the days after the due date up to and including the day of
//!   payment (翌日から支払日まで). Day `d` uses the principal outstanding at
//!   the start of `d`, before any payment made on `d`. A debt due July 10 and
//!   paid July 11 bears one day.
//! - **Rate**: `delay_damages_bp_per_year` (1460 bp = 14.6 %) over a 365-day
//!   year, leap years included (a 366th day simply accrues one more day at
//!   the same daily rate). This is DOMAIN.md's formula and the usual
//!   Japanese convention (年365日の日割計算).
//! - **Rounding**: none per day. [`DelayDamages`] accumulates the exact
//!   numerator `Σ_d principal_d × bp` in an `i128` and floors once when read:
//!   `accrued = floor(Σ principal_d × bp / (10_000 × 365))`. For a constant
//!   principal this equals `floor(principal × bp × days / 3_650_000)`, so a
//!   daily tick never loses a yen to per-day rounding, and what has been
//!   charged ([`DelayDamages::take_uncharged`]) never exceeds what is owed.

use crate::error::BillingError;
use atobarai_core::Yen;
use serde::{Deserialize, Serialize};

/// Basis points in one (100 %).
const BP_PER_UNIT: i128 = 10_000;
/// Days in the damages year (see module docs).
pub const DAMAGES_YEAR_DAYS: i128 = 365;
const DENOMINATOR: i128 = BP_PER_UNIT * DAMAGES_YEAR_DAYS;

/// `floor(principal × bp × days / (10_000 × 365))` for a constant principal.
pub fn damages_for(principal: Yen, days: i64, bp_per_year: i64) -> Result<Yen, BillingError> {
    let mut acc = DelayDamages::default();
    acc.accrue(principal, days, bp_per_year)?;
    let yen = acc.accrued_yen();
    // Postcondition (the rounding rule): yen × D ≤ principal × bp × days <
    // (yen + 1) × D, with D = 10_000 × 365, and never negative. accrue()
    // checked the product fits in i128 and the quotient in i64; yen + 1 and
    // the products below stay far inside i128 (|yen| < 2^63, D < 2^22).
    let exact = acc.numerator();
    let floor = i128::from(yen.get());
    assert!(
        !yen.is_negative()
            && floor.checked_mul(DENOMINATOR).is_some_and(|lo| lo <= exact)
            && floor
                .checked_add(1)
                .and_then(|f| f.checked_mul(DENOMINATOR))
                .is_some_and(|hi| exact < hi),
        "damages: floor(principal × bp × days / 3_650_000)"
    );
    Ok(yen)
}

/// Exact running delay damages of one debt (or one customer's overdue
/// principal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelayDamages {
    /// `Σ_d principal_d × bp`, in yen·bp·days.
    numerator: i128,
    /// Whole yen already charged (posted to the ledger).
    charged_yen: i64,
}

impl DelayDamages {
    /// Accrue `days` days on a constant `principal`. Negative principal or
    /// days are refused; zero adds nothing.
    pub fn accrue(
        &mut self,
        principal: Yen,
        days: i64,
        bp_per_year: i64,
    ) -> Result<(), BillingError> {
        if principal.is_negative() || days < 0 || bp_per_year < 0 {
            return Err(BillingError::NotPositive);
        }
        let add = i128::from(principal.get())
            .checked_mul(i128::from(bp_per_year))
            .and_then(|x| x.checked_mul(i128::from(days)))
            .ok_or(BillingError::Overflow)?;
        let numerator = self
            .numerator
            .checked_add(add)
            .ok_or(BillingError::Overflow)?;
        // The accrued yen must stay representable (DENOMINATOR is a
        // positive constant: the division cannot fail).
        i64::try_from(numerator / DENOMINATOR).map_err(|_| BillingError::Overflow)?;
        self.numerator = numerator;
        Ok(())
    }

    /// Whole yen accrued so far (floored once).
    pub fn accrued_yen(&self) -> Yen {
        // accrue() checked it fits (a deserialized state is trusted like
        // the rest of a snapshot, whose digest was checked).
        Yen::new(
            i64::try_from(self.numerator / DENOMINATOR)
                .expect("accrue() keeps accrued yen within i64"),
        )
    }

    /// Whole yen already charged (posted).
    pub fn charged_yen(&self) -> Yen {
        Yen::new(self.charged_yen)
    }

    /// Accrued but not yet charged.
    pub fn uncharged_yen(&self) -> Yen {
        // 0 ≤ charged ≤ accrued (both only ever set from accrued_yen, which
        // never decreases and is never negative): no overflow, never < 0.
        let uncharged = self
            .accrued_yen()
            .checked_sub(Yen::new(self.charged_yen))
            .expect("0 ≤ charged ≤ accrued");
        assert!(
            !uncharged.is_negative(),
            "damages: what has been charged never exceeds what is owed"
        );
        uncharged
    }

    /// Mark everything accrued as charged and return the newly charged yen
    /// (what to post to the ledger now; often 0 on a given day).
    pub fn take_uncharged(&mut self) -> Yen {
        let new = self.uncharged_yen();
        self.charged_yen = self.accrued_yen().get();
        new
    }

    /// The exact numerator, for audits: `Σ principal_d × bp`.
    pub fn numerator(&self) -> i128 {
        self.numerator
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_example_12_yen_a_day() {
        // ¥30,000 × 14.6 % / 365 = ¥12 per day exactly.
        assert_eq!(damages_for(Yen::new(30_000), 1, 1460), Ok(Yen::new(12)));
        assert_eq!(damages_for(Yen::new(30_000), 30, 1460), Ok(Yen::new(360)));
        assert_eq!(damages_for(Yen::new(30_000), 365, 1460), Ok(Yen::new(4380)));
        // A leap year's 366 days: 366 × 12.
        assert_eq!(damages_for(Yen::new(30_000), 366, 1460), Ok(Yen::new(4392)));
    }

    #[test]
    fn no_per_day_rounding_loss() {
        // ¥1,000 a day accrues 0.4 yen: per-day flooring would charge 0.
        let mut acc = DelayDamages::default();
        let mut charged = Vec::new();
        for _ in 0..10 {
            acc.accrue(Yen::new(1000), 1, 1460).unwrap();
            charged.push(acc.take_uncharged().get());
        }
        assert_eq!(charged, [0, 0, 1, 0, 1, 0, 0, 1, 0, 1]);
        assert_eq!(acc.accrued_yen(), Yen::new(4));
        // Partial payment: 5 days on 30,000 then 5 days on 10,000.
        let mut acc = DelayDamages::default();
        acc.accrue(Yen::new(30_000), 5, 1460).unwrap();
        acc.accrue(Yen::new(10_000), 5, 1460).unwrap();
        assert_eq!(acc.accrued_yen(), Yen::new(80));
    }

    #[test]
    fn refuses_bad_input() {
        let mut acc = DelayDamages::default();
        assert!(acc.accrue(Yen::new(-1), 1, 1460).is_err());
        assert!(acc.accrue(Yen::new(1), -1, 1460).is_err());
        assert!(acc.accrue(Yen::new(i64::MAX), i64::MAX, i64::MAX).is_err());
        assert_eq!(acc, DelayDamages::default());
    }

    proptest! {
        #[test]
        fn daily_equals_closed_form(principal in 0i64..100_000_000, days in 0i64..2000) {
            let mut acc = DelayDamages::default();
            let mut charged = 0i64;
            for _ in 0..days {
                acc.accrue(Yen::new(principal), 1, 1460).unwrap();
                charged += acc.take_uncharged().get();
            }
            let closed = i128::from(principal) * 1460 * i128::from(days) / 3_650_000;
            prop_assert_eq!(i128::from(charged), closed);
            prop_assert_eq!(damages_for(Yen::new(principal), days, 1460).unwrap().get() as i128, closed);
        }
    }
}
