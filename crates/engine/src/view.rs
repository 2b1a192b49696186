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

/// A customer as callers see it: limit, exposure and what may be spent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerView {
    /// Dense customer index (public id `cus_…`).
    pub customer: u32,
    /// The merchant's own id for the customer.
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
    /// Whether the customer may buy.
    pub status: CustomerStatus,
    /// The payment method in effect this month.
    pub payment_method: PaymentMethod,
    /// A payment-method change and the day it takes effect.
    pub payment_method_next: Option<(PaymentMethod, JstDate)>,
    /// Authorized, not yet captured.
    pub held: Yen,
    /// Captured, not refunded, not yet paid.
    pub outstanding: Yen,
    /// Money paid beyond what was owed (offsets only what is owed).
    pub credit_balance: Yen,
    /// Held + owed on the per-order invoice product.
    pub per_order_exposure: Yen,
    /// Held + owed of in-store purchases.
    pub in_store_exposure: Yen,
    /// Anything past its due date (order or statement fees).
    pub overdue: bool,
    /// When the customer registered.
    pub created_at: At,
    /// The points tier today, and the last month of a cancelled paid tier.
    pub tier: atobarai_billing::points::Tier,
    /// The last month of a cancelled paid tier, if cancelled.
    pub tier_ends_after: Option<atobarai_billing::schedule::YearMonth>,
}

/// An order as callers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// Dense order index (public id `ord_…`).
    pub order: u32,
    /// Dense index of the customer.
    pub customer: u32,
    /// The merchant's own order id.
    pub merchant_order_id: Box<str>,
    /// Per-order invoice or monthly statement.
    pub product: Product,
    /// Online or in-store.
    pub channel: Channel,
    /// Where the order is in its life.
    pub status: OrderStatus,
    /// The decision at authorization (or the analyst's).
    pub decision: Decision,
    /// The authorized amount.
    pub amount: Yen,
    /// The captured amount (zero before capture).
    pub captured: Yen,
    /// Refunded so far.
    pub refunded: Yen,
    /// Paid so far (payments, credit and points).
    pub paid: Yen,
    /// The customer's available credit right after the decision.
    pub available_after: Yen,
    /// Why: every reason the rules and the risk policy gave.
    pub reasons: Vec<ReasonCode>,
    /// When the invoice is due (set at capture).
    pub due_date: Option<JstDate>,
    /// When the order was authorized.
    pub authorized_at: At,
    /// When it was captured.
    pub captured_at: Option<At>,
    /// The risk rules behind the decision, when a rule set was in force
    /// (`fired` empty when no rule fired). Not serialized: it is derived from the engine's risk
    /// book whenever the view is made, an idempotent replay included.
    #[serde(skip)]
    pub risk: Option<Box<OrderRisk>>,
}

/// A reason as merchants are shown it: a code and its texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownReason<'a> {
    /// The code (a built-in reason or a risk rule's own).
    pub code: &'a str,
    /// The text in Japanese.
    pub text_ja: &'a str,
    /// The text in English.
    pub text_en: &'a str,
}

impl OrderView {
    /// The order's reasons as merchants see them: each built-in code with
    /// its texts, and in place of `risk_rule` the deciding rules' own
    /// reasons (each once, in the order the rules fired); `risk_rule`
    /// stays only when the rules' record is missing.
    pub fn shown_reasons(&self) -> Vec<ShownReason<'_>> {
        let mut out: Vec<ShownReason<'_>> = Vec::with_capacity(self.reasons.len());
        for &r in &self.reasons {
            match self.risk.as_deref() {
                Some(risk) if r == ReasonCode::RiskRule && !risk.reasons.is_empty() => {
                    for rule in &risk.reasons {
                        if !out.iter().any(|x| x.code == rule.code) {
                            out.push(ShownReason {
                                code: &rule.code,
                                text_ja: &rule.text_ja,
                                text_en: &rule.text_en,
                            });
                        }
                    }
                }
                _ => out.push(ShownReason {
                    code: r.code(),
                    text_ja: r.message_ja(),
                    text_en: r.message_en(),
                }),
            }
        }
        out
    }
}

/// A risk rule's reason, with its texts, as the rule set wrote them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleReason {
    /// The reason code (snake_case).
    pub code: String,
    /// The text in Japanese.
    pub text_ja: String,
    /// The text in English.
    pub text_en: String,
}

/// One rule that fired on an order, with the feature values it read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FiredRuleView {
    /// The rule's id.
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// `decline`, `review`, `cap`, `flag` or `approve`.
    pub action: String,
    /// A shadow rule: recorded, never acting.
    pub shadow: bool,
    /// Its reason code.
    pub reason: String,
    /// Feature name and value at decision time, for each feature it read.
    pub features: Vec<(String, crate::risk::book::RecordedValue)>,
}

/// The risk rules behind an order's decision (operators see `fired`;
/// merchants only `reasons`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRisk {
    /// The rule set version that decided.
    pub rule_set: u32,
    /// The deciding rules' reasons, when the rules declined or held the
    /// order (they stand for [`ReasonCode::RiskRule`]).
    pub reasons: Vec<RuleReason>,
    /// Every rule that fired, live then shadow.
    pub fired: Vec<FiredRuleView>,
    /// The scorecards that scored the order, live then shadow.
    pub models: Vec<ModelScoreView>,
}

/// A scorecard's score of an order, with its adverse reasons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelScoreView {
    /// The model's version.
    pub model: u32,
    /// Scored and recorded only.
    pub shadow: bool,
    /// Points (higher is better).
    pub score: i64,
    /// The three attributes that cost the most points, worst first.
    pub reasons: Vec<ModelReason>,
}

/// An adverse reason of a score (as credit bureaus give them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelReason {
    /// The feature.
    pub attribute: String,
    /// The bin the order fell in.
    pub bin: String,
    /// Points below the attribute's best bin.
    pub points_lost: i64,
    /// In Japanese.
    pub text_ja: String,
    /// In English.
    pub text_en: String,
}

/// A rule of a rule set with its hit counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleHitsView {
    /// The rule's id.
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// `decline`, `review`, `cap`, `flag` or `approve`.
    pub action: String,
    /// A shadow rule.
    pub shadow: bool,
    /// Its reason code.
    pub reason: String,
    /// Times it fired live while this set was in force (0 for older sets).
    pub hits_live: u64,
    /// Times it fired in shadow.
    pub hits_shadow: u64,
}

/// A journaled risk rule set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskRulesView {
    /// 1, 2, … in the order they were journaled.
    pub version: u32,
    /// The file's own name.
    pub name: String,
    /// The file's own version.
    pub file_version: u32,
    /// When it was put in force.
    pub at: At,
    /// By whom.
    pub author: String,
    /// SHA-256 of the file.
    pub digest: [u8; 32],
    /// Its rules, in file order.
    pub rules: Vec<RuleHitsView>,
}

/// A received payment as callers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentView {
    /// Dense payment index (public id `pay_…`).
    pub payment: u32,
    /// Dense index of the customer.
    pub customer: u32,
    /// The amount received.
    pub amount: Yen,
    /// Part of the amount that settled orders; the rest is credit balance.
    pub applied: Yen,
    /// The payment channel that reported it.
    pub channel: String,
    /// The channel's reference (unique; a repeat is idempotent).
    pub reference: String,
    /// The customer's exposure right after the payment.
    pub exposure_after: Yen,
    /// What the customer could spend right after the payment.
    pub available_after: Yen,
    /// When the payment was recorded.
    pub received_at: At,
    /// Set when the channel returned the payment.
    pub reversed: Option<crate::state::Reversal>,
}

/// A category suspension (kill switch) as callers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspensionView {
    /// Dense suspension index (public id `sus_…`).
    pub suspension: u32,
    /// The category suspended.
    pub category: Category,
    /// Only this merchant, or every merchant.
    pub merchant: Option<u32>,
    /// Only this channel, or every channel.
    pub channel: Option<Channel>,
    /// In effect from this instant.
    pub from: At,
    /// Until this instant, or until lifted.
    pub until: Option<At>,
    /// When an operator lifted it.
    pub lifted_at: Option<At>,
}

/// A merchant or operator just added (the secret never enters the engine).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGrant {
    /// Dense index of the merchant or operator.
    pub index: u32,
    /// Its display name.
    pub name: String,
}

/// What an applied command produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// A merchant was added.
    Merchant(KeyGrant),
    /// An operator key was added.
    Operator(KeyGrant),
    /// A customer (registered or changed).
    Customer(CustomerView),
    /// An order (authorized, captured, cancelled, refunded, reviewed).
    Order(OrderView),
    /// A payment (recorded or reversed).
    Payment(PaymentView),
    /// The clock moved.
    Clock {
        /// The engine time after the move.
        now: At,
    },
    /// A suspension (added or lifted).
    Suspension(SuspensionView),
    /// A balance (after points were redeemed).
    Balance(crate::billing::BalanceView),
    /// A webhook endpoint (added or removed).
    Webhook(crate::webhook::EndpointView),
    /// New rules are in force.
    RulesSet,
    /// A payment plan (agreed).
    Plan(crate::billing::PlanView),
    /// A risk rule set was put in force.
    RiskRules(RiskRulesView),
    /// A scorecard was loaded.
    ModelLoaded {
        /// Its version (1, 2, …).
        version: u32,
        /// Scored and recorded only.
        shadow: bool,
        /// How many risk features it reads.
        attributes: u32,
    },
    /// An issuer's order captured, with the gift cards it issued.
    GiftCardsIssued {
        /// The order after the capture.
        order: Box<OrderView>,
        /// One per card, in the order of the codes given.
        cards: Vec<crate::engine::IssuedCard>,
    },
    /// A gift card redeemed: the wallet's balance after.
    WalletBalance {
        /// The wallet's id.
        wallet: String,
        /// Its balance.
        balance: Yen,
    },
    /// Gift cards revoked.
    GiftCardsRevoked(Vec<crate::engine::RevokedCard>),
    /// An appeal (filed or decided).
    GiftCardAppeal(Box<crate::engine::AppealView>),
    /// A verification started (the code goes out once this is durable).
    Verification(Box<crate::engine::VerificationView>),
    /// A verification's code checked: right (`verified`) or wrong (one
    /// attempt fewer).
    VerificationChecked {
        /// Index of the verification.
        verification: u64,
        /// The code was right.
        verified: bool,
        /// Wrong codes still allowed.
        attempts_left: u32,
    },
    /// A customer's phone or e-mail changed after a verification.
    ContactChanged {
        /// Index of the customer.
        customer: u64,
        /// Which contact.
        channel: crate::command::ContactKind,
        /// When.
        at: atobarai_core::At,
    },
    /// The terms were put in force.
    TermsSet,
    /// A customer's lifecycle after a change (eKYC, freeze, review).
    Lifecycle(Box<crate::engine::LifecycleView>),
    /// A payment code was issued.
    PaymentCode(crate::engine::IssuedCode),
}
