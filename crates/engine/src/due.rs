//! Due dates, as the engine needs them to tell what is overdue.
//!
//! - Per-order invoice: issued at capture (JST date), due
//!   `per_order_due_days` later.
//! - Monthly statement: purchases captured in month M close at M's end; the
//!   statement is issued on the 1st of M+1 and is due on the method's day of
//!   M+1 (10th convenience store, 20th paper bill, 27th bank debit). A bank
//!   debit that falls on a weekend moves to the next weekday.
//! - The payment method used is the one in effect on the statement's issue
//!   date; a change requested in month M takes effect on the 1st of M+1.

use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, PaymentMethod, Product};

pub fn method_in_effect(
    current: PaymentMethod,
    pending: Option<(PaymentMethod, JstDate)>,
    on: JstDate,
) -> PaymentMethod {
    match pending {
        Some((next, from)) if on >= from => next,
        _ => current,
    }
}

pub fn due_date(
    cfg: &BillingConfig,
    product: Product,
    captured_on: JstDate,
    method: impl Fn(JstDate) -> PaymentMethod,
) -> JstDate {
    match product {
        Product::PerOrder => captured_on
            .plus_days(cfg.per_order_due_days)
            .unwrap_or(captured_on),
        Product::Monthly => {
            let issue = captured_on.first_of_next_month().unwrap_or(captured_on);
            let (day, business_day_only) = match method(issue) {
                PaymentMethod::ConvenienceStore => (cfg.convenience_store_due_day, false),
                PaymentMethod::PaperBill => (cfg.paper_bill_due_day, false),
                PaymentMethod::BankDebit => (cfg.bank_debit_day, true),
            };
            let mut due = issue.with_day_clamped(day);
            if business_day_only {
                while due.weekday_iso() >= 6 {
                    due = due.plus_days(1).unwrap_or(due);
                }
            }
            due
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    #[test]
    fn due_dates() {
        let cfg = BillingConfig::default();
        let cs = |_| PaymentMethod::ConvenienceStore;
        let bd = |_| PaymentMethod::BankDebit;
        assert_eq!(
            due_date(&cfg, Product::PerOrder, d("2026-06-20"), cs),
            d("2026-07-04")
        );
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-06-20"), cs),
            d("2026-07-10")
        );
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-06-30"), |_| {
                PaymentMethod::PaperBill
            }),
            d("2026-07-20")
        );
        // 2026-06-27 is a Saturday: debit moves to Monday the 29th.
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-05-31"), bd),
            d("2026-06-29")
        );
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-12-15"), bd),
            d("2027-01-27")
        );
    }

    #[test]
    fn method_change_waits_for_next_month() {
        let pending = Some((PaymentMethod::BankDebit, d("2026-07-01")));
        assert_eq!(
            method_in_effect(PaymentMethod::PaperBill, pending, d("2026-06-30")),
            PaymentMethod::PaperBill
        );
        assert_eq!(
            method_in_effect(PaymentMethod::PaperBill, pending, d("2026-07-01")),
            PaymentMethod::BankDebit
        );
    }
}
