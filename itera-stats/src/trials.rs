//! Noise across repeated trials: within-row variance, the noise floor (SD of the aggregate
//! across trials), per-row means, the best-of-N bias, and the "effect ≥ 2 × noise" rule (G27).
//!
//! **Layout.** A score matrix is one arm's scores as a row-major `&[f64]` of `rows × trials`
//! values with the trial count passed beside it: row `r`, trial `t` is `scores[r * trials + t]`
//! (the `[row, trial]` slice of the `[arm, row, trial]` cube). Every row must have the same
//! number of trials.
//!
//! ```
//! use itera_stats::trials::{noise_floor, noise_check};
//! // 3 rows × 4 trials
//! let scores = [1.0, 1.0, 0.0, 1.0,
//!               0.0, 0.0, 0.0, 1.0,
//!               1.0, 1.0, 1.0, 1.0];
//! let nf = noise_floor(&scores, 4)?;
//! assert_eq!((nf.rows, nf.trials), (3, 4));
//! assert_eq!(nf.per_trial_aggregates.len(), 4);
//! assert!(noise_check(0.2, nf.aggregate_sd)?.passes == (0.2 >= 2.0 * nf.aggregate_sd));
//! # Ok::<(), itera_stats::StatsError>(())
//! ```

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::{StatsError, check_finite};

/// The multiple of the noise SD an effect must reach to count (METHOD §3 "Noise floor", rule
/// R2: `|Δ| ≥ 2σ`).
pub const NOISE_MULTIPLIER: f64 = 2.0;

/// Noise summary of one arm's `rows × trials` score matrix; see [`noise_floor`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoiseFloor {
    /// Number of trials K per row.
    pub trials: usize,
    /// Number of rows.
    pub rows: usize,
    /// Mean over rows of the per-row sample variance across trials (n − 1 denominator).
    pub within_row_variance: f64,
    /// Sample SD (n − 1) of the K per-trial aggregates: the noise floor σ.
    pub aggregate_sd: f64,
    /// Aggregate score (mean over rows) of each trial index, in trial order.
    pub per_trial_aggregates: Vec<f64>,
}

/// Result of the "effect ≥ 2 × noise" rule; see [`noise_check`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseCheck {
    /// The effect Δ tested.
    pub effect: f64,
    /// The noise SD σ it is compared with.
    pub noise_sd: f64,
    /// `NOISE_MULTIPLIER × σ`.
    pub threshold: f64,
    /// Whether `|Δ| ≥ threshold`.
    pub passes: bool,
}

/// Validates a score matrix and returns its row count.
fn check_matrix(scores: &[f64], trials: usize) -> Result<usize, StatsError> {
    if trials == 0 {
        return Err(StatsError::Invalid {
            what: "trials",
            why: "0 trials per row: pass the number of trials K ≥ 1".to_string(),
        });
    }
    if scores.is_empty() {
        return Err(StatsError::Empty {
            what: "scores",
            min: trials,
        });
    }
    if !scores.len().is_multiple_of(trials) {
        return Err(StatsError::Invalid {
            what: "scores",
            why: format!(
                "{} values is not a whole number of rows of {trials} trials; pass a row-major \
                 rows × trials matrix",
                scores.len()
            ),
        });
    }
    check_finite("scores", scores)?;
    Ok(scores.len() / trials)
}

fn need_two_trials(trials: usize) -> Result<(), StatsError> {
    if trials < 2 {
        return Err(StatsError::TooFew {
            what: "trials",
            got: trials,
            min: 2,
        });
    }
    Ok(())
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample variance (n − 1 denominator) of at least two values.
fn sample_variance(xs: &[f64]) -> f64 {
    let m = mean(xs);
    xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64
}

/// Mean score of each row across its trials (the per-row score used for paired comparisons).
///
/// Errors: `trials == 0`, empty or ragged input, a non-finite value.
///
/// ```
/// let m = itera_stats::trials::per_row_means(&[1.0, 0.0, 1.0, 1.0], 2)?;
/// assert_eq!(m, vec![0.5, 1.0]);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn per_row_means(scores: &[f64], trials: usize) -> Result<Vec<f64>, StatsError> {
    check_matrix(scores, trials)?;
    Ok(scores.chunks_exact(trials).map(mean).collect())
}

/// Within-row variance across trials: the mean over rows of each row's sample variance of its
/// K trial scores (one-way random-effects ANOVA within mean square, e.g. Searle, Casella &
/// McCulloch 1992, §3.5). Zero for a deterministic system.
///
/// Errors: as [`per_row_means`], plus fewer than 2 trials.
///
/// ```
/// let v = itera_stats::trials::within_row_variance(&[1.0, 0.0, 1.0, 1.0], 2)?;
/// assert_eq!(v, 0.25); // row variances 0.5 and 0
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn within_row_variance(scores: &[f64], trials: usize) -> Result<f64, StatsError> {
    check_matrix(scores, trials)?;
    need_two_trials(trials)?;
    let rows = scores.chunks_exact(trials);
    let n = rows.len() as f64;
    Ok(rows.map(sample_variance).sum::<f64>() / n)
}

/// Aggregate score of each trial index: `agg[t] = mean over rows of scores[r, t]`, i.e. the
/// headline score the experiment would have reported from trial `t` alone.
///
/// Errors: as [`per_row_means`].
///
/// ```
/// let a = itera_stats::trials::per_trial_aggregates(&[1.0, 0.0, 1.0, 1.0], 2)?;
/// assert_eq!(a, vec![1.0, 0.5]);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn per_trial_aggregates(scores: &[f64], trials: usize) -> Result<Vec<f64>, StatsError> {
    let rows = check_matrix(scores, trials)?;
    let mut agg = vec![0.0; trials];
    for row in scores.chunks_exact(trials) {
        for (a, x) in agg.iter_mut().zip(row) {
            *a += x;
        }
    }
    for a in &mut agg {
        *a /= rows as f64;
    }
    Ok(agg)
}

/// The noise floor σ: the sample SD (n − 1) of the K per-trial aggregates
/// ([`per_trial_aggregates`]) — how much the headline score moves between reruns of the same
/// arm (METHOD §3 "Noise floor"). An effect counts only if `|Δ| ≥ 2σ` ([`noise_check`]).
///
/// Errors: as [`per_row_means`], plus fewer than 2 trials.
///
/// ```
/// let sd = itera_stats::trials::aggregate_sd(&[1.0, 0.0, 1.0, 1.0], 2)?;
/// assert!((sd - 0.5_f64.sqrt() * 0.5).abs() < 1e-12); // SD of [1.0, 0.5]
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn aggregate_sd(scores: &[f64], trials: usize) -> Result<f64, StatsError> {
    need_two_trials(trials)?;
    let agg = per_trial_aggregates(scores, trials)?;
    Ok(sample_variance(&agg).sqrt())
}

/// All noise statistics of one arm's `rows × trials` matrix at once: within-row variance,
/// aggregate SD (the noise floor) and the per-trial aggregates. See [`within_row_variance`] and
/// [`aggregate_sd`] for the definitions.
///
/// Errors: `trials < 2`, empty or ragged input, a non-finite value.
///
/// ```
/// let nf = itera_stats::trials::noise_floor(&[1.0, 0.0, 1.0, 1.0], 2)?;
/// assert_eq!(nf.within_row_variance, 0.25);
/// assert_eq!(nf.per_trial_aggregates, vec![1.0, 0.5]);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn noise_floor(scores: &[f64], trials: usize) -> Result<NoiseFloor, StatsError> {
    let rows = check_matrix(scores, trials)?;
    need_two_trials(trials)?;
    let within = within_row_variance(scores, trials)?;
    let agg = per_trial_aggregates(scores, trials)?;
    Ok(NoiseFloor {
        trials,
        rows,
        within_row_variance: within,
        aggregate_sd: sample_variance(&agg).sqrt(),
        per_trial_aggregates: agg,
    })
}

/// `E[max(Z₁, …, Z_N)]` for N iid standard normals, by composite Simpson integration of
/// `∫ x · N φ(x) Φ(x)^{N−1} dx` over [−12, 12] with step 0.002 (error < 1e-9 for N up to 10¹²).
/// `Φ^{N−1}` is computed as `exp((N−1)·ln Φ)` with `ln Φ(x) = ln_1p(−Φ(−x))` for x > 0, so large
/// N do not lose precision.
///
/// Published values (Tippett 1925; Harter 1961, Biometrika 48:151): N = 2: 0.5642,
/// 3: 0.8463, 5: 1.1630, 10: 1.5388, 100: 2.5076. The asymptote √(2 ln N) quoted in METHOD §3
/// overstates it (N = 10: 2.146).
///
/// Errors: `n == 0`.
///
/// ```
/// let e = itera_stats::trials::expected_max_std_normal(10)?;
/// assert!((e - 1.5388).abs() < 1e-4);
/// assert_eq!(itera_stats::trials::expected_max_std_normal(1)?, 0.0);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn expected_max_std_normal(n: usize) -> Result<f64, StatsError> {
    if n == 0 {
        return Err(StatsError::Invalid {
            what: "n",
            why: "the maximum of 0 draws is undefined: pass N ≥ 1".to_string(),
        });
    }
    if n == 1 {
        return Ok(0.0);
    }
    let normal = Normal::new(0.0, 1.0).map_err(|e| StatsError::Invalid {
        what: "normal distribution",
        why: e.to_string(),
    })?;
    let nf = n as f64;
    let ln_phi_cdf = |x: f64| {
        if x > 0.0 {
            (-normal.cdf(-x)).ln_1p()
        } else {
            normal.cdf(x).ln()
        }
    };
    let integrand = |x: f64| {
        let log_density = nf.ln() - 0.5 * x * x - 0.5 * (2.0 * std::f64::consts::PI).ln()
            + (nf - 1.0) * ln_phi_cdf(x);
        x * log_density.exp()
    };
    const LO: f64 = -12.0;
    const HI: f64 = 12.0;
    const STEPS: usize = 12_000; // even
    let h = (HI - LO) / STEPS as f64;
    let mut sum = integrand(LO) + integrand(HI);
    for i in 1..STEPS {
        let w = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += w * integrand(LO + i as f64 * h);
    }
    Ok(sum * h / 3.0)
}

/// Expected best-of-N bias: reporting the best of N runs whose scores are iid with SD σ
/// overstates the mean by `σ · E[max of N standard normals]` ([`expected_max_std_normal`]).
/// Never report the best trial or the best iteration (METHOD §3 "Best-of-N bias").
///
/// Errors: `n == 0`, σ negative or not finite.
///
/// ```
/// let bias = itera_stats::trials::best_of_n_bias(0.02, 5)?;
/// assert!((bias - 0.02 * 1.1630).abs() < 1e-5);
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn best_of_n_bias(sigma: f64, n: usize) -> Result<f64, StatsError> {
    check_finite("sigma", &[sigma])?;
    if sigma < 0.0 {
        return Err(StatsError::Invalid {
            what: "sigma",
            why: format!("{sigma} is negative: pass a standard deviation ≥ 0"),
        });
    }
    Ok(sigma * expected_max_std_normal(n)?)
}

/// The noise rule (G27, METHOD §5 R2): an effect Δ counts only if `|Δ| ≥ 2σ`, σ being the noise
/// floor ([`aggregate_sd`]; use the larger of the two arms' floors, or the floor of the
/// difference, when comparing arms). σ = 0 (a deterministic system) passes every effect.
///
/// Errors: Δ or σ not finite, σ negative.
///
/// ```
/// use itera_stats::trials::noise_check;
/// assert!(noise_check(0.05, 0.02)?.passes);
/// assert!(!noise_check(-0.03, 0.02)?.passes);
/// assert!(noise_check(0.04, 0.02)?.passes); // exactly 2σ passes
/// # Ok::<(), itera_stats::StatsError>(())
/// ```
pub fn noise_check(effect: f64, noise_sd: f64) -> Result<NoiseCheck, StatsError> {
    check_finite("effect", &[effect])?;
    check_finite("noise_sd", &[noise_sd])?;
    if noise_sd < 0.0 {
        return Err(StatsError::Invalid {
            what: "noise_sd",
            why: format!("{noise_sd} is negative: pass a standard deviation ≥ 0"),
        });
    }
    let threshold = NOISE_MULTIPLIER * noise_sd;
    Ok(NoiseCheck {
        effect,
        noise_sd,
        threshold,
        passes: effect.abs() >= threshold,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published E[max of N iid N(0,1)] (Harter 1961, Table 1; Tippett 1925), 4–5 decimals.
    #[test]
    fn expected_max_matches_published_values() {
        for (n, v) in [
            (2, 0.5642),
            (3, 0.8463),
            (4, 1.0294),
            (5, 1.1630),
            (10, 1.5388),
            (100, 2.5076),
        ] {
            let e = expected_max_std_normal(n).expect("n ≥ 1");
            assert!((e - v).abs() < 6e-5, "N = {n}: {e} vs {v}");
        }
        // Exact: E[max of 2] = 1/√π.
        let e2 = expected_max_std_normal(2).expect("n ≥ 1");
        assert!((e2 - 1.0 / std::f64::consts::PI.sqrt()).abs() < 1e-10);
        // Exact: E[max of 3] = 3/(2√π).
        let e3 = expected_max_std_normal(3).expect("n ≥ 1");
        assert!((e3 - 1.5 / std::f64::consts::PI.sqrt()).abs() < 1e-10);
        // Monotone and below the asymptote for large N.
        let big = expected_max_std_normal(1_000_000).expect("n ≥ 1");
        assert!(big > 4.0 && big < (2.0 * 1e6_f64.ln()).sqrt());
        assert!(expected_max_std_normal(0).is_err());
    }

    #[test]
    fn best_of_n_bias_scales_with_sigma() {
        assert!((best_of_n_bias(2.0, 10).expect("valid") - 2.0 * 1.5388).abs() < 2e-4);
        assert_eq!(best_of_n_bias(0.0, 10).expect("valid"), 0.0);
        assert!(best_of_n_bias(-1.0, 10).is_err());
        assert!(best_of_n_bias(f64::NAN, 10).is_err());
        assert!(best_of_n_bias(1.0, 0).is_err());
    }

    /// numpy reference:
    /// ```python
    /// import numpy as np
    /// s = np.array([[0.8, 0.6, 0.7], [0.2, 0.4, 0.3], [1.0, 0.9, 0.95], [0.5, 0.5, 0.5]])
    /// s.var(axis=1, ddof=1).mean()   # 0.005625
    /// s.mean(axis=0)                 # [0.625, 0.6, 0.6125]
    /// s.mean(axis=0).std(ddof=1)     # 0.0125
    /// s.mean(axis=1)                 # [0.7, 0.3, 0.95, 0.5]
    /// ```
    #[test]
    fn noise_statistics_match_numpy() {
        let s = [0.8, 0.6, 0.7, 0.2, 0.4, 0.3, 1.0, 0.9, 0.95, 0.5, 0.5, 0.5];
        let nf = noise_floor(&s, 3).expect("valid");
        assert_eq!((nf.rows, nf.trials), (4, 3));
        assert!((nf.within_row_variance - 0.005625).abs() < 1e-12);
        assert!((nf.aggregate_sd - 0.0125).abs() < 1e-12);
        for (a, b) in nf.per_trial_aggregates.iter().zip([0.625, 0.6, 0.6125]) {
            assert!((a - b).abs() < 1e-12);
        }
        let m = per_row_means(&s, 3).expect("valid");
        for (a, b) in m.iter().zip([0.7, 0.3, 0.95, 0.5]) {
            assert!((a - b).abs() < 1e-12);
        }
        assert_eq!(within_row_variance(&s, 3), Ok(nf.within_row_variance));
        assert_eq!(aggregate_sd(&s, 3), Ok(nf.aggregate_sd));
        let json = serde_json::to_string(&nf).expect("serialize");
        assert!(json.contains("\"aggregate_sd\""));
    }

    #[test]
    fn rejects_bad_matrices() {
        assert!(matches!(noise_floor(&[], 2), Err(StatsError::Empty { .. })));
        assert!(matches!(
            noise_floor(&[1.0, 2.0, 3.0], 2),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            noise_floor(&[1.0, 2.0], 0),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            noise_floor(&[1.0, 2.0], 1),
            Err(StatsError::TooFew { .. })
        ));
        assert!(matches!(
            aggregate_sd(&[1.0, 2.0], 1),
            Err(StatsError::TooFew { .. })
        ));
        assert!(matches!(
            noise_floor(&[1.0, f64::NAN], 2),
            Err(StatsError::NotFinite { index: 1, .. })
        ));
        // One trial is fine for the means.
        assert_eq!(per_row_means(&[1.0, 2.0], 1), Ok(vec![1.0, 2.0]));
    }

    #[test]
    fn deterministic_system_has_zero_noise() {
        let s = [0.5, 0.5, 1.0, 1.0, 0.0, 0.0];
        let nf = noise_floor(&s, 2).expect("valid");
        assert_eq!(nf.within_row_variance, 0.0);
        assert_eq!(nf.aggregate_sd, 0.0);
        assert!(noise_check(0.001, nf.aggregate_sd).expect("valid").passes);
    }

    #[test]
    fn noise_check_rule() {
        let c = noise_check(-0.05, 0.02).expect("valid");
        assert!(c.passes);
        assert!((c.threshold - 0.04).abs() < 1e-15);
        assert!(!noise_check(0.039, 0.02).expect("valid").passes);
        assert!(noise_check(0.1, -0.02).is_err());
        assert!(noise_check(f64::INFINITY, 0.02).is_err());
    }

    proptest::proptest! {
        #[test]
        fn noise_floor_invariants(
            rows in 1_usize..20,
            trials in 2_usize..6,
            seed in proptest::collection::vec(-1.0_f64..1.0, 120),
        ) {
            let s: Vec<f64> = seed.iter().copied().take(rows * trials).collect();
            let nf = noise_floor(&s, trials).expect("valid");
            proptest::prop_assert!(nf.within_row_variance >= 0.0);
            proptest::prop_assert!(nf.aggregate_sd >= 0.0);
            // Mean of the per-trial aggregates = grand mean = mean of the per-row means.
            let g1 = nf.per_trial_aggregates.iter().sum::<f64>() / trials as f64;
            let m = per_row_means(&s, trials).expect("valid");
            let g2 = m.iter().sum::<f64>() / rows as f64;
            proptest::prop_assert!((g1 - g2).abs() < 1e-12);
        }
    }
}
