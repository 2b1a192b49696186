//! Training data from the engine's own history: a tap that sees every risk
//! feature vector at the moment of decision (so a dataset built while a
//! journal replays holds nothing from after the decision), and each
//! order's outcome as observed at the end.

use super::Engine;
use crate::reason::ReasonCode;
use crate::risk::features::Features;
use crate::state::OrderStatus;
use atobarai_core::At;

/// Called with `(order, time, features)` for every authorization the
/// credit rules let through, as it is decided.
pub type FeatureTap = Box<dyn FnMut(u32, At, &Features) + Send>;

/// What became of an order, as far as the engine knows now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderOutcome {
    /// Declined at authorization (rules or policy).
    Declined,
    /// Held, then declined by an analyst.
    OperatorDeclined,
    /// Cancelled before capture.
    Cancelled,
    /// Refunded in full.
    Refunded,
    /// Approved or held, not captured yet; or captured and not yet due.
    Open,
    /// Paid in full on or before its due date (or before it had one).
    PaidOnTime,
    /// Paid in full after its due date.
    PaidLate,
    /// Past its due date and unpaid, for fewer days than the default line.
    Overdue,
    /// Unpaid for the default line's days or more past its due date.
    Defaulted,
}

impl OrderOutcome {
    /// The spelling in datasets.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderOutcome::Declined => "declined",
            OrderOutcome::OperatorDeclined => "operator_declined",
            OrderOutcome::Cancelled => "cancelled",
            OrderOutcome::Refunded => "refunded",
            OrderOutcome::Open => "open",
            OrderOutcome::PaidOnTime => "paid_on_time",
            OrderOutcome::PaidLate => "paid_late",
            OrderOutcome::Overdue => "overdue",
            OrderOutcome::Defaulted => "defaulted",
        }
    }
}

impl Engine {
    /// Install (or remove) the feature tap.
    pub fn set_feature_tap(&mut self, tap: Option<FeatureTap>) {
        self.tap = tap;
    }

    pub(crate) fn tap_features(&mut self, oi: u32, at: At, features: &Features) {
        if let Some(tap) = self.tap.as_mut() {
            tap(oi, at, features);
        }
    }

    /// Every order's outcome as of the engine's clock, by order index;
    /// an order unpaid `default_after_days` days past its due date has
    /// defaulted.
    pub fn order_outcomes(&self, default_after_days: i64) -> Vec<OrderOutcome> {
        // When each order was paid in full: the latest payment (not
        // reversed) that closed it.
        let mut paid_at: Vec<Option<At>> = vec![None; self.state.orders.len()];
        for p in self.state.payments.iter() {
            if p.reversed.is_some() {
                continue;
            }
            for &(oi, _, closed) in &p.paid_down.orders {
                if closed && let Some(slot) = paid_at.get_mut(oi as usize) {
                    *slot = Some(p.at);
                }
            }
        }
        let today = self.state.now.jst_date();
        self.state
            .orders
            .iter()
            .zip(paid_at)
            .map(|(o, paid)| match o.status {
                OrderStatus::Declined => {
                    if o.reasons
                        .iter()
                        .any(|r| r.code == ReasonCode::OperatorDeclined)
                    {
                        OrderOutcome::OperatorDeclined
                    } else {
                        OrderOutcome::Declined
                    }
                }
                OrderStatus::Cancelled => OrderOutcome::Cancelled,
                OrderStatus::Refunded => OrderOutcome::Refunded,
                OrderStatus::Authorized | OrderStatus::InReview => OrderOutcome::Open,
                OrderStatus::Captured => {
                    if o.owed() == atobarai_core::Yen::ZERO {
                        match (paid, o.due_date) {
                            (Some(at), Some(due)) if at.jst_date() > due => OrderOutcome::PaidLate,
                            _ => OrderOutcome::PaidOnTime,
                        }
                    } else {
                        match o.due_date {
                            Some(due) if today > due => {
                                let late = due.days_until(today);
                                if late >= default_after_days {
                                    OrderOutcome::Defaulted
                                } else {
                                    OrderOutcome::Overdue
                                }
                            }
                            _ => OrderOutcome::Open,
                        }
                    }
                }
            })
            .collect()
    }
}
