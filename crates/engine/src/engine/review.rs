//! An analyst's verdict on an order held for review.

use super::Engine;
use crate::command::{Principal, ReviewVerdict};
use crate::error::CommandError;
use crate::reason::ReasonCode;
use crate::state::{Decision, OrderStatus};
use crate::view::Outcome;

impl Engine {
    pub(crate) fn resolve_review(
        &mut self,
        order: u64,
        verdict: ReviewVerdict,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index(Principal::System, order)?;
        let o = &self.state.orders[oi as usize];
        if o.status != OrderStatus::InReview {
            return Err(CommandError::conflict(
                "order_not_in_review",
                format!("the order is {}, not in review", o.status.as_str()),
            ));
        }
        let (ci, amount, product, channel) = (o.customer, o.amount, o.product, o.channel);
        self.idx.in_review.remove(&oi);
        match verdict {
            ReviewVerdict::Approve => {
                let o = &mut self.state.orders[oi as usize];
                o.status = OrderStatus::Authorized;
                o.decision = Decision::Approve;
                o.reasons.push(ReasonCode::OperatorApproved.into());
            }
            ReviewVerdict::Decline => {
                let o = &mut self.state.orders[oi as usize];
                o.status = OrderStatus::Declined;
                o.decision = Decision::Decline;
                o.reasons.push(ReasonCode::OperatorDeclined.into());
                self.state.customers[ci as usize].release(product, channel, amount);
            }
        }
        Ok(Outcome::Order(self.order_view(oi)))
    }
}
