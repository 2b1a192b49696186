//! The seam where the risk engine plugs in. The credit rules (limits, caps,
//! overdue, suspensions) run first and can only decline; a [`RiskPolicy`]
//! then sees the order with the customer's history and may approve, hold
//! for review or decline, with reasons.
//!
//! [`BaselinePolicy`] is the policy shipped until the dedicated risk engine
//! lands: two rules straight from the signals providers already watch
//! (DOMAIN.md §2): a cart of cash-equivalents only, and a first purchase
//! containing cash-equivalents, are held for an analyst.

pub mod book;
pub mod drift;
pub mod features;
pub mod rules;
pub mod wave;

use crate::command::AuthorizeInput;
use crate::reason::{Reason, ReasonCode};
use atobarai_core::{At, Yen};

/// What a policy may read about the customer at decision time.
#[derive(Clone, Copy, Debug)]
pub struct CustomerFacts {
    /// Orders ever approved or held for this customer.
    pub orders_approved: u32,
    /// Online orders paid in full.
    pub paid_online_orders: u32,
    /// `held + outstanding − credit` of the account (negative with a credit balance).
    pub exposure: Yen,
    /// The account's limit.
    pub limit: Yen,
    /// Identity cluster (strong links only: phone, e-mail, device): how
    /// many accounts are this person, this one included (1 when alone).
    pub cluster_accounts: u32,
    /// Accounts created in the last 30 days at this customer's address
    /// unit (this one included if new): a burst of sign-ups at one address.
    pub address_new_accounts_30d: u32,
    /// Another account of the cluster has an overdue invoice.
    pub cluster_member_overdue: bool,
    /// The cluster's exposure and limit (the customer's own when alone).
    pub cluster_exposure: Yen,
    /// The smallest limit among the cluster's members.
    pub cluster_limit: Yen,
    /// Hub keys the customer carries (a device id, phone or e-mail shared
    /// by more accounts than `identity.hub_threshold`, which joins nobody).
    pub hub_keys: u32,
    /// The most accounts any of those hub keys serves (0 without one).
    pub hub_accounts_max: u32,
}

/// The order under decision.
pub struct RiskContext<'a> {
    /// When the authorization arrived.
    pub at: At,
    /// The order as the merchant sent it.
    pub order: &'a AuthorizeInput,
    /// The order total.
    pub amount: Yen,
    /// What is known about the customer.
    pub customer: CustomerFacts,
    /// Every risk feature for this decision ([`features::FEATURES`]).
    pub features: &'a features::Features,
}

/// What a policy decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RiskAction {
    /// Approve: hold the amount.
    Approve,
    /// Hold the amount for an analyst.
    Review,
    /// Decline.
    Decline,
}

/// A policy's decision with its reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskVerdict {
    /// What to do.
    pub action: RiskAction,
    /// Why (shown to the merchant).
    pub reasons: Vec<Reason>,
}

/// A deterministic risk policy: same context, same verdict.
pub trait RiskPolicy: Send + Sync {
    /// Decide on an order that passed every credit rule.
    fn assess(&self, ctx: &RiskContext<'_>) -> RiskVerdict;
}

/// The default policy: cash-equivalent carts go to review.
#[derive(Clone, Copy, Debug, Default)]
pub struct BaselinePolicy;

impl RiskPolicy for BaselinePolicy {
    fn assess(&self, ctx: &RiskContext<'_>) -> RiskVerdict {
        let items = &ctx.order.items;
        let cash_equivalent =
            |i: &crate::command::LineItem| i.category.liquidity().is_cash_equivalent();
        let mut reasons = Vec::new();
        if !items.is_empty() && items.iter().all(cash_equivalent) {
            reasons.push(ReasonCode::CashEquivalentOnlyCart.into());
        } else if ctx.customer.orders_approved == 0 && items.iter().any(cash_equivalent) {
            reasons.push(ReasonCode::FirstUseCashEquivalent.into());
        }
        let action = if reasons.is_empty() {
            RiskAction::Approve
        } else {
            RiskAction::Review
        };
        RiskVerdict { action, reasons }
    }
}
