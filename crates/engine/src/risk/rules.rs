//! The risk rule language ([`atobarai_rules`]) over the engine's features:
//! the schema rules are checked against, the adapter the evaluator reads
//! features through, and what a decision keeps of an evaluation.

use super::book::{DecisionRecord, FiredRule, RecordedValue};
use super::features::{FEATURES, FeatureType, FeatureValue, Features};
use atobarai_rules::{Evaluation, FeatureId, RuleError, RuleSet, Schema, Type, Value};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, OnceLock};

/// The schema of [`FEATURES`]: feature `i` of the engine is `FeatureId(i)`.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let defs: Vec<(&str, Type)> = FEATURES
            .iter()
            .map(|d| {
                let ty = match d.ty {
                    FeatureType::Int => Type::Int,
                    FeatureType::Bool => Type::Bool,
                    FeatureType::Str => Type::Str,
                };
                (d.name, ty)
            })
            .collect();
        Schema::new(&defs)
    })
}

/// Check and compile a rules file against the engine's features.
pub fn compile(source: &str) -> Result<RuleSet, Vec<RuleError>> {
    atobarai_rules::check_file(source, schema())
}

/// Rule sets compiled lately, by SHA-256 of their text (a few, process
/// wide). The server compiles a set in its request handler to check it;
/// the engine thread then finds it here and only hashes the text, so a
/// reload does not stall decisions for the compile.
const COMPILED_KEPT: usize = 8;

/// [`compile`], shared: the same text compiles once per process (the
/// result is the same either way: compiling is deterministic).
pub fn compile_shared(source: &str) -> Result<Arc<RuleSet>, Vec<RuleError>> {
    type Cache = Mutex<Vec<([u8; 32], Arc<RuleSet>)>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let digest: [u8; 32] = Sha256::digest(source.as_bytes()).into();
    let cache = CACHE.get_or_init(Cache::default);
    // A poisoned lock only means another thread panicked mid-insert; the
    // entries themselves are immutable, so carry on with them.
    if let Some((_, set)) = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .find(|(d, _)| *d == digest)
    {
        return Ok(Arc::clone(set));
    }
    let set = Arc::new(compile(source)?);
    let mut kept = cache
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if kept.len() >= COMPILED_KEPT {
        kept.remove(0);
    }
    kept.push((digest, Arc::clone(&set)));
    Ok(set)
}

/// The rule set shipped with atobarai (`rules/default.toml`), documented
/// rule by rule in `rules/README.md`.
pub const DEFAULT_RULES: &str = include_str!("../../../../rules/default.toml");

fn value(v: FeatureValue) -> Value<'static> {
    match v {
        FeatureValue::Int(i) => Value::Int(i),
        FeatureValue::Bool(b) => Value::Bool(b),
        FeatureValue::Str(s) => Value::Str(s),
    }
}

impl atobarai_rules::Features for Features {
    fn get(&self, id: FeatureId) -> Option<Value<'_>> {
        self.by_index(id.index()).map(value)
    }
}

/// What a decision record keeps of an evaluation: every rule that fired
/// (live, then shadow) with the value of each feature its condition reads.
/// `None` when nothing fired.
pub(crate) fn record(
    version: u32,
    set: &RuleSet,
    eval: &Evaluation,
    features: &Features,
) -> Option<DecisionRecord> {
    if eval.fired.is_empty() && eval.shadow_fired.is_empty() {
        return None;
    }
    let fired_rule = |i: usize, shadow: bool| {
        let rule = set.rules().get(i)?;
        let read = rule
            .features()
            .iter()
            .filter_map(|id| {
                let v = match features.by_index(id.index())? {
                    FeatureValue::Int(i) => RecordedValue::Int(i),
                    FeatureValue::Bool(b) => RecordedValue::Bool(b),
                    FeatureValue::Str(s) => RecordedValue::Str(s.into()),
                };
                Some((u16::try_from(id.index()).ok()?, v))
            })
            .collect();
        Some(FiredRule {
            rule: u16::try_from(i).ok()?,
            shadow,
            deciding: !shadow && eval.deciding.contains(&i),
            features: read,
        })
    };
    let fired = eval
        .fired
        .iter()
        .filter_map(|&i| fired_rule(i, false))
        .chain(
            eval.shadow_fired
                .iter()
                .filter_map(|&i| fired_rule(i, true)),
        )
        .collect();
    Some(DecisionRecord {
        rule_set: version,
        fired,
        models: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_names_every_feature_with_its_type() {
        let s = schema();
        for (i, d) in FEATURES.iter().enumerate() {
            let id = s.id(d.name).expect(d.name);
            assert_eq!(id.index(), i, "{}", d.name);
        }
    }

    #[test]
    fn a_shared_compile_returns_the_same_set_for_the_same_text() {
        let a = compile_shared(DEFAULT_RULES).unwrap();
        let b = compile_shared(DEFAULT_RULES).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.digest(), compile(DEFAULT_RULES).unwrap().digest());
        assert!(compile_shared("not toml [").is_err());
    }

    #[test]
    fn the_default_rules_compile() {
        let set = compile(DEFAULT_RULES).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!set.rules().is_empty());
    }
}
