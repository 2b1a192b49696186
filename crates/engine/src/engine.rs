//! The state machine: [`Engine::apply`] runs one command, [`Engine`]'s query
//! methods read state, [`Engine::digest`] fingerprints it and
//! [`Engine::snapshot`] / [`Engine::restore`] move it to and from bytes.

use crate::command::{
    AuthorizeInput, Command, CustomerProfile, Envelope, PaymentInput, Principal, ReviewVerdict,
    Role, SuspensionInput,
};
use crate::due;
use crate::error::{CommandError, ErrorKind};
use crate::idem::{IdemTable, Lookup};
use crate::identity::{ClusterCredit, IdentityKeys, IdentityState, IdentityView, SessionKeys};
use crate::prefix;
use crate::reason::{Reason, ReasonCode};
use crate::risk::{BaselinePolicy, CustomerFacts, RiskAction, RiskContext, RiskPolicy};
use crate::seg::SegVec;
use crate::shard::ShardedMap;
use crate::state::{
    Customer, CustomerStatus, Decision, Merchant, Operator, Order, OrderDetail, OrderStatus,
    Payment, Suspension,
};
use crate::view::{CustomerView, KeyGrant, OrderView, Outcome, PaymentView, SuspensionView};
use atobarai_billing::postings;
use atobarai_core::ids;
use atobarai_core::{At, Channel, Config, JstDate, PaymentMethod, Product, Yen};
use atobarai_ledger::YenLedger;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Snapshot header: `ATBSNAP` and the state layout's version, bumped
/// whenever [`State`]'s serialized shape changes (2: payments keep their
/// allocation, billing keeps membership, plans, credit notes; webhook
/// outbox).
const SNAPSHOT_MAGIC: &[u8; 8] = b"ATBSNAP2";
const SNAPSHOT_FAMILY: &[u8; 7] = b"ATBSNAP";
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
}

/// Lookup tables derived from [`State`]; rebuilt after a restore.
#[derive(Default)]
pub(crate) struct Indexes {
    customer_by_external: ShardedMap<(u32, Box<str>), u32>,
    payment_by_reference: ShardedMap<Box<str>, u32>,
    merchant_by_key: FxHashMap<String, u32>,
    operator_by_key: FxHashMap<String, u32>,
}

pub struct Engine {
    pub(crate) config: Config,
    pub(crate) policy: Box<dyn RiskPolicy>,
    pub(crate) state: State,
    pub(crate) idx: Indexes,
}

/// The result of applying one envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub outcome: Outcome,
    /// False when nothing changed (an idempotent replay, a known payment
    /// reference): such an envelope need not be journaled.
    pub changed: bool,
}

/// Counts for dashboards and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub applied: u64,
    pub merchants: usize,
    pub operators: usize,
    pub customers: usize,
    pub orders: usize,
    pub payments: usize,
    pub idempotency_records: usize,
}

impl Engine {
    pub fn new(config: Config) -> Engine {
        Engine::with_policy(config, Box::new(BaselinePolicy))
    }

    pub fn with_policy(config: Config, policy: Box<dyn RiskPolicy>) -> Engine {
        Engine {
            config,
            policy,
            state: State::default(),
            idx: Indexes::default(),
        }
    }

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
                    return Ok(Applied {
                        outcome: outcome.clone(),
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
        self.catch_up(at);
        let (outcome, changed) = self.dispatch(at, &env.command)?;
        if changed || env.idem.is_some() {
            self.state.now = self.state.now.max(at);
            self.state.applied += 1;
            if let Some(idem) = &env.idem {
                self.state.idem.insert(idem, at, outcome.clone());
            }
            let retention = self.config.limits.idempotency_retention_hours * MS_PER_HOUR;
            self.state.idem.expire_before(at.plus_ms(-retention));
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
            Command::Authorize {
                merchant,
                input,
                session,
            } => self.authorize(at, *merchant, input, session).map(changed),
            Command::Capture {
                principal,
                order,
                amount,
            } => self.capture(at, *principal, *order, *amount).map(changed),
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
                self.config.set_rules((**rules).clone());
                self.state.rules = Some(rules.clone());
                Ok((Outcome::RulesSet, true))
            }
        }
    }

    fn add_merchant(
        &mut self,
        at: At,
        name: &str,
        key_id: &str,
        secret_sha256: [u8; 32],
    ) -> Result<Outcome, CommandError> {
        self.check_key_id_free(key_id)?;
        let idx = self.state.merchants.len() as u32;
        self.state.merchants.push(Merchant {
            name: name.to_string(),
            key_id: key_id.to_string(),
            secret_sha256,
            created_at: at,
        });
        self.idx.merchant_by_key.insert(key_id.to_string(), idx);
        Ok(Outcome::Merchant(KeyGrant {
            index: idx,
            name: name.to_string(),
        }))
    }

    fn add_operator(
        &mut self,
        at: At,
        name: &str,
        role: Role,
        key_id: &str,
        secret_sha256: [u8; 32],
    ) -> Result<Outcome, CommandError> {
        self.check_key_id_free(key_id)?;
        let idx = self.state.operators.len() as u32;
        self.state.operators.push(Operator {
            name: name.to_string(),
            role,
            key_id: key_id.to_string(),
            secret_sha256,
            created_at: at,
        });
        self.idx.operator_by_key.insert(key_id.to_string(), idx);
        Ok(Outcome::Operator(KeyGrant {
            index: idx,
            name: name.to_string(),
        }))
    }

    fn check_key_id_free(&self, key_id: &str) -> Result<(), CommandError> {
        if self.idx.merchant_by_key.contains_key(key_id)
            || self.idx.operator_by_key.contains_key(key_id)
        {
            return Err(CommandError::conflict(
                "key_id_taken",
                "key id already in use",
            ));
        }
        Ok(())
    }

    fn register_customer(
        &mut self,
        at: At,
        merchant: u32,
        profile: &CustomerProfile,
        payment_method: PaymentMethod,
        identity: &IdentityKeys,
    ) -> Result<Outcome, CommandError> {
        self.merchant(merchant)?;
        let key = (merchant, Box::<str>::from(profile.external_id.as_str()));
        if self.idx.customer_by_external.contains_key(&key) {
            return Err(CommandError::conflict(
                "external_id_taken",
                "a customer with this external_id is already registered",
            )
            .field("external_id"));
        }
        let today = at.jst_date();
        if profile.birth_date > today {
            return Err(CommandError::invalid(
                "birth_date_in_future",
                "birth_date",
                "birth_date is after today",
            ));
        }
        let age_min = self.config.credit.age_years_min;
        if profile.birth_date.age_on(today) < age_min {
            return Err(CommandError::invalid(
                "age_below_minimum",
                "birth_date",
                format!("customers must be at least {age_min} years old"),
            ));
        }
        let idx = self.state.customers.len() as u32;
        // Customer `i` is identity account `i`; only a bug could break that,
        // and then nothing is registered.
        if self.state.identity.accounts() != idx as usize {
            return Err(CommandError::conflict(
                "identity_graph_out_of_step",
                "the identity graph does not match the customers",
            ));
        }
        // Validation is over: from here on we only mutate (the graph refuses
        // a new account only when it holds u32::MAX − 1 of them).
        self.state
            .identity
            .register(idx, at, identity)
            .map_err(|e| CommandError::conflict("identity_graph_full", e.to_string()))?;
        self.state.customers.push(Customer {
            merchant,
            profile: Box::new(profile.clone()),
            payment_method,
            pending_method: None,
            status: CustomerStatus::Active,
            limit: self.limit_for(payment_method),
            held: Yen::ZERO,
            outstanding: Yen::ZERO,
            credit: Yen::ZERO,
            per_order_exposure: Yen::ZERO,
            in_store_exposure: Yen::ZERO,
            paid_online_orders: 0,
            orders_approved: 0,
            open_orders: Vec::new(),
            created_at: at,
            billing: None,
        });
        self.idx.customer_by_external.insert(key, idx);
        Ok(Outcome::Customer(self.customer_view_at(idx, at)))
    }

    fn limit_for(&self, method: PaymentMethod) -> Yen {
        match method {
            PaymentMethod::BankDebit => self.config.credit.bank_debit_limit_yen,
            PaymentMethod::ConvenienceStore | PaymentMethod::PaperBill => {
                self.config.credit.signup_limit_yen
            }
        }
    }

    fn authorize(
        &mut self,
        at: At,
        merchant: u32,
        input: &AuthorizeInput,
        session: &SessionKeys,
    ) -> Result<Outcome, CommandError> {
        self.merchant(merchant)?;
        let ci = self.customer_index(Principal::Merchant(merchant), input.customer)?;
        if input.product == Product::PerOrder && input.channel == Channel::InStore {
            return Err(CommandError::invalid(
                "channel_not_supported",
                "channel",
                "the per-order invoice product is sold online only",
            ));
        }
        if input.items.is_empty() {
            return Err(CommandError::invalid(
                "items_empty",
                "items",
                "an order needs at least one item",
            ));
        }
        let amount = order_amount(input)?;
        // Nothing below can fail: record the device and IP first, so a device
        // shared with another account puts this order under the cluster's limit.
        self.state.identity.link_session(ci, at, session);
        let today = at.jst_date();
        let cluster = self
            .state
            .identity
            .cluster_credit(ci, &self.state.customers, |c| self.is_overdue(c, today));

        let mut reasons: Vec<Reason> =
            self.credit_declines(at, merchant, ci, input, amount, cluster.as_ref());
        let decision = if reasons.is_empty() {
            let c = &self.state.customers[ci as usize];
            let (cluster_accounts, address_new_accounts_30d) = self.state.identity.features(ci, at);
            let ctx = RiskContext {
                at,
                order: input,
                amount,
                customer: CustomerFacts {
                    orders_approved: c.orders_approved,
                    paid_online_orders: c.paid_online_orders,
                    exposure: c.exposure(),
                    limit: c.limit,
                    cluster_accounts,
                    address_new_accounts_30d,
                    cluster_member_overdue: cluster.is_some_and(|k| k.other_overdue),
                    cluster_exposure: cluster
                        .map_or(c.exposure(), |k| k.exposure_with(c.exposure())),
                    cluster_limit: cluster.map_or(c.limit, |k| k.limit),
                },
            };
            let verdict = self.policy.assess(&ctx);
            reasons = verdict.reasons;
            match verdict.action {
                RiskAction::Approve => Decision::Approve,
                RiskAction::Review => Decision::Review,
                RiskAction::Decline => Decision::Decline,
            }
        } else {
            Decision::Decline
        };

        // Validation is over; from here on we only mutate.
        let c = &mut self.state.customers[ci as usize];
        let status = match decision {
            Decision::Approve | Decision::Review => {
                c.held = Yen::new(c.held.get() + amount.get());
                if input.product == Product::PerOrder {
                    c.per_order_exposure = Yen::new(c.per_order_exposure.get() + amount.get());
                }
                if input.channel == Channel::InStore {
                    c.in_store_exposure = Yen::new(c.in_store_exposure.get() + amount.get());
                }
                c.orders_approved += 1;
                // Architecture invariant: an approve never takes exposure
                // past the limit (reviews hold the amount too).
                assert!(
                    c.exposure() <= c.limit,
                    "exposure {} exceeds limit {} after approve",
                    c.exposure(),
                    c.limit
                );
                // And never takes the identity cluster past its shared limit.
                if let Some(k) = &cluster {
                    assert!(
                        k.exposure_with(c.exposure()) <= k.limit,
                        "cluster exposure {} exceeds cluster limit {} after approve",
                        k.exposure_with(c.exposure()),
                        k.limit
                    );
                }
                if decision == Decision::Approve {
                    OrderStatus::Authorized
                } else {
                    OrderStatus::InReview
                }
            }
            Decision::Decline => OrderStatus::Declined,
        };
        let available_after = c.available();
        let oi = self.state.orders.len() as u32;
        self.state.orders.push(Order {
            merchant,
            customer: ci,
            merchant_order_id: input.merchant_order_id.as_str().into(),
            product: input.product,
            channel: input.channel,
            status,
            decision,
            reasons,
            amount,
            captured: Yen::ZERO,
            refunded: Yen::ZERO,
            paid: Yen::ZERO,
            available_after,
            authorized_at: at,
            captured_at: None,
            due_date: None,
            detail: Box::new(OrderDetail {
                items: input.items.clone(),
                shipping_address: input.shipping_address.clone(),
                device_id: input.device_id.clone(),
                ip: input.ip.clone(),
            }),
            points_granted: 0,
            points_paid_tier: false,
        });
        Ok(Outcome::Order(self.order_view(oi)))
    }

    /// The credit rules. They can only decline; every rule that fails is
    /// reported, so a merchant sees all the reasons at once.
    fn credit_declines(
        &self,
        at: At,
        merchant: u32,
        ci: u32,
        input: &AuthorizeInput,
        amount: Yen,
        cluster: Option<&ClusterCredit>,
    ) -> Vec<Reason> {
        let c = &self.state.customers[ci as usize];
        let credit = &self.config.credit;
        let mut reasons = Vec::new();
        if c.status == CustomerStatus::Suspended {
            reasons.push(ReasonCode::AccountSuspended.into());
        }
        let suspended = input.items.iter().any(|item| {
            self.state
                .suspensions
                .iter()
                .any(|s| s.applies(item.category, merchant, input.channel, at))
        });
        if suspended {
            reasons.push(ReasonCode::CategorySuspended.into());
        }
        // An overdue invoice of any account of the same person blocks.
        if self.is_overdue(c, at.jst_date()) || cluster.is_some_and(|k| k.other_overdue) {
            reasons.push(ReasonCode::OverdueInvoice.into());
        }
        // Amounts are bounded by Yen::AMOUNT_MAX, so these sums cannot overflow.
        let own_after = Yen::new(c.exposure().get() + amount.get());
        if own_after > c.limit || cluster.is_some_and(|k| k.exposure_with(own_after) > k.limit) {
            reasons.push(ReasonCode::LimitExceeded.into());
        }
        if input.product == Product::PerOrder
            && c.per_order_exposure.get() + amount.get()
                > credit.per_order_outstanding_cap_yen.get()
        {
            reasons.push(ReasonCode::ProductLimitExceeded.into());
        }
        if input.channel == Channel::InStore {
            let experienced = c.paid_online_orders >= credit.in_store_paid_online_orders_min;
            let cap = if experienced {
                credit.in_store_cap_yen
            } else {
                credit.in_store_new_customer_cap_yen
            };
            if c.in_store_exposure.get() + amount.get() > cap.get() {
                reasons.push(if experienced {
                    ReasonCode::InStoreLimitExceeded.into()
                } else {
                    ReasonCode::InStoreHistoryInsufficient.into()
                });
            }
        }
        reasons
    }

    /// Anything past its due date: the oldest open order, or a statement's
    /// payment or membership fee.
    pub(crate) fn is_overdue(&self, c: &Customer, today: JstDate) -> bool {
        c.open_orders.first().is_some_and(|&oi| {
            self.state.orders[oi as usize]
                .due_date
                .is_some_and(|due| due < today)
        }) || c
            .billing
            .as_deref()
            .and_then(|b| b.fees_due_since)
            .is_some_and(|due| due < today)
    }

    fn capture(
        &mut self,
        at: At,
        principal: Principal,
        order: u64,
        amount: Option<Yen>,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        match o.status {
            OrderStatus::Authorized => {}
            other => return Err(status_conflict(other, "captured")),
        }
        let captured = amount.unwrap_or(o.amount);
        if !captured.is_positive() || captured > o.amount {
            return Err(CommandError::invalid(
                "capture_exceeds_authorized",
                "amount",
                format!("capture must be between ¥1 and the authorized {}", o.amount),
            ));
        }
        let (ci, product, channel, authorized) = (o.customer, o.product, o.channel, o.amount);
        let c = &self.state.customers[ci as usize];
        let today = at.jst_date();
        let (current, pending) = (c.payment_method, c.pending_method);
        let due_date = due::due_date(&self.config.billing, product, today, |on| {
            due::method_in_effect(current, pending, on)
        });

        let o = &mut self.state.orders[oi as usize];
        o.status = OrderStatus::Captured;
        o.captured = captured;
        o.captured_at = Some(at);
        o.due_date = Some(due_date);
        let c = &mut self.state.customers[ci as usize];
        let released = Yen::new(authorized.get() - captured.get());
        c.held = Yen::new(c.held.get() - authorized.get());
        c.outstanding = Yen::new(c.outstanding.get() + captured.get());
        if product == Product::PerOrder {
            c.per_order_exposure = Yen::new(c.per_order_exposure.get() - released.get());
        }
        if channel == Channel::InStore {
            c.in_store_exposure = Yen::new(c.in_store_exposure.get() - released.get());
        }
        c.open_order(&self.state.orders, oi);
        self.on_capture(at, oi);
        // A credit balance pays new invoices first.
        let credit = self.state.customers[ci as usize].credit;
        if credit.is_positive() {
            let applied = self.pay_down(at, ci, credit).applied();
            let c = &mut self.state.customers[ci as usize];
            c.credit = Yen::new(c.credit.get() - applied.get());
            self.post(postings::credit_applied(at, u64::from(oi), ci, applied));
        }
        Ok(Outcome::Order(self.order_view(oi)))
    }

    fn cancel(&mut self, principal: Principal, order: u64) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        if !o.status.holds_limit() {
            return Err(status_conflict(o.status, "cancelled"));
        }
        let (ci, amount, product, channel) = (o.customer, o.amount, o.product, o.channel);
        self.state.orders[oi as usize].status = OrderStatus::Cancelled;
        self.release_hold(ci, amount, product, channel);
        Ok(Outcome::Order(self.order_view(oi)))
    }

    fn release_hold(&mut self, ci: u32, amount: Yen, product: Product, channel: Channel) {
        let c = &mut self.state.customers[ci as usize];
        c.held = Yen::new(c.held.get() - amount.get());
        if product == Product::PerOrder {
            c.per_order_exposure = Yen::new(c.per_order_exposure.get() - amount.get());
        }
        if channel == Channel::InStore {
            c.in_store_exposure = Yen::new(c.in_store_exposure.get() - amount.get());
        }
    }

    fn refund(
        &mut self,
        at: At,
        principal: Principal,
        order: u64,
        amount: Yen,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index_for_write(principal, order)?;
        let o = &self.state.orders[oi as usize];
        if o.status != OrderStatus::Captured {
            return Err(status_conflict(o.status, "refunded"));
        }
        let refundable = Yen::new(o.captured.get() - o.refunded.get());
        if !amount.is_positive() || amount > refundable {
            return Err(CommandError::invalid(
                "refund_exceeds_captured",
                "amount",
                format!("refund must be between ¥1 and the refundable {refundable}"),
            ));
        }
        let owed_before = o.owed();
        let o = &mut self.state.orders[oi as usize];
        o.refunded = Yen::new(o.refunded.get() + amount.get());
        if o.refunded == o.captured {
            o.status = OrderStatus::Refunded;
        }
        let owed_after = o.owed();
        let (ci, product, channel) = (o.customer, o.product, o.channel);
        let reduced = owed_before.get() - owed_after.get();
        let c = &mut self.state.customers[ci as usize];
        c.settle(product, channel, reduced);
        // What the customer had already paid on the refunded part comes back
        // as a credit balance.
        c.credit = Yen::new(c.credit.get() + (amount.get() - reduced));
        if owed_before.is_positive() && owed_after == Yen::ZERO {
            c.open_orders.retain(|&x| x != oi);
        }
        self.on_refund(at, oi, Yen::new(reduced), amount);
        Ok(Outcome::Order(self.order_view(oi)))
    }

    fn record_payment(
        &mut self,
        at: At,
        principal: Principal,
        input: &PaymentInput,
    ) -> Result<(Outcome, bool), CommandError> {
        if let Some(&pi) = self.idx.payment_by_reference.get(input.reference.as_str()) {
            let p = &self.state.payments[pi as usize];
            if u64::from(p.customer) == input.customer && p.amount == input.amount {
                return Ok((Outcome::Payment(self.payment_view(pi)), false));
            }
            return Err(CommandError::conflict(
                "payment_reference_reused",
                "this payment reference was recorded with another customer or amount",
            )
            .field("reference"));
        }
        let ci = self.customer_index_for_write(principal, input.customer)?;
        if !input.amount.is_positive() {
            return Err(CommandError::invalid(
                "amount_not_positive",
                "amount",
                "amount must be positive",
            ));
        }
        let paid_down = self.pay_down(at, ci, input.amount);
        let applied = paid_down.applied();
        {
            let c = &mut self.state.customers[ci as usize];
            c.credit = Yen::new(c.credit.get() + input.amount.get() - applied.get());
            let outstanding = c.outstanding;
            if let Some(b) = c.billing.as_deref_mut() {
                let owed = outstanding.get() + b.charges_owed().get();
                if let Some(plan) = b.plan.as_mut() {
                    plan.record_payment(applied);
                    if owed == 0 && plan.status == crate::billing::PlanStatus::Active {
                        plan.status = crate::billing::PlanStatus::Completed;
                        plan.status_on = at.jst_date();
                    }
                }
            }
        }
        let pi = self.state.payments.len() as u32;
        self.post_payment(at, pi, ci, input.amount, applied);
        let c = &self.state.customers[ci as usize];
        self.state.payments.push(Payment {
            customer: ci,
            amount: input.amount,
            channel: input.channel.clone(),
            reference: input.reference.clone(),
            at,
            applied,
            exposure_after: c.exposure(),
            available_after: c.available(),
            paid_down: Box::new(paid_down),
            reversed: None,
        });
        self.idx
            .payment_by_reference
            .insert(input.reference.as_str().into(), pi);
        self.emit_payment_received(at, pi);
        Ok((Outcome::Payment(self.payment_view(pi)), true))
    }

    fn set_payment_method(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        method: PaymentMethod,
    ) -> Result<Outcome, CommandError> {
        let ci = self.customer_index_for_write(principal, customer)?;
        let limit = self.limit_for(method);
        let from = at
            .jst_date()
            .first_of_next_month()
            .map_err(|_| CommandError::invalid("date_out_of_range", "now", "date out of range"))?;
        let c = &mut self.state.customers[ci as usize];
        c.pending_method = if method == c.payment_method {
            None
        } else {
            Some((method, from))
        };
        // The limit follows the registration at once: bank debit raises it.
        c.limit = limit;
        Ok(Outcome::Customer(self.customer_view_at(ci, at)))
    }

    fn advance_clock(&mut self, to: At) -> Result<Outcome, CommandError> {
        if to < self.state.now {
            return Err(CommandError::invalid(
                "clock_backwards",
                "now",
                format!("the clock is at {} and never moves back", self.state.now),
            ));
        }
        // `apply` moves `now` to the envelope time; make that `to`.
        self.state.now = to;
        self.catch_up(to);
        Ok(Outcome::Clock { now: to })
    }

    /// Payment-method changes whose month has come become the current method.
    pub(crate) fn promote_pending_methods(&mut self, today: JstDate) {
        for c in self.state.customers.iter_mut() {
            if let Some((method, from)) = c.pending_method
                && today >= from
            {
                c.payment_method = method;
                c.pending_method = None;
            }
        }
    }

    fn add_suspension(&mut self, at: At, input: &SuspensionInput) -> Result<Outcome, CommandError> {
        if let Some(m) = input.merchant {
            self.merchant(m).map_err(|e| e.field("merchant"))?;
        }
        if input.until.is_some_and(|u| u <= input.from) {
            return Err(CommandError::invalid(
                "until_before_from",
                "until",
                "until must be after from",
            ));
        }
        let si = self.state.suspensions.len() as u32;
        self.state.suspensions.push(Suspension {
            category: input.category,
            merchant: input.merchant,
            channel: input.channel,
            from: input.from,
            until: input.until,
            created_at: at,
            lifted_at: None,
        });
        Ok(Outcome::Suspension(self.suspension_view(si)))
    }

    fn lift_suspension(&mut self, at: At, suspension: u64) -> Result<Outcome, CommandError> {
        let si = usize::try_from(suspension)
            .ok()
            .filter(|&i| i < self.state.suspensions.len())
            .ok_or_else(|| CommandError::not_found("suspension_not_found", "id", "suspension"))?;
        let s = &mut self.state.suspensions[si];
        if s.lifted_at.is_some() {
            return Err(CommandError::conflict(
                "suspension_already_lifted",
                "this suspension was already lifted",
            ));
        }
        s.lifted_at = Some(at);
        Ok(Outcome::Suspension(self.suspension_view(si as u32)))
    }

    fn resolve_review(
        &mut self,
        order: u64,
        verdict: ReviewVerdict,
    ) -> Result<Outcome, CommandError> {
        let oi = self.order_index(Principal::System, order)?;
        let o = &self.state.orders[oi as usize];
        if o.status != OrderStatus::InReview {
            return Err(CommandError::conflict(
                "order_not_in_review",
                format!("the order is {}, not in review", o.status.as_str()),
            ));
        }
        let (ci, amount, product, channel) = (o.customer, o.amount, o.product, o.channel);
        match verdict {
            ReviewVerdict::Approve => {
                let o = &mut self.state.orders[oi as usize];
                o.status = OrderStatus::Authorized;
                o.decision = Decision::Approve;
                o.reasons.push(ReasonCode::OperatorApproved.into());
            }
            ReviewVerdict::Decline => {
                let o = &mut self.state.orders[oi as usize];
                o.status = OrderStatus::Declined;
                o.decision = Decision::Decline;
                o.reasons.push(ReasonCode::OperatorDeclined.into());
                self.release_hold(ci, amount, product, channel);
            }
        }
        Ok(Outcome::Order(self.order_view(oi)))
    }

    // ----- access ----------------------------------------------------------

    fn merchant(&self, merchant: u32) -> Result<&Merchant, CommandError> {
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

    fn order_index(&self, principal: Principal, order: u64) -> Result<u32, CommandError> {
        let not_found = || CommandError::not_found("order_not_found", "id", "order");
        let oi = u32::try_from(order).map_err(|_| not_found())?;
        let o = self.state.orders.get(oi as usize).ok_or_else(not_found)?;
        if !visible(principal, o.merchant) {
            return Err(not_found());
        }
        Ok(oi)
    }

    fn order_index_for_write(&self, principal: Principal, order: u64) -> Result<u32, CommandError> {
        check_writer(principal)?;
        self.order_index(principal, order)
    }

    // ----- queries ---------------------------------------------------------

    /// The principal owning API key id `key_id`, with the SHA-256 of its
    /// secret for the caller to compare in constant time.
    pub fn key(&self, key_id: &str) -> Option<(Principal, [u8; 32])> {
        if let Some(&m) = self.idx.merchant_by_key.get(key_id) {
            return Some((
                Principal::Merchant(m),
                self.state.merchants[m as usize].secret_sha256,
            ));
        }
        let &o = self.idx.operator_by_key.get(key_id)?;
        let op = &self.state.operators[o as usize];
        Some((Principal::Operator(o, op.role), op.secret_sha256))
    }

    /// Every key id with its principal and secret hash (to warm a cache).
    pub fn keys(&self) -> Vec<(String, Principal, [u8; 32])> {
        let merchants = self.state.merchants.iter().enumerate().map(|(i, m)| {
            (
                m.key_id.clone(),
                Principal::Merchant(i as u32),
                m.secret_sha256,
            )
        });
        let operators = self.state.operators.iter().enumerate().map(|(i, o)| {
            (
                o.key_id.clone(),
                Principal::Operator(i as u32, o.role),
                o.secret_sha256,
            )
        });
        merchants.chain(operators).collect()
    }

    /// Resolve a public merchant id (`mer_…`).
    pub fn merchant_by_public_id(&self, id: &str) -> Option<u32> {
        let idx = u32::try_from(ids::decode(prefix::MERCHANT, id)?).ok()?;
        ((idx as usize) < self.state.merchants.len()).then_some(idx)
    }

    pub fn customer(&self, principal: Principal, id: &str) -> Result<CustomerView, CommandError> {
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|e| e.field("id"))?;
        Ok(self.customer_view_at(ci, self.state.now))
    }

    /// Who a customer is linked to (operators only): its identity cluster,
    /// the members with their links and the evidence chain to each, and the
    /// accounts sharing only an address or a recent IP.
    pub fn identity(&self, principal: Principal, id: &str) -> Result<IdentityView, CommandError> {
        if matches!(principal, Principal::Merchant(_)) {
            return Err(CommandError::forbidden("identity is for operators"));
        }
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|e| e.field("id"))?;
        self.state
            .identity
            .view(ci, self.state.now)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))
    }

    pub fn order(&self, principal: Principal, id: &str) -> Result<OrderView, CommandError> {
        let order = ids::decode(prefix::ORDER, id)
            .ok_or_else(|| CommandError::not_found("order_not_found", "id", "order"))?;
        let oi = self.order_index(principal, order)?;
        Ok(self.order_view(oi))
    }

    pub fn suspensions(&self) -> Vec<SuspensionView> {
        (0..self.state.suspensions.len() as u32)
            .map(|i| self.suspension_view(i))
            .collect()
    }

    fn customer_view_at(&self, ci: u32, at: At) -> CustomerView {
        let c = &self.state.customers[ci as usize];
        CustomerView {
            customer: ci,
            external_id: c.profile.external_id.clone(),
            limit: c.limit,
            exposure: c.exposure(),
            available: c.available(),
            status: c.status,
            payment_method: c.payment_method,
            payment_method_next: c.pending_method,
            held: c.held,
            outstanding: c.outstanding,
            credit_balance: c.credit,
            per_order_exposure: c.per_order_exposure,
            in_store_exposure: c.in_store_exposure,
            overdue: self.is_overdue(c, at.jst_date()),
            created_at: c.created_at,
            tier: c
                .billing
                .as_deref()
                .map_or(atobarai_billing::points::Tier::Standard, |b| {
                    b.tier_on(at.jst_date())
                }),
            tier_ends_after: c
                .billing
                .as_deref()
                .and_then(|b| b.membership)
                .and_then(|m| m.ends_after),
        }
    }

    fn order_view(&self, oi: u32) -> OrderView {
        let o = &self.state.orders[oi as usize];
        OrderView {
            order: oi,
            customer: o.customer,
            merchant_order_id: o.merchant_order_id.clone(),
            product: o.product,
            channel: o.channel,
            status: o.status,
            decision: o.decision,
            amount: o.amount,
            captured: o.captured,
            refunded: o.refunded,
            paid: o.paid,
            available_after: o.available_after,
            reasons: o.reasons.iter().map(|r| r.code).collect(),
            due_date: o.due_date,
            authorized_at: o.authorized_at,
            captured_at: o.captured_at,
        }
    }

    pub(crate) fn payment_view(&self, pi: u32) -> PaymentView {
        let p = &self.state.payments[pi as usize];
        PaymentView {
            payment: pi,
            customer: p.customer,
            amount: p.amount,
            applied: p.applied,
            channel: p.channel.clone(),
            reference: p.reference.clone(),
            exposure_after: p.exposure_after,
            available_after: p.available_after,
            received_at: p.at,
            reversed: p.reversed.as_deref().cloned(),
        }
    }

    fn suspension_view(&self, si: u32) -> SuspensionView {
        let s = &self.state.suspensions[si as usize];
        SuspensionView {
            suspension: si,
            category: s.category,
            merchant: s.merchant,
            channel: s.channel,
            from: s.from,
            until: s.until,
            lifted_at: s.lifted_at,
        }
    }

    // ----- integrity -------------------------------------------------------

    /// SHA-256 of the canonical serialization of the whole state. A replay of
    /// the same journal must reproduce it exactly.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.state_bytes()).into()
    }

    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = SNAPSHOT_MAGIC.to_vec();
        out.extend(self.state_bytes());
        out
    }

    fn state_bytes(&self) -> Vec<u8> {
        // Plain data with known lengths: only a bug here can make this fail,
        // and a silently empty snapshot would be far worse than stopping.
        postcard::to_stdvec(&self.state).expect("engine state serializes")
    }

    pub fn restore(config: Config, bytes: &[u8]) -> Result<Engine, CommandError> {
        let corrupt = || {
            CommandError::new(
                ErrorKind::Invalid,
                "snapshot_corrupt",
                "snapshot cannot be decoded",
            )
        };
        let Some(body) = bytes.strip_prefix(SNAPSHOT_MAGIC) else {
            if bytes.starts_with(SNAPSHOT_FAMILY) {
                return Err(CommandError::new(
                    ErrorKind::Invalid,
                    "snapshot_format_old",
                    "the snapshot was written by another version of the state layout",
                ));
            }
            return Err(corrupt());
        };
        let state: State = postcard::from_bytes(body).map_err(|_| corrupt())?;
        let mut engine = Engine::new(config);
        if let Some(rules) = &state.rules {
            engine.config.set_rules((**rules).clone());
        }
        engine.state = state;
        engine.rebuild_indexes();
        engine.check_invariants().map_err(|_| corrupt())?;
        Ok(engine)
    }

    fn rebuild_indexes(&mut self) {
        let s = &mut self.state;
        s.idem.rebuild_index();
        let idx = &mut self.idx;
        *idx = Indexes::default();
        for (i, c) in s.customers.iter().enumerate() {
            idx.customer_by_external.insert(
                (c.merchant, c.profile.external_id.as_str().into()),
                i as u32,
            );
        }
        for (i, p) in s.payments.iter().enumerate() {
            idx.payment_by_reference
                .insert(p.reference.as_str().into(), i as u32);
        }
        for (i, m) in s.merchants.iter().enumerate() {
            idx.merchant_by_key.insert(m.key_id.clone(), i as u32);
        }
        for (i, o) in s.operators.iter().enumerate() {
            idx.operator_by_key.insert(o.key_id.clone(), i as u32);
        }
    }

    /// Recompute every customer's totals from its orders and payments and
    /// compare with the running totals; check exposure against limits.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.state.identity.check(self.state.customers.len())?;
        let n = self.state.customers.len();
        let mut held = vec![0i64; n];
        let mut owed = vec![0i64; n];
        let mut per_order = vec![0i64; n];
        let mut in_store = vec![0i64; n];
        let mut paid_in = vec![0i64; n];
        let mut refunded_paid = vec![0i64; n];
        for o in self.state.orders.iter() {
            let ci = o.customer as usize;
            let exposure = if o.status.holds_limit() {
                held[ci] += o.amount.get();
                o.amount.get()
            } else {
                owed[ci] += o.owed().get();
                o.owed().get()
            };
            if o.product == Product::PerOrder {
                per_order[ci] += exposure;
            }
            if o.channel == Channel::InStore {
                in_store[ci] += exposure;
            }
            // Paid beyond what is now due (after refunds) became credit.
            refunded_paid[ci] += (o.paid.get() - (o.captured.get() - o.refunded.get())).max(0);
            paid_in[ci] -= o.paid.get();
        }
        for p in self.state.payments.iter() {
            if p.reversed.is_none() {
                paid_in[p.customer as usize] += p.amount.get();
            }
        }
        for (ci, c) in self.state.customers.iter().enumerate() {
            // Payments that went to fees, late fees and damages.
            let charges_paid = c.billing.as_deref().map_or(0, |b| b.charges_paid.get());
            // Points used as a discount paid orders without a payment.
            let points_paid = c.billing.as_deref().map_or(0, |b| b.points_paid.get());
            // A reversal whose credit was already spent left that part owed.
            let shortfall = c
                .billing
                .as_deref()
                .map_or(0, |b| b.reversal_shortfall.get());
            let expect_credit =
                paid_in[ci] + refunded_paid[ci] - charges_paid + points_paid + shortfall;
            let checks = [
                ("held", c.held.get(), held[ci]),
                ("outstanding", c.outstanding.get(), owed[ci]),
                (
                    "per_order_exposure",
                    c.per_order_exposure.get(),
                    per_order[ci],
                ),
                ("in_store_exposure", c.in_store_exposure.get(), in_store[ci]),
                ("credit", c.credit.get(), expect_credit),
            ];
            for (name, running, recomputed) in checks {
                if running != recomputed {
                    return Err(format!(
                        "customer {ci}: {name} is {running} but orders say {recomputed}"
                    ));
                }
            }
            if c.credit.is_negative() {
                return Err(format!("customer {ci}: negative credit balance"));
            }
        }
        self.check_billing()
    }
}

fn changed(outcome: Outcome) -> (Outcome, bool) {
    (outcome, true)
}

/// Can `principal` see data of `merchant`? Merchants see their own;
/// operators and the local command line see everything.
fn visible(principal: Principal, merchant: u32) -> bool {
    match principal {
        Principal::Merchant(m) => m == merchant,
        Principal::Operator(..) | Principal::System => true,
    }
}

fn check_writer(principal: Principal) -> Result<(), CommandError> {
    match principal {
        Principal::Operator(_, Role::Analyst) => {
            Err(CommandError::forbidden("analysts have read-only access"))
        }
        _ => Ok(()),
    }
}

fn status_conflict(status: OrderStatus, wanted: &str) -> CommandError {
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

/// Σ unit_price × quantity with every step checked.
pub(crate) fn order_amount(input: &AuthorizeInput) -> Result<Yen, CommandError> {
    let overflow = || {
        CommandError::invalid(
            "amount_too_large",
            "items",
            format!("the order total exceeds {}", Yen::AMOUNT_MAX),
        )
    };
    let mut total = Yen::ZERO;
    for item in &input.items {
        if !item.unit_price.is_positive() || item.quantity <= 0 {
            return Err(CommandError::invalid(
                "amount_not_positive",
                "items",
                "unit_price and quantity must be positive",
            ));
        }
        let line = item
            .unit_price
            .checked_mul(item.quantity)
            .map_err(|_| overflow())?;
        total = total.checked_add(line).map_err(|_| overflow())?;
    }
    if total > Yen::AMOUNT_MAX {
        return Err(overflow());
    }
    Ok(total)
}
