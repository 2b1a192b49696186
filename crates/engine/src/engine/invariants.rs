//! [`Engine::check_invariants`]: running totals recomputed from orders,
//! payments and the ledger.

use super::Engine;
use crate::billing::CustomerBilling;
use crate::checked::id32;
use atobarai_core::{Channel, Product, Yen};
use atobarai_ledger::Account;

impl Engine {
    /// Recompute every customer's totals from its orders and payments and
    /// compare with the running totals; check exposure against limits.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.state.identity.check(self.state.customers.len())?;
        let n = self.state.customers.len();
        let mut held = vec![Yen::ZERO; n];
        let mut owed = vec![Yen::ZERO; n];
        let mut per_order = vec![Yen::ZERO; n];
        let mut in_store = vec![Yen::ZERO; n];
        let mut paid_in = vec![Yen::ZERO; n];
        let mut refunded_paid = vec![Yen::ZERO; n];
        // A corrupt state (a restored snapshot) may hold anything: overflow
        // is reported, never a panic.
        let add = |t: &mut Yen, v: Yen| -> Result<(), String> {
            *t = t
                .checked_add(v)
                .map_err(|_| "recomputed total overflows".to_string())?;
            Ok(())
        };
        let sub = |a: Yen, b: Yen| -> Result<Yen, String> {
            a.checked_sub(b)
                .map_err(|_| "recomputed total overflows".to_string())
        };
        for o in self.state.orders.iter() {
            let ci = o.customer as usize;
            let exposure = if o.status.holds_limit() {
                o.amount
            } else {
                let net = sub(o.captured, o.refunded)?;
                sub(net, o.paid)?.max(Yen::ZERO)
            };
            if o.status.holds_limit() {
                add(&mut held[ci], exposure)?;
            } else {
                add(&mut owed[ci], exposure)?;
            }
            if o.product == Product::PerOrder {
                add(&mut per_order[ci], exposure)?;
            }
            if o.channel == Channel::InStore {
                add(&mut in_store[ci], exposure)?;
            }
            // Paid beyond what is now due (after refunds) became credit.
            let net = sub(o.captured, o.refunded)?;
            add(&mut refunded_paid[ci], sub(o.paid, net)?.max(Yen::ZERO))?;
            paid_in[ci] = sub(paid_in[ci], o.paid)?;
        }
        for p in self.state.payments.iter() {
            if p.reversed.is_none() {
                add(&mut paid_in[p.customer as usize], p.amount)?;
            }
        }
        for (ci, c) in self.state.customers.iter().enumerate() {
            let b = c.billing.as_deref();
            let get = |f: fn(&CustomerBilling) -> Yen| b.map_or(Yen::ZERO, f);
            // Payments that went to fees, late fees and damages.
            let charges_paid = get(|b| b.charges_paid);
            // Points used as a discount paid orders without a payment.
            let points_paid = get(|b| b.points_paid);
            // A reversal whose credit was already spent left that part owed.
            let shortfall = get(|b| b.reversal_shortfall);
            let mut expect_credit = sub(paid_in[ci], charges_paid)?;
            for v in [refunded_paid[ci], points_paid, shortfall] {
                add(&mut expect_credit, v)?;
            }
            let checks = [
                ("held", c.held, held[ci]),
                ("outstanding", c.outstanding, owed[ci]),
                ("per_order_exposure", c.per_order_exposure, per_order[ci]),
                ("in_store_exposure", c.in_store_exposure, in_store[ci]),
                ("credit", c.credit, expect_credit),
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
            let exposure = sub(c.held, c.credit)?
                .checked_add(c.outstanding)
                .map_err(|_| "exposure overflows".to_string())?;
            if sub(c.limit, exposure.max(Yen::ZERO))? > c.limit {
                return Err(format!("customer {ci}: available above the limit"));
            }
        }
        self.check_gift_cards()?;
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
                .balance(Account::CustomerReceivable(id32(ci)));
            let expected = c
                .outstanding
                .checked_add(charges)
                .map_err(|_| format!("customer {ci}: owed overflows"))?;
            if receivable != expected {
                return Err(format!(
                    "customer {ci}: ledger receivable {} but engine owes {expected}",
                    receivable.get()
                ));
            }
            let credit = self.state.ledger.balance(Account::CustomerCredit(id32(ci)));
            // The credit account is a liability: its balance is the
            // negated credit.
            if credit.checked_add(c.credit) != Ok(Yen::ZERO) {
                return Err(format!(
                    "customer {ci}: ledger credit balance {credit} but engine credit {}",
                    c.credit
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
