//! Time-driven work: the daily catch-up (late fees, delay damages,
//! dunning, point expiry), month close on the 1st, clock moves.

use super::Engine;
use crate::billing::{PlanStatus, remember_dunning};
use crate::checked::{Bounded, id32};
use crate::error::CommandError;
use crate::view::Outcome;
use crate::webhook::{EventKind, Stored};
use atobarai_billing::overdue::OverdueState;
use atobarai_billing::postings::{self, Charge};
use atobarai_billing::schedule::YearMonth;
use atobarai_core::{At, JstDate, Yen};
use atobarai_ledger::EntryKind;

/// Days one catch-up processes at most; a longer gap (a store left idle for
/// years) jumps, accruing the skipped span at once.
const CATCH_UP_DAYS_MAX: i32 = 3_660;

impl Engine {
    pub(crate) fn advance_clock(&mut self, to: At) -> Result<Outcome, CommandError> {
        if to < self.state.now {
            return Err(CommandError::invalid(
                "clock_backwards",
                "now",
                format!("the clock is at {} and never moves back", self.state.now),
            ));
        }
        check_time(to).map_err(|e| e.field("to"))?;
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

    /// Would a command at `at` start a new JST day (and so trigger the
    /// day's time-driven billing)? The node then journals an explicit clock
    /// command first, so the day's work never rides on a command that may
    /// be refused.
    pub fn needs_tick(&self, at: At) -> bool {
        self.state.billed_through.is_some_and(|d| at.jst_date() > d)
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
        if day.days_until(today) > i64::from(CATCH_UP_DAYS_MAX) {
            day = today.plus_days(-CATCH_UP_DAYS_MAX).unwrap_or(today);
        }
        while day < today {
            // `day < today`, so the next day exists.
            day = day.plus_days(1).bounded("next day");
            if day.day() == 1 {
                self.promote_pending_methods(day);
                // `day` is after the day already billed: yesterday exists.
                let prev = day.plus_days(-1).bounded("previous day");
                self.close_month(at, YearMonth::of(prev));
            }
            for ci in 0..self.state.customers.len() {
                if self.state.customers[ci].billing.is_some() {
                    self.tick_customer(at, id32(ci), day);
                }
            }
        }
        self.state.billed_through = Some(today);
    }

    /// One customer's day: late fees, delay damages and dunning while
    /// anything is overdue, then point expiry.
    pub(crate) fn tick_customer(&mut self, at: At, ci: u32, day: JstDate) {
        let config = &self.config;
        let orders = &self.state.orders;
        let c = &mut self.state.customers[ci as usize];
        // Principal overdue at the start of `day`: open orders are sorted by
        // due date, so stop at the first not yet due.
        let mut principal = Yen::ZERO;
        let mut first_due = None;
        for &oi in &c.open_orders {
            match orders[oi as usize].due_date {
                Some(due) if due < day => {
                    principal = principal
                        .checked_add(orders[oi as usize].owed())
                        .bounded("overdue principal");
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
        let total_owed = outstanding
            .checked_add(b.charges_owed())
            .bounded("total owed");
        let mut paused = false;
        if let Some(plan) = b.plan.as_mut()
            && plan.status == PlanStatus::Active
        {
            if total_owed == Yen::ZERO {
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
        if let Some(state) = b.overdue.as_mut() {
            // Validated rules and a bounded principal: the accrual always
            // computes; skipping it would silently forgive late fees.
            let accrual = state
                .advance(day, principal, &config.billing, &config.dunning)
                .bounded("overdue accrual");
            if accrual.late_fees.is_positive() {
                b.late_fees_owed = b
                    .late_fees_owed
                    .checked_add(accrual.late_fees)
                    .bounded("late fees owed");
                charges.push((Charge::LateFee, accrual.late_fees));
            }
            if accrual.damages.is_positive() {
                b.damages_owed = b
                    .damages_owed
                    .checked_add(accrual.damages)
                    .bounded("damages owed");
                charges.push((Charge::DelayDamages, accrual.damages));
            }
            dunning = accrual.dunning.clone();
            remember_dunning(b, accrual.dunning);
        }
        if principal == Yen::ZERO
            && b.late_fees_owed == Yen::ZERO
            && b.damages_owed == Yen::ZERO
            && fees_due.is_none()
        {
            b.overdue = None;
        }
        let expired = b.points.expire(day);
        if let Some(due) = became_overdue {
            self.score_event(at, ci, crate::score::ScoreEvent::BecameOverdue);
            self.emit(
                at,
                EventKind::CustomerOverdue,
                ci,
                Stored::Overdue {
                    first_missed_due: due,
                    principal,
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
}

/// Refuse a time so close to the end of the calendar that a statement or
/// due date after it could not be computed (the day's billing work must
/// never fail once it starts).
pub(super) fn check_time(t: At) -> Result<(), CommandError> {
    match t.jst_date().plus_days(CALENDAR_MARGIN_DAYS) {
        Ok(_) => Ok(()),
        Err(_) => Err(CommandError::invalid(
            "time_out_of_range",
            "at",
            "the time is too far in the future",
        )),
    }
}

/// Days after any accepted time that dates must still exist for (statement
/// due dates, payment plans, point expiry).
const CALENDAR_MARGIN_DAYS: i32 = 3_660;
