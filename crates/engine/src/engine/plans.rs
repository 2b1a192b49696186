//! Payment plans (`AgreePaymentPlan`) and their view.

use super::Engine;
use crate::billing::{ActivePlan, CustomerBilling, PlanStatus, PlanView};
use crate::checked::Bounded;
use crate::command::Principal;
use crate::error::CommandError;
use atobarai_billing::dunning::split_into_instalments;
use atobarai_billing::schedule::{YearMonth, due_day};
use atobarai_core::{At, Yen};

impl Engine {
    /// An operator agrees a plan: everything the customer owes today, in
    /// `count` monthly instalments from next month on the due day of the
    /// customer's payment method.
    pub(crate) fn agree_payment_plan(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        count: u32,
    ) -> Result<crate::view::Outcome, CommandError> {
        let ci = self.customer_index_for_provider(
            principal,
            customer,
            "payment plans are agreed by the provider's operators",
        )?;
        let today = at.jst_date();
        let c = &self.state.customers[ci as usize];
        let charges = c
            .billing
            .as_deref()
            .map_or(Yen::ZERO, CustomerBilling::charges_owed);
        let debt = c.outstanding.checked_add(charges).bounded("debt");
        if c.billing
            .as_deref()
            .and_then(|b| b.plan.as_ref())
            .is_some_and(|p| p.status == PlanStatus::Active)
        {
            return Err(CommandError::conflict(
                "payment_plan_active",
                "the customer already has an active payment plan",
            )
            .field("customer"));
        }
        if !debt.is_positive() {
            return Err(CommandError::invalid(
                "nothing_owed",
                "customer",
                "the customer owes nothing",
            ));
        }
        if count < 2 {
            return Err(CommandError::invalid(
                "instalments_out_of_range",
                "instalments",
                "a plan has at least 2 instalments",
            ));
        }
        let method = c.payment_method;
        let first = YearMonth::of(today)
            .next()
            .map_err(|_| CommandError::invalid("date_out_of_range", "now", "date out of range"))?;
        let plan = split_into_instalments(
            debt,
            count,
            first,
            due_day(method, &self.config.billing),
            method,
        )
        .map_err(|e| {
            CommandError::invalid("instalments_out_of_range", "instalments", e.to_string())
        })?;
        let c = &mut self.state.customers[ci as usize];
        let b = c.billing.get_or_insert_with(Default::default);
        let active = ActivePlan {
            agreed_on: today,
            plan,
            paid: Yen::ZERO,
            status: PlanStatus::Active,
            status_on: today,
        };
        let view = PlanView::of(ci, &active);
        b.plan = Some(active);
        Ok(crate::view::Outcome::Plan(view))
    }

    /// A customer's payment plan, if one was ever agreed.
    pub fn payment_plan(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<Option<PlanView>, CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        Ok(self.state.customers[ci as usize]
            .billing
            .as_deref()
            .and_then(|b| b.plan.as_ref())
            .map(|p| PlanView::of(ci, p)))
    }
}
