//! Due dates, as the engine needs them at capture, from the billing rules
//! (`atobarai_billing::schedule`): a per-order invoice is due
//! `per_order_due_days` after it is issued at capture; a monthly purchase is
//! billed on the statement of its capture month, issued on the 1st of the
//! next month and due on the method's day, a bank debit moving to the next
//! bank business day (weekends, public holidays, Dec 31 – Jan 3).
//!
//! The payment method used is the one in effect on the statement's issue
//! date; a change requested in month M takes effect on the 1st of M+1.

use atobarai_billing::schedule::{YearMonth, per_order_due_date, statement_dates};
use atobarai_core::config::BillingConfig;
use atobarai_core::{JstDate, PaymentMethod, Product};

pub(crate) fn method_in_effect(
    current: PaymentMethod,
    pending: Option<(PaymentMethod, JstDate)>,
    on: JstDate,
) -> PaymentMethod {
    match pending {
        Some((next, from)) if on >= from => next,
        _ => current,
    }
}

pub(crate) fn due_date(
    cfg: &BillingConfig,
    product: Product,
    captured_on: JstDate,
    method: impl Fn(JstDate) -> PaymentMethod,
) -> JstDate {
    match product {
        Product::PerOrder => per_order_due_date(captured_on, cfg).unwrap_or(captured_on),
        Product::Monthly => {
            let month = YearMonth::of(captured_on);
            let issue = captured_on.first_of_next_month().unwrap_or(captured_on);
            statement_dates(month, method(issue), cfg)
                .map(|d| d.due_on)
                .unwrap_or(issue)
        }
        // On the partner's bill: the engine asks the product catalog
        // (`Engine::partner_due_date`); this is its fallback, the 27th of
        // the next month.
        Product::Partner(_) => captured_on
            .first_of_next_month()
            .and_then(|d| d.plus_days(26))
            .unwrap_or(captured_on),
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
        // 2026-06-27 is a Saturday: the debit moves to Monday the 29th.
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-05-31"), bd),
            d("2026-06-29")
        );
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-12-15"), bd),
            d("2027-01-27")
        );
        // 2025-12-27 is a Saturday; Dec 29 (Mon) is a bank business day.
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2025-11-03"), bd),
            d("2025-12-29")
        );
        // 2026-09-27 is a Sunday; the 28th is a Monday.
        assert_eq!(
            due_date(&cfg, Product::Monthly, d("2026-08-03"), bd),
            d("2026-09-28")
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
