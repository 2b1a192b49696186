//! Authorization: the credit rules, the risk policy and the hold an
//! approve (or review) puts on the customer's limit.

use super::Engine;
use crate::checked::Bounded;
use crate::checked::id32;
use crate::command::{AuthorizeInput, Principal};
use crate::error::CommandError;
use crate::exposure::cluster_available;
use crate::identity::{ClusterCredit, SessionKeys};
use crate::reason::{Reason, ReasonCode};
use crate::risk::features::F;
use crate::risk::{CustomerFacts, RiskAction, RiskContext};
use crate::state::{Customer, CustomerStatus, Decision, Order, OrderDetail, OrderStatus};
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_core::{At, Channel, JstDate, Product, Yen};

impl Engine {
    pub(crate) fn authorize(
        &mut self,
        at: At,
        merchant: u32,
        input: &AuthorizeInput,
        session: &SessionKeys,
    ) -> Result<Outcome, CommandError> {
        self.merchant(merchant)?;
        let ci = self.customer_index(Principal::Merchant(merchant), input.customer)?;
        self.authorize_for(at, merchant, ci, input, session)
    }

    /// Authorize an order of customer `ci` (resolved by the caller: the
    /// merchant's own customer, or the holder of a payment code).
    pub(crate) fn authorize_for(
        &mut self,
        at: At,
        merchant: u32,
        ci: u32,
        input: &AuthorizeInput,
        session: &SessionKeys,
    ) -> Result<Outcome, CommandError> {
        // The product and channel must be in the catalog in force
        // (products.rs; the default catalog sells per_order online only).
        self.product_check(input)?;
        if input.items.is_empty() {
            return Err(CommandError::invalid(
                "items_empty",
                "items",
                "an order needs at least one item",
            ));
        }
        check_tax_rates(input)?;
        let amount = order_amount(input)?;
        // Nothing below can fail: record the device and IP first, so a device
        // shared with another account puts this order under the cluster's limit
        // (asking first whether the account knew them, for the risk features).
        let mut seen = self.state.identity.session_seen(ci, session);
        let cluster_before = self.state.identity.cluster_size(ci);
        self.state.identity.link_session(ci, at, session);
        if self.state.identity.cluster_size(ci) > cluster_before {
            // A device in common joined this account to others: the
            // behaviour score of every member moves (`account_linked`).
            self.score_linked(at, ci);
        }
        self.state.identity.session_accounts(session, &mut seen);
        let today = at.jst_date();
        let cluster = self
            .state
            .identity
            .cluster_credit(ci, &self.state.customers, |c| self.is_overdue(c, today));

        let mut rule_record = None;
        let mut model_scores = Vec::new();
        // Liquid goods (cash-equivalents, resellable electronics) are half
        // the order's value or more: a behaviour-score event.
        let mut liquid_heavy = false;
        let mut reasons: Vec<Reason> =
            self.credit_declines(at, merchant, ci, input, amount, cluster.as_ref());
        let decision = if reasons.is_empty() {
            let c = &self.state.customers[ci as usize];
            let (cluster_accounts, address_new_accounts_30d) = self.state.identity.features(ci, at);
            let hubs = self.state.identity.hub_features(ci);
            let mut features =
                self.risk_features(at, merchant, ci, input, amount, seen, cluster.as_ref());
            model_scores = self.score_models(&mut features);
            liquid_heavy =
                features.int(F::CartLiquidYen) > 0 && features.int(F::CartLiquidShareBp) >= 5_000;
            let ctx = RiskContext {
                at,
                order: input,
                amount,
                features: &features,
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
                    hub_keys: hubs.hub_keys,
                    hub_accounts_max: hubs.hub_accounts_max,
                },
            };
            let (action, why) = match self.decide_by_rules(&features, amount) {
                Some(d) => {
                    rule_record = d.record;
                    (d.action, d.reasons)
                }
                None => {
                    let verdict = self.policy.assess(&ctx);
                    (verdict.action, verdict.reasons)
                }
            };
            reasons = why;
            let decision = match action {
                RiskAction::Approve => Decision::Approve,
                RiskAction::Review => Decision::Review,
                RiskAction::Decline => Decision::Decline,
            };
            self.observe_drift(at, ci, &model_scores);
            if features.int(F::CartLiquidYen) > 0
                && let Some(alert) = self
                    .state
                    .risk
                    .wave
                    .observe(at, features.flag(F::SessionDeviceNew))
            {
                let stored = Stored::RiskAlert {
                    orders: alert.orders,
                    new_device: alert.new_device,
                    baseline_bp: alert.baseline_bp,
                };
                self.emit(at, EventKind::RiskAlert, ci, stored);
            }
            let oi = id32(self.state.orders.len());
            self.tap_features(oi, at, &features);
            if self.backtest.is_some() {
                let live_why = self.live_why(rule_record.as_ref(), &reasons);
                self.backtest_decide(oi, at, &features, amount, decision, || live_why);
            }
            decision
        } else {
            Decision::Decline
        };

        // Validation is over; from here on we only mutate.
        let c = &mut self.state.customers[ci as usize];
        let status = match decision {
            Decision::Approve | Decision::Review => {
                // Precondition: the credit rules let only what fits through.
                assert!(amount <= c.available(), "approved beyond available");
                c.hold(input.product, input.channel, amount);
                c.orders_approved = c.orders_approved.saturating_add(1);
                // Architecture invariant: an approve never takes exposure
                // past the limit (reviews hold the amount too).
                assert!(
                    c.exposure() <= c.limit,
                    "exposure {} exceeds limit {} after approve",
                    c.exposure(),
                    c.limit
                );
                assert!(c.available() <= c.limit, "available above the limit");
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
        let oi = id32(self.state.orders.len());
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
        self.idx.add_order(oi, &self.state.orders[oi as usize]);
        self.state.documents.record_tax_rates(oi, &input.tax_rates);
        let record = match rule_record {
            Some(mut r) => {
                r.models = model_scores;
                Some(r)
            }
            None if !model_scores.is_empty() => Some(crate::risk::book::DecisionRecord {
                rule_set: self.state.risk.version_for_order(oi).unwrap_or(0),
                fired: Vec::new(),
                models: model_scores,
            }),
            None => None,
        };
        if let Some(record) = record {
            self.state.risk.push(oi, record);
        }
        if decision != Decision::Decline && liquid_heavy {
            self.score_event(at, ci, crate::score::ScoreEvent::LiquidHeavyOrder);
        }
        Ok(Outcome::Order(self.order_view(oi)))
    }

    /// The credit rules. They can only decline; every rule that fails is
    /// reported, so a merchant sees all the reasons at once.
    pub(crate) fn credit_declines(
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
        // A freeze, a held sign-up, an in-store use without eKYC.
        let mut reasons = self.lifecycle_declines(ci, input.channel);
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
        // A credit balance offsets only what is owed: `available` never
        // exceeds the limit, for the account or its cluster.
        if amount > c.available() || cluster.is_some_and(|k| amount > cluster_available(k, c)) {
            reasons.push(ReasonCode::LimitExceeded.into());
        }
        if input.product == Product::PerOrder
            && amount
                > credit
                    .per_order_outstanding_cap_yen
                    .checked_sub(c.per_order_exposure)
                    .bounded("per-order room")
        {
            reasons.push(ReasonCode::ProductLimitExceeded.into());
        }
        // The product catalog's caps (per product, channel and merchant).
        if let Some(r) = self.product_declines(at, merchant, ci, input, amount)
            && !reasons.contains(&r)
        {
            reasons.push(r);
        }
        if input.channel == Channel::InStore {
            let experienced = c.paid_online_orders >= credit.in_store_paid_online_orders_min;
            // An eKYC-verified customer has the lifecycle's caps; the
            // others the credit rules' (paid online history only).
            let cap = self
                .verified_in_store_cap(ci, experienced)
                .unwrap_or(if experienced {
                    credit.in_store_cap_yen
                } else {
                    credit.in_store_new_customer_cap_yen
                });
            if amount
                > cap
                    .checked_sub(c.in_store_exposure)
                    .bounded("in-store room")
            {
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

/// The stated tax rates are none, or one per line, each a percent in
/// `1..=99` (which rates the provider bills is the shell's check, against
/// its configuration).
fn check_tax_rates(input: &AuthorizeInput) -> Result<(), CommandError> {
    if !input.tax_rates.is_empty() && input.tax_rates.len() != input.items.len() {
        return Err(CommandError::invalid(
            "tax_rates_mismatch",
            "items",
            "tax rates are stated for every line or for none",
        ));
    }
    if input
        .tax_rates
        .iter()
        .flatten()
        .any(|&r| !(1..=99).contains(&r))
    {
        return Err(CommandError::invalid(
            "unsupported_tax_rate",
            "items",
            "a tax rate is a whole percent from 1 to 99",
        ));
    }
    Ok(())
}
