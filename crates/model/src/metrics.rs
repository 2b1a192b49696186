//! Discrimination of a score: AUC, KS, Gini, the ROC curve, histograms.
//!
//! Scores are points: **higher is safer**. The positive ("bad") class is
//! detected by low scores, so AUC is the probability that a random bad row
//! scores below a random good row (ties count half), KS the largest gap
//! between the cumulative score distributions of bads and goods, and
//! Gini = 2·AUC − 1.

use serde::{Deserialize, Serialize};

/// AUC, KS and Gini of one set of rows.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Rows scored.
    pub rows: u64,
    /// Rows of the positive class among them.
    pub positives: u64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Kolmogorov–Smirnov statistic.
    pub ks: f64,
    /// 2·AUC − 1.
    pub gini: f64,
}

/// The metrics and the ROC curve (as `[false-positive rate, true-positive
/// rate]` points from (0, 0) to (1, 1), at most `max_points` + 2 of them) of
/// `scores` with `bad` labels. `None` when either class is absent.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn evaluate(
    scores: &[i64],
    bad: &[bool],
    max_points: usize,
) -> Option<(Metrics, Vec<[f64; 2]>)> {
    let positives = bad.iter().filter(|b| **b).count() as u64;
    let rows = scores.len() as u64;
    let negatives = rows - positives;
    if positives == 0 || negatives == 0 || scores.len() != bad.len() {
        return None;
    }
    let mut order: Vec<(i64, bool)> = scores.iter().copied().zip(bad.iter().copied()).collect();
    order.sort_unstable();
    let (np, nn) = (positives as f64, negatives as f64);
    let mut cum_bad = 0u64;
    let mut cum_good = 0u64;
    let mut auc_sum = 0.0; // Σ over bads of (goods strictly above + half the tied)
    let mut ks: f64 = 0.0;
    let mut roc = vec![[0.0, 0.0]];
    let mut i = 0;
    while i < order.len() {
        let s = order[i].0;
        let (mut tb, mut tg) = (0u64, 0u64);
        while i < order.len() && order[i].0 == s {
            if order[i].1 {
                tb += 1
            } else {
                tg += 1
            }
            i += 1;
        }
        // goods scoring above s: negatives − cum_good − tg
        let above = (negatives - cum_good - tg) as f64;
        auc_sum += tb as f64 * (above + 0.5 * tg as f64);
        cum_bad += tb;
        cum_good += tg;
        let (tpr, fpr) = (cum_bad as f64 / np, cum_good as f64 / nn);
        ks = ks.max((tpr - fpr).abs());
        roc.push([fpr, tpr]);
    }
    let auc = auc_sum / (np * nn);
    let roc = thin(&roc, max_points);
    Some((
        Metrics {
            rows,
            positives,
            auc,
            ks,
            gini: 2.0 * auc - 1.0,
        },
        roc,
    ))
}

/// Keeps the first and last point and at most `max_points` evenly spaced
/// points in between.
fn thin(points: &[[f64; 2]], max_points: usize) -> Vec<[f64; 2]> {
    if points.len() <= max_points + 2 {
        return points.to_vec();
    }
    let last = points.len() - 1;
    let mut out = vec![points[0]];
    for k in 1..=max_points {
        out.push(points[k * last / (max_points + 1)]);
    }
    out.push(points[last]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted() {
        let bad = [true, true, false, false];
        let (m, roc) = evaluate(&[1, 2, 3, 4], &bad, 100).expect("both classes");
        assert!((m.auc - 1.0).abs() < 1e-12 && (m.ks - 1.0).abs() < 1e-12);
        assert!((m.gini - 1.0).abs() < 1e-12);
        assert_eq!(roc.first(), Some(&[0.0, 0.0]));
        assert_eq!(roc.last(), Some(&[1.0, 1.0]));
        let (m, _) = evaluate(&[5, 5, 5, 5], &bad, 100).expect("both classes");
        assert!((m.auc - 0.5).abs() < 1e-12 && m.ks.abs() < 1e-12);
        let (m, _) = evaluate(&[4, 3, 2, 1], &bad, 100).expect("both classes");
        assert!(m.auc.abs() < 1e-12);
        assert!(evaluate(&[1, 2], &[true, true], 100).is_none());
    }

    #[test]
    fn auc_matches_pair_counting() {
        let scores = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8];
        let bad = [
            true, false, true, true, false, false, true, false, true, false, false, false,
        ];
        let (m, roc) = evaluate(&scores, &bad, 3).expect("both");
        let mut wins = 0.0;
        let mut pairs = 0.0;
        for (s1, b1) in scores.iter().zip(&bad) {
            for (s2, b2) in scores.iter().zip(&bad) {
                if *b1 && !*b2 {
                    pairs += 1.0;
                    if s1 < s2 {
                        wins += 1.0
                    } else if s1 == s2 {
                        wins += 0.5
                    }
                }
            }
        }
        assert!(
            (m.auc - wins / pairs).abs() < 1e-12,
            "{} {}",
            m.auc,
            wins / pairs
        );
        assert_eq!(roc.len(), 5);
    }
}
