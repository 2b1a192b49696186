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

use atobarai_billing::dunning::DunningEvent;
use atobarai_billing::overdue::OverdueState;
use atobarai_billing::points::PointsWallet;
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
}

impl CustomerBilling {
    /// Fees, late fees and damages owed: paid before any principal.
    pub fn charges_owed(&self) -> Yen {
        Yen::new(self.fees_owed.get() + self.late_fees_owed.get() + self.damages_owed.get())
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
use atobarai_billing::dunning::DunningConfig;
use atobarai_billing::invoice::invoice_number;
use atobarai_billing::points::{Tier, points_for_purchase, points_to_claw_back};
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
        let cfg = self.config.billing.clone();
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
        let Some(b) = c.billing.as_deref_mut() else {
            return;
        };
        if let (Some(due), None) = (first_due, b.overdue) {
            b.overdue = Some(OverdueState::new(due));
        }
        let mut charges: Vec<(Charge, Yen)> = Vec::new();
        if let Some(state) = b.overdue.as_mut()
            && let Ok(accrual) =
                state.advance(day, Yen::new(principal), &cfg, &DunningConfig::default())
        {
            if accrual.late_fees.is_positive() {
                b.late_fees_owed = Yen::new(b.late_fees_owed.get() + accrual.late_fees.get());
                charges.push((Charge::LateFee, accrual.late_fees));
            }
            if accrual.damages.is_positive() {
                b.damages_owed = Yen::new(b.damages_owed.get() + accrual.damages.get());
                charges.push((Charge::DelayDamages, accrual.damages));
            }
            remember_dunning(b, accrual.dunning);
        }
        if principal == 0 && b.late_fees_owed == Yen::ZERO && b.damages_owed == Yen::ZERO {
            b.overdue = None;
        }
        let expired = b.points.expire(day);
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
        let mut fees: Vec<(u32, Yen)> = Vec::new();
        for ci in 0..self.state.customers.len() {
            let orders = &self.state.orders;
            let c = &mut self.state.customers[ci];
            let (current, pending) = (c.payment_method, c.pending_method);
            let Some(b) = c.billing.as_deref_mut() else {
                continue;
            };
            if b.month_orders.is_empty() {
                continue;
            }
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
            let fee = if owed > 0 { dates.fee } else { Yen::ZERO };
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
                orders: taken.len() as u32,
            });
            if fee.is_positive() {
                b.fees_owed = Yen::new(b.fees_owed.get() + fee.get());
                fees.push((ci as u32, fee));
            }
        }
        for (ci, fee) in fees {
            self.post(postings::charge(
                at,
                u64::from(ci),
                ci,
                Charge::PaymentFee,
                fee,
            ));
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
                    orders: 1,
                });
            }
            Product::Monthly => b.month_orders.push(oi),
        }
        self.post(postings::capture(at, u64::from(oi), ci, merchant, captured));
    }

    /// Pay what a customer owes with `amount`: fees, late fees and delay
    /// damages first, then principal of the oldest due orders. An order paid
    /// in full earns its points. Returns the part applied; the caller books
    /// the rest as credit.
    pub(crate) fn pay_down(&mut self, at: At, ci: u32, amount: Yen) -> Yen {
        let cfg = self.config.billing.clone();
        let today = at.jst_date();
        let mut remaining = amount.get();
        let c = &mut self.state.customers[ci as usize];
        if let Some(b) = c.billing.as_deref_mut() {
            for owed in [&mut b.fees_owed, &mut b.late_fees_owed, &mut b.damages_owed] {
                let pay = owed.get().min(remaining);
                *owed = Yen::new(owed.get() - pay);
                remaining -= pay;
                b.charges_paid = Yen::new(b.charges_paid.get() + pay);
            }
        }
        let mut closed = 0usize;
        let mut grants: Vec<(u32, Points)> = Vec::new();
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
            if o.owed() != Yen::ZERO {
                break;
            }
            closed += 1;
            if o.channel == atobarai_core::Channel::Online {
                c.paid_online_orders += 1;
            }
            let net = Yen::new(o.captured.get() - o.refunded.get());
            if let Ok(points) = points_for_purchase(net, Tier::Standard, &cfg)
                && points.is_positive()
                && let Some(b) = c.billing.as_deref_mut()
                && b.points.grant(u64::from(oi), points, today, &cfg).is_ok()
            {
                o.points_granted += points.get();
                grants.push((oi, points));
            }
        }
        c.open_orders.drain(..closed);
        for (oi, points) in grants {
            self.post(postings::points_granted(at, u64::from(oi), points));
        }
        Yen::new(amount.get() - remaining)
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
        let net_after = Yen::new(o.captured.get() - o.refunded.get());
        self.post(postings::refund(at, u64::from(oi), ci, merchant, reduced));
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
            && let Ok(back) =
                points_to_claw_back(Points::new(granted), net_after, Tier::Standard, &cfg)
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
        let (fees, late_fees, damages) = (
            get(|b| b.fees_owed),
            get(|b| b.late_fees_owed),
            get(|b| b.damages_owed),
        );
        let overdue = c.open_orders.first().is_some_and(|&oi| {
            self.state.orders[oi as usize]
                .due_date
                .is_some_and(|d| d < today)
        });
        Ok(BalanceView {
            customer: ci,
            principal: c.outstanding,
            fees,
            late_fees,
            delay_damages: damages,
            points: b.map_or(0, |b| b.points.balance(today).get()),
            total: Yen::new(c.outstanding.get() + fees.get() + late_fees.get() + damages.get()),
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
    ) -> Result<(u32, Vec<Invoice>), CommandError> {
        let ci = self.customer_from_id(principal, id)?;
        let c = &self.state.customers[ci as usize];
        Ok((
            ci,
            c.billing
                .as_deref()
                .map_or_else(Vec::new, |b| b.invoices.clone()),
        ))
    }

    /// One invoice by its number (which names its customer).
    pub fn invoice(
        &self,
        principal: Principal,
        number: &str,
    ) -> Result<(u32, Invoice), CommandError> {
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
        c.billing
            .as_deref()
            .and_then(|b| b.invoices.iter().find(|i| i.number == number))
            .map(|i| (ci, i.clone()))
            .ok_or_else(not_found)
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
