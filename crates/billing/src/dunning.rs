//! Dunning (督促) events after a missed due date, and payment plans (分割).
//!
//! # Dunning offsets (our defaults, not published terms)
//!
//! Days after the due date (the due date itself is day 0):
//!
//! | offset | event |
//! |---|---|
//! | +1 | e-mail and SMS reminder, with a re-issued payment number |
//! | +7 | phone-call task for the collections team |
//! | +14 | suspension of new purchases (both products, shared limit) |
//! | +30 | payment-plan offer |
//!
//! The articles describe e-mail and SMS first, then a phone call, and a
//! split payment that can be agreed; the day counts are ours, in
//! [`DunningConfig`].
//!
//! # Payment plans
//!
//! A debt of `D` yen split into `n` monthly instalments: every instalment is
//! `floor(D / n)` and the **first** carries the remainder `D mod n` as well,
//! so the amounts differ by less than ¥n, the customer pays the odd yen
//! first, and the sum is exactly `D`. Each instalment needs at least ¥1
//! (`n ≤ D`), and `n ≤` [`INSTALMENTS_MAX`]. Instalment `k` (from 1) is due
//! on the chosen day of month `first_month + k − 1`, clamped to the month's
//! end, moved to the next business day for bank debit only (as statements).

use crate::calendar;
use crate::error::BillingError;
use crate::schedule::{YearMonth, rolls_to_business_day};
use atobarai_core::{JstDate, PaymentMethod, Yen};
use serde::{Deserialize, Serialize};

/// Most instalments in one plan.
pub const INSTALMENTS_MAX: u32 = 24;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DunningAction {
    /// E-mail and SMS reminder with a re-issued payment number.
    Reminder,
    /// A phone-call task for collections.
    PhoneCall,
    /// Suspend new purchases until paid.
    Suspension,
    /// Offer a payment plan.
    PaymentPlanOffer,
}

/// Offsets in days after the due date (see the module docs); part of the
/// engine's `Config`.
pub use atobarai_core::config::DunningConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DunningEvent {
    pub action: DunningAction,
    pub on: JstDate,
    pub days_overdue: i32,
}

/// Dunning events for a debt due on `due_on` that fall in
/// `(from_exclusive, to_inclusive]`, in date order (ties in action order).
pub fn dunning_events_due(
    cfg: &DunningConfig,
    due_on: JstDate,
    from_exclusive: JstDate,
    to_inclusive: JstDate,
) -> Result<Vec<DunningEvent>, BillingError> {
    if to_inclusive < from_exclusive {
        return Err(BillingError::BackwardsInterval);
    }
    let mut out = Vec::new();
    for (action, days) in [
        (DunningAction::Reminder, cfg.reminder_days),
        (DunningAction::PhoneCall, cfg.phone_call_days),
        (DunningAction::Suspension, cfg.suspension_days),
        (DunningAction::PaymentPlanOffer, cfg.payment_plan_offer_days),
    ] {
        if days < 1 {
            return Err(BillingError::Config(
                "dunning offsets must be at least 1 day",
            ));
        }
        let on = due_on.plus_days(days)?;
        if from_exclusive < on && on <= to_inclusive {
            out.push(DunningEvent {
                action,
                on,
                days_overdue: days,
            });
        }
    }
    out.sort_by_key(|e| (e.on, e.action));
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    /// 1-based.
    pub number: u32,
    pub due_on: JstDate,
    pub amount: Yen,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentPlan {
    pub debt: Yen,
    pub method: PaymentMethod,
    pub instalments: Vec<Instalment>,
}

/// Split `debt` into `count` monthly instalments from `first_month` on
/// `due_day` (rule in the module docs).
pub fn split_into_instalments(
    debt: Yen,
    count: u32,
    first_month: YearMonth,
    due_day: i8,
    method: PaymentMethod,
) -> Result<PaymentPlan, BillingError> {
    if !debt.is_positive() || debt > Yen::AMOUNT_MAX {
        return Err(BillingError::NotPositive);
    }
    if count == 0 || count > INSTALMENTS_MAX || i64::from(count) > debt.get() {
        return Err(BillingError::InstalmentCount {
            got: count,
            max: INSTALMENTS_MAX.min(u32::try_from(debt.get()).unwrap_or(u32::MAX)),
        });
    }
    if !(1..=31).contains(&due_day) {
        return Err(BillingError::InvalidDay(due_day));
    }
    // Rounding rule: every instalment is floor(debt / count) and the first
    // also carries the remainder, so the first is the largest and
    // Σ instalments = debt exactly. 1 ≤ count ≤ debt, so base ≥ 1.
    let n = i64::from(count);
    let base = debt.checked_div_floor(n)?;
    let remainder = debt.checked_sub(base.checked_mul(n)?)?;
    let mut instalments = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
    for k in 0..count {
        let offset = i32::try_from(k).map_err(|_| BillingError::DateOutOfRange)?;
        let month = first_month.plus_months(offset)?;
        let nominal = month.day_clamped(due_day);
        let due_on = if rolls_to_business_day(method) {
            calendar::business_day_on_or_after(nominal).ok_or(BillingError::NoBusinessDay)?
        } else {
            nominal
        };
        let amount = if k == 0 {
            base.checked_add(remainder)?
        } else {
            base
        };
        instalments.push(Instalment {
            // k < count ≤ INSTALMENTS_MAX (24).
            number: k.checked_add(1).expect("k < INSTALMENTS_MAX"),
            due_on,
            amount,
        });
    }
    // Postconditions: Σ instalments = debt, every instalment positive.
    assert!(
        instalments.iter().all(|i| i.amount.is_positive())
            && Yen::checked_sum(instalments.iter().map(|i| i.amount)) == Ok(debt),
        "payment plan: positive instalments summing to the debt"
    );
    Ok(PaymentPlan {
        debt,
        method,
        instalments,
    })
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    #[test]
    fn default_offsets() {
        let cfg = DunningConfig::default();
        let due = d("2026-07-10");
        let all = dunning_events_due(&cfg, due, due, d("2026-12-31")).unwrap();
        let shown: Vec<String> = all
            .iter()
            .map(|e| format!("{} +{} {:?}", e.on, e.days_overdue, e.action))
            .collect();
        assert_eq!(
            shown,
            [
                "2026-07-11 +1 Reminder",
                "2026-07-17 +7 PhoneCall",
                "2026-07-24 +14 Suspension",
                "2026-08-09 +30 PaymentPlanOffer"
            ]
        );
        // Day by day, each event comes exactly once.
        let mut day = due;
        let mut n = 0;
        while day < d("2026-09-01") {
            let next = day.plus_days(1).unwrap();
            n += dunning_events_due(&cfg, due, day, next).unwrap().len();
            day = next;
        }
        assert_eq!(n, 4);
        assert!(dunning_events_due(&cfg, due, d("2026-08-01"), due).is_err());
    }

    #[test]
    fn plan_remainder_on_first() {
        let first = YearMonth::new(2026, 8).unwrap();
        let p = split_into_instalments(Yen::new(30_461), 3, first, 27, PaymentMethod::BankDebit)
            .unwrap();
        let shown: Vec<String> = p
            .instalments
            .iter()
            .map(|i| format!("{} {} {}", i.number, i.due_on, i.amount.get()))
            .collect();
        // 30461 = 3 × 10153 + 2; Sep 27 2026 is a Sunday → Sep 28.
        assert_eq!(
            shown,
            [
                "1 2026-08-27 10155",
                "2 2026-09-28 10153",
                "3 2026-10-27 10153"
            ]
        );
        assert!(
            split_into_instalments(Yen::new(2), 3, first, 10, PaymentMethod::PaperBill).is_err()
        );
        assert!(
            split_into_instalments(Yen::new(100), 25, first, 10, PaymentMethod::PaperBill).is_err()
        );
        assert!(
            split_into_instalments(Yen::new(100), 2, first, 0, PaymentMethod::PaperBill).is_err()
        );
    }

    proptest! {
        #[test]
        fn plan_sums_exactly(debt in 1i64..10_000_000, count in 1u32..=24, day in 1i8..=31) {
            let first = YearMonth::new(2026, 11).unwrap();
            match split_into_instalments(Yen::new(debt), count, first, day, PaymentMethod::ConvenienceStore) {
                Ok(p) => {
                    let sum: i64 = p.instalments.iter().map(|i| i.amount.get()).sum();
                    prop_assert_eq!(sum, debt);
                    prop_assert_eq!(p.instalments.len(), count as usize);
                    let rest = p.instalments[1..].iter().map(|i| i.amount).collect::<Vec<_>>();
                    prop_assert!(rest.iter().all(|a| *a == Yen::new(debt / i64::from(count))));
                    prop_assert!(p.instalments[0].amount.get() - debt / i64::from(count) < i64::from(count));
                    prop_assert!(p.instalments.iter().all(|i| i.amount.is_positive()));
                    prop_assert!(p.instalments.windows(2).all(|w| w[0].due_on < w[1].due_on));
                }
                Err(_) => prop_assert!(i64::from(count) > debt),
            }
        }
    }
}
