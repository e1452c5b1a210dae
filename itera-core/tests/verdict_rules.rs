//! The verdict rules R1–R5 and the decision (METHOD.md §5) on hand-built evidence: every edge
//! the issue names, with the numbers written out.

use itera_core::decide::rules::{ArmEvidence, Decision, Rules, SliceEvidence, decide};
use itera_core::frame::{SliceRule, ThresholdRule};
use itera_core::report::EffectSize;

fn rules() -> Rules {
    Rules {
        threshold: 0.05,
        floor: -0.02,
        rule: ThresholdRule::Point,
        alpha: 0.05,
        power: 0.8,
        slice_rule: Default::default(),
    }
}

fn e(delta: f64, lo: f64, hi: f64) -> Option<EffectSize> {
    Some(EffectSize {
        delta,
        ci_low: lo,
        ci_high: hi,
        n: 400,
    })
}

/// A powered arm (SE 0.01 → MDE 2.8pp < T) with a clear +8pp effect and two passing slices.
fn arm(id: &str) -> ArmEvidence {
    ArmEvidence {
        arm: id.into(),
        version: 0,
        killed_by_gate: false,
        effect: e(0.08, 0.06, 0.10),
        slices: vec![
            SliceEvidence {
                slice: "enterprise".into(),
                effect: e(0.09, 0.01, 0.17),
                major: true,
                row_variance: None,
            },
            SliceEvidence {
                slice: "smb".into(),
                effect: e(0.07, -0.01, 0.15),
                major: true,
                row_variance: None,
            },
        ],
        noise_sd: 0.005,
        se_test_planned: 0.01,
        highest_mode_failures: Some((3, 5)),
        weighted: None,
        cost_per_1k_usd: Some(1.0),
        dev_delta: Some(0.08),
        dev_se: Some(0.01),
        test_se: None,
        noise_basis: String::new(),
        slice_row_variance: Some(0.1),
        ci_level: None,
    }
}

#[test]
fn a_clean_win_ships() {
    let v = decide(&rules(), &[arm("v2")]);
    assert_eq!(v.decision, Decision::Ship);
    assert_eq!(v.arm.as_deref(), Some("v2"));
    assert_eq!(v.slices, vec!["enterprise", "smb"]);
    assert!(
        v.rationale
            .starts_with("Ship v2: every registered rule passes."),
        "{}",
        v.rationale
    );
}

#[test]
fn a_slice_ci_lower_bound_exactly_at_the_floor_passes_and_just_below_fails() {
    let mut a = arm("v2");
    a.slices[1].effect = e(0.05, -0.02, 0.12);
    assert_eq!(decide(&rules(), &[a.clone()]).decision, Decision::Ship);
    a.slices[1].effect = e(0.05, -0.020_000_1, 0.12);
    let v = decide(&rules(), &[a]);
    assert_eq!(v.decision, Decision::ShipNarrowly);
    assert_eq!(v.slices, vec!["enterprise"]);
    assert_eq!(v.failing_slices, vec!["smb"]);
    assert!(
        v.rationale.contains("narrowly, to enterprise")
            && v.rationale
                .contains("excludes smb (not shown safe: 400 rows, need ≈ "),
        "{}",
        v.rationale
    );
}

#[test]
fn every_major_slice_failing_kills() {
    let mut a = arm("v2");
    for s in &mut a.slices {
        s.effect = e(0.08, -0.05, 0.2);
    }
    assert_eq!(decide(&rules(), &[a]).decision, Decision::Kill);
}

#[test]
fn two_passing_arms_the_larger_effect_ships_and_the_choice_is_recorded() {
    let mut b = arm("v3");
    b.effect = e(0.10, 0.08, 0.12);
    let v = decide(&rules(), &[arm("v2"), b]);
    assert_eq!(v.arm.as_deref(), Some("v3"));
    assert!(
        v.choice
            .as_ref()
            .unwrap()
            .contains("2 arms pass every rule (v3, v2); v3 is chosen as the largest Δ"),
        "{:?}",
        v.choice
    );
    // Equal effects: the cheaper arm.
    let mut c = arm("v3");
    c.cost_per_1k_usd = Some(0.5);
    assert_eq!(decide(&rules(), &[arm("v2"), c]).arm.as_deref(), Some("v3"));
}

#[test]
fn a_tie_on_aggregate_with_errors_shifted_into_the_top_severity_category_kills() {
    let mut a = arm("v2");
    a.highest_mode_failures = Some((9, 5));
    let v = decide(&rules(), &[a]);
    assert_eq!(v.decision, Decision::Kill);
    assert!(
        v.rationale
            .contains("R4 (highest-severity failures: 9 vs baseline 5)"),
        "{}",
        v.rationale
    );
}

#[test]
fn severity_disagreement_is_surfaced_and_resolved_by_the_tie_break() {
    // Weighted says better, unweighted says worse: the weighted winner ships only if its
    // unweighted Δ clears T — it does not, so R5 fails.
    let mut a = arm("v2");
    a.effect = e(-0.01, -0.03, 0.01);
    a.weighted = Some((0.9, 0.85));
    let v = decide(&rules(), &[a]);
    assert_eq!(v.severity_disagreements, vec!["v2"]);
    assert_eq!(v.decision, Decision::Kill);
    assert!(v.rationale.contains("G43"), "{}", v.rationale);
    // Agreement: both better, R5 passes.
    let mut b = arm("v2");
    b.weighted = Some((0.9, 0.85));
    let v = decide(&rules(), &[b]);
    assert!(v.severity_disagreements.is_empty());
    assert_eq!(v.decision, Decision::Ship);
}

/// Issue #13 hole 14: with two arms both inconclusive the choice said "2 arms pass", contradicting
/// the decision printed beside it. The choice names what the arms share.
#[test]
fn two_inconclusive_arms_are_not_said_to_pass() {
    let under = |id: &str, d: f64| {
        let mut a = arm(id);
        a.effect = e(d, d - 0.05, d + 0.05);
        a.se_test_planned = 0.03; // MDE 8.4pp > T: underpowered
        a
    };
    let v = decide(&rules(), &[under("v2", 0.03), under("v3", 0.02)]);
    assert_eq!(v.decision, Decision::Inconclusive);
    let choice = v.choice.clone().unwrap_or_default();
    assert!(!choice.contains("pass"), "{choice}");
    assert!(
        choice.contains("2 arms are inconclusive (v2, v3)"),
        "{choice}"
    );
}

#[test]
fn an_underpowered_test_whose_ci_still_reaches_t_is_inconclusive_not_kill() {
    let mut a = arm("v2");
    a.effect = e(0.03, -0.02, 0.08);
    a.se_test_planned = 0.03; // MDE = 2.80 × 3pp = 8.4pp > T
    let v = decide(&rules(), &[a]);
    assert_eq!(v.decision, Decision::Inconclusive);
    assert!(
        v.inconclusive_reason
            .as_ref()
            .unwrap()
            .contains("underpowered"),
        "{:?}",
        v.inconclusive_reason
    );
    assert!(v.rationale.contains("G45"), "{}", v.rationale);
}

#[test]
fn an_underpowered_test_whose_ci_lies_below_t_kills() {
    let mut a = arm("v2");
    a.effect = e(0.0, -0.04, 0.04);
    a.se_test_planned = 0.03;
    assert_eq!(decide(&rules(), &[a]).decision, Decision::Kill);
}

#[test]
fn a_powered_test_that_falls_short_kills() {
    let mut a = arm("v2");
    a.effect = e(0.03, 0.01, 0.055);
    assert_eq!(decide(&rules(), &[a]).decision, Decision::Kill);
}

#[test]
fn a_significant_estimate_at_or_above_t_on_an_underpowered_test_ships() {
    let mut a = arm("v2");
    a.effect = e(0.09, 0.01, 0.17);
    a.se_test_planned = 0.04;
    assert_eq!(decide(&rules(), &[a]).decision, Decision::Ship);
}

#[test]
fn the_ci_lower_rule_needs_the_whole_interval_above_t() {
    let r = Rules {
        rule: ThresholdRule::CiLower,
        ..rules()
    };
    assert_eq!(decide(&r, &[arm("v2")]).decision, Decision::Ship); // CI low 6pp ≥ 5pp
    let mut a = arm("v2");
    a.effect = e(0.08, 0.04, 0.12);
    assert_ne!(decide(&r, &[a]).decision, Decision::Ship);
}

#[test]
fn an_effect_inside_the_noise_floor_kills_and_overfit_is_attached() {
    let mut a = arm("v2");
    a.noise_sd = 0.05; // 2σ = 10pp > 8pp
    let v = decide(&rules(), &[a]);
    assert_eq!(v.decision, Decision::Kill);
    assert!(v.rationale.contains("R2"), "{}", v.rationale);

    let mut b = arm("v2");
    b.dev_delta = Some(0.20); // |20 − 8| = 12pp > 2σ = 1pp
    let v = decide(&rules(), &[b]);
    assert_eq!(v.decision, Decision::Ship);
    assert!(v.overfit_alarm);
    assert!(v.rationale.contains("Overfit alarm"), "{}", v.rationale);
}

#[test]
fn an_arm_killed_by_the_gate_is_killed() {
    let mut a = arm("v2");
    a.killed_by_gate = true;
    let v = decide(&rules(), &[a, arm("v3")]);
    assert_eq!(v.arm.as_deref(), Some("v3"));
    assert_eq!(v.killed, vec!["v2"]);
}

// ---- Three slice states (G41): safe / harmed / unknown, and the registered slice rule. ----

fn nsh() -> Rules {
    Rules {
        slice_rule: SliceRule::NoSignificantHarm,
        ..rules()
    }
}

#[test]
fn an_unknown_slice_is_not_called_regressed_and_names_its_need() {
    // smb CI [−6, +10]: below F = −2 but reaches 0 → unknown, not harmed.
    let mut a = arm("v2");
    a.slices[1].effect = e(0.02, -0.06, 0.10);
    let v = decide(&rules(), &[a]);
    assert_eq!(v.decision, Decision::ShipNarrowly);
    assert!(v.harmed_slices.is_empty());
    assert_eq!(v.unknown_slices.len(), 1);
    // need = ⌈(z.975 + z.8)² · 0.1 / (0.05 + 0.02)²⌉ = ⌈7.848879 · 0.1 / 0.0049⌉ = ⌈160.18⌉ = 161.
    assert_eq!(v.unknown_slices[0].need, Some(161));
    assert_eq!(v.unknown_slices[0].n, 400);
    assert!(
        v.rationale
            .contains("smb (not shown safe: 400 rows, need ≈ 161)"),
        "{}",
        v.rationale
    );
    assert!(!v.rationale.contains("regressed"), "{}", v.rationale);
}

#[test]
fn a_harmed_slice_is_called_regressed() {
    let mut a = arm("v2");
    a.slices[1].effect = e(-0.08, -0.12, -0.04);
    let v = decide(&rules(), &[a]);
    assert_eq!(v.decision, Decision::ShipNarrowly);
    assert_eq!(v.harmed_slices, vec!["smb"]);
    assert!(v.unknown_slices.is_empty());
    assert!(v.rationale.contains("smb (regressed"), "{}", v.rationale);
    assert!(v.arms[0].rules[2].detail.contains("regressed"));
}

#[test]
fn ci_high_exactly_zero_is_unknown_and_ships_under_no_significant_harm() {
    let mut a = arm("v2");
    a.slices[1].effect = e(-0.05, -0.10, 0.0);
    let v = decide(&rules(), &[a.clone()]);
    assert_eq!(v.decision, Decision::ShipNarrowly);
    assert!(v.harmed_slices.is_empty());
    let v = decide(&nsh(), &[a.clone()]);
    assert_eq!(v.decision, Decision::Ship);
    assert_eq!(v.slices, vec!["enterprise", "smb"]);
    assert!(
        v.rationale
            .contains("Shipped without being shown safe, under the registered no-significant-harm slice rule: smb (not shown safe"),
        "{}",
        v.rationale
    );
    // Just below 0: harmed under either rule.
    a.slices[1].effect = e(-0.05, -0.10, -1e-9);
    for r in [rules(), nsh()] {
        let v = decide(&r, &[a.clone()]);
        assert_eq!(v.decision, Decision::ShipNarrowly);
        assert_eq!(v.harmed_slices, vec!["smb"]);
    }
}

#[test]
fn ci_low_exactly_at_the_floor_is_safe_under_both_rules() {
    let mut a = arm("v2");
    a.slices[1].effect = e(0.05, -0.02, 0.12);
    for r in [rules(), nsh()] {
        let v = decide(&r, &[a.clone()]);
        assert_eq!(v.decision, Decision::Ship);
        assert!(v.unknown_slices.is_empty() && v.harmed_slices.is_empty());
    }
}

#[test]
fn a_slice_without_a_ci_is_unknown_with_zero_rows() {
    let mut a = arm("v2");
    a.slices[1].effect = None;
    let v = decide(&rules(), &[a.clone()]);
    assert_eq!(v.decision, Decision::ShipNarrowly);
    assert_eq!(v.unknown_slices[0].n, 0);
    assert_eq!(decide(&nsh(), &[a]).decision, Decision::Ship);
}

// ---- G44 on the right scale: the SE of Δ_dev − Δ_test, not the trial σ. ----

#[test]
fn the_overfit_alarm_does_not_fire_on_a_difference_within_sampling_error() {
    // Δ_dev 10pp ± 3pp (SE), Δ_test 8pp ± 1pp: |diff| = 2pp < 1.96 · √(0.03² + 0.01²) = 6.2pp.
    // The old rule compared with 2σ = 1pp (σ = trial noise 0.5pp) and fired.
    let mut a = arm("v2");
    a.dev_delta = Some(0.10);
    a.dev_se = Some(0.03);
    a.test_se = Some(0.01);
    assert!(!decide(&rules(), &[a.clone()]).overfit_alarm);
    // 8pp apart: 8 > 6.2 → fires.
    a.dev_delta = Some(0.16);
    assert!(decide(&rules(), &[a]).overfit_alarm);
}

#[test]
fn r2_states_where_its_sigma_came_from() {
    let mut a = arm("v2");
    a.noise_basis = "σ = dev σ 0.0100 × √(100/400) rescaled to the test set".into();
    let v = decide(&rules(), &[a]);
    assert!(v.arms[0].rules[1].detail.contains("√(100/400)"));
}

/// #15 item 2: "need ≈ N" used the arm's pooled dev variance, so every unknown slice showed the
/// same N. Each slice now uses its own dev per-row variance, and the pooled one only when the
/// slice has none (fewer than two dev rows).
/// Python 3 statistics.NormalDist: m = z(.975) + z(.8) = 2.801585218112968;
/// ceil(m² · 0.25 / 0.07²) = ceil(400.45) = 401, ceil(m² · 0.04 / 0.07²) = ceil(64.07) = 65,
/// pooled 0.1: ceil(m² · 0.1 / 0.07²) = ceil(160.18) = 161.
#[test]
fn every_unknown_slice_showed_the_same_rows_needed() {
    let mut a = arm("v2");
    for (s, var) in a.slices.iter_mut().zip([Some(0.25), Some(0.04)]) {
        s.effect = e(0.0, -0.10, 0.10);
        s.row_variance = var;
    }
    let v = decide(&rules(), &[a.clone()]);
    let need: Vec<Option<usize>> = v.arms[0].slice_states.iter().map(|s| s.need).collect();
    assert_eq!(need, vec![Some(401), Some(65)]);
    a.slices[1].row_variance = None;
    let v = decide(&rules(), &[a]);
    assert_eq!(v.arms[0].slice_states[1].need, Some(161), "pooled fallback");
}
