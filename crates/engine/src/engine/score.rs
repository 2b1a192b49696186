//! The behaviour score's events and the limit steps they move
//! ([`crate::score`] has the table).

use super::Engine;
use crate::score::{ScoreEvent, step_percent, stepped_limit};
use crate::webhook::{EventKind, Stored};
use atobarai_core::{At, Yen};

impl Engine {
    /// Move account `ci`'s score for `event`; when it crosses a step, the
    /// limit follows (never below what the account owes or holds).
    ///
    /// Scores run from the first journaled risk rule set on (the release
    /// that brought both): history journaled before it replays exactly as
    /// it ran, with no score moving a limit it did not move then.
    pub(crate) fn score_event(&mut self, at: At, ci: u32, event: ScoreEvent) {
        if self.state.risk.sets.is_empty() {
            return;
        }
        let s = self.state.scores.get_mut(ci);
        let before = step_percent(s.score);
        let after = s.apply(at, event);
        if step_percent(after) != before {
            s.limit_reason = Some(event);
            self.restep_limit(at, ci, event);
        }
    }

    /// The limit account `ci` is on: its product base at its score's step.
    pub(crate) fn stepped_limit_of(&self, ci: u32, base: Yen) -> Yen {
        let c = &self.state.customers[ci as usize];
        let score = self
            .state
            .scores
            .accounts
            .get(ci as usize)
            .map_or(crate::score::SCORE_START, |s| s.score);
        stepped_limit(base, score, c.exposure())
    }

    fn restep_limit(&mut self, at: At, ci: u32, reason: ScoreEvent) {
        let base = self.limit_for(self.state.customers[ci as usize].payment_method);
        let limit = self.stepped_limit_of(ci, base);
        let c = &mut self.state.customers[ci as usize];
        if limit == c.limit {
            return;
        }
        let from = c.limit;
        c.limit = limit;
        // Postcondition: a lower step never puts the account over its limit.
        assert!(c.exposure() <= c.limit, "limit stepped below exposure");
        self.emit(
            at,
            EventKind::LimitChanged,
            ci,
            Stored::LimitChanged {
                from,
                to: limit,
                reason,
            },
        );
    }

    /// A new account linked to others: every member of its identity
    /// cluster (at most a few are read) moves for `account_linked`.
    pub(crate) fn score_linked(&mut self, at: At, ci: u32) {
        let members = self
            .state
            .identity
            .cluster_members_capped(ci, crate::risk::features::CLUSTER_MEMBERS_MAX);
        if members.len() < 2 {
            return;
        }
        for m in members {
            self.score_event(at, m, ScoreEvent::AccountLinked);
        }
    }
}

/// A customer's behaviour score as operators see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoreView {
    /// The account's own score.
    pub account: u16,
    /// The person's: the lowest among the accounts of the identity cluster
    /// (the cluster's limit is its members' smallest).
    pub person: u16,
    /// The event that last moved the limit to another step, if any.
    pub limit_reason: Option<ScoreEvent>,
    /// The account's last moves, oldest first.
    pub moves: Vec<crate::score::ScoreMove>,
}

impl Engine {
    /// Customer `id`'s behaviour score, if `principal` may see the customer.
    pub fn customer_score(
        &self,
        principal: crate::command::Principal,
        id: &str,
    ) -> Result<ScoreView, crate::error::CommandError> {
        let customer =
            atobarai_core::ids::decode(crate::prefix::CUSTOMER, id).ok_or_else(|| {
                crate::error::CommandError::not_found("customer_not_found", "id", "customer")
            })?;
        let ci = self
            .customer_index(principal, customer)
            .map_err(|e| e.field("id"))?;
        let own = self.state.scores.get(ci);
        let person = self
            .state
            .identity
            .cluster_members_capped(ci, crate::risk::features::CLUSTER_MEMBERS_MAX)
            .into_iter()
            .map(|m| self.state.scores.get(m).score)
            .min()
            .map_or(own.score, |m| m.min(own.score));
        Ok(ScoreView {
            account: own.score,
            person,
            limit_reason: own.limit_reason,
            moves: own.moves.iter().copied().collect(),
        })
    }
}
