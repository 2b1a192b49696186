//! L2-regularised logistic regression fitted by Newton's method (IRLS).
//!
//! Minimises `−Σ log-likelihood + (λ/2)·Σ βⱼ²` over the coefficients; the
//! intercept is not penalised. Each Newton step solves the p+1 normal
//! equations by Cholesky; a step that does not lower the objective is halved
//! (up to 30 times). Iteration stops when no parameter moves more than 1e-10
//! or after 100 steps. Rows are visited in order and nothing is random, so
//! the fit is deterministic.

use crate::ModelError;

/// A fitted model: intercept and one coefficient per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// The intercept (log-odds of the positive class at all-zero inputs).
    pub intercept: f64,
    /// One coefficient per column of the design.
    pub coefficients: Vec<f64>,
    /// Newton steps taken.
    pub iterations: usize,
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 30.0 { z } else { z.exp().ln_1p() }
}

fn objective(x: &[Vec<f64>], y: &[bool], beta: &[f64], lambda: f64) -> f64 {
    let mut loss = 0.0;
    for (row, &yi) in x.iter().zip(y) {
        let z = linear(row, beta);
        // −log-lik of one row: softplus(z) − y·z
        loss += softplus(z) - if yi { z } else { 0.0 };
    }
    let penalty: f64 = beta[1..].iter().map(|b| b * b).sum();
    loss + 0.5 * lambda * penalty
}

fn linear(row: &[f64], beta: &[f64]) -> f64 {
    beta[0] + row.iter().zip(&beta[1..]).map(|(a, b)| a * b).sum::<f64>()
}

/// Fits `y ~ x` (rows of `x` are observations; `y` true = positive class).
///
/// # Errors
/// [`ModelError::Fit`] when the design is empty, ragged, not finite, or the
/// normal equations cannot be solved.
pub fn fit(x: &[Vec<f64>], y: &[bool], lambda: f64) -> Result<Fit, ModelError> {
    let n = x.len();
    if n == 0 || n != y.len() {
        return Err(ModelError::Fit("no rows to fit".into()));
    }
    let p = x[0].len();
    if x.iter()
        .any(|r| r.len() != p || r.iter().any(|v| !v.is_finite()))
    {
        return Err(ModelError::Fit(
            "design rows are ragged or not finite".into(),
        ));
    }
    if !(lambda.is_finite() && lambda >= 0.0) {
        return Err(ModelError::Fit(format!(
            "λ must be finite and ≥ 0, not {lambda}"
        )));
    }
    let d = p + 1;
    let mut beta = vec![0.0; d];
    // start at the base rate's log-odds
    #[allow(clippy::cast_precision_loss)]
    {
        let pos = y.iter().filter(|v| **v).count() as f64;
        let rate = ((pos + 0.5) / (n as f64 + 1.0)).clamp(1e-9, 1.0 - 1e-9);
        beta[0] = (rate / (1.0 - rate)).ln();
    }
    let mut current = objective(x, y, &beta, lambda);
    let mut iterations = 0;
    for _ in 0..100 {
        iterations += 1;
        let mut h = vec![0.0; d * d];
        let mut g = vec![0.0; d];
        for (row, &yi) in x.iter().zip(y) {
            let mu = sigmoid(linear(row, &beta));
            let w = (mu * (1.0 - mu)).max(1e-12);
            let r = if yi { 1.0 } else { 0.0 } - mu;
            // augmented row [1, row...]
            for a in 0..d {
                let xa = if a == 0 { 1.0 } else { row[a - 1] };
                g[a] += xa * r;
                for b in 0..=a {
                    let xb = if b == 0 { 1.0 } else { row[b - 1] };
                    h[a * d + b] += w * xa * xb;
                }
            }
        }
        for a in 1..d {
            g[a] -= lambda * beta[a];
            // a tiny ridge keeps collinear designs solvable when λ = 0
            h[a * d + a] += lambda.max(1e-9);
        }
        h[0] += 1e-12;
        for a in 0..d {
            for b in (a + 1)..d {
                h[a * d + b] = h[b * d + a];
            }
        }
        let step = cholesky_solve(&h, &g, d)
            .ok_or_else(|| ModelError::Fit("the normal equations are singular".into()))?;
        let mut scale = 1.0;
        let mut accepted = false;
        for _ in 0..30 {
            let trial: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b + scale * s).collect();
            let value = objective(x, y, &trial, lambda);
            if value.is_finite() && value <= current + 1e-12 * current.abs().max(1.0) {
                let moved = step.iter().map(|s| (scale * s).abs()).fold(0.0, f64::max);
                beta = trial;
                current = value;
                accepted = true;
                if moved < 1e-10 {
                    return Ok(done(beta, iterations));
                }
                break;
            }
            scale *= 0.5;
        }
        if !accepted {
            // no step lowers the objective: at the optimum within precision
            return Ok(done(beta, iterations));
        }
    }
    if beta.iter().all(|b| b.is_finite()) {
        Ok(done(beta, iterations))
    } else {
        Err(ModelError::Fit("the fit diverged".into()))
    }
}

fn done(beta: Vec<f64>, iterations: usize) -> Fit {
    Fit {
        intercept: beta[0],
        coefficients: beta[1..].to_vec(),
        iterations,
    }
}

/// Solves `a·x = b` for a symmetric positive definite `a` (row-major d×d).
fn cholesky_solve(a: &[f64], b: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    let mut z = vec![0.0; d];
    for i in 0..d {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * d + k] * z[k];
        }
        z[i] = s / l[i * d + i];
    }
    let mut x = vec![0.0; d];
    for i in (0..d).rev() {
        let mut s = z[i];
        for k in (i + 1)..d {
            s -= l[k * d + i] * x[k];
        }
        x[i] = s / l[i * d + i];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_relation() {
        // y = 1 exactly when x > 0 with some noise rows: coefficient positive,
        // and a stronger penalty shrinks it.
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in -50..50 {
            let v = f64::from(i) / 10.0;
            x.push(vec![v]);
            y.push(i > 0 && i % 7 != 0 || i < -45);
        }
        let weak = fit(&x, &y, 0.01).expect("fit");
        let strong = fit(&x, &y, 100.0).expect("fit");
        assert!(weak.coefficients[0] > 0.5, "{weak:?}");
        assert!(strong.coefficients[0] < weak.coefficients[0]);
        assert!(strong.coefficients[0] > 0.0);
        // the gradient vanishes at the optimum
        let lambda = 0.01;
        let mut g0 = 0.0;
        let mut g1 = 0.0;
        for (row, &yi) in x.iter().zip(&y) {
            let mu = sigmoid(weak.intercept + weak.coefficients[0] * row[0]);
            let r = f64::from(u8::from(yi)) - mu;
            g0 += r;
            g1 += r * row[0];
        }
        g1 -= lambda * weak.coefficients[0];
        assert!(g0.abs() < 1e-6 && g1.abs() < 1e-6, "{g0} {g1}");
    }

    #[test]
    fn separable_data_stays_finite_with_a_penalty() {
        let x: Vec<Vec<f64>> = (0..20).map(|i| vec![f64::from(i)]).collect();
        let y: Vec<bool> = (0..20).map(|i| i >= 10).collect();
        let f = fit(&x, &y, 1.0).expect("fit");
        assert!(f.coefficients[0].is_finite() && f.coefficients[0] > 0.0);
    }

    #[test]
    fn bad_designs_are_errors() {
        assert!(fit(&[], &[], 1.0).is_err());
        assert!(fit(&[vec![f64::NAN]], &[true], 1.0).is_err());
        assert!(fit(&[vec![1.0], vec![1.0, 2.0]], &[true, false], 1.0).is_err());
        assert!(fit(&[vec![1.0]], &[true], -1.0).is_err());
    }
}
