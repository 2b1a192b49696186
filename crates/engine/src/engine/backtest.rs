//! Backtest: while a journal is replayed, a trial rule set is evaluated on
//! every authorization the credit rules let through, on the very features
//! the live decision saw, and every decision it would change is kept.
//!
//! The replay itself is unchanged (the live decisions and the state are the
//! journal's): the trial is counterfactual without feedback, so an order
//! the trial would have declined still counts in the history the next
//! decisions read. That is what "features as of each decision" means here,
//! and why a backtest of the rule set in force changes nothing.

use super::Engine;
use super::risk_rules::decision_of;
use crate::risk::RiskAction;
use crate::risk::features::Features;
use crate::state::Decision;
use atobarai_core::{At, Yen};
use atobarai_rules::{Evaluation, RuleSet};
use std::sync::Arc;

/// Most changed decisions kept with their details; past it only counted.
pub const CHANGED_ROWS_MAX: usize = 1_000_000;

/// One decision the trial rule set would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedDecision {
    /// The order (dense index).
    pub order: u32,
    /// When it was authorized.
    pub at: At,
    /// Its total.
    pub amount: Yen,
    /// The decision taken live.
    pub live: Decision,
    /// Why, live: the deciding rules' ids, or the built-in policy's reason
    /// codes when no rule set was in force.
    pub live_why: Vec<String>,
    /// The decision the trial set takes.
    pub trial: Decision,
    /// Why, in the trial: its deciding rules' ids.
    pub trial_why: Vec<String>,
}

/// What a backtest found.
#[derive(Clone, Debug, Default)]
pub struct BacktestResult {
    /// Authorizations the trial set was evaluated on (those that passed
    /// the credit rules).
    pub evaluated: u64,
    /// `[live][trial]` counts, indexed approve = 0, review = 1, decline = 2.
    pub matrix: [[u64; 3]; 3],
    /// The changed decisions, in order (at most [`CHANGED_ROWS_MAX`]).
    pub changed: Vec<ChangedDecision>,
    /// Changed decisions beyond [`CHANGED_ROWS_MAX`].
    pub changed_not_kept: u64,
    /// Per trial rule (file order): `[live hits, shadow hits]`.
    pub trial_hits: Vec<[u64; 2]>,
    /// The trial set's rule ids, file order.
    pub trial_rules: Vec<String>,
}

pub(crate) struct Backtest {
    set: Arc<RuleSet>,
    eval: Evaluation,
    result: BacktestResult,
}

/// A decision's row/column in [`BacktestResult::matrix`].
pub fn decision_index(d: Decision) -> usize {
    match d {
        Decision::Approve => 0,
        Decision::Review => 1,
        Decision::Decline => 2,
    }
}

impl Engine {
    /// From now on, evaluate `trial` beside every risk decision (see the
    /// module docs); [`Engine::finish_backtest`] hands the result over.
    pub fn start_backtest(&mut self, trial: RuleSet) {
        let n = trial.rules().len();
        let trial_rules = trial.rules().iter().map(|r| r.id.clone()).collect();
        self.backtest = Some(Box::new(Backtest {
            set: Arc::new(trial),
            eval: Evaluation::default(),
            result: BacktestResult {
                trial_hits: vec![[0, 0]; n],
                trial_rules,
                ..BacktestResult::default()
            },
        }));
    }

    /// Stop the backtest and return what it found.
    pub fn finish_backtest(&mut self) -> Option<BacktestResult> {
        self.backtest.take().map(|b| b.result)
    }

    /// Called by authorize with the live decision, once it is known.
    pub(crate) fn backtest_decide(
        &mut self,
        oi: u32,
        at: At,
        features: &Features,
        amount: Yen,
        live: Decision,
        live_why: impl FnOnce() -> Vec<String>,
    ) {
        let Some(bt) = self.backtest.as_deref_mut() else {
            return;
        };
        let set = Arc::clone(&bt.set);
        set.evaluate_into(features, &mut bt.eval);
        let r = &mut bt.result;
        super::risk_rules::count_hits(&mut r.trial_hits, &bt.eval);
        let trial = match decision_of(&bt.eval, amount) {
            RiskAction::Approve => Decision::Approve,
            RiskAction::Review => Decision::Review,
            RiskAction::Decline => Decision::Decline,
        };
        r.evaluated = r.evaluated.saturating_add(1);
        let cell = &mut r.matrix[decision_index(live)][decision_index(trial)];
        *cell = cell.saturating_add(1);
        if trial == live {
            return;
        }
        if r.changed.len() >= CHANGED_ROWS_MAX {
            r.changed_not_kept = r.changed_not_kept.saturating_add(1);
            return;
        }
        let trial_why = bt
            .eval
            .deciding
            .iter()
            .filter_map(|&i| set.rules().get(i).map(|r| r.id.clone()))
            .collect();
        r.changed.push(ChangedDecision {
            order: oi,
            at,
            amount,
            live,
            live_why: live_why(),
            trial,
            trial_why,
        });
    }
}
