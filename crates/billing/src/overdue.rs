//! One customer's overdue state, advanced by the engine's daily tick.
//!
//! The engine keeps one [`OverdueState`] per customer while any principal is
//! past its due date, created on the first missed due date and dropped when
//! everything overdue is paid. Each tick (and, on a payment day, *before* the
//! payment is applied) calls [`OverdueState::advance`] with the overdue
//! principal at the start of the day; it returns what to post and send:
//! late fees (one per customer per fee day), whole yen of delay damages that
//! became due (exact accumulation, see [`crate::damages`]) and dunning
//! events. Advancing to a day already processed returns nothing, so a
//! replayed tick is harmless. If the engine skips days, the principal given
//! is assumed constant over the skipped days.

use crate::damages::DelayDamages;
use crate::dunning::{DunningConfig, DunningEvent, dunning_events_due};
use crate::error::BillingError;
use crate::late_fee::late_fee_dates;
use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, Yen};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueState {
    pub first_missed_due: JstDate,
    /// The last day already accrued (starts at the due date itself).
    pub accrued_through: JstDate,
    pub damages: DelayDamages,
    pub late_fees_charged: Yen,
}

/// What one advance produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accrual {
    pub late_fee_dates: Vec<JstDate>,
    pub late_fees: Yen,
    /// Whole yen of damages newly due (to post now).
    pub damages: Yen,
    pub dunning: Vec<DunningEvent>,
}

impl OverdueState {
    pub fn new(first_missed_due: JstDate) -> Self {
        OverdueState {
            first_missed_due,
            accrued_through: first_missed_due,
            damages: DelayDamages::default(),
            late_fees_charged: Yen::ZERO,
        }
    }

    /// Accrue every day in `(accrued_through, today]` on `overdue_principal`.
    /// On error nothing changes.
    pub fn advance(
        &mut self,
        today: JstDate,
        overdue_principal: Yen,
        billing: &BillingConfig,
        dunning: &DunningConfig,
    ) -> Result<Accrual, BillingError> {
        if today <= self.accrued_through {
            return Ok(Accrual::default());
        }
        let from = self.accrued_through;
        let days = from.days_until(today);
        let mut damages = self.damages;
        damages.accrue(overdue_principal, days, billing.delay_damages_bp_per_year)?;
        let new_damages = damages.take_uncharged();
        let dates = late_fee_dates(self.first_missed_due, from, today, billing)?;
        let fee_days = i64::try_from(dates.len()).map_err(|_| BillingError::Overflow)?;
        let late_fees = billing.late_fee_yen.checked_mul(fee_days)?;
        let charged = self.late_fees_charged.checked_add(late_fees)?;
        let events = dunning_events_due(dunning, self.first_missed_due, from, today)?;
        self.damages = damages;
        self.late_fees_charged = charged;
        self.accrued_through = today;
        Ok(Accrual {
            late_fee_dates: dates,
            late_fees,
            damages: new_damages,
            dunning: events,
        })
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    /// DOMAIN.md: ¥30,000 of June purchases due July 10, unpaid. Late fees
    /// are 100 on Aug 10 and 200 on Aug 25; damages ¥12 a day.
    #[test]
    fn worked_example_by_daily_tick() {
        let (b, dn) = (BillingConfig::default(), DunningConfig::default());
        let mut s = OverdueState::new(d("2026-07-10"));
        let mut day = d("2026-07-10");
        let mut damages = Yen::ZERO;
        let mut log = Vec::new();
        while day < d("2026-08-25") {
            day = day.plus_days(1).unwrap();
            let a = s.advance(day, Yen::new(30_000), &b, &dn).unwrap();
            assert_eq!(a.damages, Yen::new(12));
            damages = damages.checked_add(a.damages).unwrap();
            if a.late_fees.is_positive() || !a.dunning.is_empty() {
                log.push(format!(
                    "{day} late_fees_total={} damages_total={} {:?}",
                    s.late_fees_charged.get(),
                    damages.get(),
                    a.dunning.iter().map(|e| e.action).collect::<Vec<_>>()
                ));
            }
        }
        assert_eq!(damages, Yen::new(12 * 46));
        insta::assert_snapshot!(log.join("\n"), @r"
        2026-07-11 late_fees_total=0 damages_total=12 [Reminder]
        2026-07-17 late_fees_total=0 damages_total=84 [PhoneCall]
        2026-07-24 late_fees_total=0 damages_total=168 [Suspension]
        2026-08-09 late_fees_total=0 damages_total=360 [PaymentPlanOffer]
        2026-08-10 late_fees_total=100 damages_total=372 []
        2026-08-25 late_fees_total=200 damages_total=552 []
        ");
        // Replaying a processed day changes nothing.
        let before = s;
        assert_eq!(
            s.advance(d("2026-08-25"), Yen::new(30_000), &b, &dn),
            Ok(Accrual::default())
        );
        assert_eq!(s, before);
    }
}
