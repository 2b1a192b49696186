//! Due dates of both products, and the payment method in effect.
//!
//! - **Per-order invoice**: issued on the capture's JST date, due
//!   `per_order_due_days` (14) days later. The date does not move for
//!   weekends or holidays: the invoice is paid at a convenience store or by
//!   bank transfer/online, both available every day.
//! - **Monthly statement**: purchases captured in month M (JST) close at the
//!   end of M's last day; the statement is issued on the 1st of M+1 and is
//!   due on the method's day of M+1: the 10th (convenience store), the 20th
//!   (paper bill), or debited on the 27th (bank debit). Days beyond a month's
//!   length are clamped to its last day (only relevant if configured > 28).
//! - **Bank debit moves, the others do not.** The published terms move only
//!   the debit day ("a debit on a bank holiday happens the next business
//!   day"), because no bank settles on a closed day. A convenience-store or
//!   paper-bill payment can be made on any day, so the 10th and the 20th
//!   stay where they are, even on a Sunday: a payment on the due date is on
//!   time, whatever day of the week it is. The debit day moves to the first
//!   [`calendar::is_business_day`] on or after the 27th (weekends, public
//!   holidays, and Dec 31–Jan 3).
//! - **A change of payment method takes effect the following month**: a
//!   change requested on any day of month M applies to statements issued
//!   from the 1st of M+1 on (that is, to the statement for M's purchases and
//!   later); the statement issued on M's 1st keeps the old method.

use crate::calendar;
use crate::error::BillingError;
use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, PaymentMethod, Yen};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A calendar month (JST), e.g. the month whose purchases a statement bills.
/// (Local to billing: `atobarai-core` has no month type yet.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct YearMonth {
    year: i16,
    month: i8,
}

impl YearMonth {
    pub fn new(year: i16, month: i8) -> Result<YearMonth, BillingError> {
        if !(1..=12).contains(&month) || JstDate::new(year, month, 1).is_err() {
            return Err(BillingError::InvalidMonth { year, month });
        }
        Ok(YearMonth { year, month })
    }

    /// The month `date` falls in.
    pub fn of(date: JstDate) -> YearMonth {
        YearMonth {
            year: date.year(),
            month: date.month(),
        }
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn month(self) -> i8 {
        self.month
    }

    /// Months since year 0, for arithmetic.
    /// An i16 year × 12 is within ±393,216: far inside i32.
    fn index(self) -> i32 {
        i32::from(self.year)
            .checked_mul(12)
            .and_then(|m| m.checked_add(i32::from(self.month)))
            .and_then(|m| m.checked_sub(1))
            .expect("i16 year × 12 + month fits in i32")
    }

    fn from_index(i: i32) -> Result<YearMonth, BillingError> {
        let year = i16::try_from(i.div_euclid(12)).map_err(|_| BillingError::DateOutOfRange)?;
        // rem_euclid(12) is in 0..=11, so the month is 1..=12.
        let month = i8::try_from(i.rem_euclid(12))
            .ok()
            .and_then(|m| m.checked_add(1))
            .expect("rem_euclid(12) + 1 is in 1..=12");
        YearMonth::new(year, month)
    }

    pub fn plus_months(self, months: i32) -> Result<YearMonth, BillingError> {
        let i = self
            .index()
            .checked_add(months)
            .ok_or(BillingError::DateOutOfRange)?;
        YearMonth::from_index(i)
    }

    pub fn next(self) -> Result<YearMonth, BillingError> {
        self.plus_months(1)
    }

    /// Whole months from `self` to `other` (positive when `other` is later).
    pub fn months_until(self, other: YearMonth) -> i32 {
        // Both indices are within ±393,216, so the difference fits in i32.
        other
            .index()
            .checked_sub(self.index())
            .expect("difference of two month indices fits in i32")
    }

    pub fn first_day(self) -> JstDate {
        // The constructor checked that the 1st exists.
        JstDate::new(self.year, self.month, 1).unwrap_or_else(|_| unreachable_date())
    }

    /// `day` of this month, clamped to the month's last day (and to ≥ 1).
    pub fn day_clamped(self, day: i8) -> JstDate {
        self.first_day().with_day_clamped(day.max(1))
    }

    pub fn last_day(self) -> JstDate {
        self.day_clamped(31)
    }
}

/// Never reached: [`YearMonth::new`] checks the 1st of the month exists.
/// Kept as a function so the type has no panicking path.
fn unreachable_date() -> JstDate {
    JstDate::parse("1970-01-01").unwrap_or_else(|_| unreachable_date())
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Per-order invoice due date: `issued_on + per_order_due_days`.
pub fn per_order_due_date(
    issued_on: JstDate,
    cfg: &BillingConfig,
) -> Result<JstDate, BillingError> {
    Ok(issued_on.plus_days(cfg.per_order_due_days)?)
}

/// The configured day of month M+1 a statement is due for `method`.
pub fn due_day(method: PaymentMethod, cfg: &BillingConfig) -> i8 {
    match method {
        PaymentMethod::ConvenienceStore => cfg.convenience_store_due_day,
        PaymentMethod::PaperBill => cfg.paper_bill_due_day,
        PaymentMethod::BankDebit => cfg.bank_debit_day,
    }
}

/// The payment fee a statement carries for `method` (¥209 / ¥209 / ¥0).
pub fn payment_fee(method: PaymentMethod, cfg: &BillingConfig) -> Yen {
    match method {
        PaymentMethod::ConvenienceStore => cfg.convenience_store_fee_yen,
        PaymentMethod::PaperBill => cfg.paper_bill_fee_yen,
        PaymentMethod::BankDebit => cfg.bank_debit_fee_yen,
    }
}

/// Whether the due date rolls forward to a business day for `method`.
pub fn rolls_to_business_day(method: PaymentMethod) -> bool {
    method == PaymentMethod::BankDebit
}

/// The dates of the monthly statement for purchases in `month`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementDates {
    /// The purchase month billed.
    pub month: YearMonth,
    /// The last day of `month`: purchases up to its end (JST) are included.
    pub closes_on: JstDate,
    /// The 1st of the following month.
    pub issued_on: JstDate,
    pub method: PaymentMethod,
    /// The configured day (10th / 20th / 27th) of the issue month.
    pub nominal_due_on: JstDate,
    /// The day payment is due or the debit happens: `nominal_due_on`, moved
    /// to the next business day for bank debit.
    pub due_on: JstDate,
    pub fee: Yen,
}

/// The statement dates for purchases made in `month`, paid by `method`.
pub fn statement_dates(
    month: YearMonth,
    method: PaymentMethod,
    cfg: &BillingConfig,
) -> Result<StatementDates, BillingError> {
    let issue_month = month.next()?;
    let nominal = issue_month.day_clamped(due_day(method, cfg));
    let due_on = if rolls_to_business_day(method) {
        calendar::business_day_on_or_after(nominal).ok_or(BillingError::NoBusinessDay)?
    } else {
        nominal
    };
    Ok(StatementDates {
        month,
        closes_on: month.last_day(),
        issued_on: issue_month.first_day(),
        method,
        nominal_due_on: nominal,
        due_on,
        fee: payment_fee(method, cfg),
    })
}

/// The statement a purchase captured on `captured_on` goes on.
pub fn statement_month_of(captured_on: JstDate) -> YearMonth {
    YearMonth::of(captured_on)
}

/// A customer's payment method with at most one pending change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentMethodSchedule {
    current: PaymentMethod,
    pending: Option<PendingMethodChange>,
}

/// A requested change, effective for statements issued in
/// `effective_issue_month` or later.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingMethodChange {
    pub method: PaymentMethod,
    pub effective_issue_month: YearMonth,
}

impl PaymentMethodSchedule {
    pub fn new(method: PaymentMethod) -> Self {
        PaymentMethodSchedule {
            current: method,
            pending: None,
        }
    }

    pub fn current(&self) -> PaymentMethod {
        self.current
    }

    pub fn pending(&self) -> Option<PendingMethodChange> {
        self.pending
    }

    /// Record a change requested on `requested_on`: it applies to statements
    /// issued from the 1st of the following month. A second request before
    /// that replaces the first; a request back to the current method cancels
    /// the pending change.
    pub fn request_change(
        &mut self,
        method: PaymentMethod,
        requested_on: JstDate,
    ) -> Result<(), BillingError> {
        self.roll_forward(requested_on);
        if method == self.current {
            self.pending = None;
        } else {
            self.pending = Some(PendingMethodChange {
                method,
                effective_issue_month: YearMonth::of(requested_on).next()?,
            });
        }
        Ok(())
    }

    /// The method for the statement billing purchases of `month` (issued
    /// on the 1st of the month after).
    pub fn method_for_statement(&self, month: YearMonth) -> PaymentMethod {
        match (self.pending, month.next()) {
            (Some(p), Ok(issue)) if issue >= p.effective_issue_month => p.method,
            _ => self.current,
        }
    }

    /// The method in effect on `date` (for statements issued that day).
    pub fn method_on(&self, date: JstDate) -> PaymentMethod {
        match self.pending {
            Some(p) if YearMonth::of(date) >= p.effective_issue_month => p.method,
            _ => self.current,
        }
    }

    /// Make a pending change current once `today` has reached its month.
    pub fn roll_forward(&mut self, today: JstDate) {
        if let Some(p) = self.pending
            && YearMonth::of(today) >= p.effective_issue_month
        {
            self.current = p.method;
            self.pending = None;
        }
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use std::fmt::Write;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    fn ym(y: i16, m: i8) -> YearMonth {
        YearMonth::new(y, m).unwrap()
    }

    fn weekday(d: JstDate) -> &'static str {
        ["", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][d.weekday_iso() as usize]
    }

    /// One line per statement month: close, issue, due per method, and why a
    /// bank debit moved.
    fn schedule_table(from: YearMonth, months: i32) -> String {
        let cfg = BillingConfig::default();
        let mut out = String::from(
            "month   closes     issued     conv_store(10)   paper_bill(20)   bank_debit(27)\n",
        );
        for i in 0..months {
            let m = from.plus_months(i).unwrap();
            let cs = statement_dates(m, PaymentMethod::ConvenienceStore, &cfg).unwrap();
            let pb = statement_dates(m, PaymentMethod::PaperBill, &cfg).unwrap();
            let bd = statement_dates(m, PaymentMethod::BankDebit, &cfg).unwrap();
            let moved = if bd.due_on != bd.nominal_due_on {
                let why = calendar::holiday_name(bd.nominal_due_on)
                    .map(|n| format!(" {n}"))
                    .unwrap_or_default();
                format!("  (27th is {}{why} → moved)", weekday(bd.nominal_due_on))
            } else {
                String::new()
            };
            writeln!(
                out,
                "{m} {} {} {} {}   {} {}   {} {}{moved}",
                cs.closes_on,
                cs.issued_on,
                cs.due_on,
                weekday(cs.due_on),
                pb.due_on,
                weekday(pb.due_on),
                bd.due_on,
                weekday(bd.due_on),
            )
            .unwrap();
        }
        out
    }

    #[test]
    fn golden_monthly_schedules_2024_12_to_2028_03() {
        // Dec 2024 to Mar 2028: every month end of 2025–2027, the year ends,
        // Golden Week and Silver Week, and February of leap year 2028.
        insta::assert_snapshot!(schedule_table(ym(2024, 12), 40));
    }

    /// Where a bank debit configured for each day of the New Year and Golden
    /// Week periods would land (the 27th never falls in them, but a provider
    /// may configure another debit day, and instalment debits do).
    #[test]
    fn golden_bank_debit_rolls_in_holiday_weeks() {
        let mut out = String::new();
        for y in 2025..=2027 {
            for (start, days) in [(format!("{}-12-27", y - 1), 11), (format!("{y}-04-26"), 13)] {
                let mut day = d(&start);
                for _ in 0..days {
                    let to = calendar::business_day_on_or_after(day).unwrap();
                    let why = calendar::holiday_name(day)
                        .or(calendar::is_bank_holiday(day).then_some("銀行休業日"))
                        .unwrap_or("");
                    writeln!(out, "{day} {} → {to} {} {why}", weekday(day), weekday(to)).unwrap();
                    day = day.plus_days(1).unwrap();
                }
                out.push('\n');
            }
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn fees_and_per_order() {
        let cfg = BillingConfig::default();
        assert_eq!(
            per_order_due_date(d("2026-06-20"), &cfg).unwrap(),
            d("2026-07-04")
        );
        // Across a month end, a year end and Feb 29 of a leap year.
        assert_eq!(
            per_order_due_date(d("2025-12-25"), &cfg).unwrap(),
            d("2026-01-08")
        );
        assert_eq!(
            per_order_due_date(d("2028-02-20"), &cfg).unwrap(),
            d("2028-03-05")
        );
        assert_eq!(
            per_order_due_date(d("2028-02-15"), &cfg).unwrap(),
            d("2028-02-29")
        );
        let june = statement_dates(ym(2026, 6), PaymentMethod::ConvenienceStore, &cfg).unwrap();
        assert_eq!(june.due_on, d("2026-07-10"));
        assert_eq!(june.fee, Yen::new(209));
        let bd = statement_dates(ym(2026, 6), PaymentMethod::BankDebit, &cfg).unwrap();
        assert_eq!(bd.fee, Yen::ZERO);
        // Leap February closes on the 29th.
        assert_eq!(
            statement_dates(ym(2028, 2), PaymentMethod::PaperBill, &cfg)
                .unwrap()
                .closes_on,
            d("2028-02-29")
        );
        // Purchases in December 2025 are debited on 2026-01-27 (a Tuesday).
        assert_eq!(statement_month_of(d("2025-12-31")), ym(2025, 12));
    }

    #[test]
    fn method_change_applies_from_next_month() {
        let mut s = PaymentMethodSchedule::new(PaymentMethod::ConvenienceStore);
        s.request_change(PaymentMethod::BankDebit, d("2026-06-15"))
            .unwrap();
        // Statement for May (issued June 1) keeps the old method; June's
        // (issued July 1) uses the new one.
        assert_eq!(
            s.method_for_statement(ym(2026, 5)),
            PaymentMethod::ConvenienceStore
        );
        assert_eq!(
            s.method_for_statement(ym(2026, 6)),
            PaymentMethod::BankDebit
        );
        assert_eq!(
            s.method_on(d("2026-06-30")),
            PaymentMethod::ConvenienceStore
        );
        assert_eq!(s.method_on(d("2026-07-01")), PaymentMethod::BankDebit);
        assert_eq!(s.current(), PaymentMethod::ConvenienceStore);
        s.roll_forward(d("2026-07-01"));
        assert_eq!(s.current(), PaymentMethod::BankDebit);
        assert_eq!(s.pending(), None);
        // Changing back before it takes effect cancels.
        s.request_change(PaymentMethod::PaperBill, d("2026-07-02"))
            .unwrap();
        s.request_change(PaymentMethod::BankDebit, d("2026-07-03"))
            .unwrap();
        assert_eq!(s.pending(), None);
        // Year end: requested in December, effective for January's issue.
        s.request_change(PaymentMethod::PaperBill, d("2026-12-31"))
            .unwrap();
        assert_eq!(
            s.pending().map(|p| p.effective_issue_month),
            Some(ym(2027, 1))
        );
    }

    #[test]
    fn year_month_arithmetic() {
        assert_eq!(ym(2026, 12).next().unwrap(), ym(2027, 1));
        assert_eq!(ym(2026, 1).plus_months(-1).unwrap(), ym(2025, 12));
        assert_eq!(ym(2026, 1).months_until(ym(2027, 3)), 14);
        assert!(YearMonth::new(2026, 13).is_err());
        assert!(YearMonth::new(2026, 0).is_err());
        assert_eq!(ym(2028, 2).last_day(), d("2028-02-29"));
        assert_eq!(ym(2026, 7).to_string(), "2026-07");
    }
}
