//! Drift of a scorecard's scores: the population stability index (PSI) of
//! one day's scores against the model's training distribution, in integer
//! arithmetic so that every replica and every replay computes the same
//! figure and raises the same `model.drift` event.
//!
//! `PSI = Σᵢ (aᵢ − eᵢ) · ln(aᵢ / eᵢ)` over the model's score buckets, where
//! `eᵢ` and `aᵢ` are the training and the day's shares of bucket `i`. Half a
//! count is added to every bucket of both sides (`(2·countᵢ + 1) / (2·total
//! \+ n)`), so an empty bucket stays finite. Read it as: below 0.10 stable,
//! 0.10 to 0.25 a shift worth watching, above 0.25 ([`PSI_ALERT_MICRO`])
//! the population the model scores is no longer the one it was fitted on.
//!
//! Fixed point: logarithms in Q32 (32 fraction bits) from an integer
//! `log2` (bit by bit, by repeated squaring of the mantissa) times `ln 2`;
//! the index itself in millionths. Against `f64` the figure agrees to within
//! a few millionths (tested).

use atobarai_core::JstDate;

/// One millionth of PSI is 1; this is 0.25.
pub const PSI_ALERT_MICRO: u64 = 250_000;
/// A day with fewer scored decisions than this raises no alert (its PSI is
/// still reported): a handful of orders says nothing about a population.
pub const DRIFT_MIN_SCORED: u64 = 100;

/// `ln 2` in Q32, rounded.
const LN2_Q32: i128 = 2_977_044_472;
/// Fraction bits of the mantissa while squaring.
const MANTISSA_BITS: u32 = 62;

/// `log2(x)` in Q32 (32 fraction bits, truncated); `x = 0` gives 0.
pub fn log2_q32(x: u128) -> i64 {
    if x == 0 {
        return 0;
    }
    let int = 127_u32.saturating_sub(x.leading_zeros());
    // The mantissa x / 2^int in [1, 2), with MANTISSA_BITS fraction bits.
    let mut m = if int >= MANTISSA_BITS {
        x.checked_shr(int.saturating_sub(MANTISSA_BITS))
            .unwrap_or(0)
    } else {
        x.checked_shl(MANTISSA_BITS.saturating_sub(int))
            .unwrap_or(0)
    };
    let two = 2_u128 << MANTISSA_BITS;
    let mut frac: i64 = 0;
    for bit in (0..32).rev() {
        // m < 2^63, so m² < 2^126: no overflow.
        m = m.wrapping_mul(m) >> MANTISSA_BITS;
        if m >= two {
            m >>= 1;
            frac |= 1 << bit;
        }
    }
    (i64::from(int) << 32) | frac
}

/// `ln(x)` in Q32; `x = 0` gives 0.
pub fn ln_q32(x: u128) -> i64 {
    let l = i128::from(log2_q32(x)).saturating_mul(LN2_Q32) >> 32;
    i64::try_from(l).unwrap_or(i64::MAX)
}

/// The PSI of `actual` against `expected` (counts per bucket), in
/// millionths. Buckets beyond the shorter slice count as empty.
pub fn psi_micro(expected: &[u64], actual: &[u64]) -> u64 {
    let n = u128::try_from(expected.len().max(actual.len())).unwrap_or(u128::MAX);
    if n == 0 {
        return 0;
    }
    let e_total: u128 = expected.iter().map(|&c| u128::from(c)).sum();
    let a_total: u128 = actual.iter().map(|&c| u128::from(c)).sum();
    // Shares with half a count added: (2c + 1) / (2·total + n).
    let e_den = e_total.saturating_mul(2).saturating_add(n);
    let a_den = a_total.saturating_mul(2).saturating_add(n);
    let d = i128::try_from(a_den.saturating_mul(e_den)).unwrap_or(i128::MAX);
    let mut sum_q32: i128 = 0;
    for i in 0..expected.len().max(actual.len()) {
        let e = u128::from(expected.get(i).copied().unwrap_or(0))
            .saturating_mul(2)
            .saturating_add(1);
        let a = u128::from(actual.get(i).copied().unwrap_or(0))
            .saturating_mul(2)
            .saturating_add(1);
        // aᵢ / eᵢ = p / q with p = a·e_den, q = e·a_den.
        let p = a.saturating_mul(e_den);
        let q = e.saturating_mul(a_den);
        let diff = i128::try_from(p)
            .unwrap_or(i128::MAX)
            .saturating_sub(i128::try_from(q).unwrap_or(i128::MAX));
        // (aᵢ − eᵢ) = (p − q) / d, in Q32; |p − q| ≤ d so it fits.
        let share_q32 = diff
            .saturating_mul(1 << 32)
            .checked_div(d.max(1))
            .unwrap_or(0);
        let ln_ratio = i128::from(ln_q32(p)).saturating_sub(i128::from(ln_q32(q)));
        sum_q32 = sum_q32.saturating_add(share_q32.saturating_mul(ln_ratio) >> 32);
    }
    // Each term is ≥ 0 in exact arithmetic; rounding may leave a hair
    // below zero on identical shapes.
    let micro = sum_q32.max(0).saturating_mul(1_000_000) >> 32;
    u64::try_from(micro).unwrap_or(u64::MAX)
}

/// A day's scores per bucket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DayCounts {
    /// The JST day.
    pub day: JstDate,
    /// Scores per bucket.
    pub counts: Vec<u64>,
}

impl DayCounts {
    /// Decisions scored that day.
    pub fn scored(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// A finished day's drift.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosedDay {
    /// The JST day.
    pub day: JstDate,
    /// Decisions scored that day.
    pub scored: u64,
    /// Its PSI, millionths.
    pub psi_micro: u64,
}

impl ClosedDay {
    /// Whether this day raises an alert.
    pub fn alerts(&self) -> bool {
        self.scored >= DRIFT_MIN_SCORED && self.psi_micro > PSI_ALERT_MICRO
    }
}

/// One model's running drift: the day being counted and the last day
/// finished. Derived from the decision records (rebuilt on restore).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriftTrack {
    /// The day being counted.
    pub current: Option<DayCounts>,
    /// The day before it (with scores), closed when the first score of a
    /// later day arrived.
    pub closed: Option<ClosedDay>,
}

impl DriftTrack {
    /// Count a score in `bucket` on `day` (of `buckets`); when the score
    /// opens a new day, the previous one closes and is returned.
    pub fn observe(
        &mut self,
        day: JstDate,
        bucket: usize,
        buckets: usize,
        expected: &[u64],
    ) -> Option<ClosedDay> {
        let mut closed = None;
        if self.current.as_ref().is_none_or(|c| c.day != day) {
            if let Some(prev) = self.current.take() {
                let c = ClosedDay {
                    day: prev.day,
                    scored: prev.scored(),
                    psi_micro: psi_micro(expected, &prev.counts),
                };
                self.closed = Some(c);
                closed = Some(c);
            }
            self.current = Some(DayCounts {
                day,
                counts: vec![0; buckets],
            });
        }
        if let Some(c) = self.current.as_mut().and_then(|c| c.counts.get_mut(bucket)) {
            *c = c.saturating_add(1);
        }
        closed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::arithmetic_side_effects, clippy::cast_precision_loss)]

    use super::*;
    use proptest::prelude::*;

    fn psi_f64(expected: &[u64], actual: &[u64]) -> f64 {
        let n = expected.len().max(actual.len()) as f64;
        let share = |counts: &[u64], i: usize| {
            let total: u64 = counts.iter().sum();
            (counts.get(i).copied().unwrap_or(0) as f64 + 0.5) / (total as f64 + 0.5 * n)
        };
        (0..expected.len().max(actual.len()))
            .map(|i| {
                let (e, a) = (share(expected, i), share(actual, i));
                (a - e) * (a / e).ln()
            })
            .sum()
    }

    #[test]
    fn logarithms_match_the_float_ones() {
        for x in [
            1_u128,
            2,
            3,
            10,
            1_000,
            123_456_789,
            u128::from(u64::MAX),
            u128::MAX,
        ] {
            let want = (x as f64).ln();
            let got = ln_q32(x) as f64 / 4_294_967_296.0;
            assert!((got - want).abs() < 1e-8, "ln({x}) = {got}, want {want}");
        }
        assert_eq!(log2_q32(1), 0);
        assert_eq!(log2_q32(8), 3 << 32);
        assert_eq!(ln_q32(0), 0);
    }

    #[test]
    fn psi_is_zero_for_the_same_shape_and_large_for_a_shift() {
        let expected = [10, 20, 40, 20, 10];
        assert_eq!(psi_micro(&expected, &expected), 0);
        assert!(psi_micro(&expected, &[1, 2, 4, 2, 1]) < 20_000);
        assert!(psi_micro(&expected, &[0, 0, 0, 5, 95]) > PSI_ALERT_MICRO);
        assert_eq!(psi_micro(&[], &[]), 0);
        assert!(psi_micro(&expected, &[0, 0, 0, 0, 0]) < u64::MAX);
        assert!(psi_micro(&[u64::MAX; 4], &[0, u64::MAX, 0, 1]) < u64::MAX);
    }

    #[test]
    fn a_day_closes_when_the_next_one_scores() {
        let expected = [50, 50];
        let d1 = JstDate::parse("2026-05-01").unwrap();
        let d2 = JstDate::parse("2026-05-02").unwrap();
        let mut t = DriftTrack::default();
        for _ in 0..150 {
            assert_eq!(t.observe(d1, 1, 2, &expected), None);
        }
        let closed = t.observe(d2, 0, 2, &expected).unwrap();
        assert_eq!((closed.day, closed.scored), (d1, 150));
        assert!(closed.alerts(), "all in one bucket: {}", closed.psi_micro);
        assert_eq!(t.current.as_ref().map(DayCounts::scored), Some(1));
        // Few scores: reported, no alert.
        let quiet = ClosedDay {
            day: d1,
            scored: DRIFT_MIN_SCORED - 1,
            psi_micro: 900_000,
        };
        assert!(!quiet.alerts());
    }

    proptest! {
        #[test]
        fn psi_agrees_with_floats(
            expected in proptest::collection::vec(0_u64..100_000, 1..20),
            actual in proptest::collection::vec(0_u64..100_000, 1..20),
        ) {
            let got = psi_micro(&expected, &actual) as f64 / 1e6;
            let want = psi_f64(&expected, &actual);
            prop_assert!((got - want).abs() < 1e-5 + want * 1e-6, "{got} vs {want}");
        }
    }
}
