//! Month close: each customer's monthly statement on the 1st, with the
//! payment-method fee and the paid tier's membership fee.

use super::Engine;
use crate::billing::Invoice;
use crate::checked::{Bounded, id32};
use crate::due;
use crate::webhook::{EventKind, Stored};
use atobarai_billing::invoice::invoice_number;
use atobarai_billing::postings::{self, Charge};
use atobarai_billing::schedule::{YearMonth, statement_dates};
use atobarai_core::{At, Product, Yen};

impl Engine {
    /// Close `month`: every customer with monthly purchases captured in it
    /// gets a statement, issued on the 1st, with the payment-method fee when
    /// anything is left to pay.
    pub(crate) fn close_month(&mut self, at: At, month: YearMonth) {
        let cfg = self.config.billing.clone();
        let mut fees: Vec<(u32, Charge, Yen)> = Vec::new();
        let mut issued: Vec<(u32, usize)> = Vec::new();
        for ci in 0..self.state.customers.len() {
            let orders = &self.state.orders;
            let c = &mut self.state.customers[ci];
            let (current, pending) = (c.payment_method, c.pending_method);
            let Some(b) = c.billing.as_deref_mut() else {
                continue;
            };
            let member = b.membership.is_some_and(|m| m.active_in(month));
            if b.membership
                .is_some_and(|m| m.ends_after.is_some_and(|e| e <= month))
            {
                b.membership = None;
            }
            if b.month_orders.is_empty() && !member {
                continue;
            }
            let membership_fee = if member {
                cfg.paid_tier_fee_yen
            } else {
                Yen::ZERO
            };
            let ci = id32(ci);
            let method = due::method_in_effect(
                current,
                pending,
                month.last_day().plus_days(1).unwrap_or(month.last_day()),
            );
            // The rules are validated (due days 1–31) and `apply` refuses a
            // time too close to the end of the calendar, so a statement date
            // always exists: skipping would drop the month's orders from
            // every statement.
            let dates = statement_dates(month, method, &cfg).bounded("statement dates");
            let taken = std::mem::take(&mut b.month_orders);
            let purchases =
                Yen::checked_sum(taken.iter().map(|&oi| orders[oi as usize].refundable()))
                    .bounded("statement purchases");
            let owed = Yen::checked_sum(taken.iter().map(|&oi| orders[oi as usize].owed()))
                .bounded("statement owed");
            let fee = if owed.is_positive() || membership_fee.is_positive() {
                dates.fee
            } else {
                Yen::ZERO
            };
            let seq = id32(b.invoices.len()).checked_add(1).bounded("invoices");
            let number = invoice_number(Product::Monthly, dates.issued_on, ci, seq);
            b.invoices.push(Invoice {
                number: number.to_string(),
                product: Product::Monthly,
                order: None,
                month: Some(month),
                issued_on: dates.issued_on,
                due_on: dates.due_on,
                method,
                purchases,
                fee,
                membership_fee,
                orders: id32(taken.len()),
            });
            if (fee.is_positive() || membership_fee.is_positive()) && b.fees_due_since.is_none() {
                b.fees_due_since = Some(dates.due_on);
            }
            let fees_before = b.fees_owed;
            for (kind, charge) in [
                (Charge::PaymentFee, fee),
                (Charge::MembershipFee, membership_fee),
            ] {
                if charge.is_positive() {
                    b.fees_owed = b.fees_owed.checked_add(charge).bounded("fees owed");
                    fees.push((ci, kind, charge));
                }
            }
            // Postcondition: the statement's fees are owed, nothing else.
            assert_eq!(
                b.fees_owed,
                Yen::checked_sum([fees_before, fee, membership_fee]).bounded("fees owed"),
                "month close added exactly the statement's fees"
            );
            issued.push((ci, b.invoices.len().checked_sub(1).bounded("invoices")));
        }
        for (ci, kind, fee) in fees {
            self.post(postings::charge(at, u64::from(ci), ci, kind, fee));
        }
        for (ci, i) in issued {
            self.emit_invoice_issued(at, ci, i);
            if !self.is_overdue(&self.state.customers[ci as usize], at.jst_date()) {
                self.score_event(at, ci, crate::score::ScoreEvent::SteadyMonth);
            }
        }
    }

    pub(crate) fn emit_invoice_issued(&mut self, at: At, ci: u32, i: usize) {
        self.emit(at, EventKind::InvoiceIssued, ci, Stored::Invoice(id32(i)));
    }
}
