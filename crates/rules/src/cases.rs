//! Cases files (`atobarai rules test FILE CASES`): feature values and the
//! outcome and reasons a rule set is expected to give.
//!
//! ```toml
//! [[case]]
//! name = "gift cards only, new account"
//! features = { "cart.total" = 10_000, "cart.liquid_share_bp" = 10_000 }
//! expect = "decline"              # none | approve | flag | cap | review | decline
//! reasons = ["cash_out_pattern"]  # optional: the deciding rules' reasons (any order)
//! cap_yen = 5_000                 # optional: the expected cap
//! fired = ["rule_a"]              # optional: the live rules that fired (any order)
//! shadow = ["rule_b"]             # optional: the shadow rules that fired (any order)
//! ```
//!
//! Features may also be written as nested tables (`[case.features.cart]`,
//! `total = 10_000`): keys are joined with dots. A feature a case does not
//! mention is `0`, `false` or `""` by its type.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::error::{LineIndex, RuleError, deserialize, parse_document};
use crate::file::{Outcome, RuleSet};
use crate::schema::{Type, Value};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDe {
    name: String,
    #[serde(default)]
    features: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    expect: Spanned<String>,
    reasons: Option<Vec<String>>,
    cap_yen: Option<i64>,
    fired: Option<Vec<String>>,
    shadow: Option<Vec<String>>,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// 1-based line of the case in the cases file.
    pub line: u32,
    /// Whether every expectation held.
    pub passed: bool,
    /// The outcome the rule set gave.
    pub outcome: Outcome,
    /// The cap it gave.
    pub cap_yen: Option<i64>,
    /// The deciding rules' reasons.
    pub reasons: Vec<String>,
    /// The live rules that fired.
    pub fired: Vec<String>,
    /// The shadow rules that fired.
    pub shadow: Vec<String>,
    /// What did not match, one line each.
    pub failures: Vec<String>,
}

/// The results of a cases file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CasesReport {
    /// One result per case, in file order.
    pub cases: Vec<CaseResult>,
}

impl CasesReport {
    /// Cases that passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed).count()
    }

    /// Cases that failed.
    pub fn failed(&self) -> usize {
        self.cases.iter().filter(|c| !c.passed).count()
    }

    /// Whether every case passed.
    pub fn all_passed(&self) -> bool {
        self.cases.iter().all(|c| c.passed)
    }
}

impl fmt::Display for CasesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.cases {
            let status = if c.passed { "ok" } else { "FAILED" };
            writeln!(f, "{status:>6}  line {:>4}  {}", c.line, c.name)?;
            for failure in &c.failures {
                writeln!(f, "        {failure}")?;
            }
        }
        writeln!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

enum Owned {
    Int(i64),
    Bool(bool),
    Str(String),
}

fn flatten(prefix: String, value: &toml::Value, out: &mut Vec<(String, toml::Value)>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                flatten(format!("{prefix}.{k}"), v, out);
            }
        }
        v => out.push((prefix, v.clone())),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// Runs a cases file against `set`. Errors in the cases file (syntax,
/// unknown features, values of the wrong type, unknown outcomes) are all
/// returned with their line and column; failed expectations are in the
/// report.
pub fn run_cases(set: &RuleSet, cases_text: &str) -> Result<CasesReport, Vec<RuleError>> {
    let ix = LineIndex::new(cases_text);
    let root = parse_document(cases_text, &ix)?;
    let mut errors = Vec::new();
    let mut cases: Vec<Spanned<CaseDe>> = Vec::new();
    for (key, value) in root.iter() {
        match (key.get_ref().as_ref(), value.get_ref()) {
            ("case", toml::de::DeValue::Array(items)) => {
                for item in items.iter() {
                    if let Some(c) = deserialize::<Spanned<CaseDe>>(item, &ix, &mut errors) {
                        cases.push(c);
                    }
                }
            }
            ("case", _) => errors.push(ix.error(
                value.span().start,
                "`case` must be an array of tables: write each case under `[[case]]`",
            )),
            (other, _) => errors.push(ix.error(
                key.span().start,
                format!("unknown key `{other}` (a cases file has `[[case]]` tables)"),
            )),
        }
    }
    let schema = set.schema();
    let mut prepared = Vec::new();
    for case in &cases {
        let c = case.get_ref();
        let line = ix.error(case.span().start, "").line;
        let mut values: Vec<Owned> = schema
            .iter()
            .map(|(_, _, ty)| match ty {
                Type::Int => Owned::Int(0),
                Type::Bool => Owned::Bool(false),
                Type::Str => Owned::Str(String::new()),
            })
            .collect();
        for (k, v) in &c.features {
            let mut flat = Vec::new();
            flatten(k.get_ref().clone(), v.get_ref(), &mut flat);
            let at = if flat.len() == 1 {
                v.span().start
            } else {
                k.span().start
            };
            for (name, value) in flat {
                let Some(id) = schema.id(&name) else {
                    let mut m = format!("unknown feature `{name}`");
                    if let Some(s) = schema.suggest(&name) {
                        m.push_str(&format!(" (did you mean `{s}`?)"));
                    }
                    errors.push(ix.error(k.span().start, m));
                    continue;
                };
                let ty = schema.ty(id).unwrap_or(Type::Int);
                let owned = match (ty, value) {
                    (Type::Int, toml::Value::Integer(i)) => Owned::Int(i),
                    (Type::Bool, toml::Value::Boolean(b)) => Owned::Bool(b),
                    (Type::Str, toml::Value::String(s)) => Owned::Str(s),
                    (ty, v) => {
                        errors.push(ix.error(
                            at,
                            format!("feature `{name}` is {ty}, found {}", v.type_str()),
                        ));
                        continue;
                    }
                };
                if let Some(slot) = values.get_mut(id.index()) {
                    *slot = owned;
                }
            }
        }
        let expect = match Outcome::parse(c.expect.get_ref()) {
            Some(o) => o,
            None => {
                errors.push(ix.error(
                    c.expect.span().start,
                    format!(
                        "unknown outcome `{}` (none, approve, flag, cap, review, decline)",
                        c.expect.get_ref()
                    ),
                ));
                Outcome::None
            }
        };
        prepared.push((c, line, values, expect));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.line, e.column));
        return Err(errors);
    }
    let mut report = CasesReport::default();
    for (c, line, owned, expect) in prepared {
        let values: Vec<Value<'_>> = owned
            .iter()
            .map(|o| match o {
                Owned::Int(i) => Value::Int(*i),
                Owned::Bool(b) => Value::Bool(*b),
                Owned::Str(s) => Value::Str(s),
            })
            .collect();
        let eval = set.evaluate(values.as_slice());
        let ids = |list: &[usize]| -> Vec<String> {
            list.iter()
                .filter_map(|i| set.rules().get(*i))
                .map(|r| r.id.clone())
                .collect()
        };
        let reasons: Vec<String> = eval.reasons(set).into_iter().map(str::to_owned).collect();
        let fired = ids(&eval.fired);
        let shadow = ids(&eval.shadow_fired);
        let mut failures = Vec::new();
        if eval.outcome != expect {
            failures.push(format!(
                "expected {}, got {}",
                expect.as_str(),
                eval.outcome.as_str()
            ));
        }
        if let Some(want) = &c.reasons
            && sorted(want.clone()) != sorted(reasons.clone())
        {
            failures.push(format!("expected reasons {want:?}, got {reasons:?}"));
        }
        if let Some(want) = c.cap_yen
            && eval.cap_yen != Some(want)
        {
            failures.push(format!("expected cap_yen {want}, got {:?}", eval.cap_yen));
        }
        if let Some(want) = &c.fired
            && sorted(want.clone()) != sorted(fired.clone())
        {
            failures.push(format!("expected fired {want:?}, got {fired:?}"));
        }
        if let Some(want) = &c.shadow
            && sorted(want.clone()) != sorted(shadow.clone())
        {
            failures.push(format!("expected shadow {want:?}, got {shadow:?}"));
        }
        for i in &eval.errors {
            if let Some(r) = set.rules().get(*i) {
                failures.push(format!("rule `{}` could not be evaluated", r.id));
            }
        }
        report.cases.push(CaseResult {
            name: c.name.clone(),
            line,
            passed: failures.is_empty(),
            outcome: eval.outcome,
            cap_yen: eval.cap_yen,
            reasons,
            fired,
            shadow,
            failures,
        });
    }
    Ok(report)
}
