//! Points used as a discount on the monthly product (`RedeemPoints`).

use super::Engine;
use crate::checked::Bounded;
use crate::command::Principal;
use crate::error::CommandError;
use crate::prefix;
use atobarai_billing::postings::{self};
use atobarai_core::{At, Product, Yen, ids};
use atobarai_ledger::Points;

impl Engine {
    /// Points as a discount on the monthly product: checked against usable
    /// points and against what is owed on monthly orders, then applied to
    /// those orders oldest due first. Points that paid an order later
    /// refunded come back as credit, not as points: a use is final.
    pub(crate) fn redeem_points(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        points: i64,
    ) -> Result<crate::view::Outcome, CommandError> {
        let ci = self.customer_index_for_write(principal, customer)?;
        if points <= 0 {
            return Err(CommandError::invalid(
                "points_not_positive",
                "points",
                "points must be positive",
            ));
        }
        let today = at.jst_date();
        let c = &self.state.customers[ci as usize];
        let usable = c
            .billing
            .as_deref()
            .map_or(0, |b| b.points.balance(today).get());
        if points > usable {
            return Err(CommandError::invalid(
                "points_insufficient",
                "points",
                format!("{usable} points are usable today"),
            ));
        }
        let orders = &self.state.orders;
        let monthly_owed = Yen::checked_sum(
            c.open_orders
                .iter()
                .map(|&oi| &orders[oi as usize])
                .filter(|o| o.product == Product::Monthly)
                .map(|o| o.owed()),
        )
        .bounded("monthly owed")
        .get();
        if points > monthly_owed {
            return Err(CommandError::invalid(
                "points_exceed_statement",
                "points",
                format!("points pay only what is owed on the monthly product (¥{monthly_owed})"),
            ));
        }
        // Validated; from here on only mutations.
        let c = &mut self.state.customers[ci as usize];
        let Some(b) = c.billing.as_deref_mut() else {
            return Err(CommandError::invalid(
                "points_insufficient",
                "points",
                "no points",
            ));
        };
        if b.points.redeem(Points::new(points), today).is_err() {
            return Err(CommandError::invalid(
                "points_insufficient",
                "points",
                "points are not usable",
            ));
        }
        // One point is one yen.
        b.points_paid = b
            .points_paid
            .checked_add(Yen::new(points))
            .bounded("points paid");
        let mut left = Yen::new(points);
        let mut closed = Vec::new();
        for i in 0..c.open_orders.len() {
            let oi = c.open_orders[i];
            if left == Yen::ZERO {
                break;
            }
            let o = &mut self.state.orders[oi as usize];
            if o.product != Product::Monthly {
                continue;
            }
            let pay = o.owed().min(left);
            o.paid = o.paid.checked_add(pay).bounded("order paid");
            left = left.checked_sub(pay).bounded("points left");
            c.settle(o.product, o.channel, pay);
            if o.owed() == Yen::ZERO {
                closed.push(oi);
                if o.channel == atobarai_core::Channel::Online {
                    c.paid_online_orders = c.paid_online_orders.saturating_add(1);
                }
            }
        }
        // Postcondition: the points were spent in full (validated above).
        assert_eq!(left, Yen::ZERO, "points left after paying monthly orders");
        c.open_orders.retain(|oi| !closed.contains(oi));
        self.post(postings::points_redeemed(
            at,
            u64::from(ci),
            ci,
            Points::new(points),
        ));
        // The behaviour score: an order completed with points is paid like
        // any other, on time or late.
        let today = at.jst_date();
        for oi in closed {
            let late = self.state.orders[oi as usize]
                .due_date
                .is_some_and(|due| due < today);
            let event = if late {
                crate::score::ScoreEvent::PaidLate
            } else {
                crate::score::ScoreEvent::PaidOnTime
            };
            self.score_event(at, ci, event);
        }
        let id = ids::encode(prefix::CUSTOMER, u64::from(ci));
        self.balance(Principal::System, &id)
            .map(crate::view::Outcome::Balance)
    }
}
