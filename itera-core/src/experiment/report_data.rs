//! The `data.json` model of a finished test pass ([`ReportData`]): experiment facts, arms with
//! cost and tokens, dev and test aggregates, noise, per-slice effects, failure-mode counts,
//! severity and the verdict — every number read from the cubes, the ledger and the verdict.

use crate::data::row::Row;
use crate::data::split::Part;
use crate::decide::rules::Verdict;
use crate::experiment::evidence::{major, mode_failures, weighted_score};
use crate::experiment::{Error, Experiment, Sealed};
use crate::iterate::iteration::Ledger;
use crate::journal::event::Event;
use crate::report::calls::{ArmCalls, count_calls};
use crate::report::index::JournalIndex;
use crate::report::{
    Aggregate, ArmEffects, ArmInfo, ExperimentInfo, FailureModes, ModeInfo, PowerInfo, ReportData,
    SeverityInfo, SliceInfo, Tokens, VerdictInfo,
};
use crate::run::cube::{ArmKey, ScoreCube};
use crate::run::effect::paired_effect;
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn build_report(
    exp: &Experiment<Sealed>,
    keys: &[ArmKey],
    test: &ScoreCube,
    verdict: &Verdict,
    ledger: &Ledger,
    ix: &JournalIndex,
) -> Result<ReportData, Error> {
    let entries = ix.entries();
    let frame = &exp.frame;
    let plan = &exp.state.scored.split.plan;
    let dev = &exp.state.scored.dev;
    let base_mean = test.summary(0).mean;
    let rule = match frame.threshold.rule {
        crate::frame::ThresholdRule::Point => "point",
        crate::frame::ThresholdRule::CiLower => "ci-lower",
    };
    let threshold_rule = match frame.threshold.rule {
        crate::frame::ThresholdRule::Point => {
            "ship when Δ ≥ T and the CI excludes 0 (R1), |Δ| ≥ 2σ (R2), every major slice's CI lower bound ≥ F (R3), no more highest-severity failures (R4), severity-weighted score not worse (R5)"
        }
        crate::frame::ThresholdRule::CiLower => {
            "ship when the CI lower bound ≥ T (R1), |Δ| ≥ 2σ (R2), every major slice's CI lower bound ≥ F (R3), no more highest-severity failures (R4), severity-weighted score not worse (R5)"
        }
    };
    let ci_method = paired_effect(
        test,
        1.min(test.arms().len() - 1),
        0,
        &|_| true,
        frame.ci_level(),
    )
    .map_or_else(|| "n/a".to_string(), |e| e.estimate.method);
    let dev_index = |k: &ArmKey| {
        dev.cube
            .arms()
            .iter()
            .position(|c| c.spec_hash == k.spec_hash && c.arm == k.arm)
    };
    let mut arms = Vec::new();
    let mut dev_aggregate = BTreeMap::new();
    let mut test_aggregate = BTreeMap::new();
    let mut variance_trials = BTreeMap::new();
    let mut noise_sd = BTreeMap::new();
    let mut test_per_slice = BTreeMap::new();
    let mut test_counts = BTreeMap::new();
    let slices: BTreeSet<&str> = plan
        .train
        .iter()
        .chain(&plan.dev)
        .chain(&plan.test)
        .map(|r| r.slice.as_str())
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let s = test.summary(i);
        let plan_arm = frame.arms.iter().find(|a| a.id == key.arm);
        arms.push(ArmInfo {
            id: key.arm.clone(),
            name: key.arm.clone(),
            baseline: i == 0,
            parent: plan_arm.map(|a| a.parent.clone()),
            change: plan_arm.map(|a| a.change.clone()),
            version: key.version,
            cost_per_1k_usd: s.cost_per_1k_rows_usd,
            tokens: Tokens {
                input: s.input_tokens,
                output: s.output_tokens,
            },
            latency_ms_mean: s.latency_ms_mean,
            // Below 0.05 ms on average nothing waited: rounding noise is not a queue.
            queue_ms_mean: s.queue_ms_mean.filter(|q| *q >= 0.05),
            server_ms_mean: s.server_ms_mean,
            killed: false,
            cold: (s.cold_calls > 0).then_some(crate::report::ColdCalls {
                calls: s.cold_calls,
                cost_usd: s.cold_cost_usd,
            }),
        });
        test_aggregate.insert(
            key.arm.clone(),
            Aggregate {
                mean: s.mean,
                sd: s.sd_across_trials,
                n: s.rows,
            },
        );
        if let Some(d) = dev_index(key) {
            let ds = &dev.summaries[d];
            dev_aggregate.insert(
                key.arm.clone(),
                Aggregate {
                    mean: ds.mean,
                    sd: ds.sd_across_trials,
                    n: ds.rows,
                },
            );
            if let Some(n) = dev.noise.get(d) {
                variance_trials.insert(key.arm.clone(), n.per_trial.clone());
                noise_sd.insert(key.arm.clone(), n.aggregate_sd);
            }
        }
        let means = test.row_means(i);
        let mut per_slice = BTreeMap::new();
        for sl in &slices {
            let xs: Vec<f64> = means
                .iter()
                .zip(test.slices())
                .filter(|(_, s)| s.as_str() == *sl)
                .filter_map(|(m, _)| *m)
                .collect();
            if !xs.is_empty() {
                per_slice.insert(sl.to_string(), xs.iter().sum::<f64>() / xs.len() as f64);
            }
        }
        test_per_slice.insert(key.arm.clone(), per_slice);
        test_counts.insert(key.arm.clone(), mode_failures(frame, &plan.test, test, i));
    }
    for killed in &exp.state.killed {
        let plan_arm = frame.arms.iter().find(|a| &a.id == killed);
        let version = ledger.latest(killed).map_or(0, |v| v.key.version);
        arms.push(ArmInfo {
            id: killed.clone(),
            name: killed.clone(),
            baseline: false,
            parent: plan_arm.map(|a| a.parent.clone()),
            change: plan_arm.map(|a| a.change.clone()),
            version,
            cost_per_1k_usd: None,
            tokens: Tokens::default(),
            latency_ms_mean: 0.0,
            queue_ms_mean: None,
            server_ms_mean: None,
            killed: true,
            cold: None,
        });
    }
    let effect_sizes = verdict
        .arms
        .iter()
        .filter(|a| !a.evidence.killed_by_gate)
        .filter_map(|a| {
            let aggregate = a.evidence.effect?;
            let per_slice = a
                .evidence
                .slices
                .iter()
                .filter_map(|s| Some((s.slice.clone(), s.effect?)))
                .collect();
            Some((
                a.arm.clone(),
                ArmEffects {
                    aggregate,
                    per_slice,
                },
            ))
        })
        .collect();
    let severity = frame.severity.as_ref().map(|sev| SeverityInfo {
        field: sev.field.clone(),
        cap: sev.cap,
        weighted_scores: keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| Some((k.arm.clone(), weighted_score(frame, &plan.test, test, i)?)))
            .collect(),
        unweighted_scores: keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.arm.clone(), test.summary(i).mean))
            .collect(),
    });
    let count = |rows: &[Row], s: &str| rows.iter().filter(|r| r.slice == s).count();
    Ok(ReportData {
        experiment: ExperimentInfo {
            name: frame.name.clone(),
            question: frame.question.clone(),
            hypothesis: frame.hypothesis.clone(),
            metric: frame.metric.name.clone(),
            scorer: frame.metric.scorer.clone(),
            threshold_pp: frame.threshold.effect.as_fraction(base_mean) * 100.0,
            slice_loss_floor_pp: frame.threshold.slice_loss_floor_pp,
            threshold_rule: threshold_rule.to_string(),
            rule: rule.to_string(),
            ci_method,
            ci_level: frame.ci_level(),
            aggregate_ci_level: (keys.len() > 2)
                .then(|| crate::decide::family::family_ci_level(frame.ci_level(), keys.len() - 1)),
            slice_rule: frame.slice_rule.as_str().to_string(),
            test_n: plan.test.len(),
            dev_n: plan.dev.len(),
            trials_per_arm: frame.trials,
            seed: frame.seed,
            frame_hash: exp.state.scored.split.registered.frame_hash.clone(),
            data_hash: plan.data_hash.clone(),
        },
        arms,
        slices: slices
            .iter()
            .map(|s| SliceInfo {
                id: s.to_string(),
                name: s.to_string(),
                dev_n: count(&plan.dev, s),
                test_n: count(&plan.test, s),
                major: major(frame, s),
            })
            .collect(),
        failure_modes: FailureModes {
            taxonomy: frame
                .failure_modes
                .iter()
                .map(|m| ModeInfo {
                    id: m.id.clone(),
                    weight: m.weight,
                })
                .collect(),
            highest: frame.highest_severity_mode().map(|m| m.id.clone()),
            test_counts,
        },
        severity,
        variance_trials,
        dev_aggregate,
        test_aggregate,
        test_per_slice,
        effect_sizes,
        noise_sd,
        verdict: VerdictInfo {
            decision: verdict.decision,
            arm: verdict.arm.clone(),
            slices: verdict.slices.clone(),
            failing_slices: verdict.failing_slices.clone(),
            harmed_slices: verdict.harmed_slices.clone(),
            unknown_slices: verdict.unknown_slices.clone(),
            killed: verdict.killed.clone(),
            inconclusive_reason: verdict.inconclusive_reason.clone(),
            rationale: verdict.rationale.clone(),
            overfit_alarm: verdict.overfit_alarm,
            not_fresh_test_set: not_fresh_test_set(frame, entries),
        },
        test_row_ids: plan.test.iter().map(|r| r.id.to_string()).collect(),
        calls: keys
            .iter()
            .map(|k| {
                let count = |part| count_calls(ix, k, part, frame.failure_policy);
                (
                    k.arm.clone(),
                    ArmCalls {
                        dev: count(Part::Dev),
                        test: count(Part::Test),
                    },
                )
            })
            .collect(),
        power: entries.iter().rev().find_map(|e| match &e.event {
            Event::PowerChecked {
                arms,
                slices,
                accepted,
                ..
            } => Some(PowerInfo {
                powered: arms.iter().all(|a| a.3) && slices.iter().all(|s| s.powered),
                accepted: accepted.clone(),
                arms: arms.clone(),
                slices: slices.clone(),
            }),
            _ => None,
        }),
        judge: crate::report::judge_info(ix),
    })
}

/// The "not a fresh test set" label (G15), from the split's journaled reuse (or, failing that,
/// the registration's declaration).
fn not_fresh_test_set(
    frame: &crate::frame::Frame,
    entries: &[crate::journal::event::Entry],
) -> Option<String> {
    let journaled = entries.iter().find_map(|e| match &e.event {
        crate::journal::event::Event::Split {
            reused_test: Some(r),
            ..
        } => Some(r.label()),
        _ => None,
    });
    journaled.or_else(|| {
        frame
            .reuse_test
            .as_ref()
            .map(|reason| format!("not a fresh test set: reuse declared (\"{reason}\")"))
    })
}
