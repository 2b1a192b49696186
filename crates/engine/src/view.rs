//! What the engine answers: plain values the server renders as JSON. They
//! are also kept in idempotency records (a retry returns the first answer),
//! so they serialize without `skip_serializing_if` (postcard needs every field).

use crate::reason::Reason;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReasonView {
    /// Stable snake_case code, e.g. `limit_exceeded`.
    pub code: String,
    pub message_ja: String,
    pub message_en: String,
}

impl From<Reason> for ReasonView {
    fn from(r: Reason) -> Self {
        ReasonView {
            code: r.code.code().to_string(),
            message_ja: r.code.message_ja().to_string(),
            message_en: r.code.message_en().to_string(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerView {
    pub id: String,
    pub external_id: String,
    /// The one credit limit shared by both products, in yen.
    pub limit: i64,
    /// Held + owed − credit balance, in yen.
    pub exposure: i64,
    /// `limit − exposure`.
    pub available: i64,
    pub status: String,
    pub payment_method: String,
    /// A payment-method change waiting for the next month, if any.
    pub payment_method_next: Option<String>,
    pub payment_method_next_from: Option<String>,
    pub held: i64,
    pub outstanding: i64,
    pub credit_balance: i64,
    pub per_order_exposure: i64,
    pub in_store_exposure: i64,
    pub overdue: bool,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub order_id: String,
    pub merchant_order_id: String,
    pub customer: String,
    pub product: String,
    pub channel: String,
    /// `authorized`, `in_review`, `declined`, `captured`, `cancelled`, `refunded`.
    pub status: String,
    /// `approve`, `decline` or `review`.
    pub decision: String,
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    pub paid: i64,
    /// The customer's available credit right after the decision.
    pub available_after: i64,
    pub reasons: Vec<ReasonView>,
    pub due_date: Option<String>,
    pub authorized_at: String,
    pub captured_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentView {
    pub payment_id: String,
    pub customer: String,
    pub amount: i64,
    /// Part of the amount that settled orders; the rest is credit balance.
    pub applied: i64,
    pub channel: String,
    pub reference: String,
    pub exposure_after: i64,
    pub available_after: i64,
    pub received_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuspensionView {
    pub id: String,
    pub category: String,
    pub merchant: Option<String>,
    pub channel: Option<String>,
    pub from: String,
    pub until: Option<String>,
    pub lifted_at: Option<String>,
}

/// A merchant or operator just added (the secret never enters the engine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyGrant {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    Merchant(KeyGrant),
    Operator(KeyGrant),
    Customer(CustomerView),
    Order(OrderView),
    Payment(PaymentView),
    Clock { now: String },
    Suspension(SuspensionView),
}
