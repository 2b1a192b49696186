//! Fitting a scorecard from a [`Table`].
//!
//! 1. The label column's value equal to `positive` marks a bad row; any other
//!    value a good row; a missing label is an error naming the line.
//! 2. With a split column, rows whose split value is `train` fit the card and
//!    `test` rows are only scored; any other value is an error.
//! 3. Every other column (minus `ignore`) is an attribute. It is **numeric**
//!    when every non-missing training value parses as a finite number,
//!    otherwise **categorical** (so a number column with a stray word is
//!    categorical; with more distinct values than `max_categories` that is an
//!    error that says which value is not a number).
//! 4. Numbers: `fine_bins` quantile bins, then the monotone partition of
//!    [`crate::binning`]. Categories: values with fewer than the minimum rows
//!    pooled, then ordered by bad rate and partitioned the same way. Missing
//!    values are their own bin; values never seen in training score WoE 0.
//!    A bin needs `min_bin_share` of the attribute's non-missing training
//!    rows; at most `max_bins` bins (missing and unseen not counted).
//! 5. Attributes with a single bin and no missing values (constant) or with
//!    an IV below `min_iv` are dropped (listed in the card with the reason).
//! 6. L2 logistic regression of the label on the kept attributes' WoE
//!    ([`crate::logistic`], λ = `l2`). Since a positive WoE is riskier, a
//!    coefficient ≤ 0 means the attribute points the wrong way once the
//!    others are known: the one with the smallest coefficient is dropped and
//!    the fit repeated until all are positive.
//! 7. Points per bin from the scaling; train/test AUC, KS and Gini of the
//!    integer score, ROC points and score histograms stored in the card.

use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::binning::{self, Constraints, Counts, Trend};
use crate::logistic;
use crate::metrics::{Metrics, evaluate};
use crate::model::{
    Attribute, AttributeKind, Bin, BinKind, Dropped, Histogram, Model, Scaling, Scorecard, Training,
};
use crate::table::{Table, is_missing};
use crate::woe::{iv_term, woe};

/// Settings of a fit (stored in the model file).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Quantile bins a numeric attribute starts from (2–50).
    pub fine_bins: usize,
    /// Most bins per attribute, missing and unseen not counted (1–20).
    pub max_bins: usize,
    /// Least share of an attribute's non-missing training rows in a bin
    /// (0–0.5).
    pub min_bin_share: f64,
    /// Most distinct values of a categorical attribute (2–1000).
    pub max_categories: usize,
    /// Attributes with a lower IV are dropped (0 keeps all but constants).
    pub min_iv: f64,
    /// L2 penalty λ of the logistic fit (≥ 0).
    pub l2: f64,
    /// Score at `base_odds`.
    pub base_score: f64,
    /// Good:bad odds scoring `base_score`.
    pub base_odds: f64,
    /// Points to double the odds.
    pub pdo: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            fine_bins: 20,
            max_bins: 6,
            min_bin_share: 0.05,
            max_categories: 50,
            min_iv: 0.02,
            l2: 1.0,
            base_score: 600.0,
            base_odds: 19.0,
            pdo: 50.0,
        }
    }
}

impl TrainConfig {
    fn check(&self) -> Result<(), ModelError> {
        let err = |m: &str| Err(ModelError::Config(m.into()));
        if !(2..=50).contains(&self.fine_bins) {
            return err("fine_bins must be 2 to 50");
        }
        if !(1..=20).contains(&self.max_bins) {
            return err("max_bins must be 1 to 20");
        }
        if !(self.min_bin_share.is_finite() && (0.0..=0.5).contains(&self.min_bin_share)) {
            return err("min_bin_share must be 0 to 0.5");
        }
        if !(2..=1000).contains(&self.max_categories) {
            return err("max_categories must be 2 to 1000");
        }
        if !(self.min_iv.is_finite() && self.min_iv >= 0.0) {
            return err("min_iv must be ≥ 0");
        }
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return err("l2 must be ≥ 0");
        }
        let s = Scaling {
            base_score: self.base_score,
            base_odds: self.base_odds,
            pdo: self.pdo,
        };
        if !(s.base_score.is_finite() && s.base_score.abs() <= 1e6) {
            return err("base_score must be finite (|x| ≤ 1e6)");
        }
        if !(s.base_odds.is_finite()
            && s.base_odds > 0.0
            && s.pdo.is_finite()
            && s.pdo > 0.0
            && s.pdo <= 1e4)
        {
            return err("base_odds must be > 0 and pdo in (0, 10000]");
        }
        Ok(())
    }
}

/// Which columns play which role.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TrainSpec {
    /// The label column.
    pub label: String,
    /// The label value of the positive ("bad") class.
    pub positive: String,
    /// A column of `train` / `test` values, if any.
    pub split: Option<String>,
    /// Columns that are not attributes (ids, dates).
    pub ignore: Vec<String>,
}

enum Prepared {
    Kept {
        attribute: Attribute,
        bins_of_rows: Vec<usize>,
    },
    Dropped(Dropped),
}

/// Fits a scorecard.
///
/// # Errors
/// Each [`ModelError`] of bad input: a missing column, a missing label, a
/// bad split value, a single class, too many categories, no attribute left,
/// a bad setting.
#[allow(clippy::too_many_lines)]
pub fn train(table: &Table, spec: &TrainSpec, config: &TrainConfig) -> Result<Model, ModelError> {
    config.check()?;
    let available = || table.columns().join(", ");
    let find = |name: &str, role: &'static str| {
        table.column(name).ok_or_else(|| ModelError::MissingColumn {
            column: name.to_owned(),
            role,
            available: available(),
        })
    };
    let label = find(&spec.label, "the label")?;
    let split = spec
        .split
        .as_deref()
        .map(|s| find(s, "the split"))
        .transpose()?;
    let mut skip = vec![label];
    skip.extend(split);
    for i in &spec.ignore {
        skip.push(find(i, "a column to ignore")?);
    }

    // labels and split
    let mut bad = Vec::with_capacity(table.rows().len());
    let mut is_train = Vec::with_capacity(table.rows().len());
    for (i, row) in table.rows().iter().enumerate() {
        let v = &row[label];
        if is_missing(v) {
            return Err(ModelError::MissingLabel {
                line: table.line(i),
                column: spec.label.clone(),
            });
        }
        bad.push(*v == spec.positive);
        is_train.push(match split {
            None => true,
            Some(s) => match row[s].to_ascii_lowercase().as_str() {
                "train" => true,
                "test" => false,
                _ => {
                    return Err(ModelError::BadSplit {
                        line: table.line(i),
                        value: row[s].clone(),
                    });
                }
            },
        });
    }
    let train_rows: Vec<usize> = (0..bad.len()).filter(|&i| is_train[i]).collect();
    let test_rows: Vec<usize> = (0..bad.len()).filter(|&i| !is_train[i]).collect();
    if train_rows.is_empty() {
        return Err(ModelError::NoTrainingRows);
    }
    let totals = train_rows.iter().fold(Counts::default(), |mut c, &i| {
        if bad[i] {
            c.bad += 1
        } else {
            c.good += 1
        }
        c
    });
    if totals.bad == 0 || totals.good == 0 {
        let mut values: Vec<&str> = train_rows
            .iter()
            .map(|&i| table.rows()[i][label].as_str())
            .collect();
        values.sort_unstable();
        values.dedup();
        values.truncate(5);
        return Err(ModelError::SingleClass {
            label: spec.label.clone(),
            positive: spec.positive.clone(),
            bad: totals.bad,
            good: totals.good,
            values: values.join(", "),
        });
    }

    // bin every attribute
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (c, name) in table.columns().iter().enumerate() {
        if skip.contains(&c) {
            continue;
        }
        match prepare(table, c, name, &train_rows, &bad, totals, config)? {
            Prepared::Kept {
                attribute,
                bins_of_rows,
            } => kept.push((attribute, bins_of_rows)),
            Prepared::Dropped(d) => dropped.push(d),
        }
    }
    if kept.is_empty() {
        let why = if dropped.is_empty() {
            "the table has no column besides the label and split".to_owned()
        } else {
            dropped
                .iter()
                .map(|d| format!("{} ({})", d.name, d.reason))
                .collect::<Vec<_>>()
                .join("; ")
        };
        return Err(ModelError::NoAttributes(why));
    }

    // fit, dropping wrong-signed attributes
    let y: Vec<bool> = train_rows.iter().map(|&i| bad[i]).collect();
    let fit =
        loop {
            let x: Vec<Vec<f64>> = (0..train_rows.len())
                .map(|r| {
                    kept.iter()
                        .map(|(a, rows): &(Attribute, Vec<usize>)| a.bins[rows[r]].woe)
                        .collect()
                })
                .collect();
            let fit = logistic::fit(&x, &y, config.l2)?;
            let (worst, coef) = fit.coefficients.iter().copied().enumerate().fold(
                (0, f64::INFINITY),
                |acc, (i, c)| if c < acc.1 { (i, c) } else { acc },
            );
            if coef > 0.0 || kept.len() == 1 {
                break fit;
            }
            let (a, _) = kept.remove(worst);
            dropped.push(Dropped {
            name: a.name,
            reason: format!(
                "coefficient {coef:.4} ≤ 0 in the joint fit (points the wrong way given the others)"
            ),
            iv: Some(a.iv),
        });
        };

    let scaling = Scaling {
        base_score: config.base_score,
        base_odds: config.base_odds,
        pdo: config.pdo,
    };
    let mut attributes: Vec<Attribute> = Vec::with_capacity(kept.len());
    for ((mut a, _), coef) in kept.into_iter().zip(&fit.coefficients) {
        a.coefficient = *coef;
        for b in &mut a.bins {
            b.points = scaling.bin_points(a.coefficient, b.woe);
        }
        attributes.push(a);
    }
    let placeholder = Metrics {
        rows: 0,
        positives: 0,
        auc: 0.5,
        ks: 0.0,
        gini: 0.0,
    };
    let card = Scorecard {
        label: spec.label.clone(),
        positive: spec.positive.clone(),
        scaling,
        intercept: fit.intercept,
        base_points: scaling.base_points(fit.intercept),
        attributes,
        dropped,
        training: Training {
            config: *config,
            split: spec.split.clone(),
            train: placeholder,
            test: None,
            roc_train: Vec::new(),
            roc_test: Vec::new(),
            histogram: Histogram {
                edges: Vec::new(),
                train_good: Vec::new(),
                train_bad: Vec::new(),
                test_good: Vec::new(),
                test_bad: Vec::new(),
            },
        },
    };
    let model = Model::new(card)?;

    // measure the integer score the card gives
    let binding = model.bind(table.columns())?;
    let scores: Vec<i64> = table
        .rows()
        .iter()
        .map(|r| model.score_fields(&binding, r))
        .collect();
    let pick = |rows: &[usize]| -> (Vec<i64>, Vec<bool>) {
        (
            rows.iter().map(|&i| scores[i]).collect(),
            rows.iter().map(|&i| bad[i]).collect(),
        )
    };
    let (train_scores, train_bad) = pick(&train_rows);
    let (test_scores, test_bad) = pick(&test_rows);
    let (train_metrics, roc_train) = evaluate(&train_scores, &train_bad, 200)
        .ok_or_else(|| ModelError::Fit("training rows lost a class".into()))?;
    let (test_metrics, roc_test) = match evaluate(&test_scores, &test_bad, 200) {
        Some((m, r)) => (Some(m), r),
        None => (None, Vec::new()),
    };
    let histogram = histogram(&scores, &bad, &is_train, !test_rows.is_empty());
    let mut card = model.card().clone();
    card.training.train = train_metrics;
    card.training.test = test_metrics;
    card.training.roc_train = roc_train;
    card.training.roc_test = roc_test;
    card.training.histogram = histogram;
    Model::new(card)
}

fn histogram(scores: &[i64], bad: &[bool], is_train: &[bool], has_test: bool) -> Histogram {
    const BUCKETS: i64 = 20;
    let min = scores.iter().copied().min().unwrap_or(0);
    let max = scores.iter().copied().max().unwrap_or(0);
    let width = ((max - min) / BUCKETS + 1).max(1);
    let edges: Vec<i64> = (0..=BUCKETS).map(|k| min + k * width).collect();
    let n = usize::try_from(BUCKETS).unwrap_or(20);
    let mut h = Histogram {
        edges,
        train_good: vec![0; n],
        train_bad: vec![0; n],
        test_good: if has_test { vec![0; n] } else { Vec::new() },
        test_bad: if has_test { vec![0; n] } else { Vec::new() },
    };
    for ((&s, &b), &t) in scores.iter().zip(bad).zip(is_train) {
        let k = usize::try_from((s - min) / width).unwrap_or(0).min(n - 1);
        let v = match (t, b) {
            (true, false) => &mut h.train_good,
            (true, true) => &mut h.train_bad,
            (false, false) => &mut h.test_good,
            (false, true) => &mut h.test_bad,
        };
        v[k] += 1;
    }
    h
}

#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
fn prepare(
    table: &Table,
    c: usize,
    name: &str,
    train_rows: &[usize],
    bad: &[bool],
    totals: Counts,
    config: &TrainConfig,
) -> Result<Prepared, ModelError> {
    let values: Vec<&str> = train_rows
        .iter()
        .map(|&i| table.rows()[i][c].as_str())
        .collect();
    let present = values.iter().filter(|v| !is_missing(v)).count();
    if present == 0 {
        return Ok(Prepared::Dropped(Dropped {
            name: name.to_owned(),
            reason: "no value in the training rows".into(),
            iv: None,
        }));
    }
    let min_count = ((config.min_bin_share * present as f64).ceil() as u64).max(1);
    let cons = Constraints {
        min_count,
        max_bins: config.max_bins,
        totals,
    };
    let mut missing = Counts::default();
    for (v, &i) in values.iter().zip(train_rows) {
        if is_missing(v) {
            if bad[i] {
                missing.bad += 1
            } else {
                missing.good += 1
            }
        }
    }
    let numbers: Option<Vec<f64>> = values
        .iter()
        .filter(|v| !is_missing(v))
        .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    let (kind, edges, mut bins, row_bins) = if let Some(mut sorted) = numbers {
        sorted.sort_by(f64::total_cmp);
        let cuts = binning::quantile_cuts(&sorted, config.fine_bins);
        let mut fine = vec![Counts::default(); cuts.len() + 1];
        for (v, &i) in values.iter().zip(train_rows) {
            if let Ok(x) = v.parse::<f64>()
                && !is_missing(v)
            {
                let f = &mut fine[binning::bin_of(&cuts, x)];
                if bad[i] { f.bad += 1 } else { f.good += 1 }
            }
        }
        let (up, iv_up) = binning::best_partition(&fine, cons, Trend::Increasing);
        let (down, iv_down) = binning::best_partition(&fine, cons, Trend::Decreasing);
        let starts = if iv_down > iv_up + 1e-12 { down } else { up };
        let edges: Vec<f64> = starts.iter().map(|&s| cuts[s - 1]).collect();
        let mut groups = vec![Counts::default(); edges.len() + 1];
        let mut row_bins = Vec::with_capacity(values.len());
        let missing_bin = edges.len() + 1;
        for (v, &i) in values.iter().zip(train_rows) {
            let k = if is_missing(v) {
                missing_bin
            } else {
                let x = v.parse::<f64>().unwrap_or(f64::NAN);
                binning::bin_of(&edges, x)
            };
            if k < groups.len() {
                if bad[i] {
                    groups[k].bad += 1
                } else {
                    groups[k].good += 1
                }
            }
            row_bins.push(k);
        }
        let bins: Vec<(BinKind, Counts)> = groups
            .iter()
            .enumerate()
            .map(|(k, g)| {
                (
                    BinKind::Range {
                        lower: k.checked_sub(1).map(|p| edges[p]),
                        upper: edges.get(k).copied(),
                    },
                    *g,
                )
            })
            .collect();
        (AttributeKind::Numeric, edges, bins, row_bins)
    } else {
        let mut cats: Vec<(String, Counts)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for (v, &i) in values.iter().zip(train_rows) {
            if is_missing(v) {
                continue;
            }
            let k = *index.entry(*v).or_insert_with(|| {
                cats.push(((*v).to_owned(), Counts::default()));
                cats.len() - 1
            });
            if bad[i] {
                cats[k].1.bad += 1
            } else {
                cats[k].1.good += 1
            }
        }
        if cats.len() > config.max_categories {
            let number = |v: &str| v.parse::<f64>().is_ok_and(f64::is_finite);
            let numeric = values
                .iter()
                .filter(|v| !is_missing(v) && number(v))
                .count();
            let hint = if numeric * 2 >= present {
                let first = values
                    .iter()
                    .find(|v| !is_missing(v) && !number(v))
                    .copied()
                    .unwrap_or_default();
                format!(
                    "; it is mostly numbers but holds non-numeric values such as {first:?}, so it was read as categories"
                )
            } else {
                String::new()
            };
            return Err(ModelError::TooManyCategories {
                column: name.to_owned(),
                count: cats.len(),
                max: config.max_categories,
                hint,
            });
        }
        // pool rare values, then order by bad rate (ties by name)
        let mut items: Vec<(Vec<String>, Counts)> = Vec::new();
        let mut rare: (Vec<String>, Counts) = (Vec::new(), Counts::default());
        for (v, cnt) in cats {
            if cnt.total() < min_count {
                rare.0.push(v);
                rare.1.good += cnt.good;
                rare.1.bad += cnt.bad;
            } else {
                items.push((vec![v], cnt));
            }
        }
        if !rare.0.is_empty() {
            items.push(rare);
        }
        for it in &mut items {
            it.0.sort();
        }
        items.sort_by(|a, b| {
            let lhs = u128::from(a.1.bad) * u128::from(b.1.total());
            let rhs = u128::from(b.1.bad) * u128::from(a.1.total());
            lhs.cmp(&rhs).then_with(|| a.0.cmp(&b.0))
        });
        let fine: Vec<Counts> = items.iter().map(|i| i.1).collect();
        let (starts, _) = binning::best_partition(&fine, cons, Trend::Increasing);
        let mut bounds = vec![0];
        bounds.extend(&starts);
        bounds.push(items.len());
        let mut bins = Vec::new();
        let mut group_of = std::collections::HashMap::new();
        for (g, w) in bounds.windows(2).enumerate() {
            let mut vals = Vec::new();
            let mut cnt = Counts::default();
            for it in &items[w[0]..w[1]] {
                vals.extend(it.0.iter().cloned());
                cnt.good += it.1.good;
                cnt.bad += it.1.bad;
            }
            vals.sort();
            for v in &vals {
                group_of.insert(v.clone(), g);
            }
            bins.push((BinKind::Categories { values: vals }, cnt));
        }
        let missing_bin = bins.len();
        let row_bins = values
            .iter()
            .map(|v| {
                if is_missing(v) {
                    missing_bin
                } else {
                    group_of.get(*v).copied().unwrap_or(missing_bin)
                }
            })
            .collect();
        (AttributeKind::Categorical, Vec::new(), bins, row_bins)
    };
    let groups = bins.len();
    bins.push((BinKind::Missing, missing));
    bins.push((BinKind::Unseen, Counts::default()));
    let iv: f64 = bins.iter().map(|(_, c)| iv_term(*c, totals)).sum();
    if groups == 1 && missing.total() == 0 {
        return Ok(Prepared::Dropped(Dropped {
            name: name.to_owned(),
            reason: "a single bin: constant, or no split meets the bin size and monotone bad rate limits"
                .into(),
            iv: Some(iv),
        }));
    }
    if iv < config.min_iv {
        return Ok(Prepared::Dropped(Dropped {
            name: name.to_owned(),
            reason: format!("IV {iv:.4} below the threshold {}", config.min_iv),
            iv: Some(iv),
        }));
    }
    let bins = bins
        .into_iter()
        .map(|(kind, c)| Bin {
            kind,
            good: c.good,
            bad: c.bad,
            woe: woe(c, totals),
            points: 0,
        })
        .collect();
    Ok(Prepared::Kept {
        attribute: Attribute {
            name: name.to_owned(),
            kind,
            edges,
            iv,
            coefficient: 0.0,
            bins,
        },
        bins_of_rows: row_bins,
    })
}
