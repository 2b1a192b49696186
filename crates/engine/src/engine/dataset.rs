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

/// One tapped decision: the order, when, and its features as TSV cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetRow {
    /// Dense order index.
    pub order: u32,
    /// Decided at.
    pub at: At,
    /// The features in [`crate::risk::features::FEATURES`] order,
    /// tab-separated.
    pub cells: String,
}

/// Records a [`DatasetRow`] for every authorization through the feature
/// tap: what `atobarai model dataset` does while a journal replays, and
/// what the simulator does while a market runs.
#[derive(Clone, Default)]
pub struct DatasetRecorder {
    rows: std::sync::Arc<std::sync::Mutex<Vec<DatasetRow>>>,
}

/// How [`write_dataset`] labels and splits rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatasetOptions {
    /// Days past the due date after which an unpaid order counts as
    /// `defaulted`.
    pub default_after_days: i64,
    /// Every N-th row (by order index) goes to `test` in the `split`
    /// column, the rest to `train` (0: all `train`).
    pub test_every: u32,
}

fn push_cell(v: crate::risk::features::FeatureValue, out: &mut String) {
    use crate::risk::features::FeatureValue;
    use std::fmt::Write as _;
    match v {
        FeatureValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        FeatureValue::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        FeatureValue::Str(s) => out.push_str(s),
    }
}

impl DatasetRecorder {
    /// Install the tap on `engine` (replacing any other).
    pub fn install(engine: &mut Engine) -> DatasetRecorder {
        let recorder = DatasetRecorder::default();
        let sink = std::sync::Arc::clone(&recorder.rows);
        engine.set_feature_tap(Some(Box::new(move |order, at, features: &Features| {
            let mut cells = String::with_capacity(256);
            for (i, (_, v)) in features.iter().enumerate() {
                if i > 0 {
                    cells.push('\t');
                }
                push_cell(v, &mut cells);
            }
            sink.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(DatasetRow { order, at, cells });
        })));
        recorder
    }

    /// Remove the tap from `engine` and hand back the rows, in decision
    /// order.
    pub fn finish(self, engine: &mut Engine) -> Vec<DatasetRow> {
        engine.set_feature_tap(None);
        std::mem::take(
            &mut *self
                .rows
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

/// Write `rows` as TSV with each order's outcome as `engine` knows it now:
/// `order, at, <features…>, decision, outcome, split`, then the `extra`
/// columns, which `fill(order, line)` appends (each value preceded by a
/// tab). Returns how many rows each outcome has.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn write_dataset<W: std::io::Write>(
    engine: &Engine,
    rows: &[DatasetRow],
    opts: DatasetOptions,
    extra: &[&str],
    fill: &mut dyn FnMut(u32, &mut String),
    out: W,
) -> std::io::Result<std::collections::BTreeMap<&'static str, u64>> {
    use crate::risk::features::FEATURES;
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(out);
    let mut counts = std::collections::BTreeMap::new();
    let outcomes = engine.order_outcomes(opts.default_after_days);
    let mut line = String::from("order\tat");
    for d in FEATURES {
        line.push('\t');
        line.push_str(d.name);
    }
    line.push_str("\tdecision\toutcome\tsplit");
    for name in extra {
        line.push('\t');
        line.push_str(name);
    }
    line.push('\n');
    out.write_all(line.as_bytes())?;
    for r in rows {
        let Some(outcome) = outcomes.get(r.order as usize) else {
            continue;
        };
        let n: &mut u64 = counts.entry(outcome.as_str()).or_default();
        *n = n.saturating_add(1);
        let decision = match outcome {
            OrderOutcome::Declined => "decline",
            _ => "approve_or_review",
        };
        let split = if r.order.checked_rem(opts.test_every) == Some(0) {
            "test"
        } else {
            "train"
        };
        line.clear();
        line.push_str(&atobarai_core::ids::encode(
            crate::prefix::ORDER,
            u64::from(r.order),
        ));
        line.push('\t');
        line.push_str(&r.at.to_rfc3339_jst());
        line.push('\t');
        line.push_str(&r.cells);
        line.push('\t');
        line.push_str(decision);
        line.push('\t');
        line.push_str(outcome.as_str());
        line.push('\t');
        line.push_str(split);
        fill(r.order, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    out.flush()?;
    Ok(counts)
}
