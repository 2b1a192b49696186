//! The state machine: [`Engine::apply`] runs one command, [`Engine`]'s query
//! methods read state, [`Engine::digest`] fingerprints it and
//! [`Engine::snapshot`] / [`Engine::restore`] move it to and from bytes.

mod access;
mod authorize;
mod backtest;
mod close;
mod console;
mod dataset;
mod documents;
mod features;
mod gift_cards;
mod invariants;
mod ledger;
mod lifecycle;
mod membership;
mod orders;
mod payments;
mod plans;
mod points;
mod products;
mod registry;
mod reversal;
mod review;
mod risk_model;
mod risk_rules;
mod score;
mod settlement;
mod snapshot;
mod suspensions;
mod tick;
mod velocity;
mod verifications;
mod views;

pub use backtest::{BacktestResult, CHANGED_ROWS_MAX, ChangedDecision, decision_index};
pub use console::{PAGE_LIMIT_MAX, Page};
pub use dataset::{
    DatasetOptions, DatasetRecorder, DatasetRow, FeatureTap, OrderOutcome, write_dataset,
};
pub use documents::{DocumentOrder, DocumentSource};
pub use gift_cards::{
    APPEALS_PAGE_MAX, AppealDecision, AppealView, CARDS_PER_REVOCATION_MAX, CODES_PER_CAPTURE_MAX,
    CardEvent, CardEventKind, ClusterRevocationPreview, EVIDENCE_CHARS_MAX, GiftCardState,
    GiftCardView, IssuedCard, RevokedCard, WALLET_ID_CHARS_MAX, WalletEntry, WalletEntryKind,
    WalletView,
};
pub use lifecycle::{
    CustomerLife, EkycRecord, Freeze, IssuedCode, LIFECYCLE_TEXT_CHARS_MAX, LifecycleView,
    SignUpReview, Trouble, TroubleEvidence,
};
pub use risk_model::{
    DriftNow, LoadedModelInfo, MODEL_SOURCE_MAX, MODELS_MAX, ModelDrift, ModelEntryView, load_model,
};
pub use score::ScoreView;
pub use settlement::{PartnerSettlement, SettlementLine};
use tick::check_time;
pub use verifications::{
    CONTACT_NEVER_CHANGED_DAYS, ContactChange, USE_WINDOW_SECS, VerificationView,
};

use crate::command::{Command, Envelope};
use crate::error::CommandError;
use crate::idem::{IdemTable, Lookup};
use crate::identity::IdentityState;
use crate::risk::{BaselinePolicy, RiskPolicy};
use crate::seg::SegVec;
use crate::shard::ShardedMap;
use crate::state::{Customer, Merchant, Operator, Order, Payment, Suspension};
use crate::view::Outcome;
use atobarai_core::{At, Config, JstDate};
use atobarai_ledger::YenLedger;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

const MS_PER_HOUR: i64 = 3_600_000;

/// Everything that is the engine's state. Serialized as is into snapshots
/// and the digest.
#[derive(Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) now: At,
    pub(crate) applied: u64,
    pub(crate) merchants: Vec<Merchant>,
    pub(crate) operators: Vec<Operator>,
    pub(crate) customers: SegVec<Customer>,
    pub(crate) orders: SegVec<Order>,
    pub(crate) payments: SegVec<Payment>,
    pub(crate) suspensions: Vec<Suspension>,
    pub(crate) idem: IdemTable,
    /// Ledger entries refused (a bug if ever non-zero; see check_invariants).
    pub(crate) ledger_errors: u64,
    /// The double-entry book every money event posts to.
    pub(crate) ledger: YenLedger,
    /// The last JST day whose time-driven billing work is done.
    pub(crate) billed_through: Option<JstDate>,
    /// The identity graph: customer `i` is account `i`.
    pub(crate) identity: IdentityState,
    /// Webhook endpoints and the events waiting for them.
    pub(crate) webhooks: crate::webhook::WebhookState,
    /// The rules last journaled (`SetRules`); a restored snapshot uses
    /// these, not the configuration file.
    pub(crate) rules: Option<Box<atobarai_core::config::Rules>>,
    /// Risk rule sets and decision records.
    pub(crate) risk: crate::risk::book::RiskBook,
    /// Behaviour scores. The snapshot upgrade from version 3 appends the
    /// empty encodings of `risk` and `scores`: keep them the LAST fields.
    pub(crate) scores: crate::score::ScoreBook,
    /// Sealed and erased personal data (snapshot version 5 appended it).
    pub(crate) pii: crate::pii::PiiBook,
    /// Gift cards, wallets and appeals (snapshot version 6 appended it).
    pub(crate) gift_cards: gift_cards::GiftCardBook,
    /// The customer lifecycle (snapshot version 7 appended it).
    pub(crate) lifecycle: lifecycle::LifecycleBook,
    /// What billing documents need beyond the orders: the tax rates
    /// merchants stated per line (snapshot version 8 appended it: keep it
    /// last, see `format::snapshot`).
    pub(crate) documents: documents::DocumentBook,
}

impl Engine {
    /// Customer `ci`'s orders, newest first (the console's threaded list).
    pub(crate) fn orders_of_customer(&self, ci: u32) -> impl Iterator<Item = u32> + '_ {
        let mut cur = self
            .idx
            .last_of_customer
            .get(ci as usize)
            .copied()
            .unwrap_or(NO_ORDER);
        std::iter::from_fn(move || {
            if cur == NO_ORDER {
                return None;
            }
            let oi = cur;
            cur = self
                .idx
                .prev_of_customer
                .get(cur as usize)
                .copied()
                .unwrap_or(NO_ORDER);
            Some(oi)
        })
    }
}

/// Lookup tables derived from [`State`]; rebuilt after a restore.
#[derive(Default)]
pub(crate) struct Indexes {
    customer_by_external: ShardedMap<(u32, Box<str>), u32>,
    payment_by_reference: ShardedMap<Box<str>, u32>,
    merchant_by_key: FxHashMap<String, u32>,
    operator_by_key: FxHashMap<String, u32>,
    /// Orders held for review, by order index (= oldest first).
    in_review: std::collections::BTreeSet<u32>,
    /// The console's order lists, threaded through the orders themselves
    /// (no allocation per order; one `u32` per order and list): per order,
    /// the previous order of the same customer …
    prev_of_customer: SegVec<u32>,
    /// … and the previous order with the same merchant and merchant order
    /// id hash ([`NO_ORDER`] ends a list).
    prev_same_merchant_id: SegVec<u32>,
    /// Per customer: the newest order.
    last_of_customer: SegVec<u32>,
    /// Per (merchant, hash of the merchant's order id): the newest order.
    /// Two ids with one hash share a list; readers compare the ids.
    last_by_merchant_id: ShardedMap<(u32, u64), u32>,
    /// Per customer: when the last payment arrived (unix ms; `i64::MIN`
    /// for never), for the pay-then-rebuy feature.
    last_payment_ms: SegVec<i64>,
    /// Order velocities per device, IP network and merchant.
    pub(crate) velocity: velocity::Velocity,
    /// Gift cards by code hash, order and buyer; wallets by id.
    pub(crate) gift_cards: gift_cards::GiftCardIndex,
    /// Payment codes by hash.
    pub(crate) lifecycle: lifecycle::LifecycleIndex,
}

impl Indexes {
    /// Index a new order (called where orders are appended and on rebuild,
    /// in order-index order).
    fn add_order(&mut self, oi: u32, o: &crate::state::Order) {
        if o.status == crate::state::OrderStatus::InReview {
            self.in_review.insert(oi);
        }
        debug_assert_eq!(self.prev_of_customer.len(), oi as usize);
        let ci = o.customer as usize;
        while self.last_of_customer.len() <= ci {
            self.last_of_customer.push(NO_ORDER);
        }
        let prev = std::mem::replace(&mut self.last_of_customer[ci], oi);
        self.prev_of_customer.push(prev);
        let liquid = o
            .detail
            .items
            .iter()
            .any(|i| i.category.liquidity() != atobarai_core::LiquidityClass::Ordinary);
        self.velocity.add(
            o.merchant,
            o.customer,
            &o.detail.device_id,
            &o.detail.ip,
            o.authorized_at.unix_ms(),
            liquid,
        );
        let prev = self
            .last_by_merchant_id
            .insert((o.merchant, merchant_id_hash(&o.merchant_order_id)), oi)
            .unwrap_or(NO_ORDER);
        self.prev_same_merchant_id.push(prev);
    }
}

impl Indexes {
    /// Note a payment from customer `ci` at `at_ms` (payments are applied
    /// in time order, so the last one noted is the latest).
    fn add_payment(&mut self, ci: u32, at_ms: i64) {
        let ci = ci as usize;
        while self.last_payment_ms.len() <= ci {
            self.last_payment_ms.push(i64::MIN);
        }
        self.last_payment_ms[ci] = at_ms;
    }

    /// When customer `ci` last paid (unix ms), if ever.
    pub(crate) fn last_payment_ms(&self, ci: u32) -> Option<i64> {
        self.last_payment_ms
            .get(ci as usize)
            .copied()
            .filter(|&t| t != i64::MIN)
    }
}

/// Ends an order list in [`Indexes`].
pub(crate) const NO_ORDER: u32 = u32::MAX;

/// The hash a merchant order id is listed under (not a security boundary:
/// lists compare the ids themselves).
pub(crate) fn merchant_id_hash(id: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    id.hash(&mut h);
    h.finish()
}

/// The deterministic state machine: state, configuration and risk policy.
pub struct Engine {
    pub(crate) config: Config,
    pub(crate) policy: Box<dyn RiskPolicy>,
    pub(crate) state: State,
    pub(crate) idx: Indexes,
    /// The compiled risk rule sets (derived from `state.risk`).
    pub(crate) risk: risk_rules::RiskRuntime,
    /// A trial rule set evaluated beside the live decisions (backtest).
    pub(crate) backtest: Option<Box<backtest::Backtest>>,
    /// Sees every feature vector as it is decided (dataset building).
    pub(crate) tap: Option<dataset::FeatureTap>,
    /// The loaded scorecards (derived from `state.risk.models`).
    pub(crate) models: risk_model::ModelRuntime,
}

/// The result of applying one envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// What the command produced (shown to the caller).
    pub outcome: Outcome,
    /// False when nothing changed (an idempotent replay, a known payment
    /// reference): such an envelope need not be journaled.
    pub changed: bool,
}

/// Counts for dashboards and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Commands that changed state (the journal position).
    pub applied: u64,
    /// Merchants registered.
    pub merchants: usize,
    /// Operator keys registered.
    pub operators: usize,
    /// Customers registered.
    pub customers: usize,
    /// Orders ever authorized (any decision).
    pub orders: usize,
    /// Payments recorded.
    pub payments: usize,
    /// Idempotency records kept.
    pub idempotency_records: usize,
}

impl Engine {
    /// An empty engine with the baseline risk policy.
    pub fn new(config: Config) -> Engine {
        Engine::with_policy(config, Box::new(BaselinePolicy))
    }

    /// An empty engine with `policy` deciding what the credit rules let through.
    pub fn with_policy(config: Config, policy: Box<dyn RiskPolicy>) -> Engine {
        Engine {
            config,
            policy,
            state: State::default(),
            idx: Indexes::default(),
            risk: risk_rules::RiskRuntime::default(),
            backtest: None,
            tap: None,
            models: risk_model::ModelRuntime::default(),
        }
    }

    /// The configuration in force (rules as last journaled).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Have these rules been journaled, and are they the ones in force?
    pub fn rules_journaled(&self, rules: &atobarai_core::config::Rules) -> bool {
        self.state.rules.as_deref() == Some(rules)
    }

    /// The engine's clock: the latest time any command carried.
    pub fn now(&self) -> At {
        self.state.now
    }

    /// Number of commands that changed state so far (the journal position).
    pub fn applied(&self) -> u64 {
        self.state.applied
    }

    /// Counts for dashboards and metrics.
    pub fn stats(&self) -> EngineStats {
        EngineStats {
            applied: self.state.applied,
            merchants: self.state.merchants.len(),
            operators: self.state.operators.len(),
            customers: self.state.customers.len(),
            orders: self.state.orders.len(),
            payments: self.state.payments.len(),
            idempotency_records: self.state.idem.len(),
        }
    }

    // ----- applying commands ---------------------------------------------

    /// Apply one command. On `Err`, state is exactly as before.
    pub fn apply(&mut self, env: &Envelope) -> Result<Applied, CommandError> {
        let at = env.at.max(self.state.now);
        if let Some(idem) = &env.idem {
            match self.state.idem.lookup(idem) {
                Lookup::Same(outcome) => {
                    let mut outcome = outcome.clone();
                    // The rules behind an order are not kept in the record:
                    // read them from the risk book again.
                    if let Outcome::Order(o) = &mut outcome {
                        o.risk = self.order_risk(o.order);
                    }
                    return Ok(Applied {
                        outcome,
                        changed: false,
                    });
                }
                Lookup::Reused => {
                    return Err(CommandError::conflict(
                        "idempotency_key_reused",
                        "this Idempotency-Key was used with a different request",
                    )
                    .field("Idempotency-Key"));
                }
                Lookup::Miss => {}
            }
        }
        // Time-driven billing up to this command's day (the node journals an
        // explicit clock command first whenever the day changes).
        check_time(at)?;
        self.catch_up(at);
        let (outcome, changed) = self.dispatch(at, &env.command)?;
        if changed || env.idem.is_some() {
            self.state.now = self.state.now.max(at);
            self.state.applied = self.state.applied.saturating_add(1);
            if let Some(idem) = &env.idem {
                self.state.idem.insert(idem, at, outcome.clone());
            }
            let retention = self
                .config
                .limits
                .idempotency_retention_hours
                .saturating_mul(MS_PER_HOUR);
            self.state
                .idem
                .expire_before(at.plus_ms(retention.saturating_neg()));
        }
        Ok(Applied {
            outcome,
            changed: changed || env.idem.is_some(),
        })
    }

    fn dispatch(&mut self, at: At, command: &Command) -> Result<(Outcome, bool), CommandError> {
        match command {
            Command::AddMerchant {
                name,
                key_id,
                secret_sha256,
            } => self
                .add_merchant(at, name, key_id, *secret_sha256)
                .map(changed),
            Command::AddOperator {
                name,
                role,
                key_id,
                secret_sha256,
            } => self
                .add_operator(at, name, *role, key_id, *secret_sha256)
                .map(changed),
            Command::RegisterCustomer {
                merchant,
                profile,
                payment_method,
                identity,
            } => self
                .register_customer(at, *merchant, profile, *payment_method, identity)
                .map(changed),
            Command::RegisterSealedCustomer {
                merchant,
                profile,
                payment_method,
                identity,
            } => self
                .register_sealed_customer(at, *merchant, profile, *payment_method, identity)
                .map(changed),
            Command::EraseCustomerPii {
                principal,
                customer,
            } => self.erase_customer_pii(at, *principal, *customer),
            Command::Authorize {
                merchant,
                input,
                session,
            } => self.authorize(at, *merchant, input, session).map(changed),
            Command::Capture {
                principal,
                order,
                amount,
            } => {
                self.check_plain_capture(*principal, *order)?;
                self.capture(at, *principal, *order, *amount).map(changed)
            }
            Command::Cancel { principal, order } => self.cancel(*principal, *order).map(changed),
            Command::Refund {
                principal,
                order,
                amount,
            } => self.refund(at, *principal, *order, *amount).map(changed),
            Command::RecordPayment { principal, input } => {
                self.record_payment(at, *principal, input)
            }
            Command::SetPaymentMethod {
                principal,
                customer,
                payment_method,
            } => self
                .set_payment_method(at, *principal, *customer, *payment_method)
                .map(changed),
            Command::AdvanceClock { to } => self.advance_clock(*to).map(changed),
            Command::AddSuspension { input } => self.add_suspension(at, input).map(changed),
            Command::LiftSuspension { suspension } => {
                self.lift_suspension(at, *suspension).map(changed)
            }
            Command::RedeemPoints {
                principal,
                customer,
                points,
            } => self
                .redeem_points(at, *principal, *customer, *points)
                .map(changed),
            Command::ResolveReview { order, verdict } => {
                self.resolve_review(*order, *verdict).map(changed)
            }
            Command::ReversePayment {
                principal,
                payment,
                reason,
            } => self
                .reverse_payment(at, *principal, *payment, reason)
                .map(changed),
            Command::SetMembership {
                principal,
                customer,
                paid,
            } => self
                .set_membership(at, *principal, *customer, *paid)
                .map(changed),
            Command::AgreePaymentPlan {
                principal,
                customer,
                instalments,
            } => self
                .agree_payment_plan(at, *principal, *customer, *instalments)
                .map(changed),
            Command::AddWebhookEndpoint {
                url,
                key_nonce,
                events,
            } => self
                .add_webhook_endpoint(at, url, *key_nonce, events)
                .map(changed),
            Command::RemoveWebhookEndpoint { endpoint } => {
                self.remove_webhook_endpoint(at, *endpoint).map(changed)
            }
            Command::WebhooksDelivered {
                endpoint,
                through,
                failed,
            } => self
                .webhooks_delivered(*endpoint, *through, failed)
                .map(changed),
            Command::SetRules { rules } => {
                // The splits a lowered threshold causes need no bookkeeping
                // here: cluster credit is summed from the members at
                // decision time.
                let _splits = self
                    .state
                    .identity
                    .set_hub_thresholds(&rules.hub_threshold, at);
                self.config.set_rules((**rules).clone());
                self.state.rules = Some(rules.clone());
                Ok((Outcome::RulesSet, true))
            }
            Command::SetRiskRules { source, author } => {
                self.set_risk_rules(at, source, author).map(changed)
            }
            Command::SetModel {
                source,
                shadow,
                author,
            } => self.set_model(at, source, *shadow, author).map(changed),
            Command::AddIssuerMerchant {
                name,
                key_id,
                secret_sha256,
            } => self
                .add_issuer_merchant(at, name, key_id, *secret_sha256)
                .map(changed),
            Command::CaptureGiftCards {
                principal,
                order,
                amount,
                codes,
            } => self
                .capture_gift_cards(at, *principal, *order, *amount, codes)
                .map(changed),
            Command::RedeemGiftCard {
                principal,
                code,
                wallet,
            } => self
                .redeem_gift_card(at, *principal, code, wallet)
                .map(changed),
            Command::RevokeGiftCards {
                principal,
                target,
                reason,
            } => self
                .revoke_gift_cards(at, *principal, target, *reason)
                .map(changed),
            Command::AppealGiftCard {
                principal,
                wallet,
                card,
                evidence,
            } => self
                .appeal_gift_card(at, *principal, wallet, *card, evidence)
                .map(changed),
            Command::DecideGiftCardAppeal {
                principal,
                appeal,
                reinstate,
                note,
            } => self
                .decide_gift_card_appeal(at, *principal, *appeal, *reinstate, note)
                .map(changed),
            Command::SpendWallet {
                principal,
                wallet,
                amount,
                reference,
            } => self
                .spend_wallet(at, *principal, wallet, *amount, reference)
                .map(changed),
            Command::SetTerms { terms } => self.set_terms(terms).map(changed),
            Command::SignUp {
                merchant,
                registration,
                payment_method,
                identity,
                signup,
            } => self
                .sign_up(
                    at,
                    *merchant,
                    registration,
                    *payment_method,
                    identity,
                    signup,
                )
                .map(changed),
            Command::RecordEkyc {
                principal,
                customer,
                result,
            } => self
                .record_ekyc(at, *principal, *customer, result)
                .map(changed),
            Command::IssuePaymentCode {
                principal,
                customer,
                code,
                ceiling,
            } => self
                .issue_payment_code(at, *principal, *customer, *code, *ceiling)
                .map(changed),
            Command::AuthorizeWithCode {
                merchant,
                code,
                input,
                session,
            } => self
                .authorize_with_code(at, *merchant, *code, input, session)
                .map(changed),
            Command::FreezeCustomer {
                principal,
                customer,
                reason,
            } => self
                .freeze_customer(at, *principal, *customer, reason)
                .map(changed),
            Command::UnfreezeCustomer {
                principal,
                customer,
            } => self
                .unfreeze_customer(at, *principal, *customer)
                .map(changed),
            Command::ResolveSignUpReview {
                principal,
                customer,
                approve,
            } => self
                .resolve_signup_review(at, *principal, *customer, *approve)
                .map(changed),
            Command::StartVerification {
                principal,
                channel,
                target,
                code,
                ip,
            } => self
                .start_verification(at, *principal, *channel, *target, *code, *ip)
                .map(changed),
            Command::ConfirmVerification {
                principal,
                verification,
                code,
            } => self
                .confirm_verification(at, *principal, *verification, code)
                .map(changed),
            Command::ChangeContact {
                principal,
                customer,
                verification,
            } => self
                .change_contact(at, *principal, *customer, *verification)
                .map(changed),
        }
    }
}

pub(super) fn changed(outcome: Outcome) -> (Outcome, bool) {
    (outcome, true)
}
