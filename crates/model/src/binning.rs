//! Binning: fine bins (quantiles for numbers, one per category), then the
//! partition of those fine bins into contiguous groups that maximises the
//! attribute's information value under the constraints:
//!
//! - each group holds at least `min_count` rows (a group of all rows is
//!   always allowed, whatever its size);
//! - at most `max_bins` groups;
//! - the bad rate is **strictly monotone** across groups (numbers: the
//!   increasing and the decreasing solution are both computed and the one
//!   with the larger IV kept, increasing on a tie; categories: they are
//!   ordered by bad rate first, so any contiguous grouping is monotone).
//!
//! The partition is found exactly by dynamic programming over (groups used,
//! start of the last group, end of the last group): O(k·n³) for n fine bins,
//! n ≤ 50, so it is deterministic and cheap.

use crate::woe::iv_term;

/// Goods and bads of one fine bin or group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows of the negative class.
    pub good: u64,
    /// Rows of the positive class.
    pub bad: u64,
}

impl Counts {
    /// Rows in all.
    #[must_use]
    pub fn total(self) -> u64 {
        self.good + self.bad
    }

    /// The bad rate (0 for no rows).
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn bad_rate(self) -> f64 {
        if self.total() == 0 {
            0.0
        } else {
            self.bad as f64 / self.total() as f64
        }
    }

    fn add(self, o: Self) -> Self {
        Self {
            good: self.good + o.good,
            bad: self.bad + o.bad,
        }
    }
}

/// Direction of the bad rate across groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trend {
    /// Bad rate strictly rises from the first group to the last.
    Increasing,
    /// Bad rate strictly falls.
    Decreasing,
}

/// Constraints of a partition.
#[derive(Debug, Clone, Copy)]
pub struct Constraints {
    /// Least rows in a group.
    pub min_count: u64,
    /// Most groups.
    pub max_bins: usize,
    /// Totals of the attribute's rows (for the IV of a group).
    pub totals: Counts,
}

/// The best partition of `fine` into contiguous groups, as the start index of
/// every group after the first (so `[]` is a single group), and its IV.
#[must_use]
pub fn best_partition(fine: &[Counts], c: Constraints, trend: Trend) -> (Vec<usize>, f64) {
    let n = fine.len();
    if n <= 1 {
        return (Vec::new(), 0.0);
    }
    let k_max = c.max_bins.clamp(1, n);
    // prefix sums
    let mut prefix = vec![Counts::default(); n + 1];
    for (i, f) in fine.iter().enumerate() {
        prefix[i + 1] = prefix[i].add(*f);
    }
    let group = |i: usize, j: usize| Counts {
        good: prefix[j].good - prefix[i].good,
        bad: prefix[j].bad - prefix[i].bad,
    };
    let ok_size = |i: usize, j: usize| group(i, j).total() >= c.min_count;
    let iv = |i: usize, j: usize| {
        let g = group(i, j);
        iv_term(g, c.totals)
    };
    let ordered = |a: Counts, b: Counts| {
        // strict, compared exactly by cross-multiplication
        let lhs = u128::from(a.bad) * u128::from(b.total());
        let rhs = u128::from(b.bad) * u128::from(a.total());
        match trend {
            Trend::Increasing => lhs < rhs,
            Trend::Decreasing => lhs > rhs,
        }
    };
    let idx = |i: usize, j: usize| i * (n + 1) + j;
    let neg = f64::NEG_INFINITY;
    // best[k][i][j]: best IV covering [0, j) with k+1 groups, the last [i, j)
    let mut prev = vec![neg; (n + 1) * (n + 1)];
    let mut parents: Vec<Vec<usize>> = Vec::with_capacity(k_max);
    for j in 1..=n {
        if ok_size(0, j) || j == n {
            prev[idx(0, j)] = iv(0, j);
        }
    }
    parents.push(vec![usize::MAX; (n + 1) * (n + 1)]);
    let mut best = (prev[idx(0, n)], 0usize, 0usize);
    for k in 1..k_max {
        let mut cur = vec![neg; (n + 1) * (n + 1)];
        let mut parent = vec![usize::MAX; (n + 1) * (n + 1)];
        for i in 1..n {
            for j in (i + 1)..=n {
                if !ok_size(i, j) {
                    continue;
                }
                let last = group(i, j);
                let mut best_here = neg;
                let mut best_h = usize::MAX;
                for h in 0..i {
                    let v = prev[idx(h, i)];
                    if v == neg {
                        continue;
                    }
                    if !ordered(group(h, i), last) {
                        continue;
                    }
                    if v > best_here {
                        best_here = v;
                        best_h = h;
                    }
                }
                if best_h != usize::MAX {
                    cur[idx(i, j)] = best_here + iv(i, j);
                    parent[idx(i, j)] = best_h;
                }
            }
        }
        for i in 1..n {
            let v = cur[idx(i, n)];
            // strictly better only: fewer groups win a tie
            if v > best.0 + 1e-12 {
                best = (v, k, i);
            }
        }
        parents.push(parent);
        prev = cur;
    }
    // walk back
    let (value, k, mut i) = best;
    let mut starts = Vec::new();
    let mut j = n;
    let mut layer = k;
    while layer > 0 {
        starts.push(i);
        let h = parents[layer][idx(i, j)];
        j = i;
        i = h;
        layer -= 1;
    }
    starts.reverse();
    let value = if value.is_finite() { value } else { 0.0 };
    (starts, value)
}

/// Cut points of fine quantile bins over sorted, finite `values`: at most
/// `fine_bins - 1` distinct cuts, each a value of the data; a bin holds
/// `cut[i-1] <= x < cut[i]`.
#[must_use]
pub fn quantile_cuts(sorted: &[f64], fine_bins: usize) -> Vec<f64> {
    let n = sorted.len();
    let mut cuts: Vec<f64> = Vec::new();
    if n == 0 {
        return cuts;
    }
    let min = sorted[0];
    for q in 1..fine_bins {
        let pos = (q * n) / fine_bins;
        let v = sorted[pos.min(n - 1)];
        if v > min && cuts.last().is_none_or(|last| v > *last) {
            cuts.push(v);
        }
    }
    cuts
}

/// The bin of `x` among cut points (`cut[i-1] <= x < cut[i]`).
#[must_use]
pub fn bin_of(cuts: &[f64], x: f64) -> usize {
    cuts.partition_point(|c| *c <= x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(good: u64, bad: u64) -> Counts {
        Counts { good, bad }
    }

    fn totals(f: &[Counts]) -> Counts {
        f.iter().fold(Counts::default(), |a, b| a.add(*b))
    }

    #[test]
    fn monotone_data_keeps_its_bins() {
        let fine = [c(90, 10), c(80, 20), c(70, 30), c(60, 40)];
        let cons = Constraints {
            min_count: 50,
            max_bins: 8,
            totals: totals(&fine),
        };
        let (starts, iv) = best_partition(&fine, cons, Trend::Increasing);
        assert_eq!(starts, [1, 2, 3]);
        assert!(iv > 0.0);
        let (starts_dec, iv_dec) = best_partition(&fine, cons, Trend::Decreasing);
        assert!(
            starts_dec.is_empty(),
            "no decreasing split exists: {starts_dec:?}"
        );
        assert!(
            iv_dec.abs() < 1e-3,
            "a single group carries no information: {iv_dec}"
        );
    }

    #[test]
    fn a_violation_is_merged_and_limits_hold() {
        // bad rates .10 .30 .20 .50: increasing needs the middle two together
        let fine = [c(90, 10), c(70, 30), c(80, 20), c(50, 50)];
        let cons = Constraints {
            min_count: 50,
            max_bins: 8,
            totals: totals(&fine),
        };
        let (starts, _) = best_partition(&fine, cons, Trend::Increasing);
        assert_eq!(starts, [1, 3]);
        let cons2 = Constraints {
            max_bins: 2,
            ..cons
        };
        let (starts2, _) = best_partition(&fine, cons2, Trend::Increasing);
        assert_eq!(starts2.len(), 1);
        let cons3 = Constraints {
            min_count: 250,
            ..cons
        };
        let (starts3, _) = best_partition(&fine, cons3, Trend::Increasing);
        assert!(starts3.len() <= 1, "{starts3:?}");
        for s in &starts3 {
            let left: u64 = fine[..*s].iter().map(|f| f.total()).sum();
            assert!(left >= 250 && 400 - left >= 250);
        }
    }

    #[test]
    fn quantile_cuts_are_distinct_data_values() {
        let v: Vec<f64> = (0..100).map(|i| f64::from(i / 10)).collect();
        let cuts = quantile_cuts(&v, 20);
        assert_eq!(cuts, (1..10).map(f64::from).collect::<Vec<_>>());
        assert_eq!(bin_of(&cuts, 0.0), 0);
        assert_eq!(bin_of(&cuts, 1.0), 1);
        assert_eq!(bin_of(&cuts, 9.5), 9);
        assert!(quantile_cuts(&[3.0; 5], 20).is_empty());
    }
}
