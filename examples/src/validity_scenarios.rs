//! The validity harness's expectations and its grid: the normal-theory rates a scenario should
//! show (Φ, the z values, the standard error of a cell, the expected ship rate under each
//! threshold rule, the effect a design is powered for) and [`scenarios`], the METHOD.md §5 grid
//! of designs and true effects the harness runs. The simulation itself is [`super`].

use super::*;

/// Φ, the standard normal CDF (Abramowitz–Stegun 7.1.26 via erf; |error| < 1.5e-7).
pub fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// The planner's multipliers: (z₁₋α/₂, z₁₋β), from itera-stats' `z_multiplier`
/// (z₁₋α/₂ = `z_multiplier(α, 0.5)` since z₀.₅ = 0).
pub fn z_values(alpha: f64, power: f64) -> (f64, f64) {
    let za = itera_stats::power::z_multiplier(alpha, 0.5).unwrap_or(f64::NAN);
    let both = itera_stats::power::z_multiplier(alpha, power).unwrap_or(f64::NAN);
    (za, both - za)
}

/// SE of the test-set mean difference at true effect Δ on a single-slice design (planner form:
/// `se_test_from_dev(ψ − Δ², n_test)`).
pub fn se_at(cell: &Cell, delta: f64, n_test: usize) -> f64 {
    let c = Cell { delta, ..*cell };
    itera_stats::power::se_test_from_dev(c.diff_variance().max(0.0), n_test).unwrap_or(f64::NAN)
}

/// The normal-approximation ship probability of R1 at true Δ: under the point rule
/// P(Δ̂ ≥ T and Δ̂ − z₁₋α/₂·SE > 0) = Φ((Δ − max(T, z₁₋α/₂·SE))/SE); under ci-lower
/// P(Δ̂ − z₁₋α/₂·SE ≥ T) = Φ((Δ − T − z₁₋α/₂·SE)/SE).
pub fn expected_ship(rule: ThresholdRule, t: f64, delta: f64, se: f64) -> f64 {
    let (za, _) = z_values(ALPHA, POWER);
    let bar = match rule {
        ThresholdRule::Point => t.max(za * se),
        ThresholdRule::CiLower => t + za * se,
    };
    phi((delta - bar) / se)
}

/// The true effect at which the planner says the design ships with probability 1 − β: under
/// the point rule max(T, z₁₋α/₂·SE) + z₁₋β·SE (= T + z₁₋β·SE on a design powered for T, where
/// T ≥ (z₁₋α/₂ + z₁₋β)·SE > z₁₋α/₂·SE, so Δ̂ ≥ T already excludes 0); under ci-lower
/// T + (z₁₋α/₂ + z₁₋β)·SE, i.e. T + the planner's MDE. SE is evaluated at that effect
/// (Var = ψ − Δ²), by fixed-point iteration.
pub fn powered_effect(rule: ThresholdRule, t: f64, cell: &Cell, n_test: usize) -> f64 {
    let (za, zb) = z_values(ALPHA, POWER);
    let mut delta = t;
    for _ in 0..100 {
        let se = se_at(cell, delta, n_test);
        delta = match rule {
            ThresholdRule::Point => t.max(za * se) + zb * se,
            ThresholdRule::CiLower => {
                // T + paired_mde(n_test, Var(Δ)) — the planner's minimum detectable effect.
                let design = itera_stats::power::PairedDesign {
                    omega_sq: Cell { delta, ..*cell }.diff_variance().max(0.0),
                    sigma_a_sq: 0.0,
                    sigma_b_sq: 0.0,
                    trials_a: 1,
                    trials_b: 1,
                };
                t + itera_stats::power::paired_mde(n_test, &design, ALPHA, POWER)
                    .unwrap_or(f64::NAN)
            }
        };
    }
    delta
}

/// What a scenario measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Ship or ship-narrowly of an arm with true Δ ≤ 0.
    FalseShip,
    /// Ship or ship-narrowly with 0 < Δ < T.
    SubthresholdShip,
    /// Ship or ship-narrowly at the planner's 80 % effect.
    Power,
    /// Ship-narrowly or kill with a major slice regressing by 2F.
    SliceProtection,
    /// The aggregate and slice CIs contain the true effects.
    Coverage,
}

/// One scenario: a design, a rule, and what it measures.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name (`--scenario`).
    pub name: &'static str,
    /// The rule.
    pub rule: ThresholdRule,
    /// The design (with the true effects).
    pub design: Arc<Design>,
    /// What it measures.
    pub measure: Measure,
    /// The rate expected by the normal approximation (where there is a closed form).
    pub expected: Option<f64>,
    /// Design notes printed with the result.
    pub note: String,
}

/// The threshold T (pp) of the main single-slice design.
pub const MAIN_T_PP: f64 = 12.0;

fn main_cell(delta: f64) -> Cell {
    Cell {
        p_base: 0.5,
        discord: 0.3,
        delta,
    }
}

fn main_design(delta: f64) -> Result<Design, String> {
    main_design_t(delta, MAIN_T_PP)
}

fn main_design_t(delta: f64, threshold_pp: f64) -> Result<Design, String> {
    Design::new(DesignSpec {
        rows: 250,
        split: (0.04, 0.16, 0.8),
        slices: vec![(itera_core::DEFAULT_SLICE.to_string(), main_cell(delta))],
        cluster_size: None,
        icc: 0.0,
        threshold_pp,
        floor_pp: -10.0,
        frame_seed: 7,
    })
}

/// Rule name as the JSON lines and the report spell it.
pub fn rule_name(rule: ThresholdRule) -> &'static str {
    match rule {
        ThresholdRule::Point => "point",
        ThresholdRule::CiLower => "ci-lower",
    }
}

/// Every scenario, for both rules (coverage once: the intervals do not depend on the rule).
///
/// * Main design: 250 rows split 4/16/80 (n_test = 200; a small dev part keeps each simulated
///   experiment fast — the journal is re-verified on every phase, see the example's docs), one slice, baseline 0.5, ψ = 0.3,
///   T = 12 pp, F = −10 pp; SE_test at Δ = 0 is √(0.3/200) = 0.0387, MDE = 0.109 ≤ T (powered).
/// * `null-low-threshold`: the main design with T = 1 pp, below z₀.₉₇₅·SE = 0.076, so R1's "CI
///   excludes 0" is what binds: the false-ship rate should sit near α/2 = 2.5 %.
/// * `slice-regression`: 626 rows (250 test rows per slice), T = 5 pp, F = −8 pp; slice
///   `regressing` Δ = 2F = −16 pp (baseline 0.5, ψ = 0.2), slice `improving` Δ = +50 pp (baseline
///   0.3, ψ = 0.5); the regressing slice is powered for F: 2.80·√(0.2/250) = 0.079 ≤ 0.08.
/// * `coverage-clustered`: 250 rows, two slices, clusters of 10 (20 test clusters, 10 per
///   slice), ICC 0.3, Δ = 5 pp, baseline 0.5, ψ = 0.3.
/// * `coverage-small-slices`: 250 rows, ten slices of 20 test rows, Δ = 5 pp, unclustered.
pub fn scenarios() -> Result<Vec<Scenario>, String> {
    let t = MAIN_T_PP / 100.0;
    let mut out = Vec::new();
    let n_test = main_design(0.0)?.n_test;
    for rule in [ThresholdRule::Point, ThresholdRule::CiLower] {
        let single = |name: &'static str, measure: Measure, delta: f64, note: String| {
            let design = Arc::new(main_design(delta)?);
            let se = se_at(&main_cell(0.0), delta, design.n_test);
            Ok::<_, String>(Scenario {
                name,
                rule,
                expected: Some(expected_ship(rule, t, delta, se)),
                design,
                measure,
                note,
            })
        };
        out.push(single(
            "null",
            Measure::FalseShip,
            0.0,
            "true Δ = 0".into(),
        )?);
        // T = 1 pp < z₀.₉₇₅·SE: only "the CI excludes 0" stands between a null arm and a ship,
        // so this is the scenario that tests the α/2 bound itself.
        let low = Arc::new(main_design_t(0.0, 1.0)?);
        let se0 = se_at(&main_cell(0.0), 0.0, low.n_test);
        out.push(Scenario {
            name: "null-low-threshold",
            rule,
            expected: Some(expected_ship(rule, 0.01, 0.0, se0)),
            design: low,
            measure: Measure::FalseShip,
            note: "true Δ = 0 with T = 1 pp (< 1.96·SE): the CI alone guards".into(),
        });
        out.push(single(
            "harm",
            Measure::FalseShip,
            -t / 2.0,
            "true Δ = −T/2".into(),
        )?);
        out.push(single(
            "half-threshold",
            Measure::SubthresholdShip,
            t / 2.0,
            "true Δ = T/2".into(),
        )?);
        out.push(single(
            "near-threshold",
            Measure::SubthresholdShip,
            0.9 * t,
            "true Δ = 0.9·T".into(),
        )?);
        let star = powered_effect(rule, t, &main_cell(0.0), n_test);
        let se = se_at(&main_cell(0.0), star, n_test);
        let (za, zb) = z_values(ALPHA, POWER);
        let note = match rule {
            ThresholdRule::Point => format!(
                "Δ* = max(T, z₀.₉₇₅·SE) + z₀.₈·SE = max({t:.3}, {za:.3}·{se:.4}) + {zb:.3}·{se:.4}"
            ),
            ThresholdRule::CiLower => format!(
                "Δ* = T + (z₀.₉₇₅ + z₀.₈)·SE = {t:.3} + {:.3}·{se:.4}",
                za + zb
            ),
        };
        out.push(single("power", Measure::Power, star, note)?);
        let slice = Arc::new(Design::new(DesignSpec {
            rows: 626,
            split: (0.04, 0.16, 0.8),
            slices: vec![
                (
                    "regressing".into(),
                    Cell {
                        p_base: 0.5,
                        discord: 0.2,
                        delta: -0.16,
                    },
                ),
                (
                    "improving".into(),
                    Cell {
                        p_base: 0.3,
                        discord: 0.5,
                        delta: 0.5,
                    },
                ),
            ],
            cluster_size: None,
            icc: 0.0,
            threshold_pp: 5.0,
            floor_pp: -8.0,
            frame_seed: 11,
        })?);
        let n_s = slice.test_per_slice[0];
        let mde_s = itera_stats::power::paired_mde(
            n_s,
            &itera_stats::power::PairedDesign {
                omega_sq: 0.2,
                sigma_a_sq: 0.0,
                sigma_b_sq: 0.0,
                trials_a: 1,
                trials_b: 1,
            },
            ALPHA,
            POWER,
        )
        .map_err(|e| e.to_string())?;
        // P(CI_low(Δ̂_s) < F) at Δ_s = 2F: Φ((F + z·SE − 2F)/SE) = Φ(z + |F|/SE).
        let se_s = (Cell {
            p_base: 0.5,
            discord: 0.2,
            delta: -0.16,
        }
        .diff_variance()
            / n_s as f64)
            .sqrt();
        out.push(Scenario {
            name: "slice-regression",
            rule,
            design: slice,
            measure: Measure::SliceProtection,
            expected: Some(phi(za + 0.08 / se_s)),
            note: format!(
                "slice 'regressing' Δ = 2F = −16 pp over {n_s} test rows, MDE {mde_s:.4} ≤ |F| = 0.08 (powered for F); 'improving' +50 pp"
            ),
        });
    }
    let clustered = Arc::new(Design::new(DesignSpec {
        rows: 250,
        split: (0.04, 0.16, 0.8),
        slices: ["a", "b"]
            .iter()
            .map(|s| (s.to_string(), main_cell(0.05)))
            .collect(),
        cluster_size: Some(10),
        icc: 0.3,
        threshold_pp: MAIN_T_PP,
        floor_pp: -10.0,
        frame_seed: 13,
    })?);
    out.push(Scenario {
        name: "coverage-clustered",
        rule: ThresholdRule::Point,
        design: clustered,
        measure: Measure::Coverage,
        expected: Some(0.95),
        note: "clusters of 10, ICC 0.3, 2 slices × 100 test rows, Δ = 5 pp".into(),
    });
    let small = Arc::new(Design::new(DesignSpec {
        rows: 250,
        split: (0.04, 0.16, 0.8),
        slices: (0..10)
            .map(|s| (format!("s{s}"), main_cell(0.05)))
            .collect(),
        cluster_size: None,
        icc: 0.0,
        threshold_pp: MAIN_T_PP,
        floor_pp: -10.0,
        frame_seed: 17,
    })?);
    out.push(Scenario {
        name: "coverage-small-slices",
        rule: ThresholdRule::Point,
        design: small,
        measure: Measure::Coverage,
        expected: Some(0.95),
        note: "10 slices × 20 test rows, unclustered, Δ = 5 pp".into(),
    });
    Ok(out)
}
