//! The ONE power planner (G20, METHOD §5 "Power, precisely"; #13 hole 12, #15 item 2): from the
//! dev per-row variance of each candidate's paired difference with the baseline (clustered by the
//! dev design effect when clusters are declared) and the split's test sizes, it says per arm
//! whether the test set is *powered for T* — (z₁₋α/₂ + z₁₋β)·SE_test ≤ T with SE_test =
//! √(Var·deff / n_test) — and, per major slice, how many test rows would show non-inferiority at
//! the loss floor F if the arm gains T on the slice
//! ([`itera_stats::power::slice_noninferiority_rows`], one-sided at α/2), from **that slice's own**
//! dev variance. A slice with fewer than two dev rows, or on which the arms never disagreed on
//! dev (variance 0: nothing to plan with), falls back to the arm's pooled variance, and says so
//! (`pooled`; the callers pass `None` for it).
//!
//! The same plan is printed by `itera plan --pilot` and checked before the test pass: an
//! underpowered arm or major slice refuses the verdict unless the caller accepts it explicitly
//! (`RunOptions::accept_underpowered`), and the acceptance is journaled with the plan. Pure: no
//! I/O; the caller gathers the variances.

use crate::decide::slices::rows_needed;
pub use crate::journal::event::SlicePower;
use serde::{Deserialize, Serialize};

/// The rule parameters the plan needs (from the registered frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PlanRules {
    /// T as a fraction (absolute, in score units).
    pub threshold: f64,
    /// F as a fraction (≤ 0).
    pub floor: f64,
    /// Two-sided α.
    pub alpha: f64,
    /// Target power 1 − β.
    pub power: f64,
}

/// One major slice's dev variance for one arm.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceVariance {
    /// Slice id.
    pub slice: String,
    /// Dev rows of the slice with a paired difference.
    pub dev_rows: usize,
    /// Per-row variance of the difference on the slice's dev rows (× design effect); `None` with
    /// fewer than two rows.
    pub row_variance: Option<f64>,
    /// Test rows of the slice (from the split; no test outcome is read).
    pub test_rows: usize,
}

/// One candidate arm's dev variance.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmVariance {
    /// Arm id.
    pub arm: String,
    /// Pooled per-row variance of the difference on dev (× design effect); `None` with fewer
    /// than two dev rows.
    pub row_variance: Option<f64>,
    /// Its major slices.
    pub slices: Vec<SliceVariance>,
}

/// One arm's aggregate power and its major slices' rows needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmPower {
    /// Arm id.
    pub arm: String,
    /// Expected SE of the paired difference on test (`None`: dev gave no variance).
    pub se_test: Option<f64>,
    /// Minimum detectable effect (z₁₋α/₂ + z₁₋β)·SE_test.
    pub mde: Option<f64>,
    /// MDE ≤ T. `false` when dev gave no variance: power cannot be shown.
    pub powered: bool,
    /// Test rows for MDE = T (rounded up).
    pub test_rows_needed: Option<usize>,
    /// The major slices.
    pub slices: Vec<SlicePower>,
}

/// The plan: per arm, aggregate and per major slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PowerPlan {
    /// The rules it was computed for.
    pub rules: PlanRules,
    /// Test rows.
    pub n_test: usize,
    /// Per candidate arm.
    pub arms: Vec<ArmPower>,
}

/// The plan from dev variances and the split's test sizes (see the module docs).
pub fn plan(rules: PlanRules, n_test: usize, arms: &[ArmVariance]) -> PowerPlan {
    let m = itera_stats::power::z_multiplier(rules.alpha, rules.power).unwrap_or(f64::NAN);
    let t = rules.threshold;
    let arms = arms
        .iter()
        .map(|a| {
            let se = a
                .row_variance
                .filter(|_| n_test > 0)
                .and_then(|v| itera_stats::power::se_test_from_dev(v, n_test).ok());
            let check = se.and_then(|se| {
                itera_stats::power::powered_for(t.max(1e-12), se, rules.alpha, rules.power).ok()
            });
            let test_rows_needed = a
                .row_variance
                .filter(|_| t > 0.0 && m.is_finite())
                .map(|v| ((m * m * v / (t * t)).ceil() as usize).max(2));
            let slices = a
                .slices
                .iter()
                .map(|s| {
                    let pooled = s.row_variance.is_none();
                    let var = s.row_variance.or(a.row_variance);
                    let need = rows_needed(t, rules.floor, var, rules.alpha, rules.power);
                    SlicePower {
                        arm: a.arm.clone(),
                        slice: s.slice.clone(),
                        dev_rows: s.dev_rows,
                        test_rows: s.test_rows,
                        rows_needed: need,
                        pooled,
                        powered: need.is_some_and(|n| s.test_rows >= n),
                    }
                })
                .collect();
            ArmPower {
                arm: a.arm.clone(),
                se_test: se,
                mde: check.map(|c| c.mde),
                powered: check.is_some_and(|c| c.powered),
                test_rows_needed,
                slices,
            }
        })
        .collect();
    PowerPlan {
        rules,
        n_test,
        arms,
    }
}

impl PowerPlan {
    /// Whether any arm or any of its major slices is underpowered.
    pub fn underpowered(&self) -> bool {
        self.arms
            .iter()
            .any(|a| !a.powered || a.slices.iter().any(|s| !s.powered))
    }

    /// Each shortfall in words: "arm 'x': MDE +12.3pp > T +5.0pp at 60 test rows (needs ≈ 350)",
    /// "arm 'x', major slice 'ent': 12 test rows, needs ≈ 321 to show CI low ≥ F".
    pub fn shortfalls(&self) -> Vec<String> {
        let pp = |x: f64| format!("{:.1}pp", x * 100.0);
        let mut out = Vec::new();
        for a in &self.arms {
            if !a.powered {
                out.push(match (a.mde, a.test_rows_needed) {
                    (Some(mde), Some(n)) => format!(
                        "arm '{}': minimum detectable effect {} > T {} at {} test rows (needs ≈ {n})",
                        a.arm,
                        pp(mde),
                        pp(self.rules.threshold),
                        self.n_test
                    ),
                    _ => format!(
                        "arm '{}': dev gave no per-row variance of the difference (fewer than 2 paired dev rows), so power for T {} cannot be shown",
                        a.arm,
                        pp(self.rules.threshold)
                    ),
                });
            }
            for s in a.slices.iter().filter(|s| !s.powered) {
                out.push(format!(
                    "arm '{}', major slice '{}': {} test rows, needs ≈ {} to show CI low ≥ F {} at a gain of T{}",
                    a.arm,
                    s.slice,
                    s.test_rows,
                    s.rows_needed.map_or("?".to_string(), |n| n.to_string()),
                    pp(self.rules.floor),
                    if s.pooled {
                        " (the arm's pooled dev variance: the slice has < 2 dev rows)"
                    } else {
                        ""
                    }
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PlanRules {
        PlanRules {
            threshold: 0.05,
            floor: -0.02,
            alpha: 0.05,
            power: 0.8,
        }
    }

    // Python 3 statistics.NormalDist: m = z(.975) + z(.8) = 2.801585218112968 (scipy gives the
    // same m, itera-stats power::tests::matches_reference)
    // aggregate: m * sqrt(0.25 / 400) = 0.07003963045282421 (> T = 0.05: underpowered);
    // rows for T: ceil(m**2 * 0.25 / 0.05**2) = ceil(784.8879) = 785.
    // slice, var 0.25: ceil(m**2 * 0.25 / 0.07**2) = ceil(400.4531) = 401;
    // slice, var 0.04: ceil(m**2 * 0.04 / 0.07**2) = ceil(64.0725) = 65.
    #[test]
    fn each_slice_uses_its_own_dev_variance_and_falls_back_to_pooled_stated() {
        let p = plan(
            rules(),
            400,
            &[ArmVariance {
                arm: "a".into(),
                row_variance: Some(0.25),
                slices: vec![
                    SliceVariance {
                        slice: "noisy".into(),
                        dev_rows: 50,
                        row_variance: Some(0.25),
                        test_rows: 200,
                    },
                    SliceVariance {
                        slice: "quiet".into(),
                        dev_rows: 50,
                        row_variance: Some(0.04),
                        test_rows: 199,
                    },
                    SliceVariance {
                        slice: "tiny".into(),
                        dev_rows: 1,
                        row_variance: None,
                        test_rows: 1,
                    },
                ],
            }],
        );
        let a = &p.arms[0];
        assert!((a.mde.unwrap() - 0.07003963045282421).abs() < 1e-12);
        assert!(!a.powered);
        assert_eq!(a.test_rows_needed, Some(785));
        assert_eq!(a.slices[0].rows_needed, Some(401));
        assert!(!a.slices[0].powered);
        assert_eq!(a.slices[1].rows_needed, Some(65));
        assert!(a.slices[1].powered);
        assert_eq!(a.slices[2].rows_needed, Some(401));
        assert!(a.slices[2].pooled && !a.slices[0].pooled);
        assert!(p.underpowered());
        let words = p.shortfalls().join("\n");
        assert!(
            words.contains("major slice 'noisy': 200 test rows, needs ≈ 401"),
            "{words}"
        );
        assert!(words.contains("pooled"), "{words}");
        assert!(!words.contains("'quiet'"), "{words}");
    }

    #[test]
    fn an_arm_without_dev_variance_is_not_shown_powered() {
        let p = plan(
            rules(),
            100,
            &[ArmVariance {
                arm: "a".into(),
                row_variance: None,
                slices: Vec::new(),
            }],
        );
        assert!(p.underpowered());
        assert!(p.shortfalls()[0].contains("cannot be shown"));
    }

    #[test]
    fn a_powered_design_has_no_shortfall() {
        let p = plan(
            rules(),
            1000,
            &[ArmVariance {
                arm: "a".into(),
                row_variance: Some(0.25),
                slices: Vec::new(),
            }],
        );
        assert!(!p.underpowered(), "{:?}", p.shortfalls());
    }
}
