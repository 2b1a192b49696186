//! Billing inside the engine: what each customer owes besides principal
//! (payment fees, late fees, delay damages), monthly statements and
//! per-order invoices, points, dunning, and the double-entry ledger every
//! money event posts to. The rules themselves live in `atobarai-billing`;
//! this module keeps the per-customer state and calls them.
//!
//! Time-driven work happens in [`crate::Engine`]'s day catch-up: before a
//! command dated on a later JST day than the last one processed, every day in
//! between is processed in order (month close on the 1st, then each
//! customer's overdue accrual and point expiry). The node journals an
//! explicit clock command whenever the day changes, so that work is never
//! attributed to a command that is then refused.

use crate::checked::Bounded;
pub use atobarai_billing::dunning::{DunningAction, DunningEvent};
use atobarai_billing::dunning::{Instalment, PaymentPlan};
use atobarai_billing::overdue::OverdueState;
use atobarai_billing::points::PointsWallet;
pub use atobarai_billing::points::Tier;
use atobarai_billing::schedule::YearMonth;
use atobarai_core::{JstDate, PaymentMethod, Product, Yen};
use serde::{Deserialize, Serialize};

/// Dunning events kept per customer (the most recent).
pub const DUNNING_KEPT: usize = 32;

/// Billing state of one customer, created at its first capture.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerBilling {
    /// Statement payment fees owed (¥209 per convenience-store/paper statement).
    pub fees_owed: Yen,
    /// Late fees owed (¥100 on each late-fee day).
    pub late_fees_owed: Yen,
    /// Delay damages owed (on principal only).
    pub damages_owed: Yen,
    /// Due date of the oldest statement whose fees (payment fee, membership
    /// fee) are not paid yet; unpaid past it, the customer is overdue.
    pub fees_due_since: Option<JstDate>,
    /// Owed because a returned (reversed) payment had left a credit balance
    /// that was already spent: paid first, with the fees.
    pub reversal_owed: Yen,
    /// Every yen ever put into `reversal_owed` (for the credit invariant).
    pub reversal_shortfall: Yen,
    /// Fees, late fees and damages paid so far (for the invariant checks).
    pub charges_paid: Yen,
    /// Yen of principal paid with points so far (for the invariant checks).
    pub points_paid: Yen,
    /// Present while anything is overdue.
    pub overdue: Option<OverdueState>,
    /// Points granted, expiring, and any claw-back deficit.
    pub points: PointsWallet,
    /// The most recent dunning steps (at most `DUNNING_KEPT`).
    pub dunning: Vec<DunningEvent>,
    /// Per-order invoices and monthly statements, in issue order.
    pub invoices: Vec<Invoice>,
    /// Monthly-product orders captured since the last month close.
    pub month_orders: Vec<u32>,
    /// The paid tier (¥300 a month, points at 1.5 %), when subscribed.
    pub membership: Option<Membership>,
    /// Credit notes: refunds of invoiced amounts, in issue order.
    pub credit_notes: Vec<CreditNote>,
    /// The payment plan last agreed, if any.
    pub plan: Option<ActivePlan>,
}

/// A paid-tier membership. It starts the day it is taken and ends at the
/// end of the month in which it is cancelled; every calendar month in which
/// it was active for at least one day is billed in full (no proration) on
/// that month's statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The day the tier was taken.
    pub since: JstDate,
    /// The last month of membership, once cancelled.
    pub ends_after: Option<YearMonth>,
}

impl Membership {
    /// Is the tier active on `day`?
    pub fn active_on(&self, day: JstDate) -> bool {
        self.since <= day && self.ends_after.is_none_or(|e| YearMonth::of(day) <= e)
    }

    /// Active for at least one day of `month`?
    pub fn active_in(&self, month: YearMonth) -> bool {
        self.since <= month.last_day() && self.ends_after.is_none_or(|e| month <= e)
    }
}

/// A credit note: part of an issued invoice or statement taken back by a
/// refund. The invoice keeps its original amounts; the credit note and the
/// re-issued amount (`amount_after`) say what is owed on it now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditNote {
    /// Credit-note number (`C…`).
    pub number: String,
    /// The invoice or statement it corrects.
    pub invoice: String,
    /// The refunded order.
    pub order: u32,
    /// The day of the refund.
    pub issued_on: JstDate,
    /// The amount taken back.
    pub amount: Yen,
    /// The invoice's purchases after this and every earlier credit note.
    pub amount_after: Yen,
}

impl CustomerBilling {
    /// The points tier on `day`.
    pub fn tier_on(&self, day: JstDate) -> Tier {
        if self.membership.is_some_and(|m| m.active_on(day)) {
            Tier::Paid
        } else {
            Tier::Standard
        }
    }

    /// Fees, late fees and damages owed: paid before any principal.
    pub fn charges_owed(&self) -> Yen {
        Yen::checked_sum([
            self.reversal_owed,
            self.fees_owed,
            self.late_fees_owed,
            self.damages_owed,
        ])
        .bounded("charges owed")
    }
}

/// How one payment was spent, kept with the payment so that a reversal
/// (a returned bank debit, a charge-back by the payment channel) puts
/// everything back exactly.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidDown {
    /// Reversal shortfall, fees, late fees, delay damages paid (in the
    /// allocation order).
    pub charges: [i64; 4],
    /// `(order, yen, closed)`: principal paid per order, oldest due first;
    /// `closed` when this payment paid the order in full.
    pub orders: Vec<(u32, i64, bool)>,
    /// Points granted because this payment closed the order.
    pub points: Vec<(u32, i64)>,
    /// The customer's overdue state before the payment (restored by a
    /// reversal so late fees and damages resume where they stopped).
    pub overdue_before: Option<OverdueState>,
    /// The due date of unpaid statement fees before the payment.
    pub fees_due_before: Option<JstDate>,
}

impl PaidDown {
    /// Yen applied to what was owed (charges and principal).
    pub fn applied(&self) -> Yen {
        let charges = self.charges.iter().map(|&y| Yen::new(y));
        let orders = self.orders.iter().map(|o| Yen::new(o.1));
        Yen::checked_sum(charges.chain(orders)).bounded("payment applied")
    }
}

/// An invoice as the customer receives it: per order (at capture) or a
/// monthly statement (on the 1st).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Invoice or statement number.
    pub number: String,
    /// Per-order invoice or monthly statement.
    pub product: Product,
    /// The order of a per-order invoice.
    pub order: Option<u32>,
    /// The purchase month of a statement.
    pub month: Option<YearMonth>,
    /// Issued on (capture day, or the 1st after the month).
    pub issued_on: JstDate,
    /// Due on.
    pub due_on: JstDate,
    /// The payment method it is paid with.
    pub method: PaymentMethod,
    /// Purchases billed (captured − refunded at issue).
    pub purchases: Yen,
    /// The payment-method fee on this statement.
    pub fee: Yen,
    /// The paid tier's monthly fee, on statements.
    pub membership_fee: Yen,
    /// Orders on it.
    pub orders: u32,
}

/// Push a dunning event, keeping the most recent [`DUNNING_KEPT`].
pub fn remember_dunning(b: &mut CustomerBilling, events: Vec<DunningEvent>) {
    b.dunning.extend(events);
    if b.dunning.len() > DUNNING_KEPT {
        let excess = b.dunning.len().saturating_sub(DUNNING_KEPT);
        b.dunning.drain(..excess);
    }
}

/// What a customer owes today (`GET /v1/customers/{id}/balance`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceView {
    /// Dense index of the customer.
    pub customer: u32,
    /// Captured, not refunded, not yet paid.
    pub principal: Yen,
    /// Statement payment fees.
    pub fees: Yen,
    /// Late fees owed.
    pub late_fees: Yen,
    /// Delay damages owed.
    pub delay_damages: Yen,
    /// Owed again because a returned payment's over-payment credit had
    /// already been spent.
    pub returned_payments: Yen,
    /// Points usable today (net of any claw-back deficit).
    pub points: i64,
    /// Everything owed: the sum of the above.
    pub total: Yen,
    /// Anything past its due date.
    pub overdue: bool,
    /// Money paid beyond what was owed.
    pub credit_balance: Yen,
    /// The most recent dunning steps.
    pub dunning: Vec<DunningEvent>,
}

/// Where a payment plan stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Instalments are being paid on time: late fees, delay damages and
    /// dunning are paused.
    Active,
    /// Everything owed was paid.
    Completed,
    /// An instalment was missed: late fees and damages run again from the
    /// day after the missed due date.
    Broken,
}

/// A payment plan agreed with the customer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivePlan {
    /// The day the plan was agreed.
    pub agreed_on: JstDate,
    /// The debt and its instalments.
    pub plan: PaymentPlan,
    /// Paid towards the plan since it was agreed.
    pub paid: Yen,
    /// Active, completed or broken.
    pub status: PlanStatus,
    /// The day the status last changed.
    pub status_on: JstDate,
}

impl ActivePlan {
    /// Count `applied` towards the plan while it is active.
    pub fn record_payment(&mut self, applied: Yen) {
        if self.status == PlanStatus::Active {
            self.paid = self.paid.checked_add(applied).bounded("plan paid");
        }
    }

    /// What must have been paid before `day` (instalments due before it).
    pub fn required_before(&self, day: JstDate) -> Yen {
        Yen::checked_sum(
            self.plan
                .instalments
                .iter()
                .filter(|i| i.due_on < day)
                .map(|i| i.amount),
        )
        .bounded("instalments due")
    }
}

/// `GET`/`POST /v1/customers/{id}/payment-plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    /// Dense index of the customer.
    pub customer: u32,
    /// The day the plan was agreed.
    pub agreed_on: JstDate,
    /// Everything owed when it was agreed.
    pub debt: Yen,
    /// Paid towards the plan since.
    pub paid: Yen,
    /// Active, completed or broken.
    pub status: PlanStatus,
    /// The day the status last changed.
    pub status_on: JstDate,
    /// The instalments, by due date.
    pub instalments: Vec<Instalment>,
}

impl PlanView {
    pub(crate) fn of(ci: u32, p: &ActivePlan) -> PlanView {
        PlanView {
            customer: ci,
            agreed_on: p.agreed_on,
            debt: p.plan.debt,
            paid: p.paid,
            status: p.status,
            status_on: p.status_on,
            instalments: p.plan.instalments.clone(),
        }
    }
}
