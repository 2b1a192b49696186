//! Returned payments (`ReversePayment`): put back exactly what the
//! payment paid down.

use super::Engine;
use crate::billing::PlanStatus;
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
        let p = self.state.payments.get(pi as usize).ok_or_else(not_found)?;
        let ci = self
            .customer_index_for_write(principal, u64::from(p.customer))
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
        let mut receivable_up: i64 = paid_down.charges.iter().sum();
        let mut from_credit = amount.get() - applied.get();
        for &(oi, yen, closed) in &paid_down.orders {
            let o = &mut self.state.orders[oi as usize];
            let before = o.owed().get();
            o.paid = Yen::new(o.paid.get() - yen);
            let after = o.owed().get();
            let more = after - before;
            receivable_up += more;
            from_credit += yen - more;
            let (product, channel) = (o.product, o.channel);
            let c = &mut self.state.customers[ci as usize];
            c.settle(product, channel, -more);
            if closed && channel == atobarai_core::Channel::Online {
                c.paid_online_orders = c.paid_online_orders.saturating_sub(1);
            }
            if before == 0 && more > 0 {
                c.open_order(&self.state.orders, oi);
            }
        }
        let c = &mut self.state.customers[ci as usize];
        let take = c.credit.get().min(from_credit);
        c.credit = Yen::new(c.credit.get() - take);
        let shortfall = from_credit - take;
        receivable_up += shortfall;
        let b = c.billing.get_or_insert_with(Default::default);
        let [rev, fees, late, damages] = paid_down.charges;
        b.reversal_owed = Yen::new(b.reversal_owed.get() + rev + shortfall);
        b.reversal_shortfall = Yen::new(b.reversal_shortfall.get() + shortfall);
        b.fees_owed = Yen::new(b.fees_owed.get() + fees);
        if fees > 0 {
            b.fees_due_since = b.fees_due_since.or(paid_down.fees_due_before);
        }
        b.late_fees_owed = Yen::new(b.late_fees_owed.get() + late);
        b.damages_owed = Yen::new(b.damages_owed.get() + damages);
        b.charges_paid = Yen::new(b.charges_paid.get() - (rev + fees + late + damages));
        if b.overdue.is_none() {
            b.overdue = paid_down.overdue_before;
        }
        if let Some(plan) = b.plan.as_mut()
            && plan.status != PlanStatus::Broken
        {
            plan.paid = Yen::new((plan.paid.get() - applied.get()).max(0));
            plan.status = PlanStatus::Active;
        }
        let mut clawed = Vec::new();
        for &(oi, points) in &paid_down.points {
            if b.points
                .claw_back(u64::from(oi), Points::new(points), today)
                .is_ok()
            {
                clawed.push((oi, points));
            }
        }
        for &(oi, points) in &clawed {
            self.state.orders[oi as usize].points_granted -= points;
            self.post(postings::points_released(
                at,
                u64::from(oi),
                EntryKind::PointsClawBack,
                Points::new(points),
            ));
        }
        let mut postings = vec![Posting::credit(Account::Cash, amount)];
        if receivable_up > 0 {
            postings.push(Posting::debit(
                Account::CustomerReceivable(ci),
                Yen::new(receivable_up),
            ));
        }
        if take > 0 {
            postings.push(Posting::debit(Account::CustomerCredit(ci), Yen::new(take)));
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
            shortfall: Yen::new(shortfall),
        }));
        self.emit(at, EventKind::PaymentReversed, ci, Stored::Reversal(pi));
        Ok(crate::view::Outcome::Payment(self.payment_view(pi)))
    }
}
