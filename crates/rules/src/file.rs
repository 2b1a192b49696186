//! The rules file: TOML with a `[set]` header and `[[rule]]` entries;
//! checking, compiling, evaluating and the stored form.

use std::collections::HashMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::MAX_RULES;
use crate::error::{LineIndex, RuleError, deserialize, parse_document};
use crate::expr::{self, Program};
use crate::schema::{FeatureId, Features, Schema};

/// What a rule does when its condition holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Action {
    /// Refuse the order.
    Decline,
    /// Hold the order for an analyst.
    Review,
    /// Approve at most `cap_yen` (the engine applies the cap).
    Cap {
        /// The cap, in yen (≥ 0).
        cap_yen: i64,
    },
    /// Let the order through but mark it for analysts.
    Flag,
    /// Allow-list: suppresses the `review` and `flag` rules that fired.
    Approve,
}

impl Action {
    fn rank(self) -> u8 {
        match self {
            Action::Approve => 1,
            Action::Flag => 2,
            Action::Cap { .. } => 3,
            Action::Review => 4,
            Action::Decline => 5,
        }
    }
}

/// Whether a rule's action counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The action counts in the outcome.
    #[default]
    Live,
    /// Evaluated and recorded, but never changes the outcome.
    Shadow,
}

/// The combined outcome of the live rules that fired.
///
/// Precedence, as a risk team reads it:
///
/// 1. any live `decline` → [`Outcome::Decline`] (credit and abuse declines
///    are never overridden, not even by an allow-list);
/// 2. if a live `approve` (allow-list) fired, the live `review` and `flag`
///    rules that fired are *suppressed* (listed in
///    [`Evaluation::suppressed`]); an allow-list never lifts a `cap`;
/// 3. among what is left: `review` > `cap` > `flag` > `approve` > nothing.
///
/// Independently, [`Evaluation::cap_yen`] is the smallest cap of the live
/// `cap` rules that fired, whatever the outcome (a reviewed order that is
/// released keeps its cap); it is `None` on a decline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// No live rule fired.
    #[default]
    None,
    /// Only allow-list rules (and suppressed review/flag rules) fired.
    Approve,
    /// Flag rules fired; nothing stronger.
    Flag,
    /// Cap rules fired; nothing stronger (see [`Evaluation::cap_yen`]).
    Cap,
    /// Review rules fired and no allow-list rule.
    Review,
    /// A decline rule fired.
    Decline,
}

impl Outcome {
    /// The spelling in files and records (`decline`, `none`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::None => "none",
            Outcome::Approve => "approve",
            Outcome::Flag => "flag",
            Outcome::Cap => "cap",
            Outcome::Review => "review",
            Outcome::Decline => "decline",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Outcome> {
        Some(match s {
            "none" => Outcome::None,
            "approve" => Outcome::Approve,
            "flag" => Outcome::Flag,
            "cap" => Outcome::Cap,
            "review" => Outcome::Review,
            "decline" => Outcome::Decline,
            _ => return None,
        })
    }
}

/// One checked and compiled rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Unique snake_case id.
    pub id: String,
    /// The rule's own version.
    pub version: u32,
    /// What the rule is for.
    pub description: String,
    /// The condition's source text.
    pub when: String,
    /// What it does when it fires.
    pub action: Action,
    /// snake_case reason code reported when it decides the outcome.
    pub reason: String,
    /// Reason text in Japanese.
    pub text_ja: String,
    /// Reason text in English.
    pub text_en: String,
    /// Live or shadow.
    pub mode: Mode,
    /// 1-based line of the rule's `[[rule]]` table in the file.
    pub line: u32,
    program: Program,
}

impl Rule {
    /// The features the condition reads (sorted, each once), known at
    /// compile time: what a decision record keeps for this rule.
    pub fn features(&self) -> &[FeatureId] {
        &self.program.features
    }
}

/// A checked, compiled rule set. Its stable form is its source text
/// ([`RuleSet::to_stored`]); compiling is pure, so a stored set recompiles
/// to the same rules.
#[derive(Clone, Debug)]
pub struct RuleSet {
    /// The set's name.
    pub name: String,
    /// The set's version.
    pub version: u32,
    /// What the set is for.
    pub description: String,
    rules: Vec<Rule>,
    schema: Schema,
    source: String,
    digest: [u8; 32],
}

/// Index of a rule in [`RuleSet::rules`].
pub type RuleIndex = usize;

/// What one evaluation of a rule set found. Rule lists are indexes into
/// [`RuleSet::rules`], in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// The combined outcome of the live rules (see [`Outcome`]).
    pub outcome: Outcome,
    /// The smallest cap of the live cap rules that fired (not on decline).
    pub cap_yen: Option<i64>,
    /// The live rules that decided the outcome (their reasons are the
    /// decision's reasons): every fired live rule of the outcome's action.
    pub deciding: Vec<RuleIndex>,
    /// Every live rule that fired.
    pub fired: Vec<RuleIndex>,
    /// Live review/flag rules that fired but were overridden by an allow-list.
    pub suppressed: Vec<RuleIndex>,
    /// Every shadow rule that fired.
    pub shadow_fired: Vec<RuleIndex>,
    /// The outcome had the shadow rules been live too.
    pub shadow_outcome: Outcome,
    /// Rules that could not be evaluated (a feature value missing or of the
    /// wrong type); they count as not fired.
    pub errors: Vec<RuleIndex>,
}

impl Evaluation {
    /// The reason codes of the deciding rules, in file order, each once.
    pub fn reasons<'r>(&self, set: &'r RuleSet) -> Vec<&'r str> {
        let mut out: Vec<&str> = Vec::new();
        for &i in &self.deciding {
            if let Some(r) = set.rules.get(i)
                && !out.contains(&r.reason.as_str())
            {
                out.push(&r.reason);
            }
        }
        out
    }

    /// For a decision record: every rule that fired (live, then shadow)
    /// with the features its condition reads.
    pub fn reads<'r>(
        &'r self,
        set: &'r RuleSet,
    ) -> impl Iterator<Item = (&'r Rule, &'r [FeatureId])> + 'r {
        self.fired
            .iter()
            .chain(&self.shadow_fired)
            .filter_map(|i| set.rules.get(*i))
            .map(|r| (r, r.features()))
    }

    fn clear(&mut self) {
        self.outcome = Outcome::None;
        self.cap_yen = None;
        self.deciding.clear();
        self.fired.clear();
        self.suppressed.clear();
        self.shadow_fired.clear();
        self.shadow_outcome = Outcome::None;
        self.errors.clear();
    }
}

/// The journaled form of a rule set: its source text, the set's version
/// and the SHA-256 of the source (hex). Recompile with
/// [`RuleSet::from_stored`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRuleSet {
    /// Format of this record (1).
    pub format: u32,
    /// The set's version (from the `[set]` header).
    pub version: u32,
    /// The TOML text.
    pub source: String,
    /// SHA-256 of `source`, lowercase hex.
    pub sha256: String,
}

impl RuleSet {
    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The schema the set was compiled against (feature ids → names).
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The TOML text the set was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// SHA-256 of the source text.
    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// SHA-256 of the source text, lowercase hex.
    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }

    /// The stable, serializable form (source + version + digest).
    pub fn to_stored(&self) -> StoredRuleSet {
        StoredRuleSet {
            format: 1,
            version: self.version,
            source: self.source.clone(),
            sha256: self.digest_hex(),
        }
    }

    /// Recompiles a stored set against `schema`, checking the digest and
    /// the version.
    pub fn from_stored(stored: &StoredRuleSet, schema: &Schema) -> Result<RuleSet, Vec<RuleError>> {
        let at0 = |m: String| {
            vec![RuleError {
                line: 1,
                column: 1,
                message: m,
            }]
        };
        if stored.format != 1 {
            return Err(at0(format!(
                "unknown stored rule set format {}",
                stored.format
            )));
        }
        let set = check_file(&stored.source, schema)?;
        if set.digest_hex() != stored.sha256 {
            return Err(at0(
                "stored rule set digest does not match its source".into()
            ));
        }
        if set.version != stored.version {
            return Err(at0(
                "stored rule set version does not match its source".into()
            ));
        }
        Ok(set)
    }

    /// Evaluates every rule against `features`.
    pub fn evaluate<F: Features + ?Sized>(&self, features: &F) -> Evaluation {
        let mut out = Evaluation::default();
        self.evaluate_into(features, &mut out);
        out
    }

    /// [`RuleSet::evaluate`] reusing `out`'s buffers (no allocation once
    /// they have grown).
    pub fn evaluate_into<F: Features + ?Sized>(&self, features: &F, out: &mut Evaluation) {
        out.clear();
        let mut stack = expr::new_stack();
        for (i, rule) in self.rules.iter().enumerate() {
            match rule.program.eval(features, &mut stack) {
                Ok(true) => match rule.mode {
                    Mode::Live => out.fired.push(i),
                    Mode::Shadow => out.shadow_fired.push(i),
                },
                Ok(false) => {}
                Err(_) => out.errors.push(i),
            }
        }
        let (outcome, cap) = self.combine(
            out.fired.iter().copied(),
            &mut out.deciding,
            &mut out.suppressed,
        );
        out.outcome = outcome;
        out.cap_yen = cap;
        out.shadow_outcome =
            self.combine_outcome(out.fired.iter().chain(&out.shadow_fired).copied());
    }

    fn action(&self, i: RuleIndex) -> Option<Action> {
        self.rules.get(i).map(|r| r.action)
    }

    fn combine_outcome(&self, fired: impl Iterator<Item = RuleIndex> + Clone) -> Outcome {
        let mut best = 0u8;
        let approve = fired
            .clone()
            .any(|i| self.action(i) == Some(Action::Approve));
        for i in fired {
            let Some(a) = self.action(i) else { continue };
            if approve && matches!(a, Action::Review | Action::Flag) {
                continue;
            }
            best = best.max(a.rank());
        }
        rank_outcome(best)
    }

    fn combine(
        &self,
        fired: impl Iterator<Item = RuleIndex> + Clone,
        deciding: &mut Vec<RuleIndex>,
        suppressed: &mut Vec<RuleIndex>,
    ) -> (Outcome, Option<i64>) {
        let outcome = self.combine_outcome(fired.clone());
        let approve = fired
            .clone()
            .any(|i| self.action(i) == Some(Action::Approve));
        let mut cap: Option<i64> = None;
        for i in fired {
            let Some(a) = self.action(i) else { continue };
            if approve && matches!(a, Action::Review | Action::Flag) {
                suppressed.push(i);
            }
            if let Action::Cap { cap_yen } = a {
                cap = Some(cap.map_or(cap_yen, |c| c.min(cap_yen)));
            }
            if rank_outcome(a.rank()) == outcome {
                deciding.push(i);
            }
        }
        if outcome == Outcome::Decline {
            cap = None;
        }
        (outcome, cap)
    }
}

/// A rule set serializes as its [`StoredRuleSet`] (source, version, digest).
impl Serialize for RuleSet {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_stored().serialize(serializer)
    }
}

fn rank_outcome(rank: u8) -> Outcome {
    match rank {
        5 => Outcome::Decline,
        4 => Outcome::Review,
        3 => Outcome::Cap,
        2 => Outcome::Flag,
        1 => Outcome::Approve,
        _ => Outcome::None,
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len().saturating_mul(2));
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            if let Some(c) = DIGITS.get(usize::from(nibble)) {
                s.push(char::from(*c));
            }
        }
    }
    s
}

// ---------------------------------------------------------------- file

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetDe {
    name: Spanned<String>,
    version: u32,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDe {
    id: Spanned<String>,
    version: u32,
    #[serde(default)]
    description: String,
    when: Spanned<String>,
    action: Spanned<String>,
    cap_yen: Option<Spanned<i64>>,
    reason: Spanned<String>,
    text_ja: Spanned<String>,
    text_en: Spanned<String>,
    mode: Option<Spanned<String>>,
}

/// Whether `s` is a snake_case code: `[a-z][a-z0-9_]*`, ≤ 64 bytes, no
/// `__` and no trailing `_`.
pub(crate) fn is_snake_case(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.first().is_some_and(u8::is_ascii_lowercase)
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
        && !s.contains("__")
        && !s.ends_with('_')
}

/// Where the text of a TOML string value lies in the file: its start and
/// the offsets (in the value) of line feeds written `\r\n` in the file.
struct Body {
    start: usize,
    crlf: Vec<usize>,
}

impl Body {
    /// The file offset of byte `offset` of the value.
    fn map(&self, offset: usize) -> usize {
        let shift = self.crlf.iter().filter(|p| **p < offset).count();
        self.start.saturating_add(offset).saturating_add(shift)
    }
}

/// Finds the text of a string value in the file, given the span of the
/// value (quotes included), or `None` if the decoded value is not a copy of
/// the file's bytes (escapes; `\r\n` read as `\n` is allowed).
fn string_body(text: &str, span: &Range<usize>, value: &str) -> Option<Body> {
    let raw = text.get(span.clone())?;
    let mut start = span.start;
    if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
        start = start.saturating_add(3);
        let rest = text.get(start..)?;
        if rest.starts_with("\r\n") {
            start = start.saturating_add(2);
        } else if rest.starts_with('\n') {
            start = start.saturating_add(1);
        }
    } else if raw.starts_with('"') || raw.starts_with('\'') {
        start = start.saturating_add(1);
    } else {
        return None;
    }
    let file = text.get(start..)?.as_bytes();
    let mut crlf = Vec::new();
    let (mut i, mut j) = (0usize, 0usize);
    let value_bytes = value.as_bytes();
    while let Some(v) = value_bytes.get(j) {
        match file.get(i) {
            Some(f) if f == v => {}
            Some(b'\r') if *v == b'\n' && file.get(i.saturating_add(1)) == Some(&b'\n') => {
                crlf.push(j);
                i = i.saturating_add(1);
            }
            _ => return None,
        }
        i = i.saturating_add(1);
        j = j.saturating_add(1);
    }
    Some(Body { start, crlf })
}

/// Parses and checks a rules file against `schema` and compiles it.
/// Every error found is returned, each with its line and column.
pub fn check_file(text: &str, schema: &Schema) -> Result<RuleSet, Vec<RuleError>> {
    let ix = LineIndex::new(text);
    let root = parse_document(text, &ix)?;
    let mut errors = Vec::new();
    let mut header: Option<SetDe> = None;
    let mut parsed: Vec<Spanned<RuleDe>> = Vec::new();
    let mut saw_set = false;
    for (key, value) in root.iter() {
        match key.get_ref().as_ref() {
            "set" => {
                saw_set = true;
                header = deserialize(value, &ix, &mut errors);
            }
            "rule" => match value.get_ref() {
                toml::de::DeValue::Array(items) => {
                    if items.len() > MAX_RULES {
                        let at = items.get(MAX_RULES).map_or(0, |r| r.span().start);
                        errors.push(
                            ix.error(at, format!("a rule set holds at most {MAX_RULES} rules")),
                        );
                    }
                    for item in items.iter().take(MAX_RULES) {
                        if let Some(r) = deserialize::<Spanned<RuleDe>>(item, &ix, &mut errors) {
                            parsed.push(r);
                        }
                    }
                }
                _ => errors.push(ix.error(
                    value.span().start,
                    "`rule` must be an array of tables: write each rule under `[[rule]]`",
                )),
            },
            other => errors.push(ix.error(
                key.span().start,
                format!("unknown key `{other}` (a rules file has `[set]` and `[[rule]]`)"),
            )),
        }
    }
    if !saw_set {
        errors.push(ix.error(0, "missing `[set]` (name, version, description)"));
    }
    if let Some(set) = &header
        && set.name.get_ref().trim().is_empty()
    {
        errors.push(ix.error(set.name.span().start, "`set.name` is empty"));
    }
    let mut seen: HashMap<String, u32> = HashMap::new();
    // reason code → (texts, line): one code, one text, across the set
    let mut reason_texts: HashMap<String, (String, String, u32)> = HashMap::new();
    let mut rules = Vec::with_capacity(parsed.len());
    for spanned in &parsed {
        let rule_at = spanned.span().start;
        let r = spanned.get_ref();
        let mut bad = false;
        let mut fail = |errors: &mut Vec<RuleError>, at: usize, m: String| {
            bad = true;
            errors.push(ix.error(at, m));
        };
        let id = r.id.get_ref();
        let line = ix.error(rule_at, "").line;
        if !is_snake_case(id) {
            fail(
                &mut errors,
                r.id.span().start,
                format!("rule id `{id}` is not snake_case"),
            );
        } else if let Some(first) = seen.get(id) {
            fail(
                &mut errors,
                r.id.span().start,
                format!("duplicate rule id `{id}` (first at line {first})"),
            );
        } else {
            seen.insert(id.clone(), ix.error(r.id.span().start, "").line);
        }
        let mode = match r
            .mode
            .as_ref()
            .map(|m| (m.get_ref().as_str(), m.span().start))
        {
            None | Some(("live", _)) => Mode::Live,
            Some(("shadow", _)) => Mode::Shadow,
            Some((other, at)) => {
                fail(
                    &mut errors,
                    at,
                    format!("unknown mode `{other}` (live, shadow)"),
                );
                Mode::Live
            }
        };
        let action_at = r.action.span().start;
        let action = match r.action.get_ref().as_str() {
            "decline" => Action::Decline,
            "review" => Action::Review,
            "flag" => Action::Flag,
            "approve" => Action::Approve,
            "cap" => match &r.cap_yen {
                Some(c) if *c.get_ref() >= 0 => Action::Cap {
                    cap_yen: *c.get_ref(),
                },
                Some(c) => {
                    fail(&mut errors, c.span().start, "`cap_yen` must be ≥ 0".into());
                    Action::Cap { cap_yen: 0 }
                }
                None => {
                    fail(
                        &mut errors,
                        action_at,
                        "action `cap` needs `cap_yen`".into(),
                    );
                    Action::Cap { cap_yen: 0 }
                }
            },
            other => {
                fail(
                    &mut errors,
                    action_at,
                    format!("unknown action `{other}` (decline, review, cap, flag, approve)"),
                );
                Action::Flag
            }
        };
        if let (Some(c), false) = (&r.cap_yen, matches!(action, Action::Cap { .. })) {
            fail(
                &mut errors,
                c.span().start,
                "`cap_yen` is only for action `cap`".into(),
            );
        }
        let reason = r.reason.get_ref();
        if !is_snake_case(reason) {
            fail(
                &mut errors,
                r.reason.span().start,
                format!("reason `{reason}` is not a snake_case code"),
            );
        }
        if let Some((ja, en, first)) = reason_texts.get(reason.as_str()) {
            if ja != r.text_ja.get_ref() || en != r.text_en.get_ref() {
                fail(
                    &mut errors,
                    r.reason.span().start,
                    format!(
                        "reason `{reason}` has other texts at line {first}: one code, one text"
                    ),
                );
            }
        } else {
            reason_texts.insert(
                reason.clone(),
                (
                    r.text_ja.get_ref().clone(),
                    r.text_en.get_ref().clone(),
                    ix.error(r.reason.span().start, "").line,
                ),
            );
        }
        for (field, s) in [("text_ja", &r.text_ja), ("text_en", &r.text_en)] {
            if s.get_ref().trim().is_empty() {
                fail(&mut errors, s.span().start, format!("`{field}` is empty"));
            }
        }
        let when = r.when.get_ref();
        let program = match string_body(text, &r.when.span(), when) {
            None => {
                fail(
                    &mut errors,
                    r.when.span().start,
                    "`when` cannot contain escapes: write it as a literal string, 'like \"this\"'"
                        .into(),
                );
                None
            }
            Some(body) => match expr::compile(when, schema) {
                Ok(p) => Some(p),
                Err(es) => {
                    for e in es {
                        fail(&mut errors, body.map(e.offset), e.message);
                    }
                    None
                }
            },
        };
        if let (Some(program), false) = (program, bad) {
            rules.push(Rule {
                id: id.clone(),
                version: r.version,
                description: r.description.clone(),
                when: when.clone(),
                action,
                reason: reason.clone(),
                text_ja: r.text_ja.get_ref().clone(),
                text_en: r.text_en.get_ref().clone(),
                mode,
                line,
                program,
            });
        }
    }
    let header = match header {
        Some(h) if errors.is_empty() => h,
        _ => {
            errors.sort_by_key(|e| (e.line, e.column));
            return Err(errors);
        }
    };
    Ok(RuleSet {
        name: header.name.into_inner(),
        version: header.version,
        description: header.description,
        rules,
        schema: schema.clone(),
        source: text.to_owned(),
        digest: Sha256::digest(text.as_bytes()).into(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_codes() {
        for ok in ["a", "cash_equivalent_only_cart", "r2", "a1_b2"] {
            assert!(is_snake_case(ok), "{ok}");
        }
        for bad in [
            "",
            "A",
            "1a",
            "_a",
            "a_",
            "a__b",
            "a-b",
            "ａ",
            &"a".repeat(65),
        ] {
            assert!(!is_snake_case(bad), "{bad}");
        }
    }

    #[test]
    fn hex_digest() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn string_bodies() {
        let text = "w = 'a \"b\"'\nx = \"\"\"\nab\"\"\"\ny = \"a\\tb\"\n";
        let body = |start: usize, end: usize, value: &str| {
            string_body(text, &(start..end), value).map(|b| (b.start, b.map(1)))
        };
        assert_eq!(body(4, 11, "a \"b\""), Some((5, 6)));
        assert_eq!(body(16, 24, "ab"), Some((20, 21)));
        assert_eq!(body(29, 35, "a\tb"), None);
        let crlf = "w = '''\r\na\r\nb'''";
        let b = string_body(crlf, &(4..crlf.len()), "a\nb").unwrap();
        assert_eq!((b.start, b.map(2)), (9, 12));
    }

    #[test]
    fn precedence_ranks() {
        assert_eq!(rank_outcome(Action::Decline.rank()), Outcome::Decline);
        assert_eq!(rank_outcome(Action::Review.rank()), Outcome::Review);
        assert_eq!(
            rank_outcome(Action::Cap { cap_yen: 1 }.rank()),
            Outcome::Cap
        );
        assert_eq!(rank_outcome(Action::Flag.rank()), Outcome::Flag);
        assert_eq!(rank_outcome(Action::Approve.rank()), Outcome::Approve);
        assert_eq!(rank_outcome(0), Outcome::None);
        for o in [
            Outcome::None,
            Outcome::Approve,
            Outcome::Flag,
            Outcome::Cap,
            Outcome::Review,
            Outcome::Decline,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
    }
}
