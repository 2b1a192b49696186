//! Returned payments (`ReversePayment`): put back exactly what the
//! payment paid down.

use super::Engine;
use super::access::check_payment_channel;
use crate::billing::PlanStatus;
use crate::checked::Bounded;
use crate::command::Principal;
use crate::error::CommandError;
use crate::state::Reversal;
use crate::webhook::{EventKind, Stored};
use atobarai_billing::postings::{self};
use atobarai_core::{At, Yen};
use atobarai_ledger::{Account, EntryKind, NewEntry, Points, Posting};

impl Engine {
    /// A payment returned by its channel: what it paid is owed again (fees,
    /// damages and principal as they were), the over-payment it left as
    /// credit is taken back (what was already spent is owed as a reversal
    /// shortfall), points it earned are clawed back, and a paused overdue
    /// state resumes.
    pub(crate) fn reverse_payment(
        &mut self,
        at: At,
        principal: Principal,
        payment: u64,
        reason: &str,
    ) -> Result<crate::view::Outcome, CommandError> {
        let not_found = || CommandError::not_found("payment_not_found", "id", "payment");
        let pi = u32::try_from(payment).map_err(|_| not_found())?;
        check_payment_channel(principal, self.config.billing.merchants_record_payments)?;
        let p = self.state.payments.get(pi as usize).ok_or_else(not_found)?;
        let ci = self
            .customer_index_for_payment(principal, u64::from(p.customer))
            .map_err(|e| {
                if e.kind == crate::ErrorKind::NotFound {
                    not_found()
                } else {
                    e
                }
            })?;
        if p.reversed.is_some() {
            return Err(CommandError::conflict(
                "payment_already_reversed",
                "this payment was already reversed",
            )
            .field("id"));
        }
        // Validated; from here on only mutations.
        let (amount, applied) = (p.amount, p.applied);
        let paid_down = (*p.paid_down).clone();
        let today = at.jst_date();
        let owed_before = self.total_owed(ci);
        let yen = |v: i64| Yen::new(v);
        let charges_back =
            Yen::checked_sum(paid_down.charges.iter().map(|&v| yen(v))).bounded("charges");
        let mut receivable_up = charges_back;
        // The part of the payment that did not reduce what is owed now must
        // come back out of the credit balance.
        let mut from_credit = amount.checked_sub(applied).bounded("unapplied");
        for &(oi, paid, closed) in &paid_down.orders {
            let paid = yen(paid);
            let o = &mut self.state.orders[oi as usize];
            let before = o.owed();
            o.paid = o.paid.checked_sub(paid).bounded("order paid");
            let after = o.owed();
            // A refund since may have made part of the payment credit.
            let more = after.checked_sub(before).bounded("owed again");
            receivable_up = receivable_up.checked_add(more).bounded("receivable");
            from_credit = from_credit
                .checked_add(paid.checked_sub(more).bounded("paid to credit"))
                .bounded("from credit");
            let (product, channel) = (o.product, o.channel);
            let c = &mut self.state.customers[ci as usize];
            c.owe(product, channel, more);
            if closed && channel == atobarai_core::Channel::Online {
                c.paid_online_orders = c.paid_online_orders.saturating_sub(1);
            }
            if before == Yen::ZERO && more.is_positive() {
                c.open_order(&self.state.orders, oi);
            }
        }
        let c = &mut self.state.customers[ci as usize];
        let take = c.credit.min(from_credit);
        c.credit = c.credit.checked_sub(take).bounded("credit");
        let shortfall = from_credit.checked_sub(take).bounded("shortfall");
        receivable_up = receivable_up.checked_add(shortfall).bounded("receivable");
        let b = c.billing.get_or_insert_with(Default::default);
        let [rev, fees, late, damages] = paid_down.charges.map(yen);
        let add = |owed: Yen, more: Yen| owed.checked_add(more).bounded("charge owed");
        b.reversal_owed = add(add(b.reversal_owed, rev), shortfall);
        b.reversal_shortfall = add(b.reversal_shortfall, shortfall);
        b.fees_owed = add(b.fees_owed, fees);
        if fees.is_positive() {
            b.fees_due_since = b.fees_due_since.or(paid_down.fees_due_before);
        }
        b.late_fees_owed = add(b.late_fees_owed, late);
        b.damages_owed = add(b.damages_owed, damages);
        b.charges_paid = b
            .charges_paid
            .checked_sub(charges_back)
            .bounded("charges paid");
        if b.overdue.is_none() {
            b.overdue = paid_down.overdue_before;
        }
        if let Some(plan) = b.plan.as_mut()
            && plan.status != PlanStatus::Broken
        {
            plan.paid = plan
                .paid
                .checked_sub(applied)
                .bounded("plan paid")
                .max(Yen::ZERO);
            plan.status = PlanStatus::Active;
        }
        // Points this payment earned go back; the wallet takes any positive
        // amount (into a deficit if already spent), so a refusal is a
        // broken invariant, never skipped.
        for &(oi, points) in &paid_down.points {
            b.points
                .claw_back(u64::from(oi), Points::new(points), today)
                .bounded("points claw-back on reversal");
        }
        for &(oi, points) in &paid_down.points {
            let o = &mut self.state.orders[oi as usize];
            o.points_granted = o.points_granted.checked_sub(points).bounded("points");
            self.post(postings::points_released(
                at,
                u64::from(oi),
                EntryKind::PointsClawBack,
                Points::new(points),
            ));
        }
        // Postcondition: what is owed rose by exactly what the ledger's
        // receivable takes back, and the entry balances (cash out ==
        // receivable up + credit taken).
        assert_eq!(
            owed_before.checked_add(receivable_up).bounded("owed after"),
            self.total_owed(ci),
            "owed after reversal == before + receivable up"
        );
        assert_eq!(
            receivable_up.checked_add(take).bounded("reversal entry"),
            amount,
            "reversal entry balances"
        );
        let mut postings = vec![Posting::credit(Account::Cash, amount)];
        if receivable_up.is_positive() {
            postings.push(Posting::debit(
                Account::CustomerReceivable(ci),
                receivable_up,
            ));
        }
        if take.is_positive() {
            postings.push(Posting::debit(Account::CustomerCredit(ci), take));
        }
        self.post(Ok(NewEntry {
            at,
            kind: EntryKind::PaymentReversal,
            reference: u64::from(pi),
            postings,
        }));
        self.state.payments[pi as usize].reversed = Some(Box::new(Reversal {
            at,
            reason: reason.to_owned(),
            shortfall,
        }));
        self.emit(at, EventKind::PaymentReversed, ci, Stored::Reversal(pi));
        self.score_event(at, ci, crate::score::ScoreEvent::PaymentReversed);
        Ok(crate::view::Outcome::Payment(self.payment_view(pi)))
    }
}
