//! What the engine answers: compact, typed values. The server renders them
//! as JSON (ids, strings, times) on its own threads, so the engine thread
//! spends no time formatting. They are also kept in idempotency records (a
//! retry renders the first answer again), so they serialize without
//! `skip_serializing_if` (postcard needs every field).

use crate::reason::ReasonCode;
use crate::state::{CustomerStatus, Decision, OrderStatus};
use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use serde::{Deserialize, Serialize};

/// What [`CustomerView::available`] is computed over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AvailableScope {
    /// The account alone (it is linked to no other account).
    Account,
    /// The account's identity cluster: the members' smallest limit less
    /// the members' summed exposure.
    IdentityCluster,
}

impl AvailableScope {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AvailableScope::Account => "account",
            AvailableScope::IdentityCluster => "identity_cluster",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    pub customer: u32,
    pub external_id: String,
    /// The one credit limit shared by both products.
    pub limit: Yen,
    /// Held + owed − credit balance.
    pub exposure: Yen,
    /// What a decision lets this customer spend now: the account's own
    /// `min(limit, limit − exposure)`, further capped by its identity
    /// cluster's shared limit when it is linked to other accounts (see
    /// `available_scope`). Never above `limit`.
    pub available: Yen,
    /// Which figure `available` is: the account alone, or its cluster.
    pub available_scope: AvailableScope,
    /// `min(limit, limit − exposure)` of this account alone.
    pub account_available: Yen,
    pub status: CustomerStatus,
    pub payment_method: PaymentMethod,
    /// A payment-method change and the day it takes effect.
    pub payment_method_next: Option<(PaymentMethod, JstDate)>,
    pub held: Yen,
    pub outstanding: Yen,
    pub credit_balance: Yen,
    pub per_order_exposure: Yen,
    pub in_store_exposure: Yen,
    pub overdue: bool,
    pub created_at: At,
    /// The points tier today, and the last month of a cancelled paid tier.
    pub tier: atobarai_billing::points::Tier,
    pub tier_ends_after: Option<atobarai_billing::schedule::YearMonth>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    pub order: u32,
    pub customer: u32,
    pub merchant_order_id: Box<str>,
    pub product: Product,
    pub channel: Channel,
    pub status: OrderStatus,
    pub decision: Decision,
    pub amount: Yen,
    pub captured: Yen,
    pub refunded: Yen,
    pub paid: Yen,
    /// The customer's available credit right after the decision.
    pub available_after: Yen,
    pub reasons: Vec<ReasonCode>,
    pub due_date: Option<JstDate>,
    pub authorized_at: At,
    pub captured_at: Option<At>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    pub payment: u32,
    pub customer: u32,
    pub amount: Yen,
    /// Part of the amount that settled orders; the rest is credit balance.
    pub applied: Yen,
    pub channel: String,
    pub reference: String,
    pub exposure_after: Yen,
    pub available_after: Yen,
    pub received_at: At,
    pub reversed: Option<crate::state::Reversal>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionView {
    pub suspension: u32,
    pub category: Category,
    pub merchant: Option<u32>,
    pub channel: Option<Channel>,
    pub from: At,
    pub until: Option<At>,
    pub lifted_at: Option<At>,
}

/// A merchant or operator just added (the secret never enters the engine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrant {
    pub index: u32,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Merchant(KeyGrant),
    Operator(KeyGrant),
    Customer(CustomerView),
    Order(OrderView),
    Payment(PaymentView),
    Clock {
        now: At,
    },
    Suspension(SuspensionView),
    Balance(crate::billing::BalanceView),
    Webhook(crate::webhook::EndpointView),
    /// New rules are in force.
    RulesSet,
    Plan(crate::billing::PlanView),
}
