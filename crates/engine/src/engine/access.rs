//! Who may see and change what: merchant, customer and order lookups
//! checked against the calling principal.

use super::Engine;
use crate::command::{Principal, Role};
use crate::error::CommandError;
use crate::state::{Merchant, OrderStatus};

impl Engine {
    pub(crate) fn merchant(&self, merchant: u32) -> Result<&Merchant, CommandError> {
        self.state
            .merchants
            .get(merchant as usize)
            .ok_or_else(|| CommandError::forbidden("unknown merchant"))
    }

    pub(crate) fn customer_index(
        &self,
        principal: Principal,
        customer: u64,
    ) -> Result<u32, CommandError> {
        let not_found = || CommandError::not_found("customer_not_found", "customer", "customer");
        let ci = u32::try_from(customer).map_err(|_| not_found())?;
        let c = self
            .state
            .customers
            .get(ci as usize)
            .ok_or_else(not_found)?;
        if !visible(principal, c.merchant) {
            return Err(not_found());
        }
        Ok(ci)
    }

    pub(crate) fn customer_index_for_write(
        &self,
        principal: Principal,
        customer: u64,
    ) -> Result<u32, CommandError> {
        check_writer(principal)?;
        self.customer_index(principal, customer)
    }

    /// A customer a payment is recorded for or reversed on (see
    /// [`check_payment_channel`]).
    pub(crate) fn customer_index_for_payment(
        &self,
        principal: Principal,
        customer: u64,
    ) -> Result<u32, CommandError> {
        check_payment_channel(principal, self.config.billing.merchants_record_payments)?;
        self.customer_index(principal, customer)
    }

    /// As [`Engine::customer_index_for_write`], for what only the provider
    /// (an operator key or the local command line) may do to a customer's
    /// contract: merchants get `why` as a 403.
    pub(crate) fn customer_index_for_provider(
        &self,
        principal: Principal,
        customer: u64,
        why: &str,
    ) -> Result<u32, CommandError> {
        if matches!(principal, Principal::Merchant(_)) {
            return Err(CommandError::forbidden(why));
        }
        self.customer_index_for_write(principal, customer)
    }

    pub(crate) fn order_index(
        &self,
        principal: Principal,
        order: u64,
    ) -> Result<u32, CommandError> {
        let not_found = || CommandError::not_found("order_not_found", "id", "order");
        let oi = u32::try_from(order).map_err(|_| not_found())?;
        let o = self.state.orders.get(oi as usize).ok_or_else(not_found)?;
        if !visible(principal, o.merchant) {
            return Err(not_found());
        }
        Ok(oi)
    }

    pub(crate) fn order_index_for_write(
        &self,
        principal: Principal,
        order: u64,
    ) -> Result<u32, CommandError> {
        check_writer(principal)?;
        self.order_index(principal, order)
    }
}

/// Can `principal` see data of `merchant`? Merchants see their own;
/// operators and the local command line see everything.
pub(super) fn visible(principal: Principal, merchant: u32) -> bool {
    match principal {
        Principal::Merchant(m) => m == merchant,
        Principal::Operator(..) | Principal::System => true,
    }
}

/// Is `principal` an admin operator (or the command line)? `message`
/// says what the refused caller tried.
pub(super) fn check_admin(principal: Principal, message: &str) -> Result<(), CommandError> {
    match principal {
        Principal::Operator(_, Role::Admin) | Principal::System => Ok(()),
        _ => Err(CommandError::forbidden(message)),
    }
}

/// May `principal` change state (other than record or reverse a payment)?
/// Analysts read only; a payment channel's key (`Role::Payments`) may only
/// record and reverse payments.
pub(super) fn check_writer(principal: Principal) -> Result<(), CommandError> {
    match principal {
        Principal::Operator(_, Role::Analyst) => {
            Err(CommandError::forbidden("analysts have read-only access"))
        }
        Principal::Operator(_, Role::Payments) => Err(CommandError::forbidden(
            "a payment channel's key may only record and reverse payments",
        )),
        Principal::Operator(_, Role::Admin) | Principal::Merchant(_) | Principal::System => Ok(()),
    }
}

/// May `principal` record or reverse a payment? Only the provider's payment
/// channels (`Role::Payments`), an admin operator, or the local command
/// line: money received is the provider's fact, never a merchant's claim.
///
/// `merchants_allowed` is `billing.merchants_record_payments`: false in every
/// configuration written since payment-channel keys exist, true only in the
/// rules of journals from before them (see `format::legacy`), so that such
/// history replays under the rules it ran with.
pub(super) fn check_payment_channel(
    principal: Principal,
    merchants_allowed: bool,
) -> Result<(), CommandError> {
    match principal {
        Principal::Operator(_, Role::Admin | Role::Payments) | Principal::System => Ok(()),
        Principal::Merchant(_) if merchants_allowed => Ok(()),
        Principal::Operator(_, Role::Analyst) => {
            Err(CommandError::forbidden("analysts have read-only access"))
        }
        Principal::Merchant(_) => Err(CommandError::forbidden(
            "payments are recorded by the provider's payment channels, not by merchants",
        )),
    }
}

pub(super) fn status_conflict(status: OrderStatus, wanted: &str) -> CommandError {
    let code = match status {
        OrderStatus::Authorized => "order_not_captured",
        OrderStatus::InReview => "order_in_review",
        OrderStatus::Declined => "order_declined",
        OrderStatus::Captured => "order_already_captured",
        OrderStatus::Cancelled => "order_cancelled",
        OrderStatus::Refunded => "order_refunded",
    };
    CommandError::conflict(
        code,
        format!("an order that is {} cannot be {wanted}", status.as_str()),
    )
}
