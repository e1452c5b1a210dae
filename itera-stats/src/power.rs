//! Power and sample size for paired comparisons: Miller (2024) Eq. 9 sample size and its inverse,
//! the minimum detectable effect; Connor (1987) sample size for paired proportions; and the
//! METHOD.md §5 "Power, precisely" check that decides whether a sealed test set is powered for
//! the pre-registered threshold T (G20, G45).

use std::hash::Hash;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::{StatsError, check_level};

fn z_upper(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// (z₁₋α/₂ + z₁₋β): the multiplier that turns a standard error into a minimum detectable effect
/// (two-sided test at `alpha`, power `power`).
///
/// Errors: `alpha` or `power` outside (0, 1).
///
/// ```
/// let m = itera_stats::power::z_multiplier(0.05, 0.8).unwrap();
/// assert!((m - 2.8015852).abs() < 1e-6);
/// ```
pub fn z_multiplier(alpha: f64, power: f64) -> Result<f64, StatsError> {
    check_level("alpha", alpha)?;
    check_level("power", power)?;
    Ok(z_upper(1.0 - alpha / 2.0) + z_upper(power))
}

fn check_nonneg(what: &'static str, x: f64) -> Result<(), StatsError> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid {
            what,
            why: format!("{x}: pass a finite value >= 0"),
        })
    }
}

fn check_positive(what: &'static str, x: f64) -> Result<(), StatsError> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(StatsError::Invalid {
            what,
            why: format!("{x}: pass a finite value > 0"),
        })
    }
}

/// The variance components of a paired design (Miller 2024, "Adding Error Bars to Evals", §4):
/// `omega_sq` = ω², the variance across rows of the difference in the two arms' per-row mean
/// scores; `sigma_a_sq`, `sigma_b_sq` = the within-row (trial-to-trial) variances of each arm;
/// `trials_a`, `trials_b` = K, the trials averaged per row. For deterministic arms use
/// σ² = 0 and K = 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PairedDesign {
    /// ω²: variance across rows of the per-row mean difference.
    pub omega_sq: f64,
    /// σ_A²: within-row variance of arm A's trials.
    pub sigma_a_sq: f64,
    /// σ_B²: within-row variance of arm B's trials.
    pub sigma_b_sq: f64,
    /// K_A: trials per row for arm A (≥ 1).
    pub trials_a: u32,
    /// K_B: trials per row for arm B (≥ 1).
    pub trials_b: u32,
}

impl PairedDesign {
    /// Per-row variance of the trial-averaged difference: ω² + σ_A²/K_A + σ_B²/K_B.
    ///
    /// Errors: a negative or non-finite variance, or zero trials.
    pub fn row_variance(&self) -> Result<f64, StatsError> {
        check_nonneg("omega_sq", self.omega_sq)?;
        check_nonneg("sigma_a_sq", self.sigma_a_sq)?;
        check_nonneg("sigma_b_sq", self.sigma_b_sq)?;
        if self.trials_a == 0 || self.trials_b == 0 {
            return Err(StatsError::Invalid {
                what: "trials",
                why: "trials per row must be at least 1".to_string(),
            });
        }
        Ok(self.omega_sq
            + self.sigma_a_sq / f64::from(self.trials_a)
            + self.sigma_b_sq / f64::from(self.trials_b))
    }
}

/// Rows needed to detect a paired difference `delta` (Miller 2024, Eq. 9):
/// n = (z₁₋α/₂ + z₁₋β)² · (ω² + σ_A²/K_A + σ_B²/K_B) / δ². Returned unrounded: round up.
///
/// Errors: `delta` not finite or 0 (the sign is ignored), bad design, `alpha`/`power` outside
/// (0, 1).
///
/// ```
/// use itera_stats::power::{paired_sample_size, PairedDesign};
/// let d = PairedDesign { omega_sq: 0.04, sigma_a_sq: 0.01, sigma_b_sq: 0.02, trials_a: 3, trials_b: 3 };
/// let n = paired_sample_size(0.05, &d, 0.05, 0.8).unwrap();
/// assert!((n - 156.9776).abs() < 1e-3);
/// ```
pub fn paired_sample_size(
    delta: f64,
    design: &PairedDesign,
    alpha: f64,
    power: f64,
) -> Result<f64, StatsError> {
    if !delta.is_finite() || delta == 0.0 {
        return Err(StatsError::Invalid {
            what: "delta",
            why: format!("{delta}: pass a finite non-zero effect"),
        });
    }
    let m = z_multiplier(alpha, power)?;
    Ok(m * m * design.row_variance()? / (delta * delta))
}

/// Minimum detectable effect at `n` rows, the inverse of [`paired_sample_size`]:
/// MDE = (z₁₋α/₂ + z₁₋β) · √((ω² + σ_A²/K_A + σ_B²/K_B) / n).
///
/// Errors: `n` = 0, bad design, `alpha`/`power` outside (0, 1).
///
/// ```
/// use itera_stats::power::{paired_mde, PairedDesign};
/// let d = PairedDesign { omega_sq: 0.04, sigma_a_sq: 0.01, sigma_b_sq: 0.02, trials_a: 3, trials_b: 3 };
/// let mde = paired_mde(157, &d, 0.05, 0.8).unwrap();
/// assert!(mde < 0.05 && mde > 0.0499);
/// ```
pub fn paired_mde(
    n: usize,
    design: &PairedDesign,
    alpha: f64,
    power: f64,
) -> Result<f64, StatsError> {
    if n == 0 {
        return Err(StatsError::Empty { what: "n", min: 1 });
    }
    Ok(z_multiplier(alpha, power)? * (design.row_variance()? / n as f64).sqrt())
}

/// Pairs needed for McNemar's test to detect discordant probabilities `p10` (A succeeds, B
/// fails) vs `p01` (Connor 1987, *Biometrics* 43:207–211):
/// n = (z₁₋α/₂·√ψ + z₁₋β·√(ψ − δ²))² / δ², ψ = p10 + p01, δ = p10 − p01. Unrounded.
///
/// Errors: a probability outside [0, 1], p10 + p01 > 1, p10 = p01, `alpha`/`power` outside
/// (0, 1).
///
/// ```
/// let n = itera_stats::power::paired_proportions_sample_size(0.10, 0.05, 0.05, 0.8).unwrap();
/// assert!((n - 468.6).abs() < 0.05);
/// ```
pub fn paired_proportions_sample_size(
    p10: f64,
    p01: f64,
    alpha: f64,
    power: f64,
) -> Result<f64, StatsError> {
    check_level("alpha", alpha)?;
    check_level("power", power)?;
    for (what, p) in [("p10", p10), ("p01", p01)] {
        if !(p.is_finite() && (0.0..=1.0).contains(&p)) {
            return Err(StatsError::Invalid {
                what,
                why: format!("{p} is not a probability in [0, 1]"),
            });
        }
    }
    let psi = p10 + p01;
    let delta = p10 - p01;
    if psi > 1.0 || delta == 0.0 {
        return Err(StatsError::Invalid {
            what: "p10, p01",
            why: format!("p10 = {p10}, p01 = {p01}: need p10 + p01 <= 1 and p10 != p01"),
        });
    }
    let num = z_upper(1.0 - alpha / 2.0) * psi.sqrt()
        + z_upper(power) * (psi - delta * delta).max(0.0).sqrt();
    Ok(num * num / (delta * delta))
}

/// The outcome of the METHOD.md §5 power check for a proposed test set.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PowerCheck {
    /// The pre-registered threshold T (absolute, in score units).
    pub threshold: f64,
    /// Expected standard error of the paired difference on the test set.
    pub se_test: f64,
    /// Two-sided significance level α.
    pub alpha: f64,
    /// Target power 1 − β.
    pub power: f64,
    /// z₁₋α/₂ + z₁₋β.
    pub multiplier: f64,
    /// Minimum detectable effect = multiplier · SE_test.
    pub mde: f64,
    /// Whether MDE ≤ T: the test set is powered for T.
    pub powered: bool,
}

/// METHOD.md §5 "Power, precisely": the test set is *powered for T* when
/// (z₁₋α/₂ + z₁₋β)·SE_test ≤ T. Reports the minimum detectable effect alongside.
///
/// Errors: `threshold` not finite and > 0, `se_test` not finite and ≥ 0, `alpha`/`power`
/// outside (0, 1).
///
/// ```
/// let se = itera_stats::power::se_test_from_dev(0.05, 200).unwrap();
/// let check = itera_stats::power::powered_for(0.05, se, 0.05, 0.8).unwrap();
/// assert!(check.powered && (check.mde - 0.0443).abs() < 1e-4);
/// ```
pub fn powered_for(
    threshold: f64,
    se_test: f64,
    alpha: f64,
    power: f64,
) -> Result<PowerCheck, StatsError> {
    check_positive("threshold", threshold)?;
    check_nonneg("se_test", se_test)?;
    let multiplier = z_multiplier(alpha, power)?;
    let mde = multiplier * se_test;
    Ok(PowerCheck {
        threshold,
        se_test,
        alpha,
        power,
        multiplier,
        mde,
        powered: mde <= threshold,
    })
}

/// Rows a slice needs so that its CI lower bound clears the loss floor F (R3's non-inferiority
/// test, one-sided at α/2) with probability `power`, when the arm's true effect on the slice is
/// `expected_effect` and the per-row variance of the (trial-averaged) difference is
/// `row_variance` (measured on dev; multiply by a design effect for clustered rows):
/// n = (z₁₋α/₂ + z₁₋β)² · Var / (Δ − F)² — Chow, Shao & Wang, *Sample Size Calculations in
/// Clinical Research* (2008) §3.2 (non-inferiority, one-sided α/2), normal approximation.
/// Unrounded: round up.
///
/// Errors: `expected_effect − floor` not finite and > 0 (the slice cannot be shown within a
/// floor it is expected to fall below), `row_variance` negative or not finite, `alpha`/`power`
/// outside (0, 1).
///
/// ```
/// // Var 0.3, expected gain +5pp, floor −2pp: (z.975 + z.8)² · 0.3 / 0.07² = 480.544
/// // (scipy: (norm.ppf(.975) + norm.ppf(.8))**2 * 0.3 / 0.07**2 = 480.5437).
/// let n = itera_stats::power::slice_noninferiority_rows(0.05, -0.02, 0.3, 0.05, 0.8).unwrap();
/// assert!((n - 480.5437).abs() < 1e-3);
/// ```
pub fn slice_noninferiority_rows(
    expected_effect: f64,
    floor: f64,
    row_variance: f64,
    alpha: f64,
    power: f64,
) -> Result<f64, StatsError> {
    check_positive("expected effect minus floor", expected_effect - floor)?;
    check_nonneg("row_variance", row_variance)?;
    let m = z_multiplier(alpha, power)?;
    Ok(m * m * row_variance / (expected_effect - floor).powi(2))
}

/// Rows *each* of `major_slices` slices needs so that all of them clear the loss floor together
/// with probability ≥ `power`: [`slice_noninferiority_rows`] at per-slice power
/// 1 − (1 − `power`)/m (Bonferroni on the misses: P(any slice misses) ≤ m · (1 − power)/m). This
/// is the planner for "ship needs every major slice safe": a ship-narrowly verdict for an arm that
/// truly gains `expected_effect` on every slice then happens with probability ≤ 1 − `power`.
///
/// Errors: as [`slice_noninferiority_rows`]; `major_slices` = 0.
///
/// ```
/// // 4 slices, joint power 0.9 → per-slice 0.975: (2 · z.975)² · 0.29 / 0.15² = 198.0485
/// // (scipy: (2 * norm.ppf(.975))**2 * 0.29 / 0.15**2).
/// let n = itera_stats::power::slices_noninferiority_rows(0.10, -0.05, 0.29, 0.05, 0.9, 4).unwrap();
/// assert!((n - 198.0485).abs() < 1e-3);
/// ```
pub fn slices_noninferiority_rows(
    expected_effect: f64,
    floor: f64,
    row_variance: f64,
    alpha: f64,
    power: f64,
    major_slices: usize,
) -> Result<f64, StatsError> {
    if major_slices == 0 {
        return Err(StatsError::Empty {
            what: "major slices",
            min: 1,
        });
    }
    check_level("power", power)?;
    let per_slice = 1.0 - (1.0 - power) / major_slices as f64;
    slice_noninferiority_rows(expected_effect, floor, row_variance, alpha, per_slice)
}

/// Expected test-set SE of the paired difference from dev: √(Var_dev(a − b) / n_test), where
/// `diff_variance` is the per-row variance of the (trial-averaged) differences on dev.
///
/// Errors: `diff_variance` negative or not finite, `n_test` = 0.
///
/// ```
/// let se = itera_stats::power::se_test_from_dev(0.04, 100).unwrap();
/// assert!((se - 0.02).abs() < 1e-12);
/// ```
pub fn se_test_from_dev(diff_variance: f64, n_test: usize) -> Result<f64, StatsError> {
    se_test_clustered(diff_variance, n_test, 1.0)
}

/// Clustered variant of [`se_test_from_dev`]: √(Var_dev(a − b) · deff / n_test), with `deff`
/// the design effect (variance inflation from clustering; 1 = no clustering). Take `deff`
/// from dev with [`design_effect_from_dev`], or from the textbook 1 + (m − 1)·ICC for mean
/// cluster size m (Kish 1965).
///
/// Errors: as [`se_test_from_dev`], plus `deff` not finite and > 0.
///
/// ```
/// let se = itera_stats::power::se_test_clustered(0.04, 100, 2.25).unwrap();
/// assert!((se - 0.03).abs() < 1e-12);
/// ```
pub fn se_test_clustered(diff_variance: f64, n_test: usize, deff: f64) -> Result<f64, StatsError> {
    check_nonneg("diff_variance", diff_variance)?;
    check_positive("design effect", deff)?;
    if n_test == 0 {
        return Err(StatsError::Empty {
            what: "n_test",
            min: 1,
        });
    }
    Ok((diff_variance * deff / n_test as f64).sqrt())
}

/// Design effect measured on dev: the clustered SE² ([`crate::paired::cluster_se`]) of the
/// mean difference divided by the unclustered SE² = s²/n. Returns 1 when the differences have
/// zero variance. Assumes the test set has a similar cluster structure (cluster sizes) to dev.
///
/// Errors: as [`crate::paired::cluster_se`]; fewer than 2 rows.
///
/// ```
/// let d = [0.1, 0.1, -0.1, -0.1, 0.2, 0.2, 0.0, 0.0];
/// let deff = itera_stats::power::design_effect_from_dev(&d, &[0, 0, 1, 1, 2, 2, 3, 3]).unwrap();
/// assert!(deff > 1.5);
/// ```
pub fn design_effect_from_dev<K: Hash + Eq>(
    dev_diffs: &[f64],
    clusters: &[K],
) -> Result<f64, StatsError> {
    let (se, _) = crate::paired::cluster_se(dev_diffs, clusters)?;
    let n = dev_diffs.len();
    if n < 2 {
        return Err(StatsError::TooFew {
            what: "differences",
            got: n,
            min: 2,
        });
    }
    let nf = n as f64;
    let mean = dev_diffs.iter().sum::<f64>() / nf;
    let var = dev_diffs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (nf - 1.0);
    if var <= 0.0 {
        return Ok(1.0);
    }
    Ok(se * se / (var / nf))
}

#[cfg(test)]
mod tests {
    use super::*;

    // import scipy.stats as st, numpy as np; z=st.norm.ppf
    // (z(0.975)+z(0.8))**2*(0.04+0.01/3+0.02/3)/0.05**2 -> 156.97759468698175
    // psi=.15; de=.05
    // (z(.975)*np.sqrt(psi)+z(.8)*np.sqrt(psi-de**2))**2/de**2 -> 468.56797946031924
    // (z(0.975)+z(0.8))*np.sqrt(0.05/200) -> 0.04429695174148298; z(0.975)+z(0.8) -> 2.8015852181129683
    #[test]
    fn matches_reference() {
        let d = PairedDesign {
            omega_sq: 0.04,
            sigma_a_sq: 0.01,
            sigma_b_sq: 0.02,
            trials_a: 3,
            trials_b: 3,
        };
        let n = paired_sample_size(0.05, &d, 0.05, 0.8).unwrap();
        assert!((n - 156.97759468698175).abs() < 1e-6);
        assert!((paired_sample_size(-0.05, &d, 0.05, 0.8).unwrap() - n).abs() < 1e-12);
        // inverse
        let mde = paired_mde(157, &d, 0.05, 0.8).unwrap();
        let back = paired_sample_size(mde, &d, 0.05, 0.8).unwrap();
        assert!((back - 157.0).abs() < 1e-9);
        let n = paired_proportions_sample_size(0.10, 0.05, 0.05, 0.8).unwrap();
        assert!((n - 468.56797946031924).abs() < 1e-6);
        assert!((z_multiplier(0.05, 0.8).unwrap() - 2.8015852181129683).abs() < 1e-9);
        let c = powered_for(0.05, se_test_from_dev(0.05, 200).unwrap(), 0.05, 0.8).unwrap();
        assert!((c.mde - 0.04429695174148298).abs() < 1e-9);
        assert!(c.powered);
        let c = powered_for(0.04, se_test_from_dev(0.05, 200).unwrap(), 0.05, 0.8).unwrap();
        assert!(!c.powered);
    }

    #[test]
    fn design_effect() {
        // one row per cluster: deff = 1 (CR1 with C = n equals s^2/n)
        let d = [0.1, -0.2, 0.3, 0.05, 0.0];
        let deff = design_effect_from_dev(&d, &[1, 2, 3, 4, 5]).unwrap();
        assert!((deff - 1.0).abs() < 1e-12);
        assert_eq!(design_effect_from_dev(&[0.1, 0.1], &[1, 2]).unwrap(), 1.0);
    }

    #[test]
    fn bad_input() {
        let d = PairedDesign {
            omega_sq: 0.04,
            sigma_a_sq: 0.0,
            sigma_b_sq: 0.0,
            trials_a: 0,
            trials_b: 1,
        };
        assert!(matches!(d.row_variance(), Err(StatsError::Invalid { .. })));
        let ok = PairedDesign { trials_a: 1, ..d };
        assert!(matches!(
            paired_sample_size(0.0, &ok, 0.05, 0.8),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            paired_sample_size(0.1, &ok, 1.5, 0.8),
            Err(StatsError::BadLevel { .. })
        ));
        assert!(matches!(
            paired_mde(0, &ok, 0.05, 0.8),
            Err(StatsError::Empty { .. })
        ));
        let neg = PairedDesign {
            omega_sq: -1.0,
            ..ok
        };
        assert!(matches!(
            paired_mde(10, &neg, 0.05, 0.8),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            paired_proportions_sample_size(0.1, 0.1, 0.05, 0.8),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            paired_proportions_sample_size(0.7, 0.6, 0.05, 0.8),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            powered_for(0.0, 0.01, 0.05, 0.8),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            powered_for(0.05, f64::NAN, 0.05, 0.8),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            powered_for(0.05, 0.01, 0.05, 1.0),
            Err(StatsError::BadLevel { .. })
        ));
        assert!(matches!(
            se_test_from_dev(0.1, 0),
            Err(StatsError::Empty { .. })
        ));
        assert!(matches!(
            se_test_clustered(0.1, 10, 0.0),
            Err(StatsError::Invalid { .. })
        ));
        assert!(matches!(
            design_effect_from_dev(&[0.1], &[1]),
            Err(StatsError::TooFew { .. })
        ));
    }
}
