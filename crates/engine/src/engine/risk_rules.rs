//! Risk rule sets: putting one in force (`SetRiskRules`), deciding with it,
//! and what operators read of it (versions, per-rule hits, the record of
//! each decision).

use super::Engine;
use crate::error::CommandError;
use crate::reason::{Reason, ReasonCode};
use crate::risk::book::{self, RuleSetEntry};
use crate::risk::features::{FEATURES, Features};
use crate::risk::{RiskAction, rules};
use crate::view::{FiredRuleView, OrderRisk, Outcome, RiskRulesView, RuleHitsView, RuleReason};
use atobarai_core::{At, Yen};
use atobarai_rules::{Action, Mode, Outcome as RuleOutcome, RuleSet};
use std::sync::Arc;

/// Compiled rule sets and their hit counts: derived from the risk book,
/// rebuilt on restore (not part of the state).
#[derive(Default)]
pub(crate) struct RiskRuntime {
    /// Compiled, by book version − 1.
    pub(crate) sets: Vec<Arc<RuleSet>>,
    /// Hits of the set in force: `[live, shadow]` fires per rule.
    pub(crate) hits: Vec<[u64; 2]>,
    /// Reused evaluation buffers.
    pub(crate) eval: atobarai_rules::Evaluation,
}

/// What the rules decided for one order.
pub(crate) struct RuleDecision {
    pub(crate) action: RiskAction,
    pub(crate) reasons: Vec<Reason>,
    pub(crate) record: Option<book::DecisionRecord>,
}

impl Engine {
    pub(crate) fn set_risk_rules(
        &mut self,
        at: At,
        source: &str,
        author: &str,
    ) -> Result<Outcome, CommandError> {
        if source.len() > book::SOURCE_MAX {
            return Err(CommandError::invalid(
                "rules_too_large",
                "rules",
                format!("a rules file is at most {} bytes", book::SOURCE_MAX),
            ));
        }
        book::check_author(author)?;
        if self.state.risk.sets.len() >= book::SETS_MAX {
            return Err(CommandError::conflict(
                "rule_sets_full",
                format!("at most {} rule sets are kept", book::SETS_MAX),
            ));
        }
        let set = rules::compile_shared(source).map_err(|errors| {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            CommandError::invalid("rules_invalid", "rules", listed.join("; "))
        })?;
        let version = crate::checked::id32(self.state.risk.sets.len()).saturating_add(1);
        self.state.risk.sets.push(RuleSetEntry {
            version,
            name: set.name.clone(),
            file_version: set.version,
            at,
            from_order: crate::checked::id32(self.state.orders.len()),
            author: author.to_owned(),
            digest: set.digest(),
            source: source.to_owned(),
        });
        self.risk.hits = vec![[0, 0]; set.rules().len()];
        self.risk.sets.push(set);
        Ok(Outcome::RiskRules(self.risk_rules_view(version)))
    }

    /// Compile every journaled rule set again and count the hits of the
    /// one in force from the decision records (after a restore).
    pub(crate) fn rebuild_risk_runtime(&mut self) -> Result<(), CommandError> {
        let mut runtime = RiskRuntime::default();
        for entry in &self.state.risk.sets {
            let set = rules::compile_shared(&entry.source).map_err(|_| {
                CommandError::invalid(
                    "rules_invalid",
                    "rules",
                    format!(
                        "journaled rule set {} no longer compiles; the rule language must stay compatible",
                        entry.version
                    ),
                )
            })?;
            runtime.sets.push(set);
        }
        if let Some(cur) = self.state.risk.current() {
            let n = runtime.sets.last().map_or(0, |s| s.rules().len());
            runtime.hits = vec![[0, 0]; n];
            for (_, rec) in self.state.risk.records.iter() {
                if rec.rule_set == cur.version {
                    for f in &rec.fired {
                        if let Some(h) = runtime.hits.get_mut(usize::from(f.rule)) {
                            let slot = &mut h[usize::from(f.shadow)];
                            *slot = slot.saturating_add(1);
                        }
                    }
                }
            }
        }
        self.risk = runtime;
        Ok(())
    }

    /// Decide with the rule set in force, if there is one: `None` leaves
    /// the decision to the engine's built-in policy.
    ///
    /// Actions: `decline` declines; `review` holds the amount for an
    /// analyst; `cap` declines when the order is above the smallest cap
    /// that fired (the available limit is capped for this order) and
    /// approves otherwise; `flag`, `approve` and nothing fired approve.
    pub(crate) fn decide_by_rules(
        &mut self,
        features: &Features,
        amount: Yen,
    ) -> Option<RuleDecision> {
        let set = Arc::clone(self.risk.sets.last()?);
        let version = crate::checked::id32(self.risk.sets.len());
        let mut eval = std::mem::take(&mut self.risk.eval);
        set.evaluate_into(features, &mut eval);
        count_hits(&mut self.risk.hits, &eval);
        let action = decision_of(&eval, amount);
        let reasons = if action == RiskAction::Approve {
            Vec::new()
        } else {
            vec![ReasonCode::RiskRule.into()]
        };
        let record = rules::record(version, &set, &eval, features);
        self.risk.eval = eval;
        Some(RuleDecision {
            action,
            reasons,
            record,
        })
    }

    /// Why the live decision was taken, for a backtest: the deciding
    /// rules' ids, or the built-in policy's reason codes.
    pub(crate) fn live_why(
        &self,
        record: Option<&book::DecisionRecord>,
        reasons: &[Reason],
    ) -> Vec<String> {
        match record {
            Some(rec) => {
                let set = self.compiled_set(rec.rule_set);
                rec.fired
                    .iter()
                    .filter(|f| f.deciding)
                    .filter_map(|f| set?.rules().get(usize::from(f.rule)).map(|r| r.id.clone()))
                    .collect()
            }
            None => reasons
                .iter()
                .filter(|r| r.code != ReasonCode::RiskRule)
                .map(|r| r.code.code().to_owned())
                .collect(),
        }
    }

    /// The compiled rule set of book version `version` (1-based).
    fn compiled_set(&self, version: u32) -> Option<&Arc<RuleSet>> {
        let i = usize::try_from(version).ok()?.checked_sub(1)?;
        self.risk.sets.get(i)
    }

    /// What operators (and, for the reasons, merchants) see of the rules
    /// behind order `oi`.
    pub(crate) fn order_risk(&self, oi: u32) -> Option<Box<OrderRisk>> {
        let version = self.state.risk.version_for_order(oi);
        let Some(rec) = self.state.risk.record(oi) else {
            // Decided under a rule set on which no rule fired.
            return Some(Box::new(OrderRisk {
                rule_set: version?,
                reasons: Vec::new(),
                fired: Vec::new(),
                models: Vec::new(),
            }));
        };
        let models = self.model_views(&rec.models);
        let Some(set) = self.compiled_set(rec.rule_set) else {
            // Only a model scored (no rule set in force).
            return Some(Box::new(OrderRisk {
                rule_set: 0,
                reasons: Vec::new(),
                fired: Vec::new(),
                models,
            }));
        };
        let order = &self.state.orders[oi as usize];
        let acted = order.reasons.iter().any(|r| r.code == ReasonCode::RiskRule);
        let mut reasons: Vec<RuleReason> = Vec::new();
        let mut fired = Vec::with_capacity(rec.fired.len());
        for f in &rec.fired {
            let Some(rule) = set.rules().get(usize::from(f.rule)) else {
                continue;
            };
            if acted && f.deciding && !reasons.iter().any(|r| r.code == rule.reason) {
                reasons.push(RuleReason {
                    code: rule.reason.clone(),
                    text_ja: rule.text_ja.clone(),
                    text_en: rule.text_en.clone(),
                });
            }
            fired.push(FiredRuleView {
                id: rule.id.clone(),
                version: rule.version,
                action: action_name(&rule.action).to_owned(),
                shadow: f.shadow || rule.mode == Mode::Shadow,
                reason: rule.reason.clone(),
                features: f
                    .features
                    .iter()
                    .filter_map(|(id, v)| {
                        let name = FEATURES.get(usize::from(*id))?.name;
                        Some((name.to_owned(), v.clone()))
                    })
                    .collect(),
            });
        }
        Some(Box::new(OrderRisk {
            rule_set: rec.rule_set,
            reasons,
            fired,
            models,
        }))
    }

    /// The rule set version `version` as operators see it.
    fn risk_rules_view(&self, version: u32) -> RiskRulesView {
        let i = (version as usize).saturating_sub(1);
        let entry = &self.state.risk.sets[i];
        let set = &self.risk.sets[i];
        let current = version as usize == self.state.risk.sets.len();
        RiskRulesView {
            version,
            name: entry.name.clone(),
            file_version: entry.file_version,
            at: entry.at,
            author: entry.author.clone(),
            digest: entry.digest,
            rules: set
                .rules()
                .iter()
                .enumerate()
                .map(|(n, r)| RuleHitsView {
                    id: r.id.clone(),
                    version: r.version,
                    action: action_name(&r.action).to_owned(),
                    shadow: r.mode == Mode::Shadow,
                    reason: r.reason.clone(),
                    hits_live: if current {
                        self.risk.hits.get(n).map_or(0, |h| h[0])
                    } else {
                        0
                    },
                    hits_shadow: if current {
                        self.risk.hits.get(n).map_or(0, |h| h[1])
                    } else {
                        0
                    },
                })
                .collect(),
        }
    }

    /// Every journaled rule set, oldest first (the last is in force), with
    /// hit counts for the one in force.
    pub fn risk_rule_sets(&self) -> Vec<RiskRulesView> {
        (1..=crate::checked::id32(self.state.risk.sets.len()))
            .map(|v| self.risk_rules_view(v))
            .collect()
    }

    /// The source of rule set `version` (1-based), if journaled.
    pub fn risk_rules_source(&self, version: u32) -> Option<&str> {
        let i = usize::try_from(version).ok()?.checked_sub(1)?;
        self.state.risk.sets.get(i).map(|e| e.source.as_str())
    }

    /// Phishing-wave alerts raised, oldest first (the last
    /// [`crate::risk::wave::ALERTS_KEPT`]).
    pub fn risk_alerts(&self) -> impl Iterator<Item = &crate::risk::wave::WaveAlert> {
        self.state.risk.wave.alerts.iter()
    }

    /// The compiled rule set in force, if any.
    pub fn risk_rules_in_force(&self) -> Option<Arc<RuleSet>> {
        self.risk.sets.last().cloned()
    }
}

/// The action's name in a rules file.
pub(crate) fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Decline => "decline",
        Action::Review => "review",
        Action::Cap { .. } => "cap",
        Action::Flag => "flag",
        Action::Approve => "approve",
    }
}

/// The engine's action for an evaluation: `decline` declines; `review`
/// holds; `cap` declines an order above the smallest cap that fired and
/// approves it otherwise; `flag`, `approve` and nothing fired approve.
pub(crate) fn decision_of(eval: &atobarai_rules::Evaluation, amount: Yen) -> RiskAction {
    match eval.outcome {
        RuleOutcome::Decline => RiskAction::Decline,
        RuleOutcome::Review => RiskAction::Review,
        RuleOutcome::Cap => match eval.cap_yen {
            Some(cap) if amount.get() > cap => RiskAction::Decline,
            _ => RiskAction::Approve,
        },
        RuleOutcome::Flag | RuleOutcome::Approve | RuleOutcome::None => RiskAction::Approve,
    }
}

/// Count an evaluation's fired rules in `hits` (`[live, shadow]` per rule).
pub(crate) fn count_hits(hits: &mut [[u64; 2]], eval: &atobarai_rules::Evaluation) {
    for (fired, slot) in [(&eval.fired, 0), (&eval.shadow_fired, 1)] {
        for &i in fired {
            if let Some(h) = hits.get_mut(i) {
                h[slot] = h[slot].saturating_add(1);
            }
        }
    }
}
