//! JSON renderings of the engine's answers, done on the HTTP threads: ids
//! become `cus_…`/`ord_…`, times RFC 3339 in JST, enums their API spelling,
//! reasons gain their Japanese and English texts.

use atobarai_core::{At, ids};
use atobarai_engine::risk::book::RecordedValue;
use atobarai_engine::{
    CustomerView, OrderRisk, OrderView, PaymentView, Principal, ReasonCode, Role, SuspensionView,
    prefix,
};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Why a decision came out as it did: one of the engine's stable codes, or
/// the reason a risk rule set gives (its own code and texts).
#[derive(Debug, Serialize, ToSchema)]
pub struct Reason {
    /// Stable snake_case code, e.g. `limit_exceeded`; for a decision of the
    /// risk rules, the deciding rule's reason code (e.g.
    /// `cash_equivalent_only_cart`).
    #[schema(value_type = String)]
    pub code: Cow<'static, str>,
    #[schema(value_type = String)]
    pub message_ja: Cow<'static, str>,
    #[schema(value_type = String)]
    pub message_en: Cow<'static, str>,
}

impl From<ReasonCode> for Reason {
    fn from(r: ReasonCode) -> Reason {
        Reason {
            code: Cow::Borrowed(r.code()),
            message_ja: Cow::Borrowed(r.message_ja()),
            message_en: Cow::Borrowed(r.message_en()),
        }
    }
}

/// An order's reasons as callers see them: `risk_rule` stands for the
/// reasons of the rules that declined or held the order, so it is replaced
/// by those (each rule reason once, in the order the rules fired); it stays
/// only when the rules' record is missing.
fn reasons(o: &OrderView) -> Vec<Reason> {
    o.shown_reasons()
        .into_iter()
        .map(|r| Reason {
            code: Cow::Owned(r.code.to_owned()),
            message_ja: Cow::Owned(r.text_ja.to_owned()),
            message_en: Cow::Owned(r.text_en.to_owned()),
        })
        .collect()
}

/// A feature value a rule read: an integer, a truth value or a text.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum FeatureValue {
    Int(i64),
    Bool(bool),
    Str(String),
}

impl From<&RecordedValue> for FeatureValue {
    fn from(v: &RecordedValue) -> FeatureValue {
        match v {
            RecordedValue::Int(i) => FeatureValue::Int(*i),
            RecordedValue::Bool(b) => FeatureValue::Bool(*b),
            RecordedValue::Str(s) => FeatureValue::Str(s.to_string()),
        }
    }
}

/// A risk rule that fired on an order (operators only).
#[derive(Debug, Serialize, ToSchema)]
pub struct FiredRule {
    /// The version of the rule set that decided the order (as
    /// `GET /v1/admin/rules/{version}` shows it).
    pub rule_set: u32,
    /// The rule's id in its set.
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// `decline`, `review`, `cap`, `flag` or `approve`.
    pub action: String,
    /// A shadow rule: recorded, never acting on the order.
    pub shadow: bool,
    /// The rule's reason code.
    pub reason: String,
    /// The value of every feature the rule's condition reads, at decision
    /// time, by feature name.
    pub features: BTreeMap<String, FeatureValue>,
}

/// Every rule that fired on the order, live then shadow (empty when no rule
/// set decided it, or none fired).
fn fired_rules(risk: Option<&OrderRisk>) -> Vec<FiredRule> {
    let Some(risk) = risk else {
        return Vec::new();
    };
    risk.fired
        .iter()
        .map(|f| FiredRule {
            rule_set: risk.rule_set,
            id: f.id.clone(),
            version: f.version,
            action: f.action.clone(),
            shadow: f.shadow,
            reason: f.reason.clone(),
            features: f
                .features
                .iter()
                .map(|(name, v)| (name.clone(), FeatureValue::from(v)))
                .collect(),
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub external_id: String,
    /// The one credit limit shared by both products, in yen.
    pub limit: i64,
    /// Held + owed − credit balance, in yen.
    pub exposure: i64,
    /// What a decision lets the customer spend now, never above `limit`:
    /// the identity cluster's figure when the account is linked to others.
    pub available: i64,
    /// `account` | `identity_cluster`: what `available` is computed over.
    pub available_scope: &'static str,
    /// `min(limit, limit − exposure)` of this account alone.
    pub account_available: i64,
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
    /// `standard` (points 0.5 %) or `paid` (¥300 a month, points 1.5 %).
    pub tier: &'static str,
    /// `YYYY-MM`: the last month of a cancelled paid tier.
    pub tier_ends_after: Option<String>,
    /// Why the limit is where it is, when the behaviour score moved it
    /// (`GET /v1/customers/{id}` only): the event that crossed the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub limit_reason: Option<LimitReason>,
    /// The phone was proved by an SMS code at sign-up (`GET` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_verified: Option<bool>,
    /// Identity verification: `none` | `pending` | `verified` | `rejected`
    /// (`GET` only; details at `/v1/customers/{id}/lifecycle`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ekyc_status: Option<&'static str>,
    /// The customer froze their account (`GET` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frozen: Option<bool>,
    /// Operators only (`GET /v1/customers/{id}`): the behaviour score.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub score: Option<ScoreJson>,
}

/// The event that moved a limit, with its texts.
#[derive(Debug, Serialize, ToSchema)]
pub struct LimitReason {
    /// `paid_on_time`, `steady_month`, `liquid_heavy_order`,
    /// `account_linked`, `paid_late`, `payment_reversed`, `became_overdue`.
    pub code: &'static str,
    pub message_ja: &'static str,
    pub message_en: &'static str,
}

impl From<atobarai_engine::score::ScoreEvent> for LimitReason {
    fn from(e: atobarai_engine::score::ScoreEvent) -> LimitReason {
        LimitReason {
            code: e.as_str(),
            message_ja: e.text_ja(),
            message_en: e.text_en(),
        }
    }
}

/// A behaviour score (0–1,000) and its last moves.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreJson {
    /// The account's own score.
    pub account: u16,
    /// The person's: the lowest of the identity cluster's accounts.
    pub person: u16,
    /// Oldest first.
    pub moves: Vec<ScoreMoveJson>,
}

/// One move of a behaviour score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreMoveJson {
    pub at: String,
    /// The event's code (see [`LimitReason::code`]).
    pub event: &'static str,
    pub score_after: u16,
}

impl Customer {
    /// Add what the behaviour score says: the limit's reason for everyone,
    /// the score itself for operators.
    /// The lifecycle's headline facts.
    pub fn with_lifecycle(mut self, l: &atobarai_engine::LifecycleView) -> Customer {
        self.phone_verified = Some(l.phone_verified);
        self.ekyc_status = Some(l.ekyc.as_ref().map_or("none", |e| e.result.status.as_str()));
        self.frozen = Some(l.frozen.is_some());
        self
    }

    pub fn with_score(mut self, s: &atobarai_engine::ScoreView, principal: Principal) -> Customer {
        self.limit_reason = s.limit_reason.map(LimitReason::from);
        if matches!(principal, Principal::Operator(..)) {
            self.score = Some(ScoreJson {
                account: s.account,
                person: s.person,
                moves: s
                    .moves
                    .iter()
                    .map(|m| ScoreMoveJson {
                        at: m.at.to_rfc3339_jst(),
                        event: m.event.as_str(),
                        score_after: m.score_after,
                    })
                    .collect(),
            });
        }
        self
    }
}

impl From<&CustomerView> for Customer {
    fn from(c: &CustomerView) -> Customer {
        Customer {
            id: ids::encode(prefix::CUSTOMER, u64::from(c.customer)),
            external_id: c.external_id.clone(),
            limit: c.limit.get(),
            exposure: c.exposure.get(),
            available: c.available.get(),
            available_scope: c.available_scope.as_str(),
            account_available: c.account_available.get(),
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
            tier: match c.tier {
                atobarai_engine::billing::Tier::Standard => "standard",
                atobarai_engine::billing::Tier::Paid => "paid",
            },
            tier_ends_after: c.tier_ends_after.map(|m| m.to_string()),
            limit_reason: None,
            score: None,
            phone_verified: None,
            ekyc_status: None,
            frozen: None,
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
    /// Operators only (admin and analyst keys; never shown to merchants):
    /// the risk rules that fired on the decision, live then shadow, each
    /// with the rule set version that decided and the feature values it
    /// read. Empty when no rule fired or no rule set decided the order.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rules: Option<Vec<FiredRule>>,
    /// Operators only: the version of the risk rule set in force when the
    /// order was decided (absent when the built-in policy decided it), so
    /// every decision names the set it used even when no rule fired.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub rule_set: Option<u32>,
    /// Operators only: the credit scorecards that scored the order (live,
    /// then shadow), each with its three largest adverse reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub models: Option<Vec<ModelScoreJson>>,
}

/// A scorecard's score of an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelScoreJson {
    /// The model's version (`GET /v1/admin/models`).
    pub model: u32,
    /// `live` or `shadow`.
    pub mode: &'static str,
    /// Points, higher is better.
    pub score: i64,
    /// Worst first, at most three.
    pub reasons: Vec<ModelReasonJson>,
}

/// An adverse reason of a score.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModelReasonJson {
    /// The risk feature.
    pub attribute: String,
    /// The bin the order fell in.
    pub bin: String,
    /// Points below the feature's best bin.
    pub points_lost: i64,
    pub message_ja: String,
    pub message_en: String,
}

impl Order {
    /// The order as `principal` may see it: operators also see the rules
    /// that fired ([`Order::rules`]); merchants never do.
    pub fn for_principal(o: &OrderView, principal: Principal) -> Order {
        let mut order = Order::from(o);
        if matches!(
            principal,
            Principal::Operator(_, Role::Admin | Role::Analyst)
        ) {
            order.rules = Some(fired_rules(o.risk.as_deref()));
            order.rule_set = o.risk.as_ref().map(|r| r.rule_set).filter(|&v| v > 0);
            order.models = Some(
                o.risk
                    .as_deref()
                    .map(|r| {
                        r.models
                            .iter()
                            .map(|m| ModelScoreJson {
                                model: m.model,
                                mode: if m.shadow { "shadow" } else { "live" },
                                score: m.score,
                                reasons: m
                                    .reasons
                                    .iter()
                                    .map(|x| ModelReasonJson {
                                        attribute: x.attribute.clone(),
                                        bin: x.bin.clone(),
                                        points_lost: x.points_lost,
                                        message_ja: x.text_ja.clone(),
                                        message_en: x.text_en.clone(),
                                    })
                                    .collect(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            );
        }
        order
    }
}

/// The order as a merchant sees it (no `rules`): see [`Order::for_principal`].
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
            reasons: reasons(o),
            due_date: o.due_date.map(|d| d.to_string()),
            authorized_at: o.authorized_at.to_rfc3339_jst(),
            captured_at: o.captured_at.map(At::to_rfc3339_jst),
            rules: None,
            rule_set: None,
            models: None,
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
    /// Set when the payment channel returned the payment.
    pub reversed: Option<PaymentReversal>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentReversal {
    pub reversed_at: String,
    pub reason: String,
    /// Part that could not be taken back from the credit balance (already
    /// spent) and is owed again.
    pub shortfall: i64,
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
            reversed: p.reversed.as_ref().map(|r| PaymentReversal {
                reversed_at: r.at.to_rfc3339_jst(),
                reason: r.reason.clone(),
                shortfall: r.shortfall.get(),
            }),
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

#[derive(Debug, Serialize, ToSchema)]
pub struct DunningEventJson {
    /// `reminder`, `phone_call`, `suspension`, `payment_plan_offer`.
    pub action: String,
    pub on: String,
    pub days_overdue: i32,
}

/// What a customer owes (`API.md` balance), in yen.
#[derive(Debug, Serialize, ToSchema)]
pub struct Balance {
    /// Captured, not refunded, not yet paid.
    pub principal: i64,
    /// Statement payment fees (¥209 per convenience-store or paper
    /// statement) and paid-tier membership fees (¥300 a month).
    pub fees: i64,
    /// ¥100 on each 10th and 25th from the month after the first missed due date.
    pub late_fees: i64,
    /// 14.6 % a year on overdue principal, accrued daily (see billing docs).
    pub delay_damages: i64,
    /// Owed again because a returned payment had left a credit balance that
    /// was already spent (paid first, with the fees).
    pub returned_payments: i64,
    /// Points usable today.
    pub points: i64,
    pub total: i64,
    pub overdue: bool,
    /// Paid beyond what was owed; used on the next invoice.
    pub credit_balance: i64,
    /// Dunning steps taken so far (most recent last).
    pub dunning: Vec<DunningEventJson>,
}

impl From<&atobarai_engine::billing::DunningEvent> for DunningEventJson {
    fn from(e: &atobarai_engine::billing::DunningEvent) -> DunningEventJson {
        DunningEventJson {
            action: serde_json::to_value(e.action)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            on: e.on.to_string(),
            days_overdue: e.days_overdue,
        }
    }
}

impl From<&atobarai_engine::billing::BalanceView> for Balance {
    fn from(b: &atobarai_engine::billing::BalanceView) -> Balance {
        Balance {
            principal: b.principal.get(),
            fees: b.fees.get(),
            late_fees: b.late_fees.get(),
            delay_damages: b.delay_damages.get(),
            returned_payments: b.returned_payments.get(),
            points: b.points,
            total: b.total.get(),
            overdue: b.overdue,
            credit_balance: b.credit_balance.get(),
            dunning: b.dunning.iter().map(DunningEventJson::from).collect(),
        }
    }
}

/// A per-order invoice or a monthly statement.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceJson {
    pub number: String,
    pub customer: String,
    /// `per_order` | `monthly`
    pub product: &'static str,
    pub order: Option<String>,
    /// Purchase month of a statement, `YYYY-MM`.
    pub month: Option<String>,
    pub issued_on: String,
    pub due_on: String,
    pub payment_method: &'static str,
    pub purchases: i64,
    /// Statement payment fee (¥209 convenience store / paper bill).
    pub fee: i64,
    /// The paid tier's monthly fee.
    pub membership_fee: i64,
    /// As issued: purchases + fee + membership fee.
    pub total: i64,
    pub orders: u32,
    /// Refunds after issue, each a credit note against this invoice.
    pub credit_notes: Vec<CreditNoteJson>,
    /// The re-issued amount: `total` less every credit note.
    pub total_after_credit_notes: i64,
}

/// A credit note: part of an issued invoice taken back by a refund.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditNoteJson {
    pub number: String,
    /// The invoice or statement it corrects.
    pub invoice: String,
    pub order: String,
    pub issued_on: String,
    pub amount: i64,
    /// The invoice's purchases after this and every earlier credit note.
    pub purchases_after: i64,
}

impl From<&atobarai_engine::billing::CreditNote> for CreditNoteJson {
    fn from(n: &atobarai_engine::billing::CreditNote) -> CreditNoteJson {
        CreditNoteJson {
            number: n.number.clone(),
            invoice: n.invoice.clone(),
            order: ids::encode(prefix::ORDER, u64::from(n.order)),
            issued_on: n.issued_on.to_string(),
            amount: n.amount.get(),
            purchases_after: n.amount_after.get(),
        }
    }
}

impl InvoiceJson {
    pub fn new(
        customer: u32,
        i: &atobarai_engine::billing::Invoice,
        notes: &[atobarai_engine::billing::CreditNote],
    ) -> InvoiceJson {
        // Each amount is bounded by the engine (an invoice never totals
        // more than a few limits); saturating keeps this display path free
        // of any overflow all the same.
        let total = i
            .purchases
            .get()
            .saturating_add(i.fee.get())
            .saturating_add(i.membership_fee.get());
        let credit_notes: Vec<CreditNoteJson> = notes
            .iter()
            .filter(|n| n.invoice == i.number)
            .map(CreditNoteJson::from)
            .collect();
        let credited = credit_notes
            .iter()
            .fold(0i64, |sum, n| sum.saturating_add(n.amount));
        InvoiceJson {
            number: i.number.clone(),
            customer: ids::encode(prefix::CUSTOMER, u64::from(customer)),
            product: i.product.as_str(),
            order: i.order.map(|o| ids::encode(prefix::ORDER, u64::from(o))),
            month: i.month.map(|m| m.to_string()),
            issued_on: i.issued_on.to_string(),
            due_on: i.due_on.to_string(),
            payment_method: i.method.as_str(),
            purchases: i.purchases.get(),
            fee: i.fee.get(),
            membership_fee: i.membership_fee.get(),
            total,
            orders: i.orders,
            total_after_credit_notes: total.saturating_sub(credited),
            credit_notes,
        }
    }
}
