//! What the engine keeps of risk decisions: every rule set ever journaled
//! (who, when, its text) and a decision record per order a rule took part
//! in (the rules that fired, live and shadow, with the feature values they
//! read). It is the last field of the engine state, so snapshot version 4
//! is version 3 followed by an empty book.

use atobarai_core::At;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Most decision records kept; past it the oldest are dropped (a record
/// is evidence for an analyst, not state a decision depends on).
pub const RECORDS_MAX: usize = 4_000_000;
/// Most rule sets kept (a limit on everything: one a minute for a week).
pub const SETS_MAX: usize = 10_000;
/// Longest rules file, bytes.
pub const SOURCE_MAX: usize = 512 * 1024;
/// Longest author name, bytes.
pub const AUTHOR_MAX: usize = 128;

/// An author name a journaled rule set or model may carry.
pub(crate) fn check_author(author: &str) -> Result<(), crate::error::CommandError> {
    if author.is_empty() || author.len() > AUTHOR_MAX {
        return Err(crate::error::CommandError::invalid(
            "author_invalid",
            "author",
            format!("the author is 1 to {AUTHOR_MAX} bytes"),
        ));
    }
    Ok(())
}

/// One journaled rule set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSetEntry {
    /// 1 for the first rule set journaled, then 2, 3, …
    pub version: u32,
    /// The name and version the file gives itself.
    pub name: String,
    /// The file's own version number.
    pub file_version: u32,
    /// When it was put in force.
    pub at: At,
    /// The first order decided under it (the number of orders before it).
    pub from_order: u32,
    /// Who put it in force.
    pub author: String,
    /// SHA-256 of the text.
    pub digest: [u8; 32],
    /// The rules file as written.
    pub source: String,
}

/// A value a rule read, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordedValue {
    /// An integer.
    Int(i64),
    /// A truth value.
    Bool(bool),
    /// A text.
    Str(Box<str>),
}

/// One rule that fired, by its position in the rule set (its id, version,
/// action and reason are the set's: [`RuleSetEntry::source`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiredRule {
    /// The rule's position in its set, file order.
    pub rule: u16,
    /// Recorded only: a shadow rule never acts.
    pub shadow: bool,
    /// One of the live rules that decided the outcome (its reason is the
    /// decision's reason).
    pub deciding: bool,
    /// The features it read (positions in [`super::features::FEATURES`])
    /// with their values at decision time.
    pub features: Vec<(u16, RecordedValue)>,
}

/// Why a decision came out as it did, as far as the risk rules go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The rule set's version ([`RuleSetEntry::version`]; 0 when no rule
    /// set was in force and only a model scored).
    pub rule_set: u32,
    /// The rules that fired, live first, in file order.
    pub fired: Vec<FiredRule>,
    /// The scorecards that scored the order (live, then shadow).
    pub models: Vec<ModelScore>,
}

/// A scorecard's score of one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelScore {
    /// The model's version ([`ModelEntry::version`]).
    pub model: u32,
    /// Scored and recorded only.
    pub shadow: bool,
    /// The score (points; higher is better).
    pub score: i64,
    /// The three attributes that cost the most points against their best
    /// bin: (attribute position in the model, bin position, points lost).
    pub adverse: Vec<(u16, u16, i64)>,
}

/// One journaled scorecard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelEntry {
    /// 1 for the first model journaled, then 2, 3, …
    pub version: u32,
    /// Scored and recorded only.
    pub shadow: bool,
    /// When it was loaded.
    pub at: At,
    /// Who loaded it.
    pub author: String,
    /// SHA-256 of the file.
    pub digest: [u8; 32],
    /// The model file as written.
    pub source: String,
}

/// The engine's risk book (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskBook {
    /// Every rule set journaled, oldest first; the last is in force.
    pub sets: Vec<RuleSetEntry>,
    /// Decision records by order index, ascending.
    pub records: VecDeque<(u32, DecisionRecord)>,
    /// The phishing-wave detector and its alerts.
    pub wave: super::wave::WaveDetector,
    /// Every scorecard journaled, oldest first; the newest live one and
    /// the newest shadow one are in force.
    pub models: Vec<ModelEntry>,
}

impl RiskBook {
    /// The record of order `oi`, if a rule took part in its decision.
    pub fn record(&self, oi: u32) -> Option<&DecisionRecord> {
        let i = self.records.binary_search_by_key(&oi, |(o, _)| *o).ok()?;
        self.records.get(i).map(|(_, r)| r)
    }

    /// Keep `record` for order `oi` (orders are decided in index order).
    pub(crate) fn push(&mut self, oi: u32, record: DecisionRecord) {
        assert!(
            self.records.back().is_none_or(|(o, _)| *o < oi),
            "decision records out of order"
        );
        if self.records.len() >= RECORDS_MAX {
            self.records.pop_front();
        }
        self.records.push_back((oi, record));
    }

    /// The rule set in force, if any.
    pub fn current(&self) -> Option<&RuleSetEntry> {
        self.sets.last()
    }

    /// The version of the rule set in force when order `oi` was decided
    /// (`None`: the built-in policy decided it).
    pub fn version_for_order(&self, oi: u32) -> Option<u32> {
        let n = self.sets.partition_point(|s| s.from_order <= oi);
        self.sets.get(n.checked_sub(1)?).map(|s| s.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_book_encodes_as_the_bytes_the_v4_upgrade_appends() {
        // Snapshot version 3 → 4 appends exactly these bytes: two empty
        // sequences, then the wave detector (hour 0, two zero counts, no
        // past, no alerted hour, no alerts).
        assert_eq!(
            postcard::to_stdvec(&RiskBook::default()).unwrap(),
            crate::format::snapshot::EMPTY_RISK_BOOK_V4
        );
    }

    #[test]
    fn records_are_found_by_order() {
        let mut b = RiskBook::default();
        let r = |n| DecisionRecord {
            rule_set: n,
            fired: Vec::new(),
            models: Vec::new(),
        };
        b.push(3, r(1));
        b.push(9, r(2));
        assert_eq!(b.record(9).unwrap().rule_set, 2);
        assert!(b.record(4).is_none());
    }
}
