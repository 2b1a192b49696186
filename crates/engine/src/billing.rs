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

pub use atobarai_billing::dunning::{DunningAction, DunningEvent};
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
    pub late_fees_owed: Yen,
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
    pub points: PointsWallet,
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
    pub since: JstDate,
    /// The last month of membership, once cancelled.
    pub ends_after: Option<YearMonth>,
}

impl Membership {
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
    pub number: String,
    /// The invoice or statement it corrects.
    pub invoice: String,
    pub order: u32,
    pub issued_on: JstDate,
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
        Yen::new(
            self.reversal_owed.get()
                + self.fees_owed.get()
                + self.late_fees_owed.get()
                + self.damages_owed.get(),
        )
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
        Yen::new(self.charges.iter().sum::<i64>() + self.orders.iter().map(|o| o.1).sum::<i64>())
    }
}

/// An invoice as the customer receives it: per order (at capture) or a
/// monthly statement (on the 1st).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    pub product: Product,
    /// The order of a per-order invoice.
    pub order: Option<u32>,
    /// The purchase month of a statement.
    pub month: Option<YearMonth>,
    pub issued_on: JstDate,
    pub due_on: JstDate,
    pub method: PaymentMethod,
    /// Purchases billed (captured − refunded at issue).
    pub purchases: Yen,
    pub fee: Yen,
    /// The paid tier's monthly fee, on statements.
    pub membership_fee: Yen,
    pub orders: u32,
}

/// Push a dunning event, keeping the most recent [`DUNNING_KEPT`].
pub fn remember_dunning(b: &mut CustomerBilling, events: Vec<DunningEvent>) {
    b.dunning.extend(events);
    if b.dunning.len() > DUNNING_KEPT {
        let excess = b.dunning.len() - DUNNING_KEPT;
        b.dunning.drain(..excess);
    }
}

// ----- the engine's billing work ---------------------------------------------

use crate::due;
use crate::engine::Engine;
use atobarai_billing::BillingError;
use atobarai_billing::invoice::invoice_number;
use atobarai_billing::points::{points_for_purchase, points_to_claw_back};
use atobarai_billing::postings::{self, Charge, YenEntry};
use atobarai_billing::schedule::statement_dates;
use atobarai_core::At;
use atobarai_ledger::{Account, EntryKind, NewEntry, Points, Posting, transfer};

/// Days one catch-up processes at most; a longer gap (a store left idle for
/// years) jumps, accruing the skipped span at once.
const CATCH_UP_DAYS_MAX: i64 = 3_660;

impl Engine {
    /// Would a command at `at` start a new JST day (and so trigger the
    /// day's time-driven billing)? The node then journals an explicit clock
    /// command first, so the day's work never rides on a command that may
    /// be refused.
    pub fn needs_tick(&self, at: At) -> bool {
        self.state.billed_through.is_some_and(|d| at.jst_date() > d)
    }

    /// Post a balanced entry. A zero amount posts nothing. Any other refusal
    /// is a bug; it is counted (never panics) and reported by
    /// [`Engine::check_invariants`].
    pub(crate) fn post(&mut self, entry: Result<YenEntry, BillingError>) {
        match entry {
            Ok(e) => {
                if self.state.ledger.post(e).is_err() {
                    self.state.ledger_errors += 1;
                }
            }
            Err(BillingError::NotPositive) => {}
            Err(_) => self.state.ledger_errors += 1,
        }
    }

    /// Bring time-driven billing up to `at`'s JST day: for each new day,
    /// month close on the 1st, then each billed customer's overdue accrual
    /// and point expiry.
    pub(crate) fn catch_up(&mut self, at: At) {
        let today = at.jst_date();
        let Some(mut day) = self.state.billed_through else {
            self.state.billed_through = Some(today);
            return;
        };
        if today <= day {
            return;
        }
        if day.days_until(today) > CATCH_UP_DAYS_MAX {
            day = today
                .plus_days(-(CATCH_UP_DAYS_MAX as i32))
                .unwrap_or(today);
        }
        while day < today {
            let Ok(next) = day.plus_days(1) else { break };
            day = next;
            if day.day() == 1 {
                self.promote_pending_methods(day);
                if let Ok(prev) = day.plus_days(-1) {
                    self.close_month(at, YearMonth::of(prev));
                }
            }
            for ci in 0..self.state.customers.len() {
                if self.state.customers[ci].billing.is_some() {
                    self.tick_customer(at, ci as u32, day);
                }
            }
        }
        self.state.billed_through = Some(today);
    }

    /// One customer's day: late fees, delay damages and dunning while
    /// anything is overdue, then point expiry.
    fn tick_customer(&mut self, at: At, ci: u32, day: JstDate) {
        let config = &self.config;
        let orders = &self.state.orders;
        let c = &mut self.state.customers[ci as usize];
        // Principal overdue at the start of `day`: open orders are sorted by
        // due date, so stop at the first not yet due.
        let mut principal = 0i64;
        let mut first_due = None;
        for &oi in &c.open_orders {
            match orders[oi as usize].due_date {
                Some(due) if due < day => {
                    principal += orders[oi as usize].owed().get();
                    first_due = first_due.or(Some(due));
                }
                _ => break,
            }
        }
        let outstanding = c.outstanding;
        let Some(b) = c.billing.as_deref_mut() else {
            return;
        };
        // Statement fees (payment fee, membership fee) unpaid past their due
        // date make the customer overdue too: reminders and late fees run
        // (damages accrue on principal only).
        let fees_due = b.fees_due_since.filter(|&d| d < day);
        let first_due = match (first_due, fees_due) {
            (Some(a), Some(f)) => Some(a.min(f)),
            (a, f) => a.or(f),
        };
        let mut became_overdue = None;
        if let (Some(due), None) = (first_due, b.overdue) {
            b.overdue = Some(OverdueState::new(due));
            became_overdue = Some(due);
        }
        // A plan kept to pauses late fees, damages and dunning; a missed
        // instalment breaks it and they run again from that day.
        let total_owed = outstanding.get() + b.charges_owed().get();
        let mut paused = false;
        if let Some(plan) = b.plan.as_mut()
            && plan.status == PlanStatus::Active
        {
            if total_owed == 0 {
                plan.status = PlanStatus::Completed;
                plan.status_on = day;
            } else if plan.paid < plan.required_before(day) {
                plan.status = PlanStatus::Broken;
                plan.status_on = day;
            } else {
                paused = true;
            }
        }
        if paused && let Some(state) = b.overdue.as_mut() {
            state.accrued_through = state.accrued_through.max(day);
        }
        let mut charges: Vec<(Charge, Yen)> = Vec::new();
        let mut dunning = Vec::new();
        if let Some(state) = b.overdue.as_mut()
            && let Ok(accrual) =
                state.advance(day, Yen::new(principal), &config.billing, &config.dunning)
        {
            if accrual.late_fees.is_positive() {
                b.late_fees_owed = Yen::new(b.late_fees_owed.get() + accrual.late_fees.get());
                charges.push((Charge::LateFee, accrual.late_fees));
            }
            if accrual.damages.is_positive() {
                b.damages_owed = Yen::new(b.damages_owed.get() + accrual.damages.get());
                charges.push((Charge::DelayDamages, accrual.damages));
            }
            dunning = accrual.dunning.clone();
            remember_dunning(b, accrual.dunning);
        }
        if principal == 0
            && b.late_fees_owed == Yen::ZERO
            && b.damages_owed == Yen::ZERO
            && fees_due.is_none()
        {
            b.overdue = None;
        }
        let expired = b.points.expire(day);
        if let Some(due) = became_overdue {
            self.emit(
                at,
                EventKind::CustomerOverdue,
                ci,
                Stored::Overdue {
                    first_missed_due: due,
                    principal: Yen::new(principal),
                },
            );
        }
        for step in dunning {
            self.emit(at, EventKind::DunningStep, ci, Stored::Dunning(step));
        }
        for (kind, amount) in charges {
            self.post(postings::charge(at, u64::from(ci), ci, kind, amount));
        }
        if expired.is_positive() {
            self.post(postings::points_released(
                at,
                u64::from(ci),
                EntryKind::PointsExpire,
                expired,
            ));
        }
    }

    /// Close `month`: every customer with monthly purchases captured in it
    /// gets a statement, issued on the 1st, with the payment-method fee when
    /// anything is left to pay.
    fn close_month(&mut self, at: At, month: YearMonth) {
        let cfg = self.config.billing.clone();
        let mut fees: Vec<(u32, Charge, Yen)> = Vec::new();
        let mut issued: Vec<(u32, usize)> = Vec::new();
        for ci in 0..self.state.customers.len() {
            let orders = &self.state.orders;
            let c = &mut self.state.customers[ci];
            let (current, pending) = (c.payment_method, c.pending_method);
            let Some(b) = c.billing.as_deref_mut() else {
                continue;
            };
            let member = b.membership.is_some_and(|m| m.active_in(month));
            if b.membership
                .is_some_and(|m| m.ends_after.is_some_and(|e| e <= month))
            {
                b.membership = None;
            }
            if b.month_orders.is_empty() && !member {
                continue;
            }
            let membership_fee = if member {
                cfg.paid_tier_fee_yen
            } else {
                Yen::ZERO
            };
            let taken = std::mem::take(&mut b.month_orders);
            let purchases: i64 = taken
                .iter()
                .map(|&oi| {
                    let o = &orders[oi as usize];
                    o.captured.get() - o.refunded.get()
                })
                .sum();
            let owed: i64 = taken
                .iter()
                .map(|&oi| orders[oi as usize].owed().get())
                .sum();
            let method = due::method_in_effect(
                current,
                pending,
                month.last_day().plus_days(1).unwrap_or(month.last_day()),
            );
            let Ok(dates) = statement_dates(month, method, &cfg) else {
                continue;
            };
            let fee = if owed + membership_fee.get() > 0 {
                dates.fee
            } else {
                Yen::ZERO
            };
            let number = invoice_number(
                Product::Monthly,
                dates.issued_on,
                ci as u32,
                b.invoices.len() as u32 + 1,
            );
            b.invoices.push(Invoice {
                number: number.to_string(),
                product: Product::Monthly,
                order: None,
                month: Some(month),
                issued_on: dates.issued_on,
                due_on: dates.due_on,
                method,
                purchases: Yen::new(purchases),
                fee,
                membership_fee,
                orders: taken.len() as u32,
            });
            if (fee.is_positive() || membership_fee.is_positive()) && b.fees_due_since.is_none() {
                b.fees_due_since = Some(dates.due_on);
            }
            if fee.is_positive() {
                b.fees_owed = Yen::new(b.fees_owed.get() + fee.get());
                fees.push((ci as u32, Charge::PaymentFee, fee));
            }
            if membership_fee.is_positive() {
                b.fees_owed = Yen::new(b.fees_owed.get() + membership_fee.get());
                fees.push((ci as u32, Charge::MembershipFee, membership_fee));
            }
            issued.push((ci as u32, b.invoices.len() - 1));
        }
        for (ci, kind, fee) in fees {
            self.post(postings::charge(at, u64::from(ci), ci, kind, fee));
        }
        for (ci, i) in issued {
            self.emit_invoice_issued(at, ci, i);
        }
    }

    /// After a capture: the per-order invoice (or a place on next month's
    /// statement) and the ledger entry.
    pub(crate) fn on_capture(&mut self, at: At, oi: u32) {
        let o = &self.state.orders[oi as usize];
        let (ci, merchant, product, captured) = (o.customer, o.merchant, o.product, o.captured);
        let due_on = o.due_date.unwrap_or_else(|| at.jst_date());
        let c = &mut self.state.customers[ci as usize];
        let method = c.payment_method;
        let b = c.billing.get_or_insert_with(Default::default);
        match product {
            Product::PerOrder => {
                let issued_on = at.jst_date();
                let number = invoice_number(
                    Product::PerOrder,
                    issued_on,
                    ci,
                    b.invoices.len() as u32 + 1,
                );
                b.invoices.push(Invoice {
                    number: number.to_string(),
                    product,
                    order: Some(oi),
                    month: None,
                    issued_on,
                    due_on,
                    method,
                    purchases: captured,
                    fee: Yen::ZERO,
                    membership_fee: Yen::ZERO,
                    orders: 1,
                });
                let i = b.invoices.len() - 1;
                self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
                self.emit_invoice_issued(at, ci, i);
            }
            Product::Monthly => {
                b.month_orders.push(oi);
                self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
            }
        }
    }

    /// Pay what a customer owes with `amount`: a reversal shortfall, fees,
    /// late fees and delay damages first, then principal of the oldest due
    /// orders. An order paid in full earns its points. Returns how the money
    /// was spent; the caller books the rest as credit.
    pub(crate) fn pay_down(&mut self, at: At, ci: u32, amount: Yen) -> PaidDown {
        let cfg = self.config.billing.clone();
        let today = at.jst_date();
        let mut remaining = amount.get();
        let mut out = PaidDown::default();
        let c = &mut self.state.customers[ci as usize];
        let tier = c
            .billing
            .as_deref()
            .map_or(Tier::Standard, |b| b.tier_on(today));
        if let Some(b) = c.billing.as_deref_mut() {
            out.overdue_before = b.overdue;
            out.fees_due_before = b.fees_due_since;
            for (k, owed) in [
                &mut b.reversal_owed,
                &mut b.fees_owed,
                &mut b.late_fees_owed,
                &mut b.damages_owed,
            ]
            .into_iter()
            .enumerate()
            {
                let pay = owed.get().min(remaining);
                *owed = Yen::new(owed.get() - pay);
                remaining -= pay;
                out.charges[k] = pay;
                b.charges_paid = Yen::new(b.charges_paid.get() + pay);
            }
            if b.fees_owed == Yen::ZERO {
                b.fees_due_since = None;
            }
        }
        let mut closed = 0usize;
        // By index: `settle` needs the customer mutably inside the loop.
        for i in 0..c.open_orders.len() {
            let oi = c.open_orders[i];
            if remaining == 0 {
                break;
            }
            let o = &mut self.state.orders[oi as usize];
            let pay = o.owed().get().min(remaining);
            o.paid = Yen::new(o.paid.get() + pay);
            remaining -= pay;
            c.settle(o.product, o.channel, pay);
            let full = o.owed() == Yen::ZERO;
            out.orders.push((oi, pay, full));
            if !full {
                break;
            }
            closed += 1;
            if o.channel == atobarai_core::Channel::Online {
                c.paid_online_orders += 1;
            }
            let net = Yen::new(o.captured.get() - o.refunded.get());
            if let Ok(points) = points_for_purchase(net, tier, &cfg)
                && points.is_positive()
                && let Some(b) = c.billing.as_deref_mut()
                && b.points.grant(u64::from(oi), points, today, &cfg).is_ok()
            {
                o.points_granted += points.get();
                o.points_paid_tier = tier == Tier::Paid;
                out.points.push((oi, points.get()));
            }
        }
        c.open_orders.drain(..closed);
        for &(oi, points) in &out.points {
            self.post(postings::points_granted(
                at,
                u64::from(oi),
                Points::new(points),
            ));
        }
        out
    }

    /// Ledger entry of a received payment: cash in; receivable down by
    /// what was applied, customer credit up by the rest.
    pub(crate) fn post_payment(
        &mut self,
        at: At,
        payment: u32,
        ci: u32,
        amount: Yen,
        applied: Yen,
    ) {
        let mut postings = vec![Posting::debit(Account::Cash, amount)];
        if applied.is_positive() {
            postings.push(Posting::credit(Account::CustomerReceivable(ci), applied));
        }
        let to_credit = Yen::new(amount.get() - applied.get());
        if to_credit.is_positive() {
            postings.push(Posting::credit(Account::CustomerCredit(ci), to_credit));
        }
        self.post(Ok(NewEntry {
            at,
            kind: EntryKind::Payment,
            reference: u64::from(payment),
            postings,
        }));
    }

    /// Ledger entries of a refund of `amount` of which `reduced` lowered
    /// what was owed and the rest came back as credit; points granted on the
    /// refunded amount are taken back.
    pub(crate) fn on_refund(&mut self, at: At, oi: u32, reduced: Yen, amount: Yen) {
        let cfg = self.config.billing.clone();
        let o = &self.state.orders[oi as usize];
        let (ci, merchant, granted) = (o.customer, o.merchant, o.points_granted);
        let tier = if o.points_paid_tier {
            Tier::Paid
        } else {
            Tier::Standard
        };
        let net_after = Yen::new(o.captured.get() - o.refunded.get());
        self.post(postings::refund(at, u64::from(oi), ci, merchant, reduced));
        self.issue_credit_note(at, oi, amount);
        let to_credit = Yen::new(amount.get() - reduced.get());
        if to_credit.is_positive() {
            self.post(Ok(transfer(
                at,
                EntryKind::Refund,
                u64::from(oi),
                Account::MerchantPayable(merchant),
                Account::CustomerCredit(ci),
                to_credit,
            )));
        }
        if granted > 0
            && let Ok(back) = points_to_claw_back(Points::new(granted), net_after, tier, &cfg)
            && back.is_positive()
        {
            let taken = self.state.customers[ci as usize]
                .billing
                .as_deref_mut()
                .map(|b| {
                    b.points
                        .claw_back(u64::from(oi), back, at.jst_date())
                        .is_ok()
                })
                .unwrap_or(false);
            if taken {
                self.state.orders[oi as usize].points_granted -= back.get();
                self.post(postings::points_released(
                    at,
                    u64::from(oi),
                    EntryKind::PointsClawBack,
                    back,
                ));
            }
        }
    }

    /// Ledger and billing checks for [`Engine::check_invariants`].
    pub(crate) fn check_billing(&self) -> Result<(), String> {
        if self.state.ledger_errors > 0 {
            return Err(format!(
                "{} ledger entries were refused",
                self.state.ledger_errors
            ));
        }
        self.state
            .ledger
            .check_invariants()
            .map_err(|e| format!("ledger: {e}"))?;
        for (ci, c) in self.state.customers.iter().enumerate() {
            let charges = c
                .billing
                .as_deref()
                .map_or(Yen::ZERO, CustomerBilling::charges_owed);
            let receivable = self
                .state
                .ledger
                .balance(Account::CustomerReceivable(ci as u32));
            let expected = c.outstanding.get() + charges.get();
            if receivable.get() != expected {
                return Err(format!(
                    "customer {ci}: ledger receivable {} but engine owes {expected}",
                    receivable.get()
                ));
            }
            let credit = self
                .state
                .ledger
                .balance(Account::CustomerCredit(ci as u32));
            if credit.get() != -c.credit.get() {
                return Err(format!(
                    "customer {ci}: ledger credit {} but engine credit {}",
                    -credit.get(),
                    c.credit.get()
                ));
            }
            if let Some(b) = c.billing.as_deref() {
                b.points
                    .check()
                    .map_err(|e| format!("customer {ci} points: {e}"))?;
            }
        }
        Ok(())
    }
}

// ----- queries ---------------------------------------------------------------

use crate::command::Principal;
use crate::error::CommandError;
use crate::prefix;
use atobarai_core::ids;

/// What a customer owes today (`GET /v1/customers/{id}/balance`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceView {
    pub customer: u32,
    /// Captured, not refunded, not yet paid.
    pub principal: Yen,
    /// Statement payment fees.
    pub fees: Yen,
    pub late_fees: Yen,
    pub delay_damages: Yen,
    /// Owed again because a returned payment's over-payment credit had
    /// already been spent.
    pub returned_payments: Yen,
    /// Points usable today (net of any claw-back deficit).
    pub points: i64,
    pub total: Yen,
    pub overdue: bool,
    pub credit_balance: Yen,
    pub dunning: Vec<DunningEvent>,
}

impl Engine {
    fn customer_from_id(&self, principal: Principal, id: &str) -> Result<u32, CommandError> {
        let customer = ids::decode(prefix::CUSTOMER, id)
            .ok_or_else(|| CommandError::not_found("customer_not_found", "id", "customer"))?;
        self.customer_index(principal, customer)
            .map_err(|e| e.field("id"))
    }

    pub fn balance(&self, principal: Principal, id: &str) -> Result<BalanceView, CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        let c = &self.state.customers[ci as usize];
        let today = self.state.now.jst_date();
        let b = c.billing.as_deref();
        let get = |f: fn(&CustomerBilling) -> Yen| b.map_or(Yen::ZERO, f);
        let (fees, late_fees, damages, returned) = (
            get(|b| b.fees_owed),
            get(|b| b.late_fees_owed),
            get(|b| b.damages_owed),
            get(|b| b.reversal_owed),
        );
        let overdue = self.is_overdue(c, today);
        Ok(BalanceView {
            customer: ci,
            principal: c.outstanding,
            fees,
            late_fees,
            delay_damages: damages,
            returned_payments: returned,
            points: b.map_or(0, |b| b.points.balance(today).get()),
            total: Yen::new(
                c.outstanding.get() + fees.get() + late_fees.get() + damages.get() + returned.get(),
            ),
            overdue,
            credit_balance: c.credit,
            dunning: b.map_or_else(Vec::new, |b| b.dunning.clone()),
        })
    }

    /// A customer's invoices and statements, newest last.
    pub fn invoices(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<(u32, Vec<Invoice>, Vec<CreditNote>), CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        let c = &self.state.customers[ci as usize];
        let b = c.billing.as_deref();
        Ok((
            ci,
            b.map_or_else(Vec::new, |b| b.invoices.clone()),
            b.map_or_else(Vec::new, |b| b.credit_notes.clone()),
        ))
    }

    /// One invoice by its number (which names its customer).
    pub fn invoice(
        &self,
        principal: Principal,
        number: &str,
    ) -> Result<(u32, Invoice, Vec<CreditNote>), CommandError> {
        let not_found = || CommandError::not_found("invoice_not_found", "id", "invoice");
        if !atobarai_billing::invoice::InvoiceNumber::is_valid(number) {
            return Err(not_found());
        }
        let customer: u64 = number
            .split('-')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(not_found)?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|_| not_found())?;
        let c = &self.state.customers[ci as usize];
        let b = c.billing.as_deref().ok_or_else(not_found)?;
        let invoice = b
            .invoices
            .iter()
            .find(|i| i.number == number)
            .ok_or_else(not_found)?;
        let notes = b
            .credit_notes
            .iter()
            .filter(|n| n.invoice == number)
            .cloned()
            .collect();
        Ok((ci, invoice.clone(), notes))
    }
}

impl Engine {
    /// Points as a discount on the monthly product: checked against usable
    /// points and against what is owed on monthly orders, then applied to
    /// those orders oldest due first. Points that paid an order later
    /// refunded come back as credit, not as points: a use is final.
    pub(crate) fn redeem_points(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        points: i64,
    ) -> Result<crate::view::Outcome, CommandError> {
        let ci = self.customer_index_for_write(principal, customer)?;
        if points <= 0 {
            return Err(CommandError::invalid(
                "points_not_positive",
                "points",
                "points must be positive",
            ));
        }
        let today = at.jst_date();
        let c = &self.state.customers[ci as usize];
        let usable = c
            .billing
            .as_deref()
            .map_or(0, |b| b.points.balance(today).get());
        if points > usable {
            return Err(CommandError::invalid(
                "points_insufficient",
                "points",
                format!("{usable} points are usable today"),
            ));
        }
        let orders = &self.state.orders;
        let monthly_owed: i64 = c
            .open_orders
            .iter()
            .map(|&oi| &orders[oi as usize])
            .filter(|o| o.product == Product::Monthly)
            .map(|o| o.owed().get())
            .sum();
        if points > monthly_owed {
            return Err(CommandError::invalid(
                "points_exceed_statement",
                "points",
                format!("points pay only what is owed on the monthly product (¥{monthly_owed})"),
            ));
        }
        // Validated; from here on only mutations.
        let c = &mut self.state.customers[ci as usize];
        let Some(b) = c.billing.as_deref_mut() else {
            return Err(CommandError::invalid(
                "points_insufficient",
                "points",
                "no points",
            ));
        };
        if b.points.redeem(Points::new(points), today).is_err() {
            return Err(CommandError::invalid(
                "points_insufficient",
                "points",
                "points are not usable",
            ));
        }
        b.points_paid = Yen::new(b.points_paid.get() + points);
        let mut left = points;
        let mut closed = Vec::new();
        for i in 0..c.open_orders.len() {
            let oi = c.open_orders[i];
            if left == 0 {
                break;
            }
            let o = &mut self.state.orders[oi as usize];
            if o.product != Product::Monthly {
                continue;
            }
            let pay = o.owed().get().min(left);
            o.paid = Yen::new(o.paid.get() + pay);
            left -= pay;
            c.settle(o.product, o.channel, pay);
            if o.owed() == Yen::ZERO {
                closed.push(oi);
                if o.channel == atobarai_core::Channel::Online {
                    c.paid_online_orders += 1;
                }
            }
        }
        c.open_orders.retain(|oi| !closed.contains(oi));
        self.post(postings::points_redeemed(
            at,
            u64::from(ci),
            ci,
            Points::new(points),
        ));
        let id = ids::encode(prefix::CUSTOMER, u64::from(ci));
        self.balance(Principal::System, &id)
            .map(crate::view::Outcome::Balance)
    }
}

// ----- events, credit notes, reversals, membership, payment plans -----------

use crate::state::Reversal;
use crate::webhook::{EventKind, Stored};
use atobarai_billing::dunning::{Instalment, PaymentPlan, split_into_instalments};
use atobarai_billing::invoice::credit_note_number;
use atobarai_billing::schedule::due_day;

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
    pub agreed_on: JstDate,
    pub plan: PaymentPlan,
    /// Paid towards the plan since it was agreed.
    pub paid: Yen,
    pub status: PlanStatus,
    /// The day the status last changed.
    pub status_on: JstDate,
}

impl ActivePlan {
    pub fn record_payment(&mut self, applied: Yen) {
        if self.status == PlanStatus::Active {
            self.paid = Yen::new(self.paid.get() + applied.get());
        }
    }

    /// What must have been paid before `day` (instalments due before it).
    pub fn required_before(&self, day: JstDate) -> Yen {
        Yen::new(
            self.plan
                .instalments
                .iter()
                .filter(|i| i.due_on < day)
                .map(|i| i.amount.get())
                .sum(),
        )
    }
}

/// `GET`/`POST /v1/customers/{id}/payment-plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanView {
    pub customer: u32,
    pub agreed_on: JstDate,
    pub debt: Yen,
    pub paid: Yen,
    pub status: PlanStatus,
    pub status_on: JstDate,
    pub instalments: Vec<Instalment>,
}

impl PlanView {
    fn of(ci: u32, p: &ActivePlan) -> PlanView {
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

impl Engine {
    pub(crate) fn emit_invoice_issued(&mut self, at: At, ci: u32, i: usize) {
        self.emit(at, EventKind::InvoiceIssued, ci, Stored::Invoice(i as u32));
    }

    pub(crate) fn emit_payment_received(&mut self, at: At, pi: u32) {
        let ci = self.state.payments[pi as usize].customer;
        self.emit(at, EventKind::PaymentReceived, ci, Stored::Payment(pi));
    }

    /// A refund of an order already on an issued invoice or statement: a
    /// credit note against that document.
    pub(crate) fn issue_credit_note(&mut self, at: At, oi: u32, amount: Yen) {
        let o = &self.state.orders[oi as usize];
        let ci = o.customer;
        let month = o.captured_at.map(|t| YearMonth::of(t.jst_date()));
        let product = o.product;
        let today = at.jst_date();
        let Some(b) = self.state.customers[ci as usize].billing.as_deref_mut() else {
            return;
        };
        if product == Product::Monthly && b.month_orders.contains(&oi) {
            // Not invoiced yet: the statement will bill the net amount.
            return;
        }
        let found = b.invoices.iter().position(|i| match product {
            Product::PerOrder => i.order == Some(oi),
            Product::Monthly => i.product == Product::Monthly && i.month == month,
        });
        let Some(ii) = found else { return };
        let invoice = b.invoices[ii].number.clone();
        let earlier: i64 = b
            .credit_notes
            .iter()
            .filter(|n| n.invoice == invoice)
            .map(|n| n.amount.get())
            .sum();
        let amount_after = Yen::new(b.invoices[ii].purchases.get() - earlier - amount.get());
        let number = credit_note_number(today, ci, b.credit_notes.len() as u32 + 1).to_string();
        b.credit_notes.push(CreditNote {
            number,
            invoice,
            order: oi,
            issued_on: today,
            amount,
            amount_after,
        });
        let note = (b.credit_notes.len() - 1) as u32;
        self.emit(
            at,
            EventKind::CreditNoteIssued,
            ci,
            Stored::CreditNote(note),
        );
    }

    /// A payment returned by its channel: what it paid is owed again (fees,
    /// damages and principal as they were), the over-payment it left as
    /// credit is taken back (what was already spent is owed as a reversal
    /// shortfall), points it earned are clawed back, and a paused overdue
    /// state resumes.
    pub(crate) fn reverse_payment(
        &mut self,
        at: At,
        principal: Principal,
        payment: u64,
        reason: &str,
    ) -> Result<crate::view::Outcome, CommandError> {
        let not_found = || CommandError::not_found("payment_not_found", "id", "payment");
        let pi = u32::try_from(payment).map_err(|_| not_found())?;
        let p = self.state.payments.get(pi as usize).ok_or_else(not_found)?;
        let ci = self
            .customer_index_for_write(principal, u64::from(p.customer))
            .map_err(|e| {
                if e.kind == crate::ErrorKind::NotFound {
                    not_found()
                } else {
                    e
                }
            })?;
        if p.reversed.is_some() {
            return Err(CommandError::conflict(
                "payment_already_reversed",
                "this payment was already reversed",
            )
            .field("id"));
        }
        // Validated; from here on only mutations.
        let (amount, applied) = (p.amount, p.applied);
        let paid_down = (*p.paid_down).clone();
        let today = at.jst_date();
        let mut receivable_up: i64 = paid_down.charges.iter().sum();
        let mut from_credit = amount.get() - applied.get();
        for &(oi, yen, closed) in &paid_down.orders {
            let o = &mut self.state.orders[oi as usize];
            let before = o.owed().get();
            o.paid = Yen::new(o.paid.get() - yen);
            let after = o.owed().get();
            let more = after - before;
            receivable_up += more;
            from_credit += yen - more;
            let (product, channel) = (o.product, o.channel);
            let c = &mut self.state.customers[ci as usize];
            c.settle(product, channel, -more);
            if closed && channel == atobarai_core::Channel::Online {
                c.paid_online_orders = c.paid_online_orders.saturating_sub(1);
            }
            if before == 0 && more > 0 {
                c.open_order(&self.state.orders, oi);
            }
        }
        let c = &mut self.state.customers[ci as usize];
        let take = c.credit.get().min(from_credit);
        c.credit = Yen::new(c.credit.get() - take);
        let shortfall = from_credit - take;
        receivable_up += shortfall;
        let b = c.billing.get_or_insert_with(Default::default);
        let [rev, fees, late, damages] = paid_down.charges;
        b.reversal_owed = Yen::new(b.reversal_owed.get() + rev + shortfall);
        b.reversal_shortfall = Yen::new(b.reversal_shortfall.get() + shortfall);
        b.fees_owed = Yen::new(b.fees_owed.get() + fees);
        if fees > 0 {
            b.fees_due_since = b.fees_due_since.or(paid_down.fees_due_before);
        }
        b.late_fees_owed = Yen::new(b.late_fees_owed.get() + late);
        b.damages_owed = Yen::new(b.damages_owed.get() + damages);
        b.charges_paid = Yen::new(b.charges_paid.get() - (rev + fees + late + damages));
        if b.overdue.is_none() {
            b.overdue = paid_down.overdue_before;
        }
        if let Some(plan) = b.plan.as_mut()
            && plan.status != PlanStatus::Broken
        {
            plan.paid = Yen::new((plan.paid.get() - applied.get()).max(0));
            plan.status = PlanStatus::Active;
        }
        let mut clawed = Vec::new();
        for &(oi, points) in &paid_down.points {
            if b.points
                .claw_back(u64::from(oi), Points::new(points), today)
                .is_ok()
            {
                clawed.push((oi, points));
            }
        }
        for &(oi, points) in &clawed {
            self.state.orders[oi as usize].points_granted -= points;
            self.post(postings::points_released(
                at,
                u64::from(oi),
                EntryKind::PointsClawBack,
                Points::new(points),
            ));
        }
        let mut postings = vec![Posting::credit(Account::Cash, amount)];
        if receivable_up > 0 {
            postings.push(Posting::debit(
                Account::CustomerReceivable(ci),
                Yen::new(receivable_up),
            ));
        }
        if take > 0 {
            postings.push(Posting::debit(Account::CustomerCredit(ci), Yen::new(take)));
        }
        self.post(Ok(NewEntry {
            at,
            kind: EntryKind::PaymentReversal,
            reference: u64::from(pi),
            postings,
        }));
        self.state.payments[pi as usize].reversed = Some(Box::new(Reversal {
            at,
            reason: reason.to_owned(),
            shortfall: Yen::new(shortfall),
        }));
        self.emit(at, EventKind::PaymentReversed, ci, Stored::Reversal(pi));
        Ok(crate::view::Outcome::Payment(self.payment_view(pi)))
    }

    /// Take or cancel the paid tier. Taking it starts today (this month is
    /// billed in full); cancelling ends it with the current month.
    pub(crate) fn set_membership(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        paid: bool,
    ) -> Result<crate::view::Outcome, CommandError> {
        // A paid subscription is the customer's contract with the provider:
        // its app (an operator key) sets it, never a merchant.
        let ci = self.customer_index_for_provider(
            principal,
            customer,
            "the paid tier is set by the provider, not by merchants",
        )?;
        let today = at.jst_date();
        let this_month = YearMonth::of(today);
        let c = &mut self.state.customers[ci as usize];
        let b = c.billing.get_or_insert_with(Default::default);
        b.membership = match (b.membership, paid) {
            (None, true) => Some(Membership {
                since: today,
                ends_after: None,
            }),
            // Re-taking before the month ends undoes the cancellation.
            (Some(m), true) => Some(Membership {
                ends_after: None,
                ..m
            }),
            (Some(m), false) => Some(Membership {
                ends_after: Some(m.ends_after.unwrap_or(this_month).min(this_month)),
                ..m
            }),
            (None, false) => None,
        };
        let id = ids::encode(prefix::CUSTOMER, u64::from(ci));
        self.customer(Principal::System, &id)
            .map(crate::view::Outcome::Customer)
    }

    /// An operator agrees a plan: everything the customer owes today, in
    /// `count` monthly instalments from next month on the due day of the
    /// customer's payment method.
    pub(crate) fn agree_payment_plan(
        &mut self,
        at: At,
        principal: Principal,
        customer: u64,
        count: u32,
    ) -> Result<crate::view::Outcome, CommandError> {
        let ci = self.customer_index_for_provider(
            principal,
            customer,
            "payment plans are agreed by the provider's operators",
        )?;
        let today = at.jst_date();
        let c = &self.state.customers[ci as usize];
        let charges = c
            .billing
            .as_deref()
            .map_or(Yen::ZERO, CustomerBilling::charges_owed);
        let debt = Yen::new(c.outstanding.get() + charges.get());
        if c.billing
            .as_deref()
            .and_then(|b| b.plan.as_ref())
            .is_some_and(|p| p.status == PlanStatus::Active)
        {
            return Err(CommandError::conflict(
                "payment_plan_active",
                "the customer already has an active payment plan",
            )
            .field("customer"));
        }
        if !debt.is_positive() {
            return Err(CommandError::invalid(
                "nothing_owed",
                "customer",
                "the customer owes nothing",
            ));
        }
        if count < 2 {
            return Err(CommandError::invalid(
                "instalments_out_of_range",
                "instalments",
                "a plan has at least 2 instalments",
            ));
        }
        let method = c.payment_method;
        let first = YearMonth::of(today)
            .next()
            .map_err(|_| CommandError::invalid("date_out_of_range", "now", "date out of range"))?;
        let plan = split_into_instalments(
            debt,
            count,
            first,
            due_day(method, &self.config.billing),
            method,
        )
        .map_err(|e| {
            CommandError::invalid("instalments_out_of_range", "instalments", e.to_string())
        })?;
        let c = &mut self.state.customers[ci as usize];
        let b = c.billing.get_or_insert_with(Default::default);
        let active = ActivePlan {
            agreed_on: today,
            plan,
            paid: Yen::ZERO,
            status: PlanStatus::Active,
            status_on: today,
        };
        let view = PlanView::of(ci, &active);
        b.plan = Some(active);
        Ok(crate::view::Outcome::Plan(view))
    }

    /// A customer's payment plan, if one was ever agreed.
    pub fn payment_plan(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<Option<PlanView>, CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        Ok(self.state.customers[ci as usize]
            .billing
            .as_deref()
            .and_then(|b| b.plan.as_ref())
            .map(|p| PlanView::of(ci, p)))
    }

    /// A customer's credit notes, oldest first.
    pub fn credit_notes(
        &self,
        principal: Principal,
        id: &str,
    ) -> Result<Vec<CreditNote>, CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        Ok(self.state.customers[ci as usize]
            .billing
            .as_deref()
            .map_or_else(Vec::new, |b| b.credit_notes.clone()))
    }
}
