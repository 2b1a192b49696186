//! Received payments (`RecordPayment`) and the pay-down that spends
//! them: charges first, then principal of the oldest due orders.

use super::Engine;
use super::access::check_payment_channel;
use crate::billing::{PaidDown, PlanStatus, Tier};
use crate::checked::{Bounded, id32};
use crate::command::{PaymentInput, Principal};
use crate::error::CommandError;
use crate::state::Payment;
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_billing::points::points_for_purchase;
use atobarai_billing::postings::{self};
use atobarai_core::{At, Yen};
use atobarai_ledger::Points;

impl Engine {
    /// Everything the customer owes today: principal, fees, late fees,
    /// delay damages and returned payments.
    pub(crate) fn total_owed(&self, ci: u32) -> Yen {
        let c = &self.state.customers[ci as usize];
        let charges = c.billing.as_deref().map_or(Yen::ZERO, |b| b.charges_owed());
        c.outstanding.checked_add(charges).bounded("total owed")
    }

    /// A payment received by a payment channel. Only the provider's
    /// channels and admins record payments (merchants get 403), and a
    /// payment may exceed what is owed by at most
    /// `billing.overpayment_tolerance_yen` (else 422
    /// `payment_exceeds_balance`): the excess is a credit balance, which
    /// only ever offsets what is owed.
    pub(crate) fn record_payment(
        &mut self,
        at: At,
        principal: Principal,
        input: &PaymentInput,
    ) -> Result<(Outcome, bool), CommandError> {
        check_payment_channel(principal, self.config.billing.merchants_record_payments)?;
        if let Some(&pi) = self.idx.payment_by_reference.get(input.reference.as_str()) {
            let p = &self.state.payments[pi as usize];
            if u64::from(p.customer) == input.customer && p.amount == input.amount {
                return Ok((Outcome::Payment(self.payment_view(pi)), false));
            }
            return Err(CommandError::conflict(
                "payment_reference_reused",
                "this payment reference was recorded with another customer or amount",
            )
            .field("reference"));
        }
        let ci = self.customer_index_for_payment(principal, input.customer)?;
        if !input.amount.is_positive() {
            return Err(CommandError::invalid(
                "amount_not_positive",
                "amount",
                "amount must be positive",
            ));
        }
        let owed = self.total_owed(ci);
        let tolerance = self.config.billing.overpayment_tolerance_yen;
        // Both terms are bounded by Yen::AMOUNT_MAX-scale figures; an
        // overflow here can only mean the payment is far too large.
        let most = owed.checked_add(tolerance).unwrap_or(Yen::AMOUNT_MAX);
        if input.amount > most {
            return Err(CommandError::invalid(
                "payment_exceeds_balance",
                "amount",
                format!(
                    "the customer owes {owed}; a payment may exceed that by at most {tolerance}"
                ),
            ));
        }
        // Validated; from here on only mutations.
        let credit_before = self.state.customers[ci as usize].credit;
        let paid_down = self.pay_down(at, ci, input.amount);
        let applied = paid_down.applied();
        // Postconditions of the allocation: never more than paid, and what
        // is owed went down by exactly what was applied.
        assert!(applied <= input.amount, "pay-down spent more than paid");
        assert_eq!(
            owed.checked_sub(applied).bounded("owed after payment"),
            self.total_owed(ci),
            "owed after payment == owed before − applied"
        );
        let to_credit = input
            .amount
            .checked_sub(applied)
            .bounded("payment to credit");
        {
            let c = &mut self.state.customers[ci as usize];
            c.credit = c.credit.checked_add(to_credit).bounded("credit");
            let outstanding = c.outstanding;
            if let Some(b) = c.billing.as_deref_mut() {
                let owed_now = outstanding.checked_add(b.charges_owed()).bounded("owed");
                if let Some(plan) = b.plan.as_mut() {
                    plan.record_payment(applied);
                    if owed_now == Yen::ZERO && plan.status == PlanStatus::Active {
                        plan.status = PlanStatus::Completed;
                        plan.status_on = at.jst_date();
                    }
                }
            }
        }
        let c = &self.state.customers[ci as usize];
        assert_eq!(
            c.credit,
            credit_before.checked_add(to_credit).bounded("credit"),
            "credit after payment == before + unapplied"
        );
        assert!(c.available() <= c.limit, "available above the limit");
        let pi = id32(self.state.payments.len());
        self.post_payment(at, pi, ci, input.amount, applied);
        let c = &self.state.customers[ci as usize];
        self.state.payments.push(Payment {
            customer: ci,
            amount: input.amount,
            channel: input.channel.clone(),
            reference: input.reference.clone(),
            at,
            applied,
            exposure_after: c.exposure(),
            available_after: c.available(),
            paid_down: Box::new(paid_down),
            reversed: None,
        });
        self.idx
            .payment_by_reference
            .insert(input.reference.as_str().into(), pi);
        self.idx.add_payment(ci, at.unix_ms());
        self.emit_payment_received(at, pi);
        // The behaviour score: each order this payment completed, on time
        // or late.
        let today = at.jst_date();
        let completed: Vec<bool> = self.state.payments[pi as usize]
            .paid_down
            .orders
            .iter()
            .filter(|(_, _, full)| *full)
            .map(|(oi, ..)| {
                self.state.orders[*oi as usize]
                    .due_date
                    .is_some_and(|due| due < today)
            })
            .collect();
        for late in completed {
            let event = if late {
                crate::score::ScoreEvent::PaidLate
            } else {
                crate::score::ScoreEvent::PaidOnTime
            };
            self.score_event(at, ci, event);
        }
        Ok((Outcome::Payment(self.payment_view(pi)), true))
    }

    /// Pay what a customer owes with `amount`: a reversal shortfall, fees,
    /// late fees and delay damages first, then principal of the oldest due
    /// orders. An order paid in full earns its points. Returns how the money
    /// was spent; the caller books the rest as credit.
    pub(crate) fn pay_down(&mut self, at: At, ci: u32, amount: Yen) -> PaidDown {
        assert!(!amount.is_negative(), "pay-down of a negative amount");
        let cfg = self.config.billing.clone();
        let today = at.jst_date();
        let mut remaining = amount;
        let mut out = PaidDown::default();
        let c = &mut self.state.customers[ci as usize];
        let tier = c
            .billing
            .as_deref()
            .map_or(Tier::Standard, |b| b.tier_on(today));
        if let Some(b) = c.billing.as_deref_mut() {
            out.overdue_before = b.overdue;
            out.fees_due_before = b.fees_due_since;
            for (slot, owed) in out.charges.iter_mut().zip([
                &mut b.reversal_owed,
                &mut b.fees_owed,
                &mut b.late_fees_owed,
                &mut b.damages_owed,
            ]) {
                let pay = (*owed).min(remaining);
                *owed = owed.checked_sub(pay).bounded("charge owed");
                remaining = remaining.checked_sub(pay).bounded("payment left");
                *slot = pay.get();
                b.charges_paid = b.charges_paid.checked_add(pay).bounded("charges paid");
            }
            if b.fees_owed == Yen::ZERO {
                b.fees_due_since = None;
            }
        }
        let mut closed = 0usize;
        // By index: `settle` needs the customer mutably inside the loop.
        for i in 0..c.open_orders.len() {
            let oi = c.open_orders[i];
            if remaining == Yen::ZERO {
                break;
            }
            let o = &mut self.state.orders[oi as usize];
            let pay = o.owed().min(remaining);
            o.paid = o.paid.checked_add(pay).bounded("order paid");
            remaining = remaining.checked_sub(pay).bounded("payment left");
            c.settle(o.product, o.channel, pay);
            let full = o.owed() == Yen::ZERO;
            out.orders.push((oi, pay.get(), full));
            if !full {
                break;
            }
            closed = closed.saturating_add(1);
            if o.channel == atobarai_core::Channel::Online {
                c.paid_online_orders = c.paid_online_orders.saturating_add(1);
            }
            // A product configured with `points = false` earns nothing (a
            // product no longer in the catalog keeps earning as before).
            let earns = self.config.products.get(o.product).is_none_or(|d| d.points);
            let net = if earns { o.refundable() } else { Yen::ZERO };
            // Rules are validated (non-negative rates) and `net` is a
            // bounded amount, so the points always compute.
            let points = points_for_purchase(net, tier, &cfg).bounded("points for a purchase");
            // A wallet at its lot cap (`TooMany`) grants nothing: the payment
            // itself must not fail after validation, and no points is the
            // conservative outcome; `out.points` records only what was granted.
            if points.is_positive()
                && let Some(b) = c.billing.as_deref_mut()
                && b.points.grant(u64::from(oi), points, today, &cfg).is_ok()
            {
                o.points_granted = o
                    .points_granted
                    .checked_add(points.get())
                    .bounded("points granted");
                o.points_paid_tier = tier == Tier::Paid;
                out.points.push((oi, points.get()));
            }
        }
        c.open_orders.drain(..closed);
        // Postcondition: Σ allocated + what is left == the amount.
        assert_eq!(
            out.applied().checked_add(remaining).bounded("allocation"),
            amount,
            "Σ allocated + left == amount paid"
        );
        for &(oi, points) in &out.points {
            self.post(postings::points_granted(
                at,
                u64::from(oi),
                Points::new(points),
            ));
        }
        out
    }

    pub(crate) fn emit_payment_received(&mut self, at: At, pi: u32) {
        let ci = self.state.payments[pi as usize].customer;
        self.emit(at, EventKind::PaymentReceived, ci, Stored::Payment(pi));
    }
}
