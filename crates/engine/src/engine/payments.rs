//! Received payments (`RecordPayment`) and the pay-down that spends
//! them: charges first, then principal of the oldest due orders.

use super::Engine;
use crate::billing::{PaidDown, Tier};
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
    pub(crate) fn record_payment(
        &mut self,
        at: At,
        principal: Principal,
        input: &PaymentInput,
    ) -> Result<(Outcome, bool), CommandError> {
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
        let ci = self.customer_index_for_write(principal, input.customer)?;
        if !input.amount.is_positive() {
            return Err(CommandError::invalid(
                "amount_not_positive",
                "amount",
                "amount must be positive",
            ));
        }
        let paid_down = self.pay_down(at, ci, input.amount);
        let applied = paid_down.applied();
        {
            let c = &mut self.state.customers[ci as usize];
            c.credit = Yen::new(c.credit.get() + input.amount.get() - applied.get());
            let outstanding = c.outstanding;
            if let Some(b) = c.billing.as_deref_mut() {
                let owed = outstanding.get() + b.charges_owed().get();
                if let Some(plan) = b.plan.as_mut() {
                    plan.record_payment(applied);
                    if owed == 0 && plan.status == crate::billing::PlanStatus::Active {
                        plan.status = crate::billing::PlanStatus::Completed;
                        plan.status_on = at.jst_date();
                    }
                }
            }
        }
        let pi = self.state.payments.len() as u32;
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
        self.emit_payment_received(at, pi);
        Ok((Outcome::Payment(self.payment_view(pi)), true))
    }

    /// Pay what a customer owes with `amount`: a reversal shortfall, fees,
    /// late fees and delay damages first, then principal of the oldest due
    /// orders. An order paid in full earns its points. Returns how the money
    /// was spent; the caller books the rest as credit.
    pub(crate) fn pay_down(&mut self, at: At, ci: u32, amount: Yen) -> PaidDown {
        let cfg = self.config.billing.clone();
        let today = at.jst_date();
        let mut remaining = amount.get();
        let mut out = PaidDown::default();
        let c = &mut self.state.customers[ci as usize];
        let tier = c
            .billing
            .as_deref()
            .map_or(Tier::Standard, |b| b.tier_on(today));
        if let Some(b) = c.billing.as_deref_mut() {
            out.overdue_before = b.overdue;
            out.fees_due_before = b.fees_due_since;
            for (k, owed) in [
                &mut b.reversal_owed,
                &mut b.fees_owed,
                &mut b.late_fees_owed,
                &mut b.damages_owed,
            ]
            .into_iter()
            .enumerate()
            {
                let pay = owed.get().min(remaining);
                *owed = Yen::new(owed.get() - pay);
                remaining -= pay;
                out.charges[k] = pay;
                b.charges_paid = Yen::new(b.charges_paid.get() + pay);
            }
            if b.fees_owed == Yen::ZERO {
                b.fees_due_since = None;
            }
        }
        let mut closed = 0usize;
        // By index: `settle` needs the customer mutably inside the loop.
        for i in 0..c.open_orders.len() {
            let oi = c.open_orders[i];
            if remaining == 0 {
                break;
            }
            let o = &mut self.state.orders[oi as usize];
            let pay = o.owed().get().min(remaining);
            o.paid = Yen::new(o.paid.get() + pay);
            remaining -= pay;
            c.settle(o.product, o.channel, pay);
            let full = o.owed() == Yen::ZERO;
            out.orders.push((oi, pay, full));
            if !full {
                break;
            }
            closed += 1;
            if o.channel == atobarai_core::Channel::Online {
                c.paid_online_orders += 1;
            }
            let net = Yen::new(o.captured.get() - o.refunded.get());
            if let Ok(points) = points_for_purchase(net, tier, &cfg)
                && points.is_positive()
                && let Some(b) = c.billing.as_deref_mut()
                && b.points.grant(u64::from(oi), points, today, &cfg).is_ok()
            {
                o.points_granted += points.get();
                o.points_paid_tier = tier == Tier::Paid;
                out.points.push((oi, points.get()));
            }
        }
        c.open_orders.drain(..closed);
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
