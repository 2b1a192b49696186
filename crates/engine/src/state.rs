//! Engine state: plain data in vectors indexed by dense ids. Everything here
//! is serialized into snapshots and hashed into the digest, so it must be
//! deterministic: no hash-map iteration reaches the serialized form.

use crate::checked::Bounded;
use crate::command::{CustomerProfile, LineItem, Role};
use crate::reason::Reason;
use atobarai_core::{At, Category, Channel, JstDate, PaymentMethod, Product, Yen};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Merchant {
    pub name: String,
    pub key_id: String,
    pub secret_sha256: [u8; 32],
    pub created_at: At,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Operator {
    pub name: String,
    pub role: Role,
    pub key_id: String,
    pub secret_sha256: [u8; 32],
    pub created_at: At,
}

/// Whether a customer may buy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    /// May buy, subject to the credit rules.
    Active,
    /// Every authorization is declined.
    Suspended,
}

impl CustomerStatus {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::Suspended => "suspended",
        }
    }
}

/// A customer and the running totals the credit decision needs in O(1).
///
/// `exposure = held + outstanding − credit`, where `held` is authorized but
/// not captured, `outstanding` is captured − refunded − paid over open
/// orders, and `credit` is money paid beyond what was owed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub merchant: u32,
    pub profile: Box<CustomerProfile>,
    pub payment_method: PaymentMethod,
    /// A change of payment method takes effect from this month's first day.
    pub pending_method: Option<(PaymentMethod, JstDate)>,
    pub status: CustomerStatus,
    pub limit: Yen,
    pub held: Yen,
    pub outstanding: Yen,
    pub credit: Yen,
    /// Held + outstanding on the per-order invoice product.
    pub per_order_exposure: Yen,
    /// Held + outstanding of in-store purchases.
    pub in_store_exposure: Yen,
    /// Online orders whose invoice has been paid in full.
    pub paid_online_orders: u32,
    /// Orders ever approved (approve or review) for this customer.
    pub orders_approved: u32,
    /// Orders with money still owed, ordered by (due date, order index):
    /// payments are allocated from the front.
    pub open_orders: Vec<u32>,
    pub created_at: At,
    /// Fees, invoices, points and dunning; created at the first capture.
    pub billing: Option<Box<crate::billing::CustomerBilling>>,
}

impl Customer {
    /// `held + outstanding − credit`: negative when a credit balance exceeds
    /// everything owed and held.
    pub(crate) fn exposure(&self) -> Yen {
        self.held
            .checked_add(self.outstanding)
            .and_then(|t| t.checked_sub(self.credit))
            .bounded("exposure")
    }

    /// What may still be spent: `min(limit, limit − exposure)`. A credit
    /// balance only offsets what is owed; it never raises spending above
    /// the limit.
    pub(crate) fn available(&self) -> Yen {
        let exposure = self.exposure().max(Yen::ZERO);
        self.limit.checked_sub(exposure).bounded("available")
    }

    /// Put order `oi` among the open orders, keeping them ordered by (due
    /// date, order index): payments are allocated from the front.
    pub(crate) fn open_order(&mut self, orders: &crate::seg::SegVec<Order>, oi: u32) {
        let due = orders[oi as usize].due_date;
        let pos = self
            .open_orders
            .partition_point(|&x| (orders[x as usize].due_date, x) <= (due, oi));
        self.open_orders.insert(pos, oi);
    }
}

/// The answer to an authorization.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Approved: the amount is held against the limit.
    Approve,
    /// Declined, with reasons.
    Decline,
    /// Held for an analyst; the amount is held meanwhile.
    Review,
}

impl Decision {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Decline => "decline",
            Decision::Review => "review",
        }
    }
}

/// Where an order is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Approved; the amount is held against the limit until capture.
    Authorized,
    /// Held for an analyst; the amount is held against the limit.
    InReview,
    /// Declined (by the rules or an analyst); holds nothing.
    Declined,
    /// Shipped and invoiced; owed until paid.
    Captured,
    /// Cancelled before capture; holds nothing.
    Cancelled,
    /// Captured, then refunded in full.
    Refunded,
}

impl OrderStatus {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Authorized => "authorized",
            OrderStatus::InReview => "in_review",
            OrderStatus::Declined => "declined",
            OrderStatus::Captured => "captured",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }

    /// Is the order's amount held against the limit (not yet captured)?
    pub fn holds_limit(self) -> bool {
        matches!(self, OrderStatus::Authorized | OrderStatus::InReview)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Order {
    pub merchant: u32,
    pub customer: u32,
    pub merchant_order_id: Box<str>,
    pub product: Product,
    pub channel: Channel,
    pub status: OrderStatus,
    pub decision: Decision,
    pub reasons: Vec<Reason>,
    pub amount: Yen,
    pub captured: Yen,
    pub refunded: Yen,
    pub paid: Yen,
    pub available_after: Yen,
    pub authorized_at: At,
    pub captured_at: Option<At>,
    pub due_date: Option<JstDate>,
    pub detail: Box<OrderDetail>,
    /// Points granted when this order was paid in full.
    pub points_granted: i64,
    /// Those points were granted at the paid tier's rate.
    pub points_paid_tier: bool,
}

impl Order {
    /// What the customer still owes on this order (never negative).
    pub(crate) fn owed(&self) -> Yen {
        self.refundable()
            .checked_sub(self.paid)
            .bounded("owed")
            .max(Yen::ZERO)
    }

    /// Captured and not refunded (what may still be refunded).
    pub(crate) fn refundable(&self) -> Yen {
        self.captured
            .checked_sub(self.refunded)
            .bounded("refundable")
    }
}

/// What the risk engine reads and people look at, kept out of line so the
/// hot fields of [`Order`] stay compact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrderDetail {
    pub items: Vec<LineItem>,
    pub shipping_address: String,
    pub device_id: String,
    pub ip: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Payment {
    pub customer: u32,
    pub amount: Yen,
    pub channel: String,
    pub reference: String,
    pub at: At,
    /// Part of the amount that settled orders; the rest became credit.
    pub applied: Yen,
    pub exposure_after: Yen,
    pub available_after: Yen,
    /// How the payment was spent (what a reversal puts back).
    pub paid_down: Box<crate::billing::PaidDown>,
    /// Set when the channel returned the payment.
    pub reversed: Option<Box<Reversal>>,
}

/// A returned payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversal {
    /// When the payment was returned.
    pub at: At,
    /// Why, as the payment channel reported it.
    pub reason: String,
    /// Part of the returned money that could not be taken back from the
    /// credit balance (already spent) and is owed again.
    pub shortfall: Yen,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Suspension {
    pub category: Category,
    pub merchant: Option<u32>,
    pub channel: Option<Channel>,
    pub from: At,
    pub until: Option<At>,
    pub created_at: At,
    pub lifted_at: Option<At>,
}

impl Suspension {
    /// Does this suspension stop `category` for `merchant` on `channel` at `at`?
    pub(crate) fn applies(
        &self,
        category: Category,
        merchant: u32,
        channel: Channel,
        at: At,
    ) -> bool {
        self.category == category
            && self.merchant.is_none_or(|m| m == merchant)
            && self.channel.is_none_or(|c| c == channel)
            && at >= self.from
            && self.until.is_none_or(|u| at < u)
            && self.lifted_at.is_none_or(|l| at < l)
    }
}
