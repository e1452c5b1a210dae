//! The scales the rules compare on: the family-wise CI level with several candidate arms, the
//! noise σ of R2 put on the test set's scale, and the overfit alarm's standard error (G44).
//!
//! **Several arms: Bonferroni-level CIs, not Holm.** With k > 1 candidate arms on test, each
//! arm's aggregate CI is computed at level 1 − α/k instead of 1 − α, so R1's one-sided test ("the
//! CI excludes 0" or "CI low ≥ T") runs at α/(2k) per arm and, by the union bound, the chance
//! that *any* null arm ships is ≤ k·α/(2k) = α/2 — the single-arm false-ship rate. We chose
//! Bonferroni-level intervals over Holm's step-down on the one-sided p-values because the CI
//! shown in `data.json`, `conclusion.md` and the forest plot is then exactly the interval the
//! decision used (Holm has no matching interval), and because the decision ships one arm: Holm's
//! gain in power comes from rejecting further hypotheses once the first is rejected, which
//! matters little when at most one arm is chosen. Slice CIs stay at the nominal level: R3 protects
//! slices, it does not test for a ship.

/// The two-sided CI level each arm's aggregate CI uses with `k` candidate arms on test
/// (Bonferroni): 1 − (1 − `ci_level`)/k; `ci_level` itself for k ≤ 1.
///
/// ```
/// assert_eq!(itera_core::decide::family::family_ci_level(0.95, 1), 0.95);
/// assert!((itera_core::decide::family::family_ci_level(0.95, 3) - (1.0 - 0.05 / 3.0)).abs() < 1e-15);
/// ```
pub fn family_ci_level(ci_level: f64, k: usize) -> f64 {
    if k <= 1 {
        ci_level
    } else {
        1.0 - (1.0 - ci_level) / k as f64
    }
}

/// R2's σ on the scale of the test Δ, with the trace words saying where it came from.
///
/// `test_sd`: the SD across trials of the test aggregate (used when the test set ran K ≥ 2
/// trials); otherwise `dev_sd`, the SD across trials of the dev aggregate, rescaled by
/// √(n_dev/n_test) — the SD of a mean over rows shrinks with √n, so dev's σ over fewer rows
/// overstates the test noise (and a larger dev understates it).
pub fn test_scale_sigma(
    test_sd: Option<f64>,
    test_trials: u32,
    dev_sd: f64,
    n_dev: usize,
    n_test: usize,
) -> (f64, String) {
    match test_sd {
        Some(s) if test_trials >= 2 && s.is_finite() => {
            (s, format!("σ from the {test_trials} trials on test"))
        }
        _ if n_dev > 0 && n_test > 0 => {
            let f = (n_dev as f64 / n_test as f64).sqrt();
            (
                dev_sd * f,
                format!(
                    "σ = dev σ {:.4} × √({n_dev}/{n_test}) rescaled to the test set",
                    dev_sd
                ),
            )
        }
        _ => (dev_sd, "σ from dev (no rows to rescale by)".into()),
    }
}

/// G44: the overfit alarm. Dev and test rows are independent samples, so Δ_dev − Δ_test has SE
/// √(SE_dev² + SE_test²), each SE the paired SE of its set (per-row means, so trial noise is in
/// it). The alarm fires when |Δ_dev − Δ_test| > z₁₋α/₂ · that SE: on clean data (the same truth
/// on dev and test) it fires at rate α. Returns (alarm, SE of the difference).
pub fn overfit_alarm(
    dev_delta: f64,
    dev_se: f64,
    test_delta: f64,
    test_se: f64,
    alpha: f64,
) -> (bool, f64) {
    let se = (dev_se.powi(2) + test_se.powi(2)).sqrt();
    let z = itera_stats::power::z_multiplier(alpha, 0.5).unwrap_or(1.959_963_984_540_054);
    // Removing this comparison fails decide::family::tests::the_alarm_compares_with_the_se_of_the_difference.
    ((dev_delta - test_delta).abs() > z * se, se)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bonferroni_level_for_three_arms_matches_the_hand_computation() {
        // k = 3, α = 0.05: each arm's CI at 1 − 0.05/3 = 0.98333…; one tail α/6 = 0.008333, whose
        // z is 2.39398 (scipy: norm.ppf(1 - 0.05/6) = 2.393980). Three null arms each ship with
        // probability ≤ α/6, so any ships with probability ≤ 3 · 0.05/6 = 0.025 = α/2.
        let level = family_ci_level(0.95, 3);
        assert!((level - 0.983_333_333_333_333_3).abs() < 1e-12);
        let z = itera_stats::power::z_multiplier(1.0 - level, 0.5).unwrap();
        assert!((z - 2.393_980).abs() < 1e-5, "{z}");
        assert!((3.0 * (1.0 - level) / 2.0 - 0.025).abs() < 1e-12);
    }

    #[test]
    fn the_alarm_compares_with_the_se_of_the_difference() {
        // SE_dev 0.03, SE_test 0.04 → SE 0.05; z·SE = 1.959964 · 0.05 = 0.0979982.
        let (a, se) = overfit_alarm(0.10, 0.03, 0.0021, 0.04, 0.05);
        assert!((se - 0.05).abs() < 1e-12);
        assert!(!a, "0.0979 < 0.0980");
        let (a, _) = overfit_alarm(0.10, 0.03, 0.0019, 0.04, 0.05);
        assert!(a, "0.0981 > 0.0980");
    }

    #[test]
    fn sigma_comes_from_test_trials_or_is_rescaled_from_dev() {
        let (s, why) = test_scale_sigma(Some(0.004), 3, 0.01, 100, 400);
        assert_eq!(s, 0.004);
        assert!(why.contains("3 trials on test"), "{why}");
        // K = 1 on test: dev σ 0.01 over 100 rows → 0.01 · √(100/400) = 0.005.
        let (s, why) = test_scale_sigma(Some(0.0), 1, 0.01, 100, 400);
        assert!((s - 0.005).abs() < 1e-15);
        assert!(why.contains("√(100/400)"), "{why}");
    }
}
