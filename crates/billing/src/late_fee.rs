//! Late fees (遅延手数料): from the month after the first missed due date, a
//! fixed fee (¥100) is added on each configured day (the 10th and the 25th)
//! while the debt stays unpaid.
//!
//! Rules, stated exactly:
//! - The fee days of month M are `late_fee_days` (10, 25) of M, clamped to
//!   M's last day, deduplicated; the first month with fee days is the month
//!   after the month of the first missed due date. (Missed July 10 → Aug 10,
//!   Aug 25, Sep 10, …; missed July 27 by bank debit → also from Aug 10.)
//! - A fee accrues at 00:00 JST of a fee day if the debt is unpaid at that
//!   instant: a payment made during Aug 10 does not undo the Aug 10 fee.
//!   The caller stops asking (`to_inclusive` before the payment day) once
//!   the debt is paid.
//! - One fee per customer per fee day, however many statements are overdue:
//!   the fee is for being late, not per invoice. (Decision; the articles do
//!   not say.)
//! - No cap here. Consumer Contract Act art. 9(2) caps late charges at 14.6 %
//!   a year in total; enforcing that cap across late fees and damages is the
//!   engine's job (see the crate's report).

use crate::error::BillingError;
use crate::schedule::YearMonth;
use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, Yen};

/// Most months one call may span (100 years): a bound on the loop.
pub const LATE_FEE_SPAN_MONTHS_MAX: i32 = 1200;

/// Fee days of the configuration, sorted and deduplicated; an error for a
/// day outside 1..=31.
fn fee_days(cfg: &BillingConfig) -> Result<Vec<i8>, BillingError> {
    let mut days = cfg.late_fee_days.clone();
    if let Some(bad) = days.iter().find(|d| !(1..=31).contains(*d)) {
        return Err(BillingError::InvalidDay(*bad));
    }
    days.sort_unstable();
    days.dedup();
    Ok(days)
}

/// The days in `(from_exclusive, to_inclusive]` on which a late fee accrues
/// for a debt whose first missed due date is `first_missed_due`.
pub fn late_fee_dates(
    first_missed_due: JstDate,
    from_exclusive: JstDate,
    to_inclusive: JstDate,
    cfg: &BillingConfig,
) -> Result<Vec<JstDate>, BillingError> {
    if to_inclusive < from_exclusive {
        return Err(BillingError::BackwardsInterval);
    }
    let days = fee_days(cfg)?;
    let first_month = YearMonth::of(first_missed_due).next()?;
    let start = first_month.max(YearMonth::of(from_exclusive));
    let end = YearMonth::of(to_inclusive);
    let span = start.months_until(end);
    if span > LATE_FEE_SPAN_MONTHS_MAX {
        return Err(BillingError::TooMany {
            got: usize::try_from(span).unwrap_or(usize::MAX),
            max: usize::try_from(LATE_FEE_SPAN_MONTHS_MAX).expect("a positive constant"),
        });
    }
    let mut out = Vec::new();
    for i in 0..=span.max(-1) {
        let month = start.plus_months(i)?;
        let mut last: Option<JstDate> = None;
        for &day in &days {
            let date = month.day_clamped(day);
            // Clamping can map two configured days onto one date.
            if last == Some(date) {
                continue;
            }
            last = Some(date);
            if from_exclusive < date && date <= to_inclusive {
                out.push(date);
            }
        }
    }
    // Postconditions: one fee per fee day, in order, inside the interval
    // and never before the month after the first missed due date.
    assert!(
        out.windows(2).all(|w| w[0] < w[1])
            && out.iter().all(|d| {
                from_exclusive < *d && *d <= to_inclusive && YearMonth::of(*d) >= first_month
            }),
        "late fees: distinct fee days inside (from, to]"
    );
    Ok(out)
}

/// The late fees accruing in `(from_exclusive, to_inclusive]`.
pub fn late_fees_between(
    first_missed_due: JstDate,
    from_exclusive: JstDate,
    to_inclusive: JstDate,
    cfg: &BillingConfig,
) -> Result<Yen, BillingError> {
    let n = late_fee_dates(first_missed_due, from_exclusive, to_inclusive, cfg)?.len();
    let n = i64::try_from(n).map_err(|_| BillingError::Overflow)?;
    Ok(cfg.late_fee_yen.checked_mul(n)?)
}

/// Total late fees accrued from the missed due date through `through`.
pub fn late_fees_through(
    first_missed_due: JstDate,
    through: JstDate,
    cfg: &BillingConfig,
) -> Result<Yen, BillingError> {
    if through <= first_missed_due {
        return Ok(Yen::ZERO);
    }
    late_fees_between(first_missed_due, first_missed_due, through, cfg)
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    #[test]
    fn domain_worked_example() {
        // ¥30,000 of June purchases, due July 10, unpaid.
        let cfg = BillingConfig::default();
        let due = d("2026-07-10");
        let total = |on: &str| late_fees_through(due, d(on), &cfg).unwrap().get();
        assert_eq!(total("2026-07-10"), 0);
        assert_eq!(total("2026-07-25"), 0, "no fee in the month of the miss");
        assert_eq!(total("2026-07-31"), 0);
        assert_eq!(total("2026-08-09"), 0);
        assert_eq!(total("2026-08-10"), 100);
        assert_eq!(total("2026-08-24"), 100);
        assert_eq!(total("2026-08-25"), 200);
        assert_eq!(total("2026-09-10"), 300);
        assert_eq!(total("2026-12-31"), 1000);
    }

    #[test]
    fn daily_tick_sums_to_the_total() {
        let cfg = BillingConfig::default();
        let due = d("2025-12-27");
        let mut day = due;
        let mut sum = Yen::ZERO;
        let mut dates = Vec::new();
        while day < d("2026-04-01") {
            let next = day.plus_days(1).unwrap();
            sum = sum
                .checked_add(late_fees_between(due, day, next, &cfg).unwrap())
                .unwrap();
            dates.extend(late_fee_dates(due, day, next, &cfg).unwrap());
            day = next;
        }
        assert_eq!(sum, late_fees_through(due, d("2026-03-31"), &cfg).unwrap());
        let dates: Vec<String> = dates.iter().map(ToString::to_string).collect();
        assert_eq!(
            dates,
            [
                "2026-01-10",
                "2026-01-25",
                "2026-02-10",
                "2026-02-25",
                "2026-03-10",
                "2026-03-25"
            ]
        );
    }

    #[test]
    fn bad_input_is_an_error() {
        let mut cfg = BillingConfig::default();
        assert_eq!(
            late_fee_dates(d("2026-07-10"), d("2026-08-11"), d("2026-08-10"), &cfg),
            Err(BillingError::BackwardsInterval)
        );
        cfg.late_fee_days = vec![0];
        assert_eq!(
            late_fee_dates(d("2026-07-10"), d("2026-07-10"), d("2026-08-10"), &cfg),
            Err(BillingError::InvalidDay(0))
        );
        // Day 31 and 30 clamp to one date in February: one fee, not two.
        cfg.late_fee_days = vec![30, 31];
        assert_eq!(
            late_fee_dates(d("2026-01-10"), d("2026-01-31"), d("2026-02-28"), &cfg)
                .unwrap()
                .len(),
            1
        );
    }
}
