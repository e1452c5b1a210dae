//! The verdict rules R1–R5 of METHOD.md §5, as a pure function of the evidence and the
//! registration (G40): aggregate effect (R1), noise (R2), per-slice loss floor (R3, G41),
//! highest-severity failure mode (R4, G42), severity weighting with its disagreement rule (R5,
//! G43); the decision — ship, ship narrowly, kill, inconclusive (G45) — with the multi-arm choice,
//! the overfit alarm (G44), and a rationale generated from the rule trace.

use crate::decide::family::overfit_alarm;
pub use crate::decide::rationale::rationale;
use crate::decide::slices::{SliceState, SliceStatus, included, rows_needed, slice_state};
use crate::frame::{SliceRule, ThresholdRule};
pub use crate::journal::record::Decision;
use serde::{Deserialize, Serialize};

/// A paired effect vs the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffectSize {
    /// Mean difference, arm − baseline (fraction).
    pub delta: f64,
    /// CI lower bound.
    pub ci_low: f64,
    /// CI upper bound.
    pub ci_high: f64,
    /// Rows.
    pub n: usize,
}

/// One slice's effect on test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SliceEvidence {
    /// Slice id.
    pub slice: String,
    /// Its effect (`None` with fewer than two rows: the CI is undefined).
    pub effect: Option<EffectSize>,
    /// Whether R3 checks it.
    pub major: bool,
    /// The slice's own dev per-row variance of the difference (× design effect) for its "need ≈
    /// N" (#15 item 2); `None` (fewer than two dev rows): the arm's pooled
    /// [`ArmEvidence::slice_row_variance`] is used.
    #[serde(default)]
    pub row_variance: Option<f64>,
}

/// Everything the rules need about one candidate arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmEvidence {
    /// Arm id.
    pub arm: String,
    /// The locked version.
    pub version: u32,
    /// Killed by the gate: never ran on test.
    pub killed_by_gate: bool,
    /// Aggregate effect on test.
    pub effect: Option<EffectSize>,
    /// Per-slice effects on test.
    pub slices: Vec<SliceEvidence>,
    /// σ: the larger of the arm's and the baseline's noise SD (dev).
    pub noise_sd: f64,
    /// Standard error of the test difference expected from dev (METHOD §5 "Power, precisely").
    pub se_test_planned: f64,
    /// Failed test rows in the highest-severity category: (arm, baseline).
    pub highest_mode_failures: Option<(usize, usize)>,
    /// Severity-weighted test scores: (arm, baseline).
    pub weighted: Option<(f64, f64)>,
    /// Cost per 1k rows, for the tie-break.
    pub cost_per_1k_usd: Option<f64>,
    /// The dev effect of the same version (for the overfit alarm).
    pub dev_delta: Option<f64>,
    /// The dev effect's standard error.
    pub dev_se: Option<f64>,
    /// The test effect's standard error (for the overfit alarm, G44).
    #[serde(default)]
    pub test_se: Option<f64>,
    /// Where `noise_sd` came from, for R2's trace (test trials, or dev σ rescaled).
    #[serde(default)]
    pub noise_basis: String,
    /// Dev per-row variance of the difference (× design effect), for the per-slice planner.
    #[serde(default)]
    pub slice_row_variance: Option<f64>,
    /// The level of the aggregate CI (1 − α/k with k arms on test; see [`crate::decide::family`]).
    #[serde(default)]
    pub ci_level: Option<f64>,
}

/// The registered rules (G6, G40).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rules {
    /// T as a fraction.
    pub threshold: f64,
    /// F as a fraction (≤ 0).
    pub floor: f64,
    /// Point or CI-lower.
    pub rule: ThresholdRule,
    /// α.
    pub alpha: f64,
    /// 1 − β.
    pub power: f64,
    /// How R3 treats slices not shown safe (G41).
    #[serde(default)]
    pub slice_rule: SliceRule,
}

/// One rule's outcome with its numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleCheck {
    /// `"R1"` … `"R5"`, or `"gate"`.
    pub rule: String,
    /// Whether it passed (`None`: not applicable).
    pub passed: Option<bool>,
    /// The numbers, in words.
    pub detail: String,
}

/// The power of the test set for T (G20, G45).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Power {
    /// Expected SE of the paired difference on test.
    pub se_test: f64,
    /// Minimum detectable effect (z₁₋α/₂ + z₁₋β)·SE_test.
    pub mde: f64,
    /// MDE ≤ T.
    pub powered: bool,
}

/// One arm's rule trace and decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArmVerdict {
    /// Arm id.
    pub arm: String,
    /// The locked version.
    pub version: u32,
    /// The arm's decision.
    pub decision: Decision,
    /// R1–R5 (and the gate), in order.
    pub rules: Vec<RuleCheck>,
    /// Major slices passing the floor.
    pub passing_slices: Vec<String>,
    /// Major slices the registered slice rule excludes (harmed, and unknown under
    /// non-inferiority).
    pub failing_slices: Vec<String>,
    /// Every major slice's state against the floor.
    #[serde(default)]
    pub slice_states: Vec<SliceStatus>,
    /// The power check.
    pub power: Option<Power>,
    /// |Δ_dev − Δ_test| > z₁₋α/₂ · SE(Δ_dev − Δ_test) (G44).
    pub overfit_alarm: bool,
    /// Weighted and unweighted rankings disagree (G43).
    pub severity_disagreement: bool,
    /// The evidence the rules read.
    pub evidence: ArmEvidence,
}

/// The verdict: the decision, the arm and slices it covers, every arm's rule trace, and a
/// rationale generated from the trace (G40).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The decision.
    pub decision: Decision,
    /// The arm shipped (or narrowly shipped).
    pub arm: Option<String>,
    /// Slices the claim covers.
    pub slices: Vec<String>,
    /// Major slices the chosen arm's claim excludes (harmed, and unknown under non-inferiority).
    pub failing_slices: Vec<String>,
    /// Of the chosen arm's major slices: those shown harmed (CI high < 0) — "regressed".
    #[serde(default)]
    pub harmed_slices: Vec<String>,
    /// Of the chosen arm's major slices: those not shown safe nor harmed, with rows and need.
    #[serde(default)]
    pub unknown_slices: Vec<SliceStatus>,
    /// Arms killed (by the gate or the rules).
    pub killed: Vec<String>,
    /// Why inconclusive, if so.
    pub inconclusive_reason: Option<String>,
    /// How the arm was chosen among several passing ones.
    pub choice: Option<String>,
    /// The chosen (or, failing that, the first) arm's overfit alarm.
    pub overfit_alarm: bool,
    /// Arms whose weighted and unweighted rankings disagree.
    pub severity_disagreements: Vec<String>,
    /// Per arm.
    pub arms: Vec<ArmVerdict>,
    /// Generated from the trace.
    pub rationale: String,
}

fn fmt_pp(x: f64) -> String {
    crate::iterate::diagnosis::pp(x)
}

fn effect_words(e: &EffectSize) -> String {
    format!(
        "Δ = {} [{}, {}] over {} rows",
        fmt_pp(e.delta),
        fmt_pp(e.ci_low),
        fmt_pp(e.ci_high),
        e.n
    )
}

/// Applies R1–R5 to one arm.
pub(crate) fn judge_arm(rules: &Rules, ev: &ArmEvidence) -> ArmVerdict {
    let mut checks = Vec::new();
    let mut v = ArmVerdict {
        arm: ev.arm.clone(),
        version: ev.version,
        decision: Decision::Kill,
        rules: Vec::new(),
        passing_slices: Vec::new(),
        failing_slices: Vec::new(),
        slice_states: Vec::new(),
        power: None,
        overfit_alarm: false,
        severity_disagreement: false,
        evidence: ev.clone(),
    };
    // G35: enforced here; removing this check fails tests/verdict_rules.rs::an_arm_killed_by_the_gate_is_killed
    if ev.killed_by_gate {
        checks.push(RuleCheck {
            rule: "gate".into(),
            passed: Some(false),
            detail: "the generalization gate killed the arm (G35); it never ran on test".into(),
        });
        v.rules = checks;
        return v;
    }
    let t = rules.threshold;
    let power =
        itera_stats::power::powered_for(t, ev.se_test_planned.max(0.0), rules.alpha, rules.power)
            .ok()
            .map(|p| Power {
                se_test: p.se_test,
                mde: p.mde,
                powered: p.powered,
            });
    v.power = power;
    let Some(e) = ev.effect else {
        checks.push(RuleCheck {
            rule: "R1".into(),
            passed: Some(false),
            detail: "no aggregate effect: fewer than two test rows scored by both".into(),
        });
        v.rules = checks;
        return v;
    };
    // R1
    let r1 = match rules.rule {
        ThresholdRule::Point => e.delta >= t && e.ci_low > 0.0,
        ThresholdRule::CiLower => e.ci_low >= t,
    };
    let rule_words = match rules.rule {
        ThresholdRule::Point => format!("needs Δ ≥ T = {} and a CI excluding 0", fmt_pp(t)),
        ThresholdRule::CiLower => format!("needs the CI lower bound ≥ T = {}", fmt_pp(t)),
    };
    checks.push(RuleCheck {
        rule: "R1".into(),
        passed: Some(r1),
        detail: format!("{}; {rule_words}", effect_words(&e)),
    });
    // R2
    let r2 = e.delta.abs() >= 2.0 * ev.noise_sd;
    checks.push(RuleCheck {
        rule: "R2".into(),
        passed: Some(r2),
        detail: format!(
            "|Δ| = {} vs 2σ = {}{}",
            fmt_pp(e.delta.abs()),
            fmt_pp(2.0 * ev.noise_sd),
            if ev.noise_basis.is_empty() {
                String::new()
            } else {
                format!(" ({})", ev.noise_basis)
            }
        ),
    });
    // R3 (G41): three states per major slice; the registered slice rule decides which ship.
    for sl in ev.slices.iter().filter(|s| s.major) {
        let state = slice_state(sl.effect.as_ref(), rules.floor);
        let status = SliceStatus {
            slice: sl.slice.clone(),
            state,
            n: sl.effect.map_or(0, |e| e.n),
            need: (state == SliceState::Unknown)
                .then(|| {
                    rows_needed(
                        t,
                        rules.floor,
                        // #15 item 2: the slice's own dev variance, the arm's pooled one only
                        // when the slice has < 2 dev rows; removing `sl.row_variance` fails
                        // `every_unknown_slice_showed_the_same_rows_needed` (tests/verdict_rules.rs).
                        sl.row_variance.or(ev.slice_row_variance),
                        rules.alpha,
                        rules.power,
                    )
                })
                .flatten(),
        };
        // G41: enforced here; removing this check fails tests/verdict_rules.rs::a_harmed_slice_is_called_regressed
        if included(rules.slice_rule, state) {
            v.passing_slices.push(sl.slice.clone());
        } else {
            v.failing_slices.push(sl.slice.clone());
        }
        v.slice_states.push(status);
    }
    let r3_all = v.failing_slices.is_empty();
    let r3_none = v.passing_slices.is_empty() && !v.failing_slices.is_empty();
    let slice_words: Vec<String> = ev
        .slices
        .iter()
        .filter(|s| s.major)
        .zip(&v.slice_states)
        .map(|(s, st)| match s.effect {
            Some(se) => format!(
                "{} {} [{}, {}] {}",
                s.slice,
                fmt_pp(se.delta),
                fmt_pp(se.ci_low),
                fmt_pp(se.ci_high),
                match st.state {
                    SliceState::Unknown => st
                        .words()
                        .trim_start_matches(s.slice.as_str())
                        .trim()
                        .to_string(),
                    SliceState::Harmed => "regressed".to_string(),
                    SliceState::Safe => "safe".to_string(),
                }
            ),
            None => format!("{} (too few rows for a CI: unknown)", s.slice),
        })
        .collect();
    let rule_words = match rules.slice_rule {
        SliceRule::NonInferiority => format!(
            "CI lower bound ≥ F = {} on every major slice",
            fmt_pp(rules.floor)
        ),
        SliceRule::NoSignificantHarm => format!(
            "no major slice harmed (CI upper bound < 0; registered slice rule no-significant-harm, F = {})",
            fmt_pp(rules.floor)
        ),
    };
    checks.push(RuleCheck {
        rule: "R3".into(),
        passed: Some(r3_all),
        detail: format!("{rule_words}: {}", slice_words.join("; ")),
    });
    // R4
    let r4 = ev.highest_mode_failures.map(|(a, b)| a <= b);
    checks.push(RuleCheck {
        rule: "R4".into(),
        passed: r4,
        detail: match ev.highest_mode_failures {
            Some((a, b)) => format!("highest-severity failures: {a} vs baseline {b}"),
            None => "no failure-mode taxonomy registered".into(),
        },
    });
    // R5
    let (r5, disagreement) = match ev.weighted {
        Some((wa, wb)) => {
            let weighted_better = wa >= wb;
            let unweighted_better = e.delta >= 0.0;
            let disagree = weighted_better != unweighted_better;
            let pass = weighted_better && (!disagree || e.delta >= t);
            (Some(pass), disagree)
        }
        None => (None, false),
    };
    v.severity_disagreement = disagreement;
    checks.push(RuleCheck {
        rule: "R5".into(),
        passed: r5,
        detail: match ev.weighted {
            Some((wa, wb)) => format!(
                "severity-weighted score {:.4} vs baseline {:.4}{}",
                wa,
                wb,
                if disagreement {
                    "; weighted and unweighted rankings disagree (G43)"
                } else {
                    ""
                }
            ),
            None => "no severity weighting registered".into(),
        },
    });
    // G44: |Δ_dev − Δ_test| against the SE of their difference (row sampling and trials), so the
    // alarm fires at rate α on clean data (decide::family::tests, and the validity harness's
    // overfit-clean scenario measure it).
    if let (Some(dd), Some(dse)) = (ev.dev_delta, ev.dev_se) {
        let level = ev.ci_level.unwrap_or(1.0 - rules.alpha);
        let z = itera_stats::power::z_multiplier(1.0 - level, 0.5).unwrap_or(1.96);
        let tse = ev
            .test_se
            .unwrap_or_else(|| (e.ci_high - e.ci_low) / (2.0 * z));
        v.overfit_alarm = overfit_alarm(dd, dse, e.delta, tse, rules.alpha).0;
    }
    let powered = power.is_some_and(|p| p.powered);
    v.decision = if r4 == Some(false) || r5 == Some(false) {
        Decision::Kill
    } else if !r1 {
        let conclusive = e.ci_high < t || powered;
        if conclusive {
            Decision::Kill
        } else {
            Decision::Inconclusive
        }
    } else if !r2 || r3_none {
        Decision::Kill
    } else if r3_all {
        Decision::Ship
    } else {
        Decision::ShipNarrowly
    };
    v.rules = checks;
    v
}

/// Applies the rules to every arm and decides (G40).
pub fn decide(rules: &Rules, arms: &[ArmEvidence]) -> Verdict {
    let judged: Vec<ArmVerdict> = arms.iter().map(|a| judge_arm(rules, a)).collect();
    let best_of = |d: Decision| -> Option<(&ArmVerdict, Option<String>)> {
        let mut c: Vec<&ArmVerdict> = judged.iter().filter(|a| a.decision == d).collect();
        if c.is_empty() {
            return None;
        }
        if c.len() == 1 {
            return Some((c[0], None));
        }
        let weighted = c.iter().all(|a| a.evidence.weighted.is_some());
        c.sort_by(|a, b| {
            let key = |x: &ArmVerdict| {
                if weighted {
                    x.evidence.weighted.map_or(f64::MIN, |w| w.0)
                } else {
                    x.evidence.effect.map_or(f64::MIN, |e| e.delta)
                }
            };
            key(b)
                .total_cmp(&key(a))
                .then_with(|| {
                    let cost = |x: &ArmVerdict| x.evidence.cost_per_1k_usd.unwrap_or(f64::MAX);
                    cost(a).total_cmp(&cost(b))
                })
                .then_with(|| a.arm.cmp(&b.arm))
        });
        let how = if weighted {
            "the severity-weighted winner"
        } else {
            "the largest Δ (ties broken by cost)"
        };
        let names: Vec<&str> = c.iter().map(|a| a.arm.as_str()).collect();
        // Say what the arms share: "pass" only when they pass every rule (#13 hole 14; test:
        // two_inconclusive_arms_are_not_said_to_pass).
        let share = match d {
            Decision::Ship => "pass every rule",
            Decision::ShipNarrowly => "ship narrowly",
            Decision::Inconclusive => "are inconclusive",
            Decision::Kill => "are killed",
        };
        Some((
            c[0],
            Some(format!(
                "{} arms {share} ({}); {} is chosen as {how}",
                names.len(),
                names.join(", "),
                c[0].arm
            )),
        ))
    };
    let killed: Vec<String> = judged
        .iter()
        .filter(|a| a.decision == Decision::Kill)
        .map(|a| a.arm.clone())
        .collect();
    let severity_disagreements: Vec<String> = judged
        .iter()
        .filter(|a| a.severity_disagreement)
        .map(|a| a.arm.clone())
        .collect();
    let chosen = best_of(Decision::Ship)
        .or_else(|| best_of(Decision::ShipNarrowly))
        .or_else(|| best_of(Decision::Inconclusive));
    let chosen_arm: Option<&ArmVerdict> = chosen.as_ref().map(|(a, _)| *a);
    let states = |want: SliceState| -> Vec<SliceStatus> {
        chosen_arm
            .map(|a| {
                a.slice_states
                    .iter()
                    .filter(|s| s.state == want)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    let harmed_slices = states(SliceState::Harmed)
        .into_iter()
        .map(|s| s.slice)
        .collect();
    let unknown_slices = states(SliceState::Unknown);
    let (decision, arm, slices, failing, choice, overfit, reason) = match chosen {
        Some((a, choice)) => {
            let slices = match a.decision {
                Decision::Ship | Decision::ShipNarrowly => a.passing_slices.clone(),
                _ => Vec::new(),
            };
            let reason = (a.decision == Decision::Inconclusive).then(|| {
                let p = a.power.map_or(String::new(), |p| format!(" (minimum detectable effect {} > T)", fmt_pp(p.mde)));
                format!("R1 fell short of T but its CI still reaches T and the test set was underpowered for T{p}: we could not tell, which is not the same as no effect (G45)")
            });
            (
                a.decision,
                Some(a.arm.clone()),
                slices,
                a.failing_slices.clone(),
                choice,
                a.overfit_alarm,
                reason,
            )
        }
        None => (
            Decision::Kill,
            None,
            Vec::new(),
            Vec::new(),
            None,
            judged.iter().any(|a| a.overfit_alarm),
            None,
        ),
    };
    let mut v = Verdict {
        decision,
        arm,
        slices,
        failing_slices: failing,
        harmed_slices,
        unknown_slices,
        killed,
        inconclusive_reason: reason,
        choice,
        overfit_alarm: overfit,
        severity_disagreements,
        arms: judged,
        rationale: String::new(),
    };
    v.rationale = rationale(&v);
    v
}
