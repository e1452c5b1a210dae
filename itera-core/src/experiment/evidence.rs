//! The evidence of the test pass, gathered from the test cube: the power plan per locked arm and
//! major slice from dev's per-row differences (G20, [`crate::decide::power`]), per-slice effects with the major slices (R3),
//! failure-mode counts (R4) and severity-weighted scores (R5), and the registered rules applied
//! to it (G40–G45).

use crate::data::row::Row;
use crate::decide::family::{family_ci_level, test_scale_sigma};
use crate::decide::power::{ArmVariance, PlanRules, PowerPlan, SliceVariance, plan};
use crate::decide::rules::{self, ArmEvidence, Rules, SliceEvidence, Verdict};
use crate::experiment::{Experiment, Sealed};
use crate::frame::Frame;
use crate::report::EffectSize;
use crate::run::cube::{ArmKey, ScoreCube};
use crate::run::effect::paired_effect;
use std::collections::{BTreeMap, BTreeSet};

/// The sample variance of `d` (n − 1), `None` with fewer than two values.
fn variance(d: &[f64]) -> Option<f64> {
    if d.len() < 2 {
        return None;
    }
    let m = d.iter().sum::<f64>() / d.len() as f64;
    Some(d.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (d.len() - 1) as f64)
}

/// An arm's dev paired differences with the baseline: (cube row index, difference).
fn dev_diffs(dev: &crate::experiment::DevResults, k: &ArmKey) -> Option<(Vec<usize>, Vec<f64>)> {
    let cube = &dev.cube;
    let a = cube
        .arms()
        .iter()
        .position(|c| c.spec_hash == k.spec_hash && c.arm == k.arm)?;
    let p = cube.paired(a, 0);
    let d = p.diffs();
    Some((p.rows.clone(), d))
}

/// The dev design effect when every paired row declares a cluster (1 otherwise).
fn dev_deff(dev: &crate::experiment::DevResults, rows: &[usize], d: &[f64]) -> f64 {
    let clusters: Vec<&str> = rows
        .iter()
        .filter_map(|&r| dev.cube.clusters()[r].as_deref())
        .collect();
    if clusters.len() == d.len() && d.len() >= 2 {
        itera_stats::power::design_effect_from_dev(d, &clusters)
            .unwrap_or(1.0)
            .max(1.0)
    } else {
        1.0
    }
}

/// The dev per-row variance of an arm's paired difference with the baseline, times the dev
/// design effect when clusters are declared (1 otherwise); `None` with fewer than two rows.
fn dev_row_variance(dev: &crate::experiment::DevResults, k: &ArmKey) -> Option<(f64, f64)> {
    let (rows, d) = dev_diffs(dev, k)?;
    let var = variance(&d)?;
    Some((var, dev_deff(dev, &rows, &d)))
}

/// A slice's own dev per-row variance of the difference, × the arm's dev design effect.
fn dev_slice_variance(
    dev: &crate::experiment::DevResults,
    k: &ArmKey,
    slice: &str,
) -> (usize, Option<f64>) {
    let Some((rows, d)) = dev_diffs(dev, k) else {
        return (0, None);
    };
    let deff = dev_deff(dev, &rows, &d);
    let on: Vec<f64> = rows
        .iter()
        .zip(&d)
        .filter(|(r, _)| dev.cube.slices()[**r] == slice)
        .map(|(_, x)| *x)
        .collect();
    // A slice on which the arms never disagreed on dev (variance 0) gives nothing to plan with:
    // it falls back to the pooled variance, stated, rather than "need ≈ 2".
    (
        on.len(),
        variance(&on).filter(|v| *v > 0.0).map(|v| v * deff),
    )
}

/// The major slices the plan covers: the registered ones, or every slice of dev and test when
/// none is registered (R3 then checks every slice).
fn planned_slices(frame: &Frame, dev_rows: &[Row], test_rows: &[Row]) -> Vec<String> {
    if !frame.major_slices.is_empty() {
        return frame.major_slices.clone();
    }
    let all: BTreeSet<&str> = dev_rows
        .iter()
        .chain(test_rows)
        .map(|r| r.slice.as_str())
        .collect();
    all.into_iter().map(str::to_string).collect()
}

/// The power plan before the test pass (G20): [`crate::decide::power::plan`] fed with each
/// locked arm's dev variance (pooled and per major slice) and the split's test sizes. Reads the
/// test rows' ids and slices only (the split already journaled their counts), never an outcome.
pub(super) fn power_plan(
    frame: &Frame,
    dev: &crate::experiment::DevResults,
    keys: &[ArmKey],
    dev_rows: &[Row],
    test_rows: &[Row],
) -> PowerPlan {
    let base_mean = dev.summaries.first().map_or(0.0, |s| s.mean);
    let rules = PlanRules {
        threshold: frame.threshold.effect.as_fraction(base_mean),
        floor: frame.threshold.slice_loss_floor_pp / 100.0,
        alpha: frame.alpha,
        power: frame.power,
    };
    let slices = planned_slices(frame, dev_rows, test_rows);
    let arms: Vec<ArmVariance> = keys
        .iter()
        .skip(1)
        .map(|k| ArmVariance {
            arm: k.arm.clone(),
            row_variance: dev_row_variance(dev, k).map(|(v, deff)| v * deff),
            slices: slices
                .iter()
                .map(|s| {
                    let (n, v) = dev_slice_variance(dev, k, s);
                    SliceVariance {
                        slice: s.clone(),
                        dev_rows: n,
                        row_variance: v,
                        test_rows: test_rows.iter().filter(|r| &r.slice == s).count(),
                    }
                })
                .collect(),
        })
        .collect();
    plan(rules, test_rows.len(), &arms)
}

pub(super) fn major(frame: &Frame, slice: &str) -> bool {
    frame.major_slices.is_empty() || frame.major_slices.iter().any(|s| s == slice)
}

pub(super) fn size(e: &crate::run::effect::PairedEffect) -> EffectSize {
    EffectSize {
        delta: e.estimate.point,
        ci_low: e.estimate.ci.lower,
        ci_high: e.estimate.ci.upper,
        n: e.n,
    }
}

/// Failed test rows per failure-mode category for a cube arm: the judge assigned the category
/// on some trial, or the row is tagged with it and the arm's per-row mean is below 0.5.
pub(super) fn mode_failures(
    frame: &Frame,
    rows: &[Row],
    cube: &ScoreCube,
    arm: usize,
) -> BTreeMap<String, usize> {
    let means = cube.row_means(arm);
    frame
        .failure_modes
        .iter()
        .map(|m| {
            let n = rows
                .iter()
                .enumerate()
                .filter(|(i, r)| {
                    cube.has_mode(arm, *i, &m.id)
                        || (r.failure_modes.contains(&m.id) && means[*i].is_some_and(|s| s < 0.5))
                })
                .count();
            (m.id.clone(), n)
        })
        .collect()
}

/// Severity-weighted mean score (severity capped), or `None` without a severity spec.
pub(super) fn weighted_score(
    frame: &Frame,
    rows: &[Row],
    cube: &ScoreCube,
    arm: usize,
) -> Option<f64> {
    let cap = frame.severity.as_ref()?.cap;
    let means = cube.row_means(arm);
    let (mut num, mut den) = (0.0, 0.0);
    for (r, m) in rows.iter().zip(means) {
        if let Some(m) = m {
            let w = r.severity.min(cap);
            num += w * m;
            den += w;
        }
    }
    (den > 0.0).then(|| num / den)
}

pub(super) fn decide(
    exp: &Experiment<Sealed>,
    keys: &[ArmKey],
    test: &ScoreCube,
    power: &PowerPlan,
) -> Verdict {
    let frame = &exp.frame;
    let plan = &exp.state.scored.split.plan;
    let dev = &exp.state.scored.dev;
    let level = frame.ci_level();
    let base_mean = test.summary(0).mean;
    let rules = Rules {
        threshold: frame.threshold.effect.as_fraction(base_mean),
        floor: frame.threshold.slice_loss_floor_pp / 100.0,
        rule: frame.threshold.rule,
        alpha: frame.alpha,
        power: frame.power,
        slice_rule: frame.slice_rule,
    };
    // Several arms on test: each aggregate CI at the Bonferroni level 1 − α/k, so the
    // family-wise false-ship rate stays ≤ α/2 (decide::family; the validity harness's
    // null-three-arms scenario measures it). The same interval reaches data.json.
    let level_agg = family_ci_level(level, keys.len().saturating_sub(1));
    let (n_dev, n_test) = (plan.dev.len(), plan.test.len());
    let base_test_sd = test.summary(0).sd_across_trials;
    let slices: BTreeSet<&str> = plan.test.iter().map(|r| r.slice.as_str()).collect();
    let highest = frame.highest_severity_mode().map(|m| m.id.clone());
    let base_modes = mode_failures(frame, &plan.test, test, 0);
    let base_weighted = weighted_score(frame, &plan.test, test, 0);
    let dev_noise = |k: &ArmKey| {
        dev.cube
            .arms()
            .iter()
            .position(|c| c.spec_hash == k.spec_hash && c.arm == k.arm)
            .and_then(|i| dev.noise.get(i))
            .map_or(0.0, |n| n.aggregate_sd)
    };
    let base_noise = dev.noise.first().map_or(0.0, |n| n.aggregate_sd);
    let mut evidence = Vec::new();
    for (i, key) in keys.iter().enumerate().skip(1) {
        let dev_idx = dev
            .cube
            .arms()
            .iter()
            .position(|c| c.spec_hash == key.spec_hash && c.arm == key.arm);
        let dev_effect = dev_idx.and_then(|a| paired_effect(&dev.cube, a, 0, &|_| true, level));
        let modes = mode_failures(frame, &plan.test, test, i);
        let aggregate = paired_effect(test, i, 0, &|_| true, level_agg);
        // R2's σ on the test Δ's scale (test trials when K ≥ 2, else dev σ × √(n_dev/n_test)).
        let (noise_sd, noise_basis) = test_scale_sigma(
            Some(test.summary(i).sd_across_trials.max(base_test_sd)),
            frame.trials,
            dev_noise(key).max(base_noise),
            n_dev,
            n_test,
        );
        evidence.push(ArmEvidence {
            arm: key.arm.clone(),
            version: key.version,
            killed_by_gate: false,
            effect: aggregate.as_ref().map(size),
            slices: slices
                .iter()
                .map(|s| SliceEvidence {
                    slice: s.to_string(),
                    effect: paired_effect(test, i, 0, &|r| test.slices()[r] == *s, level)
                        .as_ref()
                        .map(size),
                    major: major(frame, s),
                    row_variance: dev_slice_variance(dev, key, s).1,
                })
                .collect(),
            noise_sd,
            noise_basis,
            se_test_planned: power
                .arms
                .iter()
                .find(|p| p.arm == key.arm)
                .and_then(|p| p.se_test)
                .unwrap_or(f64::INFINITY),
            highest_mode_failures: highest.as_ref().map(|h| {
                (
                    modes.get(h).copied().unwrap_or(0),
                    base_modes.get(h).copied().unwrap_or(0),
                )
            }),
            weighted: weighted_score(frame, &plan.test, test, i).zip(base_weighted),
            cost_per_1k_usd: test.summary(i).cost_per_1k_rows_usd,
            dev_delta: dev_effect.as_ref().map(|e| e.estimate.point),
            dev_se: dev_effect.as_ref().and_then(|e| e.estimate.se),
            test_se: aggregate.as_ref().and_then(|e| e.estimate.se),
            slice_row_variance: dev_row_variance(dev, key).map(|(v, d)| v * d),
            ci_level: Some(level_agg),
        });
    }
    for killed in &exp.state.killed {
        evidence.push(ArmEvidence {
            arm: killed.clone(),
            version: 0,
            killed_by_gate: true,
            effect: None,
            slices: Vec::new(),
            noise_sd: 0.0,
            se_test_planned: f64::INFINITY,
            highest_mode_failures: None,
            weighted: None,
            cost_per_1k_usd: None,
            dev_delta: None,
            dev_se: None,
            test_se: None,
            noise_basis: String::new(),
            slice_row_variance: None,
            ci_level: None,
        });
    }
    rules::decide(&rules, &evidence)
}
