//! The paid tier (`SetMembership`).

use super::Engine;
use crate::billing::Membership;
use crate::command::Principal;
use crate::error::CommandError;
use crate::prefix;
use atobarai_billing::schedule::YearMonth;
use atobarai_core::{At, ids};

impl Engine {
    /// Take or cancel the paid tier. Taking it starts today (this month is
    /// billed in full); cancelling ends it with the current month.
    pub(crate) fn set_membership(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        paid: bool,
    ) -> Result<crate::view::Outcome, CommandError> {
        // A paid subscription is the customer's contract with the provider:
        // its app (an operator key) sets it, never a merchant.
        let ci = self.customer_index_for_provider(
            principal,
            customer,
            "the paid tier is set by the provider, not by merchants",
        )?;
        let today = at.jst_date();
        let this_month = YearMonth::of(today);
        let c = &mut self.state.customers[ci as usize];
        let b = c.billing.get_or_insert_with(Default::default);
        b.membership = match (b.membership, paid) {
            (None, true) => Some(Membership {
                since: today,
                ends_after: None,
            }),
            // Re-taking before the month ends undoes the cancellation.
            (Some(m), true) => Some(Membership {
                ends_after: None,
                ..m
            }),
            (Some(m), false) => Some(Membership {
                ends_after: Some(m.ends_after.unwrap_or(this_month).min(this_month)),
                ..m
            }),
            (None, false) => None,
        };
        let id = ids::encode(prefix::CUSTOMER, u64::from(ci));
        self.customer(Principal::System, &id)
            .map(crate::view::Outcome::Customer)
    }
}
