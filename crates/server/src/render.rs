//! JSON renderings of the engine's answers, done on the HTTP threads: ids
//! become `cus_…`/`ord_…`, times RFC 3339 in JST, enums their API spelling,
//! reasons gain their Japanese and English texts.

use atobarai_core::{At, ids};
use atobarai_engine::{CustomerView, OrderView, PaymentView, ReasonCode, SuspensionView, prefix};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Reason {
    /// Stable snake_case code, e.g. `limit_exceeded`.
    pub code: &'static str,
    pub message_ja: &'static str,
    pub message_en: &'static str,
}

impl From<ReasonCode> for Reason {
    fn from(r: ReasonCode) -> Reason {
        Reason {
            code: r.code(),
            message_ja: r.message_ja(),
            message_en: r.message_en(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub external_id: String,
    /// The one credit limit shared by both products, in yen.
    pub limit: i64,
    /// Held + owed − credit balance, in yen.
    pub exposure: i64,
    /// `limit − exposure`.
    pub available: i64,
    /// `active` | `suspended`
    pub status: &'static str,
    pub payment_method: &'static str,
    /// A payment-method change waiting for the next month, if any.
    pub payment_method_next: Option<&'static str>,
    pub payment_method_next_from: Option<String>,
    pub held: i64,
    pub outstanding: i64,
    pub credit_balance: i64,
    pub per_order_exposure: i64,
    pub in_store_exposure: i64,
    pub overdue: bool,
    pub created_at: String,
}

impl From<&CustomerView> for Customer {
    fn from(c: &CustomerView) -> Customer {
        Customer {
            id: ids::encode(prefix::CUSTOMER, u64::from(c.customer)),
            external_id: c.external_id.clone(),
            limit: c.limit.get(),
            exposure: c.exposure.get(),
            available: c.available.get(),
            status: c.status.as_str(),
            payment_method: c.payment_method.as_str(),
            payment_method_next: c.payment_method_next.map(|(m, _)| m.as_str()),
            payment_method_next_from: c.payment_method_next.map(|(_, d)| d.to_string()),
            held: c.held.get(),
            outstanding: c.outstanding.get(),
            credit_balance: c.credit_balance.get(),
            per_order_exposure: c.per_order_exposure.get(),
            in_store_exposure: c.in_store_exposure.get(),
            overdue: c.overdue,
            created_at: c.created_at.to_rfc3339_jst(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Order {
    pub order_id: String,
    pub merchant_order_id: String,
    pub customer: String,
    pub product: &'static str,
    pub channel: &'static str,
    /// `authorized`, `in_review`, `declined`, `captured`, `cancelled`, `refunded`.
    pub status: &'static str,
    /// `approve`, `decline` or `review`.
    pub decision: &'static str,
    pub amount: i64,
    pub captured: i64,
    pub refunded: i64,
    pub paid: i64,
    /// The customer's available credit right after the decision.
    pub available_after: i64,
    pub reasons: Vec<Reason>,
    pub due_date: Option<String>,
    pub authorized_at: String,
    pub captured_at: Option<String>,
}

impl From<&OrderView> for Order {
    fn from(o: &OrderView) -> Order {
        Order {
            order_id: ids::encode(prefix::ORDER, u64::from(o.order)),
            merchant_order_id: o.merchant_order_id.to_string(),
            customer: ids::encode(prefix::CUSTOMER, u64::from(o.customer)),
            product: o.product.as_str(),
            channel: o.channel.as_str(),
            status: o.status.as_str(),
            decision: o.decision.as_str(),
            amount: o.amount.get(),
            captured: o.captured.get(),
            refunded: o.refunded.get(),
            paid: o.paid.get(),
            available_after: o.available_after.get(),
            reasons: o.reasons.iter().map(|&r| Reason::from(r)).collect(),
            due_date: o.due_date.map(|d| d.to_string()),
            authorized_at: o.authorized_at.to_rfc3339_jst(),
            captured_at: o.captured_at.map(At::to_rfc3339_jst),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Payment {
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

impl From<&PaymentView> for Payment {
    fn from(p: &PaymentView) -> Payment {
        Payment {
            payment_id: ids::encode(prefix::PAYMENT, u64::from(p.payment)),
            customer: ids::encode(prefix::CUSTOMER, u64::from(p.customer)),
            amount: p.amount.get(),
            applied: p.applied.get(),
            channel: p.channel.clone(),
            reference: p.reference.clone(),
            exposure_after: p.exposure_after.get(),
            available_after: p.available_after.get(),
            received_at: p.received_at.to_rfc3339_jst(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Suspension {
    pub id: String,
    pub category: &'static str,
    pub merchant: Option<String>,
    pub channel: Option<&'static str>,
    pub from: String,
    pub until: Option<String>,
    pub lifted_at: Option<String>,
}

impl From<&SuspensionView> for Suspension {
    fn from(s: &SuspensionView) -> Suspension {
        Suspension {
            id: ids::encode(prefix::SUSPENSION, u64::from(s.suspension)),
            category: s.category.as_str(),
            merchant: s
                .merchant
                .map(|m| ids::encode(prefix::MERCHANT, u64::from(m))),
            channel: s.channel.map(|c| c.as_str()),
            from: s.from.to_rfc3339_jst(),
            until: s.until.map(At::to_rfc3339_jst),
            lifted_at: s.lifted_at.map(At::to_rfc3339_jst),
        }
    }
}
