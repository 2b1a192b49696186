//! [`Engine::check_invariants`]: running totals recomputed from orders,
//! payments and the ledger.

use super::Engine;
use crate::billing::CustomerBilling;
use atobarai_core::{Channel, Product, Yen};
use atobarai_ledger::Account;

impl Engine {
    /// Recompute every customer's totals from its orders and payments and
    /// compare with the running totals; check exposure against limits.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.state.identity.check(self.state.customers.len())?;
        let n = self.state.customers.len();
        let mut held = vec![0i64; n];
        let mut owed = vec![0i64; n];
        let mut per_order = vec![0i64; n];
        let mut in_store = vec![0i64; n];
        let mut paid_in = vec![0i64; n];
        let mut refunded_paid = vec![0i64; n];
        for o in self.state.orders.iter() {
            let ci = o.customer as usize;
            let exposure = if o.status.holds_limit() {
                held[ci] += o.amount.get();
                o.amount.get()
            } else {
                owed[ci] += o.owed().get();
                o.owed().get()
            };
            if o.product == Product::PerOrder {
                per_order[ci] += exposure;
            }
            if o.channel == Channel::InStore {
                in_store[ci] += exposure;
            }
            // Paid beyond what is now due (after refunds) became credit.
            refunded_paid[ci] += (o.paid.get() - (o.captured.get() - o.refunded.get())).max(0);
            paid_in[ci] -= o.paid.get();
        }
        for p in self.state.payments.iter() {
            if p.reversed.is_none() {
                paid_in[p.customer as usize] += p.amount.get();
            }
        }
        for (ci, c) in self.state.customers.iter().enumerate() {
            // Payments that went to fees, late fees and damages.
            let charges_paid = c.billing.as_deref().map_or(0, |b| b.charges_paid.get());
            // Points used as a discount paid orders without a payment.
            let points_paid = c.billing.as_deref().map_or(0, |b| b.points_paid.get());
            // A reversal whose credit was already spent left that part owed.
            let shortfall = c
                .billing
                .as_deref()
                .map_or(0, |b| b.reversal_shortfall.get());
            let expect_credit =
                paid_in[ci] + refunded_paid[ci] - charges_paid + points_paid + shortfall;
            let checks = [
                ("held", c.held.get(), held[ci]),
                ("outstanding", c.outstanding.get(), owed[ci]),
                (
                    "per_order_exposure",
                    c.per_order_exposure.get(),
                    per_order[ci],
                ),
                ("in_store_exposure", c.in_store_exposure.get(), in_store[ci]),
                ("credit", c.credit.get(), expect_credit),
            ];
            for (name, running, recomputed) in checks {
                if running != recomputed {
                    return Err(format!(
                        "customer {ci}: {name} is {running} but orders say {recomputed}"
                    ));
                }
            }
            if c.credit.is_negative() {
                return Err(format!("customer {ci}: negative credit balance"));
            }
        }
        self.check_billing()
    }

    /// Ledger and billing checks for [`Engine::check_invariants`].
    pub(crate) fn check_billing(&self) -> Result<(), String> {
        if self.state.ledger_errors > 0 {
            return Err(format!(
                "{} ledger entries were refused",
                self.state.ledger_errors
            ));
        }
        self.state
            .ledger
            .check_invariants()
            .map_err(|e| format!("ledger: {e}"))?;
        for (ci, c) in self.state.customers.iter().enumerate() {
            let charges = c
                .billing
                .as_deref()
                .map_or(Yen::ZERO, CustomerBilling::charges_owed);
            let receivable = self
                .state
                .ledger
                .balance(Account::CustomerReceivable(ci as u32));
            let expected = c.outstanding.get() + charges.get();
            if receivable.get() != expected {
                return Err(format!(
                    "customer {ci}: ledger receivable {} but engine owes {expected}",
                    receivable.get()
                ));
            }
            let credit = self
                .state
                .ledger
                .balance(Account::CustomerCredit(ci as u32));
            if credit.get() != -c.credit.get() {
                return Err(format!(
                    "customer {ci}: ledger credit {} but engine credit {}",
                    -credit.get(),
                    c.credit.get()
                ));
            }
            if let Some(b) = c.billing.as_deref() {
                b.points
                    .check()
                    .map_err(|e| format!("customer {ci} points: {e}"))?;
            }
        }
        Ok(())
    }
}
