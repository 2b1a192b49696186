//! The scorecard: its file format, loading (checksum and schema verified),
//! scoring and adverse reasons.
//!
//! # File format (version 1)
//!
//! One JSON document:
//!
//! ```text
//! {
//!   "format": "atobarai-scorecard",
//!   "format_version": 1,
//!   "sha256": "<hex SHA-256 of the bytes of `content` exactly as written>",
//!   "content": { label, positive, scaling, intercept, base_points,
//!                attributes: [{ name, kind, edges, iv, coefficient,
//!                               bins: [{ kind, good, bad, woe, points }] }],
//!                dropped, training }
//! }
//! ```
//!
//! `content` is hashed byte for byte, so any change to it (even white space)
//! is refused; then it must decode with no unknown or missing field and pass
//! [`Scorecard::validate`] (edges increasing, the bin layout of each kind,
//! every point recomputable from scaling, coefficient and WoE).
//!
//! # Points
//!
//! With `factor = pdo / ln 2` and `offset = base_score − factor · ln(base_odds)`
//! (`base_odds` are good:bad odds, so a row at those odds scores `base_score`
//! and each doubling of the odds adds `pdo`):
//!
//! ```text
//! base_points = round(offset − factor · intercept)
//! bin points  = round(−factor · coefficient · WoE)
//! score       = base_points + Σ attributes' bin points     (higher = safer)
//! ```
//!
//! # Bins of an attribute
//!
//! Numbers: `edges.len() + 1` ranges `[lower, upper)`, then `missing`, then
//! `unseen` (text that does not parse as a number). Categories: groups of
//! values, then `missing`, then `unseen` (a value not seen in training).
//! A `missing` or `unseen` bin without training rows has WoE 0 and 0 points.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::metrics::Metrics;
use crate::table::is_missing;
use crate::train::TrainConfig;

/// The `format` field of a model file.
pub const FORMAT: &str = "atobarai-scorecard";
/// The version of the file format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Score scaling.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scaling {
    /// The score at `base_odds`.
    pub base_score: f64,
    /// Good:bad odds that score `base_score`.
    pub base_odds: f64,
    /// Points to double the odds.
    pub pdo: f64,
}

impl Scaling {
    /// `pdo / ln 2`.
    #[must_use]
    pub fn factor(&self) -> f64 {
        self.pdo / std::f64::consts::LN_2
    }

    /// `base_score − factor · ln(base_odds)`.
    #[must_use]
    pub fn offset(&self) -> f64 {
        self.base_score - self.factor() * self.base_odds.ln()
    }

    /// Points of a bin.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub fn bin_points(&self, coefficient: f64, woe: f64) -> i64 {
        (-self.factor() * coefficient * woe).round() as i64
    }

    /// The base points.
    #[must_use]
    #[allow(clippy::cast_possible_truncation)]
    pub fn base_points(&self, intercept: f64) -> i64 {
        (self.offset() - self.factor() * intercept).round() as i64
    }
}

/// How an attribute's values are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    /// Numbers, binned by ranges.
    Numeric,
    /// Text, binned by groups of values.
    Categorical,
}

/// What a bin holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BinKind {
    /// Numbers in `[lower, upper)` (no bound = unbounded).
    Range {
        /// Inclusive lower bound.
        lower: Option<f64>,
        /// Exclusive upper bound.
        upper: Option<f64>,
    },
    /// Any of these values.
    Categories {
        /// The values, sorted.
        values: Vec<String>,
    },
    /// A missing value.
    Missing,
    /// A value not seen in training (or not a number for a numeric attribute).
    Unseen,
}

/// One bin with its training counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bin {
    /// What it holds.
    pub kind: BinKind,
    /// Training rows of the negative class.
    pub good: u64,
    /// Training rows of the positive class.
    pub bad: u64,
    /// Smoothed weight of evidence (positive = riskier).
    pub woe: f64,
    /// Points.
    pub points: i64,
}

impl Bin {
    /// A short text for the bin (for reasons and the report).
    #[must_use]
    pub fn label(&self) -> String {
        match &self.kind {
            BinKind::Range { lower, upper } => match (lower, upper) {
                (None, None) => "all values".into(),
                (None, Some(u)) => format!("< {u}"),
                (Some(l), None) => format!("≥ {l}"),
                (Some(l), Some(u)) => format!("[{l}, {u})"),
            },
            BinKind::Categories { values } => values.join(" | "),
            BinKind::Missing => "missing".into(),
            BinKind::Unseen => "not seen in training".into(),
        }
    }

    /// The bad rate of its training rows (0 without rows).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn bad_rate(&self) -> f64 {
        let n = self.good + self.bad;
        if n == 0 {
            0.0
        } else {
            self.bad as f64 / n as f64
        }
    }
}

/// One attribute of the scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// Column name.
    pub name: String,
    /// Numbers or categories.
    pub kind: AttributeKind,
    /// Cut points of the ranges (numeric only; empty for categories).
    pub edges: Vec<f64>,
    /// Information value on the training rows.
    pub iv: f64,
    /// Coefficient of its WoE in the logistic fit.
    pub coefficient: f64,
    /// Bins: ranges or groups, then `missing`, then `unseen`.
    pub bins: Vec<Bin>,
}

/// An attribute left out, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropped {
    /// Column name.
    pub name: String,
    /// Why.
    pub reason: String,
    /// Its IV when it was binned.
    pub iv: Option<f64>,
}

/// Counts of scores in equal-width buckets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Histogram {
    /// Bucket `i` holds scores in `[edges[i], edges[i+1])`.
    pub edges: Vec<i64>,
    /// Training goods per bucket.
    pub train_good: Vec<u64>,
    /// Training bads per bucket.
    pub train_bad: Vec<u64>,
    /// Test goods per bucket (empty without a test set).
    pub test_good: Vec<u64>,
    /// Test bads per bucket (empty without a test set).
    pub test_bad: Vec<u64>,
}

/// What the training saw and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The settings used.
    pub config: TrainConfig,
    /// The split column, if any.
    pub split: Option<String>,
    /// Metrics of the integer score on the training rows.
    pub train: Metrics,
    /// Metrics on the held-out rows (absent without both classes there).
    pub test: Option<Metrics>,
    /// ROC points `[fpr, tpr]` on the training rows.
    pub roc_train: Vec<[f64; 2]>,
    /// ROC points on the held-out rows.
    pub roc_test: Vec<[f64; 2]>,
    /// Score distribution by class.
    pub histogram: Histogram,
}

/// The content of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    /// The label column.
    pub label: String,
    /// The label value of the positive ("bad") class.
    pub positive: String,
    /// Score scaling.
    pub scaling: Scaling,
    /// Intercept of the logistic fit.
    pub intercept: f64,
    /// Points every row starts with.
    pub base_points: i64,
    /// The attributes scored.
    pub attributes: Vec<Attribute>,
    /// The attributes left out.
    pub dropped: Vec<Dropped>,
    /// Training record.
    pub training: Training,
}

const MAX_POINTS: i64 = 1_000_000_000;

impl Scorecard {
    /// Checks the layout and the arithmetic of the card.
    ///
    /// # Errors
    /// [`ModelError::Schema`] naming the first problem.
    #[allow(clippy::too_many_lines)]
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: String| Err(ModelError::Schema(m));
        let s = &self.scaling;
        if !(s.pdo.is_finite()
            && s.pdo > 0.0
            && s.base_odds.is_finite()
            && s.base_odds > 0.0
            && s.base_score.is_finite())
        {
            return bad("scaling needs finite base_score and positive pdo and base_odds".into());
        }
        if !self.intercept.is_finite() {
            return bad("intercept is not finite".into());
        }
        if self.base_points != s.base_points(self.intercept) {
            return bad("base_points do not match intercept and scaling".into());
        }
        if self.base_points.abs() > MAX_POINTS {
            return bad("base_points out of range".into());
        }
        if self.attributes.is_empty() || self.attributes.len() > 10_000 {
            return bad("a card needs 1 to 10,000 attributes".into());
        }
        for (i, a) in self.attributes.iter().enumerate() {
            let name = &a.name;
            if name.is_empty() || self.attributes[..i].iter().any(|o| &o.name == name) {
                return bad(format!("attribute {i}: empty or duplicated name {name:?}"));
            }
            if !a.coefficient.is_finite() || !a.iv.is_finite() {
                return bad(format!("attribute {name:?}: coefficient or IV not finite"));
            }
            let n = a.bins.len();
            if n < 3 {
                return bad(format!("attribute {name:?}: fewer than 3 bins"));
            }
            if a.bins[n - 2].kind != BinKind::Missing || a.bins[n - 1].kind != BinKind::Unseen {
                return bad(format!(
                    "attribute {name:?}: the last two bins must be missing, unseen"
                ));
            }
            for b in &a.bins {
                if !b.woe.is_finite() || b.points.abs() > MAX_POINTS {
                    return bad(format!(
                        "attribute {name:?}: a WoE not finite or points out of range"
                    ));
                }
                if b.points != s.bin_points(a.coefficient, b.woe) {
                    return bad(format!(
                        "attribute {name:?}, bin {}: points do not match coefficient, WoE and scaling",
                        b.label()
                    ));
                }
            }
            let body = &a.bins[..n - 2];
            match a.kind {
                AttributeKind::Numeric => {
                    if a.edges.iter().any(|e| !e.is_finite())
                        || a.edges.windows(2).any(|w| w[0] >= w[1])
                    {
                        return bad(format!(
                            "attribute {name:?}: edges must be finite and increasing"
                        ));
                    }
                    if body.len() != a.edges.len() + 1 {
                        return bad(format!(
                            "attribute {name:?}: {} ranges for {} edges",
                            body.len(),
                            a.edges.len()
                        ));
                    }
                    for (k, b) in body.iter().enumerate() {
                        let want = BinKind::Range {
                            lower: k.checked_sub(1).map(|p| a.edges[p]),
                            upper: a.edges.get(k).copied(),
                        };
                        if b.kind != want {
                            return bad(format!(
                                "attribute {name:?}: range {k} does not match the edges"
                            ));
                        }
                    }
                }
                AttributeKind::Categorical => {
                    if !a.edges.is_empty() || body.is_empty() {
                        return bad(format!(
                            "attribute {name:?}: categories take no edges and at least one group"
                        ));
                    }
                    let mut seen = std::collections::HashSet::new();
                    for b in body {
                        let BinKind::Categories { values } = &b.kind else {
                            return bad(format!(
                                "attribute {name:?}: a group that is not a list of categories"
                            ));
                        };
                        if values.is_empty() {
                            return bad(format!("attribute {name:?}: an empty group"));
                        }
                        for v in values {
                            if !seen.insert(v.as_str()) {
                                return bad(format!(
                                    "attribute {name:?}: category {v:?} in two groups"
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

/// A value handed to the scorer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// No value.
    Missing,
    /// A number.
    Number(f64),
    /// Text (parsed as a number for numeric attributes; missing tokens count
    /// as missing).
    Text(&'a str),
}

/// Where a row landed in one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// Attribute name.
    pub attribute: String,
    /// The bin's label.
    pub bin: String,
    /// Points below the attribute's best bin (among bins with training rows).
    pub points_lost: i64,
}

/// One attribute's loss against its best bin (see [`Model::score_explained`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lost {
    /// Attribute position in the card.
    pub attribute: usize,
    /// Bin position in the attribute.
    pub bin: usize,
    /// Points below the attribute's best bin (> 0).
    pub points_lost: i64,
}

/// At most three [`Lost`], largest first (ties: the earlier attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Adverse {
    top: [Lost; 3],
    len: usize,
}

impl Adverse {
    /// Keep `(attribute, bin, lost)` if it is among the three largest so
    /// far. Attributes are offered in increasing order, so a tie keeps the
    /// earlier one ahead.
    fn offer(&mut self, attribute: usize, bin: usize, points_lost: i64) {
        if points_lost <= 0 {
            return;
        }
        let at = self.top[..self.len]
            .iter()
            .position(|l| points_lost > l.points_lost)
            .unwrap_or(self.len);
        if at >= self.top.len() {
            return;
        }
        let end = self.len.min(self.top.len() - 1);
        self.top.copy_within(at..end, at + 1);
        self.top[at] = Lost {
            attribute,
            bin,
            points_lost,
        };
        self.len = (self.len + 1).min(self.top.len());
    }

    /// The kept losses, largest first.
    #[must_use]
    pub fn as_slice(&self) -> &[Lost] {
        &self.top[..self.len]
    }

    /// Iterate the kept losses, largest first.
    pub fn iter(&self) -> std::slice::Iter<'_, Lost> {
        self.as_slice().iter()
    }
}

/// Columns of an input table matched to the card's attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    positions: Vec<usize>,
}

#[derive(Debug, Clone)]
enum Lookup {
    Numeric(Vec<f64>),
    Categorical(HashMap<String, usize>),
}

/// A loaded, checked scorecard ready to score.
#[derive(Debug, Clone)]
pub struct Model {
    card: Scorecard,
    lookups: Vec<Lookup>,
    /// Per attribute: its bins' points.
    points: Vec<Vec<i64>>,
    /// Per attribute: the highest points among bins with training rows.
    best: Vec<i64>,
}

impl Model {
    /// Checks `card` and prepares it for scoring.
    ///
    /// # Errors
    /// [`ModelError::Schema`] when the card does not validate.
    pub fn new(card: Scorecard) -> Result<Self, ModelError> {
        card.validate()?;
        let mut lookups = Vec::with_capacity(card.attributes.len());
        let mut points = Vec::with_capacity(card.attributes.len());
        let mut best = Vec::with_capacity(card.attributes.len());
        for a in &card.attributes {
            lookups.push(match a.kind {
                AttributeKind::Numeric => Lookup::Numeric(a.edges.clone()),
                AttributeKind::Categorical => {
                    let mut map = HashMap::new();
                    for (k, b) in a.bins.iter().enumerate() {
                        if let BinKind::Categories { values } = &b.kind {
                            for v in values {
                                map.insert(v.clone(), k);
                            }
                        }
                    }
                    Lookup::Categorical(map)
                }
            });
            points.push(a.bins.iter().map(|b| b.points).collect());
            best.push(
                a.bins
                    .iter()
                    .filter(|b| b.good + b.bad > 0)
                    .map(|b| b.points)
                    .max()
                    .unwrap_or(0),
            );
        }
        Ok(Self {
            card,
            lookups,
            points,
            best,
        })
    }

    /// The card.
    #[must_use]
    pub fn card(&self) -> &Scorecard {
        &self.card
    }

    /// The attributes' names in scoring order.
    pub fn attribute_names(&self) -> impl Iterator<Item = &str> {
        self.card.attributes.iter().map(|a| a.name.as_str())
    }

    /// The bin of `value` in attribute `attr`.
    ///
    /// # Panics
    /// Never for `attr < attributes.len()`; out of range is a caller bug.
    #[must_use]
    pub fn bin_index(&self, attr: usize, value: Value<'_>) -> usize {
        let n = self.points[attr].len();
        let (missing, unseen) = (n - 2, n - 1);
        match (&self.lookups[attr], value) {
            (_, Value::Missing) => missing,
            (Lookup::Numeric(edges), Value::Number(x)) => {
                if x.is_nan() {
                    missing
                } else {
                    crate::binning::bin_of(edges, x)
                }
            }
            (Lookup::Numeric(edges), Value::Text(t)) => {
                let t = t.trim();
                if is_missing(t) {
                    missing
                } else {
                    match t.parse::<f64>() {
                        Ok(x) if x.is_finite() => crate::binning::bin_of(edges, x),
                        _ => unseen,
                    }
                }
            }
            (Lookup::Categorical(map), Value::Text(t)) => {
                let t = t.trim();
                if is_missing(t) {
                    missing
                } else {
                    map.get(t).copied().unwrap_or(unseen)
                }
            }
            (Lookup::Categorical(map), Value::Number(x)) => {
                if x.is_nan() {
                    missing
                } else {
                    map.get(&x.to_string()).copied().unwrap_or(unseen)
                }
            }
        }
    }

    /// The score of a row given in attribute order (absent trailing values
    /// count as missing).
    #[must_use]
    pub fn score(&self, values: &[Value<'_>]) -> i64 {
        let mut total = self.card.base_points;
        for (a, pts) in self.points.iter().enumerate() {
            let v = values.get(a).copied().unwrap_or(Value::Missing);
            total += pts[self.bin_index(a, v)];
        }
        total
    }

    /// Matches the card's attributes to the columns of a header.
    ///
    /// # Errors
    /// [`ModelError::MissingColumn`] for an attribute with no column.
    pub fn bind<S: AsRef<str>>(&self, columns: &[S]) -> Result<Binding, ModelError> {
        let mut positions = Vec::with_capacity(self.card.attributes.len());
        for a in &self.card.attributes {
            let p = columns
                .iter()
                .position(|c| c.as_ref() == a.name)
                .ok_or_else(|| ModelError::MissingColumn {
                    column: a.name.clone(),
                    role: "an attribute of the model",
                    available: columns
                        .iter()
                        .map(AsRef::as_ref)
                        .collect::<Vec<_>>()
                        .join(", "),
                })?;
            positions.push(p);
        }
        Ok(Binding { positions })
    }

    /// The score of a row of text fields laid out as the bound header (a
    /// field beyond the row's end counts as missing).
    #[must_use]
    pub fn score_fields<S: AsRef<str>>(&self, binding: &Binding, fields: &[S]) -> i64 {
        let mut total = self.card.base_points;
        for (a, &p) in binding.positions.iter().enumerate() {
            let v = fields
                .get(p)
                .map_or(Value::Missing, |f| Value::Text(f.as_ref()));
            total += self.points[a][self.bin_index(a, v)];
        }
        total
    }

    /// The three largest adverse contributions of a row (attribute order):
    /// the attributes where it lost most points against the attribute's best
    /// bin, largest first (ties in attribute order), only those that lost
    /// any.
    #[must_use]
    pub fn adverse_reasons(&self, values: &[Value<'_>]) -> Vec<Reason> {
        let (_, adverse) =
            self.score_explained(|a| values.get(a).copied().unwrap_or(Value::Missing));
        adverse
            .iter()
            .map(|l| Reason {
                attribute: self.card.attributes[l.attribute].name.clone(),
                bin: self.card.attributes[l.attribute].bins[l.bin].label(),
                points_lost: l.points_lost,
            })
            .collect()
    }

    /// The score of a row and its three largest adverse contributions, in
    /// one pass over the attributes and without allocating: `value(a)` is
    /// attribute `a`'s value. The same figures as [`Model::score`] and
    /// [`Model::adverse_reasons`] (what an engine calls per decision).
    pub fn score_explained<'v>(&self, mut value: impl FnMut(usize) -> Value<'v>) -> (i64, Adverse) {
        let mut total = self.card.base_points;
        let mut adverse = Adverse::default();
        for (a, (pts, best)) in self.points.iter().zip(&self.best).enumerate() {
            let k = self.bin_index(a, value(a));
            let p = pts[k];
            total += p;
            adverse.offer(a, k, best.saturating_sub(p));
        }
        (total, adverse)
    }
    /// The model file's text (see the module documentation).
    ///
    /// # Errors
    /// [`ModelError::Schema`] if the card cannot be encoded (not expected).
    pub fn to_file_text(&self) -> Result<String, ModelError> {
        let content = serde_json::to_string_pretty(&self.card)
            .map_err(|e| ModelError::Schema(format!("cannot encode: {e}")))?;
        // indent the content one level under the envelope
        let content = content.replace('\n', "\n  ");
        let sha = sha256_hex(content.as_bytes());
        Ok(format!(
            "{{\n  \"format\": \"{FORMAT}\",\n  \"format_version\": {FORMAT_VERSION},\n  \"sha256\": \"{sha}\",\n  \"content\": {content}\n}}\n"
        ))
    }

    /// Reads a model file's text: envelope, checksum, schema, validation.
    ///
    /// # Errors
    /// [`ModelError::Schema`] for anything but a version-1 scorecard document,
    /// [`ModelError::Checksum`] when the content does not hash to `sha256`.
    pub fn from_file_text(text: &str) -> Result<Self, ModelError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Envelope<'a> {
            format: String,
            format_version: u32,
            sha256: String,
            #[serde(borrow)]
            content: &'a serde_json::value::RawValue,
        }
        let env: Envelope<'_> = serde_json::from_str(text)
            .map_err(|e| ModelError::Schema(format!("not a scorecard file: {e}")))?;
        if env.format != FORMAT {
            return Err(ModelError::Schema(format!(
                "format {:?} is not {FORMAT:?}",
                env.format
            )));
        }
        if env.format_version != FORMAT_VERSION {
            return Err(ModelError::Schema(format!(
                "format version {} is not supported (this build reads {FORMAT_VERSION})",
                env.format_version
            )));
        }
        let actual = sha256_hex(env.content.get().as_bytes());
        if !actual.eq_ignore_ascii_case(&env.sha256) {
            return Err(ModelError::Checksum {
                expected: env.sha256,
                actual,
            });
        }
        let card: Scorecard = serde_json::from_str(env.content.get())
            .map_err(|e| ModelError::Schema(format!("content: {e}")))?;
        Self::new(card)
    }

    /// Writes the model file.
    ///
    /// # Errors
    /// [`ModelError::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let text = self.to_file_text()?;
        std::fs::write(path, text).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads and checks a model file.
    ///
    /// # Errors
    /// [`ModelError::Io`], or as [`Model::from_file_text`].
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_file_text(&text)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}
